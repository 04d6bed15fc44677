// The contract between AddSymbolicGradients and gradient functions: every output of a node gets
// a gradient (zeros where none flows), and each returned input gradient must match its input's
// type and shape, or the error names the op and the node.
#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "ops/gradients.h"
#include "ops/op_registry.h"
#include "ops/shape_inference.h"
#include "ops/standard_ops.h"
#include "tests/test_util.h"

namespace dflow {
namespace {

// y = a, with a gradient that hands input 1 (b, shaped unlike a) a's gradient: a wrong shape.
REGISTER_OP("TestOpWithWrongShapedGradient")
    .Input("a: float")
    .Input("b: float")
    .Output("y: float")
    .SetShapeFn(UnchangedShape);
absl::Status WrongShapedGradient(const Scope& scope, const Node& node,
                                 absl::Span<const Output> grads,
                                 std::vector<Output>* grad_inputs) {
  *grad_inputs = {grads[0], grads[0]};
  return absl::OkStatus();
}
REGISTER_GRADIENT("TestOpWithWrongShapedGradient", WrongShapedGradient);

// y = x, with a gradient of the wrong type (int32 for a float input).
REGISTER_OP("TestOpWithWrongTypedGradient").Input("x: float").Output("y: float").SetShapeFn(
    UnchangedShape);
absl::Status WrongTypedGradient(const Scope& scope, const Node& node,
                                absl::Span<const Output> grads,
                                std::vector<Output>* grad_inputs) {
  *grad_inputs = {ops::Cast(scope, grads[0], DT_INT32)};
  return scope.status();
}
REGISTER_GRADIENT("TestOpWithWrongTypedGradient", WrongTypedGradient);

// Two copies of x; its gradient records what it was handed for the second.
REGISTER_OP("TestTwoOutputs")
    .Input("x: float")
    .Output("first: float")
    .Output("second: float")
    .SetShapeFn([](InferenceContext* ctx) {
      ctx->set_output(0, ctx->input(0));
      ctx->set_output(1, ctx->input(0));
      return absl::OkStatus();
    });
Output second_output_grad;
absl::Status TwoOutputsGradient(const Scope& scope, const Node& node,
                                absl::Span<const Output> grads,
                                std::vector<Output>* grad_inputs) {
  second_output_grad = grads[1];
  *grad_inputs = {grads[0]};
  return absl::OkStatus();
}
REGISTER_GRADIENT("TestTwoOutputs", TwoOutputsGradient);

Output Features(const Scope& root) {
  return ops::Placeholder(root.WithOpName("features"), DT_FLOAT,
                          ops::Placeholder::Shape({2, 3}));
}

// Softmax rows {1/3, 1/3, 1/3} and {1/8, 2/8, 5/8}.
Tensor FeatureValues() {
  return test::FloatTensor({2, 3}, {0.f, 0.f, 0.f, 0.f, std::log(2.f), std::log(5.f)});
}

int CountGradientOps(const Graph& graph, const std::string& op) {
  int n = 0;
  for (const Node* node : graph.nodes()) {
    n += node->op() == op && absl::StartsWith(node->name(), "gradients/");
  }
  return n;
}

TEST(GradientContract, CrossEntropyThroughItsLossOnly) {
  Scope root = Scope::NewRootScope();
  auto f = Features(root);
  auto labels = ops::Const(root, test::FloatTensor({2, 3}, {1, 0, 0, 0, 0.5f, 0.5f}));
  ops::SoftmaxCrossEntropyWithLogits xent(root, f, labels);
  std::vector<Output> grads;
  ASSERT_TRUE(AddSymbolicGradients(root, {xent.loss}, {f}, &grads).ok()) << root.status();
  // d loss / d features = softmax - labels; the unused backprop output adds no Softmax.
  EXPECT_EQ(CountGradientOps(*root.graph(), "Softmax"), 0);
  absl::StatusOr<Tensor> g = test::RunOne(root, grads[0], {{f, FeatureValues()}});
  ASSERT_TRUE(g.ok()) << g.status();
  test::ExpectTensorNear(*g, {2, 3},
                         {-2.f / 3, 1.f / 3, 1.f / 3, 0.125f, -0.25f, 0.125f});
}

TEST(GradientContract, CrossEntropyThroughItsBackpropOnly) {
  Scope root = Scope::NewRootScope();
  auto f = Features(root);
  auto labels = ops::Const(root, test::FloatTensor({2, 3}, {1, 0, 0, 0, 0.5f, 0.5f}));
  ops::SoftmaxCrossEntropyWithLogits xent(root, f, labels);
  // Seeding backprop with w: the gradient is (w - sum(w * s)) * s per row, s = softmax(f);
  // row 0: sum = 2; row 1: sum = (1 + 4 + 15) / 8 = 2.5.
  auto w = ops::Const(root, test::FloatTensor({2, 3}, {1, 2, 3, 1, 2, 3}));
  std::vector<Output> grads;
  ASSERT_TRUE(AddSymbolicGradients(root, {xent.backprop}, {f}, {w}, &grads).ok())
      << root.status();
  absl::StatusOr<Tensor> g = test::RunOne(root, grads[0], {{f, FeatureValues()}});
  ASSERT_TRUE(g.ok()) << g.status();
  test::ExpectTensorNear(*g, {2, 3},
                         {-1.f / 3, 0.f, 1.f / 3, -1.5f / 8, -0.5f * 2 / 8, 0.5f * 5 / 8});
}

TEST(GradientContract, AnOutputNoGradientReachesGetsZeros) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({2}));
  Node* two = AddOp(root.WithOpName("two"), "TestTwoOutputs", {x});
  ASSERT_NE(two, nullptr) << root.status();
  second_output_grad = Output();
  std::vector<Output> grads;
  ASSERT_TRUE(AddSymbolicGradients(root, {Output(two, 0)}, {x}, &grads).ok()) << root.status();
  ASSERT_NE(second_output_grad.node(), nullptr);
  EXPECT_EQ(second_output_grad.node()->op(), "ZerosLike");
  EXPECT_EQ(second_output_grad.node()->input(0), Output(two, 1));
  EXPECT_TRUE(IsZerosGradient(second_output_grad));
}

