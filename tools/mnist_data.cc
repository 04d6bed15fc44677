#include "tools/mnist_data.h"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "graph/status_macros.h"
#include "tools/tensor_io.h"

namespace dflow {
namespace mnist {
namespace {


uint32_t BigEndian32(const std::string& data, size_t offset) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data()) + offset;
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}




// Counts the rows of an IDX payload of `item_bytes` per item, checking the file size against
// the header's count. `kind` names items in messages ("images").
absl::Status CheckPayloadSize(const std::string& path, size_t file_size, size_t header_bytes,
                              uint64_t count, uint64_t item_bytes, const char* kind) {
  const uint64_t payload = file_size - header_bytes;
  if (count > payload / item_bytes || count * item_bytes > payload) {
    return absl::DataLossError(absl::StrCat(path, ": truncated: the header announces ", count, " ",
                                            kind, " (", header_bytes + count * item_bytes,
                                            " bytes) but the file holds only ", file_size,
                                            " bytes"));
  }
  if (count * item_bytes != payload) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": ", file_size, " bytes, but the header announces ", count, " ", kind, " (",
        header_bytes + count * item_bytes, " bytes); the file has trailing data"));
  }
  return absl::OkStatus();
}

}  // namespace


absl::StatusOr<IdxImages> ReadIdxImages(const std::string& path) {
  DFLOW_ASSIGN_OR_RETURN(const std::string data, ReadFileMaybeGzip(path));
  constexpr size_t kHeader = 16;
  if (data.size() < 4) {
    return absl::DataLossError(
        absl::StrCat(path, ": truncated: ", data.size(), " bytes, shorter than an IDX header"));
  }
  const uint32_t magic = BigEndian32(data, 0);
  if (magic != kImagesMagic) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not an IDX image file: magic number ", magic, ", expected ",
                     kImagesMagic, magic == kLabelsMagic ? " (this is a label file)" : ""));
  }
  if (data.size() < kHeader) {
    return absl::DataLossError(absl::StrCat(path, ": truncated: ", data.size(),
                                            " bytes, shorter than the 16-byte IDX image header"));
  }
  const uint32_t count = BigEndian32(data, 4);
  const uint32_t rows = BigEndian32(data, 8);
  const uint32_t cols = BigEndian32(data, 12);
  if (rows == 0 || cols == 0 || rows > 65535 || cols > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": bad image size ", rows, "x", cols, " in the IDX header"));
  }
  DFLOW_RETURN_IF_ERROR(
      CheckPayloadSize(path, data.size(), kHeader, count, uint64_t{rows} * cols, "images"));
  IdxImages images;
  images.count = count;
  images.rows = static_cast<int>(rows);
  images.cols = static_cast<int>(cols);
  images.pixels.assign(data.begin() + kHeader, data.end());
  return images;
}

absl::StatusOr<std::vector<uint8_t>> ReadIdxLabels(const std::string& path, int num_classes) {
  DFLOW_ASSIGN_OR_RETURN(const std::string data, ReadFileMaybeGzip(path));
  constexpr size_t kHeader = 8;
  if (data.size() < 4) {
    return absl::DataLossError(
        absl::StrCat(path, ": truncated: ", data.size(), " bytes, shorter than an IDX header"));
  }
  const uint32_t magic = BigEndian32(data, 0);
  if (magic != kLabelsMagic) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not an IDX label file: magic number ", magic, ", expected ",
                     kLabelsMagic, magic == kImagesMagic ? " (this is an image file)" : ""));
  }
  if (data.size() < kHeader) {
    return absl::DataLossError(absl::StrCat(path, ": truncated: ", data.size(),
                                            " bytes, shorter than the 8-byte IDX label header"));
  }
  const uint32_t count = BigEndian32(data, 4);
  DFLOW_RETURN_IF_ERROR(CheckPayloadSize(path, data.size(), kHeader, count, 1, "labels"));
  std::vector<uint8_t> labels(data.begin() + kHeader, data.end());
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] >= num_classes) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": label ", i, " is ",
                                                     static_cast<int>(labels[i]), ", outside 0..",
                                                     num_classes - 1));
    }
  }
  return labels;
}

