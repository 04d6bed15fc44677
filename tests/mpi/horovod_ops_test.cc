// The Horovod collectives in a lone process (no mpirun: rank 0 of 1, every collective local):
// schemas and defaults, shape functions, attr checks, size-1 results and the gradient against
// central differences. The multi-rank results: horovod_mpi_test.cc.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "graph/status_macros.h"
#include "gtest/gtest.h"
#include "kernels/collective/mpi_context.h"
#include "ops/array_ops.h"
#include "ops/collective/horovod_ops.h"
#include "ops/collective/horovod_training.h"
#include "ops/collective/mpi_world.h"
#include "ops/gradients.h"
#include "ops/math_ops.h"
#include "ops/node_builder.h"
#include "ops/op_registry.h"
#include "ops/reduction_ops.h"
#include "tests/mpi/horovod_test_util.h"

namespace dflow {
namespace {

using test::Make;
using test::Values;

TEST(HorovodOpsTest, LoneProcessIsRankZeroOfOne) {
  ASSERT_EQ(std::getenv("OMPI_COMM_WORLD_SIZE"), nullptr) << "run without mpirun";
  absl::StatusOr<MpiContext*> mpi = MpiContext::Get();
  ASSERT_TRUE(mpi.ok()) << mpi.status();
  EXPECT_EQ((*mpi)->rank(), 0);
  EXPECT_EQ((*mpi)->size(), 1);
  EXPECT_EQ((*mpi)->local_rank(), 0);
}

TEST(HorovodOpsTest, SchemaDefaultsAndStateful) {
  const OpDef* op = OpRegistry::Global()->Find("HorovodAllreduce");
  ASSERT_NE(op, nullptr);
  EXPECT_TRUE(op->is_stateful);
  const AttrDef* reduce_op = op->FindAttr("reduce_op");
  ASSERT_NE(reduce_op, nullptr);
  ASSERT_TRUE(reduce_op->default_value.has_value());
  EXPECT_EQ(reduce_op->default_value->i(), 1);  // A graph with only T sums.
  for (const char* name : {"HorovodBroadcast", "HorovodAllgather"}) {
    const OpDef* def = OpRegistry::Global()->Find(name);
    ASSERT_NE(def, nullptr) << name;
    EXPECT_TRUE(def->is_stateful) << name;
    EXPECT_NE(def->FindAttr("process_set_id"), nullptr) << name;
  }
  const OpDef* broadcast = OpRegistry::Global()->Find("HorovodBroadcast");
  EXPECT_FALSE(broadcast->FindAttr("root_rank")->default_value.has_value());
}

TEST(HorovodOpsTest, ShapeFunctions) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape(PartialTensorShape({5, 3})));
  EXPECT_EQ(ops::HorovodAllreduce(root, x).shape().DebugString(), "[5,3]");
  EXPECT_EQ(ops::HorovodBroadcast(root, x, 0).shape().DebugString(), "[5,3]");
  EXPECT_EQ(ops::HorovodAllgather(root, x).shape().DebugString(), "[?,3]");
  ASSERT_TRUE(root.ok()) << root.status();
  ops::HorovodAllgather(root.WithOpName("scalar"), 1.0f);
  EXPECT_NE(root.status().message().find("cannot gather a scalar"), std::string::npos)
      << root.status();
}

