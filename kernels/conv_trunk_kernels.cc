// _DflowConvTrunk (ops/conv_trunk_ops.h): a chain of convolutions, poolings and activations run
// as oneDNN primitives whose images stay in the layouts oneDNN prefers (blocked, e.g. nChw8c):
// every convolution is created with format_tag::any for its source, weights and destination,
// each pooling and activation reads the layout its producer wrote (a pooling of a blocked or NHWC
// image runs as a loop, kernels/pool_loops.h, a third of oneDNN 2.6's pooling time). The NHWC input is reordered
// once at entry (when the first primitive wants another layout), the result once at exit, and
// between primitives only where one's destination differs from the next one's source. The
// primitives, reorders and weights in their layouts are built once per input shape (a ShapeCache
// entry, leased to one call at a time, with its own two intermediate buffers); an immutable (Const)
// filter is reordered once per entry.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "graph/tensor.h"
#include "kernels/conv_util.h"
#include "kernels/dnnl_util.h"
#include "kernels/fused_post_ops.h"
#include "kernels/op_kernel.h"
#include "kernels/pool_loops.h"
#include "oneapi/dnnl/dnnl.hpp"
#include "ops/conv_ops.h"
#include "ops/conv_trunk_ops.h"
#include "ops/depthwise_ops.h"
#include "ops/fused_ops.h"
#include "runtime/thread_policy.h"

namespace dflow {
namespace {

using dnnl::memory;

enum class Kind { kConv, kDepthwise, kMaxPool, kAvgPool, kEltwise };

// A stage as the kernel runs it.
struct StageSpec {
  Kind kind = Kind::kEltwise;
  bool biased = false;
  fused::PostOps post;                            // A convolution's activation.
  Eltwise eltwise{dnnl::algorithm::eltwise_relu, 0.0f, 0.0f};  // kEltwise's.
  conv::Window2D window;                          // Strides, padding, pooling's window.
  int filter = 0, bias = 0;                       // Input indices.
};

absl::StatusOr<std::vector<StageSpec>> SpecsOf(const Node& node) {
  DFLOW_ASSIGN_OR_RETURN(std::vector<conv_trunk::Stage> stages,
                         conv_trunk::StagesOf(node.attrs()));
  std::vector<StageSpec> specs;
  int next = 1;
  for (const conv_trunk::Stage& s : stages) {
    StageSpec spec;
    std::vector<int64_t> strides, ksize;
    std::string padding;
    DFLOW_RETURN_IF_ERROR(GetAttr(s.attrs, "strides", &strides));
    DFLOW_RETURN_IF_ERROR(GetAttr(s.attrs, "ksize", &ksize));
    DFLOW_RETURN_IF_ERROR(GetAttr(s.attrs, "padding", &padding));
    const std::vector<int64_t> ones = {1, 1, 1, 1};
    if (s.op == "MaxPool" || s.op == "AvgPool") {
      spec.kind = s.op == "MaxPool" ? Kind::kMaxPool : Kind::kAvgPool;
      DFLOW_ASSIGN_OR_RETURN(spec.window, conv::CheckPoolAttrs(ksize, strides, padding, "NHWC"));
    } else if (absl::StrContains(s.op, "Depthwise")) {
      spec.kind = Kind::kDepthwise;
      DFLOW_ASSIGN_OR_RETURN(conv::DepthwiseWindow w,
                             conv::CheckDepthwiseAttrs(strides, padding, ones, {}, "NHWC"));
      spec.window.stride_h = w.stride_h;
      spec.window.stride_w = w.stride_w;
      spec.window.padding = w.padding;
    } else if (conv_trunk::IsConvolution(s.op)) {
      spec.kind = Kind::kConv;
      DFLOW_ASSIGN_OR_RETURN(spec.window,
                             conv::CheckConv2DAttrs(strides, padding, ones, {}, "NHWC"));
    } else {
      spec.eltwise = EltwiseOf(*fused::ActivationOf(s.op));  // StagesOf checked the op.
    }
    if (!s.activation.empty()) spec.post.activation = *fused::ActivationOf(s.activation);
    spec.biased = s.num_args == 2;
    spec.filter = next;
    spec.bias = next + 1;
    next += s.num_args;
    specs.push_back(spec);
  }
  return specs;
}

// One stage's sizes for one input: its input [n, h, w, c], its output [n, oh, ow, co] with the
// padding, and a convolution's kh x kw filter (depthwise: co = c * multiplier).
struct StageGeometry : WindowedSize2D {
  int64_t n = 0, h = 0, w = 0, c = 0, kh = 0, kw = 0, co = 0;

