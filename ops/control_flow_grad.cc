// The gradient of a while loop, built for the loop as a whole (AddSymbolicGradients calls
// AddWhileLoopGradient at the loop's first Exit it reaches), with TensorFlow's structure: the
// Exits' gradients enter a backward loop, which runs the forward loop's trip count times and
// whose Exits are the gradients of the Enters (loop-invariant Enters' gradients are summed over
// the iterations in an accumulator loop variable). The forward loop gets a trip counter and
// pushes on stacks the values the backward loop needs; the backward loop pops them.
//
// Where this differs from TensorFlow's control_flow_grad.py (docs/design/control_flow.md,
// section 6): TensorFlow pushes every forward intermediate that a gradient function reads;
// dflow's graph is append-only (a gradient function's reference to a forward value cannot be
// rewired to a pop afterwards), so the forward loop pushes only each iteration's loop variables
// (and the outputs of stateful body nodes, such as TensorArray reads), and the backward body
// recomputes the forward body from the popped values before differentiating that copy with the
// ordinary AddSymbolicGradients. Nested loops and conds in the body are copied with it.
#include <algorithm>
#include <deque>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "ops/array_ops.h"
#include "ops/control_flow_ops.h"
#include "ops/gradients.h"
#include "ops/math_ops.h"
#include "ops/op_registry.h"

