// Builder functions for reductions: Sum, Mean, Prod, Max, Min, All and Any over axes, ArgMax,
// ArgMin, Cumsum, and the gradient helper ReducedShape.
//
//   auto loss = ops::Mean(scope, ops::Square(scope, err), {0, 1});
//   auto pred = ops::ArgMax(scope, logits, 1);  // int64
#ifndef DFLOW_OPS_REDUCTION_OPS_H_
#define DFLOW_OPS_REDUCTION_OPS_H_

#include "graph/graph.h"
#include "graph/types.h"
#include "ops/scope.h"

namespace dflow {
namespace ops {

// Reductions of `input` over `axis` (a scalar or 1-D int32/int64 tensor; negative axes count
// from the end; an empty list reduces nothing). The reduced dimensions are removed, or kept with
// size 1 with KeepDims(true).
class Sum : public Output {
 public:
  struct Attrs {
    Attrs KeepDims(bool v) const { Attrs a = *this; a.keep_dims = v; return a; }
    bool keep_dims = false;
  };
  static Attrs KeepDims(bool v) { return Attrs().KeepDims(v); }
  Sum(const Scope& scope, Input input, Input axis)
      : Sum(scope, input, axis, Attrs()) {}
  Sum(const Scope& scope, Input input, Input axis, const Attrs& attrs);
};

class Mean : public Output {
 public:
  struct Attrs {
    Attrs KeepDims(bool v) const { Attrs a = *this; a.keep_dims = v; return a; }
    bool keep_dims = false;
  };
  static Attrs KeepDims(bool v) { return Attrs().KeepDims(v); }
  Mean(const Scope& scope, Input input, Input axis)
      : Mean(scope, input, axis, Attrs()) {}
  Mean(const Scope& scope, Input input, Input axis, const Attrs& attrs);
};

// Product over axes (the gradient handles zeros; float only).
class Prod : public Output {
 public:
  struct Attrs {
    Attrs KeepDims(bool v) const { Attrs a = *this; a.keep_dims = v; return a; }
    bool keep_dims = false;
  };
  static Attrs KeepDims(bool v) { return Attrs().KeepDims(v); }
  Prod(const Scope& scope, Input input, Input axis)
      : Prod(scope, input, axis, Attrs()) {}
  Prod(const Scope& scope, Input input, Input axis, const Attrs& attrs);
};

// Largest and smallest value over axes (float, int32, int64). An empty reduction gives the
// type's lowest (Max: -inf for float) or highest (Min: +inf) value, as TensorFlow does.
class Max : public Output {
 public:
  using Attrs = Sum::Attrs;
  static Attrs KeepDims(bool v) { return Attrs().KeepDims(v); }
  Max(const Scope& scope, Input input, Input axis) : Max(scope, input, axis, Attrs()) {}
  Max(const Scope& scope, Input input, Input axis, const Attrs& attrs);
};
class Min : public Output {
 public:
  using Attrs = Sum::Attrs;
  static Attrs KeepDims(bool v) { return Attrs().KeepDims(v); }
  Min(const Scope& scope, Input input, Input axis) : Min(scope, input, axis, Attrs()) {}
  Min(const Scope& scope, Input input, Input axis, const Attrs& attrs);
};

// Logical and / or of a bool tensor over axes; an empty reduction gives true / false.
class All : public Output {
 public:
  using Attrs = Sum::Attrs;
  static Attrs KeepDims(bool v) { return Attrs().KeepDims(v); }
  All(const Scope& scope, Input input, Input axis) : All(scope, input, axis, Attrs()) {}
  All(const Scope& scope, Input input, Input axis, const Attrs& attrs);
};
class Any : public Output {
 public:
  using Attrs = Sum::Attrs;
  static Attrs KeepDims(bool v) { return Attrs().KeepDims(v); }
  Any(const Scope& scope, Input input, Input axis) : Any(scope, input, axis, Attrs()) {}
  Any(const Scope& scope, Input input, Input axis, const Attrs& attrs);
};

// Index of the largest value along `dimension` (a scalar int32/int64; negative counts from the
// end), which is removed from the shape. Ties go to the first index. Output int64 by default.
class ArgMax : public Output {
 public:
  struct Attrs {
    Attrs OutputType(DataType t) const { Attrs a = *this; a.output_type = t; return a; }
    DataType output_type = DT_INT64;
  };
  static Attrs OutputType(DataType t) { return Attrs().OutputType(t); }
  ArgMax(const Scope& scope, Input input, Input dimension)
      : ArgMax(scope, input, dimension, Attrs()) {}
  ArgMax(const Scope& scope, Input input, Input dimension, const Attrs& attrs);
};

// Index of the smallest value along `dimension`, as ArgMax.
class ArgMin : public Output {
 public:
  using Attrs = ArgMax::Attrs;
  static Attrs OutputType(DataType t) { return Attrs().OutputType(t); }
  ArgMin(const Scope& scope, Input input, Input dimension)
      : ArgMin(scope, input, dimension, Attrs()) {}
  ArgMin(const Scope& scope, Input input, Input dimension, const Attrs& attrs);
};

// Cumulative sum of x along `axis` (a scalar int32/int64; negative counts from the end):
// [a, b, c] -> [a, a + b, a + b + c]; Exclusive(true) starts from 0 ([0, a, a + b]),
// Reverse(true) sums from the end ([a + b + c, b + c, c]).
class Cumsum : public Output {
 public:
  struct Attrs {
    Attrs Exclusive(bool v) const { Attrs a = *this; a.exclusive = v; return a; }
    Attrs Reverse(bool v) const { Attrs a = *this; a.reverse = v; return a; }
    bool exclusive = false;
    bool reverse = false;
  };
  static Attrs Exclusive(bool v) { return Attrs().Exclusive(v); }
  static Attrs Reverse(bool v) { return Attrs().Reverse(v); }
  Cumsum(const Scope& scope, Input x, Input axis) : Cumsum(scope, x, axis, Attrs()) {}
  Cumsum(const Scope& scope, Input x, Input axis, const Attrs& attrs);
};

// Gradient helper: `input_shape` (1-D int32, e.g. Shape(x)) with the dimensions listed in `axes`
// set to 1 — the keep_dims shape of a reduction of x over `axes`.
Output ReducedShape(const Scope& scope, Input input_shape, Input axes);

}  // namespace ops
}  // namespace dflow

#endif  // DFLOW_OPS_REDUCTION_OPS_H_
