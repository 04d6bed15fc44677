// mnist_cnn: TensorFlow's "Deep MNIST for experts" tutorial on dflow. Trains the two-layer
// convolutional network with dropout and Adam on the MNIST training images, optionally saving
// and resuming checkpoints, and prints the test accuracy.
//
//   bazel run -c opt //tools:mnist_cnn -- --data_dir=$PWD/../shared/data/mnist --quick

#include <cmath>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "graph/status_macros.h"
#include "ops/collective/mpi_world.h"
#include "ops/scope.h"
#include "tools/mnist_cnn_lib.h"
#include "tools/mnist_data.h"
#include "tools/tool_flags.h"

ABSL_FLAG(std::string, data_dir, "",
          "Folder with the four MNIST files (gzipped or not). Default: $MNIST_DIR.");
ABSL_FLAG(int32_t, steps, -1, "Training steps in all (default 20000; 1000 with --quick).");
ABSL_FLAG(bool, quick, false, "Train 1000 steps instead of 20000.");
ABSL_FLAG(int32_t, batch_size, 50, "Training images per step.");
ABSL_FLAG(double, learning_rate, 1e-4, "Adam's learning rate (> 0).");
ABSL_FLAG(double, keep_prob, 0.5, "Dropout keep probability while training, in (0, 1].");
ABSL_FLAG(int64_t, seed, 0,
          "Seed of the weight initialization, the dropout masks and the data shuffling.");
ABSL_FLAG(int32_t, log_every, 100, "Print progress every N steps.");
ABSL_FLAG(int32_t, eval_batch_size, 1000, "Test images per evaluation run.");
ABSL_FLAG(std::string, checkpoint, "", "Checkpoint file to save to (and resume from).");
ABSL_FLAG(int32_t, save_every, 0, "Save the checkpoint every N steps (0: only at the end).");
ABSL_FLAG(bool, restore, false, "Resume from --checkpoint, continuing its step count.");
ABSL_FLAG(int32_t, threads, 0, "oneDNN threads (0: all cores).");
ABSL_FLAG(std::string, write_graph, "",
          "Write the model's graph to this file (text if it ends in .pbtxt, else binary) and "
          "exit without training.");

