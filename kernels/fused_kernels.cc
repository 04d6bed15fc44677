// Kernels for the ops the graph optimizer fuses into (ops/fused_ops.h), each one oneDNN
// primitive: _FusedMatMul and _FusedConv2D (a bias input and, for fused_ops [BiasAdd, Relu], an
// eltwise_relu post-op, so the product is written once instead of three times),
// _ApplyGradientDescentMatMul (a matmul summed into the variable), _SoftmaxGrad (softmax
// backward) and _FusedBinary (a binary primitive with binary post-ops). Primitives are built
// once per input shape and cached in the kernel.
#include "graph/status_macros.h"
#include "kernels/fused_kernels.h"

#include <algorithm>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "kernels/broadcast.h"
#include "kernels/conv_util.h"
#include "kernels/dnnl_util.h"
#include "kernels/fused_post_ops.h"
#include "kernels/loops.h"
#include "kernels/op_kernel.h"
#include "oneapi/dnnl/dnnl.hpp"
#include "ops/conv_ops.h"
#include "ops/fused_ops.h"
#include "ops/shape_inference.h"

namespace dflow {
namespace {

using dnnl::memory;

// Reads fused_ops and num_args, recording a construction error for unsupported ones.
class FusedKernel : public OpKernel {
 public:
  explicit FusedKernel(const Node& node) : OpKernel(node) {
    absl::StatusOr<fused::PostOps> post = PostOpsOf(node);
    if (post.ok()) {
      post_ = *post;
    } else {
      SetConstructionError(post.status());
    }
  }

 protected:
  fused::PostOps post_;
};

// ---------------------------------------------------------------------------------------------
// _FusedMatMul: a [m, k] x [k, n] product (transposes as strides, as MatMul does) plus a [n]
// bias broadcast over the rows, then Relu.

class FusedMatMulOp : public FusedKernel {
 public:
  explicit FusedMatMulOp(const Node& node) : FusedKernel(node) {
    absl::Status s = GetTransposeAttrs(node, &transpose_a_, &transpose_b_);
    if (!s.ok() && construction_status().ok()) SetConstructionError(s);
  }

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& a = ctx->input(0);
    const Tensor& b = ctx->input(1);
    const Tensor& bias = ctx->input(2);
    DFLOW_ASSIGN_OR_RETURN(MatMulDims d, MatMulDimsOf(a, b, transpose_a_, transpose_b_));
    DFLOW_RETURN_IF_ERROR(CheckBias(bias, d.n, "product's column count"));
    Tensor* out = ctx->allocate_output(0, TensorShape({d.m, d.n}));
    if (d.m == 0 || d.n == 0) return absl::OkStatus();
    if (d.k == 0) {
      FillWithBias(bias, post_, out);
      return absl::OkStatus();
    }
    if (d.m == 1 && !transpose_b_ && d.k * d.n <= kLoopMaxGemv) {
      // One row (batch 1): a gemv, whatever transpose_a says, as a loop (kernels/loops.h).
      float* o = static_cast<float*>(out->data());
      RowTimesMatrix(static_cast<const float*>(a.data()), static_cast<const float*>(b.data()),
                     d.k, d.n, o);
      const float* bias_values = static_cast<const float*>(bias.data());
      for (int64_t j = 0; j < d.n; ++j) o[j] = fused::Activate(post_, o[j] + bias_values[j]);
      return absl::OkStatus();
    }
    // A Const [k, n] matrix is transposed once into [n, k] rows: oneDNN 2.6's AVX2 gemm takes
    // 0.6 times as long with them (28 against 48 us for the CIFAR CNN's 512 x 1024 layer at
    // batch 1, 0.5 times at batch 32).
    const bool transposed_copy = !transpose_b_ && b.IsImmutable();
    CacheKey key = ShapeKey({&a.shape(), &b.shape()});
    key.push_back(transposed_copy);
    ShapeCache<Entry>::Lease e = cache_.Get(key, [&] {
      memory::desc bias_md({1, d.n}, memory::data_type::f32, memory::dims{d.n, 1});
      const memory::desc weights =
          transposed_copy ? memory::desc({d.k, d.n}, memory::data_type::f32, memory::format_tag::ba)
                          : d.B();
      dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(d.A(), weights, bias_md, d.C()),
                                      KernelAttr(PostOpsAttr(post_)), ctx->engine());
      auto entry = std::make_unique<Entry>();
      entry->prim = Primitive(pd);
      entry->a = memory(d.A(), ctx->engine(), nullptr);
      entry->b.Init(d.B(), weights, ctx->engine(), /*into_primitive=*/true);
      entry->bias = memory(bias_md, ctx->engine(), nullptr);
      entry->c = memory(d.C(), ctx->engine(), nullptr);
      return entry;
    });
    e->b.Load(ctx->stream(), b);
    RunPrimitive(e->prim, ctx->stream(),
                 {{DNNL_ARG_SRC, e->a, a.data()},
                  {DNNL_ARG_WEIGHTS, e->b.prim, e->b.Bound(b.data())},
                  {DNNL_ARG_BIAS, e->bias, bias.data()},
                  {DNNL_ARG_DST, e->c, out->data()}});
    return absl::OkStatus();
  }

