// Element-wise binary ops (Add, Sub, Mul, RealDiv, Div, Maximum, FloorDiv, FloorMod, Equal and
// the comparisons): results against a plain loop with numpy broadcasting either way and
// hand-computed values, shape and dtype errors, and the gradients against central differences.
#include "ops/math_ops.h"

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "ops/standard_ops.h"
#include "runtime/session.h"
#include "tests/gradient_checker.h"
#include "tests/reference.h"
#include "tests/test_util.h"

namespace dflow {
namespace test {
namespace {

constexpr double kGradTolerance = 5e-3;

// ---------------------------------------------------------------------------------------------
// Element-wise binary ops.

struct BroadcastCase {
  TensorShape a, b, out;  // `out` worked out by hand.
};

std::vector<BroadcastCase> BroadcastCases() {
  return {
      {{3, 4}, {3, 4}, {3, 4}},       {{3, 4}, {4}, {3, 4}},       {{4}, {3, 4}, {3, 4}},
      {{3, 1}, {1, 4}, {3, 4}},       {{1, 5}, {5, 1}, {5, 5}},    {{}, {2, 3}, {2, 3}},
      {{2, 3}, {}, {2, 3}},           {{257, 10}, {10}, {257, 10}}, {{1, 10}, {10}, {1, 10}},
      {{2, 3, 4}, {3, 1}, {2, 3, 4}}, {{3, 1}, {2, 3, 4}, {2, 3, 4}}, {{1}, {1}, {1}},
      {{}, {}, {}},                   {{7, 1}, {7, 3}, {7, 3}},    {{1, 3}, {7, 3}, {7, 3}},
  };
}

struct FloatBinary {
  std::string name;
  std::function<Output(const Scope&, Input, Input)> build;
  std::function<float(float, float)> ref;
};

std::vector<FloatBinary> FloatBinaries() {
  return {
      {"Add", ops::Add, [](float x, float y) { return x + y; }},
      {"AddV2", ops::AddV2, [](float x, float y) { return x + y; }},
      {"Sub", ops::Sub, [](float x, float y) { return x - y; }},
      {"Mul", ops::Mul, [](float x, float y) { return x * y; }},
      {"RealDiv", ops::RealDiv, [](float x, float y) { return x / y; }},
      {"Maximum", ops::Maximum, [](float x, float y) { return x > y ? x : y; }},
  };
}

TEST(BinaryOps, FloatMatchesPlainLoopWithBroadcastingEitherWay) {
  for (const FloatBinary& op : FloatBinaries()) {
    for (const BroadcastCase& c : BroadcastCases()) {
      const std::string what = op.name + " " + c.a.DebugString() + " " + c.b.DebugString();
      Scope root = Scope::NewRootScope();
      // Denominators kept away from zero.
      Tensor a = RandomTensor(c.a, 11, 0.5f, 2.0f);
      Tensor b = RandomTensor(c.b, 12, 0.5f, 2.0f);
      auto pa = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape(c.a));
      auto pb = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape(c.b));
      Output y = op.build(root, pa, pb);
      ASSERT_TRUE(root.ok()) << what << ": " << root.status();
      EXPECT_EQ(y.shape(), PartialTensorShape(c.out)) << what;
      absl::StatusOr<Tensor> out = RunOne(root, y, {{pa, a}, {pb, b}});
      ASSERT_TRUE(out.ok()) << what << ": " << out.status();
      SCOPED_TRACE(what);
      ExpectTensorNear(*out, c.out, BroadcastRef<float, float>(a, b, c.out, op.ref));
    }
  }
}

TEST(BinaryOps, UnknownShapesBroadcastAtRunTime) {
  for (const FloatBinary& op : FloatBinaries()) {
    Scope root = Scope::NewRootScope();
    auto pa = ops::Placeholder(root, DT_FLOAT);
    auto pb = ops::Placeholder(root, DT_FLOAT);
    Output y = op.build(root, pa, pb);
    ASSERT_TRUE(root.ok()) << root.status();
    absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(root);
    ASSERT_TRUE(session.ok());
    for (const BroadcastCase& c : BroadcastCases()) {
      Tensor a = RandomTensor(c.a, 21, 0.5f, 2.0f);
      Tensor b = RandomTensor(c.b, 22, 0.5f, 2.0f);
      std::vector<Tensor> out;
      ASSERT_TRUE((*session)->Run({{pa, a}, {pb, b}}, {y}, {}, &out).ok());
      SCOPED_TRACE(op.name + " " + c.a.DebugString() + " " + c.b.DebugString());
      ExpectTensorNear(out[0], c.out, BroadcastRef<float, float>(a, b, c.out, op.ref));
    }
  }
}

TEST(Sub, HandComputedBroadcastOfTheFirstOperand) {
  Scope root = Scope::NewRootScope();
  // [1, 2] - [[10, 20], [30, 40]] = [[-9, -18], [-29, -38]].
  auto y = ops::Sub(root, Input({1.f, 2.f}),
                    ops::Const(root, FloatTensor({2, 2}, {10, 20, 30, 40})));
  absl::StatusOr<Tensor> out = RunOne(root, y);
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectTensorNear(*out, TensorShape({2, 2}), {-9, -18, -29, -38});
}

TEST(RealDiv, HandComputedColumnBroadcast) {
  Scope root = Scope::NewRootScope();
  // [[2], [4]] / [1, 2, 4] = [[2, 1, 0.5], [4, 2, 1]].
  auto y = ops::RealDiv(root, ops::Const(root, FloatTensor({2, 1}, {2, 4})),
                        Input({1.f, 2.f, 4.f}));
  absl::StatusOr<Tensor> out = RunOne(root, y);
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectTensorNear(*out, TensorShape({2, 3}), {2, 1, 0.5f, 4, 2, 1});
}

template <typename T>
void CheckIntegerBinaries() {
  const DataType dtype = DataTypeOf<T>::value;
  struct IntBinary {
    std::string name;
    std::function<Output(const Scope&, Input, Input)> build;
    std::function<T(T, T)> ref;
  };
  std::vector<IntBinary> binaries = {
      {"Add", ops::Add, [](T x, T y) { return x + y; }},
      {"AddV2", ops::AddV2, [](T x, T y) { return x + y; }},
      {"Sub", ops::Sub, [](T x, T y) { return x - y; }},
      {"Mul", ops::Mul, [](T x, T y) { return x * y; }},
      {"Maximum", ops::Maximum, [](T x, T y) { return x > y ? x : y; }},
  };
  for (const IntBinary& op : binaries) {
    for (const BroadcastCase& c : BroadcastCases()) {
      auto fill = [](const TensorShape& s, int seed) {
        std::vector<T> v(s.num_elements());
        for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<T>((i * 7 + seed) % 19) - 9;
        return Make<T>(s, v);
      };
      Tensor a = fill(c.a, 3), b = fill(c.b, 5);
      Scope root = Scope::NewRootScope();
      auto pa = ops::Placeholder(root, dtype);
      auto pb = ops::Placeholder(root, dtype);
      Output y = op.build(root, pa, pb);
      absl::StatusOr<Tensor> out = RunOne(root, y, {{pa, a}, {pb, b}});
      const std::string what = op.name + " " + c.a.DebugString() + " " + c.b.DebugString();
      ASSERT_TRUE(out.ok()) << what << ": " << out.status();
      ASSERT_EQ(out->dtype(), dtype);
      ASSERT_EQ(out->shape(), c.out) << what;
      EXPECT_EQ(ValuesOf<T>(*out), (BroadcastRef<T, T>(a, b, c.out, op.ref))) << what;
    }
  }
}

TEST(BinaryOps, Int32MatchesPlainLoopWithBroadcasting) { CheckIntegerBinaries<int32_t>(); }
TEST(BinaryOps, Int64MatchesPlainLoopWithBroadcasting) { CheckIntegerBinaries<int64_t>(); }

TEST(Add, IncompatibleShapesAtGraphBuildNameNodeAndBothShapes) {
  Scope root = Scope::NewRootScope();
  auto a = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({2, 3}));
  auto b = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({4}));
  ops::Add(root.WithOpName("bad_add"), a, b);
  ASSERT_FALSE(root.ok());
  const std::string msg(root.status().message());
  EXPECT_TRUE(absl::StrContains(msg, "'bad_add'")) << msg;
  EXPECT_TRUE(absl::StrContains(msg, "[2,3]")) << msg;
  EXPECT_TRUE(absl::StrContains(msg, "[4]")) << msg;
}