  memory::dims Src() const { return {n, c, h, w}; }
  memory::dims Dst() const { return {n, co, oh, ow}; }
  memory::dims Strides(const conv::Window2D& win) const { return {win.stride_h, win.stride_w}; }
  memory::dims PadL() const { return {pad_top, pad_left}; }
  memory::dims PadR() const { return {pad_bottom, pad_right}; }
};

memory::desc Desc(const memory::dims& dims, memory::format_tag tag) {
  return memory::desc(dims, memory::data_type::f32, tag);
}

int64_t Elements(const memory::desc& d) {
  int64_t n = 1;
  for (memory::dim v : d.dims()) n *= v;
  return n;
}

// Where a step reads or writes: the call's input or output, or one of the entry's buffers.
enum Buffer { kInput = -1, kOutput = -2 };

// One primitive of the chain: a stage (index >= 0) or a reorder (-1). A pooling whose source is
// blocked (or NHWC) runs as a loop instead (`loop`; kernels/pool_loops.h).
struct Step {
  int stage = -1;
  bool loop = false;
  BlockedPool pool;
  Primitive prim;
  memory src, dst, bias;
  Weights weights;
  int in = kInput, out = kOutput;
  // What the thread policy's size rule weighs for this step (runtime/thread_policy.h): its
  // source image, plus a convolution's filter and bias, as for the node the stage was.
  int64_t elements = 0;
};

struct Entry {
  std::vector<Step> steps;
  memory buffers[2];  // Intermediate images, each as large as the largest.
};

class ConvTrunkOp : public OpKernel {
 public:
  explicit ConvTrunkOp(const Node& node) : OpKernel(node) {
    absl::StatusOr<std::vector<StageSpec>> specs = SpecsOf(node);
    if (specs.ok()) {
      specs_ = *std::move(specs);
      for (const StageSpec& spec : specs_) num_inputs_ += IsConv(spec) ? 1 + spec.biased : 0;
    } else {
      SetConstructionError(specs.status());
    }
  }

