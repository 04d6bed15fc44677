// Two copies make the optimized graph (a Graph is append-only, so every rewrite is a copy):
//
//  1. Simplify: the needed nodes in id (= topological) order, each fed tensor replaced by a
//     Placeholder of its fed shape; while copying, a node is dropped (Identity, relaying NoOp),
//     replaced by Consts (constant folding, Shape / Rank of known shapes) or merged with an
//     identical node already copied (CSE). Consumers are visited after their inputs, so each
//     sees its inputs already rewritten and one pass reaches the fixed point.
//  2. FuseAndPrune: the nodes the result still needs (folding leaves dead inputs behind), with
//     chains of nodes replaced by one fused node (ops/fused_ops.h), which is only decidable once
//     the consumers are final.
#include "runtime/graph_optimizer.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "kernels/dnnl_util.h"
#include "kernels/fused_kernels.h"
#include "kernels/op_kernel.h"
#include "ops/fused_ops.h"
#include "ops/node_builder.h"
#include "ops/op_registry.h"
#include "ops/shape_inference.h"

namespace dflow {
namespace {

// Larger results stay computed at run time: as Consts they would bloat every plan.
constexpr int64_t kMaxFoldedElements = int64_t{1} << 20;

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

// Adds a node of `op` with `attrs` and `device` under `name`; the flat `inputs` are grouped into
// the op's input args (a list arg takes as many as its number attr says).
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
  size_t next = 0;
  for (const ArgDef& arg : op->inputs) {
    int64_t count = 1;
    if (!arg.number_attr.empty()) {
      absl::Status s = GetAttr(attrs, arg.number_attr, &count);
      if (!s.ok()) return s;
    }
    if (count < 0 || next + count > inputs.size()) {
      return absl::InternalError(absl::StrCat("node '", name, "' (", op_name, ") has ",
                                              inputs.size(), " inputs, fewer than its op needs"));
    }
    std::vector<Output> group(inputs.begin() + next, inputs.begin() + next + count);
    next += count;
    if (arg.number_attr.empty()) {
      builder.Input(group[0]);
    } else {
      builder.Input(std::move(group));
    }
  }
  for (Node* c : controls) builder.ControlInput(c);
  return builder.Finalize(graph);
}

// A copy of `like` under `name` with the given inputs and control inputs.
absl::StatusOr<Node*> AddNodeLike(const Node& like, const std::string& name,
                                  absl::Span<const Output> inputs, absl::Span<Node* const> controls,
                                  Graph* graph) {
  return AddNode(like.op(), like.attrs(), like.device(), name, inputs, controls, graph);
}

// Identifies a node by everything that determines its outputs (CSE).
std::string CseKey(absl::string_view op, const std::string& device, const AttrMap& attrs,
                   absl::Span<const Output> inputs, absl::Span<Node* const> controls) {
  std::string key = absl::StrCat(op, "|", device, "|");
  for (const auto& [name, value] : attrs) {
    const std::string bytes = value.SerializeAsString();
    absl::StrAppend(&key, name, "=", bytes.size(), ":", bytes, "|");
  }
  for (const Output& in : inputs) absl::StrAppend(&key, in.node()->id(), ":", in.index(), ",");
  std::vector<int> ids;
  for (const Node* c : controls) ids.push_back(c->id());
  std::sort(ids.begin(), ids.end());
  for (int id : ids) absl::StrAppend(&key, "^", id, ",");
  return key;
}

// The value of a Const output.
std::optional<Tensor> ConstValue(const Output& o) {
  Tensor value;
  if (o.node()->op() != "Const" || !GetAttr(o.node()->attrs(), "value", &value).ok()) {
    return std::nullopt;
  }
  return value;
}

// A Reshape to the shape its input already has, or a reduction over no axes: an Identity.
bool IsIdentityForShapes(const Node& n, const OpDef& op, absl::Span<const Output> inputs) {
  if (n.op() == "Sum" || n.op() == "Mean" || n.op() == "Prod") {
    std::optional<Tensor> axes = ConstValue(inputs[1]);
    return axes.has_value() && axes->dims() == 1 && axes->NumElements() == 0;
  }
  if (n.op() != "Reshape" || !inputs[0].shape().IsFullyDefined()) return false;
  std::optional<Tensor> shape = ConstValue(inputs[1]);
  if (!shape.has_value()) return false;
  InferenceContext ctx(n.name(), op, n.attrs(), {inputs[0].shape(), inputs[1].shape()},
                       {nullptr, &*shape}, 1);
  return op.shape_fn(&ctx).ok() && ctx.output(0) == inputs[0].shape();
}

absl::Status CheckBelongs(const Graph& graph, const Node* node, absl::string_view what,
                          size_t index) {
  if (node == nullptr || node->id() >= graph.num_nodes() || graph.node(node->id()) != node) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " ", index, " is not a node of the graph being optimized"));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Pass 1: prune, substitute feeds, fold, remove Identities and NoOps, merge duplicates.

