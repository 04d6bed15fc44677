// Kernels for the nn ops: Softmax, BiasAdd, BiasAddGrad, Relu, ReluGrad,
// SoftmaxCrossEntropyWithLogits, SparseSoftmaxCrossEntropyWithLogits and InTopKV2.
//
// Every op with a oneDNN primitive uses it: softmax_forward, binary add (broadcast bias),
// eltwise relu forward/backward, reduction sum, logsoftmax_forward (the cross-entropy losses; the
// loss and backprop are finished by a loop over the log-probabilities). Each kernel keeps its
// primitives and memory objects per input shape and only swaps data handles per call.
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "graph/attr_value_util.h"
#include "graph/tensor.h"
#include "graph/status_macros.h"
#include "kernels/dnnl_util.h"
#include "kernels/loops.h"
#include "kernels/op_kernel.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace dflow {
namespace {

using dnnl::memory;

memory::desc Desc2D(int64_t rows, int64_t cols) {
  return memory::desc({rows, cols}, memory::data_type::f32, memory::format_tag::ab);
}
memory::desc Desc1D(int64_t n) {
  return memory::desc({n}, memory::data_type::f32, memory::format_tag::a);
}

// Rejects data_format values other than NHWC at kernel creation.
absl::Status CheckNhwc(const Node& node) {
  std::string format = "NHWC";
  DFLOW_RETURN_IF_ERROR(GetNodeAttr(node, "data_format", &format));
  if (format != "NHWC") {
    return absl::UnimplementedError(absl::StrCat(
        "data_format '", format, "' is not supported; only 'NHWC' (channels last) is"));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Softmax and LogSoftmax over the last axis, viewed as [outer, C] (oneDNN's softmax_forward and
// logsoftmax_forward, `Forward`; small tensors run `loop`, kernels/loops.h).

template <typename Forward, void (*loop)(const float*, int64_t, int64_t, float*)>
class LastAxisSoftmaxOp : public OpKernel {
 public:
  explicit LastAxisSoftmaxOp(const Node& node) : OpKernel(node) {}

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& x = ctx->input(0);
    DFLOW_RETURN_IF_ERROR(CheckInput(x, "logits", DT_FLOAT));
    if (x.dims() < 1) {
      return ctx->InvalidArgument("logits must have rank >= 1 but has shape ",
                                  x.shape().DebugString());
    }
    Tensor* y = ctx->allocate_output(0, x.shape());
    if (x.NumElements() == 0) return absl::OkStatus();
    const int64_t c = x.dim_size(x.dims() - 1);
    const int64_t outer = x.NumElements() / c;
    if (x.NumElements() <= kLoopMaxElements) {
      loop(static_cast<const float*>(x.data()), outer, c, static_cast<float*>(y->data()));
      return absl::OkStatus();
    }
    softmax_.Run({outer, c}, x.data(), y->data(), ctx->engine(), ctx->stream(),
                 [](const memory::desc& md, const dnnl::engine& engine) {
                   return typename Forward::primitive_desc(
                       typename Forward::desc(dnnl::prop_kind::forward_inference, md, 1),
                       KernelAttr(), engine);
                 });
    return absl::OkStatus();
  }

 private:
  // Up to this many logits (a classifier's output) a loop costs less than the primitive call,
  // ~3,500 instructions.
  static constexpr int64_t kLoopMaxElements = 1024;
  SrcDstPrimitive softmax_;
};
using SoftmaxOp = LastAxisSoftmaxOp<dnnl::softmax_forward, SoftmaxRows>;
using LogSoftmaxOp = LastAxisSoftmaxOp<dnnl::logsoftmax_forward, RowLogSoftmax>;

// ---------------------------------------------------------------------------------------------
// BiasAdd: value [outer, C] + bias [1, C] (oneDNN binary add with broadcast).

class BiasAddOp : public OpKernel {
 public:
  explicit BiasAddOp(const Node& node) : OpKernel(node) {
    absl::Status s = CheckNhwc(node);
    if (!s.ok()) SetConstructionError(s);
  }

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& value = ctx->input(0);
    const Tensor& bias = ctx->input(1);
    DFLOW_RETURN_IF_ERROR(CheckInput(value, "value", DT_FLOAT));
    DFLOW_RETURN_IF_ERROR(CheckInput(bias, "bias", DT_FLOAT));
    if (value.dims() < 2) {
      return ctx->InvalidArgument("value must have rank >= 2 but has shape ",
                                  value.shape().DebugString());
    }
    if (bias.dims() != 1) {
      return ctx->InvalidArgument("bias must be 1-D but has shape ", bias.shape().DebugString());
    }
    const int64_t c = value.dim_size(value.dims() - 1);
    if (bias.dim_size(0) != c) {
      return ctx->InvalidArgument("bias has ", bias.dim_size(0),
                                  " elements but the last dimension of value ",
                                  value.shape().DebugString(), " is ", c);
    }
    Tensor* out = ctx->allocate_output(0, value.shape());
    if (value.NumElements() == 0) return absl::OkStatus();
    const int64_t outer = value.NumElements() / c;
    ShapeCache<Entry>::Lease e = cache_.Get({outer, c}, [&] {
      auto entry = std::make_unique<Entry>();
      memory::desc md = Desc2D(outer, c);
      memory::desc bias_md = Desc2D(1, c);
      entry->prim = Primitive(dnnl::binary::primitive_desc(
          dnnl::binary::desc(dnnl::algorithm::binary_add, md, bias_md, md), KernelAttr(),
          ctx->engine()));
      entry->src0 = memory(md, ctx->engine(), nullptr);
      entry->src1 = memory(bias_md, ctx->engine(), nullptr);
      entry->dst = memory(md, ctx->engine(), nullptr);
      return entry;
    });
    RunPrimitive(e->prim, ctx->stream(),
                 {{DNNL_ARG_SRC_0, e->src0, value.data()},
                  {DNNL_ARG_SRC_1, e->src1, bias.data()},
                  {DNNL_ARG_DST, e->dst, out->data()}});
    return absl::OkStatus();
  }

 private:
  struct Entry {
    Primitive prim;
    memory src0, src1, dst;
  };
  ShapeCache<Entry> cache_;
};

// ---------------------------------------------------------------------------------------------
// BiasAddGrad: sum of out_backprop [outer, C] over rows -> [C] (oneDNN reduction).

class BiasAddGradOp : public OpKernel {
 public:
  explicit BiasAddGradOp(const Node& node) : OpKernel(node) {
    absl::Status s = CheckNhwc(node);
    if (!s.ok()) SetConstructionError(s);
  }

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& g = ctx->input(0);
    DFLOW_RETURN_IF_ERROR(CheckInput(g, "out_backprop", DT_FLOAT));
    if (g.dims() < 2) {
      return ctx->InvalidArgument("out_backprop must have rank >= 2 but has shape ",
                                  g.shape().DebugString());
    }
    const int64_t c = g.dim_size(g.dims() - 1);
    Tensor* out = ctx->allocate_output(0, TensorShape({c}));
    if (c == 0) return absl::OkStatus();
    SumOverRows(g.flat<float>().data(), g.NumElements() / c, c, out->flat<float>().data());
    return absl::OkStatus();
  }
};

// ---------------------------------------------------------------------------------------------
// Relu and ReluGrad (oneDNN eltwise relu forward / backward on the flattened tensor).

class ReluOp : public OpKernel {
 public:
  explicit ReluOp(const Node& node) : OpKernel(node) {}

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& x = ctx->input(0);
    DFLOW_RETURN_IF_ERROR(CheckInput(x, "features", DT_FLOAT));
    Tensor* y = ctx->allocate_output(0, x.shape());
    const int64_t n = x.NumElements();
    if (n == 0) return absl::OkStatus();
    relu_.Run({n}, x.data(), y->data(), ctx->engine(), ctx->stream(),
              [](const memory::desc& md, const dnnl::engine& engine) {
                return dnnl::eltwise_forward::primitive_desc(
                    dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_inference,
                                                dnnl::algorithm::eltwise_relu, md, 0.0f, 0.0f),
                    KernelAttr(), engine);
              });
    return absl::OkStatus();
  }

 private:
  SrcDstPrimitive relu_;
};

