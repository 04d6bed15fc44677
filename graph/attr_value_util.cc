#include "graph/attr_value_util.h"

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"

namespace dflow {
namespace {

absl::StatusOr<const AttrValue*> Find(const AttrMap& attrs, absl::string_view name,
                                      AttrValue::ValueCase expected, const char* kind) {
  auto it = attrs.find(std::string(name));
  if (it == attrs.end()) return absl::NotFoundError(absl::StrCat("missing attr '", name, "'"));
  if (it->second.value_case() != expected) {
    return absl::InvalidArgumentError(absl::StrCat("attr '", name, "' is ",
                                                   AttrValueKind(it->second), ", expected ", kind));
  }
  return &it->second;
}

// The scalar attr `name` of case `expected` as read(value).
template <typename T, typename Read>
absl::Status GetScalar(const AttrMap& attrs, absl::string_view name,
                       AttrValue::ValueCase expected, const char* kind, T* value, Read read) {
  DFLOW_ASSIGN_OR_RETURN(const AttrValue* v, Find(attrs, name, expected, kind));
  *value = read(*v);
  return absl::OkStatus();
}

template <typename T>
absl::Status GetIntList(const AttrMap& attrs, absl::string_view name, std::vector<T>* value) {
  DFLOW_ASSIGN_OR_RETURN(const AttrValue* v, Find(attrs, name, AttrValue::kList, "list(int)"));
  value->assign(v->list().i().begin(), v->list().i().end());
  return absl::OkStatus();
}

}  // namespace

#define DFLOW_FIND_ATTR(var, kase, kind) \
  DFLOW_ASSIGN_OR_RETURN(const AttrValue* var, Find(attrs, name, AttrValue::kase, kind))

absl::Status GetAttr(const AttrMap& attrs, absl::string_view name, bool* value) {
  return GetScalar(attrs, name, AttrValue::kB, "bool", value,
                   [](const AttrValue& v) { return v.b(); });
}
absl::Status GetAttr(const AttrMap& attrs, absl::string_view name, int64_t* value) {
  return GetScalar(attrs, name, AttrValue::kI, "int", value,
                   [](const AttrValue& v) { return v.i(); });
}
absl::Status GetAttr(const AttrMap& attrs, absl::string_view name, int32_t* value) {
  return GetScalar(attrs, name, AttrValue::kI, "int", value,
                   [](const AttrValue& v) { return static_cast<int32_t>(v.i()); });
}
absl::Status GetAttr(const AttrMap& attrs, absl::string_view name, float* value) {
  return GetScalar(attrs, name, AttrValue::kF, "float", value,
                   [](const AttrValue& v) { return v.f(); });
}
absl::Status GetAttr(const AttrMap& attrs, absl::string_view name, DataType* value) {
  return GetScalar(attrs, name, AttrValue::kType, "type", value,
                   [](const AttrValue& v) { return v.type(); });
}
absl::Status GetAttr(const AttrMap& attrs, absl::string_view name, std::string* value) {
  return GetScalar(attrs, name, AttrValue::kS, "string", value,
                   [](const AttrValue& v) -> const std::string& { return v.s(); });
}
absl::Status GetAttr(const AttrMap& attrs, absl::string_view name, PartialTensorShape* value) {
  DFLOW_FIND_ATTR(v, kShape, "shape");
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape shape, PartialTensorShape::FromProto(v->shape()));
  *value = shape;
  return absl::OkStatus();
}
absl::Status GetAttr(const AttrMap& attrs, absl::string_view name, Tensor* value) {
  DFLOW_FIND_ATTR(v, kTensor, "tensor");
  DFLOW_ASSIGN_OR_RETURN(Tensor t, Tensor::FromProto(v->tensor()));
  *value = t;
  return absl::OkStatus();
}
absl::Status GetAttr(const AttrMap& attrs, absl::string_view name, std::vector<int64_t>* value) {
  return GetIntList(attrs, name, value);
}
absl::Status GetAttr(const AttrMap& attrs, absl::string_view name, std::vector<int32_t>* value) {
  return GetIntList(attrs, name, value);
}
absl::Status GetAttr(const AttrMap& attrs, absl::string_view name, std::vector<DataType>* value) {
  DFLOW_FIND_ATTR(v, kList, "list(type)");
  value->clear();
  for (int t : v->list().type()) value->push_back(static_cast<DataType>(t));
  return absl::OkStatus();
}

absl::Status GetAttr(const AttrMap& attrs, absl::string_view name,
                     std::vector<std::string>* value) {
  DFLOW_FIND_ATTR(v, kList, "list(string)");
  value->assign(v->list().s().begin(), v->list().s().end());
  return absl::OkStatus();
}

#undef DFLOW_FIND_ATTR

AttrValue MakeAttr(bool value) { AttrValue a; a.set_b(value); return a; }
AttrValue MakeAttr(int64_t value) { AttrValue a; a.set_i(value); return a; }
AttrValue MakeAttr(int value) { AttrValue a; a.set_i(value); return a; }
AttrValue MakeAttr(float value) { AttrValue a; a.set_f(value); return a; }
AttrValue MakeAttr(DataType value) { AttrValue a; a.set_type(value); return a; }
AttrValue MakeAttr(absl::string_view value) { AttrValue a; a.set_s(std::string(value)); return a; }
AttrValue MakeAttr(const char* value) { return MakeAttr(absl::string_view(value)); }
AttrValue MakeAttr(const PartialTensorShape& value) {
  AttrValue a;
  value.ToProto(a.mutable_shape());
  return a;
}
AttrValue MakeAttr(const TensorShape& value) { return MakeAttr(PartialTensorShape(value)); }
AttrValue MakeAttr(const Tensor& value) {
  AttrValue a;
  value.ToProto(a.mutable_tensor());
  return a;
}
AttrValue MakeAttr(absl::Span<const int64_t> value) {
  AttrValue a;
  a.mutable_list();
  for (int64_t v : value) a.mutable_list()->add_i(v);
  return a;
}
AttrValue MakeAttr(const std::vector<int>& value) {
  AttrValue a;
  a.mutable_list();
  for (int v : value) a.mutable_list()->add_i(v);
  return a;
}
AttrValue MakeAttr(absl::Span<const DataType> value) {
  AttrValue a;
  a.mutable_list();
  for (DataType v : value) a.mutable_list()->add_type(v);
  return a;
}

AttrValue MakeStringListAttr(absl::Span<const std::string> value) {
  AttrValue a;
  a.mutable_list();
  for (const std::string& v : value) a.mutable_list()->add_s(v);
  return a;
}

std::string AttrValueKind(const AttrValue& value) {
  switch (value.value_case()) {
    case AttrValue::kS: return "string";
    case AttrValue::kI: return "int";
    case AttrValue::kF: return "float";
    case AttrValue::kB: return "bool";
    case AttrValue::kType: return "type";
    case AttrValue::kShape: return "shape";
    case AttrValue::kTensor: return "tensor";
    case AttrValue::kFunc: return "func";
    case AttrValue::kPlaceholder: return "placeholder";
    case AttrValue::kList: {
      const auto& l = value.list();
      if (l.s_size() > 0) return "list(string)";
      if (l.i_size() > 0) return "list(int)";
      if (l.f_size() > 0) return "list(float)";
      if (l.b_size() > 0) return "list(bool)";
      if (l.type_size() > 0) return "list(type)";
      if (l.shape_size() > 0) return "list(shape)";
      if (l.tensor_size() > 0) return "list(tensor)";
      return "list";
    }
    case AttrValue::VALUE_NOT_SET: return "empty";
  }
  return "unknown";
}

}  // namespace dflow
