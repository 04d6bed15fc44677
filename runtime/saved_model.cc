#include "runtime/saved_model.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/graph_def_io.h"
#include "graph/status_macros.h"
#include "ops/op_registry.h"
#include "runtime/checkpoint.h"

namespace dflow {
namespace {

bool FileExists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

absl::Status WithContext(const absl::Status& s, absl::string_view context) {
  if (s.ok()) return s;
  return absl::Status(s.code(), absl::StrCat(context, ": ", s.message()));
}

// "save/restore_all" -> "save": the scope TensorFlow's Saver builds its subgraph in.
std::string SaverScope(const MetaGraphDef& meta_graph) {
  const std::string& op = meta_graph.saver_def().restore_op_name();
  const size_t slash = op.find('/');
  return op.empty() || slash == std::string::npos ? "save" : op.substr(0, slash);
}

std::string NodeOf(const std::string& tensor) {
  std::string name = tensor;
  if (absl::StartsWith(name, "^")) name = name.substr(1);
  const size_t colon = name.find(':');
  return colon == std::string::npos ? name : name.substr(0, colon);
}

std::string TagSetString(const MetaGraphDef& meta_graph) {
  return absl::StrJoin(meta_graph.meta_info_def().tags(), ", ");
}

// saved_model_cli's shape notation: "(-1, 96)", "()" for scalars, "unknown_rank".
std::string ShapeString(const TensorInfo& info) {
  if (info.tensor_shape().unknown_rank()) return "unknown_rank";
  std::vector<int64_t> dims;
  for (const auto& d : info.tensor_shape().dim()) dims.push_back(d.size());
  return absl::StrCat("(", absl::StrJoin(dims, ", "), ")");
}

void DescribeTensors(const google::protobuf::Map<std::string, TensorInfo>& tensors,
                     absl::string_view kind, std::string* out) {
  std::map<std::string, const TensorInfo*> sorted;
  for (const auto& [key, info] : tensors) sorted[key] = &info;
  for (const auto& [key, info] : sorted) {
    absl::StrAppend(out, "    ", kind, "['", key, "'] tensor_info:\n");
    absl::StrAppend(out, "        dtype: ", DataType_Name(info->dtype()), "\n");
    absl::StrAppend(out, "        shape: ", ShapeString(*info), "\n");
    if (info->has_coo_sparse()) {
      absl::StrAppend(out, "        NOTE: SparseTensor (values ", info->coo_sparse().values_tensor_name(),
                      ", indices ", info->coo_sparse().indices_tensor_name(), ", dense shape ",
                      info->coo_sparse().dense_shape_tensor_name(), ")\n");
    } else {
      absl::StrAppend(out, "        name: ", info->name(), "\n");
    }
  }
}

}  // namespace

absl::Status LoadMetaGraph(const std::string& path, MetaGraphDef* meta_graph) {
  return ReadProtoFile(path, meta_graph);
}

absl::Status ReadSavedModel(const std::string& export_dir, SavedModel* saved_model) {
  const std::string pb = absl::StrCat(export_dir, "/", kSavedModelFilenamePb);
  const std::string pbtxt = absl::StrCat(export_dir, "/", kSavedModelFilenamePbTxt);
  if (FileExists(pb)) return ReadProtoFile(pb, saved_model);
  if (FileExists(pbtxt)) return ReadProtoFile(pbtxt, saved_model);
  return absl::NotFoundError(absl::StrCat("SavedModel '", export_dir, "': no ", kSavedModelFilenamePb,
                                          " or ", kSavedModelFilenamePbTxt, " there"));
}

absl::StatusOr<const MetaGraphDef*> FindMetaGraph(const SavedModel& saved_model,
                                                  const std::vector<std::string>& tags) {
  const std::set<std::string> want(tags.begin(), tags.end());
  std::vector<std::string> available;
  for (const MetaGraphDef& mg : saved_model.meta_graphs()) {
    const auto& t = mg.meta_info_def().tags();
    if (std::set<std::string>(t.begin(), t.end()) == want) return &mg;
    available.push_back(absl::StrCat("{", TagSetString(mg), "}"));
  }
  return absl::NotFoundError(absl::StrCat(
      "no MetaGraphDef with tag set {", absl::StrJoin(want, ", "), "}; the tag sets there: ",
      available.empty() ? "none" : absl::StrJoin(available, " ")));
}

absl::StatusOr<std::unique_ptr<Session>> CreateSessionFromMetaGraph(
    const SessionOptions& options, const MetaGraphDef& meta_graph) {
  const GraphDef& def = meta_graph.graph_def();
  const OpRegistry& registry = *OpRegistry::Global();
  const std::string scope = SaverScope(meta_graph) + "/";
  bool unknown_outside_saver = false, unknown_in_saver = false;
  for (const NodeDef& nd : def.node()) {
    if (registry.Find(nd.op()) != nullptr) continue;
    (absl::StartsWith(nd.name(), scope) ? unknown_in_saver : unknown_outside_saver) = true;
  }
  if (!unknown_in_saver || unknown_outside_saver) return Session::Create(def, options);
  // The Saver's subgraph (SaveV2/RestoreV2 on string tensors) cannot run in dflow, which restores
  // with RestoreCheckpoint instead; dropping it keeps the rest importable. Once the importer can
  // keep nodes of unknown ops unrunnable, this goes.
  GraphDef pruned;
  *pruned.mutable_versions() = def.versions();
  *pruned.mutable_library() = def.library();
  for (const NodeDef& nd : def.node()) {
    if (absl::StartsWith(nd.name(), scope)) continue;
    NodeDef* kept = pruned.add_node();
    *kept = nd;
    kept->clear_input();
    for (const std::string& in : nd.input()) {
      // A control edge into the saver scope has nothing left to wait for; data edges stay and
      // fail the import, naming the node.
      if (absl::StartsWith(in, "^") && absl::StartsWith(NodeOf(in), scope)) continue;
      kept->add_input(in);
    }
  }
  return Session::Create(pruned, options);
}

namespace {

bool GraphHasNode(const MetaGraphDef& meta_graph, const std::string& tensor) {
  if (tensor.empty()) return false;
  const std::string node = NodeOf(tensor);
  for (const NodeDef& nd : meta_graph.graph_def().node()) {
    if (nd.name() == node) return true;
  }
  return false;
}

absl::Status SaverError(const absl::Status& s, absl::string_view what, const std::string& op) {
  if (s.ok()) return s;
  return absl::Status(s.code(), absl::StrCat(what, " through the graph's Saver ('", op,
                                             "'): ", s.message()));
}

}  // namespace

bool HasSaverRestore(const MetaGraphDef& meta_graph) {
  const SaverDef& saver = meta_graph.saver_def();
  return GraphHasNode(meta_graph, saver.filename_tensor_name()) &&
         GraphHasNode(meta_graph, saver.restore_op_name());
}

bool HasSaverSave(const MetaGraphDef& meta_graph) {
  const SaverDef& saver = meta_graph.saver_def();
  return GraphHasNode(meta_graph, saver.filename_tensor_name()) &&
         GraphHasNode(meta_graph, saver.save_tensor_name());
}

absl::Status RestoreThroughSaver(Session& session, const MetaGraphDef& meta_graph,
                                 const std::string& prefix) {
  const SaverDef& saver = meta_graph.saver_def();
  if (!HasSaverRestore(meta_graph)) {
    return absl::FailedPreconditionError(
        "the meta graph has no Saver (saver_def filename tensor and restore op)");
  }
  return SaverError(session.Run({{saver.filename_tensor_name(), Tensor::Scalar(prefix)}}, {},
                                {NodeOf(saver.restore_op_name())}, nullptr),
                    absl::StrCat("restoring '", prefix, "'"), saver.restore_op_name());
}

absl::Status SaveThroughSaver(Session& session, const MetaGraphDef& meta_graph,
                              const std::string& prefix) {
  const SaverDef& saver = meta_graph.saver_def();
  if (!HasSaverSave(meta_graph)) {
    return absl::FailedPreconditionError(
        "the meta graph has no Saver (saver_def filename tensor and save tensor)");
  }
  // As SaveCheckpoint (TensorFlow's Python Saver would refuse a missing folder instead).
  const size_t slash = prefix.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    std::error_code ec;
    std::filesystem::create_directories(prefix.substr(0, slash), ec);
  }
  std::vector<Tensor> out;
  DFLOW_RETURN_IF_ERROR(
      SaverError(session.Run({{saver.filename_tensor_name(), Tensor::Scalar(prefix)}},
                             {saver.save_tensor_name()}, {}, &out),
                 absl::StrCat("saving '", prefix, "'"), saver.save_tensor_name()));
  // As Saver.save (write_state=True): the folder's `checkpoint` file names it as the newest.
  return UpdateCheckpointState(prefix);
}

