// Math ops: forward results against plain-loop references and hand-computed values, graph-build
// and run-time errors, and every gradient against central differences.
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

// Readable shapes in gtest failure messages.
void PrintTo(const PartialTensorShape& shape, std::ostream* os) { *os << shape.DebugString(); }

namespace {

using test::ExpectTensorNear;
using test::FloatTensor;
using test::MaxGradientError;
using test::RandomTensor;
using test::RunOne;

constexpr double kGradTolerance = 5e-3;

template <typename T>
Tensor Make(const TensorShape& shape, std::vector<T> values) {
  absl::StatusOr<Tensor> t = Tensor::FromVector<T>(values, shape);
  EXPECT_TRUE(t.ok()) << t.status();
  return *t;
}

template <>
Tensor Make<bool>(const TensorShape& shape, std::vector<bool> values) {
  Tensor t(DT_BOOL, shape);
  EXPECT_EQ(t.NumElements(), static_cast<int64_t>(values.size()));
  for (size_t i = 0; i < values.size() && i < static_cast<size_t>(t.NumElements()); ++i) {
    t.flat<bool>()[i] = values[i];
  }
  return t;
}

template <typename T>
std::vector<T> ValuesOf(const Tensor& t) {
  return std::vector<T>(t.flat<T>().begin(), t.flat<T>().end());
}

// The multi-index of element `i` of `shape` (row-major).
std::vector<int64_t> Unravel(int64_t i, const TensorShape& shape) {
  std::vector<int64_t> idx(shape.dims());
  for (int d = shape.dims() - 1; d >= 0; --d) {
    idx[d] = i % shape.dim_size(d);
    i /= shape.dim_size(d);
  }
  return idx;
}

// The element of `t` that numpy broadcasting maps to output index `out_idx`.
int64_t BroadcastSource(const std::vector<int64_t>& out_idx, const TensorShape& shape) {
  const int lead = static_cast<int>(out_idx.size()) - shape.dims();
  int64_t offset = 0;
  for (int d = 0; d < shape.dims(); ++d) {
    const int64_t i = shape.dim_size(d) == 1 ? 0 : out_idx[lead + d];
    offset = offset * shape.dim_size(d) + i;
  }
  return offset;
}

// out[i] = f(a[.], b[.]) over `out_shape`, the broadcast shape worked out by hand.
template <typename T, typename U>
std::vector<U> BroadcastReference(const Tensor& a, const Tensor& b, const TensorShape& out_shape,
                                  const std::function<U(T, T)>& f) {
  std::vector<U> out(out_shape.num_elements());
  auto av = a.flat<T>();
  auto bv = b.flat<T>();
  for (int64_t i = 0; i < out_shape.num_elements(); ++i) {
    std::vector<int64_t> idx = Unravel(i, out_shape);
    out[i] = f(av[BroadcastSource(idx, a.shape())], bv[BroadcastSource(idx, b.shape())]);
  }
  return out;
}

// Plain triple loop for op(a) x op(b).
std::vector<float> MatMulReference(const Tensor& a, const Tensor& b, bool ta, bool tb) {
  const int64_t m = ta ? a.dim_size(1) : a.dim_size(0), k = ta ? a.dim_size(0) : a.dim_size(1);
  const int64_t n = tb ? b.dim_size(0) : b.dim_size(1);
  auto av = a.flat<float>();
  auto bv = b.flat<float>();
  std::vector<float> out(m * n, 0.0f);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double sum = 0;
      for (int64_t p = 0; p < k; ++p) {
        const float x = ta ? av[p * m + i] : av[i * k + p];
        const float y = tb ? bv[j * k + p] : bv[p * n + j];
        sum += static_cast<double>(x) * y;
      }
      out[i * n + j] = static_cast<float>(sum);
    }
  }
  return out;
}

