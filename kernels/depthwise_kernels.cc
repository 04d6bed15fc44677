// Kernels for DepthwiseConv2dNative and its backprops: oneDNN grouped convolutions with one group
// per input channel. Images are NHWC; the [KH, KW, C, M] filter is oneDNN's grouped weights
// {G = C, OC = M, IC = 1, KH, KW} in format_tag::hwigo, reordered (with the primitive's own
// reorder, built with it) into the layout the primitive picked. Built once per shape.
#include <algorithm>
#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "graph/status_macros.h"
#include "graph/tensor.h"
#include "kernels/conv_util.h"
#include "kernels/dnnl_util.h"
#include "kernels/fused_post_ops.h"
#include "kernels/op_kernel.h"
#include "oneapi/dnnl/dnnl.hpp"
#include "ops/depthwise_ops.h"

namespace dflow {
namespace {

using conv::DepthwiseWindow;
using dnnl::memory;

constexpr absl::string_view kDepthwiseFilterLayout =
    "[height, width, in_channels, channel_multiplier]";

// The sizes of one depthwise convolution.
struct Geometry : WindowedSize2D {
  int64_t n, h, w, c, kh, kw, m;

  CacheKey Key() const { return {n, h, w, c, kh, kw, m}; }
  TensorShape InputShape() const { return TensorShape({n, h, w, c}); }
  TensorShape OutputShape() const { return TensorShape({n, oh, ow, c * m}); }
  memory::desc Src() const { return Desc({n, c, h, w}, memory::format_tag::nhwc); }
  memory::desc Dst() const { return Desc({n, c * m, oh, ow}, memory::format_tag::nhwc); }
  memory::desc UserWeights() const { return Desc({c, m, 1, kh, kw}, memory::format_tag::hwigo); }
  memory::desc AnyWeights() const { return Desc({c, m, 1, kh, kw}, memory::format_tag::any); }

 private:
  static memory::desc Desc(const memory::dims& dims, memory::format_tag tag) {
    return memory::desc(dims, memory::data_type::f32, tag);
  }
};

absl::StatusOr<Geometry> GeometryOf(const DepthwiseWindow& win, const TensorShape& input,
                                    const TensorShape& filter) {
  Geometry g;
  g.n = input.dim_size(0);
  g.h = input.dim_size(1);
  g.w = input.dim_size(2);
  g.c = input.dim_size(3);
  g.kh = filter.dim_size(0);
  g.kw = filter.dim_size(1);
  g.m = filter.dim_size(3);
  if (filter.dim_size(2) != g.c) {
    return OpKernelContext::InvalidArgument(
        "the input's depth (dimension 3 of ", input.DebugString(),
        ") must equal the filter's in_channels (dimension 2 of ", filter.DebugString(), "): ",
        g.c, " vs. ", filter.dim_size(2));
  }
  conv::Window2D w2;
  w2.stride_h = win.stride_h;
  w2.stride_w = win.stride_w;
  w2.padding = win.padding;
  // An empty filter (checked by the caller) still gets a 1-tap window for the output size.
  const int64_t wh = std::max<int64_t>(1, DepthwiseWindow::Effective(g.kh, win.dilation_h));
  const int64_t ww = std::max<int64_t>(1, DepthwiseWindow::Effective(g.kw, win.dilation_w));
  DFLOW_ASSIGN_OR_RETURN(static_cast<WindowedSize2D&>(g),
                         WindowedSize2DOf(w2, g.h, g.w, wh, ww, "filter"));
  return g;
}

class DepthwiseKernel : public OpKernel {
 public:
  explicit DepthwiseKernel(const Node& node) : OpKernel(node) {
    absl::StatusOr<DepthwiseWindow> w = conv::DepthwiseAttrsOf(node);
    if (w.ok()) {
      window_ = *w;
    } else {
      SetConstructionError(w.status());
    }
  }

