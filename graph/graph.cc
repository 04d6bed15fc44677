#include "graph/graph.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"

namespace dflow {

// The dflow producer version written to GraphDefs; TensorFlow 1.15 writes 134, and anything
// >= 22 means a zero-dim Placeholder shape is a real scalar.
constexpr int kGraphDefProducer = 134;

DataType Output::type() const { return node_->output_type(index_); }
const PartialTensorShape& Output::shape() const { return node_->output_shape(index_); }
std::string Output::name() const {
  return index_ == 0 ? node_->name() : absl::StrCat(node_->name(), ":", index_);
}

const AttrValue* Node::FindAttr(absl::string_view name) const {
  auto it = attrs_.find(name);
  return it == attrs_.end() ? nullptr : &it->second;
}

Node::Node(int id, NodeSpec spec, const std::string* op, const std::string* device)
    : id_(id),
      opaque_(spec.opaque),
      op_(op),
      device_(device),
      name_(std::move(spec.name)),
      inputs_(std::move(spec.inputs)),
      attrs_(std::move(spec.attrs)),
      input_types_(spec.input_types.begin(), spec.input_types.end()),
      output_types_(spec.output_types.begin(), spec.output_types.end()),
      output_shapes_(std::make_move_iterator(spec.output_shapes.begin()),
                     std::make_move_iterator(spec.output_shapes.end())) {
  const auto is_true = [](bool b) { return b; };
  if (std::any_of(spec.input_is_ref.begin(), spec.input_is_ref.end(), is_true) ||
      std::any_of(spec.output_is_ref.begin(), spec.output_is_ref.end(), is_true)) {
    std::vector<bool>& refs = rare().refs;
    refs = std::move(spec.input_is_ref);
    refs.insert(refs.end(), spec.output_is_ref.begin(), spec.output_is_ref.end());
  }
  if (!spec.control_inputs.empty()) rare().control_inputs = std::move(spec.control_inputs);
}

const std::vector<Node*>& Node::control_inputs() const {
  static const std::vector<Node*> kNone;
  return rare_ == nullptr ? kNone : rare_->control_inputs;
}

const std::vector<Node*>& Node::control_outputs() const {
  static const std::vector<Node*> kNone;
  return rare_ == nullptr ? kNone : rare_->control_outputs;
}

Node::Rare& Node::rare() {
  if (rare_ == nullptr) rare_ = std::make_unique<Rare>();
  return *rare_;
}

std::string Node::DebugString() const { return absl::StrCat("'", name(), "' (", op(), ")"); }

Graph::Graph() {
  versions_.set_producer(kGraphDefProducer);
  versions_.set_min_consumer(0);
}

Graph::~Graph() = default;

absl::StatusOr<Node*> Graph::AddNode(NodeSpec spec) {
  if (spec.name.empty()) return absl::InvalidArgumentError("node name is empty");
  if (by_name_.contains(spec.name)) {
    return absl::AlreadyExistsError(absl::StrCat("duplicate node name '", spec.name, "'"));
  }
  const size_t n_in = spec.inputs.size(), n_out = spec.output_types.size();
  if (spec.input_types.size() != n_in || spec.input_is_ref.size() != n_in ||
      spec.output_is_ref.size() != n_out || spec.output_shapes.size() != n_out) {
    return absl::InternalError(absl::StrCat("node '", spec.name, "' has inconsistent typing"));
  }
  auto belongs = [this](const Node* n) {
    return n != nullptr && n->id() < num_nodes() && nodes_[n->id()].get() == n;
  };
  for (size_t i = 0; i < n_in; ++i) {
    const Output& in = spec.inputs[i];
    if (!belongs(in.node())) {
      return absl::InvalidArgumentError(
          absl::StrCat("node '", spec.name, "': input ", i, " is not a node of this graph"));
    }
    if (in.index() < 0 || in.index() >= in.node()->num_outputs()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "node '", spec.name, "': input ", i, " refers to output ", in.index(), " of '",
          in.node()->name(), "', which has ", in.node()->num_outputs(), " outputs"));
    }
    // An opaque node's output of unknown type (DT_INVALID) is accepted wherever it goes.
    if (in.type() != spec.input_types[i] && in.type() != DT_INVALID) {
      return absl::InvalidArgumentError(absl::StrCat(
          "node '", spec.name, "' (", spec.op, "): input ", i, " from '", in.name(), "' is ",
          DataTypeString(in.type()), " but ", DataTypeString(spec.input_types[i]),
          " is expected"));
    }
    if (spec.input_is_ref[i] && !in.node()->output_is_ref(in.index())) {
      return absl::InvalidArgumentError(
          absl::StrCat("node '", spec.name, "' (", spec.op, "): input ", i, " needs a variable, but '",
                       in.name(), "' is not one"));
    }
  }
  for (Node* c : spec.control_inputs) {
    if (!belongs(c)) {
      return absl::InvalidArgumentError(
          absl::StrCat("node '", spec.name, "': a control input is not a node of this graph"));
    }
  }
  const std::string* op = &*interned_.insert(spec.op).first;
  const std::string* device = &*interned_.insert(spec.device).first;
  auto node = std::unique_ptr<Node>(new Node(num_nodes(), std::move(spec), op, device));
  Node* raw = node.get();
  for (int i = 0; i < raw->num_inputs(); ++i) raw->input(i).node()->out_edges_.push_back({raw, i});
  for (Node* c : raw->control_inputs()) c->rare().control_outputs.push_back(raw);
  by_name_[raw->name()] = raw;
  nodes_.push_back(std::move(node));
  return raw;
}

