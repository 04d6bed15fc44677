// The graph optimizer's fused ops against plain loops: _FusedMatMul and
// _ApplyGradientDescentMatMul for every transpose combination, _FusedConv2D with SAME and VALID
// padding and strides, with and without Relu, _SoftmaxGrad in 2 and 3 dimensions, _FusedBinary
// chains with broadcast operands; shape inference and errors.
#include "ops/fused_ops.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kernels/op_kernel.h"
#include "ops/node_builder.h"
#include "ops/standard_ops.h"
#include "tests/reference.h"
#include "tests/test_util.h"

namespace dflow {
namespace {

using test::BiasAddRef;
using test::Conv2DRef;
using test::ExpectTensorNear;
using test::MatMulRef;
using test::RandomTensor;
using test::ReluRef;
using test::SoftmaxGradRef;
using test::RunOne;
using ::testing::HasSubstr;

std::vector<std::string> FusedOps(bool relu) {
  return relu ? std::vector<std::string>{"BiasAdd", "Relu"} : std::vector<std::string>{"BiasAdd"};
}

// Builds `op` on (x, y, [bias]) with `attrs`; returns the node or the builder's error.
absl::StatusOr<Node*> AddFused(const Scope& root, const std::string& op, Output x, Output y,
                               Output bias, const std::vector<std::string>& fused_ops,
                               const AttrMap& attrs) {
  NodeBuilder builder(root.graph()->UniqueName("fused"), op);
  builder.Input(x).Input(y).Input(std::vector<Output>{bias});
  builder.Attr("fused_ops", MakeStringListAttr(fused_ops));
  for (const auto& [name, value] : attrs) builder.Attr(name, value);
  return builder.Finalize(root.graph());
}

// relu?(y + bias), from the shared references.
std::vector<float> BiasAddReluRef(const std::vector<float>& y, const Tensor& bias, bool relu) {
  std::vector<float> out = BiasAddRef(y, bias);
  return relu ? ReluRef(out) : out;
}

// ---------------------------------------------------------------------------------------------
// _FusedMatMul.

// One row (batch 1) of a small matrix runs as a loop (kernels/loops.h), more rows or a larger
// matrix on oneDNN (a Const [k, n] matrix through its transposed copy; a fed one as it is).
TEST(FusedMatMul, AddsTheBiasAndAppliesReluForEveryTransposeCombination) {
  struct Case { int64_t m, k, n; };
  for (Case c : {Case{5, 7, 3}, Case{1, 7, 3}, Case{1, 784, 10}, Case{1, 33, 17},
                 Case{1, 300, 260}, Case{32, 64, 40}}) {
    const int64_t kM = c.m, kK = c.k, kN = c.n;
    for (bool ta : {false, true}) {
      for (bool tb : {false, true}) {
        for (bool relu : {false, true}) {
          SCOPED_TRACE(absl::StrCat(kM, "x", kK, "x", kN, " transpose_a=", ta, " transpose_b=", tb,
                                    " relu=", relu));
          Scope root = Scope::NewRootScope();
          const Tensor a = RandomTensor(ta ? TensorShape({kK, kM}) : TensorShape({kM, kK}), 1);
          const Tensor b = RandomTensor(tb ? TensorShape({kN, kK}) : TensorShape({kK, kN}), 2);
          const Tensor bias = RandomTensor({kN}, 3);
          auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
          auto fed = ops::Placeholder(root.WithOpName("b"), DT_FLOAT);
          for (bool const_b : {true, false}) {
            absl::StatusOr<Node*> node = AddFused(
                root, "_FusedMatMul", x, const_b ? ops::Const(root, b) : Output(fed),
                ops::Const(root, bias), FusedOps(relu),
                {{"transpose_a", MakeAttr(ta)}, {"transpose_b", MakeAttr(tb)}});
            ASSERT_TRUE(node.ok()) << node.status();
            absl::StatusOr<Tensor> out = RunOne(root, Output(*node), {{x, a}, {fed, b}});
            ASSERT_TRUE(out.ok()) << out.status();
            ExpectTensorNear(*out, {kM, kN}, BiasAddReluRef(MatMulRef(a, b, ta, tb), bias, relu),
                             kK > 100 ? 1e-4f : 1e-5f);
          }
        }
      }
    }
  }
}

TEST(FusedMatMul, InfersTheProductShape) {
  Scope root = Scope::NewRootScope();
  auto a = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({-1, 4}));
  auto b = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({6, 4}));
  auto bias = ops::Placeholder(root, DT_FLOAT);
  absl::StatusOr<Node*> node =
      AddFused(root, "_FusedMatMul", a, b, bias, FusedOps(true), {{"transpose_b", MakeAttr(true)}});
  ASSERT_TRUE(node.ok()) << node.status();
  EXPECT_EQ((*node)->output_shape(0), PartialTensorShape({-1, 6}));
}

