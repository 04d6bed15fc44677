// Builder functions for TensorFlow's fake-quantization ops (quantize to num_bits levels and back,
// in float, with the range nudged so that 0 is exact) and their gradient ops:
//
//   auto q = ops::FakeQuantWithMinMaxVars(scope, x, min_var, max_var);
#ifndef DFLOW_OPS_QUANTIZE_OPS_H_
#define DFLOW_OPS_QUANTIZE_OPS_H_

#include <string>
#include <utility>

#include "graph/graph.h"
#include "ops/scope.h"

namespace dflow {
namespace ops {

// num_bits in [2, 16]; narrow_range: levels 1 .. 2^num_bits - 1 instead of 0 .. 2^num_bits - 1.
// min / max: FakeQuantWithMinMaxArgs' range attrs (min < max).
struct FakeQuantAttrs {
  FakeQuantAttrs Min(float v) const {
    FakeQuantAttrs a = *this;
    a.min = v;
    return a;
  }
  FakeQuantAttrs Max(float v) const {
    FakeQuantAttrs a = *this;
    a.max = v;
    return a;
  }
  FakeQuantAttrs NumBits(int v) const {
    FakeQuantAttrs a = *this;
    a.num_bits = v;
    return a;
  }
  FakeQuantAttrs NarrowRange(bool v) const {
    FakeQuantAttrs a = *this;
    a.narrow_range = v;
    return a;
  }
  float min = -6.0f, max = 6.0f;  // FakeQuantWithMinMaxArgs only.
  int num_bits = 8;
  bool narrow_range = false;
};

// inputs fake-quantized over the attrs' [min, max].
Output FakeQuantWithMinMaxArgs(const Scope& scope, Input inputs,
                               const FakeQuantAttrs& attrs = FakeQuantAttrs());
// gradients where inputs lie in the nudged range, else 0.
Output FakeQuantWithMinMaxArgsGradient(const Scope& scope, Input gradients, Input inputs,
                                       const FakeQuantAttrs& attrs = FakeQuantAttrs());
// inputs fake-quantized over [min, max] (float scalars); min = max = 0 gives zeros.
Output FakeQuantWithMinMaxVars(const Scope& scope, Input inputs, Input min, Input max,
                               const FakeQuantAttrs& attrs = FakeQuantAttrs());
// The same per channel of the last dimension: min and max are [d].
Output FakeQuantWithMinMaxVarsPerChannel(const Scope& scope, Input inputs, Input min, Input max,
                                         const FakeQuantAttrs& attrs = FakeQuantAttrs());

// The gradients of the Vars ops: gradients inside the nudged range go to inputs; those below it
// sum into min, those above into max (per channel for PerChannel).
struct FakeQuantVarsGradient {
  Operation operation;
  Output backprops_wrt_input, backprop_wrt_min, backprop_wrt_max;
};
FakeQuantVarsGradient FakeQuantWithMinMaxVarsGradient(
    const Scope& scope, Input gradients, Input inputs, Input min, Input max,
    const FakeQuantAttrs& attrs = FakeQuantAttrs());
FakeQuantVarsGradient FakeQuantWithMinMaxVarsPerChannelGradient(
    const Scope& scope, Input gradients, Input inputs, Input min, Input max,
    const FakeQuantAttrs& attrs = FakeQuantAttrs());

// Dequantize: a quantized tensor (qint8, quint8, qint16, quint16, qint32) back to float, over
// [min_range, max_range] (float scalars, or [d] vectors along `axis` when axis >= 0). mode:
// "MIN_COMBINED" (min + (q + half the type's range if signed) * (max - min) / type range),
// "MIN_FIRST" (min rounded to a step, plus (q - lowest) steps of (max - min) / (2^bits - 1)) or
// "SCALED" (q * the larger of min / lowest and max / highest; lowest + 1 when narrow_range).
struct DequantizeAttrs {
  DequantizeAttrs Mode(std::string v) const {
    DequantizeAttrs a = *this;
    a.mode = std::move(v);
    return a;
  }
  DequantizeAttrs NarrowRange(bool v) const {
    DequantizeAttrs a = *this;
    a.narrow_range = v;
    return a;
  }
  DequantizeAttrs Axis(int v) const {
    DequantizeAttrs a = *this;
    a.axis = v;
    return a;
  }
  std::string mode = "MIN_COMBINED";
  bool narrow_range = false;
  int axis = -1;
};
Output Dequantize(const Scope& scope, Input input, Input min_range, Input max_range,
                  const DequantizeAttrs& attrs = DequantizeAttrs());

}  // namespace ops
}  // namespace dflow

#endif  // DFLOW_OPS_QUANTIZE_OPS_H_
