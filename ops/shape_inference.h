// Graph-time shape inference: what a shape function sees of the node being built.
#ifndef DFLOW_OPS_SHAPE_INFERENCE_H_
#define DFLOW_OPS_SHAPE_INFERENCE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "graph/attr_value_util.h"
#include "graph/graph.h"
#include "graph/tensor.h"
#include "graph/tensor_shape.h"

namespace dflow {

struct OpDef;

class InferenceContext {
 public:
  InferenceContext(const std::string& node_name, const OpDef& op, const AttrMap& attrs,
                   std::vector<PartialTensorShape> input_shapes,
                   std::vector<const Tensor*> input_tensors, int num_outputs);
  // For a node about to be built on `inputs`: their shapes, and the values of those that are
  // Consts, decoded only when the shape function asks (most never do).
  InferenceContext(const std::string& node_name, const OpDef& op, const AttrMap& attrs,
                   absl::Span<const Output> inputs, int num_outputs);

  const std::string& node_name() const { return node_name_; }
  const AttrMap& attrs() const { return attrs_; }

  int num_inputs() const { return static_cast<int>(inputs_.size()); }
  const PartialTensorShape& input(int i) const { return inputs_[i]; }
  // The value of input i when it is a constant known at graph time (a Const), else null.
  const Tensor* input_tensor(int i) const;

  int num_outputs() const { return static_cast<int>(outputs_.size()); }
  void set_output(int i, PartialTensorShape shape) { outputs_[i] = std::move(shape); }
  const PartialTensorShape& output(int i) const { return outputs_[i]; }

  template <typename T>
  absl::Status GetAttr(absl::string_view name, T* value) const {
    absl::Status s = ::dflow::GetAttr(attrs_, name, value);
    return s.ok() ? s : Error(s.message());
  }

  // An InvalidArgument error naming the node and its op: "MatMul node 'fc/MatMul': <message>".
  absl::Status Error(absl::string_view message) const;

  // Input i merged with `shape`; an error naming both when they disagree.
  absl::StatusOr<PartialTensorShape> WithRank(int i, int rank) const;

 private:
  const std::string& node_name_;
  const OpDef& op_;
  const AttrMap& attrs_;
  std::vector<PartialTensorShape> inputs_;
  std::vector<const Tensor*> input_tensors_;
  std::vector<const AttrValue*> const_values_;  // A Const input's "value", not yet decoded.
  mutable std::vector<std::unique_ptr<Tensor>> decoded_;
  std::vector<PartialTensorShape> outputs_;
};

// Common shape functions.
absl::Status UnknownShape(InferenceContext* ctx);    // Every output of unknown shape.
absl::Status UnchangedShape(InferenceContext* ctx);  // Output 0 has input 0's shape.
absl::Status ScalarShape(InferenceContext* ctx);     // Output 0 is a scalar.
absl::Status NoOutputs(InferenceContext* ctx);
// Output 0 is the numpy broadcast of inputs 0 and 1.
absl::Status BroadcastBinaryShape(InferenceContext* ctx);

// Inputs i and j merged into their common shape; when they disagree, an error whose message is
// `mismatch()` (built only then).
absl::StatusOr<PartialTensorShape> MergeInputPair(InferenceContext* ctx, int i, int j,
                                                  absl::FunctionRef<std::string()> mismatch);

// The values of int input i when it is a constant known at graph time, else nullopt.
std::optional<std::vector<int64_t>> ConstInts(InferenceContext* ctx, int i);

// The shape a 1-D shape tensor describes when only its own shape, `shape_of_shape`, is known:
// rank = its length with every dim unknown, or unknown rank when the length is unknown.
PartialTensorShape ShapeOfLength(const PartialTensorShape& shape_of_shape);

// The numpy broadcast of two shapes (unknown dims stay unknown unless the other is known > 1).
absl::StatusOr<PartialTensorShape> BroadcastShapes(const PartialTensorShape& a,
                                                   const PartialTensorShape& b);
// The same for fully known shapes, used by kernels.
absl::StatusOr<TensorShape> BroadcastShapes(const TensorShape& a, const TensorShape& b);

}  // namespace dflow

#endif  // DFLOW_OPS_SHAPE_INFERENCE_H_
