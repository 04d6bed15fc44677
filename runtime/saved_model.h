// Loading TensorFlow 1.x MetaGraphDefs (.meta files) and SavedModels, as TensorFlow's
// tensorflow/cc/saved_model/loader.h does:
//
//   SavedModelBundle bundle;
//   absl::Status s = LoadSavedModel({}, "/models/counter/00000123", {"serve"}, &bundle);
//   const SignatureDef& sig = bundle.meta_graph_def.signature_def().at("get_counter");
//   bundle.session->Run({}, {sig.outputs().at("output").name()}, {}, &out);
//
// Variables are restored as TensorFlow restores them, through the graph's own Saver subgraph
// (SaverDef: feed filename_tensor_name with the prefix, run restore_op_name; RestoreV2 under
// "save/"), when the meta graph has one; otherwise with RestoreCheckpoint (runtime/checkpoint.h),
// each from the checkpoint entry named as TensorFlow's Saver names it, the VariableV2 node's name.
#ifndef DFLOW_RUNTIME_SAVED_MODEL_H_
#define DFLOW_RUNTIME_SAVED_MODEL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/meta_graph.pb.h"
#include "runtime/session.h"

namespace dflow {

// TensorFlow's names (tensorflow/cc/saved_model/{tag_constants,signature_constants,constants}.h).
inline constexpr char kSavedModelTagServe[] = "serve";
inline constexpr char kSavedModelTagTrain[] = "train";
inline constexpr char kDefaultServingSignatureDefKey[] = "serving_default";
inline constexpr char kSavedModelFilenamePb[] = "saved_model.pb";
inline constexpr char kSavedModelFilenamePbTxt[] = "saved_model.pbtxt";
inline constexpr char kSavedModelVariablesPrefix[] = "variables/variables";
inline constexpr char kSavedModelInitOpSignatureKey[] = "__saved_model_init_op";
inline constexpr char kSavedModelMainOpKey[] = "saved_model_main_op";
inline constexpr char kSavedModelLegacyInitOpKey[] = "legacy_init_op";

struct SavedModelBundle {
  std::unique_ptr<Session> session;
  MetaGraphDef meta_graph_def;
};

// Reads a MetaGraphDef file (binary or text, told apart by content). Errors name the file.
absl::Status LoadMetaGraph(const std::string& path, MetaGraphDef* meta_graph);

// Reads export_dir/saved_model.pb (binary) or, when absent, export_dir/saved_model.pbtxt (text).
absl::Status ReadSavedModel(const std::string& export_dir, SavedModel* saved_model);

// The meta graph whose tag set equals `tags` (as sets: order and repeats do not matter);
// NotFound listing the tag sets there are otherwise.
absl::StatusOr<const MetaGraphDef*> FindMetaGraph(const SavedModel& saved_model,
                                                  const std::vector<std::string>& tags);

// A Session on the meta graph's graph_def. Resource variables (VarHandleOp) are refused. When
// the only nodes with ops dflow lacks are in the Saver's name scope, that scope is left out.
absl::StatusOr<std::unique_ptr<Session>> CreateSessionFromMetaGraph(
    const SessionOptions& options, const MetaGraphDef& meta_graph);

// Loads the SavedModel in `export_dir`: picks the meta graph tagged `tags`, imports its graph,
// restores its variables from export_dir/variables/variables (through the graph's Saver when
// HasSaverRestore, else RestoreCheckpoint; skipped, as TensorFlow does, when that checkpoint
// does not exist) and runs its init op, if any. Errors name export_dir.
absl::Status LoadSavedModel(const SessionOptions& options, const std::string& export_dir,
                            const std::vector<std::string>& tags, SavedModelBundle* bundle);

// True when the meta graph's SaverDef names a filename tensor and a restore op (and the save
// tensor, for HasSaverSave) that its graph has.
bool HasSaverRestore(const MetaGraphDef& meta_graph);
bool HasSaverSave(const MetaGraphDef& meta_graph);

// TensorFlow's Saver.restore: runs saver_def.restore_op_name with filename_tensor_name fed with
// `prefix`. Errors name the restore op.
absl::Status RestoreThroughSaver(Session& session, const MetaGraphDef& meta_graph,
                                 const std::string& prefix);
// TensorFlow's Saver.save: fetches saver_def.save_tensor_name with filename_tensor_name fed
// with `prefix` (the graph's SaveV2 writes the checkpoint, sharded Savers merge it), creating
// prefix's folder first as SaveCheckpoint does, then names it in the folder's `checkpoint` state
// file, as Saver.save does.
absl::Status SaveThroughSaver(Session& session, const MetaGraphDef& meta_graph,
                              const std::string& prefix);

// The init op TensorFlow's loader runs after restoring: the `__saved_model_init_op`
// signature's output, else the `saved_model_main_op` collection's node, else
// `legacy_init_op`'s; "" when there is none. A node name (":0" dropped).
std::string InitOpName(const MetaGraphDef& meta_graph);

// The tensor a signature's input (or output) key stands for; NotFound listing the keys.
absl::StatusOr<std::string> SignatureTensorName(const SignatureDef& signature,
                                                const std::string& key, bool input);

// What `saved_model_cli show --all` prints for these meta graphs: per tag set, every signature
// with its inputs and outputs (dtype, shape, tensor name) and method name.
std::string DescribeMetaGraphs(const std::vector<const MetaGraphDef*>& meta_graphs);

}  // namespace dflow

#endif  // DFLOW_RUNTIME_SAVED_MODEL_H_
