// The graph optimizer's fusion pass, and whole training steps through both passes: each fused
// pattern happens (asserted on the optimized graph's nodes), or not where it must not, and keeps
// results and variable updates equal to the original graph's, run in separate Sessions.
#include "runtime/graph_optimizer.h"

#include <cmath>
#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/graph_def_io.h"
#include "gtest/gtest.h"
#include "kernels/fused_kernels.h"
#include "kernels/op_kernel.h"
#include "ops/graph_import.h"
#include "ops/standard_ops.h"
#include "runtime/session.h"
#include "tests/optimizer_test_util.h"
#include "tests/test_util.h"
#include "tools/mnist_softmax_lib.h"

namespace dflow {
namespace test {
namespace {

// Whether the optimizer fuses the update of an [m, n] variable with its gradient x^T g of inner
// dimension k: always for a variable the one-thread loop updates, else where oneDNN has an
// optimized summed product (not below AVX-512 in oneDNN 2.6; the *_avx2 targets run that way).
bool FusesUpdateOf(int64_t m, int64_t k, int64_t n) {
  if (m * n <= kLoopMaxFusedUpdate) return true;
  MatMulDims d;
  d.m = m;
  d.k = k;
  d.n = n;
  d.transpose_a = true;
  return HasFastGradientDescentMatMul(d);
}
// How many nodes a run of the signature executes (fed tensors' producers do not run).
int NodesRun(const Graph& graph, absl::Span<const Output> feeds, absl::Span<const Output> fetches,
             absl::Span<const Node* const> targets) {
  int count = 0;
  for (bool needed : NodesNeededFor(graph, feeds, fetches, targets)) count += needed;
  return count;
}
// ---------------------------------------------------------------------------------------------
// The tutorial's training step.

// A batch of `n` random images and one-hot labels.
std::pair<Tensor, Tensor> SoftmaxBatch(int64_t n, int64_t features, int64_t classes,
                                       uint64_t seed) {
  Tensor images = RandomTensor({n, features}, seed, 0.f, 1.f);
  Tensor labels = Tensor::Filled<float>({n, classes}, 0.f);
  for (int64_t i = 0; i < n; ++i) labels.flat<float>()[i * classes + (i * 7 + seed) % classes] = 1;
  return {images, labels};
}

// Trains the tutorial model a few steps in the original graph and in the optimized training
// step from the same random weights; returns the optimized graph.
OptimizedGraph ExpectTutorialTrainsTheSame(int64_t batch, mnist::SoftmaxLoss loss_kind) {
  constexpr int64_t kFeatures = 784, kClasses = 10;
  Scope root = Scope::NewRootScope();
  mnist::SoftmaxOptions options;
  options.loss = loss_kind;
  options.learning_rate = 0.01f;  // Small enough that a batch of one never saturates Softmax.
  absl::StatusOr<mnist::SoftmaxGraph> g =
      mnist::BuildSoftmaxGraph(root, kFeatures, kClasses, options);
  EXPECT_TRUE(g.ok()) << g.status();
  if (!g.ok()) return OptimizedGraph();
  const std::vector<Output> feeds = {g->x, g->y_};
  const std::vector<const Node*> targets = {g->train.node()};
  absl::StatusOr<OptimizedGraph> opt = OptimizeGraph(
      *root.graph(),
      Signature{feeds, {TensorShape({batch, kFeatures}), TensorShape({batch, kClasses})},
                {g->loss}, targets});
  EXPECT_TRUE(opt.ok()) << opt.status();
  if (!opt.ok()) return OptimizedGraph();

  absl::StatusOr<std::unique_ptr<Session>> original =
      Session::Create(root, test::Unoptimized());
  absl::StatusOr<std::unique_ptr<Session>> optimized =
      Session::Create(*opt->graph, test::Unoptimized());
  EXPECT_TRUE(original.ok() && optimized.ok());
  // Random starting weights (the tutorial's zeros would hide a wrong transpose).
  const Tensor w0 = RandomTensor({kFeatures, kClasses}, 1, -0.05f, 0.05f);
  const Tensor b0 = RandomTensor({kClasses}, 2, -0.1f, 0.1f);
  for (Session* s : {original->get(), optimized->get()}) {
    s->variables()->LookupOrCreate("W")->Set(w0.DeepCopy());
    s->variables()->LookupOrCreate("b")->Set(b0.DeepCopy());
  }
  for (int step = 0; step < 3; ++step) {
    auto [images, labels] = SoftmaxBatch(batch, kFeatures, kClasses, step);
    std::vector<Tensor> expected, actual;
    absl::Status s =
        (*original)->Run({{g->x, images}, {g->y_, labels}}, {g->loss}, {g->train}, &expected);
    EXPECT_TRUE(s.ok()) << s;
    // The optimized graph keeps the names, so the same names run it.
    s = (*optimized)
            ->Run({{"x", images}, {"y_", labels}}, {opt->signature.fetches[0].name()},
                  {opt->signature.targets[0]->name()}, &actual);
    EXPECT_TRUE(s.ok()) << s;
    if (expected.empty() || actual.empty()) return std::move(*opt);
    SCOPED_TRACE(absl::StrCat("step ", step));
    EXPECT_TRUE(std::isfinite(expected[0].scalar<float>()));
    ExpectSameTensor(actual[0], expected[0], 1e-4f);
  }
  for (const char* var : {"W", "b"}) {
    SCOPED_TRACE(var);
    ExpectSameTensor((*optimized)->variables()->Find(var)->value,
                     (*original)->variables()->Find(var)->value, 1e-4f);
  }
  const int before = NodesRun(*root.graph(), feeds, {g->loss}, targets);
  const int after = NodesRun(*opt->graph, opt->signature.feeds, opt->signature.fetches, opt->signature.targets);
  EXPECT_LE(2 * after, before);
  // The step without the loss fetch, as most training steps run.
  absl::StatusOr<OptimizedGraph> step_only =
      OptimizeGraph(*root.graph(),
                    Signature{feeds,
                              {TensorShape({batch, kFeatures}), TensorShape({batch, kClasses})},
                              {},
                              targets});
  EXPECT_TRUE(step_only.ok()) << step_only.status();
  if (!step_only.ok()) return std::move(*opt);
  std::cout << "tutorial training step, batch " << batch << ": nodes run with the loss fetched "
            << before << " -> " << after << ", without it "
            << NodesRun(*root.graph(), feeds, {}, targets) << " -> "
            << NodesRun(*step_only->graph, step_only->signature.feeds, {}, step_only->signature.targets) << std::endl;
  return std::move(*opt);
}

// Shape plumbing folded away; x W + b fused; W's update fused with its gradient's matmul (b's
// gradient is a Sum, so its update stays); the softmax's gradient one node for the tutorial's
// loss (the stable loss has no softmax gradient).
void ExpectTutorialStepSimplified(const OptimizedGraph& opt, int64_t batch,
                                  mnist::SoftmaxLoss loss) {
  ASSERT_NE(opt.graph, nullptr);
  for (const char* op : {"Shape", "BroadcastGradientArgs", "ReducedShape", "Identity", "Rank"}) {
    EXPECT_EQ(CountOps(*opt.graph, op), 0) << op;
  }
  EXPECT_EQ(CountOps(*opt.graph, "_FusedMatMul"), 1);
  EXPECT_EQ(CountOps(*opt.graph, "_ApplyGradientDescentMatMul"), 1);
  EXPECT_EQ(CountOps(*opt.graph, "ApplyGradientDescent"), 1);
  EXPECT_EQ(CountOps(*opt.graph, "MatMul"), 0);
  const bool softmax = loss == mnist::SoftmaxLoss::kTutorial && HasFastSoftmaxGrad({batch, 10});
  EXPECT_EQ(CountOps(*opt.graph, "_SoftmaxGrad"), softmax ? 1 : 0);
}

TEST(GraphOptimizer, TutorialTrainingStepGivesTheSameWeightsWithHalfTheNodes) {
  OptimizedGraph opt = ExpectTutorialTrainsTheSame(100, mnist::SoftmaxLoss::kTutorial);
  ExpectTutorialStepSimplified(opt, 100, mnist::SoftmaxLoss::kTutorial);
}

TEST(GraphOptimizer, TutorialTrainingStepWithBatchOneGivesTheSameWeights) {
  OptimizedGraph opt = ExpectTutorialTrainsTheSame(1, mnist::SoftmaxLoss::kTutorial);
  ExpectTutorialStepSimplified(opt, 1, mnist::SoftmaxLoss::kTutorial);
}

TEST(GraphOptimizer, StableLossTrainingStepGivesTheSameWeights) {
  OptimizedGraph opt = ExpectTutorialTrainsTheSame(32, mnist::SoftmaxLoss::kLogits);
  ExpectTutorialStepSimplified(opt, 32, mnist::SoftmaxLoss::kLogits);
}

// ---------------------------------------------------------------------------------------------
// Fusion.

TEST(GraphOptimizer, MlpLayersBecomeFusedMatMulsWithBiasAndRelu) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({-1, 16}));
  auto w1 = ops::Const(root, RandomTensor({16, 32}, 1));
  auto b1 = ops::Const(root, RandomTensor({32}, 2));
  auto w2 = ops::Const(root, RandomTensor({4, 32}, 3));  // Used transposed.
  auto b2 = ops::Const(root, RandomTensor({4}, 4));
  auto hidden =
      ops::Relu(root.WithOpName("hidden"), ops::BiasAdd(root, ops::MatMul(root, x, w1), b1));
  auto out = ops::BiasAdd(root.WithOpName("out"),
                          ops::MatMul(root, hidden, w2, ops::MatMul::TransposeB(true)), b2);
  OptimizedGraph opt = RunBothAndCompare(root, {{x, RandomTensor({8, 16}, 5)}}, {out});
  ASSERT_NE(opt.graph, nullptr);
  EXPECT_EQ(CountOps(*opt.graph, "_FusedMatMul"), 2);
  for (const char* op : {"MatMul", "BiasAdd", "Relu"}) EXPECT_EQ(CountOps(*opt.graph, op), 0) << op;
  // The fused node takes the name of the node whose output it produces.
  EXPECT_EQ(opt.signature.fetches[0].node()->name(), "out");
  EXPECT_EQ(opt.signature.fetches[0].node()->op(), "_FusedMatMul");
  const Node* first = opt.graph->FindNode("hidden");
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->op(), "_FusedMatMul");
  std::vector<std::string> fused_ops;
  ASSERT_TRUE(GetAttr(first->attrs(), "fused_ops", &fused_ops).ok());
  EXPECT_EQ(fused_ops, (std::vector<std::string>{"BiasAdd", "Relu"}));
}

