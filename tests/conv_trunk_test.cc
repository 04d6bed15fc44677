// The graph optimizer's convolution trunks (runtime/conv_trunk.cc, kernels/conv_trunk_kernels.cc):
// chains of NHWC convolutions, poolings and activations become one _DflowConvTrunk node, whose
// result must equal the unrewritten graph's (the nodes as they are, and the optimized graph with
// conv_trunks off), and in one case a plain-loop reference written here from TensorFlow's
// definitions. Tolerances allow for oneDNN summing in another order in the blocked layouts.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "graph/graph_def_io.h"
#include "kernels/dnnl_util.h"
#include "gtest/gtest.h"
#include "ops/graph_import.h"
#include "ops/node_builder.h"
#include "ops/standard_ops.h"
#include "runtime/graph_optimizer.h"
#include "runtime/session.h"
#include "runtime/thread_policy.h"
#include "tests/optimizer_test_util.h"
#include "tests/test_util.h"
#include "tools/tensor_io.h"

namespace dflow {
namespace test {
namespace {

constexpr float kTol = 1e-5f;

GraphOptimizerOptions NoTrunks() {
  GraphOptimizerOptions o;
  o.conv_trunks = false;
  return o;
}

// The graph optimized with and without trunks, both run on `feeds`: equal within kTol, and the
// optimized graph (with trunks) for assertions on its nodes. Also checks the unoptimized graph.
OptimizedGraph CompareWithAndWithoutTrunks(const Graph& graph,
                                           const std::vector<std::pair<Output, Tensor>>& feeds,
                                           const std::vector<Output>& fetches) {
  RunBothAndCompare(graph, feeds, fetches, NoTrunks(), kTol);
  return RunBothAndCompare(graph, feeds, fetches, {}, kTol);
}

Output Filter(const Scope& root, int64_t kh, int64_t kw, int64_t ci, int64_t co, uint64_t seed) {
  return ops::Const(root, RandomTensor({kh, kw, ci, co}, seed, -0.5f, 0.5f));
}

Output Bias(const Scope& root, int64_t c, uint64_t seed) {
  return ops::Const(root, RandomTensor({c}, seed));
}

struct ChainCase {
  int64_t batch;
  std::string padding;
  int64_t stride;
};

class ConvTrunkChain : public ::testing::TestWithParam<ChainCase> {};

// conv(+bias, Relu) -> MaxPool -> depthwise(+bias, Relu6) -> 1x1 conv -> Relu -> AvgPool -> Elu
// (a stage of its own) -> conv (no bias, Tanh), on an odd-sized image with odd channel counts.
TEST_P(ConvTrunkChain, EqualsTheUnrewrittenGraph) {
  const ChainCase& p = GetParam();
  Scope root = Scope::NewRootScope();
  const int64_t h = 31, w = 25, c = 5;
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({-1, h, w, c}));
  const std::vector<int64_t> s = {1, p.stride, p.stride, 1};
  auto c1 = ops::Relu(root, ops::BiasAdd(root, ops::Conv2D(root, x, Filter(root, 3, 3, c, 7, 1),
                                                           s, p.padding),
                                         Bias(root, 7, 2)));
  auto pool = ops::MaxPool(root, c1, {1, 3, 3, 1}, {1, 2, 2, 1}, p.padding);
  auto dw = ops::Relu6(root, ops::BiasAdd(root, ops::DepthwiseConv2dNative(
                                                    root, pool, Filter(root, 3, 3, 7, 2, 3),
                                                    {1, 1, 1, 1}, p.padding),
                                          Bias(root, 14, 4)));
  auto pw = ops::Relu(root, ops::Conv2D(root, dw, Filter(root, 1, 1, 14, 9, 5), {1, 1, 1, 1},
                                        "VALID"));
  auto avg = ops::Elu(root, ops::AvgPool(root, pw, {1, 2, 2, 1}, {1, 1, 1, 1}, p.padding));
  auto y = ops::Tanh(root.WithOpName("y"),
                     ops::Conv2D(root, avg, Filter(root, 2, 3, 9, 11, 6), {1, 1, 1, 1}, "SAME"));
  ASSERT_TRUE(root.ok()) << root.status();
  const Tensor input = RandomTensor({p.batch, h, w, c}, 7, -2.f, 2.f);
  OptimizedGraph opt = CompareWithAndWithoutTrunks(*root.graph(), {{x, input}}, {y});
  ASSERT_NE(opt.graph, nullptr);
  EXPECT_EQ(CountOps(*opt.graph, "_DflowConvTrunk"), 1);
  for (const char* op : {"Conv2D", "_FusedConv2D", "DepthwiseConv2dNative",
                         "_FusedDepthwiseConv2dNative", "MaxPool", "AvgPool", "Relu", "Elu", "Tanh"}) {
    EXPECT_EQ(CountOps(*opt.graph, op), 0) << op;
  }
  EXPECT_EQ(opt.signature.fetches[0].node()->name(), "y");
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, ConvTrunkChain,
    ::testing::Values(ChainCase{1, "SAME", 1}, ChainCase{3, "SAME", 2},
                      ChainCase{1, "VALID", 2}, ChainCase{2, "VALID", 1}),
    [](const ::testing::TestParamInfo<ChainCase>& info) {
      return absl::StrCat("batch", info.param.batch, info.param.padding, "stride",
                          info.param.stride);
    });

// On a team of two, a trunk whose first stages are large and whose last are small (each step's
// team follows the size rule, kernels/conv_trunk_kernels.cc) equals the unrewritten graph.
TEST(ConvTrunk, SmallLateStagesOnTwoThreadsEqualTheUnrewrittenGraph) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({-1, 64, 64, 8}));
  auto c1 = ops::Relu(root, ops::BiasAdd(root, ops::Conv2D(root, x, Filter(root, 3, 3, 8, 16, 21),
                                                           {1, 1, 1, 1}, "SAME"),
                                         Bias(root, 16, 22)));
  auto p1 = ops::MaxPool(root, c1, {1, 2, 2, 1}, {1, 2, 2, 1}, "VALID");
  auto c2 = ops::Relu(root, ops::Conv2D(root, p1, Filter(root, 3, 3, 16, 16, 23), {1, 1, 1, 1},
                                        "SAME"));
  auto p2 = ops::MaxPool(root, c2, {1, 2, 2, 1}, {1, 2, 2, 1}, "VALID");  // 16 x 16 x 16.
  auto dw = ops::Relu6(root, ops::DepthwiseConv2dNative(root, p2, Filter(root, 3, 3, 16, 1, 24),
                                                        {1, 1, 1, 1}, "SAME"));
  auto y = ops::Conv2D(root.WithOpName("y"), dw, Filter(root, 1, 1, 16, 5, 25), {1, 1, 1, 1},
                       "VALID");
  ASSERT_TRUE(root.ok()) << root.status();
  ThreadPolicy::Global().SetContentionCheck(false);  // Two threads even on a busy machine.
  omp_set_num_threads(2);
  for (int64_t batch : {1, 2}) {
    const Tensor input = RandomTensor({batch, 64, 64, 8}, 26, -2.f, 2.f);
    OptimizedGraph opt = CompareWithAndWithoutTrunks(*root.graph(), {{x, input}}, {y});
    ASSERT_NE(opt.graph, nullptr);
    EXPECT_EQ(CountOps(*opt.graph, "_DflowConvTrunk"), 1);
  }
  omp_set_num_threads(1);
  ThreadPolicy::Global().SetContentionCheck(true);
}