// Sum/mean/product of `x` over the dims flagged in `reduced`, into the keep_dims layout.
std::vector<double> ReduceReference(const Tensor& x, const std::vector<bool>& reduced,
                                    const std::string& kind) {
  TensorShape keep;
  for (int d = 0; d < x.dims(); ++d) keep.AddDim(reduced[d] ? 1 : x.dim_size(d));
  std::vector<double> acc(keep.num_elements(), kind == "prod" ? 1.0 : 0.0);
  std::vector<int64_t> count(keep.num_elements(), 0);
  auto xv = x.flat<float>();
  for (int64_t i = 0; i < x.NumElements(); ++i) {
    std::vector<int64_t> idx = Unravel(i, x.shape());
    int64_t o = 0;
    for (int d = 0; d < x.dims(); ++d) o = o * keep.dim_size(d) + (reduced[d] ? 0 : idx[d]);
    acc[o] = kind == "prod" ? acc[o] * xv[i] : acc[o] + xv[i];
    ++count[o];
  }
  if (kind == "mean") {
    for (size_t o = 0; o < acc.size(); ++o) acc[o] /= count[o];
  }
  return acc;
}

std::vector<float> ToFloats(const std::vector<double>& v) {
  return std::vector<float>(v.begin(), v.end());
}

void ExpectGradientOk(const Scope& root, const std::vector<std::pair<Output, Tensor>>& xs,
                      const Output& y, const std::string& what) {
  ASSERT_TRUE(root.ok()) << what << ": " << root.status();
  absl::StatusOr<double> err = MaxGradientError(root, xs, y);
  ASSERT_TRUE(err.ok()) << what << ": " << err.status();
  EXPECT_LT(*err, kGradTolerance) << what;
}

// ---------------------------------------------------------------------------------------------
// MatMul.

TEST(MatMul, MatchesPlainLoopForEveryTransposeCombination) {
  struct Case { int64_t m, k, n; };
  for (Case c : {Case{1, 5, 3}, Case{7, 1, 4}, Case{4, 6, 1}, Case{257, 13, 10}, Case{1, 1, 1}}) {
    for (bool ta : {false, true}) {
      for (bool tb : {false, true}) {
        Scope root = Scope::NewRootScope();
        Tensor a = RandomTensor(ta ? TensorShape({c.k, c.m}) : TensorShape({c.m, c.k}), 1);
        Tensor b = RandomTensor(tb ? TensorShape({c.n, c.k}) : TensorShape({c.k, c.n}), 2);
        auto pa = ops::Placeholder(root, DT_FLOAT);
        auto pb = ops::Placeholder(root, DT_FLOAT);
        auto y = ops::MatMul(root, pa, pb, ops::MatMul::TransposeA(ta).TransposeB(tb));
        absl::StatusOr<Tensor> out = RunOne(root, y, {{pa, a}, {pb, b}});
        ASSERT_TRUE(out.ok()) << out.status();
        ExpectTensorNear(*out, TensorShape({c.m, c.n}), MatMulReference(a, b, ta, tb), 1e-4f);
      }
    }
  }
}

TEST(MatMul, TransposeBMatchesPlainLoop) {
  Scope root = Scope::NewRootScope();
  // [[1,2,3],[4,5,6]] x [[1,0,1],[2,1,0]]^T = [[4,4],[10,13]].
  auto a = ops::Const(root, FloatTensor({2, 3}, {1, 2, 3, 4, 5, 6}));
  auto b = ops::Const(root, FloatTensor({2, 3}, {1, 0, 1, 2, 1, 0}));
  auto y = ops::MatMul(root, a, b, ops::MatMul::TransposeB(true));
  EXPECT_EQ(y.shape(), PartialTensorShape({2, 2}));
  absl::StatusOr<Tensor> out = RunOne(root, y);
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectTensorNear(*out, TensorShape({2, 2}), {4, 4, 10, 13});
}

TEST(MatMul, ReusesItsKernelAcrossBatchSizes) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({-1, 6}));
  auto w = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({6, 3}));
  auto y = ops::MatMul(root, x, w);
  EXPECT_EQ(y.shape(), PartialTensorShape({-1, 3}));
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(root);
  ASSERT_TRUE(session.ok()) << session.status();
  Tensor wv = RandomTensor({6, 3}, 9);
  for (int64_t batch : {7, 1, 257, 7, 1}) {
    Tensor xv = RandomTensor({batch, 6}, 100 + batch);
    std::vector<Tensor> out;
    ASSERT_TRUE((*session)->Run({{x, xv}, {w, wv}}, {y}, {}, &out).ok());
    ExpectTensorNear(out[0], TensorShape({batch, 3}), MatMulReference(xv, wv, false, false),
                     1e-4f);
  }
}

