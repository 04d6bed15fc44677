// Logging ops: Assert. The schema, its shape function and its builder; TensorFlow gives it no
// gradient.
#include "ops/logging_ops.h"

#include <string>
#include <vector>

#include "graph/attr_value_util.h"
#include "ops/node_builder.h"
#include "ops/op_registry.h"
#include "ops/shape_inference.h"

namespace dflow {

// ---------------------------------------------------------------------------------------------
// Assert

REGISTER_OP("Assert")
    .Input("condition: bool")
    .Input("data: T")
    .Attr("T: list(type)")
    .Attr("summarize: int = 3")
    .SetShapeFn(NoOutputs)  // As TensorFlow's: the condition's shape is checked when it runs.
    .SetIsStateful()
    .NotDifferentiable();

Operation ops::Assert(const Scope& scope, Input condition, absl::Span<const Output> data,
                      int64_t summarize) {
  if (!scope.ok()) return Operation();
  const Output cond = condition.ToOutput(scope.WithOpName(""));
  if (cond.node() == nullptr) return Operation();
  NodeBuilder builder(scope.GetUniqueNameForOp("Assert"), "Assert");
  builder.Input(cond)
      .Input(std::vector<Output>(data.begin(), data.end()))
      .Attr("summarize", summarize);
  return Operation(scope.Finalize(builder));
}

}  // namespace dflow
