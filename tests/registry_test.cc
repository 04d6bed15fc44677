// The registries agree: every op has a kernel, and every differentiable op has a gradient.
#include "gtest/gtest.h"
#include "kernels/op_kernel.h"
#include "ops/functional_ops.h"
#include "ops/op_registry.h"

namespace dflow {
namespace {

TEST(Registry, EveryRegisteredOpHasAKernel) {
  std::vector<std::string> ops = OpRegistry::Global()->ListOps();
  EXPECT_GT(ops.size(), 20u);
  for (const std::string& op : ops) {
    if (IsFunctionalOp(op)) continue;  // Lowered at import to ops that have kernels.
    EXPECT_TRUE(KernelRegistry::Global()->HasKernel(op)) << "op " << op << " has no kernel";
  }
}

TEST(Registry, EveryDifferentiableOpHasAGradient) {
  for (const std::string& name : OpRegistry::Global()->ListOps()) {
    const OpDef* op = OpRegistry::Global()->Find(name);
    if (op->differentiable) {
      EXPECT_TRUE(op->grad_fn != nullptr)
          << "op " << name << " is differentiable but has no gradient; register one or mark it "
          << "NotDifferentiable()";
    }
  }
}

TEST(Registry, OldTensorFlowNamesResolveToTheirOps) {
  ASSERT_NE(OpRegistry::Global()->Find("Variable"), nullptr);
  EXPECT_EQ(OpRegistry::Global()->Find("Variable")->name, "VariableV2");

}

}  // namespace
}  // namespace dflow
