// The graph optimizer's convolution rewrites (runtime/fusion.cc): an inference batch norm, or its
// Mul/Add form, folded into a Const filter and a bias; activations fused as oneDNN post-ops. Each
// rewrite is checked three ways: the node it becomes, the unrewritten graph's result (separate
// Sessions) and a plain-loop reference written here from TensorFlow's definitions.
#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "ops/standard_ops.h"
#include "runtime/graph_optimizer.h"
#include "runtime/session.h"
#include "tests/optimizer_test_util.h"
#include "tests/test_util.h"

namespace dflow {
namespace test {
namespace {

constexpr int64_t kN = 2, kH = 7, kW = 6, kC = 3;

// TensorFlow's SAME padding before the first row/column: half the total, rounded down.
int64_t PadBefore(int64_t in, int64_t k, int64_t stride, int64_t out) {
  return std::max<int64_t>((out - 1) * stride + k - in, 0) / 2;
}

// out[n, y, x, o] of a SAME, stride-`s` convolution of NHWC `x` with the [kh, kw, ci, co] filter
// (or, when `depthwise`, [kh, kw, c, m] with output channel c * m + j), by definition.
std::vector<float> ConvReference(const Tensor& x, const Tensor& w, int64_t s, bool depthwise,
                                 int64_t* oh, int64_t* ow, int64_t* oc) {
  const int64_t n = x.dim_size(0), h = x.dim_size(1), wd = x.dim_size(2), c = x.dim_size(3);
  const int64_t kh = w.dim_size(0), kw = w.dim_size(1), d3 = w.dim_size(3);
  *oh = (h + s - 1) / s;
  *ow = (wd + s - 1) / s;
  *oc = depthwise ? c * d3 : d3;
  const int64_t pt = PadBefore(h, kh, s, *oh), pl = PadBefore(wd, kw, s, *ow);
  auto X = x.flat<float>();
  auto W = w.flat<float>();
  std::vector<float> out(n * *oh * *ow * *oc, 0.f);
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t y = 0; y < *oh; ++y) {
      for (int64_t xo = 0; xo < *ow; ++xo) {
        for (int64_t o = 0; o < *oc; ++o) {
          double sum = 0;
          for (int64_t i = 0; i < kh; ++i) {
            for (int64_t j = 0; j < kw; ++j) {
              const int64_t yi = y * s + i - pt, xi = xo * s + j - pl;
              if (yi < 0 || yi >= h || xi < 0 || xi >= wd) continue;
              const float* px = &X[((b * h + yi) * wd + xi) * c];
              if (depthwise) {
                const int64_t ci = o / d3, m = o % d3;
                sum += px[ci] * W[((i * kw + j) * c + ci) * d3 + m];
              } else {
                for (int64_t ci = 0; ci < c; ++ci) {
                  sum += px[ci] * W[((i * kw + j) * c + ci) * d3 + o];
                }
              }
            }
          }
          out[((b * *oh + y) * *ow + xo) * *oc + o] = static_cast<float>(sum);
        }
      }
    }
  }
  return out;
}

// The values of `t`, each within 2e-5 + 2e-4 relative of `expected`.
void ExpectNear(const Tensor& t, const std::vector<float>& expected) {
  auto v = t.flat<float>();
  ASSERT_EQ(v.size(), expected.size());
  for (size_t i = 0; i < v.size(); ++i) {
    ASSERT_NEAR(v[i], expected[i], 2e-5 + 2e-4 * std::fabs(expected[i])) << "at " << i;
  }
}

// Runs `y` of the optimized graph (fusion on) and returns its value.
Tensor RunOptimized(const Scope& root, const std::vector<std::pair<Output, Tensor>>& feeds,
                    const Output& y) {
  absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(root);
  EXPECT_TRUE(s.ok()) << s.status();
  if (!s.ok()) return Tensor();
  std::vector<Tensor> out;
  absl::Status st = (*s)->Run(feeds, {y}, {}, &out);
  EXPECT_TRUE(st.ok()) << st;
  return out.empty() ? Tensor() : out[0];
}

std::vector<std::string> FusedOpsOf(const Node& n) {
  std::vector<std::string> fused_ops;
  EXPECT_TRUE(GetAttr(n.attrs(), "fused_ops", &fused_ops).ok());
  return fused_ops;
}

TEST(ConvFold, AnInferenceBatchNormAndRelu6FoldIntoOneFusedConv2D) {
  Scope root = Scope::NewRootScope();
  const int64_t co = 4;
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT,
                            ops::Placeholder::Shape({-1, kH, kW, kC}));
  const Tensor w = RandomTensor({3, 3, kC, co}, 1);
  const Tensor gamma = RandomTensor({co}, 2, 0.5f, 2.f), beta = RandomTensor({co}, 3);
  const Tensor mean = RandomTensor({co}, 4), var = RandomTensor({co}, 5, 0.1f, 2.f);
  auto conv = ops::Conv2D(root, x, ops::Const(root, w), {1, 2, 2, 1}, "SAME");
  ops::FusedBatchNormV3 bn(root, conv, ops::Const(root, gamma), ops::Const(root, beta),
                           ops::Const(root, mean), ops::Const(root, var),
                           ops::FusedBatchNormAttrs().IsTraining(false).Epsilon(1e-3f));
  auto y = ops::Relu6(root.WithOpName("y"), bn.y);
  const Tensor input = RandomTensor({kN, kH, kW, kC}, 6, -3.f, 3.f);
  OptimizedGraph opt = RunBothAndCompare(*root.graph(), {{x, input}}, {y}, {}, 1e-4f);
  ASSERT_NE(opt.graph, nullptr);
  EXPECT_EQ(CountOps(*opt.graph, "_FusedConv2D"), 1);
  EXPECT_EQ(CountOps(*opt.graph, "FusedBatchNormV3"), 0);
  EXPECT_EQ(CountOps(*opt.graph, "Relu6"), 0);
  EXPECT_EQ(FusedOpsOf(*opt.signature.fetches[0].node()),
            (std::vector<std::string>{"BiasAdd", "Relu6"}));

