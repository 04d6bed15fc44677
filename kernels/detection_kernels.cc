// Kernels for NonMaxSuppressionV2/V3/V4: TensorFlow's greedy hard suppression, in plain loops.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include "graph/status_macros.h"
#include "kernels/op_kernel.h"

namespace dflow {
namespace {

// Intersection over union of boxes i and j of `b` ([n, 4], any corner order); 0 when either
// box has no area, as TensorFlow.
float BoxIou(const float* b, int64_t i, int64_t j) {
  const float* p = b + 4 * i;
  const float* q = b + 4 * j;
  const float ymin_i = std::min(p[0], p[2]), ymax_i = std::max(p[0], p[2]);
  const float xmin_i = std::min(p[1], p[3]), xmax_i = std::max(p[1], p[3]);
  const float ymin_j = std::min(q[0], q[2]), ymax_j = std::max(q[0], q[2]);
  const float xmin_j = std::min(q[1], q[3]), xmax_j = std::max(q[1], q[3]);
  const float area_i = (ymax_i - ymin_i) * (xmax_i - xmin_i);
  const float area_j = (ymax_j - ymin_j) * (xmax_j - xmin_j);
  if (area_i <= 0 || area_j <= 0) return 0.0f;
  const float ih = std::max(std::min(ymax_i, ymax_j) - std::max(ymin_i, ymin_j), 0.0f);
  const float iw = std::max(std::min(xmax_i, xmax_j) - std::max(xmin_i, xmin_j), 0.0f);
  const float inter = ih * iw;
  return inter / (area_i + area_j - inter);
}

absl::StatusOr<float> FloatScalar(const OpKernelContext* ctx, int i, const char* what) {
  const Tensor& t = ctx->input(i);
  DFLOW_RETURN_IF_ERROR(CheckInput(t, what, DT_FLOAT));
  if (t.dims() != 0) {
    return OpKernelContext::InvalidArgument(what, " must be 0-D, got shape ",
                                            t.shape().DebugString());
  }
  return t.scalar<float>();
}

// V2 (no score threshold), V3 and V4 (optionally padded, with a valid_outputs count).
class NonMaxSuppressionOp : public OpKernel {
 public:
  explicit NonMaxSuppressionOp(const Node& node) : OpKernel(node) {
    has_score_threshold_ = node.op() != "NonMaxSuppressionV2";
    has_valid_outputs_ = node.op() == "NonMaxSuppressionV4";
    if (has_valid_outputs_) {
      SetConstructionError(GetAttr(node.attrs(), "pad_to_max_output_size", &pad_));
    }
  }

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& boxes = ctx->input(0);
    const Tensor& scores = ctx->input(1);
    DFLOW_RETURN_IF_ERROR(CheckInput(boxes, "boxes", DT_FLOAT, 2));
    if (boxes.dim_size(1) != 4) {
      return ctx->InvalidArgument("boxes must have 4 columns, got shape ",
                                  boxes.shape().DebugString());
    }
    DFLOW_RETURN_IF_ERROR(CheckInput(scores, "scores", DT_FLOAT, 1));
    const int64_t n = boxes.dim_size(0);
    if (scores.dim_size(0) != n) {
      return ctx->InvalidArgument("scores has incompatible shape: ", scores.shape().DebugString(),
                                  " for boxes ", boxes.shape().DebugString());
    }
    const Tensor& max_t = ctx->input(2);
    DFLOW_RETURN_IF_ERROR(CheckInput(max_t, "max_output_size", DT_INT32));
    if (max_t.dims() != 0) {
      return ctx->InvalidArgument("max_output_size must be 0-D, got shape ",
                                  max_t.shape().DebugString());
    }
    const int64_t max_output = max_t.scalar<int32_t>();
    if (max_output < 0) return ctx->InvalidArgument("output size must be non-negative");
    DFLOW_ASSIGN_OR_RETURN(const float iou_threshold, FloatScalar(ctx, 3, "iou_threshold"));
    if (!(iou_threshold >= 0.0f && iou_threshold <= 1.0f)) {
      return ctx->InvalidArgument("iou_threshold must be in [0, 1], got ", iou_threshold);
    }
    float score_threshold = std::numeric_limits<float>::lowest();
    if (has_score_threshold_) {
      DFLOW_ASSIGN_OR_RETURN(score_threshold, FloatScalar(ctx, 4, "score_threshold"));
    }

    // Candidates: scores above the threshold (NaN never is), best first, ties by index.
    const float* s = scores.flat<float>().data();
    std::vector<int64_t> order;
    for (int64_t i = 0; i < n; ++i) {
      if (s[i] > score_threshold) order.push_back(i);
    }
    std::stable_sort(order.begin(), order.end(), [s](int64_t a, int64_t b) { return s[a] > s[b]; });

    const float* b = boxes.flat<float>().data();
    std::vector<int32_t> selected;
    for (int64_t c : order) {
      if (static_cast<int64_t>(selected.size()) >= max_output) break;
      bool keep = true;
      // The latest kept boxes are the likeliest to overlap: check them first.
      for (auto it = selected.rbegin(); it != selected.rend(); ++it) {
        if (BoxIou(b, c, *it) > iou_threshold) {
          keep = false;
          break;
        }
      }
      if (keep) selected.push_back(static_cast<int32_t>(c));
    }
    const int32_t valid = static_cast<int32_t>(selected.size());
    if (pad_) selected.resize(max_output, 0);
    Tensor* out =
        ctx->allocate_output(0, TensorShape({static_cast<int64_t>(selected.size())}));
    std::copy(selected.begin(), selected.end(), out->flat<int32_t>().data());
    if (has_valid_outputs_) {
      ctx->allocate_output(1, TensorShape({}))->flat<int32_t>()[0] = valid;
    }
    return absl::OkStatus();
  }

 private:
  bool has_score_threshold_ = true;
  bool has_valid_outputs_ = false;
  bool pad_ = false;
};
REGISTER_KERNEL("NonMaxSuppressionV2", NonMaxSuppressionOp);
REGISTER_KERNEL("NonMaxSuppressionV3", NonMaxSuppressionOp);
REGISTER_KERNEL("NonMaxSuppressionV4", NonMaxSuppressionOp);

}  // namespace
}  // namespace dflow
