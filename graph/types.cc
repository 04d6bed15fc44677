#include "graph/types.h"

namespace dflow {

int DataTypeSize(DataType dtype) {
  switch (BaseType(dtype)) {
    case DT_FLOAT: return 4;
    case DT_DOUBLE: return 8;
    case DT_INT32: return 4;
    case DT_INT64: return 8;
    case DT_UINT8: return 1;
    case DT_BOOL: return 1;
    case DT_RESOURCE: return 8;  // A handle: an id of a run's resource (kernels/run_resources.h).
    // Quantized types (Dequantize's inputs), stored as the integers they wrap.
    case DT_QINT8: case DT_QUINT8: return 1;
    case DT_QINT16: case DT_QUINT16: return 2;
    case DT_QINT32: return 4;
    default: return 0;
  }
}

std::string DataTypeString(DataType dtype) {
  if (IsRefType(dtype)) return DataTypeString(BaseType(dtype)) + "_ref";
  switch (dtype) {
    case DT_FLOAT: return "float";
    case DT_DOUBLE: return "double";
    case DT_INT32: return "int32";
    case DT_UINT8: return "uint8";
    case DT_INT16: return "int16";
    case DT_INT8: return "int8";
    case DT_STRING: return "string";
    case DT_INT64: return "int64";
    case DT_BOOL: return "bool";
    case DT_RESOURCE: return "resource";
    case DT_HALF: return "half";
    case DT_BFLOAT16: return "bfloat16";
    // Quantized types.
    case DT_QINT8: return "qint8";
    case DT_QUINT8: return "quint8";
    case DT_QINT16: return "qint16";
    case DT_QUINT16: return "quint16";
    case DT_QINT32: return "qint32";
    case DT_INVALID: return "invalid";
    default: return "type_enum_" + std::to_string(static_cast<int>(dtype));
  }
}

}  // namespace dflow
