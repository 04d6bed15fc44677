// Transpose, InvertPermutation, Slice, Split, SplitV, Unpack, Pad, PadV2, MirrorPad(Grad),
// ReverseV2, ReverseSequence, DepthToSpace and SpaceToDepth: every dtype against the index-map
// references of tests/reference.h, odd and empty shapes, batch 1, TensorFlow's documented
// examples, shape inference, errors, and the gradients against central differences.
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

// 0, 1, 2, ... in type T (bool: every third element true; uint8: wrapping below 251).
template <typename T>
Tensor Seq(const TensorShape& shape) {
  Tensor t(DataTypeOf<T>::value, shape);
  auto f = t.flat<T>();
  for (int64_t i = 0; i < t.NumElements(); ++i) {
    if constexpr (std::is_same_v<T, bool>) {
      f[i] = i % 3 == 0;
    } else if constexpr (std::is_same_v<T, uint8_t>) {
      f[i] = static_cast<uint8_t>(i % 251);
    } else {
      f[i] = static_cast<T>(i);
    }
  }
  return t;
}

// out[i] == in[src[i]], or `fill` where src[i] is -1.
template <typename T>
void ExpectMoved(const Tensor& out, const TensorShape& shape, const Tensor& in,
                 const std::vector<int64_t>& src, T fill, const std::string& what) {
  ASSERT_EQ(out.dtype(), in.dtype()) << what;
  ASSERT_EQ(out.shape(), shape) << what << ": " << out.shape().DebugString();
  ASSERT_EQ(static_cast<size_t>(out.NumElements()), src.size()) << what;
  auto o = out.flat<T>();
  auto x = in.flat<T>();
  for (size_t i = 0; i < src.size(); ++i) {
    const T want = src[i] < 0 ? fill : x[src[i]];
    ASSERT_EQ(o[i], want) << what << " at " << i;
  }
}

// Runs `build(x)` on a placeholder of every dtype fed Seq<T>(in_shape) and checks the result
// against the index map `src` (fill where it is -1).
template <typename Build>
void ForEveryType(const TensorShape& in_shape, const TensorShape& out_shape,
                  const std::vector<int64_t>& src, const std::string& what, Build build) {
  auto run = [&](auto zero) {
    using T = decltype(zero);
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DataTypeOf<T>::value);
    Output y = build(root, x);
    ASSERT_TRUE(root.ok()) << what << ": " << root.status();
    const Tensor in = Seq<T>(in_shape);
    absl::StatusOr<Tensor> out = RunOne(root, y, {{x, in}});
    ASSERT_TRUE(out.ok()) << what << " " << DataTypeString(DataTypeOf<T>::value) << ": "
                          << out.status();
    ExpectMoved<T>(*out, out_shape, in, src, T(0),
                   what + " " + DataTypeString(DataTypeOf<T>::value));
  };
  run(float{});
  run(int32_t{});
  run(int64_t{});
  run(uint8_t{});
  run(bool{});
}

Tensor Int64Vector(std::vector<int64_t> v) { return IntTensor<int64_t>(std::move(v)); }

// ---------------------------------------------------------------------------------------------
// Transpose, InvertPermutation

TEST(Transpose, MatchesReferenceForEveryTypeAndOddShapes) {
  struct Case {
    TensorShape in;
    std::vector<int> perm;
  };
  for (const Case& c : std::vector<Case>{{{2, 3, 4}, {2, 0, 1}},
                                         {{1, 5}, {1, 0}},
                                         {{3, 1, 2, 5}, {0, 3, 1, 2}},
                                         {{2, 3, 4, 5}, {3, 2, 1, 0}},
                                         {{1, 2, 3, 2, 2, 3}, {0, 1, 3, 2, 4, 5}},
                                         {{7}, {0}},
                                         {{}, {}},
                                         {{2, 0, 3}, {2, 1, 0}}}) {
    TensorShape out;
    for (int p : c.perm) out.AddDim(c.in.dim_size(p));
    std::vector<int32_t> perm(c.perm.begin(), c.perm.end());
    ForEveryType(c.in, out, TransposeSourceRef(c.in, c.perm), "transpose " + c.in.DebugString(),
                 [&](const Scope& s, Output x) {
                   return ops::Transpose(s, x, IntTensor<int32_t>(perm));
                 });
  }
}