TEST(GraphOptimizer, ConvolutionWithBiasAndReluBecomesOneFusedConv2D) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({-1, 9, 9, 3}));
  auto filter = ops::Const(root, RandomTensor({3, 3, 3, 5}, 1));
  auto bias = ops::Const(root, RandomTensor({5}, 2));
  auto conv = ops::Conv2D(root, x, filter, {1, 2, 2, 1}, "SAME");
  auto y = ops::Relu(root.WithOpName("y"), ops::BiasAdd(root, conv, bias));
  OptimizedGraph opt = RunBothAndCompare(root, {{x, RandomTensor({2, 9, 9, 3}, 3)}}, {y});
  ASSERT_NE(opt.graph, nullptr);
  EXPECT_EQ(CountOps(*opt.graph, "_FusedConv2D"), 1);
  EXPECT_EQ(CountOps(*opt.graph, "Conv2D"), 0);
  EXPECT_EQ(opt.signature.fetches[0].node()->op(), "_FusedConv2D");
}

TEST(GraphOptimizer, AFetchedProductIsNotFusedAway) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({-1, 6}));
  auto product =
      ops::MatMul(root.WithOpName("product"), x, ops::Const(root, RandomTensor({6, 3}, 1)));
  auto y = ops::Relu(root, ops::BiasAdd(root, product, ops::Const(root, RandomTensor({3}, 2))));
  OptimizedGraph opt = RunBothAndCompare(root, {{x, RandomTensor({4, 6}, 3)}}, {product, y});
  ASSERT_NE(opt.graph, nullptr);
  EXPECT_EQ(CountOps(*opt.graph, "_FusedMatMul"), 0);
  EXPECT_EQ(opt.signature.fetches[0].node()->op(), "MatMul");
}

