// OptimizeGraph runs the two passes of optimizer_passes.h; here too are the helpers they share.
#include "runtime/graph_optimizer.h"

#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "ops/node_builder.h"
#include "ops/op_registry.h"
#include "runtime/optimizer_passes.h"

namespace dflow {
namespace optimizer {

bool IsRef(const Output& o) { return o.node()->output_is_ref(o.index()); }

bool TouchesRefs(const Node& n) {
  for (int i = 0; i < n.num_inputs(); ++i) {
    if (n.input_is_ref(i) || IsRef(n.input(i))) return true;
  }
  for (int i = 0; i < n.num_outputs(); ++i) {
    if (n.output_is_ref(i)) return true;
  }
  return false;
}

std::optional<Tensor> ConstValue(const Output& o) {
  Tensor value;
  if (o.node()->op() != "Const" || !GetAttr(o.node()->attrs(), "value", &value).ok()) {
    return std::nullopt;
  }
  return value;
}

absl::StatusOr<Node*> AddNode(const std::string& op_name, const AttrMap& attrs,
                              const std::string& device, const std::string& name,
                              absl::Span<const Output> inputs, absl::Span<Node* const> controls,
                              Graph* graph) {
  const OpDef* op = OpRegistry::Global()->Find(op_name);
  if (op == nullptr) {
    return absl::NotFoundError(absl::StrCat("node '", name, "': unknown op ", op_name));
  }
  NodeBuilder builder(name, op_name);
  builder.Device(device);
  for (const auto& [attr, value] : attrs) builder.Attr(attr, value);
  DFLOW_ASSIGN_OR_RETURN(std::vector<std::vector<Output>> args,
                         GroupInputsByArg(name, *op, attrs, inputs));
  for (std::vector<Output>& arg : args) builder.Input(std::move(arg));
  for (Node* c : controls) builder.ControlInput(c);
  return std::move(builder).Finalize(graph);
}

absl::StatusOr<Node*> AddNodeLike(const Node& like, const std::string& name,
                                  absl::Span<const Output> inputs, absl::Span<Node* const> controls,
                                  Graph* graph) {
  if (like.is_opaque()) {
    NodeSpec spec;
    spec.name = name;
    spec.op = like.op();
    spec.device = like.device();
    spec.attrs = like.attrs();
    spec.inputs.assign(inputs.begin(), inputs.end());
    spec.control_inputs.assign(controls.begin(), controls.end());
    spec.output_types.assign(like.output_types().begin(), like.output_types().end());
    for (int i = 0; i < like.num_outputs(); ++i) {
      spec.output_is_ref.push_back(like.output_is_ref(i));
    }
    return AddOpaqueNode(std::move(spec), graph);
  }
  return AddNode(like.op(), like.attrs(), like.device(), name, inputs, controls, graph);
}

}  // namespace optimizer

absl::StatusOr<OptimizedGraph> OptimizeGraph(const Graph& graph, const Signature& signature,
                                             const GraphOptimizerOptions& options) {
  DFLOW_ASSIGN_OR_RETURN(OptimizedGraph simplified,
                         optimizer::Simplify(graph, signature, options));
  DFLOW_ASSIGN_OR_RETURN(OptimizedGraph fused,
                         optimizer::FuseAndPrune(simplified, options.fuse_ops));
  // DFLOW_CONV_TRUNKS=0 turns trunks off without rebuilding, to time both (graph_optimizer.h).
  static const bool env_off = [] {
    const char* v = std::getenv("DFLOW_CONV_TRUNKS");
    return v != nullptr && std::string(v) == "0";
  }();
  if (!options.fuse_ops || !options.conv_trunks || env_off) return fused;
  return optimizer::FormConvTrunks(std::move(fused));
}

}  // namespace dflow
