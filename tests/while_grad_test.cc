// Gradients through while loops (ops/control_flow_grad.cc) against central differences
// (tests/gradient_checker.h) and hand-derived closed forms: data-dependent trip counts, zero
// iterations, loop-invariant inputs, nested loops, a cond in the body, a loop over a TensorArray.
#include <cmath>
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

Tensor F(float v) { return Tensor::Scalar<float>(v); }

using test::RunGraph;

// while x < 10: x = x * y, with y loop-invariant: x * y^n for the first n with x * y^n >= 10.
absl::Status PowerLoop(const Scope& root, const Output& x, const Output& y, Output* out) {
  std::vector<Output> outs;
  ops::WhileLoopOptions options;
  options.invariants = {y};
  DFLOW_RETURN_IF_ERROR(ops::WhileLoop(
      root, {x},
      [](const Scope& s, const std::vector<Output>& v, Output* o) {
        *o = ops::Less(s, v[0], 10.0f);
        return s.status();
      },
      [](const Scope& s, const std::vector<Output>& v, std::vector<Output>* o) {
        *o = {ops::Mul(s, v[0], v[1])};
        return s.status();
      },
      &outs, options));
  *out = outs[0];
  return root.status();
}

// PowerLoop of two float placeholders x and y, in a scope of its own: what three tests
// differentiate.
struct PowerGraph {
  Scope root = Scope::NewRootScope();
  Output x = ops::Placeholder(root, DT_FLOAT);
  Output y = ops::Placeholder(root, DT_FLOAT);
  Output out;
  absl::Status status = PowerLoop(root, x, y, &out);
};

TEST(WhileGradTest, DataDependentTripCountMatchesClosedFormAndCentralDifferences) {
  PowerGraph g;
  ASSERT_TRUE(g.status.ok()) << g.root.status();
  const Scope& root = g.root;
  const Output &x = g.x, &y = g.y, &out = g.out;
  std::vector<Output> grads;
  absl::Status s = AddSymbolicGradients(root, {out}, {x, y}, &grads);
  ASSERT_TRUE(s.ok()) << s;
  // x = 1.5, y = 1.7: 1.5 * 1.7^4 = 12.53 >= 10 after n = 4 iterations.
  auto r = RunGraph(root, {{x, F(1.5f)}, {y, F(1.7f)}}, {out, grads[0], grads[1]});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NEAR((*r)[0].scalar<float>(), 1.5 * std::pow(1.7, 4), 1e-4);
  EXPECT_NEAR((*r)[1].scalar<float>(), std::pow(1.7, 4), 1e-4);            // y^n
  EXPECT_NEAR((*r)[2].scalar<float>(), 4 * 1.5 * std::pow(1.7, 3), 1e-4);  // n x y^(n-1)
  auto err = test::MaxGradientError(root, {{x, F(1.5f)}, {y, F(1.7f)}}, out);
  ASSERT_TRUE(err.ok()) << err.status();
  EXPECT_LT(*err, 1e-2);
}

TEST(WhileGradTest, AnotherTripCountPassesCentralDifferences) {
  // 3.0 * 2.1^2 = 13.2 >= 10 after n = 2 iterations.
  PowerGraph g;
  ASSERT_TRUE(g.status.ok()) << g.root.status();
  const Scope& root = g.root;
  const Output &x = g.x, &y = g.y, &out = g.out;
  auto err = test::MaxGradientError(root, {{x, F(3.0f)}, {y, F(2.1f)}}, out);
  ASSERT_TRUE(err.ok()) << err.status();
  EXPECT_LT(*err, 1e-2);
}

TEST(WhileGradTest, ZeroIterationsPassTheGradientStraightThrough) {
  PowerGraph g;
  ASSERT_TRUE(g.status.ok()) << g.root.status();
  const Scope& root = g.root;
  const Output &x = g.x, &y = g.y, &out = g.out;
  std::vector<Output> grads;
  absl::Status s = AddSymbolicGradients(root, {ops::Mul(root, out, 3.0f)}, {x, y}, &grads);
  ASSERT_TRUE(s.ok()) << s;
  auto r = RunGraph(root, {{x, F(20.0f)}, {y, F(1.7f)}}, {out, grads[0], grads[1]});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)[0].scalar<float>(), 20.0f);
  EXPECT_EQ((*r)[1].scalar<float>(), 3.0f);
  EXPECT_EQ((*r)[2].scalar<float>(), 0.0f);
}

