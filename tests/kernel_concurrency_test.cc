// One kernel object's Compute called from several threads at once, as concurrent runs of one
// execution plan do: each thread has its own OpKernelContext, oneDNN stream and buffer pool and
// its own inputs, and every result is compared with a plain loop. Without ShapeCache's
// exclusive leases the threads point one cache entry's memory objects at each other's buffers
// and read or write the wrong tensors.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "graph/buffer_pool.h"
#include "kernels/dnnl_util.h"
#include "kernels/op_kernel.h"
#include "ops/node_builder.h"
#include "ops/standard_ops.h"
#include "tests/test_util.h"

namespace dflow {
namespace {

using test::RandomTensor;

constexpr int kThreads = 4;
constexpr int kIterations = 1000;

// Per thread: its inputs, and a check of one call's outputs returning the number of wrong
// elements (called after every call). `prepare`, if set, changes the inputs before call i.
struct ThreadCase {
  std::vector<TensorValue> inputs;
  std::function<int64_t(const std::vector<TensorValue>& outputs)> check;
  std::function<void(int i, std::vector<TensorValue>* inputs)> prepare;
};

// Creates `node`'s kernel and calls its Compute from kThreads threads at once, kIterations times
// each; returns the number of wrong output elements over all calls.
int64_t RunConcurrently(const Node& node, VariableStore* variables,
                        const std::function<ThreadCase(int thread)>& make_case) {
  absl::StatusOr<std::unique_ptr<OpKernel>> kernel = KernelRegistry::Global()->CreateKernel(node);
  EXPECT_TRUE(kernel.ok()) << kernel.status();
  if (!kernel.ok()) return -1;
  std::vector<ThreadCase> cases;
  for (int t = 0; t < kThreads; ++t) cases.push_back(make_case(t));
  std::atomic<int64_t> wrong{0};
  std::atomic<int> failed_calls{0};
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      dnnl::stream stream(CpuEngine());
      BufferPool pool;
      std::vector<TensorValue*> inputs;
      for (TensorValue& v : cases[t].inputs) inputs.push_back(&v);
      ready.fetch_add(1);
      while (ready.load() < kThreads) std::this_thread::yield();  // Start together.
      for (int i = 0; i < kIterations; ++i) {
        if (cases[t].prepare) cases[t].prepare(i, &cases[t].inputs);
        std::vector<TensorValue> outputs(node.num_outputs());
        OpKernelContext ctx(node, inputs, absl::MakeSpan(outputs), variables, CpuEngine(), stream,
                            &pool);
        if (!RunKernel(**kernel, &ctx).ok()) {
          failed_calls.fetch_add(1);
          continue;
        }
        wrong.fetch_add(cases[t].check(outputs));
        for (TensorValue& out : outputs) pool.Recycle(&out.tensor);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failed_calls.load(), 0);
  return wrong.load();
}

// Elements of `actual` (of `shape`) further than tol (absolute + relative) from `expected`.
int64_t CountWrong(const Tensor& actual, const TensorShape& shape,
                   const std::vector<float>& expected, float tol = 1e-4f) {
  if (!actual.IsInitialized() || actual.shape() != shape) return shape.num_elements() + 1;
  int64_t wrong = 0;
  auto a = actual.flat<float>();
  for (size_t i = 0; i < expected.size(); ++i) {
    if (!(std::fabs(a[i] - expected[i]) <= tol * (1.0f + std::fabs(expected[i])))) ++wrong;
  }
  return wrong;
}

// op(a) x op(b) [+ bias, then max(., 0)] in double precision.
std::vector<float> MatMulRef(const Tensor& a, const Tensor& b, const Tensor* bias, bool relu) {
  const int64_t m = a.dim_size(0), k = a.dim_size(1), n = b.dim_size(1);
  auto pa = a.flat<float>();
  auto pb = b.flat<float>();
  std::vector<float> out(m * n);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double sum = bias != nullptr ? bias->flat<float>()[j] : 0.0;
      for (int64_t p = 0; p < k; ++p) sum += double{pa[i * k + p]} * pb[p * n + j];
      out[i * n + j] = static_cast<float>(relu ? std::max(sum, 0.0) : sum);
    }
  }
  return out;
}

