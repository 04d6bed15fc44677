// TensorArray and stack ops against hand-computed values: scatter/read/gather/size round trips
// (of strings too), TensorFlow's error rules, zeros for unwritten elements, an array filled
// inside a while loop, and a stack popping what a loop pushed, in reverse.
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "graph/status_macros.h"
#include "ops/standard_ops.h"
#include "runtime/session.h"

namespace dflow {
namespace {

using ::testing::HasSubstr;

AttrMap Attrs(DataType dtype, const PartialTensorShape& element_shape = PartialTensorShape(),
              bool clear_after_read = true) {
  AttrMap attrs;
  attrs["dtype"].set_type(dtype);
  element_shape.ToProto(attrs["element_shape"].mutable_shape());
  attrs["clear_after_read"].set_b(clear_after_read);
  return attrs;
}

AttrMap GatherAttrs(DataType dtype) {
  AttrMap attrs;
  attrs["dtype"].set_type(dtype);
  return attrs;
}

AttrMap TypeAttr(const char* name, DataType dtype) {
  AttrMap attrs;
  attrs[name].set_type(dtype);
  return attrs;
}

Tensor Matrix(const std::vector<float>& values, int64_t rows, int64_t cols) {
  return *Tensor::FromVector<float>(values, TensorShape({rows, cols}));
}

absl::StatusOr<std::vector<Tensor>> RunFetches(const Scope& root, const std::vector<Output>& fetches) {
  DFLOW_RETURN_IF_ERROR(root.status());
  DFLOW_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::Create(root));
  std::vector<Tensor> out;
  DFLOW_RETURN_IF_ERROR(session->Run({}, fetches, {}, &out));
  return out;
}

std::vector<float> Values(const Tensor& t) {
  auto f = t.flat<float>();
  return std::vector<float>(f.begin(), f.end());
}

TEST(TensorArrayTest, ScatterThenReadGatherAndSize) {
  Scope root = Scope::NewRootScope();
  Node* ta = AddOp(root, "TensorArrayV3", {3}, Attrs(DT_FLOAT));
  Node* scatter = AddOp(root, "TensorArrayScatterV3",
                        {Output(ta, 0), Input({2, 0, 1}),
                         ops::Const(root, Matrix({1, 2, 3, 4, 5, 6}, 3, 2)), Output(ta, 1)},
                        TypeAttr("T", DT_FLOAT));
  // Rows land at indices 2, 0, 1: element 0 = [3, 4], 1 = [5, 6], 2 = [1, 2].
  Node* gather = AddOp(root, "TensorArrayGatherV3", {Output(ta, 0), Input({1, 2}), Output(scatter, 0)},
                       GatherAttrs(DT_FLOAT));
  Node* read = AddOp(root.WithControlDependencies(Output(gather, 0)), "TensorArrayReadV3",
                     {Output(ta, 0), 0, Output(scatter, 0)}, TypeAttr("dtype", DT_FLOAT));
  Node* size = AddOp(root, "TensorArraySizeV3", {Output(ta, 0), Output(scatter, 0)});
  auto out = RunFetches(root, {Output(gather, 0), Output(read, 0), Output(size, 0)});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].shape(), TensorShape({2, 2}));
  EXPECT_EQ(Values((*out)[0]), std::vector<float>({5, 6, 1, 2}));
  EXPECT_EQ(Values((*out)[1]), std::vector<float>({3, 4}));
  EXPECT_EQ((*out)[2].scalar<int32_t>(), 3);
}

