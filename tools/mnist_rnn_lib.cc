#include "tools/mnist_rnn_lib.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "graph/status_macros.h"
#include "ops/standard_ops.h"
#include "runtime/checkpoint.h"
#include "runtime/session.h"
#include "tools/mnist_model_util.h"

namespace dflow {
namespace mnist {

absl::Status CheckRnnOptions(const RnnOptions& options, int64_t image_size, int classes) {
  auto bad = [](auto... parts) { return absl::InvalidArgumentError(absl::StrCat(parts...)); };
  if (options.steps < 0) return bad("steps must be >= 0, got ", options.steps);
  if (options.batch_size < 1) return bad("batch size must be >= 1, got ", options.batch_size);
  if (!(options.learning_rate > 0) || !std::isfinite(options.learning_rate)) {
    return bad("learning rate must be a positive number, got ", options.learning_rate);
  }
  if (options.time_steps < 1 || options.inputs < 1 ||
      static_cast<int64_t>(options.time_steps) * options.inputs != image_size) {
    return bad("images of ", image_size, " values are not ", options.time_steps, " steps of ",
               options.inputs);
  }
  if (options.units < 1) return bad("units must be >= 1, got ", options.units);
  if (classes < 2) return bad("need at least 2 classes, got ", classes);
  if (options.log_every < 1) return bad("log interval must be >= 1, got ", options.log_every);
  if (options.eval_batch_size < 1) {
    return bad("evaluation batch size must be >= 1, got ", options.eval_batch_size);
  }
  if (options.restore && options.checkpoint.empty()) return bad("restoring needs a checkpoint");
  if (options.threads < 0) return bad("threads must be >= 0, got ", options.threads);
  return absl::OkStatus();
}

absl::StatusOr<RnnGraph> BuildRnnGraph(const Scope& root, int classes, const RnnOptions& options) {
  const int64_t steps = options.time_steps, in = options.inputs, units = options.units;
  DFLOW_RETURN_IF_ERROR(CheckRnnOptions(options, steps * in, classes));
  RnnGraph g;
  g.x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({-1, steps * in}));
  g.y_ = ops::Placeholder(root.WithOpName("y_"), DT_FLOAT,
                          ops::Placeholder::Shape({-1, static_cast<int64_t>(classes)}));
  const Scope rnn = root.NewSubScope("rnn");
  // BasicLSTMCell's variables: one kernel for [x_t, h] -> the four gates, and a zero bias.
  Output kernel = NormalVariable(root, "rnn/lstm_cell/kernel", {in + units, 4 * units},
                                 1.0f / std::sqrt(static_cast<float>(in + units)), options.seed, 1);
  Output bias = ConstVariable(root, "rnn/lstm_cell/bias", 4 * units, 0.0f);

  // dynamic_rnn's input TensorArray: the batch made time-major and unstacked by time.
  Output time_major = ops::Transpose(
      rnn, ops::Reshape(rnn, g.x, Int32Vector({-1, steps, in})), Input({1, 0, 2}));
  AttrMap ta_attrs;
  ta_attrs["dtype"].set_type(DT_FLOAT);
  PartialTensorShape({-1, in}).ToProto(ta_attrs["element_shape"].mutable_shape());
  ta_attrs["tensor_array_name"].set_s("rnn/dynamic_rnn/input_0");
  Node* ta = AddOp(rnn.WithOpName("TensorArray"), "TensorArrayV3",
                   {static_cast<int>(steps)}, ta_attrs);
  std::vector<int64_t> times(steps);
  for (int64_t t = 0; t < steps; ++t) times[t] = t;
  AttrMap t_attrs;
  t_attrs["T"].set_type(DT_FLOAT);
  DFLOW_RETURN_IF_ERROR(rnn.status());
  Node* scatter = AddOp(rnn.WithOpName("TensorArrayUnstack/TensorArrayScatterV3"),
                        "TensorArrayScatterV3",
                        {Output(ta, 0), Int32Vector(times), time_major, Output(ta, 1)}, t_attrs);
  DFLOW_RETURN_IF_ERROR(rnn.status());

  // The zero state [batch, units], shaped by the batch: x's first column times a zero row.
  Output zeros = ops::ZerosLike(rnn, ops::MatMul(rnn, ops::Slice(rnn, g.x, Input({0, 0}),
                                                                 Input({-1, 1})),
                                                 ops::Const(rnn, 0.0f, TensorShape({1, units}))));
  ops::WhileLoopOptions loop_options;
  loop_options.invariants = {kernel, bias, Output(ta, 0), Output(scatter, 0)};
  std::vector<Output> outs;
  DFLOW_RETURN_IF_ERROR(ops::WhileLoop(
      rnn, {ops::Const(rnn, 0), zeros, zeros},
      [steps](const Scope& s, const std::vector<Output>& v, Output* o) {
        *o = ops::Less(s, v[0], static_cast<int>(steps));
        return s.status();
      },
      [units](const Scope& s, const std::vector<Output>& v, std::vector<Output>* o) {
        // v: time, c, h, kernel, bias, handle, flow.
        AttrMap read_attrs;
        read_attrs["dtype"].set_type(DT_FLOAT);
        Output x_t(AddOp(s, "TensorArrayReadV3", {v[5], v[0], v[6]}, read_attrs));
        Output z = ops::BiasAdd(s, ops::MatMul(s, ops::ConcatV2(s, {x_t, v[2]}, 1), v[3]), v[4]);
        auto gate = [&](int k) {
          return ops::Slice(s, z, Input({0, static_cast<int>(k * units)}),
                            Input({-1, static_cast<int>(units)}));
        };
        // i, j, f, o as BasicLSTMCell splits them; forget_bias 1.0.
        Output c = ops::Add(s, ops::Mul(s, v[1], ops::Sigmoid(s, ops::Add(s, gate(2), 1.0f))),
                            ops::Mul(s, ops::Sigmoid(s, gate(0)), ops::Tanh(s, gate(1))));
        Output h = ops::Mul(s, ops::Tanh(s, c), ops::Sigmoid(s, gate(3)));
        *o = {ops::Add(s, v[0], 1), c, h};
        return s.status();
      },
      &outs, loop_options));

