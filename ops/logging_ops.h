// Builder functions for logging ops: Assert.
#ifndef DFLOW_OPS_LOGGING_OPS_H_
#define DFLOW_OPS_LOGGING_OPS_H_

#include <cstdint>

#include "absl/types/span.h"
#include "graph/graph.h"
#include "ops/scope.h"

namespace dflow {
namespace ops {

// Fails the run with InvalidArgument "assertion failed: [<data 0>] [<data 1>] ..." (the first
// `summarize` values of each data tensor, as TensorFlow prints them) when the scalar bool
// `condition` is false. Run it as a target, or make readers depend on it (control edge).
Operation Assert(const Scope& scope, Input condition, absl::Span<const Output> data,
                 int64_t summarize = 3);

}  // namespace ops
}  // namespace dflow

#endif  // DFLOW_OPS_LOGGING_OPS_H_