std::vector<int64_t> ShuffledIndices(int64_t n, std::mt19937_64& rng) {
  std::vector<int64_t> order(n > 0 ? n : 0);
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  for (int64_t i = n - 1; i > 0; --i) {
    // Uniform in [0, i]: reject the lowest (2^64 mod bound) draws so every residue is equally
    // likely.
    const uint64_t bound = static_cast<uint64_t>(i) + 1;
    const uint64_t threshold = (0 - bound) % bound;
    uint64_t r = rng();
    while (r < threshold) r = rng();
    const int64_t j = static_cast<int64_t>(r % bound);
    std::swap(order[i], order[j]);
  }
  return order;
}

absl::StatusOr<DataSet> DataSet::Create(std::vector<float> images, int image_size,
                                        std::vector<int32_t> labels, int num_classes,
                                        uint64_t seed) {
  if (image_size < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("image size must be positive, got ", image_size));
  }
  if (num_classes < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("class count must be positive, got ", num_classes));
  }
  const int64_t n = static_cast<int64_t>(labels.size());
  if (static_cast<int64_t>(images.size()) != n * image_size) {
    return absl::InvalidArgumentError(absl::StrCat(images.size(), " image values for ", n,
                                                   " labels of ", image_size, " values each"));
  }
  for (int64_t i = 0; i < n; ++i) {
    if (labels[i] < 0 || labels[i] >= num_classes) {
      return absl::InvalidArgumentError(
          absl::StrCat("label ", i, " is ", labels[i], ", outside 0..", num_classes - 1));
    }
  }
  DataSet set;
  set.num_examples_ = n;
  set.image_size_ = image_size;
  set.num_classes_ = num_classes;
  set.images_ = Tensor(DT_FLOAT, TensorShape({n, image_size}));
  if (n > 0) std::memcpy(set.images_.data(), images.data(), images.size() * sizeof(float));
  set.labels_ = Tensor::Filled<float>(TensorShape({n, num_classes}), 0.0f);
  absl::Span<float> one_hot = set.labels_.flat<float>();
  for (int64_t i = 0; i < n; ++i) one_hot[i * num_classes + labels[i]] = 1.0f;
  set.int_labels_ = std::move(labels);
  set.rng_.seed(seed);
  return set;
}

absl::StatusOr<DataSet> DataSet::FromBytes(absl::Span<const uint8_t> pixels, int image_size,
                                           absl::Span<const uint8_t> labels, int num_classes,
                                           uint64_t seed) {
  std::vector<float> images(pixels.size());
  for (size_t i = 0; i < pixels.size(); ++i) images[i] = pixels[i] / 255.0f;
  std::vector<int32_t> int_labels(labels.begin(), labels.end());
  return Create(std::move(images), image_size, std::move(int_labels), num_classes, seed);
}

void DataSet::StartEpoch() {
  order_ = ShuffledIndices(num_examples_, rng_);
  index_in_epoch_ = 0;
  started_ = true;
}

absl::StatusOr<Batch> DataSet::NextBatch(int batch_size) {
  if (batch_size < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch size must be at least 1, got ", batch_size));
  }
  if (num_examples_ == 0) {
    return absl::FailedPreconditionError("cannot draw a batch from an empty data set");
  }
  Batch batch;
  batch.images = Tensor(DT_FLOAT, TensorShape({batch_size, image_size_}));
  batch.labels = Tensor::Filled<float>(TensorShape({batch_size, num_classes_}), 0.0f);
  batch.int_labels = Tensor(DT_INT32, TensorShape({batch_size}));
  const float* src = images_.flat<float>().data();
  float* dst = batch.images.flat<float>().data();
  absl::Span<float> one_hot = batch.labels.flat<float>();
  absl::Span<int32_t> ints = batch.int_labels.flat<int32_t>();
  for (int b = 0; b < batch_size; ++b) {
    if (!started_ || index_in_epoch_ == num_examples_) StartEpoch();
    const int64_t example = order_[index_in_epoch_++];
    if (index_in_epoch_ == num_examples_) ++epochs_completed_;
    std::memcpy(dst + static_cast<int64_t>(b) * image_size_, src + example * image_size_,
                image_size_ * sizeof(float));
    const int32_t label = int_labels_[example];
    one_hot[static_cast<int64_t>(b) * num_classes_ + label] = 1.0f;
    ints[b] = label;
  }
  return batch;
}

