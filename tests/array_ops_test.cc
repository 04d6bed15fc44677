// Array ops: Const, Identity, Reshape, Shape, Fill, ZerosLike, OnesLike, ExpandDims,
// BroadcastGradientArgs, Pack, Tile, Range, Rank, DynamicStitch, PreventGradient, Squeeze,
// ConcatV2. StridedSlice has its own test, strided_slice_op_test.
#include "ops/array_ops.h"

#include <limits>
#include <numeric>

#include "absl/strings/match.h"
#include "ops/gradients.h"
#include "gtest/gtest.h"
#include "ops/standard_ops.h"
#include "tests/gradient_checker.h"
#include "tests/test_util.h"

namespace dflow {
namespace test {
namespace {

TEST(Reshape, InfersTheMinusOneDimensionAndKeepsRowMajorOrder) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto y = ops::Reshape(root, x, {-1, 2});
  absl::StatusOr<Tensor> out = test::RunOne(root, y, {{x, test::FloatTensor({3, 2, 1}, {1, 2, 3, 4, 5, 6})}});
  ASSERT_TRUE(out.ok()) << out.status();
  test::ExpectTensorNear(*out, {3, 2}, {1, 2, 3, 4, 5, 6});
}

TEST(Reshape, ShapeFunctionUsesAConstantShape) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({-1, 28, 28, 1}));
  auto y = ops::Reshape(root, x, {-1, 784});
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(y.shape().DebugString(), "[?,784]");
  auto fixed = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({2, 3}));
  auto bad = ops::Reshape(root.WithOpName("bad"), fixed, {4, 2});
  EXPECT_FALSE(root.ok());
  EXPECT_TRUE(absl::StrContains(root.status().message(), "Reshape node 'bad'")) << root.status();
}

TEST(Reshape, RejectsAnIncompatibleElementCountAtRunTime) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto y = ops::Reshape(root.WithOpName("r"), x, {4, -1});
  absl::StatusOr<Tensor> out = test::RunOne(root, y, {{x, test::FloatTensor({6}, {1, 2, 3, 4, 5, 6})}});
  EXPECT_FALSE(out.ok());
  EXPECT_TRUE(absl::StrContains(out.status().message(), "Reshape node 'r'")) << out.status();
}

TEST(Shape, ReturnsTheRunTimeShapeAsInt32) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  absl::StatusOr<Tensor> out = test::RunOne(root, ops::Shape(root, x), {{x, Tensor(DT_FLOAT, {257, 1, 3})}});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->dtype(), DT_INT32);
  EXPECT_EQ(Ints(*out), (std::vector<int64_t>{257, 1, 3}));
}

TEST(Fill, FillsTheGivenShapeWithTheScalar) {
  Scope root = Scope::NewRootScope();
  absl::StatusOr<Tensor> out = test::RunOne(root, ops::Fill(root, {2, 3}, 1.5f));
  ASSERT_TRUE(out.ok()) << out.status();
  test::ExpectTensorNear(*out, {2, 3}, {1.5, 1.5, 1.5, 1.5, 1.5, 1.5});
}

TEST(ZerosLikeAndOnesLike, MatchTheInputShapeAndType) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  absl::StatusOr<std::vector<Tensor>> out = test::RunGraph(
      root, {{x, test::FloatTensor({1, 3}, {7, 8, 9})}}, {ops::ZerosLike(root, x), ops::OnesLike(root, x)});
  ASSERT_TRUE(out.ok());
  test::ExpectTensorNear((*out)[0], {1, 3}, {0, 0, 0});
  test::ExpectTensorNear((*out)[1], {1, 3}, {1, 1, 1});
}

