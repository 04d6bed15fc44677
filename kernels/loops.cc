#include "kernels/loops.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace dflow {
namespace {

void ScaledAddScalar(float* v, const float* d, int64_t n, float scale) {
  for (int64_t i = 0; i < n; ++i) v[i] += scale * d[i];
}

void OuterProductScalar(const float* a, int64_t m, const float* b, int64_t n, float* out) {
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) out[i * n + j] = 0.0f + a[i] * b[j];
  }
}

void ScaledOuterProductAddScalar(const float* a, int64_t m, const float* b, int64_t n,
                                 float scale, float* v) {
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) v[i * n + j] += (0.0f + a[i] * b[j]) * scale;
  }
}

void RowTimesMatrixScalar(const float* x, const float* w, int64_t k, int64_t n, float* out) {
  for (int64_t j = 0; j < n; ++j) {
    float partial[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int64_t r = 0; r < k; ++r) partial[r % 8] = std::fma(x[r], w[r * n + j], partial[r % 8]);
    out[j] = ((partial[0] + partial[4]) + (partial[2] + partial[6])) +
             ((partial[1] + partial[5]) + (partial[3] + partial[7]));
  }
}

#if defined(__x86_64__)
// Built for AVX2 (without FMA, so a product and a sum stay two roundings), called only when
// the CPU has it; the scalar tails round the same way.
__attribute__((target("avx2"))) void ScaledAddAvx2(float* v, const float* d, int64_t n,
                                                   float scale) {
  const __m256 s = _mm256_set1_ps(scale);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 p0 = _mm256_mul_ps(s, _mm256_loadu_ps(d + i));
    const __m256 p1 = _mm256_mul_ps(s, _mm256_loadu_ps(d + i + 8));
    _mm256_storeu_ps(v + i, _mm256_add_ps(_mm256_loadu_ps(v + i), p0));
    _mm256_storeu_ps(v + i + 8, _mm256_add_ps(_mm256_loadu_ps(v + i + 8), p1));
  }
  for (; i < n; ++i) v[i] += scale * d[i];
}

__attribute__((target("avx2"))) void OuterProductAvx2(const float* a, int64_t m, const float* b,
                                                      int64_t n, float* out) {
  const __m256 zero = _mm256_setzero_ps();
  // A row's last n % 8 values go out in one 8-wide store that runs into the next row, which is
  // written after it (rows are often short: n = 10); rows whose store would pass the end of
  // `out` finish with scalars. No masked stores: AMD runs them slowly.
  const int64_t full = n / 8 * 8;
  const int64_t rem = n - full;
  float tail[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int64_t j = 0; j < rem; ++j) tail[j] = b[full + j];
  const __m256 b_tail = _mm256_loadu_ps(tail);
  int64_t spill_rows = 0;  // Rows [0, spill_rows) may store 8 values past their end.
  if (rem > 0) {
    const int64_t last_start = m * n - full - 8;  // The last row start whose spill fits.
    spill_rows = last_start < 0 ? 0 : std::min(m, last_start / n + 1);
  }
  int64_t i = 0;
  if (full == 8 && rem > 0) {  // 9 to 15 columns: b in two registers.
    const __m256 b0 = _mm256_loadu_ps(b);
    for (; i < spill_rows; ++i) {
      const __m256 ai = _mm256_set1_ps(a[i]);
      float* row = out + i * n;
      _mm256_storeu_ps(row, _mm256_add_ps(zero, _mm256_mul_ps(ai, b0)));
      _mm256_storeu_ps(row + 8, _mm256_add_ps(zero, _mm256_mul_ps(ai, b_tail)));
    }
  }
  for (; i < m; ++i) {
    const __m256 ai = _mm256_set1_ps(a[i]);
    float* row = out + i * n;
    for (int64_t j = 0; j < full; j += 8) {
      _mm256_storeu_ps(row + j, _mm256_add_ps(zero, _mm256_mul_ps(ai, _mm256_loadu_ps(b + j))));
    }
    if (i < spill_rows) {
      _mm256_storeu_ps(row + full, _mm256_add_ps(zero, _mm256_mul_ps(ai, b_tail)));
    } else {
      for (int64_t j = full; j < n; ++j) row[j] = 0.0f + a[i] * b[j];
    }
  }
}