TEST(HorovodOpsTest, SizeOneResults) {
  Scope root = Scope::NewRootScope();
  const Tensor x = Make<float>({2, 2}, {1, -2, 3, 4});
  auto sum = ops::HorovodAllreduce(root.WithOpName("sum"), x);
  auto avg = ops::HorovodAllreduce(root.WithOpName("avg"), x,
                                   ops::HorovodAllreduce::ReduceOp(ops::kHorovodAverage));
  auto scaled = ops::HorovodAllreduce(
      root.WithOpName("scaled"), x,
      ops::HorovodAllreduce::ReduceOp(ops::kHorovodMax).PrescaleFactor(2).PostscaleFactor(0.25f));
  auto ints = ops::HorovodAllreduce(root.WithOpName("ints"), Make<int32_t>({3}, {7, -7, 0}),
                                    ops::HorovodAllreduce::Attrs().PostscaleFactor(0.5f));
  auto bcast = ops::HorovodBroadcast(root.WithOpName("bcast"), Make<int64_t>({1}, {9}), 0);
  auto gather = ops::HorovodAllgather(root.WithOpName("gather"), x);
  auto empty = ops::HorovodAllgather(root.WithOpName("empty"), Make<float>({0, 2}, {}));
  absl::StatusOr<std::vector<Tensor>> out =
      test::Run(root, {sum, avg, scaled, ints, bcast, gather, empty});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(Values<float>((*out)[0]), (std::vector<float>{1, -2, 3, 4}));
  EXPECT_EQ(Values<float>((*out)[1]), (std::vector<float>{1, -2, 3, 4}));
  EXPECT_EQ(Values<float>((*out)[2]), (std::vector<float>{0.5f, -1, 1.5f, 2}));
  EXPECT_EQ(Values<int32_t>((*out)[3]), (std::vector<int32_t>{3, -3, 0}));  // Truncated.
  EXPECT_EQ(Values<int64_t>((*out)[4]), (std::vector<int64_t>{9}));
  EXPECT_EQ((*out)[5].shape(), TensorShape({2, 2}));
  EXPECT_EQ(Values<float>((*out)[5]), (std::vector<float>{1, -2, 3, 4}));
  EXPECT_EQ((*out)[6].shape(), TensorShape({0, 2}));
}

TEST(HorovodOpsTest, UnsupportedAttrsFailClearly) {
  Scope root = Scope::NewRootScope();
  auto adasum = ops::HorovodAllreduce(root.WithOpName("adasum"), 1.0f,
                                      ops::HorovodAllreduce::ReduceOp(ops::kHorovodAdasum));
  absl::StatusOr<std::vector<Tensor>> out = test::Run(root, {adasum});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("Adasum"), std::string::npos) << out.status();

  Scope root2 = Scope::NewRootScope();
  auto bad_root = ops::HorovodBroadcast(root2.WithOpName("b"), 1.0f, 1);
  out = test::Run(root2, {bad_root});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("root_rank 1 is not in [0, 1)"), std::string::npos)
      << out.status();

  Scope root3 = Scope::NewRootScope();
  absl::StatusOr<Node*> set = NodeBuilder("set", "HorovodAllreduce")
                                  .Input(ops::Const(root3, 1.0f))
                                  .Attr("process_set_id", int64_t{2})
                                  .Finalize(root3.graph());
  ASSERT_TRUE(set.ok()) << set.status();
  out = test::Run(root3, {Output(*set, 0)});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("process_set_id 2"), std::string::npos) << out.status();
}

TEST(HorovodOpsTest, AllreduceGradientMatchesCentralDifferences) {
  // L = sum(w * Allreduce(x; pre 2, post 0.75)), one rank: dL/dx = 1.5 w. Checked against
  // (L(x + h e_i) - L(x - h e_i)) / 2h for every element.
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
  const Tensor w = Make<float>({3}, {0.5f, -1.25f, 2});
  auto y = ops::HorovodAllreduce(
      root, x, ops::HorovodAllreduce::Attrs().PrescaleFactor(2).PostscaleFactor(0.75f));
  auto loss = ops::Sum(root, ops::Mul(root, y, w), {0});
  std::vector<Output> grads;
  ASSERT_TRUE(AddSymbolicGradients(root, {loss}, {x}, &grads).ok()) << root.status();
  const std::vector<float> x0 = {0.3f, -0.7f, 1.1f};
  absl::StatusOr<std::vector<Tensor>> g = test::Run(root, {grads[0]}, {{x, Make<float>({3}, x0)}});
  ASSERT_TRUE(g.ok()) << g.status();
  const float h = 1e-2f;
  for (int i = 0; i < 3; ++i) {
    std::vector<float> plus = x0, minus = x0;
    plus[i] += h;
    minus[i] -= h;
    absl::StatusOr<std::vector<Tensor>> lp = test::Run(root, {loss}, {{x, Make<float>({3}, plus)}});
    absl::StatusOr<std::vector<Tensor>> lm =
        test::Run(root, {loss}, {{x, Make<float>({3}, minus)}});
    ASSERT_TRUE(lp.ok() && lm.ok());
    const double numeric = (Values<float>((*lp)[0])[0] - Values<float>((*lm)[0])[0]) / (2.0 * h);
    EXPECT_NEAR(Values<float>((*g)[0])[i], numeric, 1e-3) << "element " << i;
    EXPECT_NEAR(Values<float>((*g)[0])[i], 1.5 * Values<float>(w)[i], 1e-6) << "element " << i;
  }
}

