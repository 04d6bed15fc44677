// Kernels for variables: VariableV2, Assign, AssignAdd, AssignSub, ApplyGradientDescent,
// ApplyAdam, ApplyMomentum. Every in-place update copies the variable first when its buffer is
// shared (copy on write), so a tensor read or fetched earlier keeps its values.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <memory>
#include <mutex>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

#include "absl/base/casts.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "kernels/dnnl_util.h"
#include "kernels/loops.h"
#include "kernels/op_kernel.h"

namespace dflow {
namespace {

class VariableOp : public OpKernel {
 public:
  explicit VariableOp(const Node& node) : OpKernel(node), var_(node) {}
  absl::Status Compute(OpKernelContext* ctx) override {
    ctx->set_output_ref(0, var_.Get(ctx->variables()));
    return absl::OkStatus();
  }

 private:
  VariableLookup var_;
};
REGISTER_KERNEL("VariableV2", VariableOp);

class AssignOp : public OpKernel {
 public:
  explicit AssignOp(const Node& node) : OpKernel(node) {
    GetAttr(node.attrs(), "validate_shape", &validate_shape_).IgnoreError();
    declared_ = node.input(0).shape();
  }
  absl::Status Compute(OpKernelContext* ctx) override {
    Variable* var = ctx->ref_input(0);
    const Tensor& value = ctx->input(1);
    if (validate_shape_ && !declared_.IsCompatibleWith(value.shape())) {
      return ctx->InvalidArgument("cannot assign a value of shape ", value.shape().DebugString(),
                                  " to variable ", var->name, " of shape ",
                                  declared_.DebugString());
    }
    {
      std::lock_guard<VariableMutex> lock(var->mu);
      if (validate_shape_ && var->value.IsInitialized() && var->value.shape() != value.shape()) {
        return ctx->InvalidArgument("cannot assign a value of shape ",
                                    value.shape().DebugString(), " to variable ", var->name,
                                    " holding shape ", var->value.shape().DebugString());
      }
      if (var->value.IsInitialized() && var->value.dtype() == value.dtype() &&
          var->value.shape() == value.shape() && var->value.BufferIsExclusive()) {
        // Nobody else sees the old value: overwrite it rather than allocate.
        if (value.dtype() == DT_STRING) {  // Objects, not bytes (TotalBytes is 0 for strings).
          std::copy_n(value.flat<std::string>().data(), value.NumElements(),
                      var->value.flat<std::string>().data());
        } else if (value.TotalBytes() > 0) {
          std::memcpy(var->value.data(), value.data(), value.TotalBytes());
        }
      } else {
        // A private copy: the value's buffer may be shared with other tensors.
        var->value = value.DeepCopy();
      }
    }
    ctx->set_output_ref(0, var);
    return absl::OkStatus();
  }

