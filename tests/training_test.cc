// Optimizers, their update ops (ApplyAdam, ApplyMomentum, AssignAdd/AssignSub), dropout and
// variable initialization, against plain-loop references and hand-computed values.
#include "ops/training.h"

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "kernels/op_kernel.h"
#include "ops/standard_ops.h"
#include "runtime/session.h"
#include "tests/test_util.h"

namespace dflow {
namespace {

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

TEST(ApplyGradientDescent, AppliesEveryRunsRateAndLeavesEarlierFetchesAlone) {
  Scope root = Scope::NewRootScope();
  auto v = ops::Variable(root.WithOpName("v"), {2, 1, 3}, DT_FLOAT);
  auto alpha = ops::Placeholder(root.WithOpName("alpha"), DT_FLOAT);
  auto delta = ops::Placeholder(root.WithOpName("delta"), DT_FLOAT);
  auto read = ops::Identity(root.WithOpName("read"), v);
  auto update = ops::ApplyGradientDescent(root.WithOpName("update"), v, alpha, delta);
  ASSERT_TRUE(root.ok()) << root.status();
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(root);
  ASSERT_TRUE(session.ok()) << session.status();
  const Tensor v0 = test::RandomTensor({2, 1, 3}, 1);
  const Tensor d = test::RandomTensor({2, 1, 3}, 2);
  (*session)->variables()->LookupOrCreate("v")->value = v0.DeepCopy();
  std::vector<float> expected(v0.flat<float>().begin(), v0.flat<float>().end());
  std::vector<Tensor> before;
  ASSERT_TRUE((*session)->Run({}, {read}, {}, &before).ok());
  // Twelve rates: the kernel bakes the first few into primitives, then reads the rate at run
  // time; both must apply it.
  for (int i = 0; i < 12; ++i) {
    const float rate = 0.5f - 0.0625f * i;
    SCOPED_TRACE(rate);
    ASSERT_TRUE((*session)
                    ->Run({{alpha, test::FloatTensor({}, {rate})}, {delta, d}}, {}, {update},
                          nullptr)
                    .ok());
    for (size_t i = 0; i < expected.size(); ++i) expected[i] -= rate * d.flat<float>()[i];
    test::ExpectTensorNear((*session)->variables()->Find("v")->value, {2, 1, 3}, expected);
  }
  test::ExpectTensorNear(before[0], {2, 1, 3}, v0.flat<float>());
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
// Shared helpers.

using test::FloatTensor;

std::vector<float> Values(const Tensor& t) {
  return std::vector<float>(t.flat<float>().begin(), t.flat<float>().end());
}

std::unique_ptr<Session> NewSession(const Scope& root, const SessionOptions& options = {}) {
  absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(root, options);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *std::move(s) : nullptr;
}

// Adam in double precision, written from the paper's update as TensorFlow states it. The
// hyperparameters are the float values the graph holds, and the beta powers advance in float as
// the graph's Mul does, so only the arithmetic differs.
struct AdamReference {
  double lr, beta1, beta2, epsilon;
  bool nesterov = false;
  std::vector<double> var, m, v;
  float beta1_power, beta2_power;

  AdamReference(std::vector<double> init, float lr, float beta1, float beta2, float epsilon)
      : lr(lr), beta1(beta1), beta2(beta2), epsilon(epsilon), var(init), m(init.size(), 0.0),
        v(init.size(), 0.0), beta1_power(beta1), beta2_power(beta2) {}

  void Step(const std::vector<double>& g) {
    const double lr_t = lr * std::sqrt(1 - double{beta2_power}) / (1 - double{beta1_power});
    for (size_t i = 0; i < var.size(); ++i) {
      m[i] = beta1 * m[i] + (1 - beta1) * g[i];
      v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
      const double direction = nesterov ? beta1 * m[i] + (1 - beta1) * g[i] : m[i];
      var[i] -= lr_t * direction / (std::sqrt(v[i]) + epsilon);
    }
    beta1_power = beta1_power * static_cast<float>(beta1);
    beta2_power = beta2_power * static_cast<float>(beta2);
  }
};

// Momentum in double precision.
struct MomentumReference {
  double lr, momentum;
  bool nesterov;
  std::vector<double> var, accum;

  void Step(const std::vector<double>& g) {
    for (size_t i = 0; i < var.size(); ++i) {
      accum[i] = accum[i] * momentum + g[i];
      var[i] -= nesterov ? lr * g[i] + lr * momentum * accum[i] : lr * accum[i];
    }
  }
};

void ExpectNear(const std::vector<float>& actual, const std::vector<double>& expected,
                double tol, const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  for (size_t i = 0; i < actual.size(); ++i) {
    EXPECT_NEAR(actual[i], expected[i], tol * std::max(1.0, std::fabs(expected[i])))
        << what << "[" << i << "]";
  }
}

// ---------------------------------------------------------------------------------------------
// ApplyAdam and ApplyMomentum as ops, on fed gradients.

TEST(ApplyAdam, TwoStepsMatchAPlainLoopAndHandComputedValues) {
  for (bool nesterov : {false, true}) {
    Scope root = Scope::NewRootScope();
    auto var = ops::Variable(root.WithOpName("var"), {2}, DT_FLOAT);
    auto m = ops::Variable(root.WithOpName("m"), {2}, DT_FLOAT);
    auto v = ops::Variable(root.WithOpName("v"), {2}, DT_FLOAT);
    auto b1p = ops::Placeholder(root, DT_FLOAT);
    auto b2p = ops::Placeholder(root, DT_FLOAT);
    auto grad = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({2}));
    auto init = {Operation(ops::Assign(root, var, Input({1.f, -2.f}))),
                 Operation(ops::Assign(root, m, Input({0.f, 0.f}))),
                 Operation(ops::Assign(root, v, Input({0.f, 0.f})))};
    auto apply = ops::ApplyAdam(root, var, m, v, b1p, b2p, 0.1f, 0.9f, 0.999f, 1e-8f, grad,
                                ops::ApplyAdam::UseNesterov(nesterov));
    ASSERT_TRUE(root.ok()) << root.status();
    EXPECT_EQ(apply.shape(), PartialTensorShape({2}));
    auto session = NewSession(root);
    ASSERT_TRUE(session->Run(std::vector<Operation>(init)).ok());

    AdamReference ref({1.0, -2.0}, 0.1f, 0.9f, 0.999f, 1e-8f);
    ref.nesterov = nesterov;
    const std::vector<std::vector<float>> grads = {{1.0f, -4.5f}, {0.8f, -3.6f}};
    for (int step = 0; step < 2; ++step) {
      std::vector<Tensor> out;
      ASSERT_TRUE(session
                      ->Run({{b1p, Tensor::Scalar<float>(ref.beta1_power)},
                             {b2p, Tensor::Scalar<float>(ref.beta2_power)},
                             {grad, FloatTensor({2}, grads[step])}},
                            {apply, m, v}, {}, &out)
                      .ok());
      ref.Step({grads[step][0], grads[step][1]});
      ExpectNear(Values(out[0]), ref.var, 1e-6, "var");
      ExpectNear(Values(out[1]), ref.m, 1e-6, "m");
      ExpectNear(Values(out[2]), ref.v, 1e-6, "v");
      if (step == 0 && !nesterov) {
        // By hand: m = 0.1 g, v = 0.001 g^2, lr_t = 0.1 sqrt(0.001) / 0.1 = sqrt(0.001), so
        // each coordinate moves by sqrt(0.001) * 0.1 |g| / (sqrt(0.001) |g| + 1e-8) ~ 0.1.
        // (v is 0.00099999 g^2 in float: 1 - 0.999f = 0.000999987.)
        EXPECT_NEAR(out[0].flat<float>()[0], 0.9f, 1e-6);
        EXPECT_NEAR(out[0].flat<float>()[1], -1.9f, 1e-6);
        EXPECT_NEAR(out[1].flat<float>()[1], -0.45f, 1e-6);
        EXPECT_NEAR(out[2].flat<float>()[1], 0.02025f, 1e-6);
      }
    }
  }
}

TEST(ApplyAdam, EverySizeMatchesAPlainLoop) {
  // Sizes around the kernel's 4-lane chunks, random gradients, three steps.
  for (int64_t n : {1, 3, 4, 5, 8, 37, 1000}) {
    for (bool nesterov : {false, true}) {
      Scope root = Scope::NewRootScope();
      auto var = ops::Variable(root.WithOpName("var"), {n}, DT_FLOAT);
      auto m = ops::Variable(root.WithOpName("m"), {n}, DT_FLOAT);
      auto v = ops::Variable(root.WithOpName("v"), {n}, DT_FLOAT);
      auto b1p = ops::Placeholder(root, DT_FLOAT);
      auto b2p = ops::Placeholder(root, DT_FLOAT);
      auto grad = ops::Placeholder(root, DT_FLOAT);
      const Tensor init_value = test::RandomTensor({n}, 100 + n);
      auto init = {Operation(ops::Assign(root, var, init_value)),
                   Operation(ops::Assign(root, m, ops::Const(root, 0.f, TensorShape({n})))),
                   Operation(ops::Assign(root, v, ops::Const(root, 0.f, TensorShape({n}))))};
      auto apply = ops::ApplyAdam(root, var, m, v, b1p, b2p, 0.01f, 0.9f, 0.999f, 1e-8f, grad,
                                  ops::ApplyAdam::UseNesterov(nesterov));
      ASSERT_TRUE(root.ok()) << root.status();
      auto session = NewSession(root);
      ASSERT_TRUE(session->Run(std::vector<Operation>(init)).ok());
      std::vector<double> start(init_value.flat<float>().begin(), init_value.flat<float>().end());
      AdamReference ref(start, 0.01f, 0.9f, 0.999f, 1e-8f);
      ref.nesterov = nesterov;
      for (int step = 0; step < 3; ++step) {
        const Tensor g = test::RandomTensor({n}, 7 * n + step, -2.f, 2.f);
        std::vector<Tensor> out;
        ASSERT_TRUE(session
                        ->Run({{b1p, Tensor::Scalar<float>(ref.beta1_power)},
                               {b2p, Tensor::Scalar<float>(ref.beta2_power)},
                               {grad, g}},
                              {apply, m, v}, {}, &out)
                        .ok());
        ref.Step(std::vector<double>(g.flat<float>().begin(), g.flat<float>().end()));
        const std::string what = absl::StrCat("n ", n, " nesterov ", nesterov, " step ", step);
        ExpectNear(Values(out[0]), ref.var, 1e-6, what + " var");
        ExpectNear(Values(out[1]), ref.m, 1e-6, what + " m");
        ExpectNear(Values(out[2]), ref.v, 1e-6, what + " v");
      }
    }
  }
}

TEST(ApplyMomentum, TwoStepsMatchAPlainLoopAndHandComputedValues) {
  // Gradients 2 (w - t) of sum((w - t)^2) with w0 = (1, -2), t = (0.5, 0.25), lr 0.1, momentum
  // 0.9, by hand:
  //   plain:    accum (1, -4.5), w (0.9, -1.55); then g (0.8, -3.6), accum (1.7, -7.65),
  //             w (0.73, -0.785).
  //   Nesterov: w (0.81, -1.145); then g (0.62, -2.79), accum (1.52, -6.84), w (0.6112, -0.2504).
  for (bool nesterov : {false, true}) {
    Scope root = Scope::NewRootScope();
    auto var = ops::Variable(root.WithOpName("var"), {2}, DT_FLOAT);
    auto accum = ops::Variable(root.WithOpName("accum"), {2}, DT_FLOAT);
    auto grad = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({2}));
    auto init = {Operation(ops::Assign(root, var, Input({1.f, -2.f}))),
                 Operation(ops::Assign(root, accum, Input({0.f, 0.f})))};
    auto apply = ops::ApplyMomentum(root, var, accum, 0.1f, grad, 0.9f,
                                    ops::ApplyMomentum::UseNesterov(nesterov));
    ASSERT_TRUE(root.ok()) << root.status();
    auto session = NewSession(root);
    ASSERT_TRUE(session->Run(std::vector<Operation>(init)).ok());
    MomentumReference ref{0.1, 0.9, nesterov, {1.0, -2.0}, {0.0, 0.0}};
    const std::vector<double> target = {0.5, 0.25};
    for (int step = 0; step < 2; ++step) {
      std::vector<double> g = {2 * (ref.var[0] - target[0]), 2 * (ref.var[1] - target[1])};
      std::vector<Tensor> out;
      ASSERT_TRUE(session
                      ->Run({{grad, FloatTensor({2}, {static_cast<float>(g[0]),
                                                      static_cast<float>(g[1])})}},
                            {apply, accum}, {}, &out)
                      .ok());
      ref.Step(g);
      ExpectNear(Values(out[0]), ref.var, 1e-6, "var");
      ExpectNear(Values(out[1]), ref.accum, 1e-6, "accum");
    }
    const std::vector<double> by_hand =
        nesterov ? std::vector<double>{0.6112, -0.2504} : std::vector<double>{0.73, -0.785};
    for (int i = 0; i < 2; ++i) EXPECT_NEAR(ref.var[i], by_hand[i], 1e-12) << "by hand " << i;
  }
}

TEST(ApplyAdam, CopiesOnWriteSoEarlierFetchesKeepTheirValues) {
  Scope root = Scope::NewRootScope();
  auto var = ops::Variable(root.WithOpName("var"), {3}, DT_FLOAT);
  auto m = ops::Variable(root.WithOpName("m"), {3}, DT_FLOAT);
  auto v = ops::Variable(root.WithOpName("v"), {3}, DT_FLOAT);
  auto accum = ops::Variable(root.WithOpName("accum"), {3}, DT_FLOAT);
  auto init = {Operation(ops::Assign(root, var, Input({1.f, 2.f, 3.f}))),
               Operation(ops::Assign(root, m, Input({0.f, 0.f, 0.f}))),
               Operation(ops::Assign(root, v, Input({0.f, 0.f, 0.f}))),
               Operation(ops::Assign(root, accum, Input({0.f, 0.f, 0.f})))};
  auto g = ops::Const(root, {1.f, 1.f, 1.f});
  auto adam = ops::ApplyAdam(root, var, m, v, 0.9f, 0.999f, 0.1f, 0.9f, 0.999f, 1e-8f, g);
  auto momentum = ops::ApplyMomentum(root, var, accum, 0.5f, g, 0.9f);
  ASSERT_TRUE(root.ok()) << root.status();
  auto session = NewSession(root);
  ASSERT_TRUE(session->Run(std::vector<Operation>(init)).ok());
  std::vector<Tensor> before, after;
  ASSERT_TRUE(session->Run({}, {var, m, v, accum}, {}, &before).ok());
  ASSERT_TRUE(session->Run({}, {}, {Operation(adam)}, nullptr).ok());
  ASSERT_TRUE(session->Run({}, {}, {Operation(momentum)}, nullptr).ok());
  ASSERT_TRUE(session->Run({}, {var, m, v, accum}, {}, &after).ok());
  EXPECT_EQ(Values(before[0]), (std::vector<float>{1, 2, 3}));
  EXPECT_EQ(Values(before[1]), (std::vector<float>{0, 0, 0}));
  EXPECT_EQ(Values(before[2]), (std::vector<float>{0, 0, 0}));
  EXPECT_EQ(Values(before[3]), (std::vector<float>{0, 0, 0}));
  // Adam moves each by ~0.1, then momentum by 0.5 * 1.
  ExpectNear(Values(after[0]), {0.4, 1.4, 2.4}, 1e-6, "var");
  ExpectNear(Values(after[3]), {1, 1, 1}, 0, "accum");
}

TEST(ApplyAdam, BadInputsAreErrorsNotCrashes) {
  Scope root = Scope::NewRootScope();
  auto var = ops::Variable(root.WithOpName("var"), {2}, DT_FLOAT);
  auto m = ops::Variable(root.WithOpName("m"), {2}, DT_FLOAT);
  auto v = ops::Variable(root.WithOpName("v"), {-1}, DT_FLOAT);
  auto lr = ops::Placeholder(root, DT_FLOAT);
  auto grad = ops::Placeholder(root, DT_FLOAT);
  auto init = {Operation(ops::Assign(root, var, Input({1.f, 2.f}))),
               Operation(ops::Assign(root, m, Input({0.f, 0.f})))};
  auto adam = ops::ApplyAdam(root, var, m, v, 0.9f, 0.999f, lr, 0.9f, 0.999f, 1e-8f, grad);
  auto same = ops::ApplyAdam(root, var, var, m, 0.9f, 0.999f, lr, 0.9f, 0.999f, 1e-8f, grad);
  auto momentum = ops::ApplyMomentum(root, var, m, lr, grad, 0.9f);
  ASSERT_TRUE(root.ok()) << root.status();
  auto session = NewSession(root, test::Unoptimized());  // The kernel's own checks.
  ASSERT_TRUE(session->Run(std::vector<Operation>(init)).ok());
  auto run = [&](const Output& op, const Tensor& lr_value, const Tensor& grad_value) {
    return session->Run({{lr, lr_value}, {grad, grad_value}}, {}, {Operation(op)}, nullptr);
  };
  const Tensor good_lr = Tensor::Scalar<float>(0.1f);
  const Tensor good_grad = FloatTensor({2}, {1, 1});
  // v was never assigned.
  absl::Status s = run(adam, good_lr, good_grad);
  EXPECT_TRUE(absl::StrContains(s.message(), "uninitialized variable v")) << s;
  ASSERT_TRUE(session->Run({}, {}, {Operation(ops::Assign(root, v, Input({0.f, 0.f})))}, nullptr)
                  .ok());
  s = run(adam, FloatTensor({1}, {0.1f}), good_grad);
  EXPECT_TRUE(absl::StrContains(s.message(), "lr must be a float scalar")) << s;
  s = run(adam, good_lr, FloatTensor({3}, {1, 1, 1}));
  EXPECT_TRUE(absl::StrContains(s.message(), "does not match")) << s;
  s = run(same, good_lr, good_grad);
  EXPECT_TRUE(absl::StrContains(s.message(), "same variable")) << s;
  s = run(momentum, good_lr, FloatTensor({1, 2}, {1, 1}));
  EXPECT_TRUE(absl::StrContains(s.message(), "does not match")) << s;
  // A fed variable output is a plain tensor, not a variable to update.
  s = session->Run({{lr, good_lr}, {grad, good_grad}, {var, FloatTensor({2}, {5, 5})}}, {},
                   {Operation(adam)}, nullptr);
  EXPECT_TRUE(absl::StrContains(s.message(), "must be a variable, but a fed tensor was given")) << s;
  s = session->Run({{var, FloatTensor({2}, {5, 5})}}, {},
                   {Operation(ops::AssignAdd(root, var, Input({1.f, 1.f})))}, nullptr);
  EXPECT_TRUE(absl::StrContains(s.message(), "must be a variable, but a fed tensor was given")) << s;
  // Nothing was changed by the failed runs.
  std::vector<Tensor> out;
  ASSERT_TRUE(session->Run({}, {var, m}, {}, &out).ok());
  EXPECT_EQ(Values(out[0]), (std::vector<float>{1, 2}));
  EXPECT_EQ(Values(out[1]), (std::vector<float>{0, 0}));
  ASSERT_TRUE(run(adam, good_lr, good_grad).ok());

  // Shapes known at graph build are checked then.
  Scope bad = Scope::NewRootScope();
  auto w = ops::Variable(bad.WithOpName("w"), {2}, DT_FLOAT);
  ops::ApplyAdam(bad, w, w, w, 0.9f, 0.999f, Input({0.1f}), 0.9f, 0.999f, 1e-8f, Input({1.f, 2.f}));
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "must be a scalar")) << bad.status();
  Scope bad2 = Scope::NewRootScope();
  auto w2 = ops::Variable(bad2.WithOpName("w"), {2}, DT_FLOAT);
  ops::ApplyMomentum(bad2, w2, w2, 0.1f, Input({1.f, 2.f, 3.f}), 0.9f);
  EXPECT_TRUE(absl::StrContains(bad2.status().message(), "does not match")) << bad2.status();
}

