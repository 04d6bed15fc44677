// The README's ten-line example, kept compiling and correct.
#include "gtest/gtest.h"
#include "ops/standard_ops.h"
#include "runtime/session.h"
#include "tests/test_util.h"

namespace dflow {
namespace {

TEST(ReadmeExample, BuildsTheTutorialForwardGraphAndRunsIt) {
  Tensor images = test::RandomTensor({3, 784}, 7, 0.f, 1.f);
  // --- as in README.md ---
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({-1, 784}));
  auto W = ops::Variable(root.WithOpName("W"), {784, 10}, DT_FLOAT);
  auto b = ops::Variable(root.WithOpName("b"), {10}, DT_FLOAT);
  ops::Assign(root, W, ops::Const(root, 0.f, {784, 10}));
  ops::Assign(root, b, ops::Const(root, 0.f, {10}));
  auto y = ops::Softmax(root.WithOpName("y"), ops::Add(root, ops::MatMul(root, x, W), b));
  auto session = Session::Create(root);
  absl::Status status = (*session)->Run({GlobalVariablesInitializer(root)});
  std::vector<Tensor> out;
  status = (*session)->Run({{x, images}}, {y}, {}, &out);
  // --- end ---
  ASSERT_TRUE(root.ok()) << root.status();
  ASSERT_TRUE(status.ok()) << status;
  ASSERT_EQ(out.size(), 1u);
  // Zero weights: every class gets probability 1/10.
  std::vector<float> expected(30, 0.1f);
  test::ExpectTensorNear(out[0], {3, 10}, expected);
}

}  // namespace
}  // namespace dflow