 private:
  bool validate_shape_ = true;
  PartialTensorShape declared_;
};
REGISTER_KERNEL("Assign", AssignOp);

// var += (-alpha) * delta in place: a loop (kernels/loops.h) for variables of up to 64K
// elements, else one oneDNN binary add with
// the rate baked in as a scale on delta. A rate that keeps changing (a decay schedule) would build a primitive per step, so
// after kMaxBakedRates rates the kernel multiplies delta by a run-time -alpha instead, with a
// sum post-op adding the variable (on AVX2-only CPUs oneDNN 2.6 runs that form 5x slower).
class ApplyGradientDescentOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    Variable* var = ctx->ref_input(0);
    const Tensor& alpha = ctx->input(1);
    const Tensor& delta = ctx->input(2);
    if (alpha.NumElements() != 1 || alpha.dims() != 0) {
      return ctx->InvalidArgument("alpha must be a scalar, got shape ",
                                  alpha.shape().DebugString());
    }
    std::lock_guard<VariableMutex> lock(var->mu);
    if (!var->value.IsInitialized()) return UninitializedError(*var);
    if (var->value.shape() != delta.shape()) {
      return ctx->InvalidArgument("delta of shape ", delta.shape().DebugString(),
                                  " does not match variable ", var->name, " of shape ",
                                  var->value.shape().DebugString());
    }
    // Copy on write: a tensor fetched earlier (or read in this run) keeps its values.
    if (!var->value.BufferIsExclusive()) var->value = var->value.DeepCopy();
    ctx->set_output_ref(0, var);
    if (delta.NumElements() == 0) return absl::OkStatus();
    const float scale = -alpha.scalar<float>();
    if (delta.NumElements() <= kLoopMaxUpdate) {
      ScaledAddInPlace(static_cast<float*>(var->value.data()),
                       static_cast<const float*>(delta.data()), delta.NumElements(), scale);
      return absl::OkStatus();
    }
    CacheKey key = ShapeKey({&delta.shape()});
    const bool baked = baked_rates_.load(std::memory_order_relaxed) < kMaxBakedRates;
    if (baked) key.push_back(absl::bit_cast<int32_t>(scale));
    ShapeCache<Step>::Lease step = steps_.Get(key, [&] {
      std::unique_ptr<Step> made = baked ? BakedStep(delta.shape(), scale, ctx->engine())
                                         : RunTimeStep(delta.shape(), ctx->engine());
      // Concurrent runs that build a rate's step at once count it twice: a switch a bit early.
      baked_rates_.fetch_add(baked, std::memory_order_relaxed);
      return made;
    });
    if (baked) {
      RunPrimitive(step->update, ctx->stream(),
                   {{DNNL_ARG_SRC_0, step->var, var->value.data()},
                    {DNNL_ARG_SRC_1, step->delta, delta.data()},
                    {DNNL_ARG_DST, step->var, nullptr}});
    } else {
      step->scale_value = scale;
      RunPrimitive(step->update, ctx->stream(),
                   {{DNNL_ARG_SRC_0, step->delta, delta.data()},
                    {DNNL_ARG_SRC_1, step->scale, &step->scale_value},
                    {DNNL_ARG_DST, step->var, var->value.data()}});
    }
    return absl::OkStatus();
  }

 private:
  static constexpr int kMaxBakedRates = 8;
  // Up to here (256 KiB) one thread's loop beats a primitive call; larger ones use oneDNN's
  // threads.
  static constexpr int64_t kLoopMaxUpdate = int64_t{1} << 16;
  struct Step {
    Primitive update;
    dnnl::memory var, delta, scale;
    float scale_value = 0.0f;  // The run-time step reads this call's rate from here.
  };

  // var + scale * delta -> var.
  static std::unique_ptr<Step> BakedStep(const TensorShape& shape, float scale,
                                         const dnnl::engine& engine) {
    const auto md = PlainDesc(shape, dnnl::memory::data_type::f32);
    dnnl::primitive_attr attr;
    attr.set_scales(DNNL_ARG_SRC_1, 0, {scale});
    dnnl::binary::primitive_desc pd(
        dnnl::binary::desc(dnnl::algorithm::binary_add, md, md, md), KernelAttr(attr), engine);
    auto step = std::make_unique<Step>();
    step->update = Primitive(pd);
    step->var = dnnl::memory(md, engine, nullptr);
    step->delta = dnnl::memory(md, engine, nullptr);
    return step;
  }

  // delta * scale (a broadcast [1, ...] input) + var -> var.
  static std::unique_ptr<Step> RunTimeStep(const TensorShape& shape, const dnnl::engine& engine) {
    const auto f32 = dnnl::memory::data_type::f32;
    const auto md = PlainDesc(shape, f32);
    const auto scale_md = PlainDesc(TensorShape(), f32, md.dims().size());
    dnnl::post_ops ops;
    ops.append_sum(1.0f);
    dnnl::primitive_attr attr;
    attr.set_post_ops(ops);
    dnnl::binary::primitive_desc pd(
        dnnl::binary::desc(dnnl::algorithm::binary_mul, md, scale_md, md), KernelAttr(attr),
        engine);
    auto step = std::make_unique<Step>();
    step->update = Primitive(pd);
    step->var = dnnl::memory(md, engine, nullptr);
    step->delta = dnnl::memory(md, engine, nullptr);
    step->scale = dnnl::memory(scale_md, engine, nullptr);
    return step;
  }

