// Gather, GatherV2 (axis, batch_dims), GatherNd, ScatterNd, OneHot, UnsortedSegmentSum, TopKV2,
// Where, ShapeN, Size, BroadcastTo, Concat and ConcatOffset: against the index-map references
// of tests/reference.h and hand-computed values, odd shapes and batch 1, int32 and int64
// indices, errors, and the gradients against central differences.
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "ops/standard_ops.h"
#include "tests/gradient_checker.h"
#include "tests/reference.h"
#include "tests/test_util.h"

namespace dflow {
namespace test {
namespace {

constexpr auto Floats = ValuesOf<float>;

// The values of `t` at the flat positions `src`.
std::vector<float> Picked(const Tensor& t, const std::vector<int64_t>& src) {
  std::vector<float> out;
  for (int64_t s : src) out.push_back(t.flat<float>()[s]);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Gather, GatherV2

TEST(GatherV2, MatchesReferenceAlongEveryAxisWithBatchDims) {
  struct Case {
    TensorShape params;
    std::vector<int64_t> indices;
    TensorShape indices_shape;
    int axis, batch_dims;
  };
  for (const Case& c : std::vector<Case>{
           {{5, 3}, {4, 0, 0, 2}, {2, 2}, 0, 0},
           {{5, 3}, {2, 1}, {2}, 1, 0},
           {{2, 3, 4}, {3, 3, 0}, {3}, -1, 0},
           {{1, 4}, {3}, {}, 1, 0},
           {{2, 4, 3}, {0, 3, 1, 1, 2, 0, 0, 3, 3, 3}, {2, 5}, 1, 1},
           {{2, 4, 3}, {2, 0, 1, 1}, {2, 2}, 2, 1},
           {{3, 2}, {}, {0}, 0, 0}}) {
    const int axis = c.axis < 0 ? c.axis + c.params.dims() : c.axis;
    const std::vector<int64_t> src =
        GatherSourceRef(c.params, c.indices, c.indices_shape, axis, c.batch_dims);
    for (DataType index_type : {DT_INT32, DT_INT64}) {
      Scope root = Scope::NewRootScope();
      auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape(c.params));
      Tensor idx = Make<int64_t>(c.indices_shape, c.indices);
      if (index_type == DT_INT32) {
        idx = Make<int32_t>(c.indices_shape,
                            std::vector<int32_t>(c.indices.begin(), c.indices.end()));
      }
      auto y = ops::GatherV2(root, x, idx, c.axis, ops::GatherV2::BatchDims(c.batch_dims));
      ASSERT_TRUE(root.ok()) << root.status();
      ASSERT_TRUE(y.shape().IsFullyDefined()) << y.shape().DebugString();
      const Tensor in = Iota(c.params);
      absl::StatusOr<Tensor> out = RunOne(root, y, {{x, in}});
      ASSERT_TRUE(out.ok()) << out.status();
      EXPECT_EQ(out->shape(), *y.shape().AsTensorShape());
      EXPECT_EQ(Floats(*out), Picked(in, src)) << c.params.DebugString() << " axis " << c.axis;
    }
  }
}

TEST(Gather, OldOpGathersRowsOfAnyType) {
  Scope root = Scope::NewRootScope();
  auto y = ops::Gather(root, Make<int64_t>({3, 2}, {1, 2, 3, 4, 5, 6}),
                       Make<int32_t>({2, 2}, {2, 0, 1, 2}));
  absl::StatusOr<Tensor> out = RunOne(root, y);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->shape(), TensorShape({2, 2, 2}));
  EXPECT_EQ(ValuesOf<int64_t>(*out), (std::vector<int64_t>{5, 6, 1, 2, 3, 4, 5, 6}));
  Scope r2 = Scope::NewRootScope();
  auto b = ops::GatherV2(r2, Make<bool>({3}, {true, false, true}), IntTensor<int32_t>({1, 2}), 0);
  out = RunOne(r2, b);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(ValuesOf<bool>(*out), (std::vector<bool>{false, true}));
}

TEST(GatherV2, RejectsOutOfRangeIndicesAndBadAxes) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto i = ops::Placeholder(root, DT_INT32);
  auto y = ops::GatherV2(root, x, i, 1);
  absl::StatusOr<Tensor> out =
      RunOne(root, y, {{x, Iota({2, 3})}, {i, IntTensor<int32_t>({0, 3})}});
  EXPECT_TRUE(absl::StrContains(ErrorOf(out.status()), "indices[1] = 3 is not in [0, 3)"))
      << out.status();
  out = RunOne(root, y, {{x, Iota({2, 3})}, {i, IntTensor<int32_t>({-1})}});
  EXPECT_FALSE(out.ok());
  Scope r2 = Scope::NewRootScope();
  auto x2 = ops::Placeholder(r2, DT_FLOAT, ops::Placeholder::Shape({2, 3}));
  ops::GatherV2(r2, x2, IntTensor<int32_t>({0}), 2);
  EXPECT_TRUE(absl::StrContains(ErrorOf(r2), "out of range")) << ErrorOf(r2);
  Scope r3 = Scope::NewRootScope();
  auto x3 = ops::Placeholder(r3, DT_FLOAT, ops::Placeholder::Shape({2, 3}));
  ops::GatherV2(r3, x3, Int32Tensor({3, 1}, {0, 0, 0}), 1, ops::GatherV2::BatchDims(1));
  EXPECT_TRUE(absl::StrContains(ErrorOf(r3), "batch dim")) << ErrorOf(r3);
}

TEST(GatherV2, GradientsMatchNumericWithRepeatedIndices) {
  const Tensor v = RandomTensor({3, 2, 4}, 11);
  CheckGradient(v, "gather", [](const Scope& s, Output x) {
    return ops::Gather(s, x, Int32Tensor({2, 2}, {2, 0, 2, 2}));
  });
  CheckGradient(v, "gather axis 1", [](const Scope& s, Output x) {
    return ops::GatherV2(s, x, IntTensor<int64_t>({1, 1, 0}), 1);
  });
  CheckGradient(v, "gather axis -1", [](const Scope& s, Output x) {
    return ops::GatherV2(s, x, Int32Tensor({2}, {3, 0}), -1);
  });
  CheckGradient(v, "gather batch_dims 1", [](const Scope& s, Output x) {
    return ops::GatherV2(s, x, Int32Tensor({3, 2}, {1, 0, 1, 1, 0, 0}), 1,
                         ops::GatherV2::BatchDims(1));
  });
}

// ---------------------------------------------------------------------------------------------
// GatherNd, ScatterNd

TEST(GatherNd, GathersElementsAndSlices) {
  const Tensor params = Iota({3, 4, 2});  // p[i, j, k] = 8i + 2j + k.
  Scope root = Scope::NewRootScope();
  auto elements = ops::GatherNd(root, params, Int32Tensor({2, 3}, {1, 2, 1, 0, 3, 0}));
  auto rows = ops::GatherNd(root, params, Make<int64_t>({1, 2, 1}, {2, 0}));
  auto pairs = ops::GatherNd(root, params, Int32Tensor({2}, {2, 3}));
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(rows.shape(), PartialTensorShape({1, 2, 4, 2}));
  absl::StatusOr<std::vector<Tensor>> out = RunGraph(root, {}, {elements, rows, pairs});
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectTensorNear((*out)[0], {2}, {13, 6});
  std::vector<float> want;
  for (int i : {2, 0}) {
    for (int j = 0; j < 8; ++j) want.push_back(8 * i + j);
  }
  ExpectTensorNear((*out)[1], {1, 2, 4, 2}, want);
  ExpectTensorNear((*out)[2], {2}, {22, 23});
  Scope r2 = Scope::NewRootScope();
  auto bad = ops::GatherNd(r2, params, Int32Tensor({1, 2}, {1, 4}));
  absl::StatusOr<Tensor> e = RunOne(r2, bad);
  EXPECT_TRUE(absl::StrContains(ErrorOf(e.status()), "does not index into")) << e.status();
}

TEST(ScatterNd, AddsUpdatesIncludingDuplicates) {
  Scope root = Scope::NewRootScope();
  auto y = ops::ScatterNd(root, Int32Tensor({3, 1}, {4, 1, 4}), FloatTensor({3}, {9, 10, 11}),
                          IntTensor<int32_t>({6}));
  auto rows = ops::ScatterNd(root, Make<int64_t>({1, 1}, {1}), FloatTensor({1, 2}, {5, 6}),
                             IntTensor<int64_t>({3, 2}));
  absl::StatusOr<std::vector<Tensor>> out = RunGraph(root, {}, {y, rows});
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectTensorNear((*out)[0], {6}, {0, 10, 0, 0, 20, 0});
  ExpectTensorNear((*out)[1], {3, 2}, {0, 0, 5, 6, 0, 0});
}

TEST(GatherNd, GradientsMatchNumeric) {
  CheckGradient(RandomTensor({3, 2, 2}, 12), "gather nd", [](const Scope& s, Output x) {
    return ops::GatherNd(s, x, Int32Tensor({3, 2}, {0, 1, 2, 0, 0, 1}));
  });
  CheckGradient(RandomTensor({2, 3}, 13), "scatter nd", [](const Scope& s, Output u) {
    return ops::ScatterNd(s, Int32Tensor({2, 1}, {2, 0}), u, IntTensor<int32_t>({4, 3}));
  });
}

// ---------------------------------------------------------------------------------------------
// OneHot

TEST(OneHot, PlacesOnValuesAlongTheAxis) {
  Scope root = Scope::NewRootScope();
  const Tensor idx = Make<int64_t>({4}, {0, 2, -1, 5});
  auto last = ops::OneHot(root, idx, 3, 5.f, -1.f);
  auto first = ops::OneHot(root, Int32Tensor({2, 2}, {1, 0, 2, 1}), 3, 1.f, 0.f,
                           ops::OneHot::Axis(0));
  auto ints = ops::OneHot(root, Make<uint8_t>({2}, {1, 0}), 2, 7, 0);
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(last.shape(), PartialTensorShape({4, 3}));
  EXPECT_EQ(first.shape(), PartialTensorShape({3, 2, 2}));
  absl::StatusOr<std::vector<Tensor>> out = RunGraph(root, {}, {last, first, ints});
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectTensorNear((*out)[0], {4, 3}, {5, -1, -1, -1, -1, 5, -1, -1, -1, -1, -1, -1});
  ExpectTensorNear((*out)[1], {3, 2, 2}, {0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0});
  EXPECT_EQ(ValuesOf<int32_t>((*out)[2]), (std::vector<int32_t>{0, 7, 7, 0}));
  Scope r2 = Scope::NewRootScope();
  ops::OneHot(r2, idx, -2, 1.f, 0.f);
  EXPECT_TRUE(absl::StrContains(ErrorOf(r2), "depth")) << ErrorOf(r2);
}

// ---------------------------------------------------------------------------------------------
// UnsortedSegmentSum

TEST(UnsortedSegmentSum, SumsRowsDroppingNegativeIds) {
  Scope root = Scope::NewRootScope();
  auto y = ops::UnsortedSegmentSum(root, FloatTensor({4, 2}, {1, 2, 3, 4, 5, 6, 7, 8}),
                                   IntTensor<int32_t>({0, 2, -1, 0}), 4);
  auto ints = ops::UnsortedSegmentSum(root, Make<int64_t>({2, 2}, {1, 2, 3, 4}),
                                      Make<int64_t>({2, 2}, {1, 1, 0, 1}),
                                      Tensor::Scalar<int64_t>(2));
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(y.shape(), PartialTensorShape({4, 2}));
  absl::StatusOr<std::vector<Tensor>> out = RunGraph(root, {}, {y, ints});
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectTensorNear((*out)[0], {4, 2}, {8, 10, 0, 0, 3, 4, 0, 0});
  EXPECT_EQ(ValuesOf<int64_t>((*out)[1]), (std::vector<int64_t>{3, 7}));
  Scope r2 = Scope::NewRootScope();
  auto bad = ops::UnsortedSegmentSum(r2, FloatTensor({2}, {1, 2}), IntTensor<int32_t>({0, 3}), 3);
  EXPECT_TRUE(absl::StrContains(ErrorOf(RunOne(r2, bad).status()), "out of range"));
}

TEST(UnsortedSegmentSum, GradientMatchesNumeric) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto y = ops::UnsortedSegmentSum(root, x, IntTensor<int32_t>({1, -1, 1, 0}), 3);
  ExpectGradientOk(root, {{x, RandomTensor({4, 3}, 14)}}, y, "unsorted segment sum");
}

