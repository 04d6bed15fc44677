// ScatterAdd, ScatterSub and ScatterUpdate against a plain loop over the selected rows; scalar
// updates; repeated indices; copy on write; bad indices and shapes. Also the small ops the
// TensorFlow training graphs need (Unique, IsFinite, StopGradient, LogSoftmax and its gradient)
// against plain loops and central differences.
#include "ops/scatter_ops.h"

#include <cmath>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "kernels/op_kernel.h"
#include "ops/gradients.h"
#include "ops/standard_ops.h"
#include "runtime/session.h"
#include "tests/gradient_checker.h"
#include "tests/test_util.h"

namespace dflow {
namespace test {
namespace {

enum Kind { kAdd, kSub, kUpdate };

// The reference: ref[idx[i], :] op= updates[i, :] in order.
std::vector<float> ScatterRef(std::vector<float> ref, int64_t row, const std::vector<int64_t>& idx,
                              const std::vector<float>& updates, bool scalar, Kind kind) {
  for (size_t i = 0; i < idx.size(); ++i) {
    for (int64_t j = 0; j < row; ++j) {
      const float u = scalar ? updates[0] : updates[i * row + j];
      float& d = ref[idx[i] * row + j];
      d = kind == kAdd ? d + u : kind == kSub ? d - u : u;
    }
  }
  return ref;
}

TEST(Scatter, AddSubUpdateMatchAPlainLoop) {
  for (Kind kind : {kAdd, kSub, kUpdate}) {
    for (bool scalar : {false, true}) {
      SCOPED_TRACE(::testing::Message() << "kind " << kind << " scalar " << scalar);
      Scope root = Scope::NewRootScope();
      auto ref = ops::Variable(root.WithOpName("ref"), {5, 2, 3}, DT_FLOAT);
      auto idx = ops::Placeholder(root.WithOpName("idx"), DT_INT32);
      auto upd = ops::Placeholder(root.WithOpName("upd"), DT_FLOAT);
      auto read = ops::Identity(root.WithOpName("read"), ref);
      Output op = kind == kAdd   ? ops::ScatterAdd(root.WithOpName("op"), ref, idx, upd)
                  : kind == kSub ? ops::ScatterSub(root.WithOpName("op"), ref, idx, upd)
                                 : ops::ScatterUpdate(root.WithOpName("op"), ref, idx, upd);
      ASSERT_TRUE(root.ok()) << root.status();
      absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(root);
      ASSERT_TRUE(s.ok()) << s.status();
      const Tensor init = RandomTensor({5, 2, 3}, 1);
      (*s)->variables()->LookupOrCreate("ref")->Set(init.DeepCopy());
      std::vector<Tensor> before;
      ASSERT_TRUE((*s)->Run({}, {read}, {}, &before).ok());
      const Tensor indices = Int32Tensor({2, 2}, {4, 0, 4, 2});  // 4 repeats.
      const Tensor updates = scalar ? FloatTensor({}, {0.75f}) : RandomTensor({2, 2, 2, 3}, 2);
      std::vector<Tensor> out;
      ASSERT_TRUE((*s)->Run({{idx, indices}, {upd, updates}}, {op}, {}, &out).ok());
      const std::vector<float> want =
          ScatterRef(ValuesOf<float>(init), 6, Ints(indices), ValuesOf<float>(updates), scalar,
                     kind);
      ExpectTensorNear(out[0], {5, 2, 3}, want);
      ExpectTensorNear((*s)->variables()->Find("ref")->value, {5, 2, 3}, want);
      ExpectTensorNear(before[0], {5, 2, 3}, ValuesOf<float>(init));  // Copy on write.

      // An index out of range changes nothing.
      const absl::Status bad = (*s)->Run(
          {{idx, Int32Tensor({2}, {1, 5})}, {upd, scalar ? updates : RandomTensor({2, 2, 3}, 3)}},
          {op}, {}, &out);
      EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument) << bad;
      EXPECT_TRUE(absl::StrContains(bad.message(), "indices[1] = 5 is not in [0, 5)")) << bad;
      ExpectTensorNear((*s)->variables()->Find("ref")->value, {5, 2, 3}, want);
    }
  }
}

TEST(Scatter, BadUpdatesShapeAndUninitializedRefFail) {
  Scope root = Scope::NewRootScope();
  auto ref = ops::Variable(root.WithOpName("ref"), {3, 2}, DT_FLOAT);
  auto idx = ops::Placeholder(root.WithOpName("idx"), DT_INT32);
  auto upd = ops::Placeholder(root.WithOpName("upd"), DT_FLOAT);
  auto op = ops::ScatterAdd(root.WithOpName("op"), ref, idx, upd);
  ASSERT_TRUE(root.ok()) << root.status();
  absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(root, Unoptimized());
  ASSERT_TRUE(s.ok()) << s.status();
  const absl::Status uninit =
      (*s)->Run({{idx, Int32Tensor({1}, {0})}, {upd, RandomTensor({1, 2}, 1)}}, {op}, {}, nullptr);
  EXPECT_EQ(uninit.code(), absl::StatusCode::kFailedPrecondition) << uninit;
  (*s)->variables()->LookupOrCreate("ref")->Set(RandomTensor({3, 2}, 1));
  const absl::Status shape =
      (*s)->Run({{idx, Int32Tensor({1}, {0})}, {upd, RandomTensor({1, 3}, 1)}}, {op}, {}, nullptr);
  EXPECT_EQ(shape.code(), absl::StatusCode::kInvalidArgument) << shape;
  EXPECT_TRUE(absl::StrContains(shape.message(), "indices.shape + params.shape[1:]")) << shape;
}

TEST(Unique, FirstAppearanceOrderAndIndices) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_INT32);
  ops::Unique u(root.WithOpName("u"), x, DT_INT64);
  const Tensor in = Int32Tensor({9}, {1, 1, 2, 4, 4, 4, 7, 8, 8});
  absl::StatusOr<std::vector<Tensor>> out = RunGraph(root, {{x, in}}, {u.y, u.idx});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(Ints((*out)[0]), (std::vector<int64_t>{1, 2, 4, 7, 8}));
  EXPECT_EQ((*out)[1].dtype(), DT_INT64);
  EXPECT_EQ(Ints((*out)[1]), (std::vector<int64_t>{0, 0, 1, 2, 2, 2, 3, 4, 4}));
  absl::StatusOr<std::vector<Tensor>> bad =
      RunGraph(root, {{x, Int32Tensor({1, 2}, {1, 2})}}, {u.y}, Unoptimized());
  EXPECT_FALSE(bad.ok());
}

