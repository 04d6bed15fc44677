// Element-wise math ops of unary_math_ops.h (Rsqrt, Reciprocal/Inv, Abs, Sign, Expm1, Log1p,
// Round, Ceil, Sin, Cos, Erf; RsqrtGrad, ReciprocalGrad, SqrtGrad) and binary_math_ops.h (Pow,
// Minimum, SquaredDifference): results against std math in double and plain broadcasting
// loops, edge values (0, negative, NaN, halves), integer types, gradients against central
// differences, and errors.
#include "ops/unary_math_ops.h"

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "ops/binary_math_ops.h"
#include "ops/graph_import.h"
#include "ops/standard_ops.h"
#include "runtime/session.h"
#include "tests/gradient_checker.h"
#include "tests/reference.h"
#include "tests/test_util.h"

namespace dflow {
namespace test {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

struct Unary {
  std::string name;
  std::function<Output(const Scope&, Input)> build;
  std::function<double(double)> ref;
  float lo, hi;  // Random inputs' range.
  std::vector<float> edges;
};

std::vector<Unary> Unaries() {
  return {
      {"Rsqrt", ops::Rsqrt, [](double x) { return 1 / std::sqrt(x); }, 0.01f, 100.f,
       {0.f, 1.f, 4.f, 1e-30f, -1.f, kInf, kNaN}},
      {"Reciprocal", ops::Reciprocal, [](double x) { return 1 / x; }, -10.f, 10.f,
       {0.f, -0.f, 2.f, -4.f, 1e30f, kInf, kNaN}},
      {"Abs", ops::Abs, [](double x) { return std::abs(x); }, -5.f, 5.f, {-0.f, -kInf, kNaN}},
      {"Sign", ops::Sign, [](double x) { return std::isnan(x) ? 0.0 : (x > 0) - (x < 0); }, -3.f,
       3.f, {0.f, -0.f, 1e-30f, -1e-30f, kInf, -kInf, kNaN}},
      {"Expm1", ops::Expm1, [](double x) { return std::expm1(x); }, -5.f, 5.f,
       {0.f, 1e-7f, -1e-7f, -100.f, kNaN}},
      {"Log1p", ops::Log1p, [](double x) { return std::log1p(x); }, -0.9f, 10.f,
       {0.f, 1e-7f, -1e-7f, -1.f, -2.f, kNaN}},
      {"Round", ops::Round, [](double x) { return std::nearbyint(x); }, -10.f, 10.f,
       {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 2.4999f, 1e10f, kNaN}},
      {"Ceil", ops::Ceil, [](double x) { return std::ceil(x); }, -10.f, 10.f,
       {0.5f, -0.5f, 2.f, -2.f, 1e10f, kNaN}},
      {"Sin", ops::Sin, [](double x) { return std::sin(x); }, -10.f, 10.f, {0.f, 1e-7f, kNaN}},
      {"Cos", ops::Cos, [](double x) { return std::cos(x); }, -10.f, 10.f, {0.f, 1e-7f, kNaN}},
      {"Erf", ops::Erf, [](double x) { return std::erf(x); }, -4.f, 4.f,
       {0.f, 1e-7f, -10.f, 10.f, kNaN}},
  };
}

TEST(UnaryMath, MatchesStdMathOnOddShapesAndEdges) {
  for (const Unary& op : Unaries()) {
    const int64_t n = static_cast<int64_t>(op.edges.size());
    std::vector<Tensor> inputs = {FloatTensor({n}, op.edges)};
    for (TensorShape shape : {TensorShape({1, 7}), TensorShape({7, 1}), TensorShape({257, 3}),
                              TensorShape({}), TensorShape({1}), TensorShape({0, 2})}) {
      inputs.push_back(RandomTensor(shape, 13, op.lo, op.hi));
    }
    ExpectUnaryOpClose(op.build, inputs, op.ref, op.name);
  }
}

TEST(UnaryMath, IntegerAbsSignRoundAndDoubleRoundCeil) {
  Scope root = Scope::NewRootScope();
  const int32_t kMin32 = std::numeric_limits<int32_t>::min();
  auto i32 = ops::Const(root, Make<int32_t>({5}, {-7, 0, 3, kMin32, -1}));
  auto i64 = ops::Const(root, Make<int64_t>({3}, {-5, 0, int64_t{1} << 40}));
  auto f64 = ops::Const(root, Make<double>({4}, {2.5, -2.5, 3.5, 0.1}));
  absl::StatusOr<std::vector<Tensor>> out = RunGraph(
      root, {}, {ops::Abs(root, i32), ops::Sign(root, i32), ops::Round(root, i32),
                 ops::Abs(root, i64), ops::Sign(root, i64), ops::Round(root, f64),
                 ops::Ceil(root, f64)});
  ASSERT_TRUE(out.ok()) << out.status();
  // |INT32_MIN| wraps to itself, as two's complement negation does.
  EXPECT_EQ(ValuesOf<int32_t>((*out)[0]), (std::vector<int32_t>{7, 0, 3, kMin32, 1}));
  EXPECT_EQ(ValuesOf<int32_t>((*out)[1]), (std::vector<int32_t>{-1, 0, 1, -1, -1}));
  EXPECT_EQ(ValuesOf<int32_t>((*out)[2]), (std::vector<int32_t>{-7, 0, 3, kMin32, -1}));
  EXPECT_EQ(ValuesOf<int64_t>((*out)[3]), (std::vector<int64_t>{5, 0, int64_t{1} << 40}));
  EXPECT_EQ(ValuesOf<int64_t>((*out)[4]), (std::vector<int64_t>{-1, 0, 1}));
  EXPECT_EQ(ValuesOf<double>((*out)[5]), (std::vector<double>{2, -2, 4, 0}));
  EXPECT_EQ(ValuesOf<double>((*out)[6]), (std::vector<double>{3, -2, 4, 1}));
}

TEST(UnaryMath, TypesOutsideTheSchemaAreAGraphBuildError) {
  Scope root = Scope::NewRootScope();
  ops::Rsqrt(root, ops::Const(root, 4));
  EXPECT_TRUE(absl::StrContains(ErrorOf(root), "int32")) << ErrorOf(root);
  Scope root2 = Scope::NewRootScope();
  ops::Ceil(root2, ops::Const(root2, 4));
  EXPECT_FALSE(root2.ok());
}

TEST(UnaryMath, InvAndInvGradAreTensorFlowsOldNames) {
  GraphDef def;
  NodeDef* x = def.add_node();
  x->set_name("x");
  x->set_op("Placeholder");
  (*x->mutable_attr())["dtype"].set_type(DT_FLOAT);
  NodeDef* inv = def.add_node();
  inv->set_name("inv");
  inv->set_op("Inv");
  inv->add_input("x");
  (*inv->mutable_attr())["T"].set_type(DT_FLOAT);
  NodeDef* grad = def.add_node();
  grad->set_name("grad");
  grad->set_op("InvGrad");
  grad->add_input("inv");
  grad->add_input("x");
  (*grad->mutable_attr())["T"].set_type(DT_FLOAT);
  Scope root = Scope::NewRootScope();
  ASSERT_TRUE(ImportGraphDef(def, root.graph()).ok());
  Node* inv_node = root.graph()->FindNode("inv");
  Node* grad_node = root.graph()->FindNode("grad");
  ASSERT_NE(grad_node, nullptr);
  absl::StatusOr<std::vector<Tensor>> out =
      RunGraph(root, {{Output(root.graph()->FindNode("x"), 0), FloatTensor({2}, {2.f, -4.f})}},
               {Output(inv_node, 0), Output(grad_node, 0)});
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectTensorNear((*out)[0], TensorShape({2}), {0.5f, -0.25f});
  // -dy * y^2 with y = 1/x, dy = x.
  ExpectTensorNear((*out)[1], TensorShape({2}), {-0.5f, 0.25f});
}

// ---------------------------------------------------------------------------------------------
// The gradient ops and gradients.

TEST(UnaryMathGradOps, MatchPlainLoops) {
  struct GradOp {
    std::string name;
    std::function<Output(const Scope&, Input, Input)> build;
    std::function<double(double, double)> ref;  // (y, dy)
  };
  std::vector<GradOp> grad_ops = {
      {"RsqrtGrad", ops::RsqrtGrad, [](double y, double dy) { return -0.5 * dy * y * y * y; }},
      {"ReciprocalGrad", ops::ReciprocalGrad, [](double y, double dy) { return -dy * y * y; }},
      {"SqrtGrad", ops::SqrtGrad, [](double y, double dy) { return 0.5 * dy / y; }},
  };
  for (const GradOp& op : grad_ops) {
    for (TensorShape shape : {TensorShape({1, 7}), TensorShape({257, 3}), TensorShape({}),
                              TensorShape({0})}) {
      Scope root = Scope::NewRootScope();
      Tensor y = RandomTensor(shape, 3, 0.2f, 3.f);
      Tensor dy = RandomTensor(shape, 4, -2.f, 2.f);
      absl::StatusOr<Tensor> out = RunOne(root, op.build(root, ops::Const(root, y),
                                                         ops::Const(root, dy)));
      ASSERT_TRUE(out.ok()) << out.status();
      std::vector<double> expected;
      for (int64_t i = 0; i < y.NumElements(); ++i) {
        expected.push_back(op.ref(y.flat<float>()[i], dy.flat<float>()[i]));
      }
      ExpectClose(*out, expected, op.name + " " + shape.DebugString(), 1e-6, 1e-5);
    }
  }
}

TEST(UnaryMathGrads, MatchNumeric) {
  std::vector<std::pair<Unary, std::pair<float, float>>> cases;
  for (const Unary& op : Unaries()) {
    if (op.name == "Round" || op.name == "Ceil") continue;  // No gradient (piecewise constant).
    cases.push_back({op, {op.lo, op.hi}});
  }
  for (const auto& [op, range] : cases) {
    for (bool static_shape : {true, false}) {
      Scope root = Scope::NewRootScope();
      Output x = FloatPlaceholder(root, PartialTensorShape({3, 4}), static_shape);
      // Inputs kept where each function is smooth and well-scaled: Abs and Sign away from 0.
      Tensor xv = RandomTensor({3, 4}, 17, 0.3f, 2.f);
      if (op.name == "Abs" || op.name == "Sign" || op.name == "Sin" || op.name == "Erf") {
        for (int i = 0; i < 12; i += 2) xv.flat<float>()[i] = -xv.flat<float>()[i];
      }
      ExpectGradientOk(root, {{x, xv}}, op.build(root, x), op.name);
    }
  }
}

TEST(UnaryMathGrads, GradientOpsHaveNumericallyCorrectGradients) {
  for (auto build : {ops::RsqrtGrad, ops::ReciprocalGrad, ops::SqrtGrad}) {
    Scope root = Scope::NewRootScope();
    auto y = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({2, 3}));
    auto dy = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({2, 3}));
    Output z = build(root, y, dy);
    ExpectGradientOk(root, {{y, RandomTensor({2, 3}, 1, 0.5f, 2.f)},
                            {dy, RandomTensor({2, 3}, 2, -1.f, 1.f)}},
                     z, z.node()->op());
  }
}

