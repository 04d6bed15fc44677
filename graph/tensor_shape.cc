#include "graph/tensor_shape.h"

#include <atomic>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace dflow {

namespace {
std::atomic<int64_t> max_tensor_elements{int64_t{1} << 34};
}  // namespace

int64_t MaxTensorElements() { return max_tensor_elements.load(std::memory_order_relaxed); }
void SetMaxTensorElements(int64_t limit) { max_tensor_elements.store(limit); }

int64_t CheckedNumElements(absl::Span<const int64_t> dims) {
  // The non-zero dims must multiply within the limit even when a zero dim empties the tensor,
  // so that kernels may multiply any subset of dims without overflowing.
  const int64_t limit = MaxTensorElements();
  int64_t n = 1;
  bool empty = false;
  for (int64_t d : dims) {
    if (d < 0) return -1;
    if (d == 0) {
      empty = true;
      continue;
    }
    if (d > limit / n) return -1;
    n *= d;
  }
  return empty ? 0 : n;
}

absl::StatusOr<TensorShape> TensorShape::FromProto(const TensorShapeProto& proto) {
  if (proto.unknown_rank()) return absl::InvalidArgumentError("shape has unknown rank");
  TensorShape shape;
  for (const auto& dim : proto.dim()) {
    if (dim.size() < 0) {
      return absl::InvalidArgumentError(absl::StrCat("shape has unknown dimension ", dim.size()));
    }
    shape.AddDim(dim.size());
  }
  if (CheckedNumElements(shape.dim_sizes()) < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("shape ", shape.DebugString(), " has too many elements"));
  }
  return shape;
}

void TensorShape::ToProto(TensorShapeProto* proto) const {
  proto->Clear();
  for (int64_t d : dims_) proto->add_dim()->set_size(d);
}

int64_t TensorShape::num_elements() const {
  int64_t n = 1;
  for (int64_t d : dims_) {
    if (d < 0 || __builtin_mul_overflow(n, d, &n)) return -1;
  }
  return n;
}

std::string TensorShape::DebugString() const { return absl::StrCat("[", absl::StrJoin(dims_, ","), "]"); }

absl::StatusOr<PartialTensorShape> PartialTensorShape::FromProto(const TensorShapeProto& proto) {
  if (proto.unknown_rank()) return PartialTensorShape();
  std::vector<int64_t> dims;
  for (const auto& dim : proto.dim()) {
    if (dim.size() < -1) {
      return absl::InvalidArgumentError(absl::StrCat("shape has invalid dimension ", dim.size()));
    }
    dims.push_back(dim.size());
  }
  return PartialTensorShape(dims);
}

void PartialTensorShape::ToProto(TensorShapeProto* proto) const {
  proto->Clear();
  if (!known_rank_) {
    proto->set_unknown_rank(true);
    return;
  }
  for (int64_t d : dims_) proto->add_dim()->set_size(d);
}

bool PartialTensorShape::IsFullyDefined() const {
  if (!known_rank_) return false;
  for (int64_t d : dims_) {
    if (d < 0) return false;
  }
  return true;
}

int64_t PartialTensorShape::num_elements() const {
  if (!IsFullyDefined()) return -1;
  return CheckedNumElements(dims_);
}

bool PartialTensorShape::IsCompatibleWith(const PartialTensorShape& other) const {
  if (!known_rank_ || !other.known_rank_) return true;
  if (dims_.size() != other.dims_.size()) return false;
  for (size_t i = 0; i < dims_.size(); ++i) {
    const int64_t a = dims_[i], b = other.dims_[i];
    if (a >= 0 && b >= 0 && a != b) return false;
  }
  return true;
}

absl::StatusOr<PartialTensorShape> PartialTensorShape::Merge(const PartialTensorShape& other) const {
  if (!known_rank_) return other;
  if (!other.known_rank_) return *this;
  if (dims_.size() != other.dims_.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("shapes ", DebugString(), " and ", other.DebugString(), " differ in rank"));
  }
  absl::InlinedVector<int64_t, 6> merged(dims_.size());
  for (size_t i = 0; i < dims_.size(); ++i) {
    const int64_t a = dims_[i], b = other.dims_[i];
    if (a >= 0 && b >= 0 && a != b) {
      return absl::InvalidArgumentError(absl::StrCat("shapes ", DebugString(), " and ",
                                                     other.DebugString(), " differ in dimension ",
                                                     i));
    }
    merged[i] = a >= 0 ? a : b;
  }
  return PartialTensorShape(merged);
}

absl::StatusOr<TensorShape> PartialTensorShape::AsTensorShape() const {
  if (!IsFullyDefined()) {
    return absl::InvalidArgumentError(absl::StrCat("shape ", DebugString(), " is not fully defined"));
  }
  return TensorShape(dims_);
}

std::string PartialTensorShape::DebugString() const {
  if (!known_rank_) return "<unknown>";
  return absl::StrCat("[",
                      absl::StrJoin(dims_, ",",
                                    [](std::string* out, int64_t d) {
                                      absl::StrAppend(out, d < 0 ? std::string("?") : absl::StrCat(d));
                                    }),
                      "]");
}

}  // namespace dflow
