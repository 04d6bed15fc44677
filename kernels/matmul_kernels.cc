// MatMul on oneDNN's matmul primitive, created once per input shape and cached in the kernel.
#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "kernels/dnnl_util.h"
#include "kernels/op_kernel.h"

namespace dflow {
namespace {

using dnnl::memory;

// ---------------------------------------------------------------------------------------------
// Helpers.

// Runs `fn` (which creates or executes oneDNN primitives), turning oneDNN errors into a status.
template <typename Fn>
absl::Status DnnlCall(absl::string_view what, Fn&& fn) {
  try {
    fn();
  } catch (const dnnl::error& e) {
    return absl::InternalError(absl::StrCat("oneDNN ", what, " failed: ", e.what()));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// MatMul: oneDNN matmul; transposes are expressed by the strides of the operands' descriptors.

class MatMulOp : public OpKernel {
 public:
  explicit MatMulOp(const Node& node) : OpKernel(node) {
    absl::Status s = GetNodeAttr(node, "transpose_a", &transpose_a_);
    if (s.ok()) s = GetNodeAttr(node, "transpose_b", &transpose_b_);
    if (!s.ok()) SetConstructionError(s);
  }

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& a = ctx->input(0);
    const Tensor& b = ctx->input(1);
    if (!a.IsInitialized() || !b.IsInitialized()) {
      return ctx->InvalidArgument(a.IsInitialized() ? "b" : "a", " is not initialized");
    }
    absl::StatusOr<MatMulDims> d = MatMulDimsOf(a, b, transpose_a_, transpose_b_);
    if (!d.ok()) return d.status();
    Tensor* out = ctx->allocate_output(0, TensorShape({d->m, d->n}));
    if (d->m == 0 || d->n == 0) return absl::OkStatus();
    if (d->k == 0) {
      std::fill(out->flat<float>().begin(), out->flat<float>().end(), 0.0f);
      return absl::OkStatus();
    }
    CacheKey key = ShapeKey({&a.shape(), &b.shape()});
    return DnnlCall("matmul", [&] {
      Entry* e = cache_.Find(key);
      if (e == nullptr) {
        dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(d->A(), d->B(), d->C()),
                                        ctx->engine());
        auto entry = std::make_unique<Entry>();
        entry->prim = dnnl::matmul(pd);
        entry->a = memory(d->A(), ctx->engine(), nullptr);
        entry->b = memory(d->B(), ctx->engine(), nullptr);
        entry->c = memory(d->C(), ctx->engine(), nullptr);
        e = cache_.Insert(key, std::move(entry));
      }
      RunPrimitive(e->prim, ctx->stream(),
                   {{DNNL_ARG_SRC, e->a, a.data()},
                    {DNNL_ARG_WEIGHTS, e->b, b.data()},
                    {DNNL_ARG_DST, e->c, out->data()}});
    });
  }

 private:
  struct Entry {
    dnnl::primitive prim;
    memory a, b, c;
  };
  bool transpose_a_ = false;
  bool transpose_b_ = false;
  ShapeCache<Entry> cache_;
};
REGISTER_KERNEL("MatMul", MatMulOp, "T", {DT_FLOAT});

}  // namespace
}  // namespace dflow
