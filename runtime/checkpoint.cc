#include "runtime/checkpoint.h"

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "graph/attr_value_util.h"
#include "graph/graph_def_io.h"
#include "graph/status_macros.h"
#include "kernels/op_kernel.h"
#include "kernels/random_state.h"
#include "proto/checkpoint.pb.h"

namespace dflow {
namespace {

struct VariableInfo {
  std::string name;  // The session's name for it (shared_name, else the node name).
  DataType dtype;
  PartialTensorShape shape;
};

// What a save or restore covers: variables, and random states by node name.
struct Selection {
  bool everything = false;  // No names were given.
  std::vector<VariableInfo> variables;
  std::vector<std::string> random_nodes;  // With `everything`, filled by the caller.
};

std::string RandomStateEntry(const std::string& node) {
  return absl::StrCat(kRandomStatePrefix, node);
}

// The graph's variables by session name, restricted to `names` when given. A VariableV2 whose
// session name has the random-state prefix (older graphs aliased a stream that way) is skipped:
// the random states carry the stream now.
absl::StatusOr<Selection> Select(const Graph& graph, const std::vector<std::string>& names) {
  std::map<std::string, VariableInfo> all;
  for (const Node* node : graph.nodes()) {
    if (node->op() != "VariableV2") continue;
    VariableInfo info;
    std::string shared;
    GetAttr(node->attrs(), "shared_name", &shared).IgnoreError();
    info.name = shared.empty() ? node->name() : shared;
    if (absl::StartsWith(info.name, kRandomStatePrefix)) continue;
    info.dtype = node->output_type(0);
    info.shape = node->output_shape(0);
    all[info.name] = info;
  }
  Selection selection;
  if (names.empty()) {
    selection.everything = true;
    for (const auto& [name, info] : all) selection.variables.push_back(info);
    return selection;
  }
  for (const std::string& name : names) {
    if (absl::StartsWith(name, kRandomStatePrefix)) {
      std::string node = name.substr(kRandomStatePrefix.size());
      if (graph.FindNode(node) == nullptr) {
        return absl::NotFoundError(
            absl::StrCat("no node named '", node, "' in the graph for random state ", name));
      }
      selection.random_nodes.push_back(std::move(node));
      continue;
    }
    auto it = all.find(name);
    if (it == all.end()) {
      return absl::NotFoundError(absl::StrCat("no variable named '", name, "' in the graph"));
    }
    selection.variables.push_back(it->second);
  }
  return selection;
}

// int64 [2] {key, runs so far}, or int64 [0] for a stream not started.
Tensor RandomStateTensor(const std::optional<RandomState::Position>& position) {
  if (!position.has_value()) return Tensor(DT_INT64, TensorShape({0}));
  Tensor t(DT_INT64, TensorShape({2}));
  t.flat<int64_t>()[0] = static_cast<int64_t>(position->key);
  t.flat<int64_t>()[1] = static_cast<int64_t>(position->run);
  return t;
}

absl::StatusOr<std::optional<RandomState::Position>> ParseRandomState(
    const TensorProto& proto, const std::string& path, const std::string& node) {
  absl::StatusOr<Tensor> value = Tensor::FromProto(proto);
  if (!value.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("checkpoint '", path, "', random state of ",
                                                   node, ": ", value.status().message()));
  }
  if (value->dtype() == DT_INT64 && value->NumElements() == 0) {
    return std::optional<RandomState::Position>();
  }
  if (value->dtype() != DT_INT64 || value->shape() != TensorShape({2})) {
    return absl::InvalidArgumentError(absl::StrCat(
        "checkpoint '", path, "' holds ", DataTypeString(value->dtype()), " ",
        value->shape().DebugString(), " for the random state of ", node,
        ", which must be int64 [2] (key, runs)"));
  }
  return std::optional<RandomState::Position>(
      RandomState::Position{static_cast<uint64_t>(value->flat<int64_t>()[0]),
                            static_cast<uint64_t>(value->flat<int64_t>()[1])});
}

absl::StatusOr<Tensor> CheckedVariableValue(const VariableInfo& info, const TensorProto& proto,
                                            const std::string& path) {
  absl::StatusOr<Tensor> value = Tensor::FromProto(proto);
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
  return value;
}

}  // namespace

