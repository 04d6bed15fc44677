// Kernels for the fake-quantization ops, plain loops after TensorFlow's fake_quant functors: the
// range [min, max] is nudged so that 0 falls on a level (zero point rounded half away from zero
// and clamped to the levels), inputs are clamped to the nudged range and rounded to the nearest
// level. Float arithmetic in TensorFlow's order, so the levels come out bit for bit.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "graph/tensor.h"
#include "kernels/op_kernel.h"

namespace dflow {
namespace {

struct Nudged {
  float min, max, scale, inv_scale, quant_zero;
};

Nudged Nudge(float min, float max, int quant_min, int quant_max) {
  const float qmin = static_cast<float>(quant_min), qmax = static_cast<float>(quant_max);
  Nudged n;
  n.scale = (max - min) / (qmax - qmin);
  n.inv_scale = (qmax - qmin) / (max - min);  // Not 1 / scale: that loses precision.
  const float zero_from_min = qmin - min / n.scale;
  const uint16_t zero = zero_from_min < qmin   ? static_cast<uint16_t>(quant_min)
                        : zero_from_min > qmax ? static_cast<uint16_t>(quant_max)
                                               : static_cast<uint16_t>(std::round(zero_from_min));
  n.min = (qmin - zero) * n.scale;
  n.max = (qmax - zero) * n.scale;
  n.quant_zero = std::floor(-n.min * n.inv_scale + 0.5f);
  return n;
}

class FakeQuantKernel : public OpKernel {
 public:
  explicit FakeQuantKernel(const Node& node) : OpKernel(node) {
    int64_t bits = 8;
    bool narrow = false;
    absl::Status s = GetNodeAttr(node, "num_bits", &bits);
    if (s.ok()) s = GetNodeAttr(node, "narrow_range", &narrow);
    if (s.ok() && (bits < 2 || bits > 16)) {
      s = absl::InvalidArgumentError(
          absl::StrCat("num_bits must be between 2 and 16, inclusive, but is ", bits));
    }
    if (!s.ok()) {
      SetConstructionError(s);
      return;
    }
    quant_min_ = narrow ? 1 : 0;
    quant_max_ = (1 << bits) - 1;
  }

 protected:
  // `n` elements of x quantized with range (min, max) into y, `stride` apart.
  void Quantize(const float* x, float* y, int64_t n, int64_t stride, float min, float max,
                bool divide) const {
    if (min == 0.0f && max == 0.0f) {  // TensorFlow's rule for an unset range (Vars ops).
      for (int64_t i = 0; i < n; ++i) y[i * stride] = 0.0f;
      return;
    }
    const Nudged q = Nudge(min, max, quant_min_, quant_max_);
    for (int64_t i = 0; i < n; ++i) {
      const float shifted = std::max(std::min(x[i * stride], q.max), q.min) - q.min;
      // FakeQuantWithMinMaxVars divides by the scale; the others multiply by its inverse.
      const float level = divide ? shifted / q.scale : shifted * q.inv_scale;
      y[i * stride] = std::floor(level - q.quant_zero + 0.5f) * q.scale;
    }
  }

  // The straight-through gradient of the same, with the sums below and above the range (the
  // Vars ops; null dmin / dmax for FakeQuantWithMinMaxArgsGradient).
  void Backprop(const float* g, const float* x, float* dx, int64_t n, int64_t stride, float min,
                float max, float* dmin, float* dmax) const {
    float below = 0.0f, above = 0.0f;
    if (dmin != nullptr && min == 0.0f && max == 0.0f) {  // Vars ops: everything to x.
      for (int64_t i = 0; i < n; ++i) dx[i * stride] = g[i * stride];
      *dmin = 0.0f;
      *dmax = 0.0f;
      return;
    }
    const Nudged q = Nudge(min, max, quant_min_, quant_max_);
    for (int64_t i = 0; i < n; ++i) {
      const float v = x[i * stride], gi = g[i * stride];
      const bool inside = v >= q.min && v <= q.max;
      dx[i * stride] = inside ? gi : 0.0f;
      if (v < q.min) below += gi;
      if (v > q.max) above += gi;
    }
    if (dmin != nullptr) {
      *dmin = below;
      *dmax = above;
    }
  }

