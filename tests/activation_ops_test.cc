// Activation ops (Sigmoid, Tanh, Relu6, Elu, Selu, LeakyRelu, Softplus, Softsign) and their
// gradient ops: results against double-precision formulas on odd shapes and edge values, the
// gradient ops against hand-written loops at their kinks, first- and second-order gradients
// against central differences, TensorFlow's gradient patterns, and input errors.
#include "ops/activation_ops.h"

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "ops/gradients.h"
#include "ops/standard_ops.h"
#include "runtime/session.h"
#include "tests/gradient_checker.h"
#include "tests/test_util.h"

namespace dflow {
namespace test {
namespace {

constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;

// Values that exercise the edges: zero, both sides of every kink, the saturated tails.
Tensor EdgeValues() {
  return FloatTensor({16}, {0.f, -0.f, 6.f, -6.f, 1e-8f, -1e-8f, 5.9999f, 6.0001f, 30.f, -30.f,
                            100.f, -100.f, 0.5f, -0.5f, 13.9f, -14.f});
}

struct Activation {
  std::string name;
  std::function<Output(const Scope&, Input)> build;
  std::function<double(double)> ref;
};

std::vector<Activation> Activations() {
  return {
      {"Sigmoid", ops::Sigmoid, [](double x) { return 1 / (1 + std::exp(-x)); }},
      {"Tanh", ops::Tanh, [](double x) { return std::tanh(x); }},
      {"Relu6", ops::Relu6, [](double x) { return std::min(std::max(x, 0.0), 6.0); }},
      {"Elu", ops::Elu, [](double x) { return x < 0 ? std::expm1(x) : x; }},
      {"Selu", ops::Selu,
       [](double x) { return x < 0 ? kSeluScale * kSeluAlpha * std::expm1(x) : kSeluScale * x; }},
      {"LeakyRelu", [](const Scope& s, Input x) { return ops::LeakyRelu(s, x); },
       [](double x) { return x > 0 ? x : 0.2 * x; }},
      {"LeakyRelu(0.01)",
       [](const Scope& s, Input x) { return ops::LeakyRelu(s, x, ops::LeakyRelu::Alpha(0.01f)); },
       [](double x) { return x > 0 ? x : 0.01 * x; }},
      {"Softplus", ops::Softplus,
       [](double x) { return x > 30 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }},
      {"Softsign", ops::Softsign, [](double x) { return x / (1 + std::abs(x)); }},
  };
}

TEST(Activations, MatchDoubleFormulasOnOddShapesAndEdges) {
  for (const Activation& op : Activations()) {
    std::vector<Tensor> inputs = {EdgeValues()};
    for (TensorShape shape : {TensorShape({1, 7}), TensorShape({7, 1}), TensorShape({257, 3}),
                              TensorShape({}), TensorShape({1}), TensorShape({2, 3, 5}),
                              TensorShape({0, 3})}) {
      inputs.push_back(RandomTensor(shape, 11, -8.f, 8.f));
    }
    ExpectUnaryOpClose(op.build, inputs, op.ref, op.name);
  }
}

TEST(Activations, HandComputedValues) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Const(root, FloatTensor({5}, {-7.f, -1.f, 0.f, 3.f, 9.f}));
  absl::StatusOr<std::vector<Tensor>> out = RunGraph(
      root, {}, {ops::Relu6(root, x), ops::LeakyRelu(root, x, ops::LeakyRelu::Alpha(0.5f)),
                 ops::Softsign(root, x)});
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectTensorNear((*out)[0], TensorShape({5}), {0, 0, 0, 3, 6});
  ExpectTensorNear((*out)[1], TensorShape({5}), {-3.5f, -0.5f, 0, 3, 9});
  ExpectTensorNear((*out)[2], TensorShape({5}), {-0.875f, -0.5f, 0, 0.75f, 0.9f});
}

TEST(Activations, KeepTheInputShapeAndRejectIntegers) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({-1, 3}));
  for (const Activation& op : Activations()) {
    EXPECT_EQ(op.build(root, x).shape(), PartialTensorShape({-1, 3})) << op.name;
  }
  Scope bad = Scope::NewRootScope();
  ops::Sigmoid(bad, ops::Const(bad, 3));
  EXPECT_TRUE(absl::StrContains(ErrorOf(bad), "int32")) << ErrorOf(bad);
}

TEST(Activations, LeakyReluAlphaDefaultsToTensorFlows) {
  Scope root = Scope::NewRootScope();
  Output y = ops::LeakyRelu(root, ops::Const(root, -1.0f));
  float alpha = 0;
  ASSERT_TRUE(GetNodeAttr(*y.node(), "alpha", &alpha).ok());
  EXPECT_FLOAT_EQ(alpha, 0.2f);
}

// ---------------------------------------------------------------------------------------------
// Gradient ops against plain loops, at and around their kinks.

