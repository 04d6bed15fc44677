// The optimizers (GradientDescentOptimizer, AdamOptimizer, MomentumOptimizer) and their slots,
// dropout and variable initialization, against the plain-loop references of tests/reference.h and
// hand-computed values.
#include "ops/training.h"

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "kernels/op_kernel.h"
#include "ops/standard_ops.h"
#include "runtime/session.h"
#include "tests/reference.h"
#include "tests/test_util.h"

namespace dflow {
namespace test {
namespace {

// The values of a float tensor.
constexpr auto Values = ValuesOf<float>;

TEST(GradientDescentOptimizer, FitsALineByLeastSquares) {
  // y = 3x - 1 on 8 points; loss = mean((w*x + b - y)^2).
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({8}));
  auto y = ops::Placeholder(root.WithOpName("y"), DT_FLOAT, ops::Placeholder::Shape({8}));
  auto w = ops::Variable(root.WithOpName("w"), {1}, DT_FLOAT);
  auto b = ops::Variable(root.WithOpName("b"), {1}, DT_FLOAT);
  ops::Assign(root, w, Input({0.f}));
  ops::Assign(root, b, Input({0.f}));
  auto err = ops::Sub(root, ops::Add(root, ops::Mul(root, w, x), b), y);
  auto loss = ops::Mean(root, ops::Square(root, err), {0});
  Operation train = GradientDescentOptimizer(0.1f).Minimize(root, loss);
  Operation init = GlobalVariablesInitializer(root);
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(train.node()->op(), "NoOp");
  EXPECT_EQ(train.node()->control_inputs().size(), 2u);

  std::vector<float> xs, ys;
  for (int i = 0; i < 8; ++i) {
    xs.push_back(i / 4.f - 1);
    ys.push_back(3 * xs.back() - 1);
  }
  std::vector<std::pair<Output, Tensor>> feeds = {{x, test::FloatTensor({8}, xs)},
                                                  {y, test::FloatTensor({8}, ys)}};
  absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(root);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->Run({init}).ok());
  std::vector<Tensor> out;
  for (int step = 0; step < 500; ++step) {
    ASSERT_TRUE((*s)->Run(feeds, {}, {train}, &out).ok());
  }
  ASSERT_TRUE((*s)->Run(feeds, {w, b, loss}, {}, &out).ok());
  EXPECT_NEAR(out[0].flat<float>()[0], 3.f, 1e-3);
  EXPECT_NEAR(out[1].flat<float>()[0], -1.f, 1e-3);
  EXPECT_LT(out[2].scalar<float>(), 1e-6);
}

TEST(GradientDescentOptimizer, ReportsALossWithoutVariables) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
  Operation train = GradientDescentOptimizer(0.5f).Minimize(root, ops::Identity(root, x));
  EXPECT_EQ(train.node(), nullptr);
  EXPECT_TRUE(absl::StrContains(root.status().message(), "depends on no variables"));
}

TEST(GlobalVariablesInitializer, ReportsAVariableWithoutAnAssign) {
  Scope root = Scope::NewRootScope();
  ops::Variable(root.WithOpName("lonely"), {1}, DT_FLOAT);
  GlobalVariablesInitializer(root);
  EXPECT_TRUE(absl::StrContains(root.status().message(), "'lonely' has no Assign"));
}

// ---------------------------------------------------------------------------------------------
// The optimizers.

// loss = sum((w - t)^2) for a 2-element variable w, w0 = (1, -2), t = (0.5, 0.25).
struct Quadratic {
  Scope root = Scope::NewRootScope();
  Output w, loss;
  Quadratic() {
    w = ops::Variable(root.WithOpName("w"), {2}, DT_FLOAT);
    ops::Assign(root.WithOpName("w/Assign"), w, Input({1.f, -2.f}));
    loss = ops::Sum(root, ops::Square(root, ops::Sub(root, w, Input({0.5f, 0.25f}))), {0});
  }
  static std::vector<double> Gradient(const std::vector<double>& w) {
    return {2 * (w[0] - 0.5), 2 * (w[1] - 0.25)};
  }
};