TEST(FusedMatMul, WithAnEmptyInnerDimensionGivesTheBiasInEveryRow) {
  Scope root = Scope::NewRootScope();
  auto a = ops::Placeholder(root.WithOpName("a"), DT_FLOAT);
  absl::StatusOr<Node*> node =
      AddFused(root, "_FusedMatMul", a, ops::Const(root, Tensor(DT_FLOAT, TensorShape({0, 2}))),
               ops::Const(root, {-1.f, 2.f}), FusedOps(true), {});
  ASSERT_TRUE(node.ok()) << node.status();
  absl::StatusOr<Tensor> out =
      RunOne(root, Output(*node), {{a, Tensor(DT_FLOAT, TensorShape({3, 0}))}});
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectTensorNear(*out, {3, 2}, {0.f, 2.f, 0.f, 2.f, 0.f, 2.f});
}

TEST(FusedMatMul, RejectsFusedOpsItCannotRunNamingTheNode) {
  Scope root = Scope::NewRootScope();
  auto a = ops::Const(root, RandomTensor({2, 2}, 1));
  absl::StatusOr<Node*> node =
      AddFused(root, "_FusedMatMul", a, a, ops::Const(root, {1.f, 2.f}), {"Relu"}, {});
  ASSERT_FALSE(node.ok());
  EXPECT_THAT(node.status().message(), HasSubstr("'fused'"));
  EXPECT_THAT(node.status().message(), HasSubstr("fused_ops [Relu] is not supported"));
}

TEST(FusedMatMul, RejectsABiasOfTheWrongSizeWhenItRuns) {
  Scope root = Scope::NewRootScope();
  auto bias = ops::Placeholder(root.WithOpName("bias"), DT_FLOAT);
  auto a = ops::Const(root, RandomTensor({2, 3}, 1));
  absl::StatusOr<Node*> node =
      AddFused(root, "_FusedMatMul", a, ops::Const(root, RandomTensor({3, 4}, 2)), bias,
               FusedOps(false), {});
  ASSERT_TRUE(node.ok()) << node.status();
  absl::StatusOr<Tensor> out = RunOne(root, Output(*node), {{bias, RandomTensor({3}, 3)}});
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(out.status().message(), HasSubstr("'fused'"));
  EXPECT_THAT(out.status().message(), HasSubstr("bias has 3 values"));
}

// ---------------------------------------------------------------------------------------------
// _FusedConv2D.

