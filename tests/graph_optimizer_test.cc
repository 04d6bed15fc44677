// The graph optimizer's simplification pass: each rewrite (feed substitution, constant folding,
// Identity and NoOp removal, CSE) happens (asserted on the optimized graph's nodes) and keeps
// results equal to the original graph's, run in separate Sessions. Fusion: graph_fusion_test.cc.
#include "runtime/graph_optimizer.h"

#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "kernels/op_kernel.h"
#include "ops/standard_ops.h"
#include "runtime/session.h"
#include "tests/optimizer_test_util.h"
#include "tests/test_util.h"

namespace dflow {
namespace test {
namespace {

// Every node with its op, inputs, attrs and shapes, in id order.
std::string Describe(const Graph& graph) {
  std::string out;
  for (const Node* n : graph.nodes()) {
    absl::StrAppend(&out, n->name(), "=", n->op(), "(");
    for (const Output& in : n->inputs()) absl::StrAppend(&out, in.name(), ",");
    for (const Node* c : n->control_inputs()) absl::StrAppend(&out, "^", c->name(), ",");
    absl::StrAppend(&out, ")");
    for (const auto& [name, value] : n->attrs()) {
      absl::StrAppend(&out, " ", name, "=", value.ShortDebugString());
    }
    for (int i = 0; i < n->num_outputs(); ++i) {
      absl::StrAppend(&out, " ", n->output_shape(i).DebugString());
    }
    absl::StrAppend(&out, "\n");
  }
  return out;
}
// ---------------------------------------------------------------------------------------------
// Constant folding.

TEST(GraphOptimizer, ConstantSubgraphsFoldIntoOneConst) {
  Scope root = Scope::NewRootScope();
  auto a = ops::Const(root, {1.f, 2.f, 3.f});
  auto b = ops::Exp(root, ops::Mul(root, a, 0.5f));
  auto y = ops::Add(root.WithOpName("y"), b, ops::Sum(root, a, {0}));
  OptimizedGraph opt = RunBothAndCompare(root, {}, {y});
  ASSERT_NE(opt.graph, nullptr);
  EXPECT_EQ(opt.graph->num_nodes(), 1);
  EXPECT_EQ(opt.signature.fetches[0].node()->op(), "Const");
  EXPECT_EQ(opt.signature.fetches[0].node()->name(), "y");
}

TEST(GraphOptimizer, AFedConstIsNotFolded) {
  Scope root = Scope::NewRootScope();
  auto c = ops::Const(root.WithOpName("c"), {2.f, 3.f});
  auto y = ops::Mul(root.WithOpName("y"), c, 3.f);
  OptimizedGraph opt = RunBothAndCompare(root, {{c, test::FloatTensor({2}, {5.f, 7.f})}}, {y});
  ASSERT_NE(opt.graph, nullptr);
  EXPECT_EQ(opt.signature.feeds[0].node()->op(), "Placeholder");
  EXPECT_EQ(opt.signature.fetches[0].node()->op(), "Mul");
  // Unfed, the same graph folds.
  OptimizedGraph folded = RunBothAndCompare(root, {}, {y});
  ASSERT_NE(folded.graph, nullptr);
  EXPECT_EQ(folded.signature.fetches[0].node()->op(), "Const");
}

TEST(GraphOptimizer, ShapesOfFedTensorsFoldToTheFedShape) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({-1, 4}));
  auto shape = ops::Shape(root.WithOpName("shape"), ops::Exp(root, x));
  auto rank = ops::Rank(root.WithOpName("rank"), x);
  auto flat = ops::Reshape(root.WithOpName("flat"), x,
                           ops::Pack(root, {ops::Prod(root, ops::Shape(root, x), {0})}));
  OptimizedGraph opt = RunBothAndCompare(root, {{x, RandomTensor({5, 4}, 1)}}, {shape, rank, flat});
  ASSERT_NE(opt.graph, nullptr);
  EXPECT_EQ(CountOps(*opt.graph, "Shape"), 0);
  EXPECT_EQ(CountOps(*opt.graph, "Rank"), 0);
  EXPECT_EQ(CountOps(*opt.graph, "Exp"), 0);  // Only its shape was needed.
  EXPECT_EQ(opt.signature.fetches[0].node()->op(), "Const");
  // The fed Placeholder keeps its name and gets the fed shape.
  EXPECT_EQ(opt.signature.feeds[0].node()->name(), "x");
  EXPECT_EQ(opt.signature.feeds[0].shape(), PartialTensorShape({5, 4}));
}

TEST(GraphOptimizer, AShapeOfAnAssignIsNotFoldedAwayFromTheAssign) {
  Scope root = Scope::NewRootScope();
  auto v = ops::Variable(root.WithOpName("v"), {2}, DT_FLOAT);
  auto assigned = ops::Assign(root.WithOpName("assign"), v, Input({4.f, 5.f}));
  auto shape = ops::Shape(root.WithOpName("shape"), assigned);
  OptimizedGraph opt = RunBothAndCompare(root, {}, {shape});
  ASSERT_NE(opt.graph, nullptr);
  EXPECT_EQ(CountOps(*opt.graph, "Assign"), 1);
}

// ---------------------------------------------------------------------------------------------
// Identity removal, CSE.

TEST(GraphOptimizer, IdentitiesOfTensorsAreRemoved) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
  auto y = ops::Exp(root.WithOpName("y"), ops::Identity(root, ops::Identity(root, x)));
  OptimizedGraph opt = RunBothAndCompare(root, {{x, RandomTensor({3}, 1)}}, {y});
  ASSERT_NE(opt.graph, nullptr);
  EXPECT_EQ(CountOps(*opt.graph, "Identity"), 0);
  EXPECT_EQ(opt.graph->num_nodes(), 2);
}

