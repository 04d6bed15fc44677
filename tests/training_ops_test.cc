// The variable update ops ApplyGradientDescent, ApplyAdam, ApplyMomentum and AssignAdd/AssignSub
// on fed values, against the plain-loop optimizer references of tests/reference.h and
// hand-computed values; copy-on-write of fetched values; bad inputs.
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
#include "tests/reference.h"
#include "tests/test_util.h"

namespace dflow {
namespace test {
namespace {

// The values of a float tensor.
constexpr auto Values = ValuesOf<float>;

void ExpectEveryRunsRateApplied(const TensorShape& shape) {
  Scope root = Scope::NewRootScope();
  auto v = ops::Variable(root.WithOpName("v"), shape, DT_FLOAT);
  auto alpha = ops::Placeholder(root.WithOpName("alpha"), DT_FLOAT);
  auto delta = ops::Placeholder(root.WithOpName("delta"), DT_FLOAT);
  auto read = ops::Identity(root.WithOpName("read"), v);
  auto update = ops::ApplyGradientDescent(root.WithOpName("update"), v, alpha, delta);
  ASSERT_TRUE(root.ok()) << root.status();
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(root);
  ASSERT_TRUE(session.ok()) << session.status();
  const Tensor v0 = test::RandomTensor(shape, 1);
  const Tensor d = test::RandomTensor(shape, 2);
  (*session)->variables()->LookupOrCreate("v")->Set(v0.DeepCopy());
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
    test::ExpectTensorNear((*session)->variables()->Find("v")->value, shape, expected);
  }
  test::ExpectTensorNear(before[0], shape, v0.flat<float>());
}

TEST(ApplyGradientDescent, AppliesEveryRunsRateAndLeavesEarlierFetchesAlone) {
  // Small variables take the kernel's loop, ones above 64K elements its oneDNN primitives.
  for (const TensorShape& shape : {TensorShape({2, 1, 3}), TensorShape({70, 1001})}) {
    SCOPED_TRACE(shape.DebugString());
    ExpectEveryRunsRateApplied(shape);
  }
}

// The loop and the oneDNN primitive both round the product, then the sum: v - rate * d exactly.
TEST(ApplyGradientDescent, EverySizeRoundsAsAProductThenASum) {
  for (int64_t n : {10, 7840, 70001}) {
    SCOPED_TRACE(n);
    Scope root = Scope::NewRootScope();
    auto v = ops::Variable(root.WithOpName("v"), {n}, DT_FLOAT);
    auto delta = ops::Placeholder(root.WithOpName("delta"), DT_FLOAT);
    auto update = ops::ApplyGradientDescent(root.WithOpName("update"), v, 0.37f, delta);
    ASSERT_TRUE(root.ok()) << root.status();
    absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(root);
    ASSERT_TRUE(session.ok()) << session.status();
    const Tensor v0 = test::RandomTensor({n}, 3);
    const Tensor d = test::RandomTensor({n}, 4);
    (*session)->variables()->LookupOrCreate("v")->Set(v0.DeepCopy());
    ASSERT_TRUE((*session)->Run({{delta, d}}, {}, {update}, nullptr).ok());
    const float* got = static_cast<const float*>((*session)->variables()->Find("v")->value.data());
    int mismatches = 0;
    for (int64_t i = 0; i < n; ++i) {
      volatile float product = 0.37f * d.flat<float>()[i];  // Rounded on its own.
      mismatches += got[i] != v0.flat<float>()[i] - product;
    }
    EXPECT_EQ(mismatches, 0);
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

    AdamRef ref({1.0, -2.0}, 0.1f, 0.9f, 0.999f, 1e-8f);
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
      AdamRef ref(start, 0.01f, 0.9f, 0.999f, 1e-8f);
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
    MomentumRef ref{0.1, 0.9, nesterov, {1.0, -2.0}, {0.0, 0.0}};
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

}  // namespace
}  // namespace test
}  // namespace dflow