  int64_t oh, ow, oc;
  std::vector<float> ref = ConvReference(input, w, 2, false, &oh, &ow, &oc);
  for (size_t i = 0; i < ref.size(); ++i) {
    const int64_t c = i % oc;
    const float g = gamma.flat<float>()[c], b = beta.flat<float>()[c];
    const float m = mean.flat<float>()[c], v = var.flat<float>()[c];
    ref[i] = std::min(std::max((ref[i] - m) / std::sqrt(v + 1e-3f) * g + b, 0.f), 6.f);
  }
  ExpectNear(RunOptimized(root, {{x, input}}, y), ref);
}

// MobileNet v1 as "TensorFlow for Poets" froze it: batch norm as x * a + b with Const a, b.
TEST(ConvFold, ADepthwiseConvolutionsMulAddBatchNormFoldsIntoItsFilter) {
  Scope root = Scope::NewRootScope();
  const int64_t m = 2, oc = kC * m;
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT,
                            ops::Placeholder::Shape({-1, kH, kW, kC}));
  const Tensor w = RandomTensor({3, 3, kC, m}, 7);
  const Tensor a = RandomTensor({oc}, 8, 0.5f, 2.f), b = RandomTensor({oc}, 9);
  auto conv = ops::DepthwiseConv2dNative(root, x, ops::Const(root, w), {1, 1, 1, 1}, "SAME");
  auto scaled = ops::Mul(root, conv, ops::Const(root, a));
  auto y = ops::Relu6(root.WithOpName("y"), ops::Add(root, scaled, ops::Const(root, b)));
  const Tensor input = RandomTensor({kN, kH, kW, kC}, 10, -3.f, 3.f);
  OptimizedGraph opt = RunBothAndCompare(*root.graph(), {{x, input}}, {y}, {}, 1e-4f);
  ASSERT_NE(opt.graph, nullptr);
  EXPECT_EQ(CountOps(*opt.graph, "_FusedDepthwiseConv2dNative"), 1);
  EXPECT_EQ(CountOps(*opt.graph, "Mul"), 0);
  EXPECT_EQ(CountOps(*opt.graph, "Add"), 0);

  int64_t oh, ow, c;
  std::vector<float> ref = ConvReference(input, w, 1, true, &oh, &ow, &c);
  for (size_t i = 0; i < ref.size(); ++i) {
    const int64_t ch = i % oc;
    ref[i] = std::min(std::max(ref[i] * a.flat<float>()[ch] + b.flat<float>()[ch], 0.f), 6.f);
  }
  ExpectNear(RunOptimized(root, {{x, input}}, y), ref);
}

