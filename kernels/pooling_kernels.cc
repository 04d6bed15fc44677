// Kernels for the pooling ops: MaxPool, MaxPoolGrad, AvgPool and AvgPoolGrad, on NHWC images.
//
// MaxPool and AvgPool run loops over the windows (kernels/pool_loops.h), AvgPoolGrad
// pooling_backward. MaxPoolGrad is a loop over the windows that recomputes each window's argmax
// from orig_input (the first maximum in row-major order, TensorFlow's tie rule; padding never
// wins) and adds grad there. oneDNN's max-pooling backward would need the workspace of a
// forward_training run, i.e. the same recomputation, and leaves the tie rule to the
// implementation.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "graph/attr_value_util.h"
#include "graph/tensor.h"
#include "graph/status_macros.h"
#include "kernels/conv_util.h"
#include "kernels/dnnl_util.h"
#include "kernels/op_kernel.h"
#include "kernels/pool_loops.h"
#include "oneapi/dnnl/dnnl.hpp"
#include "ops/conv_ops.h"

namespace dflow {
namespace {

using conv::Window2D;
using dnnl::memory;

// ---------------------------------------------------------------------------------------------
// Pooling.

struct PoolGeometry : WindowedSize2D {
  int64_t n, h, w, c;

  CacheKey Key() const { return {n, h, w, c}; }
  TensorShape OutputShape() const { return TensorShape({n, oh, ow, c}); }
  memory::desc Src() const {
    return memory::desc({n, c, h, w}, memory::data_type::f32, memory::format_tag::nhwc);
  }
  memory::desc Dst() const {
    return memory::desc({n, c, oh, ow}, memory::data_type::f32, memory::format_tag::nhwc);
  }
};

absl::StatusOr<PoolGeometry> PoolGeometryOf(const Window2D& win, const TensorShape& input) {
  PoolGeometry g;
  g.n = input.dim_size(0);
  g.h = input.dim_size(1);
  g.w = input.dim_size(2);
  g.c = input.dim_size(3);
  DFLOW_ASSIGN_OR_RETURN(static_cast<WindowedSize2D&>(g),
                         WindowedSize2DOf(win, g.h, g.w, win.window_h, win.window_w, "window"));
  return g;
}

dnnl::pooling_forward::desc PoolForwardDesc(const PoolGeometry& g, const Window2D& win,
                                            dnnl::prop_kind kind, dnnl::algorithm algo) {
  return dnnl::pooling_forward::desc(kind, algo, g.Src(), g.Dst(), {win.stride_h, win.stride_w},
                                     {win.window_h, win.window_w}, {g.pad_top, g.pad_left},
                                     {g.pad_bottom, g.pad_right});
}

BlockedPool BlockedPoolOf(const PoolGeometry& g, const Window2D& win) {
  BlockedPool p;
  p.n = g.n;
  p.blocks = 1;
  p.block = g.c;
  p.h = g.h;
  p.w = g.w;
  p.oh = g.oh;
  p.ow = g.ow;
  p.window_h = win.window_h;
  p.window_w = win.window_w;
  p.stride_h = win.stride_h;
  p.stride_w = win.stride_w;
  p.pad_top = g.pad_top;
  p.pad_left = g.pad_left;
  return p;
}

class PoolKernelBase : public WindowKernel {
 public:
  explicit PoolKernelBase(const Node& node) : WindowKernel(node, conv::PoolAttrsOf) {}
};

// MaxPool and AvgPool: loops over NHWC as one block of all channels (kernels/pool_loops.h: a
// third to a quarter of oneDNN 2.6's pooling time).
template <bool kMax>
class PoolOp : public PoolKernelBase {
 public:
  using PoolKernelBase::PoolKernelBase;

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& input = ctx->input(0);
    DFLOW_RETURN_IF_ERROR(CheckImage(input, kMax ? "input" : "value", kImageLayout));
    DFLOW_ASSIGN_OR_RETURN(PoolGeometry g, PoolGeometryOf(window_, input.shape()));
    Tensor* out = ctx->allocate_output(0, g.OutputShape());
    // A non-empty output has a non-empty input: every window holds at least one input element.
    if (out->NumElements() == 0) return absl::OkStatus();
    const BlockedPool p = BlockedPoolOf(g, window_);
    const float* x = static_cast<const float*>(input.data());
    float* y = static_cast<float*>(out->data());
    kMax ? MaxPoolBlocked(p, x, y) : AvgPoolBlocked(p, x, y);
    return absl::OkStatus();
  }
};

using MaxPoolOp = PoolOp<true>;
using AvgPoolOp = PoolOp<false>;

// For each of c channels: where v > best (NaN never wins, as in MaxPool), best = v and
// cell = index. No branches: on real data the comparisons are unpredictable.
void TakeGreater(const float* v, int32_t index, int64_t c, float* best, int32_t* cell) {
  int64_t k = 0;
#if defined(__SSE2__)
  const __m128i at = _mm_set1_epi32(index);
  for (; k + 4 <= c; k += 4) {
    const __m128 x = _mm_loadu_ps(v + k), b = _mm_loadu_ps(best + k);
    const __m128i greater = _mm_castps_si128(_mm_cmpgt_ps(x, b));
    _mm_storeu_ps(best + k, _mm_max_ps(x, b));  // b when x is NaN.
    auto* cells = reinterpret_cast<__m128i*>(cell + k);
    _mm_storeu_si128(cells, _mm_or_si128(_mm_and_si128(greater, at),
                                         _mm_andnot_si128(greater, _mm_loadu_si128(cells))));
  }
#endif
  for (; k < c; ++k) {
    const int32_t greater = v[k] > best[k];
    best[k] = std::max(best[k], v[k]);
    cell[k] ^= (cell[k] ^ index) & -greater;
  }
}

// For each of c channels: out = grad where cell == index, else +0. Floats move as bits (a mask,
// not a product, so that an infinite gradient makes no NaN elsewhere).
void KeepWhere(const int32_t* cell, int32_t index, const uint32_t* grad, int64_t c,
               uint32_t* out) {
  int64_t k = 0;
#if defined(__SSE2__)
  const __m128i at = _mm_set1_epi32(index);
  for (; k + 4 <= c; k += 4) {
    const __m128i here =
        _mm_cmpeq_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(cell + k)), at);
    _mm_storeu_si128(
        reinterpret_cast<__m128i*>(out + k),
        _mm_and_si128(here, _mm_loadu_si128(reinterpret_cast<const __m128i*>(grad + k))));
  }