TEST(GradientContract, NoZerosWhenEveryOutputHasAGradient) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({2}));
  auto y = ops::Mul(root, ops::Exp(root, x), x);
  std::vector<Output> grads;
  ASSERT_TRUE(AddSymbolicGradients(root, {y}, {x}, &grads).ok()) << root.status();
  EXPECT_EQ(CountGradientOps(*root.graph(), "ZerosLike"), 0);
}

TEST(GradientContract, AWrongShapedGradientNamesTheOpAndTheNode) {
  Scope root = Scope::NewRootScope();
  auto a = ops::Placeholder(root.WithOpName("a"), DT_FLOAT, ops::Placeholder::Shape({3, 4}));
  auto b = ops::Placeholder(root.WithOpName("b"), DT_FLOAT, ops::Placeholder::Shape({4, 3}));
  Node* mm = AddOp(root.WithOpName("mm"), "TestOpWithWrongShapedGradient", {a, b});
  ASSERT_NE(mm, nullptr) << root.status();
  std::vector<Output> grads;
  absl::Status s = AddSymbolicGradients(root, {Output(mm, 0)}, {a, b}, &grads);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(absl::StrContains(
      s.message(), "gradient of TestOpWithWrongShapedGradient node 'mm' for input 1 has shape "
                   "[3,4] but the input has shape [4,3]"))
      << s;
}

TEST(GradientContract, AWrongTypedGradientNamesTheOpAndTheNode) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({2}));
  Node* n = AddOp(root.WithOpName("typed"), "TestOpWithWrongTypedGradient", {x});
  ASSERT_NE(n, nullptr) << root.status();
  std::vector<Output> grads;
  absl::Status s = AddSymbolicGradients(root, {Output(n, 0)}, {x}, &grads);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(absl::StrContains(s.message(),
                                "gradient of TestOpWithWrongTypedGradient node 'typed' for input "
                                "0 has type int32 but the input has type float"))
      << s;
}

}  // namespace
}  // namespace dflow