TEST(GraphOptimizer, ReshapesToTheSameShapeAndReductionsOverNoAxesAreRemoved) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({-1, 3}));
  auto same = ops::Reshape(root, ops::Exp(root, x), ops::Shape(root, x));
  auto summed = ops::Sum(root, same, Input(Tensor(DT_INT32, TensorShape({0}))));
  auto y = ops::Mul(root.WithOpName("y"), summed, ops::OnesLike(root, x));
  auto flat = ops::Reshape(root.WithOpName("flat"), y, {-1});
  OptimizedGraph opt = RunBothAndCompare(root, {{x, RandomTensor({2, 3}, 1)}}, {flat});
  ASSERT_NE(opt.graph, nullptr);
  EXPECT_EQ(CountOps(*opt.graph, "Sum"), 0);
  EXPECT_EQ(CountOps(*opt.graph, "OnesLike"), 0);  // Folded to a Const of ones.
  EXPECT_EQ(CountOps(*opt.graph, "Reshape"), 1);   // Only the one that changes the shape.
}

TEST(GraphOptimizer, AnIdentityOfAVariableIsKept) {
  Scope root = Scope::NewRootScope();
  auto v = ops::Variable(root.WithOpName("v"), {2}, DT_FLOAT);
  // A snapshot of v's value, read before the update ordered after y.
  auto snapshot = ops::Identity(root.WithOpName("snapshot"), v);
  auto y = ops::Mul(root.WithOpName("y"), snapshot, 2.f);
  auto update =
      ops::AssignAdd(root.WithControlDependencies(y).WithOpName("update"), v, Input({10.f, 10.f}));
  ASSERT_TRUE(root.ok()) << root.status();
  absl::StatusOr<OptimizedGraph> opt = OptimizeGraph(*root.graph(), Signature{{}, {}, {y}, {update.node()}});
  ASSERT_TRUE(opt.ok()) << opt.status();
  const Node* kept = opt->graph->FindNode("snapshot");
  ASSERT_NE(kept, nullptr);
  EXPECT_EQ(kept->op(), "Identity");
  absl::StatusOr<std::unique_ptr<Session>> session =
      Session::Create(*opt->graph, test::Unoptimized());
  ASSERT_TRUE(session.ok());
  (*session)->variables()->LookupOrCreate("v")->Set(test::FloatTensor({2}, {1.f, 2.f}));
  std::vector<Tensor> out;
  ASSERT_TRUE((*session)->Run({}, {opt->signature.fetches[0].name()}, {opt->signature.targets[0]->name()}, &out).ok());
  test::ExpectTensorNear(out[0], {2}, {2.f, 4.f});
  test::ExpectTensorNear((*session)->variables()->Find("v")->value, {2}, {11.f, 12.f});
}

