#include "tools/mnist_model_util.h"

#include <cstring>

#include "graph/status_macros.h"
#include "ops/collective/shard.h"
#include "ops/standard_ops.h"

namespace dflow {
namespace mnist {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

Tensor Int32Vector(const std::vector<int64_t>& dims) {
  std::vector<int32_t> v(dims.begin(), dims.end());
  return *Tensor::FromVector<int32_t>(v, TensorShape({static_cast<int64_t>(v.size())}));
}

Output NormalVariable(const Scope& root, const std::string& name,
                      const std::vector<int64_t>& shape, float stddev, int64_t seed,
                      int64_t seed2) {
  Output var = ops::Variable(root.WithOpName(name), PartialTensorShape(shape), DT_FLOAT);
  const Scope init = root.NewSubScope(name + "_init");
  Output normal = ops::TruncatedNormal(init, Int32Vector(shape), DT_FLOAT,
                                       ops::TruncatedNormal::Seed(seed).Seed2(seed2));
  ops::Assign(root.WithOpName(name + "/Assign"), var, ops::Mul(init, normal, stddev));
  return var;
}

Output ConstVariable(const Scope& root, const std::string& name, int64_t size, float value) {
  Output var = ops::Variable(root.WithOpName(name), PartialTensorShape({size}), DT_FLOAT);
  ops::Assign(root.WithOpName(name + "/Assign"), var,
              ops::Const(root.NewSubScope(name + "_init"), value, TensorShape({size})));
  return var;
}

Tensor Rows(const Tensor& t, int64_t begin, int64_t n) {
  const int64_t d = t.dim_size(1);
  Tensor out(DT_FLOAT, TensorShape({n, d}));
  if (n > 0) std::memcpy(out.data(), t.flat<float>().data() + begin * d, n * d * sizeof(float));
  return out;
}

absl::Status ShardBatch(int rank, int num_ranks, Batch* batch) {
  if (num_ranks <= 1) return absl::OkStatus();
  DFLOW_ASSIGN_OR_RETURN(batch->images, ShardRows(batch->images, rank, num_ranks));
  DFLOW_ASSIGN_OR_RETURN(batch->labels, ShardRows(batch->labels, rank, num_ranks));
  return absl::OkStatus();
}

}  // namespace mnist
}  // namespace dflow