TEST(KernelConcurrency, MatMulFromFourThreads) {
  static constexpr int64_t kM = 16, kK = 24, kN = 12;
  Scope root = Scope::NewRootScope();
  auto a = ops::Placeholder(root, DT_FLOAT);
  auto b = ops::Placeholder(root, DT_FLOAT);
  auto product = ops::MatMul(root, a, b);
  ASSERT_TRUE(root.status().ok()) << root.status();
  const int64_t wrong = RunConcurrently(*product.node(), nullptr, [&](int t) {
    const Tensor x = RandomTensor({kM, kK}, 10 + t), w = RandomTensor({kK, kN}, 20 + t);
    const std::vector<float> expected = MatMulRef(x, w, nullptr, false);
    return ThreadCase{{{x}, {w}}, [expected](const std::vector<TensorValue>& out) {
                        return CountWrong(out[0].tensor, TensorShape({kM, kN}), expected);
                      }};
  });
  EXPECT_EQ(wrong, 0);
}

TEST(KernelConcurrency, FusedMatMulWithBiasAndReluFromFourThreads) {
  static constexpr int64_t kM = 8, kK = 32, kN = 16;
  Scope root = Scope::NewRootScope();
  auto a = ops::Placeholder(root, DT_FLOAT);
  auto b = ops::Placeholder(root, DT_FLOAT);
  auto bias = ops::Placeholder(root, DT_FLOAT);
  NodeBuilder builder("fused", "_FusedMatMul");
  builder.Input(a).Input(b).Input(std::vector<Output>{bias});
  builder.Attr("fused_ops", MakeStringListAttr({"BiasAdd", "Relu"}));
  absl::StatusOr<Node*> node = builder.Finalize(root.graph());
  ASSERT_TRUE(node.ok()) << node.status();
  const int64_t wrong = RunConcurrently(**node, nullptr, [&](int t) {
    const Tensor x = RandomTensor({kM, kK}, 30 + t), w = RandomTensor({kK, kN}, 40 + t);
    const Tensor c = RandomTensor({kN}, 50 + t);
    const std::vector<float> expected = MatMulRef(x, w, &c, true);
    return ThreadCase{{{x}, {w}, {c}}, [expected](const std::vector<TensorValue>& out) {
                        return CountWrong(out[0].tensor, TensorShape({kM, kN}), expected);
                      }};
  });
  EXPECT_EQ(wrong, 0);
}

// NHWC x HWIO, stride 1, SAME padding, for an odd filter size.
std::vector<float> Conv2DSameRef(const Tensor& x, const Tensor& w) {
  const int64_t n = x.dim_size(0), h = x.dim_size(1), wd = x.dim_size(2), ci = x.dim_size(3);
  const int64_t kh = w.dim_size(0), kw = w.dim_size(1), co = w.dim_size(3);
  auto px = x.flat<float>();
  auto pw = w.flat<float>();
  std::vector<float> out(n * h * wd * co);
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t i = 0; i < h; ++i) {
      for (int64_t j = 0; j < wd; ++j) {
        for (int64_t o = 0; o < co; ++o) {
          double sum = 0.0;
          for (int64_t di = 0; di < kh; ++di) {
            for (int64_t dj = 0; dj < kw; ++dj) {
              const int64_t y = i + di - (kh - 1) / 2, z = j + dj - (kw - 1) / 2;
              if (y < 0 || y >= h || z < 0 || z >= wd) continue;
              for (int64_t c = 0; c < ci; ++c) {
                sum += double{px[((b * h + y) * wd + z) * ci + c]} *
                       pw[((di * kw + dj) * ci + c) * co + o];
              }
            }
          }
          out[((b * h + i) * wd + j) * co + o] = static_cast<float>(sum);
        }
      }
    }
  }
  return out;
}

