// Pass 1 of the graph optimizer (optimizer_passes.h): prune, substitute feeds, fold constants,
// remove Identities and NoOps, merge duplicates.
#include <algorithm>
#include <cassert>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "graph/attr_value_util.h"
#include "graph/status_macros.h"
#include "kernels/dnnl_util.h"
#include "kernels/op_kernel.h"
#include "ops/node_builder.h"
#include "ops/op_registry.h"
#include "ops/shape_inference.h"
#include "runtime/optimizer_passes.h"

namespace dflow {
namespace optimizer {
namespace {

// Larger results stay computed at run time: as Consts they would bloat every plan.
constexpr int64_t kMaxFoldedElements = int64_t{1} << 20;

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

// Whether `node` is one of `graph`'s nodes (Signature's promise, asserted).
[[maybe_unused]] bool BelongsTo(const Graph& graph, const Node* node) {
  return node != nullptr && node->id() < graph.num_nodes() && graph.node(node->id()) == node;
}

[[maybe_unused]] bool IsOutputOf(const Graph& graph, const Output& o) {
  return BelongsTo(graph, o.node()) && o.index() >= 0 && o.index() < o.node()->num_outputs();
}

class Simplifier {
 public:
  Simplifier(const Graph& src, const GraphOptimizerOptions& options)
      : src_(src), options_(options), dst_(std::make_unique<Graph>()) {}

  // `signature` is valid for the source graph (runtime/signature.h).
  absl::StatusOr<OptimizedGraph> Run(const Signature& signature);

 private:
  // `feed` is not fed yet; `shape` fits its static shape unless it is not a Placeholder.
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
  // Source output -> output in the copy (null until copied), by source node id and index:
  // flat, as a graph may hold millions of nodes.
  std::vector<int> first_output_;
  std::vector<Output> outputs_;
  Output& Mapped(const Output& source) {
    return outputs_[first_output_[source.node()->id()] + source.index()];
  }
  // Source node -> what a control edge from it becomes: its copy, its replacement, or (for a
  // removed NoOp) its own control inputs.
  std::vector<absl::InlinedVector<Node*, 1>> controls_;  // By source node id.
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

absl::StatusOr<OptimizedGraph> Simplifier::Run(const Signature& signature) {
  const std::vector<Output>& feeds = signature.feeds;
  const std::vector<Output>& fetches = signature.fetches;
  const std::vector<const Node*>& targets = signature.targets;
  assert(signature.feed_shapes.size() == feeds.size());
  assert(std::all_of(feeds.begin(), feeds.end(),
                     [&](const Output& f) { return IsOutputOf(src_, f); }));
  for (const Output& f : fetches) {
    assert(IsOutputOf(src_, f));
    fetched_.insert(f);
  }
  for (const Node* t : targets) {
    assert(BelongsTo(src_, t));
    targeted_.insert(t);
  }
  *dst_->mutable_versions() = src_.versions();
  first_output_.reserve(src_.num_nodes() + 1);
  first_output_.push_back(0);
  for (int id = 0; id < src_.num_nodes(); ++id) {
    first_output_.push_back(first_output_.back() + src_.node(id)->num_outputs());
  }
  outputs_.assign(first_output_.back(), Output());
  controls_.resize(src_.num_nodes());
  for (int id = 0; id < src_.num_nodes(); ++id) {
    const Node* n = src_.node(id);
    bool validate = true;
    if (n->op() == "Assign" && GetAttr(n->attrs(), "validate_shape", &validate).ok() && !validate) {
      variable_shapes_fixed_ = false;
    }
  }
  for (size_t i = 0; i < feeds.size(); ++i) {
    DFLOW_RETURN_IF_ERROR(AddFeed(feeds[i], signature.feed_shapes[i]));
  }
  std::vector<bool> needed = NodesNeededFor(src_, feeds, fetches, targets);
  for (const Output& f : ref_feeds_) needed[f.node()->id()] = true;  // The feed must exist.
  for (int id = 0; id < src_.num_nodes(); ++id) {
    if (!needed[id]) continue;
    DFLOW_RETURN_IF_ERROR(Visit(*src_.node(id)));
  }

  OptimizedGraph result;
  result.signature.feed_shapes = signature.feed_shapes;
  for (const Output& f : feeds) result.signature.feeds.push_back(Map(f));
  for (const Output& f : fetches) result.signature.fetches.push_back(Map(f));
  for (const Node* t : targets) {
    if (controls_[t->id()].empty()) {
      return absl::InternalError(absl::StrCat("target ", t->DebugString(), " was not copied"));
    }
    result.signature.targets.push_back(controls_[t->id()].front());
  }
  result.graph = std::move(dst_);
  return result;
}

absl::Status Simplifier::AddFeed(const Output& feed, const TensorShape& shape) {
  assert(!fed_.contains(feed) && !ref_feeds_.contains(feed));
  if (IsRef(feed)) {
    ref_feeds_.insert(feed);
    return absl::OkStatus();
  }
  // A fed Placeholder stays itself, only with a concrete shape.
  const Node& node = *feed.node();
  const std::string name =
      node.op() == "Placeholder"
          ? node.name()
          : FreshName(absl::StrCat(node.name(), "/fed",
                                   feed.index() == 0 ? "" : absl::StrCat("_", feed.index())));
  DFLOW_ASSIGN_OR_RETURN(Node * placeholder, NodeBuilder(name, "Placeholder")
                                                 .Device(node.device())
                                                 .Attr("dtype", feed.type())
                                                 .Attr("shape", shape)
                                                 .Finalize(dst_.get()));
  fed_[feed] = Output(placeholder, 0);
  return absl::OkStatus();
}

absl::Status Simplifier::Visit(const Node& n) {
  if (n.op() == "Placeholder" && fed_.contains(OutputOf(n, 0))) {
    controls_[n.id()] = {fed_.at(OutputOf(n, 0)).node()};
    return absl::OkStatus();
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
  if (n.is_opaque()) {
    // Nothing is known of what it computes: copied as it is, never folded or merged, and taken
    // to change state.
    DFLOW_ASSIGN_OR_RETURN(Node * copy, AddNodeLike(n, n.name(), inputs, controls, dst_.get()));
    for (int i = 0; i < n.num_outputs(); ++i) Mapped(OutputOf(n, i)) = Output(copy, i);
    controls_[n.id()] = {copy};
    effectful_.insert(copy);
    return absl::OkStatus();
  }
  const OpDef* op = OpRegistry::Global()->Find(n.op());
  if (op == nullptr) {
    return absl::NotFoundError(absl::StrCat("node ", n.DebugString(), ": unknown op"));
  }
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
      Mapped(OutputOf(n, 0)) = inputs[0];
      if (!controls.empty()) carried_[OutputOf(n, 0)] = controls;
      controls.push_back(inputs[0].node());
      controls_[n.id()].assign(controls.begin(), controls.end());
      return absl::OkStatus();
    }
    // A NoOp that is not run for itself only orders its consumers after its control inputs.
    if (n.op() == "NoOp") {
      controls_[n.id()].assign(controls.begin(), controls.end());
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
        DFLOW_ASSIGN_OR_RETURN(Node * c, AddConst(name, n.device(), (*values)[i]));
        Mapped(OutputOf(n, i)) = Output(c, 0);
      }
      controls_[n.id()].clear();
      return absl::OkStatus();
    }
  }

