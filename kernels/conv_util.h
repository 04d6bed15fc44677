// Convolution helpers shared by the Conv2D family, pooling and _FusedConv2D: input checks, the
// geometry of one NHWC x HWIO convolution as oneDNN describes it, and the filter's reorder into
// the layout a primitive picked.
#ifndef DFLOW_KERNELS_CONV_UTIL_H_
#define DFLOW_KERNELS_CONV_UTIL_H_

#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/status_macros.h"
#include "graph/tensor.h"
#include "graph/tensor_shape.h"
#include "kernels/dnnl_util.h"
#include "kernels/op_kernel.h"
#include "oneapi/dnnl/dnnl.hpp"
#include "ops/conv_ops.h"

namespace dflow {

// A kernel of a windowed op (Conv2D's or pooling's family): the window its constructor read with
// `read` (conv::Conv2DAttrsOf or conv::PoolAttrsOf), or a construction error.
class WindowKernel : public OpKernel {
 public:
  WindowKernel(const Node& node, absl::StatusOr<conv::Window2D> (*read)(const Node&));

 protected:
  conv::Window2D window_;
};

// Zeros every element of the float tensor `t`.
void FillZero(Tensor* t);

// Fails unless `t` is a float tensor of rank 4, described by `layout` in errors.
absl::Status CheckImage(const Tensor& t, absl::string_view what, absl::string_view layout);

inline constexpr absl::string_view kImageLayout = "[batch, height, width, channels]";
inline constexpr absl::string_view kFilterLayout = "[height, width, in_channels, out_channels]";

// A 1-D int tensor of 4 non-negative sizes (input_sizes, filter_sizes, orig_input_shape).
absl::StatusOr<TensorShape> SizesShape(const Tensor& t, absl::string_view what);

// The output size and padding of a window sliding over an image's rows and columns.
struct WindowedSize2D {
  int64_t oh = 0, ow = 0;
  int64_t pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;
};

// A kh x kw window (named `what` in errors: "filter", "window") moving by win's strides with its
// padding over h x w; fails naming the dimension it does not fit.
absl::StatusOr<WindowedSize2D> WindowedSize2DOf(const conv::Window2D& win, int64_t h, int64_t w,
                                                int64_t kh, int64_t kw, absl::string_view what);

// The sizes of one convolution; `input` and `filter` are checked to be rank 4.
struct ConvGeometry : WindowedSize2D {
  int64_t n, h, w, ci, kh, kw, co;

  CacheKey Key() const { return {n, h, w, ci, kh, kw, co}; }
  TensorShape OutputShape() const { return TensorShape({n, oh, ow, co}); }
  // oneDNN's dims are {N, C, H, W} and {OC, IC, KH, KW}; the tags give dflow's layouts.
  dnnl::memory::desc Src() const { return Desc({n, ci, h, w}, dnnl::memory::format_tag::nhwc); }
  dnnl::memory::desc Dst() const { return Desc({n, co, oh, ow}, dnnl::memory::format_tag::nhwc); }
  dnnl::memory::desc UserWeights() const {
    return Desc({co, ci, kh, kw}, dnnl::memory::format_tag::hwio);
  }
  dnnl::memory::desc AnyWeights() const {
    return Desc({co, ci, kh, kw}, dnnl::memory::format_tag::any);
  }