  // The largest image a stage read in the last call: the trunk is as large a node as that. Each
  // step then runs on a team the size rule gives its own elements (Step::elements), so that a
  // trunk's small late stages run on one thread as the unrewritten nodes did.
  int64_t TeamElements(int64_t input_elements) const override {
    return std::max(input_elements, largest_image_.load(std::memory_order_relaxed));
  }

  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& input = ctx->input(0);
    DFLOW_RETURN_IF_ERROR(CheckImage(input, "input", kImageLayout));
    if (ctx->num_inputs() != num_inputs_) {
      return ctx->InvalidArgument("expected ", num_inputs_, " inputs, got ", ctx->num_inputs());
    }
    absl::InlinedVector<StageGeometry, 32> geo;
    CacheKey key;
    DFLOW_RETURN_IF_ERROR(GeometryOf(ctx, &geo, &key));
    int64_t largest = 0;
    for (const StageGeometry& g : geo) largest = std::max(largest, g.n * g.h * g.w * g.c);
    if (largest_image_.load(std::memory_order_relaxed) != largest) {  // Rarely: no line bouncing.
      largest_image_.store(largest, std::memory_order_relaxed);
    }
    const StageGeometry& last = geo.back();
    Tensor* out = ctx->allocate_output(0, TensorShape({last.n, last.oh, last.ow, last.co}));
    if (out->NumElements() == 0) return absl::OkStatus();
    ShapeCache<Entry>::Lease e = cache_.Get(key, [&] { return Build(geo, ctx->engine()); });
    void* buffers[2] = {e->buffers[0].get_data_handle(), e->buffers[1].get_data_handle()};
    auto at = [&](int b) -> const void* {
      return b == kInput ? input.data() : b == kOutput ? out->data() : buffers[b];
    };
    const int team = omp_get_max_threads();
    int current = team;
    for (Step& s : e->steps) {
      const int wanted = ThreadPolicy::Global().TeamSize(team, s.elements);
      if (wanted != current) omp_set_num_threads(current = wanted);
      const StageSpec* spec = s.stage >= 0 ? &specs_[s.stage] : nullptr;
      if (s.loop) {
        const float* x = static_cast<const float*>(at(s.in));
        // A step never writes the input: it writes `out` or a buffer.
        float* y = static_cast<float*>(const_cast<void*>(at(s.out)));
        spec->kind == Kind::kMaxPool ? MaxPoolBlocked(s.pool, x, y) : AvgPoolBlocked(s.pool, x, y);
        continue;
      }
      if (spec == nullptr || !IsConv(*spec)) {
        RunPrimitive(s.prim, ctx->stream(), {{DNNL_ARG_SRC, s.src, at(s.in)},
                                              {DNNL_ARG_DST, s.dst, at(s.out)}});
        continue;
      }
      const Tensor& filter = ctx->input(spec->filter);
      s.weights.Load(ctx->stream(), filter);
      absl::InlinedVector<BoundArg, 4> args = {
          {DNNL_ARG_SRC, s.src, at(s.in)},
          {DNNL_ARG_WEIGHTS, s.weights.prim, s.weights.Bound(filter.data())},
          {DNNL_ARG_DST, s.dst, at(s.out)}};
      if (spec->biased) args.push_back({DNNL_ARG_BIAS, s.bias, ctx->input(spec->bias).data()});
      RunPrimitive(s.prim, ctx->stream(), args);
    }
    if (current != team) omp_set_num_threads(team);
    return absl::OkStatus();
  }

 private:
  static bool IsConv(const StageSpec& s) {
    return s.kind == Kind::kConv || s.kind == Kind::kDepthwise;
  }

  // Every stage's sizes for this call's inputs, checked, and the cache key they make.
  absl::Status GeometryOf(OpKernelContext* ctx, absl::InlinedVector<StageGeometry, 32>* geo,
                          CacheKey* key) const {
    const TensorShape& in = ctx->input(0).shape();
    StageGeometry g;
    g.oh = in.dim_size(1);
    g.ow = in.dim_size(2);
    g.n = in.dim_size(0);
    g.co = in.dim_size(3);
    key->assign(in.dim_sizes().begin(), in.dim_sizes().end());
    for (size_t i = 0; i < specs_.size(); ++i) {
      const StageSpec& spec = specs_[i];
      StageGeometry next;  // Reads the previous stage's result.
      next.n = g.n;
      next.h = g.oh;
      next.w = g.ow;
      next.c = g.co;
      g = next;
      const std::string what = absl::StrCat("stage ", i, "'s filter");
      if (IsConv(spec)) {
        const Tensor& filter = ctx->input(spec.filter);
        DFLOW_RETURN_IF_ERROR(CheckImage(filter, what, kFilterLayout));
        if (filter.dim_size(2) != g.c || filter.NumElements() == 0) {
          return ctx->InvalidArgument(what, " of shape ", filter.shape().DebugString(),
                                      " does not fit its input's ", g.c, " channels");
        }
        g.kh = filter.dim_size(0);
        g.kw = filter.dim_size(1);
        g.co = spec.kind == Kind::kDepthwise ? g.c * filter.dim_size(3) : filter.dim_size(3);
        key->insert(key->end(), {g.kh, g.kw, filter.dim_size(3)});
        if (spec.biased) {
          DFLOW_RETURN_IF_ERROR(CheckBias(ctx->input(spec.bias), g.co, "stage's output"));
        }
      } else {
        g.co = g.c;
        g.kh = spec.kind == Kind::kEltwise ? 1 : spec.window.window_h;
        g.kw = spec.kind == Kind::kEltwise ? 1 : spec.window.window_w;
      }
      conv::Window2D win = spec.window;
      if (spec.kind == Kind::kEltwise) win = conv::Window2D();
      DFLOW_ASSIGN_OR_RETURN(static_cast<WindowedSize2D&>(g),
                             WindowedSize2DOf(win, g.h, g.w, g.kh, g.kw,
                                              IsConv(spec) ? "filter" : "window"));
      geo->push_back(g);
    }
    return absl::OkStatus();
  }

