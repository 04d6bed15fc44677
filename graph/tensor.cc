#include "graph/tensor.h"

#include <cstdlib>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "graph/buffer_pool.h"
#include "graph/status_macros.h"

namespace dflow {

size_t Tensor::Buffer::RoundedSize(size_t bytes) {
  // aligned_alloc needs a size that is a multiple of the alignment; never zero.
  const size_t rounded = ((bytes + kAlignment - 1) / kAlignment) * kAlignment;
  return rounded == 0 ? kAlignment : rounded;
}

Tensor::Buffer::Buffer(size_t bytes) : capacity(RoundedSize(bytes)) {
  data = std::aligned_alloc(kAlignment, capacity);
}

Tensor::Buffer::~Buffer() { std::free(data); }

Tensor::Tensor(DataType dtype, const TensorShape& shape) : Tensor(dtype, shape, nullptr) {}

Tensor::Tensor(DataType dtype, const TensorShape& shape, BufferPool* pool)
    : dtype_(dtype), shape_(shape), num_elements_(shape.num_elements()) {
  assert(DataTypeSize(dtype) > 0);
  buffer_ = pool != nullptr ? pool->Get(TotalBytes()) : std::make_shared<Buffer>(TotalBytes());
}

Tensor Tensor::DeepCopy() const {
  if (!IsInitialized()) return Tensor();
  Tensor copy(dtype_, shape_);
  if (TotalBytes() > 0) std::memcpy(copy.data(), data(), TotalBytes());
  return copy;
}

absl::StatusOr<Tensor> Tensor::Reshaped(const TensorShape& shape) const {
  if (shape.num_elements() != num_elements_) {
    return absl::InvalidArgumentError(absl::StrCat("cannot reshape a tensor of ", num_elements_,
                                                   " elements to ", shape.DebugString()));
  }
  Tensor t = *this;
  t.shape_ = shape;
  return t;
}

namespace {

// Copies `src` into `dst`, repeating the last value when `src` is shorter (TensorFlow's rule for
// the typed *_val fields), converting from the proto field's element type.
template <typename T, typename Field>
absl::Status FillFromField(const Field& src, absl::Span<T> dst, const std::string& what) {
  if (src.size() == 0) {
    std::fill(dst.begin(), dst.end(), T{});
    return absl::OkStatus();
  }
  if (static_cast<size_t>(src.size()) > dst.size()) {
    return absl::InvalidArgumentError(absl::StrCat("tensor has ", src.size(), " values in ", what,
                                                   " but its shape holds ", dst.size()));
  }
  for (size_t i = 0; i < dst.size(); ++i) {
    dst[i] = static_cast<T>(src[std::min<size_t>(i, src.size() - 1)]);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Tensor> Tensor::FromProto(const TensorProto& proto) {
  const DataType dtype = proto.dtype();
  if (DataTypeSize(dtype) == 0) {
    return absl::UnimplementedError(
        absl::StrCat("tensors of type ", DataTypeString(dtype), " are not supported"));
  }
  DFLOW_ASSIGN_OR_RETURN(TensorShape shape, TensorShape::FromProto(proto.tensor_shape()));
  if (!proto.tensor_content().empty()) {
    const size_t expected = static_cast<size_t>(shape.num_elements()) * DataTypeSize(dtype);
    if (proto.tensor_content().size() != expected) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tensor_content has ", proto.tensor_content().size(), " bytes but a ",
          DataTypeString(dtype), " tensor of shape ", shape.DebugString(), " needs ", expected));
    }
    Tensor t(dtype, shape);
    if (expected > 0) std::memcpy(t.data(), proto.tensor_content().data(), expected);
    return t;
  }
  Tensor t(dtype, shape);
  absl::Status status;
  switch (dtype) {
    case DT_FLOAT: status = FillFromField(proto.float_val(), t.flat<float>(), "float_val"); break;
    case DT_DOUBLE: status = FillFromField(proto.double_val(), t.flat<double>(), "double_val"); break;
    case DT_INT32: status = FillFromField(proto.int_val(), t.flat<int32_t>(), "int_val"); break;
    case DT_UINT8: status = FillFromField(proto.int_val(), t.flat<uint8_t>(), "int_val"); break;
    case DT_INT64: status = FillFromField(proto.int64_val(), t.flat<int64_t>(), "int64_val"); break;
    case DT_BOOL: status = FillFromField(proto.bool_val(), t.flat<bool>(), "bool_val"); break;
    default: return absl::UnimplementedError("unsupported tensor type");
  }
  DFLOW_RETURN_IF_ERROR(status);
  return t;
}

void Tensor::ToProto(TensorProto* proto) const {
  proto->Clear();
  proto->set_dtype(dtype_);
  shape_.ToProto(proto->mutable_tensor_shape());
  if (TotalBytes() > 0) {
    proto->set_tensor_content(std::string(static_cast<const char*>(data()), TotalBytes()));
  }
}

std::string Tensor::DebugString(int max_values) const {
  if (!IsInitialized()) return "<uninitialized tensor>";
  std::string out = absl::StrCat(DataTypeString(dtype_), " ", shape_.DebugString(), " {");
  const int64_t n = std::min<int64_t>(num_elements_, max_values);
  VisitDataType(dtype_, [&](auto zero) {
    using T = decltype(zero);
    auto values = flat<T>();
    for (int64_t i = 0; i < n; ++i) {
      if (i > 0) out += ", ";
      if constexpr (std::is_same_v<T, uint8_t> || std::is_same_v<T, bool>) {
        absl::StrAppend(&out, static_cast<int>(values[i]));
      } else {
        absl::StrAppend(&out, values[i]);
      }
    }
  });
  if (num_elements_ > n) out += ", ...";
  return out + "}";
}

absl::StatusOr<IntList> IntValues(const Tensor& t, absl::string_view what) {
  if (!t.IsInitialized() || t.dims() > 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " must be a scalar or a vector, got shape ", t.shape().DebugString()));
  }
  IntList v;
  if (t.dtype() == DT_INT32) {
    for (int32_t x : t.flat<int32_t>()) v.push_back(x);
  } else if (t.dtype() == DT_INT64) {
    for (int64_t x : t.flat<int64_t>()) v.push_back(x);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " must be int32 or int64 but is ", DataTypeString(t.dtype())));
  }
  return v;
}

}  // namespace dflow
