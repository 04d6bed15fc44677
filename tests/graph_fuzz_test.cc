// Replays the fuzzer's seed corpus and every input that once crashed it (tools/fuzz/): each
// must now be handled without a crash or a sanitizer report, and the seeds must run cleanly.
#include "tools/fuzz/graph_fuzz.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"

namespace dflow {
namespace {

std::string ReadAll(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::filesystem::path> Files(const std::string& dir) {
  std::vector<std::filesystem::path> files;
  if (!std::filesystem::exists(dir)) return files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

TEST(GraphFuzz, SeedGraphsImportAndRun) {
  std::vector<std::filesystem::path> seeds = Files("tools/fuzz/corpus");
  ASSERT_GE(seeds.size(), 4u);
  for (const auto& path : seeds) {
    const std::string data = ReadAll(path);
    absl::Status s = RunGraphDefBytes(reinterpret_cast<const uint8_t*>(data.data()), data.size());
    EXPECT_TRUE(s.ok()) << path << ": " << s;
  }
}

TEST(GraphFuzz, PastCrashesAreHandledWithoutCrashing) {
  for (const auto& path : Files("tools/fuzz/regressions")) {
    const std::string data = ReadAll(path);
    absl::Status s = RunGraphDefBytes(reinterpret_cast<const uint8_t*>(data.data()), data.size());
    SUCCEED() << path << ": " << s;  // Reaching here is the assertion.
  }
}

}  // namespace
}  // namespace dflow
