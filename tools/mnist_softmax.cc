// mnist_softmax: TensorFlow's "MNIST for ML beginners" tutorial on dflow. Trains softmax
// regression on the MNIST training images with gradient descent and prints the test accuracy.
//
//   bazel run //tools:mnist_softmax -- --data_dir=$PWD/../shared/data/mnist

#include <cmath>
#include <cstdint>
#include <cstdio>
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
#include "runtime/saved_model.h"
#include "runtime/saved_model_export.h"
#include "ops/collective/mpi_world.h"
#include "tools/mnist_data.h"
#include "tools/tool_flags.h"
#include "tools/mnist_softmax_lib.h"

ABSL_FLAG(std::string, data_dir, "",
          "Folder with the four MNIST files (train-images-idx3-ubyte.gz, "
          "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz; "
          "gzipped or not). Default: $MNIST_DIR.");
ABSL_FLAG(int32_t, steps, 1000, "Training steps (>= 0).");
ABSL_FLAG(int32_t, batch_size, 100, "Training images per step (1 to 55000).");
ABSL_FLAG(double, learning_rate, 0.5, "Gradient descent learning rate (> 0).");
ABSL_FLAG(uint64_t, seed, 0, "Seed of the per-epoch shuffling of the training images.");
ABSL_FLAG(std::string, write_graph, "",
          "Write the tutorial's graph to this file (text if it ends in .pbtxt, else binary) "
          "and exit without training.");
ABSL_FLAG(std::string, loss, "tutorial",
          "'tutorial': Mean(-Sum(y_ * Log(y), 1)), as the tutorial writes it; 'logits': "
          "Mean(SoftmaxCrossEntropyWithLogits(logits, y_)), the numerically stable form.");
ABSL_FLAG(std::string, export_saved_model, "",
          "After training, write the model as a SavedModel in this (new or empty) folder, "
          "tag 'serve', signature 'serving_default': input 'x' -> output 'y'.");

