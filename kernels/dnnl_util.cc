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

CacheKey ShapeKey(std::initializer_list<const TensorShape*> shapes) {
  CacheKey key;
  for (const TensorShape* s : shapes) {
    key.push_back(s->dims());
    key.insert(key.end(), s->dim_sizes().begin(), s->dim_sizes().end());
  }
  return key;
}

void Execute(const dnnl::primitive& prim, dnnl::stream& stream,
             absl::Span<const dnnl_exec_arg_t> args) {
  dnnl::error::wrap_c_api(dnnl_primitive_execute(prim.get(), stream.get(),
                                                 static_cast<int>(args.size()), args.data()),
                          "could not execute a primitive");
}

void RunPrimitive(const dnnl::primitive& prim, dnnl::stream& stream,
                  std::initializer_list<BoundArg> args) {
  constexpr size_t kMaxArgs = 16;
  dnnl_exec_arg_t c_args[kMaxArgs];
  if (args.size() > kMaxArgs) {
    throw dnnl::error(dnnl_invalid_arguments, "too many primitive arguments");
  }
  int n = 0;
  for (const BoundArg& a : args) {
    if (a.buffer != nullptr) a.memory.set_data_handle(const_cast<void*>(a.buffer));
    c_args[n++] = {a.id, a.memory.get()};
  }
  Execute(prim, stream, absl::MakeConstSpan(c_args, n));
  stream.wait();
}

absl::Status DnnlError(const dnnl::error& e) {
  return absl::InternalError(std::string("oneDNN error: ") + e.what());
}

}  // namespace dflow