TEST(Add, IncompatibleShapesFedAtRunTimeAreAnError) {
  Scope root = Scope::NewRootScope();
  auto a = ops::Placeholder(root, DT_FLOAT);
  auto b = ops::Placeholder(root, DT_FLOAT);
  auto y = ops::Add(root, a, b);
  absl::StatusOr<Tensor> out =
      RunOne(root, y, {{a, RandomTensor({2, 3}, 1)}, {b, RandomTensor({2, 4}, 2)}});
  ASSERT_FALSE(out.ok());
  EXPECT_TRUE(absl::StrContains(out.status().message(), "[2,3]")) << out.status();
  EXPECT_TRUE(absl::StrContains(out.status().message(), "[2,4]")) << out.status();
}

TEST(Add, MixedDtypesAreAGraphBuildError) {
  Scope root = Scope::NewRootScope();
  auto a = ops::Placeholder(root, DT_FLOAT);
  auto b = ops::Placeholder(root, DT_INT32);
  EXPECT_EQ(ops::Add(root, a, b).node(), nullptr);
  EXPECT_FALSE(root.ok());
}

TEST(RealDiv, IntegerInputsAreRejectedAtGraphBuild) {
  Scope root = Scope::NewRootScope();
  auto a = ops::Placeholder(root, DT_INT32);
  EXPECT_EQ(ops::RealDiv(root, a, a).node(), nullptr);
  EXPECT_FALSE(root.ok());
}

