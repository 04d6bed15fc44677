// Tests of the nn ops Softmax, BiasAdd, BiasAddGrad, Relu, ReluGrad and InTopKV2: forward values
// against the plain-loop references of tests/reference.h and hand-computed values, shape and
// input errors, numerical stability, and every nn gradient (the cross-entropies' too) against
// central differences.
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ops/array_ops.h"
#include "ops/math_ops.h"
#include "ops/nn_ops.h"
#include "ops/op_registry.h"
#include "runtime/session.h"
#include "tests/gradient_checker.h"
#include "tests/reference.h"
#include "tests/test_util.h"

namespace dflow {
namespace test {
namespace {

using ::testing::HasSubstr;

// ---------------------------------------------------------------------------------------------
// Softmax

TEST(SoftmaxTest, HandComputedValues) {
  Scope root = Scope::NewRootScope();
  auto y = ops::Softmax(root, ops::Const(root, {1.0f, 2.0f, 3.0f}));
  absl::StatusOr<Tensor> out = RunOne(root, y);
  ASSERT_TRUE(out.ok()) << out.status();
  // e^k / (e + e^2 + e^3).
  ExpectTensorNear(*out, TensorShape({3}), {0.09003057f, 0.24472847f, 0.66524096f});
}

TEST(SoftmaxTest, MatchesReferenceOnOddShapes) {
  // Up to 1024 elements run as a loop, more on oneDNN: shapes on both sides of that line.
  const std::vector<TensorShape> shapes = {{1, 7},    {7, 1},  {1, 1},  {257, 10}, {2, 3, 5},
                                           {4},       {1, 10}, {3, 90}, {1, 1024}, {1, 1025}};
  for (const TensorShape& shape : shapes) {
    SCOPED_TRACE(shape.DebugString());
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT);
    auto y = ops::Softmax(root, x);
    Tensor xv = RandomTensor(shape, 7, -5.0f, 5.0f);
    absl::StatusOr<Tensor> out = RunOne(root, y, {{x, xv}});
    ASSERT_TRUE(out.ok()) << out.status();
    ExpectTensorNear(*out, shape, SoftmaxRef(xv));
  }
}

TEST(SoftmaxTest, LargeLogitsStayFinite) {
  Scope root = Scope::NewRootScope();
  auto y = ops::Softmax(root, ops::Const(root, FloatTensor({2, 3}, {1000, 0, -1000, 1000, 1000, 0})));
  absl::StatusOr<Tensor> out = RunOne(root, y);
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectTensorNear(*out, TensorShape({2, 3}), {1, 0, 0, 0.5f, 0.5f, 0});
}

TEST(SoftmaxTest, ANanLogitMakesItsRowNan) {
  // TensorFlow: exp(x - max) with a NaN in the row sums to NaN, so the whole row is NaN.
  Scope root = Scope::NewRootScope();
  auto y = ops::Softmax(root, ops::Const(root, FloatTensor({2, 3}, {1, NAN, 2, 1, 2, 3})));
  absl::StatusOr<Tensor> out = RunOne(root, y);
  ASSERT_TRUE(out.ok()) << out.status();
  const auto v = out->flat<float>();
  for (int j = 0; j < 3; ++j) EXPECT_TRUE(std::isnan(v[j])) << j;
  EXPECT_NEAR(v[3], 0.09003057f, 1e-6);
  EXPECT_NEAR(v[5], 0.66524096f, 1e-6);
}

TEST(SoftmaxTest, ShapeChangesBetweenRunsOfOneSession) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({-1, 4}));
  auto y = ops::Softmax(root, x);
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(root);
  ASSERT_TRUE(session.ok()) << session.status();
  for (int64_t batch : {3, 5, 3, 1, 5}) {
    Tensor xv = RandomTensor(TensorShape({batch, 4}), batch, -3.0f, 3.0f);
    std::vector<Tensor> out;
    absl::Status s = (*session)->Run({{x, xv}}, {y}, {}, &out);
    ASSERT_TRUE(s.ok()) << s;
    ExpectTensorNear(out[0], xv.shape(), SoftmaxRef(xv));
  }
}

