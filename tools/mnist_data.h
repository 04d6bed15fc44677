// Reading the MNIST handwritten-digit data set from its official IDX files, split the way the
// TensorFlow tutorials split it, and serving shuffled mini-batches.
//
//   absl::StatusOr<std::string> dir = mnist::MnistDir(absl::GetFlag(FLAGS_data_dir));
//   absl::StatusOr<mnist::DataSets> data = mnist::ReadDataSets(*dir);
//   absl::StatusOr<mnist::Batch> batch = data->train.NextBatch(100);  // images [100,784]
//
// IDX files may be gzip-compressed or plain; the format is told by the gzip magic bytes, not the
// file name. Every problem (missing, truncated or malformed file, mismatched counts) is reported
// as an absl::Status naming the file.
#ifndef DFLOW_TOOLS_MNIST_DATA_H_
#define DFLOW_TOOLS_MNIST_DATA_H_

#include <cstdint>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/tensor.h"

namespace dflow {
namespace mnist {

inline constexpr uint32_t kImagesMagic = 2051;  // IDX: unsigned bytes, 3 dimensions.
inline constexpr uint32_t kLabelsMagic = 2049;  // IDX: unsigned bytes, 1 dimension.
inline constexpr int kImageRows = 28;
inline constexpr int kImageCols = 28;
inline constexpr int kImageSize = kImageRows * kImageCols;  // 784
inline constexpr int kNumClasses = 10;
// The official file names; the same names without ".gz" are accepted too.
inline constexpr absl::string_view kTrainImagesFile = "train-images-idx3-ubyte.gz";
inline constexpr absl::string_view kTrainLabelsFile = "train-labels-idx1-ubyte.gz";
inline constexpr absl::string_view kTestImagesFile = "t10k-images-idx3-ubyte.gz";
inline constexpr absl::string_view kTestLabelsFile = "t10k-labels-idx1-ubyte.gz";


// An IDX image file: `count` images of rows x cols unsigned bytes, row-major.
struct IdxImages {
  int64_t count = 0;
  int rows = 0;
  int cols = 0;
  std::vector<uint8_t> pixels;  // count * rows * cols
};
absl::StatusOr<IdxImages> ReadIdxImages(const std::string& path);
// An IDX label file; every label must be below `num_classes`.
absl::StatusOr<std::vector<uint8_t>> ReadIdxLabels(const std::string& path,
                                                   int num_classes = kNumClasses);

// One mini-batch: images [B, image_size] float, one-hot labels [B, num_classes] float and the
// same labels as class indices [B] int32.
struct Batch {
  Tensor images;
  Tensor labels;
  Tensor int_labels;
};

// Examples (images as float rows, integer labels) served as shuffled mini-batches, like the
// TensorFlow tutorials' DataSet: each epoch visits every example once, in an order drawn at the
// epoch's start from a seeded std::mt19937_64 with a Fisher-Yates shuffle of our own, so the
// order is the same with every standard library.
class DataSet {
 public:
  DataSet() = default;
  // `images` holds num_examples rows of `image_size` floats; labels lie in [0, num_classes).
  static absl::StatusOr<DataSet> Create(std::vector<float> images, int image_size,
                                        std::vector<int32_t> labels, int num_classes,
                                        uint64_t seed);
  // From uint8 pixels, scaled to [0, 1] by /255.
  static absl::StatusOr<DataSet> FromBytes(absl::Span<const uint8_t> pixels, int image_size,
                                           absl::Span<const uint8_t> labels, int num_classes,
                                           uint64_t seed);

  int64_t num_examples() const { return num_examples_; }
  int image_size() const { return image_size_; }
  int num_classes() const { return num_classes_; }
  // All examples in file order: [N, image_size] float, [N, num_classes] one-hot float.
  const Tensor& images() const { return images_; }
  const Tensor& labels() const { return labels_; }
  const std::vector<int32_t>& int_labels() const { return int_labels_; }
  int64_t epochs_completed() const { return epochs_completed_; }

  // The next `batch_size` examples of the current epoch. A batch that runs past the end of an
  // epoch takes the epoch's rest, then starts the next epoch (freshly shuffled) for the remainder.
  // Fails when batch_size < 1 or the data set is empty.
  absl::StatusOr<Batch> NextBatch(int batch_size);

 private:
  void StartEpoch();

  int64_t num_examples_ = 0;
  int image_size_ = 0;
  int num_classes_ = 0;
  Tensor images_;
  Tensor labels_;
  std::vector<int32_t> int_labels_;
  std::mt19937_64 rng_;
  std::vector<int64_t> order_;
  int64_t index_in_epoch_ = 0;  // Position in order_; order_ is drawn anew when it reaches N.
  int64_t epochs_completed_ = 0;
  bool started_ = false;
};

// A uniformly random permutation of [0, n) by Fisher-Yates, drawing from `rng` with rejection
// sampling (no std::uniform_int_distribution, whose output differs between standard libraries).
std::vector<int64_t> ShuffledIndices(int64_t n, std::mt19937_64& rng);

struct ReadOptions {
  // The last `validation_size` training images form the validation set (TensorFlow's split).
  int64_t validation_size = 5000;
  // Seeds the train set's shuffling; validation and test use seed+1 and seed+2.
  uint64_t seed = 0;
};

struct DataSets {
  DataSet train;       // the first 55,000 training images
  DataSet validation;  // the last 5,000 training images
  DataSet test;        // the 10,000 test images
};

// Reads the four MNIST files from `dir` (each as "<name>.gz" or "<name>"), checks them (28x28
// images, labels in 0..9, equal image and label counts) and splits the training files.
absl::StatusOr<DataSets> ReadDataSets(const std::string& dir, const ReadOptions& options = {});

// The path of "<dir>/<gz_name>" if it exists, else of "<dir>/<gz_name without .gz>"; NotFound
// naming both otherwise.
absl::StatusOr<std::string> FindDataFile(const std::string& dir, absl::string_view gz_name);

// The MNIST folder: `flag_value` when non-empty, else $MNIST_DIR; an error saying how to get the
// files when neither is set or the folder does not exist.
absl::StatusOr<std::string> MnistDir(absl::string_view flag_value);

// The training tools' loading step: the data sets from MnistDir(data_dir_flag), shuffled by
// `seed`, with a line on `log` before reading and one after (the counts and the time taken);
// fails unless a batch of `batch_size` fits in the training set.
absl::StatusOr<DataSets> LoadDataSetsForTraining(absl::string_view data_dir_flag, uint64_t seed,
                                                 int batch_size, std::ostream& log);

// The training tools' check of their sets: both non-empty, with equal image sizes and classes.
absl::Status CheckTrainAndTestSets(const DataSet& train, const DataSet& test);

// The training tools' closing lines on `log`: the test accuracy, the training time (per step
// with `ms_decimals` decimals) and the evaluation time.
void PrintTrainingReport(std::ostream& log, double test_accuracy, double train_seconds, int steps,
                         int ms_decimals, double eval_seconds, int64_t test_images);

// Under mpirun (num_ranks > 1), the training tools' line saying how each batch is split, ending
// "(<printed> printed: rank 0's rows)"; nothing for one process.
void PrintDataParallelSplit(std::ostream& log, int num_ranks, int batch_size,
                            absl::string_view printed);

}  // namespace mnist
}  // namespace dflow

#endif  // DFLOW_TOOLS_MNIST_DATA_H_
