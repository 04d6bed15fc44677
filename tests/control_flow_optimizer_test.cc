// The graph optimizer on graphs with control flow (runtime/control_flow_optimizer.h): the part
// outside loops and dead branches is rewritten (batch norm folded into its convolution,
// MatMul + BiasAdd + Relu fused, constants folded), the control-flow nodes and what they reach
// run as written. Checked against hand-computed values, against the same graph run with
// optimize_graph off, and through the ops a traced run executes.
#include "runtime/control_flow_optimizer.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "graph/status_macros.h"
#include "gtest/gtest.h"
#include "ops/standard_ops.h"
#include "runtime/session.h"
#include "tests/test_util.h"

namespace dflow {
namespace test {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

struct Traced {
  std::vector<Tensor> out;
  std::vector<std::string> ops;    // One per executed node.
  std::vector<std::string> names;  // The same nodes' names.
};

Traced RunTraced(const Scope& root, const SessionOptions& options,
                 const std::vector<std::pair<Output, Tensor>>& feeds,
                 const std::vector<Output>& fetches) {
  Traced t;
  std::unique_ptr<Session> session = NewSession(root, options);
  if (session == nullptr) return t;
  RunOptions run;
  run.trace = true;
  RunMetadata metadata;
  const absl::Status s = session->Run(run, feeds, fetches, {}, &t.out, &metadata);
  EXPECT_TRUE(s.ok()) << s;
  for (const NodeExecStats& n : metadata.nodes) {
    t.ops.push_back(n.op);
    t.names.push_back(n.node);
  }
  return t;
}

// The op that ran as node `name`, or "" when none did.
std::string OpOf(const Traced& t, const std::string& name) {
  auto it = std::find(t.names.begin(), t.names.end(), name);
  return it == t.names.end() ? "" : t.ops[it - t.names.begin()];
}

int Count(const std::vector<std::string>& v, const std::string& s) {
  return static_cast<int>(std::count(v.begin(), v.end(), s));
}

// x [1, 2, 2, 2] -> 1x1 Conv2D -> inference FusedBatchNormV3 -> Relu -> [1, 8] -> tf.cond
// (true: * 2, false: + (1 + 2)) -> MatMul + BiasAdd + Relu -> while (i < 3) acc = acc / 2 + 1
// -> + (10 + 20).
struct Model {
  Scope root = Scope::NewRootScope();
  Output x, pred, y, i;
  absl::Status status;  // Of building the cond and the loop.
  Model() {
    x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({1, 2, 2, 2}));
    pred = ops::Placeholder(root.WithOpName("pred"), DT_BOOL, ops::Placeholder::Shape({}));
    // out0 = x0 + x1, out1 = x1.
    auto conv = ops::Conv2D(root, x, ops::Const(root, FloatTensor({1, 1, 2, 2}, {1, 0, 1, 1})),
                            {1, 1, 1, 1}, "VALID");
    // sqrt(var + 1) = {2, 1}: y0 = (v - 1) / 2 * 2 + 1 = v, y1 = v / 1 * 1 - 1 = v - 1.
    ops::FusedBatchNormV3 bn(root, conv, ops::Const(root, FloatTensor({2}, {2, 1})),
                             ops::Const(root, FloatTensor({2}, {1, -1})),
                             ops::Const(root, FloatTensor({2}, {1, 0})),
                             ops::Const(root, FloatTensor({2}, {3, 0})),
                             ops::FusedBatchNormAttrs().IsTraining(false).Epsilon(1.f));
    auto h = ops::Reshape(root, ops::Relu(root, bn.y), ops::Const(root, Int32Tensor({2}, {1, 8})));
    std::vector<Output> merged;
    status = ops::Cond(
        root, pred, {h},
        [](const Scope& s, const std::vector<Output>& in, std::vector<Output>* out) {
          out->push_back(ops::Mul(s, in[0], 2.f));
          return absl::OkStatus();
        },
        [](const Scope& s, const std::vector<Output>& in, std::vector<Output>* out) {
          out->push_back(ops::Add(s, in[0], ops::Add(s, 1.f, 2.f)));
          return absl::OkStatus();
        },
        &merged);
    if (!status.ok()) return;
    std::vector<float> w2;
    for (int k = 0; k < 8; ++k) w2.insert(w2.end(), {1.f, k % 2 == 0 ? 1.f : -1.f});
    auto z = ops::Relu(
        root,
        ops::BiasAdd(root, ops::MatMul(root, merged[0], ops::Const(root, FloatTensor({8, 2}, w2))),
                     ops::Const(root, FloatTensor({2}, {-100, 0.5f}))));
    std::vector<Output> exits;
    status = ops::WhileLoop(
        root, {ops::Const(root, 0), z},
        [](const Scope& s, const std::vector<Output>& v, Output* cond) {
          *cond = ops::Less(s, v[0], 3);
          return absl::OkStatus();
        },
        [](const Scope& s, const std::vector<Output>& v, std::vector<Output>* next) {
          next->push_back(ops::Add(s.WithOpName("count"), v[0], 1));
          next->push_back(ops::Add(s, ops::Mul(s.WithOpName("halve"), v[1], 0.5f), 1.f));
          return absl::OkStatus();
        },
        &exits);
    if (!status.ok()) return;
    i = exits[0];
    y = ops::Add(root.WithOpName("y"), exits[1],
                 ops::Add(root.WithOpName("c30"), ops::Const(root, 10.f), ops::Const(root, 20.f)));
  }
};

Tensor Input() { return FloatTensor({1, 2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8}); }

TEST(ControlFlowOptimizer, RewritesThePlainPartAndMatchesHandValuesAndTheUnoptimizedGraph) {
  // Conv: (3, 2) (7, 4) (11, 6) (15, 8); batch norm: (3, 1) (7, 3) (11, 5) (15, 7).
  // true: h * 2 = [6 2 14 6 22 10 30 14]: sum 104, alternating 40 -> relu(4, 40.5);
  // false: h + 3 = [6 4 10 6 14 8 18 10]: sum 76, alternating 20 -> relu(-24, 20.5).
  // Three halvings: a / 8 + 1.75; then + 30.
  for (bool p : {true, false}) {
    SCOPED_TRACE(p ? "true branch" : "false branch");
    const std::vector<double> want = p ? std::vector<double>{4 / 8. + 31.75, 40.5 / 8 + 31.75}
                                       : std::vector<double>{0 / 8. + 31.75, 20.5 / 8 + 31.75};
    Model m;
    ASSERT_TRUE(m.status.ok()) << m.status;
    ASSERT_TRUE(m.root.ok()) << m.root.status();
    const std::vector<std::pair<Output, Tensor>> feeds = {{m.x, Input()},
                                                          {m.pred, Tensor::Scalar<bool>(p)}};
    Traced opt = RunTraced(m.root, SessionOptions(), feeds, {m.y, m.i});
    Traced ref = RunTraced(m.root, Unoptimized(), feeds, {m.y, m.i});
    ASSERT_EQ(opt.out.size(), 2u);
    ASSERT_EQ(ref.out.size(), 2u);
    ExpectNear(ValuesOf<float>(opt.out[0]), want, 1e-6, "optimized");
    ExpectNear(ValuesOf<float>(ref.out[0]), want, 1e-6, "as written");
    EXPECT_EQ(opt.out[1].scalar<int32_t>(), 3);
    EXPECT_EQ(ref.out[1].scalar<int32_t>(), 3);

    // As written: every op runs. Optimized: batch norm folded into a fused convolution, the
    // MatMul chain fused, (10 + 20) folded to a Const.
    EXPECT_THAT(ref.ops, Contains("FusedBatchNormV3"));
    EXPECT_THAT(ref.ops, Contains("MatMul"));
    EXPECT_EQ(OpOf(ref, "c30"), "Add");
    EXPECT_THAT(opt.ops, Contains("_FusedConv2D"));
    EXPECT_THAT(opt.ops, Contains("_FusedMatMul"));
    for (const char* gone : {"Conv2D", "FusedBatchNormV3", "MatMul", "BiasAdd", "Relu"}) {
      EXPECT_THAT(opt.ops, Not(Contains(gone)));
    }
    EXPECT_EQ(OpOf(opt, "c30"), "Const");
    // The control flow as written: the body once per iteration, the branch not taken never run.
    for (const Traced* t : {&opt, &ref}) {
      EXPECT_EQ(Count(t->names, "cond/true/Mul"), p ? 1 : 0);
      EXPECT_EQ(Count(t->names, "cond/false/Add"), p ? 0 : 1);
      EXPECT_EQ(Count(t->ops, "Exit"), 2);
      EXPECT_EQ(Count(t->names, "while/body/halve"), 3);
      EXPECT_EQ(Count(t->ops, "Mul"), 3 + (p ? 1 : 0));
    }
    EXPECT_LT(opt.ops.size(), ref.ops.size());
  }
}

// Rank of a Switch output has a known value, but only where its branch is taken: folded to a
// Const it would be live in both branches and the Merge would get two live inputs.
TEST(ControlFlowOptimizer, NothingDownstreamOfASwitchIsFolded) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({2, 3}));
  auto pred = ops::Placeholder(root, DT_BOOL, ops::Placeholder::Shape({}));
  ops::Switch sw(root, x, pred);
  auto rank_false = ops::Rank(root.WithOpName("rank_false"), sw.output_false);
  auto rank_true = ops::Mul(root.WithOpName("rank_true"), ops::Rank(root, sw.output_true), 10);
  ops::Merge merge(root, {rank_false, rank_true});
  auto out = ops::Add(root, merge.output, ops::Add(root, 100, 1000));
  ASSERT_TRUE(root.ok()) << root.status();
  for (bool p : {true, false}) {
    const std::vector<std::pair<Output, Tensor>> feeds = {{x, RandomTensor({2, 3}, 1)},
                                                          {pred, Tensor::Scalar<bool>(p)}};
    for (const SessionOptions& options : {SessionOptions(), Unoptimized()}) {
      absl::StatusOr<std::vector<Tensor>> got =
          RunGraph(root, feeds, {out, merge.value_index}, options);
      ASSERT_TRUE(got.ok()) << got.status();
      EXPECT_EQ((*got)[0].scalar<int32_t>(), 1100 + (p ? 20 : 2));
      EXPECT_EQ((*got)[1].scalar<int32_t>(), p ? 1 : 0);
      // The branch not taken is dead, optimized or not.
      absl::StatusOr<std::vector<Tensor>> dead =
          RunGraph(root, feeds, {p ? rank_false : rank_true}, options);
      ASSERT_FALSE(dead.ok());
      EXPECT_THAT(std::string(dead.status().message()), HasSubstr("is dead"));
    }
  }
}

