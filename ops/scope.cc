#include "ops/scope.h"

#include "absl/strings/str_cat.h"
#include "ops/node_builder.h"

namespace dflow {

std::string Operation::name() const { return node_ ? node_->name() : "<null>"; }

Scope Scope::NewRootScope() {
  Scope scope;
  scope.shared_ = std::make_shared<Shared>();
  scope.shared_->graph = std::make_shared<Graph>();
  return scope;
}

Scope Scope::NewSubScope(absl::string_view child) const {
  Scope scope = *this;
  scope.op_name_.clear();
  if (child.empty()) return scope;
  std::string unique = graph()->UniqueName(absl::StrCat(prefix_, child));
  scope.prefix_ = absl::StrCat(unique, "/");
  return scope;
}

Scope Scope::WithOpName(absl::string_view name) const {
  Scope scope = *this;
  scope.op_name_ = std::string(name);
  return scope;
}

Scope Scope::WithUniqueOpName(absl::string_view base) const {
  const std::string full = graph()->UniqueName(absl::StrCat(prefix_, base));
  return WithOpName(absl::string_view(full).substr(prefix_.size()));
}

Scope Scope::WithControlDependencies(absl::Span<const Operation> deps) const {
  Scope scope = *this;
  for (const Operation& op : deps) {
    if (op.node() == nullptr) {
      UpdateStatus(absl::InvalidArgumentError("control dependency on a null operation"));
      continue;
    }
    scope.control_deps_.push_back(op.node());
  }
  return scope;
}

Scope Scope::WithControlDependencies(const Output& dep) const {
  Operation op(dep);
  return WithControlDependencies(absl::MakeConstSpan(&op, 1));
}

Scope Scope::WithNoControlDependencies() const {
  Scope scope = *this;
  scope.control_deps_.clear();
  return scope;
}

void Scope::UpdateStatus(const absl::Status& status) const {
  if (shared_->status.ok() && !status.ok()) shared_->status = status;
}

std::string Scope::GetUniqueNameForOp(absl::string_view default_name) const {
  if (!op_name_.empty()) return absl::StrCat(prefix_, op_name_);
  return graph()->UniqueName(absl::StrCat(prefix_, default_name));
}

absl::Status Scope::ToGraphDef(GraphDef* def) const {
  if (!ok()) return status();
  graph()->ToGraphDef(def);
  return absl::OkStatus();
}

Node* Scope::Finalize(NodeBuilder& builder) const {
  for (Node* dep : control_deps_) builder.ControlInput(dep);
  absl::StatusOr<Node*> node = builder.Finalize(graph());
  if (!node.ok()) {
    UpdateStatus(node.status());
    return nullptr;
  }
  return *node;
}

Input::Input(std::initializer_list<float> values)
    : literal_(*Tensor::FromVector<float>(
          absl::MakeConstSpan(values.begin(), values.size()),
          TensorShape({static_cast<int64_t>(values.size())}))) {}

Input::Input(std::initializer_list<int> values) {
  std::vector<int32_t> v(values.begin(), values.end());
  literal_ = *Tensor::FromVector<int32_t>(v, TensorShape({static_cast<int64_t>(v.size())}));
}

Output Input::ToOutput(const Scope& scope) const {
  if (!literal_.IsInitialized()) return output_;
  NodeBuilder builder(scope.GetUniqueNameForOp("Const"), "Const");
  builder.Attr("value", literal_).Attr("dtype", literal_.dtype());
  Node* node = scope.Finalize(builder);
  return node ? Output(node, 0) : Output();
}

namespace {

Node* BuildOp(const Scope& scope, absl::string_view op, const std::vector<Output>* list,
              absl::Span<const Input> inputs, const AttrMap& attrs) {
  if (!scope.ok()) return nullptr;
  // Literal inputs become Consts named under the op's scope, before the op takes its name.
  std::vector<Output> outs;
  for (const Input& in : inputs) {
    outs.push_back(in.ToOutput(scope.WithOpName("")));
    if (outs.back().node() == nullptr) {
      scope.UpdateStatus(absl::InvalidArgumentError(absl::StrCat(op, ": an input is null")));
      return nullptr;
    }
  }
  NodeBuilder builder(scope.GetUniqueNameForOp(op), std::string(op));
  if (list != nullptr) builder.Input(*list);
  for (const Output& o : outs) builder.Input(o);
  for (const auto& [name, value] : attrs) builder.Attr(name, value);
  return scope.Finalize(builder);
}

}  // namespace

Node* AddOp(const Scope& scope, absl::string_view op, absl::Span<const Input> inputs,
            const AttrMap& attrs) {
  return BuildOp(scope, op, nullptr, inputs, attrs);
}

Node* AddOpWithList(const Scope& scope, absl::string_view op, absl::Span<const Output> list,
                    absl::Span<const Input> inputs, const AttrMap& attrs) {
  std::vector<Output> values(list.begin(), list.end());
  for (const Output& o : values) {
    if (o.node() == nullptr) {
      scope.UpdateStatus(absl::InvalidArgumentError(absl::StrCat(op, ": a list input is null")));
      return nullptr;
    }
  }
  return BuildOp(scope, op, &values, inputs, attrs);
}

}  // namespace dflow