TEST(AssignAdd, AddsAndSubtractsInPlaceForFloatAndIntegers) {
  Scope root = Scope::NewRootScope();
  auto f = ops::Variable(root.WithOpName("f"), {3}, DT_FLOAT);
  auto step = ops::Variable(root.WithOpName("step"), {}, DT_INT64);
  auto i32 = ops::Variable(root.WithOpName("i32"), {2}, DT_INT32);
  auto init = {Operation(ops::Assign(root, f, Input({1.f, 2.f, 3.f}))),
               Operation(ops::Assign(root, step, Input(int64_t{0}))),
               Operation(ops::Assign(root, i32, Input({2147483647, -5})))};
  auto add_f = ops::AssignAdd(root, f, Input({0.5f, -1.f, 10.f}));
  auto sub_f = ops::AssignSub(root, f, Input({0.25f, 0.25f, 0.25f}));
  auto inc = ops::AssignAdd(root, step, Input(int64_t{1}));
  auto add_i = ops::AssignAdd(root, i32, Input({1, 5}));
  auto sub_i = ops::AssignSub(root, i32, Input({1, 1}));
  ASSERT_TRUE(root.ok()) << root.status();
  auto session = NewSession(root);
  ASSERT_TRUE(session->Run(std::vector<Operation>(init)).ok());
  std::vector<Tensor> before, out;
  ASSERT_TRUE(session->Run({}, {f}, {}, &before).ok());
  ASSERT_TRUE(session->Run({}, {add_f}, {}, &out).ok());
  EXPECT_EQ(Values(out[0]), (std::vector<float>{1.5f, 1.f, 13.f}));
  ASSERT_TRUE(session->Run({}, {sub_f}, {}, &out).ok());
  EXPECT_EQ(Values(out[0]), (std::vector<float>{1.25f, 0.75f, 12.75f}));
  EXPECT_EQ(Values(before[0]), (std::vector<float>{1.f, 2.f, 3.f}));  // Copy on write.
  for (int k = 0; k < 3; ++k) ASSERT_TRUE(session->Run({}, {}, {Operation(inc)}, nullptr).ok());
  ASSERT_TRUE(session->Run({}, {step}, {}, &out).ok());
  EXPECT_EQ(out[0].scalar<int64_t>(), 3);
  ASSERT_TRUE(session->Run({}, {add_i}, {}, &out).ok());
  EXPECT_EQ(out[0].flat<int32_t>()[0], -2147483647 - 1);  // Wraps around.
  EXPECT_EQ(out[0].flat<int32_t>()[1], 0);
  ASSERT_TRUE(session->Run({}, {sub_i}, {}, &out).ok());
  EXPECT_EQ(out[0].flat<int32_t>()[0], 2147483647);
  EXPECT_EQ(out[0].flat<int32_t>()[1], -1);

  // Shape mismatches: at graph build when known, else at run time.
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto add_x = ops::AssignAdd(root, f, x);
  ASSERT_TRUE(root.ok());
  absl::Status s = session->Run({{x, FloatTensor({2}, {1, 1})}}, {}, {Operation(add_x)}, nullptr);
  EXPECT_TRUE(absl::StrContains(s.message(), "does not match")) << s;
  ops::AssignAdd(root, f, Input({1.f, 2.f}));
  EXPECT_FALSE(root.ok());
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
  AdamReference ref({1.0, -2.0}, 0.1f, 0.9f, 0.999f, 1e-8f);
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
    MomentumReference ref{0.1, 0.9, nesterov, {1.0, -2.0}, {0.0, 0.0}};
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
}  // namespace dflow
