// Helpers shared by dflow's tests.
#ifndef DFLOW_TESTS_TEST_UTIL_H_
#define DFLOW_TESTS_TEST_UTIL_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "graph/tensor.h"
#include "ops/scope.h"

namespace dflow {
namespace test {

// Runs `fetches` of the scope's graph in a new Session with `feeds`.
absl::StatusOr<std::vector<Tensor>> RunGraph(const Scope& scope,
                                             const std::vector<std::pair<Output, Tensor>>& feeds,
                                             const std::vector<Output>& fetches);
// The same for one fetch.
absl::StatusOr<Tensor> RunOne(const Scope& scope, const Output& fetch,
                              const std::vector<std::pair<Output, Tensor>>& feeds = {});

// A float tensor of `shape` with values uniform in [lo, hi), from a fixed generator.
Tensor RandomTensor(const TensorShape& shape, uint64_t seed, float lo = -1.f, float hi = 1.f);

// Builds a float tensor from values; the count must match the shape.
Tensor FloatTensor(const TensorShape& shape, std::vector<float> values);

// Every element of `actual` within `tol` (absolute + relative) of `expected`; shape must match.
void ExpectTensorNear(const Tensor& actual, const TensorShape& expected_shape,
                      absl::Span<const float> expected, float tol = 1e-5f);

// Runs a binary from the test's runfiles ("tools/session_run") with `args` through the shell;
// returns its exit code and its stdout and stderr together.
struct CommandResult {
  int exit_code = -1;
  std::string output;
};
CommandResult RunBinary(const std::string& runfiles_path, const std::string& args,
                        const std::string& env_prefix = "");

// A fresh empty folder under TEST_TMPDIR.
std::string TempDir(const std::string& name);

// The ../shared folder (DFLOW_SHARED_DIR), or "" when it is absent.
std::string SharedDir();

}  // namespace test
}  // namespace dflow

#endif  // DFLOW_TESTS_TEST_UTIL_H_