TEST(SoftmaxTest, EmptyInput) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  absl::StatusOr<Tensor> out =
      RunOne(root, ops::Softmax(root, x), {{x, Tensor(DT_FLOAT, TensorShape({0, 3}))}});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->shape(), TensorShape({0, 3}));
}

TEST(SoftmaxTest, ScalarIsRejected) {
  Scope root = Scope::NewRootScope();
  ops::Softmax(root, ops::Const(root, 1.0f));
  EXPECT_FALSE(root.ok());
  EXPECT_THAT(std::string(root.status().message()), HasSubstr("rank >= 1"));

  // Unknown at graph time: the kernel rejects it.
  Scope root2 = Scope::NewRootScope();
  auto x = ops::Placeholder(root2, DT_FLOAT);
  absl::StatusOr<Tensor> out = RunOne(root2, ops::Softmax(root2, x), {{x, Tensor::Scalar(1.0f)}});
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(std::string(out.status().message()), HasSubstr("rank >= 1"));
}

// ---------------------------------------------------------------------------------------------
// BiasAdd and BiasAddGrad

TEST(BiasAddTest, MatchesReference) {
  const std::vector<TensorShape> shapes = {{1, 6}, {6, 1}, {1, 1}, {257, 10}, {2, 3, 4}};
  for (const TensorShape& shape : shapes) {
    SCOPED_TRACE(shape.DebugString());
    const int64_t c = shape.dim_size(shape.dims() - 1);
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT);
    auto b = ops::Placeholder(root, DT_FLOAT);
    auto y = ops::BiasAdd(root, x, b);
    Tensor xv = RandomTensor(shape, 1), bv = RandomTensor(TensorShape({c}), 2);
    absl::StatusOr<Tensor> out = RunOne(root, y, {{x, xv}, {b, bv}});
    ASSERT_TRUE(out.ok()) << out.status();
    ExpectTensorNear(*out, shape, BiasAddRef(xv.flat<float>(), bv));
  }
}

TEST(BiasAddTest, HandComputedValues) {
  Scope root = Scope::NewRootScope();
  auto y = ops::BiasAdd(root, ops::Const(root, FloatTensor({2, 2}, {1, 2, 3, 4})),
                        ops::Const(root, {10.0f, 20.0f}));
  absl::StatusOr<Tensor> out = RunOne(root, y);
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectTensorNear(*out, TensorShape({2, 2}), {11, 22, 13, 24});
}

TEST(BiasAddTest, Errors) {
  {  // Known mismatch: caught when the graph is built.
    Scope root = Scope::NewRootScope();
    ops::BiasAdd(root, ops::Const(root, 0.0f, TensorShape({2, 3})), ops::Const(root, {1.0f, 2.0f}));
    EXPECT_FALSE(root.ok());
    EXPECT_THAT(std::string(root.status().message()), HasSubstr("bias"));
  }
  {  // Value must be at least 2-D.
    Scope root = Scope::NewRootScope();
    ops::BiasAdd(root, ops::Const(root, {1.0f, 2.0f}), ops::Const(root, {1.0f, 2.0f}));
    EXPECT_FALSE(root.ok());
  }
  {  // NCHW is not supported.
    Scope root = Scope::NewRootScope();
    ops::BiasAdd(root, ops::Const(root, 0.0f, TensorShape({2, 3})),
                 ops::Const(root, {1.0f, 2.0f, 3.0f}), ops::BiasAdd::DataFormat("NCHW"));
    EXPECT_FALSE(root.ok());
    EXPECT_THAT(std::string(root.status().message()), HasSubstr("NCHW"));
  }
  {  // Unknown shapes at graph time: the kernel checks them.
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT);
    auto b = ops::Placeholder(root, DT_FLOAT);
    auto y = ops::BiasAdd(root, x, b);
    ASSERT_TRUE(root.ok());
    absl::StatusOr<Tensor> out = RunOne(
        root, y, {{x, RandomTensor({4, 3}, 1)}, {b, RandomTensor({2}, 2)}});
    ASSERT_FALSE(out.ok());
    EXPECT_THAT(std::string(out.status().message()), HasSubstr("bias"));
    out = RunOne(root, y, {{x, RandomTensor({3}, 1)}, {b, RandomTensor({3}, 2)}});
    EXPECT_FALSE(out.ok());
    out = RunOne(root, y, {{x, RandomTensor({2, 3}, 1)}, {b, RandomTensor({1, 3}, 2)}});
    EXPECT_FALSE(out.ok());
  }
}