TEST(GraphOptimizer, AFetchedBiasAddEndsTheFusionBeforeRelu) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({-1, 6}));
  auto pre = ops::BiasAdd(root.WithOpName("pre"),
                          ops::MatMul(root, x, ops::Const(root, RandomTensor({6, 3}, 1))),
                          ops::Const(root, RandomTensor({3}, 2)));
  auto y = ops::Relu(root.WithOpName("y"), pre);
  OptimizedGraph opt = RunBothAndCompare(root, {{x, RandomTensor({4, 6}, 3)}}, {pre, y});
  ASSERT_NE(opt.graph, nullptr);
  ASSERT_EQ(CountOps(*opt.graph, "_FusedMatMul"), 1);
  EXPECT_EQ(CountOps(*opt.graph, "Relu"), 1);
  EXPECT_EQ(opt.signature.fetches[0].node()->name(), "pre");
  std::vector<std::string> fused_ops;
  ASSERT_TRUE(GetAttr(opt.signature.fetches[0].node()->attrs(), "fused_ops", &fused_ops).ok());
  EXPECT_EQ(fused_ops, std::vector<std::string>{"BiasAdd"});
}

TEST(GraphOptimizer, AProductReadTwiceIsNotFused) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({-1, 6}));
  auto product = ops::MatMul(root, x, ops::Const(root, RandomTensor({6, 3}, 1)));
  auto biased = ops::BiasAdd(root, product, ops::Const(root, RandomTensor({3}, 2)));
  auto y = ops::Mul(root, biased, product);
  OptimizedGraph opt = RunBothAndCompare(root, {{x, RandomTensor({4, 6}, 3)}}, {y});
  ASSERT_NE(opt.graph, nullptr);
  EXPECT_EQ(CountOps(*opt.graph, "_FusedMatMul"), 0);
}