  int quant_min_ = 0, quant_max_ = 255;
};

class FakeQuantArgsKernel : public FakeQuantKernel {
 public:
  explicit FakeQuantArgsKernel(const Node& node) : FakeQuantKernel(node) {
    if (!construction_status().ok()) return;
    absl::Status s = GetNodeAttr(node, "min", &min_);
    if (s.ok()) s = GetNodeAttr(node, "max", &max_);
    if (s.ok() && !(min_ < max_)) {
      s = absl::InvalidArgumentError(
          absl::StrCat("min has to be smaller than max, was: ", min_, " >= ", max_));
    }
    if (!s.ok()) SetConstructionError(s);
  }

 protected:
  float min_ = -6.0f, max_ = 6.0f;
};

class FakeQuantWithMinMaxArgsOp : public FakeQuantArgsKernel {
 public:
  using FakeQuantArgsKernel::FakeQuantArgsKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& x = ctx->input(0);
    DFLOW_RETURN_IF_ERROR(CheckInput(x, "inputs", DT_FLOAT));
    Tensor* y = ctx->allocate_output(0, x.shape());
    Quantize(x.flat<float>().data(), y->flat<float>().data(), x.NumElements(), 1, min_, max_,
             false);
    return absl::OkStatus();
  }
};

// Every gradient op's gradients and inputs: float tensors of one shape.
absl::Status CheckGradientInputs(const Tensor& g, const Tensor& x) {
  DFLOW_RETURN_IF_ERROR(CheckInput(g, "gradients", DT_FLOAT));
  DFLOW_RETURN_IF_ERROR(CheckInput(x, "inputs", DT_FLOAT));
  if (g.shape() != x.shape()) {
    return OpKernelContext::InvalidArgument("gradients ", g.shape().DebugString(), " and inputs ",
                                            x.shape().DebugString(), " must have the same shape");
  }
  return absl::OkStatus();
}

class FakeQuantWithMinMaxArgsGradientOp : public FakeQuantArgsKernel {
 public:
  using FakeQuantArgsKernel::FakeQuantArgsKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& g = ctx->input(0);
    const Tensor& x = ctx->input(1);
    DFLOW_RETURN_IF_ERROR(CheckGradientInputs(g, x));
    Tensor* dx = ctx->allocate_output(0, x.shape());
    Backprop(g.flat<float>().data(), x.flat<float>().data(), dx->flat<float>().data(),
             x.NumElements(), 1, min_, max_, nullptr, nullptr);
    return absl::OkStatus();
  }
};

// min and max of a Vars op: float scalars, or [d] vectors for the per-channel ops.
absl::Status CheckRange(const Tensor& min, const Tensor& max, int64_t depth) {
  for (const Tensor* t : {&min, &max}) {
    const char* what = t == &min ? "min" : "max";
    DFLOW_RETURN_IF_ERROR(CheckInput(*t, what, DT_FLOAT));
    if (depth < 0 && t->dims() != 0) {
      return OpKernelContext::InvalidArgument(what, " must be a scalar but has shape ",
                                              t->shape().DebugString());
    }
    if (depth >= 0 && (t->dims() != 1 || t->dim_size(0) != depth)) {
      return OpKernelContext::InvalidArgument(
          what, " must be 1-D with one element per channel (the last dimension of inputs, ",
          depth, ") but has shape ", t->shape().DebugString());
    }
  }
  return absl::OkStatus();
}

// The per-channel depth of inputs (its last dimension), or -1 for the per-tensor ops.
absl::StatusOr<int64_t> Depth(const Tensor& x, bool per_channel) {
  if (!per_channel) return int64_t{-1};
  if (x.dims() < 1) {
    return OpKernelContext::InvalidArgument("inputs must have rank >= 1 but is a scalar");
  }
  return x.dim_size(x.dims() - 1);
}