class Simplifier {
 public:
  Simplifier(const Graph& src, const GraphOptimizerOptions& options)
      : src_(src), options_(options), dst_(std::make_unique<Graph>()) {}

  absl::StatusOr<OptimizedGraph> Run(absl::Span<const Output> feeds,
                                     absl::Span<const TensorShape> feed_shapes,
                                     absl::Span<const Output> fetches,
                                     absl::Span<const Node* const> targets);

 private:
  absl::Status AddFeed(const Output& feed, const TensorShape& shape);
  absl::Status Visit(const Node& n);
  // Const values for `n`'s outputs, or nullopt when it cannot or should not be folded.
  std::optional<std::vector<Tensor>> Fold(const Node& n, const OpDef& op,
                                          absl::Span<const Output> inputs);
  // Shape, Rank, OnesLike and ZerosLike of a tensor of known shape.
  std::optional<std::vector<Tensor>> FoldFromShape(const Node& n, const Output& input) const;
  std::optional<std::vector<Tensor>> Evaluate(const Node& n, const OpDef& op,
                                              absl::Span<const Output> inputs);
  // The node `build` adds, or an identical one already added (when `mergeable`).
  absl::StatusOr<Node*> Deduplicated(bool mergeable, const std::string& key,
                                     const std::function<absl::StatusOr<Node*>()>& build);
  absl::StatusOr<Node*> AddConst(const std::string& name, const std::string& device,
                                 const Tensor& value);

  Output Map(const Output& o) const;
  std::vector<Node*> MapControls(const Node& n) const;
  // `base`, else `base_1`, `base_2`, ...: a name used neither in the source nor in the copy.
  std::string FreshName(const std::string& base) const;

  const Graph& src_;
  const GraphOptimizerOptions& options_;
  std::unique_ptr<Graph> dst_;
  absl::flat_hash_map<Output, Output> fed_;      // Source fed tensor -> its Placeholder.
  absl::flat_hash_set<Output> ref_feeds_;        // Fed variable references (source).
  absl::flat_hash_set<Output> fed_refs_in_dst_;  // The same in the copy.
  absl::flat_hash_set<Output> fetched_;
  absl::flat_hash_set<const Node*> targeted_;
  absl::flat_hash_map<Output, Output> outputs_;  // Source output -> output in the copy.
  // Source node -> what a control edge from it becomes: its copy, its replacement, or (for a
  // removed NoOp) its own control inputs.
  absl::flat_hash_map<const Node*, std::vector<Node*>> controls_;
  // Source output of a removed Identity that had control inputs -> those inputs in the copy,
  // which every reader of the output inherits (TensorFlow's gradients wrap each one so).
  absl::flat_hash_map<Output, std::vector<Node*>> carried_;
  absl::flat_hash_map<std::string, Node*> cse_;
  // Copied nodes that change state, or depend on one that does: folding a Shape of one of
  // these would skip that change.
  absl::flat_hash_set<const Node*> effectful_;
  // False when an Assign may give a variable a shape other than the declared one.
  bool variable_shapes_fixed_ = true;
  std::optional<dnnl::stream> stream_;
};

absl::StatusOr<OptimizedGraph> Simplifier::Run(absl::Span<const Output> feeds,
                                               absl::Span<const TensorShape> feed_shapes,
                                               absl::Span<const Output> fetches,
                                               absl::Span<const Node* const> targets) {
  if (feeds.size() != feed_shapes.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(feeds.size(), " feeds but ", feed_shapes.size(), " feed shapes"));
  }
  for (size_t i = 0; i < feeds.size(); ++i) {
    absl::Status s = CheckBelongs(src_, feeds[i].node(), "feed", i);
    if (!s.ok()) return s;
  }
  for (size_t i = 0; i < fetches.size(); ++i) {
    absl::Status s = CheckBelongs(src_, fetches[i].node(), "fetch", i);
    if (!s.ok()) return s;
    fetched_.insert(fetches[i]);
  }
  for (size_t i = 0; i < targets.size(); ++i) {
    absl::Status s = CheckBelongs(src_, targets[i], "target", i);
    if (!s.ok()) return s;
    targeted_.insert(targets[i]);
  }
  *dst_->mutable_versions() = src_.versions();
  for (const Node* n : src_.nodes()) {
    bool validate = true;
    if (n->op() == "Assign" && GetAttr(n->attrs(), "validate_shape", &validate).ok() && !validate) {
      variable_shapes_fixed_ = false;
    }
  }
  for (size_t i = 0; i < feeds.size(); ++i) {
    absl::Status s = AddFeed(feeds[i], feed_shapes[i]);
    if (!s.ok()) return s;
  }
  std::vector<bool> needed = NodesNeededFor(src_, feeds, fetches, targets);
  for (const Output& f : ref_feeds_) needed[f.node()->id()] = true;  // The feed must exist.
  for (int id = 0; id < src_.num_nodes(); ++id) {
    if (!needed[id]) continue;
    absl::Status s = Visit(*src_.node(id));
    if (!s.ok()) return s;
  }

  OptimizedGraph result;
  for (const Output& f : feeds) result.feeds.push_back(Map(f));
  for (const Output& f : fetches) result.fetches.push_back(Map(f));
  for (const Node* t : targets) {
    auto it = controls_.find(t);
    if (it == controls_.end() || it->second.empty()) {
      return absl::InternalError(absl::StrCat("target ", t->DebugString(), " was not copied"));
    }
    result.targets.push_back(it->second.front());
  }
  result.graph = std::move(dst_);
  return result;
}

