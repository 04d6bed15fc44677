// Functional control flow, as TensorFlow 2 and tf.function exports write it: If/StatelessIf,
// While/StatelessWhile and PartitionedCall/StatefulPartitionedCall, whose branches and bodies
// are functions of GraphDef.library. dflow registers their schemas (so their inputs, outputs
// and attrs resolve as any op's) and runs none of them directly: ImportGraphDef lowers them to
// Switch/Merge, while-loop frames and inlined bodies (ops/function_lowering.h). IdentityN,
// which the lowering leaves under the functional node's name, is here too.
#ifndef DFLOW_OPS_FUNCTIONAL_OPS_H_
#define DFLOW_OPS_FUNCTIONAL_OPS_H_

#include "absl/strings/string_view.h"

namespace dflow {

// If or StatelessIf.
bool IsFunctionalIf(absl::string_view op);
// While or StatelessWhile.
bool IsFunctionalWhile(absl::string_view op);
// PartitionedCall or StatefulPartitionedCall.
bool IsFunctionCall(absl::string_view op);
// Any of the three above.
bool IsFunctionalOp(absl::string_view op);

}  // namespace dflow

#endif  // DFLOW_OPS_FUNCTIONAL_OPS_H_
