// Pass 2 of the graph optimizer (optimizer_passes.h): prune what pass 1 left dead and replace
// chains of nodes by one fused node (ops/fused_ops.h).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "graph/attr_value_util.h"
#include "graph/status_macros.h"
#include "graph/tensor.h"
#include "kernels/fused_kernels.h"
#include "ops/fused_ops.h"
#include "runtime/optimizer_passes.h"

namespace dflow {
namespace optimizer {
namespace {

// Needed nodes replaced by one fused node. It takes the name, device and outputs of the last
// part (the only one whose outputs are read elsewhere) and the control inputs of every part.
struct Fusion {
  std::vector<const Node*> parts;  // In id order; parts.back() is the last.
  std::string op;
  AttrMap attrs;
  std::vector<Output> inputs;  // Flat, in the graph being fused.
  // Inputs replaced by new Consts (folded weights): input index -> value.
  std::vector<std::pair<size_t, Tensor>> folded;
};

// What the matchers ask of the needed nodes' edges. Called as a function: the one needed node
// reading output 0 of a node, when nothing else (a fetch, a control edge, another reader) needs
// that output to exist; else null.
struct SoleConsumer {
  std::function<const Node*(const Node&)> sole;
  std::function<bool(const Output&)> used;  // Fetched or read by a needed node.
  const Node* operator()(const Node& n) const { return sole(n); }
};

bool IsFloat(const Node& n) { return n.num_outputs() > 0 && n.output_type(0) == DT_FLOAT; }

// The activation reading `last` (the fused chain's end so far), if any, appended to `f`, and
// fused_ops and num_args set for a bias and that activation.
void AddActivation(const Node& last, const SoleConsumer& sole_consumer, Fusion* f) {
  std::vector<std::string> fused_ops = {"BiasAdd"};
  const Node* act = sole_consumer(last);
  if (act != nullptr && fused::ActivationOf(act->op()).has_value() && IsFloat(*act) &&
      act->input(0) == OutputOf(last, 0)) {
    f->parts.push_back(act);
    fused_ops.push_back(act->op());
    float alpha = 0.2f;
    if (act->op() == "LeakyRelu" && GetAttr(act->attrs(), "alpha", &alpha).ok()) {
      f->attrs["leakyrelu_alpha"] = MakeAttr(alpha);
    }
  }
  f->attrs["fused_ops"] = MakeStringListAttr(fused_ops);
  f->attrs["num_args"] = MakeAttr(int64_t{1});
}

// Per-output-channel y * scale + shift: what the affine nodes after a convolution compute.
struct Affine {
  std::vector<float> scale, shift;
  bool scaled = false;  // Some node multiplies: the filter is rewritten.
};

// The values of a float Const broadcasting along the last axis of a [..., channels] result (a
// scalar when `scalar_ok`, else [channels] with any leading 1s), one per channel; else nullopt.
std::optional<std::vector<float>> ChannelValues(const Output& o, int64_t channels,
                                                bool scalar_ok) {
  std::optional<Tensor> t = ConstValue(o);
  if (!t.has_value() || t->dtype() != DT_FLOAT) return std::nullopt;
  const TensorShape& shape = t->shape();
  for (int d = 0; d + 1 < shape.dims(); ++d) {
    if (shape.dim_size(d) != 1) return std::nullopt;
  }
  const bool scalar = t->NumElements() == 1 && scalar_ok;
  if (!scalar && (shape.dims() == 0 || shape.dim_size(shape.dims() - 1) != channels)) {
    return std::nullopt;
  }
  absl::Span<const float> v = t->flat<float>();
  std::vector<float> values(channels);
  for (int64_t c = 0; c < channels; ++c) values[c] = v[scalar ? 0 : c];
  return values;
}

// Folds `n`, which reads `chain`, into `a` when it is a per-channel affine node with Const
// parameters keeping chain's shape: BiasAdd, Add/AddV2, Sub (chain first), Mul, or an inference
// FusedBatchNorm/V2/V3 whose other outputs nothing reads. `a` is unchanged otherwise.
bool FoldAffine(const Node& n, const Output& chain, int64_t channels,
                const SoleConsumer& readers, Affine* a) {
  if (!IsFloat(n) || !(OutputOf(n, 0).shape() == chain.shape())) return false;
  const std::string& op = n.op();
  const bool first = n.input(0) == chain;
  const Output other = n.num_inputs() == 2 ? n.input(first ? 1 : 0) : Output();
  std::string format;
  if (op == "BiasAdd" || op == "Add" || op == "AddV2" || (op == "Sub" && first)) {
    if (op == "BiasAdd" && (!first || !GetAttr(n.attrs(), "data_format", &format).ok() ||
                            format != "NHWC")) {
      return false;
    }
    std::optional<std::vector<float>> c = ChannelValues(other, channels, op != "BiasAdd");
    if (!c.has_value()) return false;
    for (int64_t i = 0; i < channels; ++i) a->shift[i] += op == "Sub" ? -(*c)[i] : (*c)[i];
    return true;
  }
  if (op == "Mul") {
    std::optional<std::vector<float>> c = ChannelValues(other, channels, true);
    if (!c.has_value()) return false;
    for (int64_t i = 0; i < channels; ++i) {
      a->scale[i] *= (*c)[i];
      a->shift[i] *= (*c)[i];
    }
    a->scaled = true;
    return true;
  }
  if (op != "FusedBatchNorm" && op != "FusedBatchNormV2" && op != "FusedBatchNormV3") {
    return false;
  }
  bool training = true;
  float epsilon = 1e-4f;
  if (!first || !GetAttr(n.attrs(), "is_training", &training).ok() || training ||
      !GetAttr(n.attrs(), "data_format", &format).ok() || format != "NHWC" ||
      !GetAttr(n.attrs(), "epsilon", &epsilon).ok()) {
    return false;
  }
  for (int i = 1; i < n.num_outputs(); ++i) {
    if (readers.used(OutputOf(n, i))) return false;
  }
  std::optional<std::vector<float>> p[4];  // scale, offset, mean, variance
  for (int i = 0; i < 4; ++i) {
    p[i] = ChannelValues(n.input(i + 1), channels, false);
    if (!p[i].has_value()) return false;
  }
  // TensorFlow's inference: (x - mean) * rsqrt(variance + epsilon) * scale + offset.
  for (int64_t i = 0; i < channels; ++i) {
    const float k = (*p[0])[i] / std::sqrt((*p[3])[i] + epsilon);
    a->scale[i] *= k;
    a->shift[i] = (a->shift[i] - (*p[2])[i]) * k + (*p[1])[i];
  }
  a->scaled = true;
  return true;
}

// A Conv2D or DepthwiseConv2dNative (NHWC) with a Const filter, then, each the only reader of
// the one before, per-channel affine nodes with Const parameters (FoldAffine: bias adds, the
// Mul/Add form of a batch norm, FusedBatchNorm) and an activation -> _FusedConv2D or
// _FusedDepthwiseConv2dNative with the affine chain folded into a new filter (each output
// channel's weights times its scale) and bias (its shift).
std::optional<Fusion> MatchFoldedConvolution(const Node& base, const SoleConsumer& sole_consumer) {
  const bool depthwise = base.op() == "DepthwiseConv2dNative";
  std::string format;
  if ((base.op() != "Conv2D" && !depthwise) || !IsFloat(base) ||
      !GetAttr(base.attrs(), "data_format", &format).ok() || format != "NHWC") {
    return std::nullopt;
  }
  const std::optional<Tensor> filter = ConstValue(base.input(1));
  const PartialTensorShape& shape = OutputOf(base, 0).shape();
  const int64_t channels = shape.unknown_rank() || shape.dims() != 4 ? -1 : shape.dim_size(3);
  if (!filter.has_value() || filter->dtype() != DT_FLOAT || filter->dims() != 4 ||
      channels <= 0 || filter->NumElements() % channels != 0) {
    return std::nullopt;
  }
  Affine a;
  a.scale.assign(channels, 1.0f);
  a.shift.assign(channels, 0.0f);
  Fusion f;
  f.parts = {&base};
  for (const Node* next = sole_consumer(base);
       next != nullptr && FoldAffine(*next, OutputOf(*f.parts.back(), 0), channels,
                                     sole_consumer, &a);
       next = sole_consumer(*next)) {
    f.parts.push_back(next);
  }
  if (f.parts.size() == 1) return std::nullopt;
  f.op = depthwise ? "_FusedDepthwiseConv2dNative" : "_FusedConv2D";
  f.attrs = base.attrs();
  // Input 2, the bias, is always a new Const; the filter only when scaled.
  f.inputs = {base.input(0), base.input(1), base.input(1)};
  absl::StatusOr<Tensor> bias = Tensor::FromVector<float>(a.shift, TensorShape({channels}));
  if (!bias.ok()) return std::nullopt;
  f.folded.emplace_back(2, *std::move(bias));
  if (a.scaled) {
    // The output channel is the filter's last index for both ([..., in, out] and
    // [..., in, multiplier] with output channel in * multiplier + m).
    Tensor w = filter->DeepCopy();
    absl::Span<float> v = w.flat<float>();
    for (size_t i = 0; i < v.size(); ++i) v[i] *= a.scale[i % channels];
    f.folded.emplace_back(1, std::move(w));
  }
  AddActivation(*f.parts.back(), sole_consumer, &f);
  return f;
}

// A MatMul, Conv2D or DepthwiseConv2dNative, the BiasAdd (or Add of a 1-D bias) that is its only
// consumer, and the activation that is the bias add's only consumer, if any -> _FusedMatMul,
// _FusedConv2D or _FusedDepthwiseConv2dNative.
std::optional<Fusion> MatchBiasAdd(const Node& base, const SoleConsumer& sole_consumer) {
  const bool conv = base.op() == "Conv2D" || base.op() == "DepthwiseConv2dNative";
  std::string base_format;
  if ((base.op() != "MatMul" && !conv) || !IsFloat(base) ||
      (conv && (!GetAttr(base.attrs(), "data_format", &base_format).ok() ||
                base_format != "NHWC"))) {
    return std::nullopt;
  }
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
  f.op = base.op() == "MatMul"   ? "_FusedMatMul"
         : base.op() == "Conv2D" ? "_FusedConv2D"
                                 : "_FusedDepthwiseConv2dNative";
  f.attrs = base.attrs();
  f.inputs = {base.input(0), base.input(1), bias};
  AddActivation(*add, sole_consumer, &f);
  return f;
}

// Whether _ApplyGradientDescentMatMul is no slower than the unfused pair for this MatMul: oneDNN
// runs its product summed into the variable with optimized code on this CPU
// (kernels/fused_kernels.h; a dimension known only at run time counts as 1), or the variable is
// small enough that the unfused update is the same one-thread loop the fused kernel falls back
// to.
bool FusedUpdatePays(const Node& matmul) {
  bool ta = false, tb = false;
  GetAttr(matmul.attrs(), "transpose_a", &ta).IgnoreError();
  GetAttr(matmul.attrs(), "transpose_b", &tb).IgnoreError();
  const PartialTensorShape& a = matmul.input(0).shape();
  const PartialTensorShape& b = matmul.input(1).shape();
  if (a.unknown_rank() || b.unknown_rank() || a.dims() != 2 || b.dims() != 2) return false;
  MatMulDims d;
  d.transpose_a = ta;
  d.transpose_b = tb;
  d.m = a.dim_size(ta ? 1 : 0);
  d.k = std::max<int64_t>(a.dim_size(ta ? 0 : 1), 1);
  d.n = b.dim_size(tb ? 0 : 1);
  if (d.m > 0 && d.n > 0 && d.m * d.n <= kLoopMaxFusedUpdate) return true;
  d.m = std::max<int64_t>(d.m, 1);
  d.n = std::max<int64_t>(d.n, 1);
  return HasFastGradientDescentMatMul(d);
}

// ApplyGradientDescent(var, alpha, MatMul(a, b)), the product read by nothing else ->
// _ApplyGradientDescentMatMul, when that pays (FusedUpdatePays). Not when a or b reads a
// variable directly: the fused node reads its inputs where the update runs, and an update before
// it could have changed that variable.
std::optional<Fusion> MatchGradientDescentMatMul(const Node& apply,
                                                 const SoleConsumer& sole_consumer) {
  if (apply.op() != "ApplyGradientDescent" || apply.input(1).type() != DT_FLOAT) {
    return std::nullopt;
  }
  const Node& matmul = *apply.input(2).node();
  if (matmul.op() != "MatMul" || !IsFloat(matmul) || sole_consumer(matmul) != &apply ||
      IsRef(matmul.input(0)) || IsRef(matmul.input(1)) || !FusedUpdatePays(matmul)) {
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
}  // namespace

absl::StatusOr<OptimizedGraph> FuseAndPrune(const OptimizedGraph& in, bool fuse) {
  const Graph& src = *in.graph;
  const Signature& sig = in.signature;
  std::vector<bool> needed = NodesNeededFor(src, sig.feeds, sig.fetches, sig.targets);
  for (const Output& f : sig.feeds) needed[f.node()->id()] = true;  // The feed must exist.
  absl::flat_hash_set<Output> pinned(sig.fetches.begin(), sig.fetches.end());
  pinned.insert(sig.feeds.begin(), sig.feeds.end());
  const absl::flat_hash_set<const Node*> targeted(sig.targets.begin(), sig.targets.end());

  // The one needed node reading output 0 of `n`, when nothing else (fetch, control edge, other
  // reader) needs that output to exist.
  SoleConsumer sole_consumer;
  sole_consumer.used = [&](const Output& o) {
    if (pinned.contains(o)) return true;
    for (const auto& [c, slot] : o.node()->out_edges()) {
      if (needed[c->id()] && c->input(slot) == o) return true;
    }
    return false;
  };
  sole_consumer.sole = [&](const Node& n) -> const Node* {
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
       {std::vector<Matcher>{MatchFoldedConvolution, MatchBiasAdd, MatchGradientDescentMatMul,
                             MatchSoftmaxGrad},
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

  // What the fused graph still reads: a part's inputs that a fusion replaced by folded Consts
  // (the original filter, the batch norm's parameters) are left behind. Ids are topological, so
  // one sweep from the last node back reaches every input.
  std::vector<bool> live(src.num_nodes(), false);
  for (const Output& f : sig.fetches) live[f.node()->id()] = true;
  for (const Output& f : sig.feeds) live[f.node()->id()] = true;
  for (const Node* t : sig.targets) live[t->id()] = true;
  for (int id = src.num_nodes() - 1; id >= 0; --id) {
    const Node& n = *src.node(id);
    if (!live[id] || absorbed.contains(&n)) continue;
    auto fusion = fusion_at.find(&n);
    const Fusion* f = fusion == fusion_at.end() ? nullptr : &fusion->second;
    const std::vector<Output>& inputs = f != nullptr ? f->inputs : n.inputs();
    for (size_t i = 0; i < inputs.size(); ++i) {
      const bool replaced =
          f != nullptr && std::any_of(f->folded.begin(), f->folded.end(),
                                      [i](const auto& folded) { return folded.first == i; });
      if (!replaced) live[inputs[i].node()->id()] = true;
    }
    for (const Node* part : f != nullptr ? f->parts : std::vector<const Node*>{&n}) {
      for (const Node* c : part->control_inputs()) live[c->id()] = true;
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
    if (!needed[id] || !live[id] || absorbed.contains(&n)) continue;
    auto fusion = fusion_at.find(&n);
    const Fusion* f = fusion == fusion_at.end() ? nullptr : &fusion->second;
    std::vector<Node*> controls;
    for (const Node* part : f != nullptr ? f->parts : std::vector<const Node*>{&n}) {
      DFLOW_RETURN_IF_ERROR(add_controls(*part, &controls));
    }
    std::vector<Output> inputs;
    for (const Output& i : f != nullptr ? f->inputs : n.inputs()) inputs.push_back(map(i));
    for (const auto& [index, value] : f != nullptr ? f->folded : decltype(f->folded){}) {
      DFLOW_ASSIGN_OR_RETURN(
          Node * c, AddNode("Const", {{"dtype", MakeAttr(value.dtype())}, {"value", MakeAttr(value)}},
                            n.device(), absl::StrCat(n.name(), "/_folded_", index), {}, {},
                            out.graph.get()));
      inputs[index] = Output(c, 0);
    }
    DFLOW_ASSIGN_OR_RETURN(Node * copy,
                           f != nullptr ? AddNode(f->op, f->attrs, n.device(), n.name(), inputs,
                                                  controls, out.graph.get())
                                        : AddNodeLike(n, n.name(), inputs, controls,
                                                      out.graph.get()));
    nodes[&n] = copy;
    for (int i = 0; i < n.num_outputs(); ++i) outputs[OutputOf(n, i)] = Output(copy, i);
  }
  out.signature.feed_shapes = sig.feed_shapes;
  for (const Output& f : sig.feeds) out.signature.feeds.push_back(map(f));
  for (const Output& f : sig.fetches) out.signature.fetches.push_back(map(f));
  for (const Node* t : sig.targets) out.signature.targets.push_back(nodes[t]);  // Needed.
  return out;
}

}  // namespace optimizer
}  // namespace dflow