void Graph::Reserve(int n) {
  nodes_.reserve(nodes_.size() + n);
  by_name_.reserve(by_name_.size() + n);
}

void Graph::TruncateTo(int num_nodes) {
  // Unlink everything first, freeing nothing: a removed Merge may take a back edge from a
  // removed NextIteration, which is newer.
  auto kept = [num_nodes](const Node* n) { return n->id() < num_nodes; };
  for (int id = num_nodes; id < this->num_nodes(); ++id) {
    Node* node = nodes_[id].get();
    for (const Output& in : node->inputs()) {
      if (!kept(in.node())) continue;
      auto& edges = in.node()->out_edges_;
      edges.erase(std::remove_if(edges.begin(), edges.end(),
                                 [node](const auto& e) { return e.first == node; }),
                  edges.end());
    }
    for (Node* c : node->control_inputs()) {
      if (!kept(c)) continue;
      auto& outs = c->rare().control_outputs;
      outs.erase(std::remove(outs.begin(), outs.end(), node), outs.end());
    }
    by_name_.erase(node->name());
  }
  nodes_.resize(num_nodes);
}

Node* Graph::FindNode(absl::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

absl::StatusOr<Output> Graph::FindOutput(absl::string_view name) const {
  DFLOW_ASSIGN_OR_RETURN(auto parsed, ParseInputName(name));  // (node name, output index)
  if (parsed.second < 0) {
    return absl::InvalidArgumentError(absl::StrCat("'", name, "' names a control edge, not a tensor"));
  }
  Node* node = FindNode(parsed.first);
  if (node == nullptr) {
    return absl::NotFoundError(absl::StrCat("no node named '", parsed.first, "' in the graph"));
  }
  if (parsed.second >= node->num_outputs()) {
    return absl::OutOfRangeError(absl::StrCat("node ", node->DebugString(), " has ",
                                              node->num_outputs(), " outputs; '", name,
                                              "' asks for output ", parsed.second));
  }
  return Output(node, parsed.second);
}

namespace {

// The most specific shape that both `a` and `b` are instances of.
PartialTensorShape Generalize(const PartialTensorShape& a, const PartialTensorShape& b) {
  if (a.unknown_rank() || b.unknown_rank() || a.dims() != b.dims()) return PartialTensorShape();
  std::vector<int64_t> dims(a.dims());
  for (int d = 0; d < a.dims(); ++d) dims[d] = a.dim_size(d) == b.dim_size(d) ? a.dim_size(d) : -1;
  return PartialTensorShape(absl::MakeConstSpan(dims));
}

}  // namespace

absl::Status Graph::AddBackEdge(Node* merge, int index, const Output& source) {
  auto belongs = [this](const Node* n) {
    return n != nullptr && n->id() < num_nodes() && nodes_[n->id()].get() == n;
  };
  if (!belongs(merge) || !belongs(source.node())) {
    return absl::InvalidArgumentError("back edge between nodes of another graph");
  }
  if (merge->op() != "Merge" && merge->op() != "RefMerge") {
    return absl::InvalidArgumentError(absl::StrCat(
        "node ", merge->DebugString(), ": only a Merge may take a back edge (a loop input)"));
  }
  const std::string& src_op = source.node()->op();
  if (src_op != "NextIteration" && src_op != "RefNextIteration") {
    return absl::InvalidArgumentError(absl::StrCat(
        "node ", merge->DebugString(), ": loop input ", source.node()->DebugString(),
        " is not a NextIteration"));
  }
  if (index < 0 || index >= merge->num_inputs() || source.index() != 0 ||
      source.type() != merge->input_type(index)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "node ", merge->DebugString(), ": bad back edge from ", source.node()->DebugString()));
  }
  Node* old = merge->inputs_[index].node();
  auto& old_edges = old->out_edges_;
  for (auto it = old_edges.begin(); it != old_edges.end(); ++it) {
    if (it->first == merge && it->second == index) {
      old_edges.erase(it);
      break;
    }
  }
  merge->inputs_[index] = source;
  source.node()->out_edges_.emplace_back(merge, index);
  merge->output_shapes_[0] = Generalize(merge->output_shapes_[0], source.shape());
  return absl::OkStatus();
}