struct GradOpCase {
  std::string name;
  std::function<Output(const Scope&, Input, Input)> build;
  // z from (input 0, input 1).
  std::function<double(double, double)> ref;
};

std::vector<GradOpCase> GradOps() {
  return {
      {"SigmoidGrad", ops::SigmoidGrad, [](double y, double dy) { return dy * y * (1 - y); }},
      {"TanhGrad", ops::TanhGrad, [](double y, double dy) { return dy * (1 - y * y); }},
      {"Relu6Grad", ops::Relu6Grad,
       [](double g, double f) { return f > 0 && f < 6 ? g : 0.0; }},
      {"EluGrad", ops::EluGrad, [](double g, double y) { return y < 0 ? g * (y + 1) : g; }},
      {"SeluGrad", ops::SeluGrad,
       [](double g, double y) {
         return y < 0 ? g * (y + kSeluScale * kSeluAlpha) : g * kSeluScale;
       }},
      {"LeakyReluGrad",
       [](const Scope& s, Input g, Input f) {
         return ops::LeakyReluGrad(s, g, f, ops::LeakyRelu::Alpha(0.3f));
       },
       [](double g, double f) { return f > 0 ? g : 0.3 * g; }},
      {"SoftplusGrad", ops::SoftplusGrad,
       [](double g, double f) { return g / (1 + std::exp(-f)); }},
      {"SoftsignGrad", ops::SoftsignGrad,
       [](double g, double f) { return g / ((1 + std::abs(f)) * (1 + std::abs(f))); }},
  };
}

TEST(ActivationGradOps, MatchPlainLoopsAtKinksAndOnOddShapes) {
  for (const GradOpCase& op : GradOps()) {
    Scope root = Scope::NewRootScope();
    auto a = ops::Placeholder(root, DT_FLOAT);
    auto b = ops::Placeholder(root, DT_FLOAT);
    Output z = op.build(root, a, b);
    std::unique_ptr<Session> session = NewSession(root);
    ASSERT_NE(session, nullptr);
    // The forward values (input 1 for the features/outputs ops, input 0 for y ops) include
    // the kinks exactly.
    const bool y_first = absl::StartsWith(op.name, "Sigmoid") || absl::StartsWith(op.name, "Tanh");
    std::vector<std::pair<Tensor, Tensor>> cases;
    Tensor kinks = FloatTensor({10}, {0.f, 6.f, -1e-7f, 1e-7f, 5.99f, 6.01f, -0.5f, 0.5f, -3.f,
                                      0.25f});
    Tensor g = RandomTensor({10}, 3, -2.f, 2.f);
    cases.push_back(y_first ? std::make_pair(kinks, g) : std::make_pair(g, kinks));
    for (TensorShape shape : {TensorShape({1, 7}), TensorShape({257, 3}), TensorShape({}),
                              TensorShape({1}), TensorShape({3, 0})}) {
      cases.push_back({RandomTensor(shape, 5, -7.f, 7.f), RandomTensor(shape, 6, -7.f, 7.f)});
    }
    for (const auto& [av, bv] : cases) {
      std::vector<Tensor> out;
      ASSERT_TRUE(session->Run({{a, av}, {b, bv}}, {z}, {}, &out).ok()) << op.name;
      std::vector<double> expected;
      for (int64_t i = 0; i < av.NumElements(); ++i) {
        expected.push_back(op.ref(av.flat<float>()[i], bv.flat<float>()[i]));
      }
      ExpectClose(out[0], expected, op.name + " " + av.shape().DebugString(), 1e-6, 1e-5);
    }
  }
}

TEST(ActivationGradOps, MismatchedShapesAreAnErrorAtBuildAndRunTime) {
  for (const GradOpCase& op : GradOps()) {
    Scope root = Scope::NewRootScope();
    op.build(root, ops::Const(root, FloatTensor({2}, {1, 2})),
             ops::Const(root, FloatTensor({3}, {1, 2, 3})));
    EXPECT_TRUE(absl::StrContains(ErrorOf(root), "same shape")) << op.name << ErrorOf(root);

    Scope run = Scope::NewRootScope();
    auto a = ops::Placeholder(run, DT_FLOAT);
    auto b = ops::Placeholder(run, DT_FLOAT);
    Output z = op.build(run, a, b);
    absl::StatusOr<Tensor> r = RunOne(run, z,
                                      {{a, FloatTensor({2}, {1, 2})},
                                       {b, FloatTensor({1, 2}, {1, 2})}},
                                      Unoptimized());
    ASSERT_FALSE(r.ok()) << op.name;
    EXPECT_TRUE(absl::StrContains(r.status().message(), "same shape")) << r.status();
  }
}

// ---------------------------------------------------------------------------------------------
// Gradients.

