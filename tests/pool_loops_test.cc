// kernels/pool_loops.h against plain loops over the logical [n, h, w, c] image, in NHWC and in
// blocked layouts with padded channel blocks, on one thread and on a team of two.
#include "kernels/pool_loops.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "kernels/dnnl_util.h"

namespace dflow {
namespace {

struct Case {
  int64_t n, h, w, c, block;  // block 0: NHWC.
  int64_t kh, kw, sh, sw, pad_top, pad_left, oh, ow;
};

BlockedPool PoolOf(const Case& k) {
  BlockedPool p;
  p.n = k.n;
  p.block = k.block == 0 ? k.c : k.block;
  p.blocks = k.block == 0 ? 1 : (k.c + k.block - 1) / k.block;
  p.h = k.h;
  p.w = k.w;
  p.oh = k.oh;
  p.ow = k.ow;
  p.window_h = k.kh;
  p.window_w = k.kw;
  p.stride_h = k.sh;
  p.stride_w = k.sw;
  p.pad_top = k.pad_top;
  p.pad_left = k.pad_left;
  return p;
}

// Where logical element (n, y, x, c) of an image of `rows` x `cols` lives in the layout.
int64_t At(const BlockedPool& p, int64_t rows, int64_t cols, int64_t n, int64_t y, int64_t x,
           int64_t c) {
  const int64_t b = c / p.block, lane = c % p.block;
  return (((n * p.blocks + b) * rows + y) * cols + x) * p.block + lane;
}

// The plain loop: each window's elements inside the image in row-major order.
std::vector<float> Reference(const Case& k, const BlockedPool& p, const std::vector<float>& in,
                             bool max) {
  std::vector<float> out(p.n * p.blocks * p.oh * p.ow * p.block, 0.0f);
  for (int64_t n = 0; n < k.n; ++n) {
    for (int64_t oy = 0; oy < k.oh; ++oy) {
      for (int64_t ox = 0; ox < k.ow; ++ox) {
        for (int64_t c = 0; c < k.c; ++c) {
          float best = std::numeric_limits<float>::lowest(), sum = 0.0f;
          int64_t count = 0;
          for (int64_t i = 0; i < k.kh; ++i) {
            for (int64_t j = 0; j < k.kw; ++j) {
              const int64_t y = oy * k.sh - k.pad_top + i, x = ox * k.sw - k.pad_left + j;
              if (y < 0 || y >= k.h || x < 0 || x >= k.w) continue;
              const float v = in[At(p, k.h, k.w, n, y, x, c)];
              if (v > best) best = v;
              sum += v;
              ++count;
            }
          }
          out[At(p, k.oh, k.ow, n, oy, ox, c)] = max ? best : sum / static_cast<float>(count);
        }
      }
    }
  }
  return out;
}

// Same bits, NaN equal to NaN.
void ExpectSame(const std::vector<float>& got, const std::vector<float>& want,
                const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i])) {
      EXPECT_TRUE(std::isnan(got[i])) << what << " at " << i;
    } else {
      EXPECT_EQ(got[i], want[i]) << what << " at " << i;
    }
  }
}

void Check(const Case& k, int threads) {
  const BlockedPool p = PoolOf(k);
  std::vector<float> in(p.n * p.blocks * p.h * p.w * p.block, 0.0f);  // Padded lanes 0.
  std::mt19937 rng(static_cast<uint32_t>(k.c * 131 + k.h * 7 + k.kh));
  std::uniform_real_distribution<float> u(-2.0f, 2.0f);
  int64_t i = 0;
  for (int64_t n = 0; n < k.n; ++n) {
    for (int64_t y = 0; y < k.h; ++y) {
      for (int64_t x = 0; x < k.w; ++x) {
        for (int64_t c = 0; c < k.c; ++c, ++i) {
          // Some NaNs and infinities: NaN never wins a max; -inf loses to the lowest float.
          const float v = i % 37 == 5 ? NAN : i % 41 == 3 ? -INFINITY : u(rng);
          in[At(p, k.h, k.w, n, y, x, c)] = v;
        }
      }
    }
  }
  const std::string what =
      absl::StrCat("n", k.n, " h", k.h, " w", k.w, " c", k.c, " block", k.block, " k", k.kh, "x",
                   k.kw, " s", k.sh, "x", k.sw, " pad", k.pad_top, ",", k.pad_left, " threads ",
                   threads);
  omp_set_num_threads(threads);
  for (bool max : {true, false}) {
    std::vector<float> out(p.n * p.blocks * p.oh * p.ow * p.block, -7.0f);
    (max ? MaxPoolBlocked : AvgPoolBlocked)(p, in.data(), out.data());
    ExpectSame(out, Reference(k, p, in, max), absl::StrCat(max ? "max " : "avg ", what));
  }
  omp_set_num_threads(1);
}

std::vector<Case> Cases() {
  std::vector<Case> cases;
  // {n, h, w, c, block, kh, kw, sh, sw, pad_top, pad_left, oh, ow}
  for (int64_t block : {0, 8, 16}) {
    for (int64_t c : {1, 3, 5, 8, 13, 32}) {
      cases.push_back({2, 6, 7, c, block, 2, 2, 2, 2, 0, 0, 3, 3});    // VALID, a column left.
      cases.push_back({1, 5, 5, c, block, 3, 3, 2, 2, 1, 1, 3, 3});    // SAME, padded edges.
      cases.push_back({1, 4, 6, c, block, 3, 2, 1, 1, 1, 0, 4, 5});    // SAME, stride 1.
      cases.push_back({3, 1, 1, c, block, 1, 1, 1, 1, 0, 0, 1, 1});    // One pixel.
      // 2 x 2 windows (their own path for 8k channels): clipped on the left, on the right,
      // and overlapping at stride 1.
      cases.push_back({1, 5, 5, c, block, 2, 2, 2, 2, 0, 1, 2, 3});
      cases.push_back({2, 4, 5, c, block, 2, 2, 2, 2, 1, 0, 3, 3});
      cases.push_back({1, 4, 4, c, block, 2, 2, 1, 1, 0, 0, 3, 3});
    }
  }
  cases.push_back({1, 30, 30, 32, 8, 2, 2, 2, 2, 0, 0, 15, 15});  // The CIFAR CNN's first pool.
  cases.push_back({4, 40, 40, 16, 8, 3, 3, 2, 2, 0, 0, 19, 19});  // Large enough for a team.
  return cases;
}

TEST(PoolLoopsTest, MatchPlainLoopsOnOneThread) {
  for (const Case& k : Cases()) Check(k, 1);
}

TEST(PoolLoopsTest, MatchPlainLoopsOnTwoThreads) {
  for (const Case& k : Cases()) Check(k, 2);
}

}  // namespace
}  // namespace dflow