// Strings move as objects: scatter, gather and concat give the hand-written strings (long ones
// on the heap included), not empty ones.
TEST(TensorArrayTest, StringsScatterGatherAndConcat) {
  const std::string long1(40, 'L'), long2 = "a second string past the small-string limit";
  Scope root = Scope::NewRootScope();
  Node* ta = AddOp(root, "TensorArrayV3", {3}, Attrs(DT_STRING, PartialTensorShape(), false));
  Tensor rows = *Tensor::FromVector<std::string>({"a", long1, "c", "d", long2, "f"},
                                                 TensorShape({3, 2}));
  Node* scatter = AddOp(root, "TensorArrayScatterV3",
                        {Output(ta, 0), Input({2, 0, 1}), ops::Const(root, rows), Output(ta, 1)},
                        TypeAttr("T", DT_STRING));
  Node* gather = AddOp(root, "TensorArrayGatherV3", {Output(ta, 0), Input({1, 2}), Output(scatter, 0)},
                       GatherAttrs(DT_STRING));
  Node* concat = AddOp(root.WithControlDependencies(Output(gather, 0)), "TensorArrayConcatV3",
                       {Output(ta, 0), Output(scatter, 0)}, GatherAttrs(DT_STRING));
  auto out = RunFetches(root, {Output(gather, 0), Output(concat, 0)});
  ASSERT_TRUE(out.ok()) << out.status();
  auto strings = [](const Tensor& t) {
    auto f = t.flat<std::string>();
    return std::vector<std::string>(f.begin(), f.end());
  };
  // Rows land at indices 2, 0, 1: element 0 = [c, d], 1 = [long2, f], 2 = [a, long1].
  EXPECT_EQ((*out)[0].shape(), TensorShape({2, 2}));
  EXPECT_EQ(strings((*out)[0]), std::vector<std::string>({long2, "f", "a", long1}));
  EXPECT_EQ((*out)[1].shape(), TensorShape({6}));
  EXPECT_EQ(strings((*out)[1]), std::vector<std::string>({"c", "d", long2, "f", "a", long1}));
}

TEST(TensorArrayTest, TensorFlowsRulesAreErrors) {
  {
    Scope root = Scope::NewRootScope();
    Node* ta = AddOp(root, "TensorArrayV3", {2}, Attrs(DT_FLOAT));
    Node* w1 = AddOp(root, "TensorArrayWriteV3", {Output(ta, 0), 0, 1.0f, Output(ta, 1)},
                     TypeAttr("T", DT_FLOAT));
    Node* w2 = AddOp(root, "TensorArrayWriteV3", {Output(ta, 0), 0, 2.0f, Output(w1, 0)},
                     TypeAttr("T", DT_FLOAT));
    auto out = RunFetches(root, {Output(w2, 0)});
    ASSERT_FALSE(out.ok());
    EXPECT_THAT(std::string(out.status().message()), HasSubstr("already been written"));
  }
  {
    Scope root = Scope::NewRootScope();
    Node* ta = AddOp(root, "TensorArrayV3", {2}, Attrs(DT_FLOAT));
    Node* w = AddOp(root, "TensorArrayWriteV3", {Output(ta, 0), 5, 1.0f, Output(ta, 1)},
                    TypeAttr("T", DT_FLOAT));
    auto out = RunFetches(root, {Output(w, 0)});
    ASSERT_FALSE(out.ok());
    EXPECT_THAT(std::string(out.status().message()), HasSubstr("not resizeable"));
  }
  {
    Scope root = Scope::NewRootScope();
    Node* ta = AddOp(root, "TensorArrayV3", {2}, Attrs(DT_FLOAT));
    Node* w = AddOp(root, "TensorArrayWriteV3", {Output(ta, 0), 1, 1.0f, Output(ta, 1)},
                    TypeAttr("T", DT_FLOAT));
    Node* r1 = AddOp(root, "TensorArrayReadV3", {Output(ta, 0), 1, Output(w, 0)},
                     TypeAttr("dtype", DT_FLOAT));
    Node* r2 = AddOp(root.WithControlDependencies(Output(r1, 0)), "TensorArrayReadV3",
                     {Output(ta, 0), 1, Output(w, 0)}, TypeAttr("dtype", DT_FLOAT));
    auto out = RunFetches(root, {Output(r2, 0)});
    ASSERT_FALSE(out.ok());
    EXPECT_THAT(std::string(out.status().message()), HasSubstr("cleared after a previous read"));
    // An unwritten element with an unknown element shape cannot be read.
    Node* r0 = AddOp(root, "TensorArrayReadV3", {Output(ta, 0), 0, Output(w, 0)},
                     TypeAttr("dtype", DT_FLOAT));
    auto unwritten = RunFetches(root, {Output(r0, 0)});
    ASSERT_FALSE(unwritten.ok());
    EXPECT_THAT(std::string(unwritten.status().message()), HasSubstr("never written"));
  }
}

