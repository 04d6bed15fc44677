// Small helpers for the Horovod-op tests (//tests:test_util is private to //tests).
#ifndef DFLOW_TESTS_MPI_HOROVOD_TEST_UTIL_H_
#define DFLOW_TESTS_MPI_HOROVOD_TEST_UTIL_H_

#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/tensor.h"
#include "ops/scope.h"
#include "runtime/session.h"

namespace dflow {
namespace test {

// Runs `fetches` of the scope's graph in a new Session with `feeds`.
inline absl::StatusOr<std::vector<Tensor>> Run(
    const Scope& scope, const std::vector<Output>& fetches,
    const std::vector<std::pair<Output, Tensor>>& feeds = {}) {
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(scope);
  if (!session.ok()) return session.status();
  std::vector<Tensor> out;
  absl::Status s = (*session)->Run(feeds, fetches, {}, &out);
  if (!s.ok()) return s;
  return out;
}

template <typename T>
Tensor Make(const TensorShape& shape, const std::vector<T>& values) {
  return *Tensor::FromVector<T>(values, shape);
}

template <typename T>
std::vector<T> Values(const Tensor& t) {
  return std::vector<T>(t.flat<T>().begin(), t.flat<T>().end());
}

}  // namespace test
}  // namespace dflow

#endif  // DFLOW_TESTS_MPI_HOROVOD_TEST_UTIL_H_