// One 8-wide step of v += (0 + a b) * s on the products in (av, bv).
__attribute__((target("avx2"))) inline void ScaledAdd8(__m256 av, __m256 bv, __m256 s,
                                                       float* v) {
  const __m256 p = _mm256_add_ps(_mm256_setzero_ps(), _mm256_mul_ps(av, bv));
  _mm256_storeu_ps(v, _mm256_add_ps(_mm256_loadu_ps(v), _mm256_mul_ps(p, s)));
}

// Calls f(std::integral_constant<int, N>()) for a row length n = N below 16 other than 8, the
// lengths that the flat loops below handle; false for any other n.
template <typename F>
bool WithShortRowLength(int64_t n, F&& f) {
  switch (n) {
    case 1: f(std::integral_constant<int, 1>()); return true;
    case 2: f(std::integral_constant<int, 2>()); return true;
    case 3: f(std::integral_constant<int, 3>()); return true;
    case 4: f(std::integral_constant<int, 4>()); return true;
    case 5: f(std::integral_constant<int, 5>()); return true;
    case 6: f(std::integral_constant<int, 6>()); return true;
    case 7: f(std::integral_constant<int, 7>()); return true;
    case 9: f(std::integral_constant<int, 9>()); return true;
    case 10: f(std::integral_constant<int, 10>()); return true;
    case 11: f(std::integral_constant<int, 11>()); return true;
    case 12: f(std::integral_constant<int, 12>()); return true;
    case 13: f(std::integral_constant<int, 13>()); return true;
    case 14: f(std::integral_constant<int, 14>()); return true;
    case 15: f(std::integral_constant<int, 15>()); return true;
    default: return false;
  }
}

// A [rows, N] row-major matrix walked as one flat array, 8 values at a time: every kC = N /
// gcd(N, 8) vectors the pattern of row and column indices repeats, kR = 8 kC / N rows on.
template <int N>
struct ShortRows {
  static constexpr int kG = N % 4 == 0 ? 4 : N % 2 == 0 ? 2 : 1;
  static constexpr int kC = N / kG, kR = 8 / kG;
  // Lane l of vector c is in row (8 c + l) / N of its period and column (8 c + l) % N.
  static constexpr int Row(int c, int l) { return (8 * c + l) / N; }
  static constexpr int Column(int c, int l) { return (8 * c + l) % N; }
};

// ScaledOuterProductAdd for rows of N < 16 values, N not 8 (N = 10 for MNIST).
template <int N>
__attribute__((target("avx2"))) void ScaledOuterProductShortRows(const float* a, int64_t m,
                                                                  const float* b, float scale,
                                                                  float* v) {
  using P = ShortRows<N>;
  const __m256 s = _mm256_set1_ps(scale);
  __m256 b_pattern[P::kC];
  __m256i a_index[P::kC];
  for (int c = 0; c < P::kC; ++c) {
    alignas(32) float bs[8];
    alignas(32) int32_t rows[8];
    for (int l = 0; l < 8; ++l) {
      bs[l] = b[P::Column(c, l)];
      rows[l] = P::Row(c, l);
    }
    b_pattern[c] = _mm256_load_ps(bs);
    a_index[c] = _mm256_load_si256(reinterpret_cast<const __m256i*>(rows));
  }
  int64_t i = 0;
  for (; i + 8 <= m; i += P::kR) {  // A period reads a[i, i + 8): stay within a.
    const __m256 as = _mm256_loadu_ps(a + i);
    float* out = v + i * N;
#pragma GCC unroll 16  // Unrolled, the patterns stay in registers.
    for (int c = 0; c < P::kC; ++c) {
      ScaledAdd8(_mm256_permutevar8x32_ps(as, a_index[c]), b_pattern[c], s, out + 8 * c);
    }
  }
  for (; i < m; ++i) {
    for (int j = 0; j < N; ++j) v[i * N + j] += (0.0f + a[i] * b[j]) * scale;
  }
}

