// Tests of the MNIST reader against IDX files the tests write byte by byte (plain and gzipped),
// and, when MNIST_DIR is set, against the published facts about the real files.
#include "tests/test_util.h"
#include "tools/mnist_data.h"

#include <zlib.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace dflow {
namespace mnist {
namespace {

using ::testing::HasSubstr;

std::string TempDir(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::filesystem::path dir =
      std::filesystem::path(base != nullptr ? base : "/tmp") / ("mnist_data_test_" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}


std::string ImagesFile(uint32_t count, uint32_t rows, uint32_t cols,
                       const std::vector<uint8_t>& pixels, uint32_t magic = 2051) {
  std::string out;
  test::PutBigEndian32(&out, magic);
  test::PutBigEndian32(&out, count);
  test::PutBigEndian32(&out, rows);
  test::PutBigEndian32(&out, cols);
  out.append(pixels.begin(), pixels.end());
  return out;
}

std::string LabelsFile(uint32_t count, const std::vector<uint8_t>& labels, uint32_t magic = 2049) {
  std::string out;
  test::PutBigEndian32(&out, magic);
  test::PutBigEndian32(&out, count);
  out.append(labels.begin(), labels.end());
  return out;
}

void WritePlain(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), bytes.size());
  ASSERT_TRUE(out.good()) << path;
}


std::string ReadRaw(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Pixel p of image i in the synthetic sets: every byte value occurs, and images differ.
uint8_t SyntheticPixel(int i, int p) { return static_cast<uint8_t>((i * 37 + p * 11) % 256); }

std::vector<uint8_t> SyntheticPixels(int count, int size) {
  std::vector<uint8_t> pixels;
  for (int i = 0; i < count; ++i) {
    for (int p = 0; p < size; ++p) pixels.push_back(SyntheticPixel(i, p));
  }
  return pixels;
}

// Writes a complete small MNIST folder: `train` and `test` 28x28 images with labels i % 10
// (train) and (i + 3) % 10 (test). Train files gzipped, test files plain (un-gzipped names).
std::string WriteSmallMnist(const std::string& name, int train, int test) {
  std::string dir = TempDir(name);
  std::vector<uint8_t> train_labels, test_labels;
  for (int i = 0; i < train; ++i) train_labels.push_back(i % 10);
  for (int i = 0; i < test; ++i) test_labels.push_back((i + 3) % 10);
  test::WriteGzipFile(dir + "/train-images-idx3-ubyte.gz",
            ImagesFile(train, 28, 28, SyntheticPixels(train, 784)));
  test::WriteGzipFile(dir + "/train-labels-idx1-ubyte.gz", LabelsFile(train, train_labels));
  std::vector<uint8_t> test_pixels = SyntheticPixels(test + 100, 784);
  test_pixels.erase(test_pixels.begin(), test_pixels.begin() + 100 * 784);  // images 100..
  WritePlain(dir + "/t10k-images-idx3-ubyte", ImagesFile(test, 28, 28, test_pixels));
  WritePlain(dir + "/t10k-labels-idx1-ubyte", LabelsFile(test, test_labels));
  return dir;
}

TEST(MnistIdx, ReadsPlainAndGzippedImagesAlike) {
  std::string dir = TempDir("images");
  const std::vector<uint8_t> pixels = {0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255};
  const std::string bytes = ImagesFile(2, 2, 3, pixels);
  WritePlain(dir + "/plain", bytes);
  test::WriteGzipFile(dir + "/zipped", bytes);
  // Gzip is told by content, not by name.
  test::WriteGzipFile(dir + "/zipped_without_suffix.idx", bytes);
  ASSERT_NE(ReadRaw(dir + "/zipped"), bytes);  // really compressed
  for (const char* name : {"/plain", "/zipped", "/zipped_without_suffix.idx"}) {
    absl::StatusOr<IdxImages> images = ReadIdxImages(dir + name);
    ASSERT_TRUE(images.ok()) << name << ": " << images.status();
    EXPECT_EQ(images->count, 2);
    EXPECT_EQ(images->rows, 2);
    EXPECT_EQ(images->cols, 3);
    EXPECT_EQ(images->pixels, pixels);
  }
}

TEST(MnistIdx, ReadsPlainAndGzippedLabels) {
  std::string dir = TempDir("labels");
  const std::vector<uint8_t> labels = {7, 2, 1, 0, 4, 9};
  WritePlain(dir + "/plain", LabelsFile(6, labels));
  test::WriteGzipFile(dir + "/zipped.gz", LabelsFile(6, labels));
  for (const char* name : {"/plain", "/zipped.gz"}) {
    absl::StatusOr<std::vector<uint8_t>> read = ReadIdxLabels(dir + name);
    ASSERT_TRUE(read.ok()) << name << ": " << read.status();
    EXPECT_EQ(*read, labels);
  }
}

TEST(MnistIdx, EmptyFilesAreAllowedWhenTheHeaderSaysSo) {
  std::string dir = TempDir("empty");
  WritePlain(dir + "/images", ImagesFile(0, 28, 28, {}));
  absl::StatusOr<IdxImages> images = ReadIdxImages(dir + "/images");
  ASSERT_TRUE(images.ok()) << images.status();
  EXPECT_EQ(images->count, 0);
}

TEST(MnistIdx, BadMagicNumbersAreReported) {
  std::string dir = TempDir("magic");
  WritePlain(dir + "/labels", LabelsFile(2, {1, 2}));
  WritePlain(dir + "/images", ImagesFile(1, 1, 1, {5}));
  WritePlain(dir + "/garbage", std::string("this is not an IDX file at all"));

  absl::StatusOr<IdxImages> images = ReadIdxImages(dir + "/labels");
  ASSERT_FALSE(images.ok());
  EXPECT_THAT(images.status().message(), HasSubstr(dir + "/labels"));
  EXPECT_THAT(images.status().message(), HasSubstr("magic number 2049"));
  EXPECT_THAT(images.status().message(), HasSubstr("2051"));

  absl::StatusOr<std::vector<uint8_t>> labels = ReadIdxLabels(dir + "/images");
  ASSERT_FALSE(labels.ok());
  EXPECT_THAT(labels.status().message(), HasSubstr(dir + "/images"));
  EXPECT_THAT(labels.status().message(), HasSubstr("2049"));

  images = ReadIdxImages(dir + "/garbage");
  ASSERT_FALSE(images.ok());
  EXPECT_THAT(images.status().message(), HasSubstr(dir + "/garbage"));
  EXPECT_THAT(images.status().message(), HasSubstr("magic number"));
}

TEST(MnistIdx, TruncatedFilesAreReported) {
  std::string dir = TempDir("truncated");
  // Header announces 3 images of 2x2, only 2.5 images follow.
  std::string short_images = ImagesFile(3, 2, 2, std::vector<uint8_t>(10, 1));
  WritePlain(dir + "/short_images", short_images);
  test::WriteGzipFile(dir + "/short_images.gz", short_images);
  WritePlain(dir + "/short_labels", LabelsFile(5, {1, 2, 3}));
  WritePlain(dir + "/half_header", ImagesFile(3, 2, 2, {}).substr(0, 10));
  WritePlain(dir + "/empty", "");
  for (const char* name : {"/short_images", "/short_images.gz", "/half_header", "/empty"}) {
    absl::StatusOr<IdxImages> images = ReadIdxImages(dir + name);
    ASSERT_FALSE(images.ok()) << name;
    EXPECT_THAT(images.status().message(), HasSubstr(dir + name));
    EXPECT_THAT(images.status().message(), HasSubstr("truncated"));
  }
  absl::StatusOr<std::vector<uint8_t>> labels = ReadIdxLabels(dir + "/short_labels");
  ASSERT_FALSE(labels.ok());
  EXPECT_THAT(labels.status().message(), HasSubstr(dir + "/short_labels"));
  EXPECT_THAT(labels.status().message(), HasSubstr("truncated"));
}

TEST(MnistIdx, TruncatedGzipStreamIsReported) {
  std::string dir = TempDir("truncated_gzip");
  test::WriteGzipFile(dir + "/full.gz", ImagesFile(50, 28, 28, SyntheticPixels(50, 784)));
  std::string compressed = ReadRaw(dir + "/full.gz");
  ASSERT_GT(compressed.size(), 100u);
  WritePlain(dir + "/cut.gz", compressed.substr(0, compressed.size() / 2));
  absl::StatusOr<IdxImages> images = ReadIdxImages(dir + "/cut.gz");
  ASSERT_FALSE(images.ok());
  EXPECT_THAT(images.status().message(), HasSubstr(dir + "/cut.gz"));
  EXPECT_THAT(images.status().message(), HasSubstr("truncated"));
  // Corrupted deflate data.
  std::string corrupt = compressed;
  for (size_t i = 20; i < 60; ++i) corrupt[i] = static_cast<char>(corrupt[i] ^ 0x5a);
  WritePlain(dir + "/corrupt.gz", corrupt);
  images = ReadIdxImages(dir + "/corrupt.gz");
  ASSERT_FALSE(images.ok());
  EXPECT_THAT(images.status().message(), HasSubstr(dir + "/corrupt.gz"));
}

TEST(MnistIdx, TrailingDataAndBadLabelsAreReported) {
  std::string dir = TempDir("trailing");
  WritePlain(dir + "/long_labels", LabelsFile(2, {1, 2, 3}));
  WritePlain(dir + "/big_label", LabelsFile(3, {1, 10, 3}));
  WritePlain(dir + "/zero_rows", ImagesFile(1, 0, 28, {}));
  absl::StatusOr<std::vector<uint8_t>> labels = ReadIdxLabels(dir + "/long_labels");
  ASSERT_FALSE(labels.ok());
  EXPECT_THAT(labels.status().message(), HasSubstr("trailing"));
  labels = ReadIdxLabels(dir + "/big_label");
  ASSERT_FALSE(labels.ok());
  EXPECT_THAT(labels.status().message(), HasSubstr(dir + "/big_label"));
  EXPECT_THAT(labels.status().message(), HasSubstr("label 1 is 10"));
  absl::StatusOr<IdxImages> images = ReadIdxImages(dir + "/zero_rows");
  ASSERT_FALSE(images.ok());
  EXPECT_THAT(images.status().message(), HasSubstr(dir + "/zero_rows"));
}

TEST(MnistIdx, MissingFilesAreReported) {
  std::string dir = TempDir("missing");
  absl::StatusOr<IdxImages> images = ReadIdxImages(dir + "/nothing-here");
  ASSERT_FALSE(images.ok());
  EXPECT_EQ(images.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(images.status().message(), HasSubstr(dir + "/nothing-here"));

  images = ReadIdxImages(dir);  // a folder
  ASSERT_FALSE(images.ok());
  EXPECT_THAT(images.status().message(), HasSubstr("folder"));

  absl::StatusOr<DataSets> sets = ReadDataSets(dir);
  ASSERT_FALSE(sets.ok());
  EXPECT_EQ(sets.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(sets.status().message(), HasSubstr(dir + "/train-images-idx3-ubyte.gz"));
  EXPECT_THAT(sets.status().message(), HasSubstr(dir + "/train-images-idx3-ubyte"));

  // Three of four files present: the fourth is named.
  std::string small = WriteSmallMnist("missing_one", 10, 4);
  std::filesystem::remove(small + "/t10k-labels-idx1-ubyte");
  sets = ReadDataSets(small);
  ASSERT_FALSE(sets.ok());
  EXPECT_THAT(sets.status().message(), HasSubstr("t10k-labels-idx1-ubyte"));
}

TEST(MnistDataSets, SplitsTrainingFilesAndScalesPixels) {
  const int kTrain = 12, kTest = 5;
  std::string dir = WriteSmallMnist("split", kTrain, kTest);
  ReadOptions options;
  options.validation_size = 4;
  absl::StatusOr<DataSets> sets = ReadDataSets(dir, options);
  ASSERT_TRUE(sets.ok()) << sets.status();
  ASSERT_EQ(sets->train.num_examples(), 8);
  ASSERT_EQ(sets->validation.num_examples(), 4);
  ASSERT_EQ(sets->test.num_examples(), kTest);

  struct Expected {
    const DataSet* set;
    int first_image;  // index of its first image in the synthetic numbering
    int label_offset;
  };
  for (const Expected& e : {Expected{&sets->train, 0, 0}, Expected{&sets->validation, 8, 0},
                            Expected{&sets->test, 100, 3}}) {
    const DataSet& set = *e.set;
    EXPECT_EQ(set.image_size(), 784);
    EXPECT_EQ(set.num_classes(), 10);
    ASSERT_EQ(set.images().shape(), TensorShape({set.num_examples(), 784}));
    ASSERT_EQ(set.labels().shape(), TensorShape({set.num_examples(), 10}));
    absl::Span<const float> images = set.images().flat<float>();
    absl::Span<const float> labels = set.labels().flat<float>();
    for (int i = 0; i < set.num_examples(); ++i) {
      const int image = e.first_image + i;
      for (int p = 0; p < 784; ++p) {
        ASSERT_FLOAT_EQ(images[i * 784 + p], SyntheticPixel(image, p) / 255.0f)
            << "image " << i << " pixel " << p;
      }
      const int label = (e.first_image == 100 ? i + e.label_offset : image) % 10;
      EXPECT_EQ(set.int_labels()[i], label);
      for (int c = 0; c < 10; ++c) {
        EXPECT_EQ(labels[i * 10 + c], c == label ? 1.0f : 0.0f) << "example " << i;
      }
    }
  }
  // Pixels span exactly [0, 1].
  absl::Span<const float> train = sets->train.images().flat<float>();
  EXPECT_EQ(*std::min_element(train.begin(), train.end()), 0.0f);
  EXPECT_EQ(*std::max_element(train.begin(), train.end()), 1.0f);
}

TEST(MnistDataSets, DefaultSplitNeedsEnoughTrainingImages) {
  std::string dir = WriteSmallMnist("too_small", 10, 3);
  absl::StatusOr<DataSets> sets = ReadDataSets(dir);  // validation_size 5000 > 10
  ASSERT_FALSE(sets.ok());
  EXPECT_THAT(sets.status().message(), HasSubstr("validation size 5000"));
  ReadOptions options;
  options.validation_size = 0;
  sets = ReadDataSets(dir, options);
  ASSERT_TRUE(sets.ok()) << sets.status();
  EXPECT_EQ(sets->train.num_examples(), 10);
  EXPECT_EQ(sets->validation.num_examples(), 0);
  EXPECT_FALSE(sets->validation.NextBatch(1).ok());
}

TEST(MnistDataSets, CountMismatchIsReported) {
  std::string dir = WriteSmallMnist("mismatch", 10, 3);
  WritePlain(dir + "/t10k-labels-idx1-ubyte", LabelsFile(2, {1, 2}));
  ReadOptions options;
  options.validation_size = 2;
  absl::StatusOr<DataSets> sets = ReadDataSets(dir, options);
  ASSERT_FALSE(sets.ok());
  EXPECT_THAT(sets.status().message(), HasSubstr("t10k-images-idx3-ubyte holds 3 images"));
  EXPECT_THAT(sets.status().message(), HasSubstr("t10k-labels-idx1-ubyte holds 2 labels"));
}

TEST(MnistDataSets, NonMnistImageSizeIsReported) {
  std::string dir = WriteSmallMnist("size", 10, 3);
  WritePlain(dir + "/t10k-images-idx3-ubyte", ImagesFile(3, 2, 2, std::vector<uint8_t>(12, 0)));
  ReadOptions options;
  options.validation_size = 2;
  absl::StatusOr<DataSets> sets = ReadDataSets(dir, options);
  ASSERT_FALSE(sets.ok());
  EXPECT_THAT(sets.status().message(), HasSubstr("t10k-images-idx3-ubyte"));
  EXPECT_THAT(sets.status().message(), HasSubstr("2x2"));
}

// A data set whose example i has every value equal to i and label i % classes.
DataSet Numbered(int n, int size, int classes, uint64_t seed) {
  std::vector<float> images;
  std::vector<int32_t> labels;
  for (int i = 0; i < n; ++i) {
    for (int p = 0; p < size; ++p) images.push_back(static_cast<float>(i));
    labels.push_back(i % classes);
  }
  absl::StatusOr<DataSet> set = DataSet::Create(images, size, labels, classes, seed);
  EXPECT_TRUE(set.ok()) << set.status();
  return *std::move(set);
}

// The example numbers in a batch of a Numbered set, checking rows and labels agree.
std::vector<int> BatchExamples(const Batch& batch, int size, int classes) {
  std::vector<int> examples;
  const int64_t rows = batch.images.dim_size(0);
  absl::Span<const float> images = batch.images.flat<float>();
  absl::Span<const float> labels = batch.labels.flat<float>();
  absl::Span<const int32_t> ints = batch.int_labels.flat<int32_t>();
  for (int64_t r = 0; r < rows; ++r) {
    const int example = static_cast<int>(images[r * size]);
    for (int p = 0; p < size; ++p) EXPECT_EQ(images[r * size + p], example);
    EXPECT_EQ(ints[r], example % classes);
    for (int c = 0; c < classes; ++c) {
      EXPECT_EQ(labels[r * classes + c], c == example % classes ? 1.0f : 0.0f);
    }
    examples.push_back(example);
  }
  return examples;
}

TEST(MnistDataSet, BatchesAreDeterministicForASeed) {
  DataSet a = Numbered(50, 3, 10, 7), b = Numbered(50, 3, 10, 7), c = Numbered(50, 3, 10, 8);
  std::vector<int> seq_a, seq_b, seq_c;
  for (int step = 0; step < 20; ++step) {
    for (auto [set, seq] : {std::pair{&a, &seq_a}, std::pair{&b, &seq_b}, std::pair{&c, &seq_c}}) {
      absl::StatusOr<Batch> batch = set->NextBatch(10);
      ASSERT_TRUE(batch.ok()) << batch.status();
      ASSERT_EQ(batch->images.shape(), TensorShape({10, 3}));
      ASSERT_EQ(batch->labels.shape(), TensorShape({10, 10}));
      ASSERT_EQ(batch->int_labels.shape(), TensorShape({10}));
      std::vector<int> examples = BatchExamples(*batch, 3, 10);
      seq->insert(seq->end(), examples.begin(), examples.end());
    }
  }
  EXPECT_EQ(seq_a, seq_b);
  EXPECT_NE(seq_a, seq_c);
  // The first epoch is already shuffled.
  std::vector<int> identity(50);
  for (int i = 0; i < 50; ++i) identity[i] = i;
  EXPECT_NE(std::vector<int>(seq_a.begin(), seq_a.begin() + 50), identity);
}

TEST(MnistDataSet, EveryEpochVisitsEachExampleOnceInAFreshOrder) {
  const int kN = 23;
  for (int batch_size : {1, 5, 23, 40}) {
    DataSet set = Numbered(kN, 2, 4, 123);
    std::vector<int> seq;
    while (seq.size() < 6 * kN) {
      absl::StatusOr<Batch> batch = set.NextBatch(batch_size);
      ASSERT_TRUE(batch.ok()) << batch.status();
      std::vector<int> examples = BatchExamples(*batch, 2, 4);
      seq.insert(seq.end(), examples.begin(), examples.end());
    }
    EXPECT_EQ(set.epochs_completed(), static_cast<int64_t>(seq.size()) / kN);
    std::set<std::vector<int>> orders;
    for (int epoch = 0; epoch < 6; ++epoch) {
      std::vector<int> order(seq.begin() + epoch * kN, seq.begin() + (epoch + 1) * kN);
      std::vector<int> sorted = order;
      std::sort(sorted.begin(), sorted.end());
      for (int i = 0; i < kN; ++i) {
        ASSERT_EQ(sorted[i], i) << "batch size " << batch_size << ", epoch " << epoch;
      }
      orders.insert(order);
    }
    EXPECT_GE(orders.size(), 5u) << "epochs should be reshuffled";
  }
}

TEST(MnistDataSet, ShuffleIsUniform) {
  // Each of the 6 orders of 3 items should come out about 1/6 of the time.
  std::mt19937_64 rng(99);
  std::map<std::vector<int64_t>, int> counts;
  const int kTrials = 60000;
  for (int t = 0; t < kTrials; ++t) ++counts[ShuffledIndices(3, rng)];
  ASSERT_EQ(counts.size(), 6u);
  for (const auto& [order, count] : counts) {
    EXPECT_NEAR(count, kTrials / 6.0, 400) << order[0] << order[1] << order[2];
  }
  // Position of item 0 among 10 is uniform too.
  std::array<int, 10> position{};
  for (int t = 0; t < kTrials; ++t) {
    std::vector<int64_t> order = ShuffledIndices(10, rng);
    for (int i = 0; i < 10; ++i) {
      if (order[i] == 0) ++position[i];
    }
  }
  for (int count : position) EXPECT_NEAR(count, kTrials / 10.0, 300);
  EXPECT_TRUE(ShuffledIndices(0, rng).empty());
  EXPECT_EQ(ShuffledIndices(1, rng), std::vector<int64_t>{0});
}

TEST(MnistDataSet, BadArgumentsAreErrors) {
  DataSet set = Numbered(5, 2, 3, 1);
  EXPECT_FALSE(set.NextBatch(0).ok());
  EXPECT_FALSE(set.NextBatch(-3).ok());
  EXPECT_FALSE(DataSet::Create({1, 2, 3}, 2, {0, 1}, 3, 0).ok());  // 3 values for 2x2
  EXPECT_FALSE(DataSet::Create({1, 2}, 1, {0, 3}, 3, 0).ok());     // label 3 of 3 classes
  EXPECT_FALSE(DataSet::Create({}, 0, {}, 3, 0).ok());
  DataSet empty;
  EXPECT_FALSE(empty.NextBatch(1).ok());
}

class MnistDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* env = std::getenv("MNIST_DIR");
    had_env_ = env != nullptr;
    if (had_env_) saved_ = env;
  }
  void TearDown() override {
    if (had_env_) {
      setenv("MNIST_DIR", saved_.c_str(), 1);
    } else {
      unsetenv("MNIST_DIR");
    }
  }
  bool had_env_ = false;
  std::string saved_;
};

TEST_F(MnistDirTest, FlagThenEnvironmentThenError) {
  std::string flag_dir = TempDir("flag_dir"), env_dir = TempDir("env_dir");
  setenv("MNIST_DIR", env_dir.c_str(), 1);
  EXPECT_EQ(MnistDir(flag_dir).value_or(""), flag_dir);
  EXPECT_EQ(MnistDir("").value_or(""), env_dir);
  unsetenv("MNIST_DIR");
  absl::StatusOr<std::string> dir = MnistDir("");
  ASSERT_FALSE(dir.ok());
  EXPECT_THAT(dir.status().message(), HasSubstr("--data_dir"));
  EXPECT_THAT(dir.status().message(), HasSubstr("MNIST_DIR"));
  EXPECT_THAT(dir.status().message(), HasSubstr("train-images-idx3-ubyte.gz"));
  dir = MnistDir(flag_dir + "/does-not-exist");
  ASSERT_FALSE(dir.ok());
  EXPECT_THAT(dir.status().message(), HasSubstr(flag_dir + "/does-not-exist"));
  EXPECT_THAT(dir.status().message(), HasSubstr("does not exist"));
}

// The real files, checked against the facts in ../shared/data/mnist/README.md.
TEST(RealMnist, MatchesPublishedCounts) {
  const std::string env = test::MnistDir();
  if (env.empty()) GTEST_SKIP() << test::kNoMnistDir << " to check them";
  absl::StatusOr<IdxImages> train_images =
      ReadIdxImages(FindDataFile(env, "train-images-idx3-ubyte.gz").value_or(""));
  ASSERT_TRUE(train_images.ok()) << train_images.status();
  EXPECT_EQ(train_images->count, 60000);
  EXPECT_EQ(train_images->rows, 28);
  EXPECT_EQ(train_images->cols, 28);
  absl::StatusOr<IdxImages> test_images =
      ReadIdxImages(FindDataFile(env, "t10k-images-idx3-ubyte.gz").value_or(""));
  ASSERT_TRUE(test_images.ok()) << test_images.status();
  EXPECT_EQ(test_images->count, 10000);
  for (const IdxImages* images : {&*train_images, &*test_images}) {
    for (int64_t i = 0; i < images->count; ++i) {
      bool any = false;
      for (int p = 0; p < 784 && !any; ++p) any = images->pixels[i * 784 + p] != 0;
      ASSERT_TRUE(any) << "image " << i << " is all zeros";
    }
  }

  absl::StatusOr<DataSets> sets = ReadDataSets(env);
  ASSERT_TRUE(sets.ok()) << sets.status();
  EXPECT_EQ(sets->train.num_examples(), 55000);
  EXPECT_EQ(sets->validation.num_examples(), 5000);
  EXPECT_EQ(sets->test.num_examples(), 10000);

  std::array<int, 10> train_counts{}, test_counts{};
  for (int32_t label : sets->train.int_labels()) ++train_counts[label];
  for (int32_t label : sets->validation.int_labels()) ++train_counts[label];
  for (int32_t label : sets->test.int_labels()) ++test_counts[label];
  EXPECT_EQ(train_counts,
            (std::array<int, 10>{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949}));
  EXPECT_EQ(test_counts,
            (std::array<int, 10>{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}));
  EXPECT_EQ(
      std::vector<int32_t>(sets->train.int_labels().begin(), sets->train.int_labels().begin() + 10),
      (std::vector<int32_t>{5, 0, 4, 1, 9, 2, 1, 3, 1, 4}));
  EXPECT_EQ(
      std::vector<int32_t>(sets->test.int_labels().begin(), sets->test.int_labels().begin() + 10),
      (std::vector<int32_t>{7, 2, 1, 0, 4, 1, 4, 9, 5, 9}));
  // The validation set is the last 5,000 training images.
  absl::Span<const float> validation = sets->validation.images().flat<float>();
  for (int64_t k = 0; k < 5000 * 784; k += 997) {
    ASSERT_EQ(validation[k], train_images->pixels[55000 * 784 + k] / 255.0f);
  }
}

}  // namespace
}  // namespace mnist
}  // namespace dflow
