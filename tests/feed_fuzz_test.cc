// Replays the feed fuzzer's seed corpus and the inputs that once failed it (tools/fuzz/): seeds
// must parse cleanly, past failures must be handled without a crash or a changed round trip.
#include "tools/fuzz/feed_fuzz.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace dflow {
namespace {

absl::Status Feed(const std::string& data) {
  return RunFeedBytes(reinterpret_cast<const uint8_t*>(data.data()), data.size());
}

TEST(FeedFuzz, SeedsParseCleanly) {
  const std::vector<std::string> seeds = test::FilesIn("tools/fuzz/feed_corpus");
  ASSERT_GE(seeds.size(), 6u);
  for (const auto& path : seeds) {
    const absl::Status s = Feed(test::ReadFileBytes(path));
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
  for (const auto& path : test::FilesIn("tools/fuzz/feed_regressions")) {
    EXPECT_NE(Feed(test::ReadFileBytes(path)).code(), absl::StatusCode::kInternal) << path;
  }
}

}  // namespace
}  // namespace dflow
