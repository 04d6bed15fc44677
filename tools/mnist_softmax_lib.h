// The TensorFlow "MNIST for ML beginners" model: softmax regression y = softmax(x W + b) trained
// by gradient descent on mini-batches, then scored in the graph on a test set.
#ifndef DFLOW_TOOLS_MNIST_SOFTMAX_LIB_H_
#define DFLOW_TOOLS_MNIST_SOFTMAX_LIB_H_

#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ops/scope.h"
#include "tools/mnist_data.h"

namespace dflow {
namespace mnist {

enum class SoftmaxLoss {
  kTutorial,  // Mean(-Sum(y_ * Log(Softmax(logits)), axis 1)), as the tutorial writes it.
  kLogits,    // Mean(SoftmaxCrossEntropyWithLogits(logits, y_).loss), the stable form.
};
// "tutorial" / "logits".
absl::StatusOr<SoftmaxLoss> ParseSoftmaxLoss(absl::string_view name);

struct SoftmaxOptions {
  int steps = 1000;
  int batch_size = 100;
  float learning_rate = 0.5f;
  SoftmaxLoss loss = SoftmaxLoss::kTutorial;
  // The batch loss is recorded at step 1, every `log_every` steps and at the last step.
  int log_every = 100;
  // Progress lines ("step 100: loss 0.3512") go here when non-null.
  std::ostream* log = nullptr;
  // Data-parallel training under mpirun (docs/distributed.md): this process is rank `rank` of
  // `num_ranks`. With num_ranks > 1, every rank draws the same global batches of batch_size
  // (so every rank must use the same data and seed) and trains on its rows
  // [rank*B/num_ranks, (rank+1)*B/num_ranks); the gradients are combined by a row-weighted
  // allreduce (DistributedOptimizer), so the updates are those of one process with the whole
  // batch. Rank 0's initial variables are broadcast; only rank 0 evaluates. The recorded losses
  // are those of this rank's rows. Needs batch_size >= num_ranks.
  int rank = 0;
  int num_ranks = 1;
};

struct LossAtStep {
  int step;  // 1-based: the loss of the batch used by training step `step`, before its update.
  float loss;
};

struct SoftmaxResult {
  double test_accuracy = 0;  // Fraction of test examples classified right, computed in the graph.
  std::vector<LossAtStep> losses;
  double train_seconds = 0;  // The training steps (batching included, graph building excluded).
  double eval_seconds = 0;   // The accuracy run on the test set.
  bool evaluated = true;     // False on ranks other than 0 (test_accuracy is then 0).
  // The trained variables, by name ("W", "b").
  std::vector<std::pair<std::string, Tensor>> variables;
};

// The tutorial's graph: placeholders x [?,features] and y_ [?,classes], probabilities y, the
// scalar loss and accuracy, and the train and init targets (named "x", "y_", "y", "loss",
// "accuracy", "train/GradientDescent" and "init" in the graph). With options.num_ranks > 1 the
// gradients go through DistributedOptimizer and `broadcast` sets every variable to rank 0's.
struct SoftmaxGraph {
  Output x, y_, y, loss, accuracy;
  Operation train, init, broadcast;
};
absl::StatusOr<SoftmaxGraph> BuildSoftmaxGraph(const Scope& root, int64_t features,
                                               int64_t classes, const SoftmaxOptions& options);

// Builds the model for `train`'s image and class sizes, trains it on `train` (drawing batches
// from it, so its shuffling state advances) and evaluates it on `test`. Fails on bad options, on
// data sets of different sizes and on any graph or run error.
absl::StatusOr<SoftmaxResult> TrainSoftmax(DataSet& train, const DataSet& test,
                                           const SoftmaxOptions& options);

}  // namespace mnist
}  // namespace dflow

#endif  // DFLOW_TOOLS_MNIST_SOFTMAX_LIB_H_
