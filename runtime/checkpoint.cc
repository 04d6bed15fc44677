#include "runtime/checkpoint.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "graph/attr_value_util.h"
#include "graph/graph_def_io.h"
#include "kernels/op_kernel.h"
#include "proto/checkpoint.pb.h"

namespace dflow {
namespace {

struct VariableInfo {
  std::string name;  // The session's name for it (shared_name, else the node name).
  DataType dtype;
  PartialTensorShape shape;
};

// The graph's variables by session name, restricted to `names` when given.
absl::StatusOr<std::vector<VariableInfo>> GraphVariables(const Graph& graph,
                                                         const std::vector<std::string>& names) {
  std::map<std::string, VariableInfo> all;
  for (const Node* node : graph.nodes()) {
    if (node->op() != "VariableV2") continue;
    VariableInfo info;
    std::string shared;
    GetAttr(node->attrs(), "shared_name", &shared).IgnoreError();
    info.name = shared.empty() ? node->name() : shared;
    info.dtype = node->output_type(0);
    info.shape = node->output_shape(0);
    all[info.name] = info;
  }
  std::vector<VariableInfo> out;
  if (names.empty()) {
    for (const auto& [name, info] : all) out.push_back(info);
    return out;
  }
  for (const std::string& name : names) {
    auto it = all.find(name);
    if (it == all.end()) {
      return absl::NotFoundError(absl::StrCat("no variable named '", name, "' in the graph"));
    }
    out.push_back(it->second);
  }
  return out;
}

}  // namespace

absl::Status SaveCheckpoint(Session& session, const std::string& path,
                            const std::vector<std::string>& names) {
  absl::StatusOr<std::vector<VariableInfo>> vars = GraphVariables(session.graph(), names);
  if (!vars.ok()) return vars.status();
  Checkpoint checkpoint;
  for (const VariableInfo& info : *vars) {
    Variable* var = session.variables()->Find(info.name);
    Tensor value;
    if (var != nullptr) {
      absl::MutexLock lock(&var->mu);
      value = var->value;
    }
    if (!value.IsInitialized()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot save uninitialized variable ", info.name, "; run its initializer first"));
    }
    Checkpoint::Variable* entry = checkpoint.add_variable();
    entry->set_name(info.name);
    value.ToProto(entry->mutable_value());
  }
  absl::Status s = WriteProtoFile(path, checkpoint, ProtoFormat::kBinary);
  if (!s.ok()) return absl::Status(s.code(), absl::StrCat("saving checkpoint: ", s.message()));
  return absl::OkStatus();
}

absl::Status RestoreCheckpoint(Session& session, const std::string& path,
                               const std::vector<std::string>& names) {
  Checkpoint checkpoint;
  absl::Status s = ReadProtoFile(path, &checkpoint);
  if (!s.ok()) return s;
  absl::StatusOr<std::vector<VariableInfo>> vars = GraphVariables(session.graph(), names);
  if (!vars.ok()) return vars.status();
  std::map<std::string, const TensorProto*> saved;
  for (const Checkpoint::Variable& v : checkpoint.variable()) saved[v.name()] = &v.value();

  std::vector<std::pair<std::string, Tensor>> values;
  for (const VariableInfo& info : *vars) {
    auto it = saved.find(info.name);
    if (it == saved.end()) {
      return absl::NotFoundError(
          absl::StrCat("checkpoint '", path, "' has no value for variable ", info.name));
    }
    absl::StatusOr<Tensor> value = Tensor::FromProto(*it->second);
    if (!value.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("checkpoint '", path, "', variable ",
                                                     info.name, ": ", value.status().message()));
    }
    if (value->dtype() != info.dtype) {
      return absl::InvalidArgumentError(absl::StrCat(
          "checkpoint '", path, "' holds ", DataTypeString(value->dtype()), " for variable ",
          info.name, ", which is ", DataTypeString(info.dtype)));
    }
    if (!info.shape.IsCompatibleWith(value->shape())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "checkpoint '", path, "' holds shape ", value->shape().DebugString(), " for variable ",
          info.name, ", which has shape ", info.shape.DebugString()));
    }
    values.emplace_back(info.name, *std::move(value));
  }
  for (auto& [name, value] : values) {
    Variable* var = session.variables()->LookupOrCreate(name);
    absl::MutexLock lock(&var->mu);
    var->value = std::move(value);
  }
  return absl::OkStatus();
}

}  // namespace dflow
