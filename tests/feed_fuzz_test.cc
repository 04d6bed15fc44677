// Replays the feed fuzzer's seed corpus and the inputs that once failed it (tools/fuzz/): seeds
// must parse cleanly, past failures must be handled without a crash or a changed round trip.
#include "tools/fuzz/feed_fuzz.h"

#include <algorithm>
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

absl::Status Feed(const std::string& data) {
  return RunFeedBytes(reinterpret_cast<const uint8_t*>(data.data()), data.size());
}

TEST(FeedFuzz, SeedsParseCleanly) {
  const std::vector<std::filesystem::path> seeds = Files("tools/fuzz/feed_corpus");
  ASSERT_GE(seeds.size(), 6u);
  for (const auto& path : seeds) {
    const absl::Status s = Feed(ReadAll(path));
    EXPECT_TRUE(s.ok()) << path << ": " << s;
  }
}

TEST(FeedFuzz, BadInputsAreErrorsNotRoundTripFailures) {
  for (const std::string& data : {std::string("[1,,2]"), std::string("\x93NUMPY\x01\x00", 8),
                                  std::string("\0\0\x08\x03\x80\0\0\0\0\0\0\x04\x80\0\0\0", 16)}) {
    const absl::Status s = Feed(data);
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.code(), absl::StatusCode::kInternal) << s;
  }
  for (const auto& path : Files("tools/fuzz/feed_regressions")) {
    EXPECT_NE(Feed(ReadAll(path)).code(), absl::StatusCode::kInternal) << path;
  }
}

}  // namespace
}  // namespace dflow
