// Training helpers over the Horovod collectives (docs/distributed.md).
#ifndef DFLOW_OPS_COLLECTIVE_HOROVOD_TRAINING_H_
#define DFLOW_OPS_COLLECTIVE_HOROVOD_TRAINING_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "ops/scope.h"
#include "ops/training.h"

namespace dflow {

// An op that sets every variable (VariableV2) in the scope's graph, on every rank, to
// root_rank's value, as horovod.tensorflow's broadcast_global_variables: one Assign of a
// HorovodBroadcast per variable. Run it once after the initializer, on every rank; build it
// after all variables exist (later ones are left out). Fails in the scope when there are none.
Operation BroadcastGlobalVariables(const Scope& scope, int64_t root_rank);

// horovod.tensorflow's DistributedOptimizer: wraps another optimizer and combines every
// gradient across ranks before the wrapped optimizer applies it.
//
//   DistributedOptimizer opt(AdamOptimizer(1e-4f));
//   Operation train = opt.Minimize(scope, loss, {}, global_step);
//
// The gradients of one step go through one HorovodGroupedAllreduce per dtype, named
// "DistributedOptimizer_Allreduce/HorovodGroupedAllreduce" under the scope (other dtypes:
// "..._<dtype>"), so that the coordinator negotiates them in one round and fuses them into one
// MPI allreduce (dflow's executor runs a step's nodes one at a time, so separate allreduces
// would each pay a round). By default with reduce_op average. With WeightedByRows(rows) (a
// scalar: the number of examples this rank's loss averages over), the group sums
// [rows, rows * g_1, ...] instead and each gradient is sum_r(rows_r g_r) / sum_r(rows_r), so
// that ranks holding different shares of a global batch compute exactly the gradient of the
// loss averaged over the whole batch (rows * g_k are the gradients of rows * loss, so no pass
// over the gradients scales them). Every rank must build the same graph; a rank's row count
// must not be 0 (its mean loss is then NaN).
class DistributedOptimizer : public Optimizer {
 public:
  explicit DistributedOptimizer(const Optimizer& optimizer) : inner_(optimizer.Clone()) {}
  DistributedOptimizer(const DistributedOptimizer& other)
      : inner_(other.inner_->Clone()), rows_(other.rows_) {}

  DistributedOptimizer& WeightedByRows(const Output& rows) {
    rows_ = rows;
    return *this;
  }

  // The wrapped optimizer's Minimize, with the gradients combined across ranks.
  Operation Minimize(const Scope& scope, const Output& loss,
                     const std::vector<Output>& var_list = {},
                     const Output& global_step = Output()) {
    return MinimizeImpl(scope, loss, var_list, global_step);
  }

  // The local gradients, each replaced by its allreduce (see above).
  std::vector<GradAndVar> ComputeGradients(const Scope& scope, const Output& loss,
                                           const std::vector<Output>& var_list = {}) override;
  // The wrapped optimizer's ApplyGradients (the gradients given are used as they are).
  Operation ApplyGradients(const Scope& scope, const std::vector<GradAndVar>& grads_and_vars,
                           const Output& global_step = Output()) override {
    return inner_->ApplyGradients(scope, grads_and_vars, global_step);
  }
  std::unique_ptr<Optimizer> Clone() const override {
    return std::make_unique<DistributedOptimizer>(*this);
  }

 private:
  std::unique_ptr<Optimizer> inner_;
  Output rows_;
};

}  // namespace dflow

#endif  // DFLOW_OPS_COLLECTIVE_HOROVOD_TRAINING_H_
