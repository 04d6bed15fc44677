// Tests of SoftmaxCrossEntropyWithLogits and SparseSoftmaxCrossEntropyWithLogits: loss and
// backprop against a plain-loop log-softmax and hand-computed values, numerical stability, label
// types and ranges, and shape errors. Their gradients are checked in nn_ops_test.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ops/array_ops.h"
#include "ops/math_ops.h"
#include "ops/nn_ops.h"
#include "ops/op_registry.h"
#include "tests/reference.h"
#include "tests/test_util.h"

namespace dflow {
namespace test {
namespace {

using ::testing::HasSubstr;

// ---------------------------------------------------------------------------------------------
// SoftmaxCrossEntropyWithLogits

TEST(SoftmaxXentTest, MatchesReference) {
  for (const TensorShape& shape : std::vector<TensorShape>{{1, 5}, {5, 1}, {1, 1}, {257, 10}}) {
    SCOPED_TRACE(shape.DebugString());
    const int64_t n = shape.dim_size(0), c = shape.dim_size(1);
    Scope root = Scope::NewRootScope();
    auto f = ops::Placeholder(root, DT_FLOAT);
    auto l = ops::Placeholder(root, DT_FLOAT);
    ops::SoftmaxCrossEntropyWithLogits xent(root, f, l);
    Tensor fv = RandomTensor(shape, 5, -4.0f, 4.0f);
    Tensor lv = RandomLabels(n, c, 6);
    absl::StatusOr<std::vector<Tensor>> out =
        RunGraph(root, {{f, fv}, {l, lv}}, {xent.loss, xent.backprop});
    ASSERT_TRUE(out.ok()) << out.status();
    std::vector<float> loss(n), backprop(n * c);
    for (int64_t r = 0; r < n; ++r) {
      std::vector<double> logp = LogSoftmaxRow(fv, r);
      double sum = 0;
      for (int64_t j = 0; j < c; ++j) {
        const double label = lv.flat<float>()[r * c + j];
        sum -= label * logp[j];
        backprop[r * c + j] = static_cast<float>(std::exp(logp[j]) - label);
      }
      loss[r] = static_cast<float>(sum);
    }
    ExpectTensorNear((*out)[0], TensorShape({n}), loss);
    ExpectTensorNear((*out)[1], shape, backprop);
  }
}

TEST(SoftmaxXentTest, HandComputedValues) {
  // Uniform logits over 4 classes: loss = log 4 for any labels summing to 1.
  Scope root = Scope::NewRootScope();
  ops::SoftmaxCrossEntropyWithLogits xent(
      root, ops::Const(root, FloatTensor({1, 4}, {2, 2, 2, 2})),
      ops::Const(root, FloatTensor({1, 4}, {0.5f, 0.25f, 0.25f, 0})));
  absl::StatusOr<std::vector<Tensor>> out = RunGraph(root, {}, {xent.loss, xent.backprop});
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectTensorNear((*out)[0], TensorShape({1}), {std::log(4.0f)});
  ExpectTensorNear((*out)[1], TensorShape({1, 4}), {-0.25f, 0, 0, 0.25f});
}

TEST(SoftmaxXentTest, LargeLogitsGiveFiniteLoss) {
  Scope root = Scope::NewRootScope();
  ops::SoftmaxCrossEntropyWithLogits xent(
      root, ops::Const(root, FloatTensor({2, 3}, {1000, 0, -1000, 1000, 1000, 1000})),
      ops::Const(root, FloatTensor({2, 3}, {0, 0, 1, 1, 0, 0})));
  absl::StatusOr<std::vector<Tensor>> out = RunGraph(root, {}, {xent.loss, xent.backprop});
  ASSERT_TRUE(out.ok()) << out.status();
  for (float v : (*out)[0].flat<float>()) EXPECT_TRUE(std::isfinite(v));
  for (float v : (*out)[1].flat<float>()) EXPECT_TRUE(std::isfinite(v));
  // Row 0: log_softmax(-1000) = -2000 - log(1 + e^-1000 + e^-2000). Row 1: log 3.
  ExpectTensorNear((*out)[0], TensorShape({2}), {2000.0f, std::log(3.0f)});
  ExpectTensorNear((*out)[1], TensorShape({2, 3}),
                   {1, 0, -1, 1.0f / 3 - 1, 1.0f / 3, 1.0f / 3});
}

TEST(SoftmaxXentTest, Errors) {
  {
    Scope root = Scope::NewRootScope();
    ops::SoftmaxCrossEntropyWithLogits(root, ops::Const(root, 0.0f, TensorShape({2, 3})),
                                       ops::Const(root, 0.0f, TensorShape({2, 4})));
    EXPECT_FALSE(root.ok());
  }
  {
    Scope root = Scope::NewRootScope();
    ops::SoftmaxCrossEntropyWithLogits(root, ops::Const(root, 0.0f, TensorShape({6})),
                                       ops::Const(root, 0.0f, TensorShape({6})));
    EXPECT_FALSE(root.ok());
  }
  {
    Scope root = Scope::NewRootScope();
    auto f = ops::Placeholder(root, DT_FLOAT);
    auto l = ops::Placeholder(root, DT_FLOAT);
    ops::SoftmaxCrossEntropyWithLogits xent(root, f, l);
    absl::StatusOr<Tensor> out =
        RunOne(root, xent.loss, {{f, RandomTensor({2, 3}, 1)}, {l, RandomTensor({3, 2}, 1)}});
    ASSERT_FALSE(out.ok());
    EXPECT_THAT(std::string(out.status().message()), HasSubstr("labels"));
    out = RunOne(root, xent.loss, {{f, RandomTensor({2, 3, 1}, 1)}, {l, RandomTensor({2, 3, 1}, 1)}});
    EXPECT_FALSE(out.ok());
  }
}

// ---------------------------------------------------------------------------------------------
// SparseSoftmaxCrossEntropyWithLogits

template <typename LabelT>
void CheckSparseXent(int64_t n, int64_t c) {
  SCOPED_TRACE(absl::StrCat(n, "x", c, " ", DataTypeString(DataTypeOf<LabelT>::value)));
  Scope root = Scope::NewRootScope();
  auto f = ops::Placeholder(root, DT_FLOAT);
  auto l = ops::Placeholder(root, DataTypeOf<LabelT>::value);
  ops::SparseSoftmaxCrossEntropyWithLogits xent(root, f, l);
  Tensor fv = RandomTensor(TensorShape({n, c}), 8, -4.0f, 4.0f);
  std::vector<LabelT> labels(n);
  for (int64_t i = 0; i < n; ++i) labels[i] = static_cast<LabelT>((i * 7 + 3) % c);
  absl::StatusOr<std::vector<Tensor>> out =
      RunGraph(root, {{f, fv}, {l, IntTensor(labels)}}, {xent.loss, xent.backprop});
  ASSERT_TRUE(out.ok()) << out.status();
  std::vector<float> loss(n), backprop(n * c);
  for (int64_t r = 0; r < n; ++r) {
    std::vector<double> logp = LogSoftmaxRow(fv, r);
    loss[r] = static_cast<float>(-logp[labels[r]]);
    for (int64_t j = 0; j < c; ++j) {
      backprop[r * c + j] = static_cast<float>(std::exp(logp[j]) - (j == labels[r] ? 1 : 0));
    }
  }
  ExpectTensorNear((*out)[0], TensorShape({n}), loss);
  ExpectTensorNear((*out)[1], TensorShape({n, c}), backprop);
}

TEST(SparseSoftmaxXentTest, MatchesReference) {
  for (auto [n, c] : std::vector<std::pair<int64_t, int64_t>>{{1, 5}, {5, 1}, {1, 1}, {257, 10}}) {
    CheckSparseXent<int32_t>(n, c);
    CheckSparseXent<int64_t>(n, c);
  }
}

TEST(SparseSoftmaxXentTest, TlabelsDefaultsToInt64AndIsInferred) {
  const OpDef* op = OpRegistry::Global()->Find("SparseSoftmaxCrossEntropyWithLogits");
  ASSERT_NE(op, nullptr);
  const AttrDef* attr = op->FindAttr("Tlabels");
  ASSERT_NE(attr, nullptr);
  ASSERT_TRUE(attr->default_value.has_value());
  EXPECT_EQ(attr->default_value->type(), DT_INT64);

  Scope root = Scope::NewRootScope();
  ops::SparseSoftmaxCrossEntropyWithLogits xent(root, ops::Const(root, 0.0f, TensorShape({2, 3})),
                                                ops::Const(root, {0, 2}));
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(xent.loss.node()->attrs().at("Tlabels").type(), DT_INT32);
}

TEST(SparseSoftmaxXentTest, LargeLogitsGiveFiniteLoss) {
  Scope root = Scope::NewRootScope();
  ops::SparseSoftmaxCrossEntropyWithLogits xent(
      root, ops::Const(root, FloatTensor({2, 3}, {1000, 0, -1000, -1000, -1000, -1000})),
      ops::Const(root, {2, 1}));
  absl::StatusOr<std::vector<Tensor>> out = RunGraph(root, {}, {xent.loss, xent.backprop});
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectTensorNear((*out)[0], TensorShape({2}), {2000.0f, std::log(3.0f)});
  ExpectTensorNear((*out)[1], TensorShape({2, 3}),
                   {1, 0, -1, 1.0f / 3, 1.0f / 3 - 1, 1.0f / 3});
}

TEST(SparseSoftmaxXentTest, LabelsOutOfRange) {
  for (int bad : {3, -1, 1000000}) {
    Scope root = Scope::NewRootScope();
    auto l = ops::Placeholder(root, DT_INT32);
    ops::SparseSoftmaxCrossEntropyWithLogits xent(root, ops::Const(root, 0.0f, TensorShape({2, 3})),
                                                  l);
    absl::StatusOr<Tensor> out = RunOne(root, xent.loss, {{l, IntTensor<int32_t>({0, bad})}});
    ASSERT_FALSE(out.ok()) << bad;
    EXPECT_THAT(std::string(out.status().message()), HasSubstr("outside the valid range"));
  }
  Scope root = Scope::NewRootScope();
  auto l = ops::Placeholder(root, DT_INT64);
  ops::SparseSoftmaxCrossEntropyWithLogits xent(root, ops::Const(root, 0.0f, TensorShape({1, 3})),
                                                l);
  absl::StatusOr<Tensor> out =
      RunOne(root, xent.loss, {{l, IntTensor<int64_t>({int64_t{1} << 40})}});
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(std::string(out.status().message()), HasSubstr("outside the valid range"));
}

TEST(SparseSoftmaxXentTest, ShapeErrors) {
  {
    Scope root = Scope::NewRootScope();
    ops::SparseSoftmaxCrossEntropyWithLogits(root, ops::Const(root, 0.0f, TensorShape({2, 3})),
                                             ops::Const(root, {0, 1, 2}));
    EXPECT_FALSE(root.ok());
  }
  {
    Scope root = Scope::NewRootScope();
    ops::SparseSoftmaxCrossEntropyWithLogits(root, ops::Const(root, 0.0f, TensorShape({2, 3})),
                                             ops::Const(root, {0.0f, 1.0f}));
    EXPECT_FALSE(root.ok());  // Float labels.
  }
  {
    Scope root = Scope::NewRootScope();
    auto f = ops::Placeholder(root, DT_FLOAT);
    auto l = ops::Placeholder(root, DT_INT32);
    ops::SparseSoftmaxCrossEntropyWithLogits xent(root, f, l);
    absl::StatusOr<Tensor> out =
        RunOne(root, xent.loss, {{f, RandomTensor({2, 3}, 1)}, {l, IntTensor<int32_t>({0})}});
    ASSERT_FALSE(out.ok());
    EXPECT_THAT(std::string(out.status().message()), HasSubstr("labels"));
    out = RunOne(root, xent.loss,
                 {{f, Tensor(DT_FLOAT, TensorShape({2, 0}))}, {l, IntTensor<int32_t>({0, 0})}});
    EXPECT_FALSE(out.ok());
  }
}

}  // namespace
}  // namespace test
}  // namespace dflow