absl::Status Simplifier::AddFeed(const Output& feed, const TensorShape& shape) {
  if (IsRef(feed)) {
    ref_feeds_.insert(feed);
    return absl::OkStatus();
  }
  if (fed_.contains(feed)) return absl::OkStatus();
  if (!feed.shape().IsCompatibleWith(shape)) {
    return absl::InvalidArgumentError(absl::StrCat("feed '", feed.name(), "' has shape ",
                                                   shape.DebugString(), " but the graph expects ",
                                                   feed.shape().DebugString()));
  }
  // A fed Placeholder stays itself, only with a concrete shape.
  const Node& node = *feed.node();
  const std::string name =
      node.op() == "Placeholder"
          ? node.name()
          : FreshName(absl::StrCat(node.name(), "/fed",
                                   feed.index() == 0 ? "" : absl::StrCat("_", feed.index())));
  absl::StatusOr<Node*> placeholder = NodeBuilder(name, "Placeholder")
                                          .Device(node.device())
                                          .Attr("dtype", feed.type())
                                          .Attr("shape", shape)
                                          .Finalize(dst_.get());
  if (!placeholder.ok()) return placeholder.status();
  fed_[feed] = Output(*placeholder, 0);
  return absl::OkStatus();
}

absl::Status Simplifier::Visit(const Node& n) {
  if (n.op() == "Placeholder" && fed_.contains(OutputOf(n, 0))) {
    controls_[&n] = {fed_.at(OutputOf(n, 0)).node()};
    return absl::OkStatus();
  }
  const OpDef* op = OpRegistry::Global()->Find(n.op());
  if (op == nullptr) {
    return absl::NotFoundError(absl::StrCat("node ", n.DebugString(), ": unknown op"));
  }
  std::vector<Output> inputs;
  for (const Output& in : n.inputs()) {
    inputs.push_back(Map(in));
    if (inputs.back().node() == nullptr) {
      return absl::InternalError(
          absl::StrCat("node ", n.DebugString(), ": input '", in.name(), "' was not copied"));
    }
  }
  std::vector<Node*> controls = MapControls(n);
  bool fed = false, fetched = false;
  for (int i = 0; i < n.num_outputs(); ++i) {
    fed |= fed_.contains(OutputOf(n, i)) || ref_feeds_.contains(OutputOf(n, i));
    fetched |= fetched_.contains(OutputOf(n, i));
  }
  const bool targeted = targeted_.contains(&n);
  const bool pinned = fed || targeted;

  if (options_.remove_identities && !pinned && !fetched) {
    // Identity of a variable snapshots its value. Readers of a removed one inherit its control
    // inputs; control edges from it come from its input and its control inputs instead.
    if ((n.op() == "Identity" || IsIdentityForShapes(n, *op, inputs)) && !IsRef(inputs[0])) {
      outputs_[OutputOf(n, 0)] = inputs[0];
      if (!controls.empty()) carried_[OutputOf(n, 0)] = controls;
      controls.push_back(inputs[0].node());
      controls_[&n] = std::move(controls);
      return absl::OkStatus();
    }
    // A NoOp that is not run for itself only orders its consumers after its control inputs.
    if (n.op() == "NoOp") {
      controls_[&n] = std::move(controls);
      return absl::OkStatus();
    }
  }

  // Folded nodes lose their control edges, so nodes with any are kept.
  if (options_.fold_constants && !pinned && controls.empty() && n.control_outputs().empty()) {
    std::optional<std::vector<Tensor>> values = Fold(n, *op, inputs);
    if (values.has_value()) {
      for (int i = 0; i < n.num_outputs(); ++i) {
        const std::string name =
            i == 0 ? n.name() : FreshName(absl::StrCat(n.name(), "/output_", i));
        absl::StatusOr<Node*> c = AddConst(name, n.device(), (*values)[i]);
        if (!c.ok()) return c.status();
        outputs_[OutputOf(n, i)] = Output(*c, 0);
      }
      controls_[&n] = {};
      return absl::OkStatus();
    }
  }

  // Nodes without inputs (Placeholders, variables) are distinct even when alike; so are reads
  // of a variable, which may see different values.
  const bool mergeable =
      !pinned && !op->is_stateful && !TouchesRefs(n) && (n.num_inputs() > 0 || n.op() == "Const");
  absl::StatusOr<Node*> copy;
  Tensor value;
  if (mergeable && n.op() == "Const" && controls.empty() &&
      GetAttr(n.attrs(), "value", &value).ok()) {
    copy = AddConst(n.name(), n.device(), value);  // Keyed like folded Consts, to merge with them.
  } else {
    copy = Deduplicated(mergeable,
                        mergeable ? CseKey(n.op(), n.device(), n.attrs(), inputs, controls) : "",
                        [&] { return AddNodeLike(n, n.name(), inputs, controls, dst_.get()); });
  }
  if (!copy.ok()) return copy.status();
  for (int i = 0; i < n.num_outputs(); ++i) {
    outputs_[OutputOf(n, i)] = Output(*copy, i);
    if (ref_feeds_.contains(OutputOf(n, i))) fed_refs_in_dst_.insert(Output(*copy, i));
  }
  controls_[&n] = {*copy};
  bool effectful = op->is_stateful && n.op() != "VariableV2";
  for (const Output& in : inputs) effectful |= effectful_.contains(in.node());
  for (const Node* c : controls) effectful |= effectful_.contains(c);
  if (effectful) effectful_.insert(*copy);
  return absl::OkStatus();
}