// A bias, a scalar Mul and a Sub fold in order: ((conv + bias) * k - d), then Elu.
TEST(ConvFold, BiasScalarMulAndSubFoldInOrder) {
  Scope root = Scope::NewRootScope();
  const int64_t co = 5;
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT,
                            ops::Placeholder::Shape({-1, kH, kW, kC}));
  const Tensor w = RandomTensor({1, 2, kC, co}, 11);
  const Tensor bias = RandomTensor({co}, 12), d = RandomTensor({1, 1, 1, co}, 13);
  auto conv = ops::Conv2D(root, x, ops::Const(root, w), {1, 1, 1, 1}, "SAME");
  auto biased = ops::BiasAdd(root, conv, ops::Const(root, bias));
  auto scaled = ops::Mul(root, ops::Const(root, Tensor::Scalar<float>(-1.5f)), biased);
  auto y = ops::Elu(root.WithOpName("y"), ops::Sub(root, scaled, ops::Const(root, d)));
  const Tensor input = RandomTensor({kN, kH, kW, kC}, 14);
  OptimizedGraph opt = RunBothAndCompare(*root.graph(), {{x, input}}, {y}, {}, 1e-4f);
  ASSERT_NE(opt.graph, nullptr);
  EXPECT_EQ(CountOps(*opt.graph, "_FusedConv2D"), 1);
  EXPECT_EQ(opt.graph->num_nodes(), 4);  // x, the folded filter and bias, the fused node.

  int64_t oh, ow, oc;
  std::vector<float> ref = ConvReference(input, w, 1, false, &oh, &ow, &oc);
  for (size_t i = 0; i < ref.size(); ++i) {
    const int64_t c = i % oc;
    const float v = (ref[i] + bias.flat<float>()[c]) * -1.5f - d.flat<float>()[c];
    ref[i] = v < 0 ? std::expm1(v) : v;
  }
  ExpectNear(RunOptimized(root, {{x, input}}, y), ref);
}

// Each activation after a bias, on a filter that is fed (so nothing folds), in all three ops.
TEST(ConvFold, EachActivationIsAPostOpOfMatMulConvAndDepthwise) {
  struct Case {
    std::string op;
    std::function<Output(const Scope&, Output)> build;
    std::function<float(float)> ref;
  };
  const std::vector<Case> cases = {
      {"Relu", [](const Scope& s, Output v) { return ops::Relu(s, v); },
       [](float v) { return std::max(v, 0.f); }},
      {"Relu6", [](const Scope& s, Output v) { return ops::Relu6(s, v); },
       [](float v) { return std::min(std::max(v, 0.f), 6.f); }},
      {"Elu", [](const Scope& s, Output v) { return ops::Elu(s, v); },
       [](float v) { return v < 0 ? std::expm1(v) : v; }},
      {"LeakyRelu",
       [](const Scope& s, Output v) { return ops::LeakyRelu(s, v, ops::LeakyRelu::Alpha(0.3f)); },
       [](float v) { return v < 0 ? 0.3f * v : v; }},
      {"Tanh", [](const Scope& s, Output v) { return ops::Tanh(s, v); },
       [](float v) { return std::tanh(v); }},
      {"Sigmoid", [](const Scope& s, Output v) { return ops::Sigmoid(s, v); },
       [](float v) { return 1.f / (1.f + std::exp(-v)); }},
  };
  for (const Case& c : cases) {
    for (const std::string base : {"MatMul", "Conv2D", "DepthwiseConv2dNative"}) {
      SCOPED_TRACE(base + " + BiasAdd + " + c.op);
      Scope root = Scope::NewRootScope();
      const bool matmul = base == "MatMul";
      const TensorShape in_shape = matmul ? TensorShape({4, 6}) : TensorShape({kN, kH, kW, kC});
      const TensorShape w_shape = matmul                  ? TensorShape({6, 3})
                                  : base == "Conv2D" ? TensorShape({2, 2, kC, 3})
                                                          : TensorShape({2, 2, kC, 1});
      const int64_t channels = base == "DepthwiseConv2dNative" ? kC : 3;
      auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
      auto w = ops::Placeholder(root.WithOpName("w"), DT_FLOAT);
      Output product = matmul ? ops::MatMul(root, x, w)
                       : base == "Conv2D"
                           ? Output(ops::Conv2D(root, x, w, {1, 2, 2, 1}, "SAME"))
                           : Output(ops::DepthwiseConv2dNative(root, x, w, {1, 2, 2, 1}, "SAME"));
      const Tensor bias = RandomTensor({channels}, 15);
      auto y = c.build(root.WithOpName("y"), ops::BiasAdd(root, product, ops::Const(root, bias)));
      const Tensor input = RandomTensor(in_shape, 16, -3.f, 3.f);
      const Tensor filter = RandomTensor(w_shape, 17);
      OptimizedGraph opt = RunBothAndCompare(*root.graph(), {{x, input}, {w, filter}}, {y}, {}, 1e-4f);
      ASSERT_NE(opt.graph, nullptr);
      const Node& fused = *opt.signature.fetches[0].node();
      EXPECT_EQ(fused.op(), "_Fused" + base);
      EXPECT_EQ(FusedOpsOf(fused), (std::vector<std::string>{"BiasAdd", c.op}));

      std::vector<float> ref;
      if (matmul) {
        for (int64_t i = 0; i < 4; ++i) {
          for (int64_t j = 0; j < 3; ++j) {
            double sum = 0;
            for (int64_t k = 0; k < 6; ++k) {
              sum += input.flat<float>()[i * 6 + k] * filter.flat<float>()[k * 3 + j];
            }
            ref.push_back(static_cast<float>(sum));
          }
        }
      } else {
        int64_t oh, ow, oc;
        ref = ConvReference(input, filter, 2, !matmul && base != "Conv2D", &oh, &ow, &oc);
      }
      for (size_t i = 0; i < ref.size(); ++i) {
        ref[i] = c.ref(ref[i] + bias.flat<float>()[i % channels]);
      }
      ExpectNear(RunOptimized(root, {{x, input}, {w, filter}}, y), ref);
    }
  }
}

