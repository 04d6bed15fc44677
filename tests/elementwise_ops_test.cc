// Element-wise unary ops (Log, Exp, Neg, Square, Sqrt, Floor), Cast and AddN: results against
// std math and hand-computed values, dtype errors, and the gradients against central differences.
#include "ops/math_ops.h"

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

constexpr double kGradTolerance = 5e-3;

// ---------------------------------------------------------------------------------------------
// Element-wise unary ops.

TEST(UnaryOps, MatchStdMathOnOddShapes) {
  struct Unary {
    std::string name;
    std::function<Output(const Scope&, Input)> build;
    std::function<double(double)> ref;
    float lo, hi;
  };
  std::vector<Unary> unaries = {
      {"Log", ops::Log, [](double x) { return std::log(x); }, 0.1f, 5.f},
      {"Exp", ops::Exp, [](double x) { return std::exp(x); }, -3.f, 3.f},
      {"Neg", ops::Neg, [](double x) { return -x; }, -3.f, 3.f},
      {"Square", ops::Square, [](double x) { return x * x; }, -3.f, 3.f},
      {"Sqrt", ops::Sqrt, [](double x) { return std::sqrt(x); }, 0.f, 9.f},
  };
  for (const Unary& op : unaries) {
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT);
    Output y = op.build(root, x);
    ASSERT_TRUE(root.ok()) << root.status();
    absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(root);
    ASSERT_TRUE(session.ok());
    for (TensorShape shape : {TensorShape({1, 7}), TensorShape({7, 1}), TensorShape({257, 3}),
                              TensorShape({}), TensorShape({1}), TensorShape({1, 7})}) {
      Tensor xv = RandomTensor(shape, 5, op.lo, op.hi);
      std::vector<Tensor> out;
      ASSERT_TRUE((*session)->Run({{x, xv}}, {y}, {}, &out).ok());
      std::vector<float> expected;
      for (float v : xv.flat<float>()) expected.push_back(static_cast<float>(op.ref(v)));
      SCOPED_TRACE(op.name + " " + shape.DebugString());
      ExpectTensorNear(out[0], shape, expected, 1e-5f);
    }
  }
}

TEST(UnaryOps, KeepTheInputShapeAtGraphBuild) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({-1, 3}));
  EXPECT_EQ(ops::Exp(root, x).shape(), PartialTensorShape({-1, 3}));
  EXPECT_EQ(ops::Sqrt(root, x).shape(), PartialTensorShape({-1, 3}));
}

TEST(UnaryOps, HandComputedValues) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Const(root, FloatTensor({4}, {1, 4, 9, 0.25f}));
  absl::StatusOr<Tensor> sqrt = RunOne(root, ops::Sqrt(root, x));
  ASSERT_TRUE(sqrt.ok());
  ExpectTensorNear(*sqrt, TensorShape({4}), {1, 2, 3, 0.5f});
  absl::StatusOr<Tensor> neg = RunOne(root, ops::Neg(root, x));
  ASSERT_TRUE(neg.ok());
  ExpectTensorNear(*neg, TensorShape({4}), {-1, -4, -9, -0.25f});
  absl::StatusOr<Tensor> log = RunOne(root, ops::Log(root, ops::Exp(root, x)));
  ASSERT_TRUE(log.ok());
  ExpectTensorNear(*log, TensorShape({4}), {1, 4, 9, 0.25f});
}

TEST(NegAndSquare, IntegerInputsMatchHandComputedValues) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Const(root, Make<int32_t>({3}, {-3, 0, 5}));
  auto x64 = ops::Const(root, Make<int64_t>({2}, {4, -7}));
  absl::StatusOr<Tensor> neg = RunOne(root, ops::Neg(root, x));
  ASSERT_TRUE(neg.ok()) << neg.status();
  EXPECT_EQ(ValuesOf<int32_t>(*neg), (std::vector<int32_t>{3, 0, -5}));
  absl::StatusOr<Tensor> sq = RunOne(root, ops::Square(root, x64));
  ASSERT_TRUE(sq.ok()) << sq.status();
  EXPECT_EQ(ValuesOf<int64_t>(*sq), (std::vector<int64_t>{16, 49}));
}

TEST(Log, IntegerInputIsRejectedAtGraphBuild) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_INT32);
  EXPECT_EQ(ops::Log(root, x).node(), nullptr);
  EXPECT_FALSE(root.ok());
}