namespace dflow {
namespace {

bool IsOp(const Node* n, absl::string_view a, absl::string_view b) {
  return n->op() == a || n->op() == b;
}
bool IsEnter(const Node* n) { return IsOp(n, "Enter", "RefEnter"); }
bool IsExit(const Node* n) { return IsOp(n, "Exit", "RefExit"); }
bool IsDifferentiableType(DataType t) { return t == DT_FLOAT || t == DT_DOUBLE; }

std::string FrameName(const Node* enter) {
  std::string frame;
  (void)GetAttr(enter->attrs(), "frame_name", &frame);
  return frame;
}

// One loop variable: Enter -> Merge <- NextIteration; Merge -> Switch(LoopCond) -> Exit (false)
// and Identity (true, the body's input).
struct LoopVar {
  Node* enter = nullptr;
  Node* merge = nullptr;
  Node* identity = nullptr;
  Node* next = nullptr;
  Node* exit = nullptr;
};

struct Loop {
  std::string frame;
  Output loop_cond;
  std::vector<LoopVar> vars;
  std::vector<Node*> invariants;  // The frame's other Enters (is_constant), by id.
  absl::flat_hash_map<const Node*, int> depth;  // Frame nodes: 0 in this frame, 1 nested, ...
};

absl::Status NotALoop(const Node& exit, absl::string_view why) {
  return absl::UnimplementedError(absl::StrCat("gradient of Exit node '", exit.name(),
                                               "': not a while loop as tf.while_loop builds it (",
                                               why, ")"));
}

// The loop `exit` leaves, from the node pattern tf.while_loop (and ops::WhileLoop) builds.
absl::StatusOr<Loop> FindLoop(const Graph& graph, const Node& exit) {
  Loop loop;
  const Node* sw = exit.input(0).node();
  if (!IsOp(sw, "Switch", "RefSwitch") || exit.input(0).index() != 0) {
    return NotALoop(exit, "its input is not a Switch's false output");
  }
  loop.loop_cond = sw->input(1);
  if (loop.loop_cond.node()->op() != "LoopCond") return NotALoop(exit, "no LoopCond");
  for (const auto& [consumer, slot] : loop.loop_cond.node()->out_edges()) {
    if (slot != 1 || !IsOp(consumer, "Switch", "RefSwitch")) continue;
    LoopVar var;
    var.merge = consumer->input(0).node();
    if (!IsOp(var.merge, "Merge", "RefMerge") || var.merge->num_inputs() != 2 ||
        !var.merge->is_back_edge(1)) {
      return NotALoop(exit, absl::StrCat("Switch '", consumer->name(), "' has no loop Merge"));
    }
    var.enter = var.merge->input(0).node();
    var.next = var.merge->input(1).node();
    if (!IsEnter(var.enter)) return NotALoop(exit, "a loop Merge without an Enter");
    for (const auto& [c, s] : consumer->out_edges()) {
      (void)s;
      if (IsExit(c) && var.exit == nullptr) var.exit = c;
      if (IsOp(c, "Identity", "RefIdentity") && var.identity == nullptr) var.identity = c;
    }
    if (var.identity == nullptr) {
      return NotALoop(exit, absl::StrCat("Switch '", consumer->name(), "' feeds no Identity"));
    }
    loop.vars.push_back(var);
  }
  if (loop.vars.empty()) return NotALoop(exit, "no loop variables");
  loop.frame = FrameName(loop.vars[0].enter);
  absl::flat_hash_set<const Node*> var_enters;
  for (const LoopVar& v : loop.vars) var_enters.insert(v.enter);
  for (Node* n : graph.nodes()) {
    if (IsEnter(n) && !var_enters.contains(n) && FrameName(n) == loop.frame) {
      loop.invariants.push_back(n);
    }
  }
  // The frame's nodes: everything reachable from its Enters before its Exits (Enter and Exit
  // change the depth; control edges count, so constants hung on the pivot are found).
  std::deque<const Node*> queue;
  for (const LoopVar& v : loop.vars) queue.push_back(v.enter);
  for (const Node* n : loop.invariants) queue.push_back(n);
  for (const Node* n : queue) loop.depth[n] = 0;
  while (!queue.empty()) {
    const Node* n = queue.front();
    queue.pop_front();
    const int d = loop.depth[n];
    auto visit = [&](const Node* c) {
      const int dc = IsEnter(c) ? d + 1 : IsExit(c) ? d - 1 : d;
      if (loop.depth.contains(c)) return;
      loop.depth[c] = dc;
      if (dc >= 0) queue.push_back(c);
    };
    for (const auto& [c, s] : n->out_edges()) visit(c);
    for (const Node* c : n->control_outputs()) visit(c);
  }
  return loop;
}

// What the backward body needs: the forward body's nodes to copy (ancestors of the body's
// outputs inside the frame) and the forward values to push (loop variables' body inputs and the
// outputs of stateful nodes, which are popped rather than rerun).
struct BodyPlan {
  std::vector<const Node*> copy;      // In id order.
  std::vector<Output> saved;          // Pushed forward, popped backward.
  absl::flat_hash_set<const Node*> used_vars;  // Identities the copy reads.
};

absl::StatusOr<BodyPlan> PlanBody(const Loop& loop, const Node& exit) {
  BodyPlan plan;
  absl::flat_hash_map<const Node*, int> identity_of;
  for (size_t k = 0; k < loop.vars.size(); ++k) identity_of[loop.vars[k].identity] = k;
  const absl::flat_hash_set<const Node*> invariants(loop.invariants.begin(), loop.invariants.end());
  absl::flat_hash_set<const Node*> seen;
  absl::flat_hash_set<Output> saved;
  std::vector<const Node*> stack;
  auto reach = [&](const Output& o, bool data) -> absl::Status {
    const Node* n = o.node();
    if (identity_of.contains(n) || invariants.contains(n)) {
      if (data && identity_of.contains(n)) {
        plan.used_vars.insert(n);
        if (saved.insert(o).second) plan.saved.push_back(o);
      }
      return absl::OkStatus();
    }
    auto it = loop.depth.find(n);
    if (it == loop.depth.end() || it->second < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "gradient of while loop '", loop.frame, "' (Exit '", exit.name(), "'): its body uses '",
          n->name(), "', which is outside the loop and not entered by an Enter"));
    }
    if (it->second == 0) {
      const bool own_merge = IsOp(n, "Merge", "RefMerge") && n->num_inputs() == 2 &&
                             n->is_back_edge(1) && IsEnter(n->input(0).node()) &&
                             FrameName(n->input(0).node()) == loop.frame;
      if (n == loop.loop_cond.node() || own_merge) {
        return absl::UnimplementedError(absl::StrCat(
            "gradient of while loop '", loop.frame, "': its body reads '", n->name(),
            "' (the loop's own Merge/LoopCond) rather than the Switch's Identity"));
      }
      const OpDef* op = OpRegistry::Global()->Find(n->op());
      if (op != nullptr && op->is_stateful) {
        // Popped, not rerun (a TensorArray read may clear its element).
        if (data && saved.insert(o).second) plan.saved.push_back(o);
        return absl::OkStatus();
      }
    }
    if (seen.insert(n).second) stack.push_back(n);
    return absl::OkStatus();
  };
  for (const LoopVar& v : loop.vars) DFLOW_RETURN_IF_ERROR(reach(v.next->input(0), true));
  while (!stack.empty()) {
    const Node* n = stack.back();
    stack.pop_back();
    for (const Output& in : n->inputs()) DFLOW_RETURN_IF_ERROR(reach(in, true));
    for (const Node* c : n->control_inputs()) {
      DFLOW_RETURN_IF_ERROR(reach(Output(const_cast<Node*>(c)), false));
    }
  }
  plan.copy.assign(seen.begin(), seen.end());
  std::sort(plan.copy.begin(), plan.copy.end(),
            [](const Node* a, const Node* b) { return a->id() < b->id(); });
  std::sort(plan.saved.begin(), plan.saved.end(), [](const Output& a, const Output& b) {
    return a.node()->id() != b.node()->id() ? a.node()->id() < b.node()->id()
                                            : a.index() < b.index();
  });
  return plan;
}

