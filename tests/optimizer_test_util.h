// Helpers shared by the graph optimizer's tests: counting ops and running a graph both as it is
// and optimized, in separate Sessions, to compare their results.
#ifndef DFLOW_TESTS_OPTIMIZER_TEST_UTIL_H_
#define DFLOW_TESTS_OPTIMIZER_TEST_UTIL_H_

#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "graph/graph.h"
#include "graph/tensor.h"
#include "ops/scope.h"
#include "runtime/graph_optimizer.h"

namespace dflow {
namespace test {

// How many nodes of `graph` run `op`.
int CountOps(const Graph& graph, absl::string_view op);

// `optimized` has the dtype and shape of `original`, and its values: floats within `tol`
// relative, other types exactly.
void ExpectSameTensor(const Tensor& optimized, const Tensor& original, float tol = 1e-5f);

// Runs `fetches` of `graph` as it is and optimized for these feeds, and checks that both give
// the same values. Returns the optimized graph for assertions on its nodes.
OptimizedGraph RunBothAndCompare(const Graph& graph,
                                 const std::vector<std::pair<Output, Tensor>>& feeds,
                                 const std::vector<Output>& fetches,
                                 const GraphOptimizerOptions& options = {}, float tol = 1e-5f);
// The same for the scope's graph, checked to have been built without error.
OptimizedGraph RunBothAndCompare(const Scope& root,
                                 const std::vector<std::pair<Output, Tensor>>& feeds,
                                 const std::vector<Output>& fetches,
                                 const GraphOptimizerOptions& options = {});

}  // namespace test
}  // namespace dflow

#endif  // DFLOW_TESTS_OPTIMIZER_TEST_UTIL_H_