template <bool kPerChannel>
class FakeQuantVarsOp : public FakeQuantKernel {
 public:
  using FakeQuantKernel::FakeQuantKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& x = ctx->input(0);
    DFLOW_RETURN_IF_ERROR(CheckInput(x, "inputs", DT_FLOAT));
    DFLOW_ASSIGN_OR_RETURN(int64_t d, Depth(x, kPerChannel));
    DFLOW_RETURN_IF_ERROR(CheckRange(ctx->input(1), ctx->input(2), d));
    Tensor* y = ctx->allocate_output(0, x.shape());
    const float* min = ctx->input(1).flat<float>().data();
    const float* max = ctx->input(2).flat<float>().data();
    if (!kPerChannel) {
      Quantize(x.flat<float>().data(), y->flat<float>().data(), x.NumElements(), 1, *min, *max,
               true);
      return absl::OkStatus();
    }
    const int64_t rows = d == 0 ? 0 : x.NumElements() / d;
    for (int64_t c = 0; c < d; ++c) {
      Quantize(x.flat<float>().data() + c, y->flat<float>().data() + c, rows, d, min[c], max[c],
               false);
    }
    return absl::OkStatus();
  }
};

template <bool kPerChannel>
class FakeQuantVarsGradientOp : public FakeQuantKernel {
 public:
  using FakeQuantKernel::FakeQuantKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& g = ctx->input(0);
    const Tensor& x = ctx->input(1);
    DFLOW_RETURN_IF_ERROR(CheckGradientInputs(g, x));
    DFLOW_ASSIGN_OR_RETURN(int64_t d, Depth(x, kPerChannel));
    DFLOW_RETURN_IF_ERROR(CheckRange(ctx->input(2), ctx->input(3), d));
    const float* min = ctx->input(2).flat<float>().data();
    const float* max = ctx->input(3).flat<float>().data();
    Tensor* dx = ctx->allocate_output(0, x.shape());
    const TensorShape range_shape = kPerChannel ? TensorShape({d}) : TensorShape({});
    float* dmin = ctx->allocate_output(1, range_shape)->flat<float>().data();
    float* dmax = ctx->allocate_output(2, range_shape)->flat<float>().data();
    if (!kPerChannel) {
      Backprop(g.flat<float>().data(), x.flat<float>().data(), dx->flat<float>().data(),
               x.NumElements(), 1, *min, *max, dmin, dmax);
      return absl::OkStatus();
    }
    const int64_t rows = d == 0 ? 0 : x.NumElements() / d;
    for (int64_t c = 0; c < d; ++c) {
      Backprop(g.flat<float>().data() + c, x.flat<float>().data() + c,
               dx->flat<float>().data() + c, rows, d, min[c], max[c], dmin + c, dmax + c);
    }
    return absl::OkStatus();
  }
};

REGISTER_KERNEL("FakeQuantWithMinMaxArgs", FakeQuantWithMinMaxArgsOp);
REGISTER_KERNEL("FakeQuantWithMinMaxArgsGradient", FakeQuantWithMinMaxArgsGradientOp);
REGISTER_KERNEL("FakeQuantWithMinMaxVars", FakeQuantVarsOp<false>);
REGISTER_KERNEL("FakeQuantWithMinMaxVarsGradient", FakeQuantVarsGradientOp<false>);
REGISTER_KERNEL("FakeQuantWithMinMaxVarsPerChannel", FakeQuantVarsOp<true>);
REGISTER_KERNEL("FakeQuantWithMinMaxVarsPerChannelGradient", FakeQuantVarsGradientOp<true>);