// ---------------------------------------------------------------------------------------------
// AddN.

TEST(AddN, SumsItsInputsElementwise) {
  Scope root = Scope::NewRootScope();
  auto a = ops::Placeholder(root, DT_FLOAT);
  auto b = ops::Placeholder(root, DT_FLOAT);
  auto c = ops::Placeholder(root, DT_FLOAT);
  auto y = ops::AddN(root, {a, b, c});
  Tensor av = RandomTensor({257, 3}, 1), bv = RandomTensor({257, 3}, 2),
         cv = RandomTensor({257, 3}, 3);
  absl::StatusOr<Tensor> out = RunOne(root, y, {{a, av}, {b, bv}, {c, cv}});
  ASSERT_TRUE(out.ok()) << out.status();
  std::vector<float> expected;
  for (int64_t i = 0; i < av.NumElements(); ++i) {
    expected.push_back(av.flat<float>()[i] + bv.flat<float>()[i] + cv.flat<float>()[i]);
  }
  ExpectTensorNear(*out, TensorShape({257, 3}), expected);
}

TEST(AddN, OneInputAndIntegerInputs) {
  Scope root = Scope::NewRootScope();
  auto a = ops::Const(root, FloatTensor({2}, {1.5f, -2}));
  absl::StatusOr<Tensor> one = RunOne(root, ops::AddN(root, {a}));
  ASSERT_TRUE(one.ok()) << one.status();
  ExpectTensorNear(*one, TensorShape({2}), {1.5f, -2});
  auto i = ops::Const(root, Make<int32_t>({3}, {1, 2, 3}));
  absl::StatusOr<Tensor> ints = RunOne(root, ops::AddN(root, {i, i, i}));
  ASSERT_TRUE(ints.ok()) << ints.status();
  EXPECT_EQ(ValuesOf<int32_t>(*ints), (std::vector<int32_t>{3, 6, 9}));
}

TEST(AddN, ShapeMismatchAtGraphBuildNamesBothShapes) {
  Scope root = Scope::NewRootScope();
  auto a = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({2, 3}));
  auto b = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({3, 2}));
  ops::AddN(root.WithOpName("bad_addn"), {a, b});
  ASSERT_FALSE(root.ok());
  const std::string msg(root.status().message());
  EXPECT_TRUE(absl::StrContains(msg, "'bad_addn'")) << msg;
  EXPECT_TRUE(absl::StrContains(msg, "[2,3]")) << msg;
  EXPECT_TRUE(absl::StrContains(msg, "[3,2]")) << msg;
}

TEST(AddN, ShapeMismatchAtRunTimeIsAnError) {
  Scope root = Scope::NewRootScope();
  auto a = ops::Placeholder(root, DT_FLOAT);
  auto b = ops::Placeholder(root, DT_FLOAT);
  absl::StatusOr<Tensor> out = RunOne(root, ops::AddN(root, {a, b}),
                                      {{a, RandomTensor({2}, 1)}, {b, RandomTensor({3}, 2)}});
  EXPECT_FALSE(out.ok());
}

TEST(AddN, MixedDtypesAreAGraphBuildError) {
  Scope root = Scope::NewRootScope();
  auto a = ops::Placeholder(root, DT_FLOAT);
  auto b = ops::Placeholder(root, DT_INT32);
  EXPECT_EQ(ops::AddN(root, {a, b}).node(), nullptr);
  EXPECT_FALSE(root.ok());
}

// ---------------------------------------------------------------------------------------------
// Cast.

TEST(Cast, FloatToIntegerTruncatesTowardZeroAndSaturates) {
  Scope root = Scope::NewRootScope();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  auto x = ops::Const(root, FloatTensor({6}, {2.9f, -1.7f, 0.0f, 3e10f, -3e10f, nan}));
  absl::StatusOr<Tensor> i32 = RunOne(root, ops::Cast(root, x, DT_INT32));
  ASSERT_TRUE(i32.ok()) << i32.status();
  EXPECT_EQ(ValuesOf<int32_t>(*i32),
            (std::vector<int32_t>{2, -1, 0, std::numeric_limits<int32_t>::max(),
                                  std::numeric_limits<int32_t>::min(), 0}));
  absl::StatusOr<Tensor> u8 = RunOne(root, ops::Cast(root, x, DT_UINT8));
  ASSERT_TRUE(u8.ok()) << u8.status();
  EXPECT_EQ(ValuesOf<uint8_t>(*u8), (std::vector<uint8_t>{2, 0, 0, 255, 0, 0}));
  absl::StatusOr<Tensor> b = RunOne(root, ops::Cast(root, x, DT_BOOL));
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(ValuesOf<bool>(*b), (std::vector<bool>{true, true, false, true, true, true}));
}