// out[n, y, x, o] of a stride-1 SAME convolution with a [3, 3, ci, co] filter, by definition.
std::vector<float> Conv3x3Same(const std::vector<float>& in, int64_t n, int64_t h, int64_t w,
                               int64_t ci, const Tensor& filter, int64_t co) {
  auto f = filter.flat<float>();
  std::vector<float> out(n * h * w * co, 0.f);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t y = 0; y < h; ++y)
      for (int64_t xo = 0; xo < w; ++xo)
        for (int64_t o = 0; o < co; ++o) {
          double sum = 0;
          for (int64_t i = 0; i < 3; ++i)
            for (int64_t j = 0; j < 3; ++j) {
              const int64_t yi = y + i - 1, xi = xo + j - 1;
              if (yi < 0 || yi >= h || xi < 0 || xi >= w) continue;
              for (int64_t k = 0; k < ci; ++k) {
                sum += in[((b * h + yi) * w + xi) * ci + k] * f[((i * 3 + j) * ci + k) * co + o];
              }
            }
          out[((b * h + y) * w + xo) * co + o] = static_cast<float>(sum);
        }
  return out;
}

// Conv2D (SAME) -> Relu -> MaxPool 2x2 stride 2 (VALID) -> Conv2D (SAME), against plain loops.
TEST(ConvTrunk, MatchesAPlainLoopReference) {
  Scope root = Scope::NewRootScope();
  const int64_t n = 2, h = 9, w = 7, c = 3, c1 = 6, c2 = 4;
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({n, h, w, c}));
  const Tensor w1 = RandomTensor({3, 3, c, c1}, 11), w2 = RandomTensor({3, 3, c1, c2}, 12);
  auto r = ops::Relu(root, ops::Conv2D(root, x, ops::Const(root, w1), {1, 1, 1, 1}, "SAME"));
  auto p = ops::MaxPool(root, r, {1, 2, 2, 1}, {1, 2, 2, 1}, "VALID");
  auto y = ops::Conv2D(root.WithOpName("y"), p, ops::Const(root, w2), {1, 1, 1, 1}, "SAME");
  const Tensor input = RandomTensor({n, h, w, c}, 13, -2.f, 2.f);
  OptimizedGraph opt = CompareWithAndWithoutTrunks(*root.graph(), {{x, input}}, {y});
  ASSERT_NE(opt.graph, nullptr);
  ASSERT_EQ(CountOps(*opt.graph, "_DflowConvTrunk"), 1);

  auto in = input.flat<float>();
  std::vector<float> a = Conv3x3Same({in.begin(), in.end()}, n, h, w, c, w1, c1);
  for (float& v : a) v = std::max(v, 0.f);
  const int64_t ph = h / 2, pw = w / 2;
  std::vector<float> pooled(n * ph * pw * c1, -std::numeric_limits<float>::infinity());
  for (int64_t b = 0; b < n; ++b)
    for (int64_t y0 = 0; y0 < ph * 2; ++y0)
      for (int64_t x0 = 0; x0 < pw * 2; ++x0)
        for (int64_t k = 0; k < c1; ++k) {
          float& m = pooled[((b * ph + y0 / 2) * pw + x0 / 2) * c1 + k];
          m = std::max(m, a[((b * h + y0) * w + x0) * c1 + k]);
        }
  const std::vector<float> ref = Conv3x3Same(pooled, n, ph, pw, c1, w2, c2);

  absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(*opt.graph, Unoptimized());
  ASSERT_TRUE(s.ok()) << s.status();
  std::vector<Tensor> out;
  ASSERT_TRUE((*s)->Run({{opt.signature.feeds[0], input}}, opt.signature.fetches, {}, &out).ok());
  ASSERT_EQ(out[0].shape(), TensorShape({n, ph, pw, c2}));
  auto v = out[0].flat<float>();
  for (size_t i = 0; i < ref.size(); ++i) {
    ASSERT_NEAR(v[i], ref[i], 1e-5 + 1e-5 * std::fabs(ref[i])) << "at " << i;
  }
}

