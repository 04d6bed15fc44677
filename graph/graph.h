// The dataflow graph: nodes with data inputs (Output = producer node + output index) and
// control inputs. Nodes are only ever appended and every input must already exist, so node ids
// are a topological order. The one exception is a while loop's back edge (AddBackEdge: a Merge
// input from a NextIteration added later); ignoring back edges, ids stay a topological order.
//
// The graph layer knows nothing about op schemas: ops/ validates a node (types, attrs, shapes)
// before calling Graph::AddNode, and fills in the typing fields of NodeSpec.
#ifndef DFLOW_GRAPH_GRAPH_H_
#define DFLOW_GRAPH_GRAPH_H_

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/container/node_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "graph/tensor_shape.h"
#include "graph/types.h"
#include "proto/graph.pb.h"

namespace dflow {

class Node;

using AttrMap = std::map<std::string, AttrValue, std::less<>>;  // Looked up by string_view.

// One output of a node. Also the handle the C++ builder API passes around.
class Output {
 public:
  Output() = default;
  Output(Node* node, int index = 0) : node_(node), index_(index) {}  // NOLINT

  Node* node() const { return node_; }
  int index() const { return index_; }
  DataType type() const;
  const PartialTensorShape& shape() const;
  std::string name() const;  // "node" for index 0, else "node:index" (GraphDef input syntax).

  bool operator==(const Output& o) const { return node_ == o.node_ && index_ == o.index_; }
  bool operator!=(const Output& o) const { return !(*this == o); }
  template <typename H>
  friend H AbslHashValue(H h, const Output& o) {
    return H::combine(std::move(h), o.node_, o.index_);
  }

 private:
  Node* node_ = nullptr;
  int index_ = 0;
};

// Output `index` of `node`, for code that holds the node const (gradient functions, passes):
// Outputs name nodes by pointer, and reading a node's outputs never changes it.
inline Output OutputOf(const Node& node, int index) {
  return Output(const_cast<Node*>(&node), index);
}

// Everything needed to add a node; ops/NodeBuilder fills it from the op's schema.
struct NodeSpec {
  std::string name;
  std::string op;
  std::string device;
  std::vector<Output> inputs;
  std::vector<Node*> control_inputs;
  AttrMap attrs;
  std::vector<DataType> input_types;   // Expected type of each input (base type, never _REF).
  std::vector<bool> input_is_ref;      // Input slot takes a variable reference (Assign's `ref`).
  std::vector<DataType> output_types;
  std::vector<bool> output_is_ref;     // Output is a variable reference (VariableV2's `ref`).
  std::vector<PartialTensorShape> output_shapes;
  // An op dflow does not know, kept so that a graph whose fetches never reach it still loads
  // and exports unchanged: its inputs are a flat list accepted as typed, its output types are
  // DT_INVALID where unknown and its shapes unknown, and a run that needs it fails.
  bool opaque = false;
};

class Node {
 public:
  int id() const { return id_; }
  const std::string& name() const { return name_; }
  const std::string& op() const { return *op_; }
  const std::string& device() const { return *device_; }
  const AttrMap& attrs() const { return attrs_; }
  const AttrValue* FindAttr(absl::string_view name) const;

  int num_inputs() const { return static_cast<int>(inputs_.size()); }
  const Output& input(int i) const { return inputs_[i]; }
  const std::vector<Output>& inputs() const { return inputs_; }
  DataType input_type(int i) const { return input_types_[i]; }
  bool input_is_ref(int i) const { return rare_ != nullptr && !rare_->refs.empty() && rare_->refs[i]; }
  const std::vector<Node*>& control_inputs() const;
  // Input i comes from a later node: a while loop's NextIteration -> Merge edge.
  bool is_back_edge(int i) const { return inputs_[i].node()->id() >= id_; }

  int num_outputs() const { return static_cast<int>(output_types_.size()); }
  DataType output_type(int i) const { return output_types_[i]; }
  bool output_is_ref(int i) const {
    return rare_ != nullptr && !rare_->refs.empty() && rare_->refs[inputs_.size() + i];
  }
  const PartialTensorShape& output_shape(int i) const { return output_shapes_[i]; }
  absl::Span<const DataType> output_types() const { return output_types_; }
  // See NodeSpec::opaque.
  bool is_opaque() const { return opaque_; }

  // Consumers: (node, input slot) for each data edge out of this node, in insertion order.
  const std::vector<std::pair<Node*, int>>& out_edges() const { return out_edges_; }
  const std::vector<Node*>& control_outputs() const;

  std::string DebugString() const;  // "'linear/MatMul' (MatMul)"

