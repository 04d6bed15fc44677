// Convolutions reorder a Const filter into oneDNN's layout once (kernels/conv_util.h Weights);
// these check that the cached copy is never used for other data: a fed filter changed in place
// between runs, and a fetched Const's tensor written and fed back, give the new results, each
// against a plain-loop convolution.
#include <cmath>
#include <memory>
#include <vector>

#include "gtest/gtest.h"
#include "ops/standard_ops.h"
#include "runtime/session.h"
#include "tests/test_util.h"

namespace dflow {
namespace test {
namespace {

// A VALID, stride-1 convolution of NHWC `x` with the HWIO `w`, by definition.
std::vector<float> Conv(const Tensor& x, const Tensor& w) {
  const int64_t n = x.dim_size(0), h = x.dim_size(1), wd = x.dim_size(2), c = x.dim_size(3);
  const int64_t kh = w.dim_size(0), kw = w.dim_size(1), co = w.dim_size(3);
  const int64_t oh = h - kh + 1, ow = wd - kw + 1;
  std::vector<float> out;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t y = 0; y < oh; ++y)
      for (int64_t xo = 0; xo < ow; ++xo)
        for (int64_t o = 0; o < co; ++o) {
          double sum = 0;
          for (int64_t i = 0; i < kh; ++i)
            for (int64_t j = 0; j < kw; ++j)
              for (int64_t ci = 0; ci < c; ++ci) {
                sum += x.flat<float>()[((b * h + y + i) * wd + xo + j) * c + ci] *
                       w.flat<float>()[((i * kw + j) * c + ci) * co + o];
              }
          out.push_back(static_cast<float>(sum));
        }
  return out;
}

void ExpectConv(const Tensor& got, const Tensor& x, const Tensor& w) {
  const std::vector<float> want = Conv(x, w);
  ASSERT_EQ(got.NumElements(), static_cast<int64_t>(want.size()));
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_NEAR(got.flat<float>()[i], want[i], 1e-4 + 1e-4 * std::fabs(want[i])) << i;
  }
}

// 16 output channels: oneDNN picks a blocked weights layout, so the filter is reordered.
constexpr int64_t kCo = 16;

TEST(ConstFilterCache, AConstFilterGivesTheSameResultEveryRun) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
  const Tensor w = RandomTensor({3, 3, 8, kCo}, 1);
  auto y = ops::Conv2D(root.WithOpName("y"), x, ops::Const(root, w), {1, 1, 1, 1}, "VALID");
  absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(root);
  ASSERT_TRUE(s.ok()) << s.status();
  for (int run = 0; run < 3; ++run) {
    const Tensor input = RandomTensor({2, 6, 5, 8}, 10 + run);
    std::vector<Tensor> out;
    ASSERT_TRUE((*s)->Run({{x, input}}, {y}, {}, &out).ok());
    ExpectConv(out[0], input, w);
  }
}

TEST(ConstFilterCache, AFedFilterChangedInPlaceIsReorderedAgain) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
  auto w = ops::Placeholder(root.WithOpName("w"), DT_FLOAT);
  auto y = ops::Conv2D(root.WithOpName("y"), x, w, {1, 1, 1, 1}, "VALID");
  absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(root);
  ASSERT_TRUE(s.ok()) << s.status();
  const Tensor input = RandomTensor({1, 5, 5, 8}, 2);
  Tensor filter = RandomTensor({3, 3, 8, kCo}, 3);
  for (int run = 0; run < 3; ++run) {
    for (float& v : filter.flat<float>()) v += 0.5f;  // Same buffer, new values.
    std::vector<Tensor> out;
    ASSERT_TRUE((*s)->Run({{x, input}, {w, filter}}, {y}, {}, &out).ok());
    ExpectConv(out[0], input, filter);
  }
}

TEST(ConstFilterCache, AFetchedConstWrittenAndFedBackIsReorderedAgain) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
  auto w = ops::Const(root.WithOpName("w"), RandomTensor({2, 2, 8, kCo}, 4));
  auto y = ops::Conv2D(root.WithOpName("y"), x, w, {1, 1, 1, 1}, "VALID");
  SessionOptions unoptimized;  // The fed Const output reaches the kernel as it is.
  unoptimized.optimize_graph = false;
  absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(root, unoptimized);
  ASSERT_TRUE(s.ok()) << s.status();
  const Tensor input = RandomTensor({1, 4, 4, 8}, 5);
  std::vector<Tensor> out;
  ASSERT_TRUE((*s)->Run({{x, input}}, {y, w}, {}, &out).ok());
  ExpectConv(out[0], input, out[1]);
  Tensor filter = out[1];  // Shares the Const's buffer.
  for (int run = 0; run < 2; ++run) {
    for (float& v : filter.flat<float>()) v *= -2.f;
    std::vector<Tensor> again;
    ASSERT_TRUE((*s)->Run({{x, input}, {w, filter}}, {y}, {}, &again).ok());
    ExpectConv(again[0], input, filter);
  }
}

}  // namespace
}  // namespace test
}  // namespace dflow