// ---------------------------------------------------------------------------------------------
// TopKV2

TEST(TopKV2, MatchesReferenceWithTiesByLowerIndex) {
  struct Case {
    TensorShape shape;
    int k;
  };
  for (const Case& c : std::vector<Case>{{{1, 7}, 3}, {{4, 5}, 5}, {{2, 3, 6}, 1}, {{6}, 0},
                                         {{3, 4}, 2}}) {
    // Values from a few levels, so that ties are common.
    Tensor x(DT_FLOAT, c.shape);
    Tensor r = RandomTensor(c.shape, 15);
    for (int64_t i = 0; i < x.NumElements(); ++i) {
      x.flat<float>()[i] = std::floor(r.flat<float>()[i] * 3);
    }
    const int64_t n = c.shape.dim_size(c.shape.dims() - 1);
    const TopKRefResult want = TopKRef(Floats(x), n, c.k);
    Scope root = Scope::NewRootScope();
    auto in = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape(c.shape));
    ops::TopK top(root, in, c.k);
    ASSERT_TRUE(root.ok()) << root.status();
    TensorShape out_shape = c.shape;
    out_shape.set_dim(c.shape.dims() - 1, c.k);
    EXPECT_EQ(top.values.shape(), PartialTensorShape(out_shape));
    absl::StatusOr<std::vector<Tensor>> out = RunGraph(root, {{in, x}}, {top.values, top.indices});
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ(Floats((*out)[0]), want.values) << c.shape.DebugString();
    EXPECT_EQ(Ints((*out)[1]), want.indices) << c.shape.DebugString();
  }
}