// As in TensorFlow: ZerosLike of strings gives empty strings; OnesLike has no string kernel.
TEST(ZerosLikeAndOnesLike, ZerosOfStringsAreEmptyStringsAndOnesAreRefused) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_STRING);
  absl::StatusOr<Tensor> strings = Tensor::FromVector<std::string>({"a", "", "xyz"},
                                                                   TensorShape({3, 1}));
  ASSERT_TRUE(strings.ok());
  absl::StatusOr<Tensor> zeros = test::RunOne(root, ops::ZerosLike(root, x), {{x, *strings}});
  ASSERT_TRUE(zeros.ok()) << zeros.status();
  ASSERT_EQ(zeros->dtype(), DT_STRING);
  EXPECT_EQ(zeros->shape().DebugString(), "[3,1]");
  for (const std::string& s : zeros->flat<std::string>()) EXPECT_EQ(s, "");
  absl::StatusOr<Tensor> ones = test::RunOne(root, ops::OnesLike(root, x), {{x, *strings}});
  ASSERT_FALSE(ones.ok());
  EXPECT_TRUE(absl::StrContains(ones.status().message(), "not defined for string tensors"))
      << ones.status();
}

TEST(ExpandDims, InsertsAnAxisCountingNegativeFromTheEnd) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({2, 3}));
  auto front = ops::ExpandDims(root, x, 0);
  auto back = ops::ExpandDims(root, x, -1);
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(front.shape().DebugString(), "[1,2,3]");
  EXPECT_EQ(back.shape().DebugString(), "[2,3,1]");
  absl::StatusOr<Tensor> out = test::RunOne(root, back, {{x, test::FloatTensor({2, 3}, {1, 2, 3, 4, 5, 6})}});
  ASSERT_TRUE(out.ok());
  test::ExpectTensorNear(*out, {2, 3, 1}, {1, 2, 3, 4, 5, 6});
}

TEST(BroadcastGradientArgs, ListsTheAxesEachOperandWasBroadcastAlong) {
  Scope root = Scope::NewRootScope();
  ops::BroadcastGradientArgs args(root, Input({2, 1, 3}), Input({5, 1}));
  ASSERT_TRUE(root.ok()) << root.status();
  absl::StatusOr<std::vector<Tensor>> out = test::RunGraph(root, {}, {args.r0, args.r1});
  ASSERT_TRUE(out.ok()) << out.status();
  // Output shape [2,5,3]: s0 [2,1,3] broadcasts along axis 1; s1 [5,1] along 0 and 2.
  EXPECT_EQ(Ints((*out)[0]), (std::vector<int64_t>{1}));
  EXPECT_EQ(Ints((*out)[1]), (std::vector<int64_t>{0, 2}));
}

TEST(ReshapeAndExpandDims, GradientsMatchCentralDifferences) {
  for (int batch : {1, 7}) {
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT);
    auto y = ops::ExpandDims(root, ops::Reshape(root, x, {-1}), 1);
    absl::StatusOr<double> err = test::MaxGradientError(root, {{x, test::RandomTensor({batch, 3}, 9)}}, y);
    ASSERT_TRUE(err.ok()) << err.status();
    EXPECT_LT(*err, 1e-3);
  }
}

// ---------------------------------------------------------------------------------------------
// Pack.

