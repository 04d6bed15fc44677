// The op registry: one entry per op type holding its schema (inputs, outputs, attrs with
// defaults and type constraints), its shape function and its gradient function.
//
// An op is registered once, in the ops/ file of its family, with TensorFlow's spec syntax:
//
//   REGISTER_OP("MatMul")
//       .Input("a: T").Input("b: T").Output("product: T")
//       .Attr("transpose_a: bool = false").Attr("transpose_b: bool = false")
//       .Attr("T: {float, double, int32}")
//       .SetShapeFn(MatMulShape);
//   REGISTER_GRADIENT("MatMul", MatMulGrad);
#ifndef DFLOW_OPS_OP_REGISTRY_H_
#define DFLOW_OPS_OP_REGISTRY_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "graph/graph.h"

namespace dflow {

class InferenceContext;
class Scope;

struct ArgDef {
  std::string name;
  DataType type = DT_INVALID;  // A fixed type ("x: float") ...
  std::string type_attr;       // ... or the attr naming it ("x: T").
  std::string number_attr;     // "values: N * T": a list of N inputs.
  std::string type_list_attr;  // "data: T" with T a list(type): one tensor per listed type.
  bool is_ref = false;         // "ref: Ref(T)": a variable reference.
};

struct AttrDef {
  std::string name;
  std::string type;  // "type", "int", "float", "bool", "string", "shape", "tensor", "list(int)", ...
  std::optional<AttrValue> default_value;
  std::vector<DataType> allowed_types;  // For "type" attrs; empty means any.
};

// Computes output shapes from input shapes, constant inputs and attrs.
using ShapeFn = std::function<absl::Status(InferenceContext* ctx)>;

// Appends the gradient of `node` to the graph: given one gradient per output (grad_outputs,
// never null: zeros where no gradient flows), sets one per input (a null node means none), of
// the input's type and shape. AddSymbolicGradients checks the result (see gradients.h).
using GradFn = std::function<absl::Status(const Scope& scope, const Node& node,
                                          absl::Span<const Output> grad_outputs,
                                          std::vector<Output>* grad_inputs)>;

struct OpDef {
  std::string name;
  std::vector<ArgDef> inputs;
  std::vector<ArgDef> outputs;
  std::vector<AttrDef> attrs;
  ShapeFn shape_fn;
  GradFn grad_fn;
  bool is_stateful = false;        // Never constant-folded or deduplicated.
  bool differentiable = true;      // False: no gradient flows through (ArgMax, Shape, ...).

  const AttrDef* FindAttr(absl::string_view attr_name) const;
};

class OpRegistry {
 public:
  static OpRegistry* Global();

  absl::Status Register(OpDef op);
  // Makes `alias` (an old TensorFlow name such as "Variable") resolve to `op`.
  absl::Status RegisterAlias(absl::string_view alias, absl::string_view op);
  absl::Status SetGradient(absl::string_view op, GradFn grad_fn);

  // Null when unknown. Aliases resolve to their op.
  const OpDef* Find(absl::string_view op) const;
  std::vector<std::string> ListOps() const;  // Sorted, aliases excluded.

 private:
  absl::flat_hash_map<std::string, std::unique_ptr<OpDef>> ops_;
  absl::flat_hash_map<std::string, std::string> aliases_;
};

// Parses spec strings into an OpDef; registration errors abort at start-up, since they are bugs
// in dflow itself, not in user input.
class OpDefBuilder {
 public:
  explicit OpDefBuilder(absl::string_view name) { op_.name = std::string(name); }
  OpDefBuilder& Input(absl::string_view spec);
  OpDefBuilder& Output(absl::string_view spec);
  OpDefBuilder& Attr(absl::string_view spec);
  // Attr for each spec in order: for attr lists a family of ops shares.
  OpDefBuilder& Attrs(absl::Span<const absl::string_view> specs);
  OpDefBuilder& SetShapeFn(ShapeFn fn);
  OpDefBuilder& SetIsStateful();
  OpDefBuilder& NotDifferentiable();

  OpDef Build() const;

 private:
  OpDef op_;
  std::string error_;
};

struct OpRegistrar {
  OpRegistrar(const OpDefBuilder& builder);  // NOLINT: used as `static OpRegistrar r = ...;`
};
struct GradientRegistrar {
  GradientRegistrar(absl::string_view op, GradFn fn);
};
struct AliasRegistrar {
  AliasRegistrar(absl::string_view alias, absl::string_view op);
};

// Parses a type name as written in specs and attrs: "float", "int32", "DT_FLOAT", ...
std::optional<DataType> ParseDataType(absl::string_view name);

}  // namespace dflow

#define DFLOW_CONCAT_INNER(a, b) a##b
#define DFLOW_CONCAT(a, b) DFLOW_CONCAT_INNER(a, b)
#define REGISTER_OP(name) \
  static ::dflow::OpRegistrar DFLOW_CONCAT(op_registrar_, __COUNTER__) = ::dflow::OpDefBuilder(name)
#define REGISTER_GRADIENT(name, fn) \
  static ::dflow::GradientRegistrar DFLOW_CONCAT(grad_registrar_, __COUNTER__)(name, fn)
#define REGISTER_OP_ALIAS(alias, name) \
  static ::dflow::AliasRegistrar DFLOW_CONCAT(alias_registrar_, __COUNTER__)(alias, name)

#endif  // DFLOW_OPS_OP_REGISTRY_H_