TEST(TopKV2, IntValuesAndErrors) {
  Scope root = Scope::NewRootScope();
  ops::TopK top(root, IntTensor<int32_t>({3, 9, 3, 9, 1}), 3);
  absl::StatusOr<std::vector<Tensor>> out = RunGraph(root, {}, {top.values, top.indices});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(ValuesOf<int32_t>((*out)[0]), (std::vector<int32_t>{9, 9, 3}));
  EXPECT_EQ(ValuesOf<int32_t>((*out)[1]), (std::vector<int32_t>{1, 3, 0}));
  Scope r2 = Scope::NewRootScope();
  auto x = ops::Placeholder(r2, DT_FLOAT, ops::Placeholder::Shape({2, 3}));
  ops::TopK(r2, x, 4);
  EXPECT_TRUE(absl::StrContains(ErrorOf(r2), "last dimension >= k")) << ErrorOf(r2);
  Scope r3 = Scope::NewRootScope();
  auto x3 = ops::Placeholder(r3, DT_FLOAT);
  auto k = ops::Placeholder(r3, DT_INT32);
  ops::TopK t3(r3, x3, k);
  EXPECT_FALSE(RunGraph(r3, {{x3, Iota({2, 3})}, {k, Tensor::Scalar<int32_t>(4)}},
                        {t3.values}).ok());
  EXPECT_FALSE(RunGraph(r3, {{x3, Iota({2, 3})}, {k, Tensor::Scalar<int32_t>(-1)}},
                        {t3.values}).ok());
}