 private:
  struct Entry {
    Primitive prim;
    memory a, bias, c;
    Weights b;
  };
  // Up to this many weights (256 KiB) the loop beats oneDNN's batch-1 gemv.
  static constexpr int64_t kLoopMaxGemv = int64_t{1} << 16;
  bool transpose_a_ = false;
  bool transpose_b_ = false;
  ShapeCache<Entry> cache_;
};
REGISTER_KERNEL("_FusedMatMul", FusedMatMulOp, "T", {DT_FLOAT});

// ---------------------------------------------------------------------------------------------
// _FusedConv2D: an NHWC image convolved with an HWIO filter (oneDNN picks the weights layout and
// the filter is reordered into it each run, as Conv2D does), plus a [out_channels] bias.

class FusedConv2DOp : public FusedKernel {
 public:
  explicit FusedConv2DOp(const Node& node) : FusedKernel(node) {
    absl::StatusOr<conv::Window2D> w = conv::Conv2DAttrsOf(node);
    if (w.ok()) {
      window_ = *w;
    } else if (construction_status().ok()) {
      SetConstructionError(w.status());
    }
  }

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& input = ctx->input(0);
    const Tensor& filter = ctx->input(1);
    const Tensor& bias = ctx->input(2);
    DFLOW_RETURN_IF_ERROR(
        CheckInput(input, "input [batch, height, width, channels]", DT_FLOAT, 4));
    DFLOW_RETURN_IF_ERROR(
        CheckInput(filter, "filter [height, width, in_channels, out_channels]", DT_FLOAT, 4));
    DFLOW_ASSIGN_OR_RETURN(ConvGeometry g, ConvGeometryOf(window_, input.shape(), filter.shape()));
    DFLOW_RETURN_IF_ERROR(CheckBias(bias, g.co, "filter's out_channels"));
    Tensor* out = ctx->allocate_output(0, g.OutputShape());
    if (out->NumElements() == 0) return absl::OkStatus();
    if (g.ci == 0) {
      FillWithBias(bias, post_, out);
      return absl::OkStatus();
    }
    ShapeCache<Entry>::Lease e = cache_.Get(g.Key(), [&] {
      const memory::desc bias_md({g.co}, memory::data_type::f32, memory::format_tag::a);
      dnnl::convolution_forward::primitive_desc pd(
          dnnl::convolution_forward::desc(
              dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
              g.Src(), g.AnyWeights(), bias_md, g.Dst(),
              {window_.stride_h, window_.stride_w}, {g.pad_top, g.pad_left},
              {g.pad_bottom, g.pad_right}),
          KernelAttr(PostOpsAttr(post_)), ctx->engine());
      auto entry = std::make_unique<Entry>();
      entry->prim = Primitive(pd);
      entry->src = memory(pd.src_desc(), ctx->engine(), nullptr);
      entry->dst = memory(pd.dst_desc(), ctx->engine(), nullptr);
      entry->bias = memory(bias_md, ctx->engine(), nullptr);
      entry->weights.Init(g.UserWeights(), pd.weights_desc(), ctx->engine(),
                          /*into_primitive=*/true);
      return entry;
    });
    e->weights.Load(ctx->stream(), filter);
    RunPrimitive(e->prim, ctx->stream(),
                 {{DNNL_ARG_SRC, e->src, input.data()},
                  {DNNL_ARG_WEIGHTS, e->weights.prim, e->weights.Bound(filter.data())},
                  {DNNL_ARG_BIAS, e->bias, bias.data()},
                  {DNNL_ARG_DST, e->dst, out->data()}});
    return absl::OkStatus();
  }

 private:
  struct Entry {
    Primitive prim;
    memory src, dst, bias;
    Weights weights;
  };
  conv::Window2D window_;
  ShapeCache<Entry> cache_;
};
REGISTER_KERNEL("_FusedConv2D", FusedConv2DOp, "T", {DT_FLOAT});