TEST(HorovodOpsTest, GroupedAllreduceSchemaShapesAndOneRank) {
  // Horovod's schema: reduce_op and the factors have no defaults; num_tensors sets the lists.
  const OpDef* op = OpRegistry::Global()->Find("HorovodGroupedAllreduce");
  ASSERT_NE(op, nullptr);
  EXPECT_TRUE(op->is_stateful);
  for (const char* attr : {"reduce_op", "prescale_factor", "postscale_factor", "num_tensors"}) {
    ASSERT_NE(op->FindAttr(attr), nullptr) << attr;
    EXPECT_FALSE(op->FindAttr(attr)->default_value.has_value()) << attr;
  }
  EXPECT_NE(op->FindAttr("process_set_id"), nullptr);
  EXPECT_NE(op->FindAttr("ignore_name_scope"), nullptr);

  // One rank: tensor i is post * pre * x_i (average over one rank is the identity).
  Scope root = Scope::NewRootScope();
  auto a = ops::Placeholder(root.WithOpName("a"), DT_FLOAT,
                            ops::Placeholder::Shape(PartialTensorShape({2, -1})));
  auto b = ops::Const(root, Make<float>({3}, {1, -2, 4}));
  ops::HorovodGroupedAllreduce group(
      root.WithOpName("group"), {a, b},
      ops::HorovodAllreduce::ReduceOp(ops::kHorovodAverage).PrescaleFactor(2).PostscaleFactor(
          0.25f));
  ASSERT_TRUE(root.ok()) << root.status();
  ASSERT_EQ(group.sum.size(), 2u);
  EXPECT_EQ(group.sum[0].shape().DebugString(), "[2,?]");
  EXPECT_EQ(group.sum[1].shape().DebugString(), "[3]");
  int64_t num_tensors = 0;
  ASSERT_TRUE(GetNodeAttr(*group.sum[0].node(), "num_tensors", &num_tensors).ok());
  EXPECT_EQ(num_tensors, 2);
  absl::StatusOr<std::vector<Tensor>> out =
      test::Run(root, group.sum, {{a, Make<float>({2, 1}, {6, -8})}});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(Values<float>((*out)[0]), (std::vector<float>{3, -4}));
  EXPECT_EQ(Values<float>((*out)[1]), (std::vector<float>{0.5f, -1, 2}));

  // The gradient is a grouped allreduce too: L = sum(w0 * y0) + sum(w1 * y1), dL/dx_i = 0.5 w_i.
  auto loss = ops::Add(root, ops::Sum(root, ops::Mul(root, group.sum[0], 3.0f), {0, 1}),
                       ops::Sum(root, ops::Mul(root, group.sum[1], -1.0f), {0}));
  std::vector<Output> grads;
  ASSERT_TRUE(AddSymbolicGradients(root, {loss}, {a, b}, &grads).ok()) << root.status();
  EXPECT_EQ(grads[0].node()->op(), "HorovodGroupedAllreduce");
  out = test::Run(root, grads, {{a, Make<float>({2, 1}, {6, -8})}});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(Values<float>((*out)[0]), (std::vector<float>{1.5f, 1.5f}));
  EXPECT_EQ(Values<float>((*out)[1]), (std::vector<float>{-0.5f, -0.5f, -0.5f}));

  // No tensors, and mixed dtypes, are graph-time errors.
  Scope empty = Scope::NewRootScope();
  ops::HorovodGroupedAllreduce none(empty, {}, {});
  EXPECT_FALSE(empty.ok());
  Scope mixed = Scope::NewRootScope();
  ops::HorovodGroupedAllreduce both(
      mixed, {ops::Const(mixed, 1.0f), ops::Const(mixed, int32_t{1})}, {});
  EXPECT_FALSE(mixed.ok());
}

