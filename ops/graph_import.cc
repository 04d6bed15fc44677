#include "ops/graph_import.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/attr_value_util.h"
#include "graph/status_macros.h"
#include "ops/function_lowering.h"
#include "ops/node_builder.h"
#include "ops/op_registry.h"

namespace dflow {
namespace {

// Producers before this wrote scalar-looking Placeholder shapes to mean "unknown".
constexpr int kPlaceholderShapeScalarVersion = 22;
// Bounds an opaque node's output count, which its consumers' input strings decide.
constexpr size_t kMaxOpaqueOutputs = 1 << 16;

// The GraphDef's nodes with their inputs resolved to node indices, in flat arrays: a graph may
// hold millions of nodes, and per-node vectors would double the import's peak memory.
struct ParsedGraph {
  using Edge = std::pair<int, int>;  // (producer's index, output index; -1 for a control input)
  std::vector<const NodeDef*> defs;
  std::vector<int> first_input;  // Per node, plus one past the end: where its inputs start.
  std::vector<int> num_data;     // Per node: how many of its inputs are data inputs (first).
  std::vector<Edge> inputs;
  std::vector<bool> back_edge;   // Per input: a while loop's NextIteration -> Merge edge.
  std::vector<int> opaque;       // Per node: index into the opaque nodes' outputs, or -1.