// ---------------------------------------------------------------------------------------------
// _ApplyGradientDescentMatMul: var -= alpha * op(a) op(b) as one matmul written into the
// variable: output scale -alpha (a run-time argument, so a changing rate reuses the primitive)
// and a sum post-op that adds the variable's current value.

// A [1, 1] f32 scale broadcast over a matrix.
memory::desc ScaleDesc() {
  return memory::desc({1, 1}, memory::data_type::f32, memory::dims{1, 1});
}

// The matmul writing var + (a x b) * scale into var, scale being the post-op's run-time input.
dnnl::matmul::primitive_desc GradientDescentMatMulDesc(const MatMulDims& d,
                                                       const dnnl::engine& engine) {
  dnnl::post_ops ops;
  ops.append_binary(dnnl::algorithm::binary_mul, ScaleDesc());
  ops.append_sum(1.0f);
  dnnl::primitive_attr attr;
  attr.set_post_ops(ops);
  return dnnl::matmul::primitive_desc(dnnl::matmul::desc(d.A(), d.B(), d.C()), KernelAttr(attr),
                                      engine);
}

class ApplyGradientDescentMatMulOp : public OpKernel {
 public:
  explicit ApplyGradientDescentMatMulOp(const Node& node) : OpKernel(node) {
    absl::Status s = GetTransposeAttrs(node, &transpose_a_, &transpose_b_);
    if (!s.ok()) SetConstructionError(s);
  }

  absl::Status Compute(OpKernelContext* ctx) override {
    Variable* var = ctx->ref_input(0);
    const Tensor& alpha = ctx->input(1);
    const Tensor& a = ctx->input(2);
    const Tensor& b = ctx->input(3);
    if (alpha.dtype() != DT_FLOAT || alpha.dims() != 0) {
      return ctx->InvalidArgument("alpha must be a float scalar, got ",
                                  DataTypeString(alpha.dtype()), " ", alpha.shape().DebugString());
    }
    DFLOW_ASSIGN_OR_RETURN(MatMulDims d, MatMulDimsOf(a, b, transpose_a_, transpose_b_));
    std::lock_guard<VariableMutex> lock(var->mu);
    if (!var->value.IsInitialized()) return UninitializedError(*var);
    if (var->value.dtype() != DT_FLOAT || var->value.shape() != TensorShape({d.m, d.n})) {
      return ctx->InvalidArgument("the product of shape [", d.m, ",", d.n,
                                  "] does not match variable ", var->name, " of shape ",
                                  var->value.shape().DebugString());
    }
    // Copy on write: a tensor fetched earlier, or a or b themselves, may share the buffer.
    if (!var->value.BufferIsExclusive()) var->value = var->value.DeepCopy();
    ctx->set_output_ref(0, var);
    if (d.m == 0 || d.n == 0 || d.k == 0) return absl::OkStatus();  // A zero product.
    if (d.k == 1 && d.m * d.n <= kLoopMaxOuterProduct) {
      // A batch-1 update: whatever the transposes, a holds m contiguous values and b n.
      ScaledOuterProductAdd(static_cast<const float*>(a.data()), d.m,
                            static_cast<const float*>(b.data()), d.n, -alpha.scalar<float>(),
                            static_cast<float*>(var->value.data()));
      return absl::OkStatus();
    }
    ShapeCache<Entry>::Lease e = cache_.Get(ShapeKey({&a.shape(), &b.shape()}), [&] {
      auto entry = std::make_unique<Entry>();
      // Below AVX-512 oneDNN 2.6 has only reference code for the product with these post-ops:
      // then the plain product, added into the variable by a loop, as the unfused pair does.
      entry->summed = HasFastGradientDescentMatMul(d);
      entry->prim = Primitive(entry->summed
                                  ? GradientDescentMatMulDesc(d, ctx->engine())
                                  : dnnl::matmul::primitive_desc(
                                        dnnl::matmul::desc(d.A(), d.B(), d.C()), KernelAttr(),
                                        ctx->engine()));
      entry->a = memory(d.A(), ctx->engine(), nullptr);
      entry->b = memory(d.B(), ctx->engine(), nullptr);
      entry->var = memory(d.C(), ctx->engine(), nullptr);
      entry->scale = memory(ScaleDesc(), ctx->engine(), nullptr);
      return entry;
    });
    if (!e->summed) {
      Tensor product = ctx->allocate_temp(DT_FLOAT, TensorShape({d.m, d.n}));
      RunPrimitive(e->prim, ctx->stream(),
                   {{DNNL_ARG_SRC, e->a, a.data()},
                    {DNNL_ARG_WEIGHTS, e->b, b.data()},
                    {DNNL_ARG_DST, e->var, product.data()}});
      ScaledAddInPlace(static_cast<float*>(var->value.data()),
                       static_cast<const float*>(product.data()), d.m * d.n,
                       -alpha.scalar<float>());
      ctx->release_temp(&product);
      return absl::OkStatus();
    }
    e->scale_value = -alpha.scalar<float>();
    RunPrimitive(e->prim, ctx->stream(),
                 {{DNNL_ARG_SRC, e->a, a.data()},
                  {DNNL_ARG_WEIGHTS, e->b, b.data()},
                  {DNNL_ARG_DST, e->var, var->value.data()},
                  {DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, e->scale, &e->scale_value}});
    return absl::OkStatus();
  }

