// Image resizing ops: ResizeBilinear, ResizeBilinearGrad, ResizeNearestNeighbor and
// ResizeNearestNeighborGrad. Op by op: the schema, its shape function, its gradient and its
// builder.
#include "ops/image_ops.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "ops/array_ops.h"
#include "ops/op_registry.h"
#include "ops/shape_inference.h"
#include "ops/strided_slice_ops.h"

namespace dflow {
namespace {

absl::StatusOr<PartialTensorShape> Image(InferenceContext* ctx, int i, absl::string_view what) {
  const PartialTensorShape& s = ctx->input(i);
  if (s.unknown_rank()) return PartialTensorShape::UnknownDims(4);
  if (s.dims() != 4) {
    return ctx->Error(absl::StrCat(what, " must be 4-D [batch, height, width, channels] but has "
                                         "shape ", s.DebugString()));
  }
  return s;
}

absl::Status CheckResizeAttrs(InferenceContext* ctx) {
  bool align = false, half = false;
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("align_corners", &align));
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("half_pixel_centers", &half));
  if (align && half) {
    return ctx->Error("If half_pixel_centers is True, align_corners must be False.");
  }
  return absl::OkStatus();
}

// {height, width} of input i (int32 [2]): the constant's values, or unknown; checks the shape.
absl::StatusOr<std::vector<int64_t>> SizeInput(InferenceContext* ctx, int i) {
  const PartialTensorShape& s = ctx->input(i);
  if (!s.unknown_rank() && (s.dims() != 1 || (s.dim_size(0) >= 0 && s.dim_size(0) != 2))) {
    return ctx->Error(absl::StrCat("size must be a 1-D tensor of 2 elements {height, width} but "
                                   "has shape ", s.DebugString()));
  }
  std::optional<std::vector<int64_t>> v = ConstInts(ctx, i);
  if (!v.has_value()) return std::vector<int64_t>{-1, -1};
  for (int64_t d : *v) {
    if (d <= 0) {
      return ctx->Error(absl::StrCat("output dimensions must be positive but size is [",
                                     (*v)[0], ", ", (*v)[1], "]"));
    }
  }
  return *v;
}

// images [N, H, W, C], size {h, w} -> [N, h, w, C].
absl::Status ResizeShape(InferenceContext* ctx) {
  DFLOW_RETURN_IF_ERROR(CheckResizeAttrs(ctx));
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape images, Image(ctx, 0, "images"));
  DFLOW_ASSIGN_OR_RETURN(std::vector<int64_t> size, SizeInput(ctx, 1));
  ctx->set_output(0, PartialTensorShape({images.dim_size(0), size[0], size[1],
                                         images.dim_size(3)}));
  return absl::OkStatus();
}

AttrMap ResizeAttrMap(const ops::ResizeAttrs& a) {
  return {{"align_corners", MakeAttr(a.align_corners)},
          {"half_pixel_centers", MakeAttr(a.half_pixel_centers)}};
}

ops::ResizeAttrs ResizeAttrsOf(const Node& node) {
  ops::ResizeAttrs a;
  GetNodeAttr(node, "align_corners", &a.align_corners).IgnoreError();
  GetNodeAttr(node, "half_pixel_centers", &a.half_pixel_centers).IgnoreError();
  return a;
}