__attribute__((target("avx2"))) void ScaledOuterProductAddAvx2(const float* a, int64_t m,
                                                                const float* b, int64_t n,
                                                                float scale, float* v) {
  if (WithShortRowLength(n, [&](auto length) {
        ScaledOuterProductShortRows<decltype(length)::value>(a, m, b, scale, v);
      })) {
    return;
  }
  // Longer rows: 8 values at a time, then the row's tail one value at a time.
  const __m256 s = _mm256_set1_ps(scale);
  for (int64_t i = 0; i < m; ++i) {
    const __m256 ai = _mm256_set1_ps(a[i]);
    float* row = v + i * n;
    int64_t j = 0;
    for (; j + 8 <= n; j += 8) ScaledAdd8(ai, _mm256_loadu_ps(b + j), s, row + j);
    for (; j < n; ++j) row[j] += (0.0f + a[i] * b[j]) * scale;
  }
}

// Columns [0, width) of RowTimesMatrix from w and out on, width <= 8; a full block loads rows
// plainly, a narrower one through a mask.
template <bool kFull>
__attribute__((target("avx2,fma"))) void RowTimesColumns8(const float* x, const float* w,
                                                         int64_t k, int64_t n, int64_t width,
                                                         float* out) {
  alignas(32) int32_t lanes[8];
  for (int l = 0; l < 8; ++l) lanes[l] = l < width ? -1 : 0;
  const __m256i mask = _mm256_load_si256(reinterpret_cast<const __m256i*>(lanes));
  __m256 acc[8];
  for (__m256& a : acc) a = _mm256_setzero_ps();
  int64_t r = 0;
  for (; r + 8 <= k; r += 8) {
    for (int u = 0; u < 8; ++u) {
      const float* row = w + (r + u) * n;
      const __m256 wv = kFull ? _mm256_loadu_ps(row) : _mm256_maskload_ps(row, mask);
      acc[u] = _mm256_fmadd_ps(_mm256_set1_ps(x[r + u]), wv, acc[u]);
    }
  }
  for (int u = 0; r < k; ++r, ++u) {
    const __m256 wv = kFull ? _mm256_loadu_ps(w + r * n) : _mm256_maskload_ps(w + r * n, mask);
    acc[u] = _mm256_fmadd_ps(_mm256_set1_ps(x[r]), wv, acc[u]);
  }
  const __m256 sum = _mm256_add_ps(
      _mm256_add_ps(_mm256_add_ps(acc[0], acc[4]), _mm256_add_ps(acc[2], acc[6])),
      _mm256_add_ps(_mm256_add_ps(acc[1], acc[5]), _mm256_add_ps(acc[3], acc[7])));
  alignas(32) float lanes_out[8];
  _mm256_store_ps(lanes_out, sum);
  for (int64_t l = 0; l < width; ++l) out[l] = lanes_out[l];
}

// RowTimesMatrix for rows of N < 16 values, N not 8: each vector of w meets a permutation of
// the kR values of x loaded for its period. Two periods are summed apart when kC <= 5 (the
// registers allow it), to halve the dependent chains of multiply-adds.
template <int N>
__attribute__((target("avx2,fma"))) void RowTimesShortRows(const float* x, const float* w,
                                                          int64_t k, float* out) {
  using P = ShortRows<N>;
  constexpr int kSets = P::kC <= 5 ? 2 : 1;
  __m256i index[P::kC];
  for (int c = 0; c < P::kC; ++c) {
    alignas(32) int32_t rows[8];
    for (int l = 0; l < 8; ++l) rows[l] = P::Row(c, l);
    index[c] = _mm256_load_si256(reinterpret_cast<const __m256i*>(rows));
  }
  __m256 acc[kSets][P::kC];
  for (auto& set : acc) {
    for (__m256& a : set) a = _mm256_setzero_ps();
  }
  int64_t r = 0;
  // A period reads x[r, r + 8): stay within x.
  for (; r + (kSets - 1) * P::kR + 8 <= k; r += kSets * P::kR) {
#pragma GCC unroll 2
    for (int set = 0; set < kSets; ++set) {
      const __m256 xs = _mm256_loadu_ps(x + r + set * P::kR);
      const float* wr = w + (r + set * P::kR) * N;
#pragma GCC unroll 16  // Unrolled, the accumulators and indices stay in registers.
      for (int c = 0; c < P::kC; ++c) {
        acc[set][c] = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(xs, index[c]),
                                      _mm256_loadu_ps(wr + 8 * c), acc[set][c]);
      }
    }
  }
  float sums[N] = {};
  for (int c = 0; c < P::kC; ++c) {
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, kSets == 2 ? _mm256_add_ps(acc[0][c], acc[kSets - 1][c]) : acc[0][c]);
    for (int l = 0; l < 8; ++l) sums[P::Column(c, l)] += lanes[l];
  }
  for (; r < k; ++r) {
    for (int j = 0; j < N; ++j) sums[j] = std::fma(x[r], w[r * N + j], sums[j]);
  }
  for (int j = 0; j < N; ++j) out[j] = sums[j];
}

