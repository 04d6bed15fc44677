// The fixture of the MNIST training tests run under mpirun (mnist_equivalence_test.sh): the
// MPI world (at least 2 ranks) and the data sets, read once per test. Skips without MNIST_DIR.
#ifndef DFLOW_TESTS_MPI_MNIST_MPI_TEST_UTIL_H_
#define DFLOW_TESTS_MPI_MNIST_MPI_TEST_UTIL_H_

#include <cstdlib>
#include <string>

#include "gtest/gtest.h"
#include "ops/collective/mpi_world.h"
#include "tools/mnist_data.h"

namespace dflow {
namespace test {

class MnistMpiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* dir = std::getenv("MNIST_DIR");
    if (dir == nullptr || *dir == '\0') GTEST_SKIP() << "MNIST_DIR is not set";
    dir_ = dir;
    absl::StatusOr<MpiWorld> world = MpiWorldFromEnv();
    ASSERT_TRUE(world.ok()) << world.status();
    ASSERT_GE(world->size, 2) << "run under mpirun (mnist_equivalence_test.sh)";
    world_ = *world;
    absl::StatusOr<mnist::DataSets> data = mnist::ReadDataSets(dir_);
    ASSERT_TRUE(data.ok()) << data.status();
    data_ = std::move(*data);
  }

  std::string dir_;  // MNIST_DIR.
  MpiWorld world_;
  mnist::DataSets data_;
};

}  // namespace test
}  // namespace dflow

#endif  // DFLOW_TESTS_MPI_MNIST_MPI_TEST_UTIL_H_
