#include "runtime/checkpoint.h"

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/text_format.h"
#include "graph/attr_value_util.h"
#include "graph/graph_def_io.h"
#include "graph/status_macros.h"
#include "kernels/op_kernel.h"
#include "kernels/random_state.h"
#include "proto/checkpoint.pb.h"
#include "runtime/tensor_bundle.h"

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
    const bool resource = node->op() == "VarHandleOp";  // Same store, declared by attrs.
    if (node->op() != "VariableV2" && !resource) continue;
    VariableInfo info;
    std::string shared;
    GetAttr(node->attrs(), "shared_name", &shared).IgnoreError();
    info.name = shared.empty() ? node->name() : shared;
    if (absl::StartsWith(info.name, kRandomStatePrefix)) continue;
    info.dtype = node->output_type(0);
    info.shape = node->output_shape(0);
    if (resource) {
      GetAttr(node->attrs(), "dtype", &info.dtype).IgnoreError();
      GetAttr(node->attrs(), "shape", &info.shape).IgnoreError();
    }
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
    const Tensor& value, const std::string& path, const std::string& node) {
  if (value.dtype() == DT_INT64 && value.NumElements() == 0) {
    return std::optional<RandomState::Position>();
  }
  if (value.dtype() != DT_INT64 || value.shape() != TensorShape({2})) {
    return absl::InvalidArgumentError(absl::StrCat(
        "checkpoint '", path, "' holds ", DataTypeString(value.dtype()), " ",
        value.shape().DebugString(), " for the random state of ", node,
        ", which must be int64 [2] (key, runs)"));
  }
  return std::optional<RandomState::Position>(
      RandomState::Position{static_cast<uint64_t>(value.flat<int64_t>()[0]),
                            static_cast<uint64_t>(value.flat<int64_t>()[1])});
}

absl::Status CheckVariableValue(const VariableInfo& info, const Tensor& value,
                                const std::string& path) {
  if (value.dtype() != info.dtype) {
    return absl::InvalidArgumentError(absl::StrCat(
        "checkpoint '", path, "' holds ", DataTypeString(value.dtype()), " for variable ",
        info.name, ", which is ", DataTypeString(info.dtype)));
  }
  if (!info.shape.IsCompatibleWith(value.shape())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "checkpoint '", path, "' holds shape ", value.shape().DebugString(), " for variable ",
        info.name, ", which has shape ", info.shape.DebugString()));
  }
  return absl::OkStatus();
}

std::string StatePath(const std::string& dir) { return absl::StrCat(dir, "/", kCheckpointStateFile); }

bool IsDirectory(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool IsRegularFile(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

absl::StatusOr<CheckpointState> ReadState(const std::string& dir) {
  const std::string path = StatePath(dir);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("no checkpoint state file '", path, "' (written by every save)"));
  }
  std::stringstream text;
  text << in.rdbuf();
  CheckpointState state;
  google::protobuf::TextFormat::Parser parser;
  parser.AllowUnknownField(true);  // Newer TensorFlow versions may add fields.
  if (!parser.ParseFromString(text.str(), &state)) {
    return absl::DataLossError(absl::StrCat("checkpoint state file '", path,
                                            "' is not a CheckpointState in text format"));
  }
  return state;
}

std::string InDir(const std::string& dir, const std::string& path) {
  return !path.empty() && path[0] == '/' ? path : absl::StrCat(dir, "/", path);
}

}  // namespace

