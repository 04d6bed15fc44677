// Resource variables (VarHandleOp and the ops on its handle) against hand-computed values, the
// plain-loop optimizer references of tests/reference.h and a plain-loop gather; the shared store
// with VariableV2 and checkpoints; copy on write; bad handles and inputs.
#include "ops/resource_variable_ops.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "kernels/op_kernel.h"
#include "ops/standard_ops.h"
#include "runtime/checkpoint.h"
#include "runtime/session.h"
#include "tests/reference.h"
#include "tests/test_util.h"

namespace dflow {
namespace test {
namespace {

constexpr auto Values = ValuesOf<float>;

std::unique_ptr<Session> MakeSession(const Scope& root) {
  EXPECT_TRUE(root.ok()) << root.status();
  absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(root);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *std::move(s) : nullptr;
}

TEST(ResourceVariable, AssignReadAddSubAndIsInitialized) {
  Scope root = Scope::NewRootScope();
  auto h = ops::VarHandleOp(root.WithOpName("w"), DT_FLOAT, PartialTensorShape({2, 2}));
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
  auto assign = ops::AssignVariableOp(root.WithOpName("assign"), h, x);
  auto add = ops::AssignAddVariableOp(root.WithOpName("add"), h, x);
  auto sub = ops::AssignSubVariableOp(root.WithOpName("sub"), h, x);
  auto read = ops::ReadVariableOp(root.WithOpName("read"), h, DT_FLOAT);
  auto inited = ops::VarIsInitializedOp(root.WithOpName("inited"), h);
  std::unique_ptr<Session> s = MakeSession(root);
  ASSERT_NE(s, nullptr);
  std::vector<Tensor> out;
  ASSERT_TRUE(s->Run({}, {inited}, {}, &out).ok());
  EXPECT_FALSE(out[0].scalar<bool>());
  const absl::Status uninit = s->Run({}, {read}, {}, &out);
  EXPECT_EQ(uninit.code(), absl::StatusCode::kFailedPrecondition) << uninit;
  EXPECT_TRUE(absl::StrContains(uninit.message(), "uninitialized")) << uninit;

  const Tensor a = FloatTensor({2, 2}, {1, 2, 3, 4});
  const Tensor b = FloatTensor({2, 2}, {0.5f, -1, 10, 0});
  ASSERT_TRUE(s->Run({{x, a}}, {}, {assign}, nullptr).ok());
  ASSERT_TRUE(s->Run({}, {read, inited}, {}, &out).ok());
  EXPECT_TRUE(out[1].scalar<bool>());
  const Tensor before = out[0];
  ExpectTensorNear(before, {2, 2}, {1, 2, 3, 4});
  ASSERT_TRUE(s->Run({{x, b}}, {}, {add}, nullptr).ok());
  ASSERT_TRUE(s->Run({}, {read}, {}, &out).ok());
  ExpectTensorNear(out[0], {2, 2}, {1.5f, 1, 13, 4});
  ASSERT_TRUE(s->Run({{x, b}}, {}, {sub}, nullptr).ok());
  ASSERT_TRUE(s->Run({{x, b}}, {}, {sub}, nullptr).ok());
  ASSERT_TRUE(s->Run({}, {read}, {}, &out).ok());
  ExpectTensorNear(out[0], {2, 2}, {0.5f, 3, -7, 4});
  ExpectTensorNear(before, {2, 2}, {1, 2, 3, 4});  // Copy on write: the earlier read is intact.
  // The store is the session's, under the node name (no shared_name).
  ASSERT_NE(s->variables()->Find("w"), nullptr);
  ExpectTensorNear(s->variables()->Find("w")->value, {2, 2}, {0.5f, 3, -7, 4});

  // A mismatched update changes nothing and names the shapes.
  const absl::Status bad = s->Run({{x, FloatTensor({3}, {1, 2, 3})}}, {}, {add}, nullptr);
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument) << bad;
  EXPECT_TRUE(absl::StrContains(bad.message(), "shapes must be equal")) << bad;
  // Assign takes any shape, as TensorFlow's AssignVariableOp.
  ASSERT_TRUE(s->Run({{x, FloatTensor({3}, {1, 2, 3})}}, {}, {assign}, nullptr).ok());
  ASSERT_TRUE(s->Run({}, {read}, {}, &out).ok());
  ExpectTensorNear(out[0], {3}, {1, 2, 3});
}

TEST(ResourceVariable, WrongDtypeReadAndAssignAreErrors) {
  Scope root = Scope::NewRootScope();
  auto h = ops::VarHandleOp(root.WithOpName("v"), DT_INT32, PartialTensorShape({}));
  auto assign = ops::AssignVariableOp(root.WithOpName("assign"), h, ops::Const(root, 7));
  auto assign_f = ops::AssignVariableOp(root.WithOpName("assign_f"), h, ops::Const(root, 1.f));
  auto read_f = ops::ReadVariableOp(root.WithOpName("read_f"), h, DT_FLOAT);
  auto add = ops::AssignAddVariableOp(root.WithOpName("add"), h, ops::Const(root, 2147483647));
  auto read = ops::ReadVariableOp(root.WithOpName("read"), h, DT_INT32);
  std::unique_ptr<Session> s = MakeSession(root);
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(s->Run({assign}).ok());
  const absl::Status r = s->Run({}, {read_f}, {}, nullptr);
  EXPECT_EQ(r.code(), absl::StatusCode::kInvalidArgument) << r;
  EXPECT_TRUE(absl::StrContains(r.message(), "wrong dtype")) << r;
  const absl::Status a = s->Run({assign_f});
  EXPECT_TRUE(absl::StrContains(a.message(), "wrong dtype")) << a;
  ASSERT_TRUE(s->Run({add}).ok());  // 7 + INT32_MAX wraps around.
  std::vector<Tensor> out;
  ASSERT_TRUE(s->Run({}, {read}, {}, &out).ok());
  EXPECT_EQ(out[0].scalar<int32_t>(), static_cast<int32_t>(7u + 2147483647u));
}

TEST(ResourceVariable, HandleMustNameAVariable) {
  Scope root = Scope::NewRootScope();
  auto handle = ops::Placeholder(root.WithOpName("handle"), DT_RESOURCE);
  auto read = ops::ReadVariableOp(root.WithOpName("read"), handle, DT_FLOAT);
  std::unique_ptr<Session> s = MakeSession(root);
  ASSERT_NE(s, nullptr);
  Tensor forged(DT_RESOURCE, TensorShape({}));
  *static_cast<int64_t*>(forged.data()) = 12345;
  const absl::Status r = s->Run({{handle, forged}}, {read}, {}, nullptr);
  EXPECT_EQ(r.code(), absl::StatusCode::kInvalidArgument) << r;
  EXPECT_TRUE(absl::StrContains(r.message(), "names no variable")) << r;
}

TEST(ResourceVariable, SharesTheStoreWithVariableV2AndCheckpoints) {
  Scope root = Scope::NewRootScope();
  auto h = ops::VarHandleOp(root.WithOpName("h"), DT_FLOAT, PartialTensorShape({3}), "dense/kernel");
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
  auto assign = ops::AssignVariableOp(root.WithOpName("assign"), h, x);
  auto read = ops::ReadVariableOp(root.WithOpName("read"), h, DT_FLOAT);
  std::unique_ptr<Session> s = MakeSession(root);
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(s->Run({{x, FloatTensor({3}, {1, 2, 3})}}, {}, {assign}, nullptr).ok());
  ASSERT_NE(s->variables()->Find("dense/kernel"), nullptr);
  const std::string prefix = TempDir("resource_ckpt") + "/model.ckpt";
  ASSERT_TRUE(SaveCheckpoint(*s, prefix).ok());
  ASSERT_TRUE(s->Run({{x, FloatTensor({3}, {9, 9, 9})}}, {}, {assign}, nullptr).ok());
  const absl::Status restored = RestoreCheckpoint(*s, prefix);
  ASSERT_TRUE(restored.ok()) << restored;
  std::vector<Tensor> out;
  ASSERT_TRUE(s->Run({}, {read}, {}, &out).ok());
  ExpectTensorNear(out[0], {3}, {1, 2, 3});
}

TEST(ResourceGather, RowsMatchAPlainLoopAndBadIndicesFail) {
  Scope root = Scope::NewRootScope();
  auto h = ops::VarHandleOp(root.WithOpName("emb"), DT_FLOAT, PartialTensorShape({4, 3}));
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
  auto assign = ops::AssignVariableOp(root.WithOpName("assign"), h, x);
  auto idx = ops::Placeholder(root.WithOpName("idx"), DT_INT64);
  auto gather = ops::ResourceGather(root.WithOpName("gather"), h, idx, DT_FLOAT);
  std::unique_ptr<Session> s = MakeSession(root);
  ASSERT_NE(s, nullptr);
  const Tensor params = RandomTensor({4, 3}, 7);
  ASSERT_TRUE(s->Run({{x, params}}, {}, {assign}, nullptr).ok());
  const Tensor indices = Make<int64_t>({2, 2}, {3, 0, 3, 1});
  std::vector<Tensor> out;
  ASSERT_TRUE(s->Run({{idx, indices}}, {gather}, {}, &out).ok());
  std::vector<float> want;
  for (int64_t i : Ints(indices)) {
    for (int j = 0; j < 3; ++j) want.push_back(params.flat<float>()[i * 3 + j]);
  }
  ExpectTensorNear(out[0], {2, 2, 3}, want);
  const absl::Status bad = s->Run({{idx, Make<int64_t>({1}, {4})}}, {gather}, {}, &out);
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument) << bad;
  EXPECT_TRUE(absl::StrContains(bad.message(), "indices[0] = 4 is not in [0, 4)")) << bad;
}

TEST(ResourceApply, GradientDescentMomentumAndAdamMatchTheReferences) {
  Scope root = Scope::NewRootScope();
  auto var = ops::VarHandleOp(root.WithOpName("var"), DT_FLOAT, PartialTensorShape({5}));
  auto m = ops::VarHandleOp(root.WithOpName("m"), DT_FLOAT, PartialTensorShape({5}));
  auto v = ops::VarHandleOp(root.WithOpName("v"), DT_FLOAT, PartialTensorShape({5}));
  auto g = ops::Placeholder(root.WithOpName("g"), DT_FLOAT);
  auto b1p = ops::Placeholder(root.WithOpName("b1p"), DT_FLOAT);
  auto b2p = ops::Placeholder(root.WithOpName("b2p"), DT_FLOAT);
  auto gd = ops::ResourceApplyGradientDescent(root.WithOpName("gd"), var, ops::Const(root, 0.1f), g);
  auto mom = ops::ResourceApplyMomentum(root.WithOpName("mom"), var, m, ops::Const(root, 0.05f), g,
                                        ops::Const(root, 0.9f));
  auto adam = ops::ResourceApplyAdam(root.WithOpName("adam"), var, m, v, b1p, b2p,
                                     ops::Const(root, 0.01f), ops::Const(root, 0.9f),
                                     ops::Const(root, 0.999f), ops::Const(root, 1e-7f), g);
  std::unique_ptr<Session> s = MakeSession(root);
  ASSERT_NE(s, nullptr);
  const Tensor init = RandomTensor({5}, 3);
  auto reset = [&] {
    s->variables()->LookupOrCreate("var")->Set(init.DeepCopy());
    s->variables()->LookupOrCreate("m")->Set(Tensor::Filled<float>({5}, 0.f));
    s->variables()->LookupOrCreate("v")->Set(Tensor::Filled<float>({5}, 0.f));
  };
  std::vector<double> init_d(init.flat<float>().begin(), init.flat<float>().end());

  reset();
  std::vector<double> want = init_d;
  for (int step = 0; step < 3; ++step) {
    const Tensor grad = RandomTensor({5}, 10 + step);
    ASSERT_TRUE(s->Run({{g, grad}}, {}, {gd}, nullptr).ok());
    for (int i = 0; i < 5; ++i) want[i] -= 0.1 * grad.flat<float>()[i];
  }
  ExpectTensorNear(s->variables()->Find("var")->value, {5},
                   std::vector<float>(want.begin(), want.end()));

  reset();
  MomentumRef mref{0.05, 0.9, false, init_d, std::vector<double>(5, 0.0)};
  for (int step = 0; step < 3; ++step) {
    const Tensor grad = RandomTensor({5}, 20 + step);
    ASSERT_TRUE(s->Run({{g, grad}}, {}, {mom}, nullptr).ok());
    mref.Step(std::vector<double>(grad.flat<float>().begin(), grad.flat<float>().end()));
  }
  ExpectTensorNear(s->variables()->Find("var")->value, {5},
                   std::vector<float>(mref.var.begin(), mref.var.end()));

  reset();
  AdamRef aref(init_d, 0.01f, 0.9f, 0.999f, 1e-7f);
  for (int step = 0; step < 4; ++step) {
    const Tensor grad = RandomTensor({5}, 30 + step);
    ASSERT_TRUE(s->Run({{g, grad}, {b1p, FloatTensor({}, {aref.beta1_power})},
                        {b2p, FloatTensor({}, {aref.beta2_power})}},
                       {}, {adam}, nullptr)
                    .ok());
    aref.Step(std::vector<double>(grad.flat<float>().begin(), grad.flat<float>().end()));
  }
  ExpectTensorNear(s->variables()->Find("var")->value, {5},
                   std::vector<float>(aref.var.begin(), aref.var.end()), 1e-5f);

  const absl::Status bad = s->Run({{g, RandomTensor({4}, 1)}}, {}, {gd}, nullptr);
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument) << bad;
}

}  // namespace
}  // namespace test
}  // namespace dflow