TEST(UnaryMathGrads, SignHasAZeroGradient) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({3}));
  std::vector<Output> grads;
  ASSERT_TRUE(AddSymbolicGradients(root, {ops::Sign(root, x)}, {x}, &grads).ok());
  absl::StatusOr<Tensor> g = RunOne(root, grads[0], {{x, FloatTensor({3}, {-1, 2, 3})}});
  ASSERT_TRUE(g.ok()) << g.status();
  ExpectTensorNear(*g, TensorShape({3}), {0, 0, 0});
}

// ---------------------------------------------------------------------------------------------
// Pow, Minimum, SquaredDifference.

struct BroadcastCase {
  TensorShape a, b, out;  // `out` worked out by hand.
};

std::vector<BroadcastCase> BroadcastCases() {
  return {{{3, 4}, {3, 4}, {3, 4}}, {{3, 4}, {4}, {3, 4}},   {{4}, {3, 4}, {3, 4}},
          {{3, 1}, {1, 4}, {3, 4}}, {{}, {2, 3}, {2, 3}},    {{2, 3}, {}, {2, 3}},
          {{1}, {1}, {1}},          {{257, 3}, {3}, {257, 3}}, {{2, 3, 4}, {3, 1}, {2, 3, 4}},
          {{0, 3}, {3}, {0, 3}}};
}