TEST(BiasAddGradTest, MatchesReference) {
  const std::vector<TensorShape> shapes = {{1, 6}, {6, 1}, {1, 1}, {257, 10}, {2, 3, 4}, {0, 3}};
  for (const TensorShape& shape : shapes) {
    SCOPED_TRACE(shape.DebugString());
    const int64_t c = shape.dim_size(shape.dims() - 1);
    Scope root = Scope::NewRootScope();
    auto g = ops::Placeholder(root, DT_FLOAT);
    auto y = ops::BiasAddGrad(root, g);
    Tensor gv = RandomTensor(shape, 3);
    absl::StatusOr<Tensor> out = RunOne(root, y, {{g, gv}});
    ASSERT_TRUE(out.ok()) << out.status();
    std::vector<double> sums(c, 0.0);
    for (int64_t i = 0; i < gv.NumElements(); ++i) sums[i % c] += gv.flat<float>()[i];
    ExpectTensorNear(*out, TensorShape({c}), std::vector<float>(sums.begin(), sums.end()), 1e-5f);
  }
}

TEST(BiasAddGradTest, Errors) {
  Scope root = Scope::NewRootScope();
  ops::BiasAddGrad(root, ops::Const(root, {1.0f, 2.0f}));
  EXPECT_FALSE(root.ok());

  Scope root2 = Scope::NewRootScope();
  auto g = ops::Placeholder(root2, DT_FLOAT);
  absl::StatusOr<Tensor> out = RunOne(root2, ops::BiasAddGrad(root2, g), {{g, RandomTensor({5}, 1)}});
  EXPECT_FALSE(out.ok());
}

// ---------------------------------------------------------------------------------------------
// Relu and ReluGrad

TEST(ReluTest, HandComputedValues) {
  Scope root = Scope::NewRootScope();
  auto y = ops::Relu(root, ops::Const(root, {-2.0f, -0.0f, 0.0f, 0.5f, 3.0f}));
  absl::StatusOr<Tensor> out = RunOne(root, y);
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectTensorNear(*out, TensorShape({5}), {0, 0, 0, 0.5f, 3});
}

TEST(ReluTest, MatchesReferenceOnOddShapes) {
  for (const TensorShape& shape :
       std::vector<TensorShape>{{1, 9}, {9, 1}, {257, 3}, {2, 3, 4}, {}, {0, 4}}) {
    SCOPED_TRACE(shape.DebugString());
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT);
    Tensor xv = RandomTensor(shape, 4);
    absl::StatusOr<Tensor> out = RunOne(root, ops::Relu(root, x), {{x, xv}});
    ASSERT_TRUE(out.ok()) << out.status();
    ExpectTensorNear(*out, shape, ReluRef(xv.flat<float>()));
  }
}

TEST(ReluGradTest, HandComputedValues) {
  Scope root = Scope::NewRootScope();
  auto y = ops::ReluGrad(root, ops::Const(root, {1.0f, 2.0f, 3.0f, 4.0f}),
                         ops::Const(root, {-1.0f, 0.0f, 0.5f, 7.0f}));
  absl::StatusOr<Tensor> out = RunOne(root, y);
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectTensorNear(*out, TensorShape({4}), {0, 0, 3, 4});
}