// Runs `target` `steps` times in the graph as it is and optimized, from the same variable
// values, and checks that the variables end equal; returns the optimized graph.
OptimizedGraph ExpectSameUpdates(const Scope& root,
                                 const std::vector<std::pair<Output, Tensor>>& feeds,
                                 const Operation& target,
                                 const std::vector<std::pair<std::string, Tensor>>& vars,
                                 int steps = 3) {
  EXPECT_TRUE(root.ok()) << root.status();
  std::vector<Output> fed;
  std::vector<TensorShape> shapes;
  for (const auto& [output, value] : feeds) {
    fed.push_back(output);
    shapes.push_back(value.shape());
  }
  absl::StatusOr<OptimizedGraph> opt =
      OptimizeGraph(*root.graph(), Signature{fed, shapes, {}, {target.node()}});
  EXPECT_TRUE(opt.ok()) << opt.status();
  if (!opt.ok()) return OptimizedGraph();
  absl::StatusOr<std::unique_ptr<Session>> original =
      Session::Create(*root.graph(), test::Unoptimized());
  absl::StatusOr<std::unique_ptr<Session>> optimized =
      Session::Create(*opt->graph, test::Unoptimized());
  EXPECT_TRUE(original.ok() && optimized.ok());
  if (!original.ok() || !optimized.ok()) return std::move(*opt);
  for (Session* s : {original->get(), optimized->get()}) {
    for (const auto& [name, value] : vars) {
      s->variables()->LookupOrCreate(name)->Set(value.DeepCopy());
    }
  }
  // The optimized graph keeps the names, so names run it.
  std::vector<std::pair<std::string, Tensor>> opt_feeds;
  for (size_t i = 0; i < feeds.size(); ++i) {
    opt_feeds.push_back({opt->signature.feeds[i].name(), feeds[i].second});
  }
  for (int step = 0; step < steps; ++step) {
    absl::Status s = (*original)->Run(feeds, {}, {target}, nullptr);
    EXPECT_TRUE(s.ok()) << s;
    s = (*optimized)->Run(opt_feeds, {}, {opt->signature.targets[0]->name()}, nullptr);
    EXPECT_TRUE(s.ok()) << s;
  }
  for (const auto& [name, value] : vars) {
    SCOPED_TRACE(name);
    const Tensor& before = value;
    const Tensor& expected = (*original)->variables()->Find(name)->value;
    ExpectSameTensor((*optimized)->variables()->Find(name)->value, expected, 1e-5f);
    // The steps changed it: equal variables prove nothing if neither moved.
    EXPECT_GT(std::fabs(expected.flat<float>()[0] - before.flat<float>()[0]), 1e-6f);
  }
  return std::move(*opt);
}

// A two-layer relu network with the stable loss, trained by gradient descent.
struct TwoLayerNet {
  Output x, labels;
  Operation train;
  std::vector<std::pair<std::string, Tensor>> vars;
};