absl::Status SaveCheckpoint(Session& session, const std::string& path,
                            const std::vector<std::string>& names) {
  DFLOW_ASSIGN_OR_RETURN(const Selection selection, Select(session.graph(), names));
  Checkpoint checkpoint;
  for (const VariableInfo& info : selection.variables) {
    Variable* var = session.variables()->Find(info.name);
    Tensor value;
    if (var != nullptr) {
      std::lock_guard<std::mutex> lock(var->mu);
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
  const std::map<std::string, RandomState::Position> started = [&] {
    auto snapshot = session.variables()->random_states()->Snapshot();
    return std::map<std::string, RandomState::Position>(snapshot.begin(), snapshot.end());
  }();
  auto add_state = [&](const std::string& node, std::optional<RandomState::Position> position) {
    Checkpoint::Variable* entry = checkpoint.add_variable();
    entry->set_name(RandomStateEntry(node));
    RandomStateTensor(position).ToProto(entry->mutable_value());
  };
  if (selection.everything) {
    for (const auto& [node, position] : started) add_state(node, position);
  }
  for (const std::string& node : selection.random_nodes) {
    auto it = started.find(node);
    add_state(node, it == started.end() ? std::nullopt : std::make_optional(it->second));
  }
  absl::Status s = WriteProtoFile(path, checkpoint, ProtoFormat::kBinary);
  if (!s.ok()) return absl::Status(s.code(), absl::StrCat("saving checkpoint: ", s.message()));
  return absl::OkStatus();
}

absl::Status RestoreCheckpoint(Session& session, const std::string& path,
                               const std::vector<std::string>& names) {
  Checkpoint checkpoint;
  DFLOW_RETURN_IF_ERROR(ReadProtoFile(path, &checkpoint));
  DFLOW_ASSIGN_OR_RETURN(Selection selection, Select(session.graph(), names));
  std::map<std::string, const TensorProto*> saved;
  for (const Checkpoint::Variable& v : checkpoint.variable()) saved[v.name()] = &v.value();

  std::vector<std::pair<std::string, Tensor>> values;
  for (const VariableInfo& info : selection.variables) {
    auto it = saved.find(info.name);
    if (it == saved.end()) {
      return absl::NotFoundError(
          absl::StrCat("checkpoint '", path, "' has no value for variable ", info.name));
    }
    DFLOW_ASSIGN_OR_RETURN(Tensor value, CheckedVariableValue(info, *it->second, path));
    values.emplace_back(info.name, std::move(value));
  }

  RandomStateStore* store = session.variables()->random_states();
  if (selection.everything) {
    // The session's streams become the checkpoint's: those it has continue, the others restart.
    std::set<std::string> nodes;
    for (const auto& [node, position] : store->Snapshot()) nodes.insert(node);
    for (const auto& [name, proto] : saved) {
      if (!absl::StartsWith(name, kRandomStatePrefix)) continue;
      std::string node = name.substr(kRandomStatePrefix.size());
      if (session.graph().FindNode(node) != nullptr) nodes.insert(std::move(node));
    }
    selection.random_nodes.assign(nodes.begin(), nodes.end());
  }
  std::vector<std::pair<std::string, std::optional<RandomState::Position>>> states;
  for (const std::string& node : selection.random_nodes) {
    auto it = saved.find(RandomStateEntry(node));
    if (it == saved.end()) {
      if (!selection.everything) {
        return absl::NotFoundError(
            absl::StrCat("checkpoint '", path, "' has no random state for node ", node));
      }
      states.emplace_back(node, std::nullopt);
      continue;
    }
    DFLOW_ASSIGN_OR_RETURN(std::optional<RandomState::Position> position,
                           ParseRandomState(*it->second, path, node));
    states.emplace_back(node, position);
  }

  for (auto& [name, value] : values) {
    Variable* var = session.variables()->LookupOrCreate(name);
    std::lock_guard<std::mutex> lock(var->mu);
    var->value = std::move(value);
  }
  store->SetAll(states);
  return absl::OkStatus();
}

}  // namespace dflow
