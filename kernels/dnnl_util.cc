#include "kernels/dnnl_util.h"

namespace dflow {

const dnnl::engine& CpuEngine() {
  static const dnnl::engine* engine = new dnnl::engine(dnnl::engine::kind::cpu, 0);
  return *engine;
}

std::optional<dnnl::memory::data_type> ToDnnlType(DataType dtype) {
  switch (dtype) {
    case DT_FLOAT: return dnnl::memory::data_type::f32;
    case DT_INT32: return dnnl::memory::data_type::s32;
    case DT_UINT8: return dnnl::memory::data_type::u8;
    default: return std::nullopt;
  }
}

dnnl::memory::dims ToDnnlDims(const TensorShape& shape) {
  if (shape.dims() == 0) return {1};
  return dnnl::memory::dims(shape.dim_sizes().begin(), shape.dim_sizes().end());
}

dnnl::memory::desc PlainDesc(const TensorShape& shape, dnnl::memory::data_type type, int rank) {
  dnnl::memory::dims dims = ToDnnlDims(shape);
  while (static_cast<int>(dims.size()) < rank) dims.insert(dims.begin(), 1);
  dnnl::memory::dims strides(dims.size());
  dnnl::memory::dim stride = 1;
  for (int i = static_cast<int>(dims.size()) - 1; i >= 0; --i) {
    strides[i] = stride;
    stride *= dims[i];
  }
  return dnnl::memory::desc(dims, type, strides);
}

std::vector<int64_t> ShapeKey(std::initializer_list<const TensorShape*> shapes) {
  std::vector<int64_t> key;
  for (const TensorShape* s : shapes) {
    key.push_back(s->dims());
    key.insert(key.end(), s->dim_sizes().begin(), s->dim_sizes().end());
  }
  return key;
}

absl::Status DnnlError(const dnnl::error& e) {
  return absl::InternalError(std::string("oneDNN error: ") + e.what());
}

}  // namespace dflow