  int size() const { return static_cast<int>(defs.size()); }
  absl::Span<const Edge> data_inputs(int i) const {
    return absl::MakeConstSpan(inputs).subspan(first_input[i], num_data[i]);
  }
  absl::Span<const Edge> control_inputs(int i) const {
    return absl::MakeConstSpan(inputs).subspan(first_input[i] + num_data[i],
                                               first_input[i + 1] - first_input[i] - num_data[i]);
  }
  bool is_back_edge(int i, int k) const { return back_edge[first_input[i] + k]; }
};

bool IsMerge(absl::string_view op) { return op == "Merge" || op == "RefMerge"; }
bool IsNextIteration(absl::string_view op) {
  return op == "NextIteration" || op == "RefNextIteration";
}

// An opaque node's outputs, from what its consumers take.
struct OpaqueOutputs {
  std::vector<DataType> types;
  std::vector<bool> is_ref;
  std::vector<bool> typed;  // Some consumer gave this output's type.
};

// The type each data input of `nd` takes by `op`'s schema, with `nd`'s attrs (or the schema's
// defaults); DT_INVALID where they do not say. Grouped as GroupInputsByArg does.
std::vector<std::pair<DataType, bool>> ExpectedInputTypes(const NodeDef& nd, const OpDef& op,
                                                          size_t num_data_inputs) {
  auto attr = [&](const std::string& name) -> const AttrValue* {
    auto it = nd.attr().find(name);
    if (it != nd.attr().end()) return &it->second;
    const AttrDef* def = op.FindAttr(name);
    return def != nullptr && def->default_value ? &*def->default_value : nullptr;
  };
  std::vector<std::pair<DataType, bool>> types;
  for (const ArgDef& arg : op.inputs) {
    size_t count = 1;
    if (!arg.number_attr.empty()) {
      const AttrValue* n = attr(arg.number_attr);
      count = n != nullptr && n->i() > 0 ? static_cast<size_t>(n->i())
                                         : num_data_inputs - types.size();
    }
    const AttrValue* list = arg.type_list_attr.empty() ? nullptr : attr(arg.type_list_attr);
    if (!arg.type_list_attr.empty()) {
      count = list != nullptr ? static_cast<size_t>(list->list().type_size())
                              : num_data_inputs - types.size();
    }
    DataType type = arg.type;
    if (type == DT_INVALID && !arg.type_attr.empty()) {
      const AttrValue* t = attr(arg.type_attr);
      if (t != nullptr && t->value_case() == AttrValue::kType) type = t->type();
    }
    for (size_t k = 0; k < count && types.size() < num_data_inputs; ++k) {
      const DataType listed =
          list != nullptr ? static_cast<DataType>(list->list().type(static_cast<int>(k))) : type;
      types.emplace_back(listed, arg.is_ref);
    }
  }
  types.resize(num_data_inputs, {DT_INVALID, false});  // Too many inputs: the builder reports it.
  return types;
}

// A type attr's dtype dflow cannot store (string, complex, resource), if any.
template <typename Attrs>
std::optional<DataType> UnstorableType(const Attrs& attrs) {
  for (const auto& [name, value] : attrs) {
    if (value.value_case() == AttrValue::kType && !HasStorage(value.type())) {
      return value.type();
    }
    if (value.value_case() == AttrValue::kList) {
      for (int t : value.list().type()) {
        if (!HasStorage(static_cast<DataType>(t))) return static_cast<DataType>(t);
      }
    }
  }
  return std::nullopt;
}

}  // namespace

std::string UnsupportedWhat(const Node& node) {
  if (OpRegistry::Global()->Find(node.op()) == nullptr) return node.op();
  const std::optional<DataType> type = UnstorableType(node.attrs());
  return absl::StrCat(node.op(), " on ", type ? DataTypeString(*type) : "such",
                      " tensors");
}

namespace {

// Resolves every node's inputs to indices; fails on duplicate names, malformed or dangling
// inputs, and data inputs after control inputs.
absl::Status ParseNodes(const GraphDef& def, ParsedGraph* g) {
  absl::flat_hash_map<absl::string_view, int> index;
  index.reserve(def.node_size());
  size_t num_inputs = 0;
  for (int i = 0; i < def.node_size(); ++i) {
    const NodeDef& nd = def.node(i);
    if (nd.name().empty()) return absl::InvalidArgumentError(absl::StrCat("node #", i, " has no name"));
    if (!index.emplace(nd.name(), i).second) {
      return absl::InvalidArgumentError(absl::StrCat("duplicate node name '", nd.name(), "'"));
    }
    num_inputs += nd.input_size();
  }
  g->defs.reserve(def.node_size());
  g->first_input.reserve(def.node_size() + 1);
  g->num_data.reserve(def.node_size());
  g->inputs.reserve(num_inputs);
  for (int i = 0; i < def.node_size(); ++i) {
    const NodeDef& nd = def.node(i);
    g->defs.push_back(&nd);
    g->first_input.push_back(static_cast<int>(g->inputs.size()));
    int num_data = 0;
    for (const std::string& in : nd.input()) {
      absl::StatusOr<std::pair<absl::string_view, int>> parsed = SplitInputName(in);
      if (!parsed.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("node '", nd.name(), "': ", parsed.status().message()));
      }
      auto it = index.find(parsed->first);
      if (it == index.end()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "node '", nd.name(), "': input '", parsed->first, "' is not a node in the graph"));
      }
      if (parsed->second >= 0) {
        if (static_cast<int>(g->inputs.size()) - g->first_input.back() > num_data) {
          return absl::InvalidArgumentError(absl::StrCat(
              "node '", nd.name(), "': data input '", in, "' comes after a control input"));
        }
        ++num_data;
      }
      g->inputs.emplace_back(it->second, parsed->second);
    }
    g->num_data.push_back(num_data);
  }
  g->first_input.push_back(static_cast<int>(g->inputs.size()));
  g->opaque.assign(g->defs.size(), -1);
  return absl::OkStatus();
}