// A non-trunk op (an Add of a fed tensor) splits the chain: conv -> Add -> conv -> conv makes a
// trunk of the last two only; a fetched intermediate splits it too.
TEST(ConvTrunk, ANonTrunkOpOrAFetchInterruptsTheChain) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({2, 11, 9, 4}));
  auto z = ops::Placeholder(root.WithOpName("z"), DT_FLOAT, ops::Placeholder::Shape({2, 11, 9, 6}));
  auto a = ops::Relu(root, ops::Conv2D(root, x, Filter(root, 3, 3, 4, 6, 21), {1, 1, 1, 1}, "SAME"));
  auto b = ops::Add(root, a, z);
  auto c = ops::Relu(root, ops::Conv2D(root, b, Filter(root, 3, 3, 6, 8, 22), {1, 1, 1, 1}, "SAME"));
  auto d = ops::Conv2D(root.WithOpName("d"), c, Filter(root, 3, 3, 8, 8, 23), {1, 2, 2, 1}, "SAME");
  auto e = ops::MaxPool(root, d, {1, 2, 2, 1}, {1, 2, 2, 1}, "SAME");
  auto f = ops::Conv2D(root.WithOpName("f"), e, Filter(root, 1, 1, 8, 3, 24), {1, 1, 1, 1}, "VALID");
  ASSERT_TRUE(root.ok()) << root.status();
  const std::vector<std::pair<Output, Tensor>> feeds = {
      {x, RandomTensor({2, 11, 9, 4}, 25)}, {z, RandomTensor({2, 11, 9, 6}, 26)}};
  OptimizedGraph opt = CompareWithAndWithoutTrunks(*root.graph(), feeds, {f});
  ASSERT_NE(opt.graph, nullptr);
  EXPECT_EQ(CountOps(*opt.graph, "_DflowConvTrunk"), 1);  // c, d, e, f
  EXPECT_EQ(CountOps(*opt.graph, "Conv2D"), 1);           // a, before the Add
  EXPECT_EQ(CountOps(*opt.graph, "MaxPool"), 0);

  // Fetching d as well leaves c -> d (two convolutions) and e -> f (one): one trunk, d its end.
  opt = CompareWithAndWithoutTrunks(*root.graph(), feeds, {f, d});
  ASSERT_NE(opt.graph, nullptr);
  EXPECT_EQ(CountOps(*opt.graph, "_DflowConvTrunk"), 1);
  EXPECT_EQ(opt.signature.fetches[1].node()->op(), "_DflowConvTrunk");
  EXPECT_EQ(CountOps(*opt.graph, "MaxPool"), 1);
}

