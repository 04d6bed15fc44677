// Control flow (Switch, Merge, Enter, Exit, NextIteration, LoopCond) against hand-computed
// results: conds taking each branch, dead fetches, loops with zero and many iterations, nested
// loops, a cond inside a loop, malformed graphs and a loop that never ends.
#include <functional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "graph/status_macros.h"
#include "ops/standard_ops.h"
#include "runtime/session.h"
#include "tests/gradient_checker.h"
#include "tests/test_util.h"

namespace dflow {
namespace {

using ::testing::HasSubstr;

Tensor F(float v) { return Tensor::Scalar<float>(v); }
Tensor I(int32_t v) { return Tensor::Scalar<int32_t>(v); }
Tensor B(bool v) { return Tensor::Scalar<bool>(v); }

absl::StatusOr<std::vector<Tensor>> RunGraph(const Scope& root,
                                             const std::vector<std::pair<Output, Tensor>>& feeds,
                                             const std::vector<Output>& fetches,
                                             const RunOptions& options = {}) {
  DFLOW_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::Create(root));
  std::vector<Tensor> out;
  DFLOW_RETURN_IF_ERROR(session->Run(options, feeds, fetches, {}, &out, nullptr));
  return out;
}

// A branch of one input and one output, the form every cond in these tests takes.
using UnaryBranch = std::function<Output(const Scope& scope, const Output& input)>;

// ops::Cond of the single input `x`, returning its single output.
absl::StatusOr<Output> UnaryCond(const Scope& scope, const Output& pred, const Output& x,
                                 const UnaryBranch& true_fn, const UnaryBranch& false_fn) {
  auto branch = [](const UnaryBranch& fn) {
    return [&fn](const Scope& s, const std::vector<Output>& in, std::vector<Output>* out) {
      *out = {fn(s, in[0])};
      return s.status();
    };
  };
  std::vector<Output> outs;
  DFLOW_RETURN_IF_ERROR(ops::Cond(scope, pred, {x}, branch(true_fn), branch(false_fn), &outs));
  return outs[0];
}

TEST(ControlFlowTest, SwitchMergePicksTheBranchThePredicateNames) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto pred = ops::Placeholder(root, DT_BOOL);
  ops::Switch sw(root, x, pred);
  auto doubled = ops::Mul(root, sw.output_true, 2.0f);
  auto plus10 = ops::Add(root, sw.output_false, 10.0f);
  ops::Merge merge(root, {plus10, doubled});
  ASSERT_TRUE(root.ok()) << root.status();
  for (bool p : {true, false}) {
    auto out = RunGraph(root, {{x, F(3)}, {pred, B(p)}}, {merge.output, merge.value_index});
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ((*out)[0].scalar<float>(), p ? 6.0f : 13.0f);
    EXPECT_EQ((*out)[1].scalar<int32_t>(), p ? 1 : 0);
  }
}

TEST(ControlFlowTest, FetchingADeadTensorIsAnError) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto pred = ops::Placeholder(root, DT_BOOL);
  ops::Switch sw(root, x, pred);
  auto dead = ops::Neg(root, sw.output_true);
  auto out = RunGraph(root, {{x, F(1)}, {pred, B(false)}}, {dead});
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(std::string(out.status().message()), HasSubstr("is dead"));
  auto live = RunGraph(root, {{x, F(1)}, {pred, B(true)}}, {dead});
  ASSERT_TRUE(live.ok()) << live.status();
  EXPECT_EQ((*live)[0].scalar<float>(), -1.0f);
}

TEST(ControlFlowTest, CondBuilderRunsOnlyTheTakenBranch) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto pred = ops::Less(root, x, 0.0f);
  // A branch returning a constant: the constant must die with its branch.
  absl::StatusOr<Output> y = UnaryCond(
      root, pred, x,
      [](const Scope& s, const Output&) -> Output { return ops::Const(s, -1.0f, TensorShape()); },
      [](const Scope& s, const Output& in) -> Output { return ops::Sqrt(s, in); });
  ASSERT_TRUE(y.ok()) << y.status();
  ASSERT_TRUE(root.ok()) << root.status();
  auto neg = RunGraph(root, {{x, F(-4)}}, {*y});
  ASSERT_TRUE(neg.ok()) << neg.status();
  EXPECT_EQ((*neg)[0].scalar<float>(), -1.0f);
  auto pos = RunGraph(root, {{x, F(16)}}, {*y});
  ASSERT_TRUE(pos.ok()) << pos.status();
  EXPECT_EQ((*pos)[0].scalar<float>(), 4.0f);
}

