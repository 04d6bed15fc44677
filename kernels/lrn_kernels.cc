// Kernels for LRN (oneDNN's across-channels LRN) and LRNGrad (a loop over each pixel's channels).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "graph/status_macros.h"
#include "kernels/dnnl_util.h"
#include "kernels/op_kernel.h"

namespace dflow {
namespace {

struct LrnParams {
  int64_t radius = 5;
  float bias = 1, alpha = 1, beta = 0.5f;
};

absl::Status ReadParams(const Node& node, LrnParams* p) {
  DFLOW_RETURN_IF_ERROR(GetAttr(node.attrs(), "depth_radius", &p->radius));
  DFLOW_RETURN_IF_ERROR(GetAttr(node.attrs(), "bias", &p->bias));
  DFLOW_RETURN_IF_ERROR(GetAttr(node.attrs(), "alpha", &p->alpha));
  DFLOW_RETURN_IF_ERROR(GetAttr(node.attrs(), "beta", &p->beta));
  if (p->radius < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("depth_radius must be non-negative, got ", p->radius));
  }
  return absl::OkStatus();
}

// bias + alpha * (sum of squares over channels [d - r, d + r] of one pixel's c channels), for
// every d, by a running sum.
void Norms(const float* x, int64_t c, const LrnParams& p, float* norm) {
  double sum = 0;
  for (int64_t k = 0; k < std::min(c, p.radius); ++k) sum += double{x[k]} * x[k];
  for (int64_t d = 0; d < c; ++d) {
    if (d + p.radius < c) sum += double{x[d + p.radius]} * x[d + p.radius];
    if (d - p.radius - 1 >= 0) sum -= double{x[d - p.radius - 1]} * x[d - p.radius - 1];
    norm[d] = p.bias + p.alpha * static_cast<float>(sum);
  }
}

class LrnOp : public OpKernel {
 public:
  explicit LrnOp(const Node& node) : OpKernel(node) {
    SetConstructionError(ReadParams(node, &p_));
  }

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& x = ctx->input(0);
    DFLOW_RETURN_IF_ERROR(CheckInput(x, "input", DT_FLOAT, 4));
    Tensor* y = ctx->allocate_output(0, x.shape());
    const int64_t c = x.dim_size(3);
    const int64_t pixels = c == 0 ? 0 : x.NumElements() / c;
    if (pixels == 0) return absl::OkStatus();
    // oneDNN divides its alpha by the window size n = 2 r + 1 and clips the window at the
    // channel edges like TensorFlow (zeros outside): TensorFlow's alpha is oneDNN's alpha / n.
    // Each pixel's channels are contiguous: [pixels, c, 1, 1] is NCHW for oneDNN.
    const int64_t n = 2 * p_.radius + 1;
    if (p_.bias > 0 && n <= 4096) {
      const LrnParams p = p_;
      lrn_.Run({pixels, c, 1, 1}, x.data(), y->data(), ctx->engine(), ctx->stream(),
               [p, n](const dnnl::memory::desc& md, const dnnl::engine& engine) {
                 return dnnl::lrn_forward::primitive_desc(
                     dnnl::lrn_forward::desc(dnnl::prop_kind::forward_inference,
                                             dnnl::algorithm::lrn_across_channels, md, n,
                                             p.alpha * static_cast<float>(n), p.beta, p.bias),
                     KernelAttr(), engine);
               });
      return absl::OkStatus();
    }
    // oneDNN wants a positive bias: the rest in a loop.
    const float* px = x.flat<float>().data();
    float* py = y->flat<float>().data();
    std::vector<float> norm(c);
    for (int64_t q = 0; q < pixels; ++q) {
      Norms(px + q * c, c, p_, norm.data());
      for (int64_t d = 0; d < c; ++d) py[q * c + d] = px[q * c + d] * std::pow(norm[d], -p_.beta);
    }
    return absl::OkStatus();
  }

 private:
  LrnParams p_;
  SrcDstPrimitive lrn_;
};
REGISTER_KERNEL("LRN", LrnOp);

// dx_k = g_k n_k^-beta - 2 alpha beta x_k sum_{d in win(k)} g_d y_d / n_d, n from input_image
// and y the given output_image, as TensorFlow's LRNGrad.
class LrnGradOp : public OpKernel {
 public:
  explicit LrnGradOp(const Node& node) : OpKernel(node) {
    SetConstructionError(ReadParams(node, &p_));
  }

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& g = ctx->input(0);
    const Tensor& x = ctx->input(1);
    const Tensor& y = ctx->input(2);
    DFLOW_RETURN_IF_ERROR(CheckInput(g, "input_grads", DT_FLOAT, 4));
    DFLOW_RETURN_IF_ERROR(CheckInput(x, "input_image", DT_FLOAT, 4));
    DFLOW_RETURN_IF_ERROR(CheckInput(y, "output_image", DT_FLOAT, 4));
    if (g.shape() != x.shape() || y.shape() != x.shape()) {
      return ctx->InvalidArgument(
          "input_grads, input_image, and output_image must have the same shape, got ",
          g.shape().DebugString(), ", ", x.shape().DebugString(), " and ",
          y.shape().DebugString());
    }
    Tensor* dx = ctx->allocate_output(0, x.shape());
    const int64_t c = x.dim_size(3);
    const int64_t pixels = c == 0 ? 0 : x.NumElements() / c;
    const float* pg = g.flat<float>().data();
    const float* px = x.flat<float>().data();
    const float* py = y.flat<float>().data();
    float* out = dx->flat<float>().data();
    std::vector<float> norm(c), t(c);
    const int64_t r = p_.radius;
    for (int64_t q = 0; q < pixels; ++q) {
      const int64_t o = q * c;
      Norms(px + o, c, p_, norm.data());
      for (int64_t d = 0; d < c; ++d) t[d] = pg[o + d] * py[o + d] / norm[d];
      for (int64_t k = 0; k < c; ++k) {
        double s = 0;
        for (int64_t d = std::max<int64_t>(0, k - r); d <= std::min(c - 1, k + r); ++d) s += t[d];
        out[o + k] = pg[o + k] * std::pow(norm[k], -p_.beta) -
                     2 * p_.alpha * p_.beta * px[o + k] * static_cast<float>(s);
      }
    }
    return absl::OkStatus();
  }

 private:
  LrnParams p_;
};
REGISTER_KERNEL("LRNGrad", LrnGradOp);

}  // namespace
}  // namespace dflow