TEST(FusedConv2D, MatchesLoopsForSameAndValidPaddingWithStrides) {
  const Tensor input = RandomTensor({2, 7, 6, 3}, 1);
  const Tensor filter = RandomTensor({3, 2, 3, 4}, 2);
  const Tensor bias = RandomTensor({4}, 3);
  for (const char* padding : {"SAME", "VALID"}) {
    for (int64_t stride : {1, 2}) {
      for (bool relu : {false, true}) {
        SCOPED_TRACE(absl::StrCat(padding, " stride ", stride, " relu=", relu));
        Scope root = Scope::NewRootScope();
        auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
        const std::vector<int64_t> strides = {1, stride, stride, 1};
        absl::StatusOr<Node*> node = AddFused(
            root, "_FusedConv2D", x, ops::Const(root, filter), ops::Const(root, bias),
            FusedOps(relu),
            {{"strides", MakeAttr(absl::MakeConstSpan(strides))}, {"padding", MakeAttr(padding)}});
        ASSERT_TRUE(node.ok()) << node.status();
        absl::StatusOr<Tensor> out = RunOne(root, Output(*node), {{x, input}});
        ASSERT_TRUE(out.ok()) << out.status();
        const test::ConvCase c = test::ConvCase::Of(input.shape(), filter.shape(), stride, stride,
                                                    std::string(padding) == "SAME");
        TensorShape shape = c.Out();
        std::vector<float> expected = BiasAddReluRef(Conv2DRef(c, input, filter), bias, relu);
        ExpectTensorNear(*out, shape, expected, 1e-5f);
      }
    }
  }
}

TEST(FusedConv2D, InfersTheConvolutionShapeAndChecksTheBias) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({-1, 8, 8, 3}));
  auto filter = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({3, 3, 3, 5}));
  const std::vector<int64_t> strides = {1, 2, 2, 1};
  const AttrMap attrs = {{"strides", MakeAttr(absl::MakeConstSpan(strides))},
                         {"padding", MakeAttr("VALID")}};
  absl::StatusOr<Node*> node = AddFused(
      root, "_FusedConv2D", x, filter,
      ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({5})), FusedOps(true), attrs);
  ASSERT_TRUE(node.ok()) << node.status();
  EXPECT_EQ((*node)->output_shape(0), PartialTensorShape({-1, 3, 3, 5}));
  absl::StatusOr<Node*> bad = AddFused(
      root, "_FusedConv2D", x, filter,
      ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({4})), FusedOps(true), attrs);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("bias has 4 values"));
}

// ---------------------------------------------------------------------------------------------
// _ApplyGradientDescentMatMul.

absl::StatusOr<Node*> AddGradientDescentMatMul(const Scope& root, Output var, Output alpha,
                                               Output a, Output b, bool ta, bool tb) {
  NodeBuilder builder("update", "_ApplyGradientDescentMatMul");
  builder.Input(var).Input(alpha).Input(a).Input(b);
  builder.Attr("transpose_a", MakeAttr(ta)).Attr("transpose_b", MakeAttr(tb));
  return builder.Finalize(root.graph());
}

// var - alpha * op(a) op(b), in double precision.
std::vector<float> GradientDescentRef(const Tensor& var, float alpha, const Tensor& a,
                                      const Tensor& b, bool ta, bool tb) {
  std::vector<float> product = MatMulRef(a, b, ta, tb);
  std::vector<float> out(product.size());
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<float>(var.flat<float>()[i] - static_cast<double>(alpha) * product[i]);
  }
  return out;
}

// A Session with variable "v" of `value`, for running updates on it.
std::unique_ptr<Session> SessionWithVariable(const Scope& root, const Tensor& value) {
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(root);
  EXPECT_TRUE(session.ok()) << session.status();
  if (!session.ok()) return nullptr;
  (*session)->variables()->LookupOrCreate("v")->Set(value.DeepCopy());
  return *std::move(session);
}

