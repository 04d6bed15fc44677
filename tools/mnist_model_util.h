// What the MNIST model libraries (mnist_softmax_lib, mnist_cnn_lib, mnist_rnn_lib) build their
// graphs and training loops from: seeded variables, row slices and shards of a batch, timing,
// the step counter and scores, resuming from a checkpoint and scoring the test set in batches.
#ifndef DFLOW_TOOLS_MNIST_MODEL_UTIL_H_
#define DFLOW_TOOLS_MNIST_MODEL_UTIL_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "graph/tensor.h"
#include "ops/scope.h"
#include "runtime/session.h"
#include "tools/mnist_data.h"

namespace dflow {
namespace mnist {

double SecondsSince(std::chrono::steady_clock::time_point start);

// An int32 vector holding `dims` (a Reshape's shape, a TruncatedNormal's).
Tensor Int32Vector(const std::vector<int64_t>& dims);

// A variable initialized to TruncatedNormal(shape) * stddev, seeded by (seed, seed2) so that
// each variable gets its own stream; its Assign is "<name>/Assign".
Output NormalVariable(const Scope& root, const std::string& name,
                      const std::vector<int64_t>& shape, float stddev, int64_t seed,
                      int64_t seed2);

// A variable of `size` elements, every one `value`.
Output ConstVariable(const Scope& root, const std::string& name, int64_t size, float value);

// Rows [begin, begin + n) of a [N, d] float tensor, copied.
Tensor Rows(const Tensor& t, int64_t begin, int64_t n);

// Under mpirun (num_ranks > 1), replaces the batch's images and labels by this rank's rows.
absl::Status ShardBatch(int rank, int num_ranks, Batch* batch);

// The int64 scalar variable "global_step", assigned 0 by "global_step/Assign".
Output GlobalStepVariable(const Scope& root);

// "accuracy" (the mean) and "correct" (the count) of the rows whose logits' argmax is the
// one-hot label's.
struct Scores {
  Output accuracy, correct;
};
Scores ScoreLogits(const Scope& root, const Output& logits, const Output& y_);

// --restore: restores `checkpoint` into `session` and returns its global_step, the last step
// done, after skipping the batches those steps trained on (so the data continues as it would
// have); "restored step N from PREFIX" on `log` when not null.
absl::StatusOr<int> RestoreTrainingStep(Session& session, const std::string& checkpoint,
                                        const Output& global_step, DataSet& train,
                                        int batch_size, std::ostream* log);

// The test set scored in batches of `eval_batch_size` (memory stays bounded whatever its size):
// `correct` summed over the batches fed to x and y_, with `extra_feeds` (when given) adding the
// model's own feeds for a batch of `rows`.
struct Evaluation {
  int64_t correct = 0;
  double accuracy = 0, seconds = 0;
};
using ExtraFeeds = std::function<void(int64_t rows, std::vector<std::pair<Output, Tensor>>*)>;
absl::StatusOr<Evaluation> EvaluateInBatches(Session& session, const DataSet& test,
                                             int64_t eval_batch_size, const Output& x,
                                             const Output& y_, const Output& correct,
                                             const ExtraFeeds& extra_feeds = nullptr);

}  // namespace mnist
}  // namespace dflow

#endif  // DFLOW_TOOLS_MNIST_MODEL_UTIL_H_
