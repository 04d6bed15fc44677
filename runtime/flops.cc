#include "runtime/flops.h"

#include "graph/attr_value_util.h"

namespace dflow {
namespace {

// Input i as a plain tensor, or nullptr (a variable's ref, or an input that is not there).
const Tensor* PlainInput(absl::Span<TensorValue* const> inputs, int i) {
  if (i >= static_cast<int>(inputs.size()) || inputs[i] == nullptr || inputs[i]->ref != nullptr ||
      !inputs[i]->tensor.IsInitialized()) {
    return nullptr;
  }
  return &inputs[i]->tensor;
}

bool BoolAttr(const Node& node, const char* name) {
  bool value = false;
  GetAttr(node.attrs(), name, &value).IgnoreError();
  return value;
}

// 2 x the multiply-adds of op(a) op(b) for 2-D a and b.
int64_t MatMulFlops(const Node& node, const Tensor* a, const Tensor* b) {
  if (a == nullptr || b == nullptr || a->dims() != 2 || b->dims() != 2) return 0;
  const bool ta = BoolAttr(node, "transpose_a"), tb = BoolAttr(node, "transpose_b");
  return 2 * a->dim_size(ta ? 1 : 0) * a->dim_size(ta ? 0 : 1) * b->dim_size(tb ? 0 : 1);
}

}  // namespace

int64_t NodeFlops(const Node& node, absl::Span<TensorValue* const> inputs,
                  absl::Span<const TensorValue> outputs) {
  const std::string& op = node.op();
  const Tensor* out = !outputs.empty() && outputs[0].ref == nullptr &&
                              outputs[0].tensor.IsInitialized()
                          ? &outputs[0].tensor
                          : nullptr;
  const Tensor* filter = PlainInput(inputs, 1);
  if (op == "Conv2D" || op == "_FusedConv2D") {
    // Each output value sums kh x kw x in_channels products.
    if (out == nullptr || filter == nullptr || filter->dims() != 4) return 0;
    return 2 * out->NumElements() * filter->dim_size(0) * filter->dim_size(1) *
           filter->dim_size(2);
  }
  if (op == "DepthwiseConv2dNative" || op == "_FusedDepthwiseConv2dNative") {
    if (out == nullptr || filter == nullptr || filter->dims() != 4) return 0;
    return 2 * out->NumElements() * filter->dim_size(0) * filter->dim_size(1);
  }
  if (op == "Conv2DBackpropInput") {
    // Each value of out_backprop (input 2) spreads over kh x kw x in_channels outputs.
    const Tensor* dy = PlainInput(inputs, 2);
    if (dy == nullptr || filter == nullptr || filter->dims() != 4) return 0;
    return 2 * dy->NumElements() * filter->dim_size(0) * filter->dim_size(1) *
           filter->dim_size(2);
  }
  if (op == "MatMul" || op == "_FusedMatMul") {
    return MatMulFlops(node, PlainInput(inputs, 0), PlainInput(inputs, 1));
  }
  if (op == "_ApplyGradientDescentMatMul") {
    return MatMulFlops(node, PlainInput(inputs, 2), PlainInput(inputs, 3));
  }
  if (op == "BatchMatMul" || op == "BatchMatMulV2") {
    const Tensor* x = PlainInput(inputs, 0);
    if (out == nullptr || x == nullptr || x->dims() < 2) return 0;
    const int64_t k = x->dim_size(x->dims() - (BoolAttr(node, "adj_x") ? 2 : 1));
    return 2 * out->NumElements() * k;
  }
  return 0;
}

}  // namespace dflow
