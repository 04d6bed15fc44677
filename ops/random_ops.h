// Builder functions for random ops.
//
// Seeds follow TensorFlow: when seed or seed2 is non-zero the stream is fixed by (seed, seed2),
// so a fresh Session gives the same numbers every time, in every process; when both are 0 a
// random seed is drawn. Each Run of the same node in a Session continues its stream.
#ifndef DFLOW_OPS_RANDOM_OPS_H_
#define DFLOW_OPS_RANDOM_OPS_H_

#include <cstdint>

#include "graph/graph.h"
#include "ops/scope.h"

namespace dflow {
namespace ops {

// Attrs shared by the random ops: Seed(1).Seed2(2).
struct RandomAttrs {
  RandomAttrs Seed(int64_t s) const { RandomAttrs a = *this; a.seed = s; return a; }
  RandomAttrs Seed2(int64_t s) const { RandomAttrs a = *this; a.seed2 = s; return a; }
  int64_t seed = 0;
  int64_t seed2 = 0;
};

// Uniform values in [0, 1) of `dtype` (float or double), shape given by the 1-D int32/int64
// tensor `shape`.
class RandomUniform : public Output {
 public:
  using Attrs = RandomAttrs;
  static Attrs Seed(int64_t s) { return Attrs().Seed(s); }
  static Attrs Seed2(int64_t s) { return Attrs().Seed2(s); }
  RandomUniform(const Scope& scope, Input shape, DataType dtype, const Attrs& attrs = Attrs());
};

// Normal(0, 1) values, each redrawn until it lies in [-2, 2].
class TruncatedNormal : public Output {
 public:
  using Attrs = RandomAttrs;
  static Attrs Seed(int64_t s) { return Attrs().Seed(s); }
  static Attrs Seed2(int64_t s) { return Attrs().Seed2(s); }
  TruncatedNormal(const Scope& scope, Input shape, DataType dtype, const Attrs& attrs = Attrs());
};

}  // namespace ops
}  // namespace dflow

#endif  // DFLOW_OPS_RANDOM_OPS_H_