TEST(ApplyGradientDescentMatMul, SubtractsTheScaledProductForEveryTransposeCombination) {
  constexpr int64_t kM = 6, kK = 4, kN = 5;
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      SCOPED_TRACE(absl::StrCat("transpose_a=", ta, " transpose_b=", tb));
      Scope root = Scope::NewRootScope();
      const Tensor a = RandomTensor(ta ? TensorShape({kK, kM}) : TensorShape({kM, kK}), 1);
      const Tensor b = RandomTensor(tb ? TensorShape({kN, kK}) : TensorShape({kK, kN}), 2);
      const Tensor v0 = RandomTensor({kM, kN}, 3);
      auto v = ops::Variable(root.WithOpName("v"), {kM, kN}, DT_FLOAT);
      auto alpha = ops::Placeholder(root.WithOpName("alpha"), DT_FLOAT);
      auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
      absl::StatusOr<Node*> update =
          AddGradientDescentMatMul(root, v, alpha, x, ops::Const(root, b), ta, tb);
      ASSERT_TRUE(update.ok()) << update.status();
      std::unique_ptr<Session> session = SessionWithVariable(root, v0);
      ASSERT_NE(session, nullptr);
      // Two steps with different rates: the rate is read at every run.
      std::vector<float> expected = GradientDescentRef(v0, 0.5f, a, b, ta, tb);
      absl::Status s = session->Run({{alpha, test::FloatTensor({}, {0.5f})}, {x, a}}, {},
                                    {Operation(*update)}, nullptr);
      ASSERT_TRUE(s.ok()) << s;
      ExpectTensorNear(session->variables()->Find("v")->value, {kM, kN}, expected, 1e-5f);
      expected = GradientDescentRef(test::FloatTensor({kM, kN}, expected), 0.25f, a, b, ta, tb);
      s = session->Run({{alpha, test::FloatTensor({}, {0.25f})}, {x, a}}, {}, {Operation(*update)},
                       nullptr);
      ASSERT_TRUE(s.ok()) << s;
      ExpectTensorNear(session->variables()->Find("v")->value, {kM, kN}, expected, 1e-5f);
    }
  }
}

// An inner dimension of 1 (the batch-1 weight update) rounds three times per element, as
// oneDNN's matmul with a scale and a sum post-op does: p = 0 + a[i] b[j] (+0 for a -0
// product), q = p * -alpha, v + q; whether the kernel's loop (up to 64K elements) or oneDNN runs.
// Rows shorter than 16 that are not 8 long take the loop's flat path, with a row-wise tail.
TEST(ApplyGradientDescentMatMul, AnInnerDimensionOfOneRoundsAsTheMatMulDoes) {
  struct Case { int64_t m, n; };
  for (Case c : {Case{784, 10}, Case{5, 17}, Case{3, 8}, Case{2, 3}, Case{7, 1}, Case{9, 13},
                 Case{100, 3}, Case{50, 13}, Case{64, 1}, Case{33, 6}, Case{31, 12},
                 Case{20, 15}, Case{300, 300}}) {
    for (bool ta : {false, true}) {
      for (bool tb : {false, true}) {
        SCOPED_TRACE(absl::StrCat(c.m, "x", c.n, " ta=", ta, " tb=", tb));
        Tensor a = RandomTensor(ta ? TensorShape({1, c.m}) : TensorShape({c.m, 1}), 5);
        const Tensor b = RandomTensor(tb ? TensorShape({c.n, 1}) : TensorShape({1, c.n}), 6);
        Tensor v0 = RandomTensor({c.m, c.n}, 7);
        float* pa = static_cast<float*>(a.data());
        pa[0] = -0.0f;  // -0 products: their sum with the matmul's +0 start is +0.
        float* pv = static_cast<float*>(v0.data());
        pv[0] = -0.0f;  // -0 + (+0 * -alpha) = -0; a -0 product kept would give +0.
        Scope root = Scope::NewRootScope();
        auto v = ops::Variable(root.WithOpName("v"), {c.m, c.n}, DT_FLOAT);
        auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
        absl::StatusOr<Node*> update = AddGradientDescentMatMul(
            root, v, ops::Const(root, 0.375f), x, ops::Const(root, b), ta, tb);
        ASSERT_TRUE(update.ok()) << update.status();
        std::unique_ptr<Session> session = SessionWithVariable(root, v0);
        ASSERT_NE(session, nullptr);
        ASSERT_TRUE(session->Run({{x, a}}, {}, {Operation(*update)}, nullptr).ok());
        const float* pb = static_cast<const float*>(b.data());
        const float* got =
            static_cast<const float*>(session->variables()->Find("v")->value.data());
        int mismatches = 0;
        for (int64_t i = 0; i < c.m; ++i) {
          for (int64_t j = 0; j < c.n; ++j) {
            volatile float product = pa[i] * pb[j];
            volatile float scaled =
                (product == 0.0f ? 0.0f : static_cast<float>(product)) * -0.375f;
            const float expected = pv[i * c.n + j] + scaled;
            const float g = got[i * c.n + j];
            mismatches += g != expected || std::signbit(g) != std::signbit(expected);
          }
        }
        EXPECT_EQ(mismatches, 0);
      }
    }
  }
}