// Unsupported stages fall back to the nodes as they are: a dilated depthwise convolution and a
// LeakyRelu (fused into its convolution) leave no chain of two convolutions; one convolution
// with a pooling is no trunk either.
TEST(ConvTrunk, UnsupportedStagesAndSingleConvolutionsAreLeftAlone) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({1, 12, 10, 3}));
  auto a = ops::Conv2D(root, x, Filter(root, 3, 3, 3, 4, 31), {1, 1, 1, 1}, "SAME");
  auto b = ops::DepthwiseConv2dNative(root, a, Filter(root, 3, 3, 4, 1, 32), {1, 1, 1, 1}, "SAME",
                                      ops::DepthwiseConv2dNative::Dilations({1, 2, 2, 1}));
  auto c = ops::LeakyRelu(root, ops::BiasAdd(root, ops::Conv2D(root, b, Filter(root, 3, 3, 4, 5, 33),
                                                               {1, 1, 1, 1}, "SAME"),
                                             Bias(root, 5, 34)));
  auto d = ops::Conv2D(root, c, Filter(root, 3, 3, 5, 5, 35), {1, 1, 1, 1}, "SAME");
  auto y = ops::MaxPool(root.WithOpName("y"), d, {1, 2, 2, 1}, {1, 2, 2, 1}, "VALID");
  ASSERT_TRUE(root.ok()) << root.status();
  OptimizedGraph opt =
      CompareWithAndWithoutTrunks(*root.graph(), {{x, RandomTensor({1, 12, 10, 3}, 36)}}, {y});
  ASSERT_NE(opt.graph, nullptr);
  EXPECT_EQ(CountOps(*opt.graph, "_DflowConvTrunk"), 0);
  EXPECT_EQ(CountOps(*opt.graph, "DepthwiseConv2dNative"), 1);
}

