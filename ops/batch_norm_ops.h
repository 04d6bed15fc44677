// Builder functions for TensorFlow's fused batch normalization ops (FusedBatchNorm, V2, V3 and
// their gradients), and the data_format parsing their shape functions and kernels share:
//
//   ops::FusedBatchNormV3 bn(scope, x, gamma, beta, mean, var,
//                            ops::FusedBatchNormAttrs().IsTraining(false).Epsilon(1e-3f));
//   auto y = bn.y;
#ifndef DFLOW_OPS_BATCH_NORM_OPS_H_
#define DFLOW_OPS_BATCH_NORM_OPS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/graph.h"
#include "ops/scope.h"

namespace dflow {
namespace batch_norm {

// Where a data_format puts the channels: NHWC / NDHWC last, NCHW / NCDHW at dimension 1.
struct Layout {
  int rank = 4;
  bool channels_last = true;
  int ChannelAxis() const { return channels_last ? rank - 1 : 1; }
};

// NHWC and NCHW; NDHWC and NCDHW as well when `allow_3d` (the V3 ops). InvalidArgument naming
// the format otherwise.
absl::StatusOr<Layout> ParseDataFormat(const std::string& format, bool allow_3d);

}  // namespace batch_norm

namespace ops {

// The attrs of the FusedBatchNorm family (exponential_avg_factor only on the forward ops).
struct FusedBatchNormAttrs {
  FusedBatchNormAttrs Epsilon(float v) const {
    FusedBatchNormAttrs a = *this;
    a.epsilon = v;
    return a;
  }
  FusedBatchNormAttrs ExponentialAvgFactor(float v) const {
    FusedBatchNormAttrs a = *this;
    a.exponential_avg_factor = v;
    return a;
  }
  FusedBatchNormAttrs DataFormat(const std::string& f) const {
    FusedBatchNormAttrs a = *this;
    a.data_format = f;
    return a;
  }
  FusedBatchNormAttrs IsTraining(bool v) const {
    FusedBatchNormAttrs a = *this;
    a.is_training = v;
    return a;
  }
  float epsilon = 0.0001f;
  float exponential_avg_factor = 1.0f;
  std::string data_format = "NHWC";
  bool is_training = true;
};

// y = (x - m) / sqrt(v + epsilon) * scale + offset per channel, where (m, v) are the inputs
// mean / variance (is_training false) or the batch's mean and biased variance (is_training
// true). batch_mean / batch_variance: the inputs (inference) or the running statistics
// (training: the batch's, Bessel-corrected, averaged into the inputs by exponential_avg_factor
// when it is not 1); reserve_space_1 / 2: the batch's mean and biased variance (training) or the
// inputs (inference); V3's reserve_space_3 is a scalar 0 placeholder.
class FusedBatchNorm {
 public:
  FusedBatchNorm(const Scope& scope, Input x, Input scale, Input offset, Input mean,
                 Input variance, const FusedBatchNormAttrs& attrs = FusedBatchNormAttrs());
  Operation operation;
  Output y, batch_mean, batch_variance, reserve_space_1, reserve_space_2;

 protected:
  FusedBatchNorm(absl::string_view op, const Scope& scope, Input x, Input scale, Input offset,
                 Input mean, Input variance, const FusedBatchNormAttrs& attrs);
};
class FusedBatchNormV2 : public FusedBatchNorm {
 public:
  FusedBatchNormV2(const Scope& scope, Input x, Input scale, Input offset, Input mean,
                   Input variance, const FusedBatchNormAttrs& attrs = FusedBatchNormAttrs());
};
class FusedBatchNormV3 : public FusedBatchNorm {
 public:
  FusedBatchNormV3(const Scope& scope, Input x, Input scale, Input offset, Input mean,
                   Input variance, const FusedBatchNormAttrs& attrs = FusedBatchNormAttrs());
  Output reserve_space_3;
};

// The gradients of a FusedBatchNorm from y_backprop, its x and scale, and reserve_space_1 / 2
// (its batch mean and biased variance when is_training; its mean and variance inputs when not).
// reserve_space_3 / 4 (V3: 4 / 5) are empty placeholders.
class FusedBatchNormGrad {
 public:
  FusedBatchNormGrad(const Scope& scope, Input y_backprop, Input x, Input scale,
                     Input reserve_space_1, Input reserve_space_2,
                     const FusedBatchNormAttrs& attrs = FusedBatchNormAttrs());
  Operation operation;
  Output x_backprop, scale_backprop, offset_backprop;

 protected:
  FusedBatchNormGrad() = default;
  void Init(const Scope& scope, absl::string_view op, absl::Span<const Input> inputs,
            const FusedBatchNormAttrs& attrs);
};
class FusedBatchNormGradV2 : public FusedBatchNormGrad {
 public:
  FusedBatchNormGradV2(const Scope& scope, Input y_backprop, Input x, Input scale,
                       Input reserve_space_1, Input reserve_space_2,
                       const FusedBatchNormAttrs& attrs = FusedBatchNormAttrs());
};
class FusedBatchNormGradV3 : public FusedBatchNormGrad {
 public:
  FusedBatchNormGradV3(const Scope& scope, Input y_backprop, Input x, Input scale,
                       Input reserve_space_1, Input reserve_space_2, Input reserve_space_3,
                       const FusedBatchNormAttrs& attrs = FusedBatchNormAttrs());
};

}  // namespace ops
}  // namespace dflow

#endif  // DFLOW_OPS_BATCH_NORM_OPS_H_