TEST(ApplyGradientDescentMatMul, LeavesEarlierReadsOfTheVariableUnchanged) {
  // v -= 0.5 * v^T v reads v itself: the product must use the old value, and so must a value
  // fetched before the update.
  Scope root = Scope::NewRootScope();
  const Tensor v0 = RandomTensor({3, 3}, 1);
  auto v = ops::Variable(root.WithOpName("v"), {3, 3}, DT_FLOAT);
  auto read = ops::Identity(root.WithOpName("read"), v);
  absl::StatusOr<Node*> update =
      AddGradientDescentMatMul(root, v, ops::Const(root, 0.5f), read, read, true, false);
  ASSERT_TRUE(update.ok()) << update.status();
  std::unique_ptr<Session> session = SessionWithVariable(root, v0);
  ASSERT_NE(session, nullptr);
  std::vector<Tensor> before;
  ASSERT_TRUE(session->Run({}, {read}, {}, &before).ok());
  ASSERT_TRUE(session->Run({}, {}, {Operation(*update)}, nullptr).ok());
  ExpectTensorNear(session->variables()->Find("v")->value, {3, 3},
                   GradientDescentRef(v0, 0.5f, v0, v0, true, false), 1e-5f);
  ExpectTensorNear(before[0], {3, 3}, v0.flat<float>());
}

TEST(ApplyGradientDescentMatMul, WithAnEmptyInnerDimensionLeavesTheVariableAsItIs) {
  Scope root = Scope::NewRootScope();
  const Tensor v0 = RandomTensor({2, 3}, 1);
  auto v = ops::Variable(root.WithOpName("v"), {2, 3}, DT_FLOAT);
  absl::StatusOr<Node*> update = AddGradientDescentMatMul(
      root, v, ops::Const(root, 0.5f), ops::Const(root, Tensor(DT_FLOAT, TensorShape({2, 0}))),
      ops::Const(root, Tensor(DT_FLOAT, TensorShape({0, 3}))), false, false);
  ASSERT_TRUE(update.ok()) << update.status();
  std::unique_ptr<Session> session = SessionWithVariable(root, v0);
  ASSERT_NE(session, nullptr);
  ASSERT_TRUE(session->Run({}, {}, {Operation(*update)}, nullptr).ok());
  ExpectTensorNear(session->variables()->Find("v")->value, {2, 3}, v0.flat<float>());
}