TEST(MatMul, EmptyInnerDimensionGivesZeros) {
  Scope root = Scope::NewRootScope();
  auto a = ops::Placeholder(root, DT_FLOAT);
  auto b = ops::Placeholder(root, DT_FLOAT);
  auto y = ops::MatMul(root, a, b);
  absl::StatusOr<Tensor> out =
      RunOne(root, y, {{a, Tensor(DT_FLOAT, {2, 0})}, {b, Tensor(DT_FLOAT, {0, 3})}});
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectTensorNear(*out, TensorShape({2, 3}), {0, 0, 0, 0, 0, 0});
}

TEST(MatMul, InnerDimensionMismatchAtGraphBuildNamesNodeAndBothShapes) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({-1, 784}));
  auto w = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({10, 784}));
  auto y = ops::MatMul(root.WithOpName("fc"), x, w);
  EXPECT_EQ(y.node(), nullptr);
  ASSERT_FALSE(root.ok());
  const std::string msg(root.status().message());
  EXPECT_TRUE(absl::StrContains(msg, "'fc'")) << msg;
  EXPECT_TRUE(absl::StrContains(msg, "[?,784]")) << msg;
  EXPECT_TRUE(absl::StrContains(msg, "[10,784]")) << msg;
}

TEST(MatMul, TransposeBResolvesTheSameShapes) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({-1, 784}));
  auto w = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({10, 784}));
  auto y = ops::MatMul(root, x, w, ops::MatMul::TransposeB(true));
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(y.shape(), PartialTensorShape({-1, 10}));
}

TEST(MatMul, NonMatrixInputIsAGraphBuildError) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({3}));
  auto w = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({3, 4}));
  ops::MatMul(root, x, w);
  ASSERT_FALSE(root.ok());
  EXPECT_TRUE(absl::StrContains(root.status().message(), "[3]")) << root.status();
}

TEST(MatMul, MismatchFedAtRunTimeIsAnError) {
  Scope root = Scope::NewRootScope();
  auto a = ops::Placeholder(root, DT_FLOAT);
  auto b = ops::Placeholder(root, DT_FLOAT);
  auto y = ops::MatMul(root, a, b);
  absl::StatusOr<Tensor> out =
      RunOne(root, y, {{a, RandomTensor({2, 3}, 1)}, {b, RandomTensor({4, 5}, 2)}});
  ASSERT_FALSE(out.ok());
  EXPECT_TRUE(absl::StrContains(out.status().message(), "[2,3]")) << out.status();
  EXPECT_TRUE(absl::StrContains(out.status().message(), "[4,5]")) << out.status();
  out = RunOne(root, y, {{a, RandomTensor({2, 3, 1}, 1)}, {b, RandomTensor({3, 5}, 2)}});
  EXPECT_FALSE(out.ok());
}

TEST(MatMul, IntegerInputsAreRejectedAtGraphBuild) {
  Scope root = Scope::NewRootScope();
  auto a = ops::Placeholder(root, DT_INT32);
  ops::MatMul(root, a, a);
  ASSERT_FALSE(root.ok());
  EXPECT_TRUE(absl::StrContains(root.status().message(), "int32")) << root.status();
}

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
      ExpectTensorNear(*out, c.out, BroadcastReference<float, float>(a, b, c.out, op.ref));
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
      ExpectTensorNear(out[0], c.out, BroadcastReference<float, float>(a, b, c.out, op.ref));
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
      EXPECT_EQ(ValuesOf<T>(*out), (BroadcastReference<T, T>(a, b, c.out, op.ref))) << what;
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
// Reductions.

