// The TensorFlow "Deep MNIST for experts" model: two convolution + max-pool layers, a fully
// connected ReLU layer with dropout and a softmax read-out, trained with Adam on mini-batches,
// checkpointed and resumable, then scored on a test set in batches.
#ifndef DFLOW_TOOLS_MNIST_CNN_LIB_H_
#define DFLOW_TOOLS_MNIST_CNN_LIB_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/tensor.h"
#include "kernels/random_state.h"
#include "ops/scope.h"
#include "tools/mnist_data.h"

namespace dflow {
namespace mnist {

struct CnnOptions {
  // Training steps in all, counted by the graph's global_step: a run resumed from a checkpoint
  // at step k trains steps k+1..steps.
  int steps = 20000;
  int batch_size = 50;
  float learning_rate = 1e-4f;  // Adam's.
  float keep_prob = 0.5f;       // Dropout while training; evaluation always feeds 1.0.
  // Seeds the weights' TruncatedNormal initializers and the dropout masks (the data's shuffling
  // is seeded where the DataSet is made). Every seed gives a fixed, reproducible run.
  int64_t seed = 0;
  // The image geometry; height * width must be the data's image size. 28 x 28 for MNIST.
  int image_height = 28;
  int image_width = 28;
  // Layer widths: the tutorial's 32 and 64 5x5 filters and 1024 hidden units. Smaller widths
  // make fast tests.
  int conv1_features = 32;
  int conv2_features = 64;
  int fc_units = 1024;
  // A progress record (and line) at step 1, every `log_every` steps and at the last step.
  int log_every = 100;
  // Test images per evaluation run, so that memory stays bounded.
  int eval_batch_size = 1000;
  // With a path: the session's state (the weights, Adam's slots and beta powers, global_step, and
  // the dropout's random stream) is saved there at the end of training and, when
  // save_every > 0, every save_every steps. With restore, training resumes from that file.
  std::string checkpoint;
  int save_every = 0;
  bool restore = false;
  // oneDNN threads; 0 keeps the default (all cores).
  int threads = 0;
  // Progress lines go here when non-null.
  std::ostream* log = nullptr;
  // Data-parallel training under mpirun (docs/distributed.md): this process is rank `rank` of
  // `num_ranks`. With num_ranks > 1 every rank draws the same global batches (same data and
  // seed on every rank) and trains on its rows [rank*B/num_ranks, (rank+1)*B/num_ranks); the
  // gradients are combined by a row-weighted allreduce before Adam applies them, rank 0's
  // initial (or restored) variables are broadcast, and only rank 0 saves checkpoints and
  // evaluates. The dropout masks differ from one process's (rank r's dropout seed2 is 4 + r).
  // Recorded losses and accuracies are those of this rank's rows. Needs batch_size >= num_ranks.
  int rank = 0;
  int num_ranks = 1;
};

struct CnnProgress {
  int step;                   // 1-based, as global_step counts.
  float loss;                 // Mean cross-entropy of the step's batch before its update,
  float train_accuracy;       // and the accuracy on it, both with keep_prob 1.
  double images_per_second;   // Training throughput since the previous record.
};

struct CnnResult {
  int first_step = 1;         // The first step this run trained (k+1 when resumed at k).
  int last_step = 0;          // The global step at the end.
  std::vector<CnnProgress> progress;
  double test_accuracy = 0;   // Over every test example, evaluated in batches.
  int64_t test_correct = 0;
  double train_seconds = 0;   // The training loop (batching, logging and saving included).
  double eval_seconds = 0;    // The test-set evaluation.
  bool evaluated = true;      // False on ranks other than 0 (no test accuracy).
  // Every variable's final value, by name (sorted), as a checkpoint would hold them.
  std::vector<std::pair<std::string, Tensor>> variables;
  // Every random stream's final position (the dropout's), by node name (sorted).
  std::vector<std::pair<std::string, RandomState::Position>> random_states;
};

// The model's graph: placeholders x [?, height*width], y_ [?, classes] (one-hot) and keep_prob
// (a scalar), the logits, the scalar loss and accuracy, the number of correct predictions
// `correct` (a float scalar), the int64 `global_step` variable, and the train and init targets.
// Named "x", "y_", "keep_prob", "logits", "loss", "accuracy", "correct", "global_step", "Adam"
// and "init" in the graph; the weights are "W_conv1", "b_conv1", ..., "W_fc2", "b_fc2".
// `dropout_noise` is the dropout's RandomUniform output: evaluation feeds it zeros along with
// keep_prob 1 (which keeps every unit whatever the noise), so that it neither runs nor advances
// the random stream (the session's state for that node, which checkpoints carry).
// With options.num_ranks > 1 the gradients go through DistributedOptimizer and `broadcast`
// sets every variable to rank 0's.
struct CnnGraph {
  Output x, y_, keep_prob, logits, loss, accuracy, correct, global_step, dropout_noise;
  Operation train, init, broadcast;
};
absl::StatusOr<CnnGraph> BuildCnnGraph(const Scope& root, int classes, const CnnOptions& options);

// Checks the options against the data (image geometry, classes, batch sizes, checkpoint flags).
absl::Status CheckCnnOptions(const CnnOptions& options, int64_t image_size, int classes);

// Builds the model, trains it on `train` (drawing batches from it, so its shuffling state
// advances; a resumed run first skips the batches the restored steps used, so it continues the
// same sequence when `train` is made with the same seed) and evaluates it on `test`.
absl::StatusOr<CnnResult> TrainCnn(DataSet& train, const DataSet& test, const CnnOptions& options);

}  // namespace mnist
}  // namespace dflow

#endif  // DFLOW_TOOLS_MNIST_CNN_LIB_H_
