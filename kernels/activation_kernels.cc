// Kernels for the activation ops and their gradient ops (ops/activation_ops.cc). oneDNN eltwise
// where it has the function (logistic, tanh, clip_v2 for Relu6, elu, relu with a negative slope
// for LeakyRelu, soft_relu for Softplus; forward and backward); loops for Selu and Softsign,
// and for Sigmoid and Tanh of at most 256 elements.
#include <cmath>
#include <limits>

#include "kernels/unary_kernels.h"

namespace dflow {
namespace {

using dnnl::algorithm;

// TensorFlow's Selu constants.
constexpr float kSeluAlpha = 1.6732632423543772848170429916717f;
constexpr float kSeluScale = 1.0507009873554804934193349852946f;

struct SigmoidFn : EltwiseFnDefaults {
  static constexpr const char* kInput = "x";
  static constexpr bool kDnnl = true;
  static constexpr int64_t kLoopMaxElements = 256;
  static constexpr algorithm kAlg = algorithm::eltwise_logistic;
  template <typename T>
  static T Apply(T x, float) { return T{1} / (T{1} + std::exp(-x)); }
};
struct TanhFn : EltwiseFnDefaults {
  static constexpr const char* kInput = "x";
  static constexpr bool kDnnl = true;
  static constexpr int64_t kLoopMaxElements = 256;
  static constexpr algorithm kAlg = algorithm::eltwise_tanh;
  template <typename T>
  static T Apply(T x, float) { return std::tanh(x); }
};
// clip_v2: min(max(x, alpha), beta); its backward passes the gradient strictly inside.
struct Relu6Fn : EltwiseFnDefaults {
  static constexpr const char* kInput = "features";
  static constexpr bool kDnnl = true;
  static constexpr algorithm kAlg = algorithm::eltwise_clip_v2;
  static float Beta(float) { return 6.0f; }
  template <typename T>
  static T Apply(T x, float) { return x < T{0} ? T{0} : (x > T{6} ? T{6} : x); }
};
struct EluFn : EltwiseFnDefaults {
  static constexpr const char* kInput = "features";
  static constexpr bool kDnnl = true;
  static constexpr algorithm kAlg = algorithm::eltwise_elu;
  static float Alpha(float) { return 1.0f; }
  template <typename T>
  static T Apply(T x, float) { return x < T{0} ? std::exp(x) - T{1} : x; }
};
struct SeluFn : EltwiseFnDefaults {
  static constexpr const char* kInput = "features";
  template <typename T>
  static T Apply(T x, float) {
    return x < T{0} ? kSeluScale * kSeluAlpha * (std::exp(x) - T{1}) : kSeluScale * x;
  }
};
// oneDNN's relu with alpha: x > 0 ? x : alpha * x, as TensorFlow's LeakyRelu.
struct LeakyReluFn : EltwiseFnDefaults {
  static constexpr const char* kInput = "features";
  static constexpr bool kDnnl = true;
  static constexpr bool kHasAlpha = true;
  static constexpr algorithm kAlg = algorithm::eltwise_relu;
  static float Alpha(float alpha) { return alpha; }
  template <typename T>
  static T Apply(T x, float alpha) { return x > T{0} ? x : x * static_cast<T>(alpha); }
};
struct SoftplusFn : EltwiseFnDefaults {
  static constexpr const char* kInput = "features";
  static constexpr bool kDnnl = true;
  static constexpr algorithm kAlg = algorithm::eltwise_soft_relu;
  // TensorFlow's thresholds: x itself where exp(x) + 1 rounds to exp(x), exp(x) where the 1
  // swamps it.
  template <typename T>
  static T Apply(T x, float) {
    const T threshold = std::log(std::numeric_limits<T>::epsilon()) + T{2};
    if (x > -threshold) return x;
    if (x < threshold) return std::exp(x);
    return std::log1p(std::exp(x));
  }
};
struct SoftsignFn : EltwiseFnDefaults {
  static constexpr const char* kInput = "features";
  template <typename T>
  static T Apply(T x, float) { return x / (std::abs(x) + T{1}); }
};

REGISTER_KERNEL("Sigmoid", UnaryKernel<SigmoidFn>, "T", {DT_FLOAT});
REGISTER_KERNEL("Tanh", UnaryKernel<TanhFn>, "T", {DT_FLOAT});
REGISTER_KERNEL("Relu6", UnaryKernel<Relu6Fn>, "T", {DT_FLOAT});
REGISTER_KERNEL("Elu", UnaryKernel<EluFn>, "T", {DT_FLOAT});
REGISTER_KERNEL("Selu", UnaryKernel<SeluFn>, "T", {DT_FLOAT});
REGISTER_KERNEL("LeakyRelu", UnaryKernel<LeakyReluFn>, "T", {DT_FLOAT});
REGISTER_KERNEL("Softplus", UnaryKernel<SoftplusFn>, "T", {DT_FLOAT});
REGISTER_KERNEL("Softsign", UnaryKernel<SoftsignFn>, "T", {DT_FLOAT});

// ---------------------------------------------------------------------------------------------
// Gradient ops: Apply(g, v, alpha) with g the incoming gradient and v the forward op's output
// (kUseDst) or input.

// SigmoidGrad(y, dy) = dy * y * (1 - y).
struct SigmoidGradFn : EltwiseFnDefaults {
  static constexpr const char* kInputs[2] = {"y", "dy"};
  static constexpr int kGradIndex = 1;
  static constexpr bool kDnnl = true, kUseDst = true;
  static constexpr algorithm kAlg = algorithm::eltwise_logistic_use_dst_for_bwd;
  template <typename T>
  static T Apply(T g, T y, float) { return g * y * (T{1} - y); }
};
// TanhGrad(y, dy) = dy * (1 - y^2).
struct TanhGradFn : EltwiseFnDefaults {
  static constexpr const char* kInputs[2] = {"y", "dy"};
  static constexpr int kGradIndex = 1;
  static constexpr bool kDnnl = true, kUseDst = true;
  static constexpr algorithm kAlg = algorithm::eltwise_tanh_use_dst_for_bwd;
  template <typename T>
  static T Apply(T g, T y, float) { return g * (T{1} - y * y); }
};
// Relu6Grad(gradients, features) = gradients where 0 < features < 6, else 0.
struct Relu6GradFn : EltwiseFnDefaults {
  static constexpr const char* kInputs[2] = {"gradients", "features"};
  static constexpr bool kDnnl = true;
  static constexpr algorithm kAlg = algorithm::eltwise_clip_v2;
  static float Beta(float) { return 6.0f; }
  template <typename T>
  static T Apply(T g, T x, float) { return x > T{0} && x < T{6} ? g : T{0}; }
};
// EluGrad(gradients, outputs) = outputs < 0 ? gradients * (outputs + 1) : gradients.
struct EluGradFn : EltwiseFnDefaults {
  static constexpr const char* kInputs[2] = {"gradients", "outputs"};
  static constexpr bool kDnnl = true, kUseDst = true;
  static constexpr algorithm kAlg = algorithm::eltwise_elu_use_dst_for_bwd;
  static float Alpha(float) { return 1.0f; }
  template <typename T>
  static T Apply(T g, T y, float) { return y < T{0} ? g * (y + T{1}) : g; }
};
// SeluGrad(gradients, outputs) = outputs < 0 ? g * (outputs + scale * alpha) : g * scale.
struct SeluGradFn : EltwiseFnDefaults {
  static constexpr const char* kInputs[2] = {"gradients", "outputs"};
  template <typename T>
  static T Apply(T g, T y, float) {
    return y < T{0} ? g * (y + kSeluScale * kSeluAlpha) : g * kSeluScale;
  }
};
// LeakyReluGrad(gradients, features) = features > 0 ? gradients : alpha * gradients.
struct LeakyReluGradFn : EltwiseFnDefaults {
  static constexpr const char* kInputs[2] = {"gradients", "features"};
  static constexpr bool kDnnl = true;
  static constexpr bool kHasAlpha = true;
  static constexpr algorithm kAlg = algorithm::eltwise_relu;
  static float Alpha(float alpha) { return alpha; }
  template <typename T>
  static T Apply(T g, T x, float alpha) { return x > T{0} ? g : g * static_cast<T>(alpha); }
};
// SoftplusGrad(gradients, features) = gradients / (1 + exp(-features)).
struct SoftplusGradFn : EltwiseFnDefaults {
  static constexpr const char* kInputs[2] = {"gradients", "features"};
  static constexpr bool kDnnl = true;
  static constexpr algorithm kAlg = algorithm::eltwise_soft_relu;
  template <typename T>
  static T Apply(T g, T x, float) { return g / (T{1} + std::exp(-x)); }
};
// SoftsignGrad(gradients, features) = gradients / (1 + |features|)^2.
struct SoftsignGradFn : EltwiseFnDefaults {
  static constexpr const char* kInputs[2] = {"gradients", "features"};
  template <typename T>
  static T Apply(T g, T x, float) {
    const T d = T{1} + std::abs(x);
    return g / (d * d);
  }
};

REGISTER_KERNEL("SigmoidGrad", EltwiseGradKernel<SigmoidGradFn>, "T", {DT_FLOAT});
REGISTER_KERNEL("TanhGrad", EltwiseGradKernel<TanhGradFn>, "T", {DT_FLOAT});
REGISTER_KERNEL("Relu6Grad", EltwiseGradKernel<Relu6GradFn>, "T", {DT_FLOAT});
REGISTER_KERNEL("EluGrad", EltwiseGradKernel<EluGradFn>, "T", {DT_FLOAT});
REGISTER_KERNEL("SeluGrad", EltwiseGradKernel<SeluGradFn>, "T", {DT_FLOAT});
REGISTER_KERNEL("LeakyReluGrad", EltwiseGradKernel<LeakyReluGradFn>, "T", {DT_FLOAT});
REGISTER_KERNEL("SoftplusGrad", EltwiseGradKernel<SoftplusGradFn>, "T", {DT_FLOAT});
REGISTER_KERNEL("SoftsignGrad", EltwiseGradKernel<SoftsignGradFn>, "T", {DT_FLOAT});

}  // namespace
}  // namespace dflow
