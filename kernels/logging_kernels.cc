// Kernels for logging ops: Assert, whose message prints its data (numbers or strings) as
// TensorFlow's Tensor::SummarizeValue does.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "graph/attr_value_util.h"
#include "graph/status_macros.h"
#include "kernels/op_kernel.h"

namespace dflow {
namespace {

// The shortest of %.{short}g and %.{long}g that reads back as `v` (TensorFlow's FloatToBuffer).
template <typename T>
std::string FormatFloat(T v, int short_digits, int long_digits) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*g", short_digits, static_cast<double>(v));
  if (static_cast<T>(std::strtod(buf, nullptr)) != v) {
    std::snprintf(buf, sizeof(buf), "%.*g", long_digits, static_cast<double>(v));
  }
  return buf;
}

std::string FormatElement(float v) { return FormatFloat(v, 6, 9); }
std::string FormatElement(double v) { return FormatFloat(v, 15, 17); }
std::string FormatElement(bool v) { return v ? "1" : "0"; }
std::string FormatElement(uint8_t v) { return absl::StrCat(static_cast<int>(v)); }
std::string FormatElement(const std::string& v) { return absl::Utf8SafeCEscape(v); }
template <typename T>
std::string FormatElement(T v) {
  return absl::StrCat(v);
}

// One dimension of the nested "[a b] [c d]" form, stopping after `limit` elements.
template <typename T>
void PrintDim(int dim, const TensorShape& shape, int64_t limit, const T* data, int64_t* next,
              std::string* out) {
  if (*next >= limit) return;
  const int64_t size = shape.dim_size(dim);
  if (dim == shape.dims() - 1) {
    for (int64_t i = 0; i < size; ++i) {
      if (*next >= limit) {
        if (dim != 0) absl::StrAppend(out, "...");
        return;
      }
      if (i > 0) absl::StrAppend(out, " ");
      absl::StrAppend(out, FormatElement(data[(*next)++]));
    }
    return;
  }
  for (int64_t i = 0; i < size; ++i) {
    const bool opened = *next < limit;
    if (opened) absl::StrAppend(out, "[");
    PrintDim(dim + 1, shape, limit, data, next, out);
    if (*next < limit || opened) absl::StrAppend(out, "]");
  }
}

// The first `max_entries` values (all when negative), as TensorFlow's SummarizeValue prints them.
std::string Summarize(const Tensor& t, int64_t max_entries) {
  const int64_t n = t.NumElements();
  const int64_t limit = max_entries < 0 ? n : std::min(max_entries, n);
  std::string out;
  auto print = [&](auto zero) {
    using T = decltype(zero);
    const T* data = t.flat<T>().data();
    if (t.dims() == 0) {
      for (int64_t i = 0; i < limit; ++i) {
        if (i > 0) absl::StrAppend(&out, " ");
        absl::StrAppend(&out, FormatElement(data[i]));
      }
    } else {
      int64_t next = 0;
      PrintDim(0, t.shape(), limit, data, &next, &out);
    }
  };
  if (t.dtype() == DT_STRING) {
    print(std::string());
  } else {
    VisitDataType(t.dtype(), print);
  }
  if (n > limit) absl::StrAppend(&out, "...");
  return out;
}

class AssertOp : public OpKernel {
 public:
  explicit AssertOp(const Node& node) : OpKernel(node) {
    absl::Status s = GetAttr(node.attrs(), "summarize", &summarize_);
    if (!s.ok()) SetConstructionError(s);
  }
  absl::Status Compute(OpKernelContext* ctx) override {
    const Tensor& cond = ctx->input(0);
    DFLOW_RETURN_IF_ERROR(CheckInput(cond, "condition", DT_BOOL));
    if (cond.dims() > 1 || cond.NumElements() != 1) {  // [1] is TensorFlow 1.x's legacy scalar.
      return absl::InvalidArgumentError(
          absl::StrCat("In[0] should be a scalar: ", cond.shape().DebugString()));
    }
    if (cond.flat<bool>()[0]) return absl::OkStatus();
    std::string message = "assertion failed: ";
    for (int i = 1; i < ctx->num_inputs(); ++i) {
      absl::StrAppend(&message, i > 1 ? " [" : "[", Summarize(ctx->input(i), summarize_), "]");
    }
    return absl::InvalidArgumentError(message);
  }

 private:
  int64_t summarize_ = 3;
};
REGISTER_KERNEL("Assert", AssertOp);

}  // namespace
}  // namespace dflow