namespace {

constexpr char kUsage[] =
    "Usage: mnist_softmax [--data_dir=DIR] [--steps=1000] [--batch_size=100]\n"
    "                     [--learning_rate=0.5] [--seed=0] [--loss=tutorial|logits]\n"
    "                     [--export_saved_model=DIR]\n"
    "\n"
    "TensorFlow's \"MNIST for ML beginners\" tutorial on dflow: softmax regression\n"
    "y = softmax(x W + b) on 28x28 digit images, trained with gradient descent on\n"
    "batches of the first 55,000 training images, then scored on the 10,000 test\n"
    "images. Prints the loss every 100 steps, the line `test accuracy: 0.9xxx`, and\n"
    "the wall time of training and of evaluation (data loading excluded).\n"
    "\n"
    "Flags:\n"
    "  --data_dir=DIR       folder with train-images-idx3-ubyte.gz,\n"
    "                       train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and\n"
    "                       t10k-labels-idx1-ubyte.gz (or the same names without .gz);\n"
    "                       default: $MNIST_DIR\n"
    "  --steps=N            training steps, N >= 0 (default 1000)\n"
    "  --batch_size=B       images per step, 1 <= B <= 55000 (default 100)\n"
    "  --learning_rate=R    gradient descent step size, R > 0 (default 0.5)\n"
    "  --seed=S             seed of the per-epoch shuffle of the training images (default 0)\n"
    "  --loss=KIND          tutorial: Mean(-Sum(y_ * Log(y), 1)) (default);\n"
    "                       logits: Mean(SoftmaxCrossEntropyWithLogits(logits, y_))\n"
    "  --write_graph=FILE   write the untrained tutorial graph (x, y_, y, loss, accuracy,\n"
    "                       train/GradientDescent, init) to FILE (.pbtxt: text, else\n"
    "                       binary) and exit; no data needed. Train it with session_run.\n"
    "  --export_saved_model=DIR  after training, write the trained model as a\n"
    "                       SavedModel in DIR (new or empty): tag serve, signature\n"
    "                       serving_default with input x [?,784] and output y [?,10]\n"
    "                       (the probabilities); serve it with session_run --saved_model\n"
    "  --help               show this message\n"
    "\n"
    "Under mpirun (mpirun -np 2 mnist_softmax ...) every rank trains on its rows of each\n"
    "batch and the gradients are averaged across ranks (docs/distributed.md): the same\n"
    "updates as one process with the whole batch. Only rank 0 prints and evaluates.\n"
    "\n"
    "Exit status: 0 on success, 1 on any error (the message names its cause).\n";

int Fail(const absl::Status& status) { return dflow::ToolFail("mnist_softmax", status.message()); }
int Fail(const std::string& message) { return dflow::ToolFail("mnist_softmax", message); }

namespace mnist = dflow::mnist;

// --write_graph: the untrained tutorial graph.
absl::Status WriteGraph(const std::string& path, const mnist::SoftmaxOptions& options) {
  dflow::Scope root = dflow::Scope::NewRootScope();
  DFLOW_RETURN_IF_ERROR(mnist::BuildSoftmaxGraph(root, 784, 10, options).status());
  return dflow::WriteGraphFlag(*root.graph(), path, "tutorial graph", std::cout);
}

// MNIST read for training, and the line announcing the training on `out`: both runs' start.
absl::StatusOr<mnist::DataSets> LoadAndAnnounce(const mnist::SoftmaxOptions& options,
                                                double learning_rate, std::ostream& out) {
  DFLOW_ASSIGN_OR_RETURN(mnist::DataSets data,
                         mnist::LoadDataSetsForTraining(absl::GetFlag(FLAGS_data_dir),
                                                        absl::GetFlag(FLAGS_seed),
                                                        options.batch_size, out));
  out << absl::StrFormat("training %d steps of %d images, learning rate %g, loss %s",
                         options.steps, options.batch_size, learning_rate,
                         absl::GetFlag(FLAGS_loss))
      << std::endl;
  return data;
}

// Reads MNIST, trains and scores the model, printing progress and timings (on rank 0 only
// under mpirun).
absl::Status TrainAndReport(const mnist::SoftmaxOptions& options, double learning_rate) {
  std::ostream quiet(nullptr);  // Discards everything: ranks other than 0 print nothing.
  std::ostream& out = options.rank == 0 ? std::cout : quiet;
  DFLOW_ASSIGN_OR_RETURN(mnist::DataSets data, LoadAndAnnounce(options, learning_rate, out));
  mnist::PrintDataParallelSplit(out, options.num_ranks, options.batch_size, "losses");
  DFLOW_ASSIGN_OR_RETURN(const mnist::SoftmaxResult result,
                         mnist::TrainSoftmax(data.train, data.test, options));
  if (!result.evaluated) return absl::OkStatus();
  mnist::PrintTrainingReport(std::cout, result.test_accuracy, result.train_seconds, options.steps,
                             3, result.eval_seconds, data.test.num_examples());
  return absl::OkStatus();
}

// --export_saved_model: the same training as TrainSoftmax's, kept here because the export
// needs the trained session, which TrainSoftmax does not hand out.
absl::Status TrainAndExport(const mnist::SoftmaxOptions& options, double learning_rate,
                            const std::string& export_dir) {
  DFLOW_ASSIGN_OR_RETURN(mnist::DataSets data, LoadAndAnnounce(options, learning_rate, std::cout));
  dflow::Scope root = dflow::Scope::NewRootScope();
  DFLOW_ASSIGN_OR_RETURN(const mnist::SoftmaxGraph graph,
                         mnist::BuildSoftmaxGraph(root, data.train.image_size(),
                                                  data.train.num_classes(), options));
  DFLOW_ASSIGN_OR_RETURN(std::unique_ptr<dflow::Session> session, dflow::Session::Create(root));
  DFLOW_RETURN_IF_ERROR(session->Run({graph.init}));
  std::vector<dflow::Tensor> out;
  for (int step = 1; step <= options.steps; ++step) {
    DFLOW_ASSIGN_OR_RETURN(const mnist::Batch batch, data.train.NextBatch(options.batch_size));
    const bool log = step == 1 || step % options.log_every == 0 || step == options.steps;
    DFLOW_RETURN_IF_ERROR(session->Run({{graph.x, batch.images}, {graph.y_, batch.labels}},
                                       log ? std::vector<dflow::Output>{graph.loss}
                                           : std::vector<dflow::Output>{},
                                       {graph.train}, &out));
    if (log) std::cout << absl::StrFormat("step %d: loss %.6f", step, out[0].scalar<float>()) << std::endl;
  }
  DFLOW_RETURN_IF_ERROR(session->Run({{graph.x, data.test.images()}, {graph.y_, data.test.labels()}},
                                     {graph.accuracy}, {}, &out));
  std::cout << absl::StrFormat("test accuracy: %.4f", out[0].scalar<float>()) << std::endl;
  DFLOW_ASSIGN_OR_RETURN(dflow::SignatureDef sig,
                         dflow::PredictSignature(session->graph(), {{"x", graph.x.name()}},
                                                 {{"y", graph.y.name()}}));
  DFLOW_RETURN_IF_ERROR(dflow::SaveSavedModel(*session, export_dir, {dflow::kSavedModelTagServe},
                                              {{dflow::kDefaultServingSignatureDefKey, sig}}));
  std::cout << "wrote SavedModel " << export_dir << " (signature serving_default: x -> y)"
            << std::endl;
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  if (std::optional<int> exit_code = dflow::ParseToolFlags(argc, argv, "mnist_softmax", kUsage)) {
    return *exit_code;
  }

  mnist::SoftmaxOptions options;
  options.steps = absl::GetFlag(FLAGS_steps);
  options.batch_size = absl::GetFlag(FLAGS_batch_size);
  const double learning_rate = absl::GetFlag(FLAGS_learning_rate);
  absl::StatusOr<dflow::MpiWorld> world = dflow::MpiWorldFromEnv();
  if (!world.ok()) return Fail(world.status());
  options.rank = world->rank;
  options.num_ranks = world->size;
  options.log = options.rank == 0 ? &std::cout : nullptr;
  for (const absl::Status& s : {dflow::CheckFlagAtLeast("steps", options.steps, 0),
                                dflow::CheckFlagAtLeast("batch_size", options.batch_size, 1)}) {
    if (!s.ok()) return Fail(s);
  }
  absl::StatusOr<float> rate = dflow::LearningRateFlag(learning_rate);
  if (!rate.ok()) return Fail(rate.status());
  options.learning_rate = *rate;
  absl::StatusOr<mnist::SoftmaxLoss> loss = mnist::ParseSoftmaxLoss(absl::GetFlag(FLAGS_loss));
  if (!loss.ok()) return Fail(absl::StrCat("--loss: ", loss.status().message()));
  options.loss = *loss;

  const std::string graph_path = absl::GetFlag(FLAGS_write_graph);
  const std::string export_dir = absl::GetFlag(FLAGS_export_saved_model);
  if (!export_dir.empty() && options.num_ranks > 1) {
    return Fail("--export_saved_model runs in one process, not under mpirun");
  }
  const absl::Status status =
      !graph_path.empty()  ? WriteGraph(graph_path, options)
      : export_dir.empty() ? TrainAndReport(options, learning_rate)
                           : TrainAndExport(options, learning_rate, export_dir);
  return status.ok() ? 0 : Fail(status);
}
