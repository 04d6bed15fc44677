// Element types: dflow uses the DataType enum of the GraphDef schema directly.
#ifndef DFLOW_GRAPH_TYPES_H_
#define DFLOW_GRAPH_TYPES_H_

#include <cstdint>
#include <string>

#include "proto/graph.pb.h"

namespace dflow {

// Bytes per element of a plain-bytes type; 0 for types without plain-bytes storage (strings,
// complex). A resource handle is stored as an int64 id. Code that copies elements as bytes relies
// on the 0 for strings: a string tensor holds std::string objects (see HasStorage).
int DataTypeSize(DataType dtype);

// "float", "int32", ... as TensorFlow prints them; "float_ref" for reference types.
std::string DataTypeString(DataType dtype);

// TensorFlow's reference types are the value types plus 100 (DT_FLOAT_REF = 101, ...).
inline bool IsRefType(DataType dtype) {
  return static_cast<int>(dtype) > 100 && static_cast<int>(dtype) < 200;
}
inline DataType BaseType(DataType dtype) {
  return IsRefType(dtype) ? static_cast<DataType>(static_cast<int>(dtype) - 100) : dtype;
}

// True for the types a Tensor can hold: the plain-bytes ones and DT_STRING (std::string
// elements, constructed and destroyed with the buffer).
inline bool HasStorage(DataType dtype) {
  return DataTypeSize(dtype) > 0 || BaseType(dtype) == DT_STRING;
}

// Maps a C++ element type to its DataType: DataTypeOf<float>::value == DT_FLOAT.
template <typename T>
struct DataTypeOf;
template <>
struct DataTypeOf<float> { static constexpr DataType value = DT_FLOAT; };
template <>
struct DataTypeOf<double> { static constexpr DataType value = DT_DOUBLE; };
template <>
struct DataTypeOf<int32_t> { static constexpr DataType value = DT_INT32; };
template <>
struct DataTypeOf<int64_t> { static constexpr DataType value = DT_INT64; };
template <>
struct DataTypeOf<uint8_t> { static constexpr DataType value = DT_UINT8; };
template <>
struct DataTypeOf<bool> { static constexpr DataType value = DT_BOOL; };
template <>
struct DataTypeOf<std::string> { static constexpr DataType value = DT_STRING; };

// Calls fn(T{}) with T the C++ type of `dtype`; returns false for types without plain-bytes
// storage (strings included: kernels opt in to strings one by one).
template <typename Fn>
bool VisitDataType(DataType dtype, Fn&& fn) {
  switch (dtype) {
    case DT_FLOAT: fn(float{}); return true;
    case DT_DOUBLE: fn(double{}); return true;
    case DT_INT32: fn(int32_t{}); return true;
    case DT_INT64: fn(int64_t{}); return true;
    case DT_UINT8: fn(uint8_t{}); return true;
    case DT_BOOL: fn(bool{}); return true;
    default: return false;
  }
}

// As VisitDataType, and fn(std::string{}) for DT_STRING: for kernels that only move elements
// (copies, gathers, selections), which copy a string as an object, never as bytes.
template <typename Fn>
bool VisitCopyableType(DataType dtype, Fn&& fn) {
  if (dtype == DT_STRING) {
    fn(std::string{});
    return true;
  }
  return VisitDataType(dtype, fn);
}

}  // namespace dflow

#endif  // DFLOW_GRAPH_TYPES_H_
