// The CNN's quick schedule data-parallel (run by mnist_equivalence_test.sh's CNN target under
// mpirun -np 2, one oneDNN thread per rank): 1000 steps of the tutorial's global batch of 50
// (25 rows per rank, gradients combined by DistributedOptimizer), then rank 0 evaluates. It must
// reach the bound of the one-process test (tests/mnist_cnn_test.cc,
// MnistCnnTutorial.TheQuickScheduleReachesItsAccuracy): test accuracy >= 0.95, and rank 0's
// last recorded loss under half its first. The dropout masks differ from one process's (rank
// r's seed2 is 4 + r), so the trajectory is another one, which the bound allows for as it
// allows for another seed. Skips without MNIST_DIR.
#include <cstdio>

#include "gtest/gtest.h"
#include "tests/mpi/mnist_mpi_test_util.h"
#include "tools/mnist_cnn_lib.h"

namespace dflow {
namespace {

class MnistCnnMpi : public test::MnistMpiTest {};

TEST_F(MnistCnnMpi, TheQuickScheduleOnRanksReachesTheOneProcessBound) {
  mnist::CnnOptions options;  // The tutorial's batch 50, Adam 1e-4, dropout 0.5, seed 0.
  options.steps = 1000;       // --quick.
  options.threads = 1;        // The ranks share the machine's cores.
  options.rank = world_.rank;
  options.num_ranks = world_.size;
  absl::StatusOr<mnist::CnnResult> result = mnist::TrainCnn(data_.train, data_.test, options);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->progress.size(), 11u);  // Steps 1, 100, ..., 1000.
  if (world_.rank != 0) {
    EXPECT_FALSE(result->evaluated);
    return;
  }
  ASSERT_TRUE(result->evaluated);
  std::printf("MNIST CNN, %d steps on %d ranks: test accuracy %.4f (%lld of 10000), training "
              "%.1f s, evaluation %.1f s\n",
              options.steps, world_.size, result->test_accuracy,
              static_cast<long long>(result->test_correct), result->train_seconds,
              result->eval_seconds);
  EXPECT_LT(result->progress.back().loss, 0.5 * result->progress.front().loss);
  EXPECT_GE(result->test_accuracy, 0.95);
}

}  // namespace
}  // namespace dflow
