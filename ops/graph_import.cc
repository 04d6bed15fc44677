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
#include "ops/node_builder.h"
#include "ops/op_registry.h"

namespace dflow {
namespace {

// Producers before this wrote scalar-looking Placeholder shapes to mean "unknown".
constexpr int kPlaceholderShapeScalarVersion = 22;
// Bounds an opaque node's output count, which its consumers' input strings decide.
constexpr size_t kMaxOpaqueOutputs = 1 << 16;

struct ParsedNode {
  const NodeDef* def;
  std::vector<std::pair<std::string, int>> data_inputs;
  std::vector<std::string> control_inputs;
  std::vector<bool> back_edge;  // By data input: a while loop's NextIteration -> Merge edge.
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

absl::Status ImportGraphDef(const GraphDef& def, Graph* graph, const ImportOptions& options) {
  const OpRegistry& registry = *OpRegistry::Global();
  absl::flat_hash_map<std::string, int> index;
  std::vector<ParsedNode> nodes(def.node_size());
  for (int i = 0; i < def.node_size(); ++i) {
    const NodeDef& nd = def.node(i);
    if (nd.name().empty()) return absl::InvalidArgumentError(absl::StrCat("node #", i, " has no name"));
    if (!index.emplace(nd.name(), i).second) {
      return absl::InvalidArgumentError(absl::StrCat("duplicate node name '", nd.name(), "'"));
    }
    nodes[i].def = &nd;
    for (const std::string& in : nd.input()) {
      absl::StatusOr<std::pair<std::string, int>> parsed = ParseInputName(in);
      if (!parsed.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("node '", nd.name(), "': ", parsed.status().message()));
      }
      if (parsed->second < 0) {
        nodes[i].control_inputs.push_back(parsed->first);
      } else {
        if (!nodes[i].control_inputs.empty()) {
          return absl::InvalidArgumentError(absl::StrCat(
              "node '", nd.name(), "': data input '", in, "' comes after a control input"));
        }
        nodes[i].data_inputs.push_back(*parsed);
      }
    }
  }

  // Nodes of unknown ops become opaque: each has as many outputs as its consumers use, typed
  // as they take them (DT_INVALID where they do not say or disagree).
  absl::flat_hash_map<std::string, OpaqueOutputs> opaque;
  for (const NodeDef& nd : def.node()) {
    const OpDef* op = registry.Find(nd.op());
    if (op != nullptr && !UnstorableType(nd.attr()).has_value()) continue;
    OpaqueOutputs& outs = opaque[nd.name()];
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
  for (const ParsedNode& pn : nodes) {
    const OpDef* op = opaque.contains(pn.def->name()) ? nullptr : registry.Find(pn.def->op());
    const std::vector<std::pair<DataType, bool>> expected =
        op == nullptr ? std::vector<std::pair<DataType, bool>>(pn.data_inputs.size(),
                                                               {DT_INVALID, false})
                      : ExpectedInputTypes(*pn.def, *op, pn.data_inputs.size());
    for (size_t k = 0; k < pn.data_inputs.size(); ++k) {
      auto it = opaque.find(pn.data_inputs[k].first);
      if (it == opaque.end()) continue;
      const size_t index = static_cast<size_t>(pn.data_inputs[k].second);
      if (index >= kMaxOpaqueOutputs) {
        return absl::InvalidArgumentError(absl::StrCat(
            "node '", pn.def->name(), "': input '", pn.def->input(k), "' asks for output ", index,
            " of '", it->first, "', an op dflow does not know; at most ", kMaxOpaqueOutputs,
            " outputs are accepted"));
      }
      OpaqueOutputs& outs = it->second;
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

  // Kahn's algorithm over data and control edges, except a while loop's back edges (a Merge's
  // input from a NextIteration), which are added once both ends exist.
  std::vector<std::vector<int>> consumers(nodes.size());
  std::vector<int> pending(nodes.size(), 0);
  for (size_t i = 0; i < nodes.size(); ++i) {
    ParsedNode& pn = nodes[i];
    const int n_data = static_cast<int>(pn.data_inputs.size());
    pn.back_edge.assign(n_data, false);
    for (int k = 0; k < n_data + static_cast<int>(pn.control_inputs.size()); ++k) {
      const std::string& name = k < n_data ? pn.data_inputs[k].first : pn.control_inputs[k - n_data];
      auto it = index.find(name);
      if (it == index.end()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "node '", pn.def->name(), "': input '", name, "' is not a node in the graph"));
      }
      if (k < n_data && IsMerge(pn.def->op()) && IsNextIteration(nodes[it->second].def->op())) {
        pn.back_edge[k] = true;
        continue;
      }
      consumers[it->second].push_back(static_cast<int>(i));
      ++pending[i];
    }
  }
  std::vector<int> order;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (pending[i] == 0) order.push_back(static_cast<int>(i));
  }
  for (size_t k = 0; k < order.size(); ++k) {
    for (int c : consumers[order[k]]) {
      if (--pending[c] == 0) order.push_back(c);
    }
  }
  if (order.size() != nodes.size()) {
    std::vector<std::string> stuck;
    for (size_t i = 0; i < nodes.size() && stuck.size() < 5; ++i) {
      if (pending[i] > 0) stuck.push_back(absl::StrCat("'", nodes[i].def->name(), "'"));
    }
    return absl::InvalidArgumentError(
        absl::StrCat("graph has a cycle through ", absl::StrJoin(stuck, ", ")));
  }