std::string InitOpName(const MetaGraphDef& meta_graph) {
  auto sig = meta_graph.signature_def().find(kSavedModelInitOpSignatureKey);
  if (sig != meta_graph.signature_def().end()) {
    auto out = sig->second.outputs().find(kSavedModelInitOpSignatureKey);
    if (out != sig->second.outputs().end()) return NodeOf(out->second.name());
  }
  for (const char* key : {kSavedModelMainOpKey, kSavedModelLegacyInitOpKey}) {
    auto c = meta_graph.collection_def().find(key);
    if (c != meta_graph.collection_def().end() && c->second.node_list().value_size() > 0) {
      return NodeOf(c->second.node_list().value(0));
    }
  }
  return "";
}

absl::Status LoadSavedModel(const SessionOptions& options, const std::string& export_dir,
                            const std::vector<std::string>& tags, SavedModelBundle* bundle) {
  const std::string context = absl::StrCat("SavedModel '", export_dir, "'");
  SavedModel saved_model;
  DFLOW_RETURN_IF_ERROR(ReadSavedModel(export_dir, &saved_model));
  absl::StatusOr<const MetaGraphDef*> found = FindMetaGraph(saved_model, tags);
  DFLOW_RETURN_IF_ERROR(WithContext(found.status(), context));
  bundle->meta_graph_def = **found;
  const MetaGraphDef& mg = bundle->meta_graph_def;
  absl::StatusOr<std::unique_ptr<Session>> session = CreateSessionFromMetaGraph(options, mg);
  DFLOW_RETURN_IF_ERROR(WithContext(session.status(), context));

  // As TensorFlow's loader: no variables checkpoint means nothing to restore.
  const std::string prefix = absl::StrCat(export_dir, "/", kSavedModelVariablesPrefix);
  if (FileExists(prefix + ".index")) {
    DFLOW_RETURN_IF_ERROR(WithContext(HasSaverRestore(mg)
                                          ? RestoreThroughSaver(**session, mg, prefix)
                                          : RestoreCheckpoint(**session, prefix),
                                      context));
  } else {
    std::cerr << context << " has no " << kSavedModelVariablesPrefix
              << ".index; no variables were restored" << std::endl;
  }
  const std::string init_op = InitOpName(mg);
  if (!init_op.empty()) {
    DFLOW_RETURN_IF_ERROR(WithContext((*session)->Run({}, {}, {init_op}, nullptr),
                                      absl::StrCat(context, ": init op '", init_op, "'")));
  }
  bundle->session = *std::move(session);
  return absl::OkStatus();
}