#endif
  for (; k < c; ++k) out[k] = grad[k] & -static_cast<uint32_t>(cell[k] == index);
}

// MaxPoolGrad: a loop over the windows (see the file comment).
class MaxPoolGradOp : public PoolKernelBase {
 public:
  using PoolKernelBase::PoolKernelBase;

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& x = ctx->input(0);
    const Tensor& y = ctx->input(1);
    const Tensor& dy = ctx->input(2);
    DFLOW_RETURN_IF_ERROR(CheckImage(x, "orig_input", kImageLayout));
    DFLOW_RETURN_IF_ERROR(CheckImage(y, "orig_output", kImageLayout));
    DFLOW_RETURN_IF_ERROR(CheckImage(dy, "grad", kImageLayout));
    DFLOW_ASSIGN_OR_RETURN(PoolGeometry g, PoolGeometryOf(window_, x.shape()));
    for (const auto& [t, what] : {std::pair<const Tensor*, const char*>{&y, "orig_output"},
                                  std::pair<const Tensor*, const char*>{&dy, "grad"}}) {
      if (t->shape() != g.OutputShape()) {
        return ctx->InvalidArgument(what, " has shape ", t->shape().DebugString(),
                                    " but MaxPool's output has shape ",
                                    g.OutputShape().DebugString());
      }
    }
    Tensor* out = ctx->allocate_output(0, x.shape());
    const bool disjoint = window_.stride_h == window_.window_h &&
                          window_.stride_w == window_.window_w && g.pad_top == 0 &&
                          g.pad_left == 0;
    // Disjoint windows write every element they cover; only the rest needs zeros first.
    if (!disjoint || g.oh * window_.window_h < g.h || g.ow * window_.window_w < g.w) {
      FillZero(out);
    }
    if (dy.NumElements() == 0) return absl::OkStatus();
    if (disjoint) {
      // Gradients move as bit patterns: a float is only ever copied or replaced by +0.
      DisjointWindows(g, x.flat<float>().data(),
                      reinterpret_cast<const uint32_t*>(dy.flat<float>().data()),
                      reinterpret_cast<uint32_t*>(out->flat<float>().data()));
      return absl::OkStatus();
    }
    const int64_t c = g.c;
    const float* xv = x.flat<float>().data();
    const float* gv = dy.flat<float>().data();
    float* dx = out->flat<float>().data();
    Scratch& scratch = ThreadScratch();
    scratch.best.resize(c);
    scratch.best_at.resize(c);
    float* best = scratch.best.data();
    int64_t* best_at = scratch.best_at.data();
    for (int64_t n = 0; n < g.n; ++n) {
      for (int64_t oh = 0; oh < g.oh; ++oh) {
        const int64_t h0 = oh * window_.stride_h - g.pad_top;
        const int64_t h_begin = std::max<int64_t>(h0, 0);
        const int64_t h_end = std::min(h0 + window_.window_h, g.h);
        for (int64_t ow = 0; ow < g.ow; ++ow) {
          const int64_t w0 = ow * window_.stride_w - g.pad_left;
          const int64_t w_begin = std::max<int64_t>(w0, 0);
          const int64_t w_end = std::min(w0 + window_.window_w, g.w);
          bool first = true;
          for (int64_t ih = h_begin; ih < h_end; ++ih) {
            for (int64_t iw = w_begin; iw < w_end; ++iw) {
              const int64_t base = ((n * g.h + ih) * g.w + iw) * c;
              if (first) {
                for (int64_t k = 0; k < c; ++k) {
                  best[k] = xv[base + k];
                  best_at[k] = base + k;
                }
                first = false;
                continue;
              }
              for (int64_t k = 0; k < c; ++k) {
                if (xv[base + k] > best[k]) {  // Strict: the first maximum keeps ties.
                  best[k] = xv[base + k];
                  best_at[k] = base + k;
                }
              }
            }
          }
          if (first) continue;  // An empty window (impossible with TF's padding rules).
          const float* grad = gv + ((n * g.oh + oh) * g.ow + ow) * c;
          for (int64_t k = 0; k < c; ++k) dx[best_at[k]] += grad[k];
        }
      }
    }
    return absl::OkStatus();
  }

 private:
  // Windows that tile the input without overlap or padding before them (the usual 2x2 pool of
  // stride 2): each covered element gets its window's gradient if it is the window's first
  // maximum, else 0, written directly instead of scattered into zeros, a window cell's channels
  // at a time.
  void DisjointWindows(const PoolGeometry& g, const float* xv, const uint32_t* gv,
                       uint32_t* dx) {
    const int64_t c = g.c;
    Scratch& scratch = ThreadScratch();
    scratch.best.resize(c);
    scratch.cell.resize(c);
    float* best = scratch.best.data();
    int32_t* cell = scratch.cell.data();
    for (int64_t n = 0; n < g.n; ++n) {
      for (int64_t oh = 0; oh < g.oh; ++oh) {
        const int64_t h_begin = oh * window_.window_h;
        const int64_t h_end = std::min(h_begin + window_.window_h, g.h);
        for (int64_t ow = 0; ow < g.ow; ++ow) {
          const int64_t w_begin = ow * window_.window_w;
          const int64_t w_end = std::min(w_begin + window_.window_w, g.w);
          auto at = [&](int64_t ih, int64_t iw) { return ((n * g.h + ih) * g.w + iw) * c; };
          const float* first = xv + at(h_begin, w_begin);
          for (int64_t k = 0; k < c; ++k) {
            best[k] = first[k];
            cell[k] = 0;
          }
          int32_t index = 0;  // Row-major within the window: ties keep the first.
          for (int64_t ih = h_begin; ih < h_end; ++ih) {
            for (int64_t iw = w_begin; iw < w_end; ++iw, ++index) {
              TakeGreater(xv + at(ih, iw), index, c, best, cell);
            }
          }
          const uint32_t* grad = gv + ((n * g.oh + oh) * g.ow + ow) * c;
          index = 0;
          for (int64_t ih = h_begin; ih < h_end; ++ih) {
            for (int64_t iw = w_begin; iw < w_end; ++iw, ++index) {
              KeepWhere(cell, index, grad, c, dx + at(ih, iw));
            }
          }
        }
      }
    }
  }

  // A call's per-channel state, per thread (concurrent runs share the kernel) and kept, so that
  // steady-state runs allocate nothing.
  struct Scratch {
    std::vector<float> best;       // Per channel: the window maximum so far ...
    std::vector<int64_t> best_at;  // ... and where it is (overlapping windows),
    std::vector<int32_t> cell;     // or which cell of the window it is in (disjoint ones).
  };
  static Scratch& ThreadScratch() {
    thread_local Scratch scratch;
    return scratch;
  }
};