TEST(Pack, StacksAlongEveryAxis) {
  Scope root = Scope::NewRootScope();
  auto a = ops::Const(root, test::FloatTensor({2, 2}, {1, 2, 3, 4}));
  auto b = ops::Const(root, test::FloatTensor({2, 2}, {5, 6, 7, 8}));
  auto p0 = ops::Pack(root, {a, b});
  auto p1 = ops::Pack(root, {a, b}, ops::Pack::Axis(1));
  auto pm1 = ops::Pack(root, {a, b}, ops::Pack::Axis(-1));
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(p0.shape().DebugString(), "[2,2,2]");
  EXPECT_EQ(pm1.shape().DebugString(), "[2,2,2]");
  absl::StatusOr<std::vector<Tensor>> out = test::RunGraph(root, {}, {p0, p1, pm1});
  ASSERT_TRUE(out.ok()) << out.status();
  test::ExpectTensorNear((*out)[0], {2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  test::ExpectTensorNear((*out)[1], {2, 2, 2}, {1, 2, 5, 6, 3, 4, 7, 8});
  test::ExpectTensorNear((*out)[2], {2, 2, 2}, {1, 5, 2, 6, 3, 7, 4, 8});
}

TEST(Pack, ScalarsMakeAVectorAndOneValueWorks) {
  Scope root = Scope::NewRootScope();
  auto n = ops::Placeholder(root, DT_INT32);
  auto v = ops::Pack(root, {n, ops::Const(root, -1), ops::Const(root, 7)});
  auto single = ops::Pack(root, {ops::Const(root, 2.5f)});
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(v.shape().DebugString(), "[3]");
  absl::StatusOr<std::vector<Tensor>> out =
      test::RunGraph(root, {{n, Tensor::Scalar<int32_t>(5)}}, {v, single});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(Ints((*out)[0]), (std::vector<int64_t>{5, -1, 7}));
  test::ExpectTensorNear((*out)[1], {1}, {2.5f});
}

TEST(Pack, MismatchedShapesAndBadAxisAreErrors) {
  {
    Scope root = Scope::NewRootScope();
    ops::Pack(root.WithOpName("p"), {ops::Const(root, {1.f, 2.f}), ops::Const(root, {1.f})});
    EXPECT_TRUE(absl::StrContains(ErrorOf(root.status()), "Pack node 'p'")) << root.status();
  }
  {
    Scope root = Scope::NewRootScope();
    ops::Pack(root, {ops::Const(root, {1.f, 2.f})}, ops::Pack::Axis(2));
    EXPECT_TRUE(absl::StrContains(ErrorOf(root.status()), "out of range")) << root.status();
  }
  {
    Scope root = Scope::NewRootScope();
    auto a = ops::Placeholder(root, DT_FLOAT);
    auto b = ops::Placeholder(root, DT_FLOAT);
    auto p = ops::Pack(root, {a, b});
    absl::StatusOr<Tensor> out = test::RunOne(
        root, p, {{a, test::FloatTensor({2}, {1, 2})}, {b, test::FloatTensor({3}, {1, 2, 3})}},
        test::Unoptimized());
    EXPECT_TRUE(absl::StrContains(ErrorOf(out.status()), "one shape")) << out.status();
    // Optimized, the fed shapes reach shape inference, which rejects them naming the node.
    out = test::RunOne(
        root, p, {{a, test::FloatTensor({2}, {1, 2})}, {b, test::FloatTensor({3}, {1, 2, 3})}});
    EXPECT_TRUE(absl::StrContains(ErrorOf(out.status()), "Pack node 'Pack'")) << out.status();
  }
}

TEST(Pack, GradientUnstacksForEveryAxis) {
  for (int64_t axis : {0, 1, 2, -1, -2, -3}) {
    for (int batch : {1, 7}) {
      Scope root = Scope::NewRootScope();
      auto a = ops::Placeholder(root, DT_FLOAT);
      auto b = ops::Placeholder(root, DT_FLOAT);
      auto c = ops::Placeholder(root, DT_FLOAT);
      auto y = ops::Pack(root, {a, b, ops::Square(root, c)}, ops::Pack::Axis(axis));
      absl::StatusOr<double> err = test::MaxGradientError(
          root, {{a, test::RandomTensor({batch, 3}, 1)}, {b, test::RandomTensor({batch, 3}, 2)},
                 {c, test::RandomTensor({batch, 3}, 3)}},
          y);
      ASSERT_TRUE(err.ok()) << "axis " << axis << ": " << err.status();
      EXPECT_LT(*err, 1e-3) << "axis " << axis;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Tile.

TEST(Tile, RepeatsAlongEachDimension) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Const(root, test::FloatTensor({2, 3}, {1, 2, 3, 4, 5, 6}));
  auto rows = ops::Tile(root, x, {2, 1});
  auto cols = ops::Tile(root, x, {1, 2});
  auto none = ops::Tile(root, x, {0, 2});
  auto three = ops::Tile(root, ops::Const(root, test::FloatTensor({2, 1, 2}, {1, 2, 3, 4})),
                         {1, 3, 2});
  auto scalar = ops::Tile(root, ops::Const(root, 7.f), ops::Const(root, Int32Tensor({0}, {})));
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(rows.shape().DebugString(), "[4,3]");
  EXPECT_EQ(none.shape().DebugString(), "[0,6]");
  absl::StatusOr<std::vector<Tensor>> out =
      test::RunGraph(root, {}, {rows, cols, none, three, scalar});
  ASSERT_TRUE(out.ok()) << out.status();
  test::ExpectTensorNear((*out)[0], {4, 3}, {1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6});
  test::ExpectTensorNear((*out)[1], {2, 6}, {1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6});
  test::ExpectTensorNear((*out)[2], {0, 6}, {});
  test::ExpectTensorNear((*out)[3], {2, 3, 4}, {1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2,
                                                3, 4, 3, 4, 3, 4, 3, 4, 3, 4, 3, 4});
  test::ExpectTensorNear((*out)[4], {}, {7});
}

TEST(Tile, Int64MultiplesAndIntegerData) {
  Scope root = Scope::NewRootScope();
  auto m = ops::Const(root, *Tensor::FromVector<int64_t>({int64_t{3}}, TensorShape({1})));
  absl::StatusOr<Tensor> out = test::RunOne(root, ops::Tile(root, ops::Const(root, {8, 9}), m));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(Ints(*out), (std::vector<int64_t>{8, 9, 8, 9, 8, 9}));
}

TEST(Tile, BadMultiplesAreErrors) {
  {
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT);
    auto m = ops::Placeholder(root, DT_INT64);
    absl::StatusOr<Tensor> out = test::RunOne(
        root, ops::Tile(root, x, m),
        {{x, Iota({3, 2})},
         {m, *Tensor::FromVector<int64_t>({int64_t{1} << 62, int64_t{1} << 2}, TensorShape({2}))}});
    EXPECT_TRUE(absl::StrContains(ErrorOf(out.status()), "overflows")) << out.status();
  }
  {
    Scope root = Scope::NewRootScope();
    ops::Tile(root.WithOpName("t"), ops::Const(root, {1.f, 2.f}), {2, 2});
    EXPECT_TRUE(absl::StrContains(ErrorOf(root.status()), "Tile node 't'")) << root.status();
  }
  {
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT);
    auto m = ops::Placeholder(root, DT_INT32);
    auto t = ops::Tile(root, x, m);
    absl::StatusOr<Tensor> out =
        test::RunOne(root, t, {{x, Iota({2})}, {m, Int32Tensor({1}, {-1})}});
    EXPECT_TRUE(absl::StrContains(ErrorOf(out.status()), "negative")) << out.status();
    out = test::RunOne(root, t, {{x, Iota({2})}, {m, Int32Tensor({2}, {1, 1})}});
    EXPECT_TRUE(absl::StrContains(ErrorOf(out.status()), "rank")) << out.status();
  }
}

TEST(Tile, GradientSumsOverTheTiles) {
  for (int batch : {1, 7}) {
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT);
    auto y = ops::Tile(root, ops::Square(root, x), {2, 3, 1});
    absl::StatusOr<double> err =
        test::MaxGradientError(root, {{x, test::RandomTensor({batch, 2, 3}, 11)}}, y);
    ASSERT_TRUE(err.ok()) << err.status();
    EXPECT_LT(*err, 1e-3);
  }
  // Int64 multiples, fed at run time.
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto m = ops::Placeholder(root, DT_INT64);
  auto y = ops::Tile(root, x, m);
  absl::StatusOr<double> err = test::MaxGradientError(
      root, {{x, test::RandomTensor({3, 2}, 12)}},
      y, {{m, *Tensor::FromVector<int64_t>({int64_t{2}, int64_t{2}}, TensorShape({2}))}});
  ASSERT_TRUE(err.ok()) << err.status();
  EXPECT_LT(*err, 1e-3);
}

// ---------------------------------------------------------------------------------------------
// Range and Rank.

TEST(Range, IntegerAndFloatSequences) {
  Scope root = Scope::NewRootScope();
  auto a = ops::Range(root, 0, 5, 1);
  auto b = ops::Range(root, 5, 0, -2);
  auto c = ops::Range(root, 0, 10, 3);
  auto d = ops::Range(root, -3, -3, 1);
  auto e = ops::Range(root, 0.f, 1.f, 0.25f);
  auto f = ops::Range(root, 1.f, -0.5f, -0.5f);
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(c.shape().DebugString(), "[4]");
  EXPECT_EQ(d.shape().DebugString(), "[0]");
  absl::StatusOr<std::vector<Tensor>> out = test::RunGraph(root, {}, {a, b, c, d, e, f});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].dtype(), DT_INT32);
  EXPECT_EQ(Ints((*out)[0]), (std::vector<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(Ints((*out)[1]), (std::vector<int64_t>{5, 3, 1}));
  EXPECT_EQ(Ints((*out)[2]), (std::vector<int64_t>{0, 3, 6, 9}));
  EXPECT_EQ(Ints((*out)[3]), (std::vector<int64_t>{}));
  test::ExpectTensorNear((*out)[4], {4}, {0, 0.25f, 0.5f, 0.75f});
  test::ExpectTensorNear((*out)[5], {3}, {1, 0.5f, 0});
}

TEST(Range, Int64ExtremesDoNotOverflow) {
  Scope root = Scope::NewRootScope();
  const int64_t lo = std::numeric_limits<int64_t>::min();
  const int64_t hi = std::numeric_limits<int64_t>::max();
  const int64_t step = int64_t{1} << 62;
  absl::StatusOr<Tensor> out = test::RunOne(root, ops::Range(root, lo, hi, step));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(Ints(*out), (std::vector<int64_t>{lo, lo + step, 0, step}));
}

TEST(Range, BadDeltasAreErrors) {
  {
    Scope root = Scope::NewRootScope();
    ops::Range(root.WithOpName("r"), 0, 5, 0);
    EXPECT_TRUE(absl::StrContains(ErrorOf(root.status()), "delta must not be 0"))
        << root.status();
  }
  Scope root = Scope::NewRootScope();
  auto start = ops::Placeholder(root, DT_INT32);
  auto r = ops::Range(root.WithOpName("r"), start, 5, 1);
  EXPECT_EQ(r.shape().DebugString(), "[?]");
  absl::StatusOr<Tensor> out = test::RunOne(root, r, {{start, Tensor::Scalar<int32_t>(9)}});
  EXPECT_TRUE(absl::StrContains(ErrorOf(out.status()), "start 9 > limit 5")) << out.status();
  out = test::RunOne(root, r, {{start, Int32Tensor({1}, {0})}});
  EXPECT_TRUE(absl::StrContains(ErrorOf(out.status()), "scalar")) << out.status();
}

TEST(Rank, CountsTheDimensions) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto r = ops::Rank(root, x);
  EXPECT_EQ(r.shape().DebugString(), "[]");
  absl::StatusOr<Tensor> out = test::RunOne(root, r, {{x, Iota({2, 3, 1})}});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->dtype(), DT_INT32);
  EXPECT_EQ(Ints(*out), (std::vector<int64_t>{3}));
  out = test::RunOne(root, r, {{x, Tensor::Scalar<float>(1)}});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(Ints(*out), (std::vector<int64_t>{0}));
}

