// Kernels for the image resizing ops, plain loops over NHWC images written after TensorFlow's
// coordinate rules (its image_resizer_state): source coordinate in = out * scale (legacy) or
// (out + 0.5) * scale - 0.5 (half_pixel_centers; nearest neighbour drops the -0.5), scale from
// resize::Scale. oneDNN's resampling primitive only knows half-pixel centers, so it is not used.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "absl/status/status.h"
#include "graph/status_macros.h"
#include "graph/tensor.h"
#include "graph/types.h"
#include "kernels/op_kernel.h"
#include "ops/image_ops.h"

namespace dflow {
namespace {

class ResizeKernel : public OpKernel {
 public:
  explicit ResizeKernel(const Node& node) : OpKernel(node) {
    absl::Status s = GetNodeAttr(node, "align_corners", &align_corners_);
    if (s.ok()) s = GetNodeAttr(node, "half_pixel_centers", &half_pixel_centers_);
    if (s.ok() && align_corners_ && half_pixel_centers_) {
      s = absl::InvalidArgumentError(
          "If half_pixel_centers is True, align_corners must be False.");
    }
    if (!s.ok()) SetConstructionError(s);
  }

 protected:
  // A 4-D image with non-empty height, width and channels, named `what`.
  static absl::Status CheckImage(const Tensor& t, absl::string_view what) {
    if (!t.IsInitialized()) return CheckInput(t, what, DT_FLOAT);
    if (t.dims() != 4) {
      return OpKernelContext::InvalidArgument(
          what, " must be 4-D [batch, height, width, channels] but has shape ",
          t.shape().DebugString());
    }
    if (t.dim_size(1) == 0 || t.dim_size(2) == 0) {
      return OpKernelContext::InvalidArgument(what, " must be of non-zero size but has shape ",
                                              t.shape().DebugString());
    }
    if (t.dim_size(3) == 0) {
      return OpKernelContext::InvalidArgument(what, " must have at least one channel");
    }
    constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
    if (t.dim_size(1) > kMax || t.dim_size(2) > kMax) {
      return OpKernelContext::InvalidArgument(what, " ", t.shape().DebugString(),
                                              " is too large");
    }
    return absl::OkStatus();
  }

  // The positive {height, width} of a size input (int32 [2]).
  static absl::StatusOr<std::pair<int64_t, int64_t>> Size(const Tensor& t) {
    DFLOW_RETURN_IF_ERROR(CheckInput(t, "size", DT_INT32, 1));
    if (t.dim_size(0) != 2) {
      return OpKernelContext::InvalidArgument("size must have 2 elements {height, width} but has ",
                                              t.dim_size(0));
    }
    const int32_t h = t.flat<int32_t>()[0], w = t.flat<int32_t>()[1];
    if (h <= 0 || w <= 0) {
      return OpKernelContext::InvalidArgument("output dimensions must be positive but size is [",
                                              h, ", ", w, "]");
    }
    return std::make_pair(int64_t{h}, int64_t{w});
  }

  // A forward op's sizes and output: image input 0 [n, h, w, c] resized to [n, oh, ow, c] by
  // size input 1.
  struct Resize {
    int64_t n, h, w, c, oh, ow;
    Tensor* out;
  };
  static absl::StatusOr<Resize> StartResize(OpKernelContext* ctx) {
    const Tensor& x = ctx->input(0);
    DFLOW_RETURN_IF_ERROR(CheckImage(x, "input"));
    DFLOW_ASSIGN_OR_RETURN(auto size, Size(ctx->input(1)));
    Resize r{x.dim_size(0), x.dim_size(1), x.dim_size(2), x.dim_size(3), size.first, size.second,
             nullptr};
    r.out = ctx->allocate_output(0, TensorShape({r.n, r.oh, r.ow, r.c}));
    return r;
  }