// conv_trunks = false keeps the fused nodes; fuse_ops = false disables trunks too.
TEST(ConvTrunk, TheSwitchTurnsTheRewriteOff) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({1, 8, 8, 3}));
  auto a = ops::Conv2D(root, x, Filter(root, 3, 3, 3, 4, 41), {1, 1, 1, 1}, "SAME");
  auto y = ops::Conv2D(root.WithOpName("y"), a, Filter(root, 3, 3, 4, 4, 42), {1, 1, 1, 1}, "SAME");
  const std::vector<std::pair<Output, Tensor>> feeds = {{x, RandomTensor({1, 8, 8, 3}, 43)}};
  EXPECT_EQ(CountOps(*RunBothAndCompare(*root.graph(), feeds, {y}, {}, kTol).graph,
                     "_DflowConvTrunk"), 1);
  EXPECT_EQ(CountOps(*RunBothAndCompare(*root.graph(), feeds, {y}, NoTrunks(), kTol).graph,
                     "_DflowConvTrunk"), 0);
  GraphOptimizerOptions unfused;
  unfused.fuse_ops = false;
  EXPECT_EQ(CountOps(*RunBothAndCompare(*root.graph(), feeds, {y}, unfused, kTol).graph,
                     "_DflowConvTrunk"), 0);
}


// A filter fed at run time (not immutable) is reordered into the primitive's layout each run.
TEST(ConvTrunk, AFedFilterIsReadAnewEachRun) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({2, 10, 9, 3}));
  auto f = ops::Placeholder(root.WithOpName("f"), DT_FLOAT, ops::Placeholder::Shape({3, 3, 3, 8}));
  auto a = ops::Relu(root, ops::Conv2D(root, x, f, {1, 1, 1, 1}, "SAME"));
  auto y = ops::Conv2D(root.WithOpName("y"), a, Filter(root, 3, 3, 8, 5, 51), {1, 1, 1, 1}, "SAME");
  ASSERT_TRUE(root.ok()) << root.status();
  const Tensor input = RandomTensor({2, 10, 9, 3}, 52);
  SessionOptions trunks, none;
  none.optimizer.conv_trunks = false;
  absl::StatusOr<std::unique_ptr<Session>> with = Session::Create(*root.graph(), trunks);
  absl::StatusOr<std::unique_ptr<Session>> without = Session::Create(*root.graph(), none);
  ASSERT_TRUE(with.ok() && without.ok());
  for (uint64_t seed : {53, 54, 53}) {
    const std::vector<std::pair<Output, Tensor>> feeds = {{x, input},
                                                          {f, RandomTensor({3, 3, 3, 8}, seed)}};
    std::vector<Tensor> got, want;
    ASSERT_TRUE((*with)->Run(feeds, {y}, {}, &got).ok());
    ASSERT_TRUE((*without)->Run(feeds, {y}, {}, &want).ok());
    ExpectSameTensor(got[0], want[0], kTol);
  }
  OptimizedGraph opt = RunBothAndCompare(*root.graph(), {{x, input}, {f, RandomTensor({3, 3, 3, 8}, 55)}},
                                         {y}, {}, kTol);
  ASSERT_NE(opt.graph, nullptr);
  EXPECT_EQ(CountOps(*opt.graph, "_DflowConvTrunk"), 1);
}

