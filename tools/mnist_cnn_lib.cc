#include "tools/mnist_cnn_lib.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "graph/status_macros.h"
#include "ops/collective/horovod_training.h"
#include "kernels/op_kernel.h"
#include "ops/standard_ops.h"
#include "runtime/checkpoint.h"
#include "runtime/session.h"
#include "tools/mnist_model_util.h"

namespace dflow {
namespace mnist {
namespace {

// weight_variable in the tutorial: TruncatedNormal(shape) * 0.1, a stream per (seed, seed2).
Output WeightVariable(const Scope& root, const std::string& name,
                      const std::vector<int64_t>& shape, int64_t seed, int64_t seed2) {
  return NormalVariable(root, name, shape, 0.1f, seed, seed2);
}

// bias_variable in the tutorial: every element 0.1.
Output BiasVariable(const Scope& root, const std::string& name, int64_t size) {
  return ConstVariable(root, name, size, 0.1f);
}

// The RandomUniform node `dropout` was built from: the one random op among the nodes added
// after `before` that `dropout` depends on.
Node* DropoutNoiseNode(const Output& dropout, int before) {
  std::vector<Node*> stack = {dropout.node()};
  std::vector<bool> seen(dropout.node()->id() + 1, false);
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    if (n->op() == "RandomUniform") return n;
    for (const Output& in : n->inputs()) {
      if (in.node()->id() > before && !seen[in.node()->id()]) {
        seen[in.node()->id()] = true;
        stack.push_back(in.node());
      }
    }
  }
  return nullptr;
}

int64_t SpatialAfterTwoPools(int64_t size) {
  // Two SAME 2x2 max-pools of stride 2: ceil(ceil(size / 2) / 2).
  return ((size + 1) / 2 + 1) / 2;
}

}  // namespace

absl::Status CheckCnnOptions(const CnnOptions& options, int64_t image_size, int classes) {
  auto bad = [](auto... parts) { return absl::InvalidArgumentError(absl::StrCat(parts...)); };
  if (options.steps < 0) return bad("steps must be >= 0, got ", options.steps);
  if (options.batch_size < 1) return bad("batch size must be >= 1, got ", options.batch_size);
  if (!(options.learning_rate > 0) || !std::isfinite(options.learning_rate)) {
    return bad("learning rate must be a positive number, got ", options.learning_rate);
  }
  if (!(options.keep_prob > 0 && options.keep_prob <= 1)) {
    return bad("keep_prob must be in (0, 1], got ", options.keep_prob);
  }
  if (options.image_height < 1 || options.image_width < 1 ||
      static_cast<int64_t>(options.image_height) * options.image_width != image_size) {
    return bad("images of ", image_size, " values are not ", options.image_height, " x ",
               options.image_width);
  }
  if (classes < 2) return bad("need at least 2 classes, got ", classes);
  if (options.conv1_features < 1 || options.conv2_features < 1 || options.fc_units < 1) {
    return bad("layer widths must be >= 1, got ", options.conv1_features, ", ",
               options.conv2_features, ", ", options.fc_units);
  }
  if (options.log_every < 1) return bad("log interval must be >= 1, got ", options.log_every);
  if (options.eval_batch_size < 1) {
    return bad("evaluation batch size must be >= 1, got ", options.eval_batch_size);
  }
  if (options.save_every < 0) return bad("save interval must be >= 0, got ", options.save_every);
  if (options.save_every > 0 && options.checkpoint.empty()) {
    return bad("saving every ", options.save_every, " steps needs a checkpoint path");
  }
  if (options.restore && options.checkpoint.empty()) {
    return bad("restoring needs a checkpoint path");
  }
  if (options.num_ranks < 1 || options.rank < 0 || options.rank >= options.num_ranks) {
    return bad("rank ", options.rank, " of ", options.num_ranks, " is not a valid rank");
  }
  if (options.batch_size < options.num_ranks) {
    return bad("batch size ", options.batch_size, " is smaller than the ", options.num_ranks,
               " ranks: every rank needs a row");
  }
  if (options.threads < 0) return bad("threads must be >= 0, got ", options.threads);
  return absl::OkStatus();
}

absl::StatusOr<CnnGraph> BuildCnnGraph(const Scope& root, int classes, const CnnOptions& options) {
  DFLOW_RETURN_IF_ERROR(CheckCnnOptions(
      options, static_cast<int64_t>(options.image_height) * options.image_width, classes));
  const int64_t h = options.image_height, w = options.image_width;
  const int64_t c1 = options.conv1_features, c2 = options.conv2_features;
  const int64_t fc = options.fc_units;
  const int64_t seed = options.seed;
  CnnGraph g;
  g.x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({-1, h * w}));
  g.y_ = ops::Placeholder(root.WithOpName("y_"), DT_FLOAT,
                          ops::Placeholder::Shape({-1, static_cast<int64_t>(classes)}));
  g.keep_prob = ops::Placeholder(root.WithOpName("keep_prob"), DT_FLOAT,
                                 ops::Placeholder::Shape(PartialTensorShape({})));
  const std::vector<int64_t> unit = {1, 1, 1, 1}, pool = {1, 2, 2, 1};

