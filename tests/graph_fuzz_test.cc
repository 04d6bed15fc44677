// Replays the fuzzer's seed corpus and every input that once crashed it (tools/fuzz/): each
// must now be handled without a crash or a sanitizer report, and the seeds must run cleanly.
#include "tools/fuzz/graph_fuzz.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace dflow {
namespace {

TEST(GraphFuzz, SeedGraphsImportAndRun) {
  std::vector<std::string> seeds = test::FilesIn("tools/fuzz/corpus");
  ASSERT_GE(seeds.size(), 4u);
  for (const auto& path : seeds) {
    const std::string data = test::ReadFileBytes(path);
    absl::Status s = RunGraphDefBytes(reinterpret_cast<const uint8_t*>(data.data()), data.size());
    EXPECT_TRUE(s.ok()) << path << ": " << s;
  }
}

TEST(GraphFuzz, PastCrashesAreHandledWithoutCrashing) {
  for (const auto& path : test::FilesIn("tools/fuzz/regressions")) {
    const std::string data = test::ReadFileBytes(path);
    absl::Status s = RunGraphDefBytes(reinterpret_cast<const uint8_t*>(data.data()), data.size());
    SUCCEED() << path << ": " << s;  // Reaching here is the assertion.
  }
}

}  // namespace
}  // namespace dflow
