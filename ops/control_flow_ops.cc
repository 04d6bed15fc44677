// Control-flow ops, op by op: schema, shape function, gradient, builder. What they do at run time
// is the dataflow executor's (runtime/dataflow_executor.cc); their kernels only forward values.
#include "ops/control_flow_ops.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "ops/array_ops.h"
#include "ops/math_ops.h"
#include "ops/op_registry.h"
#include "ops/shape_inference.h"

namespace dflow {

bool IsControlFlowOp(absl::string_view op) {
  static const auto* kOps = new absl::flat_hash_set<absl::string_view>{
      "Switch",        "RefSwitch",        "Merge",    "RefMerge",      "Enter",
      "RefEnter",      "Exit",             "RefExit",  "NextIteration", "RefNextIteration",
      "LoopCond",      "ControlTrigger"};
  return kOps->contains(op);
}

namespace {

// Every output has input 0's shape.
absl::Status ForwardShape(InferenceContext* ctx) {
  for (int i = 0; i < ctx->num_outputs(); ++i) ctx->set_output(i, ctx->input(0));
  return absl::OkStatus();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Switch, RefSwitch

namespace {

absl::Status SwitchShape(InferenceContext* ctx) {
  DFLOW_RETURN_IF_ERROR(ctx->WithRank(1, 0).status());
  return ForwardShape(ctx);
}

}  // namespace

REGISTER_OP("Switch")
    .Input("data: T").Input("pred: bool")
    .Output("output_false: T").Output("output_true: T")
    .Attr("T: type")
    .SetShapeFn(SwitchShape);
REGISTER_OP("RefSwitch")
    .Input("data: Ref(T)").Input("pred: bool")
    .Output("output_false: Ref(T)").Output("output_true: Ref(T)")
    .Attr("T: type")
    .SetShapeFn(SwitchShape);

// In a cond, exactly one output of Switch is live, so is exactly one of its gradients (the
// other is the lazily built zeros of a dead tensor, itself dead): Merge picks the live one.
absl::Status SwitchGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                        std::vector<Output>* grad_inputs) {
  ops::Merge merge(scope, {grads[0], grads[1]});
  *grad_inputs = {merge.output, Output()};
  return scope.status();
}
REGISTER_GRADIENT("Switch", SwitchGrad);

ops::Switch::Switch(const Scope& scope, Input data, Input pred) {
  Node* node = AddOp(scope, "Switch", {data, pred});
  if (node == nullptr) return;
  output_false = Output(node, 0);
  output_true = Output(node, 1);
}

// ---------------------------------------------------------------------------------------------
// Merge, RefMerge

namespace {

// The most specific shape every input fits; value_index is a scalar.
absl::Status MergeShape(InferenceContext* ctx) {
  PartialTensorShape out = ctx->input(0);
  for (int i = 1; i < ctx->num_inputs() && !out.unknown_rank(); ++i) {
    const PartialTensorShape& in = ctx->input(i);
    if (in.unknown_rank() || in.dims() != out.dims()) {
      out = PartialTensorShape();
      break;
    }
    std::vector<int64_t> dims(out.dim_sizes().begin(), out.dim_sizes().end());
    for (int d = 0; d < in.dims(); ++d) {
      if (dims[d] != in.dim_size(d)) dims[d] = -1;
    }
    out = PartialTensorShape(absl::MakeConstSpan(dims));
  }
  ctx->set_output(0, out);
  ctx->set_output(1, PartialTensorShape({}));
  return absl::OkStatus();
}

}  // namespace

REGISTER_OP("Merge")
    .Input("inputs: N * T")
    .Output("output: T").Output("value_index: int32")
    .Attr("T: type").Attr("N: int >= 1")
    .SetShapeFn(MergeShape);
REGISTER_OP("RefMerge")
    .Input("inputs: Ref(N * T)")
    .Output("output: Ref(T)").Output("value_index: int32")
    .Attr("T: type").Attr("N: int >= 1")
    .SetShapeFn(MergeShape);

// The gradient of a two-way (cond) Merge goes back to the input that was live: value_index
// names it, so a Switch on value_index == 1 routes the gradient there and leaves the other dead.
absl::Status MergeGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                       std::vector<Output>* grad_inputs) {
  if (node.num_inputs() != 2) {
    return absl::UnimplementedError(absl::StrCat(
        "gradient of Merge node '", node.name(), "' with ", node.num_inputs(),
        " inputs: only the two-input Merge of a cond is differentiable"));
  }
  for (int i = 0; i < 2; ++i) {
    if (node.is_back_edge(i)) {
      return absl::UnimplementedError(absl::StrCat(
          "gradient of Merge node '", node.name(), "': gradients of while loops are not supported yet"));
    }
  }
  ops::Switch route(scope, grads[0], ops::Equal(scope, OutputOf(node, 1), 1));
  *grad_inputs = {route.output_false, route.output_true};
  return scope.status();
}
REGISTER_GRADIENT("Merge", MergeGrad);

ops::Merge::Merge(const Scope& scope, absl::Span<const Output> inputs) {
  Node* node = AddOpWithList(scope, "Merge", inputs, {});
  if (node == nullptr) return;
  output = Output(node, 0);
  value_index = Output(node, 1);
}

// ---------------------------------------------------------------------------------------------
// Enter, RefEnter

REGISTER_OP("Enter")
    .Input("data: T").Output("output: T")
    .Attr("T: type").Attr("frame_name: string").Attr("is_constant: bool = false")
    .Attr("parallel_iterations: int = 10")
    .SetShapeFn(ForwardShape);
REGISTER_OP("RefEnter")
    .Input("data: Ref(T)").Output("output: Ref(T)")
    .Attr("T: type").Attr("frame_name: string").Attr("is_constant: bool = false")
    .Attr("parallel_iterations: int = 10")
    .SetShapeFn(ForwardShape);

Output ops::Enter(const Scope& scope, Input data, absl::string_view frame_name,
                  const EnterAttrs& attrs) {
  AttrMap attr_map;
  attr_map["frame_name"].set_s(std::string(frame_name));
  attr_map["is_constant"].set_b(attrs.is_constant);
  attr_map["parallel_iterations"].set_i(attrs.parallel_iterations);
  return AddOp(scope, "Enter", {data}, attr_map);
}

// ---------------------------------------------------------------------------------------------
// Exit, RefExit

REGISTER_OP("Exit").Input("data: T").Output("output: T").Attr("T: type").SetShapeFn(ForwardShape);
REGISTER_OP("RefExit")
    .Input("data: Ref(T)").Output("output: Ref(T)").Attr("T: type")
    .SetShapeFn(ForwardShape);

Output ops::Exit(const Scope& scope, Input data) { return AddOp(scope, "Exit", {data}); }

// ---------------------------------------------------------------------------------------------
// NextIteration, RefNextIteration

REGISTER_OP("NextIteration")
    .Input("data: T").Output("output: T").Attr("T: type")
    .SetShapeFn(ForwardShape);
REGISTER_OP("RefNextIteration")
    .Input("data: Ref(T)").Output("output: Ref(T)").Attr("T: type")
    .SetShapeFn(ForwardShape);

Output ops::NextIteration(const Scope& scope, Input data) {
  return AddOp(scope, "NextIteration", {data});
}

// ---------------------------------------------------------------------------------------------
// LoopCond

REGISTER_OP("LoopCond")
    .Input("input: bool").Output("output: bool")
    .SetShapeFn([](InferenceContext* ctx) -> absl::Status {
      DFLOW_RETURN_IF_ERROR(ctx->WithRank(0, 0).status());
      ctx->set_output(0, PartialTensorShape({}));
      return absl::OkStatus();
    })
    .NotDifferentiable();

Output ops::LoopCond(const Scope& scope, Input input) { return AddOp(scope, "LoopCond", {input}); }

// ---------------------------------------------------------------------------------------------
// ControlTrigger: runs, live, whatever its control inputs' liveness.

REGISTER_OP("ControlTrigger").SetShapeFn(NoOutputs).NotDifferentiable();

// ---------------------------------------------------------------------------------------------
// Gradients through while loops (a backward loop popping the forward values from stacks, as
// TensorFlow's control_flow_grad builds it) are not built yet: asking for one is an error, not
// a silent zero.

absl::Status LoopGradUnimplemented(const Scope& scope, const Node& node,
                                   absl::Span<const Output> grads,
                                   std::vector<Output>* grad_inputs) {
  (void)scope;
  (void)grads;
  (void)grad_inputs;
  return absl::UnimplementedError(absl::StrCat(
      "gradient of ", node.op(), " node '", node.name(),
      "': gradients through while loops (and TensorArrays and stacks) are not supported yet"));
}
REGISTER_GRADIENT("Enter", LoopGradUnimplemented);
REGISTER_GRADIENT("RefEnter", LoopGradUnimplemented);
REGISTER_GRADIENT("Exit", LoopGradUnimplemented);
REGISTER_GRADIENT("RefExit", LoopGradUnimplemented);
REGISTER_GRADIENT("NextIteration", LoopGradUnimplemented);
REGISTER_GRADIENT("RefNextIteration", LoopGradUnimplemented);
REGISTER_GRADIENT("RefSwitch", LoopGradUnimplemented);
REGISTER_GRADIENT("RefMerge", LoopGradUnimplemented);

// ---------------------------------------------------------------------------------------------
// Cond and WhileLoop: the node patterns tf.cond and tf.while_loop build.

absl::Status ops::Cond(const Scope& scope, const Output& pred, const std::vector<Output>& inputs,
                       const BranchFn& true_fn, const BranchFn& false_fn,
                       std::vector<Output>* outputs) {
  outputs->clear();
  const Scope cond = scope.NewSubScope("cond");
  ops::Switch pivots(cond, pred, pred);
  const Output pivot_t = ops::Identity(cond.WithOpName("switch_t"), pivots.output_true);
  const Output pivot_f = ops::Identity(cond.WithOpName("switch_f"), pivots.output_false);
  std::vector<Output> in_t, in_f;
  for (const Output& in : inputs) {
    ops::Switch s(cond, in, pred);
    in_t.push_back(s.output_true);
    in_f.push_back(s.output_false);
  }
  DFLOW_RETURN_IF_ERROR(cond.status());
  std::vector<Output> out_t, out_f;
  DFLOW_RETURN_IF_ERROR(true_fn(cond.NewSubScope("true").WithControlDependencies(pivot_t), in_t,
                                &out_t));
  DFLOW_RETURN_IF_ERROR(false_fn(cond.NewSubScope("false").WithControlDependencies(pivot_f), in_f,
                                 &out_f));
  if (out_t.size() != out_f.size()) {
    return absl::InvalidArgumentError(absl::StrCat("Cond '", cond.GetUniqueNameForOp("Merge"),
                                                   "': the true branch returns ", out_t.size(),
                                                   " outputs, the false branch ", out_f.size()));
  }
  for (size_t i = 0; i < out_t.size(); ++i) {
    // A branch output taken straight from an input is still behind that branch's Switch.
    outputs->push_back(ops::Merge(cond, {out_f[i], out_t[i]}).output);
  }
  return cond.status();
}

absl::Status ops::WhileLoop(const Scope& scope, const std::vector<Output>& inputs,
                            const CondFn& cond, const BranchFn& body,
                            std::vector<Output>* outputs, absl::string_view frame_name) {
  WhileLoopOptions options;
  options.frame_name = std::string(frame_name);
  return WhileLoop(scope, inputs, cond, body, outputs, options);
}

absl::Status ops::WhileLoop(const Scope& scope, const std::vector<Output>& inputs,
                            const CondFn& cond, const BranchFn& body,
                            std::vector<Output>* outputs, const WhileLoopOptions& options) {
  outputs->clear();
  if (inputs.empty()) return absl::InvalidArgumentError("WhileLoop needs at least one loop variable");
  const Scope loop = scope.NewSubScope("while");
  const std::string frame = options.frame_name.empty() ? loop.GetUniqueNameForOp("while_context")
                                                       : options.frame_name;
  EnterAttrs enter_attrs;
  enter_attrs.parallel_iterations = options.parallel_iterations;
  EnterAttrs invariant_attrs = enter_attrs;
  invariant_attrs.is_constant = true;
  // Ops in the loop's frame depend only on the loop: the scope's control dependencies (outside
  // the frame) go to the Enters alone.
  const Scope inner = loop.WithNoControlDependencies();
  std::vector<Node*> merges;
  std::vector<Output> values;
  for (const Output& in : inputs) {
    const Output enter = ops::Enter(loop, in, frame, enter_attrs);
    ops::Merge merge(inner, {enter, enter});  // Input 1 becomes the back edge below.
    merges.push_back(merge.output.node());
    values.push_back(merge.output);
  }
  std::vector<Output> invariants;
  for (const Output& in : options.invariants) {
    invariants.push_back(ops::Enter(loop, in, frame, invariant_attrs));
  }
  DFLOW_RETURN_IF_ERROR(loop.status());
  std::vector<Output> cond_in = values;
  cond_in.insert(cond_in.end(), invariants.begin(), invariants.end());
  Output pred;
  DFLOW_RETURN_IF_ERROR(
      cond(inner.NewSubScope("cond").WithControlDependencies(values[0]), cond_in, &pred));
  const Output loop_cond = ops::LoopCond(inner, pred);
  std::vector<Output> body_in;
  for (size_t i = 0; i < values.size(); ++i) {
    ops::Switch s(inner, values[i], loop_cond);
    outputs->push_back(ops::Exit(inner, s.output_false));
    body_in.push_back(ops::Identity(inner, s.output_true));
  }
  DFLOW_RETURN_IF_ERROR(loop.status());
  const Output pivot = body_in[0];
  body_in.insert(body_in.end(), invariants.begin(), invariants.end());
  std::vector<Output> body_out;
  DFLOW_RETURN_IF_ERROR(
      body(inner.NewSubScope("body").WithControlDependencies(pivot), body_in, &body_out));
  if (body_out.size() != inputs.size()) {
    return absl::InvalidArgumentError(absl::StrCat("WhileLoop: the body returns ", body_out.size(),
                                                   " values for ", inputs.size(), " loop variables"));
  }
  for (size_t i = 0; i < body_out.size(); ++i) {
    const Output next = ops::NextIteration(inner, body_out[i]);
    DFLOW_RETURN_IF_ERROR(loop.status());
    DFLOW_RETURN_IF_ERROR(loop.graph()->AddBackEdge(merges[i], 1, next));
  }
  return loop.status();
}

}  // namespace dflow