// Nodes of unknown ops become opaque: each has as many outputs as its consumers use, typed as
// they take them (DT_INVALID where they do not say or disagree). Sets ParsedGraph::opaque.
absl::StatusOr<std::vector<OpaqueOutputs>> OpaqueOutputsOf(ParsedGraph* g) {
  const OpRegistry& registry = *OpRegistry::Global();
  std::vector<OpaqueOutputs> opaque;
  for (int i = 0; i < g->size(); ++i) {
    const NodeDef& nd = *g->defs[i];
    const OpDef* op = registry.Find(nd.op());
    if (op != nullptr && !UnstorableType(nd.attr()).has_value()) continue;
    g->opaque[i] = static_cast<int>(opaque.size());
    OpaqueOutputs& outs = opaque.emplace_back();
    // A known op on a dtype dflow cannot store has its schema's outputs, typed by its attrs.
    for (const ArgDef& arg : op != nullptr ? op->outputs : std::vector<ArgDef>{}) {
      auto attr = [&](const std::string& name) -> const AttrValue* {
        auto it = nd.attr().find(name);
        return it == nd.attr().end() ? nullptr : &it->second;
      };
      const AttrValue* n = arg.number_attr.empty() ? nullptr : attr(arg.number_attr);
      const AttrValue* t = arg.type_attr.empty() ? nullptr : attr(arg.type_attr);
      const DataType type =
          t != nullptr && t->value_case() == AttrValue::kType ? t->type() : arg.type;
      const int64_t count = arg.number_attr.empty() ? 1 : n != nullptr ? n->i() : 0;
      for (int64_t k = 0; k < count && outs.types.size() < kMaxOpaqueOutputs; ++k) {
        outs.types.push_back(type);
        outs.is_ref.push_back(arg.is_ref);
        outs.typed.push_back(type != DT_INVALID);
      }
    }
  }
  if (opaque.empty()) return opaque;
  for (int i = 0; i < g->size(); ++i) {
    const NodeDef& nd = *g->defs[i];
    const absl::Span<const ParsedGraph::Edge> data = g->data_inputs(i);
    const OpDef* op = g->opaque[i] >= 0 ? nullptr : registry.Find(nd.op());
    const std::vector<std::pair<DataType, bool>> expected =
        op == nullptr ? std::vector<std::pair<DataType, bool>>(data.size(), {DT_INVALID, false})
                      : ExpectedInputTypes(nd, *op, data.size());
    for (size_t k = 0; k < data.size(); ++k) {
      const int producer = data[k].first;
      if (g->opaque[producer] < 0) continue;
      const size_t index = static_cast<size_t>(data[k].second);
      if (index >= kMaxOpaqueOutputs) {
        return absl::InvalidArgumentError(absl::StrCat(
            "node '", nd.name(), "': input '", nd.input(k), "' asks for output ", index, " of '",
            g->defs[producer]->name(), "', an op dflow does not know; at most ",
            kMaxOpaqueOutputs, " outputs are accepted"));
      }
      OpaqueOutputs& outs = opaque[g->opaque[producer]];
      if (index >= outs.types.size()) {
        outs.types.resize(index + 1, DT_INVALID);
        outs.is_ref.resize(index + 1, false);
        outs.typed.resize(index + 1, false);
      }
      if (expected[k].first == DT_INVALID) continue;
      if (!outs.typed[index]) {
        outs.types[index] = expected[k].first;
        outs.typed[index] = true;
      } else if (outs.types[index] != expected[k].first) {
        outs.types[index] = DT_INVALID;
      }
      outs.is_ref[index] = outs.is_ref[index] || expected[k].second;
    }
  }
  return opaque;
}