 private:
  struct Entry {
    Primitive prim;
    memory a, b, var, scale;
    bool summed = false;  // The primitive adds the scaled product into the variable itself.
    float scale_value = 0.0f;  // The primitive reads this call's output scale from here.
  };
  // Up to here (256 KiB of variable) one thread's loop beats a primitive call.
  static constexpr int64_t kLoopMaxOuterProduct = int64_t{1} << 16;
  bool transpose_a_ = false;
  bool transpose_b_ = false;
  ShapeCache<Entry> cache_;
};
REGISTER_KERNEL("_ApplyGradientDescentMatMul", ApplyGradientDescentMatMulOp, "T", {DT_FLOAT});

// ---------------------------------------------------------------------------------------------
// _SoftmaxGrad: oneDNN's softmax backward over the last axis, which computes
// (g - sum(g * y, -1)) * y from the gradients g and the softmax output y.

// Softmax backward over the last axis of dense row-major f32 tensors of `shape`.
dnnl::softmax_backward::primitive_desc SoftmaxBackwardDesc(const TensorShape& shape,
                                                           const dnnl::engine& engine) {
  const memory::desc md = PlainDesc(shape, memory::data_type::f32);
  const int axis = shape.dims() - 1;
  dnnl::softmax_forward::primitive_desc hint(
      dnnl::softmax_forward::desc(dnnl::prop_kind::forward_training, md, axis), engine);
  return dnnl::softmax_backward::primitive_desc(dnnl::softmax_backward::desc(md, md, axis),
                                                KernelAttr(), engine, hint);
}

class SoftmaxGradOp : public OpKernel {
 public:
  using OpKernel::OpKernel;

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& g = ctx->input(0);
    const Tensor& y = ctx->input(1);
    if (g.dtype() != DT_FLOAT || y.dtype() != DT_FLOAT) {
      return ctx->InvalidArgument("gradients and the softmax must be float, got ",
                                  DataTypeString(g.dtype()), " and ", DataTypeString(y.dtype()));
    }
    if (g.shape() != y.shape() || g.dims() == 0) {
      return ctx->InvalidArgument("gradients of shape ", g.shape().DebugString(),
                                  " and the softmax of shape ", y.shape().DebugString(),
                                  " must have one shape of at least one dimension");
    }
    Tensor* out = ctx->allocate_output(0, g.shape());
    if (g.NumElements() == 0) return absl::OkStatus();
    if (g.NumElements() <= kLoopMaxElements) {
      const int64_t cols = g.dim_size(g.dims() - 1);
      SoftmaxGradRows(static_cast<const float*>(g.data()), static_cast<const float*>(y.data()),
                      g.NumElements() / cols, cols, static_cast<float*>(out->data()));
      return absl::OkStatus();
    }
    ShapeCache<Entry>::Lease e = cache_.Get(ShapeKey({&g.shape()}), [&] {
      const memory::desc md = PlainDesc(g.shape(), memory::data_type::f32);
      auto entry = std::make_unique<Entry>();
      entry->prim = Primitive(SoftmaxBackwardDesc(g.shape(), ctx->engine()));
      entry->g = memory(md, ctx->engine(), nullptr);
      entry->y = memory(md, ctx->engine(), nullptr);
      entry->out = memory(md, ctx->engine(), nullptr);
      return entry;
    });
    RunPrimitive(e->prim, ctx->stream(),
                 {{DNNL_ARG_DIFF_DST, e->g, g.data()},
                  {DNNL_ARG_DST, e->y, y.data()},
                  {DNNL_ARG_DIFF_SRC, e->out, out->data()}});
    return absl::OkStatus();
  }

 private:
  struct Entry {
    Primitive prim;
    memory g, y, out;
  };
  // Up to here (a few batch-1 rows) a loop costs less than the primitive call.
  static constexpr int64_t kLoopMaxElements = 256;
  ShapeCache<Entry> cache_;
};
REGISTER_KERNEL("_SoftmaxGrad", SoftmaxGradOp, "T", {DT_FLOAT});