TEST(WhileGradTest, SeveralLoopVariablesAndACounter) {
  // for i in [0, 3): (a, b) = (a * b + sin(a), a - b * b); output a + 2b, differentiated by both.
  Scope root = Scope::NewRootScope();
  auto a = ops::Placeholder(root, DT_FLOAT);
  auto b = ops::Placeholder(root, DT_FLOAT);
  std::vector<Output> outs;
  ASSERT_TRUE(ops::WhileLoop(
                  root, {ops::Const(root, 0), a, b},
                  [](const Scope& s, const std::vector<Output>& v, Output* o) {
                    *o = ops::Less(s, v[0], 3);
                    return s.status();
                  },
                  [](const Scope& s, const std::vector<Output>& v, std::vector<Output>* o) {
                    *o = {ops::Add(s, v[0], 1),
                          ops::Add(s, ops::Mul(s, v[1], v[2]), ops::Sin(s, v[1])),
                          ops::Sub(s, v[1], ops::Mul(s, v[2], v[2]))};
                    return s.status();
                  },
                  &outs)
                  .ok())
      << root.status();
  auto y = ops::Add(root, outs[1], ops::Mul(root, outs[2], 2.0f));
  auto err = test::MaxGradientError(root, {{a, F(0.3f)}, {b, F(-0.4f)}}, y);
  ASSERT_TRUE(err.ok()) << err.status();
  EXPECT_LT(*err, 1e-2);
}

TEST(WhileGradTest, NestedLoopsWithAnInvariantUsedInTheInnerBody) {
  // for i in [0, 3): for j in [0, 2): x = tanh(x * w + 0.1)
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({2}));
  auto w = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({2}));
  auto less = [](int n) {
    return [n](const Scope& s, const std::vector<Output>& v, Output* o) {
      *o = ops::Less(s, v[0], n);
      return s.status();
    };
  };
  auto inner_body = [](const Scope& s, const std::vector<Output>& v, std::vector<Output>* o) {
    *o = {ops::Add(s, v[0], 1), ops::Tanh(s, ops::Add(s, ops::Mul(s, v[1], v[2]), 0.1f))};
    return s.status();
  };
  auto outer_body = [&](const Scope& s, const std::vector<Output>& v,
                        std::vector<Output>* o) -> absl::Status {
    std::vector<Output> inner;
    ops::WhileLoopOptions options;
    options.invariants = {v[2]};
    DFLOW_RETURN_IF_ERROR(
        ops::WhileLoop(s, {ops::Const(s, 0), v[1]}, less(2), inner_body, &inner, options));
    *o = {ops::Add(s, v[0], 1), inner[1]};
    return s.status();
  };
  std::vector<Output> outs;
  ops::WhileLoopOptions options;
  options.invariants = {w};
  ASSERT_TRUE(
      ops::WhileLoop(root, {ops::Const(root, 0), x}, less(3), outer_body, &outs, options).ok())
      << root.status();
  Tensor xv = *Tensor::FromVector<float>({0.2f, -0.5f}, TensorShape({2}));
  Tensor wv = *Tensor::FromVector<float>({0.9f, 1.3f}, TensorShape({2}));
  auto err = test::MaxGradientError(root, {{x, xv}, {w, wv}}, outs[1]);
  ASSERT_TRUE(err.ok()) << err.status();
  EXPECT_LT(*err, 1e-2);
}

