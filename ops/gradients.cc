#include "ops/gradients.h"

#include <map>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "ops/array_ops.h"
#include "ops/control_flow_ops.h"
#include "ops/op_registry.h"

namespace dflow {
namespace {

// Nodes that lie on a data path from some x to some y.
std::vector<bool> NodesBetween(const Graph& graph, absl::Span<const Output> xs,
                               absl::Span<const Output> ys) {
  std::vector<bool> from_x(graph.num_nodes(), false), to_y(graph.num_nodes(), false);
  std::vector<const Node*> stack;
  for (const Output& x : xs) {
    if (!from_x[x.node()->id()]) stack.push_back(x.node());
    from_x[x.node()->id()] = true;
  }
  while (!stack.empty()) {
    const Node* n = stack.back();
    stack.pop_back();
    for (const auto& [consumer, slot] : n->out_edges()) {
      if (!from_x[consumer->id()]) {
        from_x[consumer->id()] = true;
        stack.push_back(consumer);
      }
    }
  }
  for (const Output& y : ys) {
    if (!to_y[y.node()->id()]) stack.push_back(y.node());
    to_y[y.node()->id()] = true;
  }
  while (!stack.empty()) {
    const Node* n = stack.back();
    stack.pop_back();
    for (const Output& in : n->inputs()) {
      if (!to_y[in.node()->id()]) {
        to_y[in.node()->id()] = true;
        stack.push_back(in.node());
      }
    }
  }
  std::vector<bool> between(graph.num_nodes());
  for (int i = 0; i < graph.num_nodes(); ++i) between[i] = from_x[i] && to_y[i];
  return between;
}

// Sum of the gradient contributions reaching one output; null when there are none.
Output SumContributions(const Scope& scope, const std::vector<Output>& parts) {
  if (parts.empty()) return Output();
  if (parts.size() == 1) return parts[0];
  return Output(AddOpWithList(scope, "AddN", parts, {}));
}

// The contract every gradient function's result is held to: one gradient per input, each
// (unless null: no gradient) of the input's type and of a shape compatible with the input's.
absl::Status CheckInputGradients(const Node& node, absl::Span<const Output> in_grads) {
  if (static_cast<int>(in_grads.size()) != node.num_inputs()) {
    return absl::InternalError(absl::StrCat("gradient of ", node.op(), " node '", node.name(),
                                            "' returned ", in_grads.size(), " gradients for ",
                                            node.num_inputs(), " inputs"));
  }
  for (int i = 0; i < node.num_inputs(); ++i) {
    const Output& g = in_grads[i];
    if (g.node() == nullptr) continue;
    if (g.type() != node.input_type(i)) {
      return absl::InternalError(absl::StrCat(
          "gradient of ", node.op(), " node '", node.name(), "' for input ", i, " has type ",
          DataTypeString(g.type()), " but the input has type ",
          DataTypeString(node.input_type(i))));
    }
    const PartialTensorShape& in_shape = node.input(i).shape();
    if (!g.shape().IsCompatibleWith(in_shape)) {
      return absl::InternalError(absl::StrCat(
          "gradient of ", node.op(), " node '", node.name(), "' for input ", i, " has shape ",
          g.shape().DebugString(), " but the input has shape ", in_shape.DebugString()));
    }
  }
  return absl::OkStatus();
}

}  // namespace

bool IsZerosGradient(const Output& grad) {
  return grad.node() != nullptr && grad.node()->op() == "ZerosLike";
}

absl::Status AddSymbolicGradients(const Scope& scope, absl::Span<const Output> ys,
                                  absl::Span<const Output> xs, absl::Span<const Output> grad_ys,
                                  std::vector<Output>* grad_xs, const GradientOptions& options) {
  DFLOW_RETURN_IF_ERROR(scope.status());
  if (!grad_ys.empty() && grad_ys.size() != ys.size()) {
    return absl::InvalidArgumentError(absl::StrCat("AddSymbolicGradients: ", ys.size(), " ys but ",
                                                   grad_ys.size(), " grad_ys"));
  }
  for (const Output& o : ys) {
    if (o.node() == nullptr) return absl::InvalidArgumentError("AddSymbolicGradients: a y is null");
  }
  for (const Output& o : xs) {
    if (o.node() == nullptr) return absl::InvalidArgumentError("AddSymbolicGradients: an x is null");
  }
  const Graph& graph = *scope.graph();
  const int num_nodes_before = graph.num_nodes();
  const Scope grad_scope = scope.NewSubScope("gradients");
  std::vector<bool> between = NodesBetween(graph, xs, ys);

  // Gradient contributions per node output, filled from the ys backwards.
  absl::flat_hash_map<Output, std::vector<Output>> contributions;
  for (size_t i = 0; i < ys.size(); ++i) {
    Output seed = grad_ys.empty() ? ops::OnesLike(grad_scope, ys[i]) : grad_ys[i];
    contributions[ys[i]].push_back(seed);
  }
  absl::flat_hash_set<Output> wanted(xs.begin(), xs.end());
  absl::flat_hash_map<Output, Output> x_grads;
  // Nodes of while loops already differentiated as a whole (control_flow_grad.cc).
  std::vector<bool> in_loop(num_nodes_before, false);

  // Node ids are a topological order (back edges aside): visiting them downwards sees every
  // consumer first. A while loop's Exits come after all its other nodes but its body, which no
  // gradient reaches from outside, so the first Exit reached sees every Exit's final gradient.
  for (int id = num_nodes_before - 1; id >= 0; --id) {
    if (!between[id] || in_loop[id]) continue;
    const Node& node = *graph.node(id);
    if (node.op() == "Exit") {
      auto exit_grad = [&](const Output& o) -> Output {
        auto it = contributions.find(o);
        Output g = it == contributions.end() ? Output() : SumContributions(grad_scope, it->second);
        if (g.node() != nullptr && wanted.contains(o)) x_grads[o] = g;
        return g;
      };
      std::vector<std::pair<Output, Output>> input_grads;
      DFLOW_RETURN_IF_ERROR(
          AddWhileLoopGradient(grad_scope, node, exit_grad, &in_loop, &input_grads));
      for (const auto& [input, g] : input_grads) {
        if (between[input.node()->id()]) contributions[input].push_back(g);
      }
      continue;
    }
    std::vector<Output> out_grads(node.num_outputs());
    bool any = false;
    for (int i = 0; i < node.num_outputs(); ++i) {
      auto it = contributions.find(OutputOf(node, i));
      if (it == contributions.end()) continue;
      out_grads[i] = SumContributions(grad_scope, it->second);
      any = true;
      const Output self = OutputOf(node, i);
      if (wanted.contains(self)) x_grads[self] = out_grads[i];
    }
    if (!any || !grad_scope.ok()) continue;
    bool has_path_input = false;
    for (const Output& in : node.inputs()) has_path_input |= between[in.node()->id()];
    if (!has_path_input) continue;  // A source (an x itself): nothing further to propagate.

    if (node.is_opaque()) {
      return absl::UnimplementedError(absl::StrCat("no gradient through node '", node.name(),
                                                   "': dflow does not support op ", node.op()));
    }
    const OpDef* op = OpRegistry::Global()->Find(node.op());
    if (op == nullptr || !op->differentiable) continue;  // Gradients stop here.
    if (!op->grad_fn) {
      return absl::UnimplementedError(absl::StrCat("no gradient registered for op ", node.op(),
                                                   " (node '", node.name(), "')"));
    }
    std::vector<Output> in_grads;
    const Scope node_scope = grad_scope.NewSubScope(node.name() + "_grad");
    // The function runs: every output no gradient reached gets zeros, so it sees one per output.
    for (int i = 0; i < node.num_outputs(); ++i) {
      if (out_grads[i].node() == nullptr) {
        out_grads[i] = ops::ZerosLike(node_scope, OutputOf(node, i));
      }
    }
    DFLOW_RETURN_IF_ERROR(scope.status());
    DFLOW_RETURN_IF_ERROR(op->grad_fn(node_scope, node, out_grads, &in_grads));
    DFLOW_RETURN_IF_ERROR(scope.status());
    DFLOW_RETURN_IF_ERROR(CheckInputGradients(node, in_grads));
    for (int i = 0; i < node.num_inputs(); ++i) {
      if (in_grads[i].node() != nullptr && between[node.input(i).node()->id()]) {
        contributions[node.input(i)].push_back(in_grads[i]);
      }
    }
  }
  DFLOW_RETURN_IF_ERROR(scope.status());

  grad_xs->clear();
  for (const Output& x : xs) {
    auto it = x_grads.find(x);
    if (it != x_grads.end() && it->second.node() != nullptr) {
      grad_xs->push_back(it->second);
    } else if (options.zeros_for_unconnected) {
      grad_xs->push_back(ops::ZerosLike(grad_scope, x));
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "AddSymbolicGradients: '", x.name(), "' is not connected to the ys (no gradient path)"));
    }
  }
  return scope.status();
}

