#include "kernels/dnnl_util.h"

#include <cstdlib>
#include <new>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "kernels/op_kernel.h"

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

dnnl::primitive_attr KernelAttr(dnnl::primitive_attr attr) {
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

Primitive::Primitive(const dnnl::primitive_desc_base& pd) {
  if (pd.get_primitive_attr().get_scratchpad_mode() != dnnl::scratchpad_mode::user) {
    throw dnnl::error(dnnl_invalid_arguments, "a kernel primitive must be made with KernelAttr()");
  }
  const dnnl::memory::desc scratchpad = pd.scratchpad_desc();
  prim_ = dnnl::primitive(pd.get());
  scratchpad_bytes_ = scratchpad.get_size();
  if (scratchpad_bytes_ > 0) scratchpad_ = dnnl::memory(scratchpad, pd.get_engine(), nullptr);
}

void* ThreadScratchpad(size_t bytes) {
  struct Buffer {
    ~Buffer() { std::free(data); }
    void* data = nullptr;
    size_t size = 0;
  };
  thread_local Buffer buffer;
  if (bytes > buffer.size) {
    constexpr size_t kAlign = 64;
    const size_t size = (bytes + kAlign - 1) / kAlign * kAlign;
    void* data = std::aligned_alloc(kAlign, size);
    if (data == nullptr) throw std::bad_alloc();
    std::free(buffer.data);
    buffer.data = data;
    buffer.size = size;
  }
  return buffer.data;
}

void RunPrimitive(const Primitive& prim, dnnl::stream& stream, absl::Span<const BoundArg> args) {
  // Inline for the usual handful; a longer list (AddN of many inputs) reuses a per-thread vector.
  constexpr size_t kInlineArgs = 16;
  dnnl_exec_arg_t inline_args[kInlineArgs];
  dnnl_exec_arg_t* c_args = inline_args;
  if (args.size() + 1 > kInlineArgs) {
    thread_local std::vector<dnnl_exec_arg_t> long_args;
    if (long_args.size() < args.size() + 1) long_args.resize(args.size() + 1);
    c_args = long_args.data();
  }
  int n = 0;
  for (const BoundArg& a : args) {
    if (a.buffer != nullptr) a.memory.set_data_handle(const_cast<void*>(a.buffer));
    c_args[n++] = {a.id, a.memory.get()};
  }
  if (prim.scratchpad_bytes_ > 0) {
    prim.scratchpad_.set_data_handle(ThreadScratchpad(prim.scratchpad_bytes_));
    c_args[n++] = {DNNL_ARG_SCRATCHPAD, prim.scratchpad_.get()};
  }
  dnnl::error::wrap_c_api(
      dnnl_primitive_execute(prim.prim_.get(), stream.get(), n, c_args),
      "could not execute a primitive");
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
  DFLOW_RETURN_IF_ERROR(CheckInput(a, "a", DT_FLOAT));
  DFLOW_RETURN_IF_ERROR(CheckInput(b, "b", DT_FLOAT));
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

absl::Status GetTransposeAttrs(const Node& node, bool* transpose_a, bool* transpose_b) {
  DFLOW_RETURN_IF_ERROR(GetNodeAttr(node, "transpose_a", transpose_a));
  return GetNodeAttr(node, "transpose_b", transpose_b);
}

}  // namespace dflow
