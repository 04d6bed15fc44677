// Schemas of the functional control-flow ops (TensorFlow's functional_ops.cc names, attrs and
// defaults) and of IdentityN. The functional ops have no kernel: ImportGraphDef lowers them
// (ops/function_lowering.h), so their shape functions only say "unknown". output_shapes has no
// default here (TensorFlow's is []) because the spec parser has no list(shape) defaults.
#include "ops/functional_ops.h"

#include <vector>

#include "ops/op_registry.h"
#include "ops/shape_inference.h"

namespace dflow {
namespace {

// As many outputs as the Tout (or T) list says, shapes unknown: the lowered graph has the
// real ones.
absl::Status UnknownOutputs(InferenceContext* ctx) {
  for (int i = 0; i < ctx->num_outputs(); ++i) ctx->set_output(i, PartialTensorShape());
  return absl::OkStatus();
}

}  // namespace

bool IsFunctionalIf(absl::string_view op) { return op == "If" || op == "StatelessIf"; }
bool IsFunctionalWhile(absl::string_view op) { return op == "While" || op == "StatelessWhile"; }
bool IsFunctionCall(absl::string_view op) {
  return op == "PartitionedCall" || op == "StatefulPartitionedCall";
}
bool IsFunctionalOp(absl::string_view op) {
  return IsFunctionalIf(op) || IsFunctionalWhile(op) || IsFunctionCall(op);
}

// ---------------------------------------------------------------------------------------------
// If, StatelessIf: output = pred ? then_branch(input) : else_branch(input).

#define DFLOW_IF_OP(name)                                                                   \
  REGISTER_OP(name)                                                                         \
      .Input("cond: Tcond")                                                                 \
      .Input("input: Tin")                                                                  \
      .Output("output: Tout")                                                               \
      .Attrs({"Tcond: type", "Tin: list(type) >= 0", "Tout: list(type) >= 0",               \
              "then_branch: func", "else_branch: func", "output_shapes: list(shape)"}) \
      .SetShapeFn(UnknownOutputs)
// Lowered at import (ops/function_lowering.h): never run or differentiated as themselves.
DFLOW_IF_OP("If").SetIsStateful().NotDifferentiable();
DFLOW_IF_OP("StatelessIf").NotDifferentiable();
#undef DFLOW_IF_OP

// ---------------------------------------------------------------------------------------------
// While, StatelessWhile: while (cond(vars)) vars = body(vars); output = vars.

#define DFLOW_WHILE_OP(name)                                                            \
  REGISTER_OP(name)                                                                     \
      .Input("input: T")                                                                \
      .Output("output: T")                                                              \
      .Attrs({"T: list(type) >= 0", "cond: func", "body: func",                         \
              "output_shapes: list(shape)", "parallel_iterations: int = 10"})      \
      .SetShapeFn(UnknownOutputs)
DFLOW_WHILE_OP("While").SetIsStateful().NotDifferentiable();
DFLOW_WHILE_OP("StatelessWhile").NotDifferentiable();
#undef DFLOW_WHILE_OP

// ---------------------------------------------------------------------------------------------
// PartitionedCall, StatefulPartitionedCall: output = f(args).

#define DFLOW_CALL_OP(name)                                                             \
  REGISTER_OP(name)                                                                     \
      .Input("args: Tin")                                                               \
      .Output("output: Tout")                                                           \
      .Attrs({"Tin: list(type) >= 0", "Tout: list(type) >= 0", "f: func",               \
              "config: string = ''", "config_proto: string = ''",                       \
              "executor_type: string = ''"})                                            \
      .SetShapeFn(UnknownOutputs)
DFLOW_CALL_OP("PartitionedCall").NotDifferentiable();
DFLOW_CALL_OP("StatefulPartitionedCall").SetIsStateful().NotDifferentiable();
#undef DFLOW_CALL_OP

// ---------------------------------------------------------------------------------------------
// IdentityN: output i = input i. TensorFlow's gradient passes each output's gradient through.

REGISTER_OP("IdentityN")
    .Input("input: T")
    .Output("output: T")
    .Attr("T: list(type) >= 1")
    .SetShapeFn([](InferenceContext* ctx) -> absl::Status {
      for (int i = 0; i < ctx->num_outputs() && i < ctx->num_inputs(); ++i) {
        ctx->set_output(i, ctx->input(i));
      }
      return absl::OkStatus();
    });
REGISTER_GRADIENT("IdentityN", [](const Scope& scope, const Node& node,
                                  absl::Span<const Output> grad_outputs,
                                  std::vector<Output>* grad_inputs) {
  grad_inputs->assign(grad_outputs.begin(), grad_outputs.end());
  return absl::OkStatus();
});

}  // namespace dflow