absl::Status AddSymbolicGradients(const Scope& scope, absl::Span<const Output> ys,
                                  absl::Span<const Output> xs, std::vector<Output>* grad_xs) {
  return AddSymbolicGradients(scope, ys, xs, {}, grad_xs);
}

Output ReduceGradientToShape(const Scope& scope, const Output& grad, const Output& input) {
  if (!scope.ok()) return Output();
  const PartialTensorShape& in = input.shape();
  const PartialTensorShape& g = grad.shape();
  if (in.IsFullyDefined() && g.IsFullyDefined() && in == g) return grad;
  // Static axes when every input dim is known: reduce the leading extra dims and the dims
  // where the input has size 1 but the gradient may not.
  if (in.IsFullyDefined() && !g.unknown_rank() && g.dims() >= in.dims()) {
    const int lead = g.dims() - in.dims();
    std::vector<int32_t> axes;
    for (int d = 0; d < g.dims(); ++d) {
      if (d < lead || (in.dim_size(d - lead) == 1 && g.dim_size(d) != 1)) axes.push_back(d);
    }
    Output reduced = grad;
    if (!axes.empty()) {
      Tensor axes_t = *Tensor::FromVector<int32_t>(axes, TensorShape({static_cast<int64_t>(axes.size())}));
      reduced = Output(AddOp(scope, "Sum", {grad, axes_t}));
    }
    std::vector<int32_t> dims(in.dim_sizes().begin(), in.dim_sizes().end());
    Tensor shape_t = *Tensor::FromVector<int32_t>(dims, TensorShape({static_cast<int64_t>(dims.size())}));
    return ops::Reshape(scope, reduced, shape_t);
  }
  // Shapes known only at run time.
  ops::BroadcastGradientArgs args(scope, ops::Shape(scope, input), ops::Shape(scope, grad));
  if (args.r0.node() == nullptr) return Output();
  Output reduced(AddOp(scope, "Sum", {grad, args.r0}));
  return ops::Reshape(scope, reduced, ops::Shape(scope, input));
}

}  // namespace dflow
