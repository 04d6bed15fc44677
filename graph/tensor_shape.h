// Shapes: TensorShape is fully known (a tensor's shape at run time); PartialTensorShape may have
// unknown dimensions (-1) or unknown rank (graph-time shapes of placeholders and op outputs).
#ifndef DFLOW_GRAPH_TENSOR_SHAPE_H_
#define DFLOW_GRAPH_TENSOR_SHAPE_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "proto/graph.pb.h"

namespace dflow {

// The most elements one tensor may have: 2^34 (64 GiB of float) unless lowered. Shapes read from
// graphs, files or tensor values that ask for more are rejected with an error, never overflowed
// or allocated. The fuzzer lowers it to keep each input's work small.
int64_t MaxTensorElements();
void SetMaxTensorElements(int64_t limit);

// The product of `dims`, or -1 when a dim is negative or the product of the non-zero dims
// exceeds MaxTensorElements().
int64_t CheckedNumElements(absl::Span<const int64_t> dims);

class TensorShape {
 public:
  TensorShape() = default;  // A scalar.
  TensorShape(std::initializer_list<int64_t> dims) : dims_(dims) {}
  explicit TensorShape(absl::Span<const int64_t> dims) : dims_(dims.begin(), dims.end()) {}

  // Fails on negative sizes or an unknown rank.
  static absl::StatusOr<TensorShape> FromProto(const TensorShapeProto& proto);
  void ToProto(TensorShapeProto* proto) const;

  int dims() const { return static_cast<int>(dims_.size()); }
  int64_t dim_size(int d) const { return dims_[d]; }
  absl::Span<const int64_t> dim_sizes() const { return dims_; }
  // The product of the dims; -1 when it overflows int64 (a Tensor of such a shape is never made:
  // allocation checks CheckedNumElements).
  int64_t num_elements() const;

  void AddDim(int64_t size) { dims_.push_back(size); }
  void set_dim(int d, int64_t size) { dims_[d] = size; }
  void RemoveDim(int d) { dims_.erase(dims_.begin() + d); }

  std::string DebugString() const;  // "[100,784]", "[]" for a scalar.
  bool operator==(const TensorShape& other) const { return dims_ == other.dims_; }
  bool operator!=(const TensorShape& other) const { return dims_ != other.dims_; }

 private:
  // Inline up to rank 6, so copying a shape (every Tensor copy does) never allocates.
  absl::InlinedVector<int64_t, 6> dims_;
};

class PartialTensorShape {
 public:
  PartialTensorShape() = default;  // Unknown rank.
  PartialTensorShape(std::initializer_list<int64_t> dims) : known_rank_(true), dims_(dims) {}
  explicit PartialTensorShape(absl::Span<const int64_t> dims)
      : known_rank_(true), dims_(dims.begin(), dims.end()) {}
  PartialTensorShape(const TensorShape& shape)  // NOLINT: a known shape is a partial shape.
      : known_rank_(true), dims_(shape.dim_sizes().begin(), shape.dim_sizes().end()) {}

  static PartialTensorShape Unknown() { return PartialTensorShape(); }
  static PartialTensorShape UnknownDims(int rank) {
    return PartialTensorShape(std::vector<int64_t>(rank, -1));
  }
  static absl::StatusOr<PartialTensorShape> FromProto(const TensorShapeProto& proto);
  void ToProto(TensorShapeProto* proto) const;

  bool unknown_rank() const { return !known_rank_; }
  int dims() const { return known_rank_ ? static_cast<int>(dims_.size()) : -1; }
  int64_t dim_size(int d) const { return dims_[d]; }  // -1 when unknown.
  absl::Span<const int64_t> dim_sizes() const { return dims_; }
  bool IsFullyDefined() const;
  // Number of elements if fully defined, else -1.
  int64_t num_elements() const;

  // True when some fully known shape could match both.
  bool IsCompatibleWith(const PartialTensorShape& other) const;
  // The most specific shape compatible with both; fails when they are incompatible.
  absl::StatusOr<PartialTensorShape> Merge(const PartialTensorShape& other) const;
  absl::StatusOr<TensorShape> AsTensorShape() const;

  std::string DebugString() const;  // "[?,784]"; "<unknown>" for unknown rank.
  bool operator==(const PartialTensorShape& other) const {
    return known_rank_ == other.known_rank_ && dims_ == other.dims_;
  }

 private:
  bool known_rank_ = false;
  absl::InlinedVector<int64_t, 6> dims_;
};

}  // namespace dflow

#endif  // DFLOW_GRAPH_TENSOR_SHAPE_H_
