// Concurrent runs of one signature: each thread's results equal plain-loop references, with
// and without the graph optimizer (whose fused kernels cache oneDNN primitives too).
#include <atomic>
#include <cmath>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "ops/standard_ops.h"
#include "runtime/session.h"
#include "tests/test_util.h"

namespace dflow {
namespace {

constexpr int kIn = 96, kOut = 10;

float WeightAt(int i, int j) { return std::sin(0.37f * i + 1.3f * j) * 0.1f; }
float BiasAt(int j) { return 0.05f * j - 0.2f; }
float InputAt(int thread, int run, int row, int i) {
  return std::cos(0.11f * i + 0.7f * row + 1.9f * thread + 0.013f * run);
}

// softmax(x W + b) for one row, in double.
std::vector<float> SoftmaxRegressionRow(const std::vector<float>& x) {
  std::vector<double> z(kOut);
  double max_z = -1e300;
  for (int j = 0; j < kOut; ++j) {
    z[j] = BiasAt(j);
    for (int i = 0; i < kIn; ++i) z[j] += static_cast<double>(x[i]) * WeightAt(i, j);
    max_z = std::max(max_z, z[j]);
  }
  double sum = 0;
  for (double& v : z) sum += (v = std::exp(v - max_z));
  std::vector<float> y(kOut);
  for (int j = 0; j < kOut; ++j) y[j] = static_cast<float>(z[j] / sum);
  return y;
}

void RunConcurrently(const SessionOptions& options, int batch) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
  auto w = ops::Variable(root.WithOpName("w"), {kIn, kOut}, DT_FLOAT);
  auto b = ops::Variable(root.WithOpName("b"), {kOut}, DT_FLOAT);
  std::vector<float> w_values, b_values;
  for (int i = 0; i < kIn; ++i) {
    for (int j = 0; j < kOut; ++j) w_values.push_back(WeightAt(i, j));
  }
  for (int j = 0; j < kOut; ++j) b_values.push_back(BiasAt(j));
  auto init_w = ops::Assign(root, w, test::FloatTensor({kIn, kOut}, w_values));
  auto init_b = ops::Assign(root, b, test::FloatTensor({kOut}, b_values));
  auto y = ops::Softmax(root.WithOpName("y"), ops::BiasAdd(root, ops::MatMul(root, x, w), b));
  ASSERT_TRUE(root.ok()) << root.status();
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(root, options);
  ASSERT_TRUE(session.ok()) << session.status();
  ASSERT_TRUE((*session)->Run({init_w, init_b}).ok());