__attribute__((target("avx2,fma"))) void RowTimesMatrixAvx2(const float* x, const float* w,
                                                           int64_t k, int64_t n, float* out) {
  if (WithShortRowLength(n, [&](auto length) {
        RowTimesShortRows<decltype(length)::value>(x, w, k, out);
      })) {
    return;
  }
  // Longer rows: 8 columns at a time, each block down all k rows.
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) RowTimesColumns8<true>(x, w + j, k, n, 8, out + j);
  if (j < n) RowTimesColumns8<false>(x, w + j, k, n, n - j, out + j);
}

bool HasAvx2Fma() {
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
}

bool HasAvx2() {
  static const bool has = __builtin_cpu_supports("avx2");
  return has;
}
#endif

}  // namespace

void ScaledAddInPlace(float* v, const float* d, int64_t n, float scale) {
#if defined(__x86_64__)
  if (HasAvx2()) return ScaledAddAvx2(v, d, n, scale);
#endif
  ScaledAddScalar(v, d, n, scale);
}

void OuterProduct(const float* a, int64_t m, const float* b, int64_t n, float* out) {
#if defined(__x86_64__)
  if (HasAvx2()) return OuterProductAvx2(a, m, b, n, out);
#endif
  OuterProductScalar(a, m, b, n, out);
}

void ScaledOuterProductAdd(const float* a, int64_t m, const float* b, int64_t n, float scale,
                           float* v) {
#if defined(__x86_64__)
  if (HasAvx2()) return ScaledOuterProductAddAvx2(a, m, b, n, scale, v);
#endif
  ScaledOuterProductAddScalar(a, m, b, n, scale, v);
}

void RowTimesMatrix(const float* x, const float* w, int64_t k, int64_t n, float* out) {
#if defined(__x86_64__)
  if (HasAvx2Fma()) return RowTimesMatrixAvx2(x, w, k, n, out);
#endif
  RowTimesMatrixScalar(x, w, k, n, out);
}

namespace {

// Softmax (kLog false) or log-softmax (kLog true) of each row: the row's max subtracted, exp,
// then the sum's inverse multiplied (TensorFlow's softmax) or its log subtracted.
template <bool kLog>
void SoftmaxOfRows(const float* x, int64_t rows, int64_t cols, float* y) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* in = x + r * cols;
    float* out = y + r * cols;
    float max = in[0];
    for (int64_t j = 1; j < cols; ++j) max = std::max(max, in[j]);
    float sum = 0.0f;
    for (int64_t j = 0; j < cols; ++j) {
      const float e = std::exp(in[j] - max);
      sum += e;
      out[j] = kLog ? in[j] - max : e;
    }
    if (kLog) {
      const float log_sum = std::log(sum);
      for (int64_t j = 0; j < cols; ++j) out[j] -= log_sum;
    } else {
      const float inverse = 1.0f / sum;
      for (int64_t j = 0; j < cols; ++j) out[j] *= inverse;
    }
  }
}

}  // namespace

void SoftmaxRows(const float* x, int64_t rows, int64_t cols, float* y) {
  SoftmaxOfRows<false>(x, rows, cols, y);
}

void RowLogSoftmax(const float* x, int64_t rows, int64_t cols, float* y) {
  SoftmaxOfRows<true>(x, rows, cols, y);
}

void SoftmaxGradRows(const float* g, const float* y, int64_t rows, int64_t cols, float* out) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* gr = g + r * cols;
    const float* yr = y + r * cols;
    float dot = 0.0f;
    for (int64_t j = 0; j < cols; ++j) dot += gr[j] * yr[j];
    for (int64_t j = 0; j < cols; ++j) out[r * cols + j] = (gr[j] - dot) * yr[j];
  }
}

}  // namespace dflow