  // When `src` is NHWC, nChw8c or nChw16c: the pooling `spec` of `g` as a loop over that layout
  // into `pool`, and its destination (the same layout).
  static std::optional<memory::desc> LoopPool(const StageGeometry& g, const StageSpec& spec,
                                              const memory::desc& src, BlockedPool* pool) {
    for (const auto& [tag, block] : {std::pair{memory::format_tag::nhwc, int64_t{0}},
                                     std::pair{memory::format_tag::nChw8c, int64_t{8}},
                                     std::pair{memory::format_tag::nChw16c, int64_t{16}}}) {
      if (src != Desc(g.Src(), tag)) continue;
      pool->n = g.n;
      pool->block = block == 0 ? g.c : block;
      pool->blocks = block == 0 ? 1 : (g.c + block - 1) / block;
      pool->h = g.h;
      pool->w = g.w;
      pool->oh = g.oh;
      pool->ow = g.ow;
      pool->window_h = spec.window.window_h;
      pool->window_w = spec.window.window_w;
      pool->stride_h = spec.window.stride_h;
      pool->stride_w = spec.window.stride_w;
      pool->pad_top = g.pad_top;
      pool->pad_left = g.pad_left;
      return Desc(g.Dst(), tag);
    }
    return std::nullopt;
  }

