#include "kernels/run_resources.h"

#include "absl/strings/str_cat.h"

namespace dflow {
namespace {

Tensor Handle(int64_t kind, int64_t id) {
  Tensor t(DT_RESOURCE, TensorShape({2}));
  int64_t* data = static_cast<int64_t*>(t.data());
  data[0] = kind;
  data[1] = id;
  return t;
}

}  // namespace

Tensor RunResources::AddTensorArray(std::unique_ptr<TensorArray> array) {
  arrays_.push_back(std::move(array));
  return Handle(kTensorArray, static_cast<int64_t>(arrays_.size()) - 1);
}

Tensor RunResources::AddStack(std::unique_ptr<Stack> stack) {
  stacks_.push_back(std::move(stack));
  return Handle(kStack, static_cast<int64_t>(stacks_.size()) - 1);
}

Tensor RunResources::TensorArrayHandle(int64_t id) { return Handle(kTensorArray, id); }

int64_t RunResources::Id(const Tensor& handle) {
  return static_cast<const int64_t*>(handle.data())[1];
}

absl::StatusOr<int64_t> RunResources::Lookup(const Tensor& handle, Kind kind,
                                             size_t count) const {
  if (handle.dtype() != DT_RESOURCE || handle.NumElements() != 2) {
    return absl::InvalidArgumentError(absl::StrCat("expected a resource handle of shape [2], got ",
                                                   DataTypeString(handle.dtype()), " ",
                                                   handle.shape().DebugString()));
  }
  const int64_t* data = static_cast<const int64_t*>(handle.data());
  if (data[0] != kind || data[1] < 0 || data[1] >= static_cast<int64_t>(count)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the handle names no ", kind == kTensorArray ? "TensorArray" : "stack",
        " of this run (a handle from another run or a closed resource)"));
  }
  return data[1];
}

absl::StatusOr<TensorArray*> RunResources::GetTensorArray(const Tensor& handle) {
  absl::StatusOr<int64_t> id = Lookup(handle, kTensorArray, arrays_.size());
  if (!id.ok()) return id.status();
  if (arrays_[*id] == nullptr) return absl::InvalidArgumentError("the TensorArray is closed");
  return arrays_[*id].get();
}

absl::StatusOr<Stack*> RunResources::GetStack(const Tensor& handle) {
  absl::StatusOr<int64_t> id = Lookup(handle, kStack, stacks_.size());
  if (!id.ok()) return id.status();
  if (stacks_[*id] == nullptr) return absl::InvalidArgumentError("the stack is closed");
  return stacks_[*id].get();
}

void RunResources::Clear() {
  arrays_.clear();
  stacks_.clear();
}

}  // namespace dflow
