// TensorFlow's recurrent MNIST example: each image read as 28 time steps of 28 pixels by an LSTM
// of 128 units (BasicLSTMCell's math, forget_bias 1.0) built with ops::WhileLoop as dynamic_rnn
// builds it (the inputs unstacked by time into a TensorArray, one read per step), a linear layer
// on the last output, softmax cross-entropy and Adam; checkpointed, then scored on a test set.
#ifndef DFLOW_TOOLS_MNIST_RNN_LIB_H_
#define DFLOW_TOOLS_MNIST_RNN_LIB_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ops/scope.h"
#include "tools/mnist_data.h"

namespace dflow {
namespace mnist {

struct RnnOptions {
  int steps = 10000;   // Training steps in all (global_step counts them).
  int batch_size = 128;
  float learning_rate = 1e-3f;  // Adam's.
  int64_t seed = 0;             // Seeds the weights' initializers.
  int time_steps = 28;          // Rows per image; time_steps * inputs = the image size.
  int inputs = 28;              // Pixels per row.
  int units = 128;              // LSTM units.
  int log_every = 100;          // Progress at step 1, every log_every steps and the last.
  int eval_batch_size = 1000;   // Test images per evaluation run.
  std::string checkpoint;       // V2 checkpoint prefix saved after training (and restored).
  bool restore = false;
  int threads = 0;              // oneDNN threads; 0: all cores.
  std::ostream* log = nullptr;  // Progress lines.
};

struct RnnProgress {
  int step;
  float loss;            // The step's batch before its update,
  float train_accuracy;  // and the accuracy on it.
};

struct RnnResult {
  int first_step = 1, last_step = 0;
  std::vector<RnnProgress> progress;
  double test_accuracy = 0;
  int64_t test_correct = 0;
  double train_seconds = 0, eval_seconds = 0;
};

// The graph: placeholders "x" [?, time_steps*inputs] and "y_" [?, classes], "logits", "loss",
// "accuracy", "correct" (float count), "global_step" (int64), the "Adam" train target and
// "init". Weights: "rnn/lstm_cell/kernel" [inputs+units, 4*units], "rnn/lstm_cell/bias",
// "W_out", "b_out".
struct RnnGraph {
  Output x, y_, logits, loss, accuracy, correct, global_step;
  Operation train, init;
};
absl::StatusOr<RnnGraph> BuildRnnGraph(const Scope& root, int classes, const RnnOptions& options);

absl::Status CheckRnnOptions(const RnnOptions& options, int64_t image_size, int classes);

// Builds, trains on `train` (a resumed run skips the batches its restored steps used), and
// evaluates on every example of `test`.
absl::StatusOr<RnnResult> TrainRnn(DataSet& train, const DataSet& test, const RnnOptions& options);

}  // namespace mnist
}  // namespace dflow

#endif  // DFLOW_TOOLS_MNIST_RNN_LIB_H_
