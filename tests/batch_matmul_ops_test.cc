// Tests of BatchMatMul and BatchMatMulV2 against the plain-loop reference of tests/reference.h:
// every adj_x / adj_y combination, rank 2 to 4, batch 1, V2's broadcast batch dimensions (either
// side, different ranks), empty products, shape errors, and the gradients (including V2's sums
// over broadcast dimensions) against central differences.
#include <cstdint>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ops/array_ops.h"
#include "ops/batch_matmul_ops.h"
#include "runtime/session.h"
#include "tests/gradient_checker.h"
#include "tests/reference.h"
#include "tests/test_util.h"

namespace dflow {
namespace test {
namespace {

using ::testing::HasSubstr;

struct Case {
  std::vector<int64_t> x, y, out;  // x and y as stored (already transposed where adj).
  bool adj_x, adj_y, v2;
};

TensorShape S(const std::vector<int64_t>& d) { return TensorShape(absl::MakeConstSpan(d)); }

const std::vector<Case>& Cases() {
  static const auto* cases = new std::vector<Case>{
      {{2, 3}, {3, 4}, {2, 4}, false, false, false},
      {{1, 3, 5}, {1, 5, 2}, {1, 3, 2}, false, false, false},  // Batch 1.
      {{4, 5, 3}, {4, 5, 2}, {4, 3, 2}, true, false, false},
      {{4, 3, 5}, {4, 2, 5}, {4, 3, 2}, false, true, false},
      {{2, 3, 5, 3}, {2, 3, 2, 5}, {2, 3, 3, 2}, true, true, false},
      {{3, 2, 4}, {4, 5}, {3, 2, 5}, false, false, true},     // y broadcast, lower rank.
      {{2, 7}, {3, 2, 7, 3}, {3, 2, 2, 3}, false, false, true},
      {{2, 1, 3, 4}, {1, 5, 4, 2}, {2, 5, 3, 2}, false, false, true},  // Both broadcast.
      {{3, 1, 4, 3}, {5, 2, 4}, {3, 5, 3, 2}, true, true, true},
      {{2, 16, 33}, {2, 33, 17}, {2, 16, 17}, false, false, true},  // Sizes oneDNN blocks.
  };
  return *cases;
}

Output Bmm(const Scope& root, Input x, Input y, const Case& c) {
  const ops::BatchMatMulAttrs attrs = ops::BatchMatMulAttrs().AdjX(c.adj_x).AdjY(c.adj_y);
  return c.v2 ? ops::BatchMatMulV2(root, x, y, attrs) : ops::BatchMatMul(root, x, y, attrs);
}

TEST(BatchMatMulTest, MatchesReference) {
  uint64_t seed = 1;
  for (const Case& c : Cases()) {
    SCOPED_TRACE(absl::StrCat(S(c.x).DebugString(), " x ", S(c.y).DebugString(), " adj ",
                              c.adj_x, c.adj_y, c.v2 ? " V2" : " V1"));
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape(S(c.x)));
    auto y = ops::Placeholder(root, DT_FLOAT);
    Output z = Bmm(root, x, y, c);
    auto z_static = Bmm(root, x, ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape(S(c.y))),
                        c);
    ASSERT_TRUE(root.ok()) << root.status();
    EXPECT_EQ(z_static.shape(), PartialTensorShape(S(c.out)));
    Tensor xv = RandomTensor(S(c.x), seed++), yv = RandomTensor(S(c.y), seed++);
    absl::StatusOr<Tensor> out = RunOne(root, z, {{x, xv}, {y, yv}});
    ASSERT_TRUE(out.ok()) << out.status();
    ExpectTensorNear(*out, S(c.out), BatchMatMulRef(xv, yv, c.adj_x, c.adj_y, S(c.out)), 1e-5f);
  }
}

TEST(BatchMatMulTest, EmptyProducts) {
  Scope root = Scope::NewRootScope();
  auto z = ops::BatchMatMulV2(root, ops::Const(root, Tensor(DT_FLOAT, TensorShape({2, 3, 0}))),
                              ops::Const(root, Tensor(DT_FLOAT, TensorShape({0, 4}))));
  absl::StatusOr<Tensor> out = RunOne(root, z);
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectTensorNear(*out, TensorShape({2, 3, 4}), std::vector<float>(24, 0.0f));
}

TEST(BatchMatMulTest, Errors) {
  auto build_error = [](auto build) {
    Scope root = Scope::NewRootScope();
    build(root);
    return ErrorOf(root);
  };
  EXPECT_THAT(build_error([](const Scope& r) {
                ops::BatchMatMul(r, ops::Const(r, 0.0f, {2, 3, 4}), ops::Const(r, 0.0f, {4, 5}));
              }),
              HasSubstr("same rank"));
  EXPECT_THAT(build_error([](const Scope& r) {
                ops::BatchMatMul(r, ops::Const(r, 0.0f, {2, 3, 4}),
                                 ops::Const(r, 0.0f, {3, 4, 5}));
              }),
              HasSubstr("must be equal"));
  EXPECT_THAT(build_error([](const Scope& r) {
                ops::BatchMatMulV2(r, ops::Const(r, 0.0f, {2, 3, 4}),
                                   ops::Const(r, 0.0f, {3, 4, 5}));
              }),
              HasSubstr("do not broadcast"));
  EXPECT_THAT(build_error([](const Scope& r) {
                ops::BatchMatMulV2(r, ops::Const(r, 0.0f, {3, 4}), ops::Const(r, 0.0f, {3, 5}));
              }),
              HasSubstr("4 vs. 3"));
  EXPECT_THAT(build_error([](const Scope& r) {
                ops::BatchMatMulV2(r, ops::Const(r, 0.0f, {4}), ops::Const(r, 0.0f, {4, 5}));
              }),
              HasSubstr("rank >= 2"));
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto y = ops::Placeholder(root, DT_FLOAT);
  auto z = ops::BatchMatMulV2(root, x, y);
  absl::StatusOr<Tensor> out =
      RunOne(root, z, {{x, RandomTensor({2, 3, 4}, 1)}, {y, RandomTensor({3, 4, 5}, 2)}});
  EXPECT_THAT(ErrorOf(out.status()), HasSubstr("do not broadcast"));
  out = RunOne(root, z, {{x, RandomTensor({3, 4}, 1)}, {y, RandomTensor({5, 5}, 2)}});
  EXPECT_THAT(ErrorOf(out.status()), HasSubstr("inner dimensions"));
}

TEST(BatchMatMulGradientTest, AgainstCentralDifferences) {
  uint64_t seed = 50;
  for (const Case& c : std::vector<Case>{{{2, 3, 4}, {2, 4, 2}, {}, false, false, false},
                                         {{2, 4, 3}, {2, 4, 2}, {}, true, false, false},
                                         {{2, 3, 4}, {2, 2, 4}, {}, false, true, false},
                                         {{2, 4, 3}, {2, 2, 4}, {}, true, true, false},
                                         {{3, 1, 2, 4}, {2, 4, 3}, {}, false, false, true},
                                         {{4, 2}, {3, 2, 4}, {}, true, true, true}}) {
    SCOPED_TRACE(absl::StrCat(S(c.x).DebugString(), " x ", S(c.y).DebugString(), " adj ",
                              c.adj_x, c.adj_y, c.v2 ? " V2" : " V1"));
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT);
    auto y = ops::Placeholder(root, DT_FLOAT);
    Output z = Bmm(root, x, y, c);
    absl::StatusOr<double> err = MaxGradientError(
        root, {{x, RandomTensor(S(c.x), seed++)}, {y, RandomTensor(S(c.y), seed++)}}, z, {},
        1e-2);
    ASSERT_TRUE(err.ok()) << err.status();
    EXPECT_LT(*err, 2e-3);
  }
}

}  // namespace
}  // namespace test
}  // namespace dflow