TEST(KernelConcurrency, Conv2DFromFourThreads) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto w = ops::Placeholder(root, DT_FLOAT);
  auto conv = ops::Conv2D(root, x, w, {1, 1, 1, 1}, "SAME");
  ASSERT_TRUE(root.status().ok()) << root.status();
  const TensorShape out_shape({2, 8, 8, 16});
  const int64_t wrong = RunConcurrently(*conv.node(), nullptr, [&](int t) {
    const Tensor image = RandomTensor({2, 8, 8, 8}, 60 + t);
    const Tensor filter = RandomTensor({3, 3, 8, 16}, 70 + t);
    const std::vector<float> expected = Conv2DSameRef(image, filter);
    return ThreadCase{{{image}, {filter}},
                      [expected, out_shape](const std::vector<TensorValue>& out) {
                        return CountWrong(out[0].tensor, out_shape, expected);
                      }};
  });
  EXPECT_EQ(wrong, 0);
}

TEST(KernelConcurrency, SoftmaxFromFourThreads) {
  static constexpr int64_t kRows = 32, kCols = 10;
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto softmax = ops::Softmax(root, x);
  ASSERT_TRUE(root.status().ok()) << root.status();
  const int64_t wrong = RunConcurrently(*softmax.node(), nullptr, [&](int t) {
    const Tensor logits = RandomTensor({kRows, kCols}, 80 + t, -4.f, 4.f);
    std::vector<float> expected(kRows * kCols);
    auto p = logits.flat<float>();
    for (int64_t r = 0; r < kRows; ++r) {
      double max = p[r * kCols], sum = 0.0;
      for (int64_t c = 0; c < kCols; ++c) max = std::max<double>(max, p[r * kCols + c]);
      for (int64_t c = 0; c < kCols; ++c) sum += std::exp(p[r * kCols + c] - max);
      for (int64_t c = 0; c < kCols; ++c) {
        expected[r * kCols + c] = static_cast<float>(std::exp(p[r * kCols + c] - max) / sum);
      }
    }
    return ThreadCase{{{logits}}, [expected](const std::vector<TensorValue>& out) {
                        return CountWrong(out[0].tensor, TensorShape({kRows, kCols}), expected);
                      }};
  });
  EXPECT_EQ(wrong, 0);
}

TEST(KernelConcurrency, AddNFromFourThreads) {
  static constexpr int64_t kSize = 1000;
  Scope root = Scope::NewRootScope();
  auto a = ops::Placeholder(root, DT_FLOAT);
  auto b = ops::Placeholder(root, DT_FLOAT);
  auto c = ops::Placeholder(root, DT_FLOAT);
  Node* sum = AddOpWithList(root, "AddN", {a, b, c}, {});
  ASSERT_TRUE(root.status().ok()) << root.status();
  const int64_t wrong = RunConcurrently(*sum, nullptr, [&](int t) {
    std::vector<TensorValue> inputs;
    std::vector<float> expected(kSize, 0.0f);
    for (int i = 0; i < 3; ++i) {
      inputs.push_back({RandomTensor({kSize}, 90 + 3 * t + i)});
      for (int64_t j = 0; j < kSize; ++j) expected[j] += inputs.back().tensor.flat<float>()[j];
    }
    return ThreadCase{inputs, [expected](const std::vector<TensorValue>& out) {
                        return CountWrong(out[0].tensor, TensorShape({kSize}), expected);
                      }};
  });
  EXPECT_EQ(wrong, 0);
}

