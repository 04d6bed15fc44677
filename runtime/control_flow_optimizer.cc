#include "runtime/control_flow_optimizer.h"

#include <algorithm>
#include <string>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "graph/attr_value_util.h"
#include "graph/status_macros.h"
#include "ops/control_flow_ops.h"
#include "ops/node_builder.h"

namespace dflow {
namespace {

// A Switch output taken: (predicate's node id, its output index, the Switch's output index).
using Literal = std::tuple<int, int, int>;
using Conditions = std::vector<Literal>;  // Sorted, distinct: all must hold.

// Enough for any real graph: each pass only grows the conditions around a loop's back edge.
constexpr int kMaxPasses = 64;

// `op` or its Ref form.
bool IsOp(const Node& n, absl::string_view op) {
  absl::string_view name = n.op();
  if (name.size() == op.size() + 3 && name.substr(0, 3) == "Ref") name.remove_prefix(3);
  return name == op;
}

// A tf.cond Switch; a while loop's Switch (predicate from LoopCond) leaves no dead tensor
// outside its loop, whose Exit is live once when what entered it was.
bool IsCondSwitch(const Node& n) {
  return IsOp(n, "Switch") && n.num_inputs() == 2 && n.input(1).node()->op() != "LoopCond";
}

void AddAll(const Conditions& from, Conditions* to) {
  if (from.empty()) return;
  Conditions merged;
  std::set_union(to->begin(), to->end(), from.begin(), from.end(), std::back_inserter(merged));
  *to = std::move(merged);
}

void AddOne(const Literal& l, Conditions* to) {
  auto it = std::lower_bound(to->begin(), to->end(), l);
  if (it == to->end() || *it != l) to->insert(it, l);
}

// A tf.cond Merge is live when any input is: when, for one predicate, every input holds under
// one of its branches or neither, and both branches or neither occur, the Merge holds under the
// union of its inputs' other conditions ((A and p) or (B and not p) implies neither A nor B
// alone, but A and B together imply it).
Conditions MergeConditions(const std::vector<Conditions>& inputs) {
  Conditions all;
  for (const Conditions& c : inputs) AddAll(c, &all);
  for (const auto& [node, index, port] : all) {
    bool branch[2] = {false, false}, neither = false;
    for (const Conditions& c : inputs) {
      const bool p0 = std::binary_search(c.begin(), c.end(), Literal{node, index, 0});
      const bool p1 = std::binary_search(c.begin(), c.end(), Literal{node, index, 1});
      if (p0 && p1) continue;  // Never live.
      if (!p0 && !p1) {
        neither = true;
      } else {
        branch[p1 ? 1 : 0] = true;
      }
    }
    if (neither || (branch[0] && branch[1])) {
      const int n = node, i = index;
      all.erase(std::remove_if(
                    all.begin(), all.end(),
                    [&](const Literal& l) { return std::get<0>(l) == n && std::get<1>(l) == i; }),
                all.end());
      return all;
    }
  }
  return all;
}

// A copy of `n` with the given inputs, keeping its typing and static shapes as they are.
absl::StatusOr<Node*> CopyNode(const Node& n, std::string name, std::vector<Output> inputs,
                               std::vector<Node*> controls, Graph* graph) {
  NodeSpec spec;
  spec.name = std::move(name);
  spec.op = n.op();
  spec.device = n.device();
  spec.attrs = n.attrs();
  spec.inputs = std::move(inputs);
  spec.control_inputs = std::move(controls);
  for (int i = 0; i < n.num_inputs(); ++i) {
    spec.input_types.push_back(n.input_type(i));
    spec.input_is_ref.push_back(n.input_is_ref(i));
  }
  for (int i = 0; i < n.num_outputs(); ++i) {
    spec.output_types.push_back(n.output_type(i));
    spec.output_is_ref.push_back(n.output_is_ref(i));
    spec.output_shapes.push_back(n.output_shape(i));
  }
  spec.opaque = n.is_opaque();
  return graph->AddNode(std::move(spec));
}

}  // namespace

std::optional<std::vector<bool>> ControlFlowTouchedNodes(const Graph& graph,
                                                         absl::Span<const Output> fed) {
  const absl::flat_hash_set<Output> fed_set(fed.begin(), fed.end());
  const int n_nodes = graph.num_nodes();
  // Frame depth: Enter goes one down, Exit one up, everything else stays with its inputs.
  std::vector<int> depth(n_nodes, 0);
  for (int id = 0; id < n_nodes; ++id) {
    const Node& n = *graph.node(id);
    int d = 0;
    for (int i = 0; i < n.num_inputs(); ++i) {
      if (!n.is_back_edge(i)) d = std::max(d, depth[n.input(i).node()->id()]);
    }
    for (const Node* c : n.control_inputs()) d = std::max(d, depth[c->id()]);
    if (IsOp(n, "Enter")) ++d;
    if (IsOp(n, "Exit")) --d;
    depth[id] = d;
  }
  // Conditions, to a fixed point: a loop's Merge reads its NextIteration (a later node).
  std::vector<Conditions> conditions(n_nodes);
  bool settled = false;
  for (int pass = 0; pass < kMaxPasses && !settled; ++pass) {
    settled = true;
    for (int id = 0; id < n_nodes; ++id) {
      const Node& n = *graph.node(id);
      std::vector<Conditions> inputs;
      for (int i = 0; i < n.num_inputs(); ++i) {
        const Output& in = n.input(i);
        inputs.emplace_back();
        if (fed_set.contains(in)) continue;
        inputs.back() = conditions[in.node()->id()];
        if (IsCondSwitch(*in.node())) {
          const Output& pred = in.node()->input(1);
          AddOne({pred.node()->id(), pred.index(), in.index()}, &inputs.back());
        }
      }
      bool loop_merge = false;
      for (int i = 0; i < n.num_inputs(); ++i) loop_merge |= n.is_back_edge(i);
      Conditions c;
      if (IsOp(n, "Merge") && !loop_merge) {
        c = MergeConditions(inputs);
      } else {
        for (const Conditions& in : inputs) AddAll(in, &c);
      }
      // A control edge carries its source's deadness; from a Switch, the Switch's own (the
      // dataflow executor's rule).
      for (const Node* ctrl : n.control_inputs()) AddAll(conditions[ctrl->id()], &c);
      if (c != conditions[id]) {
        conditions[id] = std::move(c);
        settled = false;
      }
    }
  }
  if (!settled) return std::nullopt;
  std::vector<bool> touched(n_nodes, false);
  for (int id = 0; id < n_nodes; ++id) {
    const Node& n = *graph.node(id);
    bool t = IsControlFlowOp(n.op()) || depth[id] != 0 || !conditions[id].empty();
    for (const Node* c : n.control_inputs()) t |= touched[c->id()];
    for (int i = 0; i < n.num_inputs() && !t; ++i) {
      const Output& in = n.input(i);
      // A stand-in Placeholder cannot be a variable reference.
      t |= touched[in.node()->id()] && in.node()->output_is_ref(in.index());
    }
    touched[id] = t;
  }
  return touched;
}

absl::StatusOr<std::optional<OptimizedGraph>> OptimizeAroundControlFlow(
    const Graph& graph, const Signature& signature, const std::vector<bool>& needed,
    const GraphOptimizerOptions& options) {
  std::optional<std::vector<bool>> touched = ControlFlowTouchedNodes(graph, signature.feeds);
  if (!touched.has_value()) return std::nullopt;
  const int n_nodes = graph.num_nodes();
  std::vector<bool> plain(n_nodes);
  bool any_plain = false;
  for (int id = 0; id < n_nodes; ++id) {
    plain[id] = needed[id] && !(*touched)[id];
    any_plain |= plain[id];
  }
  if (!any_plain) return std::nullopt;
  for (int id = 0; id < n_nodes; ++id) {
    // The optimizer folds Shape of a variable only when no Assign may change its shape; it sees
    // only the plain part.
    bool validate = true;
    const Node& n = *graph.node(id);
    if (needed[id] && !plain[id] && n.op() == "Assign" &&
        GetAttr(n.attrs(), "validate_shape", &validate).ok() && !validate) {
      return std::nullopt;
    }
  }
  for (const Output& f : signature.feeds) {
    const int id = f.node()->id();
    if ((*touched)[id] || (f.node()->output_is_ref(f.index()) && !plain[id])) return std::nullopt;
  }

  const absl::flat_hash_set<Output> fed(signature.feeds.begin(), signature.feeds.end());
  // The plain part, with stand-ins for what it reads from elsewhere.
  auto cut = std::make_unique<Graph>();
  *cut->mutable_versions() = graph.versions();
  std::vector<Node*> cut_of(n_nodes, nullptr);
  absl::flat_hash_map<Output, Output> stand_in;        // Source tensor -> its Placeholder in `cut`.
  absl::flat_hash_map<std::string, Output> stood_for;  // Placeholder name -> source tensor.
  auto stand_in_for = [&](const Output& o) -> absl::StatusOr<Output> {
    auto it = stand_in.find(o);
    if (it != stand_in.end()) return it->second;
    const std::string base = absl::StrCat(o.node()->name(), "/cf_stand_in",
                                          o.index() == 0 ? "" : absl::StrCat("_", o.index()));
    std::string name = base;
    for (int i = 1; graph.FindNode(name) != nullptr || cut->FindNode(name) != nullptr; ++i) {
      name = absl::StrCat(base, "_", i);
    }
    DFLOW_ASSIGN_OR_RETURN(Node * p,
                           NodeBuilder(name, "Placeholder")
                               .Device(o.node()->device())
                               .Attr("dtype", o.type())
                               // A fed tensor may take another shape than its
                               // static one (runtime/session.cc).
                               .Attr("shape", fed.contains(o) ? PartialTensorShape() : o.shape())
                               .Finalize(cut.get()));
    stood_for[name] = o;
    return stand_in[o] = Output(p, 0);
  };
  // A source tensor as the plain part sees it.
  auto in_cut = [&](const Output& o) -> absl::StatusOr<Output> {
    if (plain[o.node()->id()]) return Output(cut_of[o.node()->id()], o.index());
    return stand_in_for(o);
  };
  for (int id = 0; id < n_nodes; ++id) {
    if (!plain[id]) continue;
    const Node& n = *graph.node(id);
    std::vector<Output> inputs;
    for (const Output& in : n.inputs()) {
      DFLOW_ASSIGN_OR_RETURN(Output o, in_cut(in));
      inputs.push_back(o);
    }
    std::vector<Node*> controls;
    for (const Node* c : n.control_inputs()) controls.push_back(cut_of[c->id()]);
    DFLOW_ASSIGN_OR_RETURN(
        cut_of[id], CopyNode(n, n.name(), std::move(inputs), std::move(controls), cut.get()));
  }

  // Its signature: the feeds, then whatever the touched nodes and the caller read of it.
  Signature sub;
  sub.feed_shapes = signature.feed_shapes;
  for (const Output& f : signature.feeds) {
    DFLOW_ASSIGN_OR_RETURN(Output o, in_cut(f));
    sub.feeds.push_back(o);
  }
  absl::flat_hash_map<Output, int> fetch_of;  // Source tensor -> index in sub.fetches.
  absl::flat_hash_map<const Node*, int> target_of;
  auto fetch = [&](const Output& o) -> absl::Status {
    if (fetch_of.contains(o)) return absl::OkStatus();
    DFLOW_ASSIGN_OR_RETURN(Output c, in_cut(o));
    fetch_of[o] = static_cast<int>(sub.fetches.size());
    sub.fetches.push_back(c);
    return absl::OkStatus();
  };
  auto target = [&](const Node* n) {
    if (target_of.contains(n)) return;
    target_of[n] = static_cast<int>(sub.targets.size());
    sub.targets.push_back(cut_of[n->id()]);
  };
  auto outside = [&](const Output& o) { return fed.contains(o) || !(*touched)[o.node()->id()]; };
  for (const Output& f : signature.fetches) {
    if (outside(f)) DFLOW_RETURN_IF_ERROR(fetch(f));
  }
  for (const Node* t : signature.targets) {
    if (plain[t->id()]) target(t);
  }
  for (int id = 0; id < n_nodes; ++id) {
    if (!needed[id] || plain[id]) continue;
    const Node& n = *graph.node(id);
    for (const Output& in : n.inputs()) {
      if (outside(in)) DFLOW_RETURN_IF_ERROR(fetch(in));
    }
    for (const Node* c : n.control_inputs()) {
      if (plain[c->id()]) target(c);
    }
  }
  DFLOW_ASSIGN_OR_RETURN(OptimizedGraph opt, OptimizeGraph(*cut, sub, options));

  // Stitched: the rewritten plain part's nodes copied as each is first needed, so that every
  // node follows its inputs (ignoring back edges) and the stand-ins are the touched tensors.
  const Graph& og = *opt.graph;
  auto out = std::make_unique<Graph>();
  *out->mutable_versions() = graph.versions();
  std::vector<Node*> copy_of_touched(n_nodes, nullptr);
  std::vector<Node*> copy_of_opt(og.num_nodes(), nullptr);
  std::vector<Output> source_of_stand_in(og.num_nodes());  // Null unless an unfed stand-in.
  const absl::flat_hash_set<Output> sub_feeds(opt.signature.feeds.begin(),
                                              opt.signature.feeds.end());
  for (const auto& [name, source] : stood_for) {
    const Node* p = og.FindNode(name);
    if (p != nullptr && !sub_feeds.contains(Output(const_cast<Node*>(p), 0))) {
      source_of_stand_in[p->id()] = source;
    }
  }
  auto map_opt = [&](const Output& o) -> Output {
    const Output& s = source_of_stand_in[o.node()->id()];
    if (s.node() != nullptr) return Output(copy_of_touched[s.node()->id()], s.index());
    return Output(copy_of_opt[o.node()->id()], o.index());
  };
  auto ready = [&](const Node* n) {
    return source_of_stand_in[n->id()].node() != nullptr
               ? copy_of_touched[source_of_stand_in[n->id()].node()->id()] != nullptr
               : copy_of_opt[n->id()] != nullptr;
  };
  auto copy_opt = [&](const Node* root) -> absl::Status {
    std::vector<const Node*> stack = {root};
    while (!stack.empty()) {
      const Node* n = stack.back();
      if (ready(n)) {
        stack.pop_back();
        continue;
      }
      if (source_of_stand_in[n->id()].node() != nullptr) {
        return absl::InternalError(absl::StrCat("control-flow optimizer: stand-in '", n->name(),
                                                "' is needed before its tensor is copied"));
      }
      const size_t before = stack.size();
      for (const Output& in : n->inputs()) {
        if (!ready(in.node())) stack.push_back(in.node());
      }
      for (const Node* c : n->control_inputs()) {
        if (!ready(c)) stack.push_back(c);
      }
      if (stack.size() != before) continue;
      stack.pop_back();
      std::vector<Output> inputs;
      for (const Output& in : n->inputs()) inputs.push_back(map_opt(in));
      std::vector<Node*> controls;
      for (const Node* c : n->control_inputs()) controls.push_back(map_opt(OutputOf(*c, 0)).node());
      // Names the rewrites made up may be those of touched nodes.
      std::string name = n->name();
      const Node* same = graph.FindNode(name);
      for (int i = 1; (same != nullptr && !plain[same->id()]) || out->FindNode(name) != nullptr;
           ++i) {
        name = absl::StrCat(n->name(), "_", i);
        same = graph.FindNode(name);
      }
      DFLOW_ASSIGN_OR_RETURN(copy_of_opt[n->id()], CopyNode(*n, std::move(name), std::move(inputs),
                                                            std::move(controls), out.get()));
    }
    return absl::OkStatus();
  };
  // A source tensor as the stitched graph sees it.
  auto in_out = [&](const Output& o) -> absl::StatusOr<Output> {
    if (!outside(o)) return Output(copy_of_touched[o.node()->id()], o.index());
    const Output& r = opt.signature.fetches[fetch_of.at(o)];
    DFLOW_RETURN_IF_ERROR(copy_opt(r.node()));
    return map_opt(r);
  };
  std::vector<std::pair<Node*, int>> back_edges;  // (copy of a Merge, input).
  for (int id = 0; id < n_nodes; ++id) {
    if (!needed[id] || plain[id]) continue;
    const Node& n = *graph.node(id);
    std::vector<Output> inputs(n.num_inputs());
    for (int i = 0; i < n.num_inputs(); ++i) {
      if (n.is_back_edge(i)) continue;
      DFLOW_ASSIGN_OR_RETURN(inputs[i], in_out(n.input(i)));
    }
    // A back edge's source comes later: a forward input stands in for it until then.
    for (int i = 0; i < n.num_inputs(); ++i) {
      if (!n.is_back_edge(i)) continue;
      for (int f = 0; f < n.num_inputs() && inputs[i].node() == nullptr; ++f) {
        if (!n.is_back_edge(f)) inputs[i] = inputs[f];
      }
      if (inputs[i].node() == nullptr) return std::nullopt;  // DataflowPlan reports it.
    }
    std::vector<Node*> controls;
    for (const Node* c : n.control_inputs()) {
      if (plain[c->id()]) {
        const Node* r = opt.signature.targets[target_of.at(c)];
        DFLOW_RETURN_IF_ERROR(copy_opt(r));
        controls.push_back(copy_of_opt[r->id()]);
      } else {
        controls.push_back(copy_of_touched[c->id()]);
      }
    }
    DFLOW_ASSIGN_OR_RETURN(copy_of_touched[id], CopyNode(n, n.name(), std::move(inputs),
                                                         std::move(controls), out.get()));
    for (int i = 0; i < n.num_inputs(); ++i) {
      if (n.is_back_edge(i)) back_edges.emplace_back(copy_of_touched[id], i);
    }
  }
  for (const auto& [merge, i] : back_edges) {
    const Node& source = *graph.FindNode(merge->name());
    DFLOW_RETURN_IF_ERROR(out->AddBackEdge(
        merge, i, Output(copy_of_touched[source.input(i).node()->id()], source.input(i).index())));
  }
  for (int id = 0; id < og.num_nodes(); ++id) {
    if (source_of_stand_in[id].node() == nullptr) DFLOW_RETURN_IF_ERROR(copy_opt(og.node(id)));
  }

  OptimizedGraph result;
  result.signature.feed_shapes = signature.feed_shapes;
  for (const Output& f : opt.signature.feeds) result.signature.feeds.push_back(map_opt(f));
  for (const Output& f : signature.fetches) {
    DFLOW_ASSIGN_OR_RETURN(Output o, in_out(f));
    result.signature.fetches.push_back(o);
  }
  for (const Node* t : signature.targets) {
    result.signature.targets.push_back(
        plain[t->id()] ? copy_of_opt[opt.signature.targets[target_of.at(t)]->id()]
                       : copy_of_touched[t->id()]);
  }
  result.graph = std::move(out);
  return std::optional<OptimizedGraph>(std::move(result));
}

}  // namespace dflow