// while (i < n) { i += 1; acc *= 2 } -> (n, 2^n) for n >= 0, (i0, acc0) when n <= i0.
absl::Status BuildDoublingLoop(const Scope& root, Output i0, Output acc0, Output n,
                         std::vector<Output>* outs) {
  return ops::WhileLoop(
      root, {i0, acc0, n},
      [](const Scope& s, const std::vector<Output>& v, Output* out) {
        *out = ops::Less(s, v[0], v[2]);
        return s.status();
      },
      [](const Scope& s, const std::vector<Output>& v, std::vector<Output>* out) {
        *out = {ops::Add(s, v[0], 1), ops::Mul(s, v[1], 2.0f), v[2]};
        return s.status();
      },
      outs);
}

TEST(ControlFlowTest, WhileLoopRunsZeroAndManyIterations) {
  Scope root = Scope::NewRootScope();
  auto n = ops::Placeholder(root, DT_INT32);
  std::vector<Output> outs;
  ASSERT_TRUE(BuildDoublingLoop(root, ops::Const(root, Tensor::Scalar<int32_t>(0)),
                                ops::Const(root, 1.0f, TensorShape()), n, &outs)
                  .ok());
  ASSERT_TRUE(root.ok()) << root.status();
  for (int trips : {0, 1, 5, 20}) {
    auto out = RunGraph(root, {{n, I(trips)}}, {outs[0], outs[1]});
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ((*out)[0].scalar<int32_t>(), trips);
    EXPECT_EQ((*out)[1].scalar<float>(), static_cast<float>(1 << trips));
  }
  auto negative = RunGraph(root, {{n, I(-3)}}, {outs[0]});
  ASSERT_TRUE(negative.ok()) << negative.status();
  EXPECT_EQ((*negative)[0].scalar<int32_t>(), 0);
}

TEST(ControlFlowTest, NestedLoopsCountEveryInnerIteration) {
  // total = sum over i in [0, n) of (number of j in [0, i)) = n(n-1)/2.
  Scope root = Scope::NewRootScope();
  auto n = ops::Placeholder(root, DT_INT32);
  std::vector<Output> outs;
  ASSERT_TRUE(
      ops::WhileLoop(
          root, {ops::Const(root, Tensor::Scalar<int32_t>(0)), ops::Const(root, Tensor::Scalar<int32_t>(0)), n},
          [](const Scope& s, const std::vector<Output>& v, Output* out) {
            *out = ops::Less(s, v[0], v[2]);
            return s.status();
          },
          [](const Scope& s, const std::vector<Output>& v, std::vector<Output>* out) {
            std::vector<Output> inner;
            DFLOW_RETURN_IF_ERROR(ops::WhileLoop(
                s, {ops::Const(s, Tensor::Scalar<int32_t>(0)), v[1], v[0]},
                [](const Scope& s2, const std::vector<Output>& w, Output* o) {
                  *o = ops::Less(s2, w[0], w[2]);
                  return s2.status();
                },
                [](const Scope& s2, const std::vector<Output>& w, std::vector<Output>* o) {
                  *o = {ops::Add(s2, w[0], 1), ops::Add(s2, w[1], 1), w[2]};
                  return s2.status();
                },
                &inner));
            *out = {ops::Add(s, v[0], 1), inner[1], v[2]};
            return s.status();
          },
          &outs)
          .ok());
  ASSERT_TRUE(root.ok()) << root.status();
  for (int trips : {0, 1, 4, 7}) {
    auto out = RunGraph(root, {{n, I(trips)}}, {outs[1]});
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ((*out)[0].scalar<int32_t>(), trips * (trips - 1) / 2) << trips;
  }
}

TEST(ControlFlowTest, CondInsideALoopTakesItsBranchPerIteration) {
  // Collatz steps of x: while x != 1: x = x even ? x / 2 : 3x + 1; count steps.
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_INT32);
  std::vector<Output> outs;
  ASSERT_TRUE(
      ops::WhileLoop(
          root, {x, ops::Const(root, Tensor::Scalar<int32_t>(0))},
          [](const Scope& s, const std::vector<Output>& v, Output* out) {
            *out = ops::Greater(s, v[0], 1);
            return s.status();
          },
          [](const Scope& s, const std::vector<Output>& v, std::vector<Output>* out) {
            auto even = ops::Equal(s, ops::FloorMod(s, v[0], 2), 0);
            DFLOW_ASSIGN_OR_RETURN(
                const Output next,
                UnaryCond(
                    s, even, v[0],
                    [](const Scope& b, const Output& in) -> Output {
                      return ops::FloorDiv(b, in, 2);
                    },
                    [](const Scope& b, const Output& in) -> Output {
                      return ops::Add(b, ops::Mul(b, in, 3), 1);
                    }));
            *out = {next, ops::Add(s, v[1], 1)};
            return s.status();
          },
          &outs)
          .ok());
  ASSERT_TRUE(root.ok()) << root.status();
  auto collatz = [](int v) {
    int steps = 0;
    while (v > 1) v = (v % 2 == 0) ? v / 2 : 3 * v + 1, ++steps;
    return steps;
  };
  for (int start : {1, 2, 6, 27}) {
    auto out = RunGraph(root, {{x, I(start)}}, {outs[1]});
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ((*out)[0].scalar<int32_t>(), collatz(start)) << start;
  }
}

