// Builder functions for ops that pad a tensor: Pad, PadV2, MirrorPad and MirrorPadGrad.
#ifndef DFLOW_OPS_PAD_OPS_H_
#define DFLOW_OPS_PAD_OPS_H_

#include <string>

#include "graph/graph.h"
#include "ops/scope.h"

namespace dflow {
namespace ops {

// `input` with paddings[i][0] zeros before and paddings[i][1] after it in dim i (paddings:
// [rank, 2] int32/int64, non-negative).
Output Pad(const Scope& scope, Input input, Input paddings);
// The same, padding with the scalar `constant_values` instead of zeros.
Output PadV2(const Scope& scope, Input input, Input paddings, Input constant_values);
// Pads with the input mirrored at each border: mode "REFLECT" leaves out the border element
// ([1, 2, 3] padded by 2 -> 3 2 | 1 2 3 | 2 1), "SYMMETRIC" repeats it (2 1 | 1 2 3 | 3 2).
Output MirrorPad(const Scope& scope, Input input, Input paddings, const std::string& mode);
// MirrorPad's gradient: `input` (of the padded shape) folded back onto the unpadded shape, each
// padded element added to the element it mirrors.
Output MirrorPadGrad(const Scope& scope, Input input, Input paddings, const std::string& mode);

}  // namespace ops
}  // namespace dflow

#endif  // DFLOW_OPS_PAD_OPS_H_