TEST(Cast, IntegersAndBoolsConvert) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Const(root, Make<int64_t>({3}, {300, -2, 7}));
  absl::StatusOr<Tensor> f = RunOne(root, ops::Cast(root, x, DT_FLOAT));
  ASSERT_TRUE(f.ok()) << f.status();
  ExpectTensorNear(*f, TensorShape({3}), {300, -2, 7});
  absl::StatusOr<Tensor> i32 = RunOne(root, ops::Cast(root, x, DT_INT32));
  ASSERT_TRUE(i32.ok()) << i32.status();
  EXPECT_EQ(ValuesOf<int32_t>(*i32), (std::vector<int32_t>{300, -2, 7}));
  absl::StatusOr<Tensor> u8 = RunOne(root, ops::Cast(root, x, DT_UINT8));
  ASSERT_TRUE(u8.ok()) << u8.status();
  EXPECT_EQ(ValuesOf<uint8_t>(*u8), (std::vector<uint8_t>{44, 254, 7}));  // Modulo 256.
  auto flags = ops::Const(root, Make<bool>({2}, {true, false}));
  absl::StatusOr<Tensor> fb = RunOne(root, ops::Cast(root, flags, DT_FLOAT));
  ASSERT_TRUE(fb.ok()) << fb.status();
  ExpectTensorNear(*fb, TensorShape({2}), {1, 0});
  auto d = ops::Cast(root, ops::Cast(root, Input(0.25f), DT_DOUBLE), DT_FLOAT);
  absl::StatusOr<Tensor> round_trip = RunOne(root, d);
  ASSERT_TRUE(round_trip.ok()) << round_trip.status();
  ExpectTensorNear(*round_trip, TensorShape({}), {0.25f});
}

TEST(Cast, FeedOfTheWrongDtypeIsAnError) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_INT32);
  auto y = ops::Cast(root, x, DT_FLOAT);
  EXPECT_EQ(y.type(), DT_FLOAT);
  EXPECT_FALSE(RunOne(root, y, {{x, Tensor::Scalar<float>(1.f)}}).ok());
}

// ---------------------------------------------------------------------------------------------
// Gradients, against central differences.

TEST(UnaryGrads, MatchNumeric) {
  struct Unary {
    std::string name;
    std::function<Output(const Scope&, Input)> build;
    float lo, hi;
  };
  std::vector<Unary> unaries = {
      {"Log", ops::Log, 0.5f, 2.f},     {"Exp", ops::Exp, -1.f, 1.f},
      {"Neg", ops::Neg, -1.f, 1.f},     {"Square", ops::Square, -1.f, 1.f},
      {"Sqrt", ops::Sqrt, 0.5f, 2.f},
  };
  for (const Unary& op : unaries) {
    for (TensorShape shape : {TensorShape({1, 5}), TensorShape({7, 3}), TensorShape({})}) {
      Scope root = Scope::NewRootScope();
      auto x = ops::Placeholder(root, DT_FLOAT);
      Output y = op.build(root, x);
      ExpectGradientOk(root, {{x, RandomTensor(shape, 6, op.lo, op.hi)}}, y,
                       op.name + " " + shape.DebugString());
    }
  }
}

TEST(AddNGrad, EveryInputGetsTheGradient) {
  Scope root = Scope::NewRootScope();
  auto a = ops::Placeholder(root, DT_FLOAT);
  auto b = ops::Placeholder(root, DT_FLOAT);
  auto y = ops::AddN(root, {a, b, a});
  ExpectGradientOk(root, {{a, RandomTensor({7, 2}, 1)}, {b, RandomTensor({7, 2}, 2)}}, y,
                   "AddN");
}

TEST(CastGrad, FlowsBetweenFloatTypesOnly) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto y = ops::Cast(root, ops::Cast(root, ops::Square(root, x), DT_DOUBLE), DT_FLOAT);
  ExpectGradientOk(root, {{x, RandomTensor({7}, 3)}}, y, "Cast float->double->float");

  Scope root2 = Scope::NewRootScope();
  auto x2 = ops::Placeholder(root2, DT_FLOAT);
  auto through_int = ops::Cast(root2, ops::Cast(root2, x2, DT_INT32), DT_FLOAT);
  std::vector<Output> grads;
  EXPECT_FALSE(AddSymbolicGradients(root2, {through_int}, {x2}, &grads).ok());
}