absl::StatusOr<std::string> FindDataFile(const std::string& dir, absl::string_view gz_name) {
  std::error_code ec;
  const std::string gz_path = (std::filesystem::path(dir) / std::string(gz_name)).string();
  if (std::filesystem::exists(gz_path, ec)) return gz_path;
  std::string plain_name(gz_name);
  if (plain_name.size() > 3 && plain_name.compare(plain_name.size() - 3, 3, ".gz") == 0) {
    plain_name.resize(plain_name.size() - 3);
  }
  const std::string plain_path = (std::filesystem::path(dir) / plain_name).string();
  if (std::filesystem::exists(plain_path, ec)) return plain_path;
  return absl::NotFoundError(
      absl::StrCat("missing MNIST file: neither ", gz_path, " nor ", plain_path, " exists"));
}

absl::StatusOr<DataSets> ReadDataSets(const std::string& dir, const ReadOptions& options) {
  struct Pair {
    absl::string_view images_name, labels_name;
    std::string images_path, labels_path;
    IdxImages images;
    std::vector<uint8_t> labels;
  };
  Pair train{kTrainImagesFile, kTrainLabelsFile, "", "", {}, {}};
  Pair test{kTestImagesFile, kTestLabelsFile, "", "", {}, {}};
  for (Pair* pair : {&train, &test}) {
    DFLOW_ASSIGN_OR_RETURN(pair->images_path, FindDataFile(dir, pair->images_name));
    DFLOW_ASSIGN_OR_RETURN(pair->labels_path, FindDataFile(dir, pair->labels_name));
    DFLOW_ASSIGN_OR_RETURN(pair->images, ReadIdxImages(pair->images_path));
    const IdxImages& images = pair->images;
    if (images.rows != kImageRows || images.cols != kImageCols) {
      return absl::InvalidArgumentError(absl::StrCat(pair->images_path, ": images are ",
                                                     images.rows, "x", images.cols,
                                                     ", MNIST images are 28x28"));
    }
    DFLOW_ASSIGN_OR_RETURN(pair->labels, ReadIdxLabels(pair->labels_path));
    if (static_cast<int64_t>(pair->labels.size()) != images.count) {
      return absl::InvalidArgumentError(absl::StrCat(pair->images_path, " holds ", images.count,
                                                     " images but ", pair->labels_path, " holds ",
                                                     pair->labels.size(),
                                                     " labels; they must match"));
    }
  }
  const int64_t train_total = train.images.count;
  if (options.validation_size < 0 || options.validation_size > train_total) {
    return absl::InvalidArgumentError(absl::StrCat("validation size ", options.validation_size,
                                                   " must be between 0 and the ", train_total,
                                                   " training images of ", train.images_path));
  }
  const int64_t train_count = train_total - options.validation_size;
  absl::Span<const uint8_t> pixels(train.images.pixels);
  absl::Span<const uint8_t> labels(train.labels);
  DFLOW_ASSIGN_OR_RETURN(
      DataSet train_set,
      DataSet::FromBytes(pixels.subspan(0, train_count * kImageSize), kImageSize,
                         labels.subspan(0, train_count), kNumClasses, options.seed));
  DFLOW_ASSIGN_OR_RETURN(
      DataSet validation_set,
      DataSet::FromBytes(pixels.subspan(train_count * kImageSize), kImageSize,
                         labels.subspan(train_count), kNumClasses, options.seed + 1));
  DFLOW_ASSIGN_OR_RETURN(DataSet test_set,
                         DataSet::FromBytes(test.images.pixels, kImageSize, test.labels,
                                            kNumClasses, options.seed + 2));
  return DataSets{std::move(train_set), std::move(validation_set), std::move(test_set)};
}