TEST(TopKV2, GradientMatchesNumeric) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  ops::TopK top(root, x, 2);
  ExpectGradientOk(root, {{x, RandomTensor({3, 5}, 16)}}, top.values, "top k");
}

// ---------------------------------------------------------------------------------------------
// Where

TEST(Where, ReturnsCoordinatesInRowMajorOrder) {
  Scope root = Scope::NewRootScope();
  auto b = ops::Where(root, Make<bool>({2, 3}, {true, false, false, false, true, true}));
  auto f = ops::Where(root, FloatTensor({4}, {0, -2, 0, 0.5f}));
  auto none = ops::Where(root, Make<bool>({1, 2, 2}, {false, false, false, false}));
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(b.type(), DT_INT64);
  EXPECT_EQ(b.shape(), PartialTensorShape({-1, 2}));
  absl::StatusOr<std::vector<Tensor>> out = RunGraph(root, {}, {b, f, none});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].shape(), TensorShape({3, 2}));
  EXPECT_EQ(ValuesOf<int64_t>((*out)[0]), (std::vector<int64_t>{0, 0, 1, 1, 1, 2}));
  EXPECT_EQ(ValuesOf<int64_t>((*out)[1]), (std::vector<int64_t>{1, 3}));
  EXPECT_EQ((*out)[2].shape(), TensorShape({0, 3}));
}