// A topological order by Kahn's algorithm over data and control edges, except a while loop's
// back edges (a Merge's input from a NextIteration), which are marked in ParsedGraph::back_edge
// and added once both ends exist.
absl::StatusOr<std::vector<int>> TopologicalOrder(ParsedGraph* g) {
  const int n = g->size();
  g->back_edge.assign(g->inputs.size(), false);
  std::vector<int> consumer_start(n + 1, 0), pending(n, 0);
  for (int i = 0; i < n; ++i) {
    const bool merge = IsMerge(g->defs[i]->op());
    for (int e = g->first_input[i]; e < g->first_input[i + 1]; ++e) {
      const int p = g->inputs[e].first;
      if (merge && g->inputs[e].second >= 0 && IsNextIteration(g->defs[p]->op())) {
        g->back_edge[e] = true;
      } else {
        ++consumer_start[p + 1];
        ++pending[i];
      }
    }
  }
  for (int i = 0; i < n; ++i) consumer_start[i + 1] += consumer_start[i];
  std::vector<int> consumers(consumer_start[n]);
  std::vector<int> fill(consumer_start.begin(), consumer_start.end() - 1);
  for (int i = 0; i < n; ++i) {
    for (int e = g->first_input[i]; e < g->first_input[i + 1]; ++e) {
      if (!g->back_edge[e]) consumers[fill[g->inputs[e].first]++] = i;
    }
  }
  std::vector<int> order;
  order.reserve(n);
  for (int i = 0; i < n; ++i) {
    if (pending[i] == 0) order.push_back(i);
  }
  for (size_t k = 0; k < order.size(); ++k) {
    const int p = order[k];
    for (int e = consumer_start[p]; e < consumer_start[p + 1]; ++e) {
      if (--pending[consumers[e]] == 0) order.push_back(consumers[e]);
    }
  }
  if (static_cast<int>(order.size()) != n) {
    std::vector<std::string> stuck;
    for (int i = 0; i < n && stuck.size() < 5; ++i) {
      if (pending[i] > 0) stuck.push_back(absl::StrCat("'", g->defs[i]->name(), "'"));
    }
    return absl::InvalidArgumentError(
        absl::StrCat("graph has a cycle through ", absl::StrJoin(stuck, ", ")));
  }
  return order;
}