TwoLayerNet BuildTwoLayerNet(const Scope& root) {
  TwoLayerNet net;
  net.x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({-1, 6}));
  net.labels = ops::Placeholder(root.WithOpName("labels"), DT_FLOAT);
  auto w1 = ops::Variable(root.WithOpName("w1"), {6, 5}, DT_FLOAT);
  auto w2 = ops::Variable(root.WithOpName("w2"), {5, 3}, DT_FLOAT);
  auto hidden = ops::Relu(root, ops::MatMul(root, net.x, w1));
  ops::SoftmaxCrossEntropyWithLogits xent(root, ops::MatMul(root, hidden, w2), net.labels);
  net.train = GradientDescentOptimizer(0.5f).Minimize(root.WithOpName("train"),
                                                      ops::Mean(root, xent.loss, {0}));
  net.vars = {{"w1", RandomTensor({6, 5}, 1)}, {"w2", RandomTensor({5, 3}, 2)}};
  return net;
}

// One-hot rows of `classes` columns.
Tensor OneHot(int64_t rows, int64_t classes) {
  Tensor t(DT_FLOAT, TensorShape({rows, classes}));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < classes; ++c) t.flat<float>()[r * classes + c] = c == r % classes;
  }
  return t;
}

TEST(GraphOptimizer, GradientDescentOnAWeightGradientBecomesOneMatMulIntoTheVariable) {
  Scope root = Scope::NewRootScope();
  TwoLayerNet net = BuildTwoLayerNet(root);
  OptimizedGraph opt = ExpectSameUpdates(
      root, {{net.x, RandomTensor({8, 6}, 3)}, {net.labels, OneHot(8, 3)}}, net.train, net.vars);
  ASSERT_NE(opt.graph, nullptr);
  EXPECT_EQ(CountOps(*opt.graph, "_ApplyGradientDescentMatMul"), 2);
  EXPECT_EQ(CountOps(*opt.graph, "ApplyGradientDescent"), 0);
  // The fused update keeps the update's name; its product is x^T g.
  const Node* update = opt.graph->FindNode("GradientDescent/update_w1");
  ASSERT_NE(update, nullptr);
  EXPECT_EQ(update->op(), "_ApplyGradientDescentMatMul");
  bool transpose_a = false;
  ASSERT_TRUE(GetAttr(update->attrs(), "transpose_a", &transpose_a).ok());
  EXPECT_TRUE(transpose_a);
}

TEST(GraphOptimizer, AWeightGradientReadingAVariableDirectlyIsNotFusedWithTheUpdate) {
  // loss = sum(x w1 w2): dw2 = (x w1)^T g reads no variable, dw1 = x^T (g w2^T) neither, but
  // here the product w1 w2 makes dw2's matmul read w1 itself, which w1's own update changes.
  Scope root = Scope::NewRootScope();
  auto w1 = ops::Variable(root.WithOpName("w1"), {4, 4}, DT_FLOAT);
  auto w2 = ops::Variable(root.WithOpName("w2"), {4, 4}, DT_FLOAT);
  auto loss = ops::Sum(root, ops::Square(root, ops::MatMul(root, w1, w2)), {0, 1});
  Operation train = GradientDescentOptimizer(0.1f).Minimize(root.WithOpName("train"), loss);
  OptimizedGraph opt = ExpectSameUpdates(
      root, {}, train, {{"w1", RandomTensor({4, 4}, 1)}, {"w2", RandomTensor({4, 4}, 2)}});
  ASSERT_NE(opt.graph, nullptr);
  EXPECT_EQ(CountOps(*opt.graph, "_ApplyGradientDescentMatMul"), 0);
}

