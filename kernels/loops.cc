#include "kernels/loops.h"

#include <algorithm>
#include <cmath>

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

void SoftmaxRows(const float* x, int64_t rows, int64_t cols, float* y) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float m = xr[0];
    for (int64_t j = 1; j < cols; ++j) m = std::max(m, xr[j]);
    float sum = 0.0f;
    for (int64_t j = 0; j < cols; ++j) sum += yr[j] = std::exp(xr[j] - m);
    for (int64_t j = 0; j < cols; ++j) yr[j] /= sum;
  }
}

}  // namespace dflow