absl::StatusOr<std::string> SignatureTensorName(const SignatureDef& signature,
                                                const std::string& key, bool input) {
  const auto& map = input ? signature.inputs() : signature.outputs();
  auto it = map.find(key);
  if (it != map.end()) {
    if (it->second.name().empty()) {
      return absl::UnimplementedError(absl::StrCat(
          input ? "input" : "output", " '", key, "' is not a dense tensor (sparse or composite)"));
    }
    return it->second.name();
  }
  std::vector<std::string> keys;
  for (const auto& [k, info] : map) keys.push_back(k);
  std::sort(keys.begin(), keys.end());
  return absl::NotFoundError(absl::StrCat("the signature has no ", input ? "input" : "output",
                                          " '", key, "'; its keys: ",
                                          keys.empty() ? "none" : absl::StrJoin(keys, ", ")));
}

std::string DescribeMetaGraphs(const std::vector<const MetaGraphDef*>& meta_graphs) {
  std::string out;
  for (const MetaGraphDef* mg : meta_graphs) {
    absl::StrAppend(&out, "\nMetaGraphDef with tag-set: '", TagSetString(*mg),
                    "' contains the following SignatureDefs:\n");
    std::map<std::string, const SignatureDef*> sorted;
    for (const auto& [key, sig] : mg->signature_def()) sorted[key] = &sig;
    for (const auto& [key, sig] : sorted) {
      absl::StrAppend(&out, "\nsignature_def['", key, "']:\n");
      absl::StrAppend(&out, "  The given SavedModel SignatureDef contains the following input(s):\n");
      DescribeTensors(sig->inputs(), "inputs", &out);
      absl::StrAppend(&out, "  The given SavedModel SignatureDef contains the following output(s):\n");
      DescribeTensors(sig->outputs(), "outputs", &out);
      absl::StrAppend(&out, "  Method name is: ", sig->method_name(), "\n");
    }
  }
  return out;
}

}  // namespace dflow