 protected:
  memory::dims Strides() const { return {window_.stride_h, window_.stride_w}; }
  // oneDNN counts dilation from 0 (no dilation).
  memory::dims Dilates() const { return {window_.dilation_h - 1, window_.dilation_w - 1}; }
  static memory::dims PadL(const Geometry& g) { return {g.pad_top, g.pad_left}; }
  static memory::dims PadR(const Geometry& g) { return {g.pad_bottom, g.pad_right}; }

  dnnl::convolution_forward::desc ForwardDesc(const Geometry& g, dnnl::prop_kind kind) const {
    return dnnl::convolution_forward::desc(kind, dnnl::algorithm::convolution_direct, g.Src(),
                                           g.AnyWeights(), g.Dst(), Strides(), Dilates(),
                                           PadL(g), PadR(g));
  }

  DepthwiseWindow window_;
};

// DepthwiseConv2dNative, and with `fused` _FusedDepthwiseConv2dNative: a bias (input 2) and
// an activation as a post-op (ops/fused_ops.h).
class DepthwiseConv2dNativeOp : public DepthwiseKernel {
 public:
  explicit DepthwiseConv2dNativeOp(const Node& node, bool fused = false)
      : DepthwiseKernel(node), fused_(fused) {
    if (!fused) return;
    absl::StatusOr<fused::PostOps> post = PostOpsOf(node);
    if (post.ok()) {
      post_ = *post;
    } else if (construction_status().ok()) {
      SetConstructionError(post.status());
    }
  }

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& input = ctx->input(0);
    const Tensor& filter = ctx->input(1);
    DFLOW_RETURN_IF_ERROR(CheckImage(input, "input", kImageLayout));
    DFLOW_RETURN_IF_ERROR(CheckImage(filter, "filter", kDepthwiseFilterLayout));
    DFLOW_ASSIGN_OR_RETURN(Geometry g, GeometryOf(window_, input.shape(), filter.shape()));
    const Tensor* bias = fused_ ? &ctx->input(2) : nullptr;
    if (bias != nullptr) {
      DFLOW_RETURN_IF_ERROR(CheckBias(*bias, g.c * g.m, "output's channel count"));
    }
    Tensor* out = ctx->allocate_output(0, g.OutputShape());
    if (out->NumElements() == 0) return absl::OkStatus();
    if (input.NumElements() == 0 || filter.NumElements() == 0) {
      bias != nullptr ? FillWithBias(*bias, post_, out) : FillZero(out);
      return absl::OkStatus();
    }
    ShapeCache<FilterConvEntry>::Lease e = cache_.Get(g.Key(), [&] {
      const memory::desc bias_md({g.c * g.m}, memory::data_type::f32, memory::format_tag::a);
      const dnnl::prop_kind kind = dnnl::prop_kind::forward_inference;
      dnnl::convolution_forward::primitive_desc pd(
          bias != nullptr
              ? dnnl::convolution_forward::desc(kind, dnnl::algorithm::convolution_direct,
                                                g.Src(), g.AnyWeights(), bias_md, g.Dst(),
                                                Strides(), Dilates(), PadL(g), PadR(g))
              : ForwardDesc(g, kind),
          KernelAttr(PostOpsAttr(post_)), ctx->engine());
      std::unique_ptr<FilterConvEntry> entry = MakeFilterConvEntry(
          pd, pd.src_desc(), pd.dst_desc(), g.UserWeights(), ctx->engine());
      entry->bias = memory(bias_md, ctx->engine(), nullptr);
      return entry;
    });
    RunFilterConv(*e, ctx->stream(), DNNL_ARG_SRC, input.data(), filter, DNNL_ARG_DST,
                  out->data(), bias);
    return absl::OkStatus();
  }

