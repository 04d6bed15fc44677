// Training equivalence under mpirun (run by mnist_equivalence_test.sh with -np 2 and -np 3):
// the tutorial (softmax regression, 1000 steps of 100 images) trained data-parallel ends with
// the same weights (max abs difference <= 1e-5) and the same test accuracy as one process with
// the whole batch, which rank 0 trains afterwards as the reference. Skips without MNIST_DIR.
#include <cmath>
#include <string>

#include "gtest/gtest.h"
#include "tests/mpi/mnist_mpi_test_util.h"
#include "tools/mnist_softmax_lib.h"

namespace dflow {
namespace {

class MnistEquivalenceMpi : public test::MnistMpiTest {};

TEST_F(MnistEquivalenceMpi, TutorialOnRanksMatchesOneProcess) {
  mnist::SoftmaxOptions options;  // The tutorial's 1000 steps of 100 images, rate 0.5.
  options.rank = world_.rank;
  options.num_ranks = world_.size;
  absl::StatusOr<mnist::SoftmaxResult> parallel =
      mnist::TrainSoftmax(data_.train, data_.test, options);
  ASSERT_TRUE(parallel.ok()) << parallel.status();
  if (world_.rank != 0) return;

  // The reference: one process, whole batches, freshly shuffled from the same seed.
  absl::StatusOr<mnist::DataSets> fresh = mnist::ReadDataSets(dir_);
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  options.rank = 0;
  options.num_ranks = 1;
  absl::StatusOr<mnist::SoftmaxResult> single =
      mnist::TrainSoftmax(fresh->train, fresh->test, options);
  ASSERT_TRUE(single.ok()) << single.status();

  ASSERT_EQ(parallel->variables.size(), single->variables.size());
  for (size_t v = 0; v < single->variables.size(); ++v) {
    const auto& [name, expected] = single->variables[v];
    const Tensor& got = parallel->variables[v].second;
    ASSERT_EQ(parallel->variables[v].first, name);
    ASSERT_EQ(got.shape(), expected.shape()) << name;
    double max_diff = 0;
    for (int64_t i = 0; i < expected.NumElements(); ++i) {
      max_diff = std::max(max_diff, static_cast<double>(std::fabs(got.flat<float>()[i] -
                                                                  expected.flat<float>()[i])));
    }
    EXPECT_LE(max_diff, 1e-5) << name << " on " << world_.size << " ranks";
    std::printf("%s: max abs difference %.3g on %d ranks\n", name.c_str(), max_diff, world_.size);
  }
  EXPECT_EQ(parallel->test_accuracy, single->test_accuracy);
  std::printf("test accuracy: %.4f on %d ranks, %.4f in one process\n", parallel->test_accuracy,
              world_.size, single->test_accuracy);
}

}  // namespace
}  // namespace dflow