TEST(Transpose, ShapeInferenceAndInt64Perm) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({-1, 3, 4}));
  auto y = ops::Transpose(root, x, Int64Vector({2, 0, 1}));
  auto p = ops::Placeholder(root, DT_INT32, ops::Placeholder::Shape({3}));
  auto z = ops::Transpose(root, x, p);
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(y.shape(), PartialTensorShape({4, -1, 3}));
  EXPECT_EQ(z.shape(), PartialTensorShape({-1, -1, -1}));
  absl::StatusOr<Tensor> out = RunOne(root, y, {{x, Iota({2, 3, 4})}});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->shape(), TensorShape({4, 2, 3}));
  EXPECT_EQ(out->flat<float>()[1], 4.f);  // y[0, 0, 1] = x[0, 1, 0].
}

TEST(Transpose, RejectsBadPermutations) {
  {
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({2, 3}));
    ops::Transpose(root.WithOpName("t"), x, {1, 1});
    EXPECT_TRUE(absl::StrContains(ErrorOf(root), "duplicated")) << ErrorOf(root);
  }
  for (const std::vector<int32_t>& perm :
       std::vector<std::vector<int32_t>>{{0}, {0, 2}, {1, 1}, {-1, 0}}) {
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT);
    auto p = ops::Placeholder(root, DT_INT32);
    auto y = ops::Transpose(root, x, p);
    absl::StatusOr<Tensor> out =
        RunOne(root, y, {{x, Iota({2, 3})}, {p, IntTensor<int32_t>(perm)}}, Unoptimized());
    EXPECT_FALSE(out.ok()) << perm.size();
  }
}

TEST(Transpose, GradientMatchesNumeric) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto y = ops::Transpose(root, x, {1, 2, 0});
  ExpectGradientOk(root, {{x, RandomTensor({2, 3, 4}, 1)}}, y, "transpose");
}

TEST(InvertPermutation, InvertsAndRejectsNonPermutations) {
  Scope root = Scope::NewRootScope();
  auto p = ops::Placeholder(root, DT_INT32);
  auto y = ops::InvertPermutation(root, p);
  absl::StatusOr<Tensor> out = RunOne(root, y, {{p, IntTensor<int32_t>({2, 0, 3, 1})}});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(ValuesOf<int32_t>(*out), (std::vector<int32_t>{1, 3, 0, 2}));
  for (std::vector<int32_t> bad : {std::vector<int32_t>{0, 0}, std::vector<int32_t>{0, 2}}) {
    EXPECT_FALSE(RunOne(root, y, {{p, IntTensor<int32_t>(bad)}}).ok());
  }
  Scope r64 = Scope::NewRootScope();
  auto y64 = ops::InvertPermutation(r64, Int64Vector({1, 2, 0}));
  out = RunOne(r64, y64);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(ValuesOf<int64_t>(*out), (std::vector<int64_t>{2, 0, 1}));
}

// ---------------------------------------------------------------------------------------------
// Slice

TEST(Slice, MatchesReferenceWithMinusOneSizesAndEmptySlices) {
  struct Case {
    TensorShape in;
    std::vector<int64_t> begin, size;  // size -1: to the end.
  };
  for (const Case& c : std::vector<Case>{{{3, 5}, {1, 2}, {2, -1}},
                                         {{1, 4, 3}, {0, 1, 0}, {1, 2, -1}},
                                         {{2, 3, 4}, {1, 0, 1}, {1, 3, 2}},
                                         {{5}, {5}, {0}},
                                         {{4, 2}, {2, 0}, {0, 2}}}) {
    std::vector<int64_t> size = c.size;
    for (int d = 0; d < c.in.dims(); ++d) {
      if (size[d] == -1) size[d] = c.in.dim_size(d) - c.begin[d];
    }
    const std::vector<int64_t> src = SliceSourceRef(c.in, c.begin, size);
    ForEveryType(c.in, TensorShape(size), src, "slice " + c.in.DebugString(),
                 [&](const Scope& s, Output x) {
                   return ops::Slice(s, x, Int64Vector(c.begin), Int64Vector(c.size));
                 });
    // int32 begin/size, shape known: the shape is inferred.
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape(c.in));
    std::vector<int32_t> b(c.begin.begin(), c.begin.end()), sz(c.size.begin(), c.size.end());
    auto y = ops::Slice(root, x, IntTensor<int32_t>(b), IntTensor<int32_t>(sz));
    ASSERT_TRUE(root.ok()) << root.status();
    EXPECT_EQ(y.shape(), PartialTensorShape(TensorShape(size)));
  }
}