class ReluGradOp : public OpKernel {
 public:
  explicit ReluGradOp(const Node& node) : OpKernel(node) {}

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& g = ctx->input(0);
    const Tensor& x = ctx->input(1);
    DFLOW_RETURN_IF_ERROR(CheckInput(g, "gradients", DT_FLOAT));
    DFLOW_RETURN_IF_ERROR(CheckInput(x, "features", DT_FLOAT));
    if (g.shape() != x.shape()) {
      return ctx->InvalidArgument("gradients ", g.shape().DebugString(), " and features ",
                                  x.shape().DebugString(), " must have the same shape");
    }
    Tensor* out = ctx->allocate_output(0, x.shape());
    const int64_t n = x.NumElements();
    if (n == 0) return absl::OkStatus();
    ShapeCache<Entry>::Lease e = cache_.Get({n}, [&] {
      auto entry = std::make_unique<Entry>();
      memory::desc md = Desc1D(n);
      dnnl::eltwise_forward::primitive_desc hint(
          dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_training,
                                      dnnl::algorithm::eltwise_relu, md, 0.0f, 0.0f),
          ctx->engine());
      entry->prim = Primitive(dnnl::eltwise_backward::primitive_desc(
          dnnl::eltwise_backward::desc(dnnl::algorithm::eltwise_relu, md, md, 0.0f, 0.0f),
          KernelAttr(), ctx->engine(), hint));
      entry->src = memory(md, ctx->engine(), nullptr);
      entry->diff_dst = memory(md, ctx->engine(), nullptr);
      entry->diff_src = memory(md, ctx->engine(), nullptr);
      return entry;
    });
    RunPrimitive(e->prim, ctx->stream(),
                 {{DNNL_ARG_SRC, e->src, x.data()},
                  {DNNL_ARG_DIFF_DST, e->diff_dst, g.data()},
                  {DNNL_ARG_DIFF_SRC, e->diff_src, out->data()}});
    return absl::OkStatus();
  }

 private:
  struct Entry {
    Primitive prim;
    memory src, diff_dst, diff_src;
  };
  ShapeCache<Entry> cache_;
};

