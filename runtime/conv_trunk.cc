// Pass 3 of the graph optimizer (optimizer_passes.h): chains of NHWC convolutions, poolings and
// activations replaced by one _DflowConvTrunk node (ops/conv_trunk_ops.h), whose kernel keeps the
// images between them in oneDNN's blocked layouts instead of reordering around every node.
#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "graph/attr_value_util.h"
#include "graph/status_macros.h"
#include "ops/conv_trunk_ops.h"
#include "ops/fused_ops.h"
#include "runtime/optimizer_passes.h"

namespace dflow {
namespace optimizer {
namespace {

// What one node adds to a trunk's attrs and inputs.
struct Stage {
  std::string op, activation, padding = "VALID";
  std::vector<int64_t> strides = {1, 1, 1, 1}, ksize = {1, 1, 1, 1};
  std::vector<Output> args;
};

// A float NHWC image whose height, width and channels are known and positive.
bool KnownImage(const PartialTensorShape& s) {
  if (s.unknown_rank() || s.dims() != 4) return false;
  for (int d = 1; d < 4; ++d) {
    if (s.dim_size(d) <= 0) return false;
  }
  return true;
}

// [1, h, w, 1] with positive h and w.
bool IsWindowList(const std::vector<int64_t>& v) {
  return v.size() == 4 && v[0] == 1 && v[3] == 1 && v[1] > 0 && v[2] > 0;
}

// The stage node `n` is, or nullopt when it cannot be one: not float, not NHWC, dilated,
// explicitly padded, LeakyRelu (a trunk has no per-stage alpha), or of unknown sizes.
std::optional<Stage> StageOf(const Node& n) {
  if (!conv_trunk::IsStageOp(n.op()) || n.num_outputs() != 1 || n.output_type(0) != DT_FLOAT ||
      n.num_inputs() < 1 || !KnownImage(n.input(0).shape()) ||
      !KnownImage(OutputOf(n, 0).shape()) || TouchesRefs(n)) {
    return std::nullopt;
  }
  Stage s;
  s.op = n.op();
  if (!conv_trunk::IsConvolution(n.op()) && n.op() != "MaxPool" && n.op() != "AvgPool") {
    return s;  // An activation.
  }
  const AttrMap& a = n.attrs();
  std::string format;
  if (!GetAttr(a, "data_format", &format).ok() || format != "NHWC" ||
      !GetAttr(a, "padding", &s.padding).ok() || (s.padding != "SAME" && s.padding != "VALID") ||
      !GetAttr(a, "strides", &s.strides).ok() || !IsWindowList(s.strides)) {
    return std::nullopt;
  }
  if (!conv_trunk::IsConvolution(n.op())) {
    if (!GetAttr(a, "ksize", &s.ksize).ok() || !IsWindowList(s.ksize)) return std::nullopt;
    return s;
  }
  std::vector<int64_t> dilations = {1, 1, 1, 1}, explicit_paddings;
  if (a.find("dilations") != a.end() && !GetAttr(a, "dilations", &dilations).ok()) return std::nullopt;
  if (a.find("explicit_paddings") != a.end() &&
      !GetAttr(a, "explicit_paddings", &explicit_paddings).ok()) {
    return std::nullopt;
  }
  const PartialTensorShape& filter = n.input(1).shape();
  if (dilations != std::vector<int64_t>{1, 1, 1, 1} || !explicit_paddings.empty() ||
      !filter.IsFullyDefined() || filter.dims() != 4 || filter.num_elements() == 0 ||
      n.num_inputs() != conv_trunk::StageArgs(n.op()) + 1) {
    return std::nullopt;
  }
  s.args = {n.input(1)};
  if (conv_trunk::StageArgs(n.op()) == 2) {
    std::vector<std::string> fused_ops;
    int64_t num_args = 0;
    if (!GetAttr(a, "fused_ops", &fused_ops).ok() || !GetAttr(a, "num_args", &num_args).ok() ||
        num_args != 1 || fused_ops.empty() || fused_ops.size() > 2 ||
        fused_ops[0] != "BiasAdd") {
      return std::nullopt;
    }
    if (fused_ops.size() == 2) {
      if (fused_ops[1] == "LeakyRelu" || !fused::ActivationOf(fused_ops[1]).has_value()) {
        return std::nullopt;
      }
      s.activation = fused_ops[1];
    }
    s.args.push_back(n.input(2));
  }
  return s;
}

// Nodes replaced by one trunk: it takes the last part's name, device and output and every
// part's control inputs.
struct Trunk {
  std::vector<const Node*> parts;
  std::vector<Stage> stages;
};

AttrMap TrunkAttrs(const Trunk& t) {
  std::vector<std::string> ops, activations, paddings;
  std::vector<int64_t> strides, ksize;
  int64_t num_args = 0;
  for (const Stage& s : t.stages) {
    ops.push_back(s.op);
    activations.push_back(s.activation);
    paddings.push_back(s.padding);
    strides.insert(strides.end(), s.strides.begin(), s.strides.end());
    ksize.insert(ksize.end(), s.ksize.begin(), s.ksize.end());
    num_args += static_cast<int64_t>(s.args.size());
  }
  return {{"T", MakeAttr(DT_FLOAT)},
          {"num_args", MakeAttr(num_args)},
          {"stages", MakeStringListAttr(ops)},
          {"activations", MakeStringListAttr(activations)},
          {"paddings", MakeStringListAttr(paddings)},
          {"strides", MakeAttr(absl::MakeConstSpan(strides))},
          {"ksize", MakeAttr(absl::MakeConstSpan(ksize))}};
}

}  // namespace

absl::StatusOr<OptimizedGraph> FormConvTrunks(OptimizedGraph in) {
  const Graph& src = *in.graph;
  const Signature& sig = in.signature;
  absl::flat_hash_set<Output> pinned(sig.fetches.begin(), sig.fetches.end());
  pinned.insert(sig.feeds.begin(), sig.feeds.end());
  const absl::flat_hash_set<const Node*> targeted(sig.targets.begin(), sig.targets.end());
  // The one node reading `n`'s output, when nothing else needs that output to exist. Every node
  // of pass 2's result is needed.
  auto sole_consumer = [&](const Node& n) -> const Node* {
    if (pinned.contains(OutputOf(n, 0)) || targeted.contains(&n) ||
        !n.control_outputs().empty() || n.out_edges().size() != 1) {
      return nullptr;
    }
    return n.out_edges().begin()->first;
  };

  absl::flat_hash_map<const Node*, Trunk> trunk_at;  // By its last part.
  absl::flat_hash_set<const Node*> absorbed;          // Parts other than the last.
  absl::flat_hash_set<const Node*> seen;              // In some chain already.
  for (int id = 0; id < src.num_nodes(); ++id) {
    const Node* n = src.node(id);
    if (seen.contains(n)) continue;
    std::optional<Stage> first = StageOf(*n);
    if (!first.has_value()) continue;
    Trunk t;
    t.parts = {n};
    t.stages = {*std::move(first)};
    seen.insert(n);
    for (const Node* next = sole_consumer(*n); next != nullptr; next = sole_consumer(*next)) {
      std::optional<Stage> s = StageOf(*next);
      if (!s.has_value() || next->input(0) != OutputOf(*t.parts.back(), 0) ||
          next->device() != n->device()) {
        break;
      }
      seen.insert(next);
      t.parts.push_back(next);
      Stage& prev = t.stages.back();
      // An activation after a convolution without one is that convolution's post-op.
      if (s->args.empty() && s->op != "MaxPool" && s->op != "AvgPool" &&
          conv_trunk::IsConvolution(prev.op) && prev.activation.empty()) {
        prev.activation = s->op;
      } else {
        t.stages.push_back(*std::move(s));
      }
    }
    int convolutions = 0;
    for (const Stage& s : t.stages) convolutions += conv_trunk::IsConvolution(s.op);
    if (convolutions < 2) continue;  // One convolution's reorders are its own.
    for (size_t i = 0; i + 1 < t.parts.size(); ++i) absorbed.insert(t.parts[i]);
    const Node* last = t.parts.back();
    trunk_at[last] = std::move(t);
  }
  if (trunk_at.empty()) return std::move(in);

  OptimizedGraph out;
  out.graph = std::make_unique<Graph>();
  *out.graph->mutable_versions() = src.versions();
  absl::flat_hash_map<Output, Output> outputs;
  absl::flat_hash_map<const Node*, Node*> nodes;
  auto map = [&](const Output& o) {
    auto it = outputs.find(o);
    return it == outputs.end() ? Output() : it->second;  // Null: NodeBuilder reports it.
  };
  for (int id = 0; id < src.num_nodes(); ++id) {  // Topological order.
    const Node* n = src.node(id);
    if (absorbed.contains(n)) continue;
    auto trunk = trunk_at.find(n);
    const Trunk* t = trunk == trunk_at.end() ? nullptr : &trunk->second;
    std::vector<Node*> controls;
    for (const Node* part : t != nullptr ? t->parts : std::vector<const Node*>{n}) {
      for (const Node* c : part->control_inputs()) {
        auto it = nodes.find(c);
        if (it == nodes.end()) {
          return absl::InternalError(absl::StrCat("node ", part->DebugString(),
                                                  ": control input ", c->DebugString(),
                                                  " was not copied"));
        }
        if (std::find(controls.begin(), controls.end(), it->second) == controls.end()) {
          controls.push_back(it->second);
        }
      }
    }
    std::vector<Output> inputs;
    if (t != nullptr) {
      inputs.push_back(map(t->parts.front()->input(0)));
      for (const Stage& s : t->stages) {
        for (const Output& a : s.args) inputs.push_back(map(a));
      }
    } else {
      for (const Output& i : n->inputs()) inputs.push_back(map(i));
    }
    DFLOW_ASSIGN_OR_RETURN(
        Node * copy, t != nullptr ? AddNode("_DflowConvTrunk", TrunkAttrs(*t), n->device(),
                                            n->name(), inputs, controls, out.graph.get())
                                  : AddNodeLike(*n, n->name(), inputs, controls, out.graph.get()));
    nodes[n] = copy;
    for (int i = 0; i < n->num_outputs(); ++i) outputs[OutputOf(*n, i)] = Output(copy, i);
  }
  out.signature.feed_shapes = sig.feed_shapes;
  for (const Output& f : sig.feeds) out.signature.feeds.push_back(map(f));
  for (const Output& f : sig.fetches) out.signature.fetches.push_back(map(f));
  for (const Node* t : sig.targets) out.signature.targets.push_back(nodes[t]);
  return out;
}

}  // namespace optimizer
}  // namespace dflow