TEST(Slice, RejectsOutOfBoundsSlices) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({3, 4}));
  ops::Slice(root.WithOpName("s"), x, {2, 0}, {2, 1});
  EXPECT_TRUE(absl::StrContains(ErrorOf(root), "exceeds")) << ErrorOf(root);
  Scope r2 = Scope::NewRootScope();
  auto x2 = ops::Placeholder(r2, DT_FLOAT);
  auto b = ops::Placeholder(r2, DT_INT32);
  auto y = ops::Slice(r2, x2, b, {1, -1});
  for (std::vector<int32_t> begin :
       {std::vector<int32_t>{3, 0}, std::vector<int32_t>{-1, 0}, std::vector<int32_t>{0}}) {
    EXPECT_FALSE(RunOne(r2, y, {{x2, Iota({3, 4})}, {b, IntTensor<int32_t>(begin)}},
                        Unoptimized()).ok());
  }
}

TEST(Slice, GradientMatchesNumeric) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto y = ops::Slice(root, x, {1, 0, 2}, {1, -1, 2});
  ExpectGradientOk(root, {{x, RandomTensor({3, 2, 5}, 2)}}, y, "slice");
}

// ---------------------------------------------------------------------------------------------
// Split, SplitV, Unpack

// The index maps of the pieces of `in` along `axis` of sizes `sizes`.
std::vector<std::vector<int64_t>> PieceSources(const TensorShape& in, int axis,
                                               const std::vector<int64_t>& sizes) {
  std::vector<std::vector<int64_t>> out;
  int64_t offset = 0;
  for (int64_t s : sizes) {
    std::vector<int64_t> begin(in.dims(), 0), size(in.dim_sizes().begin(), in.dim_sizes().end());
    begin[axis] = offset;
    size[axis] = s;
    out.push_back(SliceSourceRef(in, begin, size));
    offset += s;
  }
  return out;
}

TEST(Split, MatchesReferenceAlongEveryAxis) {
  struct Case {
    TensorShape in;
    int axis;  // As given; may be negative.
    int num;
  };
  for (const Case& c : std::vector<Case>{{{4, 6}, 1, 3}, {{4, 6}, -2, 2}, {{1, 3, 4}, 2, 4},
                                         {{2, 5}, 0, 1}, {{0, 4}, 1, 2}}) {
    const int axis = c.axis < 0 ? c.axis + c.in.dims() : c.axis;
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_INT32, ops::Placeholder::Shape(c.in));
    ops::Split split(root, c.axis, x, c.num);
    ASSERT_TRUE(root.ok()) << root.status();
    ASSERT_EQ(split.output.size(), static_cast<size_t>(c.num));
    TensorShape piece = c.in;
    piece.set_dim(axis, c.in.dim_size(axis) / c.num);
    EXPECT_EQ(split.output[0].shape(), PartialTensorShape(piece));
    const Tensor in = Seq<int32_t>(c.in);
    absl::StatusOr<std::vector<Tensor>> out = RunGraph(root, {{x, in}}, split.output);
    ASSERT_TRUE(out.ok()) << out.status();
    const auto src = PieceSources(c.in, axis, std::vector<int64_t>(c.num, piece.dim_size(axis)));
    for (int i = 0; i < c.num; ++i) ExpectMoved<int32_t>((*out)[i], piece, in, src[i], 0, "split");
  }
}

TEST(Split, RejectsUnevenSplitsAndBadAxes) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({4, 5}));
  ops::Split(root.WithOpName("s"), 1, x, 2);
  EXPECT_TRUE(absl::StrContains(ErrorOf(root), "evenly divide")) << ErrorOf(root);
  Scope r2 = Scope::NewRootScope();
  auto x2 = ops::Placeholder(r2, DT_FLOAT);
  auto a = ops::Placeholder(r2, DT_INT32);
  ops::Split split(r2, a, x2, 2);
  EXPECT_FALSE(RunGraph(r2, {{x2, Iota({4, 5})}, {a, Tensor::Scalar<int32_t>(1)}},
                        split.output, Unoptimized()).ok());
  EXPECT_FALSE(RunGraph(r2, {{x2, Iota({4, 5})}, {a, Tensor::Scalar<int32_t>(2)}},
                        split.output, Unoptimized()).ok());
}