struct Binary {
  std::string name;
  std::function<Output(const Scope&, Input, Input)> build;
  std::function<double(double, double)> ref;
  float lo, hi;
};

std::vector<Binary> Binaries() {
  return {
      {"Pow", ops::Pow, [](double x, double y) { return std::pow(x, y); }, 0.1f, 3.f},
      {"Minimum", ops::Minimum, [](double x, double y) { return x < y ? x : y; }, -3.f, 3.f},
      {"SquaredDifference", ops::SquaredDifference,
       [](double x, double y) { return (x - y) * (x - y); }, -3.f, 3.f},
  };
}

TEST(BinaryMath, FloatMatchesPlainLoopWithBroadcastingEitherWay) {
  for (const Binary& op : Binaries()) {
    for (const BroadcastCase& c : BroadcastCases()) {
      Scope root = Scope::NewRootScope();
      Tensor av = RandomTensor(c.a, 1, op.lo, op.hi), bv = RandomTensor(c.b, 2, op.lo, op.hi);
      auto a = ops::Placeholder(root, DT_FLOAT);
      auto b = ops::Placeholder(root, DT_FLOAT);
      absl::StatusOr<Tensor> out = RunOne(root, op.build(root, a, b), {{a, av}, {b, bv}});
      ASSERT_TRUE(out.ok()) << op.name << out.status();
      EXPECT_EQ(out->shape(), c.out);
      std::vector<double> expected = BroadcastRef<float, double>(
          av, bv, c.out, [&](float x, float y) { return op.ref(x, y); });
      ExpectClose(*out, expected,
                  op.name + " " + c.a.DebugString() + " " + c.b.DebugString(), 1e-6, 1e-5);
    }
  }
}

