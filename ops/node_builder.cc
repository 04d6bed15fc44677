#include "ops/node_builder.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/status_macros.h"
#include "ops/op_registry.h"
#include "ops/shape_inference.h"

namespace dflow {

absl::StatusOr<std::vector<std::vector<Output>>> GroupInputsByArg(absl::string_view node,
                                                                  const OpDef& op,
                                                                  const AttrMap& attrs,
                                                                  absl::Span<const Output> inputs) {
  std::vector<std::vector<Output>> args;
  size_t next = 0;
  for (const ArgDef& arg : op.inputs) {
    const size_t left = inputs.size() - next;
    size_t count = 1;
    if (!arg.number_attr.empty()) {
      auto it = attrs.find(arg.number_attr);
      const bool given = it != attrs.end() && it->second.i() > 0;
      count = given ? static_cast<size_t>(it->second.i()) : left;
    }
    if (!arg.type_list_attr.empty()) {
      auto it = attrs.find(arg.type_list_attr);
      const bool given = it != attrs.end() && it->second.value_case() == AttrValue::kList;
      count = given ? static_cast<size_t>(it->second.list().type_size()) : left;
    }
    if (count > left) {
      return absl::InvalidArgumentError(absl::StrCat(op.name, " node '", node, "' has ",
                                                     inputs.size(), " inputs, too few for its '",
                                                     arg.name, "'"));
    }
    args.emplace_back(inputs.begin() + next, inputs.begin() + next + count);
    next += count;
  }
  if (next != inputs.size()) {
    return absl::InvalidArgumentError(absl::StrCat(op.name, " node '", node, "' takes ", next,
                                                   " inputs but has ", inputs.size()));
  }
  return args;
}

absl::StatusOr<Node*> AddOpaqueNode(NodeSpec spec, Graph* graph) {
  spec.opaque = true;
  spec.input_types.clear();
  spec.input_is_ref.clear();
  for (const Output& in : spec.inputs) {
    if (in.node() == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(spec.op, " node '", spec.name, "': an input is an invalid (null) output"));
    }
    const bool valid = in.index() >= 0 && in.index() < in.node()->num_outputs();
    // An out-of-range input is left for Graph::AddNode to report.
    spec.input_types.push_back(valid ? in.type() : DT_INVALID);
    spec.input_is_ref.push_back(false);
  }
  if (spec.output_is_ref.empty()) spec.output_is_ref.assign(spec.output_types.size(), false);
  spec.output_shapes.assign(spec.output_types.size(), PartialTensorShape());
  return graph->AddNode(std::move(spec));
}

NodeBuilder& NodeBuilder::Input(Output input) {
  args_.push_back({input});
  return *this;
}

NodeBuilder& NodeBuilder::Input(std::vector<Output> inputs) {
  args_.push_back(std::move(inputs));
  return *this;
}

NodeBuilder& NodeBuilder::ControlInput(Node* node) {
  spec_.control_inputs.push_back(node);
  return *this;
}

NodeBuilder& NodeBuilder::Attr(const std::string& name, AttrValue value) {
  spec_.attrs[name] = std::move(value);
  return *this;
}

NodeBuilder& NodeBuilder::Device(std::string device) {
  spec_.device = std::move(device);
  return *this;
}

namespace {

bool KindMatches(const std::string& schema_type, const AttrValue& value) {
  if (absl::StartsWith(schema_type, "list(")) {
    // An empty list carries no element kind, so any list matches.
    return value.value_case() == AttrValue::kList &&
           (AttrValueKind(value) == "list" || AttrValueKind(value) == schema_type);
  }
  return AttrValueKind(value) == schema_type;
}

}  // namespace

absl::StatusOr<Node*> NodeBuilder::Finalize(Graph* graph) const& {
  return Build(spec_, args_, graph);
}

absl::StatusOr<Node*> NodeBuilder::Finalize(Graph* graph) && {
  return Build(std::move(spec_), args_, graph);
}

