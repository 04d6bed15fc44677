// StridedSlice and StridedSliceGrad: hand-computed slices with every mask, Python-style 1-D
// slices, int64 specs, malformed specs, and the gradients against central differences.
#include "ops/array_ops.h"

#include <numeric>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "ops/standard_ops.h"
#include "tests/gradient_checker.h"
#include "tests/test_util.h"

namespace dflow {
namespace test {
namespace {

// The values of a float tensor.
constexpr auto Floats = ValuesOf<float>;

// ---------------------------------------------------------------------------------------------
// StridedSlice. x = 0..23 as [2,3,4]: x[i,j,k] = 12i + 4j + k.

struct SliceCase {
  const char* what;
  std::vector<int> begin, end, strides;
  ops::StridedSlice::Attrs attrs;
  TensorShape shape;
  std::vector<float> expected;
};

std::vector<SliceCase> SliceCases() {
  using S = ops::StridedSlice;
  return {
      {"x[1, -2:, ::-2]", {1, -2, 0}, {2, 0, 0}, {1, 1, -2},
       S::ShrinkAxisMask(1).EndMask(2 | 4).BeginMask(4), {2, 2}, {19, 17, 23, 21}},
      {"x[..., 1]", {0, 1}, {0, 2}, {1, 1}, S::EllipsisMask(1).ShrinkAxisMask(2), {2, 3},
       {1, 5, 9, 13, 17, 21}},
      {"x[:, None, 1:3, -1]", {0, 0, 1, -1}, {0, 0, 3, 0}, {1, 1, 1, 1},
       S::BeginMask(1).EndMask(1).NewAxisMask(2).ShrinkAxisMask(8), {2, 1, 2}, {7, 11, 19, 23}},
      {"x[0, 3:1]", {0, 3}, {1, 1}, {1, 1}, S::ShrinkAxisMask(1), {0, 4}, {}},
      {"x[-1, 1:100, -100:2]", {-1, 1, -100}, {0, 100, 2}, {1, 1, 1}, S::ShrinkAxisMask(1),
       {2, 2}, {16, 17, 20, 21}},
      {"x[1, ..., None]", {1, 0, 0}, {2, 0, 0}, {1, 1, 1},
       S::ShrinkAxisMask(1).EllipsisMask(2).NewAxisMask(4), {3, 4, 1},
       {12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23}},
      {"x[None, 1:, 2, 3]", {0, 1, 2, 3}, {0, 0, 3, 4}, {1, 1, 1, 1},
       S::NewAxisMask(1).EndMask(2).ShrinkAxisMask(4 | 8), {1, 1}, {23}},
      {"x[:, ::-1, 3:0:-2]", {0, 0, 3}, {0, 0, 0}, {1, -1, -2}, S::BeginMask(3).EndMask(3),
       {2, 3, 2}, {11, 9, 7, 5, 3, 1, 23, 21, 19, 17, 15, 13}},
  };
}

TEST(StridedSlice, MatchesHandComputedSlicesWithMasks) {
  for (const SliceCase& c : SliceCases()) {
    for (bool known_shape : {true, false}) {
      Scope root = Scope::NewRootScope();
      auto x = ops::Placeholder(root, DT_FLOAT,
                                ops::Placeholder::Shape(known_shape ? PartialTensorShape({2, 3, 4})
                                                                    : PartialTensorShape()));
      auto begin = ops::Const(root, Int32Tensor({static_cast<int64_t>(c.begin.size())},
                                                {c.begin.begin(), c.begin.end()}));
      auto end = ops::Const(root, Int32Tensor({static_cast<int64_t>(c.end.size())},
                                              {c.end.begin(), c.end.end()}));
      auto strides = ops::Const(root, Int32Tensor({static_cast<int64_t>(c.strides.size())},
                                                  {c.strides.begin(), c.strides.end()}));
      auto y = ops::StridedSlice(root, x, begin, end, strides, c.attrs);
      ASSERT_TRUE(root.ok()) << c.what << ": " << root.status();
      if (known_shape) {
        EXPECT_EQ(y.shape().DebugString(), PartialTensorShape(c.shape).DebugString()) << c.what;
      } else {
        EXPECT_TRUE(y.shape().unknown_rank()) << c.what;
      }
      absl::StatusOr<Tensor> out = test::RunOne(root, y, {{x, Iota({2, 3, 4})}});
      ASSERT_TRUE(out.ok()) << c.what << ": " << out.status();
      test::ExpectTensorNear(*out, c.shape, c.expected);
    }
  }
}

TEST(StridedSlice, OneDimensionalPythonSlices) {
  // y = 0..9; each case against Python's list slicing, worked by hand.
  struct Case {
    int begin, end, stride, begin_mask, end_mask;
    std::vector<float> expected;
  };
  const std::vector<Case> cases = {
      {0, 0, -1, 1, 1, {9, 8, 7, 6, 5, 4, 3, 2, 1, 0}},  // y[::-1]
      {8, 2, -3, 0, 0, {8, 5}},                          // y[8:2:-3]
      {-1, -11, -4, 0, 0, {9, 5, 1}},                    // y[-1:-11:-4]
      {-100, 100, 1, 0, 0, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
      {5, -100, -1, 0, 0, {5, 4, 3, 2, 1, 0}},
      {3, 3, 1, 0, 0, {}},
      {7, 2, 1, 0, 0, {}},
      {2, 7, -1, 0, 0, {}},
      {1, 0, 4, 0, 1, {1, 5, 9}},  // y[1::4]
      {0, 3, 2, 1, 0, {0, 2}},     // y[:3:2]
  };
  for (const Case& c : cases) {
    Scope root = Scope::NewRootScope();
    auto y = ops::StridedSlice(
        root, ops::Const(root, Iota({10})), {c.begin}, {c.end}, {c.stride},
        ops::StridedSlice::BeginMask(c.begin_mask).EndMask(c.end_mask));
    ASSERT_TRUE(root.ok()) << root.status();
    EXPECT_EQ(y.shape().DebugString(),
              absl::StrCat("[", c.expected.size(), "]"));
    absl::StatusOr<Tensor> out = test::RunOne(root, y);
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ(Floats(*out), c.expected)
        << "begin " << c.begin << " end " << c.end << " stride " << c.stride;
  }
}

TEST(StridedSlice, BatchSizeFromShapeAsInTheK210Graph) {
  // flatten: Reshape(x, Pack([StridedSlice(Shape(x), [0], [1], [1], shrink_axis_mask=1), -1])).
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({-1, 2, 2}));
  auto batch = ops::StridedSlice(root, ops::Shape(root, x), {0}, {1}, {1},
                                 ops::StridedSlice::ShrinkAxisMask(1));
  auto flat = ops::Reshape(root, x, ops::Pack(root, {batch, ops::Const(root, -1)}));
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(batch.shape().DebugString(), "[]");
  absl::StatusOr<std::vector<Tensor>> out =
      test::RunGraph(root, {{x, Iota({3, 2, 2})}}, {batch, flat});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].dtype(), DT_INT32);
  EXPECT_EQ((*out)[0].dims(), 0);
  EXPECT_EQ(Ints((*out)[0]), (std::vector<int64_t>{3}));
  test::ExpectTensorNear((*out)[1], {3, 4}, Floats(Iota({3, 4})));
}

TEST(StridedSlice, Int64IndicesAndIntegerData) {
  Scope root = Scope::NewRootScope();
  auto begin = ops::Const(root, *Tensor::FromVector<int64_t>({int64_t{-2}}, TensorShape({1})));
  auto end = ops::Const(root, *Tensor::FromVector<int64_t>({int64_t{0}}, TensorShape({1})));
  auto strides = ops::Const(root, *Tensor::FromVector<int64_t>({int64_t{1}}, TensorShape({1})));
  auto y = ops::StridedSlice(root, ops::Const(root, {4, 5, 6, 7}), begin, end, strides,
                             ops::StridedSlice::EndMask(1));
  absl::StatusOr<Tensor> out = test::RunOne(root, y);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(Ints(*out), (std::vector<int64_t>{6, 7}));
}

TEST(StridedSlice, MalformedSpecsAreErrors) {
  using S = ops::StridedSlice;
  struct Case {
    const char* what;
    std::vector<int> begin, end, strides;
    S::Attrs attrs;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"shrink index out of bounds", {2}, {3}, {1}, S::ShrinkAxisMask(1), "out of bounds"},
      {"negative shrink index out of bounds", {-3}, {-2}, {1}, S::ShrinkAxisMask(1),
       "out of bounds"},
      {"zero stride", {0}, {1}, {0}, S::Attrs(), "non-zero"},
      {"two ellipses", {0, 0}, {0, 0}, {1, 1}, S::EllipsisMask(3), "one ellipsis"},
      {"too many indices", {0, 0, 0, 0}, {1, 1, 1, 1}, {1, 1, 1, 1}, S::Attrs(), "out of range"},
      {"lengths differ", {0, 0}, {1}, {1}, S::Attrs(), "same length"},
  };
  for (const Case& c : cases) {
    // At graph build (constant spec, known shape) ...
    {
      Scope root = Scope::NewRootScope();
      auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({2, 3, 4}));
      ops::StridedSlice(root.WithOpName("s"), x,
                        Int32Tensor({static_cast<int64_t>(c.begin.size())}, {c.begin.begin(), c.begin.end()}),
                        Int32Tensor({static_cast<int64_t>(c.end.size())}, {c.end.begin(), c.end.end()}),
                        Int32Tensor({static_cast<int64_t>(c.strides.size())}, {c.strides.begin(), c.strides.end()}),
                        c.attrs);
      const std::string message = ErrorOf(root.status());
      EXPECT_TRUE(absl::StrContains(message, c.message)) << c.what << ": " << message;
      EXPECT_TRUE(absl::StrContains(message, "StridedSlice node 's'")) << message;
    }
    // ... and at run time (unknown shape, fed spec).
    {
      Scope root = Scope::NewRootScope();
      auto x = ops::Placeholder(root, DT_FLOAT);
      auto b = ops::Placeholder(root, DT_INT32);
      auto e = ops::Placeholder(root, DT_INT32);
      auto st = ops::Placeholder(root, DT_INT32);
      auto y = ops::StridedSlice(root.WithOpName("s"), x, b, e, st, c.attrs);
      ASSERT_TRUE(root.ok()) << root.status();
      absl::StatusOr<Tensor> out = test::RunOne(
          root, y,
          {{x, Iota({2, 3, 4})},
           {b, Int32Tensor({static_cast<int64_t>(c.begin.size())}, {c.begin.begin(), c.begin.end()})},
           {e, Int32Tensor({static_cast<int64_t>(c.end.size())}, {c.end.begin(), c.end.end()})},
           {st, Int32Tensor({static_cast<int64_t>(c.strides.size())}, {c.strides.begin(), c.strides.end()})}});
      const std::string message = ErrorOf(out.status());
      EXPECT_TRUE(absl::StrContains(message, c.message)) << c.what << ": " << message;
      EXPECT_TRUE(absl::StrContains(message, "'s'")) << message;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Slices of x = 0..119 as [2,5,4,3] (NHWC-like) whose trailing dims the kernels merge into longer
// runs, against a plain loop over the input indices. Spec values are in range (no masks);
// a negative stride stops before `end`.

struct BoxCase {
  const char* what;
  std::vector<int> begin, end, strides;
};

// The indices the slice takes along each dim.
std::vector<std::vector<int64_t>> TakenIndices(const std::vector<int64_t>& dims,
                                               const BoxCase& c) {
  std::vector<std::vector<int64_t>> taken(dims.size());
  for (size_t d = 0; d < dims.size(); ++d) {
    for (int64_t i = c.begin[d]; c.strides[d] > 0 ? i < c.end[d] : i > c.end[d];
         i += c.strides[d]) {
      taken[d].push_back(i);
    }
  }
  return taken;
}

// The slice's shape.
TensorShape SliceShape(const std::vector<int64_t>& dims, const BoxCase& c) {
  std::vector<int64_t> shape;
  for (const auto& t : TakenIndices(dims, c)) shape.push_back(static_cast<int64_t>(t.size()));
  return TensorShape(shape);
}

// The input's flat indices the slice takes, in output order.
std::vector<int64_t> SliceIndices(const std::vector<int64_t>& dims, const BoxCase& c) {
  const std::vector<std::vector<int64_t>> taken = TakenIndices(dims, c);
  std::vector<int64_t> out;
  for (int64_t a : taken[0]) {
    for (int64_t b : taken[1]) {
      for (int64_t h : taken[2]) {
        for (int64_t w : taken[3]) out.push_back(((a * dims[1] + b) * dims[2] + h) * dims[3] + w);
      }
    }
  }
  return out;
}

std::vector<BoxCase> BoxCases() {
  return {
      {"rows crop (whole last two dims)", {0, 1, 0, 0}, {2, 4, 4, 3}, {1, 1, 1, 1}},
      {"one image's rows", {1, 1, 0, 0}, {2, 4, 4, 3}, {1, 1, 1, 1}},
      {"every other row, whole rows", {0, 0, 0, 0}, {2, 5, 4, 3}, {1, 2, 1, 1}},
      {"one row taken with step 3", {1, 2, 0, 0}, {2, 5, 4, 3}, {1, 3, 1, 1}},
      {"partial columns", {0, 0, 1, 0}, {2, 5, 3, 3}, {1, 1, 1, 1}},
      {"two of three channels", {0, 1, 0, 1}, {2, 5, 4, 3}, {1, 1, 1, 1}},
      {"channels with step 2", {0, 0, 0, 0}, {2, 5, 4, 3}, {1, 1, 1, 2}},
      {"reversed columns, whole channels", {0, 0, 3, 0}, {2, 5, 0, 3}, {1, 1, -1, 1}},
      {"reversed channels", {1, 4, 0, 2}, {0, 0, 4, 0}, {-1, -2, 1, -1}},
      {"the whole tensor", {0, 0, 0, 0}, {2, 5, 4, 3}, {1, 1, 1, 1}},
  };
}

Output Spec(const Scope& root, const std::vector<int>& v) {
  return ops::Const(root, Int32Tensor({static_cast<int64_t>(v.size())}, {v.begin(), v.end()}));
}

TEST(StridedSlice, MergedRunsMatchAPlainLoopForEveryElementSize) {
  const std::vector<int64_t> dims = {2, 5, 4, 3};
  for (const BoxCase& c : BoxCases()) {
    const std::vector<int64_t> idx = SliceIndices(dims, c);
    for (DataType type : {DT_FLOAT, DT_INT64, DT_UINT8}) {
      Scope root = Scope::NewRootScope();
      auto x = ops::Placeholder(root, DT_FLOAT);
      auto y = ops::StridedSlice(root, ops::Cast(root, x, type), Spec(root, c.begin),
                                 Spec(root, c.end), Spec(root, c.strides));
      ASSERT_TRUE(root.ok()) << c.what << ": " << root.status();
      absl::StatusOr<Tensor> out =
          test::RunOne(root, ops::Cast(root, y, DT_FLOAT), {{x, Iota(TensorShape(dims))}});
      ASSERT_TRUE(out.ok()) << c.what << ": " << out.status();
      std::vector<float> expected(idx.begin(), idx.end());  // x's value is its index.
      EXPECT_EQ(Floats(*out), expected) << c.what << " " << DataTypeString(type);
    }
  }
}

TEST(StridedSliceGrad, MergedRunsMatchAPlainScatter) {
  const std::vector<int64_t> dims = {2, 5, 4, 3};
  for (const BoxCase& c : BoxCases()) {
    const std::vector<int64_t> idx = SliceIndices(dims, c);
    std::vector<float> dy(idx.size()), expected(120, 0.f);
    for (size_t k = 0; k < idx.size(); ++k) {
      dy[k] = 1000.f + static_cast<float>(k);
      expected[idx[k]] = dy[k];
    }
    Scope root = Scope::NewRootScope();
    auto dy_in = ops::Placeholder(root, DT_FLOAT);
    auto g = ops::StridedSliceGrad(root, {2, 5, 4, 3}, Spec(root, c.begin), Spec(root, c.end),
                                   Spec(root, c.strides), dy_in);
    ASSERT_TRUE(root.ok()) << c.what << ": " << root.status();
    absl::StatusOr<Tensor> out =
        test::RunOne(root, g, {{dy_in, test::FloatTensor(SliceShape(dims, c), dy)}});
    ASSERT_TRUE(out.ok()) << c.what << ": " << out.status();
    EXPECT_EQ(Floats(*out), expected) << c.what;
  }
}

TEST(StridedSliceGrad, ScattersIntoZerosOfTheInputShape) {
  Scope root = Scope::NewRootScope();
  // x[1:5:2] of a [5] vector, and x[1] (shrunk) of a [2,3] matrix.
  auto g1 = ops::StridedSliceGrad(root, {5}, {1}, {5}, {2}, ops::Const(root, {10.f, 20.f}));
  auto g2 = ops::StridedSliceGrad(root, {2, 3}, {1}, {2}, {1}, ops::Const(root, {1.f, 2.f, 3.f}),
                                  ops::StridedSliceAttrs().ShrinkAxisMask(1));
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(g2.shape().DebugString(), "[2,3]");
  absl::StatusOr<std::vector<Tensor>> out = test::RunGraph(root, {}, {g1, g2});
  ASSERT_TRUE(out.ok()) << out.status();
  test::ExpectTensorNear((*out)[0], {5}, {0, 10, 0, 20, 0});
  test::ExpectTensorNear((*out)[1], {2, 3}, {0, 0, 0, 1, 2, 3});
}

TEST(StridedSliceGrad, DyOfTheWrongShapeIsAnError) {
  Scope root = Scope::NewRootScope();
  auto dy = ops::Placeholder(root, DT_FLOAT);
  auto g = ops::StridedSliceGrad(root, {5}, {1}, {5}, {2}, dy);
  absl::StatusOr<Tensor> out = test::RunOne(root, g, {{dy, test::FloatTensor({3}, {1, 2, 3})}});
  EXPECT_TRUE(absl::StrContains(ErrorOf(out.status()), "dy has shape [3]")) << out.status();
}

TEST(StridedSlice, GradientsMatchCentralDifferences) {
  for (const SliceCase& c : SliceCases()) {
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT);
    auto begin = Int32Tensor({static_cast<int64_t>(c.begin.size())}, {c.begin.begin(), c.begin.end()});
    auto end = Int32Tensor({static_cast<int64_t>(c.end.size())}, {c.end.begin(), c.end.end()});
    auto strides = Int32Tensor({static_cast<int64_t>(c.strides.size())}, {c.strides.begin(), c.strides.end()});
    // Square first so the gradient depends on x's values.
    auto y = ops::StridedSlice(root, ops::Square(root, x), begin, end, strides, c.attrs);
    absl::StatusOr<double> err =
        test::MaxGradientError(root, {{x, test::RandomTensor({2, 3, 4}, 5)}}, y);
    ASSERT_TRUE(err.ok()) << c.what << ": " << err.status();
    EXPECT_LT(*err, 1e-3) << c.what;
  }
}

TEST(StridedSlice, GradientWithInt64SpecFedAtRunTime) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto b = ops::Placeholder(root, DT_INT64);
  auto e = ops::Placeholder(root, DT_INT64);
  auto st = ops::Placeholder(root, DT_INT64);
  auto y = ops::StridedSlice(root, ops::Square(root, x), b, e, st, ops::StridedSlice::EndMask(2));
  auto vec = [](std::vector<int64_t> v) {
    return *Tensor::FromVector<int64_t>(v, TensorShape({static_cast<int64_t>(v.size())}));
  };
  // x[-1:0:-1, 1:] of a [4,3].
  absl::StatusOr<double> err = test::MaxGradientError(
      root, {{x, test::RandomTensor({4, 3}, 6)}}, y,
      {{b, vec({-1, 1})}, {e, vec({0, 0})}, {st, vec({-1, 1})}});
  ASSERT_TRUE(err.ok()) << err.status();
  EXPECT_LT(*err, 1e-3);
}

TEST(StridedSliceGrad, SecondOrderGradientSlicesTheIncomingGradient) {
  // StridedSliceGrad is linear in dy; its gradient with respect to dy is the slice.
  Scope root2 = Scope::NewRootScope();
  auto dy2 = ops::Placeholder(root2, DT_FLOAT);
  auto y = ops::StridedSliceGrad(root2, {2, 5}, {0, 4}, {0, 0}, {1, -2}, ops::Square(root2, dy2),
                                 ops::StridedSliceAttrs().BeginMask(1).EndMask(1 | 2));
  absl::StatusOr<double> err =
      test::MaxGradientError(root2, {{dy2, test::RandomTensor({2, 3}, 8)}}, y);
  ASSERT_TRUE(err.ok()) << err.status();
  EXPECT_LT(*err, 1e-3);
}

}  // namespace
}  // namespace test
}  // namespace dflow
