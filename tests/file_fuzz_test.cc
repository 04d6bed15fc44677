// Replays the checkpoint and SavedModel fuzz targets' seeds and past findings (tools/fuzz/): the
// seeds must restore and load cleanly, corrupted ones must fail without changing a variable, and
// every saved finding must now be handled without a crash or a sanitizer report.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "runtime/tensor_bundle.h"
#include "tests/test_util.h"
#include "tools/fuzz/checkpoint_fuzz.h"
#include "tools/fuzz/saved_model_fuzz.h"

namespace dflow {
namespace {

absl::Status RunCheckpoint(const std::string& data) {
  return RunCheckpointBytes(reinterpret_cast<const uint8_t*>(data.data()), data.size());
}

TEST(CheckpointFuzz, SeedsRestore) {
  const std::vector<std::string> seeds = test::FilesIn("tools/fuzz/checkpoint_corpus");
  ASSERT_GE(seeds.size(), 3u);
  for (const auto& path : seeds) {
    const absl::Status s = RunCheckpoint(test::ReadFileBytes(path));
    EXPECT_TRUE(s.ok()) << path << ": " << s;
  }
}

TEST(CheckpointFuzz, SeedDecodesToItsHandWrittenValues) {
  const std::string prefix = test::TempDir("file_fuzz_seed") + "/ckpt";
  ASSERT_TRUE(WriteFuzzCheckpoint(test::ReadFileBytes("tools/fuzz/checkpoint_corpus/ab_built"), prefix).ok());
  absl::StatusOr<NamedTensors> read = ReadTensorBundle(prefix);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), 3u);  // make_file_seeds.cc: a = {3, 4}, b = {1, 2, 3, 4}, c = -5.
  EXPECT_EQ((*read)[0].first, "a");
  test::ExpectTensorNear((*read)[0].second, TensorShape({2}), {3, 4}, 0);
  EXPECT_EQ((*read)[1].second.flat<int32_t>()[3], 4);
  EXPECT_EQ((*read)[2].second.flat<int64_t>()[0], -5);
}

TEST(CheckpointFuzz, CorruptSeedsFailWithoutChangingVariables) {
  const std::string raw = test::ReadFileBytes("tools/fuzz/checkpoint_corpus/ab_raw");
  const std::string built = test::ReadFileBytes("tools/fuzz/checkpoint_corpus/ab_built");
  ASSERT_GT(raw.size(), 8u);
  ASSERT_GT(built.size(), 8u);
  // Every byte of the raw form flipped (after its flags and length), and every byte of the built
  // form's data file (its last 32 bytes: a's 8, b's 16, c's 8), which the checksums catch.
  for (size_t i = 5; i < raw.size(); ++i) {
    std::string bad = raw;
    bad[i] ^= 0x10;
    const absl::Status s = RunCheckpoint(bad);
    EXPECT_FALSE(absl::StrContains(s.message(), "changed a variable")) << i << ": " << s;
  }
  for (size_t i = built.size() - 32; i < built.size(); ++i) {
    std::string bad = built;
    bad[i] ^= 0x01;
    const absl::Status s = RunCheckpoint(bad);
    EXPECT_FALSE(s.ok()) << "flipped data byte " << i << " restored";
    EXPECT_FALSE(absl::StrContains(s.message(), "changed a variable")) << i << ": " << s;
  }
}

TEST(CheckpointFuzz, PastFindingsAreHandled) {
  for (const auto& path : test::FilesIn("tools/fuzz/checkpoint_regressions")) {
    const absl::Status s = RunCheckpoint(test::ReadFileBytes(path));
    EXPECT_FALSE(absl::StrContains(s.message(), "changed a variable")) << path << ": " << s;
    if (absl::EndsWith(path, "corrupt_block_handle_bad_alloc")) {
      EXPECT_TRUE(absl::StrContains(s.message(), "lies outside the file")) << s;
    }
  }
}

TEST(SavedModelFuzz, SeedsLoadAndRun) {
  const std::vector<std::string> seeds = test::FilesIn("tools/fuzz/saved_model_corpus");
  ASSERT_GE(seeds.size(), 1u);
  for (const auto& path : seeds) {
    const std::string data = test::ReadFileBytes(path);
    const absl::Status s =
        RunSavedModelBytes(reinterpret_cast<const uint8_t*>(data.data()), data.size());
    EXPECT_TRUE(s.ok()) << path << ": " << s;
  }
}

TEST(SavedModelFuzz, PastFindingsAreHandled) {
  for (const auto& path : test::FilesIn("tools/fuzz/saved_model_regressions")) {
    const std::string data = test::ReadFileBytes(path);
    RunSavedModelBytes(reinterpret_cast<const uint8_t*>(data.data()), data.size()).IgnoreError();
    SUCCEED() << path;  // Reaching here is the assertion.
  }
}

}  // namespace
}  // namespace dflow