// ---------------------------------------------------------------------------------------------
// ShapeN, Size, BroadcastTo

TEST(ShapeN, SizeAndBroadcastTo) {
  Scope root = Scope::NewRootScope();
  auto a = ops::Placeholder(root, DT_FLOAT);
  auto b = ops::Placeholder(root, DT_FLOAT);
  ops::ShapeN shapes(root, {a, b}, DT_INT64);
  auto size = ops::Size(root, a);
  auto size64 = ops::Size(root, b, DT_INT64);
  auto bt = ops::BroadcastTo(root, FloatTensor({3, 1}, {1, 2, 3}), {2, 3, 2});
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(bt.shape(), PartialTensorShape({2, 3, 2}));
  absl::StatusOr<std::vector<Tensor>> out = RunGraph(
      root, {{a, Iota({1, 4, 3})}, {b, FloatTensor({0}, {})}},
      {shapes.output[0], shapes.output[1], size, size64, bt});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(ValuesOf<int64_t>((*out)[0]), (std::vector<int64_t>{1, 4, 3}));
  EXPECT_EQ(ValuesOf<int64_t>((*out)[1]), (std::vector<int64_t>{0}));
  EXPECT_EQ((*out)[2].scalar<int32_t>(), 12);
  EXPECT_EQ((*out)[3].scalar<int64_t>(), 0);
  ExpectTensorNear((*out)[4], {2, 3, 2}, {1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3});
  Scope r2 = Scope::NewRootScope();
  ops::BroadcastTo(r2, FloatTensor({2}, {1, 2}), {3});
  EXPECT_TRUE(absl::StrContains(ErrorOf(r2), "cannot broadcast")) << ErrorOf(r2);
}

TEST(BroadcastTo, GradientMatchesNumeric) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto y = ops::BroadcastTo(root, x, {2, 3, 4});
  ExpectGradientOk(root, {{x, RandomTensor({3, 1}, 17)}}, y, "broadcast to");
}

// ---------------------------------------------------------------------------------------------
// Concat, ConcatOffset

TEST(Concat, JoinsAlongTheLeadingAxisInput) {
  Scope root = Scope::NewRootScope();
  const Tensor a = FloatTensor({2, 1}, {1, 2}), b = FloatTensor({2, 2}, {3, 4, 5, 6});
  auto y = ops::Concat(root, -1, {ops::Const(root, a), ops::Const(root, b)});
  auto z = ops::Concat(root, 0, {ops::Const(root, a), ops::Const(root, FloatTensor({1, 1}, {9}))});
  ops::ConcatOffset off(root, 1, {ops::Const(root, {2, 1}), ops::Const(root, {2, 2}),
                                  ops::Const(root, {2, 5})});
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(y.shape(), PartialTensorShape({2, 3}));
  absl::StatusOr<std::vector<Tensor>> out =
      RunGraph(root, {}, {y, z, off.offset[0], off.offset[1], off.offset[2]});
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectTensorNear((*out)[0], {2, 3}, {1, 3, 4, 2, 5, 6});
  ExpectTensorNear((*out)[1], {3, 1}, {1, 2, 9});
  EXPECT_EQ(ValuesOf<int32_t>((*out)[2]), (std::vector<int32_t>{0, 0}));
  EXPECT_EQ(ValuesOf<int32_t>((*out)[3]), (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(ValuesOf<int32_t>((*out)[4]), (std::vector<int32_t>{0, 3}));
  Scope r2 = Scope::NewRootScope();
  ops::Concat(r2, 0, {ops::Const(r2, a), ops::Const(r2, b)});
  EXPECT_TRUE(absl::StrContains(ErrorOf(r2), "differs")) << ErrorOf(r2);
}

TEST(Concat, GradientMatchesNumeric) {
  Scope root = Scope::NewRootScope();
  auto a = ops::Placeholder(root, DT_FLOAT);
  auto b = ops::Placeholder(root, DT_FLOAT);
  auto y = ops::Concat(root, 1, {a, b});
  auto w = ops::Mul(root, y, y);
  ExpectGradientOk(root, {{a, RandomTensor({2, 3}, 18)}, {b, RandomTensor({2, 1}, 19)}}, w,
                   "concat");
}

}  // namespace
}  // namespace test
}  // namespace dflow