  const std::string prefix0 = options.prefix.empty() ? "" : options.prefix + "/";
  for (const ParsedNode& pn : nodes) {
    if (graph->FindNode(prefix0 + pn.def->name()) != nullptr) {
      return absl::AlreadyExistsError(absl::StrCat("node '", prefix0 + pn.def->name(),
                                                   "' already exists in the graph"));
    }
  }
  const int producer = def.has_versions() ? def.versions().producer() : 0;
  const std::string prefix = options.prefix.empty() ? "" : options.prefix + "/";
  // Build into a scratch graph first so that a failure leaves `graph` untouched: replay into
  // `graph` only once everything has validated.
  for (int pass = 0; pass < 2; ++pass) {
    Graph scratch;
    Graph* target = pass == 0 ? &scratch : graph;
    absl::flat_hash_map<std::string, Node*> built;
    struct BackEdge {
      std::string merge;
      int input;
      std::pair<std::string, int> source;
    };
    std::vector<BackEdge> back_edges;
    for (int i : order) {
      const ParsedNode& pn = nodes[i];
      const NodeDef& nd = *pn.def;
      const OpDef* op = registry.Find(nd.op());
      if (opaque.contains(nd.name())) {
        NodeSpec spec;
        spec.name = prefix + nd.name();
        spec.op = nd.op();
        spec.device = nd.device();
        spec.attrs.insert(nd.attr().begin(), nd.attr().end());
        for (const auto& [name, idx] : pn.data_inputs) {
          spec.inputs.push_back(Output(built[name], idx));
        }
        for (const std::string& c : pn.control_inputs) spec.control_inputs.push_back(built[c]);
        const OpaqueOutputs& outs = opaque.at(nd.name());
        spec.output_types = outs.types;
        spec.output_is_ref = outs.is_ref;
        DFLOW_ASSIGN_OR_RETURN(built[nd.name()], AddOpaqueNode(std::move(spec), target));
        continue;
      }
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
      std::vector<Output> inputs;
      for (size_t k = 0; k < pn.data_inputs.size(); ++k) {
        const auto& [name, idx] = pn.data_inputs[k];
        inputs.push_back(pn.back_edge[k] ? Output() : Output(built[name], idx));
      }
      // A back edge's source is built later: the Merge is built with a forward input standing
      // in for it (same type, as Merge requires), then patched.
      for (size_t k = 0; k < inputs.size(); ++k) {
        if (!pn.back_edge[k]) continue;
        inputs[k] = Output();
        for (size_t f = 0; f < inputs.size(); ++f) {
          if (!pn.back_edge[f]) {
            inputs[k] = inputs[f];
            break;
          }
        }
        if (inputs[k].node() == nullptr) {
          return absl::InvalidArgumentError(
              absl::StrCat("node '", nd.name(), "': every input of this Merge is a NextIteration"));
        }
        back_edges.push_back({nd.name(), static_cast<int>(k), pn.data_inputs[k]});
      }
      DFLOW_ASSIGN_OR_RETURN(
          std::vector<std::vector<Output>> args,
          GroupInputsByArg(nd.name(), *op, builder.attrs(), inputs));
      for (std::vector<Output>& arg : args) builder.Input(std::move(arg));
      for (const std::string& c : pn.control_inputs) builder.ControlInput(built[c]);
      DFLOW_ASSIGN_OR_RETURN(built[nd.name()], builder.Finalize(target));
    }
    for (const BackEdge& e : back_edges) {
      const absl::Status s = target->AddBackEdge(
          built[e.merge], e.input, Output(built[e.source.first], e.source.second));
      if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat("node '", e.merge, "': ", s.message()));
    }
  }
  if (graph->num_nodes() == static_cast<int>(nodes.size()) && def.has_versions()) {
    *graph->mutable_versions() = def.versions();
  }
  return absl::OkStatus();
}

}  // namespace dflow