TEST(Add, WrongDtypeFedAtRunTimeIsAnError) {
  Scope root = Scope::NewRootScope();
  auto a = ops::Placeholder(root, DT_FLOAT);
  auto y = ops::Add(root, a, a);
  absl::StatusOr<Tensor> out = RunOne(root, y, {{a, Tensor::Scalar<int32_t>(1)}});
  EXPECT_FALSE(out.ok());
}

// ---------------------------------------------------------------------------------------------
// Equal.

TEST(Equal, ComparesWithBroadcasting) {
  Scope root = Scope::NewRootScope();
  auto a = ops::Const(root, FloatTensor({2, 3}, {1, 2, 3, 3, 2, 1}));
  auto b = ops::Const(root, FloatTensor({3}, {1, 2, 1}));
  auto y = ops::Equal(root, a, b);
  EXPECT_EQ(y.type(), DT_BOOL);
  absl::StatusOr<Tensor> out = RunOne(root, y);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->shape(), TensorShape({2, 3}));
  EXPECT_EQ(ValuesOf<bool>(*out), (std::vector<bool>{true, true, false, false, true, true}));

  auto ia = ops::Const(root, Make<int64_t>({3, 1}, {4, 5, 6}));
  auto ib = ops::Const(root, Make<int64_t>({2}, {5, 6}));
  absl::StatusOr<Tensor> iout = RunOne(root, ops::Equal(root, ia, ib));
  ASSERT_TRUE(iout.ok()) << iout.status();
  ASSERT_EQ(iout->shape(), TensorShape({3, 2}));
  EXPECT_EQ(ValuesOf<bool>(*iout), (std::vector<bool>{false, false, true, false, false, true}));
}

TEST(Equal, ArgMaxOfPredictionsAgainstLabelsCountsMatches) {
  Scope root = Scope::NewRootScope();
  auto logits = ops::Const(root, FloatTensor({3, 2}, {0.1f, 0.9f, 0.8f, 0.2f, 0.3f, 0.7f}));
  auto labels = ops::Const(root, FloatTensor({3, 2}, {0, 1, 0, 1, 0, 1}));
  auto correct = ops::Equal(root, ops::ArgMax(root, logits, 1), ops::ArgMax(root, labels, 1));
  auto accuracy = ops::Mean(root, ops::Cast(root, correct, DT_FLOAT), 0);
  absl::StatusOr<Tensor> out = RunOne(root, accuracy);
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectTensorNear(*out, TensorShape({}), {2.0f / 3.0f});
}

