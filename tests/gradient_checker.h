// Numeric gradient checking by central differences, for gradient-function tests.
#ifndef DFLOW_TESTS_GRADIENT_CHECKER_H_
#define DFLOW_TESTS_GRADIENT_CHECKER_H_

#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/tensor.h"
#include "ops/scope.h"

namespace dflow {
namespace test {

// Compares the symbolic gradient of L = sum(w * y), for a fixed random weighting w of y's
// elements, with respect to each x (float placeholders, fed `xs[i].second`), against central
// differences (L(x + h) - L(x - h)) / 2h computed element by element in double precision.
// `other_feeds` feeds further placeholders that are not differentiated. Returns the largest
// error, each measured as |symbolic - numeric| / max(1, |numeric|).
absl::StatusOr<double> MaxGradientError(const Scope& scope,
                                        const std::vector<std::pair<Output, Tensor>>& xs,
                                        const Output& y,
                                        const std::vector<std::pair<Output, Tensor>>& other_feeds = {},
                                        double step = 1e-3);

}  // namespace test
}  // namespace dflow

#endif  // DFLOW_TESTS_GRADIENT_CHECKER_H_
