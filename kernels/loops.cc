#include "kernels/loops.h"

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
  // A row's last n % 8 values go through one masked store (rows are often short: n = 10).
  const int64_t full = n / 8 * 8;
  const int rem = static_cast<int>(n - full);
  const __m256i mask =
      _mm256_cmpgt_epi32(_mm256_set1_epi32(rem), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  const __m256 b_tail = rem > 0 ? _mm256_maskload_ps(b + full, mask) : zero;
  for (int64_t i = 0; i < m; ++i) {
    const __m256 ai = _mm256_set1_ps(a[i]);
    float* row = out + i * n;
    for (int64_t j = 0; j < full; j += 8) {
      _mm256_storeu_ps(row + j, _mm256_add_ps(zero, _mm256_mul_ps(ai, _mm256_loadu_ps(b + j))));
    }
    if (rem > 0) {
      _mm256_maskstore_ps(row + full, mask, _mm256_add_ps(zero, _mm256_mul_ps(ai, b_tail)));
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

}  // namespace dflow
