// String ops: StringJoin. The schema, its shape function and its builder; TensorFlow gives it no
// gradient.
#include "ops/string_ops.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ops/node_builder.h"
#include "ops/op_registry.h"
#include "ops/shape_inference.h"

namespace dflow {

// ---------------------------------------------------------------------------------------------
// StringJoin

namespace {

// The shape every non-scalar input has (they must agree); a scalar when all are scalars.
absl::Status StringJoinShape(InferenceContext* ctx) {
  PartialTensorShape out{absl::Span<const int64_t>()};
  bool all_scalars = true;
  for (int i = 0; i < ctx->num_inputs(); ++i) {
    const PartialTensorShape& in = ctx->input(i);
    if (in.dims() == 0) continue;
    if (all_scalars) {
      out = in;
      all_scalars = false;
      continue;
    }
    if (!out.IsCompatibleWith(in)) {
      return absl::InvalidArgumentError(absl::StrCat("inputs ", out.DebugString(), " and ",
                                                     in.DebugString(), " differ in shape"));
    }
    if (out.unknown_rank()) out = in;
  }
  ctx->set_output(0, out);
  return absl::OkStatus();
}

}  // namespace

REGISTER_OP("StringJoin")
    .Input("inputs: N * string")
    .Attr("N: int >= 1")
    .Attr("separator: string = ''")
    .Output("output: string")
    .SetShapeFn(StringJoinShape)
    .NotDifferentiable();

Output ops::StringJoin(const Scope& scope, absl::Span<const Output> inputs,
                       const std::string& separator) {
  if (!scope.ok()) return Output();
  NodeBuilder builder(scope.GetUniqueNameForOp("StringJoin"), "StringJoin");
  builder.Input(std::vector<Output>(inputs.begin(), inputs.end())).Attr("separator", separator);
  return Output(scope.Finalize(builder), 0);
}

}  // namespace dflow
