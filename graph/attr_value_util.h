// Reading and writing node attributes (AttrValue protos) as C++ values.
#ifndef DFLOW_GRAPH_ATTR_VALUE_UTIL_H_
#define DFLOW_GRAPH_ATTR_VALUE_UTIL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "graph/graph.h"
#include "graph/tensor.h"
#include "graph/tensor_shape.h"
#include "proto/graph.pb.h"

namespace dflow {

// Each fails with a message naming the attr when it is missing or of another kind.
absl::Status GetAttr(const AttrMap& attrs, absl::string_view name, bool* value);
absl::Status GetAttr(const AttrMap& attrs, absl::string_view name, int64_t* value);
absl::Status GetAttr(const AttrMap& attrs, absl::string_view name, int32_t* value);
absl::Status GetAttr(const AttrMap& attrs, absl::string_view name, float* value);
absl::Status GetAttr(const AttrMap& attrs, absl::string_view name, DataType* value);
absl::Status GetAttr(const AttrMap& attrs, absl::string_view name, std::string* value);
absl::Status GetAttr(const AttrMap& attrs, absl::string_view name, PartialTensorShape* value);
absl::Status GetAttr(const AttrMap& attrs, absl::string_view name, Tensor* value);
absl::Status GetAttr(const AttrMap& attrs, absl::string_view name, std::vector<int64_t>* value);
absl::Status GetAttr(const AttrMap& attrs, absl::string_view name, std::vector<int32_t>* value);
absl::Status GetAttr(const AttrMap& attrs, absl::string_view name, std::vector<DataType>* value);
absl::Status GetAttr(const AttrMap& attrs, absl::string_view name,
                     std::vector<std::string>* value);

template <typename T>
absl::Status GetNodeAttr(const Node& node, absl::string_view name, T* value) {
  absl::Status s = GetAttr(node.attrs(), name, value);
  if (!s.ok()) {
    return absl::Status(s.code(), "node " + node.DebugString() + ": " + std::string(s.message()));
  }
  return s;
}

AttrValue MakeAttr(bool value);
AttrValue MakeAttr(int64_t value);
AttrValue MakeAttr(int value);
AttrValue MakeAttr(float value);
AttrValue MakeAttr(DataType value);
AttrValue MakeAttr(absl::string_view value);
AttrValue MakeAttr(const char* value);
AttrValue MakeAttr(const PartialTensorShape& value);
AttrValue MakeAttr(const TensorShape& value);
AttrValue MakeAttr(const Tensor& value);
AttrValue MakeAttr(absl::Span<const int64_t> value);
AttrValue MakeAttr(const std::vector<int>& value);
AttrValue MakeAttr(absl::Span<const DataType> value);
// Not a MakeAttr overload: braced lists of ints would become ambiguous with it.
AttrValue MakeStringListAttr(absl::Span<const std::string> value);

// The kind of value an AttrValue holds, in schema spelling: "int", "list(int)", "type", ...
std::string AttrValueKind(const AttrValue& value);

}  // namespace dflow

#endif  // DFLOW_GRAPH_ATTR_VALUE_UTIL_H_