  std::atomic<int> baked_rates_{0};
  ShapeCache<Step> steps_;
};
REGISTER_KERNEL("ApplyGradientDescent", ApplyGradientDescentOp, "T", {DT_FLOAT});

// ---------------------------------------------------------------------------------------------
// Helpers for the in-place updates below.

// Locks distinct variables in address order (so that concurrent runs updating overlapping sets
// cannot deadlock) and unlocks them on destruction.
// An optimizer's variables (inline: updates run every step and must not allocate).
using VariableList = absl::InlinedVector<Variable*, 4>;

class VariableLocks {
 public:
  explicit VariableLocks(VariableList vars) : vars_(std::move(vars)) {
    std::sort(vars_.begin(), vars_.end());
    for (Variable* v : vars_) v->mu.lock();
  }
  ~VariableLocks() {
    for (auto it = vars_.rbegin(); it != vars_.rend(); ++it) (*it)->mu.unlock();
  }
  VariableLocks(const VariableLocks&) = delete;
  VariableLocks& operator=(const VariableLocks&) = delete;

 private:
  VariableList vars_;
};

// The variables of ref inputs 0..count-1 (named `names` in errors), which must be distinct.
absl::StatusOr<VariableList> DistinctRefs(OpKernelContext* ctx, int count,
                                          const char* const* names) {
  VariableList vars;
  for (int i = 0; i < count; ++i) {
    Variable* v = ctx->ref_input(i);
    if (v == nullptr) return ctx->InvalidArgument(names[i], " is not a variable reference");
    for (int j = 0; j < i; ++j) {
      if (vars[j] == v) {
        return ctx->InvalidArgument(names[j], " and ", names[i], " are the same variable ",
                                    v->name, "; they must be distinct");
      }
    }
    vars.push_back(v);
  }
  return vars;
}

// Checks (under its lock) that `var` holds a float tensor of `shape`, and makes its buffer
// exclusive (copy on write).
absl::Status PrepareForUpdate(OpKernelContext* ctx, Variable* var, const char* what,
                              const Tensor& grad) {
  if (!var->value.IsInitialized()) return UninitializedError(*var);
  if (var->value.dtype() != DT_FLOAT) {
    return ctx->InvalidArgument(what, " ", var->name, " holds ",
                                DataTypeString(var->value.dtype()), ", not float");
  }
  if (var->value.shape() != grad.shape()) {
    return ctx->InvalidArgument("grad of shape ", grad.shape().DebugString(), " does not match ",
                                what, " ", var->name, " of shape ",
                                var->value.shape().DebugString());
  }
  if (!var->value.BufferIsExclusive()) var->value = var->value.DeepCopy();
  return absl::OkStatus();
}

// The float value of scalar input `i`, named `what` in errors.
absl::StatusOr<float> ScalarInput(OpKernelContext* ctx, int i, const char* what) {
  const Tensor& t = ctx->input(i);
  if (!t.IsInitialized()) return ctx->InvalidArgument(what, " has no value");
  if (t.dtype() != DT_FLOAT || t.dims() != 0) {
    return ctx->InvalidArgument(what, " must be a float scalar, got ", DataTypeString(t.dtype()),
                                " of shape ", t.shape().DebugString());
  }
  return t.scalar<float>();
}

uint32_t FloatBits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof(bits));
  return bits;
}

