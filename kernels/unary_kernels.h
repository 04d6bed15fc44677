// The two kernel shapes of element-wise functions: y = f(x) (UnaryKernel) and the gradient ops
// z = f'(a, b) of two same-shaped tensors (EltwiseGradKernel). Each is parameterized by a
// function struct Fn, derived from EltwiseFnDefaults, naming its types, inputs, the oneDNN
// eltwise algorithm when oneDNN has the function (float only; a forward or backward primitive
// made once per element count), and the scalar loop used otherwise:
//
//   struct SigmoidFn : EltwiseFnDefaults {
//     static constexpr const char* kInput = "x";        // For input errors.
//     static constexpr bool kDnnl = true;               // oneDNN eltwise on float.
//     static constexpr dnnl::algorithm kAlg = dnnl::algorithm::eltwise_logistic;
//     template <typename T> static T Apply(T x, float alpha) { ... }  // The loop.
//   };
//   REGISTER_KERNEL("Sigmoid", UnaryKernel<SigmoidFn>, "T", {DT_FLOAT});
#ifndef DFLOW_KERNELS_UNARY_KERNELS_H_
#define DFLOW_KERNELS_UNARY_KERNELS_H_

#include <cstdint>
#include <memory>
#include <type_traits>

#include "graph/status_macros.h"
#include "graph/types.h"
#include "kernels/dnnl_util.h"
#include "kernels/op_kernel.h"

namespace dflow {

// Type bits of Fn::kTypes.
constexpr int kF32 = 1, kF64 = 2, kI32 = 4, kI64 = 8;

template <typename T>
constexpr int TypeBit() {
  if constexpr (std::is_same_v<T, float>) return kF32;
  if constexpr (std::is_same_v<T, double>) return kF64;
  if constexpr (std::is_same_v<T, int32_t>) return kI32;
  if constexpr (std::is_same_v<T, int64_t>) return kI64;
  return 0;
}

// What a function struct inherits and overrides: no oneDNN, no alpha attr, float only.
struct EltwiseFnDefaults {
  static constexpr int kTypes = kF32;
  static constexpr bool kDnnl = false;
  // With kDnnl, tensors of at most this many elements run Apply's loop instead: a primitive
  // call costs more than their math (batch-1 LSTM gates).
  static constexpr int64_t kLoopMaxElements = 0;
  static constexpr dnnl::algorithm kAlg = dnnl::algorithm::undef;
  static constexpr bool kHasAlpha = false;
  static constexpr bool kUseDst = false;
  static constexpr int kGradIndex = 0;
  static float Alpha(float) { return 0.0f; }
  static float Beta(float) { return 0.0f; }
};

// Reads the node's `alpha` attr into *alpha when Fn has one (kHasAlpha).
template <typename Fn>
absl::Status ReadAlpha(const Node& node, float* alpha) {
  if constexpr (Fn::kHasAlpha) return GetNodeAttr(node, "alpha", alpha);
  return absl::OkStatus();
}

template <typename Fn>
class UnaryKernel : public OpKernel {
 public:
  explicit UnaryKernel(const Node& node) : OpKernel(node) {
    absl::Status s = ReadAlpha<Fn>(node, &alpha_);
    if (!s.ok()) SetConstructionError(s);
  }

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& x = ctx->input(0);
    const DataType type = node().input_type(0);
    DFLOW_RETURN_IF_ERROR(CheckInput(x, Fn::kInput, type));
    Tensor* out = ctx->allocate_output(0, x.shape());
    const int64_t n = x.NumElements();
    if (n == 0) return absl::OkStatus();
    if constexpr (Fn::kDnnl) {
      if (type == DT_FLOAT && n > Fn::kLoopMaxElements) {
        const float a = Fn::Alpha(alpha_), b = Fn::Beta(alpha_);
        // Element-wise: only the element count matters for the primitive.
        eltwise_.Run({n}, x.data(), out->data(), ctx->engine(), ctx->stream(),
                     [a, b](const dnnl::memory::desc& md, const dnnl::engine& engine) {
                       return dnnl::eltwise_forward::primitive_desc(
                           dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_inference,
                                                       Fn::kAlg, md, a, b),
                           KernelAttr(), engine);
                     });
        return absl::OkStatus();
      }
    }
    bool handled = false;
    VisitDataType(type, [&](auto tag) {
      using T = decltype(tag);
      if constexpr ((TypeBit<T>() & Fn::kTypes) != 0) {
        const T* px = x.flat<T>().data();
        T* po = out->flat<T>().data();
        for (int64_t i = 0; i < n; ++i) po[i] = Fn::template Apply<T>(px[i], alpha_);
        handled = true;
      }
    });
    if (!handled) return ctx->InvalidArgument("unsupported type ", DataTypeString(type));
    return absl::OkStatus();
  }

 private:
  float alpha_ = 0.0f;
  SrcDstPrimitive eltwise_;
};

