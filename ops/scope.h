// The C++ builder API's core, in TensorFlow's style:
//
//   Scope root = Scope::NewRootScope();
//   auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({-1, 784}));
//   auto y = ops::MatMul(root.NewSubScope("linear"), x, w, ops::MatMul::TransposeB(true));
//
// A root Scope owns the Graph. Sub-scopes add name prefixes ("linear/MatMul"), pick exact names
// (WithOpName) or add control dependencies. The first error any op hits is kept in the scope;
// later ops built from failed inputs are skipped, and the error is reported by status(), by
// ToGraphDef() and by Session creation.
#ifndef DFLOW_OPS_SCOPE_H_
#define DFLOW_OPS_SCOPE_H_

#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "graph/attr_value_util.h"
#include "graph/graph.h"
#include "graph/tensor.h"

namespace dflow {

class NodeBuilder;

// A node used for its effect rather than its outputs (a training step, an initializer).
class Operation {
 public:
  Operation() = default;
  Operation(Node* node) : node_(node) {}                  // NOLINT
  Operation(const Output& output) : node_(output.node()) {}  // NOLINT
  Node* node() const { return node_; }
  std::string name() const;

 private:
  Node* node_ = nullptr;
};

class Scope {
 public:
  static Scope NewRootScope();

  // Ops built in the child get names "<prefix>/<child>/<op>"; `child` is made unique.
  Scope NewSubScope(absl::string_view child) const;
  // The next op gets exactly this name (under the prefix); a duplicate is an error.
  Scope WithOpName(absl::string_view name) const;
  // The next op gets `base` under the prefix, made unique ("init", "init_1", ...).
  Scope WithUniqueOpName(absl::string_view base) const;
  // Ops built in the returned scope run only after `deps`.
  Scope WithControlDependencies(absl::Span<const Operation> deps) const;
  Scope WithControlDependencies(const Output& dep) const;
  // The same scope without its control dependencies (a while loop's inner ops must not depend
  // on nodes outside the loop's frame).
  Scope WithNoControlDependencies() const;

  Graph* graph() const { return shared_->graph.get(); }
  std::shared_ptr<Graph> graph_as_shared_ptr() const { return shared_->graph; }
  bool ok() const { return shared_->status.ok(); }
  absl::Status status() const { return shared_->status; }
  // Keeps the first error.
  void UpdateStatus(const absl::Status& status) const;

  // The name for an op of type `default_name` built in this scope.
  std::string GetUniqueNameForOp(absl::string_view default_name) const;
  const std::vector<Node*>& control_deps() const { return control_deps_; }

  // Fails with the scope's first error, if any.
  absl::Status ToGraphDef(GraphDef* def) const;

  // Finalizes `builder` (plus this scope's control deps); records and returns null on error.
  Node* Finalize(NodeBuilder& builder) const;

 private:
  struct Shared {
    std::shared_ptr<Graph> graph;
    absl::Status status;
  };
  std::shared_ptr<Shared> shared_;
  std::string prefix_;   // "" or "a/b/".
  std::string op_name_;  // Exact name for the next op, if set.
  std::vector<Node*> control_deps_;
};

// An op argument: an Output, or a literal turned into a Const node when the op is built.
// Doubles become float32 constants (dflow's working type); ints become int32.
class Input {
 public:
  Input(const Output& output) : output_(output) {}  // NOLINT
  Input(Node* node) : output_(node, 0) {}           // NOLINT
  Input(const Tensor& value) : literal_(value) {}   // NOLINT
  Input(float value) : literal_(Tensor::Scalar<float>(value)) {}             // NOLINT
  Input(double value) : literal_(Tensor::Scalar<float>(static_cast<float>(value))) {}  // NOLINT
  Input(int value) : literal_(Tensor::Scalar<int32_t>(value)) {}             // NOLINT
  Input(int64_t value) : literal_(Tensor::Scalar<int64_t>(value)) {}         // NOLINT
  Input(std::initializer_list<float> values);                                // NOLINT: 1-D float
  Input(std::initializer_list<int> values);                                  // NOLINT: 1-D int32

  // The Output itself, or a new Const in `scope` for a literal; a null Output on error.
  Output ToOutput(const Scope& scope) const;

 private:
  Output output_;
  Tensor literal_;
};

// Builds one node of op `op` in `scope` from `inputs` and `attrs`; the node name is the scope's
// choice. Returns null (with the error recorded in the scope) if anything fails, including when
// an input is null because an earlier op failed.
Node* AddOp(const Scope& scope, absl::string_view op, absl::Span<const Input> inputs,
            const AttrMap& attrs = {});
// The same with one list input (AddN's values) before `inputs`.
Node* AddOpWithList(const Scope& scope, absl::string_view op, absl::Span<const Output> list,
                    absl::Span<const Input> inputs, const AttrMap& attrs = {});

}  // namespace dflow

#endif  // DFLOW_OPS_SCOPE_H_