// dst = scale0 * src0 + scale1 * src1 as one oneDNN binary add (in place when dst is src0),
// primitives cached per (element count, scales).
class ScaledAdd {
 public:
  void Run(OpKernelContext* ctx, int64_t n, const float* src0, float scale0, const float* src1,
           float scale1, float* dst) {
    if (n == 0) return;
    const CacheKey key = {n, FloatBits(scale0), FloatBits(scale1)};
    ShapeCache<Entry>::Lease e = cache_.Get(key, [&] {
      const dnnl::memory::desc md({n}, dnnl::memory::data_type::f32, dnnl::memory::dims{1});
      dnnl::primitive_attr attr;
      if (scale0 != 1.0f) attr.set_scales(DNNL_ARG_SRC_0, 0, {scale0});
      if (scale1 != 1.0f) attr.set_scales(DNNL_ARG_SRC_1, 0, {scale1});
      dnnl::binary::primitive_desc pd(
          dnnl::binary::desc(dnnl::algorithm::binary_add, md, md, md), KernelAttr(attr),
          ctx->engine());
      auto entry = std::make_unique<Entry>();
      entry->prim = Primitive(pd);
      entry->src0 = dnnl::memory(md, ctx->engine(), nullptr);
      entry->src1 = dnnl::memory(md, ctx->engine(), nullptr);
      entry->dst = dnnl::memory(md, ctx->engine(), nullptr);
      return entry;
    });
    RunPrimitive(e->prim, ctx->stream(),
                 {{DNNL_ARG_SRC_0, e->src0, src0},
                  {DNNL_ARG_SRC_1, e->src1, src1},
                  {DNNL_ARG_DST, e->dst, dst}});
  }

 private:
  struct Entry {
    Primitive prim;
    dnnl::memory src0, src1, dst;
  };
  ShapeCache<Entry> cache_;
};

// ---------------------------------------------------------------------------------------------
// AssignAdd / AssignSub: ref += value (ref -= value) in place. Float on a oneDNN binary add
// with a scale of -1 on value for Sub; integers in a loop that wraps around.

template <bool kSub>
class AssignUpdateOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) override {
    Variable* var = ctx->ref_input(0);
    const Tensor& value = ctx->input(1);
    if (var == nullptr) return ctx->InvalidArgument("ref is not a variable reference");
    if (!value.IsInitialized()) return ctx->InvalidArgument("value has no value");
    std::lock_guard<VariableMutex> lock(var->mu);
    if (!var->value.IsInitialized()) return UninitializedError(*var);
    if (var->value.dtype() != value.dtype()) {
      return ctx->InvalidArgument("value of type ", DataTypeString(value.dtype()),
                                  " does not match variable ", var->name, " of type ",
                                  DataTypeString(var->value.dtype()));
    }
    if (var->value.shape() != value.shape()) {
      return ctx->InvalidArgument("value of shape ", value.shape().DebugString(),
                                  " does not match variable ", var->name, " of shape ",
                                  var->value.shape().DebugString());
    }
    if (!var->value.BufferIsExclusive()) var->value = var->value.DeepCopy();
    const int64_t n = value.NumElements();
    switch (value.dtype()) {
      case DT_FLOAT:
        add_.Run(ctx, n, var->value.flat<float>().data(), 1.0f, value.flat<float>().data(),
                 kSub ? -1.0f : 1.0f, var->value.flat<float>().data());
        break;
      case DT_INT32: Loop<int32_t>(value, &var->value); break;
      case DT_INT64: Loop<int64_t>(value, &var->value); break;
      default:
        return ctx->InvalidArgument("unsupported type ", DataTypeString(value.dtype()));
    }
    ctx->set_output_ref(0, var);
    return absl::OkStatus();
  }

 private:
  template <typename T>
  static void Loop(const Tensor& value, Tensor* var) {
    using U = std::make_unsigned_t<T>;
    const T* pv = value.flat<T>().data();
    T* po = var->flat<T>().data();
    for (int64_t i = 0; i < value.NumElements(); ++i) {
      po[i] = static_cast<T>(kSub ? static_cast<U>(po[i]) - static_cast<U>(pv[i])
                                  : static_cast<U>(po[i]) + static_cast<U>(pv[i]));
    }
  }

  ScaledAdd add_;
};
REGISTER_KERNEL("AssignAdd", AssignUpdateOp<false>, "T", {DT_FLOAT, DT_INT32, DT_INT64});
REGISTER_KERNEL("AssignSub", AssignUpdateOp<true>, "T", {DT_FLOAT, DT_INT32, DT_INT64});