TEST(TensorArrayTest, UnwrittenElementsOfAKnownShapeReadAsZeros) {
  Scope root = Scope::NewRootScope();
  Node* ta = AddOp(root, "TensorArrayV3", {2}, Attrs(DT_FLOAT, PartialTensorShape({3})));
  Node* read = AddOp(root, "TensorArrayReadV3", {Output(ta, 0), 1, Output(ta, 1)},
                     TypeAttr("dtype", DT_FLOAT));
  auto out = RunFetches(root, {Output(read, 0)});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(Values((*out)[0]), std::vector<float>({0, 0, 0}));
}

TEST(TensorArrayTest, ALoopWritesOneElementPerIteration) {
  // for i in [0, 4): ta[i] = i * i, then gather all: [0, 1, 4, 9].
  Scope root = Scope::NewRootScope();
  Node* ta = AddOp(root, "TensorArrayV3", {4}, Attrs(DT_FLOAT));
  std::vector<Output> outs;
  ASSERT_TRUE(ops::WhileLoop(
                  root, {ops::Const(root, Tensor::Scalar<int32_t>(0)), Output(ta, 0), Output(ta, 1)},
                  [](const Scope& s, const std::vector<Output>& v, Output* out) {
                    *out = ops::Less(s, v[0], 4);
                    return s.status();
                  },
                  [](const Scope& s, const std::vector<Output>& v, std::vector<Output>* out) {
                    auto f = ops::Cast(s, v[0], DT_FLOAT);
                    Node* w = AddOp(s, "TensorArrayWriteV3", {v[1], v[0], ops::Mul(s, f, f), v[2]},
                                    TypeAttr("T", DT_FLOAT));
                    *out = {ops::Add(s, v[0], 1), v[1], Output(w, 0)};
                    return s.status();
                  },
                  &outs)
                  .ok());
  Node* gather = AddOp(root, "TensorArrayGatherV3", {outs[1], Input({0, 1, 2, 3}), outs[2]},
                       GatherAttrs(DT_FLOAT));
  auto out = RunFetches(root, {Output(gather, 0)});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(Values((*out)[0]), std::vector<float>({0, 1, 4, 9}));
}

TEST(TensorArrayTest, AStackPopsInReverseOrder) {
  Scope root = Scope::NewRootScope();
  AttrMap stack_attrs;
  stack_attrs["elem_type"].set_type(DT_FLOAT);
  Node* stack = AddOp(root, "StackV2", {-1}, stack_attrs);
  Node* push1 = AddOp(root, "StackPushV2", {Output(stack, 0), 1.0f}, TypeAttr("T", DT_FLOAT));
  Node* push2 = AddOp(root.WithControlDependencies(Output(push1, 0)), "StackPushV2",
                      {Output(stack, 0), 2.0f}, TypeAttr("T", DT_FLOAT));
  Node* pop1 = AddOp(root.WithControlDependencies(Output(push2, 0)), "StackPopV2",
                     {Output(stack, 0)}, TypeAttr("elem_type", DT_FLOAT));
  Node* pop2 = AddOp(root.WithControlDependencies(Output(pop1, 0)), "StackPopV2",
                     {Output(stack, 0)}, TypeAttr("elem_type", DT_FLOAT));
  Node* pop3 = AddOp(root.WithControlDependencies(Output(pop2, 0)), "StackPopV2",
                     {Output(stack, 0)}, TypeAttr("elem_type", DT_FLOAT));
  auto out = RunFetches(root, {Output(pop1, 0), Output(pop2, 0)});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].scalar<float>(), 2.0f);
  EXPECT_EQ((*out)[1].scalar<float>(), 1.0f);
  auto empty = RunFetches(root, {Output(pop3, 0)});
  ASSERT_FALSE(empty.ok());
  EXPECT_THAT(std::string(empty.status().message()), HasSubstr("empty stack"));
}

}  // namespace
}  // namespace dflow
