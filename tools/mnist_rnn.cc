// mnist_rnn: TensorFlow's recurrent MNIST example on dflow. Each image is read as 28 time steps
// of 28 pixels by an LSTM of 128 units built with ops::WhileLoop (as dynamic_rnn builds it),
// a linear layer on the last output is trained with Adam, and the test accuracy is printed.
//
//   bazel run -c opt //tools:mnist_rnn -- --data_dir=$PWD/../shared/data/mnist --steps=500

#include <cmath>
#include <cstdint>
#include <iostream>
#include <optional>
#include <string>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "graph/status_macros.h"
#include "ops/scope.h"
#include "tools/mnist_data.h"
#include "tools/mnist_rnn_lib.h"
#include "tools/tool_flags.h"

ABSL_FLAG(std::string, data_dir, "",
          "Folder with the four MNIST files (gzipped or not). Default: $MNIST_DIR.");
ABSL_FLAG(int32_t, steps, 10000, "Training steps in all.");
ABSL_FLAG(int32_t, batch_size, 128, "Training images per step.");
ABSL_FLAG(double, learning_rate, 1e-3, "Adam's learning rate (> 0).");
ABSL_FLAG(int64_t, seed, 0, "Seed of the weight initialization and the data shuffling.");
ABSL_FLAG(int32_t, log_every, 100, "Print progress every N steps.");
ABSL_FLAG(std::string, checkpoint, "", "V2 checkpoint prefix to save to (and resume from).");
ABSL_FLAG(bool, restore, false, "Resume from --checkpoint, continuing its step count.");
ABSL_FLAG(int32_t, threads, 0, "oneDNN threads (0: all cores).");
ABSL_FLAG(std::string, write_graph, "",
          "Write the model's graph to this file (text if it ends in .pbtxt, else binary) and "
          "exit without training.");

namespace {

constexpr char kUsage[] =
    "Usage: mnist_rnn [--data_dir=DIR] [--steps=10000] [--batch_size=128]\n"
    "                 [--learning_rate=1e-3] [--seed=0] [--log_every=100]\n"
    "                 [--checkpoint=PREFIX [--restore]] [--threads=0] [--write_graph=FILE]\n"
    "\n"
    "TensorFlow's recurrent MNIST example on dflow: each image is read row by row as 28 time\n"
    "steps of 28 pixels by an LSTM of 128 units (BasicLSTMCell: one MatMul of [x_t, h] by a\n"
    "[156, 512] kernel plus bias, gates i, j, f, o, forget_bias 1.0) run by a while loop over a\n"
    "TensorArray of the time steps, as dynamic_rnn builds it; a linear layer on the last output\n"
    "gives the logits; Adam minimizes the mean softmax cross-entropy on batches of the first\n"
    "55,000 training images (gradients through the while loop); then all 10,000 test images are\n"
    "scored. Prints a line per --log_every steps (loss and accuracy on the step's batch before\n"
    "its update, images/second) and `test accuracy: 0.9xxx`.\n"
    "\n"
    "Flags:\n"
    "  --data_dir=DIR          folder with the four MNIST files; default: $MNIST_DIR\n"
    "  --steps=N               training steps in all, N >= 0 (default 10000: about 0.98)\n"
    "  --batch_size=B          images per step, B >= 1 (default 128)\n"
    "  --learning_rate=R       Adam's learning rate, R > 0 (default 1e-3)\n"
    "  --seed=S                seeds the initial weights and the shuffling (default 0)\n"
    "  --log_every=N           progress line every N steps, N >= 1 (default 100)\n"
    "  --checkpoint=PREFIX     save the weights, Adam's state and global_step after training\n"
    "                          as a TensorFlow V2 checkpoint (PREFIX.index, PREFIX.data-*)\n"
    "  --restore               resume from --checkpoint, training on to --steps in all\n"
    "  --threads=T             oneDNN threads, T >= 0 (default 0: all cores)\n"
    "  --write_graph=FILE      write the untrained graph to FILE (.pbtxt: text) and exit\n"
    "  --help                  show this message\n"
    "\n"
    "Exit status: 0 on success, 1 on any error (the message names its cause).\n";

int Fail(absl::string_view message) { return dflow::ToolFail("mnist_rnn", message); }

namespace mnist = dflow::mnist;

absl::Status Run(const mnist::RnnOptions& options) {
  const std::string graph_path = absl::GetFlag(FLAGS_write_graph);
  if (!graph_path.empty()) {
    dflow::Scope root = dflow::Scope::NewRootScope();
    DFLOW_RETURN_IF_ERROR(mnist::BuildRnnGraph(root, 10, options).status());
    return dflow::WriteGraphFlag(*root.graph(), graph_path, "LSTM graph", std::cout);
  }
  DFLOW_ASSIGN_OR_RETURN(
      mnist::DataSets data,
      mnist::LoadDataSetsForTraining(absl::GetFlag(FLAGS_data_dir),
                                     static_cast<uint64_t>(options.seed), options.batch_size,
                                     std::cout));
  std::cout << absl::StrFormat("training %d steps of %d images: Adam at %g, seed %d",
                               options.steps, options.batch_size, options.learning_rate,
                               options.seed)
            << std::endl;
  DFLOW_ASSIGN_OR_RETURN(const mnist::RnnResult result,
                         mnist::TrainRnn(data.train, data.test, options));
  mnist::PrintTrainingReport(std::cout, result.test_accuracy, result.train_seconds,
                             result.last_step - result.first_step + 1, 1, result.eval_seconds,
                             data.test.num_examples());
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  if (std::optional<int> exit_code = dflow::ParseToolFlags(argc, argv, "mnist_rnn", kUsage)) {
    return *exit_code;
  }
  mnist::RnnOptions options;
  options.steps = absl::GetFlag(FLAGS_steps);
  options.batch_size = absl::GetFlag(FLAGS_batch_size);
  const double learning_rate = absl::GetFlag(FLAGS_learning_rate);
  absl::StatusOr<float> rate = dflow::LearningRateFlag(learning_rate);
  if (!rate.ok()) return Fail(rate.status().message());
  options.learning_rate = *rate;
  options.seed = absl::GetFlag(FLAGS_seed);
  options.log_every = absl::GetFlag(FLAGS_log_every);
  options.checkpoint = absl::GetFlag(FLAGS_checkpoint);
  options.restore = absl::GetFlag(FLAGS_restore);
  options.threads = absl::GetFlag(FLAGS_threads);
  options.log = &std::cout;
  absl::Status status = mnist::CheckRnnOptions(options, 784, 10);
  if (!status.ok()) return Fail(status.message());
  status = Run(options);
  return status.ok() ? 0 : Fail(status.message());
}