 private:
  const bool fused_;
  fused::PostOps post_;  // No activation unless fused.
  ShapeCache<FilterConvEntry> cache_;
};

class FusedDepthwiseConv2dNativeOp : public DepthwiseConv2dNativeOp {
 public:
  explicit FusedDepthwiseConv2dNativeOp(const Node& node) : DepthwiseConv2dNativeOp(node, true) {}
};

class DepthwiseBackpropInputOp : public DepthwiseKernel {
 public:
  using DepthwiseKernel::DepthwiseKernel;

  absl::Status Compute(OpKernelContext* ctx) override {
    DFLOW_ASSIGN_OR_RETURN(BackpropStart<Geometry> start,
                           StartInputGrad(ctx, window_, GeometryOf, kDepthwiseFilterLayout));
    if (start.out == nullptr) return absl::OkStatus();
    const Geometry& g = start.g;
    const Tensor& filter = ctx->input(1);
    const Tensor& dy = ctx->input(2);
    Tensor* out = start.out;
    ShapeCache<FilterConvEntry>::Lease e = cache_.Get(g.Key(), [&] {
      dnnl::convolution_forward::primitive_desc hint(
          ForwardDesc(g, dnnl::prop_kind::forward_training), ctx->engine());
      dnnl::convolution_backward_data::primitive_desc pd(
          dnnl::convolution_backward_data::desc(dnnl::algorithm::convolution_direct, g.Src(),
                                                g.AnyWeights(), g.Dst(), Strides(), Dilates(),
                                                PadL(g), PadR(g)),
          KernelAttr(), ctx->engine(), hint);
      return MakeFilterConvEntry(pd, pd.diff_dst_desc(), pd.diff_src_desc(), g.UserWeights(),
                                 ctx->engine());
    });
    RunFilterConv(*e, ctx->stream(), DNNL_ARG_DIFF_DST, dy.data(), filter, DNNL_ARG_DIFF_SRC,
                  out->data());
    return absl::OkStatus();
  }

 private:
  ShapeCache<FilterConvEntry> cache_;
};

class DepthwiseBackpropFilterOp : public DepthwiseKernel {
 public:
  using DepthwiseKernel::DepthwiseKernel;

  absl::Status Compute(OpKernelContext* ctx) override {
    DFLOW_ASSIGN_OR_RETURN(BackpropStart<Geometry> start,
                           StartFilterGrad(ctx, window_, GeometryOf));
    if (start.out == nullptr) return absl::OkStatus();
    const Geometry& g = start.g;
    const Tensor& input = ctx->input(0);
    const Tensor& dy = ctx->input(2);
    Tensor* out = start.out;
    ShapeCache<FilterGradEntry>::Lease e = cache_.Get(g.Key(), [&] {
      dnnl::convolution_forward::primitive_desc hint(
          ForwardDesc(g, dnnl::prop_kind::forward_training), ctx->engine());
      dnnl::convolution_backward_weights::primitive_desc pd(
          dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, g.Src(),
                                                   g.AnyWeights(), g.Dst(), Strides(), Dilates(),
                                                   PadL(g), PadR(g)),
          KernelAttr(), ctx->engine(), hint);
      return MakeFilterGradEntry(pd, g.UserWeights(), ctx->engine());
    });
    RunFilterGrad(*e, ctx->stream(), input, dy, out);
    return absl::OkStatus();
  }

 private:
  ShapeCache<FilterGradEntry> cache_;
};

REGISTER_KERNEL("DepthwiseConv2dNative", DepthwiseConv2dNativeOp, "T", {DT_FLOAT});
REGISTER_KERNEL("_FusedDepthwiseConv2dNative", FusedDepthwiseConv2dNativeOp, "T", {DT_FLOAT});
REGISTER_KERNEL("DepthwiseConv2dNativeBackpropInput", DepthwiseBackpropInputOp, "T", {DT_FLOAT});
REGISTER_KERNEL("DepthwiseConv2dNativeBackpropFilter", DepthwiseBackpropFilterOp, "T",
                {DT_FLOAT});

}  // namespace
}  // namespace dflow
