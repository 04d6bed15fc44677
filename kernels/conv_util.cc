#include "graph/status_macros.h"
#include "kernels/conv_util.h"

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_join.h"
#include "kernels/op_kernel.h"

namespace dflow {

WindowKernel::WindowKernel(const Node& node, absl::StatusOr<conv::Window2D> (*read)(const Node&))
    : OpKernel(node) {
  absl::StatusOr<conv::Window2D> w = read(node);
  if (w.ok()) {
    window_ = *w;
  } else {
    SetConstructionError(w.status());
  }
}

void FillZero(Tensor* t) {
  for (float& v : t->flat<float>()) v = 0.0f;
}

absl::Status CheckImage(const Tensor& t, absl::string_view what, absl::string_view layout) {
  DFLOW_RETURN_IF_ERROR(CheckInput(t, what, DT_FLOAT));
  if (t.dims() != 4) {
    return OpKernelContext::InvalidArgument(what, " must be 4-D ", layout, " but has shape ",
                                            t.shape().DebugString());
  }
  return absl::OkStatus();
}

absl::StatusOr<TensorShape> SizesShape(const Tensor& t, absl::string_view what) {
  if (t.dims() != 1 || t.dim_size(0) != 4) {
    return OpKernelContext::InvalidArgument(
        what, " must be a 1-D tensor of 4 sizes but has shape ", t.shape().DebugString());
  }
  DFLOW_ASSIGN_OR_RETURN(IntList v, IntValues(t, what));
  constexpr int64_t kMaxElements = int64_t{1} << 40;
  int64_t count = 1;
  for (int64_t d : v) {
    if (d < 0) {
      return OpKernelContext::InvalidArgument(what, " must be non-negative but is [",
                                              absl::StrJoin(v, ", "), "]");
    }
    if (d > 0 && count > kMaxElements / d) {
      return OpKernelContext::InvalidArgument(what, " [", absl::StrJoin(v, ", "),
                                              "] has too many elements");
    }
    count *= d;
  }
  return TensorShape(absl::MakeConstSpan(v));
}

absl::StatusOr<WindowedSize2D> WindowedSize2DOf(const conv::Window2D& win, int64_t h, int64_t w,
                                                int64_t kh, int64_t kw, absl::string_view what) {
  DFLOW_ASSIGN_OR_RETURN(
      const conv::WindowedSize rows,
      conv::ComputeWindowedSize(h, kh, win.stride_h, win.padding, what, "height"));
  DFLOW_ASSIGN_OR_RETURN(
      const conv::WindowedSize cols,
      conv::ComputeWindowedSize(w, kw, win.stride_w, win.padding, what, "width"));
  WindowedSize2D s;
  s.oh = rows.out;
  s.pad_top = rows.pad_before;
  s.pad_bottom = rows.pad_after;
  s.ow = cols.out;
  s.pad_left = cols.pad_before;
  s.pad_right = cols.pad_after;
  return s;
}

absl::StatusOr<ConvGeometry> ConvGeometryOf(const conv::Window2D& win, const TensorShape& input,
                                            const TensorShape& filter) {
  ConvGeometry g;
  g.n = input.dim_size(0);
  g.h = input.dim_size(1);
  g.w = input.dim_size(2);
  g.ci = input.dim_size(3);
  g.kh = filter.dim_size(0);
  g.kw = filter.dim_size(1);
  g.co = filter.dim_size(3);
  if (filter.dim_size(2) != g.ci) {
    return OpKernelContext::InvalidArgument(
        "the input's depth (dimension 3 of ", input.DebugString(),
        ") must equal the filter's in_channels (dimension 2 of ", filter.DebugString(), "): ",
        g.ci, " vs. ", filter.dim_size(2));
  }
  DFLOW_ASSIGN_OR_RETURN(static_cast<WindowedSize2D&>(g),
                         WindowedSize2DOf(win, g.h, g.w, g.kh, g.kw, "filter"));
  return g;
}

void RunFilterConv(FilterConvEntry& e, dnnl::stream& stream, int in_arg, const void* in,
                   const Tensor& filter, int out_arg, void* out, const Tensor* bias) {
  e.weights.Load(stream, filter);
  absl::InlinedVector<BoundArg, 4> args = {
      {in_arg, e.in, in},
      {DNNL_ARG_WEIGHTS, e.weights.prim, e.weights.Bound(filter.data())},
      {out_arg, e.out, out}};
  if (bias != nullptr) args.push_back({DNNL_ARG_BIAS, e.bias, bias->data()});
  RunPrimitive(e.prim, stream, args);
}

void RunFilterGrad(FilterGradEntry& e, dnnl::stream& stream, const Tensor& input,
                   const Tensor& dy, Tensor* out) {
  RunPrimitive(e.prim, stream,
               {{DNNL_ARG_SRC, e.src, input.data()},
                {DNNL_ARG_DIFF_DST, e.diff_dst, dy.data()},
                {DNNL_ARG_DIFF_WEIGHTS, e.diff_weights.prim, e.diff_weights.Bound(out->data())}});
  e.diff_weights.Store(stream, out->data());
}
}  // namespace dflow
