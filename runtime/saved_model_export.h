// Writing a Session as a TensorFlow 1.x SavedModel, as TensorFlow's SavedModelBuilder does:
//
//   EXPORT_DIR/saved_model.pb                          SavedModel (binary), one MetaGraphDef
//   EXPORT_DIR/variables/variables.index               the variables, a V2 checkpoint
//   EXPORT_DIR/variables/variables.data-00000-of-00001 (runtime/checkpoint.h)
//
//   SignatureDef sig;
//   DFLOW_ASSIGN_OR_RETURN(sig, PredictSignature(session->graph(), {{"x", "x"}}, {{"y", "y"}}));
//   DFLOW_RETURN_IF_ERROR(SaveSavedModel(*session, "/models/mnist/1", {kSavedModelTagServe},
//                                        {{kDefaultServingSignatureDefKey, sig}}));
//
// LoadSavedModel (runtime/saved_model.h) reads it back. No SaverDef or Saver subgraph is written:
// loaders restore the variables by name from variables/variables (dflow's does; TensorFlow's
// needs a Saver, so such a model serves in TensorFlow only once a Saver is added).
#ifndef DFLOW_RUNTIME_SAVED_MODEL_EXPORT_H_
#define DFLOW_RUNTIME_SAVED_MODEL_EXPORT_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "graph/graph.h"
#include "proto/meta_graph.pb.h"
#include "runtime/session.h"

namespace dflow {

// TensorFlow's method name of prediction signatures (signature_constants.h).
inline constexpr char kPredictMethodName[] = "tensorflow/serving/predict";

// A prediction signature: each (key, tensor) pair of `inputs` and `outputs` becomes a TensorInfo
// with the tensor's name ("x" -> "x:0"), dtype and the graph's shape of it. NotFound names a
// tensor missing from `graph`.
absl::StatusOr<SignatureDef> PredictSignature(
    const Graph& graph, const std::vector<std::pair<std::string, std::string>>& inputs,
    const std::vector<std::pair<std::string, std::string>>& outputs);

// Writes `session`'s graph, `tags` and `signatures` and the current values of all its variables
// (and started random streams) as a SavedModel in `export_dir`. Everything is written into a
// temporary folder beside it (`export_dir.tmp.<pid>`; those of killed exporters are removed
// first), synced, and renamed to `export_dir` in one step, so a reader sees the whole model or
// none. As TensorFlow's builder, fails when `export_dir` exists and is not
// empty; also when `tags` is empty, a signature names a tensor the graph lacks, or a variable is
// uninitialized. Errors name export_dir.
absl::Status SaveSavedModel(Session& session, const std::string& export_dir,
                            const std::vector<std::string>& tags,
                            const std::map<std::string, SignatureDef>& signatures);

}  // namespace dflow

#endif  // DFLOW_RUNTIME_SAVED_MODEL_EXPORT_H_
