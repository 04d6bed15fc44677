#include "ops/shape_inference.h"

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "ops/op_registry.h"

namespace dflow {

InferenceContext::InferenceContext(const std::string& node_name, const OpDef& op,
                                   const AttrMap& attrs,
                                   std::vector<PartialTensorShape> input_shapes,
                                   std::vector<const Tensor*> input_tensors, int num_outputs)
    : node_name_(node_name),
      op_(op),
      attrs_(attrs),
      inputs_(std::move(input_shapes)),
      input_tensors_(std::move(input_tensors)),
      outputs_(num_outputs) {}

InferenceContext::InferenceContext(const std::string& node_name, const OpDef& op,
                                   const AttrMap& attrs, absl::Span<const Output> inputs,
                                   int num_outputs)
    : node_name_(node_name),
      op_(op),
      attrs_(attrs),
      input_tensors_(inputs.size(), nullptr),
      const_values_(inputs.size(), nullptr),
      outputs_(num_outputs) {
  inputs_.reserve(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    inputs_.push_back(inputs[i].shape());
    if (inputs[i].node()->op() == "Const") const_values_[i] = inputs[i].node()->FindAttr("value");
  }
}

const Tensor* InferenceContext::input_tensor(int i) const {
  if (input_tensors_[i] != nullptr || const_values_.empty() || const_values_[i] == nullptr) {
    return input_tensors_[i];
  }
  if (decoded_.empty()) decoded_.resize(const_values_.size());
  if (decoded_[i] == nullptr) {
    if (!const_values_[i]->has_tensor()) return nullptr;
    absl::StatusOr<Tensor> value = Tensor::FromProto(const_values_[i]->tensor());
    if (!value.ok()) return nullptr;
    decoded_[i] = std::make_unique<Tensor>(*std::move(value));
  }
  return decoded_[i].get();
}

absl::Status InferenceContext::Error(absl::string_view message) const {
  return absl::InvalidArgumentError(absl::StrCat(op_.name, " node '", node_name_, "': ", message));
}

absl::StatusOr<PartialTensorShape> InferenceContext::WithRank(int i, int rank) const {
  absl::StatusOr<PartialTensorShape> merged =
      inputs_[i].Merge(PartialTensorShape::UnknownDims(rank));
  if (!merged.ok()) {
    return Error(absl::StrCat("input ", i, " must have rank ", rank, " but has shape ",
                              inputs_[i].DebugString()));
  }
  return merged;
}

absl::Status UnknownShape(InferenceContext* ctx) {
  for (int i = 0; i < ctx->num_outputs(); ++i) ctx->set_output(i, PartialTensorShape::Unknown());
  return absl::OkStatus();
}

absl::Status UnchangedShape(InferenceContext* ctx) {
  ctx->set_output(0, ctx->input(0));
  return absl::OkStatus();
}

absl::Status ScalarShape(InferenceContext* ctx) {
  ctx->set_output(0, PartialTensorShape({}));
  return absl::OkStatus();
}

absl::Status NoOutputs(InferenceContext* ctx) { return absl::OkStatus(); }

absl::Status BroadcastBinaryShape(InferenceContext* ctx) {
  absl::StatusOr<PartialTensorShape> out = BroadcastShapes(ctx->input(0), ctx->input(1));
  if (!out.ok()) return ctx->Error(out.status().message());
  ctx->set_output(0, *out);
  return absl::OkStatus();
}

absl::StatusOr<PartialTensorShape> BroadcastShapes(const PartialTensorShape& a,
                                                   const PartialTensorShape& b) {
  if (a.unknown_rank() || b.unknown_rank()) return PartialTensorShape::Unknown();
  const int rank = std::max(a.dims(), b.dims());
  absl::InlinedVector<int64_t, 6> out(rank);  // Kernels broadcast every run: no allocation.
  for (int i = 0; i < rank; ++i) {
    const int ia = i - (rank - a.dims()), ib = i - (rank - b.dims());
    const int64_t da = ia >= 0 ? a.dim_size(ia) : 1;
    const int64_t db = ib >= 0 ? b.dim_size(ib) : 1;
    if (da == 1) {
      out[i] = db;
    } else if (db == 1) {
      out[i] = da;
    } else if (da < 0 || db < 0) {
      out[i] = da >= 0 ? da : db;  // The unknown one must equal the known one (or be 1).
    } else if (da == db) {
      out[i] = da;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("shapes ", a.DebugString(), " and ",
                                                     b.DebugString(), " cannot be broadcast"));
    }
  }
  return PartialTensorShape(out);
}

absl::StatusOr<TensorShape> BroadcastShapes(const TensorShape& a, const TensorShape& b) {
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape out,
                         BroadcastShapes(PartialTensorShape(a), PartialTensorShape(b)));
  return out.AsTensorShape();
}

absl::StatusOr<PartialTensorShape> MergeInputPair(InferenceContext* ctx, int i, int j,
                                                  absl::FunctionRef<std::string()> mismatch) {
  absl::StatusOr<PartialTensorShape> merged = ctx->input(i).Merge(ctx->input(j));
  if (!merged.ok()) return ctx->Error(mismatch());
  return merged;
}

std::optional<std::vector<int64_t>> ConstInts(InferenceContext* ctx, int i) {
  const Tensor* t = ctx->input_tensor(i);
  if (t == nullptr) return std::nullopt;
  absl::StatusOr<IntList> v = IntValues(*t, "input");
  if (!v.ok()) return std::nullopt;
  return std::vector<int64_t>(v->begin(), v->end());
}

PartialTensorShape ShapeOfLength(const PartialTensorShape& shape_of_shape) {
  const PartialTensorShape& s = shape_of_shape;
  return s.dims() == 1 && s.dim_size(0) >= 0
             ? PartialTensorShape::UnknownDims(static_cast<int>(s.dim_size(0)))
             : PartialTensorShape::Unknown();
}

}  // namespace dflow
