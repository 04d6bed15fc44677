// The broadcasting loop of the element-wise kernels (numpy broadcasting of two operands into
// one output shape) and the wrapping integer arithmetic they and the reductions share.
#ifndef DFLOW_KERNELS_BROADCAST_H_
#define DFLOW_KERNELS_BROADCAST_H_

#include <cstdint>
#include <type_traits>

#include "absl/container/inlined_vector.h"
#include "graph/tensor.h"

namespace dflow {

// Float element-wise work on at most this many elements runs as a plain loop rather than a
// oneDNN primitive: a primitive call costs about 5,000 instructions (argument maps, heap
// allocations, dispatch) whatever its size; the broadcasting loop costs about 6 per element, so
// past a few hundred elements oneDNN's vector code wins (a 2-op chain on 1,000 did, in callgrind).
inline constexpr int64_t kLoopMaxElements = 256;

// Row-major strides of `shape` seen as the last dims of a rank-`rank` shape; 0 for missing
// leading dims and for dims of size 1 (so a broadcast dimension re-reads the same element).
// Per-dim strides, inline so that element-wise loops do not allocate.
using Strides = absl::InlinedVector<int64_t, 6>;

inline Strides BroadcastStrides(const TensorShape& shape, int rank) {
  Strides strides(rank, 0);
  int64_t stride = 1;
  for (int i = shape.dims() - 1; i >= 0; --i) {
    const int o = i + rank - shape.dims();
    strides[o] = shape.dim_size(i) == 1 ? 0 : stride;
    stride *= shape.dim_size(i);
  }
  return strides;
}

// Calls fn(i, oa, ob) for each element i of `shape` in row-major order, with oa and ob the
// offsets given by strides `sa` and `sb` (each of shape's rank).
template <typename Fn>
void ForEachIndex(const TensorShape& shape, const Strides& sa, const Strides& sb, Fn&& fn) {
  const int rank = shape.dims();
  const int64_t n = shape.num_elements();
  if (n == 0) return;
  if (rank == 0) {
    fn(int64_t{0}, int64_t{0}, int64_t{0});
    return;
  }
  const int64_t inner = shape.dim_size(rank - 1);
  const int64_t ia = sa[rank - 1], ib = sb[rank - 1];
  Strides idx(rank, 0);
  int64_t oa = 0, ob = 0;
  for (int64_t base = 0; base < n; base += inner) {
    for (int64_t j = 0; j < inner; ++j) fn(base + j, oa + j * ia, ob + j * ib);
    for (int d = rank - 2; d >= 0; --d) {
      oa += sa[d];
      ob += sb[d];
      if (++idx[d] < shape.dim_size(d)) break;
      oa -= sa[d] * shape.dim_size(d);
      ob -= sb[d] * shape.dim_size(d);
      idx[d] = 0;
    }
  }
}

// out[i] = op(a[.], b[.]) with numpy broadcasting of both operands to `out_shape`.
template <typename T, typename U, typename Op>
void BroadcastLoop(const Tensor& a, const Tensor& b, const TensorShape& out_shape, Tensor* out,
                   Op op) {
  const int rank = out_shape.dims();
  const T* pa = a.flat<T>().data();
  const T* pb = b.flat<T>().data();
  U* po = out->flat<U>().data();
  // The common cases need no index arithmetic: operands of the output's element count (equal
  // shapes, or shapes differing only by leading 1s), or one a single element.
  const int64_t n = out_shape.num_elements(), na = a.NumElements(), nb = b.NumElements();
  if ((na == n || na == 1) && (nb == n || nb == 1)) {
    const int64_t sa = na == n ? 1 : 0, sb = nb == n ? 1 : 0;
    for (int64_t i = 0; i < n; ++i) po[i] = op(pa[i * sa], pb[i * sb]);
    return;
  }
  ForEachIndex(out_shape, BroadcastStrides(a.shape(), rank), BroadcastStrides(b.shape(), rank),
               [&](int64_t i, int64_t ia, int64_t ib) { po[i] = op(pa[ia], pb[ib]); });
}

// Integer arithmetic wraps around (two's complement) instead of overflowing.
template <typename T, bool kIntegral = std::is_integral_v<T>>
struct WrapType { using type = T; };
template <typename T>
struct WrapType<T, true> { using type = std::make_unsigned_t<T>; };
template <typename T>
using Wide = typename WrapType<T>::type;
template <typename T>
T WrapAdd(T a, T b) { return static_cast<T>(static_cast<Wide<T>>(a) + static_cast<Wide<T>>(b)); }
template <typename T>
T WrapSub(T a, T b) { return static_cast<T>(static_cast<Wide<T>>(a) - static_cast<Wide<T>>(b)); }
template <typename T>
T WrapMul(T a, T b) { return static_cast<T>(static_cast<Wide<T>>(a) * static_cast<Wide<T>>(b)); }

}  // namespace dflow

#endif  // DFLOW_KERNELS_BROADCAST_H_