std::vector<Node*> Graph::nodes() const {
  std::vector<Node*> out;
  out.reserve(nodes_.size());
  for (const auto& n : nodes_) out.push_back(n.get());
  return out;
}

std::string Graph::UniqueName(absl::string_view base) {
  auto [it, first_use] = name_counters_.try_emplace(std::string(base), 0);
  if (first_use && !by_name_.contains(base)) return std::string(base);
  std::string name;
  do {
    name = absl::StrCat(base, "_", ++it->second);
  } while (by_name_.contains(name));
  return name;
}

void Graph::ToGraphDef(GraphDef* def) const {
  def->Clear();
  *def->mutable_versions() = versions_;
  for (const auto& node : nodes_) {
    NodeDef* nd = def->add_node();
    nd->set_name(node->name());
    nd->set_op(node->op());
    if (!node->device().empty()) nd->set_device(node->device());
    for (const Output& in : node->inputs()) nd->add_input(in.name());
    for (const Node* c : node->control_inputs()) nd->add_input(absl::StrCat("^", c->name()));
    for (const auto& [name, value] : node->attrs()) (*nd->mutable_attr())[name] = value;
  }
}

std::vector<bool> NodesNeededFor(const Graph& graph, absl::Span<const Output> feeds,
                                 absl::Span<const Output> fetches,
                                 absl::Span<const Node* const> targets) {
  absl::flat_hash_set<Output> fed(feeds.begin(), feeds.end());
  std::vector<bool> needed(graph.num_nodes(), false);
  std::vector<const Node*> stack;
  auto need = [&](const Node* n) {
    if (!needed[n->id()]) {
      needed[n->id()] = true;
      stack.push_back(n);
    }
  };
  for (const Output& f : fetches) {
    if (!fed.contains(f)) need(f.node());
  }
  for (const Node* t : targets) need(t);
  while (!stack.empty()) {
    const Node* n = stack.back();
    stack.pop_back();
    for (const Output& in : n->inputs()) {
      if (!fed.contains(in)) need(in.node());
    }
    for (const Node* c : n->control_inputs()) need(c);
  }
  return needed;
}

std::vector<OpaqueNeed> OpaqueNodesNeededFor(const Graph& graph, absl::Span<const Output> feeds,
                                             absl::Span<const Output> fetches,
                                             absl::Span<const Node* const> targets) {
  absl::flat_hash_set<Output> fed(feeds.begin(), feeds.end());
  std::vector<bool> seen(graph.num_nodes(), false);
  std::vector<OpaqueNeed> found;
  // (node, consumer) pairs; each root's search continues where earlier roots have not been.
  std::vector<std::pair<const Node*, const Node*>> stack;
  auto search = [&](const Node* root, const std::string& needed_by) {
    stack.push_back({root, nullptr});
    while (!stack.empty()) {
      auto [n, consumer] = stack.back();
      stack.pop_back();
      if (seen[n->id()]) continue;
      seen[n->id()] = true;
      if (n->is_opaque()) found.push_back({n, needed_by, consumer});
      for (const Output& in : n->inputs()) {
        if (!fed.contains(in)) stack.push_back({in.node(), n});
      }
      for (const Node* c : n->control_inputs()) stack.push_back({c, n});
    }
  };
  for (const Output& f : fetches) {
    if (!fed.contains(f)) search(f.node(), absl::StrCat("fetch '", f.name(), "'"));
  }
  for (const Node* t : targets) search(t, absl::StrCat("target '", t->name(), "'"));
  return found;
}

absl::StatusOr<std::pair<absl::string_view, int>> SplitInputName(absl::string_view input) {
  if (!input.empty() && input[0] == '^') {
    if (input.size() == 1) return absl::InvalidArgumentError("empty control input name '^'");
    return std::make_pair(input.substr(1), -1);
  }
  const size_t colon = input.rfind(':');
  if (colon == absl::string_view::npos) {
    if (input.empty()) return absl::InvalidArgumentError("empty input name");
    return std::make_pair(input, 0);
  }
  int index = 0;
  if (colon == 0 || !absl::SimpleAtoi(input.substr(colon + 1), &index) || index < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed input '", input, "': expected 'node' or 'node:index'"));
  }
  return std::make_pair(input.substr(0, colon), index);
}

absl::StatusOr<std::pair<std::string, int>> ParseInputName(absl::string_view input) {
  DFLOW_ASSIGN_OR_RETURN(auto parts, SplitInputName(input));
  return std::make_pair(std::string(parts.first), parts.second);
}

}  // namespace dflow