namespace {

constexpr char kUsage[] =
    "Usage: mnist_cnn [--data_dir=DIR] [--steps=N | --quick] [--batch_size=50]\n"
    "                 [--learning_rate=1e-4] [--keep_prob=0.5] [--seed=0] [--log_every=100]\n"
    "                 [--eval_batch_size=1000] [--checkpoint=PREFIX [--save_every=N] [--restore]]\n"
    "                 [--threads=0] [--write_graph=FILE]\n"
    "\n"
    "TensorFlow's \"Deep MNIST for experts\" tutorial on dflow: a convolutional network\n"
    "(5x5 conv with 32 filters, ReLU, 2x2 max-pool; 5x5 conv with 64 filters, ReLU, 2x2\n"
    "max-pool; 1024 ReLU units with dropout; softmax read-out over 10 classes), weights drawn\n"
    "from a truncated normal (stddev 0.1) and biases 0.1, trained with Adam to minimize the\n"
    "mean cross-entropy on batches of the first 55,000 training images, then scored on the\n"
    "10,000 test images in batches. Prints a line per --log_every steps (loss and accuracy\n"
    "on the step's batch with keep_prob 1, before its update, and training images/second),\n"
    "`test accuracy: 0.9xxx`, and the wall times of training and evaluation.\n"
    "\n"
    "Flags:\n"
    "  --data_dir=DIR          folder with train-images-idx3-ubyte.gz,\n"
    "                          train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and\n"
    "                          t10k-labels-idx1-ubyte.gz (or the same names without .gz);\n"
    "                          default: $MNIST_DIR\n"
    "  --steps=N               training steps in all, N >= 0 (default 20000, the tutorial's)\n"
    "  --quick                 1000 steps (about 96% test accuracy); not with --steps\n"
    "  --batch_size=B          images per step, 1 <= B <= 55000 (default 50)\n"
    "  --learning_rate=R       Adam's learning rate, R > 0 (default 1e-4)\n"
    "  --keep_prob=P           dropout keep probability while training, 0 < P <= 1 (default 0.5)\n"
    "  --seed=S                seeds the initial weights, the dropout masks and the shuffling\n"
    "                          of the training images (default 0; every seed is reproducible)\n"
    "  --log_every=N           progress line every N steps, N >= 1 (default 100)\n"
    "  --eval_batch_size=B     test images per evaluation run, B >= 1 (default 1000)\n"
    "  --checkpoint=PREFIX     save the session's state (weights, Adam's, global_step and the\n"
    "                          dropout's random stream) after training as a TensorFlow V2\n"
    "                          checkpoint: PREFIX.index + PREFIX.data-00000-of-00001\n"
    "  --save_every=N          also save every N steps (needs --checkpoint; default 0)\n"
    "  --restore               resume from --checkpoint: its global_step is the last step done,\n"
    "                          training continues to --steps in all with the same data order\n"
    "                          and dropout masks as an uninterrupted run (use the same flags)\n"
    "  --threads=T             oneDNN threads, T >= 0 (default 0: all cores)\n"
    "  --write_graph=FILE      write the untrained graph (x, y_, keep_prob, loss, accuracy,\n"
    "                          Adam, init, ...) for these flags to FILE (.pbtxt: text, else\n"
    "                          binary) and exit; no data needed. Run it with session_run.\n"
    "  --help                  show this message\n"
    "\n"
    "Under mpirun (mpirun -np 2 mnist_cnn ...) every rank trains on its rows of each\n"
    "batch and the gradients are averaged across ranks (docs/distributed.md); only rank 0\n"
    "prints, saves checkpoints and evaluates.\n"
    "\n"
    "Exit status: 0 on success, 1 on any error (the message names its cause).\n";

int Fail(const absl::Status& status) { return dflow::ToolFail("mnist_cnn", status.message()); }
int Fail(const std::string& message) { return dflow::ToolFail("mnist_cnn", message); }

namespace mnist = dflow::mnist;

// --write_graph: the untrained graph for these options.
absl::Status WriteGraph(const std::string& path, const mnist::CnnOptions& options) {
  dflow::Scope root = dflow::Scope::NewRootScope();
  DFLOW_RETURN_IF_ERROR(mnist::BuildCnnGraph(root, 10, options).status());
  return dflow::WriteGraphFlag(*root.graph(), path, "CNN graph", std::cout);
}

// Reads MNIST, trains and scores the model, printing progress and timings.
absl::Status TrainAndReport(const mnist::CnnOptions& options, double learning_rate,
                            double keep_prob) {
  std::ostream quiet(nullptr);  // Discards everything: ranks other than 0 print nothing.
  std::ostream& out = options.rank == 0 ? std::cout : quiet;
  DFLOW_ASSIGN_OR_RETURN(
      mnist::DataSets data,
      mnist::LoadDataSetsForTraining(absl::GetFlag(FLAGS_data_dir),
                                     static_cast<uint64_t>(options.seed), options.batch_size,
                                     out));
  out << absl::StrFormat(
             "training %d steps of %d images: Adam at %g, dropout keep_prob %g, seed %d",
             options.steps, options.batch_size, learning_rate, keep_prob, options.seed)
      << std::endl;
  mnist::PrintDataParallelSplit(out, options.num_ranks, options.batch_size, "loss and accuracy");
  DFLOW_ASSIGN_OR_RETURN(const mnist::CnnResult result,
                         mnist::TrainCnn(data.train, data.test, options));
  if (!result.evaluated) return absl::OkStatus();
  mnist::PrintTrainingReport(std::cout, result.test_accuracy, result.train_seconds,
                             result.last_step - result.first_step + 1, 2, result.eval_seconds,
                             data.test.num_examples());
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  if (std::optional<int> exit_code = dflow::ParseToolFlags(argc, argv, "mnist_cnn", kUsage)) {
    return *exit_code;
  }

  mnist::CnnOptions options;
  const int steps = absl::GetFlag(FLAGS_steps);
  const bool quick = absl::GetFlag(FLAGS_quick);
  // -1 is the flag's "not given" default.
  if (steps < -1) return Fail(absl::StrCat("--steps must be >= 0, got ", steps));
  if (quick && steps >= 0) return Fail("--quick and --steps cannot be used together");
  options.steps = steps >= 0 ? steps : (quick ? 1000 : 20000);
  options.batch_size = absl::GetFlag(FLAGS_batch_size);
  const double learning_rate = absl::GetFlag(FLAGS_learning_rate);
  const double keep_prob = absl::GetFlag(FLAGS_keep_prob);
  options.seed = absl::GetFlag(FLAGS_seed);
  options.log_every = absl::GetFlag(FLAGS_log_every);
  options.eval_batch_size = absl::GetFlag(FLAGS_eval_batch_size);
  options.checkpoint = absl::GetFlag(FLAGS_checkpoint);
  options.save_every = absl::GetFlag(FLAGS_save_every);
  options.restore = absl::GetFlag(FLAGS_restore);
  options.threads = absl::GetFlag(FLAGS_threads);
  absl::StatusOr<dflow::MpiWorld> world = dflow::MpiWorldFromEnv();
  if (!world.ok()) return Fail(world.status());
  options.rank = world->rank;
  options.num_ranks = world->size;
  options.log = options.rank == 0 ? &std::cout : nullptr;

  if (absl::Status s = dflow::CheckFlagAtLeast("batch_size", options.batch_size, 1); !s.ok()) {
    return Fail(s);
  }
  absl::StatusOr<float> rate = dflow::LearningRateFlag(learning_rate);
  if (!rate.ok()) return Fail(rate.status());
  options.learning_rate = *rate;
  if (!(keep_prob > 0 && keep_prob <= 1)) {
    return Fail(absl::StrCat("--keep_prob must be in (0, 1], got ", keep_prob));
  }
  options.keep_prob = static_cast<float>(keep_prob);
  for (const absl::Status& s :
       {dflow::CheckFlagAtLeast("log_every", options.log_every, 1),
        dflow::CheckFlagAtLeast("eval_batch_size", options.eval_batch_size, 1),
        dflow::CheckFlagAtLeast("save_every", options.save_every, 0)}) {
    if (!s.ok()) return Fail(s);
  }
  if (options.save_every > 0 && options.checkpoint.empty()) {
    return Fail("--save_every needs --checkpoint=PREFIX");
  }
  if (options.restore && options.checkpoint.empty()) {
    return Fail("--restore needs --checkpoint=PREFIX");
  }
  if (absl::Status s = dflow::CheckFlagAtLeast("threads", options.threads, 0); !s.ok()) {
    return Fail(s);
  }

  const std::string graph_path = absl::GetFlag(FLAGS_write_graph);
  const absl::Status status = graph_path.empty()
                                  ? TrainAndReport(options, learning_rate, keep_prob)
                                  : WriteGraph(graph_path, options);
  return status.ok() ? 0 : Fail(status);
}