absl::Status UpdateCheckpointState(const std::string& prefix) {
  const std::string dir = Dirname(prefix);
  const std::string base = Basename(prefix);
  CheckpointState old;
  if (IsRegularFile(StatePath(dir))) {
    absl::StatusOr<CheckpointState> read = ReadState(dir);
    if (read.ok()) old = *std::move(read);  // A broken state file is replaced.
  }
  const bool timestamps =
      old.all_model_checkpoint_timestamps_size() == old.all_model_checkpoint_paths_size();
  CheckpointState state;
  for (int i = 0; i < old.all_model_checkpoint_paths_size(); ++i) {
    const std::string& p = old.all_model_checkpoint_paths(i);
    if (p == base || InDir(dir, p) == InDir(dir, base) || !BundleExists(InDir(dir, p))) continue;
    state.add_all_model_checkpoint_paths(p);
    if (timestamps) state.add_all_model_checkpoint_timestamps(old.all_model_checkpoint_timestamps(i));
  }
  state.set_model_checkpoint_path(base);
  state.add_all_model_checkpoint_paths(base);
  if (timestamps) {
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    state.add_all_model_checkpoint_timestamps(
        std::chrono::duration_cast<std::chrono::microseconds>(now).count() / 1e6);
  }
  state.set_last_preserved_timestamp(old.last_preserved_timestamp());
  RemoveStaleTemporaries(StatePath(dir));
  return WriteProtoFile(StatePath(dir), state, ProtoFormat::kText);
}

namespace {

struct Resolved {
  std::string path;
  bool v2 = true;  // Else dflow's first format.
};

absl::StatusOr<Resolved> Resolve(const std::string& path) {
  if (IsDirectory(path)) {
    DFLOW_ASSIGN_OR_RETURN(std::string prefix, LatestCheckpoint(path));
    return Resolved{std::move(prefix), true};
  }
  if (BundleExists(path)) return Resolved{path, true};
  constexpr absl::string_view kIndex = ".index";
  if (absl::EndsWith(path, kIndex)) {
    std::string prefix = path.substr(0, path.size() - kIndex.size());
    if (BundleExists(prefix)) return Resolved{std::move(prefix), true};
  }
  if (IsRegularFile(path)) return Resolved{path, false};
  return absl::NotFoundError(absl::StrCat("checkpoint '", path, "' does not exist: no file '",
                                          BundleIndexPath(path), "', nor a file or folder '",
                                          path, "'"));
}

// Every entry of the checkpoint, by name, read and checked in full.
absl::StatusOr<std::map<std::string, Tensor>> LoadEntries(const Resolved& where) {
  std::map<std::string, Tensor> saved;
  if (where.v2) {
    DFLOW_ASSIGN_OR_RETURN(NamedTensors tensors, ReadTensorBundle(where.path));
    for (auto& [name, value] : tensors) saved.emplace(name, std::move(value));
    return saved;
  }
  Checkpoint checkpoint;
  DFLOW_RETURN_IF_ERROR(ReadProtoFile(where.path, &checkpoint));
  for (const Checkpoint::Variable& v : checkpoint.variable()) {
    absl::StatusOr<Tensor> value = Tensor::FromProto(v.value());
    if (!value.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("checkpoint '", where.path, "', entry ",
                                                     v.name(), ": ", value.status().message()));
    }
    if (!saved.emplace(v.name(), *std::move(value)).second) {
      return absl::DataLossError(
          absl::StrCat("checkpoint '", where.path, "' lists '", v.name(), "' twice"));
    }
  }
  return saved;
}

}  // namespace

absl::StatusOr<std::string> LatestCheckpoint(const std::string& dir) {
  DFLOW_ASSIGN_OR_RETURN(const CheckpointState state, ReadState(dir));
  if (state.model_checkpoint_path().empty()) {
    return absl::NotFoundError(absl::StrCat("checkpoint state file '", StatePath(dir),
                                            "' names no model_checkpoint_path"));
  }
  std::string prefix = InDir(dir, state.model_checkpoint_path());
  if (!BundleExists(prefix)) {
    return absl::NotFoundError(absl::StrCat("checkpoint state file '", StatePath(dir),
                                            "' names '", prefix, "', whose index '",
                                            BundleIndexPath(prefix), "' does not exist"));
  }
  return prefix;
}

absl::StatusOr<std::string> ResolveCheckpoint(const std::string& path) {
  DFLOW_ASSIGN_OR_RETURN(Resolved where, Resolve(path));
  return where.path;
}

