// MatMul on oneDNN's matmul primitive, created once per input shape and cached in the kernel;
// an outer product (inner dimension 1) of moderate size is a loop.
#include <algorithm>
#include <memory>
#include <utility>

#include "graph/status_macros.h"
#include "kernels/conv_util.h"
#include "kernels/dnnl_util.h"
#include "kernels/loops.h"
#include "kernels/op_kernel.h"

namespace dflow {
namespace {

using dnnl::memory;

// Transposes are expressed by the strides of the operands' descriptors.
class MatMulOp : public OpKernel {
 public:
  explicit MatMulOp(const Node& node) : OpKernel(node) {
    absl::Status s = GetTransposeAttrs(node, &transpose_a_, &transpose_b_);
    if (!s.ok()) SetConstructionError(s);
  }

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& a = ctx->input(0);
    const Tensor& b = ctx->input(1);
    DFLOW_ASSIGN_OR_RETURN(const MatMulDims d, MatMulDimsOf(a, b, transpose_a_, transpose_b_));
    Tensor* out = ctx->allocate_output(0, TensorShape({d.m, d.n}));
    if (d.m == 0 || d.n == 0) return absl::OkStatus();
    if (d.k == 0) {
      std::fill(out->flat<float>().begin(), out->flat<float>().end(), 0.0f);
      return absl::OkStatus();
    }
    if (d.k == 1 && d.m * d.n <= kLoopMaxOuterProduct) {
      // An outer product (a batch-1 weight gradient): whatever the transposes, a holds m
      // contiguous values and b n; one rounding per element, as in oneDNN.
      OuterProduct(static_cast<const float*>(a.data()), d.m, static_cast<const float*>(b.data()),
                   d.n, static_cast<float*>(out->data()));
      return absl::OkStatus();
    }
    if (d.m == 1 && !transpose_b_ && d.k * d.n <= kLoopMaxGemv) {
      // One row (batch 1): a gemv, whatever transpose_a says, as a loop (kernels/loops.h).
      RowTimesMatrix(static_cast<const float*>(a.data()), static_cast<const float*>(b.data()),
                     d.k, d.n, static_cast<float*>(out->data()));
      return absl::OkStatus();
    }
    // A Const [k, n] matrix transposed once into [n, k] rows, as _FusedMatMul does
    // (kernels/fused_kernels.cc: oneDNN 2.6's AVX2 gemm is faster with them).
    const bool transposed_copy = !transpose_b_ && b.IsImmutable();
    CacheKey key = ShapeKey({&a.shape(), &b.shape()});
    key.push_back(transposed_copy);
    ShapeCache<Entry>::Lease e = cache_.Get(key, [&] {
      const memory::desc weights =
          transposed_copy ? memory::desc({d.k, d.n}, memory::data_type::f32, memory::format_tag::ba)
                          : d.B();
      auto entry = std::make_unique<Entry>();
      entry->prim = Primitive(
          dnnl::matmul::primitive_desc(dnnl::matmul::desc(d.A(), weights, d.C()), KernelAttr(),
                                       ctx->engine()));
      entry->a = memory(d.A(), ctx->engine(), nullptr);
      entry->b.Init(d.B(), weights, ctx->engine(), /*into_primitive=*/true);
      entry->c = memory(d.C(), ctx->engine(), nullptr);
      return entry;
    });
    e->b.Load(ctx->stream(), b);
    RunPrimitive(e->prim, ctx->stream(),
                 {{DNNL_ARG_SRC, e->a, a.data()},
                  {DNNL_ARG_WEIGHTS, e->b.prim, e->b.Bound(b.data())},
                  {DNNL_ARG_DST, e->c, out->data()}});
    return absl::OkStatus();
  }

 private:
  struct Entry {
    Primitive prim;
    memory a, c;
    Weights b;
  };
  // Up to here (256 KiB of output) one thread's loop beats a primitive call.
  static constexpr int64_t kLoopMaxOuterProduct = int64_t{1} << 16;
  // Up to this many weights (256 KiB) the loop beats oneDNN's batch-1 gemv.
  static constexpr int64_t kLoopMaxGemv = int64_t{1} << 16;
  bool transpose_a_ = false;
  bool transpose_b_ = false;
  ShapeCache<Entry> cache_;
};
REGISTER_KERNEL("MatMul", MatMulOp, "T", {DT_FLOAT});

}  // namespace
}  // namespace dflow
