#include "tools/mnist_model_util.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"

#include "graph/status_macros.h"
#include "ops/collective/shard.h"
#include "ops/standard_ops.h"
#include "runtime/checkpoint.h"

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

Output GlobalStepVariable(const Scope& root) {
  Output step = ops::Variable(root.WithOpName("global_step"), PartialTensorShape({}), DT_INT64);
  ops::Assign(root.WithOpName("global_step/Assign"), step, Input(int64_t{0}));
  return step;
}

Scores ScoreLogits(const Scope& root, const Output& logits, const Output& y_) {
  Output correct_prediction =
      ops::Equal(root, ops::ArgMax(root, logits, 1), ops::ArgMax(root, y_, 1));
  Output correct_float = ops::Cast(root, correct_prediction, DT_FLOAT);
  Scores s;
  s.accuracy = ops::Mean(root.WithOpName("accuracy"), correct_float, {0});
  s.correct = ops::Sum(root.WithOpName("correct"), correct_float, {0});
  return s;
}

absl::StatusOr<int> RestoreTrainingStep(Session& session, const std::string& checkpoint,
                                        const Output& global_step, DataSet& train,
                                        int batch_size, std::ostream* log) {
  absl::Status status = RestoreCheckpoint(session, checkpoint);
  if (!status.ok()) {
    return absl::Status(status.code(),
                        absl::StrCat("restoring '", checkpoint, "': ", status.message()));
  }
  std::vector<Tensor> outputs;
  DFLOW_RETURN_IF_ERROR(session.Run({}, {global_step}, {}, &outputs));
  const int64_t restored = outputs[0].scalar<int64_t>();
  if (restored < 0 || restored > (int64_t{1} << 30)) {
    return absl::InvalidArgumentError(
        absl::StrCat("checkpoint '", checkpoint, "' holds a bad global_step ", restored));
  }
  const int start = static_cast<int>(restored);
  for (int i = 0; i < start; ++i) DFLOW_RETURN_IF_ERROR(train.NextBatch(batch_size).status());
  if (log != nullptr) *log << "restored step " << start << " from " << checkpoint << std::endl;
  return start;
}

absl::StatusOr<Evaluation> EvaluateInBatches(Session& session, const DataSet& test,
                                             int64_t eval_batch_size, const Output& x,
                                             const Output& y_, const Output& correct,
                                             const ExtraFeeds& extra_feeds) {
  const auto start = std::chrono::steady_clock::now();
  const int64_t n = test.num_examples();
  Evaluation e;
  std::vector<Tensor> outputs;
  for (int64_t begin = 0; begin < n; begin += eval_batch_size) {
    const int64_t size = std::min<int64_t>(eval_batch_size, n - begin);
    std::vector<std::pair<Output, Tensor>> feeds = {{x, Rows(test.images(), begin, size)},
                                                    {y_, Rows(test.labels(), begin, size)}};
    if (extra_feeds) extra_feeds(size, &feeds);
    DFLOW_RETURN_IF_ERROR(session.Run(feeds, {correct}, {}, &outputs));
    e.correct += static_cast<int64_t>(std::lround(outputs[0].scalar<float>()));
  }
  e.accuracy = static_cast<double>(e.correct) / static_cast<double>(n);
  e.seconds = SecondsSince(start);
  return e;
}

}  // namespace mnist
}  // namespace dflow
