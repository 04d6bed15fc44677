#include "kernels/pool_loops.h"

#include <algorithm>
#include <limits>

#include <omp.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace dflow {
namespace {

// Below this many input elements a pooling runs on the calling thread alone (the thread
// policy's rule for a team's fork and join, runtime/thread_policy.h).
constexpr int64_t kMinParallelElements = 16384;

// The window's rows [*begin, *end) inside an image of `size` rows for output row `o`.
inline void Clip(int64_t o, int64_t stride, int64_t pad, int64_t window, int64_t size,
                 int64_t* begin, int64_t* end) {
  const int64_t start = o * stride - pad;
  *begin = std::max<int64_t>(start, 0);
  *end = std::min(start + window, size);
}

template <bool kMax>
inline float Combine(float best, float v) {
  if (kMax) return v > best ? v : best;
  return best + v;
}

// Channels [c, block) of one window at `o`, one at a time; `plane` is [h][w][block].
template <bool kMax>
inline void PoolChannels(const BlockedPool& p, const float* plane, int64_t y0, int64_t y1,
                         int64_t x0, int64_t x1, int64_t c, float* o) {
  const float count = static_cast<float>((y1 - y0) * (x1 - x0));
  for (; c < p.block; ++c) {
    float acc = kMax ? std::numeric_limits<float>::lowest() : 0.0f;
    for (int64_t y = y0; y < y1; ++y) {
      for (int64_t x = x0; x < x1; ++x) acc = Combine<kMax>(acc, plane[(y * p.w + x) * p.block + c]);
    }
    o[c] = kMax ? acc : acc / count;
  }
}

#if defined(__x86_64__)
// A 2 x 2 window wholly inside the image, channels a multiple of 8: the common CNN pooling,
// without the general loop's bounds (a third of its time for the CIFAR CNN's pools).
template <bool kMax>
__attribute__((target("avx2"))) inline void Pool2x2Avx2(const float* r0, const float* r1,
                                                        int64_t block, float* o) {
  const __m256 quarter = _mm256_set1_ps(4.0f);
  for (int64_t c = 0; c < block; c += 8) {
    const __m256 a = _mm256_loadu_ps(r0 + c), b = _mm256_loadu_ps(r0 + block + c);
    const __m256 d = _mm256_loadu_ps(r1 + c), e = _mm256_loadu_ps(r1 + block + c);
    // The order of the general loop: row by row, left to right, from lowest / 0.
    const __m256 init = _mm256_set1_ps(kMax ? std::numeric_limits<float>::lowest() : 0.0f);
    __m256 acc = kMax ? _mm256_max_ps(a, init) : _mm256_add_ps(init, a);
    acc = kMax ? _mm256_max_ps(b, acc) : _mm256_add_ps(acc, b);
    acc = kMax ? _mm256_max_ps(d, acc) : _mm256_add_ps(acc, d);
    acc = kMax ? _mm256_max_ps(e, acc) : _mm256_add_ps(acc, e);
    _mm256_storeu_ps(o + c, kMax ? acc : _mm256_div_ps(acc, quarter));
  }
}

// Channels in groups of 8 with AVX (vmaxps(v, best) is v > best ? v : best), the rest one by one.
template <bool kMax>
__attribute__((target("avx2"))) void PoolRowAvx2(const BlockedPool& pool, const float* plane,
                                                 int64_t oy, float* orow) {
  const BlockedPool p = pool;  // A copy: the vector stores may alias anything, even `pool`.
  int64_t y0, y1;
  Clip(oy, p.stride_h, p.pad_top, p.window_h, p.h, &y0, &y1);
  if (p.window_h == 2 && p.window_w == 2 && y1 - y0 == 2 && p.block % 8 == 0) {
    const int64_t block = p.block;
    const float* r0 = plane + y0 * p.w * block;
    const float* r1 = r0 + p.w * block;
    int64_t ox = 0;
    // Interior columns: windows starting at ox * stride_w - pad_left >= 0 and ending inside.
    const int64_t first = (p.pad_left + p.stride_w - 1) / p.stride_w;
    for (; ox < p.ow; ++ox) {
      int64_t x0, x1;
      Clip(ox, p.stride_w, p.pad_left, 2, p.w, &x0, &x1);
      if (ox >= first && x1 - x0 == 2) break;
      PoolChannels<kMax>(p, plane, y0, y1, x0, x1, 0, orow + ox * block);
    }
    for (; ox < p.ow && ox * p.stride_w - p.pad_left + 2 <= p.w; ++ox) {
      const int64_t x = (ox * p.stride_w - p.pad_left) * block;
      Pool2x2Avx2<kMax>(r0 + x, r1 + x, block, orow + ox * block);
    }
    for (; ox < p.ow; ++ox) {
      int64_t x0, x1;
      Clip(ox, p.stride_w, p.pad_left, 2, p.w, &x0, &x1);
      PoolChannels<kMax>(p, plane, y0, y1, x0, x1, 0, orow + ox * block);
    }
    return;
  }
  for (int64_t ox = 0; ox < p.ow; ++ox) {
    int64_t x0, x1;
    Clip(ox, p.stride_w, p.pad_left, p.window_w, p.w, &x0, &x1);
    float* o = orow + ox * p.block;
    const __m256 count = _mm256_set1_ps(static_cast<float>((y1 - y0) * (x1 - x0)));
    int64_t c = 0;
    for (; c + 8 <= p.block; c += 8) {
      __m256 acc = _mm256_set1_ps(kMax ? std::numeric_limits<float>::lowest() : 0.0f);
      for (int64_t y = y0; y < y1; ++y) {
        const float* row = plane + (y * p.w) * p.block + c;
        for (int64_t x = x0; x < x1; ++x) {
          const __m256 v = _mm256_loadu_ps(row + x * p.block);
          acc = kMax ? _mm256_max_ps(v, acc) : _mm256_add_ps(acc, v);
        }
      }
      _mm256_storeu_ps(o + c, kMax ? acc : _mm256_div_ps(acc, count));
    }
    if (c < p.block) PoolChannels<kMax>(p, plane, y0, y1, x0, x1, c, o);
  }
}

bool HasAvx2() {
  static const bool has = __builtin_cpu_supports("avx2");
  return has;
}
#endif

template <bool kMax>
void PoolRowScalar(const BlockedPool& p, const float* plane, int64_t oy, float* orow) {
  int64_t y0, y1;
  Clip(oy, p.stride_h, p.pad_top, p.window_h, p.h, &y0, &y1);
  for (int64_t ox = 0; ox < p.ow; ++ox) {
    int64_t x0, x1;
    Clip(ox, p.stride_w, p.pad_left, p.window_w, p.w, &x0, &x1);
    PoolChannels<kMax>(p, plane, y0, y1, x0, x1, 0, orow + ox * p.block);
  }
}

template <bool kMax>
void Pool(const BlockedPool& p, const float* in, float* out) {
  const int64_t planes = p.n * p.blocks, rows = planes * p.oh;
  const int64_t plane_in = p.h * p.w * p.block, row_out = p.ow * p.block;
  void (*row_fn)(const BlockedPool&, const float*, int64_t, float*) = PoolRowScalar<kMax>;
#if defined(__x86_64__)
  if (HasAvx2()) row_fn = PoolRowAvx2<kMax>;
#endif
  // One output row per iteration: every row is a whole window row, so no two share an output.
  auto row = [&](int64_t r) {
    const int64_t plane = r / p.oh, oy = r % p.oh;
    row_fn(p, in + plane * plane_in, oy, out + r * row_out);
  };
  // No OpenMP region at all on one thread: libgomp allocates for each, even an if(false) one.
  if (planes * plane_in < kMinParallelElements || omp_get_max_threads() == 1) {
    for (int64_t r = 0; r < rows; ++r) row(r);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) row(r);
}

}  // namespace

void MaxPoolBlocked(const BlockedPool& p, const float* in, float* out) { Pool<true>(p, in, out); }

void AvgPoolBlocked(const BlockedPool& p, const float* in, float* out) { Pool<false>(p, in, out); }

}  // namespace dflow