// ---------------------------------------------------------------------------------------------
// _FusedBinary: args[0] op0 args[1], then op_i with args[i + 1] as oneDNN binary post-ops, all
// on the result's shape (args[0]'s), the other operands broadcast into it; a result of at most
// kLoopMaxElements is computed by a loop per op instead.

std::optional<dnnl::algorithm> BinaryAlgorithm(absl::string_view op) {
  if (op == "Add" || op == "AddV2") return dnnl::algorithm::binary_add;
  if (op == "Sub") return dnnl::algorithm::binary_sub;
  if (op == "Mul") return dnnl::algorithm::binary_mul;
  if (op == "RealDiv") return dnnl::algorithm::binary_div;
  return std::nullopt;
}

// Whether `t` broadcasts into `shape` unchanged: no higher rank, each dim equal or 1.
bool BroadcastsInto(const TensorShape& t, const TensorShape& shape) {
  if (t.dims() > shape.dims()) return false;
  for (int i = 1; i <= t.dims(); ++i) {
    const int64_t d = t.dim_size(t.dims() - i);
    if (d != 1 && d != shape.dim_size(shape.dims() - i)) return false;
  }
  return true;
}

// out = a alg b, with b (and a, which may be *out) broadcast into `shape`.
void BinaryLoop(dnnl::algorithm alg, const Tensor& a, const Tensor& b, const TensorShape& shape,
                Tensor* out) {
  switch (alg) {
    case dnnl::algorithm::binary_add:
      return BroadcastLoop<float, float>(a, b, shape, out, [](float x, float y) { return x + y; });
    case dnnl::algorithm::binary_sub:
      return BroadcastLoop<float, float>(a, b, shape, out, [](float x, float y) { return x - y; });
    case dnnl::algorithm::binary_mul:
      return BroadcastLoop<float, float>(a, b, shape, out, [](float x, float y) { return x * y; });
    default:  // binary_div: BinaryAlgorithm returns no other.
      return BroadcastLoop<float, float>(a, b, shape, out, [](float x, float y) { return x / y; });
  }
}

class FusedBinaryOp : public OpKernel {
 public:
  // Post-op arguments are bound per call; this bounds the call's argument list.
  static constexpr int kMaxArgs = 12;

  explicit FusedBinaryOp(const Node& node) : OpKernel(node) {
    std::vector<std::string> fused_ops;
    absl::Status s = GetNodeAttr(node, "fused_ops", &fused_ops);
    for (size_t i = 0; s.ok() && i < fused_ops.size(); ++i) {
      std::optional<dnnl::algorithm> alg = BinaryAlgorithm(fused_ops[i]);
      if (!alg.has_value()) {
        s = OpKernelContext::InvalidArgument("fused_ops holds ", fused_ops[i],
                                             ", which has no oneDNN binary algorithm");
      } else {
        algs_.push_back(*alg);
      }
    }
    if (s.ok() && (algs_.empty() || algs_.size() + 1 > kMaxArgs)) {
      s = OpKernelContext::InvalidArgument("fused_ops must hold 1 to ", kMaxArgs - 1,
                                           " ops, not ", algs_.size());
    }
    if (!s.ok()) SetConstructionError(s);
  }

