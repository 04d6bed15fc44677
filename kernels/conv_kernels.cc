// Kernels for the convolution ops: Conv2D, Conv2DBackpropInput and Conv2DBackpropFilter.
//
// Images are NHWC and filters HWIO, described to oneDNN as format_tag::nhwc and format_tag::hwio
// (oneDNN's dims are {N, C, H, W} and {OC, IC, KH, KW}). The convolutions let oneDNN choose the
// weights layout (format_tag::any) and reorder the HWIO filter into it (or the gradient out of
// it) with a reorder primitive built together with the convolution; images stay NHWC, which
// oneDNN's convolutions read directly. Everything is built once per input shape; a call only
// sets data handles and executes.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "graph/attr_value_util.h"
#include "graph/tensor.h"
#include "graph/status_macros.h"
#include "kernels/conv_util.h"
#include "kernels/dnnl_util.h"
#include "kernels/op_kernel.h"
#include "oneapi/dnnl/dnnl.hpp"
#include "ops/conv_ops.h"

namespace dflow {
namespace {

using conv::Window2D;
using dnnl::memory;

// ---------------------------------------------------------------------------------------------
// Convolutions.

// The forward convolution's descriptor (weights layout left to oneDNN).
dnnl::convolution_forward::desc ForwardDesc(const ConvGeometry& g, const Window2D& win,
                                            dnnl::prop_kind kind) {
  return dnnl::convolution_forward::desc(
      kind, dnnl::algorithm::convolution_direct, g.Src(), g.AnyWeights(), g.Dst(),
      {win.stride_h, win.stride_w}, {g.pad_top, g.pad_left}, {g.pad_bottom, g.pad_right});
}

class ConvKernelBase : public WindowKernel {
 public:
  explicit ConvKernelBase(const Node& node) : WindowKernel(node, conv::Conv2DAttrsOf) {}
};

class Conv2DOp : public ConvKernelBase {
 public:
  using ConvKernelBase::ConvKernelBase;

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& input = ctx->input(0);
    const Tensor& filter = ctx->input(1);
    DFLOW_RETURN_IF_ERROR(CheckImage(input, "input", kImageLayout));
    DFLOW_RETURN_IF_ERROR(CheckImage(filter, "filter", kFilterLayout));
    DFLOW_ASSIGN_OR_RETURN(ConvGeometry g, ConvGeometryOf(window_, input.shape(), filter.shape()));
    Tensor* out = ctx->allocate_output(0, g.OutputShape());
    if (out->NumElements() == 0) return absl::OkStatus();
    if (input.NumElements() == 0 || filter.NumElements() == 0) {  // No input channels.
      FillZero(out);
      return absl::OkStatus();
    }
    ShapeCache<FilterConvEntry>::Lease e = cache_.Get(g.Key(), [&] {
      dnnl::convolution_forward::primitive_desc pd(
          ForwardDesc(g, window_, dnnl::prop_kind::forward_inference), KernelAttr(), ctx->engine());
      return MakeFilterConvEntry(pd, pd.src_desc(), pd.dst_desc(), g.UserWeights(), ctx->engine());
    });
    RunFilterConv(*e, ctx->stream(), DNNL_ARG_SRC, input.data(), filter, DNNL_ARG_DST,
                  out->data());
    return absl::OkStatus();
  }

 private:
  ShapeCache<FilterConvEntry> cache_;
};

class Conv2DBackpropInputOp : public ConvKernelBase {
 public:
  using ConvKernelBase::ConvKernelBase;

  absl::Status Compute(OpKernelContext* ctx) override {
    DFLOW_ASSIGN_OR_RETURN(BackpropStart<ConvGeometry> start,
                           StartInputGrad(ctx, window_, ConvGeometryOf, kFilterLayout));
    if (start.out == nullptr) return absl::OkStatus();
    const ConvGeometry& g = start.g;
    const Tensor& filter = ctx->input(1);
    const Tensor& dy = ctx->input(2);
    Tensor* out = start.out;
    ShapeCache<FilterConvEntry>::Lease e = cache_.Get(g.Key(), [&] {
      dnnl::convolution_forward::primitive_desc hint(
          ForwardDesc(g, window_, dnnl::prop_kind::forward_training), ctx->engine());
      dnnl::convolution_backward_data::primitive_desc pd(
          dnnl::convolution_backward_data::desc(
              dnnl::algorithm::convolution_direct, g.Src(), g.AnyWeights(), g.Dst(),
              {window_.stride_h, window_.stride_w}, {g.pad_top, g.pad_left},
              {g.pad_bottom, g.pad_right}),
          KernelAttr(), ctx->engine(), hint);
      return MakeFilterConvEntry(pd, pd.diff_dst_desc(), pd.diff_src_desc(), g.UserWeights(),
                                 ctx->engine());
    });
    RunFilterConv(*e, ctx->stream(), DNNL_ARG_DIFF_DST, dy.data(), filter,
                  DNNL_ARG_DIFF_SRC, out->data());
    return absl::OkStatus();
  }

 private:
  ShapeCache<FilterConvEntry> cache_;
};

class Conv2DBackpropFilterOp : public ConvKernelBase {
 public:
  using ConvKernelBase::ConvKernelBase;

  absl::Status Compute(OpKernelContext* ctx) override {
    DFLOW_ASSIGN_OR_RETURN(BackpropStart<ConvGeometry> start,
                           StartFilterGrad(ctx, window_, ConvGeometryOf));
    if (start.out == nullptr) return absl::OkStatus();
    const ConvGeometry& g = start.g;
    const Tensor& input = ctx->input(0);
    const Tensor& dy = ctx->input(2);
    Tensor* out = start.out;
    ShapeCache<FilterGradEntry>::Lease e = cache_.Get(g.Key(), [&] {
      dnnl::convolution_forward::primitive_desc hint(
          ForwardDesc(g, window_, dnnl::prop_kind::forward_training), ctx->engine());
      auto make = [&](const memory::desc& weights) {
        return dnnl::convolution_backward_weights::primitive_desc(
            dnnl::convolution_backward_weights::desc(
                dnnl::algorithm::convolution_direct, g.Src(), weights, g.Dst(),
                {window_.stride_h, window_.stride_w}, {g.pad_top, g.pad_left},
                {g.pad_bottom, g.pad_right}),
            KernelAttr(), ctx->engine(), hint);
      };
      dnnl::convolution_backward_weights::primitive_desc pd = make(g.AnyWeights());
      // oneDNN 2.6's AVX2 1x1 kernel writes past its own buffers for strided 1x1
      // convolutions (a [2,6,6,3] input, 5 filters, stride 2, one thread corrupts the heap);
      // asking for HWIO weights selects its gemm implementation instead.
      if (absl::StartsWith(pd.impl_info_str(), "jit_1x1:avx2") &&
          (window_.stride_h > 1 || window_.stride_w > 1)) {
        pd = make(g.UserWeights());
      }
      return MakeFilterGradEntry(pd, g.UserWeights(), ctx->engine());
    });
    RunFilterGrad(*e, ctx->stream(), input, dy, out);
    return absl::OkStatus();
  }

 private:
  ShapeCache<FilterGradEntry> cache_;
};

REGISTER_KERNEL("Conv2D", Conv2DOp, "T", {DT_FLOAT});
REGISTER_KERNEL("Conv2DBackpropInput", Conv2DBackpropInputOp, "T", {DT_FLOAT});
REGISTER_KERNEL("Conv2DBackpropFilter", Conv2DBackpropFilterOp, "T", {DT_FLOAT});

}  // namespace
}  // namespace dflow