 private:
  static dnnl::memory::desc Desc(const dnnl::memory::dims& dims, dnnl::memory::format_tag tag) {
    return dnnl::memory::desc(dims, dnnl::memory::data_type::f32, tag);
  }
};

// Fails naming the shapes when the filter's in_channels differ from the input's depth, or the
// window does not fit.
absl::StatusOr<ConvGeometry> ConvGeometryOf(const conv::Window2D& win, const TensorShape& input,
                                            const TensorShape& filter);

// The user's HWIO weights and, when the primitive wants another layout, a buffer in that
// layout with the reorder between them.
struct Weights {
  void Init(const dnnl::memory::desc& user_md, const dnnl::memory::desc& prim_md,
            const dnnl::engine& eng, bool into_primitive) {
    user = dnnl::memory(user_md, eng, nullptr);
    if (prim_md == user_md) {
      prim = user;
      return;
    }
    prim = dnnl::memory(prim_md, eng);  // Owned by oneDNN for the cache entry's life.
    reorder = Primitive(into_primitive ? dnnl::reorder::primitive_desc(user, prim, KernelAttr())
                                       : dnnl::reorder::primitive_desc(prim, user, KernelAttr()));
    needs_reorder = true;
  }
  // Before a primitive reads weights: the user's HWIO `filter` in the primitive's layout; an
  // immutable filter (a Const's) only once while its buffer stays the same.
  void Load(dnnl::stream& stream, const Tensor& filter) {
    if (!needs_reorder || (filter.IsImmutable() && filter.SharesBufferWith(loaded))) return;
    RunPrimitive(reorder, stream,
                 {{DNNL_ARG_FROM, user, filter.data()}, {DNNL_ARG_TO, prim, nullptr}});
    loaded = filter.IsImmutable() ? filter : Tensor();  // Held: its address is not reused.
  }
  // The buffer to bind as the primitive's weights argument: `data` itself, or (null) the
  // primitive-layout copy.
  const void* Bound(const void* data) const { return needs_reorder ? nullptr : data; }
  // After a primitive wrote weights: its result as HWIO into `data`.
  void Store(dnnl::stream& stream, void* data) {
    if (needs_reorder) {
      RunPrimitive(reorder, stream, {{DNNL_ARG_FROM, prim, nullptr}, {DNNL_ARG_TO, user, data}});
    }
  }
  dnnl::memory user, prim;
  Primitive reorder;
  bool needs_reorder = false;
  Tensor loaded;  // The immutable filter `prim` holds a reorder of, if any.
};

// Conv2D's and the depthwise backprops' out_backprop check, for either family's geometry.
template <typename Geometry>
absl::Status CheckOutBackprop(const Geometry& g, const Tensor& dy) {
  if (dy.shape() != g.OutputShape()) {
    return OpKernelContext::InvalidArgument(
        "out_backprop has shape ", dy.shape().DebugString(),
        " but the convolution's output has shape ", g.OutputShape().DebugString());
  }
  return absl::OkStatus();
}

// A backprop kernel's geometry and allocated output; `out` is null when the output is complete
// already (empty, or zeros for a sum over nothing).
template <typename Geometry>
struct BackpropStart {
  Geometry g;
  Tensor* out = nullptr;
};

// ConvGeometryOf, or the depthwise kernels' own.
template <typename Window, typename Geometry>
using GeometryFn = absl::StatusOr<Geometry> (*)(const Window&, const TensorShape& input,
                                                const TensorShape& filter);

// Conv2DBackpropInput's and the depthwise one's input checks: input_sizes (0), filter (1, of
// `filter_layout`) and out_backprop (2), the output of input_sizes allocated.
template <typename Window, typename Geometry>
absl::StatusOr<BackpropStart<Geometry>> StartInputGrad(OpKernelContext* ctx, const Window& window,
                                                       GeometryFn<Window, Geometry> geometry_of,
                                                       absl::string_view filter_layout) {
  DFLOW_ASSIGN_OR_RETURN(TensorShape input_shape, SizesShape(ctx->input(0), "input_sizes"));
  const Tensor& filter = ctx->input(1);
  const Tensor& dy = ctx->input(2);
  DFLOW_RETURN_IF_ERROR(CheckImage(filter, "filter", filter_layout));
  DFLOW_RETURN_IF_ERROR(CheckImage(dy, "out_backprop", kImageLayout));
  BackpropStart<Geometry> start;
  DFLOW_ASSIGN_OR_RETURN(start.g, geometry_of(window, input_shape, filter.shape()));
  DFLOW_RETURN_IF_ERROR(CheckOutBackprop(start.g, dy));
  Tensor* out = ctx->allocate_output(0, input_shape);
  if (out->NumElements() == 0) return start;
  if (dy.NumElements() == 0 || filter.NumElements() == 0) {  // No output channels.
    FillZero(out);
    return start;
  }
  start.out = out;
  return start;
}

// Conv2DBackpropFilter's and the depthwise one's input checks: input (0), filter_sizes (1) and
// out_backprop (2), the output of filter_sizes allocated.
template <typename Window, typename Geometry>
absl::StatusOr<BackpropStart<Geometry>> StartFilterGrad(OpKernelContext* ctx, const Window& window,
                                                        GeometryFn<Window, Geometry> geometry_of) {
  const Tensor& input = ctx->input(0);
  DFLOW_RETURN_IF_ERROR(CheckImage(input, "input", kImageLayout));
  DFLOW_ASSIGN_OR_RETURN(TensorShape filter_shape, SizesShape(ctx->input(1), "filter_sizes"));
  const Tensor& dy = ctx->input(2);
  DFLOW_RETURN_IF_ERROR(CheckImage(dy, "out_backprop", kImageLayout));
  BackpropStart<Geometry> start;
  DFLOW_ASSIGN_OR_RETURN(start.g, geometry_of(window, input.shape(), filter_shape));
  DFLOW_RETURN_IF_ERROR(CheckOutBackprop(start.g, dy));
  Tensor* out = ctx->allocate_output(0, filter_shape);
  if (out->NumElements() == 0) return start;
  if (input.NumElements() == 0 || dy.NumElements() == 0) {  // A sum over nothing.
    FillZero(out);
    return start;
  }
  start.out = out;
  return start;
}

// The cache entry of a convolution that reads the filter: its one data input and its output
// (src and dst forward, diff_dst and diff_src for the input gradient), the weights and, for a
// fused forward convolution, the bias.
struct FilterConvEntry {
  Primitive prim;
  dnnl::memory in, out, bias;
  Weights weights;
};

// One builder for every filter-reading primitive; `user_weights` is the filter's own layout.
template <typename PrimitiveDesc>
std::unique_ptr<FilterConvEntry> MakeFilterConvEntry(const PrimitiveDesc& pd,
                                                     const dnnl::memory::desc& in_md,
                                                     const dnnl::memory::desc& out_md,
                                                     const dnnl::memory::desc& user_weights,
                                                     const dnnl::engine& engine) {
  auto entry = std::make_unique<FilterConvEntry>();
  entry->prim = Primitive(pd);
  entry->in = dnnl::memory(in_md, engine, nullptr);
  entry->out = dnnl::memory(out_md, engine, nullptr);
  entry->weights.Init(user_weights, pd.weights_desc(), engine, true);
  return entry;
}

// Puts the user's `filter` into the primitive's layout and runs it from `in` to `out`, adding
// `bias` (bound to e.bias) when there is one.
void RunFilterConv(FilterConvEntry& e, dnnl::stream& stream, int in_arg, const void* in,
                   const Tensor& filter, int out_arg, void* out, const Tensor* bias = nullptr);

// The cache entry of a convolution's filter gradient: its inputs and the gradient's weights.
struct FilterGradEntry {
  Primitive prim;
  dnnl::memory src, diff_dst;
  Weights diff_weights;
};

// Conv2D's and the depthwise filter gradients' builder; `user_weights` is the filter's layout.
inline std::unique_ptr<FilterGradEntry> MakeFilterGradEntry(
    const dnnl::convolution_backward_weights::primitive_desc& pd,
    const dnnl::memory::desc& user_weights, const dnnl::engine& engine) {
  auto entry = std::make_unique<FilterGradEntry>();
  entry->prim = Primitive(pd);
  entry->src = dnnl::memory(pd.src_desc(), engine, nullptr);
  entry->diff_dst = dnnl::memory(pd.diff_dst_desc(), engine, nullptr);
  entry->diff_weights.Init(user_weights, pd.diff_weights_desc(), engine, false);
  return entry;
}

// Runs a filter gradient from `input` and `dy` and stores it in the user's layout into `out`.
void RunFilterGrad(FilterGradEntry& e, dnnl::stream& stream, const Tensor& input,
                   const Tensor& dy, Tensor* out);

}  // namespace dflow

#endif  // DFLOW_KERNELS_CONV_UTIL_H_