TEST(GraphOptimizer, AnIdentityWithControlInputsIsRemovedAndItsReadersInheritThem) {
  Scope root = Scope::NewRootScope();
  auto v = ops::Variable(root.WithOpName("v"), {2}, DT_FLOAT);
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({2}));
  auto bump = ops::AssignAdd(root.WithOpName("bump"), v, Input({1.f, 1.f}));
  // tf.tuple's shape: the doubled x may only be read once v has been bumped.
  auto gated = ops::Identity(root.WithControlDependencies(bump).WithOpName("gated"),
                             ops::Mul(root, x, 2.f));
  auto y = ops::Add(root.WithOpName("y"), gated, 1.f);
  ASSERT_TRUE(root.ok()) << root.status();
  absl::StatusOr<OptimizedGraph> opt =
      OptimizeGraph(*root.graph(), Signature{{x}, {TensorShape({2})}, {y}, {}});
  ASSERT_TRUE(opt.ok()) << opt.status();
  EXPECT_EQ(opt->graph->FindNode("gated"), nullptr);
  const Node* add = opt->signature.fetches[0].node();
  ASSERT_EQ(add->control_inputs().size(), 1u);
  EXPECT_EQ(add->control_inputs()[0]->name(), "bump");
  absl::StatusOr<std::unique_ptr<Session>> session =
      Session::Create(*opt->graph, test::Unoptimized());
  ASSERT_TRUE(session.ok());
  (*session)->variables()->LookupOrCreate("v")->Set(test::FloatTensor({2}, {1.f, 2.f}));
  std::vector<Tensor> out;
  ASSERT_TRUE((*session)->Run({{"x", test::FloatTensor({2}, {3.f, 4.f})}}, {"y"}, {}, &out).ok());
  test::ExpectTensorNear(out[0], {2}, {7.f, 9.f});
  test::ExpectTensorNear((*session)->variables()->Find("v")->value, {2}, {2.f, 3.f});
}
TEST(GraphOptimizer, AnUpdateOrderedAfterADirectReadOfItsVariableStillComesAfterIt) {
  // h reads w itself; the Assign waits for h; the BiasAdd after both would fuse with h's
  // MatMul and move the read past the Assign, so the edge from h must stay and block that.
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({1, 2}));
  auto w = ops::Variable(root.WithOpName("w"), {2, 2}, DT_FLOAT);
  auto h = ops::MatMul(root.WithOpName("h"), x, w);
  auto update = ops::Assign(root.WithControlDependencies(h).WithOpName("update"), w,
                            ops::Const(root, 0.f, {2, 2}));
  auto out = ops::BiasAdd(root.WithOpName("out"), h, ops::Const(root, {1.f, 2.f}));
  ASSERT_TRUE(root.ok()) << root.status();
  absl::StatusOr<OptimizedGraph> opt =
      OptimizeGraph(*root.graph(), Signature{{x}, {TensorShape({1, 2})}, {out}, {update.node()}});
  ASSERT_TRUE(opt.ok()) << opt.status();
  EXPECT_EQ(CountOps(*opt->graph, "_FusedMatMul"), 0);
  absl::StatusOr<std::unique_ptr<Session>> session =
      Session::Create(*opt->graph, test::Unoptimized());
  ASSERT_TRUE(session.ok());
  (*session)->variables()->LookupOrCreate("w")->value =
      test::FloatTensor({2, 2}, {1.f, 2.f, 3.f, 4.f});
  std::vector<Tensor> result;
  ASSERT_TRUE((*session)
                  ->Run({{"x", test::FloatTensor({1, 2}, {1.f, 1.f})}}, {"out"}, {"update"},
                        &result)
                  .ok());
  test::ExpectTensorNear(result[0], {1, 2}, {5.f, 8.f});  // [1, 1] w + [1, 2], w before.
}