// Every subset of axes of a rank-3 tensor, given positively and negatively, keep_dims both ways.
void CheckReductionAgainstLoop(const std::string& kind) {
  const TensorShape shape({2, 3, 5});
  Tensor xv = RandomTensor(shape, 77, 0.5f, 1.5f);
  for (int mask = 0; mask < 8; ++mask) {
    for (bool negative : {false, true}) {
      for (bool keep_dims : {false, true}) {
        std::vector<int> axes;
        std::vector<bool> reduced(3, false);
        TensorShape expected_shape;
        for (int d = 0; d < 3; ++d) {
          if (mask & (1 << d)) {
            axes.push_back(negative ? d - 3 : d);
            reduced[d] = true;
            if (keep_dims) expected_shape.AddDim(1);
          } else {
            expected_shape.AddDim(shape.dim_size(d));
          }
        }
        Scope root = Scope::NewRootScope();
        auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape(shape));
        Tensor axes_t = Make<int32_t>({static_cast<int64_t>(axes.size())},
                                      std::vector<int32_t>(axes.begin(), axes.end()));
        Output y;
        if (kind == "sum") y = ops::Sum(root, x, axes_t, ops::Sum::KeepDims(keep_dims));
        if (kind == "mean") y = ops::Mean(root, x, axes_t, ops::Mean::KeepDims(keep_dims));
        if (kind == "prod") y = ops::Prod(root, x, axes_t, ops::Prod::KeepDims(keep_dims));
        ASSERT_TRUE(root.ok()) << root.status();
        const std::string what = kind + " mask " + std::to_string(mask) +
                                 (negative ? " negative" : "") + (keep_dims ? " keep_dims" : "");
        EXPECT_EQ(y.shape(), PartialTensorShape(expected_shape)) << what;
        absl::StatusOr<Tensor> out = RunOne(root, y, {{x, xv}});
        ASSERT_TRUE(out.ok()) << what << ": " << out.status();
        SCOPED_TRACE(what);
        ExpectTensorNear(*out, expected_shape, ToFloats(ReduceReference(xv, reduced, kind)), 1e-5f);
      }
    }
  }
}

TEST(Sum, MatchesPlainLoopOverEveryAxisSubset) { CheckReductionAgainstLoop("sum"); }
TEST(Mean, MatchesPlainLoopOverEveryAxisSubset) { CheckReductionAgainstLoop("mean"); }
TEST(Prod, MatchesPlainLoopOverEveryAxisSubset) { CheckReductionAgainstLoop("prod"); }

TEST(Sum, HandComputedScalarAndNegativeAxes) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Const(root, FloatTensor({2, 3}, {1, 2, 3, 4, 5, 6}));
  absl::StatusOr<Tensor> rows = RunOne(root, ops::Sum(root, x, 1));
  ASSERT_TRUE(rows.ok()) << rows.status();
  ExpectTensorNear(*rows, TensorShape({2}), {6, 15});
  absl::StatusOr<Tensor> cols = RunOne(root, ops::Sum(root, x, -2, ops::Sum::KeepDims(true)));
  ASSERT_TRUE(cols.ok()) << cols.status();
  ExpectTensorNear(*cols, TensorShape({1, 3}), {5, 7, 9});
  absl::StatusOr<Tensor> all = RunOne(root, ops::Mean(root, x, {0, 1}));
  ASSERT_TRUE(all.ok()) << all.status();
  ExpectTensorNear(*all, TensorShape({}), {3.5f});
  Tensor axes64 = Make<int64_t>({1}, {0});
  absl::StatusOr<Tensor> mean64 = RunOne(root, ops::Mean(root, x, axes64));
  ASSERT_TRUE(mean64.ok()) << mean64.status();
  ExpectTensorNear(*mean64, TensorShape({3}), {2.5f, 3.5f, 4.5f});
}