TEST(ReluGradTest, ShapeMismatch) {
  Scope root = Scope::NewRootScope();
  ops::ReluGrad(root, ops::Const(root, {1.0f, 2.0f}), ops::Const(root, {1.0f, 2.0f, 3.0f}));
  EXPECT_FALSE(root.ok());

  Scope root2 = Scope::NewRootScope();
  auto g = ops::Placeholder(root2, DT_FLOAT);
  auto x = ops::Placeholder(root2, DT_FLOAT);
  absl::StatusOr<Tensor> out = RunOne(root2, ops::ReluGrad(root2, g, x),
                                      {{g, RandomTensor({2, 3}, 1)}, {x, RandomTensor({3, 2}, 2)}});
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(std::string(out.status().message()), HasSubstr("same shape"));
}

// ---------------------------------------------------------------------------------------------
// Gradients, against central differences, for random shapes at batch 1 and 7.

// Float forward passes with step 1e-3 measure correct gradients to ~2e-4 here.
constexpr double kGradTolerance = 2e-3;

int64_t RandomClasses(uint64_t seed) {
  std::mt19937_64 gen(seed);
  return 2 + static_cast<int64_t>(gen() % 5);  // 2..6
}

TEST(NnGradientTest, Softmax) {
  for (int64_t batch : {1, 7}) {
    const int64_t c = RandomClasses(batch);
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT);
    auto y = ops::Softmax(root, x);
    absl::StatusOr<double> err =
        test::MaxGradientError(root, {{x, RandomTensor({batch, c}, 11, -2.0f, 2.0f)}}, y);
    ASSERT_TRUE(err.ok()) << err.status();
    EXPECT_LT(*err, kGradTolerance) << "batch " << batch;
  }
}

TEST(NnGradientTest, BiasAdd) {
  for (int64_t batch : {1, 7}) {
    const int64_t c = RandomClasses(batch + 100);
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT);
    auto b = ops::Placeholder(root, DT_FLOAT);
    auto y = ops::BiasAdd(root, x, b);
    absl::StatusOr<double> err = test::MaxGradientError(
        root, {{x, RandomTensor({batch, 2, c}, 12)}, {b, RandomTensor({c}, 13)}}, y);
    ASSERT_TRUE(err.ok()) << err.status();
    EXPECT_LT(*err, kGradTolerance) << "batch " << batch;
  }
}

TEST(NnGradientTest, BiasAddGrad) {
  for (int64_t batch : {1, 7}) {
    const int64_t c = RandomClasses(batch + 200);
    Scope root = Scope::NewRootScope();
    auto g = ops::Placeholder(root, DT_FLOAT);
    auto y = ops::BiasAddGrad(root, g);
    absl::StatusOr<double> err =
        test::MaxGradientError(root, {{g, RandomTensor({batch, c}, 14)}}, y);
    ASSERT_TRUE(err.ok()) << err.status();
    EXPECT_LT(*err, kGradTolerance) << "batch " << batch;
  }
}

// Values in [-1, -0.1] u [0.1, 1]: away from Relu's kink, where central differences break.
Tensor AwayFromZero(const TensorShape& shape, uint64_t seed) {
  Tensor t = RandomTensor(shape, seed, 0.1f, 1.0f);
  std::mt19937_64 gen(seed);
  for (float& v : t.flat<float>()) {
    if (gen() % 2) v = -v;
  }
  return t;
}

TEST(NnGradientTest, Relu) {
  for (int64_t batch : {1, 7}) {
    const int64_t c = RandomClasses(batch + 300);
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT);
    auto y = ops::Relu(root, x);
    absl::StatusOr<double> err = test::MaxGradientError(root, {{x, AwayFromZero({batch, c}, 15)}}, y);
    ASSERT_TRUE(err.ok()) << err.status();
    EXPECT_LT(*err, kGradTolerance) << "batch " << batch;
  }
}

TEST(NnGradientTest, ReluGrad) {
  for (int64_t batch : {1, 7}) {
    const int64_t c = RandomClasses(batch + 400);
    Scope root = Scope::NewRootScope();
    auto g = ops::Placeholder(root, DT_FLOAT);
    auto x = ops::Placeholder(root, DT_FLOAT);
    auto y = ops::ReluGrad(root, g, x);
    absl::StatusOr<double> err = test::MaxGradientError(
        root, {{g, RandomTensor({batch, c}, 16)}}, y, {{x, AwayFromZero({batch, c}, 17)}});
    ASSERT_TRUE(err.ok()) << err.status();
    EXPECT_LT(*err, kGradTolerance) << "batch " << batch;
  }
}

