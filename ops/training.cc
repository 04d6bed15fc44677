#include "ops/training.h"

#include <algorithm>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "ops/array_ops.h"
#include "ops/gradients.h"
#include "ops/math_ops.h"
#include "ops/node_builder.h"
#include "ops/random_ops.h"
#include "ops/state_ops.h"

namespace dflow {
namespace {

// A node named exactly `name` (no scope prefix: slot variables are named after their variable,
// wherever the optimizer is built), with the scope's control dependencies. Null on error, which
// the scope records.
Node* AddNamedNode(const Scope& scope, const std::string& name, const std::string& op,
                   const std::vector<Output>& inputs, const AttrMap& attrs = {}) {
  if (!scope.ok()) return nullptr;
  NodeBuilder builder(name, op);
  for (const Output& in : inputs) {
    if (in.node() == nullptr) {
      scope.UpdateStatus(
          absl::InvalidArgumentError(absl::StrCat(op, " '", name, "': an input is null")));
      return nullptr;
    }
    builder.Input(in);
  }
  for (const auto& [key, value] : attrs) builder.Attr(key, value);
  return scope.Finalize(builder);
}

Output NamedConst(const Scope& scope, const std::string& name, const Tensor& value) {
  return Output(AddNamedNode(scope, name, "Const", {},
                             {{"value", MakeAttr(value)}, {"dtype", MakeAttr(value.dtype())}}));
}

// The first Assign to `var` (by convention its initializer), or null.
Node* InitializerOf(const Node& var) {
  Node* first = nullptr;
  for (const auto& [consumer, slot] : var.out_edges()) {
    if (consumer->op() == "Assign" && slot == 0 &&
        (first == nullptr || consumer->id() < first->id())) {
      first = consumer;
    }
  }
  return first;
}

// A variable "<var>/<slot_name>" (made unique) of var's shape and type, initialized to zeros by
// an Assign "<slot>/Assign": Fill when var's shape is fully known, else ZerosLike of the value
// var's own initializer assigns.
Output ZerosSlot(const Scope& scope, const Output& var, absl::string_view slot_name) {
  if (!scope.ok()) return Output();
  const std::string name =
      scope.graph()->UniqueName(absl::StrCat(var.node()->name(), "/", slot_name));
  const PartialTensorShape& shape = var.shape();
  Output zeros;
  if (shape.IsFullyDefined()) {
    std::vector<int32_t> dims;
    for (int64_t d : shape.dim_sizes()) dims.push_back(static_cast<int32_t>(d));
    absl::StatusOr<Tensor> dims_t =
        Tensor::FromVector<int32_t>(dims, TensorShape({static_cast<int64_t>(dims.size())}));
    Tensor zero(var.type(), TensorShape({}));
    std::fill_n(static_cast<char*>(zero.data()), zero.TotalBytes(), 0);
    Output shape_t = NamedConst(scope, name + "/Initializer/zeros/shape_as_tensor", *dims_t);
    Output value = NamedConst(scope, name + "/Initializer/zeros/Const", zero);
    zeros = Output(AddNamedNode(scope, name + "/Initializer/zeros", "Fill", {shape_t, value}));
  } else if (Node* init = InitializerOf(*var.node()); init != nullptr) {
    zeros = Output(AddNamedNode(scope, name + "/Initializer/zeros", "ZerosLike", {init->input(1)}));
  } else {
    scope.UpdateStatus(absl::InvalidArgumentError(
        absl::StrCat("cannot create slot '", name, "': variable '", var.node()->name(),
                     "' has neither a fully defined shape nor an initializer")));
    return Output();
  }
  Output slot(AddNamedNode(scope, name, "VariableV2", {},
                           {{"shape", MakeAttr(shape)}, {"dtype", MakeAttr(var.type())}}));
  AddNamedNode(scope, name + "/Assign", "Assign", {slot, zeros});
  return scope.ok() ? slot : Output();
}

// A scalar float variable named `base` (made unique) under `scope`, initialized to `value`.
Output ScalarVariable(const Scope& scope, absl::string_view base, float value) {
  Output var = ops::Variable(scope.WithUniqueOpName(base), PartialTensorShape({}), DT_FLOAT);
  if (var.node() == nullptr) return Output();
  Output initial =
      NamedConst(scope, var.node()->name() + "/initial_value", Tensor::Scalar<float>(value));
  AddNamedNode(scope, var.node()->name() + "/Assign", "Assign", {var, initial});
  return scope.ok() ? var : Output();
}

// The variables to train and the gradients of `loss` for them; false (with the error in the
// scope) on failure.
bool VariablesAndGradients(const Scope& scope, const Output& loss,
                           const std::vector<Output>& var_list, std::vector<Output>* vars,
                           std::vector<Output>* grads) {
  if (!scope.ok()) return false;
  *vars = var_list.empty() ? VariablesReachableFrom(loss) : var_list;
  if (vars->empty()) {
    scope.UpdateStatus(absl::InvalidArgumentError(
        absl::StrCat("Minimize: loss '", loss.name(), "' depends on no variables")));
    return false;
  }
  for (const Output& v : *vars) {
    if (v.node() == nullptr || v.node()->op() != "VariableV2") {
      scope.UpdateStatus(absl::InvalidArgumentError(absl::StrCat(
          "Minimize: '", v.node() == nullptr ? "<null>" : v.name(), "' is not a variable")));
      return false;
    }
  }
  absl::Status s = AddSymbolicGradients(scope, {loss}, *vars, grads);
  if (!s.ok()) {
    scope.UpdateStatus(s);
    return false;
  }
  return true;
}

// The optimizer's target "<group_name>": a NoOp after `updates`, or, with a global step, an
// AssignAdd of 1 to it after a NoOp "<group_name>/update" grouping `updates`.
Operation FinishMinimize(const Scope& scope, const Scope& opt, const std::string& group_name,
                         const std::vector<Operation>& updates, const Output& global_step) {
  if (!scope.ok()) return Operation();
  if (global_step.node() == nullptr) {
    return Operation(AddNamedNode(scope.WithControlDependencies(updates), group_name, "NoOp", {}));
  }
  Tensor one;
  switch (global_step.type()) {
    case DT_INT64: one = Tensor::Scalar<int64_t>(1); break;
    case DT_INT32: one = Tensor::Scalar<int32_t>(1); break;
    case DT_FLOAT: one = Tensor::Scalar<float>(1.0f); break;
    default:
      scope.UpdateStatus(absl::InvalidArgumentError(
          absl::StrCat("Minimize: global_step '", global_step.name(), "' must be int64, int32 or "
                       "float, not ", DataTypeString(global_step.type()))));
      return Operation();
  }
  Operation update = ops::NoOp(opt.WithControlDependencies(updates).WithOpName("update"));
  Output increment = NamedConst(opt, group_name + "/global_step_increment", one);
  std::vector<Operation> after = {update};
  return Operation(AddNamedNode(scope.WithControlDependencies(after), group_name, "AssignAdd",
                                {global_step, increment}));
}

// The full name of a sub-scope, recovered from a node built directly in it ("<prefix>/<leaf>").
std::string ScopeNameOf(const Output& child, absl::string_view leaf) {
  const std::string& name = child.node()->name();
  return name.substr(0, name.size() - leaf.size() - 1);
}

}  // namespace

std::vector<Output> VariablesReachableFrom(const Output& output) {
  std::vector<Output> vars;
  if (output.node() == nullptr) return vars;
  std::vector<const Node*> stack = {output.node()};
  std::vector<Node*> found;
  absl::flat_hash_set<const Node*> visited = {output.node()};
  while (!stack.empty()) {
    const Node* n = stack.back();
    stack.pop_back();
    if (n->op() == "VariableV2") found.push_back(const_cast<Node*>(n));
    auto visit = [&](const Node* m) {
      if (visited.insert(m).second) stack.push_back(m);
    };
    for (const Output& in : n->inputs()) visit(in.node());
    for (const Node* c : n->control_inputs()) visit(c);
  }
  std::sort(found.begin(), found.end(), [](Node* a, Node* b) { return a->id() < b->id(); });
  for (Node* n : found) vars.emplace_back(n, 0);
  return vars;
}

std::vector<GradAndVar> Optimizer::ComputeGradients(const Scope& scope, const Output& loss,
                                                    const std::vector<Output>& var_list) {
  std::vector<Output> vars, grads;
  if (!VariablesAndGradients(scope, loss, var_list, &vars, &grads)) return {};
  std::vector<GradAndVar> result;
  for (size_t i = 0; i < vars.size(); ++i) result.push_back({grads[i], vars[i]});
  return result;
}

Operation Optimizer::MinimizeImpl(const Scope& scope, const Output& loss,
                                  const std::vector<Output>& var_list,
                                  const Output& global_step) {
  std::vector<GradAndVar> grads_and_vars = ComputeGradients(scope, loss, var_list);
  if (grads_and_vars.empty()) return Operation();
  return ApplyGradients(scope, grads_and_vars, global_step);
}

namespace {

// False (with the error in the scope) unless every pair has a gradient and a VariableV2.
bool CheckGradsAndVars(const Scope& scope, const std::vector<GradAndVar>& grads_and_vars) {
  if (!scope.ok()) return false;
  if (grads_and_vars.empty()) {
    scope.UpdateStatus(absl::InvalidArgumentError("ApplyGradients: no (gradient, variable) pairs"));
    return false;
  }
  for (const GradAndVar& gv : grads_and_vars) {
    if (gv.variable.node() == nullptr || gv.variable.node()->op() != "VariableV2") {
      scope.UpdateStatus(absl::InvalidArgumentError(absl::StrCat(
          "ApplyGradients: '", gv.variable.node() == nullptr ? "<null>" : gv.variable.name(),
          "' is not a variable")));
      return false;
    }
    if (gv.gradient.node() == nullptr) {
      scope.UpdateStatus(absl::InvalidArgumentError(absl::StrCat(
          "ApplyGradients: the gradient for '", gv.variable.name(), "' is null")));
      return false;
    }
  }
  return true;
}

}  // namespace

Operation GradientDescentOptimizer::ApplyGradients(const Scope& scope,
                                                   const std::vector<GradAndVar>& grads_and_vars,
                                                   const Output& global_step) {
  if (!CheckGradsAndVars(scope, grads_and_vars)) return Operation();
  // TensorFlow's names: GradientDescent/learning_rate, GradientDescent/update_<var>, and the
  // grouping NoOp GradientDescent itself.
  Output lr = ops::Const(scope.WithOpName("GradientDescent/learning_rate"), learning_rate_);
  std::vector<Operation> updates;
  for (const GradAndVar& gv : grads_and_vars) {
    const std::string var_name = gv.variable.node()->name();
    updates.push_back(ops::ApplyGradientDescent(
        scope.WithOpName(absl::StrCat("GradientDescent/update_", var_name)), gv.variable, lr,
        gv.gradient));
  }
  if (global_step.node() == nullptr) {
    return ops::NoOp(scope.WithControlDependencies(updates).WithUniqueOpName("GradientDescent"));
  }
  if (!scope.ok()) return Operation();
  const Scope opt = scope.NewSubScope("GradientDescent");
  return FinishMinimize(scope, opt, ScopeNameOf(lr, "learning_rate"), updates, global_step);
}

Operation AdamOptimizer::ApplyGradients(const Scope& scope,
                                        const std::vector<GradAndVar>& grads_and_vars,
                                        const Output& global_step) {
  if (!CheckGradsAndVars(scope, grads_and_vars)) return Operation();
  // TensorFlow's layout: slots "<var>/Adam", "<var>/Adam_1"; "beta1_power", "beta2_power";
  // constants and updates under "Adam/"; the target "Adam".
  std::vector<Output> m_slots, v_slots;
  for (const GradAndVar& gv : grads_and_vars) {
    m_slots.push_back(ZerosSlot(scope, gv.variable, "Adam"));
    v_slots.push_back(ZerosSlot(scope, gv.variable, "Adam_1"));
  }
  Output beta1_power = ScalarVariable(scope, "beta1_power", beta1_);
  Output beta2_power = ScalarVariable(scope, "beta2_power", beta2_);
  const Scope opt = scope.NewSubScope("Adam");
  Output lr = ops::Const(opt.WithOpName("learning_rate"), learning_rate_);
  Output beta1 = ops::Const(opt.WithOpName("beta1"), beta1_);
  Output beta2 = ops::Const(opt.WithOpName("beta2"), beta2_);
  Output epsilon = ops::Const(opt.WithOpName("epsilon"), epsilon_);
  if (!scope.ok()) return Operation();
  std::vector<Operation> updates;
  for (size_t i = 0; i < grads_and_vars.size(); ++i) {
    const Output& var = grads_and_vars[i].variable;
    updates.push_back(ops::ApplyAdam(opt.WithOpName(absl::StrCat("update_", var.node()->name())),
                                     var, m_slots[i], v_slots[i], beta1_power, beta2_power, lr,
                                     beta1, beta2, epsilon, grads_and_vars[i].gradient));
  }
  // The beta powers advance once every variable is updated (ids order the run, and the
  // control dependencies say so in the graph).
  const Scope after = opt.WithControlDependencies(updates);
  updates.push_back(ops::Assign(after.WithOpName("Assign"), beta1_power,
                                ops::Mul(after.WithOpName("mul"), beta1_power, beta1)));
  updates.push_back(ops::Assign(after.WithOpName("Assign_1"), beta2_power,
                                ops::Mul(after.WithOpName("mul_1"), beta2_power, beta2)));
  if (!scope.ok()) return Operation();
  return FinishMinimize(scope, opt, ScopeNameOf(lr, "learning_rate"), updates, global_step);
}

Operation MomentumOptimizer::ApplyGradients(const Scope& scope,
                                            const std::vector<GradAndVar>& grads_and_vars,
                                            const Output& global_step) {
  if (!CheckGradsAndVars(scope, grads_and_vars)) return Operation();
  std::vector<Output> accums;
  for (const GradAndVar& gv : grads_and_vars) {
    accums.push_back(ZerosSlot(scope, gv.variable, "Momentum"));
  }
  const Scope opt = scope.NewSubScope("Momentum");
  Output lr = ops::Const(opt.WithOpName("learning_rate"), learning_rate_);
  Output momentum = ops::Const(opt.WithOpName("momentum"), momentum_);
  if (!scope.ok()) return Operation();
  std::vector<Operation> updates;
  for (size_t i = 0; i < grads_and_vars.size(); ++i) {
    const GradAndVar& gv = grads_and_vars[i];
    updates.push_back(ops::ApplyMomentum(
        opt.WithOpName(absl::StrCat("update_", gv.variable.node()->name())), gv.variable,
        accums[i], lr, gv.gradient, momentum, ops::ApplyMomentum::UseNesterov(use_nesterov_)));
  }
  if (!scope.ok()) return Operation();
  return FinishMinimize(scope, opt, ScopeNameOf(lr, "learning_rate"), updates, global_step);
}

Operation GlobalVariablesInitializer(const Scope& scope) {
  if (!scope.ok()) return Operation();
  const Graph& graph = *scope.graph();
  std::vector<Operation> inits;
  for (Node* node : graph.nodes()) {
    if (node->op() != "VariableV2") continue;
    // By convention the first Assign to a variable is its initializer.
    Node* first = InitializerOf(*node);
    if (first == nullptr) {
      scope.UpdateStatus(absl::FailedPreconditionError(
          absl::StrCat("GlobalVariablesInitializer: variable '", node->name(),
                       "' has no Assign to initialize it")));
      return Operation();
    }
    inits.push_back(first);
  }
  return ops::NoOp(scope.WithControlDependencies(inits).WithUniqueOpName("init"));
}

namespace ops {

Output Dropout(const Scope& scope, Input x, Input keep_prob, int64_t seed, int64_t seed2) {
  if (!scope.ok()) return Output();
  const Scope s = scope.NewSubScope("dropout");
  Output xo = x.ToOutput(s);
  Output kp = keep_prob.ToOutput(s.WithOpName("keep_prob"));
  if (xo.node() == nullptr || kp.node() == nullptr) {
    s.UpdateStatus(absl::InvalidArgumentError("Dropout: an input is null"));
    return Output();
  }
  if (kp.node()->op() == "Const") {
    Tensor value;
    if (GetNodeAttr(*kp.node(), "value", &value).ok() && value.dtype() == DT_FLOAT &&
        value.NumElements() == 1) {
      const float p = value.flat<float>()[0];
      if (!(p > 0.0f && p <= 1.0f)) {
        s.UpdateStatus(absl::InvalidArgumentError(
            absl::StrCat("Dropout: keep_prob must be in (0, 1], got ", p)));
        return Output();
      }
    }
  }
  Output uniform = RandomUniform(s, Shape(s, xo), xo.type(),
                                 RandomUniform::Seed(seed).Seed2(seed2));
  Output keep = Floor(s, Add(s, kp, uniform));  // 1 with probability keep_prob, else 0.
  return Mul(s, RealDiv(s, xo, kp), keep);
}

}  // namespace ops
}  // namespace dflow
