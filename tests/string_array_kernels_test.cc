// DT_STRING through the kernels that move data (Identity, Reshape, ExpandDims, Squeeze, Assign,
// AssignVariableOp, Select, SelectV2, Gather, GatherV2, ResourceGather, ConcatV2, Pack, Unpack,
// Slice, StridedSlice, Fill, Tile, Transpose, DynamicStitch): every output against hand-written
// strings, long ones included (heap-allocated, so a byte copy of std::string objects would show as
// a crash or garbage, and a zero-byte copy as empty strings). Inputs are fed placeholders, so the
// kernels run, not constant folding.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "ops/standard_ops.h"
#include "tests/test_util.h"

namespace dflow {
namespace {

using V = std::vector<std::string>;

Tensor Strings(const TensorShape& shape, V values) {
  absl::StatusOr<Tensor> t = Tensor::FromVector<std::string>(values, shape);
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *t : Tensor();
}

V ValuesOf(const Tensor& t) {
  EXPECT_EQ(t.dtype(), DT_STRING);
  if (t.dtype() != DT_STRING) return {};
  auto v = t.flat<std::string>();
  return V(v.begin(), v.end());
}

// Longer than any small-string buffer: these live on the heap.
const std::string kLong1(40, 'L');
const std::string kLong2 = "a string well past the small-string limit, #2";

// The fetches' values, with the string placeholder `p` fed `value`.
std::vector<Tensor> RunFed(const Scope& root, const Output& p, const Tensor& value,
                        const std::vector<Output>& fetches) {
  absl::StatusOr<std::vector<Tensor>> out = test::RunGraph(root, {{p, value}}, fetches);
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? *out : std::vector<Tensor>(fetches.size());
}

TEST(StringArrayKernels, IdentityReshapeExpandDimsSqueeze) {
  Scope root = Scope::NewRootScope();
  auto p = ops::Placeholder(root.WithOpName("p"), DT_STRING);
  auto id = ops::Identity(root, p);
  auto r = ops::Reshape(root, p, ops::Const(root, test::IntTensor<int32_t>({3, 1})));
  auto e = ops::ExpandDims(root, p, ops::Const(root, Tensor::Scalar<int32_t>(0)));
  auto sq = ops::Squeeze(root, e, ops::Squeeze::Axis({0}));
  ASSERT_TRUE(root.ok()) << root.status();
  const std::vector<Tensor> out =
      RunFed(root, p, Strings({3}, {"a", kLong1, ""}), {id, r, e, sq});
  const V want = {"a", kLong1, ""};
  EXPECT_EQ(ValuesOf(out[0]), want);
  EXPECT_EQ(out[1].shape(), TensorShape({3, 1}));
  EXPECT_EQ(ValuesOf(out[1]), want);
  EXPECT_EQ(out[2].shape(), TensorShape({1, 3}));
  EXPECT_EQ(ValuesOf(out[2]), want);
  EXPECT_EQ(out[3].shape(), TensorShape({3}));
  EXPECT_EQ(ValuesOf(out[3]), want);
}

TEST(StringArrayKernels, AssignOverwritesAStringVariableInPlace) {
  Scope root = Scope::NewRootScope();
  auto p = ops::Placeholder(root.WithOpName("p"), DT_STRING);
  auto var = ops::Variable(root.WithOpName("v"), PartialTensorShape({2}), DT_STRING);
  auto assign = ops::Assign(root, var, p);
  auto read = ops::Identity(root, var);
  auto h = ops::VarHandleOp(root.WithOpName("rv"), DT_STRING, PartialTensorShape({2}));
  auto assign_r = ops::AssignVariableOp(root, h, p);
  auto read_r = ops::ReadVariableOp(root, h, DT_STRING);
  auto gather_r = ops::ResourceGather(root, h, ops::Const(root, test::IntTensor<int32_t>({1, 1, 0})),
                                      DT_STRING);
  ASSERT_TRUE(root.ok()) << root.status();
  std::unique_ptr<Session> s = test::NewSession(root);
  // Every assignment after the first, of the same shape and with nobody holding the old value,
  // takes the in-place path: it must replace the strings, not copy zero bytes.
  for (const V& value : {V{"first", kLong1}, V{kLong2, "second"}}) {
    for (const V& v : {V{"x", "y"}, value}) {
      ASSERT_TRUE(s->Run({{p, Strings({2}, v)}}, {}, {assign, assign_r}, nullptr).ok());
    }
    std::vector<Tensor> out;
    ASSERT_TRUE(s->Run({}, {read, read_r, gather_r}, {}, &out).ok());
    EXPECT_EQ(ValuesOf(out[0]), value);
    EXPECT_EQ(ValuesOf(out[1]), value);
    EXPECT_EQ(ValuesOf(out[2]), V({value[1], value[1], value[0]}));
  }
}

TEST(StringArrayKernels, SelectAndSelectV2) {
  Scope root = Scope::NewRootScope();
  auto p = ops::Placeholder(root.WithOpName("p"), DT_STRING);  // [2,2]
  auto other = ops::Const(root, Strings({2, 2}, {"w", "x", "y", kLong2}));
  auto per_element = ops::Select(root, ops::Const(root, test::Make<bool>({2, 2}, {true, false, false, true})), p, other);
  auto per_row = ops::Select(root, ops::Const(root, test::Make<bool>({2}, {false, true})), p, other);
  auto scalar = ops::Select(root, ops::Const(root, Tensor::Scalar<bool>(false)), p, other);
  // SelectV2 broadcasts: a [2,1] condition, a [2,2] t and a scalar e.
  auto broadcast = ops::SelectV2(root, ops::Const(root, test::Make<bool>({2, 1}, {true, false})), p,
                                 ops::Const(root, Tensor::Scalar<std::string>("e")));
  ASSERT_TRUE(root.ok()) << root.status();
  const std::vector<Tensor> out = RunFed(root, p, Strings({2, 2}, {"a", "b", kLong1, "d"}),
                                      {per_element, per_row, scalar, broadcast});
  EXPECT_EQ(ValuesOf(out[0]), V({"a", "x", "y", "d"}));
  EXPECT_EQ(ValuesOf(out[1]), V({"w", "x", kLong1, "d"}));
  EXPECT_EQ(ValuesOf(out[2]), V({"w", "x", "y", kLong2}));
  EXPECT_EQ(out[3].shape(), TensorShape({2, 2}));
  EXPECT_EQ(ValuesOf(out[3]), V({"a", "b", "e", "e"}));
}

TEST(StringArrayKernels, GatherAndGatherV2) {
  Scope root = Scope::NewRootScope();
  auto p = ops::Placeholder(root.WithOpName("p"), DT_STRING);  // [3,2]
  auto g = ops::Gather(root, p, ops::Const(root, test::IntTensor<int32_t>({2, 0, 2})));
  auto g1 = ops::GatherV2(root, p, ops::Const(root, test::IntTensor<int64_t>({1, 1})),
                          ops::Const(root, Tensor::Scalar<int32_t>(1)));
  ASSERT_TRUE(root.ok()) << root.status();
  const std::vector<Tensor> out =
      RunFed(root, p, Strings({3, 2}, {"r0a", "r0b", kLong1, "r1b", "r2a", kLong2}), {g, g1});
  EXPECT_EQ(out[0].shape(), TensorShape({3, 2}));
  EXPECT_EQ(ValuesOf(out[0]), V({"r2a", kLong2, "r0a", "r0b", "r2a", kLong2}));
  EXPECT_EQ(out[1].shape(), TensorShape({3, 2}));
  EXPECT_EQ(ValuesOf(out[1]), V({"r0b", "r0b", "r1b", "r1b", kLong2, kLong2}));
}

TEST(StringArrayKernels, ConcatV2PackUnpackAndDynamicStitch) {
  Scope root = Scope::NewRootScope();
  auto p = ops::Placeholder(root.WithOpName("p"), DT_STRING);  // [2,2]
  auto q = ops::Const(root, Strings({2, 1}, {"q0", kLong2}));
  auto c1 = ops::ConcatV2(root, {p, q}, ops::Const(root, Tensor::Scalar<int32_t>(1)));
  auto c0 = ops::ConcatV2(root, {p, p}, ops::Const(root, Tensor::Scalar<int32_t>(-2)));
  auto packed = ops::Pack(root, {p, p}, ops::Pack::Axis(1));
  ops::Unstack columns(root, p, 2, ops::Unstack::Axis(1));
  auto stitched = ops::DynamicStitch(
      root, {ops::Const(root, test::IntTensor<int32_t>({2, 0})), ops::Const(root, test::IntTensor<int32_t>({1}))},
      {p, ops::Reshape(root, q, ops::Const(root, test::IntTensor<int32_t>({1, 2})))});
  ASSERT_TRUE(root.ok()) << root.status();
  const std::vector<Tensor> out =
      RunFed(root, p, Strings({2, 2}, {"a", kLong1, "c", "d"}),
          {c1, c0, packed, columns.output[0], columns.output[1], stitched});
  EXPECT_EQ(out[0].shape(), TensorShape({2, 3}));
  EXPECT_EQ(ValuesOf(out[0]), V({"a", kLong1, "q0", "c", "d", kLong2}));
  EXPECT_EQ(out[1].shape(), TensorShape({4, 2}));
  EXPECT_EQ(ValuesOf(out[1]), V({"a", kLong1, "c", "d", "a", kLong1, "c", "d"}));
  EXPECT_EQ(out[2].shape(), TensorShape({2, 2, 2}));
  EXPECT_EQ(ValuesOf(out[2]), V({"a", kLong1, "a", kLong1, "c", "d", "c", "d"}));
  EXPECT_EQ(ValuesOf(out[3]), V({"a", "c"}));
  EXPECT_EQ(ValuesOf(out[4]), V({kLong1, "d"}));
  EXPECT_EQ(out[5].shape(), TensorShape({3, 2}));
  EXPECT_EQ(ValuesOf(out[5]), V({"c", "d", "q0", kLong2, "a", kLong1}));
}

TEST(StringArrayKernels, SliceAndStridedSlice) {
  Scope root = Scope::NewRootScope();
  auto p = ops::Placeholder(root.WithOpName("p"), DT_STRING);  // [2,3]
  auto sl = ops::Slice(root, p, ops::Const(root, test::IntTensor<int32_t>({0, 1})),
                       ops::Const(root, test::IntTensor<int32_t>({2, -1})));
  // p[::-1, ::2]
  auto ss = ops::StridedSlice(root, p, ops::Const(root, test::IntTensor<int32_t>({0, 0})),
                              ops::Const(root, test::IntTensor<int32_t>({0, 0})),
                              ops::Const(root, test::IntTensor<int32_t>({-1, 2})),
                              ops::StridedSlice::BeginMask(3).EndMask(3));
  // p[1, 2] as a scalar
  auto one = ops::StridedSlice(root, p, ops::Const(root, test::IntTensor<int32_t>({1, 2})),
                               ops::Const(root, test::IntTensor<int32_t>({2, 3})),
                               ops::Const(root, test::IntTensor<int32_t>({1, 1})),
                               ops::StridedSlice::ShrinkAxisMask(3));
  ASSERT_TRUE(root.ok()) << root.status();
  const std::vector<Tensor> out =
      RunFed(root, p, Strings({2, 3}, {"a", "b", kLong1, "d", "e", kLong2}), {sl, ss, one});
  EXPECT_EQ(out[0].shape(), TensorShape({2, 2}));
  EXPECT_EQ(ValuesOf(out[0]), V({"b", kLong1, "e", kLong2}));
  EXPECT_EQ(out[1].shape(), TensorShape({2, 2}));
  EXPECT_EQ(ValuesOf(out[1]), V({"d", kLong2, "a", kLong1}));
  EXPECT_EQ(out[2].shape(), TensorShape({}));
  EXPECT_EQ(ValuesOf(out[2]), V({kLong2}));
}

TEST(StringArrayKernels, FillAndTile) {
  Scope root = Scope::NewRootScope();
  auto p = ops::Placeholder(root.WithOpName("p"), DT_STRING);  // [1,2]
  auto scalar = ops::Placeholder(root.WithOpName("s"), DT_STRING);
  auto fill = ops::Fill(root, ops::Const(root, test::IntTensor<int32_t>({2, 2})), scalar);
  auto tile = ops::Tile(root, p, ops::Const(root, test::IntTensor<int32_t>({2, 2})));
  auto tile0 = ops::Tile(root, scalar, ops::Const(root, test::IntTensor<int32_t>({})));
  ASSERT_TRUE(root.ok()) << root.status();
  absl::StatusOr<std::vector<Tensor>> out = test::RunGraph(
      root, {{p, Strings({1, 2}, {"x", kLong1})}, {scalar, Tensor::Scalar<std::string>(kLong2)}},
      {fill, tile, tile0});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(ValuesOf((*out)[0]), V({kLong2, kLong2, kLong2, kLong2}));
  EXPECT_EQ((*out)[1].shape(), TensorShape({2, 4}));
  EXPECT_EQ(ValuesOf((*out)[1]), V({"x", kLong1, "x", kLong1, "x", kLong1, "x", kLong1}));
  EXPECT_EQ(ValuesOf((*out)[2]), V({kLong2}));
}

TEST(StringArrayKernels, Transpose) {
  Scope root = Scope::NewRootScope();
  auto p = ops::Placeholder(root.WithOpName("p"), DT_STRING);  // [2,3]
  auto t = ops::Transpose(root, p, ops::Const(root, test::IntTensor<int32_t>({1, 0})));
  auto same = ops::Transpose(root, p, ops::Const(root, test::IntTensor<int32_t>({0, 1})));
  ASSERT_TRUE(root.ok()) << root.status();
  const std::vector<Tensor> out =
      RunFed(root, p, Strings({2, 3}, {"a", "b", kLong1, "d", kLong2, "f"}), {t, same});
  EXPECT_EQ(out[0].shape(), TensorShape({3, 2}));
  EXPECT_EQ(ValuesOf(out[0]), V({"a", "d", "b", kLong2, kLong1, "f"}));
  EXPECT_EQ(ValuesOf(out[1]), V({"a", "b", kLong1, "d", kLong2, "f"}));
}

}  // namespace
}  // namespace dflow
