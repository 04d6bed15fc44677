// Kernels for FusedBatchNorm / V2 / V3 and FusedBatchNormGrad / V2 / V3: oneDNN
// batch_normalization primitives (scale and shift separate; the inputs' statistics as global
// stats for inference). x is described to oneDNN as {R, C, 1, 1} nhwc (channels last, R the
// product of the other dims) or {N, C, S, 1} nchw (channels first, S the spatial size): the
// statistics are per channel over everything else either way. The running statistics
// (Bessel's correction, exponential averaging) are plain loops over C. Built once per shape.
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "graph/status_macros.h"
#include "graph/tensor.h"
#include "kernels/dnnl_util.h"
#include "kernels/op_kernel.h"
#include "oneapi/dnnl/dnnl.hpp"
#include "ops/batch_norm_ops.h"

namespace dflow {
namespace {

using batch_norm::Layout;
using dnnl::memory;

// x's dims for oneDNN and the channel count.
struct Geometry {
  int64_t outer = 0, c = 0, inner = 0;  // x is [outer, c, inner] in memory.
  bool channels_last = true;

  CacheKey Key() const { return {outer, c, inner, channels_last ? 1 : 0}; }
  int64_t Count() const { return outer * inner; }  // Elements per channel.
  memory::desc Data() const {
    return channels_last ? memory::desc({outer, c, 1, 1}, memory::data_type::f32,
                                        memory::format_tag::nhwc)
                         : memory::desc({outer, c, inner, 1}, memory::data_type::f32,
                                        memory::format_tag::nchw);
  }
  memory::desc Vector() const {
    return memory::desc({c}, memory::data_type::f32, memory::format_tag::a);
  }
};

absl::StatusOr<Geometry> GeometryOf(const Tensor& x, absl::string_view what,
                                    const Layout& layout) {
  DFLOW_RETURN_IF_ERROR(CheckInput(x, what, DT_FLOAT));
  if (x.dims() != layout.rank) {
    return OpKernelContext::InvalidArgument(what, " must be ", layout.rank, "-D but has shape ",
                                            x.shape().DebugString());
  }
  Geometry g;
  g.channels_last = layout.channels_last;
  g.c = x.dim_size(layout.ChannelAxis());
  if (layout.channels_last) {
    g.outer = x.NumElements() / std::max<int64_t>(g.c, 1);
    g.inner = 1;
    if (g.c == 0) g.outer = 0;
  } else {
    g.outer = x.dim_size(0);
    g.inner = 1;
    for (int d = 2; d < layout.rank; ++d) g.inner *= x.dim_size(d);
  }
  return g;
}

// A float vector input of the channel count.
absl::Status CheckVector(const Tensor& t, absl::string_view what, int64_t c,
                         absl::string_view prefix = "") {
  DFLOW_RETURN_IF_ERROR(CheckInput(t, what, DT_FLOAT));
  if (t.dims() != 1 || t.dim_size(0) != c) {
    return OpKernelContext::InvalidArgument(prefix, what,
                                            " must be 1-D with one element per channel of x (",
                                            c, ") but has shape ", t.shape().DebugString());
  }
  return absl::OkStatus();
}

void Fill(Tensor* t, float v) {
  for (float& e : t->flat<float>()) e = v;
}

void Copy(const Tensor& from, Tensor* to) {
  auto src = from.flat<float>();
  auto dst = to->flat<float>();
  for (int64_t i = 0; i < static_cast<int64_t>(dst.size()); ++i) dst[i] = src[i];
}

class BatchNormKernel : public OpKernel {
 public:
  BatchNormKernel(const Node& node, bool allow_3d) : OpKernel(node) {
    std::string format = "NHWC";
    absl::Status s = GetNodeAttr(node, "epsilon", &epsilon_);
    if (s.ok()) s = GetNodeAttr(node, "is_training", &is_training_);
    if (s.ok()) s = GetNodeAttr(node, "data_format", &format);
    GetNodeAttr(node, "exponential_avg_factor", &factor_).IgnoreError();  // Forward ops only.
    if (s.ok()) {
      absl::StatusOr<Layout> layout = batch_norm::ParseDataFormat(format, allow_3d);
      if (layout.ok()) {
        layout_ = *layout;
      } else {
        s = layout.status();
      }
    }
    if (!s.ok()) SetConstructionError(s);
  }