TEST(Sum, BatchOf257AndBatchOf1MatchPlainLoop) {
  for (int64_t batch : {257, 1}) {
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT);
    auto y0 = ops::Sum(root, x, 0);
    auto y1 = ops::Mean(root, x, 1);
    Tensor xv = RandomTensor({batch, 10}, 3);
    absl::StatusOr<std::vector<Tensor>> out = test::RunGraph(root, {{x, xv}}, {y0, y1});
    ASSERT_TRUE(out.ok()) << out.status();
    ExpectTensorNear((*out)[0], TensorShape({10}),
                     ToFloats(ReduceReference(xv, {true, false}, "sum")), 1e-4f);
    ExpectTensorNear((*out)[1], TensorShape({batch}),
                     ToFloats(ReduceReference(xv, {false, true}, "mean")), 1e-5f);
  }
}

TEST(Sum, EmptyAxesReturnTheInput) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Const(root, FloatTensor({2, 2}, {1, 2, 3, 4}));
  auto y = ops::Sum(root, x, Make<int32_t>({0}, {}));
  EXPECT_EQ(y.shape(), PartialTensorShape({2, 2}));
  absl::StatusOr<Tensor> out = RunOne(root, y);
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectTensorNear(*out, TensorShape({2, 2}), {1, 2, 3, 4});
}

TEST(Sum, ReducingSizeOneDimsOnlyDropsThem) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Const(root, FloatTensor({1, 3, 1}, {1, 2, 3}));
  absl::StatusOr<Tensor> out = RunOne(root, ops::Mean(root, x, {0, 2}));
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectTensorNear(*out, TensorShape({3}), {1, 2, 3});
}

TEST(Sum, ZeroSizedReductionGivesZerosAndMeanGivesNaN) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto sum = ops::Sum(root, x, 0);
  auto mean = ops::Mean(root, x, 0);
  absl::StatusOr<std::vector<Tensor>> out =
      test::RunGraph(root, {{x, Tensor(DT_FLOAT, {0, 3})}}, {sum, mean});
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectTensorNear((*out)[0], TensorShape({3}), {0, 0, 0});
  for (float v : (*out)[1].flat<float>()) EXPECT_TRUE(std::isnan(v));
}

TEST(Sum, IntegerInputsMatchHandComputedValues) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Const(root, Make<int32_t>({2, 3}, {1, 2, 3, 4, 5, 6}));
  auto x64 = ops::Const(root, Make<int64_t>({2, 2}, {10, 20, 30, 41}));
  absl::StatusOr<Tensor> s = RunOne(root, ops::Sum(root, x, 0));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(ValuesOf<int32_t>(*s), (std::vector<int32_t>{5, 7, 9}));
  absl::StatusOr<Tensor> m = RunOne(root, ops::Mean(root, x64, 1));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(ValuesOf<int64_t>(*m), (std::vector<int64_t>{15, 35}));  // Integer division.
  absl::StatusOr<Tensor> p = RunOne(root, ops::Prod(root, x, {0, 1}));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->scalar<int32_t>(), 720);
}

TEST(Sum, ShapeFunctionUsesConstantAxesElseRank) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({-1, 5, 6}));
  EXPECT_EQ(ops::Sum(root, x, 1).shape(), PartialTensorShape({-1, 6}));
  EXPECT_EQ(ops::Sum(root, x, {-1, 0}, ops::Sum::KeepDims(true)).shape(),
            PartialTensorShape({1, 5, 1}));
  auto scalar_axis = ops::Placeholder(root, DT_INT32, ops::Placeholder::Shape(TensorShape()));
  auto vector_axes = ops::Placeholder(root, DT_INT32, ops::Placeholder::Shape({2}));
  EXPECT_EQ(ops::Sum(root, x, scalar_axis).shape(), PartialTensorShape({-1, -1}));
  EXPECT_EQ(ops::Mean(root, x, vector_axes, ops::Mean::KeepDims(true)).shape(),
            PartialTensorShape({-1, -1, -1}));
  EXPECT_TRUE(ops::Mean(root, x, vector_axes).shape().unknown_rank());
  auto unknown = ops::Placeholder(root, DT_FLOAT);
  EXPECT_TRUE(ops::Sum(root, unknown, 0).shape().unknown_rank());
  ASSERT_TRUE(root.ok()) << root.status();
}

