// What the MNIST model libraries (mnist_softmax_lib, mnist_cnn_lib, mnist_rnn_lib) build their
// graphs and training loops from: seeded variables, row slices and shards of a batch, timing.
#ifndef DFLOW_TOOLS_MNIST_MODEL_UTIL_H_
#define DFLOW_TOOLS_MNIST_MODEL_UTIL_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "graph/tensor.h"
#include "ops/scope.h"
#include "tools/mnist_data.h"

namespace dflow {
namespace mnist {

double SecondsSince(std::chrono::steady_clock::time_point start);

// An int32 vector holding `dims` (a Reshape's shape, a TruncatedNormal's).
Tensor Int32Vector(const std::vector<int64_t>& dims);

// A variable initialized to TruncatedNormal(shape) * stddev, seeded by (seed, seed2) so that
// each variable gets its own stream; its Assign is "<name>/Assign".
Output NormalVariable(const Scope& root, const std::string& name,
                      const std::vector<int64_t>& shape, float stddev, int64_t seed,
                      int64_t seed2);

// A variable of `size` elements, every one `value`.
Output ConstVariable(const Scope& root, const std::string& name, int64_t size, float value);

// Rows [begin, begin + n) of a [N, d] float tensor, copied.
Tensor Rows(const Tensor& t, int64_t begin, int64_t n);

// Under mpirun (num_ranks > 1), replaces the batch's images and labels by this rank's rows.
absl::Status ShardBatch(int rank, int num_ranks, Batch* batch);

}  // namespace mnist
}  // namespace dflow

#endif  // DFLOW_TOOLS_MNIST_MODEL_UTIL_H_