// Random values moved at least 0.1 away from x = 0 and x = 6 (the kinks).
Tensor AwayFromKinks(const TensorShape& shape, uint64_t seed) {
  Tensor t = RandomTensor(shape, seed, -3.f, 7.f);
  for (float& v : t.flat<float>()) {
    if (std::abs(v) < 0.1f) v += v < 0 ? -0.2f : 0.2f;
    if (std::abs(v - 6.f) < 0.1f) v += v < 6 ? -0.2f : 0.2f;
  }
  return t;
}

TEST(ActivationGrads, MatchNumericKnownAndUnknownShapes) {
  for (const Activation& op : Activations()) {
    for (TensorShape shape : {TensorShape({3, 5}), TensorShape({1}), TensorShape({})}) {
      for (bool static_shape : {true, false}) {
        Scope root = Scope::NewRootScope();
        Output x = FloatPlaceholder(root, shape, static_shape);
        ExpectGradientOk(root, {{x, AwayFromKinks(shape, 21)}}, op.build(root, x),
                         op.name + " " + shape.DebugString());
      }
    }
  }
}

TEST(ActivationGrads, BuildTensorFlowsGradientOps) {
  struct Pattern {
    std::function<Output(const Scope&, Input)> build;
    std::string grad_op;
  };
  std::vector<Pattern> patterns = {
      {ops::Sigmoid, "SigmoidGrad"},   {ops::Tanh, "TanhGrad"},
      {ops::Relu6, "Relu6Grad"},       {ops::Elu, "EluGrad"},
      {ops::Selu, "SeluGrad"},         {ops::Softplus, "SoftplusGrad"},
      {ops::Softsign, "SoftsignGrad"},
      {[](const Scope& s, Input x) { return ops::LeakyRelu(s, x); }, "LeakyReluGrad"},
      {ops::Rsqrt, "RsqrtGrad"},       {ops::Reciprocal, "ReciprocalGrad"},
      {ops::Sqrt, "SqrtGrad"},
  };
  for (const Pattern& p : patterns) {
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({2}));
    std::vector<Output> grads;
    ASSERT_TRUE(AddSymbolicGradients(root, {p.build(root, x)}, {x}, &grads).ok()) << p.grad_op;
    int found = 0;
    for (const Node* node : root.graph()->nodes()) found += node->op() == p.grad_op;
    EXPECT_EQ(found, 1) << p.grad_op;
  }
}

// Second order: the gradient ops' own gradients, with respect to both inputs.
TEST(ActivationGrads, GradientOpsHaveNumericallyCorrectGradients) {
  for (const GradOpCase& op : GradOps()) {
    Scope root = Scope::NewRootScope();
    auto a = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({2, 3}));
    auto b = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({2, 3}));
    const bool y_first = absl::StartsWith(op.name, "Sigmoid") || absl::StartsWith(op.name, "Tanh");
    // Forward values of the right range: sigmoid outputs in (0, 1), tanh in (-1, 1), others
    // away from the kinks.
    Tensor fwd = y_first ? RandomTensor({2, 3}, 8, 0.1f, 0.9f) : AwayFromKinks({2, 3}, 9);
    Tensor g = RandomTensor({2, 3}, 10, -2.f, 2.f);
    Output z = op.build(root, a, b);
    if (op.name == "Relu6Grad" || op.name == "LeakyReluGrad") {
      // Piecewise constant in the features: no gradient path, only through the gradients.
      absl::StatusOr<double> err = MaxGradientError(root, {{a, g}}, z, {{b, fwd}});
      ASSERT_TRUE(err.ok()) << op.name << ": " << err.status();
      EXPECT_LT(*err, 5e-3) << op.name;
      continue;
    }
    ExpectGradientOk(root, {{a, y_first ? fwd : g}, {b, y_first ? g : fwd}}, z, op.name);
  }
}

TEST(ActivationGrads, TanhSecondDerivativeThroughTwoGradients) {
  // d/dx of (d tanh(x) / dx) = -2 tanh(x) (1 - tanh(x)^2).
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({4}));
  std::vector<Output> g1, g2;
  ASSERT_TRUE(AddSymbolicGradients(root, {ops::Tanh(root, x)}, {x}, &g1).ok());
  ASSERT_TRUE(AddSymbolicGradients(root, {g1[0]}, {x}, &g2).ok());
  Tensor xv = FloatTensor({4}, {-1.5f, -0.2f, 0.3f, 2.f});
  absl::StatusOr<Tensor> out = RunOne(root, g2[0], {{x, xv}});
  ASSERT_TRUE(out.ok()) << out.status();
  std::vector<double> expected;
  for (float v : xv.flat<float>()) {
    const double t = std::tanh(v);
    expected.push_back(-2 * t * (1 - t * t));
  }
  ExpectClose(*out, expected, "tanh''", 1e-5, 1e-5);
}

}  // namespace
}  // namespace test
}  // namespace dflow