TEST(AdamOptimizer, TwoStepsMatchAPlainLoopAndCreateTensorFlowsSlots) {
  Quadratic q;
  Output step = ops::Variable(q.root.WithOpName("global_step"), {}, DT_INT64);
  ops::Assign(q.root, step, Input(int64_t{0}));
  Operation train = AdamOptimizer(0.1f).Minimize(q.root, q.loss, {}, step);
  Operation init = GlobalVariablesInitializer(q.root);  // After Minimize: it sees the slots.
  ASSERT_TRUE(q.root.ok()) << q.root.status();
  EXPECT_EQ(train.node()->name(), "Adam");
  EXPECT_EQ(train.node()->op(), "AssignAdd");
  const Graph& g = *q.root.graph();
  for (const char* name : {"w/Adam", "w/Adam_1", "beta1_power", "beta2_power"}) {
    absl::StatusOr<Output> out = g.FindOutput(name);
    ASSERT_TRUE(out.ok()) << name;
    EXPECT_EQ(out->node()->op(), "VariableV2") << name;
  }
  for (const char* name : {"Adam/update_w", "Adam/learning_rate", "Adam/update"}) {
    EXPECT_NE(g.FindNode(name), nullptr) << name;
  }
  EXPECT_EQ(g.FindOutput("Adam/update_w")->node()->op(), "ApplyAdam");
  // beta1_power, beta2_power, global_step, w and its two slots.
  EXPECT_EQ(init.node()->control_inputs().size(), 6u);

  auto session = NewSession(q.root);
  ASSERT_TRUE(session->Run({init}).ok());
  const Output m = *g.FindOutput("w/Adam"), v = *g.FindOutput("w/Adam_1");
  const Output b1p = *g.FindOutput("beta1_power"), b2p = *g.FindOutput("beta2_power");
  AdamRef ref({1.0, -2.0}, 0.1f, 0.9f, 0.999f, 1e-8f);
  for (int k = 1; k <= 2; ++k) {
    ref.Step(Quadratic::Gradient(ref.var));
    std::vector<Tensor> out;
    ASSERT_TRUE(session->Run({train}).ok());
    ASSERT_TRUE(session->Run({}, {q.w, m, v, b1p, b2p, step}, {}, &out).ok());
    ExpectNear(Values(out[0]), ref.var, 1e-6, "w");
    ExpectNear(Values(out[1]), ref.m, 1e-6, "m");
    ExpectNear(Values(out[2]), ref.v, 1e-6, "v");
    EXPECT_NEAR(out[3].scalar<float>(), ref.beta1_power, 1e-7);
    EXPECT_NEAR(out[4].scalar<float>(), ref.beta2_power, 1e-7);
    EXPECT_EQ(out[5].scalar<int64_t>(), k);
    if (k == 1) {
      // By hand: g = (1, -4.5); every coordinate moves by ~lr = 0.1 against its gradient.
      ExpectNear(Values(out[0]), {0.9, -1.9}, 1e-6, "w after one step");
      EXPECT_NEAR(out[3].scalar<float>(), 0.81f, 1e-7);
    }
  }
  // And it minimizes the quadratic.
  for (int k = 0; k < 400; ++k) ASSERT_TRUE(session->Run({train}).ok());
  std::vector<Tensor> out;
  ASSERT_TRUE(session->Run({}, {q.w, q.loss}, {}, &out).ok());
  ExpectNear(Values(out[0]), {0.5, 0.25}, 1e-2, "minimum");
  EXPECT_LT(out[1].scalar<float>(), 1e-4);
}

TEST(MomentumOptimizer, TwoStepsMatchAPlainLoopAndMinimizeAQuadratic) {
  for (bool nesterov : {false, true}) {
    Quadratic q;
    Operation train = MomentumOptimizer(0.1f, 0.9f, nesterov).Minimize(q.root, q.loss);
    Operation init = GlobalVariablesInitializer(q.root);
    ASSERT_TRUE(q.root.ok()) << q.root.status();
    EXPECT_EQ(train.node()->name(), "Momentum");
    EXPECT_EQ(train.node()->op(), "NoOp");
    absl::StatusOr<Output> accum = q.root.graph()->FindOutput("w/Momentum");
    ASSERT_TRUE(accum.ok());
    EXPECT_EQ(q.root.graph()->FindOutput("Momentum/update_w")->node()->op(), "ApplyMomentum");
    auto session = NewSession(q.root);
    ASSERT_TRUE(session->Run({init}).ok());
    MomentumRef ref{0.1, 0.9, nesterov, {1.0, -2.0}, {0.0, 0.0}};
    for (int k = 0; k < 2; ++k) {
      ref.Step(Quadratic::Gradient(ref.var));
      std::vector<Tensor> out;
      ASSERT_TRUE(session->Run({train}).ok());
      ASSERT_TRUE(session->Run({}, {q.w, *accum}, {}, &out).ok());
      ExpectNear(Values(out[0]), ref.var, 1e-6, "w");
      ExpectNear(Values(out[1]), ref.accum, 1e-6, "accum");
    }
    for (int k = 0; k < 300; ++k) ASSERT_TRUE(session->Run({train}).ok());
    std::vector<Tensor> out;
    ASSERT_TRUE(session->Run({}, {q.w}, {}, &out).ok());
    ExpectNear(Values(out[0]), {0.5, 0.25}, 1e-4, "minimum");
  }
}