TEST(HorovodOpsTest, BroadcastAndAllgatherGradientsOnOneRank) {
  // One rank is the root: the gradient is the (average over one rank of the) incoming one.
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
  auto loss = ops::Sum(root, ops::Mul(root, ops::HorovodBroadcast(root, x, 0), 3.0f), {0});
  std::vector<Output> grads;
  ASSERT_TRUE(AddSymbolicGradients(root, {loss}, {x}, &grads).ok()) << root.status();
  absl::StatusOr<std::vector<Tensor>> g =
      test::Run(root, {grads[0]}, {{x, Make<float>({2}, {1, 2})}});
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(Values<float>((*g)[0]), (std::vector<float>{3, 3}));

  // L = sum(w * Allgather(x)), one rank: the gathered tensor is x, so dL/dx = w.
  Scope root2 = Scope::NewRootScope();
  auto x2 = ops::Placeholder(root2.WithOpName("x"), DT_FLOAT);
  const Tensor w = Make<float>({3, 2}, {1, 2, 3, 4, 5, 6});
  auto loss2 = ops::Sum(root2, ops::Mul(root2, ops::HorovodAllgather(root2, x2), w), {0, 1});
  std::vector<Output> grads2;
  ASSERT_TRUE(AddSymbolicGradients(root2, {loss2}, {x2}, &grads2).ok()) << root2.status();
  g = test::Run(root2, {grads2[0]}, {{x2, Make<float>({3, 2}, {0, 0, 0, 0, 0, 0})}});
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ((*g)[0].shape(), TensorShape({3, 2}));
  EXPECT_EQ(Values<float>((*g)[0]), Values<float>(w));
}

TEST(HorovodOpsTest, BroadcastGlobalVariablesNeedsVariables) {
  Scope root = Scope::NewRootScope();
  ops::Const(root, 1.0f);
  BroadcastGlobalVariables(root, 0);
  EXPECT_NE(root.status().message().find("the graph has no variables"), std::string::npos)
      << root.status();
}

TEST(HorovodOpsTest, WorldFromEnvironment) {
  ASSERT_EQ(setenv("OMPI_COMM_WORLD_SIZE", "4", 1), 0);
  ASSERT_EQ(setenv("OMPI_COMM_WORLD_RANK", "2", 1), 0);
  ASSERT_EQ(setenv("OMPI_COMM_WORLD_LOCAL_RANK", "0", 1), 0);
  absl::StatusOr<MpiWorld> world = MpiWorldFromEnv();
  ASSERT_TRUE(world.ok()) << world.status();
  EXPECT_TRUE(world->under_mpirun);
  EXPECT_EQ(world->rank, 2);
  EXPECT_EQ(world->size, 4);
  EXPECT_EQ(world->local_rank, 0);
  ASSERT_EQ(setenv("OMPI_COMM_WORLD_RANK", "4", 1), 0);
  EXPECT_FALSE(MpiWorldFromEnv().ok());
  ASSERT_EQ(setenv("OMPI_COMM_WORLD_RANK", "x", 1), 0);
  world = MpiWorldFromEnv();
  ASSERT_FALSE(world.ok());
  EXPECT_NE(world.status().message().find("OMPI_COMM_WORLD_RANK=\"x\""), std::string::npos);
  unsetenv("OMPI_COMM_WORLD_SIZE");
  unsetenv("OMPI_COMM_WORLD_RANK");
  unsetenv("OMPI_COMM_WORLD_LOCAL_RANK");
  world = MpiWorldFromEnv();
  ASSERT_TRUE(world.ok());
  EXPECT_FALSE(world->under_mpirun);
  EXPECT_EQ(world->size, 1);
}

}  // namespace
}  // namespace dflow