// What must not fold: a training batch norm, one whose batch mean is fetched, a Mul by a fed
// tensor, a Mul by a Const that does not broadcast per channel.
TEST(ConvFold, OnlyConstPerChannelInferenceAffinesFold) {
  const Tensor input = RandomTensor({kN, kH, kW, kC}, 18);
  const Tensor w = RandomTensor({3, 3, kC, 2}, 19);
  const Tensor p = RandomTensor({2}, 20, 0.5f, 1.5f);
  for (int variant = 0; variant < 4; ++variant) {
    SCOPED_TRACE(variant);
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT,
                              ops::Placeholder::Shape({kN, kH, kW, kC}));
    auto conv = ops::Conv2D(root, x, ops::Const(root, w), {1, 1, 1, 1}, "SAME");
    std::vector<Output> fetches;
    std::vector<std::pair<Output, Tensor>> feeds = {{x, input}};
    if (variant <= 1) {
      ops::FusedBatchNorm bn(root, conv, ops::Const(root, p), ops::Const(root, p),
                             ops::Const(root, p), ops::Const(root, p),
                             ops::FusedBatchNormAttrs().IsTraining(variant == 0));
      fetches = {bn.y};
      if (variant == 1) fetches.push_back(bn.batch_mean);
    } else if (variant == 2) {
      auto k = ops::Placeholder(root.WithOpName("k"), DT_FLOAT);
      feeds.push_back({k, p});
      fetches = {ops::Mul(root, conv, k)};
    } else {
      fetches = {ops::Mul(root, conv, ops::Const(root, RandomTensor({kW, 2}, 21)))};
    }
    OptimizedGraph opt = RunBothAndCompare(*root.graph(), feeds, fetches, {}, 1e-4f);
    ASSERT_NE(opt.graph, nullptr);
    EXPECT_EQ(CountOps(*opt.graph, "_FusedConv2D"), 0);
    EXPECT_EQ(CountOps(*opt.graph, "Conv2D"), 1);
  }
}

// A fed filter with no input channels: the fused result is the activated bias everywhere.
TEST(ConvFold, AnEmptyProductGivesTheActivatedBias) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
  auto w = ops::Placeholder(root.WithOpName("w"), DT_FLOAT);
  const Tensor bias = RandomTensor({3}, 22, -2.f, 2.f);
  auto y = ops::Sigmoid(root.WithOpName("y"),
                        ops::BiasAdd(root, ops::Conv2D(root, x, w, {1, 1, 1, 1}, "SAME"),
                                     ops::Const(root, bias)));
  const Tensor input = RandomTensor({1, 2, 2, 0}, 23);
  const Tensor filter = RandomTensor({1, 1, 0, 3}, 24);
  OptimizedGraph opt = RunBothAndCompare(root, {{x, input}, {w, filter}}, {y});
  ASSERT_NE(opt.graph, nullptr);
  EXPECT_EQ(opt.signature.fetches[0].node()->op(), "_FusedConv2D");
  std::vector<float> ref;
  for (int i = 0; i < 4 * 3; ++i) ref.push_back(1.f / (1.f + std::exp(-bias.flat<float>()[i % 3])));
  ExpectNear(RunOptimized(root, {{x, input}, {w, filter}}, y), ref);
}

}  // namespace
}  // namespace test
}  // namespace dflow