// ---------------------------------------------------------------------------------------------
// ApplyAdam: one fused element-wise loop over var, m, v and grad. oneDNN has no Adam primitive,
// and a chain of binary/eltwise primitives would need temporaries and six passes over memory
// where this makes one. Four lanes at a time with SSE2 (every x86-64 CPU has it), in the same
// operation order as the scalar loop, so the results are the same either way.

// m = beta1 m + (1 - beta1) g; v = beta2 v + (1 - beta2) g^2;
// var -= lr_t d / (sqrt(v) + epsilon) with d = m, or beta1 m + (1 - beta1) g (Nesterov).
void AdamUpdate(int64_t n, const float* g, float beta1, float beta2, float lr_t, float epsilon,
                bool nesterov, float* var, float* m, float* v) {
  const float c1 = 1.0f - beta1, c2 = 1.0f - beta2;
  int64_t i = 0;
#if defined(__SSE2__)
  const __m128 b1 = _mm_set1_ps(beta1), b2 = _mm_set1_ps(beta2);
  const __m128 c1v = _mm_set1_ps(c1), c2v = _mm_set1_ps(c2);
  const __m128 lr = _mm_set1_ps(lr_t), eps = _mm_set1_ps(epsilon);
  for (; i + 4 <= n; i += 4) {
    const __m128 gi = _mm_loadu_ps(g + i);
    const __m128 mi = _mm_add_ps(_mm_mul_ps(b1, _mm_loadu_ps(m + i)), _mm_mul_ps(c1v, gi));
    const __m128 vi =
        _mm_add_ps(_mm_mul_ps(b2, _mm_loadu_ps(v + i)), _mm_mul_ps(c2v, _mm_mul_ps(gi, gi)));
    _mm_storeu_ps(m + i, mi);
    _mm_storeu_ps(v + i, vi);
    const __m128 d = nesterov ? _mm_add_ps(_mm_mul_ps(b1, mi), _mm_mul_ps(c1v, gi)) : mi;
    const __m128 step = _mm_div_ps(_mm_mul_ps(lr, d), _mm_add_ps(_mm_sqrt_ps(vi), eps));
    _mm_storeu_ps(var + i, _mm_sub_ps(_mm_loadu_ps(var + i), step));
  }
#endif
  for (; i < n; ++i) {
    const float mi = beta1 * m[i] + c1 * g[i];
    const float vi = beta2 * v[i] + c2 * (g[i] * g[i]);
    m[i] = mi;
    v[i] = vi;
    const float d = nesterov ? beta1 * mi + c1 * g[i] : mi;
    var[i] = var[i] - lr_t * d / (std::sqrt(vi) + epsilon);
  }
}

class ApplyAdamOp : public OpKernel {
 public:
  explicit ApplyAdamOp(const Node& node) : OpKernel(node) {
    absl::Status s = GetNodeAttr(node, "use_nesterov", &use_nesterov_);
    if (!s.ok()) SetConstructionError(s);
  }

