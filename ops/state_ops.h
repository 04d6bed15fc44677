// Builder functions for variables and their updates.
#ifndef DFLOW_OPS_STATE_OPS_H_
#define DFLOW_OPS_STATE_OPS_H_

#include "graph/graph.h"
#include "ops/scope.h"

namespace dflow {
namespace ops {

// A variable living in the Session, named by its node; it must be assigned before it is read.
Output Variable(const Scope& scope, const PartialTensorShape& shape, DataType dtype);

// Sets `ref` (a Variable) to `value`; outputs the new value.
class Assign : public Output {
 public:
  struct Attrs {
    Attrs ValidateShape(bool v) const { Attrs a = *this; a.validate_shape = v; return a; }
    bool validate_shape = true;
  };
  static Attrs ValidateShape(bool v) { return Attrs().ValidateShape(v); }
  Assign(const Scope& scope, Input ref, Input value) : Assign(scope, ref, value, Attrs{}) {}
  Assign(const Scope& scope, Input ref, Input value, const Attrs& attrs);
};

// var -= alpha * delta, in place; outputs the new value.
Output ApplyGradientDescent(const Scope& scope, Input var, Input alpha, Input delta);

// ref += value (ref -= value), in place; outputs the new value. `ref` must be initialized and
// `value` of its shape. Float, int32 and int64 (integers wrap around).
Output AssignAdd(const Scope& scope, Input ref, Input value);
Output AssignSub(const Scope& scope, Input ref, Input value);

// The attrs of ApplyAdam and ApplyMomentum (at namespace scope so that the default member
// initializers work in the constructors' default arguments).
struct ApplyAttrs {
  ApplyAttrs UseLocking(bool v) const { ApplyAttrs a = *this; a.use_locking = v; return a; }
  ApplyAttrs UseNesterov(bool v) const { ApplyAttrs a = *this; a.use_nesterov = v; return a; }
  bool use_locking = false;  // Accepted; updates always hold the variables' locks.
  bool use_nesterov = false;
};

// One Adam step (Kingma & Ba), in place on var, m and v (three distinct initialized variables
// of grad's shape; the other inputs are scalars):
//   lr_t = lr * sqrt(1 - beta2_power) / (1 - beta1_power)
//   m = beta1 * m + (1 - beta1) * grad
//   v = beta2 * v + (1 - beta2) * grad^2
//   var -= lr_t * m / (sqrt(v) + epsilon)
// With UseNesterov(true) the last line uses beta1 * m + (1 - beta1) * grad instead of m.
// Outputs var's new value.
class ApplyAdam : public Output {
 public:
  using Attrs = ApplyAttrs;
  static Attrs UseLocking(bool v) { return Attrs().UseLocking(v); }
  static Attrs UseNesterov(bool v) { return Attrs().UseNesterov(v); }
  ApplyAdam(const Scope& scope, Input var, Input m, Input v, Input beta1_power,
            Input beta2_power, Input lr, Input beta1, Input beta2, Input epsilon, Input grad,
            const Attrs& attrs = Attrs());
};

// One momentum step, in place on var and accum (distinct initialized variables of grad's
// shape; lr and momentum are scalars):
//   accum = accum * momentum + grad
//   var -= lr * accum            (with UseNesterov(true): var -= lr * grad + lr * momentum * accum)
// Outputs var's new value.
class ApplyMomentum : public Output {
 public:
  using Attrs = ApplyAttrs;
  static Attrs UseLocking(bool v) { return Attrs().UseLocking(v); }
  static Attrs UseNesterov(bool v) { return Attrs().UseNesterov(v); }
  ApplyMomentum(const Scope& scope, Input var, Input accum, Input lr, Input grad, Input momentum,
                const Attrs& attrs = Attrs());
};

}  // namespace ops
}  // namespace dflow

#endif  // DFLOW_OPS_STATE_OPS_H_
