#include "ops/op_registry.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace dflow {

const AttrDef* OpDef::FindAttr(absl::string_view attr_name) const {
  for (const AttrDef& a : attrs) {
    if (a.name == attr_name) return &a;
  }
  return nullptr;
}

OpRegistry* OpRegistry::Global() {
  static OpRegistry* registry = new OpRegistry();  // Never destroyed: used from static init.
  return registry;
}

absl::Status OpRegistry::Register(OpDef op) {
  if (ops_.contains(op.name) || aliases_.contains(op.name)) {
    return absl::AlreadyExistsError(absl::StrCat("op '", op.name, "' is registered twice"));
  }
  std::string name = op.name;
  ops_[name] = std::make_unique<OpDef>(std::move(op));
  return absl::OkStatus();
}

absl::Status OpRegistry::RegisterAlias(absl::string_view alias, absl::string_view op) {
  if (ops_.contains(alias) || aliases_.contains(alias)) {
    return absl::AlreadyExistsError(absl::StrCat("op alias '", alias, "' is registered twice"));
  }
  aliases_[std::string(alias)] = std::string(op);
  return absl::OkStatus();
}

absl::Status OpRegistry::SetGradient(absl::string_view op, GradFn grad_fn) {
  auto it = ops_.find(op);
  if (it == ops_.end()) {
    return absl::NotFoundError(absl::StrCat("gradient for unregistered op '", op, "'"));
  }
  if (it->second->grad_fn) {
    return absl::AlreadyExistsError(absl::StrCat("op '", op, "' has two gradients"));
  }
  it->second->grad_fn = std::move(grad_fn);
  return absl::OkStatus();
}

const OpDef* OpRegistry::Find(absl::string_view op) const {
  auto it = ops_.find(op);
  if (it != ops_.end()) return it->second.get();
  auto alias = aliases_.find(op);
  if (alias == aliases_.end()) return nullptr;
  it = ops_.find(alias->second);
  return it == ops_.end() ? nullptr : it->second.get();
}

std::vector<std::string> OpRegistry::ListOps() const {
  std::vector<std::string> names;
  for (const auto& [name, op] : ops_) names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

std::optional<DataType> ParseDataType(absl::string_view name) {
  static const auto* kNames = new absl::flat_hash_map<std::string, DataType>{
      {"float", DT_FLOAT}, {"double", DT_DOUBLE}, {"int32", DT_INT32}, {"int64", DT_INT64},
      {"uint8", DT_UINT8}, {"bool", DT_BOOL},     {"string", DT_STRING}, {"int8", DT_INT8},
      {"int16", DT_INT16}, {"half", DT_HALF},     {"bfloat16", DT_BFLOAT16},
      {"resource", DT_RESOURCE},
      {"qint8", DT_QINT8}, {"quint8", DT_QUINT8}, {"qint16", DT_QINT16}, {"quint16", DT_QUINT16},
      {"qint32", DT_QINT32}};
  std::string lower = absl::AsciiStrToLower(name);
  absl::ConsumePrefix(&name, "DT_");
  if (absl::StartsWith(lower, "dt_")) lower = lower.substr(3);
  auto it = kNames->find(lower);
  if (it == kNames->end()) return std::nullopt;
  return it->second;
}

namespace {

std::string Trim(absl::string_view s) { return std::string(absl::StripAsciiWhitespace(s)); }

// "name: rest" -> (name, rest).
bool SplitSpec(absl::string_view spec, std::string* name, std::string* rest) {
  const size_t colon = spec.find(':');
  if (colon == absl::string_view::npos) return false;
  *name = Trim(spec.substr(0, colon));
  *rest = Trim(spec.substr(colon + 1));
  return !name->empty() && !rest->empty();
}

bool ParseArg(absl::string_view spec, ArgDef* arg) {
  std::string type;
  if (!SplitSpec(spec, &arg->name, &type)) return false;
  if (absl::StartsWith(type, "Ref(") && absl::EndsWith(type, ")")) {
    arg->is_ref = true;
    type = Trim(absl::string_view(type).substr(4, type.size() - 5));
  }
  const size_t star = type.find('*');
  if (star != std::string::npos) {
    arg->number_attr = Trim(absl::string_view(type).substr(0, star));
    type = Trim(absl::string_view(type).substr(star + 1));
  }
  if (std::optional<DataType> fixed = ParseDataType(type)) {
    arg->type = *fixed;
  } else {
    arg->type_attr = type;
  }
  return true;
}

bool ParseDefault(const std::string& type, absl::string_view text, AttrValue* value) {
  if (type == "bool") {
    if (text != "true" && text != "false") return false;
    value->set_b(text == "true");
  } else if (type == "int") {
    int64_t i;
    if (!absl::SimpleAtoi(text, &i)) return false;
    value->set_i(i);
  } else if (type == "float") {
    float f;
    if (!absl::SimpleAtof(text, &f)) return false;
    value->set_f(f);
  } else if (type == "type") {
    std::optional<DataType> t = ParseDataType(text);
    if (!t) return false;
    value->set_type(*t);
  } else if (type == "string") {
    if (text.size() < 2 || text.front() != '\'' || text.back() != '\'') return false;
    value->set_s(std::string(text.substr(1, text.size() - 2)));
  } else if (type == "shape") {
    if (text != "unknown") return false;  // The only shape default dflow's ops need.
    value->mutable_shape()->set_unknown_rank(true);
  } else if (type == "list(int)") {
    if (text.size() < 2 || text.front() != '[' || text.back() != ']') return false;
    value->mutable_list();
    for (absl::string_view part : absl::StrSplit(text.substr(1, text.size() - 2), ',',
                                                 absl::SkipWhitespace())) {
      int64_t i;
      if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(part), &i)) return false;
      value->mutable_list()->add_i(i);
    }
  } else if (type == "list(string)") {
    if (text.size() < 2 || text.front() != '[' || text.back() != ']') return false;
    value->mutable_list();
    for (absl::string_view part : absl::StrSplit(text.substr(1, text.size() - 2), ',',
                                                 absl::SkipWhitespace())) {
      part = absl::StripAsciiWhitespace(part);
      if (part.size() < 2 || part.front() != '\'' || part.back() != '\'') return false;
      value->mutable_list()->add_s(std::string(part.substr(1, part.size() - 2)));
    }
  } else {
    return false;
  }
  return true;
}

