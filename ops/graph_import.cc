#include "ops/graph_import.h"

#include <set>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/status_macros.h"
#include "ops/node_builder.h"
#include "ops/op_registry.h"

namespace dflow {
namespace {

// Producers before this wrote scalar-looking Placeholder shapes to mean "unknown".
constexpr int kPlaceholderShapeScalarVersion = 22;

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

}  // namespace

absl::Status ImportGraphDef(const GraphDef& def, Graph* graph, const ImportOptions& options) {
  const OpRegistry& registry = *OpRegistry::Global();
  std::set<std::string> unknown_ops;
  for (const NodeDef& nd : def.node()) {
    if (registry.Find(nd.op()) == nullptr) unknown_ops.insert(nd.op());
  }
  if (!unknown_ops.empty()) {
    return absl::UnimplementedError(absl::StrCat("graph uses ops dflow does not support: ",
                                                 absl::StrJoin(unknown_ops, ", ")));
  }

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