TEST(IsFiniteAndStopGradient, ValuesAndNoGradient) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
  auto finite = ops::IsFinite(root.WithOpName("finite"), x);
  auto stopped = ops::StopGradient(root.WithOpName("stop"), x);
  const float inf = std::numeric_limits<float>::infinity();
  const Tensor in = FloatTensor({4}, {1, inf, -inf, std::nanf("")});
  absl::StatusOr<std::vector<Tensor>> out = RunGraph(root, {{x, in}}, {finite, stopped});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(ValuesOf<bool>((*out)[0]), (std::vector<bool>{true, false, false, false}));
  EXPECT_EQ((*out)[1].flat<float>()[0], 1.f);
  // d(stop(x) * x)/dx = stop(x): nothing flows through the StopGradient.
  auto y = ops::Mul(root, stopped, x);
  std::vector<Output> grads;
  ASSERT_TRUE(AddSymbolicGradients(root, {y}, {x}, &grads).ok());
  absl::StatusOr<std::vector<Tensor>> g =
      RunGraph(root, {{x, FloatTensor({2}, {3, -2})}}, {grads[0]});
  ASSERT_TRUE(g.ok()) << g.status();
  ExpectTensorNear((*g)[0], {2}, {3, -2});
}

TEST(LogSoftmax, MatchesAPlainLoopAndItsGradientCentralDifferences) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
  auto y = ops::LogSoftmax(root.WithOpName("y"), x);
  // Up to 1024 elements a loop, past that oneDNN.
  for (auto [rows, cols] : {std::pair<int64_t, int64_t>{3, 5}, {40, 30}}) {
    const Tensor in = RandomTensor({rows, cols}, 4, -3.f, 3.f);
    absl::StatusOr<Tensor> out = RunOne(root, y, {{x, in}});
    ASSERT_TRUE(out.ok()) << out.status();
    std::vector<float> want(rows * cols);
    auto v = [&](int64_t r, int64_t c) { return in.flat<float>()[r * cols + c]; };
    for (int64_t r = 0; r < rows; ++r) {
      double mx = -1e30, sum = 0;
      for (int64_t c = 0; c < cols; ++c) mx = std::max<double>(mx, v(r, c));
      for (int64_t c = 0; c < cols; ++c) sum += std::exp(v(r, c) - mx);
      for (int64_t c = 0; c < cols; ++c) want[r * cols + c] = v(r, c) - mx - std::log(sum);
    }
    ExpectTensorNear(*out, {rows, cols}, want);
  }
  const Tensor in = RandomTensor({3, 5}, 4, -3.f, 3.f);
  absl::StatusOr<double> err = MaxGradientError(root, {{x, in}}, y);
  ASSERT_TRUE(err.ok()) << err.status();
  EXPECT_LT(*err, 5e-3);
}

}  // namespace
}  // namespace test
}  // namespace dflow