 protected:
  dnnl::normalization_flags Flags() const {
    dnnl::normalization_flags f =
        dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
    return is_training_ ? f : f | dnnl::normalization_flags::use_global_stats;
  }
  dnnl::batch_normalization_forward::desc ForwardDesc(const Geometry& g) const {
    return dnnl::batch_normalization_forward::desc(
        is_training_ ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference,
        g.Data(), epsilon_, Flags());
  }

  float epsilon_ = 0.0001f;
  float factor_ = 1.0f;
  bool is_training_ = true;
  Layout layout_;
};

// The memory objects of a batch_normalization primitive: data and per-channel vectors.
struct Entry {
  Primitive prim;
  memory src, dst, mean, var, scale, shift;  // Backward: dst is diff_dst.
  memory diff_src, diff_scale, diff_shift;   // Backward only.
};

class FusedBatchNormOp : public BatchNormKernel {
 public:
  FusedBatchNormOp(const Node& node, bool v3) : BatchNormKernel(node, v3), v3_(v3) {}

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& x = ctx->input(0);
    DFLOW_ASSIGN_OR_RETURN(Geometry g, GeometryOf(x, "x", layout_));
    const Tensor& scale = ctx->input(1);
    const Tensor& offset = ctx->input(2);
    const Tensor& mean = ctx->input(3);
    const Tensor& var = ctx->input(4);
    DFLOW_RETURN_IF_ERROR(CheckVector(scale, "scale", g.c));
    DFLOW_RETURN_IF_ERROR(CheckVector(offset, "offset", g.c));
    const bool reads_stats = !is_training_ || factor_ != 1.0f;
    if (reads_stats) {
      const char* prefix = is_training_ ? "when exponential_avg_factor != 1, "
                                        : "when is_training is false, ";
      DFLOW_RETURN_IF_ERROR(CheckVector(mean, "mean", g.c, prefix));
      DFLOW_RETURN_IF_ERROR(CheckVector(var, "variance", g.c, prefix));
    }
    Tensor* y = ctx->allocate_output(0, x.shape());
    const TensorShape vec({g.c});
    Tensor* batch_mean = ctx->allocate_output(1, vec);
    Tensor* batch_var = ctx->allocate_output(2, vec);
    Tensor* saved_mean = ctx->allocate_output(3, vec);
    Tensor* saved_var = ctx->allocate_output(4, vec);
    if (v3_) Fill(ctx->allocate_output(5, TensorShape({})), 0.0f);  // TensorFlow's CPU dummy.
    if (x.NumElements() == 0) {  // TensorFlow's statistics of nothing: NaN.
      for (Tensor* t : {batch_mean, batch_var, saved_mean, saved_var}) {
        Fill(t, std::numeric_limits<float>::quiet_NaN());
      }
      return absl::OkStatus();
    }
    ShapeCache<Entry>::Lease e = cache_.Get(g.Key(), [&] {
      dnnl::batch_normalization_forward::primitive_desc pd(ForwardDesc(g), KernelAttr(),
                                                           ctx->engine());
      auto entry = std::make_unique<Entry>();
      entry->prim = Primitive(pd);
      entry->src = memory(g.Data(), ctx->engine(), nullptr);
      entry->dst = memory(g.Data(), ctx->engine(), nullptr);
      for (memory* m : {&entry->mean, &entry->var, &entry->scale, &entry->shift}) {
        *m = memory(g.Vector(), ctx->engine(), nullptr);
      }
      return entry;
    });
    if (!is_training_) {  // y from the given statistics, which pass through.
      RunPrimitive(e->prim, ctx->stream(),
                   {{DNNL_ARG_SRC, e->src, x.data()},
                    {DNNL_ARG_MEAN, e->mean, mean.data()},
                    {DNNL_ARG_VARIANCE, e->var, var.data()},
                    {DNNL_ARG_SCALE, e->scale, scale.data()},
                    {DNNL_ARG_SHIFT, e->shift, offset.data()},
                    {DNNL_ARG_DST, e->dst, y->data()}});
      for (Tensor* t : {batch_mean, saved_mean}) Copy(mean, t);
      for (Tensor* t : {batch_var, saved_var}) Copy(var, t);
      return absl::OkStatus();
    }
    // Training: oneDNN writes the batch mean and biased variance (the reserve spaces).
    RunPrimitive(e->prim, ctx->stream(),
                 {{DNNL_ARG_SRC, e->src, x.data()},
                  {DNNL_ARG_MEAN, e->mean, saved_mean->data()},
                  {DNNL_ARG_VARIANCE, e->var, saved_var->data()},
                  {DNNL_ARG_SCALE, e->scale, scale.data()},
                  {DNNL_ARG_SHIFT, e->shift, offset.data()},
                  {DNNL_ARG_DST, e->dst, y->data()}});
    const int64_t n = g.Count();
    const float bessel = static_cast<float>(n) / static_cast<float>(n > 1 ? n - 1 : 1);
    auto m = saved_mean->flat<float>();
    auto v = saved_var->flat<float>();
    auto out_m = batch_mean->flat<float>();
    auto out_v = batch_var->flat<float>();
    if (factor_ == 1.0f) {
      for (int64_t i = 0; i < g.c; ++i) {
        out_m[i] = m[i];
        out_v[i] = v[i] * bessel;
      }
    } else {
      auto old_m = mean.flat<float>();
      auto old_v = var.flat<float>();
      const float keep = 1.0f - factor_;
      for (int64_t i = 0; i < g.c; ++i) {
        out_m[i] = keep * old_m[i] + factor_ * m[i];
        out_v[i] = keep * old_v[i] + (factor_ * bessel) * v[i];
      }
    }
    return absl::OkStatus();
  }