// Copies the planned forward body into the backward body's scope `bs`, reading `mapped` values
// (pops, entered invariants) in place of the forward ones; nested frames get fresh names.
absl::Status CopyBody(const Scope& bs, const Loop& loop, const BodyPlan& plan, Node* pivot,
                      absl::flat_hash_map<Output, Output>* mapped) {
  Graph* graph = bs.graph();
  absl::flat_hash_map<const Node*, Node*> copies;
  absl::flat_hash_map<std::string, std::string> frames;
  std::vector<std::pair<Node*, const Node*>> back_edges;  // (copied Merge, forward Merge).
  auto map_output = [&](const Output& o) -> Output {
    auto it = mapped->find(o);
    if (it != mapped->end()) return it->second;
    auto c = copies.find(o.node());
    return c == copies.end() ? Output() : Output(c->second, o.index());
  };
  for (const Node* n : plan.copy) {
    NodeSpec spec;
    const size_t slash = n->name().rfind('/');
    spec.name = bs.GetUniqueNameForOp(slash == std::string::npos ? n->name()
                                                                 : n->name().substr(slash + 1));
    spec.op = n->op();
    spec.device = n->device();
    spec.attrs = n->attrs();
    if (IsEnter(n)) {
      const std::string old_frame = FrameName(n);
      auto [it, fresh] = frames.try_emplace(old_frame, "");
      if (fresh) it->second = bs.GetUniqueNameForOp("while_context");
      spec.attrs["frame_name"].set_s(it->second);
    }
    for (int i = 0; i < n->num_inputs(); ++i) {
      Output in;
      if (n->is_back_edge(i)) {
        in = map_output(n->input(0));  // A stand-in until the NextIteration is copied.
        back_edges.emplace_back(nullptr, n);
      } else {
        in = map_output(n->input(i));
      }
      if (in.node() == nullptr) {
        return absl::InternalError(absl::StrCat("while-loop gradient: no copy of '",
                                                n->input(i).name(), "' for '", n->name(), "'"));
      }
      spec.inputs.push_back(in);
      spec.input_types.push_back(n->input_type(i));
      spec.input_is_ref.push_back(n->input_is_ref(i));
    }
    for (const Node* c : n->control_inputs()) {
      Output m = map_output(Output(const_cast<Node*>(c)));
      spec.control_inputs.push_back(m.node() != nullptr ? m.node() : pivot);
    }
    for (int i = 0; i < n->num_outputs(); ++i) {
      spec.output_types.push_back(n->output_type(i));
      spec.output_is_ref.push_back(n->output_is_ref(i));
      spec.output_shapes.push_back(n->output_shape(i));
    }
    DFLOW_ASSIGN_OR_RETURN(Node * copy, graph->AddNode(std::move(spec)));
    copies[n] = copy;
    if (!back_edges.empty() && back_edges.back().first == nullptr) back_edges.back().first = copy;
  }
  for (const auto& [copy, forward] : back_edges) {
    const Output next = map_output(forward->input(1));
    if (next.node() == nullptr) {
      return absl::InternalError(absl::StrCat("while-loop gradient: no copy of the back edge of '",
                                              forward->name(), "'"));
    }
    DFLOW_RETURN_IF_ERROR(graph->AddBackEdge(copy, 1, next));
  }
  for (const auto& [n, copy] : copies) {
    for (int i = 0; i < n->num_outputs(); ++i) (*mapped)[OutputOf(*n, i)] = Output(copy, i);
  }
  return absl::OkStatus();
}