constexpr absl::string_view kResizeAttrs[] = {
    "align_corners: bool = false",
    "half_pixel_centers: bool = false",
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// ResizeBilinear

namespace {

// y = bilinear(x): each output is a weighted sum of 4 inputs, so dx scatters dy with the same
// weights (ResizeBilinearGrad). Integer images get none (as in TensorFlow); size gets none.
absl::Status ResizeBilinearGradFn(const Scope& scope, const Node& node,
                                  absl::Span<const Output> grad_outputs,
                                  std::vector<Output>* grad_inputs) {
  grad_inputs->assign(2, Output());
  if (node.input(0).type() == DT_FLOAT) {
    (*grad_inputs)[0] =
        ops::ResizeBilinearGrad(scope, grad_outputs[0], node.input(0), ResizeAttrsOf(node));
  }
  return scope.status();
}

}  // namespace

REGISTER_OP("ResizeBilinear")
    .Input("images: T")
    .Input("size: int32")
    .Output("resized_images: float")
    .Attr("T: {uint8, int32, int64, float, double}")
    .Attrs(kResizeAttrs)
    .SetShapeFn(ResizeShape);
REGISTER_GRADIENT("ResizeBilinear", ResizeBilinearGradFn);

Output ops::ResizeBilinear(const Scope& scope, Input images, Input size,
                           const ResizeAttrs& attrs) {
  return AddOp(scope, "ResizeBilinear", {images, size}, ResizeAttrMap(attrs));
}

// ---------------------------------------------------------------------------------------------
// ResizeBilinearGrad

namespace {

// Rows 1 and 2 of t's shape: the {height, width} a resize of t would take as its size.
Output HeightWidth(const Scope& scope, const Output& t) {
  return ops::StridedSlice(scope, ops::Shape(scope, t), ops::Const(scope, {1}),
                           ops::Const(scope, {3}), ops::Const(scope, {1}));
}

// dx = ResizeBilinearGrad(g, x) is linear in g with ResizeBilinear's weights transposed, so its
// adjoint is ResizeBilinear itself: d/dg = ResizeBilinear(G, size of g). original_image only
// lends its shape: none. (TensorFlow registers none; this one is exact.)
absl::Status ResizeBilinearGradGrad(const Scope& scope, const Node& node,
                                    absl::Span<const Output> grad_outputs,
                                    std::vector<Output>* grad_inputs) {
  grad_inputs->assign(2, Output());
  (*grad_inputs)[0] = ops::ResizeBilinear(scope, grad_outputs[0], HeightWidth(scope, node.input(0)),
                                          ResizeAttrsOf(node));
  return scope.status();
}

}  // namespace

REGISTER_OP("ResizeBilinearGrad")
    .Input("grads: float")
    .Input("original_image: T")
    .Output("output: T")
    .Attr("T: {float}")
    .Attrs(kResizeAttrs)
    .SetShapeFn([](InferenceContext* ctx) {
      DFLOW_RETURN_IF_ERROR(CheckResizeAttrs(ctx));
      DFLOW_ASSIGN_OR_RETURN(PartialTensorShape grads, Image(ctx, 0, "grads"));
      DFLOW_ASSIGN_OR_RETURN(PartialTensorShape original, Image(ctx, 1, "original_image"));
      ctx->set_output(0, original);
      return absl::OkStatus();
    });
REGISTER_GRADIENT("ResizeBilinearGrad", ResizeBilinearGradGrad);

Output ops::ResizeBilinearGrad(const Scope& scope, Input grads, Input original_image,
                               const ResizeAttrs& attrs) {
  return AddOp(scope, "ResizeBilinearGrad", {grads, original_image}, ResizeAttrMap(attrs));
}

// ---------------------------------------------------------------------------------------------
// ResizeNearestNeighbor

namespace {

// y = x[src(i)]: dx sums dy into each output's source pixel (ResizeNearestNeighborGrad on x's
// height and width); size gets none.
absl::Status ResizeNearestNeighborGradFn(const Scope& scope, const Node& node,
                                         absl::Span<const Output> grad_outputs,
                                         std::vector<Output>* grad_inputs) {
  grad_inputs->assign(2, Output());
  const DataType t = node.input(0).type();
  if (t != DT_FLOAT && t != DT_DOUBLE) return scope.status();
  Output hw = ops::StridedSlice(scope, ops::Shape(scope, node.input(0)), ops::Const(scope, {1}),
                                ops::Const(scope, {3}), ops::Const(scope, {1}));
  (*grad_inputs)[0] =
      ops::ResizeNearestNeighborGrad(scope, grad_outputs[0], hw, ResizeAttrsOf(node));
  return scope.status();
}

}  // namespace

REGISTER_OP("ResizeNearestNeighbor")
    .Input("images: T")
    .Input("size: int32")
    .Output("resized_images: T")
    .Attr("T: {uint8, int32, int64, float, double}")
    .Attrs(kResizeAttrs)
    .SetShapeFn(ResizeShape);
REGISTER_GRADIENT("ResizeNearestNeighbor", ResizeNearestNeighborGradFn);

Output ops::ResizeNearestNeighbor(const Scope& scope, Input images, Input size,
                                  const ResizeAttrs& attrs) {
  return AddOp(scope, "ResizeNearestNeighbor", {images, size}, ResizeAttrMap(attrs));
}

// ---------------------------------------------------------------------------------------------
// ResizeNearestNeighborGrad

namespace {

// dx = ResizeNearestNeighborGrad(g, size) sums g into source pixels; its adjoint gathers them
// back: d/dg = ResizeNearestNeighbor(G, size of g). size gets none. (TensorFlow registers
// none; this one is exact.)
absl::Status ResizeNearestNeighborGradGrad(const Scope& scope, const Node& node,
                                           absl::Span<const Output> grad_outputs,
                                           std::vector<Output>* grad_inputs) {
  grad_inputs->assign(2, Output());
  (*grad_inputs)[0] = ops::ResizeNearestNeighbor(
      scope, grad_outputs[0], HeightWidth(scope, node.input(0)), ResizeAttrsOf(node));
  return scope.status();
}

}  // namespace

REGISTER_OP("ResizeNearestNeighborGrad")
    .Input("grads: T")
    .Input("size: int32")
    .Output("output: T")
    .Attr("T: {int32, float, double}")
    .Attrs(kResizeAttrs)
    .SetShapeFn([](InferenceContext* ctx) {
      DFLOW_RETURN_IF_ERROR(CheckResizeAttrs(ctx));
      DFLOW_ASSIGN_OR_RETURN(PartialTensorShape grads, Image(ctx, 0, "grads"));
      DFLOW_ASSIGN_OR_RETURN(std::vector<int64_t> size, SizeInput(ctx, 1));
      ctx->set_output(0, PartialTensorShape({grads.dim_size(0), size[0], size[1],
                                             grads.dim_size(3)}));
      return absl::OkStatus();
    });
REGISTER_GRADIENT("ResizeNearestNeighborGrad", ResizeNearestNeighborGradGrad);

Output ops::ResizeNearestNeighborGrad(const Scope& scope, Input grads, Input size,
                                      const ResizeAttrs& attrs) {
  return AddOp(scope, "ResizeNearestNeighborGrad", {grads, size}, ResizeAttrMap(attrs));
}

}  // namespace dflow