TEST(Equal, IncompatibleShapesAreAnErrorUnlessDisabled) {
  {
    Scope root = Scope::NewRootScope();
    auto a = ops::Placeholder(root, DT_INT32, ops::Placeholder::Shape({2}));
    auto b = ops::Placeholder(root, DT_INT32, ops::Placeholder::Shape({3}));
    ops::Equal(root, a, b);
    ASSERT_FALSE(root.ok());
    EXPECT_TRUE(absl::StrContains(root.status().message(), "[2]")) << root.status();
    EXPECT_TRUE(absl::StrContains(root.status().message(), "[3]")) << root.status();
  }
  {
    Scope root = Scope::NewRootScope();
    auto a = ops::Placeholder(root, DT_INT32);
    auto b = ops::Placeholder(root, DT_INT32);
    auto strict = ops::Equal(root, a, b);
    auto lax = ops::Equal(root, a, b, ops::Equal::IncompatibleShapeError(false));
    std::vector<std::pair<Output, Tensor>> feeds = {{a, Make<int32_t>({2}, {1, 2})},
                                                    {b, Make<int32_t>({3}, {1, 2, 3})}};
    EXPECT_FALSE(RunOne(root, strict, feeds).ok());
    absl::StatusOr<Tensor> out = RunOne(root, lax, feeds);
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ(out->shape(), TensorShape({}));
    EXPECT_FALSE(out->scalar<bool>());
  }
  {
    Scope root = Scope::NewRootScope();
    auto a = ops::Placeholder(root, DT_INT32, ops::Placeholder::Shape({2, 1}));
    auto b = ops::Placeholder(root, DT_INT32, ops::Placeholder::Shape({3}));
    auto c = ops::Placeholder(root, DT_INT32, ops::Placeholder::Shape({2}));
    const ops::Equal::Attrs lax = ops::Equal::IncompatibleShapeError(false);
    EXPECT_EQ(ops::Equal(root, a, b, lax).shape(), PartialTensorShape({2, 3}));
    EXPECT_EQ(ops::Equal(root, b, c, lax).shape(), PartialTensorShape(TensorShape()));
    ASSERT_TRUE(root.ok()) << root.status();
  }
}

// ---------------------------------------------------------------------------------------------
// Gradients, against central differences.

// Values 0.5 + 0.1 * k + offset for k in 0..10, in a scrambled order.
Tensor GridTensor(const TensorShape& shape, int seed, float offset) {
  Tensor t(DT_FLOAT, shape);
  for (int64_t i = 0; i < t.NumElements(); ++i) {
    t.flat<float>()[i] = 0.5f + 0.1f * static_cast<float>((i * 7 + seed) % 11) + offset;
  }
  return t;
}

struct GradCase {
  TensorShape a, b;
};

std::vector<GradCase> GradCases() {
  return {{{7, 3}, {7, 3}}, {{7, 3}, {3}},    {{3}, {7, 3}},       {{7, 1}, {1, 3}},
          {{1, 3}, {7, 3}}, {{}, {7, 3}},     {{1, 3}, {}},        {{1, 4}, {4}},
          {{2, 3, 4}, {3, 1}}, {{1}, {1}}};
}

TEST(BinaryGrads, MatchNumericWithBroadcastingKnownAndUnknownShapes) {
  for (const FloatBinary& op : FloatBinaries()) {
    for (const GradCase& c : GradCases()) {
      for (bool static_shapes : {true, false}) {
        Scope root = Scope::NewRootScope();
        Output a = FloatPlaceholder(root, c.a, static_shapes);
        Output b = FloatPlaceholder(root, c.b, static_shapes);
        Output y = op.build(root, a, b);
        // Operands in [0.5, 1.5] keep RealDiv smooth. Maximum's operands must stay further
        // apart than the finite-difference step (ties have no derivative): a grid for x and
        // the same grid shifted by 0.05 for y.
        const bool grid = op.name == "Maximum";
        Tensor av = grid ? GridTensor(c.a, 3, 0.0f) : RandomTensor(c.a, 31, 0.5f, 1.5f);
        Tensor bv = grid ? GridTensor(c.b, 5, 0.05f) : RandomTensor(c.b, 32, 0.5f, 1.5f);
        ExpectGradientOk(root, {{a, av}, {b, bv}}, y,
                         op.name + " " + c.a.DebugString() + " " + c.b.DebugString() +
                             (static_shapes ? " static" : " dynamic"));
      }
    }
  }
}

TEST(BinaryGrads, SameInputOnBothSidesSumsBothContributions) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({7, 2}));
  auto y = ops::Mul(root, x, ops::Sub(root, x, ops::RealDiv(root, 1.0f, x)));
  ExpectGradientOk(root, {{x, RandomTensor({7, 2}, 4, 0.5f, 1.5f)}}, y, "x * (x - 1/x)");
}