std::optional<std::vector<Tensor>> Simplifier::Fold(const Node& n, const OpDef& op,
                                                    absl::Span<const Output> inputs) {
  if (op.is_stateful || n.num_outputs() == 0) return std::nullopt;
  if (n.op() == "Shape" || n.op() == "Rank" || n.op() == "OnesLike" || n.op() == "ZerosLike") {
    return FoldFromShape(n, inputs[0]);  // Only the input's shape matters, even a variable's.
  }
  if (n.num_inputs() == 0 || TouchesRefs(n)) return std::nullopt;  // Const, Placeholder.
  for (const Output& in : inputs) {
    if (in.node()->op() != "Const") return std::nullopt;
  }
  return Evaluate(n, op, inputs);
}

std::optional<std::vector<Tensor>> Simplifier::FoldFromShape(const Node& n,
                                                             const Output& input) const {
  if (effectful_.contains(input.node())) return std::nullopt;
  // A fed variable reference holds whatever was fed, whatever the declared shape.
  if (IsRef(input) && (!variable_shapes_fixed_ || fed_refs_in_dst_.contains(input))) {
    return std::nullopt;
  }
  const PartialTensorShape& shape = input.shape();
  if (shape.unknown_rank()) return std::nullopt;
  if (n.op() == "Rank") return std::vector<Tensor>{Tensor::Scalar<int32_t>(shape.dims())};
  if (!shape.IsFullyDefined()) return std::nullopt;
  if (n.op() == "OnesLike" || n.op() == "ZerosLike") {
    if (shape.num_elements() > kMaxFoldedElements) return std::nullopt;
    const TensorShape dims(shape.dim_sizes());
    const int value = n.op() == "OnesLike" ? 1 : 0;
    switch (n.output_type(0)) {
      case DT_FLOAT:
        return std::vector<Tensor>{Tensor::Filled<float>(dims, value)};
      case DT_DOUBLE:
        return std::vector<Tensor>{Tensor::Filled<double>(dims, value)};
      case DT_INT32:
        return std::vector<Tensor>{Tensor::Filled<int32_t>(dims, value)};
      case DT_INT64:
        return std::vector<Tensor>{Tensor::Filled<int64_t>(dims, value)};
      default:
        return std::nullopt;
    }
  }
  Tensor dims(n.output_type(0), TensorShape({shape.dims()}));
  for (int d = 0; d < shape.dims(); ++d) {
    const int64_t size = shape.dim_size(d);
    if (dims.dtype() == DT_INT64) {
      dims.flat<int64_t>()[d] = size;
    } else if (dims.dtype() == DT_INT32 && size <= std::numeric_limits<int32_t>::max()) {
      dims.flat<int32_t>()[d] = static_cast<int32_t>(size);
    } else {
      return std::nullopt;  // The kernel reports the overflow.
    }
  }
  return std::vector<Tensor>{dims};
}