TEST(GraphOptimizer, NoOpsThatOnlyRelayControlEdgesAreRemoved) {
  Scope root = Scope::NewRootScope();
  auto v = ops::Variable(root.WithOpName("v"), {2}, DT_FLOAT);
  auto w = ops::Variable(root.WithOpName("w"), {2}, DT_FLOAT);
  auto init_v = ops::Assign(root.WithOpName("init_v"), v, Input({1.f, 2.f}));
  auto init_w = ops::Assign(root.WithOpName("init_w"), w, Input({3.f, 4.f}));
  auto group = ops::NoOp(root.WithControlDependencies({init_v, init_w}).WithOpName("group"));
  auto done = ops::NoOp(root.WithControlDependencies({group}).WithOpName("done"));
  ASSERT_TRUE(root.ok()) << root.status();
  absl::StatusOr<OptimizedGraph> opt = OptimizeGraph(*root.graph(), Signature{{}, {}, {}, {done.node()}});
  ASSERT_TRUE(opt.ok()) << opt.status();
  EXPECT_EQ(opt->graph->FindNode("group"), nullptr);
  ASSERT_EQ(opt->signature.targets[0]->name(), "done");
  EXPECT_EQ(opt->signature.targets[0]->control_inputs().size(), 2u);
  absl::StatusOr<std::unique_ptr<Session>> session =
      Session::Create(*opt->graph, test::Unoptimized());
  ASSERT_TRUE(session.ok());
  ASSERT_TRUE((*session)->Run({}, {}, {"done"}, nullptr).ok());
  test::ExpectTensorNear((*session)->variables()->Find("v")->value, {2}, {1.f, 2.f});
  test::ExpectTensorNear((*session)->variables()->Find("w")->value, {2}, {3.f, 4.f});
}

TEST(GraphOptimizer, DuplicatedSubexpressionsAreComputedOnce) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
  auto a = ops::Mul(root, ops::Exp(root, x), 2.f);
  auto b = ops::Mul(root, ops::Exp(root, x), 2.f);
  auto y = ops::Sub(root.WithOpName("y"), ops::Add(root, a, b), ops::Exp(root, x));
  OptimizedGraph opt = RunBothAndCompare(root, {{x, RandomTensor({4}, 1)}}, {y});
  ASSERT_NE(opt.graph, nullptr);
  EXPECT_EQ(CountOps(*opt.graph, "Exp"), 1);
  EXPECT_EQ(CountOps(*opt.graph, "Mul"), 1);
  EXPECT_EQ(CountOps(*opt.graph, "Const"), 1);  // The two literal 2s merged too.
}

TEST(GraphOptimizer, StatefulRandomOpsAreNotMerged) {
  Scope root = Scope::NewRootScope();
  auto r1 = ops::RandomUniform(root.WithOpName("r1"), {64}, DT_FLOAT);
  auto r2 = ops::RandomUniform(root.WithOpName("r2"), {64}, DT_FLOAT);
  auto y = ops::Sub(root.WithOpName("y"), r1, r2);
  ASSERT_TRUE(root.ok()) << root.status();
  absl::StatusOr<OptimizedGraph> opt = OptimizeGraph(*root.graph(), Signature{{}, {}, {y}, {}});
  ASSERT_TRUE(opt.ok()) << opt.status();
  EXPECT_EQ(CountOps(*opt->graph, "RandomUniform"), 2);
  ASSERT_NE(opt->graph->FindNode("r1"), nullptr);
  ASSERT_NE(opt->graph->FindNode("r2"), nullptr);
  absl::StatusOr<std::unique_ptr<Session>> session =
      Session::Create(*opt->graph, test::Unoptimized());
  ASSERT_TRUE(session.ok());
  std::vector<Tensor> out;
  ASSERT_TRUE((*session)->Run({}, {opt->signature.fetches[0]}, {}, &out).ok());
  int nonzero = 0;
  for (float v : out[0].flat<float>()) nonzero += v != 0.f;
  EXPECT_GT(nonzero, 32);  // Two independent streams, not one subtracted from itself.
}