TEST(ApplyGradientDescentMatMul, RejectsAProductOfAnotherShapeOrAnUninitializedVariable) {
  Scope root = Scope::NewRootScope();
  auto v = ops::Variable(root.WithOpName("v"), {-1, -1}, DT_FLOAT);
  auto a = ops::Placeholder(root.WithOpName("a"), DT_FLOAT);
  absl::StatusOr<Node*> update = AddGradientDescentMatMul(
      root, v, ops::Const(root, 0.5f), a, ops::Const(root, RandomTensor({3, 2}, 1)), false, false);
  ASSERT_TRUE(update.ok()) << update.status();
  // Graph-time: the product [*, 2] cannot be a [4, 4] variable.
  auto fixed = ops::Variable(root.WithOpName("fixed"), {4, 4}, DT_FLOAT);
  absl::StatusOr<Node*> bad = AddGradientDescentMatMul(
      root, fixed, ops::Const(root, 0.5f), a, ops::Const(root, RandomTensor({3, 2}, 1)), false,
      false);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("does not match var of shape [4,4]"));

  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(root, test::Unoptimized());
  ASSERT_TRUE(session.ok()) << session.status();
  absl::Status s =
      (*session)->Run({{a, RandomTensor({5, 3}, 2)}}, {}, {Operation(*update)}, nullptr);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("uninitialized variable v"));
  (*session)->variables()->LookupOrCreate("v")->Set(RandomTensor({4, 4}, 3));
  s = (*session)->Run({{a, RandomTensor({5, 3}, 2)}}, {}, {Operation(*update)}, nullptr);
  EXPECT_THAT(s.message(), HasSubstr("'update'"));
  EXPECT_THAT(s.message(), HasSubstr("the product of shape [5,2] does not match variable v"));
}

// ---------------------------------------------------------------------------------------------
// _SoftmaxGrad.

TEST(SoftmaxGrad, MatchesTheFormulaInTwoAndThreeDimensions) {
  // Up to 256 elements a loop, past that oneDNN.
  for (const TensorShape& shape :
       {TensorShape({4, 7}), TensorShape({2, 3, 5}), TensorShape({1, 10}), TensorShape({30, 11})}) {
    SCOPED_TRACE(shape.DebugString());
    Scope root = Scope::NewRootScope();
    const Tensor g = RandomTensor(shape, 1);
    const Tensor x = RandomTensor(shape, 2, -3.f, 3.f);
    auto gp = ops::Placeholder(root.WithOpName("g"), DT_FLOAT);
    auto xp = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
    auto y = ops::Softmax(root, xp);
    NodeBuilder builder("grad", "_SoftmaxGrad");
    builder.Input(gp).Input(y);
    absl::StatusOr<Node*> grad = builder.Finalize(root.graph());
    ASSERT_TRUE(grad.ok()) << grad.status();
    absl::StatusOr<std::vector<Tensor>> out =
        test::RunGraph(root, {{gp, g}, {xp, x}}, {Output(*grad), y});
    ASSERT_TRUE(out.ok()) << out.status();
    ExpectTensorNear((*out)[0], shape, SoftmaxGradRef(g, (*out)[1]), 1e-5f);
  }
}

TEST(SoftmaxGrad, RejectsGradientsOfAnotherShapeNamingTheNode) {
  Scope root = Scope::NewRootScope();
  NodeBuilder builder("grad", "_SoftmaxGrad");
  builder.Input(ops::Const(root, RandomTensor({2, 3}, 1)))
      .Input(ops::Const(root, RandomTensor({2, 4}, 2)));
  absl::StatusOr<Node*> grad = builder.Finalize(root.graph());
  ASSERT_FALSE(grad.ok());
  EXPECT_THAT(grad.status().message(), HasSubstr("'grad'"));
  EXPECT_THAT(grad.status().message(), HasSubstr("do not match the softmax of shape [2,4]"));
}

// ---------------------------------------------------------------------------------------------
// _FusedBinary.

absl::StatusOr<Node*> AddFusedBinary(const Scope& root, const std::vector<std::string>& fused_ops,
                                     const std::vector<Output>& args) {
  NodeBuilder builder("chain", "_FusedBinary");
  builder.Input(args).Attr("fused_ops", MakeStringListAttr(fused_ops));
  return builder.Finalize(root.graph());
}

