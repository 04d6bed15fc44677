// Builder functions for ops that cut a tensor into pieces: Slice, Split, SplitV and Unpack.
#ifndef DFLOW_OPS_SLICE_OPS_H_
#define DFLOW_OPS_SLICE_OPS_H_

#include <cstdint>
#include <vector>

#include "graph/graph.h"
#include "ops/scope.h"

namespace dflow {
namespace ops {

// input[begin[i] : begin[i] + size[i]] in each dim i; size[i] = -1 takes the rest of the dim
// (begin, size: 1-D int32/int64, one value per dim).
Output Slice(const Scope& scope, Input input, Input begin, Input size);

// `num_split` equal pieces of `value` along `axis` (an int32 scalar; negative counts from the
// end), whose size there they must divide.
class Split {
 public:
  Split(const Scope& scope, Input axis, Input value, int64_t num_split);
  std::vector<Output> output;
};

// Pieces of `value` along `axis` of sizes `size_splits` (1-D int32/int64, one -1 may stand for
// what is left); num_split must equal its length.
class SplitV {
 public:
  SplitV(const Scope& scope, Input value, Input size_splits, Input axis, int64_t num_split);
  std::vector<Output> output;
};

// The `num` slices of `value` along `axis` (that dim's size), each with the axis removed
// (TensorFlow's op Unpack).
class Unstack {
 public:
  struct Attrs {
    Attrs Axis(int64_t v) const { Attrs a = *this; a.axis = v; return a; }
    int64_t axis = 0;
  };
  static Attrs Axis(int64_t v) { return Attrs().Axis(v); }
  Unstack(const Scope& scope, Input value, int64_t num) : Unstack(scope, value, num, Attrs()) {}
  Unstack(const Scope& scope, Input value, int64_t num, const Attrs& attrs);
  std::vector<Output> output;
};

}  // namespace ops
}  // namespace dflow

#endif  // DFLOW_OPS_SLICE_OPS_H_
