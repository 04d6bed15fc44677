// Inlining of one library function's body into a GraphDef, the step every lowering in
// ops/function_lowering takes: args through Identity nodes, body nodes renamed under a prefix
// with their attr placeholders bound, inputs ("node:output_arg:index") resolved through dflow's
// op schemas. For ops/function_lowering only.
#ifndef DFLOW_OPS_FUNCTION_INLINING_H_
#define DFLOW_OPS_FUNCTION_INLINING_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/graph.pb.h"

namespace dflow {
namespace lowering {

// A node still to be emitted or lowered, with the functions it was inlined from (outermost
// first), which recursion is checked against.
struct Work {
  NodeDef node;
  std::vector<std::string> stack;
};

// A function body inlined under a prefix: its results in GraphDef naming.
struct Inlined {
  std::vector<std::string> rets;
  std::vector<std::string> control_rets;  // Node names.
};

// "<op> node '<name>': <message>", as InvalidArgument: the form of every lowering error.
absl::Status Error(const NodeDef& n, absl::string_view message);

AttrValue TypeAttr(DataType t);
// A node on `origin`'s device.
NodeDef MakeNode(const std::string& name, const std::string& op,
                 std::vector<std::string> inputs, const NodeDef& origin);
// A node with attr T.
NodeDef Typed(const std::string& name, const std::string& op, std::vector<std::string> inputs,
              DataType t, const NodeDef& origin);

class FunctionInliner {
 public:
  // Points into `library`, which must outlive the inliner.
  explicit FunctionInliner(const FunctionDefLibrary& library);

  // The library's function `name`, or nullptr.
  const FunctionDef* Find(const std::string& name) const;
  // True when `op` names a library function and no registered op.
  bool IsLibraryFunction(const std::string& op) const;

  // Inlines function `f` (called by `caller`) with node names under `prefix`: its args are
  // `args` (GraphDef naming) through Identity nodes "<prefix><arg name>", and its nodes without
  // inputs get a control input from `pivot` (when not empty). Fails on a missing or recursive
  // function (`stack` holds the callers), an arg count off the signature, an unbound attr
  // placeholder, or a body input or ret that resolves to nothing.
  absl::Status Inline(const NodeDef& caller, const NameAttrList& f, const std::string& prefix,
                      const std::vector<std::string>& args, const std::vector<DataType>& types,
                      const std::string& pivot, const std::vector<std::string>& stack,
                      std::vector<Work>* out, Inlined* result);

 private:
  absl::StatusOr<std::string> BodyInput(const NodeDef& caller, const FunctionDef& fd,
                                        const NameAttrList& f, const std::string& prefix,
                                        const std::string& in, const NodeDef* consumer);

  absl::flat_hash_map<std::string, const FunctionDef*> functions_;
  // Per inlining: arg name -> its tensors, body node name -> node (after attr binding).
  absl::flat_hash_map<std::string, std::vector<std::string>> arg_tensors_;
  absl::flat_hash_map<std::string, const NodeDef*> body_nodes_;
};

}  // namespace lowering
}  // namespace dflow

#endif  // DFLOW_OPS_FUNCTION_INLINING_H_