  bool align_corners_ = false;
  bool half_pixel_centers_ = false;
};

// One output coordinate's two source rows (or columns) and the weight of the second.
struct Tap {
  int64_t lower, upper;
  float lerp;
};

// The taps of `out` coordinates resized from `in`, the forward op's and its gradient's.
std::vector<Tap> BilinearTaps(int64_t out, int64_t in, bool align_corners, bool half_pixel) {
  const float scale = resize::Scale(in, out, align_corners);
  std::vector<Tap> taps(out);
  for (int64_t i = 0; i < out; ++i) {
    const float src = half_pixel ? (static_cast<float>(i) + 0.5f) * scale - 0.5f
                                 : static_cast<float>(i) * scale;
    const float f = std::floor(src);
    taps[i].lower = std::max<int64_t>(static_cast<int64_t>(f), 0);
    taps[i].upper = std::min<int64_t>(static_cast<int64_t>(std::ceil(src)), in - 1);
    taps[i].lerp = src - f;
  }
  return taps;
}

// Calls fn(b, ty, tx, ch) for every output element of a bilinear resize, in NHWC order; the
// forward op and its gradient walk the same taps.
template <typename Fn>
void ForEachBilinearTap(int64_t n, int64_t c, const std::vector<Tap>& ys,
                        const std::vector<Tap>& xs, Fn fn) {
  for (int64_t b = 0; b < n; ++b)
    for (const Tap& ty : ys)
      for (const Tap& tx : xs)
        for (int64_t ch = 0; ch < c; ++ch) fn(b, ty, tx, ch);
}

// The source index of output i for nearest neighbour.
int64_t NearestSource(int64_t i, int64_t in, float scale, bool align_corners, bool half_pixel) {
  const float src = half_pixel ? (static_cast<float>(i) + 0.5f) * scale
                               : static_cast<float>(i) * scale;
  int64_t j = static_cast<int64_t>(align_corners ? std::round(src) : std::floor(src));
  j = std::min(j, in - 1);
  return half_pixel ? std::max<int64_t>(j, 0) : j;
}

class ResizeBilinearOp : public ResizeKernel {
 public:
  using ResizeKernel::ResizeKernel;

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& x = ctx->input(0);
    DFLOW_ASSIGN_OR_RETURN(Resize sizes, StartResize(ctx));
    const int64_t n = sizes.n, h = sizes.h, w = sizes.w, c = sizes.c;
    const int64_t oh = sizes.oh, ow = sizes.ow;
    Tensor* out = sizes.out;
    const std::vector<Tap> ys = BilinearTaps(oh, h, align_corners_, half_pixel_centers_);
    const std::vector<Tap> xs = BilinearTaps(ow, w, align_corners_, half_pixel_centers_);
    float* y = out->flat<float>().data();
    VisitDataType(x.dtype(), [&](auto zero) {
      using T = decltype(zero);
      const T* in = x.flat<T>().data();
      auto at = [&](int64_t b, int64_t r, int64_t col, int64_t ch) {
        return static_cast<float>(in[((b * h + r) * w + col) * c + ch]);
      };
      ForEachBilinearTap(n, c, ys, xs, [&](int64_t b, const Tap& ty, const Tap& tx, int64_t ch) {
        const float tl = at(b, ty.lower, tx.lower, ch), tr = at(b, ty.lower, tx.upper, ch);
        const float bl = at(b, ty.upper, tx.lower, ch), br = at(b, ty.upper, tx.upper, ch);
        const float top = tl + (tr - tl) * tx.lerp;
        const float bottom = bl + (br - bl) * tx.lerp;
        *y++ = top + (bottom - top) * ty.lerp;
      });
    });
    return absl::OkStatus();
  }
};

class ResizeBilinearGradOp : public ResizeKernel {
 public:
  using ResizeKernel::ResizeKernel;

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& grads = ctx->input(0);
    const Tensor& original = ctx->input(1);
    DFLOW_RETURN_IF_ERROR(CheckInput(grads, "grads", DT_FLOAT));
    DFLOW_RETURN_IF_ERROR(CheckImage(grads, "grads"));
    DFLOW_RETURN_IF_ERROR(CheckInput(original, "original_image", DT_FLOAT));
    DFLOW_RETURN_IF_ERROR(CheckImage(original, "original_image"));
    const int64_t n = grads.dim_size(0), oh = grads.dim_size(1), ow = grads.dim_size(2),
                  c = grads.dim_size(3);
    const int64_t h = original.dim_size(1), w = original.dim_size(2);
    if (original.dim_size(0) != n || original.dim_size(3) != c) {
      return OpKernelContext::InvalidArgument(
          "grads ", grads.shape().DebugString(), " and original_image ",
          original.shape().DebugString(), " must agree on the batch and channel dimensions");
    }
    Tensor* out = ctx->allocate_output(0, original.shape());
    float* dx = out->flat<float>().data();
    std::fill(dx, dx + out->NumElements(), 0.0f);
    const std::vector<Tap> ys = BilinearTaps(oh, h, align_corners_, half_pixel_centers_);
    const std::vector<Tap> xs = BilinearTaps(ow, w, align_corners_, half_pixel_centers_);
    const float* g = grads.flat<float>().data();
    auto at = [&](int64_t b, int64_t r, int64_t col, int64_t ch) -> float& {
      return dx[((b * h + r) * w + col) * c + ch];
    };
    ForEachBilinearTap(n, c, ys, xs, [&](int64_t b, const Tap& ty, const Tap& tx, int64_t ch) {
      const float v = *g++;
      at(b, ty.lower, tx.lower, ch) += v * (1 - ty.lerp) * (1 - tx.lerp);
      at(b, ty.lower, tx.upper, ch) += v * (1 - ty.lerp) * tx.lerp;
      at(b, ty.upper, tx.lower, ch) += v * ty.lerp * (1 - tx.lerp);
      at(b, ty.upper, tx.upper, ch) += v * ty.lerp * tx.lerp;
    });
    return absl::OkStatus();
  }
};

