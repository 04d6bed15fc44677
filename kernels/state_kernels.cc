// Kernels for variables: VariableV2, Assign, ApplyGradientDescent.
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "kernels/dnnl_util.h"
#include "kernels/op_kernel.h"

namespace dflow {
namespace {

absl::Status Uninitialized(const Variable& var) {
  return absl::FailedPreconditionError(
      absl::StrCat("Attempting to use uninitialized variable ", var.name));
}

class VariableOp : public OpKernel {
 public:
  explicit VariableOp(const Node& node) : OpKernel(node) {
    std::string shared_name;
    GetAttr(node.attrs(), "shared_name", &shared_name).IgnoreError();
    name_ = shared_name.empty() ? node.name() : shared_name;
  }
  absl::Status Compute(OpKernelContext* ctx) override {
    if (var_ == nullptr) var_ = ctx->variables()->LookupOrCreate(name_);
    ctx->set_output_ref(0, var_);
    return absl::OkStatus();
  }

 private:
  std::string name_;
  Variable* var_ = nullptr;
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
      absl::MutexLock lock(&var->mu);
      if (validate_shape_ && var->value.IsInitialized() && var->value.shape() != value.shape()) {
        return ctx->InvalidArgument("cannot assign a value of shape ",
                                    value.shape().DebugString(), " to variable ", var->name,
                                    " holding shape ", var->value.shape().DebugString());
      }
      // A private copy: the value's buffer may be shared with other tensors.
      var->value = value.DeepCopy();
    }
    ctx->set_output_ref(0, var);
    return absl::OkStatus();
  }

 private:
  bool validate_shape_ = true;
  PartialTensorShape declared_;
};
REGISTER_KERNEL("Assign", AssignOp);

// var += (-alpha) * delta as one oneDNN binary add with a scale on delta, in place.
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
    absl::MutexLock lock(&var->mu);
    if (!var->value.IsInitialized()) return Uninitialized(*var);
    if (var->value.shape() != delta.shape()) {
      return ctx->InvalidArgument("delta of shape ", delta.shape().DebugString(),
                                  " does not match variable ", var->name, " of shape ",
                                  var->value.shape().DebugString());
    }
    // Copy on write: a tensor fetched earlier (or read in this run) keeps its values.
    if (!var->value.BufferIsExclusive()) var->value = var->value.DeepCopy();
    if (delta.NumElements() == 0) {
      ctx->set_output_ref(0, var);
      return absl::OkStatus();
    }
    const float scale = -alpha.scalar<float>();
    Step& step = StepFor(delta.shape(), scale, ctx->engine());
    step.var_mem.set_data_handle(var->value.data());
    step.delta_mem.set_data_handle(const_cast<void*>(delta.data()));
    step.add.execute(ctx->stream(), {{DNNL_ARG_SRC_0, step.var_mem},
                                     {DNNL_ARG_SRC_1, step.delta_mem},
                                     {DNNL_ARG_DST, step.var_mem}});
    ctx->stream().wait();
    ctx->set_output_ref(0, var);
    return absl::OkStatus();
  }

 private:
  struct Step {
    dnnl::binary add;
    dnnl::memory var_mem, delta_mem;
  };

  // One primitive per (shape, learning rate); the rate is baked in as a scale.
  Step& StepFor(const TensorShape& shape, float scale, const dnnl::engine& engine) {
    auto key = std::make_pair(shape.DebugString(), scale);
    auto it = steps_.find(key);
    if (it != steps_.end()) return it->second;
    const auto md = PlainDesc(shape, dnnl::memory::data_type::f32);
    dnnl::primitive_attr attr;
    attr.set_scales(DNNL_ARG_SRC_1, 0, {scale});
    dnnl::binary::primitive_desc pd(
        dnnl::binary::desc(dnnl::algorithm::binary_add, md, md, md), attr, engine);
    Step step{dnnl::binary(pd), dnnl::memory(md, engine, nullptr),
              dnnl::memory(md, engine, nullptr)};
    return steps_.emplace(key, std::move(step)).first->second;
  }

  std::map<std::pair<std::string, float>, Step> steps_;
};
REGISTER_KERNEL("ApplyGradientDescent", ApplyGradientDescentOp, "T", {DT_FLOAT});

}  // namespace
}  // namespace dflow