TEST(AdamOptimizer, AnInitializerBuiltBeforeMinimizeMissesTheSlots) {
  Quadratic q;
  Operation early_init = GlobalVariablesInitializer(q.root);
  Operation train = AdamOptimizer().Minimize(q.root, q.loss);
  ASSERT_TRUE(q.root.ok()) << q.root.status();
  auto session = NewSession(q.root);
  ASSERT_TRUE(session->Run({early_init}).ok());
  absl::Status s = session->Run({train});
  EXPECT_TRUE(absl::StrContains(s.message(), "uninitialized variable")) << s;
  ASSERT_TRUE(session->Run({GlobalVariablesInitializer(q.root)}).ok());
  EXPECT_TRUE(session->Run({train}).ok());
}

TEST(AdamOptimizer, TwoOptimizersInOneGraphGetUniqueNames) {
  Quadratic q;
  Operation a = AdamOptimizer().Minimize(q.root, q.loss);
  Operation b = AdamOptimizer().Minimize(q.root, q.loss);
  Operation c = MomentumOptimizer(0.1f, 0.9f).Minimize(q.root.NewSubScope("train"), q.loss);
  ASSERT_TRUE(q.root.ok()) << q.root.status();
  EXPECT_EQ(a.node()->name(), "Adam");
  EXPECT_EQ(b.node()->name(), "Adam_1");
  EXPECT_EQ(c.node()->name(), "train/Momentum");
  EXPECT_TRUE(q.root.graph()->FindOutput("w/Momentum").ok());  // Slots are named after w.
  auto session = NewSession(q.root);
  ASSERT_TRUE(session->Run({GlobalVariablesInitializer(q.root)}).ok());
  EXPECT_TRUE(session->Run({a, b, c}).ok());
}

TEST(AdamOptimizer, ErrorsAreRecordedInTheScope) {
  {
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
    EXPECT_EQ(AdamOptimizer().Minimize(root, ops::Identity(root, x)).node(), nullptr);
    EXPECT_TRUE(absl::StrContains(root.status().message(), "depends on no variables"));
  }
  {
    Quadratic q;
    auto bad_step = ops::Variable(q.root.WithOpName("bad_step"), {}, DT_BOOL);
    EXPECT_EQ(AdamOptimizer().Minimize(q.root, q.loss, {}, bad_step).node(), nullptr);
    EXPECT_TRUE(absl::StrContains(q.root.status().message(), "global_step")) << q.root.status();
  }
  {
    // A variable of unknown shape without an initializer cannot get a slot.
    Scope root = Scope::NewRootScope();
    auto w = ops::Variable(root.WithOpName("w"), PartialTensorShape({-1}), DT_FLOAT);
    auto loss = ops::Sum(root, ops::Square(root, w), {0});
    EXPECT_EQ(MomentumOptimizer(0.1f, 0.9f).Minimize(root, loss).node(), nullptr);
    EXPECT_TRUE(absl::StrContains(root.status().message(), "fully defined")) << root.status();
  }
}

TEST(AdamOptimizer, SlotsOfAVariableOfUnknownShapeFollowItsInitializer) {
  Scope root = Scope::NewRootScope();
  auto w = ops::Variable(root.WithOpName("w"), PartialTensorShape({-1}), DT_FLOAT);
  ops::Assign(root, w, Input({3.f, -1.f, 2.f}), ops::Assign::ValidateShape(false));
  auto loss = ops::Sum(root, ops::Square(root, w), {0});
  Operation train = AdamOptimizer(0.5f).Minimize(root, loss);
  Operation init = GlobalVariablesInitializer(root);
  ASSERT_TRUE(root.ok()) << root.status();
  auto session = NewSession(root);
  ASSERT_TRUE(session->Run({init}).ok());
  ASSERT_TRUE(session->Run({train}).ok());
  std::vector<Tensor> out;
  ASSERT_TRUE(session->Run({}, {w, *root.graph()->FindOutput("w/Adam")}, {}, &out).ok());
  ExpectNear(Values(out[0]), {2.5, -0.5, 1.5}, 1e-6, "w");
  ExpectNear(Values(out[1]), {0.6, -0.2, 0.4}, 1e-6, "m = 0.1 * 2w");
}

// ---------------------------------------------------------------------------------------------
// Dropout.

