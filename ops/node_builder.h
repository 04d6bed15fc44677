// Validates a node against its op's schema, infers its type attrs and shapes, and adds it.
// Both the C++ builder API and GraphDef import go through here, so a node in a Graph has always
// passed the same checks.
#ifndef DFLOW_OPS_NODE_BUILDER_H_
#define DFLOW_OPS_NODE_BUILDER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "graph/attr_value_util.h"
#include "graph/graph.h"

namespace dflow {

struct OpDef;

// Groups a node's flat input list (as a NodeDef or a Node holds it) into `op`'s input args, in
// order, one entry per arg for NodeBuilder::Input: a single-tensor arg takes the next input; a
// list arg ("values: N * T") takes as many as `attrs` says for N, or, where `attrs` holds no
// positive N, every input left; a type-list arg ("data: T", T a list(type)) as many as T lists,
// or, where `attrs` holds no T, every input left. Fails naming the `op` node `node` when the
// inputs run out or some are left over. Checks nothing else (types, list lengths: Finalize does).
absl::StatusOr<std::vector<std::vector<Output>>> GroupInputsByArg(absl::string_view node,
                                                                  const OpDef& op,
                                                                  const AttrMap& attrs,
                                                                  absl::Span<const Output> inputs);

// Adds an opaque node (graph/graph.h) for a node dflow cannot run: `spec` gives its name, op,
// device, attrs, flat inputs, control inputs and output types (DT_INVALID where unknown, with
// output_is_ref alongside or empty for none); input typing is taken from the inputs and every
// output shape is unknown. Nothing is validated against a schema, since there is none.
absl::StatusOr<Node*> AddOpaqueNode(NodeSpec spec, Graph* graph);

class NodeBuilder {
 public:
  NodeBuilder(std::string name, std::string op) {
    spec_.name = std::move(name);
    spec_.op = std::move(op);
  }

  NodeBuilder& Input(Output input);
  // A list input ("values: N * T"): one schema arg fed by several tensors.
  NodeBuilder& Input(std::vector<Output> inputs);
  NodeBuilder& ControlInput(Node* node);
  NodeBuilder& Attr(const std::string& name, AttrValue value);
  template <typename T>
  NodeBuilder& Attr(const std::string& name, const T& value) {
    return Attr(name, MakeAttr(value));
  }
  NodeBuilder& Device(std::string device);

  // The attrs set so far (not yet the defaults and inferred ones Finalize adds).
  const AttrMap& attrs() const { return spec_.attrs; }

  // Checks the op exists, input count and types, attrs (present, right kind, allowed type),
  // fills defaults and type attrs inferred from the inputs, runs the shape function, and adds
  // the node. Every error names the node.
  // The rvalue form moves the attrs instead of copying them: std::move(builder).Finalize(g).
  absl::StatusOr<Node*> Finalize(Graph* graph) const&;
  absl::StatusOr<Node*> Finalize(Graph* graph) &&;

 private:
  static absl::StatusOr<Node*> Build(NodeSpec spec, const std::vector<std::vector<Output>>& args,
                                     Graph* graph);

  NodeSpec spec_;
  std::vector<std::vector<Output>> args_;  // One entry per schema input arg.
};

}  // namespace dflow

#endif  // DFLOW_OPS_NODE_BUILDER_H_