// ---------------------------------------------------------------------------------------------
// Softmax cross-entropy. oneDNN's logsoftmax (max-subtracted, so finite for any finite logits)
// writes log-probabilities into the backprop output; a loop then turns each row into
// loss = -sum(labels * logp) and backprop = exp(logp) - labels.

class LogSoftmaxRows {
 public:
  // Writes log_softmax of each row of `features` [N, C] (N, C > 0) into `logp`.
  void Run(OpKernelContext* ctx, const Tensor& features, Tensor* logp) {
    const int64_t n = features.dim_size(0), c = features.dim_size(1);
    logsoftmax_.Run({n, c}, features.data(), logp->data(), ctx->engine(), ctx->stream(),
                    [](const memory::desc& md, const dnnl::engine& engine) {
                      return dnnl::logsoftmax_forward::primitive_desc(
                          dnnl::logsoftmax_forward::desc(dnnl::prop_kind::forward_inference, md,
                                                         1),
                          KernelAttr(), engine);
                    });
  }

 private:
  SrcDstPrimitive logsoftmax_;
};

class SoftmaxXentOp : public OpKernel {
 public:
  explicit SoftmaxXentOp(const Node& node) : OpKernel(node) {}

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& features = ctx->input(0);
    const Tensor& labels = ctx->input(1);
    DFLOW_RETURN_IF_ERROR(CheckInput(features, "features", DT_FLOAT));
    DFLOW_RETURN_IF_ERROR(CheckInput(labels, "labels", DT_FLOAT));
    if (features.dims() != 2) {
      return ctx->InvalidArgument("features must be 2-D [batch, classes] but has shape ",
                                  features.shape().DebugString());
    }
    if (labels.shape() != features.shape()) {
      return ctx->InvalidArgument("labels ", labels.shape().DebugString(),
                                  " must have the shape of features ",
                                  features.shape().DebugString());
    }
    const int64_t n = features.dim_size(0), c = features.dim_size(1);
    if (n > 0 && c == 0) return ctx->InvalidArgument("features must have at least one class");
    Tensor* loss = ctx->allocate_output(0, TensorShape({n}));
    Tensor* backprop = ctx->allocate_output(1, features.shape());
    if (n == 0) return absl::OkStatus();
    log_softmax_.Run(ctx, features, backprop);
    const float* lab = labels.flat<float>().data();
    float* bp = backprop->flat<float>().data();
    float* l = loss->flat<float>().data();
    for (int64_t i = 0; i < n; ++i) {
      double sum = 0.0;
      for (int64_t j = i * c; j < (i + 1) * c; ++j) {
        const float logp = bp[j];
        // A zero label contributes nothing, even where logp is -inf (a -inf logit).
        if (lab[j] != 0.0f) sum -= static_cast<double>(lab[j]) * logp;
        bp[j] = std::exp(logp) - lab[j];
      }
      l[i] = static_cast<float>(sum);
    }
    return absl::OkStatus();
  }

 private:
  LogSoftmaxRows log_softmax_;
};