  // Nodes without inputs (Placeholders, variables) are distinct even when alike; so are reads
  // of a variable, which may see different values.
  const bool mergeable =
      !pinned && !op->is_stateful && !TouchesRefs(n) && (n.num_inputs() > 0 || n.op() == "Const");
  Tensor value;
  // A literal is keyed like folded Consts, to merge with them.
  const bool literal = mergeable && n.op() == "Const" && controls.empty() &&
                       GetAttr(n.attrs(), "value", &value).ok();
  DFLOW_ASSIGN_OR_RETURN(
      Node * copy,
      literal ? AddConst(n.name(), n.device(), value)
              : Deduplicated(
                    mergeable,
                    mergeable ? CseKey(n.op(), n.device(), n.attrs(), inputs, controls) : "",
                    [&] { return AddNodeLike(n, n.name(), inputs, controls, dst_.get()); }));
  for (int i = 0; i < n.num_outputs(); ++i) {
    Mapped(OutputOf(n, i)) = Output(copy, i);
    if (ref_feeds_.contains(OutputOf(n, i))) fed_refs_in_dst_.insert(Output(copy, i));
  }
  controls_[n.id()] = {copy};
  bool effectful = op->is_stateful && n.op() != "VariableV2";
  for (const Output& in : inputs) effectful |= effectful_.contains(in.node());
  for (const Node* c : controls) effectful |= effectful_.contains(c);
  if (effectful) effectful_.insert(copy);
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
  // A failing node is kept: running it reports the error with the run's context.
  if (!RunKernel(**kernel, &ctx).ok()) return std::nullopt;
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
  return outputs_[first_output_[o.node()->id()] + o.index()];  // Null: NodeBuilder reports it.
}

std::vector<Node*> Simplifier::MapControls(const Node& n) const {
  std::vector<Node*> result;
  auto add = [&](absl::Span<Node* const> nodes) {
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
    add(controls_[c->id()]);
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

}  // namespace

absl::StatusOr<OptimizedGraph> Simplify(const Graph& graph, const Signature& signature,
                                        const GraphOptimizerOptions& options) {
  return Simplifier(graph, options).Run(signature);
}

}  // namespace optimizer
}  // namespace dflow