TEST(Split, GradientMatchesNumericWithUnusedPieces) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  ops::Split split(root, -1, x, 3);
  auto y = ops::Mul(root, split.output[0], split.output[2]);  // Piece 1 gets zeros.
  ExpectGradientOk(root, {{x, RandomTensor({2, 6}, 3)}}, y, "split");
}

TEST(SplitV, MatchesReferenceWithInferredSize) {
  const TensorShape in({3, 7, 2});
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape(in));
  ops::SplitV split(root, x, Int64Vector({1, -1, 2}), -2, 3);
  ops::SplitV split32(root, x, {0, 7}, 1, 2);
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(split.output[1].shape(), PartialTensorShape({3, 4, 2}));
  EXPECT_EQ(split32.output[0].shape(), PartialTensorShape({3, 0, 2}));
  const Tensor t = Seq<float>(in);
  absl::StatusOr<std::vector<Tensor>> out =
      RunGraph(root, {{x, t}}, {split.output[0], split.output[1], split.output[2],
                                split32.output[0], split32.output[1]});
  ASSERT_TRUE(out.ok()) << out.status();
  const auto src = PieceSources(in, 1, {1, 4, 2});
  ExpectMoved<float>((*out)[0], {3, 1, 2}, t, src[0], 0, "piece 0");
  ExpectMoved<float>((*out)[1], {3, 4, 2}, t, src[1], 0, "piece 1");
  ExpectMoved<float>((*out)[2], {3, 2, 2}, t, src[2], 0, "piece 2");
  EXPECT_EQ((*out)[3].NumElements(), 0);
  ExpectMoved<float>((*out)[4], in, t, PieceSources(in, 1, {7})[0], 0, "whole");
}

TEST(SplitV, RejectsBadSizes) {
  for (std::vector<int64_t> sizes : {std::vector<int64_t>{1, 2}, std::vector<int64_t>{-1, -1},
                                     std::vector<int64_t>{5, -1}, std::vector<int64_t>{-2, 6}}) {
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({2, 4}));
    ops::SplitV(root, x, Int64Vector(sizes), 1, 2);
    EXPECT_FALSE(root.ok()) << sizes[0] << " " << sizes[1];
    Scope r2 = Scope::NewRootScope();
    auto x2 = ops::Placeholder(r2, DT_FLOAT);
    auto s = ops::Placeholder(r2, DT_INT64);
    ops::SplitV split(r2, x2, s, 1, 2);
    EXPECT_FALSE(RunGraph(r2, {{x2, Iota({2, 4})}, {s, Int64Vector(sizes)}}, split.output,
                          Unoptimized()).ok());
  }
}

TEST(SplitV, GradientMatchesNumeric) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  ops::SplitV split(root, x, {2, -1}, 0, 2);
  auto y = ops::Mul(root, split.output[1], split.output[1]);
  ExpectGradientOk(root, {{x, RandomTensor({5, 3}, 4)}}, y, "splitv");
}

TEST(Unpack, MatchesReferenceAlongPositiveAndNegativeAxes) {
  const TensorShape in({3, 2, 4});
  for (int axis : {0, 1, -1}) {
    const int a = axis < 0 ? axis + 3 : axis;
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_INT64, ops::Placeholder::Shape(in));
    ops::Unstack u(root, x, in.dim_size(a), ops::Unstack::Axis(axis));
    ASSERT_TRUE(root.ok()) << root.status();
    TensorShape piece = in;
    piece.RemoveDim(a);
    EXPECT_EQ(u.output[0].shape(), PartialTensorShape(piece));
    const Tensor t = Seq<int64_t>(in);
    absl::StatusOr<std::vector<Tensor>> out = RunGraph(root, {{x, t}}, u.output);
    ASSERT_TRUE(out.ok()) << out.status();
    const auto src = PieceSources(in, a, std::vector<int64_t>(in.dim_size(a), 1));
    for (size_t i = 0; i < src.size(); ++i) {
      ExpectMoved<int64_t>((*out)[i], piece, t, src[i], 0, "unpack");
    }
  }
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape(in));
  ops::Unstack(root.WithOpName("u"), x, 2);
  EXPECT_TRUE(absl::StrContains(ErrorOf(root), "num is 2")) << ErrorOf(root);
}