  // First convolutional layer: 5x5 filters, 1 -> c1 channels, then 2x2 max-pooling.
  Output x_image = ops::Reshape(root.WithOpName("x_image"), g.x,
                                Int32Vector({-1, h, w, 1}));
  Output w_conv1 = WeightVariable(root, "W_conv1", {5, 5, 1, c1}, seed, 1);
  Output b_conv1 = BiasVariable(root, "b_conv1", c1);
  Output h_conv1 = ops::Relu(root.WithOpName("h_conv1"),
                             ops::BiasAdd(root, ops::Conv2D(root, x_image, w_conv1, unit, "SAME"),
                                          b_conv1));
  Output h_pool1 = ops::MaxPool(root.WithOpName("h_pool1"), h_conv1, pool, pool, "SAME");

  // Second convolutional layer: 5x5 filters, c1 -> c2 channels, then 2x2 max-pooling.
  Output w_conv2 = WeightVariable(root, "W_conv2", {5, 5, c1, c2}, seed, 2);
  Output b_conv2 = BiasVariable(root, "b_conv2", c2);
  Output h_conv2 = ops::Relu(root.WithOpName("h_conv2"),
                             ops::BiasAdd(root, ops::Conv2D(root, h_pool1, w_conv2, unit, "SAME"),
                                          b_conv2));
  Output h_pool2 = ops::MaxPool(root.WithOpName("h_pool2"), h_conv2, pool, pool, "SAME");

  // Densely connected layer on the flattened 7x7xc2 (for 28x28 images) feature maps.
  const int64_t flat = SpatialAfterTwoPools(h) * SpatialAfterTwoPools(w) * c2;
  Output w_fc1 = WeightVariable(root, "W_fc1", {flat, fc}, seed, 3);
  Output b_fc1 = BiasVariable(root, "b_fc1", fc);
  Output h_pool2_flat =
      ops::Reshape(root.WithOpName("h_pool2_flat"), h_pool2, Int32Vector({-1, flat}));
  Output h_fc1 = ops::Relu(root.WithOpName("h_fc1"),
                           ops::BiasAdd(root, ops::MatMul(root, h_pool2_flat, w_fc1), b_fc1));

  // Dropout, then the read-out layer.
  DFLOW_RETURN_IF_ERROR(root.status());
  const int last_before_dropout = root.graph()->num_nodes() - 1;
  Output h_fc1_drop = ops::Dropout(root, h_fc1, g.keep_prob, seed, 4 + options.rank);
  DFLOW_RETURN_IF_ERROR(root.status());
  Node* noise = DropoutNoiseNode(h_fc1_drop, last_before_dropout);
  if (noise == nullptr) return absl::InternalError("dropout built no RandomUniform node");
  g.dropout_noise = Output(noise, 0);
  Output w_fc2 = WeightVariable(root, "W_fc2", {fc, static_cast<int64_t>(classes)}, seed, 5);
  Output b_fc2 = BiasVariable(root, "b_fc2", classes);
  g.logits = ops::BiasAdd(root.WithOpName("logits"), ops::MatMul(root, h_fc1_drop, w_fc2), b_fc2);

