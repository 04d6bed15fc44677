// Builder functions for TensorFlow's image resizing ops (NHWC images) and their gradients, and
// the coordinate rules their kernels share:
//
//   auto y = ops::ResizeBilinear(scope, images, {224, 224});
//   auto z = ops::ResizeNearestNeighbor(scope, images, {64, 64},
//                                       ops::ResizeAttrs().HalfPixelCenters(true));
#ifndef DFLOW_OPS_IMAGE_OPS_H_
#define DFLOW_OPS_IMAGE_OPS_H_

#include <cstdint>

#include "graph/graph.h"
#include "ops/scope.h"

namespace dflow {
namespace resize {

// The ratio of input to output size along one dimension: (in - 1) / (out - 1) with
// align_corners (and out > 1), else in / out.
inline float Scale(int64_t in, int64_t out, bool align_corners) {
  return (align_corners && out > 1) ? static_cast<float>(in - 1) / static_cast<float>(out - 1)
                                    : static_cast<float>(in) / static_cast<float>(out);
}

}  // namespace resize

namespace ops {

// align_corners: the corner pixels' centers of input and output coincide; half_pixel_centers:
// pixel centers at +0.5 (both true is an error, as in TensorFlow).
struct ResizeAttrs {
  ResizeAttrs AlignCorners(bool v) const {
    ResizeAttrs a = *this;
    a.align_corners = v;
    return a;
  }
  ResizeAttrs HalfPixelCenters(bool v) const {
    ResizeAttrs a = *this;
    a.half_pixel_centers = v;
    return a;
  }
  bool align_corners = false;
  bool half_pixel_centers = false;
};

// images [N, H, W, C] (float, double, uint8, int32, int64) resized to size = {new_h, new_w}
// (int32 [2]) by bilinear interpolation; the output is float.
Output ResizeBilinear(const Scope& scope, Input images, Input size,
                      const ResizeAttrs& attrs = ResizeAttrs());
// The gradient of ResizeBilinear: grads [N, new_h, new_w, C] spread back onto original_image's
// shape (and type).
Output ResizeBilinearGrad(const Scope& scope, Input grads, Input original_image,
                          const ResizeAttrs& attrs = ResizeAttrs());
// images resized to size by nearest neighbour; the output has images' type.
Output ResizeNearestNeighbor(const Scope& scope, Input images, Input size,
                             const ResizeAttrs& attrs = ResizeAttrs());
// The gradient of ResizeNearestNeighbor: grads summed into the source pixels of an image of
// size = {h, w} (int32 [2]).
Output ResizeNearestNeighborGrad(const Scope& scope, Input grads, Input size,
                                 const ResizeAttrs& attrs = ResizeAttrs());

}  // namespace ops
}  // namespace dflow

#endif  // DFLOW_OPS_IMAGE_OPS_H_