// Adds the parsed nodes to `graph` in `order`; on failure some may have been added. With
// `consume` (the GraphDef `g` was parsed from), empties each NodeDef once its node is built.
absl::Status BuildNodes(const GraphDef& def, const ParsedGraph& g,
                        absl::Span<const OpaqueOutputs> opaque, absl::Span<const int> order,
                        const std::string& prefix, GraphDef* consume, Graph* graph) {
  const OpRegistry& registry = *OpRegistry::Global();
  const int producer = def.has_versions() ? def.versions().producer() : 0;
  std::vector<Node*> built(g.size(), nullptr);
  struct BackEdge {
    int merge, input;
    ParsedGraph::Edge source;
  };
  std::vector<BackEdge> back_edges;
  std::vector<Output> inputs;
  for (int i : order) {
    const NodeDef& nd = *g.defs[i];
    const absl::Span<const ParsedGraph::Edge> data = g.data_inputs(i);
    if (g.opaque[i] >= 0) {
      NodeSpec spec;
      spec.name = prefix + nd.name();
      spec.op = nd.op();
      spec.device = nd.device();
      spec.attrs.insert(nd.attr().begin(), nd.attr().end());
      for (const auto& [p, idx] : data) spec.inputs.push_back(Output(built[p], idx));
      for (const auto& c : g.control_inputs(i)) spec.control_inputs.push_back(built[c.first]);
      spec.output_types = opaque[g.opaque[i]].types;
      spec.output_is_ref = opaque[g.opaque[i]].is_ref;
      DFLOW_ASSIGN_OR_RETURN(built[i], AddOpaqueNode(std::move(spec), graph));
      if (consume != nullptr) NodeDef().Swap(consume->mutable_node(i));
      continue;
    }
    const OpDef* op = registry.Find(nd.op());
    NodeBuilder builder(prefix + nd.name(), nd.op());
    builder.Device(nd.device());
    for (const auto& [name, value] : nd.attr()) builder.Attr(name, value);
    if (nd.op() == "Placeholder" && producer < kPlaceholderShapeScalarVersion) {
      auto it = nd.attr().find("shape");
      if (it != nd.attr().end() && it->second.has_shape() &&
          it->second.shape().dim_size() == 0 && !it->second.shape().unknown_rank()) {
        AttrValue unknown;
        unknown.mutable_shape()->set_unknown_rank(true);
        builder.Attr("shape", unknown);
      }
    }
    inputs.clear();
    for (size_t k = 0; k < data.size(); ++k) {
      inputs.push_back(g.is_back_edge(i, k) ? Output() : Output(built[data[k].first], data[k].second));
    }
    // A back edge's source is built later: the Merge is built with a forward input standing
    // in for it (same type, as Merge requires), then patched.
    for (size_t k = 0; k < inputs.size(); ++k) {
      if (!g.is_back_edge(i, k)) continue;
      for (size_t f = 0; f < inputs.size(); ++f) {
        if (!g.is_back_edge(i, f)) {
          inputs[k] = inputs[f];
          break;
        }
      }
      if (inputs[k].node() == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("node '", nd.name(), "': every input of this Merge is a NextIteration"));
      }
      back_edges.push_back({i, static_cast<int>(k), data[k]});
    }
    DFLOW_ASSIGN_OR_RETURN(std::vector<std::vector<Output>> args,
                           GroupInputsByArg(nd.name(), *op, builder.attrs(), inputs));
    for (std::vector<Output>& arg : args) builder.Input(std::move(arg));
    for (const auto& c : g.control_inputs(i)) builder.ControlInput(built[c.first]);
    DFLOW_ASSIGN_OR_RETURN(built[i], std::move(builder).Finalize(graph));
    if (consume != nullptr) NodeDef().Swap(consume->mutable_node(i));  // Frees its memory.
  }
  for (const BackEdge& e : back_edges) {
    const absl::Status s = graph->AddBackEdge(built[e.merge], e.input,
                                              Output(built[e.source.first], e.source.second));
    if (!s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("node '", built[e.merge]->name(), "': ", s.message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace

namespace {

absl::Status Import(const GraphDef& def, GraphDef* consume, Graph* graph,
                    const ImportOptions& options) {
  ParsedGraph nodes;
  DFLOW_RETURN_IF_ERROR(ParseNodes(def, &nodes));
  DFLOW_ASSIGN_OR_RETURN(std::vector<OpaqueOutputs> opaque, OpaqueOutputsOf(&nodes));
  DFLOW_ASSIGN_OR_RETURN(std::vector<int> order, TopologicalOrder(&nodes));
  const std::string prefix = options.prefix.empty() ? "" : options.prefix + "/";
  if (graph->num_nodes() > 0) {
    for (const NodeDef* nd : nodes.defs) {
      if (graph->FindNode(prefix + nd->name()) != nullptr) {
        return absl::AlreadyExistsError(absl::StrCat("node '", prefix + nd->name(),
                                                     "' already exists in the graph"));
      }
    }
  }
  // A failure leaves `graph` as it was: the nodes added so far are removed again.
  const int first = graph->num_nodes();
  graph->Reserve(def.node_size());
  const absl::Status built = BuildNodes(def, nodes, opaque, order, prefix, consume, graph);
  if (!built.ok()) {
    graph->TruncateTo(first);
    return built;
  }
  if (first == 0 && def.has_versions()) *graph->mutable_versions() = def.versions();
  return absl::OkStatus();
}

}  // namespace

absl::Status ImportGraphDef(const GraphDef& def, Graph* graph, const ImportOptions& options) {
  if (HasFunctionalOps(def)) return ImportGraphDef(GraphDef(def), graph, options);
  return Import(def, nullptr, graph, options);
}

absl::Status ImportGraphDef(GraphDef&& def, Graph* graph, const ImportOptions& options) {
  GraphDef consumed = std::move(def);
  // TF2 functional control flow (If, While, calls) is imported lowered to Switch/Merge frames.
  if (HasFunctionalOps(consumed)) DFLOW_RETURN_IF_ERROR(LowerFunctionalOps(&consumed));
  return Import(consumed, &consumed, graph, options);
}

}  // namespace dflow