// ---------------------------------------------------------------------------------------------
// Floor.

TEST(Floor, HandComputedValuesIncludingNegativesAndSpecials) {
  Scope root = Scope::NewRootScope();
  const float inf = std::numeric_limits<float>::infinity();
  auto x = ops::Const(root, FloatTensor({10}, {-2.5f, -2.f, -0.5f, -0.f, 0.3f, 1.f, 1.999f,
                                               8388607.5f, inf, -inf}));
  absl::StatusOr<Tensor> y = RunOne(root, ops::Floor(root, x));
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(ValuesOf<float>(*y), (std::vector<float>{-3.f, -2.f, -1.f, -0.f, 0.f, 1.f, 1.f,
                                                     8388607.f, inf, -inf}));
  EXPECT_TRUE(std::signbit(y->flat<float>()[3]));  // floor(-0) is -0.
  absl::StatusOr<Tensor> nan =
      RunOne(root, ops::Floor(root, ops::Const(root, std::numeric_limits<float>::quiet_NaN())));
  ASSERT_TRUE(nan.ok()) << nan.status();
  EXPECT_TRUE(std::isnan(nan->scalar<float>()));
}

TEST(Floor, MatchesStdFloorOnOddShapesInFloatAndDouble) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({-1, 3}));
  auto y = ops::Floor(root, x);
  auto xd = ops::Placeholder(root, DT_DOUBLE);
  auto yd = ops::Floor(root, xd);
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(y.shape(), PartialTensorShape({-1, 3}));
  EXPECT_EQ(yd.type(), DT_DOUBLE);
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(root);
  ASSERT_TRUE(session.ok());
  for (int64_t batch : {0, 1, 7, 257}) {
    Tensor xv = RandomTensor({batch, 3}, 8 + batch, -5.f, 5.f);
    Tensor xdv(DT_DOUBLE, xv.shape());
    std::vector<float> expected;
    for (int64_t i = 0; i < xv.NumElements(); ++i) {
      expected.push_back(std::floor(xv.flat<float>()[i]));
      xdv.flat<double>()[i] = xv.flat<float>()[i] * 1.5;
    }
    std::vector<Tensor> out;
    ASSERT_TRUE((*session)->Run({{x, xv}, {xd, xdv}}, {y, yd}, {}, &out).ok());
    ExpectTensorNear(out[0], TensorShape({batch, 3}), expected, 0.f);
    ASSERT_EQ(out[1].shape(), xdv.shape());
    for (int64_t i = 0; i < xdv.NumElements(); ++i) {
      EXPECT_EQ(out[1].flat<double>()[i], std::floor(xdv.flat<double>()[i]));
    }
  }
}

TEST(Floor, IntegerInputIsRejectedAtGraphBuild) {
  Scope root = Scope::NewRootScope();
  EXPECT_EQ(ops::Floor(root, ops::Placeholder(root, DT_INT32)).node(), nullptr);
  EXPECT_FALSE(root.ok());
}

TEST(Floor, NoGradientFlowsThroughFloor) {
  // y = 3x + floor(x): only the linear path carries a gradient, matching central differences
  // taken away from the jumps (x in [0.1, 0.9) + k).
  for (int batch : {1, 7}) {
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT);
    auto y = ops::Add(root, ops::Mul(root, x, 3.f), ops::Floor(root, x));
    Tensor xv = RandomTensor({batch, 3}, 31, 0.1f, 0.9f);
    for (int64_t i = 0; i < xv.NumElements(); ++i) xv.flat<float>()[i] += (i % 3) - 1;
    absl::StatusOr<double> err = MaxGradientError(root, {{x, xv}}, y);
    ASSERT_TRUE(err.ok()) << err.status();
    EXPECT_LT(*err, kGradTolerance) << "batch " << batch;
  }
  // Through Floor alone x is not connected to y.
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  std::vector<Output> grads;
  EXPECT_FALSE(AddSymbolicGradients(root, {ops::Floor(root, x)}, {x}, &grads).ok());
}

}  // namespace
}  // namespace test
}  // namespace dflow