std::optional<std::vector<Tensor>> Simplifier::Evaluate(const Node& n, const OpDef& op,
                                                        absl::Span<const Output> inputs) {
  std::vector<TensorValue> values(inputs.size());
  std::vector<TensorValue*> value_ptrs;
  std::vector<PartialTensorShape> shapes;
  std::vector<const Tensor*> tensors;
  int64_t input_elements = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::optional<Tensor> value = ConstValue(inputs[i]);
    if (!value.has_value()) return std::nullopt;
    values[i].tensor = *std::move(value);
    value_ptrs.push_back(&values[i]);
    shapes.push_back(values[i].tensor.shape());
    tensors.push_back(&values[i].tensor);
    input_elements += values[i].tensor.NumElements();
  }
  // Shape inference on the values bounds the outputs before anything is allocated; an output
  // it cannot size (BroadcastGradientArgs) is bounded by the inputs instead.
  InferenceContext shape_ctx(n.name(), op, n.attrs(), shapes, tensors, n.num_outputs());
  if (op.shape_fn && !op.shape_fn(&shape_ctx).ok()) return std::nullopt;
  for (int i = 0; i < n.num_outputs(); ++i) {
    const PartialTensorShape& s = shape_ctx.output(i);
    const int64_t bound = s.IsFullyDefined() ? s.num_elements() : input_elements;
    if (bound < 0 || bound > kMaxFoldedElements) return std::nullopt;
  }

  // The source node serves as the kernel's node: same op, attrs and output types.
  absl::StatusOr<std::unique_ptr<OpKernel>> kernel = KernelRegistry::Global()->CreateKernel(n);
  if (!kernel.ok()) return std::nullopt;
  std::vector<TensorValue> outputs(n.num_outputs());
  VariableStore no_variables;
  if (!stream_.has_value()) stream_.emplace(CpuEngine());
  OpKernelContext ctx(n, value_ptrs, absl::MakeSpan(outputs), &no_variables, CpuEngine(), *stream_);
  try {
    // A failing node is kept: running it reports the error with the run's context.
    if (!(*kernel)->Compute(&ctx).ok()) return std::nullopt;
  } catch (const dnnl::error&) {
    return std::nullopt;
  }
  std::vector<Tensor> result;
  for (int i = 0; i < n.num_outputs(); ++i) {
    const Tensor& t = outputs[i].tensor;
    if (outputs[i].ref != nullptr || !t.IsInitialized() || t.dtype() != n.output_type(i) ||
        t.NumElements() > kMaxFoldedElements) {
      return std::nullopt;
    }
    result.push_back(t);
  }
  return result;
}

absl::StatusOr<Node*> Simplifier::Deduplicated(
    bool mergeable, const std::string& key, const std::function<absl::StatusOr<Node*>()>& build) {
  mergeable &= options_.eliminate_common_subexpressions;
  if (mergeable) {
    auto it = cse_.find(key);
    if (it != cse_.end()) return it->second;
  }
  absl::StatusOr<Node*> node = build();
  if (node.ok() && mergeable) cse_[key] = *node;
  return node;
}

absl::StatusOr<Node*> Simplifier::AddConst(const std::string& name, const std::string& device,
                                           const Tensor& value) {
  const AttrMap attrs = {{"dtype", MakeAttr(value.dtype())}, {"value", MakeAttr(value)}};
  return Deduplicated(true, CseKey("Const", device, attrs, {}, {}), [&] {
    NodeBuilder builder(name, "Const");
    builder.Device(device);
    for (const auto& [attr, v] : attrs) builder.Attr(attr, v);
    return builder.Finalize(dst_.get());
  });
}

Output Simplifier::Map(const Output& o) const {
  auto fed = fed_.find(o);
  if (fed != fed_.end()) return fed->second;
  auto it = outputs_.find(o);
  return it == outputs_.end() ? Output() : it->second;  // Null: NodeBuilder reports it.
}

std::vector<Node*> Simplifier::MapControls(const Node& n) const {
  std::vector<Node*> result;
  auto add = [&](const std::vector<Node*>& nodes) {
    for (Node* m : nodes) {
      // A node that only computes values from tensors already computed (no state change
      // before it, no variable read in it) gives the same values whenever it runs, and
      // copy-on-write keeps its inputs intact: ordering after it changes nothing.
      const OpDef* op = OpRegistry::Global()->Find(m->op());
      if (op != nullptr && !op->is_stateful && !TouchesRefs(*m) && !effectful_.contains(m)) {
        continue;
      }
      if (std::find(result.begin(), result.end(), m) == result.end()) result.push_back(m);
    }
  };
  for (const Node* c : n.control_inputs()) {
    auto it = controls_.find(c);
    if (it != controls_.end()) add(it->second);
  }
  for (const Output& in : n.inputs()) {
    auto it = carried_.find(in);
    if (it != carried_.end()) add(it->second);
  }
  // A control edge from a node whose output is read anyway orders nothing more.
  result.erase(std::remove_if(result.begin(), result.end(),
                              [&](const Node* c) {
                                for (const Output& in : n.inputs()) {
                                  if (Map(in).node() == c) return true;
                                }
                                return false;
                              }),
               result.end());
  return result;
}

std::string Simplifier::FreshName(const std::string& base) const {
  std::string name = base;
  for (int i = 1; src_.FindNode(name) != nullptr || dst_->FindNode(name) != nullptr; ++i) {
    name = absl::StrCat(base, "_", i);
  }
  return name;
}

// ---------------------------------------------------------------------------------------------
// Pass 2: prune and fuse.

// Needed nodes replaced by one fused node. It takes the name, device and outputs of the last
// part (the only one whose outputs are read elsewhere) and the control inputs of every part.
struct Fusion {
  std::vector<const Node*> parts;  // In id order; parts.back() is the last.
  std::string op;
  AttrMap attrs;
  std::vector<Output> inputs;  // Flat, in the graph being fused.
};

// The one needed node reading output 0 of a node, when nothing else (a fetch, a control edge,
// another reader) needs that output to exist; else null.
using SoleConsumer = std::function<const Node*(const Node&)>;