class ResizeNearestNeighborOp : public ResizeKernel {
 public:
  using ResizeKernel::ResizeKernel;

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& x = ctx->input(0);
    DFLOW_ASSIGN_OR_RETURN(Resize sizes, StartResize(ctx));
    const int64_t n = sizes.n, h = sizes.h, w = sizes.w, c = sizes.c;
    const int64_t oh = sizes.oh, ow = sizes.ow;
    Tensor* out = sizes.out;
    const float sy = resize::Scale(h, oh, align_corners_);
    const float sx = resize::Scale(w, ow, align_corners_);
    std::vector<int64_t> cols(ow);
    for (int64_t j = 0; j < ow; ++j) {
      cols[j] = NearestSource(j, w, sx, align_corners_, half_pixel_centers_);
    }
    VisitDataType(x.dtype(), [&](auto zero) {
      using T = decltype(zero);
      const T* in = x.flat<T>().data();
      T* y = out->flat<T>().data();
      for (int64_t b = 0; b < n; ++b)
        for (int64_t i = 0; i < oh; ++i) {
          const int64_t r = NearestSource(i, h, sy, align_corners_, half_pixel_centers_);
          for (int64_t j = 0; j < ow; ++j) {
            const T* src = in + ((b * h + r) * w + cols[j]) * c;
            y = std::copy(src, src + c, y);
          }
        }
    });
    return absl::OkStatus();
  }
};

class ResizeNearestNeighborGradOp : public ResizeKernel {
 public:
  using ResizeKernel::ResizeKernel;

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& grads = ctx->input(0);
    if (!grads.IsInitialized() || grads.dims() != 4) {
      return OpKernelContext::InvalidArgument(
          "grads must be 4-D [batch, height, width, channels] but has shape ",
          grads.shape().DebugString());
    }
    DFLOW_ASSIGN_OR_RETURN(auto size, Size(ctx->input(1)));
    // The forward op's input is [n, h, w, c], its output (grads) [n, gh, gw, c].
    const int64_t n = grads.dim_size(0), gh = grads.dim_size(1), gw = grads.dim_size(2),
                  c = grads.dim_size(3);
    const int64_t h = size.first, w = size.second;
    Tensor* out = ctx->allocate_output(0, TensorShape({n, h, w, c}));
    const float sy = resize::Scale(h, gh, align_corners_);
    const float sx = resize::Scale(w, gw, align_corners_);
    VisitDataType(grads.dtype(), [&](auto zero) {
      using T = decltype(zero);
      T* dx = out->flat<T>().data();
      std::fill(dx, dx + out->NumElements(), T{});
      const T* g = grads.flat<T>().data();
      for (int64_t b = 0; b < n; ++b)
        for (int64_t i = 0; i < gh; ++i) {
          const int64_t r = NearestSource(i, h, sy, align_corners_, half_pixel_centers_);
          for (int64_t j = 0; j < gw; ++j) {
            const int64_t col = NearestSource(j, w, sx, align_corners_, half_pixel_centers_);
            T* dst = dx + ((b * h + r) * w + col) * c;
            for (int64_t ch = 0; ch < c; ++ch) dst[ch] += *g++;
          }
        }
    });
    return absl::OkStatus();
  }
};

REGISTER_KERNEL("ResizeBilinear", ResizeBilinearOp, "T",
                {DT_UINT8, DT_INT32, DT_INT64, DT_FLOAT, DT_DOUBLE});
REGISTER_KERNEL("ResizeBilinearGrad", ResizeBilinearGradOp, "T", {DT_FLOAT});
REGISTER_KERNEL("ResizeNearestNeighbor", ResizeNearestNeighborOp, "T",
                {DT_UINT8, DT_INT32, DT_INT64, DT_FLOAT, DT_DOUBLE});
REGISTER_KERNEL("ResizeNearestNeighborGrad", ResizeNearestNeighborGradOp, "T",
                {DT_INT32, DT_FLOAT, DT_DOUBLE});

}  // namespace
}  // namespace dflow
