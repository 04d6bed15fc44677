// A job with one rank lost before an allreduce, run by horovod_mpi_test.sh:
//   DFLOW_MPI_TEST_LOSE_RANK=k   rank k loses itself,
//   DFLOW_MPI_TEST_LOSE_HOW=kill (raise(SIGKILL): no goodbye), exit (exit(3): MpiContext's
//   destructor tells rank 0 that it is leaving), after_cache (every rank runs the allreduce
//   once, so that it is cached, then rank k is killed before the second), or collective (rank
//   k is killed inside the agreed MPI call: the script sets DFLOW_MPI_TEST_DIE_IN=k:allreduce).
// Every other rank runs the allreduce, prints "lost_rank_test: rank r: <status>" and returns 1
// when it failed, 0 when it (wrongly) succeeded.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "kernels/collective/mpi_context.h"
#include "ops/array_ops.h"
#include "ops/collective/horovod_ops.h"
#include "tests/mpi/horovod_test_util.h"

int main() {
  using namespace dflow;  // NOLINT: a test's main.
  absl::StatusOr<MpiContext*> mpi = MpiContext::Get();
  if (!mpi.ok()) {
    std::fprintf(stderr, "lost_rank_test: %s\n", mpi.status().ToString().c_str());
    return 2;
  }
  int lose = 1;
  const char* env = std::getenv("DFLOW_MPI_TEST_LOSE_RANK");
  if (env != nullptr && !absl::SimpleAtoi(env, &lose)) return 2;
  const char* env_how = std::getenv("DFLOW_MPI_TEST_LOSE_HOW");
  const std::string how = env_how == nullptr ? "kill" : env_how;
  Scope root = Scope::NewRootScope();
  auto y = ops::HorovodAllreduce(root.WithOpName("allreduce"),
                                 test::Make<float>({1 << 16}, std::vector<float>(1 << 16, 1)));
  if (how == "after_cache" && !test::Run(root, {y}).ok()) return 2;
  if ((*mpi)->rank() == lose && how != "collective") {
    if (how == "exit") std::exit(3);
    std::raise(SIGKILL);
  }
  absl::StatusOr<std::vector<Tensor>> out = test::Run(root, {y});
  std::fprintf(stderr, "lost_rank_test: rank %d: %s\n", (*mpi)->rank(),
               out.ok() ? "the allreduce returned without the lost rank"
                        : out.status().ToString().c_str());
  return out.ok() ? 0 : 1;
}