bool IsFloat(const Node& n) { return n.num_outputs() > 0 && n.output_type(0) == DT_FLOAT; }

// A MatMul or Conv2D, the BiasAdd (or Add of a 1-D bias) that is its only consumer, and the
// Relu that is the bias add's only consumer, if any -> _FusedMatMul / _FusedConv2D.
std::optional<Fusion> MatchBiasAdd(const Node& base, const SoleConsumer& sole_consumer) {
  if ((base.op() != "MatMul" && base.op() != "Conv2D") || !IsFloat(base)) return std::nullopt;
  const Node* add = sole_consumer(base);
  if (add == nullptr) return std::nullopt;
  const Output product = OutputOf(base, 0);
  Output bias;
  if (add->op() == "BiasAdd") {
    std::string format;
    if (add->input(0) != product || !GetAttr(add->attrs(), "data_format", &format).ok() ||
        format != "NHWC") {
      return std::nullopt;
    }
    bias = add->input(1);
  } else if (add->op() == "Add" || add->op() == "AddV2") {
    bias = add->input(0) == product ? add->input(1) : add->input(0);
    // Only a [channels] bias broadcasts exactly like BiasAdd.
    const PartialTensorShape& out = product.shape();
    const PartialTensorShape& b = bias.shape();
    if (out.unknown_rank() || b.dims() != 1 || out.dim_size(out.dims() - 1) < 0 ||
        b.dim_size(0) != out.dim_size(out.dims() - 1)) {
      return std::nullopt;
    }
  } else {
    return std::nullopt;
  }
  Fusion f;
  f.parts = {&base, add};
  f.op = base.op() == "MatMul" ? "_FusedMatMul" : "_FusedConv2D";
  f.attrs = base.attrs();
  std::vector<std::string> fused_ops = {"BiasAdd"};
  const Node* relu = sole_consumer(*add);
  if (relu != nullptr && relu->op() == "Relu") {
    f.parts.push_back(relu);
    fused_ops.push_back("Relu");
  }
  f.attrs["fused_ops"] = MakeStringListAttr(fused_ops);
  f.attrs["num_args"] = MakeAttr(int64_t{1});
  f.inputs = {base.input(0), base.input(1), bias};
  return f;
}

// Whether oneDNN runs a MatMul's product summed into a variable with optimized code on this CPU
// (kernels/fused_kernels.h); a dimension known only at run time counts as 1.
bool HasFastProduct(const Node& matmul) {
  bool ta = false, tb = false;
  GetAttr(matmul.attrs(), "transpose_a", &ta).IgnoreError();
  GetAttr(matmul.attrs(), "transpose_b", &tb).IgnoreError();
  const PartialTensorShape& a = matmul.input(0).shape();
  const PartialTensorShape& b = matmul.input(1).shape();
  if (a.unknown_rank() || b.unknown_rank() || a.dims() != 2 || b.dims() != 2) return false;
  MatMulDims d;
  d.transpose_a = ta;
  d.transpose_b = tb;
  d.m = std::max<int64_t>(a.dim_size(ta ? 1 : 0), 1);
  d.k = std::max<int64_t>(a.dim_size(ta ? 0 : 1), 1);
  d.n = std::max<int64_t>(b.dim_size(tb ? 0 : 1), 1);
  return HasFastGradientDescentMatMul(d);
}

// ApplyGradientDescent(var, alpha, MatMul(a, b)), the product read by nothing else ->
// _ApplyGradientDescentMatMul. Not when a or b reads a variable directly: the fused node reads
// its inputs where the update runs, and an update before it could have changed that variable.
std::optional<Fusion> MatchGradientDescentMatMul(const Node& apply,
                                                 const SoleConsumer& sole_consumer) {
  if (apply.op() != "ApplyGradientDescent" || apply.input(1).type() != DT_FLOAT) {
    return std::nullopt;
  }
  const Node& matmul = *apply.input(2).node();
  if (matmul.op() != "MatMul" || !IsFloat(matmul) || sole_consumer(matmul) != &apply ||
      IsRef(matmul.input(0)) || IsRef(matmul.input(1)) || !HasFastProduct(matmul)) {
    return std::nullopt;
  }
  Fusion f;
  f.parts = {&matmul, &apply};
  f.op = "_ApplyGradientDescentMatMul";
  f.attrs = apply.attrs();
  for (const char* attr : {"transpose_a", "transpose_b"}) {
    auto it = matmul.attrs().find(attr);
    if (it != matmul.attrs().end()) f.attrs[attr] = it->second;
  }
  f.inputs = {apply.input(0), apply.input(1), matmul.input(0), matmul.input(1)};
  return f;
}

// Whether a Sum node reduces over the last axis of its rank-`rank` input, keeping it.
bool SumsLastAxisKeepingIt(const Node& sum, int rank) {
  bool keep_dims = false;
  if (!GetAttr(sum.attrs(), "keep_dims", &keep_dims).ok() || !keep_dims) return false;
  std::optional<Tensor> axes = ConstValue(sum.input(1));
  if (!axes.has_value() || axes->NumElements() != 1) return false;
  absl::StatusOr<IntList> axis = IntValues(*axes, "axis");
  return axis.ok() && ((*axis)[0] == -1 || (*axis)[0] == rank - 1);
}