  // The primitives of one input shape (see the file comment).
  std::unique_ptr<Entry> Build(absl::Span<const StageGeometry> geo,
                               const dnnl::engine& eng) const {
    auto e = std::make_unique<Entry>();
    std::vector<Step>& steps = e->steps;
    const auto any = memory::format_tag::any;
    memory::desc cur = Desc(geo[0].Src(), memory::format_tag::nhwc);
    // Primitives that fix their thread count when created (oneDNN's JIT convolutions) are
    // created on the team their step runs on.
    const int team = omp_get_max_threads();
    int current = team;
    auto set_team = [&](int64_t elements) {
      const int wanted = ThreadPolicy::Global().TeamSize(team, elements);
      if (wanted != current) omp_set_num_threads(current = wanted);
    };
    auto reorder_to = [&](const memory::desc& to) {
      if (to == cur) return;
      Step s;
      s.elements = Elements(cur);
      set_team(s.elements);
      s.prim = Primitive(dnnl::reorder::primitive_desc(eng, cur, eng, to, KernelAttr()));
      s.src = memory(cur, eng, nullptr);
      s.dst = memory(to, eng, nullptr);
      steps.push_back(std::move(s));
      cur = to;
    };
    for (size_t i = 0; i < geo.size(); ++i) {
      const StageGeometry& g = geo[i];
      const StageSpec& spec = specs_[i];
      Step s;
      s.stage = static_cast<int>(i);
      s.elements = g.n * g.h * g.w * g.c;
      if (IsConv(spec)) {
        const bool dw = spec.kind == Kind::kDepthwise;
        const memory::dims weights =
            dw ? memory::dims{g.c, g.co / g.c, 1, g.kh, g.kw} : memory::dims{g.co, g.c, g.kh, g.kw};
        s.elements += g.kh * g.kw * g.co * (dw ? 1 : g.c) + (spec.biased ? g.co : 0);
        set_team(s.elements);
        const memory::desc bias = Desc({g.co}, memory::format_tag::a);
        const auto kind = dnnl::prop_kind::forward_inference;
        const auto alg = dnnl::algorithm::convolution_direct;
        dnnl::convolution_forward::primitive_desc pd(
            spec.biased ? dnnl::convolution_forward::desc(
                              kind, alg, Desc(g.Src(), any), Desc(weights, any), bias,
                              Desc(g.Dst(), any), g.Strides(spec.window), g.PadL(), g.PadR())
                        : dnnl::convolution_forward::desc(
                              kind, alg, Desc(g.Src(), any), Desc(weights, any),
                              Desc(g.Dst(), any), g.Strides(spec.window), g.PadL(), g.PadR()),
            KernelAttr(PostOpsAttr(spec.post)), eng);
        reorder_to(pd.src_desc());
        set_team(s.elements);
        s.prim = Primitive(pd);
        s.bias = memory(bias, eng, nullptr);
        s.weights.Init(Desc(weights, dw ? memory::format_tag::hwigo : memory::format_tag::hwio),
                       pd.weights_desc(), eng, /*into_primitive=*/true);
        s.dst = memory(pd.dst_desc(), eng, nullptr);
      } else if (spec.kind == Kind::kEltwise) {
        set_team(s.elements);
        dnnl::eltwise_forward::primitive_desc pd(
            dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_inference, spec.eltwise.alg, cur,
                                        spec.eltwise.alpha, spec.eltwise.beta),
            KernelAttr(), eng);
        s.prim = Primitive(pd);
        s.dst = memory(pd.dst_desc(), eng, nullptr);
      } else if (std::optional<memory::desc> dst = LoopPool(g, spec, cur, &s.pool)) {
        s.loop = true;
        s.dst = memory(*dst, eng, nullptr);
      } else {
        set_team(s.elements);
        dnnl::pooling_forward::primitive_desc pd(
            dnnl::pooling_forward::desc(
                dnnl::prop_kind::forward_inference,
                spec.kind == Kind::kMaxPool ? dnnl::algorithm::pooling_max
                                            : dnnl::algorithm::pooling_avg_exclude_padding,
                cur, Desc(g.Dst(), any), g.Strides(spec.window),
                {spec.window.window_h, spec.window.window_w}, g.PadL(), g.PadR()),
            KernelAttr(), eng);
        s.prim = Primitive(pd);
        s.dst = memory(pd.dst_desc(), eng, nullptr);
      }
      s.src = memory(cur, eng, nullptr);
      cur = s.dst.get_desc();
      steps.push_back(std::move(s));
    }
    reorder_to(Desc(geo.back().Dst(), memory::format_tag::nhwc));
    // Step k reads step k - 1's result; results alternate between the two buffers.
    size_t largest = 64;
    for (size_t k = 0; k < steps.size(); ++k) {
      steps[k].in = k == 0 ? kInput : steps[k - 1].out;
      steps[k].out = k + 1 == steps.size() ? kOutput : static_cast<int>(k % 2);
      if (k + 1 < steps.size()) largest = std::max(largest, steps[k].dst.get_desc().get_size());
    }
    for (memory& b : e->buffers) {
      b = memory(memory::desc({static_cast<memory::dim>(largest)}, memory::data_type::u8,
                              memory::format_tag::a),
                 eng);
    }
    if (current != team) omp_set_num_threads(team);
    return e;
  }

  std::vector<StageSpec> specs_;
  int num_inputs_ = 1;
  std::atomic<int64_t> largest_image_{0};  // The last call's largest stage input.
  ShapeCache<Entry> cache_;
};
REGISTER_KERNEL("_DflowConvTrunk", ConvTrunkOp, "T", {DT_FLOAT});

}  // namespace
}  // namespace dflow