TEST(Unpack, GradientMatchesNumeric) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  ops::Unstack u(root, x, 3, ops::Unstack::Axis(-1));
  auto y = ops::Add(root, ops::Mul(root, u.output[0], u.output[2]), u.output[1]);
  ExpectGradientOk(root, {{x, RandomTensor({2, 3}, 5)}}, y, "unpack");
}

// ---------------------------------------------------------------------------------------------
// Pad, PadV2, MirrorPad

TEST(Pad, MatchesReferenceForEveryTypeWithInt32AndInt64Paddings) {
  struct Case {
    TensorShape in;
    std::vector<std::pair<int64_t, int64_t>> pads;
  };
  for (const Case& c : std::vector<Case>{{{2, 3}, {{1, 0}, {2, 1}}},
                                         {{1, 2, 1, 3}, {{0, 0}, {1, 1}, {2, 0}, {0, 1}}},
                                         {{0, 2}, {{1, 1}, {0, 0}}},
                                         {{5}, {{0, 0}}}}) {
    std::vector<int64_t> flat;
    TensorShape out;
    for (int d = 0; d < c.in.dims(); ++d) {
      flat.push_back(c.pads[d].first);
      flat.push_back(c.pads[d].second);
      out.AddDim(c.in.dim_size(d) + c.pads[d].first + c.pads[d].second);
    }
    const Tensor p64 = *Tensor::FromVector<int64_t>(flat, TensorShape({c.in.dims(), 2}));
    ForEveryType(c.in, out, PadSourceRef(c.in, c.pads, "CONSTANT"), "pad " + c.in.DebugString(),
                 [&](const Scope& s, Output x) { return ops::Pad(s, x, p64); });
    // PadV2 with int32 paddings and a fill value.
    std::vector<int32_t> flat32(flat.begin(), flat.end());
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape(c.in));
    auto y = ops::PadV2(root, x, Int32Tensor({c.in.dims(), 2}, flat32), -7.f);
    ASSERT_TRUE(root.ok()) << root.status();
    EXPECT_EQ(y.shape(), PartialTensorShape(out));
    const Tensor in = Seq<float>(c.in);
    absl::StatusOr<Tensor> got = RunOne(root, y, {{x, in}});
    ASSERT_TRUE(got.ok()) << got.status();
    ExpectMoved<float>(*got, out, in, PadSourceRef(c.in, c.pads, "CONSTANT"), -7.f, "padv2");
  }
}