// (g - Sum(g * y, -1, keep_dims)) * y, with each intermediate read only by the next, as the
// gradient of y = Softmax(x) is built (ops/nn_ops.cc, and TensorFlow's Python gradient) ->
// _SoftmaxGrad(g, y). g and y must have one fully known shape (no broadcasting).
std::optional<Fusion> MatchSoftmaxGrad(const Node& mul, const SoleConsumer& sole_consumer) {
  if (mul.op() != "Mul" || !IsFloat(mul)) return std::nullopt;
  for (int side : {0, 1}) {
    const Node& sub = *mul.input(side).node();
    const Output y = mul.input(1 - side);
    if (sub.op() != "Sub" || sole_consumer(sub) != &mul) continue;
    const Output g = sub.input(0);
    const Node& sum = *sub.input(1).node();
    const PartialTensorShape& shape = g.shape();
    if (!shape.IsFullyDefined() || shape.dims() == 0 || !(y.shape() == shape) ||
        sum.op() != "Sum" || sole_consumer(sum) != &sub ||
        !SumsLastAxisKeepingIt(sum, shape.dims()) ||
        !HasFastSoftmaxGrad(*shape.AsTensorShape())) {
      continue;
    }
    const Node& prod = *sum.input(0).node();
    const bool g_times_y = prod.num_inputs() == 2 &&
                           ((prod.input(0) == g && prod.input(1) == y) ||
                            (prod.input(0) == y && prod.input(1) == g));
    if (prod.op() != "Mul" || !g_times_y || sole_consumer(prod) != &sum) continue;
    Fusion f;
    f.parts = {&prod, &sum, &sub, &mul};
    f.op = "_SoftmaxGrad";
    f.attrs = {{"T", MakeAttr(DT_FLOAT)}};
    f.inputs = {g, y};
    return f;
  }
  return std::nullopt;
}

// Two or more element-wise binary ops (fused::IsChainableBinaryOp), each the only reader of the
// one before and keeping its fully known shape, the other operands broadcasting into it ->
// _FusedBinary. The first op's full-shape operand goes first (swapped if the op commutes).
std::optional<Fusion> MatchBinaryChain(const Node& first, const SoleConsumer& sole_consumer) {
  constexpr size_t kMaxOps = 8;
  if (!fused::IsChainableBinaryOp(first.op()) || !IsFloat(first)) return std::nullopt;
  const PartialTensorShape& shape = OutputOf(first, 0).shape();
  if (!shape.IsFullyDefined()) return std::nullopt;
  Fusion f;
  if (first.input(0).shape() == shape) {
    f.inputs = {first.input(0), first.input(1)};
  } else if (fused::IsCommutativeBinaryOp(first.op()) && first.input(1).shape() == shape) {
    f.inputs = {first.input(1), first.input(0)};
  } else {
    return std::nullopt;
  }
  f.parts = {&first};
  std::vector<std::string> ops = {first.op()};
  for (const Node* cur = &first; f.parts.size() < kMaxOps;) {
    const Node* next = sole_consumer(*cur);
    if (next == nullptr || !fused::IsChainableBinaryOp(next->op()) || !IsFloat(*next) ||
        !(OutputOf(*next, 0).shape() == shape)) {
      break;
    }
    const Output chain = OutputOf(*cur, 0);
    Output other;
    if (next->input(0) == chain) {
      other = next->input(1);
    } else if (fused::IsCommutativeBinaryOp(next->op())) {
      other = next->input(0);
    } else {
      break;  // chain is the divisor or subtrahend: no post-op computes that.
    }
    f.parts.push_back(next);
    ops.push_back(next->op());
    f.inputs.push_back(other);
    cur = next;
  }
  if (f.parts.size() < 2) return std::nullopt;
  f.op = "_FusedBinary";
  f.attrs = {{"T", MakeAttr(DT_FLOAT)},
             {"fused_ops", MakeStringListAttr(ops)},
             {"num_args", MakeAttr(static_cast<int64_t>(f.inputs.size()))}};
  return f;
}

