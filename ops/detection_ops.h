// Builder functions for the detection ops: greedy non-max suppression of boxes by score
// (NonMaxSuppressionV2/V3/V4), as TensorFlow's tf.image.non_max_suppression.
//
//   Output keep = ops::NonMaxSuppressionV3(scope, boxes, scores, 10, 0.5f, 0.1f);
#ifndef DFLOW_OPS_DETECTION_OPS_H_
#define DFLOW_OPS_DETECTION_OPS_H_

#include "graph/graph.h"
#include "ops/scope.h"

namespace dflow {
namespace ops {

// boxes: float [n, 4], each [y1, x1, y2, x2] with either diagonal pair of corners; scores: float
// [n]; max_output_size: an int32 scalar >= 0; iou_threshold: a float scalar in [0, 1]. The int32
// indices of the boxes kept, best first: boxes are taken by decreasing score (equal scores: the
// lower index first) and one is dropped when its IoU with a box already kept is above
// iou_threshold, until max_output_size are kept.
Output NonMaxSuppressionV2(const Scope& scope, Input boxes, Input scores, Input max_output_size,
                           Input iou_threshold);
// The same over the boxes whose score is above score_threshold (a float scalar).
Output NonMaxSuppressionV3(const Scope& scope, Input boxes, Input scores, Input max_output_size,
                           Input iou_threshold, Input score_threshold);

// V3 that can pad selected_indices with zeros to max_output_size entries; valid_outputs (an
// int32 scalar) counts the real ones.
struct NonMaxSuppressionV4 {
  NonMaxSuppressionV4(const Scope& scope, Input boxes, Input scores, Input max_output_size,
                      Input iou_threshold, Input score_threshold, bool pad_to_max_output_size);
  Output selected_indices, valid_outputs;
};

}  // namespace ops
}  // namespace dflow

#endif  // DFLOW_OPS_DETECTION_OPS_H_