TEST(Div, DividesFloatsExactlyAndTruncatesIntegersTowardZero) {
  Scope root = Scope::NewRootScope();
  Output f = ops::Div(root, Input({7.f, -7.f}), Input({2.f, 2.f}));
  Output i = ops::Div(root, Input({7, -7, 7, -7}), Input({2, 2, -2, -2}));
  ASSERT_TRUE(root.ok()) << root.status();
  absl::StatusOr<std::vector<Tensor>> out = test::RunGraph(root, {}, {f, i});
  ASSERT_TRUE(out.ok()) << out.status();
  test::ExpectTensorNear((*out)[0], {2}, {3.5f, -3.5f});
  auto q = (*out)[1].flat<int32_t>();
  EXPECT_EQ(std::vector<int32_t>(q.begin(), q.end()), (std::vector<int32_t>{3, -3, -3, 3}));
}

TEST(Div, RejectsIntegerDivisionByZero) {
  Scope root = Scope::NewRootScope();
  Output i(AddOp(root.WithOpName("d"), "Div", {Input({1, 2}), Input({1, 0})}));
  absl::StatusOr<Tensor> out = test::RunOne(root, i);
  EXPECT_FALSE(out.ok());
  EXPECT_NE(std::string(out.status().message()).find("division by zero"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// FloorDiv, FloorMod and the comparisons.

TEST(FloorDiv, IntegersRoundTowardMinusInfinityWithBroadcasting) {
  Scope root = Scope::NewRootScope();
  // x [4,1] against y [3]: every sign combination, worked by hand.
  auto x = ops::Const(root, Make<int32_t>({4, 1}, {7, -7, 6, -6}));
  auto y = ops::Const(root, Make<int32_t>({3}, {2, -2, 3}));
  auto q = ops::FloorDiv(root, x, y);
  auto r = ops::FloorMod(root, x, y);
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(q.shape().DebugString(), "[4,3]");
  absl::StatusOr<std::vector<Tensor>> out = test::RunGraph(root, {}, {q, r});
  ASSERT_TRUE(out.ok()) << out.status();
  auto qv = (*out)[0].flat<int32_t>();
  auto rv = (*out)[1].flat<int32_t>();
  EXPECT_EQ(std::vector<int32_t>(qv.begin(), qv.end()),
            (std::vector<int32_t>{3, -4, 2, -4, 3, -3, 3, -3, 2, -3, 3, -2}));
  EXPECT_EQ(std::vector<int32_t>(rv.begin(), rv.end()),
            (std::vector<int32_t>{1, -1, 1, 1, -1, 2, 0, 0, 0, 0, 0, 0}));
}

TEST(FloorDiv, Int64ExtremesAndFloats) {
  Scope root = Scope::NewRootScope();
  const int64_t lo = std::numeric_limits<int64_t>::min();
  auto x = ops::Const(root, Make<int64_t>({3}, {lo, lo, -1}));
  auto y = ops::Const(root, Make<int64_t>({3}, {-1, 2, lo}));
  auto q = ops::FloorDiv(root, x, y);
  auto r = ops::FloorMod(root, x, y);
  auto fq = ops::FloorDiv(root, ops::Const(root, {7.f, -7.f, 7.5f, -0.5f}), 2.f);
  auto fr = ops::FloorMod(root, ops::Const(root, {7.f, -7.f, 7.5f, -0.5f}),
                          ops::Const(root, {2.f, 2.f, -2.f, 2.f}));
  ASSERT_TRUE(root.ok()) << root.status();
  absl::StatusOr<std::vector<Tensor>> out = test::RunGraph(root, {}, {q, r, fq, fr});
  ASSERT_TRUE(out.ok()) << out.status();
  auto qv = (*out)[0].flat<int64_t>();
  auto rv = (*out)[1].flat<int64_t>();
  // lo / -1 overflows and wraps to lo, as negation does; -1 floor-divided by lo is 0 rem -1.
  EXPECT_EQ(std::vector<int64_t>(qv.begin(), qv.end()), (std::vector<int64_t>{lo, lo / 2, 0}));
  EXPECT_EQ(std::vector<int64_t>(rv.begin(), rv.end()), (std::vector<int64_t>{0, 0, -1}));
  ExpectTensorNear((*out)[2], {4}, {3, -4, 3, -1});
  ExpectTensorNear((*out)[3], {4}, {1, 1, -0.5f, 1.5f});
}

TEST(FloorDiv, IntegerDivisionByZeroIsAnError) {
  for (const char* op : {"FloorDiv", "FloorMod"}) {
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_INT32);
    auto y = ops::Placeholder(root, DT_INT32);
    Output q(AddOp(root.WithOpName("q"), op, {x, y}));
    absl::StatusOr<Tensor> out =
        RunOne(root, q, {{x, Make<int32_t>({2}, {1, 2})}, {y, Make<int32_t>({2}, {1, 0})}});
    ASSERT_FALSE(out.ok()) << op;
    EXPECT_TRUE(absl::StrContains(out.status().message(), "division by zero")) << out.status();
    EXPECT_TRUE(absl::StrContains(out.status().message(), "'q'")) << out.status();
  }
}

TEST(FloorDiv, ShapesAndTypesAreCheckedAtGraphBuild) {
  Scope root = Scope::NewRootScope();
  ops::FloorDiv(root.WithOpName("f"), ops::Const(root, {1, 2, 3}), ops::Const(root, {1, 2}));
  ASSERT_FALSE(root.ok());
  EXPECT_TRUE(absl::StrContains(root.status().message(), "FloorDiv node 'f'")) << root.status();
  Scope root2 = Scope::NewRootScope();
  ops::FloorDiv(root2, ops::Const(root2, {1, 2}), ops::Const(root2, {1.f, 2.f}));
  EXPECT_FALSE(root2.ok());
}

TEST(FloorMod, GradientMatchesNumericAwayFromTheJumps) {
  for (int batch : {1, 7}) {
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT);
    auto y = ops::Placeholder(root, DT_FLOAT);
    auto z = ops::FloorMod(root, x, y);
    // x in [0.1, 0.9) + k for k = -1, 0, 1 and y = 2: x / y stays 0.05 away from integers.
    Tensor xv = RandomTensor({batch, 3}, 21, 0.1f, 0.9f);
    for (int64_t i = 0; i < xv.NumElements(); ++i) xv.flat<float>()[i] += (i % 3) - 1;
    absl::StatusOr<double> err = MaxGradientError(
        root, {{x, xv}, {y, FloatTensor({3}, {2.f, 2.f, 2.f})}}, z);
    ASSERT_TRUE(err.ok()) << err.status();
    EXPECT_LT(*err, kGradTolerance) << "batch " << batch;
  }
}

TEST(Comparisons, CompareWithBroadcasting) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Const(root, FloatTensor({3, 1}, {1, 2, 3}));
  auto y = ops::Const(root, {2.f, 3.f});
  std::vector<Output> outs = {ops::Less(root, x, y), ops::LessEqual(root, x, y),
                              ops::Greater(root, x, y), ops::GreaterEqual(root, x, y),
                              ops::Less(root, ops::Const(root, {-1, 5}), 0)};
  ASSERT_TRUE(root.ok()) << root.status();
  absl::StatusOr<std::vector<Tensor>> out = test::RunGraph(root, {}, outs);
  ASSERT_TRUE(out.ok()) << out.status();
  auto bools = [](const Tensor& t) {
    EXPECT_EQ(t.dtype(), DT_BOOL);
    auto f = t.flat<bool>();
    return std::vector<bool>(f.begin(), f.end());
  };
  // Pairs (x, y): (1,2) (1,3) (2,2) (2,3) (3,2) (3,3).
  EXPECT_EQ(bools((*out)[0]), (std::vector<bool>{1, 1, 0, 1, 0, 0}));
  EXPECT_EQ(bools((*out)[1]), (std::vector<bool>{1, 1, 1, 1, 0, 1}));
  EXPECT_EQ(bools((*out)[2]), (std::vector<bool>{0, 0, 0, 0, 1, 0}));
  EXPECT_EQ(bools((*out)[3]), (std::vector<bool>{0, 0, 1, 0, 1, 1}));
  EXPECT_EQ(bools((*out)[4]), (std::vector<bool>{1, 0}));
  EXPECT_EQ((*out)[0].shape(), TensorShape({3, 2}));
}

}  // namespace
}  // namespace test
}  // namespace dflow