TEST(MirrorPad, MatchesTensorFlowsDocumentedExamples) {
  // tf.pad's documentation: t = [[1, 2, 3], [4, 5, 6]], paddings [[1, 1], [2, 2]].
  const Tensor t = FloatTensor({2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor p = Int32Tensor({2, 2}, {1, 1, 2, 2});
  const std::vector<float> reflect = {6, 5, 4, 5, 6, 5, 4, 3, 2, 1, 2, 3, 2, 1,
                                      6, 5, 4, 5, 6, 5, 4, 3, 2, 1, 2, 3, 2, 1};
  const std::vector<float> symmetric = {2, 1, 1, 2, 3, 3, 2, 2, 1, 1, 2, 3, 3, 2,
                                        5, 4, 4, 5, 6, 6, 5, 5, 4, 4, 5, 6, 6, 5};
  for (const auto& [mode, expected] : {std::pair{"REFLECT", reflect},
                                       std::pair{"SYMMETRIC", symmetric}}) {
    Scope root = Scope::NewRootScope();
    auto y = ops::MirrorPad(root, t, p, mode);
    ASSERT_TRUE(root.ok()) << root.status();
    EXPECT_EQ(y.shape(), PartialTensorShape({4, 7}));
    absl::StatusOr<Tensor> out = RunOne(root, y);
    ASSERT_TRUE(out.ok()) << out.status();
    ExpectTensorNear(*out, {4, 7}, expected);
  }
}

TEST(MirrorPad, MatchesReferenceForEveryTypeAndRejectsLargePaddings) {
  const TensorShape in({3, 1, 4});
  const std::vector<std::pair<int64_t, int64_t>> pads = {{2, 1}, {0, 1}, {3, 3}};
  const Tensor p = Int32Tensor({3, 2}, {2, 1, 0, 1, 3, 3});
  ForEveryType(in, {6, 2, 10}, PadSourceRef(in, pads, "SYMMETRIC"), "symmetric",
               [&](const Scope& s, Output x) { return ops::MirrorPad(s, x, p, "SYMMETRIC"); });
  const Tensor p2 = Int32Tensor({3, 2}, {2, 0, 0, 0, 3, 1});
  ForEveryType(in, {5, 1, 8}, PadSourceRef(in, {{2, 0}, {0, 0}, {3, 1}}, "REFLECT"), "reflect",
               [&](const Scope& s, Output x) { return ops::MirrorPad(s, x, p2, "REFLECT"); });
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape(in));
  ops::MirrorPad(root, x, p, "REFLECT");  // 1 in a size-1 dim: more than size - 1.
  EXPECT_TRUE(absl::StrContains(ErrorOf(root), "no greater than")) << ErrorOf(root);
  Scope r2 = Scope::NewRootScope();
  auto x2 = ops::Placeholder(r2, DT_FLOAT);
  auto y2 = ops::MirrorPad(r2, x2, p, "SYMMETRIC");
  EXPECT_FALSE(RunOne(r2, y2, {{x2, Iota({1, 1, 4})}}, Unoptimized()).ok());
}

TEST(MirrorPadGrad, FoldsThePaddingBack) {
  // SYMMETRIC, [a, b, c] padded (2, 1) reads b a | a b c | c: a gets 3 parts, b 2, c 2.
  Scope root = Scope::NewRootScope();
  auto y = ops::MirrorPadGrad(root, FloatTensor({6}, {1, 10, 100, 1000, 10000, 100000}),
                              Int32Tensor({1, 2}, {2, 1}), "SYMMETRIC");
  absl::StatusOr<Tensor> out = RunOne(root, y);
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectTensorNear(*out, {3}, {110, 1001, 110000});
}

TEST(Pad, GradientsMatchNumeric) {
  const Tensor p = Int32Tensor({2, 2}, {1, 2, 0, 3});
  const Tensor v = RandomTensor({3, 4}, 6);
  CheckGradient(v, "pad", [&](const Scope& s, Output x) { return ops::Pad(s, x, p); });
  CheckGradient(v, "padv2", [&](const Scope& s, Output x) { return ops::PadV2(s, x, p, 2.f); });
  CheckGradient(v, "reflect",
                [&](const Scope& s, Output x) { return ops::MirrorPad(s, x, p, "REFLECT"); });
  CheckGradient(v, "symmetric", [&](const Scope& s, Output x) {
    return ops::MirrorPad(s, x, Int32Tensor({2, 2}, {2, 1, 3, 0}), "SYMMETRIC");
  });
  CheckGradient(RandomTensor({6, 7}, 7), "mirror pad grad",
                [&](const Scope& s, Output g) { return ops::MirrorPadGrad(s, g, p, "REFLECT"); });
}

// ---------------------------------------------------------------------------------------------
// ReverseV2, ReverseSequence

TEST(ReverseV2, MatchesReferenceForEveryType) {
  const TensorShape in({2, 3, 4});
  struct Case {
    std::vector<int64_t> axis;
    std::vector<bool> reversed;
  };
  for (const Case& c : std::vector<Case>{{{0, 2}, {true, false, true}},
                                         {{-1}, {false, false, true}},
                                         {{1}, {false, true, false}},
                                         {{}, {false, false, false}}}) {
    ForEveryType(in, in, ReverseSourceRef(in, c.reversed), "reverse",
                 [&](const Scope& s, Output x) {
                   return ops::ReverseV2(s, x, Int64Vector(c.axis));
                 });
  }
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape(in));
  ops::ReverseV2(root, x, {0, -3});
  EXPECT_TRUE(absl::StrContains(ErrorOf(root), "more than once")) << ErrorOf(root);
}

