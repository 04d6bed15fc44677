// State that lives for one run: TensorArrays (tf.while_loop's per-step values) and stacks (the
// forward values a while loop's gradient pops). A handle is a DT_RESOURCE tensor of shape [2]
// (TensorFlow's handle shape): the resource kind and its id in the run's RunResources. Every
// run gets its own RunResources, so concurrent runs never share one; a run uses it from one
// thread at a time, so it has no lock.
#ifndef DFLOW_KERNELS_RUN_RESOURCES_H_
#define DFLOW_KERNELS_RUN_RESOURCES_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "graph/tensor.h"
#include "graph/tensor_shape.h"

namespace dflow {

struct TensorArray {
  DataType dtype = DT_INVALID;
  PartialTensorShape element_shape;  // What every element must fit.
  bool dynamic_size = false;         // Writes past the end grow it.
  bool clear_after_read = true;      // A read empties the element (a second read fails).
  bool multiple_writes_aggregate = false;  // Gradient arrays: repeated writes add up.
  std::vector<Tensor> values;        // Unwritten (or read and cleared) elements are empty.
  std::vector<bool> written;
  absl::flat_hash_map<std::string, int64_t> grads;  // TensorArrayGradV3 source -> array id.
};

struct Stack {
  DataType dtype = DT_INVALID;
  int64_t max_size = -1;  // -1: unbounded.
  std::vector<Tensor> values;
};

class RunResources {
 public:
  enum Kind : int64_t { kTensorArray = 1, kStack = 2 };

  // A new resource and its handle.
  Tensor AddTensorArray(std::unique_ptr<TensorArray> array);
  Tensor AddStack(std::unique_ptr<Stack> stack);
  // The resource a handle names; InvalidArgument when it names none of this run's.
  absl::StatusOr<TensorArray*> GetTensorArray(const Tensor& handle);
  absl::StatusOr<Stack*> GetStack(const Tensor& handle);
  // The id a handle names, and the handle of an existing TensorArray's id, for
  // TensorArrayGradV3's bookkeeping.
  static int64_t Id(const Tensor& handle);
  static Tensor TensorArrayHandle(int64_t id);
  // Frees every resource (at the end of a run).
  void Clear();
  bool empty() const { return arrays_.empty() && stacks_.empty(); }

 private:
  absl::StatusOr<int64_t> Lookup(const Tensor& handle, Kind kind, size_t count) const;
  std::vector<std::unique_ptr<TensorArray>> arrays_;
  std::vector<std::unique_ptr<Stack>> stacks_;
};

}  // namespace dflow

#endif  // DFLOW_KERNELS_RUN_RESOURCES_H_