TEST(WhileGradTest, ACondInsideTheBody) {
  // while i < 4: x = x > 1 ? x * y : x + y; i += 1
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto y = ops::Placeholder(root, DT_FLOAT);
  auto body = [](const Scope& s, const std::vector<Output>& v,
                 std::vector<Output>* o) -> absl::Status {
    std::vector<Output> merged;
    DFLOW_RETURN_IF_ERROR(ops::Cond(
        s, ops::Greater(s, v[1], 1.0f), {v[1], v[2]},
        [](const Scope& b, const std::vector<Output>& in, std::vector<Output>* out) {
          *out = {ops::Mul(b, in[0], in[1])};
          return b.status();
        },
        [](const Scope& b, const std::vector<Output>& in, std::vector<Output>* out) {
          *out = {ops::Add(b, in[0], in[1])};
          return b.status();
        },
        &merged));
    *o = {ops::Add(s, v[0], 1), merged[0]};
    return s.status();
  };
  std::vector<Output> outs;
  ops::WhileLoopOptions options;
  options.invariants = {y};
  ASSERT_TRUE(ops::WhileLoop(
                  root, {ops::Const(root, 0), x},
                  [](const Scope& s, const std::vector<Output>& v, Output* o) {
                    *o = ops::Less(s, v[0], 4);
                    return s.status();
                  },
                  body, &outs, options)
                  .ok())
      << root.status();
  // x = 0.3, y = 0.5: 0.8 (add), 1.3 (add), 0.65 (mul), 1.15 (add): both branches taken.
  std::vector<Output> grads;
  ASSERT_TRUE(AddSymbolicGradients(root, {outs[1]}, {x, y}, &grads).ok()) << root.status();
  auto r = RunGraph(root, {{x, F(0.3f)}, {y, F(0.5f)}}, {outs[1], grads[0], grads[1]});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NEAR((*r)[0].scalar<float>(), 1.15f, 1e-5);
  // out = (x + 2y) * y + y: d/dx = y = 0.5, d/dy = x + 4y + 1 = 3.3.
  EXPECT_NEAR((*r)[1].scalar<float>(), 0.5f, 1e-5);
  EXPECT_NEAR((*r)[2].scalar<float>(), 3.3f, 1e-5);
  auto err = test::MaxGradientError(root, {{x, F(0.3f)}, {y, F(0.5f)}}, outs[1]);
  ASSERT_TRUE(err.ok()) << err.status();
  EXPECT_LT(*err, 1e-2);
}

TEST(WhileGradTest, ALoopReadingATensorArray) {
  // h = 0; for t in [0, 3): h = tanh(h * w + xs[t]), xs unstacked into a TensorArray.
  Scope root = Scope::NewRootScope();
  auto xs = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({3, 2}));
  auto w = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({2}));
  auto h0 = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({2}));
  AttrMap ta_attrs;
  ta_attrs["dtype"].set_type(DT_FLOAT);
  Node* ta = AddOp(root, "TensorArrayV3", {3}, ta_attrs);
  AttrMap t_attrs;
  t_attrs["T"].set_type(DT_FLOAT);
  Node* scatter = AddOp(root, "TensorArrayScatterV3",
                        {Output(ta, 0), Input({0, 1, 2}), xs, Output(ta, 1)}, t_attrs);
  ASSERT_TRUE(root.ok()) << root.status();
  std::vector<Output> outs;
  ops::WhileLoopOptions options;
  options.invariants = {w, Output(ta, 0), Output(scatter, 0)};
  ASSERT_TRUE(ops::WhileLoop(
                  root, {ops::Const(root, 0), h0},
                  [](const Scope& s, const std::vector<Output>& v, Output* o) {
                    *o = ops::Less(s, v[0], 3);
                    return s.status();
                  },
                  [](const Scope& s, const std::vector<Output>& v, std::vector<Output>* o) {
                    AttrMap read_attrs;
                    read_attrs["dtype"].set_type(DT_FLOAT);
                    Output x_t(AddOp(s, "TensorArrayReadV3", {v[3], v[0], v[4]}, read_attrs));
                    *o = {ops::Add(s, v[0], 1),
                          ops::Tanh(s, ops::Add(s, ops::Mul(s, v[1], v[2]), x_t))};
                    return s.status();
                  },
                  &outs, options)
                  .ok())
      << root.status();
  Tensor xv = *Tensor::FromVector<float>({0.1f, -0.2f, 0.3f, 0.4f, -0.5f, 0.6f},
                                         TensorShape({3, 2}));
  Tensor wv = *Tensor::FromVector<float>({0.7f, -1.1f}, TensorShape({2}));
  Tensor hv = *Tensor::FromVector<float>({0.2f, 0.3f}, TensorShape({2}));
  auto err = test::MaxGradientError(root, {{w, wv}, {h0, hv}}, outs[1], {{xs, xv}});
  ASSERT_TRUE(err.ok()) << err.status();
  EXPECT_LT(*err, 1e-2);
}

}  // namespace
}  // namespace dflow