// Every thread updates its own variable with the same sequence of rates, first baked into the
// primitive (one cache key per rate, shared by the threads), then, once the kernel has baked
// enough rates, as a run-time scale.
TEST(KernelConcurrency, ApplyGradientDescentOnSeparateVariablesFromFourThreads) {
  static constexpr int64_t kSize = 512;
  Scope root = Scope::NewRootScope();
  auto var = ops::Variable(root, TensorShape({kSize}), DT_FLOAT);
  auto alpha = ops::Placeholder(root, DT_FLOAT);
  auto delta = ops::Placeholder(root, DT_FLOAT);
  auto update = ops::ApplyGradientDescent(root, var, alpha, delta);
  ASSERT_TRUE(root.status().ok()) << root.status();
  VariableStore variables;
  auto rate = [](int i) { return 0.001f * static_cast<float>(i % 16 + 1); };
  const int64_t wrong = RunConcurrently(*update.node(), &variables, [&](int t) {
    Variable* v = variables.LookupOrCreate("var" + std::to_string(t));
    v->Set(RandomTensor({kSize}, 100 + t));
    const Tensor d = RandomTensor({kSize}, 110 + t);
    auto expected = std::make_shared<std::vector<float>>(v->value.flat<float>().begin(),
                                                         v->value.flat<float>().end());
    auto call = std::make_shared<int>(0);
    ThreadCase c;
    c.inputs = {TensorValue{Tensor(), v}, TensorValue{Tensor()}, TensorValue{d}};
    c.prepare = [rate, call](int i, std::vector<TensorValue>* inputs) {
      *call = i;
      (*inputs)[1].tensor = Tensor::Scalar<float>(rate(i));
    };
    c.check = [rate, call, v, d, expected](const std::vector<TensorValue>& out) -> int64_t {
      const float scale = -rate(*call);
      for (int64_t j = 0; j < kSize; ++j) (*expected)[j] += scale * d.flat<float>()[j];
      int64_t bad = out[0].ref == v ? 0 : 1;
      std::lock_guard<std::mutex> lock(v->mu.reader());
      return bad + CountWrong(v->value, TensorShape({kSize}), *expected);
    };
    return c;
  });
  EXPECT_EQ(wrong, 0);
}

// ---------------------------------------------------------------------------------------------
// ShapeCache and the per-thread scratchpad, directly.

struct Counted {
  int value = 0;
};

TEST(ShapeCache, AHeldEntryIsNeverHandedOutAgain) {
  ShapeCache<Counted> cache;
  int made = 0;
  auto make = [&] {
    ++made;
    return std::make_unique<Counted>();
  };
  {
    ShapeCache<Counted>::Lease first = cache.Get({1, 2}, make);
    ShapeCache<Counted>::Lease second = cache.Get({1, 2}, make);
    EXPECT_NE(first.get(), second.get());
    EXPECT_EQ(made, 2);
  }
  std::set<Counted*> seen;
  for (int i = 0; i < 3; ++i) seen.insert(cache.Get({1, 2}, make).get());
  EXPECT_EQ(made, 2);  // Released entries are reused.
  EXPECT_EQ(seen.size(), 1u);
}

TEST(ShapeCache, ALeasedEntrySurvivesTheCacheDroppingItsEntries) {
  ShapeCache<Counted> cache;
  auto make = [] { return std::make_unique<Counted>(); };
  ShapeCache<Counted>::Lease held = cache.Get({0}, make);
  held->value = 42;
  for (int64_t k = 1; k < 100; ++k) cache.Get({k}, make);  // Far past the bound.
  EXPECT_EQ(held->value, 42);
  Counted* kept = held.get();
  ShapeCache<Counted>::Lease other = cache.Get({0}, make);
  EXPECT_NE(other.get(), kept);
}

TEST(ShapeCache, AFailedMakeKeepsNothing) {
  ShapeCache<Counted> cache;
  auto fail = []() -> std::unique_ptr<Counted> { throw std::runtime_error("no primitive"); };
  EXPECT_THROW(cache.Get({7}, fail), std::runtime_error);
  int made = 0;
  cache.Get({7}, [&] {
    ++made;
    return std::make_unique<Counted>();
  });
  EXPECT_EQ(made, 1);
}

TEST(ThreadScratchpad, IsAlignedGrowsAndIsReusedPerThread) {
  void* small = ThreadScratchpad(100);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(small) % 64, 0u);
  void* large = ThreadScratchpad(1 << 20);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(large) % 64, 0u);
  EXPECT_EQ(ThreadScratchpad(100), large);  // Never shrinks.
  void* other = nullptr;
  std::thread([&] { other = ThreadScratchpad(1 << 20); }).join();
  EXPECT_NE(other, large);
}

}  // namespace
}  // namespace dflow