  Output w_out = NormalVariable(root, "W_out", {units, static_cast<int64_t>(classes)}, 0.1f,
                                options.seed, 2);
  Output b_out = ConstVariable(root, "b_out", classes, 0.0f);
  g.logits = ops::BiasAdd(root.WithOpName("logits"), ops::MatMul(root, outs[2], w_out), b_out);
  ops::SoftmaxCrossEntropyWithLogits xent(root, g.logits, g.y_);
  g.loss = ops::Mean(root.WithOpName("loss"), xent.loss, {0});
  g.global_step = GlobalStepVariable(root);
  g.train = AdamOptimizer(options.learning_rate).Minimize(root, g.loss, {}, g.global_step);
  g.init = GlobalVariablesInitializer(root);
  const Scores scores = ScoreLogits(root, g.logits, g.y_);
  g.accuracy = scores.accuracy;
  g.correct = scores.correct;
  DFLOW_RETURN_IF_ERROR(root.status());
  return g;
}

absl::StatusOr<RnnResult> TrainRnn(DataSet& train, const DataSet& test,
                                   const RnnOptions& options) {
  DFLOW_RETURN_IF_ERROR(CheckTrainAndTestSets(train, test));
  DFLOW_RETURN_IF_ERROR(CheckRnnOptions(options, train.image_size(), train.num_classes()));
  Scope root = Scope::NewRootScope();
  DFLOW_ASSIGN_OR_RETURN(const RnnGraph g, BuildRnnGraph(root, train.num_classes(), options));
  SessionOptions session_options;
  session_options.intra_op_threads = options.threads;
  DFLOW_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::Create(root, session_options));
  DFLOW_RETURN_IF_ERROR(session->Run({g.init}));

  RnnResult result;
  std::vector<Tensor> outputs;
  int start = 0;
  if (options.restore) {
    DFLOW_ASSIGN_OR_RETURN(start, RestoreTrainingStep(*session, options.checkpoint,
                                                      g.global_step, train, options.batch_size,
                                                      options.log));
  }
  result.first_step = start + 1;
  result.last_step = std::max(start, options.steps);

  const auto train_start = std::chrono::steady_clock::now();
  auto last_time = train_start;
  int last_step = start;
  for (int step = start + 1; step <= options.steps; ++step) {
    DFLOW_ASSIGN_OR_RETURN(const Batch batch, train.NextBatch(options.batch_size));
    const bool record = step == 1 || step % options.log_every == 0 || step == options.steps;
    if (record) {
      DFLOW_RETURN_IF_ERROR(session->Run({{g.x, batch.images}, {g.y_, batch.labels}},
                                         {g.loss, g.accuracy}, {}, &outputs));
      RnnProgress p{step, outputs[0].scalar<float>(), outputs[1].scalar<float>()};
      result.progress.push_back(p);
    }
    DFLOW_RETURN_IF_ERROR(
        session->Run({{g.x, batch.images}, {g.y_, batch.labels}}, {}, {g.train}, nullptr));
    if (record && options.log != nullptr) {
      const double seconds = SecondsSince(last_time);
      const double rate =
          seconds > 0 ? (step - last_step) * static_cast<double>(options.batch_size) / seconds : 0;
      last_time = std::chrono::steady_clock::now();
      last_step = step;
      const RnnProgress& p = result.progress.back();
      *options.log << absl::StrFormat("step %d: loss %.6f, training accuracy %.4f, %.1f images/s",
                                      step, p.loss, p.train_accuracy, rate)
                   << std::endl;
    }
  }
  if (!options.checkpoint.empty()) {
    DFLOW_RETURN_IF_ERROR(SaveCheckpoint(*session, options.checkpoint));
    if (options.log != nullptr) {
      *options.log << "saved step " << result.last_step << " to " << options.checkpoint
                   << std::endl;
    }
  }
  result.train_seconds = SecondsSince(train_start);

  DFLOW_ASSIGN_OR_RETURN(const Evaluation e, EvaluateInBatches(*session, test,
                                                               options.eval_batch_size, g.x,
                                                               g.y_, g.correct));
  result.test_correct = e.correct;
  result.test_accuracy = e.accuracy;
  result.eval_seconds = e.seconds;
  return result;
}

}  // namespace mnist
}  // namespace dflow
