// GroupInputsByArg: a node's flat input list split into its op's args, as GraphDef import and
// the graph optimizer build nodes from flat lists.
#include "ops/node_builder.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "ops/op_registry.h"
#include "ops/standard_ops.h"

namespace dflow {
namespace {

using Groups = std::vector<std::vector<Output>>;

class GroupInputsByArgTest : public ::testing::Test {
 protected:
  GroupInputsByArgTest() {
    for (const char* name : {"a", "b", "c", "d"}) {
      in_.push_back(ops::Placeholder(root_.WithOpName(name), DT_FLOAT));
    }
    axis_ = ops::Const(root_.WithOpName("axis"), 0);
  }

  static const OpDef& Op(const std::string& name) {
    const OpDef* op = OpRegistry::Global()->Find(name);
    EXPECT_NE(op, nullptr) << name;
    return *op;
  }

  Scope root_ = Scope::NewRootScope();
  std::vector<Output> in_;
  Output axis_;
};

TEST_F(GroupInputsByArgTest, SingleTensorArgsTakeOneInputEach) {
  absl::StatusOr<Groups> groups = GroupInputsByArg("m", Op("MatMul"), {}, {in_[0], in_[1]});
  ASSERT_TRUE(groups.ok()) << groups.status();
  EXPECT_EQ(*groups, (Groups{{in_[0]}, {in_[1]}}));
}

TEST_F(GroupInputsByArgTest, AListArgTakesItsNumberAttrAndTheNextArgTheRest) {
  const AttrMap attrs = {{"N", MakeAttr(int64_t{3})}};
  absl::StatusOr<Groups> groups =
      GroupInputsByArg("c", Op("ConcatV2"), attrs, {in_[0], in_[1], in_[2], axis_});
  ASSERT_TRUE(groups.ok()) << groups.status();
  EXPECT_EQ(*groups, (Groups{{in_[0], in_[1], in_[2]}, {axis_}}));
}

TEST_F(GroupInputsByArgTest, AListArgAfterSingleTensorArgsTakesItsNumber) {
  const AttrMap attrs = {{"num_args", MakeAttr(int64_t{1})}};
  absl::StatusOr<Groups> groups =
      GroupInputsByArg("f", Op("_FusedMatMul"), attrs, {in_[0], in_[1], in_[2]});
  ASSERT_TRUE(groups.ok()) << groups.status();
  EXPECT_EQ(*groups, (Groups{{in_[0]}, {in_[1]}, {in_[2]}}));
}

TEST_F(GroupInputsByArgTest, WithoutAPositiveNumberAListArgTakesEveryInputLeft) {
  for (const AttrMap& attrs : {AttrMap{}, AttrMap{{"N", MakeAttr(int64_t{0})}}}) {
    absl::StatusOr<Groups> groups =
        GroupInputsByArg("sum", Op("AddN"), attrs, {in_[0], in_[1], in_[2], in_[3]});
    ASSERT_TRUE(groups.ok()) << groups.status();
    EXPECT_EQ(*groups, (Groups{{in_[0], in_[1], in_[2], in_[3]}}));
  }
}

TEST_F(GroupInputsByArgTest, TooFewInputsAreAnErrorNamingTheNode) {
  absl::StatusOr<Groups> one = GroupInputsByArg("m", Op("MatMul"), {}, {in_[0]});
  ASSERT_FALSE(one.ok());
  EXPECT_TRUE(absl::StrContains(one.status().message(), "MatMul node 'm'")) << one.status();
  // N = 3 but only two tensors before the axis.
  absl::StatusOr<Groups> short_list = GroupInputsByArg(
      "c", Op("ConcatV2"), {{"N", MakeAttr(int64_t{3})}}, {in_[0], in_[1], axis_});
  ASSERT_FALSE(short_list.ok());
  EXPECT_TRUE(absl::StrContains(short_list.status().message(), "ConcatV2 node 'c'"))
      << short_list.status();
}

TEST_F(GroupInputsByArgTest, InputsLeftOverAreAnErrorNamingTheNode) {
  absl::StatusOr<Groups> groups =
      GroupInputsByArg("m", Op("MatMul"), {}, {in_[0], in_[1], in_[2]});
  ASSERT_FALSE(groups.ok());
  EXPECT_TRUE(absl::StrContains(groups.status().message(), "MatMul node 'm' takes 2 inputs but has 3"))
      << groups.status();
}

// The groups are what NodeBuilder::Input takes: a list arg built from them gets its N inferred.
TEST_F(GroupInputsByArgTest, TheGroupsBuildTheNode) {
  ASSERT_TRUE(root_.ok()) << root_.status();
  absl::StatusOr<Groups> groups =
      GroupInputsByArg("concat", Op("ConcatV2"), {}, {in_[0], in_[1], axis_});
  ASSERT_FALSE(groups.ok());  // Without N the list takes the axis too, leaving none for it.
  groups = GroupInputsByArg("concat", Op("ConcatV2"), {{"N", MakeAttr(int64_t{2})}},
                            {in_[0], in_[1], axis_});
  ASSERT_TRUE(groups.ok()) << groups.status();
  NodeBuilder builder("concat", "ConcatV2");
  for (const std::vector<Output>& arg : *groups) builder.Input(arg);
  absl::StatusOr<Node*> node = builder.Finalize(root_.graph());
  ASSERT_TRUE(node.ok()) << node.status();
  ASSERT_EQ((*node)->num_inputs(), 3);
  EXPECT_EQ((*node)->input(0), in_[0]);
  EXPECT_EQ((*node)->input(1), in_[1]);
  EXPECT_EQ((*node)->input(2), axis_);
  int64_t n = 0;
  ASSERT_TRUE(GetAttr((*node)->attrs(), "N", &n).ok());
  EXPECT_EQ(n, 2);
}

// Assert's "data: T" with T a list(type): as many inputs as T lists, typed each by its entry.
TEST_F(GroupInputsByArgTest, ATypeListArgTakesAsManyAsItsListAndInfersIt) {
  auto cond = ops::Const(root_.WithOpName("cond"), Tensor::Scalar<bool>(true));
  AttrValue two_floats;
  two_floats.mutable_list()->add_type(DT_FLOAT);
  two_floats.mutable_list()->add_type(DT_FLOAT);
  absl::StatusOr<Groups> groups =
      GroupInputsByArg("check", Op("Assert"), {{"T", two_floats}}, {cond, in_[0], in_[1]});
  ASSERT_TRUE(groups.ok()) << groups.status();
  EXPECT_EQ(*groups, (Groups{{cond}, {in_[0], in_[1]}}));
  groups = GroupInputsByArg("check", Op("Assert"), {{"T", two_floats}}, {cond, in_[0]});
  EXPECT_FALSE(groups.ok());
  // Without T, the list takes the rest and Finalize infers T from the inputs' types.
  groups = GroupInputsByArg("check", Op("Assert"), {}, {cond, in_[0], axis_});
  ASSERT_TRUE(groups.ok()) << groups.status();
  NodeBuilder builder("check", "Assert");
  for (const std::vector<Output>& arg : *groups) builder.Input(arg);
  absl::StatusOr<Node*> node = builder.Finalize(root_.graph());
  ASSERT_TRUE(node.ok()) << node.status();
  EXPECT_EQ((*node)->FindAttr("T")->list().type(0), DT_FLOAT);
  EXPECT_EQ((*node)->FindAttr("T")->list().type(1), DT_INT32);
  EXPECT_EQ((*node)->input_type(2), DT_INT32);
  // A T that contradicts the inputs is an error naming the node.
  NodeBuilder wrong("check2", "Assert");
  wrong.Input(cond).Input(std::vector<Output>{in_[0]}).Attr("T", two_floats);
  EXPECT_TRUE(absl::StrContains(wrong.Finalize(root_.graph()).status().message(),
                                "Assert node 'check2': attr 'T' is"));
}

}  // namespace
}  // namespace dflow