// The classification itself: a cond nested in another cond's branch leaves the inner Merge's
// consumers conditional on the outer predicate; the outer Merge's consumers, and a loop's Exit's,
// are plain again.
TEST(ControlFlowOptimizer, NestedCondsAndLoopsTouchOnlyTheirOwnNodes) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({}));
  auto p1 = ops::Placeholder(root.WithOpName("p1"), DT_BOOL, ops::Placeholder::Shape({}));
  auto p2 = ops::Placeholder(root.WithOpName("p2"), DT_BOOL, ops::Placeholder::Shape({}));
  auto before = ops::Neg(root.WithOpName("before"), x);
  std::vector<Output> outer;
  ASSERT_TRUE(ops::Cond(
                  root, p1, {before, p2},
                  [](const Scope& s, const std::vector<Output>& in, std::vector<Output>* out) {
                    std::vector<Output> inner;
                    DFLOW_RETURN_IF_ERROR(ops::Cond(
                        s, in[1], {in[0]},
                        [](const Scope& s2, const std::vector<Output>& v, std::vector<Output>* o) {
                          o->push_back(ops::Mul(s2, v[0], 3.f));
                          return absl::OkStatus();
                        },
                        [](const Scope& s2, const std::vector<Output>& v, std::vector<Output>* o) {
                          o->push_back(ops::Mul(s2, v[0], 5.f));
                          return absl::OkStatus();
                        },
                        &inner));
                    out->push_back(ops::Neg(s.WithOpName("after_inner"), inner[0]));
                    return absl::OkStatus();
                  },
                  [](const Scope& s, const std::vector<Output>& in, std::vector<Output>* out) {
                    out->push_back(ops::Mul(s, in[0], -7.f));
                    return absl::OkStatus();
                  },
                  &outer)
                  .ok());
  auto after_outer = ops::Neg(root.WithOpName("after_outer"), outer[0]);
  std::vector<Output> exits;
  ASSERT_TRUE(ops::WhileLoop(
                  root, {after_outer},
                  [](const Scope& s, const std::vector<Output>& v, Output* cond) {
                    *cond = ops::Less(s, v[0], 100.f);
                    return absl::OkStatus();
                  },
                  [](const Scope& s, const std::vector<Output>& v, std::vector<Output>* next) {
                    next->push_back(ops::Mul(s.WithOpName("doubled"), v[0], 2.f));
                    return absl::OkStatus();
                  },
                  &exits)
                  .ok());
  auto after_loop = ops::Neg(root.WithOpName("after_loop"), exits[0]);
  ASSERT_TRUE(root.ok()) << root.status();
  const Graph& g = *root.graph();
  std::optional<std::vector<bool>> touched = ControlFlowTouchedNodes(g, {x, p1, p2});
  ASSERT_TRUE(touched.has_value());
  auto is_touched = [&](const Output& o) { return (*touched)[o.node()->id()]; };
  // The node whose name ends in `/suffix` (scopes prefix the names in branches and bodies).
  auto named = [&](const std::string& suffix) -> Output {
    for (Node* n : g.nodes()) {
      if (absl::EndsWith(n->name(), "/" + suffix)) return Output(n);
    }
    ADD_FAILURE() << "no node named */" << suffix;
    return Output(g.node(0));
  };
  EXPECT_FALSE(is_touched(before));
  EXPECT_TRUE(is_touched(named("after_inner")));
  EXPECT_FALSE(is_touched(after_outer));
  EXPECT_TRUE(is_touched(named("doubled")));
  EXPECT_TRUE(is_touched(exits[0]));
  EXPECT_FALSE(is_touched(after_loop));

  // -x -> (p1 ? -(x * (p2 ? 3 : 5)) : x * -7) -> negated -> doubled while below 100 -> negated.
  auto expected = [](float x, bool p1, bool p2) {
    float v = -(p1 ? -(-x * (p2 ? 3.f : 5.f)) : -x * -7.f);
    while (v < 100.f) v *= 2.f;
    return -v;
  };
  for (bool b1 : {false, true}) {
    for (bool b2 : {false, true}) {
      const std::vector<std::pair<Output, Tensor>> feeds = {{x, Tensor::Scalar<float>(-2.f)},
                                                            {p1, Tensor::Scalar<bool>(b1)},
                                                            {p2, Tensor::Scalar<bool>(b2)}};
      for (const SessionOptions& options : {SessionOptions(), Unoptimized()}) {
        absl::StatusOr<std::vector<Tensor>> got = RunGraph(root, feeds, {after_loop}, options);
        ASSERT_TRUE(got.ok()) << got.status();
        EXPECT_EQ((*got)[0].scalar<float>(), expected(-2.f, b1, b2)) << b1 << b2;
      }
    }
  }
}