class SparseSoftmaxXentOp : public OpKernel {
 public:
  explicit SparseSoftmaxXentOp(const Node& node) : OpKernel(node) {}

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& features = ctx->input(0);
    const Tensor& labels = ctx->input(1);
    DFLOW_RETURN_IF_ERROR(CheckInput(features, "features", DT_FLOAT));
    if (labels.dtype() != DT_INT32 && labels.dtype() != DT_INT64) {
      return ctx->InvalidArgument("labels must be int32 or int64 but are ",
                                  DataTypeString(labels.dtype()));
    }
    if (features.dims() != 2) {
      return ctx->InvalidArgument("features must be 2-D [batch, classes] but has shape ",
                                  features.shape().DebugString());
    }
    if (labels.dims() != 1 || labels.dim_size(0) != features.dim_size(0)) {
      return ctx->InvalidArgument("labels must be 1-D with one entry per row of features ",
                                  features.shape().DebugString(), " but have shape ",
                                  labels.shape().DebugString());
    }
    const int64_t n = features.dim_size(0), c = features.dim_size(1);
    if (n > 0 && c == 0) return ctx->InvalidArgument("features must have at least one class");
    std::vector<int64_t> label(n);
    for (int64_t i = 0; i < n; ++i) {
      label[i] = labels.dtype() == DT_INT32 ? labels.flat<int32_t>()[i]
                                            : labels.flat<int64_t>()[i];
      if (label[i] < 0 || label[i] >= c) {
        return ctx->InvalidArgument("labels[", i, "] = ", label[i],
                                    " is outside the valid range of classes [0, ", c, ")");
      }
    }
    Tensor* loss = ctx->allocate_output(0, TensorShape({n}));
    Tensor* backprop = ctx->allocate_output(1, features.shape());
    if (n == 0) return absl::OkStatus();
    log_softmax_.Run(ctx, features, backprop);
    float* bp = backprop->flat<float>().data();
    float* l = loss->flat<float>().data();
    for (int64_t i = 0; i < n; ++i) {
      float* row = bp + i * c;
      l[i] = -row[label[i]];
      for (int64_t j = 0; j < c; ++j) row[j] = std::exp(row[j]);
      row[label[i]] -= 1.0f;
    }
    return absl::OkStatus();
  }

 private:
  LogSoftmaxRows log_softmax_;
};

// InTopKV2: a loop (TensorFlow's rule: the target is in the top k when fewer than k classes
// score strictly higher; an out-of-range target or any non-finite score in the row gives false).
class InTopKOp : public OpKernel {
 public:
  explicit InTopKOp(const Node& node) : OpKernel(node) {}

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& predictions = ctx->input(0);
    const Tensor& targets = ctx->input(1);
    const Tensor& k_t = ctx->input(2);
    DFLOW_RETURN_IF_ERROR(CheckInput(predictions, "predictions", DT_FLOAT));
    if (predictions.dims() != 2) {
      return ctx->InvalidArgument("predictions must be 2-D [batch, classes] but has shape ",
                                  predictions.shape().DebugString());
    }
    if (targets.dims() != 1 || targets.dim_size(0) != predictions.dim_size(0)) {
      return ctx->InvalidArgument("targets must be 1-D with one entry per row of predictions ",
                                  predictions.shape().DebugString(), " but have shape ",
                                  targets.shape().DebugString());
    }
    if (k_t.dims() != 0) {
      return ctx->InvalidArgument("k must be a scalar but has shape ", k_t.shape().DebugString());
    }
    DFLOW_ASSIGN_OR_RETURN(IntList k, IntValues(k_t, "k"));
    DFLOW_ASSIGN_OR_RETURN(IntList target, IntValues(targets, "targets"));
    const int64_t n = predictions.dim_size(0), c = predictions.dim_size(1);
    bool* out = ctx->allocate_output(0, TensorShape({n}))->flat<bool>().data();
    const float* p = predictions.flat<float>().data();
    for (int64_t i = 0; i < n; ++i) {
      const float* row = p + i * c;
      const int64_t t = target[i];
      bool ok = t >= 0 && t < c && std::isfinite(row[t]);
      int64_t higher = 0;
      for (int64_t j = 0; ok && j < c; ++j) {
        if (!std::isfinite(row[j])) {
          ok = false;
        } else if (row[j] > row[t]) {
          ++higher;
        }
      }
      out[i] = ok && higher < k[0];
    }
    return absl::OkStatus();
  }
};
REGISTER_KERNEL("InTopKV2", InTopKOp);

REGISTER_KERNEL("Softmax", SoftmaxOp, "T", {DT_FLOAT});
REGISTER_KERNEL("BiasAdd", BiasAddOp, "T", {DT_FLOAT});
REGISTER_KERNEL("BiasAddGrad", BiasAddGradOp, "T", {DT_FLOAT});
REGISTER_KERNEL("Relu", ReluOp, "T", {DT_FLOAT});
REGISTER_KERNEL("ReluGrad", ReluGradOp, "T", {DT_FLOAT});
REGISTER_KERNEL("SoftmaxCrossEntropyWithLogits", SoftmaxXentOp, "T", {DT_FLOAT});
REGISTER_KERNEL("SparseSoftmaxCrossEntropyWithLogits", SparseSoftmaxXentOp, "T", {DT_FLOAT});
REGISTER_KERNEL("LogSoftmax", LogSoftmaxOp, "T", {DT_FLOAT});

}  // namespace
}  // namespace dflow