// ---------------------------------------------------------------------------------------------
// DynamicStitch.

TEST(DynamicStitch, MergesRowsByIndex) {
  // TensorFlow's documented example: indices 6, [4, 1], [[5, 2], [0, 3]].
  Scope root = Scope::NewRootScope();
  std::vector<Output> indices = {ops::Const(root, 6), ops::Const(root, {4, 1}),
                                 ops::Const(root, Int32Tensor({2, 2}, {5, 2, 0, 3}))};
  std::vector<Output> data = {
      ops::Const(root, {61.f, 62.f}), ops::Const(root, test::FloatTensor({2, 2}, {41, 42, 11, 12})),
      ops::Const(root, test::FloatTensor({2, 2, 2}, {51, 52, 21, 22, 1, 2, 31, 32}))};
  auto merged = ops::DynamicStitch(root, indices, data);
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(merged.shape().DebugString(), "[7,2]");
  absl::StatusOr<Tensor> out = test::RunOne(root, merged);
  ASSERT_TRUE(out.ok()) << out.status();
  test::ExpectTensorNear(*out, {7, 2},
                         {1, 2, 11, 12, 21, 22, 31, 32, 41, 42, 51, 52, 61, 62});
}

TEST(DynamicStitch, LaterIndicesWinAsInMeanGradShapes) {
  // TensorFlow's Mean gradient: DynamicStitch([range(rank), axes], [shape, ones]) sets the
  // reduced dims of the shape to 1.
  Scope root = Scope::NewRootScope();
  auto shape = ops::Placeholder(root, DT_INT32);
  auto merged = ops::DynamicStitch(
      root, {ops::Range(root, 0, ops::Const(root, 3), 1), ops::Const(root, {2, 0})},
      {shape, ops::Const(root, {1, 1})});
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(merged.shape().DebugString(), "[?]");
  absl::StatusOr<Tensor> out = test::RunOne(root, merged, {{shape, Int32Tensor({3}, {4, 5, 6})}});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(Ints(*out), (std::vector<int64_t>{1, 5, 1}));
}

