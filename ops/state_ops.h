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

}  // namespace ops
}  // namespace dflow

#endif  // DFLOW_OPS_STATE_OPS_H_
