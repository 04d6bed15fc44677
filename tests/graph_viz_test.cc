// DOT rendering of graphs, with and without the pruned part.
#include "tools/graph_dot.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "ops/standard_ops.h"

namespace dflow {
namespace {

TEST(GraphToDot, LabelsNodesWithOpsAndEdgesWithTypesAndShapes) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({-1, 3}));
  auto w = ops::Variable(root.WithOpName("w"), {3}, DT_FLOAT);
  auto y = ops::Mul(root.WithOpName("y"), x, w);
  auto group = ops::NoOp(root.WithControlDependencies(y).WithOpName("group"));
  ASSERT_TRUE(root.ok());
  const std::string dot = GraphToDot(*root.graph());
  EXPECT_TRUE(absl::StartsWith(dot, "digraph dflow {"));
  EXPECT_TRUE(absl::StrContains(dot, "\"x\" [label=\"x\nPlaceholder\", shape=box")) << dot;
  EXPECT_TRUE(absl::StrContains(dot, "\"w\" [label=\"w\nVariableV2\", shape=box3d")) << dot;
  EXPECT_TRUE(absl::StrContains(dot, "\"x\" -> \"y\" [label=\"float [?,3]\"]")) << dot;
  EXPECT_TRUE(absl::StrContains(dot, "\"y\" -> \"group\" [style=dashed]")) << dot;
}

TEST(GraphToDot, GreysOutOrHidesWhatARunWouldPrune) {
  Scope root = Scope::NewRootScope();
  auto a = ops::Const(root.WithOpName("a"), 1.f);
  auto used = ops::Identity(root.WithOpName("used"), a);
  auto unused = ops::Identity(root.WithOpName("unused"), a);
  const Node* target = used.node();
  std::vector<bool> needed = NodesNeededFor(*root.graph(), {}, {}, {&target, 1});
  EXPECT_TRUE(needed[a.node()->id()]);
  EXPECT_FALSE(needed[unused.node()->id()]);
  const std::string dot = GraphToDot(*root.graph(), &needed);
  EXPECT_TRUE(absl::StrContains(dot, "\"unused\" [label=\"unused\nIdentity\", shape=ellipse, "
                                     "color=gray70, fontcolor=gray60, style=dotted]")) << dot;
  const std::string hidden = GraphToDot(*root.graph(), &needed, /*hide_pruned=*/true);
  EXPECT_FALSE(absl::StrContains(hidden, "unused")) << hidden;
  EXPECT_TRUE(absl::StrContains(hidden, "\"a\" -> \"used\"")) << hidden;
}

}  // namespace
}  // namespace dflow