  constexpr int kThreads = 4, kRuns = 150;
  std::vector<int> mismatches(kThreads, 0), failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<Tensor> out;
      for (int r = 0; r < kRuns; ++r) {
        std::vector<float> input;
        for (int row = 0; row < batch; ++row) {
          for (int i = 0; i < kIn; ++i) input.push_back(InputAt(t, r, row, i));
        }
        absl::Status s = (*session)->Run({{x, test::FloatTensor({batch, kIn}, input)}}, {y}, {},
                                         &out);
        if (!s.ok()) {
          ++failures[t];
          continue;
        }
        for (int row = 0; row < batch; ++row) {
          const std::vector<float> want = SoftmaxRegressionRow(
              std::vector<float>(input.begin() + row * kIn, input.begin() + (row + 1) * kIn));
          for (int j = 0; j < kOut; ++j) {
            if (std::abs(out[0].flat<float>()[row * kOut + j] - want[j]) > 1e-5f) {
              ++mismatches[t];
            }
          }
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(failures[t], 0) << "thread " << t;
    EXPECT_EQ(mismatches[t], 0) << "thread " << t;
  }
}

TEST(ConcurrentRuns, OneSignatureFromFourThreadsBatch1) { RunConcurrently({}, 1); }
TEST(ConcurrentRuns, OneSignatureFromFourThreadsBatch32) { RunConcurrently({}, 32); }
TEST(ConcurrentRuns, OneSignatureFromFourThreadsUnoptimized) {
  SessionOptions options;
  options.optimize_graph = false;
  RunConcurrently(options, 8);
}

// A plan that only reads variables keeps its reads between runs (runtime/step_inputs.h); each
// kind of writer, run between two reads, must be seen by the second. Every value is hand-set.
TEST(ConcurrentRuns, KeptReadsSeeEveryWriter) {
  Scope root = Scope::NewRootScope();
  auto v = ops::Variable(root.WithOpName("v"), {4}, DT_FLOAT);
  auto read = ops::Identity(root.WithOpName("read"), v);
  auto assign = ops::Assign(root, v, test::FloatTensor({4}, {1, 2, 3, 4}));
  auto add = ops::AssignAdd(root, v, test::FloatTensor({4}, {10, 10, 10, 10}));
  auto descend = ops::ApplyGradientDescent(root, v, Tensor::Scalar<float>(0.5f),
                                           test::FloatTensor({4}, {2, 4, 6, 8}));
  auto scatter = ops::ScatterUpdate(root, v, test::Int32Tensor({1}, {2}),
                                    test::FloatTensor({1}, {-7}));
  ASSERT_TRUE(root.ok()) << root.status();
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(root);
  ASSERT_TRUE(session.ok()) << session.status();
  auto read_now = [&]() {
    std::vector<Tensor> out;
    const absl::Status s = (*session)->Run({}, {read}, {}, &out);
    EXPECT_TRUE(s.ok()) << s;
    return s.ok() ? out[0] : Tensor();
  };
  ASSERT_TRUE((*session)->Run({assign}).ok());
  const Tensor first = read_now();
  EXPECT_EQ(test::ValuesOf<float>(first), (std::vector<float>{1, 2, 3, 4}));
  ASSERT_TRUE((*session)->Run({add}).ok());
  EXPECT_EQ(test::ValuesOf<float>(read_now()), (std::vector<float>{11, 12, 13, 14}));
  ASSERT_TRUE((*session)->Run({descend}).ok());
  EXPECT_EQ(test::ValuesOf<float>(read_now()), (std::vector<float>{10, 10, 10, 10}));
  ASSERT_TRUE((*session)->Run({scatter}).ok());
  EXPECT_EQ(test::ValuesOf<float>(read_now()), (std::vector<float>{10, 10, -7, 10}));
  ASSERT_TRUE((*session)->Run({assign}).ok());
  EXPECT_EQ(test::ValuesOf<float>(read_now()), (std::vector<float>{1, 2, 3, 4}));
  // A tensor fetched before the writes keeps its values.
  EXPECT_EQ(test::ValuesOf<float>(first), (std::vector<float>{1, 2, 3, 4}));
}

// Readers running while a writer assigns v = k (all elements k, k = 1..kWrites): each read is
// one whole assignment, never a mix, never older than a read before it, and after the writer is
// done every reader sees the last one.
TEST(ConcurrentRuns, KeptReadsDuringWrites) {
  constexpr int kSize = 1024, kWrites = 200, kReaders = 2;
  Scope root = Scope::NewRootScope();
  auto v = ops::Variable(root.WithOpName("v"), {kSize}, DT_FLOAT);
  auto k = ops::Placeholder(root.WithOpName("k"), DT_FLOAT);
  auto assign = ops::Assign(root, v, ops::Fill(root, test::Int32Tensor({1}, {kSize}), k));
  auto doubled = ops::Add(root.WithOpName("doubled"), v, v);
  ASSERT_TRUE(root.ok()) << root.status();
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(root);
  ASSERT_TRUE(session.ok()) << session.status();
  ASSERT_TRUE((*session)->Run({{k, Tensor::Scalar<float>(0.f)}}, {}, {assign}, nullptr).ok());
  std::atomic<bool> writing{true};
  std::atomic<int> reads{0};
  std::vector<int> bad(kReaders, 0), failures(kReaders, 0);
  std::vector<std::thread> readers;
  for (int t = 0; t < kReaders; ++t) {
    readers.emplace_back([&, t] {
      float last = 0;
      bool more = true;
      while (more) {
        more = writing.load();  // One more read after the writer is done.
        std::vector<Tensor> out;
        const bool ok = (*session)->Run({}, {doubled}, {}, &out).ok();
        ++reads;
        if (!ok) {
          ++failures[t];
          continue;
        }
        const float* d = out[0].flat<float>().data();
        for (int i = 0; i < kSize; ++i) bad[t] += d[i] != d[0];
        bad[t] += d[0] < last;
        last = d[0];
      }
      bad[t] += last != 2.f * kWrites;
    });
  }
  for (int w = 1; w <= kWrites; ++w) {
    // Interleave: a few reads between writes.
    for (const int seen = reads.load(); reads.load() < seen + kReaders;) std::this_thread::yield();
    ASSERT_TRUE(
        (*session)->Run({{k, Tensor::Scalar<float>(static_cast<float>(w))}}, {}, {assign}, nullptr)
            .ok());
  }
  writing = false;
  for (std::thread& th : readers) th.join();
  for (int t = 0; t < kReaders; ++t) {
    EXPECT_EQ(failures[t], 0) << "reader " << t;
    EXPECT_EQ(bad[t], 0) << "reader " << t;
  }
}

}  // namespace
}  // namespace dflow