  ops::SoftmaxCrossEntropyWithLogits xent(root, g.logits, g.y_);
  g.loss = ops::Mean(root.WithOpName("loss"), xent.loss, {0});

  g.global_step = GlobalStepVariable(root);
  const AdamOptimizer adam(options.learning_rate);
  if (options.num_ranks > 1) {
    DistributedOptimizer opt(adam);
    opt.WeightedByRows(ops::Size(root, xent.loss));
    g.train = opt.Minimize(root, g.loss, {}, g.global_step);
  } else {
    g.train = AdamOptimizer(adam).Minimize(root, g.loss, {}, g.global_step);
  }
  // After Minimize, so that Adam's slots and beta powers are initialized too.
  g.init = GlobalVariablesInitializer(root);
  if (options.num_ranks > 1) g.broadcast = BroadcastGlobalVariables(root, 0);

  const Scores scores = ScoreLogits(root, g.logits, g.y_);
  g.accuracy = scores.accuracy;
  g.correct = scores.correct;
  DFLOW_RETURN_IF_ERROR(root.status());
  return g;
}

absl::StatusOr<CnnResult> TrainCnn(DataSet& train, const DataSet& test,
                                   const CnnOptions& options) {
  DFLOW_RETURN_IF_ERROR(CheckTrainAndTestSets(train, test));
  DFLOW_RETURN_IF_ERROR(CheckCnnOptions(options, train.image_size(), train.num_classes()));

  Scope root = Scope::NewRootScope();
  DFLOW_ASSIGN_OR_RETURN(const CnnGraph g, BuildCnnGraph(root, train.num_classes(), options));
  // The dropout's noise, fed with zeros (and keep_prob 1) when evaluating, so that evaluation
  // neither depends on nor advances the random stream: floor(1 + 0) keeps everything.
  const Output noise = g.dropout_noise;

  SessionOptions session_options;
  session_options.intra_op_threads = options.threads;
  DFLOW_ASSIGN_OR_RETURN(std::unique_ptr<Session> created,
                         Session::Create(root, session_options));
  Session& session = *created;
  DFLOW_RETURN_IF_ERROR(session.Run({g.init}));

  CnnResult result;
  std::vector<Tensor> outputs;
  int start = 0;
  if (options.restore) {
    absl::StatusOr<std::string> found = ResolveCheckpoint(options.checkpoint);
    if (!found.ok()) {
      return absl::Status(found.status().code(),
                          absl::StrCat("cannot resume: ", found.status().message()));
    }
    DFLOW_ASSIGN_OR_RETURN(start, RestoreTrainingStep(session, options.checkpoint, g.global_step,
                                                      train, options.batch_size, options.log));
  }
  if (g.broadcast.node() != nullptr) DFLOW_RETURN_IF_ERROR(session.Run({g.broadcast}));
  result.first_step = start + 1;
  result.last_step = std::max(start, options.steps);

  const Tensor train_keep = Tensor::Scalar<float>(options.keep_prob);
  const Tensor eval_keep = Tensor::Scalar<float>(1.0f);
  std::map<int64_t, Tensor> zero_noise;  // By batch size.
  auto zeros_for = [&](int64_t n) -> const Tensor& {
    auto it = zero_noise.find(n);
    if (it == zero_noise.end()) {
      it = zero_noise
               .emplace(n, Tensor::Filled<float>(TensorShape({n, options.fc_units}), 0.0f))
               .first;
    }
    return it->second;
  };
  auto save = [&](int step) -> absl::Status {
    if (options.rank != 0) return absl::OkStatus();  // Rank 0 alone writes the checkpoint.
    DFLOW_RETURN_IF_ERROR(SaveCheckpoint(session, options.checkpoint));
    if (options.log != nullptr) {
      *options.log << "saved step " << step << " to " << options.checkpoint << std::endl;
    }
    return absl::OkStatus();
  };

  const auto train_start = std::chrono::steady_clock::now();
  auto last_record_time = train_start;
  int last_record_step = start;
  int last_saved = start;
  for (int step = start + 1; step <= options.steps; ++step) {
    DFLOW_ASSIGN_OR_RETURN(Batch batch, train.NextBatch(options.batch_size));
    DFLOW_RETURN_IF_ERROR(ShardBatch(options.rank, options.num_ranks, &batch));
    const bool record = step == 1 || step % options.log_every == 0 || step == options.steps;
    CnnProgress progress{step, 0, 0, 0};
    if (record) {
      DFLOW_RETURN_IF_ERROR(session.Run({{g.x, batch.images},
                                         {g.y_, batch.labels},
                                         {g.keep_prob, eval_keep},
                                         {noise, zeros_for(batch.images.dim_size(0))}},
                                        {g.loss, g.accuracy}, {}, &outputs));
      progress.loss = outputs[0].scalar<float>();
      progress.train_accuracy = outputs[1].scalar<float>();
    }
    DFLOW_RETURN_IF_ERROR(session.Run(
        {{g.x, batch.images}, {g.y_, batch.labels}, {g.keep_prob, train_keep}}, {}, {g.train},
        nullptr));
    if (record) {
      const auto now = std::chrono::steady_clock::now();
      const double seconds = std::chrono::duration<double>(now - last_record_time).count();
      progress.images_per_second =
          seconds > 0 ? (step - last_record_step) * static_cast<double>(options.batch_size) /
                            seconds
                      : 0.0;
      last_record_time = now;
      last_record_step = step;
      result.progress.push_back(progress);
      if (options.log != nullptr) {
        *options.log << absl::StrFormat(
                            "step %d: loss %.6f, training accuracy %.4f, %.1f images/s",
                            step, progress.loss, progress.train_accuracy,
                            progress.images_per_second)
                     << std::endl;
      }
    }
    if (options.save_every > 0 && step % options.save_every == 0) {
      DFLOW_RETURN_IF_ERROR(save(step));
      last_saved = step;
    }
  }
  if (!options.checkpoint.empty() && last_saved < options.steps) {
    DFLOW_RETURN_IF_ERROR(save(options.steps));
  }
  result.train_seconds = SecondsSince(train_start);

  if (options.rank != 0) result.evaluated = false;
  if (result.evaluated) {
    DFLOW_ASSIGN_OR_RETURN(
        const Evaluation e,
        EvaluateInBatches(session, test, options.eval_batch_size, g.x, g.y_, g.correct,
                          [&](int64_t rows, std::vector<std::pair<Output, Tensor>>* feeds) {
                            feeds->push_back({g.keep_prob, eval_keep});
                            feeds->push_back({noise, zeros_for(rows)});
                          }));
    result.test_correct = e.correct;
    result.test_accuracy = e.accuracy;
    result.eval_seconds = e.seconds;
  }

  // Every variable's final value.
  std::vector<Output> vars;
  std::vector<std::string> names;
  for (Node* node : root.graph()->nodes()) {
    if (node->op() != "VariableV2") continue;
    vars.emplace_back(node, 0);
    names.push_back(node->name());
  }
  DFLOW_RETURN_IF_ERROR(session.Run({}, vars, {}, &outputs));
  for (size_t i = 0; i < vars.size(); ++i) result.variables.emplace_back(names[i], outputs[i]);
  std::sort(result.variables.begin(), result.variables.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  result.random_states = session.variables()->random_states()->Snapshot();
  return result;
}

}  // namespace mnist
}  // namespace dflow
