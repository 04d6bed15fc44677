// _FusedMatMul and _FusedConv2D, TensorFlow's internal ops for a MatMul or Conv2D followed by
// BiasAdd and optionally Relu, run as one oneDNN primitive with a bias and a post-op. Only the
// graph optimizer (runtime/graph_optimizer.h) creates them, so they have no builder functions
// and no gradients.
//
//   _FusedMatMul(a, b, args: num_args * T)     attrs as MatMul's, plus T, num_args, fused_ops,
//   _FusedConv2D(input, filter, args)          epsilon; _FusedConv2D has Conv2D's attrs.
//
// fused_ops is ["BiasAdd"] or ["BiasAdd", "Relu"], with args = [bias] (1-D, one value per
// output column or channel).
#ifndef DFLOW_OPS_FUSED_OPS_H_
#define DFLOW_OPS_FUSED_OPS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace dflow {
namespace fused {

// What a fused node does after its MatMul or Conv2D: always add the bias (args[0]), then maybe
// apply Relu.
struct PostOps {
  bool relu = false;
};

// Checks fused_ops and num_args; the error lists the supported combinations.
absl::StatusOr<PostOps> ParsePostOps(const std::vector<std::string>& fused_ops, int64_t num_args);

}  // namespace fused
}  // namespace dflow

#endif  // DFLOW_OPS_FUSED_OPS_H_