// Dequantize, in TensorFlow's float arithmetic per mode (dequantize_op.cc and
// quantization_utils.h's Eigen path); the quantized types are read as the integers they wrap.
class DequantizeOp : public OpKernel {
 public:
  explicit DequantizeOp(const Node& node) : OpKernel(node) {
    absl::Status s = GetAttr(node.attrs(), "mode", &mode_);
    if (s.ok()) s = GetAttr(node.attrs(), "narrow_range", &narrow_range_);
    if (s.ok()) s = GetAttr(node.attrs(), "axis", &axis_);
    if (s.ok() && node.output_type(0) != DT_FLOAT) {
      s = absl::UnimplementedError("Dequantize: dflow computes float outputs only");
    }
    if (s.ok() && mode_ != "MIN_COMBINED" && mode_ != "MIN_FIRST" && mode_ != "SCALED") {
      s = absl::InvalidArgumentError(absl::StrCat(
          "Mode string must be 'MIN_COMBINED', 'MIN_FIRST', or 'SCALED', is '", mode_, "'"));
    }
    SetConstructionError(s);
  }

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& in = ctx->input(0);
    const Tensor& min_t = ctx->input(1);
    const Tensor& max_t = ctx->input(2);
    DFLOW_RETURN_IF_ERROR(CheckInput(min_t, "min_range", DT_FLOAT));
    DFLOW_RETURN_IF_ERROR(CheckInput(max_t, "max_range", DT_FLOAT));
    if (axis_ >= in.dims()) {
      return ctx->InvalidArgument("Axis must be less than input dimension(", in.dims(), "), got ",
                                  axis_);
    }
    const int64_t slices = axis_ >= 0 ? in.dim_size(axis_) : 1;
    if (min_t.NumElements() != slices || max_t.NumElements() != slices) {
      return ctx->InvalidArgument("min_range and max_range must have as many elements as input "
                                  "on the dequantization axis (", axis_, "), got ",
                                  min_t.NumElements(), " and ", max_t.NumElements(),
                                  ", expected ", slices);
    }
    if (slices > 1 && mode_ == "MIN_FIRST") {
      return absl::UnimplementedError(
          "MIN_FIRST mode is not implemented for Dequantize with axis != -1.");
    }
    Tensor* out = ctx->allocate_output(0, in.shape());
    int64_t inner = 1;
    for (int d = axis_ + 1; axis_ >= 0 && d < in.dims(); ++d) inner *= in.dim_size(d);
    const float* mins = min_t.flat<float>().data();
    const float* maxs = max_t.flat<float>().data();
    float* po = out->flat<float>().data();
    auto run = [&](auto zero) {
      using Q = decltype(zero);
      const Q* pq = static_cast<const Q*>(in.data());
      for (int64_t i = 0; i < in.NumElements(); ++i) {
        const int64_t s = slices == 1 ? 0 : (i / inner) % slices;
        po[i] = Value<Q>(pq[i], mins[s], maxs[s]);
      }
    };
    switch (in.dtype()) {
      case DT_QINT8: run(int8_t{}); break;
      case DT_QUINT8: run(uint8_t{}); break;
      case DT_QINT16: run(int16_t{}); break;
      case DT_QUINT16: run(uint16_t{}); break;
      case DT_QINT32: run(int32_t{}); break;
      default:
        return ctx->InvalidArgument("input must be qint8, quint8, qint16, quint16 or qint32, got ",
                                    DataTypeString(in.dtype()));
    }
    return absl::OkStatus();
  }

 private:
  template <typename Q>
  float Value(Q q, float min, float max) const {
    const float lowest = static_cast<float>(std::numeric_limits<Q>::lowest());
    const float highest = static_cast<float>(std::numeric_limits<Q>::max());
    if (mode_ == "MIN_COMBINED") {
      const float half = std::is_signed_v<Q> ? (highest - lowest + 1) / 2.0f : 0.0f;
      const float scale = (max - min) / (highest - lowest);
      return (static_cast<float>(q) + half) * scale + min;
    }
    if (mode_ == "SCALED") {
      const int min_out = static_cast<int>(std::numeric_limits<Q>::lowest()) + (narrow_range_ ? 1 : 0);
      const float scale = std::numeric_limits<Q>::lowest() == 0
                              ? max / highest
                              : std::max(min / min_out, max / highest);
      return static_cast<float>(static_cast<int>(q)) * scale;
    }
    // MIN_FIRST: min rounded to a whole number of steps.
    const double steps = static_cast<double>(int64_t{1} << (8 * sizeof(Q)));
    const float step = static_cast<float>((max - min) / (steps - 1.0));
    const float min_rounded = max == min ? min : std::round(min / step) * step;
    return (min_rounded - lowest * step) + static_cast<float>(q) * step;
  }

  std::string mode_;
  bool narrow_range_ = false;
  int64_t axis_ = -1;
};
REGISTER_KERNEL("Dequantize", DequantizeOp);

}  // namespace
}  // namespace dflow
