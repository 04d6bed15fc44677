#include "kernels/dnnl_util.h"

#include "absl/strings/str_cat.h"

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
                  absl::Span<const BoundArg> args) {
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

dnnl::memory::desc MatMulDims::A() const {
  return dnnl::memory::desc({m, k}, dnnl::memory::data_type::f32,
                            transpose_a ? dnnl::memory::dims{1, m} : dnnl::memory::dims{k, 1});
}

dnnl::memory::desc MatMulDims::B() const {
  return dnnl::memory::desc({k, n}, dnnl::memory::data_type::f32,
                            transpose_b ? dnnl::memory::dims{1, k} : dnnl::memory::dims{n, 1});
}

dnnl::memory::desc MatMulDims::C() const {
  return dnnl::memory::desc({m, n}, dnnl::memory::data_type::f32, dnnl::memory::dims{n, 1});
}

absl::StatusOr<MatMulDims> MatMulDimsOf(const Tensor& a, const Tensor& b, bool transpose_a,
                                        bool transpose_b) {
  for (const Tensor* t : {&a, &b}) {
    if (t->dtype() != DT_FLOAT) {
      return absl::InvalidArgumentError(absl::StrCat(t == &a ? "a" : "b", " must be float but is ",
                                                     DataTypeString(t->dtype())));
    }
  }
  if (a.dims() != 2 || b.dims() != 2) {
    return absl::InvalidArgumentError(absl::StrCat("inputs must be matrices, got ",
                                                   a.shape().DebugString(), " x ",
                                                   b.shape().DebugString()));
  }
  MatMulDims d;
  d.transpose_a = transpose_a;
  d.transpose_b = transpose_b;
  d.m = a.dim_size(transpose_a ? 1 : 0);
  d.k = a.dim_size(transpose_a ? 0 : 1);
  d.n = b.dim_size(transpose_b ? 0 : 1);
  if (b.dim_size(transpose_b ? 1 : 0) != d.k) {
    return absl::InvalidArgumentError(absl::StrCat(
        "inner dimensions differ: ", a.shape().DebugString(), " x ", b.shape().DebugString(),
        " with transpose_a=", transpose_a ? "true" : "false",
        ", transpose_b=", transpose_b ? "true" : "false"));
  }
  return d;
}

absl::Status DnnlError(const dnnl::error& e) {
  return absl::InternalError(std::string("oneDNN error: ") + e.what());
}

}  // namespace dflow