TEST(NnGradientTest, SoftmaxCrossEntropyWithLogits) {
  for (int64_t batch : {1, 7}) {
    const int64_t c = RandomClasses(batch + 500);
    for (int output : {0, 1}) {
      SCOPED_TRACE(absl::StrCat("batch ", batch, " output ", output));
      Scope root = Scope::NewRootScope();
      auto f = ops::Placeholder(root, DT_FLOAT);
      auto l = ops::Placeholder(root, DT_FLOAT);
      ops::SoftmaxCrossEntropyWithLogits xent(root, f, l);
      absl::StatusOr<double> err = test::MaxGradientError(
          root, {{f, RandomTensor({batch, c}, 18, -2.0f, 2.0f)}},
          output == 0 ? xent.loss : xent.backprop, {{l, RandomLabels(batch, c, 19)}});
      ASSERT_TRUE(err.ok()) << err.status();
      EXPECT_LT(*err, kGradTolerance);
    }
  }
}

TEST(NnGradientTest, SparseSoftmaxCrossEntropyWithLogits) {
  for (int64_t batch : {1, 7}) {
    const int64_t c = RandomClasses(batch + 600);
    for (int output : {0, 1}) {
      SCOPED_TRACE(absl::StrCat("batch ", batch, " output ", output));
      Scope root = Scope::NewRootScope();
      auto f = ops::Placeholder(root, DT_FLOAT);
      auto l = ops::Placeholder(root, DT_INT64);
      ops::SparseSoftmaxCrossEntropyWithLogits xent(root, f, l);
      std::vector<int64_t> labels(batch);
      for (int64_t i = 0; i < batch; ++i) labels[i] = (i * 3 + 1) % c;
      absl::StatusOr<double> err = test::MaxGradientError(
          root, {{f, RandomTensor({batch, c}, 20, -2.0f, 2.0f)}},
          output == 0 ? xent.loss : xent.backprop, {{l, IntTensor(labels)}});
      ASSERT_TRUE(err.ok()) << err.status();
      EXPECT_LT(*err, kGradTolerance);
    }
  }
}

// A small network end to end: mean cross-entropy of softmax(relu(x W + b) V).
TEST(NnGradientTest, Composed) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto b = ops::Placeholder(root, DT_FLOAT);
  auto l = ops::Placeholder(root, DT_FLOAT);
  auto h = ops::Relu(root, ops::BiasAdd(root, x, b));
  ops::SoftmaxCrossEntropyWithLogits xent(root, ops::Softmax(root, h), l);
  absl::StatusOr<double> err = test::MaxGradientError(
      root, {{x, AwayFromZero({7, 4}, 21)}, {b, RandomTensor({4}, 22, -0.05f, 0.05f)}},
      xent.loss, {{l, RandomLabels(7, 4, 23)}});
  ASSERT_TRUE(err.ok()) << err.status();
  EXPECT_LT(*err, kGradTolerance);
}

// ---------------------------------------------------------------------------------------------
// InTopKV2.

std::vector<bool> Bools(const Tensor& t) {
  EXPECT_EQ(t.dtype(), DT_BOOL);
  auto f = t.flat<bool>();
  return std::vector<bool>(f.begin(), f.end());
}