TEST(GraphOptimizer, AFetchedWeightGradientIsNotFusedWithTheUpdate) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({3, 4}));
  auto g = ops::Placeholder(root.WithOpName("g"), DT_FLOAT, ops::Placeholder::Shape({3, 2}));
  auto w = ops::Variable(root.WithOpName("w"), {4, 2}, DT_FLOAT);
  auto grad = ops::MatMul(root.WithOpName("grad"), x, g, ops::MatMul::TransposeA(true));
  auto update = ops::ApplyGradientDescent(root.WithOpName("update"), w, Input(0.5f), grad);
  ASSERT_TRUE(root.ok()) << root.status();
  absl::StatusOr<OptimizedGraph> opt =
      OptimizeGraph(*root.graph(), Signature{{x, g},
                                             {TensorShape({3, 4}), TensorShape({3, 2})},
                                             {grad},
                                             {update.node()}});
  ASSERT_TRUE(opt.ok()) << opt.status();
  EXPECT_EQ(CountOps(*opt->graph, "_ApplyGradientDescentMatMul"), 0);
  // Unfetched, the same pair fuses, and the variable moves by exactly -0.5 x^T g.
  OptimizedGraph fused = ExpectSameUpdates(
      root, {{x, RandomTensor({3, 4}, 1)}, {g, RandomTensor({3, 2}, 2)}}, update,
      {{"w", RandomTensor({4, 2}, 3)}}, 1);
  ASSERT_NE(fused.graph, nullptr);
  EXPECT_EQ(CountOps(*fused.graph, "_ApplyGradientDescentMatMul"), 1);
}

TEST(GraphOptimizer, TheSoftmaxGradientInEitherOperandOrderBecomesOneNode) {
  for (bool y_first : {false, true}) {
    SCOPED_TRACE(absl::StrCat("y first: ", y_first));
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({-1, 5}));
    auto g = ops::Placeholder(root.WithOpName("g"), DT_FLOAT, ops::Placeholder::Shape({-1, 5}));
    auto y = ops::Softmax(root, x);
    // TensorFlow's Python gradient writes it as (g - sum(g * y, -1, keepdims)) * y; the
    // operands of both Muls come in either order.
    auto prod = y_first ? ops::Mul(root, y, g) : ops::Mul(root, g, y);
    auto dot = ops::Sum(root, prod, -1, ops::Sum::KeepDims(true));
    auto diff = ops::Sub(root, g, dot);
    auto grad = y_first ? ops::Mul(root.WithOpName("grad"), y, diff)
                        : ops::Mul(root.WithOpName("grad"), diff, y);
    OptimizedGraph opt = RunBothAndCompare(
        root, {{x, RandomTensor({4, 5}, 1, -3.f, 3.f)}, {g, RandomTensor({4, 5}, 2)}}, {grad});
    ASSERT_NE(opt.graph, nullptr);
    const bool fused = HasFastSoftmaxGrad({4, 5});
    EXPECT_EQ(CountOps(*opt.graph, "_SoftmaxGrad"), fused ? 1 : 0);
    EXPECT_EQ(CountOps(*opt.graph, "Sum"), fused ? 0 : 1);
    EXPECT_EQ(opt.signature.fetches[0].node()->name(), "grad");
  }
}

TEST(GraphOptimizer, ASumOverAnotherAxisOrWithoutKeepDimsIsNotASoftmaxGradient) {
  for (bool other_axis : {false, true}) {
    SCOPED_TRACE(absl::StrCat("other axis: ", other_axis));
    Scope root = Scope::NewRootScope();
    auto g = ops::Placeholder(root.WithOpName("g"), DT_FLOAT, ops::Placeholder::Shape({3, 3}));
    auto y = ops::Placeholder(root.WithOpName("y"), DT_FLOAT, ops::Placeholder::Shape({3, 3}));
    auto dot = other_axis ? ops::Sum(root, ops::Mul(root, g, y), 0, ops::Sum::KeepDims(true))
                          : ops::Sum(root, ops::Mul(root, g, y), -1);
    auto grad = ops::Mul(root.WithOpName("grad"), ops::Sub(root, g, dot), y);
    OptimizedGraph opt = RunBothAndCompare(
        root, {{g, RandomTensor({3, 3}, 1)}, {y, RandomTensor({3, 3}, 2)}}, {grad});
    ASSERT_NE(opt.graph, nullptr);
    EXPECT_EQ(CountOps(*opt.graph, "_SoftmaxGrad"), 0);
  }
}