TEST(DynamicStitch, BadIndicesAndShapesAreErrors) {
  Scope root = Scope::NewRootScope();
  auto idx = ops::Placeholder(root, DT_INT32);
  auto data = ops::Placeholder(root, DT_FLOAT);
  auto merged = ops::DynamicStitch(root, {idx}, {data});
  absl::StatusOr<Tensor> out =
      test::RunOne(root, merged, {{idx, Int32Tensor({2}, {0, -1})}, {data, Iota({2})}});
  EXPECT_TRUE(absl::StrContains(ErrorOf(out.status()), "negative index -1")) << out.status();
  out = test::RunOne(root, merged, {{idx, Int32Tensor({2}, {0, 1})}, {data, Iota({3})}});
  EXPECT_TRUE(absl::StrContains(ErrorOf(out.status()), "must start with")) << out.status();
}

// ---------------------------------------------------------------------------------------------
// PreventGradient.

TEST(PreventGradient, ForwardIsIdentityAndGradientIsAnErrorWithTheMessage) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto y = ops::PreventGradient(root.WithOpName("pg"), x,
                                ops::PreventGradient::Message("no second derivative"));
  absl::StatusOr<Tensor> out = test::RunOne(root, y, {{x, test::FloatTensor({2}, {3, 4})}});
  ASSERT_TRUE(out.ok()) << out.status();
  test::ExpectTensorNear(*out, {2}, {3, 4});
  std::vector<Output> grads;
  absl::Status s = AddSymbolicGradients(root, {ops::Square(root, y)}, {x}, &grads);
  const std::string message = ErrorOf(s);
  EXPECT_TRUE(absl::StrContains(message, "no second derivative")) << message;
  EXPECT_TRUE(absl::StrContains(message, "'pg'")) << message;
}

