// Tests of ResizeBilinear, ResizeNearestNeighbor and their grad ops: hand-computed values for
// each coordinate mode (legacy, align_corners, half_pixel_centers), plain-loop references of
// tests/reference.h over up- and down-sampling with odd sizes and batch 1, integer images,
// input checks, and the gradients through the numeric checker.
#include <cstdint>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ops/array_ops.h"
#include "ops/image_ops.h"
#include "runtime/session.h"
#include "tests/gradient_checker.h"
#include "tests/reference.h"
#include "tests/test_util.h"

namespace dflow {
namespace test {
namespace {

using ::testing::HasSubstr;

struct Mode {
  bool align, half;
  std::string Name() const {
    return align ? "align_corners" : half ? "half_pixel_centers" : "legacy";
  }
  ops::ResizeAttrs Attrs() const {
    return ops::ResizeAttrs().AlignCorners(align).HalfPixelCenters(half);
  }
};
constexpr Mode kModes[] = {{false, false}, {true, false}, {false, true}};

absl::StatusOr<Tensor> Resize(bool bilinear, const Tensor& x, int32_t oh, int32_t ow,
                              const Mode& m) {
  Scope root = Scope::NewRootScope();
  auto size = ops::Const(root, {oh, ow});
  Output y = bilinear ? ops::ResizeBilinear(root, ops::Const(root, x), size, m.Attrs())
                      : ops::ResizeNearestNeighbor(root, ops::Const(root, x), size, m.Attrs());
  return RunOne(root, y);
}

const Tensor& Image2x2() {
  static const Tensor* t = new Tensor(FloatTensor({1, 2, 2, 1}, {1, 2, 3, 4}));
  return *t;
}

TEST(ResizeBilinearTest, HandComputedValues) {
  absl::StatusOr<Tensor> y = Resize(true, Image2x2(), 4, 4, kModes[0]);
  ASSERT_TRUE(y.ok()) << y.status();
  ExpectTensorNear(*y, TensorShape({1, 4, 4, 1}),
                   {1, 1.5, 2, 2, 2, 2.5, 3, 3, 3, 3.5, 4, 4, 3, 3.5, 4, 4});
  y = Resize(true, Image2x2(), 3, 3, kModes[1]);
  ASSERT_TRUE(y.ok()) << y.status();
  ExpectTensorNear(*y, TensorShape({1, 3, 3, 1}), {1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4});
  y = Resize(true, Image2x2(), 4, 4, kModes[2]);
  ASSERT_TRUE(y.ok()) << y.status();
  ExpectTensorNear(*y, TensorShape({1, 4, 4, 1}),
                   {1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75,
                    4});
}

TEST(ResizeNearestNeighborTest, HandComputedValues) {
  const Tensor x = FloatTensor({1, 1, 3, 1}, {10, 20, 30});
  // 3 -> 2: legacy floor(0, 1.5) = 0, 1; align_corners round(0, 2) = 0, 2; half-pixel
  // floor(0.75, 2.25) = 0, 2.
  const std::vector<std::vector<float>> expected = {{10, 20}, {10, 30}, {10, 30}};
  for (int m = 0; m < 3; ++m) {
    SCOPED_TRACE(kModes[m].Name());
    absl::StatusOr<Tensor> y = Resize(false, x, 1, 2, kModes[m]);
    ASSERT_TRUE(y.ok()) << y.status();
    ExpectTensorNear(*y, TensorShape({1, 1, 2, 1}), expected[m]);
  }
  // 3 -> 5 with align_corners: scale 0.5, round half away from zero: 0, 1, 1, 2, 2.
  absl::StatusOr<Tensor> y = Resize(false, x, 1, 5, kModes[1]);
  ASSERT_TRUE(y.ok()) << y.status();
  ExpectTensorNear(*y, TensorShape({1, 1, 5, 1}), {10, 20, 20, 30, 30});
}

struct SizeCase {
  std::vector<int64_t> in;
  int32_t oh, ow;
};
const std::vector<SizeCase>& SizeCases() {
  static const auto* cases = new std::vector<SizeCase>{
      {{1, 5, 7, 3}, 11, 4}, {{2, 4, 4, 2}, 7, 9}, {{1, 9, 6, 1}, 3, 5},
      {{3, 1, 1, 2}, 3, 2},  {{1, 6, 6, 3}, 1, 1}, {{2, 3, 5, 4}, 3, 5},  // Same size.
  };
  return *cases;
}

TEST(ResizeTest, MatchesReference) {
  uint64_t seed = 1;
  for (const SizeCase& c : SizeCases()) {
    for (const Mode& m : kModes) {
      const Tensor x = RandomTensor(TensorShape(absl::MakeConstSpan(c.in)), seed++);
      SCOPED_TRACE(absl::StrCat(x.shape().DebugString(), " -> ", c.oh, "x", c.ow, " ", m.Name()));
      const TensorShape out({c.in[0], c.oh, c.ow, c.in[3]});
      absl::StatusOr<Tensor> y = Resize(true, x, c.oh, c.ow, m);
      ASSERT_TRUE(y.ok()) << y.status();
      ExpectTensorNear(*y, out, ResizeBilinearRef(x, c.oh, c.ow, m.align, m.half), 1e-5f);
      y = Resize(false, x, c.oh, c.ow, m);
      ASSERT_TRUE(y.ok()) << y.status();
      ExpectTensorNear(*y, out, ResizeNearestRef(x, c.oh, c.ow, m.align, m.half), 0.0f);
    }
  }
}

TEST(ResizeTest, GradOpsMatchReference) {
  uint64_t seed = 100;
  for (const SizeCase& c : SizeCases()) {
    for (const Mode& m : kModes) {
      const TensorShape in(absl::MakeConstSpan(c.in));
      const TensorShape out({c.in[0], c.oh, c.ow, c.in[3]});
      SCOPED_TRACE(absl::StrCat(in.DebugString(), " -> ", c.oh, "x", c.ow, " ", m.Name()));
      Scope root = Scope::NewRootScope();
      const Tensor g = RandomTensor(out, seed++);
      auto dx_bilinear = ops::ResizeBilinearGrad(root, ops::Const(root, g),
                                                 ops::Const(root, RandomTensor(in, seed++)),
                                                 m.Attrs());
      auto dx_nearest = ops::ResizeNearestNeighborGrad(
          root, ops::Const(root, g),
          ops::Const(root, {static_cast<int32_t>(c.in[1]), static_cast<int32_t>(c.in[2])}),
          m.Attrs());
      absl::StatusOr<std::vector<Tensor>> r = RunGraph(root, {}, {dx_bilinear, dx_nearest});
      ASSERT_TRUE(r.ok()) << r.status();
      ExpectTensorNear((*r)[0], in, ResizeBilinearGradRef(g, c.in[1], c.in[2], m.align, m.half),
                       1e-5f);
      ExpectTensorNear((*r)[1], in, ResizeNearestGradRef(g, c.in[1], c.in[2], m.align, m.half),
                       1e-5f);
    }
  }
}

TEST(ResizeTest, IntegerImages) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Const(root, Make<uint8_t>({1, 1, 2, 1}, {0, 255}));
  auto bilinear = ops::ResizeBilinear(root, x, {1, 4});
  auto nearest = ops::ResizeNearestNeighbor(root, x, {1, 4});
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(bilinear.type(), DT_FLOAT);
  EXPECT_EQ(nearest.type(), DT_UINT8);
  absl::StatusOr<std::vector<Tensor>> r = RunGraph(root, {}, {bilinear, nearest});
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectTensorNear((*r)[0], TensorShape({1, 1, 4, 1}), {0, 127.5, 255, 255});
  EXPECT_EQ(ValuesOf<uint8_t>((*r)[1]), (std::vector<uint8_t>{0, 0, 255, 255}));
}

TEST(ResizeTest, ShapesAndErrors) {
  {
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({-1, 10, 10, 3}));
    auto y = ops::ResizeBilinear(root, x, {5, 7});
    auto size = ops::Placeholder(root, DT_INT32);
    auto z = ops::ResizeNearestNeighbor(root, x, size);
    ASSERT_TRUE(root.ok()) << root.status();
    EXPECT_EQ(y.shape(), PartialTensorShape({-1, 5, 7, 3}));
    EXPECT_EQ(z.shape(), PartialTensorShape({-1, -1, -1, 3}));
    absl::StatusOr<Tensor> out =
        RunOne(root, z, {{x, RandomTensor({1, 10, 10, 3}, 1)}, {size, IntTensor<int32_t>({0, 3})}});
    EXPECT_THAT(ErrorOf(out.status()), HasSubstr("output dimensions must be positive"));
    out = RunOne(root, z, {{x, RandomTensor({1, 10, 10, 3}, 1)}, {size, IntTensor<int32_t>({3})}});
    EXPECT_THAT(ErrorOf(out.status()), HasSubstr("size must"));
    auto any = ops::Placeholder(root, DT_FLOAT);
    auto w = ops::ResizeBilinear(root, any, size);
    out = RunOne(root, w,
                 {{any, RandomTensor({1, 0, 10, 3}, 1)}, {size, IntTensor<int32_t>({3, 3})}});
    EXPECT_THAT(ErrorOf(out.status()), HasSubstr("non-zero size"));
  }
  auto build_error = [](auto build) {
    Scope root = Scope::NewRootScope();
    build(root);
    return ErrorOf(root);
  };
  EXPECT_THAT(build_error([](const Scope& root) {
                ops::ResizeBilinear(root, ops::Const(root, 0.0f, {1, 2, 2, 1}), {3, 3},
                                    ops::ResizeAttrs().AlignCorners(true).HalfPixelCenters(true));
              }),
              HasSubstr("If half_pixel_centers is True, align_corners must be False."));
  EXPECT_THAT(build_error([](const Scope& root) {
                ops::ResizeBilinear(root, ops::Const(root, 0.0f, {2, 2, 1}), {3, 3});
              }),
              HasSubstr("images must be 4-D"));
  EXPECT_THAT(build_error([](const Scope& root) {
                ops::ResizeNearestNeighbor(root, ops::Const(root, 0.0f, {1, 2, 2, 1}), {3, -1});
              }),
              HasSubstr("output dimensions must be positive"));
}

TEST(ResizeGradientTest, AgainstCentralDifferences) {
  for (bool bilinear : {true, false}) {
    for (const Mode& m : kModes) {
      SCOPED_TRACE(absl::StrCat(bilinear ? "bilinear " : "nearest ", m.Name()));
      Scope root = Scope::NewRootScope();
      auto x = ops::Placeholder(root, DT_FLOAT);
      Output y = bilinear ? ops::ResizeBilinear(root, x, {5, 3}, m.Attrs())
                          : ops::ResizeNearestNeighbor(root, x, {5, 3}, m.Attrs());
      absl::StatusOr<double> err =
          MaxGradientError(root, {{x, RandomTensor({2, 3, 4, 2}, 7)}}, y, {}, 1e-2);
      ASSERT_TRUE(err.ok()) << err.status();
      EXPECT_LT(*err, 2e-3);
    }
  }
}

// The grad ops are linear in grads; their gradients are the forward resizes.
TEST(ResizeGradientTest, GradOpsAgainstCentralDifferences) {
  for (bool bilinear : {true, false}) {
    for (const Mode& m : kModes) {
      SCOPED_TRACE(absl::StrCat(bilinear ? "bilinear " : "nearest ", m.Name()));
      Scope root = Scope::NewRootScope();
      auto g = ops::Placeholder(root, DT_FLOAT);
      Output dx = bilinear ? ops::ResizeBilinearGrad(root, g, ops::Const(root, 0.0f, {2, 3, 4, 2}),
                                                     m.Attrs())
                           : ops::ResizeNearestNeighborGrad(root, g, {3, 4}, m.Attrs());
      absl::StatusOr<double> err =
          MaxGradientError(root, {{g, RandomTensor({2, 5, 3, 2}, 8)}}, dx, {}, 1e-2);
      ASSERT_TRUE(err.ok()) << err.status();
      EXPECT_LT(*err, 2e-3);
    }
  }
}

}  // namespace
}  // namespace test
}  // namespace dflow
