// Training: optimizers that turn gradients into variable updates, and variable initialization.
#ifndef DFLOW_OPS_TRAINING_H_
#define DFLOW_OPS_TRAINING_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "graph/graph.h"
#include "ops/scope.h"

namespace dflow {

// A gradient and the variable it is for, as TensorFlow's compute_gradients returns them.
struct GradAndVar {
  Output gradient;
  Output variable;
};

// The optimizers' common interface, split as TensorFlow's tf.train.Optimizer:
// Minimize(loss) is ApplyGradients(ComputeGradients(loss)), and a wrapper (the distributed
// optimizer of ops/collective/horovod_training.h) transforms the gradients in between.
class Optimizer {
 public:
  virtual ~Optimizer() = default;

  // The gradients of `loss` w.r.t. `var_list` (every variable `loss` depends on when empty),
  // in var_list's order. Errors (no variables, a non-variable, no gradient path) are recorded
  // in the scope and the result is then empty.
  virtual std::vector<GradAndVar> ComputeGradients(const Scope& scope, const Output& loss,
                                                   const std::vector<Output>& var_list = {});

  // Appends the updates of every (gradient, variable) pair, grouped as the optimizer's
  // Minimize describes, and returns the target. Errors are recorded in the scope (null result).
  virtual Operation ApplyGradients(const Scope& scope,
                                   const std::vector<GradAndVar>& grads_and_vars,
                                   const Output& global_step = Output()) = 0;

  // A copy of this optimizer (its hyperparameters; it holds no graph state).
  virtual std::unique_ptr<Optimizer> Clone() const = 0;

 protected:
  // ComputeGradients, then ApplyGradients.
  Operation MinimizeImpl(const Scope& scope, const Output& loss,
                         const std::vector<Output>& var_list, const Output& global_step);
};

class GradientDescentOptimizer : public Optimizer {
 public:
  explicit GradientDescentOptimizer(float learning_rate) : learning_rate_(learning_rate) {}

  // Appends gradients of `loss` w.r.t. `var_list` (every variable `loss` depends on when empty)
  // and one ApplyGradientDescent per variable, grouped by a NoOp named "<name>" under the scope;
  // returns that NoOp. Errors are recorded in the scope (the result is then null).
  Operation Minimize(const Scope& scope, const Output& loss,
                     const std::vector<Output>& var_list = {}) {
    return MinimizeImpl(scope, loss, var_list, Output());
  }

  // The updates "GradientDescent/update_<var>" and the NoOp "GradientDescent" (made unique);
  // with a `global_step`, an AssignAdd "GradientDescent" after them instead (as Adam's).
  Operation ApplyGradients(const Scope& scope, const std::vector<GradAndVar>& grads_and_vars,
                           const Output& global_step = Output()) override;
  std::unique_ptr<Optimizer> Clone() const override {
    return std::make_unique<GradientDescentOptimizer>(*this);
  }

 private:
  float learning_rate_;
};

// Minimize with a `global_step` and Clone, written once for the optimizers that take one.
template <typename Derived>
class GlobalStepOptimizer : public Optimizer {
 public:
  Operation Minimize(const Scope& scope, const Output& loss,
                     const std::vector<Output>& var_list = {},
                     const Output& global_step = Output()) {
    return MinimizeImpl(scope, loss, var_list, global_step);
  }
  std::unique_ptr<Optimizer> Clone() const override {
    return std::make_unique<Derived>(static_cast<const Derived&>(*this));
  }
};

// Adam (Kingma & Ba, 2015), as TensorFlow's tf.train.AdamOptimizer. Minimize appends the
// gradients of `loss` with respect to `var_list` (every variable `loss` depends on when empty)
// and, per variable <var>, two zero-initialized slot variables "<var>/Adam" (m, the first moment)
// and "<var>/Adam_1" (v, the second moment) plus an ApplyAdam node "<name>/update_<var>". Two
// scalar variables "beta1_power" and "beta2_power" (under `scope`), initialized to beta1 and
// beta2, are multiplied by beta1 and beta2 by Assign nodes that run after every ApplyAdam. The
// returned target is a NoOp "<name>" grouping all of them, where <name> is "Adam" (made unique)
// under `scope`; with a `global_step` variable (int32, int64 or float scalar) it is instead an
// AssignAdd "<name>" adding 1 to it after the updates, as TensorFlow's minimize(global_step=)
// does. Errors are recorded in the scope (the result is then null).
//
// Minimize creates variables, each with an Assign initializer: build GlobalVariablesInitializer
// AFTER Minimize, or the slots and beta powers are left out of it. The slots and beta powers are
// ordinary variables, so SaveCheckpoint / RestoreCheckpoint carry the optimizer's state.
class AdamOptimizer : public GlobalStepOptimizer<AdamOptimizer> {
 public:
  explicit AdamOptimizer(float learning_rate = 0.001f, float beta1 = 0.9f, float beta2 = 0.999f,
                         float epsilon = 1e-8f)
      : learning_rate_(learning_rate), beta1_(beta1), beta2_(beta2), epsilon_(epsilon) {}

  Operation ApplyGradients(const Scope& scope, const std::vector<GradAndVar>& grads_and_vars,
                           const Output& global_step = Output()) override;

 private:
  float learning_rate_, beta1_, beta2_, epsilon_;
};

// Gradient descent with momentum, as TensorFlow's tf.train.MomentumOptimizer: one zero-initialized
// slot "<var>/Momentum" (the accumulation) per variable and an ApplyMomentum node
// "<name>/update_<var>" (<name> is "Momentum", made unique), grouped like AdamOptimizer's (and
// with the same `global_step` option and initializer-order rule).
class MomentumOptimizer : public GlobalStepOptimizer<MomentumOptimizer> {
 public:
  MomentumOptimizer(float learning_rate, float momentum, bool use_nesterov = false)
      : learning_rate_(learning_rate), momentum_(momentum), use_nesterov_(use_nesterov) {}

  Operation ApplyGradients(const Scope& scope, const std::vector<GradAndVar>& grads_and_vars,
                           const Output& global_step = Output()) override;

 private:
  float learning_rate_, momentum_;
  bool use_nesterov_;
};

// One target that runs every variable's initializer (each Assign whose `ref` is a VariableV2),
// grouped by a NoOp named "init" (unique-ified) under `scope`.
Operation GlobalVariablesInitializer(const Scope& scope);

// Every VariableV2 in the graph that `output` depends on, in graph order.
std::vector<Output> VariablesReachableFrom(const Output& output);

namespace ops {

// Dropout as TensorFlow 1.x's tf.nn.dropout: each element of x is kept with probability
// keep_prob and scaled by 1 / keep_prob, else zeroed:
//   x / keep_prob * floor(keep_prob + RandomUniform(Shape(x)))
// built in a sub-scope "dropout" from Shape, RandomUniform (seeded by seed and seed2; both 0
// draws a random seed), Add, Floor, RealDiv and Mul. keep_prob is a float scalar in (0, 1]
// (a constant outside it is an error at graph build), typically a placeholder fed 0.5 while
// training and 1.0 when evaluating; at 1.0 the result is exactly x. Gradients flow to x only.
Output Dropout(const Scope& scope, Input x, Input keep_prob, int64_t seed = 0,
               int64_t seed2 = 0);

}  // namespace ops
}  // namespace dflow

#endif  // DFLOW_OPS_TRAINING_H_