TEST(GraphOptimizer, AFedVariableReferenceKeepsItsVariableNode) {
  Scope root = Scope::NewRootScope();
  auto v = ops::Variable(root.WithOpName("v"), {2}, DT_FLOAT);
  auto y = ops::Mul(root.WithOpName("y"), v, 2.f);
  ASSERT_TRUE(root.ok());
  absl::StatusOr<OptimizedGraph> opt =
      OptimizeGraph(*root.graph(), Signature{{v}, {TensorShape({2})}, {y}, {}});
  ASSERT_TRUE(opt.ok()) << opt.status();
  EXPECT_EQ(opt->signature.feeds[0].node()->op(), "VariableV2");
  EXPECT_EQ(opt->signature.feeds[0].node()->name(), "v");
}

// The Session rejects it before anything is optimized (OptimizeGraph takes only valid feeds).
TEST(GraphOptimizer, AFeedOfTheWrongShapeIsAnErrorNamingIt) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({-1, 4}));
  auto y = ops::Exp(root, x);
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(root);  // Optimizing.
  ASSERT_TRUE(session.ok()) << session.status();
  std::vector<Tensor> out;
  absl::Status s = (*session)->Run({{x, RandomTensor({2, 5}, 1)}}, {y}, {}, &out);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("'x'"), absl::string_view::npos) << s;
}

// A fed shape that fits the Placeholder but not an op reading it, which only the fed shape shows.
TEST(GraphOptimizer, AFedShapeAnOpDownstreamRejectsIsAnErrorNamingThatOp) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({-1, -1}));
  auto product =
      ops::MatMul(root.WithOpName("product"), x, ops::Const(root, RandomTensor({4, 3}, 1)));
  ASSERT_TRUE(root.ok()) << root.status();
  absl::StatusOr<OptimizedGraph> opt =
      OptimizeGraph(*root.graph(), Signature{{x}, {TensorShape({2, 5})}, {product}, {}});
  ASSERT_FALSE(opt.ok());
  EXPECT_NE(opt.status().message().find("'product'"), absl::string_view::npos) << opt.status();
  // With an inner dimension that fits, the same signature optimizes.
  EXPECT_TRUE(
      OptimizeGraph(*root.graph(), Signature{{x}, {TensorShape({2, 4})}, {product}, {}}).ok());
}

TEST(GraphOptimizer, TheOriginalGraphIsNotChanged) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({-1, 2}));
  auto y = ops::Relu(
      root, ops::BiasAdd(root, ops::MatMul(root, x, ops::Const(root, RandomTensor({2, 2}, 1))),
                         ops::Const(root, {1.f, 2.f})));
  ASSERT_TRUE(root.ok());
  const std::string before = Describe(*root.graph());
  ASSERT_TRUE(OptimizeGraph(*root.graph(), Signature{{x}, {TensorShape({3, 2})}, {y}, {}}).ok());
  EXPECT_EQ(Describe(*root.graph()), before);
}

TEST(GraphOptimizer, EachRewriteCanBeTurnedOff) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({-1, 2}));
  auto y = ops::Relu(root, ops::BiasAdd(root,
                                        ops::MatMul(root, ops::Identity(root, x),
                                                    ops::Const(root, RandomTensor({2, 2}, 1))),
                                        ops::Add(root, ops::Const(root, {1.f, 2.f}), 1.f)));
  GraphOptimizerOptions none;
  none.fold_constants = none.remove_identities = none.eliminate_common_subexpressions =
      none.fuse_ops = false;
  OptimizedGraph opt = RunBothAndCompare(root, {{x, RandomTensor({3, 2}, 2)}}, {y}, none);
  ASSERT_NE(opt.graph, nullptr);
  EXPECT_EQ(opt.graph->num_nodes(), root.graph()->num_nodes());
}
}  // namespace
}  // namespace test
}  // namespace dflow