absl::StatusOr<std::string> MnistDir(absl::string_view flag_value) {
  std::string dir(flag_value);
  const char* source = "--data_dir";
  if (dir.empty()) {
    const char* env = std::getenv("MNIST_DIR");
    if (env != nullptr) dir = env;
    source = "MNIST_DIR";
  }
  if (dir.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "no MNIST data folder: pass --data_dir=DIR or set MNIST_DIR=DIR. DIR must hold the four "
        "official MNIST files ",
        kTrainImagesFile, ", ", kTrainLabelsFile, ", ", kTestImagesFile, " and ", kTestLabelsFile,
        " (gzipped or not), from http://yann.lecun.com/exdb/mnist/ or a mirror such as "
        "https://storage.googleapis.com/cvdf-datasets/mnist/; this project keeps a copy in "
        "../shared/data/mnist"));
  }
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) {
    return absl::NotFoundError(
        absl::StrCat("MNIST data folder ", dir, " (from ", source, ") does not exist"));
  }
  if (!std::filesystem::is_directory(dir, ec)) {
    return absl::InvalidArgumentError(
        absl::StrCat("MNIST data folder ", dir, " (from ", source, ") is not a folder"));
  }
  return dir;
}

absl::StatusOr<DataSets> LoadDataSetsForTraining(absl::string_view data_dir_flag, uint64_t seed,
                                                 int batch_size, std::ostream& log) {
  DFLOW_ASSIGN_OR_RETURN(const std::string dir, MnistDir(data_dir_flag));
  log << "reading MNIST from " << dir << std::endl;
  const auto start = std::chrono::steady_clock::now();
  ReadOptions options;
  options.seed = seed;
  DFLOW_ASSIGN_OR_RETURN(DataSets data, ReadDataSets(dir, options));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  log << absl::StrFormat("loaded %d training, %d validation and %d test images in %.2f s",
                         data.train.num_examples(), data.validation.num_examples(),
                         data.test.num_examples(), seconds)
      << std::endl;
  if (batch_size > data.train.num_examples()) {
    return absl::InvalidArgumentError(absl::StrCat("--batch_size must be at most the ",
                                                   data.train.num_examples(),
                                                   " training images, got ", batch_size));
  }
  return data;
}

absl::Status CheckTrainAndTestSets(const DataSet& train, const DataSet& test) {
  if (train.num_examples() == 0 || test.num_examples() == 0) {
    return absl::InvalidArgumentError("the training and test sets must not be empty");
  }
  if (train.image_size() != test.image_size() || train.num_classes() != test.num_classes()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "training examples have ", train.image_size(), " values and ", train.num_classes(),
        " classes but test examples have ", test.image_size(), " and ", test.num_classes()));
  }
  return absl::OkStatus();
}

void PrintTrainingReport(std::ostream& log, double test_accuracy, double train_seconds, int steps,
                         int ms_decimals, double eval_seconds, int64_t test_images) {
  log << absl::StrFormat("test accuracy: %.4f", test_accuracy) << std::endl;
  log << absl::StrFormat("training time: %.3f s (%d steps, %.*f ms/step)", train_seconds, steps,
                         ms_decimals, steps > 0 ? 1e3 * train_seconds / steps : 0.0)
      << std::endl;
  log << absl::StrFormat("evaluation time: %.3f s (%d test images)", eval_seconds, test_images)
      << std::endl;
}

void PrintDataParallelSplit(std::ostream& log, int num_ranks, int batch_size,
                            absl::string_view printed) {
  if (num_ranks <= 1) return;
  log << absl::StrFormat("data-parallel on %d ranks: each batch split by rows, %d to %d per "
                         "rank (%s printed: rank 0's rows)",
                         num_ranks, batch_size / num_ranks,
                         (batch_size + num_ranks - 1) / num_ranks, printed)
      << std::endl;
}

}  // namespace mnist
}  // namespace dflow