  absl::Status Compute(OpKernelContext* ctx) override {
    static constexpr const char* kNames[] = {"var", "m", "v"};
    DFLOW_ASSIGN_OR_RETURN(VariableList vars, DistinctRefs(ctx, 3, kNames));
    float scalars[6];
    static constexpr const char* kScalars[] = {"beta1_power", "beta2_power", "lr",
                                               "beta1",       "beta2",       "epsilon"};
    for (int i = 0; i < 6; ++i) {
      DFLOW_ASSIGN_OR_RETURN(float v, ScalarInput(ctx, 3 + i, kScalars[i]));
      scalars[i] = v;
    }
    const float beta1_power = scalars[0], beta2_power = scalars[1], lr = scalars[2];
    const float beta1 = scalars[3], beta2 = scalars[4], epsilon = scalars[5];
    const Tensor& grad = ctx->input(9);
    if (!grad.IsInitialized() || grad.dtype() != DT_FLOAT) {
      return ctx->InvalidArgument("grad must be a float tensor");
    }
    VariableLocks locks(vars);
    for (int i = 0; i < 3; ++i) {
      DFLOW_RETURN_IF_ERROR(PrepareForUpdate(ctx, vars[i], kNames[i], grad));
    }
    const float lr_t = lr * std::sqrt(1.0f - beta2_power) / (1.0f - beta1_power);
    AdamUpdate(grad.NumElements(), grad.flat<float>().data(), beta1, beta2, lr_t, epsilon,
               use_nesterov_, vars[0]->value.flat<float>().data(),
               vars[1]->value.flat<float>().data(), vars[2]->value.flat<float>().data());
    ctx->set_output_ref(0, vars[0]);
    return absl::OkStatus();
  }

 private:
  bool use_nesterov_ = false;
};
REGISTER_KERNEL("ApplyAdam", ApplyAdamOp, "T", {DT_FLOAT});

// ---------------------------------------------------------------------------------------------
// ApplyMomentum: oneDNN binary adds with scales, in place:
//   accum = momentum * accum + grad
//   var = var + (-lr) * accum                        (plain)
//   var = var + (-lr) * grad; var = var + (-lr * momentum) * accum   (Nesterov)

class ApplyMomentumOp : public OpKernel {
 public:
  explicit ApplyMomentumOp(const Node& node) : OpKernel(node) {
    absl::Status s = GetNodeAttr(node, "use_nesterov", &use_nesterov_);
    if (!s.ok()) SetConstructionError(s);
  }

  absl::Status Compute(OpKernelContext* ctx) override {
    static constexpr const char* kNames[] = {"var", "accum"};
    DFLOW_ASSIGN_OR_RETURN(VariableList vars, DistinctRefs(ctx, 2, kNames));
    DFLOW_ASSIGN_OR_RETURN(float lr, ScalarInput(ctx, 2, "lr"));
    DFLOW_ASSIGN_OR_RETURN(float momentum, ScalarInput(ctx, 4, "momentum"));
    const Tensor& grad = ctx->input(3);
    if (!grad.IsInitialized() || grad.dtype() != DT_FLOAT) {
      return ctx->InvalidArgument("grad must be a float tensor");
    }
    VariableLocks locks(vars);
    for (int i = 0; i < 2; ++i) {
      DFLOW_RETURN_IF_ERROR(PrepareForUpdate(ctx, vars[i], kNames[i], grad));
    }
    float* var = vars[0]->value.flat<float>().data();
    float* accum = vars[1]->value.flat<float>().data();
    const float* g = grad.flat<float>().data();
    const int64_t n = grad.NumElements();
    accum_update_.Run(ctx, n, accum, momentum, g, 1.0f, accum);
    if (use_nesterov_) {
      var_update_.Run(ctx, n, var, 1.0f, g, -lr, var);
      nesterov_update_.Run(ctx, n, var, 1.0f, accum, -lr * momentum, var);
    } else {
      var_update_.Run(ctx, n, var, 1.0f, accum, -lr, var);
    }
    ctx->set_output_ref(0, vars[0]);
    return absl::OkStatus();
  }

 private:
  bool use_nesterov_ = false;
  ScaledAdd accum_update_, var_update_, nesterov_update_;
};
REGISTER_KERNEL("ApplyMomentum", ApplyMomentumOp, "T", {DT_FLOAT});

}  // namespace
}  // namespace dflow