TEST(Dropout, KeepsAboutKeepProbAndScalesExactly) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({-1, 500}));
  auto keep_prob = ops::Placeholder(root.WithOpName("keep_prob"), DT_FLOAT);
  auto y = ops::Dropout(root, x, keep_prob, /*seed=*/7);
  ASSERT_TRUE(root.ok()) << root.status();
  auto session = NewSession(root);
  const Tensor xv = test::RandomTensor({200, 500}, 3, 0.5f, 2.f);  // Never zero.
  const int64_t n = xv.NumElements();
  for (float p : {0.5f, 0.25f, 0.9f}) {
    std::vector<Tensor> first, second;
    ASSERT_TRUE(session->Run({{x, xv}, {keep_prob, Tensor::Scalar<float>(p)}}, {y}, {}, &first)
                    .ok());
    ASSERT_TRUE(session->Run({{x, xv}, {keep_prob, Tensor::Scalar<float>(p)}}, {y}, {}, &second)
                    .ok());
    int64_t kept = 0, kept_both = 0;
    double sum_x = 0, sum_y = 0;
    for (int64_t i = 0; i < n; ++i) {
      const float xi = xv.flat<float>()[i], yi = first[0].flat<float>()[i];
      sum_x += xi;
      sum_y += yi;
      if (yi != 0.0f) {
        ++kept;
        EXPECT_EQ(yi, xi / p) << i;  // Exactly x / keep_prob: the mask is exactly 0 or 1.
        kept_both += second[0].flat<float>()[i] != 0.0f;
      }
    }
    // The kept fraction is Binomial(n, p) / n: within 5 standard deviations of p.
    const double sd = std::sqrt(p * (1 - p) / n);
    EXPECT_NEAR(static_cast<double>(kept) / n, p, 5 * sd) << "keep_prob " << p;
    // Another run draws a new, independent mask: both keep an element with probability p^2.
    const double sd2 = std::sqrt(p * p * (1 - p * p) / n);
    EXPECT_NEAR(static_cast<double>(kept_both) / n, p * p, 5 * sd2) << "keep_prob " << p;
    // Unbiased: the mean of y is the mean of x, up to sampling noise.
    EXPECT_NEAR(sum_y / n, sum_x / n, 0.05 * sum_x / n) << "keep_prob " << p;
  }
  // keep_prob 1: y is x, bit for bit.
  std::vector<Tensor> out;
  ASSERT_TRUE(
      session->Run({{x, xv}, {keep_prob, Tensor::Scalar<float>(1.f)}}, {y}, {}, &out).ok());
  EXPECT_EQ(Values(out[0]), Values(xv));
}

TEST(Dropout, IsSeededAndTheGradientIsTheMaskOverKeepProb) {
  auto build = [](Scope& root, Output* x, Output* y, Output* dx) {
    *x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
    *y = ops::Dropout(root, *x, 0.5f, /*seed=*/11, /*seed2=*/3);
    auto w = ops::Const(root, {1.f, 2.f, 3.f, 4.f, 5.f, 6.f, 7.f, 8.f});
    std::vector<Output> grads;
    ASSERT_TRUE(AddSymbolicGradients(root, {ops::Sum(root, ops::Mul(root, *y, w), {0})}, {*x},
                                     &grads)
                    .ok());
    *dx = grads[0];
  };
  std::vector<std::vector<float>> masks;
  for (int run = 0; run < 2; ++run) {
    Scope root = Scope::NewRootScope();
    Output x, y, dx;
    build(root, &x, &y, &dx);
    ASSERT_TRUE(root.ok()) << root.status();
    auto session = NewSession(root);
    std::vector<Tensor> out;
    const Tensor xv = FloatTensor({8}, {1, 1, 1, 1, 1, 1, 1, 1});
    ASSERT_TRUE(session->Run({{x, xv}}, {y, dx}, {}, &out).ok());
    for (int i = 0; i < 8; ++i) {
      const float mask = out[0].flat<float>()[i] / 2.f;  // y = x / 0.5 * mask
      EXPECT_TRUE(mask == 0.f || mask == 1.f) << i;
      EXPECT_EQ(out[1].flat<float>()[i], (i + 1) * mask / 0.5f) << i;
    }
    masks.push_back(Values(out[0]));
  }
  EXPECT_EQ(masks[0], masks[1]);  // Same seeds, fresh sessions: the same mask.
}

TEST(Dropout, AConstantKeepProbOutsideZeroOneIsAnError) {
  for (float p : {0.f, -0.5f, 1.5f}) {
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT);
    EXPECT_EQ(ops::Dropout(root, x, p).node(), nullptr);
    EXPECT_TRUE(absl::StrContains(root.status().message(), "keep_prob")) << p;
  }
}

}  // namespace
}  // namespace test
}  // namespace dflow