// Concurrent runs of one trunk, on two batch sizes (two cache entries, each leased to one run at
// a time), all equal to the unrewritten graph's results computed serially.
TEST(ConvTrunk, ConcurrentRunsGetTheirOwnBuffers) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({-1, 15, 13, 4}));
  auto a = ops::Relu6(root, ops::Conv2D(root, x, Filter(root, 3, 3, 4, 16, 61), {1, 2, 2, 1}, "SAME"));
  auto b = ops::DepthwiseConv2dNative(root, a, Filter(root, 3, 3, 16, 1, 62), {1, 1, 1, 1}, "SAME");
  auto c = ops::MaxPool(root, ops::Relu(root, b), {1, 2, 2, 1}, {1, 2, 2, 1}, "SAME");
  auto y = ops::Conv2D(root.WithOpName("y"), c, Filter(root, 1, 1, 16, 24, 63), {1, 1, 1, 1}, "VALID");
  ASSERT_TRUE(root.ok()) << root.status();
  constexpr int kInputs = 4, kThreads = 3, kRuns = 12;
  std::vector<Tensor> inputs, expected;
  SessionOptions none;
  none.optimizer.conv_trunks = false;
  absl::StatusOr<std::unique_ptr<Session>> without = Session::Create(*root.graph(), none);
  absl::StatusOr<std::unique_ptr<Session>> with = Session::Create(*root.graph());
  ASSERT_TRUE(with.ok() && without.ok());
  for (int i = 0; i < kInputs; ++i) {
    inputs.push_back(RandomTensor({i % 2 == 0 ? 1 : 3, 15, 13, 4}, 64 + i));
    std::vector<Tensor> out;
    ASSERT_TRUE((*without)->Run({{x, inputs[i]}}, {y}, {}, &out).ok());
    expected.push_back(out[0]);
  }
  std::atomic<int> mismatches{0}, failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<Tensor> out;
      for (int r = 0; r < kRuns; ++r) {
        const int i = (t + r) % kInputs;
        if (!(*with)->Run({{x, inputs[i]}}, {y}, {}, &out).ok()) {
          ++failures;
          continue;
        }
        auto got = out[0].flat<float>();
        auto want = expected[i].flat<float>();
        bool same = got.size() == want.size();
        for (size_t k = 0; same && k < got.size(); ++k) {
          same = std::fabs(got[k] - want[k]) <= kTol * (1 + std::fabs(want[k]));
        }
        if (!same) ++mismatches;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(mismatches, 0);
}

// A _DflowConvTrunk node built by hand (as a hostile GraphDef could): attrs that disagree fail
// at graph building, inputs that do not fit the stages fail the run; neither crashes.
TEST(ConvTrunk, ABadTrunkNodeIsAnError) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
  auto f = ops::Placeholder(root.WithOpName("f"), DT_FLOAT);
  auto trunk = [&](const std::string& name, std::vector<std::string> stages, int64_t num_args) {
    const std::vector<int64_t> ones(4 * stages.size(), 1);
    NodeBuilder b(name, "_DflowConvTrunk");
    b.Input(Output(x)).Input(std::vector<Output>(num_args, Output(f)));
    b.Attr("stages", MakeStringListAttr(stages));
    b.Attr("activations", MakeStringListAttr(std::vector<std::string>(stages.size())));
    b.Attr("paddings", MakeStringListAttr(std::vector<std::string>(stages.size(), "SAME")));
    b.Attr("strides", MakeAttr(absl::MakeConstSpan(ones)));
    b.Attr("ksize", MakeAttr(absl::MakeConstSpan(ones)));
    return b.Finalize(root.graph());
  };
  EXPECT_FALSE(trunk("three_args", {"Conv2D", "Conv2D"}, 3).ok());
  EXPECT_FALSE(trunk("not_a_stage", {"Conv2D", "MatMul"}, 1).ok());
  absl::StatusOr<Node*> good = trunk("good", {"Conv2D", "Relu", "Conv2D"}, 2);
  ASSERT_TRUE(good.ok()) << good.status();
  absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(*root.graph(), Unoptimized());
  ASSERT_TRUE(s.ok());
  std::vector<Tensor> out;
  // The second convolution's filter (the same 3 in-channel filter) does not fit 4 channels.
  absl::Status st = (*s)->Run({{x, RandomTensor({1, 5, 5, 3}, 71)}, {f, RandomTensor({3, 3, 3, 4}, 72)}},
                              {Output(*good, 0)}, {}, &out);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << st;
  st = (*s)->Run({{x, RandomTensor({1, 5, 5}, 73)}, {f, RandomTensor({3, 3, 3, 3}, 74)}},
                 {Output(*good, 0)}, {}, &out);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << st;
  // A fitting filter runs: Conv2D, Relu, Conv2D with the same [3, 3, 3, 3] filter.
  const Tensor input = RandomTensor({1, 5, 5, 3}, 75), filter = RandomTensor({3, 3, 3, 3}, 76);
  ASSERT_TRUE((*s)->Run({{x, input}, {f, filter}}, {Output(*good, 0)}, {}, &out).ok());
  Scope ref = Scope::NewRootScope();
  auto y = ops::Conv2D(ref, ops::Relu(ref, ops::Conv2D(ref, ops::Const(ref, input),
                                                       ops::Const(ref, filter), {1, 1, 1, 1},
                                                       "SAME")),
                       ops::Const(ref, filter), {1, 1, 1, 1}, "SAME");
  absl::StatusOr<Tensor> want = RunOne(ref, y, {}, Unoptimized());
  ASSERT_TRUE(want.ok()) << want.status();
  ExpectSameTensor(out[0], *want, kTol);
}

