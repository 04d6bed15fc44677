// The checkpoint ops of TensorFlow's Saver (tensorflow/core/ops/io_ops.cc): schemas, shape
// functions and builders. None has a gradient.
#include "ops/io_ops.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ops/node_builder.h"
#include "ops/op_registry.h"
#include "ops/shape_inference.h"

namespace dflow {

// ---------------------------------------------------------------------------------------------
// ShardedFilename, ShardedFilespec

REGISTER_OP("ShardedFilename")
    .Input("basename: string")
    .Input("shard: int32")
    .Input("num_shards: int32")
    .Output("filename: string")
    .SetShapeFn(ScalarShape)
    .NotDifferentiable();

REGISTER_OP("ShardedFilespec")
    .Input("basename: string")
    .Input("num_shards: int32")
    .Output("filename: string")
    .SetShapeFn(ScalarShape)
    .NotDifferentiable();

Output ops::ShardedFilename(const Scope& scope, Input basename, Input shard, Input num_shards) {
  return Output(AddOp(scope, "ShardedFilename", {basename, shard, num_shards}), 0);
}

Output ops::ShardedFilespec(const Scope& scope, Input basename, Input num_shards) {
  return Output(AddOp(scope, "ShardedFilespec", {basename, num_shards}), 0);
}

// ---------------------------------------------------------------------------------------------
// SaveV2, RestoreV2, MergeV2Checkpoints

REGISTER_OP("SaveV2")
    .Input("prefix: string")
    .Input("tensor_names: string")
    .Input("shape_and_slices: string")
    .Input("tensors: dtypes")
    .Attr("dtypes: list(type)")
    .SetShapeFn(NoOutputs)
    .SetIsStateful()
    .NotDifferentiable();

REGISTER_OP("RestoreV2")
    .Input("prefix: string")
    .Input("tensor_names: string")
    .Input("shape_and_slices: string")
    .Output("tensors: dtypes")
    .Attr("dtypes: list(type)")
    .SetShapeFn(UnknownShape)
    .SetIsStateful()
    .NotDifferentiable();

REGISTER_OP("MergeV2Checkpoints")
    .Input("checkpoint_prefixes: string")
    .Input("destination_prefix: string")
    .Attr("delete_old_dirs: bool = true")
    .Attr("allow_missing_files: bool = false")
    .SetShapeFn(NoOutputs)
    .SetIsStateful()
    .NotDifferentiable();

Operation ops::SaveV2(const Scope& scope, Input prefix, Input tensor_names,
                      Input shape_and_slices, absl::Span<const Output> tensors) {
  if (!scope.ok()) return Operation();
  const Output p = prefix.ToOutput(scope.WithOpName(""));
  const Output n = tensor_names.ToOutput(scope.WithOpName(""));
  const Output s = shape_and_slices.ToOutput(scope.WithOpName(""));
  if (p.node() == nullptr || n.node() == nullptr || s.node() == nullptr) return Operation();
  NodeBuilder builder(scope.GetUniqueNameForOp("SaveV2"), "SaveV2");
  builder.Input(p).Input(n).Input(s).Input(std::vector<Output>(tensors.begin(), tensors.end()));
  return Operation(scope.Finalize(builder));
}

std::vector<Output> ops::RestoreV2(const Scope& scope, Input prefix, Input tensor_names,
                                   Input shape_and_slices, absl::Span<const DataType> dtypes) {
  AttrValue types;
  for (DataType t : dtypes) types.mutable_list()->add_type(t);
  Node* node = AddOp(scope, "RestoreV2", {prefix, tensor_names, shape_and_slices},
                     {{"dtypes", types}});
  std::vector<Output> outputs;
  if (node == nullptr) return outputs;
  for (int i = 0; i < node->num_outputs(); ++i) outputs.emplace_back(node, i);
  return outputs;
}

Operation ops::MergeV2Checkpoints(const Scope& scope, Input checkpoint_prefixes,
                                  Input destination_prefix, bool delete_old_dirs,
                                  bool allow_missing_files) {
  AttrValue del, allow;
  del.set_b(delete_old_dirs);
  allow.set_b(allow_missing_files);
  return Operation(AddOp(scope, "MergeV2Checkpoints", {checkpoint_prefixes, destination_prefix},
                         {{"delete_old_dirs", del}, {"allow_missing_files", allow}}));
}

}  // namespace dflow