TEST(InTopKV2Test, HandComputedWithTiesAndEveryK) {
  // Row 0: target 1 (0.3) has one strictly larger class. Row 1: target 0 ties with class 2 at
  // the maximum (no class is larger). Row 2: target 3 (0.1) has three larger classes.
  const Tensor predictions = FloatTensor({3, 4}, {0.1f, 0.3f, 0.5f, 0.1f,
                                                  0.7f, 0.2f, 0.7f, 0.0f,
                                                  0.4f, 0.3f, 0.2f, 0.1f});
  const std::vector<std::vector<bool>> expected = {
      {false, false, false},  // k = 0
      {false, true, false},   // k = 1
      {true, true, false},    // k = 2
      {true, true, false},    // k = 3
      {true, true, true},     // k = 4
      {true, true, true},     // k = 9
  };
  const std::vector<int> ks = {0, 1, 2, 3, 4, 9};
  for (size_t i = 0; i < ks.size(); ++i) {
    Scope root = Scope::NewRootScope();
    auto p = ops::Placeholder(root, DT_FLOAT);
    auto t = ops::Placeholder(root, DT_INT32);
    auto y = ops::InTopKV2(root, p, t, ks[i]);
    absl::StatusOr<Tensor> out =
        RunOne(root, y, {{p, predictions}, {t, *Tensor::FromVector<int32_t>({1, 0, 3}, {3})}});
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ(out->shape(), TensorShape({3}));
    EXPECT_EQ(Bools(*out), expected[i]) << "k = " << ks[i];
  }
}

TEST(InTopKV2Test, OutOfRangeTargetsAndNonFiniteScoresGiveFalse) {
  Scope root = Scope::NewRootScope();
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  auto p = ops::Const(root, FloatTensor({5, 3}, {0.1f, 0.2f, 0.3f,
                                                 0.1f, 0.2f, 0.3f,
                                                 0.1f, inf, 0.3f,
                                                 nan, 0.2f, 0.9f,
                                                 0.1f, 0.2f, 0.3f}));
  auto t = ops::Const(root, *Tensor::FromVector<int64_t>({-1, 3, 2, 2, 2}, {5}));
  auto k = ops::Const(root, int64_t{3});
  auto y = ops::InTopKV2(root, p, t, k);
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(y.shape().DebugString(), "[5]");
  absl::StatusOr<Tensor> out = RunOne(root, y);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(Bools(*out), (std::vector<bool>{false, false, false, false, true}));
}

TEST(InTopKV2Test, EmptyBatch) {
  Scope root = Scope::NewRootScope();
  auto p = ops::Placeholder(root, DT_FLOAT);
  auto t = ops::Placeholder(root, DT_INT32);
  absl::StatusOr<Tensor> out =
      RunOne(root, ops::InTopKV2(root, p, t, 1),
             {{p, Tensor(DT_FLOAT, {0, 10})}, {t, Tensor(DT_INT32, {0})}});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->shape(), TensorShape({0}));
}

TEST(InTopKV2Test, ShapeErrorsAtGraphBuildAndRunTime) {
  {
    Scope root = Scope::NewRootScope();
    auto p = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({4, 10}));
    auto t = ops::Placeholder(root, DT_INT32, ops::Placeholder::Shape({3}));
    ops::InTopKV2(root.WithOpName("top"), p, t, 1);
    ASSERT_FALSE(root.ok());
    EXPECT_THAT(std::string(root.status().message()), HasSubstr("InTopKV2 node 'top'"));
  }
  {
    Scope root = Scope::NewRootScope();
    auto p = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({4}));
    ops::InTopKV2(root, p, ops::Placeholder(root, DT_INT32), 1);
    EXPECT_FALSE(root.ok());
  }
  Scope root = Scope::NewRootScope();
  auto p = ops::Placeholder(root, DT_FLOAT);
  auto t = ops::Placeholder(root, DT_INT32);
  auto k = ops::Placeholder(root, DT_INT32);
  auto y = ops::InTopKV2(root, p, t, k);
  absl::StatusOr<Tensor> out = RunOne(root, y,
                                      {{p, RandomTensor({2, 3}, 1)},
                                       {t, *Tensor::FromVector<int32_t>({0, 1, 2}, {3})},
                                       {k, Tensor::Scalar<int32_t>(1)}},
                                      test::Unoptimized());
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(std::string(out.status().message()), HasSubstr("one entry per row"));
  out = RunOne(root, y, {{p, RandomTensor({2, 3}, 1)},
                         {t, *Tensor::FromVector<int32_t>({0, 1}, {2})},
                         {k, *Tensor::FromVector<int32_t>({1}, {1})}},
               test::Unoptimized());
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(std::string(out.status().message()), HasSubstr("k must be a scalar"));
}

}  // namespace
}  // namespace test
}  // namespace dflow