// ---------------------------------------------------------------------------------------------
// Squeeze.

TEST(Squeeze, RemovesAllOrTheListedSizeOneDims) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({1, 2, 1, 3, 1}));
  auto all = ops::Squeeze(root, x);
  auto some = ops::Squeeze(root, x, ops::Squeeze::Axis({0, -1}));
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(all.shape().DebugString(), "[2,3]");
  EXPECT_EQ(some.shape().DebugString(), "[2,1,3]");
  absl::StatusOr<std::vector<Tensor>> out =
      test::RunGraph(root, {{x, Iota({1, 2, 1, 3, 1})}}, {all, some});
  ASSERT_TRUE(out.ok()) << out.status();
  test::ExpectTensorNear((*out)[0], {2, 3}, {0, 1, 2, 3, 4, 5});
  test::ExpectTensorNear((*out)[1], {2, 1, 3}, {0, 1, 2, 3, 4, 5});
}

TEST(Squeeze, ADimOtherThanOneIsAnError) {
  {
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({1, 2}));
    ops::Squeeze(root.WithOpName("sq"), x, ops::Squeeze::Axis({1}));
    EXPECT_TRUE(absl::StrContains(ErrorOf(root.status()), "Squeeze node 'sq'")) << root.status();
  }
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto y = ops::Squeeze(root, x, ops::Squeeze::Axis({1}));
  absl::StatusOr<Tensor> out = test::RunOne(root, y, {{x, Iota({1, 2})}});
  EXPECT_TRUE(absl::StrContains(ErrorOf(out.status()), "size is not 1")) << out.status();
  out = test::RunOne(root, y, {{x, Iota({1})}});
  EXPECT_TRUE(absl::StrContains(ErrorOf(out.status()), "out of range")) << out.status();
}

TEST(Squeeze, GradientReshapesBack) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto y = ops::Squeeze(root, ops::Square(root, x));
  absl::StatusOr<double> err = test::MaxGradientError(root, {{x, test::RandomTensor({3, 1, 2}, 4)}}, y);
  ASSERT_TRUE(err.ok()) << err.status();
  EXPECT_LT(*err, 1e-3);
}