TEST(GraphOptimizer, AChainOfElementWiseOpsBecomesOneFusedBinary) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({-1, 4}));
  auto bias = ops::Placeholder(root.WithOpName("bias"), DT_FLOAT, ops::Placeholder::Shape({4}));
  auto s = ops::Placeholder(root.WithOpName("s"), DT_FLOAT, ops::Placeholder::Shape({-1, 1}));
  // bias + x broadcasts its first operand, so the fused node takes x first.
  auto y = ops::RealDiv(root.WithOpName("y"),
                        ops::Sub(root, ops::Mul(root, s, ops::Add(root, bias, x)), 0.5f), s);
  OptimizedGraph opt = RunBothAndCompare(root,
                                         {{x, RandomTensor({3, 4}, 1)},
                                          {bias, RandomTensor({4}, 2)},
                                          {s, RandomTensor({3, 1}, 3, 0.5f, 1.f)}},
                                         {y});
  ASSERT_NE(opt.graph, nullptr);
  EXPECT_EQ(opt.signature.fetches[0].node()->op(), "_FusedBinary");
  EXPECT_EQ(opt.signature.fetches[0].node()->name(), "y");
  std::vector<std::string> fused_ops;
  ASSERT_TRUE(GetAttr(opt.signature.fetches[0].node()->attrs(), "fused_ops", &fused_ops).ok());
  EXPECT_EQ(fused_ops, (std::vector<std::string>{"Add", "Mul", "Sub", "RealDiv"}));
}

TEST(GraphOptimizer, AnElementWiseChainStopsAtADivisorAFetchAndABroadcast) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({2, 3}));
  auto row = ops::Placeholder(root.WithOpName("row"), DT_FLOAT, ops::Placeholder::Shape({3}));
  // 1 / (x * x): the chain would be the divisor.
  auto inverse = ops::RealDiv(root.WithOpName("inverse"), 1.f, ops::Mul(root, x, x));
  // (row * 2) + x grows row's shape: the chain stops before the Add.
  auto grown = ops::Add(root.WithOpName("grown"), ops::Mul(root, row, 2.f), x);
  // a fetched intermediate must exist.
  auto shown = ops::Mul(root.WithOpName("shown"), x, 3.f);
  auto after = ops::Add(root.WithOpName("after"), shown, 1.f);
  OptimizedGraph opt = RunBothAndCompare(
      root, {{x, RandomTensor({2, 3}, 1, 0.5f, 1.f)}, {row, RandomTensor({3}, 2)}},
      {inverse, grown, shown, after});
  ASSERT_NE(opt.graph, nullptr);
  EXPECT_EQ(CountOps(*opt.graph, "_FusedBinary"), 0);
}

// ---------------------------------------------------------------------------------------------
// Graphs written by TensorFlow (../shared/tf_graphs), when DFLOW_SHARED_DIR names that folder.

std::unique_ptr<Graph> LoadTfGraph(const std::string& file) {
  GraphDef def;
  absl::Status s = ReadGraphDefFile(test::SharedDir() + "/tf_graphs/" + file, &def);
  EXPECT_TRUE(s.ok()) << s;
  auto graph = std::make_unique<Graph>();
  if (s.ok()) s = ImportGraphDef(def, graph.get());
  EXPECT_TRUE(s.ok()) << s;
  return s.ok() ? std::move(graph) : nullptr;
}

TEST(GraphOptimizer, TensorFlowsFrozenCnnScoresTheSameWithFusedConvolutions) {
  if (test::SharedDir().empty()) GTEST_SKIP() << "DFLOW_SHARED_DIR is not set";
  std::unique_ptr<Graph> graph = LoadTfGraph("k210_small_cnn_frozen.pb");
  ASSERT_NE(graph, nullptr);
  absl::StatusOr<Output> in = graph->FindOutput("inputs");
  absl::StatusOr<Output> out = graph->FindOutput("output");
  ASSERT_TRUE(in.ok() && out.ok());
  // Pass 2 alone (conv_trunks off): the fused convolutions themselves.
  GraphOptimizerOptions no_trunks;
  no_trunks.conv_trunks = false;
  const Tensor input = RandomTensor({8, 28, 28, 1}, 1, 0.f, 1.f);
  OptimizedGraph opt = RunBothAndCompare(*graph, {{*in, input}}, {*out}, no_trunks, 1e-4f);
  ASSERT_NE(opt.graph, nullptr);
  EXPECT_GT(CountOps(*opt.graph, "_FusedConv2D"), 0);
  EXPECT_EQ(CountOps(*opt.graph, "Conv2D"), 0);
  EXPECT_LT(opt.graph->num_nodes(), graph->num_nodes());
  // By default the chain of fused convolutions then becomes a trunk (runtime/conv_trunk.cc).
  opt = RunBothAndCompare(*graph, {{*in, input}}, {*out}, {}, 1e-4f);
  ASSERT_NE(opt.graph, nullptr);
  EXPECT_GT(CountOps(*opt.graph, "_DflowConvTrunk"), 0);
  EXPECT_EQ(CountOps(*opt.graph, "Conv2D"), 0);
}

