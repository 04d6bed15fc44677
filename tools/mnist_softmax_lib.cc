#include "tools/mnist_softmax_lib.h"

#include <chrono>
#include <cmath>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "graph/status_macros.h"
#include "ops/collective/horovod_training.h"
#include "ops/standard_ops.h"
#include "runtime/session.h"
#include "tools/mnist_model_util.h"

namespace dflow {
namespace mnist {
absl::StatusOr<SoftmaxLoss> ParseSoftmaxLoss(absl::string_view name) {
  if (name == "tutorial") return SoftmaxLoss::kTutorial;
  if (name == "logits") return SoftmaxLoss::kLogits;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown loss '", name, "': use 'tutorial' or 'logits'"));
}

absl::StatusOr<SoftmaxGraph> BuildSoftmaxGraph(const Scope& root, int64_t features,
                                               int64_t classes, const SoftmaxOptions& options) {
  // The model, as in the tutorial.
  auto x =
      ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({-1, features}));
  auto w = ops::Variable(root.WithOpName("W"), {features, classes}, DT_FLOAT);
  auto b = ops::Variable(root.WithOpName("b"), {classes}, DT_FLOAT);
  ops::Assign(root.WithOpName("W/Assign"), w,
              ops::Const(root, 0.0f, TensorShape({features, classes})));
  ops::Assign(root.WithOpName("b/Assign"), b, ops::Const(root, 0.0f, TensorShape({classes})));
  auto logits = ops::Add(root.WithOpName("logits"), ops::MatMul(root, x, w), b);
  auto y = ops::Softmax(root.WithOpName("y"), logits);
  auto y_ =
      ops::Placeholder(root.WithOpName("y_"), DT_FLOAT, ops::Placeholder::Shape({-1, classes}));
  Output loss, per_example;
  if (options.loss == SoftmaxLoss::kTutorial) {
    per_example = ops::Neg(root, ops::Sum(root, ops::Mul(root, y_, ops::Log(root, y)), {1}));
  } else {
    per_example = ops::SoftmaxCrossEntropyWithLogits(root, logits, y_).loss;
  }
  loss = ops::Mean(root.WithOpName("loss"), per_example, {0});
  SoftmaxGraph graph;
  graph.x = x;
  graph.y_ = y_;
  graph.y = y;
  graph.loss = loss;
  const GradientDescentOptimizer sgd(options.learning_rate);
  if (options.num_ranks > 1) {
    DistributedOptimizer opt(sgd);
    opt.WeightedByRows(ops::Size(root, per_example));
    graph.train = opt.Minimize(root.NewSubScope("train"), loss);
  } else {
    graph.train = GradientDescentOptimizer(sgd).Minimize(root.NewSubScope("train"), loss);
  }
  graph.init = GlobalVariablesInitializer(root);
  if (options.num_ranks > 1) graph.broadcast = BroadcastGlobalVariables(root, 0);
  auto correct = ops::Equal(root, ops::ArgMax(root, y, 1), ops::ArgMax(root, y_, 1));
  graph.accuracy =
      ops::Mean(root.WithOpName("accuracy"), ops::Cast(root, correct, DT_FLOAT), {0});
  DFLOW_RETURN_IF_ERROR(root.status());
  return graph;
}

absl::StatusOr<SoftmaxResult> TrainSoftmax(DataSet& train, const DataSet& test,
                                           const SoftmaxOptions& options) {
  if (options.steps < 0) {
    return absl::InvalidArgumentError(absl::StrCat("steps must be >= 0, got ", options.steps));
  }
  if (options.batch_size < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch size must be >= 1, got ", options.batch_size));
  }
  if (!(options.learning_rate > 0) || !std::isfinite(options.learning_rate)) {
    return absl::InvalidArgumentError(
        absl::StrCat("learning rate must be a positive number, got ", options.learning_rate));
  }
  if (options.log_every < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("log interval must be >= 1, got ", options.log_every));
  }
  if (options.num_ranks < 1 || options.rank < 0 || options.rank >= options.num_ranks) {
    return absl::InvalidArgumentError(
        absl::StrCat("rank ", options.rank, " of ", options.num_ranks, " is not a valid rank"));
  }
  if (options.batch_size < options.num_ranks) {
    return absl::InvalidArgumentError(absl::StrCat("batch size ", options.batch_size,
                                                   " is smaller than the ", options.num_ranks,
                                                   " ranks: every rank needs a row"));
  }
  DFLOW_RETURN_IF_ERROR(CheckTrainAndTestSets(train, test));
  const int64_t features = train.image_size();
  const int64_t classes = train.num_classes();

  Scope root = Scope::NewRootScope();
  DFLOW_ASSIGN_OR_RETURN(const SoftmaxGraph graph,
                         BuildSoftmaxGraph(root, features, classes, options));
  const Output x = graph.x, y_ = graph.y_, loss = graph.loss, accuracy = graph.accuracy;
  const Operation train_step = graph.train, init = graph.init;

  DFLOW_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::Create(root));
  DFLOW_RETURN_IF_ERROR(session->Run({init}));
  if (graph.broadcast.node() != nullptr) DFLOW_RETURN_IF_ERROR(session->Run({graph.broadcast}));

  SoftmaxResult result;
  auto train_start = std::chrono::steady_clock::now();
  std::vector<Tensor> outputs;
  for (int step = 1; step <= options.steps; ++step) {
    DFLOW_ASSIGN_OR_RETURN(Batch batch, train.NextBatch(options.batch_size));
    DFLOW_RETURN_IF_ERROR(ShardBatch(options.rank, options.num_ranks, &batch));
    const bool record = step == 1 || step % options.log_every == 0 || step == options.steps;
    if (record) {
      DFLOW_RETURN_IF_ERROR(session->Run({{x, batch.images}, {y_, batch.labels}}, {loss},
                                         {train_step}, &outputs));
      const float value = outputs[0].scalar<float>();
      result.losses.push_back({step, value});
      if (options.log != nullptr) {
        *options.log << absl::StrFormat("step %d: loss %.6f", step, value) << std::endl;
      }
    } else {
      DFLOW_RETURN_IF_ERROR(
          session->Run({{x, batch.images}, {y_, batch.labels}}, {}, {train_step}, nullptr));
    }
  }
  result.train_seconds = SecondsSince(train_start);

  // The variables, then (on rank 0 only) the accuracy.
  std::vector<Output> vars = VariablesReachableFrom(loss);
  DFLOW_RETURN_IF_ERROR(session->Run({}, vars, {}, &outputs));
  for (size_t i = 0; i < vars.size(); ++i) {
    result.variables.emplace_back(vars[i].node()->name(), outputs[i]);
  }
  if (options.rank != 0) {
    result.evaluated = false;
    return result;
  }
  auto eval_start = std::chrono::steady_clock::now();
  DFLOW_RETURN_IF_ERROR(
      session->Run({{x, test.images()}, {y_, test.labels()}}, {accuracy}, {}, &outputs));
  result.test_accuracy = outputs[0].scalar<float>();
  result.eval_seconds = SecondsSince(eval_start);
  return result;
}

}  // namespace mnist
}  // namespace dflow