// Element i of a rank-3 `result` read from a tensor that broadcasts into it (numpy rules).
double Broadcast(const Tensor& t, const TensorShape& result, int64_t i) {
  const int offset = 3 - t.dims();
  for (int d = 0; d < t.dims(); ++d) {
    const int64_t size = t.dim_size(d);
    EXPECT_TRUE(size == 1 || size == result.dim_size(d + offset));
  }
  return t.flat<float>()[test::BroadcastSource(test::Unravel(i, result), t.shape())];
}

// [2, 3, 4] takes the kernel's loop (up to 256 elements), [20, 30, 4] its oneDNN primitive.
TEST(FusedBinary, ChainsAddSubMulAndDivWithBroadcastOperands) {
  for (const TensorShape& shape : {TensorShape({2, 3, 4}), TensorShape({20, 30, 4})}) {
    SCOPED_TRACE(shape.DebugString());
    const int64_t d0 = shape.dim_size(0), d1 = shape.dim_size(1), d2 = shape.dim_size(2);
    Scope root = Scope::NewRootScope();
    const Tensor a = RandomTensor(shape, 1);
    const Tensor b = RandomTensor({d2}, 2);
    const Tensor c = RandomTensor({d0, 1, d2}, 3);
    const Tensor d = test::FloatTensor({}, {1.5f});
    const Tensor e = RandomTensor({d1, 1}, 4, 0.5f, 2.f);
    const Tensor f = RandomTensor(shape, 5);
    std::vector<Output> args;
    for (const Tensor* t : {&a, &b, &c, &d, &e, &f}) args.push_back(ops::Const(root, *t));
    absl::StatusOr<Node*> chain =
        AddFusedBinary(root, {"Add", "Sub", "Mul", "RealDiv", "AddV2"}, args);
    ASSERT_TRUE(chain.ok()) << chain.status();
    absl::StatusOr<Tensor> out = RunOne(root, Output(*chain), {}, test::Unoptimized());
    ASSERT_TRUE(out.ok()) << out.status();
    const int64_t n = shape.num_elements();
    std::vector<float> expected(n);
    for (int64_t i = 0; i < n; ++i) {
      const double v = ((Broadcast(a, shape, i) + Broadcast(b, shape, i) -
                         Broadcast(c, shape, i)) *
                        Broadcast(d, shape, i)) /
                           Broadcast(e, shape, i) +
                       Broadcast(f, shape, i);
      expected[i] = static_cast<float>(v);
    }
    ExpectTensorNear(*out, shape, expected, 1e-5f);
  }
}

TEST(FusedBinary, RejectsAnOperandThatWouldGrowTheResultOrAnOpItCannotChain) {
  Scope root = Scope::NewRootScope();
  auto small = ops::Const(root, RandomTensor({3}, 1));
  auto big = ops::Const(root, RandomTensor({2, 3}, 2));
  absl::StatusOr<Node*> grows = AddFusedBinary(root, {"Mul", "Add"}, {small, small, big});
  ASSERT_FALSE(grows.ok());
  EXPECT_THAT(grows.status().message(), HasSubstr("does not broadcast into the result's shape"));
  absl::StatusOr<Node*> maximum = AddFusedBinary(root, {"Mul", "Maximum"}, {big, big, small});
  ASSERT_FALSE(maximum.ok());
  EXPECT_THAT(maximum.status().message(), HasSubstr("fused_ops holds Maximum"));
  // At run time too, for shapes only known then.
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
  absl::StatusOr<Node*> chain = AddFusedBinary(root, {"Mul", "Add"}, {small, small, x});
  ASSERT_TRUE(chain.ok()) << chain.status();
  absl::StatusOr<Tensor> out =
      RunOne(root, Output(*chain), {{x, RandomTensor({2, 3}, 3)}}, test::Unoptimized());
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(out.status().message(), HasSubstr("'chain'"));
  EXPECT_THAT(out.status().message(), HasSubstr("input 2 of shape [2,3] does not broadcast"));
}

}  // namespace
}  // namespace dflow