TEST(ReverseSequence, MatchesReferenceForBothDimOrders) {
  const TensorShape in({3, 4, 2});
  ForEveryType(in, in, ReverseSequenceSourceRef(in, {4, 0, 2}, 1, 0), "seq 1 batch 0",
               [&](const Scope& s, Output x) {
                 return ops::ReverseSequence(s, x, Int64Vector({4, 0, 2}), 1);
               });
  ForEveryType(in, in, ReverseSequenceSourceRef(in, {3, 1}, 0, 2), "seq 0 batch 2",
               [&](const Scope& s, Output x) {
                 return ops::ReverseSequence(s, x, IntTensor<int32_t>({3, 1}), 0,
                                             ops::ReverseSequence::BatchDim(2));
               });
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto lens = ops::Placeholder(root, DT_INT64);
  auto y = ops::ReverseSequence(root, x, lens, 1);
  EXPECT_FALSE(RunOne(root, y, {{x, Iota(in)}, {lens, Int64Vector({5, 0, 0})}}).ok());
  EXPECT_FALSE(RunOne(root, y, {{x, Iota(in)}, {lens, Int64Vector({1, 1})}}).ok());
  EXPECT_FALSE(RunOne(root, y, {{x, Iota(in)}, {lens, Int64Vector({-1, 1, 1})}}).ok());
}

TEST(Reverse, GradientsMatchNumeric) {
  const Tensor v = RandomTensor({2, 3}, 8);
  CheckGradient(v, "reverse", [](const Scope& s, Output x) { return ops::ReverseV2(s, x, {1}); });
  CheckGradient(v, "reverse sequence", [](const Scope& s, Output x) {
    return ops::ReverseSequence(s, x, Int64Vector({3, 1}), 1);
  });
}

// ---------------------------------------------------------------------------------------------
// DepthToSpace, SpaceToDepth

TEST(DepthToSpace, MatchesTensorFlowsExampleAndReference) {
  // tf.nn.depth_to_space's documentation: [1, 1, 1, 4] [1, 2, 3, 4], block 2 -> [1, 2, 2, 1].
  Scope root = Scope::NewRootScope();
  auto y = ops::DepthToSpace(root, FloatTensor({1, 1, 1, 4}, {1, 2, 3, 4}), 2);
  absl::StatusOr<Tensor> out = RunOne(root, y);
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectTensorNear(*out, {1, 2, 2, 1}, {1, 2, 3, 4});
  for (const auto& [shape, b] : std::vector<std::pair<TensorShape, int64_t>>{
           {{1, 2, 3, 8}, 2}, {{2, 1, 2, 18}, 3}, {{1, 1, 1, 4}, 2}}) {
    const TensorShape out_shape({shape.dim_size(0), shape.dim_size(1) * b, shape.dim_size(2) * b,
                                 shape.dim_size(3) / (b * b)});
    ForEveryType(shape, out_shape, DepthSpaceSourceRef(shape, b, true), "depth to space",
                 [&](const Scope& s, Output x) { return ops::DepthToSpace(s, x, b); });
  }
}

TEST(SpaceToDepth, MatchesReferenceAndInvertsDepthToSpace) {
  for (const auto& [shape, b] : std::vector<std::pair<TensorShape, int64_t>>{
           {{1, 4, 6, 3}, 2}, {{2, 3, 3, 1}, 3}}) {
    const TensorShape out_shape({shape.dim_size(0), shape.dim_size(1) / b, shape.dim_size(2) / b,
                                 shape.dim_size(3) * b * b});
    ForEveryType(shape, out_shape, DepthSpaceSourceRef(shape, b, false), "space to depth",
                 [&](const Scope& s, Output x) { return ops::SpaceToDepth(s, x, b); });
  }
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({1, 4, 5, 2}));
  ops::SpaceToDepth(root, x, 2);
  EXPECT_TRUE(absl::StrContains(ErrorOf(root), "divisible")) << ErrorOf(root);
  Scope r2 = Scope::NewRootScope();
  auto x2 = ops::Placeholder(r2, DT_FLOAT, ops::Placeholder::Shape({1, 2, 2, 6}));
  ops::DepthToSpace(r2, x2, 2);
  EXPECT_TRUE(absl::StrContains(ErrorOf(r2), "divisible")) << ErrorOf(r2);
}

TEST(DepthToSpace, GradientsMatchNumeric) {
  const Tensor v = RandomTensor({1, 2, 4, 4}, 9);
  CheckGradient(v, "depth to space",
                [](const Scope& s, Output x) { return ops::DepthToSpace(s, x, 2); });
  CheckGradient(v, "space to depth",
                [](const Scope& s, Output x) { return ops::SpaceToDepth(s, x, 2); });
}

}  // namespace
}  // namespace test
}  // namespace dflow