absl::StatusOr<Node*> NodeBuilder::Build(NodeSpec spec,
                                         const std::vector<std::vector<Output>>& args,
                                         Graph* graph) {
  auto error = [&](auto&&... parts) {
    return absl::InvalidArgumentError(
        absl::StrCat(spec.op, " node '", spec.name, "': ", parts...));
  };
  const OpDef* op = OpRegistry::Global()->Find(spec.op);
  if (op == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("node '", spec.name, "': unknown op '", spec.op, "'"));
  }
  spec.op = op->name;  // Aliases ("Variable") become the op they stand for.
  if (args.size() != op->inputs.size()) {
    return error("expects ", op->inputs.size(), " inputs but got ", args.size());
  }
  for (const auto& arg : args) {
    for (const Output& o : arg) {
      if (o.node() == nullptr) return error("an input is an invalid (null) output");
      // Checked before anything reads the input's type or shape.
      if (o.index() < 0 || o.index() >= o.node()->num_outputs()) {
        return error("input refers to output ", o.index(), " of '", o.node()->name(),
                     "', which has ", o.node()->num_outputs(), " outputs");
      }
    }
  }

  // Attrs: unknown names are errors, except TensorFlow's internal "_..." attrs.
  for (const auto& [name, value] : spec.attrs) {
    const AttrDef* def = op->FindAttr(name);
    if (def == nullptr) {
      if (absl::StartsWith(name, "_")) continue;
      return error("unknown attr '", name, "'");
    }
    if (!KindMatches(def->type, value)) {
      return error("attr '", name, "' must be ", def->type, " but is ", AttrValueKind(value));
    }
  }

  // Infer type and number attrs from the inputs; check consistency where both are given.
  auto set_inferred = [&](const std::string& attr, AttrValue value) -> absl::Status {
    auto it = spec.attrs.find(attr);
    if (it == spec.attrs.end()) {
      spec.attrs[attr] = value;
      return absl::OkStatus();
    }
    const bool same = it->second.value_case() == AttrValue::kType && value.value_case() == AttrValue::kType
                          ? it->second.type() == value.type()
                          : it->second.SerializeAsString() == value.SerializeAsString();
    if (!same) {
      return error("attr '", attr, "' is ", it->second.ShortDebugString(),
                   " but the inputs imply ", value.ShortDebugString());
    }
    return absl::OkStatus();
  };
  for (size_t a = 0; a < op->inputs.size(); ++a) {
    const ArgDef& arg = op->inputs[a];
    const std::vector<Output>& given = args[a];
    if (!arg.type_list_attr.empty()) {
      AttrValue types;
      types.mutable_list();  // An empty list is still a list.
      for (const Output& o : given) {
        if (o.type() == DT_INVALID) break;  // From an opaque node: the attr must say.
        types.mutable_list()->add_type(BaseType(o.type()));
      }
      if (types.list().type_size() == static_cast<int>(given.size())) {
        DFLOW_RETURN_IF_ERROR(set_inferred(arg.type_list_attr, types));
      }
      continue;
    }
    if (arg.number_attr.empty() && given.size() != 1) {
      return error("input '", arg.name, "' takes one tensor, got ", given.size());
    }
    if (!arg.number_attr.empty()) {
      if (given.empty()) return error("input list '", arg.name, "' is empty");
      DFLOW_RETURN_IF_ERROR(
          set_inferred(arg.number_attr, MakeAttr(static_cast<int64_t>(given.size()))));
    }
    // An opaque node's output of unknown type implies nothing: the attr must be given.
    if (!arg.type_attr.empty() && given[0].type() != DT_INVALID) {
      DFLOW_RETURN_IF_ERROR(set_inferred(arg.type_attr, MakeAttr(BaseType(given[0].type()))));
    }
  }
  for (const AttrDef& def : op->attrs) {
    if (!spec.attrs.count(def.name)) {
      if (!def.default_value) return error("missing attr '", def.name, "'");
      spec.attrs[def.name] = *def.default_value;
    }
    if (def.type == "type" && !def.allowed_types.empty()) {
      DataType t = spec.attrs[def.name].type();
      if (std::find(def.allowed_types.begin(), def.allowed_types.end(), t) ==
          def.allowed_types.end()) {
        std::vector<std::string> allowed;
        for (DataType d : def.allowed_types) allowed.push_back(DataTypeString(d));
        return error("attr '", def.name, "' is ", DataTypeString(t), ", allowed: ",
                     absl::StrJoin(allowed, ", "));
      }
    }
  }

  // The type of element k of `arg`.
  auto arg_type = [&](const ArgDef& arg, int k) -> DataType {
    if (arg.type != DT_INVALID) return arg.type;
    if (!arg.type_list_attr.empty()) {
      return static_cast<DataType>(spec.attrs[arg.type_list_attr].list().type(k));
    }
    return spec.attrs[arg.type_attr].type();
  };
  for (size_t a = 0; a < op->inputs.size(); ++a) {
    const ArgDef& arg = op->inputs[a];
    if (!arg.type_list_attr.empty() &&
        spec.attrs[arg.type_list_attr].list().type_size() != static_cast<int>(args[a].size())) {
      return error("input list '", arg.name, "' has ", args[a].size(), " tensors but attr '",
                   arg.type_list_attr, "' lists ",
                   spec.attrs[arg.type_list_attr].list().type_size(), " types");
    }
    for (size_t k = 0; k < args[a].size(); ++k) {
      spec.inputs.push_back(args[a][k]);
      spec.input_types.push_back(arg_type(arg, static_cast<int>(k)));
      spec.input_is_ref.push_back(arg.is_ref);
    }
  }
  for (const ArgDef& arg : op->outputs) {
    int count = 1;
    if (!arg.number_attr.empty()) count = static_cast<int>(spec.attrs[arg.number_attr].i());
    if (!arg.type_list_attr.empty()) count = spec.attrs[arg.type_list_attr].list().type_size();
    for (int i = 0; i < count; ++i) {
      spec.output_types.push_back(arg_type(arg, i));
      spec.output_is_ref.push_back(arg.is_ref);
    }
  }

  // Shape inference, with constant inputs visible to the shape function.
  InferenceContext ctx(spec.name, *op, spec.attrs, spec.inputs,
                       static_cast<int>(spec.output_types.size()));
  if (op->shape_fn) DFLOW_RETURN_IF_ERROR(op->shape_fn(&ctx));
  for (int i = 0; i < ctx.num_outputs(); ++i) spec.output_shapes.push_back(ctx.output(i));
  return graph->AddNode(std::move(spec));
}

}  // namespace dflow
