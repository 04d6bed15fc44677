// Builder functions for string ops: StringJoin. (String Add and Equal/NotEqual are the math and
// logical ops with T=string: ops::Add, ops::Equal.)
#ifndef DFLOW_OPS_STRING_OPS_H_
#define DFLOW_OPS_STRING_OPS_H_

#include <string>

#include "absl/types/span.h"
#include "graph/graph.h"
#include "ops/scope.h"

namespace dflow {
namespace ops {

// Joins the string tensors `inputs` element-wise with `separator` between them; scalars are
// repeated to the shape of the others, which must all be equal.
Output StringJoin(const Scope& scope, absl::Span<const Output> inputs,
                  const std::string& separator = "");

}  // namespace ops
}  // namespace dflow

#endif  // DFLOW_OPS_STRING_OPS_H_