// A feed inside a branch keeps the graph as written (the optimizer declines), with the
// executor's own answer.
TEST(ControlFlowOptimizer, FeedingATouchedTensorRunsTheGraphAsWritten) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({}));
  auto pred = ops::Placeholder(root, DT_BOOL, ops::Placeholder::Shape({}));
  ops::Switch sw(root, x, pred);
  auto doubled = ops::Mul(root, sw.output_true, 2.f);
  ops::Merge merge(root, {sw.output_false, doubled});
  auto out = ops::Add(root, merge.output, ops::Add(root, 1.f, 2.f));
  ASSERT_TRUE(root.ok()) << root.status();
  absl::StatusOr<std::vector<Tensor>> got = RunGraph(root,
                                                     {{x, Tensor::Scalar<float>(1.f)},
                                                      {pred, Tensor::Scalar<bool>(true)},
                                                      {doubled, Tensor::Scalar<float>(40.f)}},
                                                     {out});
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ((*got)[0].scalar<float>(), 43.f);
}

// A fed tensor whose producer does not run may take another shape than its static one, as
// without control flow; the part before and after the cond still runs optimized.
TEST(ControlFlowOptimizer, AFedTensorOfAnotherShapeFlowsIntoTheCond) {
  Scope root = Scope::NewRootScope();
  auto pred = ops::Placeholder(root, DT_BOOL, ops::Placeholder::Shape({}));
  auto b = ops::Neg(root, ops::Const(root, FloatTensor({2}, {1, 2})));  // Static shape [2].
  ops::Switch sw(root, b, pred);
  ops::Merge merge(root, {ops::Mul(root, sw.output_false, 10.f), sw.output_true});
  auto out = ops::Add(root, merge.output, ops::Mul(root, 2.f, 3.f));
  ASSERT_TRUE(root.ok()) << root.status();
  for (bool p : {true, false}) {
    for (const SessionOptions& options : {SessionOptions(), Unoptimized()}) {
      absl::StatusOr<std::vector<Tensor>> got =
          RunGraph(root, {{pred, Tensor::Scalar<bool>(p)}, {b, FloatTensor({3}, {1, 2, 3})}}, {out},
                   options);
      ASSERT_TRUE(got.ok()) << got.status();
      ExpectNear(ValuesOf<float>((*got)[0]),
                 p ? std::vector<double>{7, 8, 9} : std::vector<double>{16, 26, 36}, 0,
                 p ? "true" : "false");
    }
  }
}

}  // namespace
}  // namespace test
}  // namespace dflow