TEST(ControlFlowTest, GradientsFlowThroughTheTakenBranchOfACond) {
  // y = x < 0 ? x * x : 3 * x * sum(x): both branches depend on x, differently.
  for (bool negative : {true, false}) {
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT);
    auto pred = ops::Placeholder(root, DT_BOOL);
    absl::StatusOr<Output> y = UnaryCond(
        root, pred, x,
        [](const Scope& s, const Output& in) -> Output { return ops::Mul(s, in, in); },
        [](const Scope& s, const Output& in) -> Output {
          return ops::Mul(s, ops::Mul(s, in, 3.0f), ops::Sum(s, in, {0}));
        });
    ASSERT_TRUE(y.ok()) << y.status();
    ASSERT_TRUE(root.ok()) << root.status();
    const std::vector<float> values = {0.5f, -1.5f, 2.0f};
    Tensor xv = *Tensor::FromVector<float>(values, TensorShape({3}));
    auto err = test::MaxGradientError(root, {{x, xv}}, *y, {{pred, B(negative)}});
    ASSERT_TRUE(err.ok()) << err.status();
    EXPECT_LT(*err, 1e-3) << (negative ? "true branch" : "false branch");
  }
}

TEST(ControlFlowTest, GraphDefRoundTripKeepsTheBackEdges) {
  Scope root = Scope::NewRootScope();
  auto n = ops::Placeholder(root.WithOpName("n"), DT_INT32);
  std::vector<Output> outs;
  ASSERT_TRUE(BuildDoublingLoop(root, ops::Const(root, Tensor::Scalar<int32_t>(0)),
                                ops::Const(root, 1.0f, TensorShape()), n, &outs)
                  .ok());
  GraphDef def;
  ASSERT_TRUE(root.ToGraphDef(&def).ok());
  auto session = Session::Create(def);
  ASSERT_TRUE(session.ok()) << session.status();
  std::vector<Tensor> out;
  ASSERT_TRUE((*session)->Run({{"n", I(6)}}, {outs[1].name()}, {}, &out).ok());
  EXPECT_EQ(out[0].scalar<float>(), 64.0f);
}

TEST(ControlFlowTest, MalformedControlFlowGivesClearErrors) {
  {
    // An Exit without a loop.
    Scope root = Scope::NewRootScope();
    auto exit = ops::Exit(root, ops::Const(root, 1.0f, TensorShape()));
    auto out = RunGraph(root, {}, {exit});
    ASSERT_FALSE(out.ok());
    EXPECT_THAT(std::string(out.status().message()), HasSubstr("not inside a while loop"));
  }
  {
    // A NextIteration outside a loop.
    Scope root = Scope::NewRootScope();
    auto next = ops::NextIteration(root, ops::Const(root, 1.0f, TensorShape()));
    auto out = RunGraph(root, {}, {next});
    ASSERT_FALSE(out.ok());
    EXPECT_THAT(std::string(out.status().message()), HasSubstr("not inside a while loop"));
  }
  {
    // A Merge of two live inputs.
    Scope root = Scope::NewRootScope();
    ops::Merge merge(root, {ops::Const(root, 1.0f, TensorShape()), ops::Const(root, 2.0f, TensorShape())});
    auto out = RunGraph(root, {}, {merge.output});
    ASSERT_FALSE(out.ok());
    EXPECT_THAT(std::string(out.status().message()), HasSubstr("both live"));
  }
}

TEST(ControlFlowTest, ALoopThatNeverEndsStopsAtTheTimeout) {
  Scope root = Scope::NewRootScope();
  std::vector<Output> outs;
  ASSERT_TRUE(ops::WhileLoop(
                  root, {ops::Const(root, Tensor::Scalar<int32_t>(0))},
                  [](const Scope& s, const std::vector<Output>& v, Output* out) {
                    *out = ops::GreaterEqual(s, v[0], 0);  // Always true.
                    return s.status();
                  },
                  [](const Scope& s, const std::vector<Output>& v, std::vector<Output>* out) {
                    *out = {ops::Mul(s, v[0], 1)};
                    return s.status();
                  },
                  &outs)
                  .ok());
  RunOptions options;
  options.timeout_in_ms = 200;
  auto out = RunGraph(root, {}, {outs[0]}, options);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kDeadlineExceeded) << out.status();
}

}  // namespace
}  // namespace dflow