// ---------------------------------------------------------------------------------------------
// ConcatV2.

TEST(ConcatV2, JoinsAlongTheAxis) {
  Scope root = Scope::NewRootScope();
  auto a = ops::Const(root, test::FloatTensor({2, 2}, {1, 2, 3, 4}));
  auto b = ops::Const(root, test::FloatTensor({2, 1}, {5, 6}));
  auto c = ops::Const(root, test::FloatTensor({1, 2}, {7, 8}));
  auto cols = ops::ConcatV2(root, {a, b}, 1);
  auto cols_neg = ops::ConcatV2(root, {b, a, b}, -1);
  auto rows = ops::ConcatV2(root, {a, c}, 0);
  auto ints = ops::ConcatV2(root, {ops::Const(root, {1, 2}), ops::Const(root, Int32Tensor({0}, {})),
                                   ops::Const(root, {3})}, 0);
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(cols.shape().DebugString(), "[2,3]");
  EXPECT_EQ(cols_neg.shape().DebugString(), "[2,4]");
  EXPECT_EQ(rows.shape().DebugString(), "[3,2]");
  absl::StatusOr<std::vector<Tensor>> out = test::RunGraph(root, {}, {cols, cols_neg, rows, ints});
  ASSERT_TRUE(out.ok()) << out.status();
  test::ExpectTensorNear((*out)[0], {2, 3}, {1, 2, 5, 3, 4, 6});
  test::ExpectTensorNear((*out)[1], {2, 4}, {5, 1, 2, 5, 6, 3, 4, 6});
  test::ExpectTensorNear((*out)[2], {3, 2}, {1, 2, 3, 4, 7, 8});
  EXPECT_EQ(Ints((*out)[3]), (std::vector<int64_t>{1, 2, 3}));
}

TEST(ConcatV2, MismatchedShapesAreErrors) {
  {
    Scope root = Scope::NewRootScope();
    ops::ConcatV2(root.WithOpName("c"),
                  {ops::Const(root, Iota({2, 2})), ops::Const(root, Iota({3, 1}))}, 1);
    EXPECT_TRUE(absl::StrContains(ErrorOf(root.status()), "ConcatV2 node 'c'")) << root.status();
  }
  Scope root = Scope::NewRootScope();
  auto a = ops::Placeholder(root, DT_FLOAT);
  auto b = ops::Placeholder(root, DT_FLOAT);
  auto y = ops::ConcatV2(root, {a, b}, 1);
  absl::StatusOr<Tensor> out =
      test::RunOne(root, y, {{a, Iota({2, 2})}, {b, Iota({3, 1})}}, test::Unoptimized());
  EXPECT_TRUE(absl::StrContains(ErrorOf(out.status()), "does not match")) << out.status();
  out = test::RunOne(root, y, {{a, Iota({2})}, {b, Iota({3})}});
  EXPECT_TRUE(absl::StrContains(ErrorOf(out.status()), "out of range")) << out.status();
}

TEST(ConcatV2, GradientSplitsBackForEveryAxis) {
  for (int axis : {0, 1, -1, -2}) {
    for (int batch : {1, 7}) {
      Scope root = Scope::NewRootScope();
      auto a = ops::Placeholder(root, DT_FLOAT);
      auto b = ops::Placeholder(root, DT_FLOAT);
      auto c = ops::Placeholder(root, DT_FLOAT);
      auto y = ops::ConcatV2(root, {ops::Square(root, a), b, c}, axis);
      const bool rows = axis == 0 || axis == -2;
      absl::StatusOr<double> err = test::MaxGradientError(
          root,
          {{a, test::RandomTensor({batch, 2}, 1)},
           {b, test::RandomTensor(rows ? TensorShape({3, 2}) : TensorShape({batch, 3}), 2)},
           {c, test::RandomTensor(rows ? TensorShape({1, 2}) : TensorShape({batch, 1}), 3)}},
          y);
      ASSERT_TRUE(err.ok()) << "axis " << axis << ": " << err.status();
      EXPECT_LT(*err, 1e-3) << "axis " << axis;
    }
  }
}

}  // namespace
}  // namespace test
}  // namespace dflow