// z = Fn::Apply(grad, other, alpha) per element, where input kGradIndex is the incoming gradient
// and the other input is the forward op's input (oneDNN's src) or output (kUseDst: its dst).
// Fn also names both inputs (kInputs) and, with kDnnl, the oneDNN backward algorithm kAlg.
template <typename Fn>
class EltwiseGradKernel : public OpKernel {
 public:
  explicit EltwiseGradKernel(const Node& node) : OpKernel(node) {
    absl::Status s = ReadAlpha<Fn>(node, &alpha_);
    if (!s.ok()) SetConstructionError(s);
  }

  absl::Status Compute(OpKernelContext* ctx) override {
    const DataType type = node().input_type(0);
    const Tensor& a = ctx->input(0);
    const Tensor& b = ctx->input(1);
    DFLOW_RETURN_IF_ERROR(CheckInput(a, Fn::kInputs[0], type));
    DFLOW_RETURN_IF_ERROR(CheckInput(b, Fn::kInputs[1], type));
    if (a.shape() != b.shape()) {
      return ctx->InvalidArgument(Fn::kInputs[0], " ", a.shape().DebugString(), " and ",
                                  Fn::kInputs[1], " ", b.shape().DebugString(),
                                  " must have the same shape");
    }
    const Tensor& g = Fn::kGradIndex == 0 ? a : b;
    const Tensor& other = Fn::kGradIndex == 0 ? b : a;
    Tensor* out = ctx->allocate_output(0, a.shape());
    const int64_t n = a.NumElements();
    if (n == 0) return absl::OkStatus();
    if constexpr (Fn::kDnnl) {
      if (type == DT_FLOAT) return RunDnnl(ctx, g, other, n, out);
    }
    bool handled = false;
    VisitDataType(type, [&](auto tag) {
      using T = decltype(tag);
      if constexpr ((TypeBit<T>() & Fn::kTypes) != 0) {
        const T* pg = g.flat<T>().data();
        const T* pv = other.flat<T>().data();
        T* po = out->flat<T>().data();
        for (int64_t i = 0; i < n; ++i) po[i] = Fn::template Apply<T>(pg[i], pv[i], alpha_);
        handled = true;
      }
    });
    if (!handled) return ctx->InvalidArgument("unsupported type ", DataTypeString(type));
    return absl::OkStatus();
  }

 private:
  struct Entry {
    Primitive prim;
    dnnl::memory data, diff_dst, diff_src;
  };

  absl::Status RunDnnl(OpKernelContext* ctx, const Tensor& g, const Tensor& other, int64_t n,
                       Tensor* out) {
    const float alpha = Fn::Alpha(alpha_), beta = Fn::Beta(alpha_);
    typename ShapeCache<Entry>::Lease e = cache_.Get({n}, [&] {
      auto entry = std::make_unique<Entry>();
      const dnnl::memory::desc md({n}, dnnl::memory::data_type::f32, dnnl::memory::dims{1});
      dnnl::eltwise_forward::primitive_desc hint(
          dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_training, Fn::kAlg, md, alpha,
                                      beta),
          ctx->engine());
      entry->prim = Primitive(dnnl::eltwise_backward::primitive_desc(
          dnnl::eltwise_backward::desc(Fn::kAlg, md, md, alpha, beta), KernelAttr(),
          ctx->engine(), hint));
      entry->data = dnnl::memory(md, ctx->engine(), nullptr);
      entry->diff_dst = dnnl::memory(md, ctx->engine(), nullptr);
      entry->diff_src = dnnl::memory(md, ctx->engine(), nullptr);
      return entry;
    });
    RunPrimitive(e->prim, ctx->stream(),
                 {{Fn::kUseDst ? DNNL_ARG_DST : DNNL_ARG_SRC, e->data, other.data()},
                  {DNNL_ARG_DIFF_DST, e->diff_dst, g.data()},
                  {DNNL_ARG_DIFF_SRC, e->diff_src, out->data()}});
    return absl::OkStatus();
  }

  float alpha_ = 0.0f;
  ShapeCache<Entry> cache_;
};

}  // namespace dflow

#endif  // DFLOW_KERNELS_UNARY_KERNELS_H_