// AvgPoolGrad: oneDNN pooling_backward (avg_exclude_padding).
class AvgPoolGradOp : public PoolKernelBase {
 public:
  using PoolKernelBase::PoolKernelBase;

  absl::Status Compute(OpKernelContext* ctx) override {
    DFLOW_ASSIGN_OR_RETURN(TensorShape input_shape, SizesShape(ctx->input(0), "orig_input_shape"));
    const Tensor& dy = ctx->input(1);
    DFLOW_RETURN_IF_ERROR(CheckImage(dy, "grad", kImageLayout));
    DFLOW_ASSIGN_OR_RETURN(PoolGeometry g, PoolGeometryOf(window_, input_shape));
    if (dy.shape() != g.OutputShape()) {
      return ctx->InvalidArgument("grad has shape ", dy.shape().DebugString(),
                                  " but AvgPool's output has shape ",
                                  g.OutputShape().DebugString());
    }
    Tensor* out = ctx->allocate_output(0, input_shape);
    if (out->NumElements() == 0) return absl::OkStatus();
    if (dy.NumElements() == 0) {
      FillZero(out);
      return absl::OkStatus();
    }
    ShapeCache<Entry>::Lease e = cache_.Get(g.Key(), [&] {
      auto entry = std::make_unique<Entry>();
      const dnnl::algorithm algo = dnnl::algorithm::pooling_avg_exclude_padding;
      dnnl::pooling_forward::primitive_desc hint(
          PoolForwardDesc(g, window_, dnnl::prop_kind::forward_training, algo),
          ctx->engine());
      dnnl::pooling_backward::primitive_desc pd(
          dnnl::pooling_backward::desc(algo, g.Src(), g.Dst(),
                                       {window_.stride_h, window_.stride_w},
                                       {window_.window_h, window_.window_w},
                                       {g.pad_top, g.pad_left}, {g.pad_bottom, g.pad_right}),
          KernelAttr(), ctx->engine(), hint);
      entry->prim = Primitive(pd);
      entry->diff_dst = memory(pd.diff_dst_desc(), ctx->engine(), nullptr);
      entry->diff_src = memory(pd.diff_src_desc(), ctx->engine(), nullptr);
      return entry;
    });
    RunPrimitive(e->prim, ctx->stream(),
                 {{DNNL_ARG_DIFF_DST, e->diff_dst, dy.data()},
                  {DNNL_ARG_DIFF_SRC, e->diff_src, out->data()}});
    return absl::OkStatus();
  }

 private:
  struct Entry {
    Primitive prim;
    memory diff_dst, diff_src;
  };
  ShapeCache<Entry> cache_;
};

REGISTER_KERNEL("MaxPool", MaxPoolOp, "T", {DT_FLOAT});
REGISTER_KERNEL("MaxPoolGrad", MaxPoolGradOp, "T", {DT_FLOAT});
REGISTER_KERNEL("AvgPool", AvgPoolOp, "T", {DT_FLOAT});
REGISTER_KERNEL("AvgPoolGrad", AvgPoolGradOp, "T", {DT_FLOAT});

}  // namespace
}  // namespace dflow