  absl::Status Compute(OpKernelContext* ctx) override {
    const int n = ctx->num_inputs();
    if (n != static_cast<int>(algs_.size()) + 1) {
      return ctx->InvalidArgument("expected ", algs_.size() + 1, " inputs, got ", n);
    }
    const TensorShape& shape = ctx->input(0).shape();
    CacheKey key;
    for (int i = 0; i < n; ++i) {
      const Tensor& t = ctx->input(i);
      if (t.dtype() != DT_FLOAT) {
        return ctx->InvalidArgument("input ", i, " must be float but is ",
                                    DataTypeString(t.dtype()));
      }
      if (!BroadcastsInto(t.shape(), shape)) {
        return ctx->InvalidArgument("input ", i, " of shape ", t.shape().DebugString(),
                                    " does not broadcast into the first input's shape ",
                                    shape.DebugString());
      }
      key.push_back(t.dims());
      key.insert(key.end(), t.shape().dim_sizes().begin(), t.shape().dim_sizes().end());
    }
    const int rank = std::max(shape.dims(), 1);
    if (rank > DNNL_MAX_NDIMS) {
      return ctx->InvalidArgument("rank ", shape.dims(), " is above oneDNN's ", DNNL_MAX_NDIMS);
    }
    Tensor* out = ctx->allocate_output(0, shape);
    if (shape.num_elements() == 0) return absl::OkStatus();
    if (shape.num_elements() <= kLoopMaxElements) {
      // One IEEE operation per element and op, as oneDNN's f32 binary and post-ops round.
      BinaryLoop(algs_[0], ctx->input(0), ctx->input(1), shape, out);
      for (int i = 2; i < n; ++i) BinaryLoop(algs_[i - 1], *out, ctx->input(i), shape, out);
      return absl::OkStatus();
    }
    ShapeCache<Entry>::Lease e = cache_.Get(key, [&] {
      const auto f32 = memory::data_type::f32;
      auto entry = std::make_unique<Entry>();
      for (int i = 0; i < n; ++i) {
        entry->srcs.emplace_back(PlainDesc(ctx->input(i).shape(), f32, rank), ctx->engine(),
                                 nullptr);
      }
      const memory::desc dst_md = PlainDesc(shape, f32, rank);
      dnnl::post_ops ops;
      for (int i = 2; i < n; ++i) ops.append_binary(algs_[i - 1], entry->srcs[i].get_desc());
      dnnl::primitive_attr attr;
      attr.set_post_ops(ops);
      dnnl::binary::primitive_desc pd(
          dnnl::binary::desc(algs_[0], entry->srcs[0].get_desc(), entry->srcs[1].get_desc(),
                             dst_md),
          KernelAttr(attr), ctx->engine());
      entry->prim = Primitive(pd);
      entry->dst = memory(dst_md, ctx->engine(), nullptr);
      return entry;
    });
    absl::InlinedVector<BoundArg, kMaxArgs + 1> args;
    args.push_back({DNNL_ARG_SRC_0, e->srcs[0], ctx->input(0).data()});
    args.push_back({DNNL_ARG_SRC_1, e->srcs[1], ctx->input(1).data()});
    for (int i = 2; i < n; ++i) {
      args.push_back({DNNL_ARG_ATTR_MULTIPLE_POST_OP(i - 2) | DNNL_ARG_SRC_1, e->srcs[i],
                      ctx->input(i).data()});
    }
    args.push_back({DNNL_ARG_DST, e->dst, out->data()});
    RunPrimitive(e->prim, ctx->stream(), args);
    return absl::OkStatus();
  }

 private:
  struct Entry {
    Primitive prim;
    std::vector<memory> srcs;
    memory dst;
  };
  std::vector<dnnl::algorithm> algs_;
  ShapeCache<Entry> cache_;
};
REGISTER_KERNEL("_FusedBinary", FusedBinaryOp, "T", {DT_FLOAT});

// Whether the primitive descriptor `make()` returns exists and is not oneDNN's reference code.
template <typename Make>
bool IsOptimized(Make make) {
  try {
    return !absl::StartsWith(make().impl_info_str(), "ref");
  } catch (const dnnl::error&) {
    return false;
  }
}

}  // namespace

bool HasFastGradientDescentMatMul(const MatMulDims& dims) {
  return IsOptimized([&] { return GradientDescentMatMulDesc(dims, CpuEngine()); });
}

bool HasFastSoftmaxGrad(const TensorShape& shape) {
  return shape.dims() > 0 && shape.num_elements() > 0 &&
         IsOptimized([&] { return SoftmaxBackwardDesc(shape, CpuEngine()); });
}

}  // namespace dflow