 private:
  const bool v3_;
  ShapeCache<Entry> cache_;
};

class FusedBatchNormGradOp : public BatchNormKernel {
 public:
  FusedBatchNormGradOp(const Node& node, bool v3) : BatchNormKernel(node, v3) {}

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& dy = ctx->input(0);
    const Tensor& x = ctx->input(1);
    DFLOW_ASSIGN_OR_RETURN(Geometry g, GeometryOf(x, "x", layout_));
    DFLOW_RETURN_IF_ERROR(CheckInput(dy, "y_backprop", DT_FLOAT));
    if (dy.shape() != x.shape()) {
      return OpKernelContext::InvalidArgument("x and y_backprop must have the same shape, but x "
                                              "has shape ", x.shape().DebugString(),
                                              " and y_backprop has shape ",
                                              dy.shape().DebugString());
    }
    const Tensor& scale = ctx->input(2);
    const Tensor& mean = ctx->input(3);
    const Tensor& var = ctx->input(4);
    DFLOW_RETURN_IF_ERROR(CheckVector(scale, "scale", g.c));
    DFLOW_RETURN_IF_ERROR(CheckVector(mean, "reserve_space_1", g.c));
    DFLOW_RETURN_IF_ERROR(CheckVector(var, "reserve_space_2", g.c));
    Tensor* dx = ctx->allocate_output(0, x.shape());
    Tensor* dscale = ctx->allocate_output(1, TensorShape({g.c}));
    Tensor* doffset = ctx->allocate_output(2, TensorShape({g.c}));
    ctx->allocate_output(3, TensorShape({0}));
    ctx->allocate_output(4, TensorShape({0}));
    if (x.NumElements() == 0) {
      Fill(dscale, 0.0f);
      Fill(doffset, 0.0f);
      return absl::OkStatus();
    }
    ShapeCache<Entry>::Lease e = cache_.Get(g.Key(), [&] {
      dnnl::batch_normalization_forward::primitive_desc hint(
          dnnl::batch_normalization_forward::desc(dnnl::prop_kind::forward_training, g.Data(),
                                                  epsilon_, Flags()),
          ctx->engine());
      dnnl::batch_normalization_backward::primitive_desc pd(
          dnnl::batch_normalization_backward::desc(dnnl::prop_kind::backward, g.Data(),
                                                   g.Data(), epsilon_, Flags()),
          KernelAttr(), ctx->engine(), hint);
      auto entry = std::make_unique<Entry>();
      entry->prim = Primitive(pd);
      entry->src = memory(g.Data(), ctx->engine(), nullptr);
      entry->dst = memory(g.Data(), ctx->engine(), nullptr);
      entry->diff_src = memory(g.Data(), ctx->engine(), nullptr);
      for (memory* m : {&entry->mean, &entry->var, &entry->scale, &entry->shift,
                        &entry->diff_scale, &entry->diff_shift}) {
        *m = memory(g.Vector(), ctx->engine(), nullptr);
      }
      return entry;
    });
    RunPrimitive(e->prim, ctx->stream(),
                 {{DNNL_ARG_SRC, e->src, x.data()},
                  {DNNL_ARG_MEAN, e->mean, mean.data()},
                  {DNNL_ARG_VARIANCE, e->var, var.data()},
                  {DNNL_ARG_SCALE, e->scale, scale.data()},
                  // oneDNN 2.6 wants the shift bound though its values do not enter.
                  {DNNL_ARG_SHIFT, e->shift, scale.data()},
                  {DNNL_ARG_DIFF_DST, e->dst, dy.data()},
                  {DNNL_ARG_DIFF_SRC, e->diff_src, dx->data()},
                  {DNNL_ARG_DIFF_SCALE, e->diff_scale, dscale->data()},
                  {DNNL_ARG_DIFF_SHIFT, e->diff_shift, doffset->data()}});
    return absl::OkStatus();
  }