// A StackPopV2 with the forward value's static shape (the op's shape function cannot know it).
absl::StatusOr<Output> Pop(const Scope& bs, const Output& handle, const Output& forward) {
  NodeSpec spec;
  spec.name = bs.GetUniqueNameForOp("StackPopV2");
  spec.op = "StackPopV2";
  spec.inputs = {handle};
  spec.input_types = {DT_RESOURCE};
  spec.input_is_ref = {false};
  spec.control_inputs = bs.control_deps();
  spec.attrs["elem_type"].set_type(forward.type());
  spec.output_types = {forward.type()};
  spec.output_is_ref = {false};
  spec.output_shapes = {forward.shape()};
  DFLOW_ASSIGN_OR_RETURN(Node * node, bs.graph()->AddNode(std::move(spec)));
  return Output(node, 0);
}

}  // namespace

absl::Status AddWhileLoopGradient(const Scope& scope, const Node& exit,
                                  const std::function<Output(const Output&)>& exit_grad,
                                  std::vector<bool>* in_loop,
                                  std::vector<std::pair<Output, Output>>* input_grads) {
  DFLOW_RETURN_IF_ERROR(scope.status());
  const Graph& graph = *scope.graph();
  DFLOW_ASSIGN_OR_RETURN(Loop loop, FindLoop(graph, exit));
  for (const auto& [n, d] : loop.depth) {
    if (n->id() < static_cast<int>(in_loop->size())) (*in_loop)[n->id()] = true;
  }
  DFLOW_ASSIGN_OR_RETURN(BodyPlan plan, PlanBody(loop, exit));

  const Scope s = scope.NewSubScope("while_grad");
  // Ops outside both loops run in the forward loop's parent frame: hang them on a value there
  // (through an Identity: a control edge from a fed Placeholder would make it run unfed).
  const Scope outer =
      s.WithControlDependencies(ops::Identity(s, loop.vars[0].enter->input(0)));
  const Scope in_forward = s.WithNoControlDependencies();

  // The forward loop's trip counter; each iteration pushes its saved values first.
  const Output zero = ops::Const(outer, 0);
  const Output count_enter = ops::Enter(outer, zero, loop.frame);
  ops::Merge count_merge(in_forward, {count_enter, count_enter});
  ops::Switch count_switch(in_forward, count_merge.output, loop.loop_cond);
  const Output trip_count = ops::Exit(in_forward, count_switch.output_false);
  const Output count = ops::Identity(in_forward, count_switch.output_true);
  DFLOW_RETURN_IF_ERROR(s.status());
  std::vector<Output> stacks;
  std::vector<Operation> pushes;
  ops::EnterAttrs constant;
  constant.is_constant = true;
  for (const Output& v : plan.saved) {
    AttrMap attrs;
    attrs["elem_type"].set_type(v.type());
    const Output stack(AddOp(outer, "StackV2", {Input(-1)}, attrs));
    stacks.push_back(stack);
    const Output handle = ops::Enter(outer, stack, loop.frame, constant);
    pushes.push_back(Operation(
        AddOp(in_forward.WithControlDependencies(count), "StackPushV2", {handle, v})));
  }
  const Output count_next = ops::NextIteration(
      in_forward, ops::Add(in_forward.WithControlDependencies(pushes), count, 1));
  DFLOW_RETURN_IF_ERROR(s.status());
  DFLOW_RETURN_IF_ERROR(s.graph()->AddBackEdge(count_merge.output.node(), 1, count_next));

  // The backward loop's variables: the counter, one gradient per differentiable loop variable
  // (starting at its Exit's gradient) and one accumulator per differentiable invariant.
  std::vector<int> grad_vars;  // Indices into loop.vars.
  std::vector<Output> bw_inputs = {trip_count};
  for (size_t k = 0; k < loop.vars.size(); ++k) {
    const LoopVar& v = loop.vars[k];
    if (!IsDifferentiableType(v.enter->output_type(0))) continue;
    grad_vars.push_back(k);
    Output g = v.exit != nullptr ? exit_grad(OutputOf(*v.exit, 0)) : Output();
    if (g.node() == nullptr) g = ops::ZerosLike(outer, v.enter->input(0));
    bw_inputs.push_back(g);
  }
  std::vector<int> grad_invariants;  // Indices into loop.invariants.
  for (size_t j = 0; j < loop.invariants.size(); ++j) {
    if (!IsDifferentiableType(loop.invariants[j]->output_type(0))) continue;
    grad_invariants.push_back(j);
    bw_inputs.push_back(ops::ZerosLike(outer, loop.invariants[j]->input(0)));
  }
  ops::WhileLoopOptions options;
  options.invariants = stacks;
  for (const Node* n : loop.invariants) options.invariants.push_back(n->input(0));
  const size_t num_vars = bw_inputs.size();

  auto cond = [](const Scope& cs, const std::vector<Output>& in, Output* out) {
    *out = ops::Greater(cs, in[0], 0);
    return cs.status();
  };
  auto body = [&](const Scope& bs, const std::vector<Output>& in,
                  std::vector<Output>* out) -> absl::Status {
    Node* pivot = in[0].node();
    absl::flat_hash_map<Output, Output> mapped;
    std::vector<Operation> pops;
    for (size_t i = 0; i < plan.saved.size(); ++i) {
      DFLOW_ASSIGN_OR_RETURN(Output pop, Pop(bs, in[num_vars + i], plan.saved[i]));
      mapped[plan.saved[i]] = pop;
      pops.push_back(Operation(pop));
    }
    for (size_t j = 0; j < loop.invariants.size(); ++j) {
      mapped[OutputOf(*loop.invariants[j], 0)] = in[num_vars + plan.saved.size() + j];
    }
    DFLOW_RETURN_IF_ERROR(CopyBody(bs, loop, plan, pivot, &mapped));
    // The copy's vector-Jacobian product: d(body outputs) . g w.r.t. its inputs.
    std::vector<Output> ys, seeds, xs;
    std::vector<int> x_of_var(grad_vars.size(), -1);
    for (size_t i = 0; i < grad_vars.size(); ++i) {
      const LoopVar& v = loop.vars[grad_vars[i]];
      ys.push_back(mapped.at(v.next->input(0)));
      seeds.push_back(in[1 + i]);
      if (plan.used_vars.contains(v.identity)) {
        x_of_var[i] = xs.size();
        xs.push_back(mapped.at(OutputOf(*v.identity, 0)));
      }
    }
    const size_t first_invariant = xs.size();
    for (int j : grad_invariants) xs.push_back(mapped.at(OutputOf(*loop.invariants[j], 0)));
    std::vector<Output> gx;
    GradientOptions zeros;
    zeros.zeros_for_unconnected = true;
    if (!ys.empty() && !xs.empty()) {
      DFLOW_RETURN_IF_ERROR(AddSymbolicGradients(bs, ys, xs, seeds, &gx, zeros));
    }
    out->push_back(ops::Sub(bs.WithControlDependencies(pops), in[0], 1));
    for (size_t i = 0; i < grad_vars.size(); ++i) {
      out->push_back(x_of_var[i] >= 0 ? gx[x_of_var[i]] : ops::ZerosLike(bs, in[1 + i]));
    }
    for (size_t j = 0; j < grad_invariants.size(); ++j) {
      out->push_back(ops::Add(bs, in[1 + grad_vars.size() + j], gx[first_invariant + j]));
    }
    return bs.status();
  };
  std::vector<Output> bw_outputs;
  DFLOW_RETURN_IF_ERROR(ops::WhileLoop(s, bw_inputs, cond, body, &bw_outputs, options));

  input_grads->clear();
  for (size_t i = 0; i < grad_vars.size(); ++i) {
    input_grads->emplace_back(loop.vars[grad_vars[i]].enter->input(0), bw_outputs[1 + i]);
  }
  for (size_t j = 0; j < grad_invariants.size(); ++j) {
    input_grads->emplace_back(loop.invariants[grad_invariants[j]]->input(0),
                              bw_outputs[1 + grad_vars.size() + j]);
  }
  return s.status();
}

}  // namespace dflow
