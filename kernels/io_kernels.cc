// Kernels for the checkpoint ops of TensorFlow's Saver: ShardedFilename, ShardedFilespec, SaveV2,
// RestoreV2 and MergeV2Checkpoints, on the V2 format of kernels/tensor_bundle.h.
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "graph/attr_value_util.h"
#include "graph/status_macros.h"
#include "kernels/op_kernel.h"
#include "kernels/tensor_bundle.h"

namespace dflow {
namespace {

// The value of a scalar input of `dtype` named `what`.
template <typename T>
absl::StatusOr<T> ScalarInput(const Tensor& t, absl::string_view what) {
  DFLOW_RETURN_IF_ERROR(CheckInput(t, what, DataTypeOf<T>::value));
  if (t.NumElements() != 1 || t.dims() > 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " must be a scalar, got shape ", t.shape().DebugString()));
  }
  return t.flat<T>()[0];
}

class ShardedFilenameOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    DFLOW_ASSIGN_OR_RETURN(std::string basename, ScalarInput<std::string>(ctx->input(0), "basename"));
    DFLOW_ASSIGN_OR_RETURN(int32_t shard, ScalarInput<int32_t>(ctx->input(1), "shard"));
    DFLOW_ASSIGN_OR_RETURN(int32_t num_shards, ScalarInput<int32_t>(ctx->input(2), "num_shards"));
    ctx->allocate_output(0, TensorShape())->flat<std::string>()[0] =
        absl::StrFormat("%s-%05d-of-%05d", basename, shard, num_shards);
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("ShardedFilename", ShardedFilenameOp);

class ShardedFilespecOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    DFLOW_ASSIGN_OR_RETURN(std::string basename, ScalarInput<std::string>(ctx->input(0), "basename"));
    DFLOW_ASSIGN_OR_RETURN(int32_t num_shards, ScalarInput<int32_t>(ctx->input(1), "num_shards"));
    ctx->allocate_output(0, TensorShape())->flat<std::string>()[0] =
        absl::StrFormat("%s-?????-of-%05d", basename, num_shards);
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("ShardedFilespec", ShardedFilespecOp);

// Checks SaveV2/RestoreV2's tensor_names and shape_and_slices: 1-D strings of `count` elements
// (-1: any count, then both must agree), every slice "" (whole tensors).
absl::Status CheckNamesAndSlices(const Tensor& names, const Tensor& slices, int64_t count) {
  DFLOW_RETURN_IF_ERROR(CheckInput(names, "tensor_names", DT_STRING, 1));
  DFLOW_RETURN_IF_ERROR(CheckInput(slices, "shape_and_slices", DT_STRING, 1));
  if (count >= 0 && names.NumElements() != count) {
    return absl::InvalidArgumentError(absl::StrCat("tensor_names has ", names.NumElements(),
                                                   " names for ", count, " tensors"));
  }
  if (slices.NumElements() != names.NumElements()) {
    return absl::InvalidArgumentError(
        absl::StrCat("shape_and_slices has ", slices.NumElements(), " elements for ",
                     names.NumElements(), " tensor names"));
  }
  for (int64_t i = 0; i < slices.NumElements(); ++i) {
    if (!slices.flat<std::string>()[i].empty()) {
      return absl::UnimplementedError(absl::StrCat(
          "shape_and_slices[", i, "] is '", slices.flat<std::string>()[i], "' for tensor '",
          names.flat<std::string>()[i], "': dflow saves and restores whole tensors only (\"\")"));
    }
  }
  return absl::OkStatus();
}

class SaveV2Op : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    DFLOW_ASSIGN_OR_RETURN(std::string prefix, ScalarInput<std::string>(ctx->input(0), "prefix"));
    const Tensor& names = ctx->input(1);
    DFLOW_RETURN_IF_ERROR(CheckNamesAndSlices(names, ctx->input(2), ctx->num_inputs() - 3));
    NamedTensors tensors;
    for (int i = 3; i < ctx->num_inputs(); ++i) {
      tensors.emplace_back(names.flat<std::string>()[i - 3], ctx->input(i));
    }
    // As TensorFlow's BundleWriter: the prefix's folder is created (one level; the sharded
    // Saver writes into a fresh "<prefix>_temp_<id>/" folder).
    const std::string dir = Dirname(prefix);
    if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot create folder '", dir, "': ", std::strerror(errno)));
    }
    return WriteTensorBundle(prefix, tensors);
  }
};
REGISTER_KERNEL("SaveV2", SaveV2Op);

class RestoreV2Op : public OpKernel {
 public:
  explicit RestoreV2Op(const Node& node) : OpKernel(node) {
    absl::Status s = GetNodeAttr(node, "dtypes", &dtypes_);
    if (!s.ok()) SetConstructionError(s);
  }
  absl::Status Compute(OpKernelContext* ctx) override {
    DFLOW_ASSIGN_OR_RETURN(std::string prefix, ScalarInput<std::string>(ctx->input(0), "prefix"));
    const Tensor& names = ctx->input(1);
    DFLOW_RETURN_IF_ERROR(
        CheckNamesAndSlices(names, ctx->input(2), static_cast<int64_t>(dtypes_.size())));
    DFLOW_ASSIGN_OR_RETURN(NamedTensors read, ReadTensorBundle(prefix));
    absl::flat_hash_map<std::string, Tensor*> by_name;
    for (auto& [name, value] : read) by_name[name] = &value;
    for (size_t i = 0; i < dtypes_.size(); ++i) {
      const std::string& name = names.flat<std::string>()[i];
      auto it = by_name.find(name);
      if (it == by_name.end()) {
        return absl::NotFoundError(
            absl::StrCat("Key ", name, " not found in checkpoint '", prefix, "'"));
      }
      if (it->second->dtype() != dtypes_[i]) {
        return absl::InvalidArgumentError(absl::StrCat(
            "tensor '", name, "' in checkpoint '", prefix, "' is ",
            DataTypeString(it->second->dtype()), " but dtypes[", i, "] is ",
            DataTypeString(dtypes_[i])));
      }
      ctx->set_output(static_cast<int>(i), *it->second);
    }
    return absl::OkStatus();
  }

 private:
  std::vector<DataType> dtypes_;
};
REGISTER_KERNEL("RestoreV2", RestoreV2Op);

class MergeV2CheckpointsOp : public OpKernel {
 public:
  explicit MergeV2CheckpointsOp(const Node& node) : OpKernel(node) {
    absl::Status s = GetNodeAttr(node, "delete_old_dirs", &delete_old_dirs_);
    if (s.ok()) s = GetNodeAttr(node, "allow_missing_files", &allow_missing_files_);
    if (!s.ok()) SetConstructionError(s);
  }
  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& sources = ctx->input(0);
    DFLOW_RETURN_IF_ERROR(CheckInput(sources, "checkpoint_prefixes", DT_STRING));
    DFLOW_ASSIGN_OR_RETURN(std::string destination,
                           ScalarInput<std::string>(ctx->input(1), "destination_prefix"));
    const absl::Span<const std::string> s = sources.flat<std::string>();
    return MergeTensorBundles(std::vector<std::string>(s.begin(), s.end()), destination,
                              allow_missing_files_, delete_old_dirs_);
  }

 private:
  bool delete_old_dirs_ = true;
  bool allow_missing_files_ = false;
};
REGISTER_KERNEL("MergeV2Checkpoints", MergeV2CheckpointsOp);

}  // namespace
}  // namespace dflow