TEST(Sum, AxisOutOfRangeAtGraphBuildNamesTheShape) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({-1, 5}));
  ops::Sum(root.WithOpName("bad_sum"), x, 2);
  ASSERT_FALSE(root.ok());
  const std::string msg(root.status().message());
  EXPECT_TRUE(absl::StrContains(msg, "'bad_sum'")) << msg;
  EXPECT_TRUE(absl::StrContains(msg, "[?,5]")) << msg;
}

TEST(Sum, AxisOutOfRangeAtRunTimeIsAnError) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto axes = ops::Placeholder(root, DT_INT32);
  auto y = ops::Sum(root, x, axes);
  absl::StatusOr<Tensor> out =
      RunOne(root, y, {{x, RandomTensor({2, 3}, 1)}, {axes, Tensor::Scalar<int32_t>(-3)}});
  ASSERT_FALSE(out.ok());
  EXPECT_TRUE(absl::StrContains(out.status().message(), "-3")) << out.status();
  out = RunOne(root, y, {{x, RandomTensor({2, 3}, 1)}, {axes, Make<int32_t>({1, 1}, {0})}});
  EXPECT_FALSE(out.ok());
}

TEST(Sum, FloatAxesAreRejectedAtGraphBuild) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  EXPECT_EQ(ops::Sum(root, x, 1.0f).node(), nullptr);
  EXPECT_FALSE(root.ok());
}

TEST(ReducedShape, SetsTheReducedAxesToOne) {
  Scope root = Scope::NewRootScope();
  auto y = ops::ReducedShape(root, Input({4, 5, 6}), Input({-1, 0}));
  EXPECT_EQ(y.shape(), PartialTensorShape({3}));
  absl::StatusOr<Tensor> out = RunOne(root, y);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(ValuesOf<int32_t>(*out), (std::vector<int32_t>{1, 5, 1}));
  absl::StatusOr<Tensor> bad = RunOne(root, ops::ReducedShape(root, Input({4, 5}), 2));
  EXPECT_FALSE(bad.ok());
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
// ArgMax.

TEST(ArgMax, MatchesPlainLoopOnEveryAxis) {
  const TensorShape shape({3, 4, 5});
  Tensor xv = RandomTensor(shape, 8);
  auto x_at = [&](int64_t i, int64_t j, int64_t k) {
    return xv.flat<float>()[(i * 4 + j) * 5 + k];
  };
  for (int axis : {0, 1, 2, -1, -3}) {
    const int a = axis < 0 ? axis + 3 : axis;
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape(shape));
    auto y = ops::ArgMax(root, x, axis);
    TensorShape out_shape = shape;
    out_shape.RemoveDim(a);
    EXPECT_EQ(y.shape(), PartialTensorShape(out_shape));
    absl::StatusOr<Tensor> out = RunOne(root, y, {{x, xv}});
    ASSERT_TRUE(out.ok()) << out.status();
    ASSERT_EQ(out->dtype(), DT_INT64);
    ASSERT_EQ(out->shape(), out_shape);
    std::vector<int64_t> expected;
    for (int64_t p = 0; p < out_shape.dim_size(0); ++p) {
      for (int64_t q = 0; q < out_shape.dim_size(1); ++q) {
        int64_t best = 0;
        float best_v = -std::numeric_limits<float>::infinity();
        for (int64_t r = 0; r < shape.dim_size(a); ++r) {
          const float v = a == 0 ? x_at(r, p, q) : a == 1 ? x_at(p, r, q) : x_at(p, q, r);
          if (v > best_v) {
            best_v = v;
            best = r;
          }
        }
        expected.push_back(best);
      }
    }
    EXPECT_EQ(ValuesOf<int64_t>(*out), expected) << "axis " << axis;
  }
}