 private:
  ShapeCache<Entry> cache_;
};

class FusedBatchNormV12Op : public FusedBatchNormOp {
 public:
  explicit FusedBatchNormV12Op(const Node& node) : FusedBatchNormOp(node, false) {}
};
class FusedBatchNormV3Op : public FusedBatchNormOp {
 public:
  explicit FusedBatchNormV3Op(const Node& node) : FusedBatchNormOp(node, true) {}
};
class FusedBatchNormGradV12Op : public FusedBatchNormGradOp {
 public:
  explicit FusedBatchNormGradV12Op(const Node& node) : FusedBatchNormGradOp(node, false) {}
};
class FusedBatchNormGradV3Op : public FusedBatchNormGradOp {
 public:
  explicit FusedBatchNormGradV3Op(const Node& node) : FusedBatchNormGradOp(node, true) {}
};

REGISTER_KERNEL("FusedBatchNorm", FusedBatchNormV12Op, "T", {DT_FLOAT});
REGISTER_KERNEL("FusedBatchNormV2", FusedBatchNormV12Op, "T", {DT_FLOAT});
REGISTER_KERNEL("FusedBatchNormV3", FusedBatchNormV3Op, "T", {DT_FLOAT});
REGISTER_KERNEL("FusedBatchNormGrad", FusedBatchNormGradV12Op, "T", {DT_FLOAT});
REGISTER_KERNEL("FusedBatchNormGradV2", FusedBatchNormGradV12Op, "T", {DT_FLOAT});
REGISTER_KERNEL("FusedBatchNormGradV3", FusedBatchNormGradV3Op, "T", {DT_FLOAT});

}  // namespace
}  // namespace dflow