bool ParseAttr(absl::string_view spec, AttrDef* attr) {
  std::string rest;
  if (!SplitSpec(spec, &attr->name, &rest)) return false;
  std::string default_text;
  // The default follows a '=' that is not part of a ">=" constraint.
  size_t eq = rest.find('=');
  while (eq != std::string::npos && eq > 0 && rest[eq - 1] == '>') eq = rest.find('=', eq + 1);
  if (eq != std::string::npos) {
    default_text = Trim(absl::string_view(rest).substr(eq + 1));
    rest = Trim(absl::string_view(rest).substr(0, eq));
  }
  // Constraints such as "int >= 1" are documentation here.
  const size_t ge = rest.find(">=");
  if (ge != std::string::npos) rest = Trim(absl::string_view(rest).substr(0, ge));
  if (!rest.empty() && rest.front() == '{') {
    if (rest.back() != '}') return false;
    attr->type = "type";
    for (absl::string_view t : absl::StrSplit(absl::string_view(rest).substr(1, rest.size() - 2),
                                              ',', absl::SkipWhitespace())) {
      std::optional<DataType> dt = ParseDataType(absl::StripAsciiWhitespace(t));
      if (!dt) return false;
      attr->allowed_types.push_back(*dt);
    }
  } else {
    attr->type = rest;
  }
  if (!default_text.empty()) {
    AttrValue value;
    if (!ParseDefault(attr->type, default_text, &value)) return false;
    attr->default_value = value;
  }
  return true;
}

}  // namespace

OpDefBuilder& OpDefBuilder::Input(absl::string_view spec) {
  ArgDef arg;
  if (!ParseArg(spec, &arg)) absl::StrAppend(&error_, " bad input spec '", spec, "';");
  op_.inputs.push_back(arg);
  return *this;
}

OpDefBuilder& OpDefBuilder::Output(absl::string_view spec) {
  ArgDef arg;
  if (!ParseArg(spec, &arg)) absl::StrAppend(&error_, " bad output spec '", spec, "';");
  op_.outputs.push_back(arg);
  return *this;
}

OpDefBuilder& OpDefBuilder::Attr(absl::string_view spec) {
  AttrDef attr;
  if (!ParseAttr(spec, &attr)) absl::StrAppend(&error_, " bad attr spec '", spec, "';");
  op_.attrs.push_back(attr);
  return *this;
}

OpDefBuilder& OpDefBuilder::Attrs(absl::Span<const absl::string_view> specs) {
  for (absl::string_view spec : specs) Attr(spec);
  return *this;
}

OpDefBuilder& OpDefBuilder::SetShapeFn(ShapeFn fn) {
  op_.shape_fn = std::move(fn);
  return *this;
}

OpDefBuilder& OpDefBuilder::SetIsStateful() {
  op_.is_stateful = true;
  return *this;
}

OpDefBuilder& OpDefBuilder::NotDifferentiable() {
  op_.differentiable = false;
  return *this;
}

OpDef OpDefBuilder::Build() const {
  std::string error = error_;
  auto check_arg = [&](const ArgDef& arg) {
    if (!arg.type_attr.empty() && op_.FindAttr(arg.type_attr) == nullptr) {
      absl::StrAppend(&error, " arg '", arg.name, "' uses undeclared attr '", arg.type_attr, "';");
    }
    if (!arg.number_attr.empty() && op_.FindAttr(arg.number_attr) == nullptr) {
      absl::StrAppend(&error, " arg '", arg.name, "' uses undeclared attr '", arg.number_attr, "';");
    }
  };
  for (const ArgDef& a : op_.inputs) check_arg(a);
  for (const ArgDef& a : op_.outputs) check_arg(a);
  if (!error.empty()) {
    std::fprintf(stderr, "dflow: bad registration of op '%s':%s\n", op_.name.c_str(), error.c_str());
    std::abort();
  }
  OpDef op = op_;
  // An arg typed by a list(type) attr is a list of tensors of those types.
  for (std::vector<ArgDef>* args : {&op.inputs, &op.outputs}) {
    for (ArgDef& arg : *args) {
      const AttrDef* attr = arg.type_attr.empty() ? nullptr : op.FindAttr(arg.type_attr);
      if (attr != nullptr && attr->type == "list(type)") {
        std::swap(arg.type_list_attr, arg.type_attr);
      }
    }
  }
  return op;
}

namespace {
void DieOnError(const absl::Status& status) {
  if (!status.ok()) {
    std::fprintf(stderr, "dflow: %s\n", std::string(status.message()).c_str());
    std::abort();
  }
}
}  // namespace

OpRegistrar::OpRegistrar(const OpDefBuilder& builder) {
  DieOnError(OpRegistry::Global()->Register(builder.Build()));
}

GradientRegistrar::GradientRegistrar(absl::string_view op, GradFn fn) {
  DieOnError(OpRegistry::Global()->SetGradient(op, std::move(fn)));
}

AliasRegistrar::AliasRegistrar(absl::string_view alias, absl::string_view op) {
  DieOnError(OpRegistry::Global()->RegisterAlias(alias, op));
}

}  // namespace dflow