TEST(ArgMax, TiesGoToTheFirstIndexAndOutputTypeInt32Works) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Const(root, FloatTensor({2, 3}, {1, 5, 5, 7, 2, 7}));
  auto y = ops::ArgMax(root, x, 1, ops::ArgMax::OutputType(DT_INT32));
  absl::StatusOr<Tensor> out = RunOne(root, y);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->dtype(), DT_INT32);
  EXPECT_EQ(ValuesOf<int32_t>(*out), (std::vector<int32_t>{1, 0}));
  auto ints = ops::Const(root, Make<int32_t>({4}, {3, -1, 9, 2}));
  absl::StatusOr<Tensor> iout = RunOne(root, ops::ArgMax(root, ints, Tensor::Scalar<int64_t>(0)));
  ASSERT_TRUE(iout.ok()) << iout.status();
  EXPECT_EQ(iout->scalar<int64_t>(), 2);
}

TEST(ArgMax, BadDimensionOrScalarInputIsAnError) {
  {
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({-1, 10}));
    ops::ArgMax(root.WithOpName("bad_argmax"), x, 2);
    ASSERT_FALSE(root.ok());
    EXPECT_TRUE(absl::StrContains(root.status().message(), "[?,10]")) << root.status();
  }
  {
    Scope root = Scope::NewRootScope();
    ops::ArgMax(root, 3.0f, 0);
    EXPECT_FALSE(root.ok());
  }
  {
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT);
    auto d = ops::Placeholder(root, DT_INT32);
    auto y = ops::ArgMax(root, x, d);
    ASSERT_TRUE(root.ok());
    EXPECT_FALSE(
        RunOne(root, y, {{x, RandomTensor({2, 3}, 1)}, {d, Tensor::Scalar<int32_t>(5)}}).ok());
    EXPECT_FALSE(RunOne(root, y, {{x, Tensor(DT_FLOAT, {2, 0})}, {d, Tensor::Scalar<int32_t>(1)}})
                     .ok());
  }
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

TEST(MatMulGrad, MatchesNumericForEveryTransposeCombinationAndBatch) {
  for (int64_t batch : {1, 7}) {
    for (bool ta : {false, true}) {
      for (bool tb : {false, true}) {
        const int64_t k = 4, n = 3;
        Scope root = Scope::NewRootScope();
        TensorShape a_shape = ta ? TensorShape({k, batch}) : TensorShape({batch, k});
        TensorShape b_shape = tb ? TensorShape({n, k}) : TensorShape({k, n});
        auto a = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape(a_shape));
        auto b = ops::Placeholder(root, DT_FLOAT);  // Shape known only at run time.
        auto y = ops::MatMul(root, a, b, ops::MatMul::TransposeA(ta).TransposeB(tb));
        ExpectGradientOk(root, {{a, RandomTensor(a_shape, 1)}, {b, RandomTensor(b_shape, 2)}}, y,
                         "MatMul batch " + std::to_string(batch) + (ta ? " ta" : "") +
                             (tb ? " tb" : ""));
      }
    }
  }
}

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
        auto a = ops::Placeholder(root, DT_FLOAT, static_shapes ? ops::Placeholder::Shape(c.a)
                                                                : ops::Placeholder::Attrs());
        auto b = ops::Placeholder(root, DT_FLOAT, static_shapes ? ops::Placeholder::Shape(c.b)
                                                                : ops::Placeholder::Attrs());
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

TEST(ReductionGrads, MatchNumericForAxesKeepDimsAndBatches) {
  struct Case {
    TensorShape shape;
    std::vector<int> axes;
  };
  std::vector<Case> cases = {
      {{7, 3}, {0}},     {{7, 3}, {1}},        {{7, 3}, {-1}},    {{1, 3}, {0, 1}},
      {{7, 3}, {}},      {{2, 3, 4}, {0, 2}},  {{2, 3, 4}, {1}},  {{1, 1}, {0}},
      {{5}, {0}},        {{2, 3, 4}, {-3, -1, 1}},
  };
  for (const std::string kind : {"sum", "mean", "prod"}) {
    for (const Case& c : cases) {
      for (bool keep_dims : {false, true}) {
        for (bool static_shape : {true, false}) {
          Scope root = Scope::NewRootScope();
          auto x = ops::Placeholder(root, DT_FLOAT, static_shape ? ops::Placeholder::Shape(c.shape)
                                                                 : ops::Placeholder::Attrs());
          Tensor axes = Make<int32_t>({static_cast<int64_t>(c.axes.size())},
                                      std::vector<int32_t>(c.axes.begin(), c.axes.end()));
          Output y;
          if (kind == "sum") y = ops::Sum(root, x, axes, ops::Sum::KeepDims(keep_dims));
          if (kind == "mean") y = ops::Mean(root, x, axes, ops::Mean::KeepDims(keep_dims));
          if (kind == "prod") y = ops::Prod(root, x, axes, ops::Prod::KeepDims(keep_dims));
          std::string axes_text;
          for (int a : c.axes) axes_text += std::to_string(a) + " ";
          ExpectGradientOk(root, {{x, RandomTensor(c.shape, 41, 0.5f, 1.5f)}}, y,
                           kind + " " + c.shape.DebugString() + " axes " + axes_text +
                               (keep_dims ? "keep_dims " : "") +
                               (static_shape ? "static" : "dynamic"));
        }
      }
    }
  }
}