absl::StatusOr<OptimizedGraph> FuseAndPrune(const OptimizedGraph& in, bool fuse) {
  const Graph& src = *in.graph;
  std::vector<bool> needed = NodesNeededFor(src, in.feeds, in.fetches, in.targets);
  for (const Output& f : in.feeds) needed[f.node()->id()] = true;  // The feed must exist.
  absl::flat_hash_set<Output> pinned(in.fetches.begin(), in.fetches.end());
  pinned.insert(in.feeds.begin(), in.feeds.end());
  const absl::flat_hash_set<const Node*> targeted(in.targets.begin(), in.targets.end());

  // The one needed node reading output 0 of `n`, when nothing else (fetch, control edge, other
  // reader) needs that output to exist.
  auto sole_consumer = [&](const Node& n) -> const Node* {
    if (pinned.contains(OutputOf(n, 0)) || targeted.contains(&n)) return nullptr;
    for (const Node* c : n.control_outputs()) {
      if (needed[c->id()]) return nullptr;
    }
    const Node* consumer = nullptr;
    int uses = 0;
    for (const auto& [c, slot] : n.out_edges()) {
      if (needed[c->id()]) {
        consumer = c;
        ++uses;
      }
    }
    return uses == 1 ? consumer : nullptr;
  };
  absl::flat_hash_map<const Node*, Fusion> fusion_at;  // By its last part.
  absl::flat_hash_set<const Node*> absorbed;            // Parts other than the last.
  auto claimed = [&](const Fusion& f) {
    for (const Node* part : f.parts) {
      if (absorbed.contains(part) || fusion_at.contains(part)) return true;
    }
    return false;
  };
  // Element-wise chains last: their ops are also parts of the larger patterns.
  using Matcher = std::optional<Fusion> (*)(const Node&, const SoleConsumer&);
  for (const std::vector<Matcher>& sweep :
       {std::vector<Matcher>{MatchBiasAdd, MatchGradientDescentMatMul, MatchSoftmaxGrad},
        std::vector<Matcher>{MatchBinaryChain}}) {
    for (int id = 0; fuse && id < src.num_nodes(); ++id) {
      if (!needed[id]) continue;
      for (Matcher match : sweep) {
        std::optional<Fusion> f = match(*src.node(id), sole_consumer);
        if (!f.has_value() || claimed(*f)) continue;
        for (size_t i = 0; i + 1 < f->parts.size(); ++i) absorbed.insert(f->parts[i]);
        const Node* last = f->parts.back();
        fusion_at[last] = *std::move(f);
        break;
      }
    }
  }

  OptimizedGraph out;
  out.graph = std::make_unique<Graph>();
  *out.graph->mutable_versions() = src.versions();
  absl::flat_hash_map<Output, Output> outputs;
  absl::flat_hash_map<const Node*, Node*> nodes;
  auto map = [&](const Output& o) {
    auto it = outputs.find(o);
    return it == outputs.end() ? Output() : it->second;  // Null: NodeBuilder reports it.
  };
  auto add_controls = [&](const Node& n, std::vector<Node*>* controls) -> absl::Status {
    for (const Node* c : n.control_inputs()) {
      auto it = nodes.find(c);
      if (it == nodes.end()) {
        return absl::InternalError(absl::StrCat("node ", n.DebugString(), ": control input ",
                                                c->DebugString(), " was not copied"));
      }
      if (std::find(controls->begin(), controls->end(), it->second) == controls->end()) {
        controls->push_back(it->second);
      }
    }
    return absl::OkStatus();
  };
  for (int id = 0; id < src.num_nodes(); ++id) {
    const Node& n = *src.node(id);
    if (!needed[id] || absorbed.contains(&n)) continue;
    std::vector<Node*> controls;
    absl::StatusOr<Node*> copy;
    auto fusion = fusion_at.find(&n);
    if (fusion != fusion_at.end()) {
      const Fusion& f = fusion->second;
      for (const Node* part : f.parts) {
        absl::Status s = add_controls(*part, &controls);
        if (!s.ok()) return s;
      }
      std::vector<Output> inputs;
      for (const Output& i : f.inputs) inputs.push_back(map(i));
      copy = AddNode(f.op, f.attrs, n.device(), n.name(), inputs, controls, out.graph.get());
    } else {
      std::vector<Output> inputs;
      for (const Output& i : n.inputs()) inputs.push_back(map(i));
      absl::Status s = add_controls(n, &controls);
      if (!s.ok()) return s;
      copy = AddNodeLike(n, n.name(), inputs, controls, out.graph.get());
    }
    if (!copy.ok()) return copy.status();
    nodes[&n] = *copy;
    for (int i = 0; i < n.num_outputs(); ++i) outputs[OutputOf(n, i)] = Output(*copy, i);
  }
  for (const Output& f : in.feeds) out.feeds.push_back(map(f));
  for (const Output& f : in.fetches) out.fetches.push_back(map(f));
  for (const Node* t : in.targets) out.targets.push_back(nodes[t]);  // Targets are needed.
  return out;
}

}  // namespace

absl::StatusOr<OptimizedGraph> OptimizeGraph(const Graph& graph, absl::Span<const Output> feeds,
                                             absl::Span<const TensorShape> feed_shapes,
                                             absl::Span<const Output> fetches,
                                             absl::Span<const Node* const> targets,
                                             const GraphOptimizerOptions& options) {
  Simplifier simplifier(graph, options);
  absl::StatusOr<OptimizedGraph> simplified = simplifier.Run(feeds, feed_shapes, fetches, targets);
  if (!simplified.ok()) return simplified.status();
  return FuseAndPrune(*simplified, options.fuse_ops);
}

}  // namespace dflow
