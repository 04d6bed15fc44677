// Kernels for the element-wise math functions of ops/unary_math_ops.cc. oneDNN eltwise where it
// has the function (pow for Rsqrt and Reciprocal, abs, round, sqrt's backward for SqrtGrad);
// loops for the rest and for integer and double inputs.
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "kernels/broadcast.h"
#include "kernels/unary_kernels.h"

namespace dflow {
namespace {

using dnnl::algorithm;

// oneDNN's pow: alpha * x^beta.
struct RsqrtFn : EltwiseFnDefaults {
  static constexpr const char* kInput = "x";
  static constexpr bool kDnnl = true;
  static constexpr algorithm kAlg = algorithm::eltwise_pow;
  static float Alpha(float) { return 1.0f; }
  static float Beta(float) { return -0.5f; }
  template <typename T>
  static T Apply(T x, float) { return T{1} / std::sqrt(x); }
};
struct ReciprocalFn : EltwiseFnDefaults {
  static constexpr const char* kInput = "x";
  static constexpr bool kDnnl = true;
  static constexpr algorithm kAlg = algorithm::eltwise_pow;
  static float Alpha(float) { return 1.0f; }
  static float Beta(float) { return -1.0f; }
  template <typename T>
  static T Apply(T x, float) { return T{1} / x; }
};
struct AbsFn : EltwiseFnDefaults {
  static constexpr int kTypes = kF32 | kI32 | kI64;
  static constexpr const char* kInput = "x";
  static constexpr bool kDnnl = true;
  static constexpr algorithm kAlg = algorithm::eltwise_abs;
  template <typename T>
  static T Apply(T x, float) { return x < T{0} ? WrapSub(T{0}, x) : x; }
};
// NaN compares false both ways and gives 0, as TensorFlow 1.x's Sign.
struct SignFn : EltwiseFnDefaults {
  static constexpr int kTypes = kF32 | kI32 | kI64;
  static constexpr const char* kInput = "x";
  template <typename T>
  static T Apply(T x, float) { return static_cast<T>((x > T{0}) - (x < T{0})); }
};
struct Expm1Fn : EltwiseFnDefaults {
  static constexpr const char* kInput = "x";
  template <typename T>
  static T Apply(T x, float) { return std::expm1(x); }
};
struct Log1pFn : EltwiseFnDefaults {
  static constexpr const char* kInput = "x";
  template <typename T>
  static T Apply(T x, float) { return std::log1p(x); }
};
// Halves to even: oneDNN's round on float, nearbyint (default rounding mode) on double.
struct RoundFn : EltwiseFnDefaults {
  static constexpr int kTypes = kF32 | kF64 | kI32 | kI64;
  static constexpr const char* kInput = "x";
  static constexpr bool kDnnl = true;
  static constexpr algorithm kAlg = algorithm::eltwise_round;
  template <typename T>
  static T Apply(T x, float) {
    if constexpr (std::is_integral_v<T>) {
      return x;
    } else {
      return std::nearbyint(x);
    }
  }
};
struct CeilFn : EltwiseFnDefaults {
  static constexpr int kTypes = kF32 | kF64;
  static constexpr const char* kInput = "x";
  template <typename T>
  static T Apply(T x, float) { return std::ceil(x); }
};
struct SinFn : EltwiseFnDefaults {
  static constexpr const char* kInput = "x";
  template <typename T>
  static T Apply(T x, float) { return std::sin(x); }
};
struct CosFn : EltwiseFnDefaults {
  static constexpr const char* kInput = "x";
  template <typename T>
  static T Apply(T x, float) { return std::cos(x); }
};
struct ErfFn : EltwiseFnDefaults {
  static constexpr const char* kInput = "x";
  template <typename T>
  static T Apply(T x, float) { return std::erf(x); }
};

REGISTER_KERNEL("Rsqrt", UnaryKernel<RsqrtFn>, "T", {DT_FLOAT});
REGISTER_KERNEL("Reciprocal", UnaryKernel<ReciprocalFn>, "T", {DT_FLOAT});
REGISTER_KERNEL("Abs", UnaryKernel<AbsFn>, "T", {DT_FLOAT, DT_INT32, DT_INT64});
REGISTER_KERNEL("Sign", UnaryKernel<SignFn>, "T", {DT_FLOAT, DT_INT32, DT_INT64});
REGISTER_KERNEL("Expm1", UnaryKernel<Expm1Fn>, "T", {DT_FLOAT});
REGISTER_KERNEL("Log1p", UnaryKernel<Log1pFn>, "T", {DT_FLOAT});
REGISTER_KERNEL("Round", UnaryKernel<RoundFn>, "T", {DT_FLOAT, DT_DOUBLE, DT_INT32, DT_INT64});
REGISTER_KERNEL("Ceil", UnaryKernel<CeilFn>, "T", {DT_FLOAT, DT_DOUBLE});
REGISTER_KERNEL("Sin", UnaryKernel<SinFn>, "T", {DT_FLOAT});
REGISTER_KERNEL("Cos", UnaryKernel<CosFn>, "T", {DT_FLOAT});
REGISTER_KERNEL("Erf", UnaryKernel<ErfFn>, "T", {DT_FLOAT});

// ---------------------------------------------------------------------------------------------
// Gradient ops (y, dy): Apply(dy, y, alpha).

// RsqrtGrad(y, dy) = -0.5 * dy * y^3.
struct RsqrtGradFn : EltwiseFnDefaults {
  static constexpr const char* kInputs[2] = {"y", "dy"};
  static constexpr int kGradIndex = 1;
  template <typename T>
  static T Apply(T g, T y, float) { return T{-0.5} * (g * y) * (y * y); }
};
// ReciprocalGrad(y, dy) = -dy * y^2.
struct ReciprocalGradFn : EltwiseFnDefaults {
  static constexpr const char* kInputs[2] = {"y", "dy"};
  static constexpr int kGradIndex = 1;
  template <typename T>
  static T Apply(T g, T y, float) { return -g * y * y; }
};
// SqrtGrad(y, dy) = 0.5 * dy / y: oneDNN's sqrt backward from the output.
struct SqrtGradFn : EltwiseFnDefaults {
  static constexpr const char* kInputs[2] = {"y", "dy"};
  static constexpr int kGradIndex = 1;
  static constexpr bool kDnnl = true, kUseDst = true;
  static constexpr algorithm kAlg = algorithm::eltwise_sqrt_use_dst_for_bwd;
  template <typename T>
  static T Apply(T g, T y, float) { return T{0.5} * g / y; }
};

REGISTER_KERNEL("RsqrtGrad", EltwiseGradKernel<RsqrtGradFn>, "T", {DT_FLOAT});
REGISTER_KERNEL("ReciprocalGrad", EltwiseGradKernel<ReciprocalGradFn>, "T", {DT_FLOAT});
REGISTER_KERNEL("SqrtGrad", EltwiseGradKernel<SqrtGradFn>, "T", {DT_FLOAT});

// IsFinite: a loop; the output is bool.
class IsFiniteOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& x = ctx->input(0);
    if (x.dtype() != DT_FLOAT && x.dtype() != DT_DOUBLE) {
      return ctx->InvalidArgument("x must be float or double, got ", DataTypeString(x.dtype()));
    }
    Tensor* y = ctx->allocate_output(0, x.shape());
    auto out = y->flat<bool>();
    if (x.dtype() == DT_FLOAT) {
      auto in = x.flat<float>();
      for (size_t i = 0; i < in.size(); ++i) out[i] = std::isfinite(in[i]);
    } else {
      auto in = x.flat<double>();
      for (size_t i = 0; i < in.size(); ++i) out[i] = std::isfinite(in[i]);
    }
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("IsFinite", IsFiniteOp);

}  // namespace
}  // namespace dflow