TEST(BinaryMath, FloatEdgeValues) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Const(root, FloatTensor({6}, {0.f, -2.f, -8.f, 4.f, kNaN, 1.f}));
  auto y = ops::Const(root, FloatTensor({6}, {-1.f, 2.f, 1.f / 3.f, 0.5f, 1.f, kNaN}));
  auto big = ops::Const(root, FloatTensor({3}, {-kInf, kInf, -0.f}));
  absl::StatusOr<std::vector<Tensor>> out =
      RunGraph(root, {}, {ops::Pow(root, x, y), ops::Minimum(root, big, 0.f)});
  ASSERT_TRUE(out.ok()) << out.status();
  // 0^-1 = inf, (-2)^2 = 4, a negative base to a fractional power is NaN; NaN propagates
  // through Pow, except 1^NaN = 1 as in C.
  ExpectClose((*out)[0], {kInf, 4, std::nan(""), 2, std::nan(""), 1}, "Pow");
  ExpectClose((*out)[1], {-kInf, 0, 0}, "Minimum");
}

template <typename T>
void CheckIntegerBinaries() {
  for (const BroadcastCase& c : BroadcastCases()) {
    Scope root = Scope::NewRootScope();
    Tensor av(DataTypeOf<T>::value, c.a), bv(DataTypeOf<T>::value, c.b);
    for (int64_t i = 0; i < av.NumElements(); ++i) av.flat<T>()[i] = static_cast<T>(i % 7 - 3);
    for (int64_t i = 0; i < bv.NumElements(); ++i) bv.flat<T>()[i] = static_cast<T>(i % 4);
    auto a = ops::Const(root, av);
    auto b = ops::Const(root, bv);
    absl::StatusOr<std::vector<Tensor>> out = RunGraph(
        root, {}, {ops::Pow(root, a, b), ops::Minimum(root, a, b), ops::Maximum(root, a, b),
                   ops::SquaredDifference(root, a, b)});
    ASSERT_TRUE(out.ok()) << out.status();
    auto pow = [](T x, T y) {
      T r = 1;
      for (T k = 0; k < y; ++k) r *= x;
      return r;
    };
    EXPECT_EQ(ValuesOf<T>((*out)[0]), (BroadcastRef<T, T>(av, bv, c.out, pow)));
    EXPECT_EQ(ValuesOf<T>((*out)[1]),
              (BroadcastRef<T, T>(av, bv, c.out, [](T x, T y) { return std::min(x, y); })));
    EXPECT_EQ(ValuesOf<T>((*out)[2]),
              (BroadcastRef<T, T>(av, bv, c.out, [](T x, T y) { return std::max(x, y); })));
    EXPECT_EQ(ValuesOf<T>((*out)[3]),
              (BroadcastRef<T, T>(av, bv, c.out, [](T x, T y) { return (x - y) * (x - y); })));
  }
}

TEST(BinaryMath, Int32MatchesPlainLoops) { CheckIntegerBinaries<int32_t>(); }
TEST(BinaryMath, Int64MatchesPlainLoops) { CheckIntegerBinaries<int64_t>(); }