absl::Status SaveCheckpoint(Session& session, const std::string& prefix,
                            const std::vector<std::string>& names) {
  if (Basename(prefix).empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "checkpoint prefix '", prefix, "' names a folder; give a prefix such as DIR/model.ckpt"));
  }
  DFLOW_ASSIGN_OR_RETURN(const Selection selection, Select(session.graph(), names));
  NamedTensors entries;
  for (const VariableInfo& info : selection.variables) {
    Variable* var = session.variables()->Find(info.name);
    Tensor value;
    if (var != nullptr) {
      std::lock_guard<std::mutex> lock(var->mu.reader());
      value = var->value;
    }
    if (!value.IsInitialized()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot save uninitialized variable ", info.name, "; run its initializer first"));
    }
    entries.emplace_back(info.name, std::move(value));
  }
  const std::map<std::string, RandomState::Position> started = [&] {
    auto snapshot = session.variables()->random_states()->Snapshot();
    return std::map<std::string, RandomState::Position>(snapshot.begin(), snapshot.end());
  }();
  auto add_state = [&](const std::string& node, std::optional<RandomState::Position> position) {
    entries.emplace_back(RandomStateEntry(node), RandomStateTensor(position));
  };
  if (selection.everything) {
    for (const auto& [node, position] : started) add_state(node, position);
  }
  for (const std::string& node : selection.random_nodes) {
    auto it = started.find(node);
    add_state(node, it == started.end() ? std::nullopt : std::make_optional(it->second));
  }

  std::error_code ec;
  std::filesystem::create_directories(Dirname(prefix), ec);  // As TensorFlow's BundleWriter.
  RemoveStaleTemporaries(prefix);
  absl::Status s = WriteTensorBundle(prefix, entries);
  if (s.ok()) s = UpdateCheckpointState(prefix);
  if (!s.ok()) return absl::Status(s.code(), absl::StrCat("saving checkpoint: ", s.message()));
  return absl::OkStatus();
}

absl::Status RestoreCheckpoint(Session& session, const std::string& path,
                               const std::vector<std::string>& names) {
  DFLOW_ASSIGN_OR_RETURN(const Resolved where, Resolve(path));
  DFLOW_ASSIGN_OR_RETURN(const auto saved, LoadEntries(where));
  DFLOW_ASSIGN_OR_RETURN(Selection selection, Select(session.graph(), names));
  const std::string& file = where.path;

  std::vector<std::pair<std::string, Tensor>> values;
  for (const VariableInfo& info : selection.variables) {
    auto it = saved.find(info.name);
    if (it == saved.end()) {
      return absl::NotFoundError(
          absl::StrCat("checkpoint '", file, "' has no value for variable ", info.name));
    }
    DFLOW_RETURN_IF_ERROR(CheckVariableValue(info, it->second, file));
    values.emplace_back(info.name, it->second);
  }

  RandomStateStore* store = session.variables()->random_states();
  if (selection.everything) {
    // The session's streams become the checkpoint's: those it has continue, the others restart.
    std::set<std::string> nodes;
    for (const auto& [node, position] : store->Snapshot()) nodes.insert(node);
    for (const auto& [name, value] : saved) {
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
            absl::StrCat("checkpoint '", file, "' has no random state for node ", node));
      }
      states.emplace_back(node, std::nullopt);
      continue;
    }
    DFLOW_ASSIGN_OR_RETURN(std::optional<RandomState::Position> position,
                           ParseRandomState(it->second, file, node));
    states.emplace_back(node, position);
  }

  // Everything checked: only now does any variable or stream change.
  for (auto& [name, value] : values) {
    Variable* var = session.variables()->LookupOrCreate(name);
    std::lock_guard<VariableMutex> lock(var->mu);
    var->value = std::move(value);
  }
  store->SetAll(states);
  return absl::OkStatus();
}

}  // namespace dflow