// The corpus's image models (../shared/tf_graphs/corpus, whose oracle corpus_test checks) each
// become one or more trunks and give the unrewritten graph's results on the corpus inputs.
struct CorpusModel {
  const char* file;
  const char* input_file;
  const char* feed;
  const char* fetch;
};

TEST(ConvTrunk, CorpusImageModelsEqualTheUnrewrittenGraph) {
  if (SharedDir().empty()) GTEST_SKIP() << "DFLOW_SHARED_DIR is not set";
  const std::string corpus = SharedDir() + "/tf_graphs/corpus";
  for (const CorpusModel& m : {
           CorpusModel{"erkkapekka_mobilenet_v1_025_128_retrained_graph.pb",
                       "erkkapekka_mobilenet_v1_025_128/inputs/input.npy", "input", "final_result"},
           CorpusModel{"avinashshah_pilotnet_keras_model.pb",
                       "avinashshah_pilotnet_keras/inputs/cropping2d_1_input.npy",
                       "cropping2d_1_input", "dense_4/BiasAdd"},
           CorpusModel{"foolmarks_cifar10_keras_frozen_graph.pb",
                       "foolmarks_cifar10_keras/inputs/conv2d_input.npy", "conv2d_input",
                       "dense_1/BiasAdd"},
           CorpusModel{"cdyangzhenyu_fer_emotion_tiny_cnn.pb",
                       "cdyangzhenyu_fer_emotion_tiny_cnn/inputs/image_array_input.npy",
                       "image_array_input", "global_average_pooling2d_1/Mean"}}) {
    SCOPED_TRACE(m.file);
    GraphDef def;
    ASSERT_TRUE(ReadGraphDefFile(corpus + "/files/" + m.file, &def).ok());
    Graph graph;
    ASSERT_TRUE(ImportGraphDef(def, &graph).ok());
    absl::StatusOr<LoadedTensor> input = ReadTensorFile(corpus + "/cases/" + m.input_file);
    absl::StatusOr<Output> feed = graph.FindOutput(m.feed);
    absl::StatusOr<Output> fetch = graph.FindOutput(m.fetch);
    ASSERT_TRUE(input.ok() && feed.ok() && fetch.ok());
    OptimizedGraph opt = CompareWithAndWithoutTrunks(graph, {{*feed, input->tensor}}, {*fetch});
    ASSERT_NE(opt.graph, nullptr);
    EXPECT_GE(CountOps(*opt.graph, "_DflowConvTrunk"), 1);
  }
}

}  // namespace
}  // namespace test
}  // namespace dflow