TEST(BinaryMath, IntegerExtremes) {
  Scope root = Scope::NewRootScope();
  const int64_t kMax = std::numeric_limits<int64_t>::max();
  const int64_t kMin = std::numeric_limits<int64_t>::min();
  auto a = ops::Const(root, Make<int64_t>({3}, {kMax, kMin, 3}));
  auto b = ops::Const(root, Make<int64_t>({3}, {kMin, kMax, 40}));
  absl::StatusOr<std::vector<Tensor>> out =
      RunGraph(root, {}, {ops::Minimum(root, a, b), ops::Pow(root, a, ops::Const(root, int64_t{0}))});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(ValuesOf<int64_t>((*out)[0]), (std::vector<int64_t>{kMin, kMin, 3}));
  EXPECT_EQ(ValuesOf<int64_t>((*out)[1]), (std::vector<int64_t>{1, 1, 1}));
}

TEST(BinaryMath, IntegerToANegativePowerIsAnError) {
  Scope root = Scope::NewRootScope();
  absl::StatusOr<Tensor> out = RunOne(
      root, ops::Pow(root, ops::Const(root, Make<int32_t>({2}, {2, 3})),
                     ops::Const(root, Make<int32_t>({2}, {1, -1}))));
  ASSERT_FALSE(out.ok());
  EXPECT_TRUE(absl::StrContains(out.status().message(), "negative integer powers"))
      << out.status();
}

TEST(BinaryMath, IncompatibleShapesAreAnError) {
  for (const Binary& op : Binaries()) {
    Scope root = Scope::NewRootScope();
    op.build(root, ops::Const(root, FloatTensor({2}, {1, 2})),
             ops::Const(root, FloatTensor({3}, {1, 2, 3})));
    EXPECT_FALSE(root.ok()) << op.name;

    Scope run = Scope::NewRootScope();
    auto a = ops::Placeholder(run, DT_FLOAT);
    auto b = ops::Placeholder(run, DT_FLOAT);
    absl::StatusOr<Tensor> r =
        RunOne(run, op.build(run, a, b),
               {{a, FloatTensor({2}, {1, 2})}, {b, FloatTensor({3}, {1, 2, 3})}}, Unoptimized());
    ASSERT_FALSE(r.ok()) << op.name;
    EXPECT_TRUE(absl::StrContains(r.status().message(), "incompatible shapes")) << r.status();
  }
}

TEST(BinaryMathGrads, MatchNumericWithBroadcasting) {
  struct GradCase {
    TensorShape a, b;
  };
  std::vector<GradCase> cases = {{{3, 4}, {3, 4}}, {{3, 4}, {4}}, {{4}, {3, 4}},
                                 {{3, 1}, {1, 4}}, {{}, {2, 3}}, {{1}, {1}}};
  for (const Binary& op : Binaries()) {
    for (const GradCase& c : cases) {
      for (bool static_shapes : {true, false}) {
        Scope root = Scope::NewRootScope();
        Output a = FloatPlaceholder(root, c.a, static_shapes);
        Output b = FloatPlaceholder(root, c.b, static_shapes);
        // Minimum's operands kept apart (ties have no derivative): b shifted by an odd grid.
        Tensor av = RandomTensor(c.a, 41, 0.5f, 2.f);
        Tensor bv = RandomTensor(c.b, 42, 0.5f, 2.f);
        if (op.name == "Minimum") {
          for (int64_t i = 0; i < bv.NumElements(); ++i) {
            bv.flat<float>()[i] = 0.55f + 0.3f * static_cast<float>(i % 5);
          }
          for (int64_t i = 0; i < av.NumElements(); ++i) {
            av.flat<float>()[i] = 0.7f + 0.3f * static_cast<float>(i % 4);
          }
        }
        ExpectGradientOk(root, {{a, av}, {b, bv}}, op.build(root, a, b),
                         op.name + " " + c.a.DebugString() + " " + c.b.DebugString());
      }
    }
  }
}

TEST(BinaryMathGrads, PowGradientForANonPositiveBaseIsFinite) {
  // dz/dy = z log(x) is taken as 0 where x <= 0, so the gradient stays finite.
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({2}));
  auto y = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({2}));
  std::vector<Output> grads;
  ASSERT_TRUE(AddSymbolicGradients(root, {ops::Pow(root, x, y)}, {x, y}, &grads).ok());
  absl::StatusOr<std::vector<Tensor>> out = RunGraph(
      root, {{x, FloatTensor({2}, {0.f, -2.f})}, {y, FloatTensor({2}, {2.f, 2.f})}}, grads);
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectTensorNear((*out)[0], TensorShape({2}), {0.f, -4.f});
  ExpectTensorNear((*out)[1], TensorShape({2}), {0.f, 0.f});
}

}  // namespace
}  // namespace test
}  // namespace dflow