 private:
  friend class Graph;
  // `op` and `device` are the graph's interned copies of spec.op and spec.device.
  Node(int id, NodeSpec spec, const std::string* op, const std::string* device);

  // Kept compact (inline storage for the common small counts): a graph may hold millions.
  int id_;
  bool opaque_;
  const std::string* op_;
  const std::string* device_;
  std::string name_;
  std::vector<Output> inputs_;
  AttrMap attrs_;
  absl::InlinedVector<DataType, 4> input_types_;
  absl::InlinedVector<DataType, 4> output_types_;
  absl::InlinedVector<PartialTensorShape, 1> output_shapes_;
  std::vector<std::pair<Node*, int>> out_edges_;
  // Control edges and reference flags are rare: allocated at the first one.
  struct Rare {
    std::vector<Node*> control_inputs, control_outputs;
    std::vector<bool> refs;  // Is-reference flags of the inputs, then the outputs; or empty.
  };
  std::unique_ptr<Rare> rare_;
  Rare& rare();
};

class Graph {
 public:
  Graph();
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  ~Graph();

  // Appends a node. Fails on a duplicate or empty name, an input from another graph or out of
  // range, an input whose type is not the expected one (an opaque node's DT_INVALID output
  // matches any), or inconsistent typing vectors.
  absl::StatusOr<Node*> AddNode(NodeSpec spec);

  // Makes input `index` of `merge` (a Merge or RefMerge, built with a stand-in of the same type
  // there) come from `source`, an output of a NextIteration/RefNextIteration node: a while
  // loop's back edge, the only cycle a Graph may hold. Merge's output shape becomes the most
  // specific shape both its old shape and the new input's fit.
  absl::Status AddBackEdge(Node* merge, int index, const Output& source);

  Node* FindNode(absl::string_view name) const;
  // Parses "node", "node:1" (no "^"); fails naming the missing node or bad index.
  absl::StatusOr<Output> FindOutput(absl::string_view name) const;

  int num_nodes() const { return static_cast<int>(nodes_.size()); }
  Node* node(int id) const { return nodes_[id].get(); }
  // All nodes in id (= topological) order.
  std::vector<Node*> nodes() const;

  // A name not yet used in this graph: `base`, else `base_1`, `base_2`, ...
  std::string UniqueName(absl::string_view base);

  // Room for `n` more nodes without reallocating the node table and name index.
  void Reserve(int n);
  // Removes the nodes with id >= `num_nodes` (and their edges into earlier nodes), newest
  // first: undoes a failed import into a graph that held `num_nodes` nodes.
  void TruncateTo(int num_nodes);

  const VersionDef& versions() const { return versions_; }
  VersionDef* mutable_versions() { return &versions_; }

  // Writes every node in id order, with attrs and "name:idx"/"^ctrl" inputs.
  void ToGraphDef(GraphDef* def) const;

 private:
  std::vector<std::unique_ptr<Node>> nodes_;
  absl::flat_hash_map<absl::string_view, Node*> by_name_;  // Keys view each node's own name.
  absl::flat_hash_map<std::string, int> name_counters_;
  absl::node_hash_set<std::string> interned_;  // Op and device names, each once, for Nodes.
  VersionDef versions_;
};

// The nodes that running `fetches` and `targets` needs, indexed by node id: everything they
// reach through data and control inputs, stopping at fed tensors (a fed tensor's producer runs
// only if something else needs it).
std::vector<bool> NodesNeededFor(const Graph& graph, absl::Span<const Output> feeds,
                                 absl::Span<const Output> fetches,
                                 absl::Span<const Node* const> targets);

// An opaque node (NodeSpec::opaque) a run needs, with what needs it.
struct OpaqueNeed {
  const Node* node;
  std::string needed_by;   // "fetch 'y'" or "target 't'": the first of them found to need it.
  const Node* consumer;    // The needed node reading it on the way there; null for the root.
};
// The opaque nodes among NodesNeededFor(...), in the order the fetches, then targets, reach them.
std::vector<OpaqueNeed> OpaqueNodesNeededFor(const Graph& graph, absl::Span<const Output> feeds,
                                             absl::Span<const Output> fetches,
                                             absl::Span<const Node* const> targets);

// Splits a GraphDef input string: "^ctrl" -> ("ctrl", -1); "node:2" -> ("node", 2);
// "node" -> ("node", 0). Fails on an empty name or a malformed index. SplitInputName's name
// views `input`.
absl::StatusOr<std::pair<absl::string_view, int>> SplitInputName(absl::string_view input);
absl::StatusOr<std::pair<std::string, int>> ParseInputName(absl::string_view input);

}  // namespace dflow

#endif  // DFLOW_GRAPH_GRAPH_H_