TEST(GraphOptimizer, TensorFlowsOwnGradientOpsTrainTheSameWhenOptimized) {
  if (test::SharedDir().empty()) GTEST_SKIP() << "DFLOW_SHARED_DIR is not set";
  std::unique_ptr<Graph> graph = LoadTfGraph("hpdcj_mnist_mlp_train_graph.pb");
  ASSERT_NE(graph, nullptr);
  absl::StatusOr<Output> x = graph->FindOutput("X");
  absl::StatusOr<Output> y = graph->FindOutput("y");
  absl::StatusOr<Output> loss = graph->FindOutput("loss/loss");
  const Node* train = graph->FindNode("train/GradientDescent");
  ASSERT_TRUE(x.ok() && y.ok() && loss.ok() && train != nullptr);
  constexpr int64_t kBatch = 50;
  const std::vector<Output> feeds = {*x, *y};
  absl::StatusOr<OptimizedGraph> opt = OptimizeGraph(
      *graph, Signature{feeds, {TensorShape({kBatch, 784}), TensorShape({kBatch})}, {*loss}, {train}});
  ASSERT_TRUE(opt.ok()) << opt.status();
  EXPECT_EQ(CountOps(*opt->graph, "BroadcastGradientArgs"), 0);
  EXPECT_EQ(CountOps(*opt->graph, "Shape"), 0);
  // TensorFlow wraps each gradient in an Identity with control inputs (tf.tuple); removed, its
  // readers inherit those, and each weight's update fuses with its gradient's MatMul.
  EXPECT_EQ(CountOps(*opt->graph, "_ApplyGradientDescentMatMul"),
            FusesUpdateOf(784, kBatch, 300) + FusesUpdateOf(300, kBatch, 100) +
                FusesUpdateOf(100, kBatch, 10));
  std::cout << "hpdcj MLP training step: nodes run " << NodesRun(*graph, feeds, {*loss}, {train})
            << " -> " << NodesRun(*opt->graph, opt->signature.feeds, opt->signature.fetches, opt->signature.targets) << std::endl;

  absl::StatusOr<std::unique_ptr<Session>> original =
      Session::Create(*graph, test::Unoptimized());
  absl::StatusOr<std::unique_ptr<Session>> optimized =
      Session::Create(*opt->graph, test::Unoptimized());
  ASSERT_TRUE(original.ok() && optimized.ok());
  // Its initializers are unseeded: start the optimized step from the original's values.
  ASSERT_TRUE((*original)->Run({}, {}, {"init"}, nullptr).ok());
  const std::vector<std::string> variables = (*original)->variables()->Names();
  for (const std::string& name : variables) {
    (*optimized)->variables()->LookupOrCreate(name)->value =
        (*original)->variables()->Find(name)->value.DeepCopy();
  }
  for (int step = 0; step < 3; ++step) {
    Tensor images = RandomTensor({kBatch, 784}, step, 0.f, 1.f);
    Tensor labels(DT_INT32, TensorShape({kBatch}));
    for (int64_t i = 0; i < kBatch; ++i) labels.flat<int32_t>()[i] = (i * 3 + step) % 10;
    std::vector<Tensor> expected, actual;
    absl::Status s = (*original)->Run({{"X", images}, {"y", labels}}, {"loss/loss"},
                                      {"train/GradientDescent"}, &expected);
    ASSERT_TRUE(s.ok()) << s;
    s = (*optimized)
            ->Run({{opt->signature.feeds[0].name(), images}, {opt->signature.feeds[1].name(), labels}},
                  {opt->signature.fetches[0].name()}, {opt->signature.targets[0]->name()}, &actual);
    ASSERT_TRUE(s.ok()) << s;
    ExpectSameTensor(actual[0], expected[0], 1e-4f);
  }
  for (const std::string& name : variables) {
    SCOPED_TRACE(name);
    ExpectSameTensor((*optimized)->variables()->Find(name)->value,
                     (*original)->variables()->Find(name)->value, 1e-4f);
  }
}
}  // namespace
}  // namespace test
}  // namespace dflow
