#include "runtime/saved_model_export.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "graph/graph_def_io.h"
#include "graph/status_macros.h"
#include "runtime/checkpoint.h"
#include "runtime/saved_model.h"
#include "runtime/tensor_bundle.h"

namespace dflow {
namespace {

absl::Status WithContext(const absl::Status& s, const std::string& export_dir) {
  if (s.ok()) return s;
  return absl::Status(s.code(), absl::StrCat("exporting SavedModel '", export_dir, "': ",
                                             s.message()));
}

// "x" -> "x:0", as TensorFlow's TensorInfo names tensors.
std::string TensorName(const Output& out) {
  return absl::StrCat(out.node()->name(), ":", out.index());
}

absl::StatusOr<TensorInfo> InfoFor(const Graph& graph, const std::string& tensor) {
  DFLOW_ASSIGN_OR_RETURN(const Output out, graph.FindOutput(tensor));
  TensorInfo info;
  info.set_name(TensorName(out));
  const Node& node = *out.node();
  const DataType base = node.output_type(out.index());
  // A variable's reference output is a *_REF dtype in TensorFlow's signatures.
  info.set_dtype(node.output_is_ref(out.index()) ? static_cast<DataType>(base + 100) : base);
  node.output_shape(out.index()).ToProto(info.mutable_tensor_shape());
  return info;
}

absl::Status CheckSignatures(const Graph& graph,
                             const std::map<std::string, SignatureDef>& signatures) {
  for (const auto& [key, sig] : signatures) {
    for (const auto* map : {&sig.inputs(), &sig.outputs()}) {
      for (const auto& [name, info] : *map) {
        if (info.name().empty()) continue;  // Sparse or composite: nothing dflow can check.
        absl::StatusOr<Output> out = graph.FindOutput(info.name());
        if (!out.ok()) {
          return absl::NotFoundError(absl::StrCat("signature '", key, "' key '", name,
                                                  "': ", out.status().message()));
        }
      }
    }
  }
  return absl::OkStatus();
}

// Removes `<base>.tmp.<pid>` folders beside `base` whose writer no longer runs (killed mid-export).
void RemoveStaleExports(const std::string& base) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const std::string stem = Basename(base) + ".tmp.";
  for (const auto& entry : fs::directory_iterator(Dirname(base), ec)) {
    const std::string name = entry.path().filename().string();
    int pid = 0;
    if (name.rfind(stem, 0) != 0 || !absl::SimpleAtoi(name.substr(stem.size()), &pid)) continue;
    if (pid > 0 && kill(pid, 0) != 0 && errno == ESRCH) fs::remove_all(entry.path(), ec);
  }
}

void SyncDirectory(const std::string& dir) {
  const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  fsync(fd);  // Best effort: makes the rename durable where the filesystem supports it.
  close(fd);
}

// Writes the whole SavedModel into `dir`, which exists and is empty.
absl::Status WriteInto(Session& session, const std::string& dir,
                       const std::vector<std::string>& tags,
                       const std::map<std::string, SignatureDef>& signatures) {
  SavedModel saved_model;
  saved_model.set_saved_model_schema_version(1);
  MetaGraphDef* mg = saved_model.add_meta_graphs();
  for (const std::string& tag : tags) mg->mutable_meta_info_def()->add_tags(tag);
  session.graph().ToGraphDef(mg->mutable_graph_def());
  for (const auto& [key, sig] : signatures) (*mg->mutable_signature_def())[key] = sig;

  const std::string prefix = absl::StrCat(dir, "/", kSavedModelVariablesPrefix);
  DFLOW_RETURN_IF_ERROR(SaveCheckpoint(session, prefix));
  // A SavedModel's variables folder holds the bundle only, not a checkpoint state file.
  std::remove(absl::StrCat(Dirname(prefix), "/", kCheckpointStateFile).c_str());
  return WriteProtoFile(absl::StrCat(dir, "/", kSavedModelFilenamePb), saved_model,
                        ProtoFormat::kBinary);
}

}  // namespace

absl::StatusOr<SignatureDef> PredictSignature(
    const Graph& graph, const std::vector<std::pair<std::string, std::string>>& inputs,
    const std::vector<std::pair<std::string, std::string>>& outputs) {
  SignatureDef sig;
  sig.set_method_name(kPredictMethodName);
  for (const auto& [key, tensor] : inputs) {
    DFLOW_ASSIGN_OR_RETURN((*sig.mutable_inputs())[key], InfoFor(graph, tensor));
  }
  for (const auto& [key, tensor] : outputs) {
    DFLOW_ASSIGN_OR_RETURN((*sig.mutable_outputs())[key], InfoFor(graph, tensor));
  }
  return sig;
}

absl::Status SaveSavedModel(Session& session, const std::string& export_dir,
                            const std::vector<std::string>& tags,
                            const std::map<std::string, SignatureDef>& signatures) {
  namespace fs = std::filesystem;
  if (export_dir.empty()) return absl::InvalidArgumentError("SavedModel export dir is empty");
  if (tags.empty()) {
    return WithContext(absl::InvalidArgumentError("no tags; a MetaGraphDef needs at least one"),
                       export_dir);
  }
  DFLOW_RETURN_IF_ERROR(WithContext(CheckSignatures(session.graph(), signatures), export_dir));
  std::error_code ec;
  if (fs::exists(export_dir, ec) &&
      !(fs::is_directory(export_dir, ec) && fs::is_empty(export_dir, ec))) {
    return WithContext(absl::AlreadyExistsError("it exists and is not an empty folder"),
                       export_dir);
  }
  std::string trimmed = export_dir;
  while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
  fs::create_directories(Dirname(trimmed), ec);
  const std::string tmp = absl::StrCat(trimmed, ".tmp.", getpid());
  RemoveStaleExports(trimmed);
  fs::remove_all(tmp, ec);
  if (!fs::create_directories(tmp, ec)) {
    return WithContext(absl::PermissionDeniedError(absl::StrCat(
                           "cannot create '", tmp, "': ", ec.message())),
                       export_dir);
  }
  absl::Status s = WriteInto(session, tmp, tags, signatures);
  // rename(2) replaces an empty folder in one step; a non-empty one fails, ENOTEMPTY.
  if (s.ok() && std::rename(tmp.c_str(), trimmed.c_str()) != 0) {
    s = absl::PermissionDeniedError(
        absl::StrCat("cannot rename '", tmp, "' to it: ", std::strerror(errno)));
  }
  if (!s.ok()) {
    fs::remove_all(tmp, ec);
    return WithContext(s, export_dir);
  }
  SyncDirectory(Dirname(trimmed));
  return absl::OkStatus();
}

}  // namespace dflow