TEST(ReductionGrads, AxesFedAtRunTime) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto axes = ops::Placeholder(root, DT_INT32);
  auto y = ops::Mean(root, x, axes);
  ASSERT_TRUE(root.ok());
  absl::StatusOr<double> err = MaxGradientError(root, {{x, RandomTensor({7, 3}, 2)}}, y,
                                                {{axes, Make<int32_t>({1}, {0})}});
  ASSERT_TRUE(err.ok()) << err.status();
  EXPECT_LT(*err, kGradTolerance);
}

TEST(ProdGrad, HandlesZerosInTheReducedGroup) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({3, 4}));
  auto y = ops::Prod(root, x, 1);
  // Row 0 has no zero, row 1 one zero, row 2 two zeros.
  Tensor xv = FloatTensor({3, 4}, {0.5f, 1.5f, -2, 1.1f, 0.7f, 0, 1.3f, 2, 0, 1.2f, 0, 0.9f});
  ExpectGradientOk(root, {{x, xv}}, y, "Prod with zeros");
  // And by hand: d/dx of row 1 = [0, 0.7*1.3*2, 0, 0] at the zero only.
  std::vector<Output> grads;
  ASSERT_TRUE(AddSymbolicGradients(root, {y}, {x}, &grads).ok());
  absl::StatusOr<Tensor> g = RunOne(root, grads[0], {{x, xv}});
  ASSERT_TRUE(g.ok()) << g.status();
  ExpectTensorNear(*g, TensorShape({3, 4}),
                   {1.5f * -2 * 1.1f, 0.5f * -2 * 1.1f, 0.5f * 1.5f * 1.1f, 0.5f * 1.5f * -2,
                    0, 0.7f * 1.3f * 2, 0, 0, 0, 0, 0, 0});
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

TEST(ArgMaxGrad, NoGradientFlowsThroughArgMax) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto y = ops::Cast(root, ops::ArgMax(root, x, 0), DT_FLOAT);
  std::vector<Output> grads;
  EXPECT_FALSE(AddSymbolicGradients(root, {y}, {x}, &grads).ok());
}

TEST(Gradients, SquaredErrorOfALinearModelMatchesNumeric) {
  for (int64_t batch : {1, 7}) {
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({-1, 4}));
    auto w = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({4, 3}));
    auto b = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({3}));
    auto t = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({-1, 3}));
    auto pred = ops::Add(root, ops::MatMul(root, x, w), b);
    auto loss = ops::Mean(root, ops::Square(root, ops::Sub(root, pred, t)), {0, 1});
    ASSERT_TRUE(root.ok()) << root.status();
    absl::StatusOr<double> err = MaxGradientError(
        root, {{w, RandomTensor({4, 3}, 1)}, {b, RandomTensor({3}, 2)}}, loss,
        {{x, RandomTensor({batch, 4}, 3)}, {t, RandomTensor({batch, 3}, 4)}});
    ASSERT_TRUE(err.ok()) << err.status();
    EXPECT_LT(*err, kGradTolerance) << "batch " << batch;
  }
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
}  // namespace dflow
