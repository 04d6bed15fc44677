#include "graph/tensor.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "graph/buffer_pool.h"
#include "graph/cache_line_allocator.h"
#include "graph/status_macros.h"

namespace dflow {

namespace {

std::atomic<int64_t> live_tensor_bytes{0};
thread_local int64_t thread_memory_limit = 0;  // 0: the default.
constexpr int64_t kCheckedAllocation = int64_t{1} << 20;

// Counts `bytes` as live, or explains why they may not be.
absl::Status Reserve(int64_t bytes) {
  const int64_t before = live_tensor_bytes.fetch_add(bytes, std::memory_order_relaxed);
  if (bytes < kCheckedAllocation) return absl::OkStatus();
  const int64_t limit = CurrentMemoryLimit();
  if (bytes > limit - before) {
    live_tensor_bytes.fetch_sub(bytes, std::memory_order_relaxed);
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot allocate ", bytes, " bytes: the memory limit is ", limit,
                     " bytes and ", before, " are in use"));
  }
  return absl::OkStatus();
}

}  // namespace

int64_t DefaultMemoryLimit() {
  static const int64_t limit = [] {
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0) return int64_t{1} << 32;
    return static_cast<int64_t>(pages) / 4 * 3 * page;
  }();
  return limit;
}

int64_t LiveTensorBytes() { return live_tensor_bytes.load(std::memory_order_relaxed); }

int64_t CurrentMemoryLimit() {
  return thread_memory_limit > 0 ? thread_memory_limit : DefaultMemoryLimit();
}

ScopedMemoryLimit::ScopedMemoryLimit(int64_t bytes) : previous_(thread_memory_limit) {
  thread_memory_limit = bytes > 0 ? bytes : 0;
}

ScopedMemoryLimit::~ScopedMemoryLimit() { thread_memory_limit = previous_; }

size_t Tensor::Buffer::RoundedSize(size_t bytes) {
  // aligned_alloc needs a size that is a multiple of the alignment; never zero.
  const size_t rounded = ((bytes + kAlignment - 1) / kAlignment) * kAlignment;
  return rounded == 0 ? kAlignment : rounded;
}

Tensor::Buffer::Buffer(size_t bytes) : capacity(RoundedSize(bytes)) {
  const absl::Status reserved = Reserve(static_cast<int64_t>(capacity));
  if (!reserved.ok()) throw TensorAllocationError(std::string(reserved.message()));
  data = std::aligned_alloc(kAlignment, capacity);
  if (data == nullptr) {
    live_tensor_bytes.fetch_sub(static_cast<int64_t>(capacity), std::memory_order_relaxed);
    throw TensorAllocationError(
        absl::StrCat("cannot allocate ", capacity, " bytes: the system refused the memory"));
  }
}

std::shared_ptr<Tensor::Buffer> Tensor::Buffer::Make(size_t bytes) {
  return std::allocate_shared<Buffer>(CacheLineAllocator<Buffer>(), bytes);
}

Tensor::Buffer::~Buffer() {
  if (strings > 0) std::destroy_n(static_cast<std::string*>(data), strings);
  std::free(data);
  live_tensor_bytes.fetch_sub(static_cast<int64_t>(capacity), std::memory_order_relaxed);
}

Tensor::Tensor(DataType dtype, const TensorShape& shape) : Tensor(dtype, shape, nullptr) {}

Tensor::Tensor(DataType dtype, const TensorShape& shape, BufferPool* pool)
    : dtype_(dtype), shape_(shape), num_elements_(CheckedNumElements(shape.dim_sizes())) {
  assert(HasStorage(dtype));
  const int64_t element_bytes =
      BaseType(dtype) == DT_STRING ? sizeof(std::string) : DataTypeSize(dtype);
  if (num_elements_ < 0) {
    const int64_t n = shape.num_elements();
    int64_t bytes;
    const bool fits = n >= 0 && !__builtin_mul_overflow(n, element_bytes, &bytes);
    throw TensorAllocationError(absl::StrCat(
        "cannot allocate ", fits ? absl::StrCat(bytes) : "more than 2^63", " bytes for a ",
        DataTypeString(dtype), " tensor of shape ", shape.DebugString(), ": more than ",
        MaxTensorElements(), " elements"));
  }
  if (BaseType(dtype) == DT_STRING) {
    buffer_ = Buffer::Make(static_cast<size_t>(num_elements_) * sizeof(std::string));
    std::string* s = static_cast<std::string*>(buffer_->data);
    for (int64_t i = 0; i < num_elements_; ++i) new (s + i) std::string();
    buffer_->strings = num_elements_;
    return;
  }
  buffer_ = pool != nullptr ? pool->Get(TotalBytes()) : Buffer::Make(TotalBytes());
}

absl::StatusOr<Tensor> Tensor::Allocate(DataType dtype, const TensorShape& shape) {
  if (!HasStorage(dtype)) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot allocate a tensor of type ", DataTypeString(dtype)));
  }
  try {
    return Tensor(dtype, shape);
  } catch (const TensorAllocationError& e) {
    return absl::ResourceExhaustedError(e.what());
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot allocate a tensor of shape ", shape.DebugString()));
  }
}

Tensor Tensor::DeepCopy() const {
  if (!IsInitialized()) return Tensor();
  Tensor copy(dtype_, shape_);
  if (BaseType(dtype_) == DT_STRING) {
    const std::string* from = static_cast<const std::string*>(data());
    std::string* to = static_cast<std::string*>(copy.data());
    for (int64_t i = 0; i < num_elements_; ++i) to[i] = from[i];
    return copy;
  }
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
  if constexpr (std::is_same_v<T, uint8_t>) {  // uint8 comes in int_val, which holds int32s.
    for (const auto v : src) {
      if (v < 0 || v > 255) {
        return absl::InvalidArgumentError(
            absl::StrCat(what, " holds ", v, ", which does not fit uint8"));
      }
    }
  }
  for (size_t i = 0; i < dst.size(); ++i) {
    dst[i] = static_cast<T>(src[std::min<size_t>(i, src.size() - 1)]);
  }
  return absl::OkStatus();
}

// Reads a varint32 at *pos of `bytes`, advancing *pos; false when it is cut off or too long.
bool ReadVarint32(absl::string_view bytes, size_t* pos, uint32_t* value) {
  uint32_t result = 0;
  for (int shift = 0; shift <= 28 && *pos < bytes.size(); shift += 7) {
    const uint8_t byte = static_cast<uint8_t>(bytes[(*pos)++]);
    result |= static_cast<uint32_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *value = result;
      return true;
    }
  }
  return false;
}

absl::StatusOr<Tensor> StringsFromProto(const TensorProto& proto) {
  DFLOW_ASSIGN_OR_RETURN(TensorShape shape, TensorShape::FromProto(proto.tensor_shape()));
  DFLOW_ASSIGN_OR_RETURN(Tensor t, Tensor::Allocate(DT_STRING, shape));
  absl::Span<std::string> dst = t.flat<std::string>();
  if (!proto.tensor_content().empty()) {
    // TensorFlow's string-list encoding: every length as a varint32, then every string's bytes.
    const absl::string_view content = proto.tensor_content();
    std::vector<uint32_t> lengths(dst.size());
    size_t pos = 0;
    uint64_t total = 0;
    for (uint32_t& length : lengths) {
      if (!ReadVarint32(content, &pos, &length)) {
        return absl::InvalidArgumentError("string tensor_content: cut-off or bad length varint");
      }
      total += length;
    }
    if (total != content.size() - pos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "string tensor_content: the lengths add up to ", total, " bytes but ",
          content.size() - pos, " follow them (shape ", shape.DebugString(), ")"));
    }
    for (size_t i = 0; i < dst.size(); ++i) {
      dst[i].assign(content.data() + pos, lengths[i]);
      pos += lengths[i];
    }
    return t;
  }
  const auto& src = proto.string_val();
  if (static_cast<size_t>(src.size()) > dst.size()) {
    return absl::InvalidArgumentError(absl::StrCat("tensor has ", src.size(),
                                                   " values in string_val but its shape holds ",
                                                   dst.size()));
  }
  if (src.size() == 0) return t;  // Empty strings.
  for (size_t i = 0; i < dst.size(); ++i) dst[i] = src[std::min<size_t>(i, src.size() - 1)];
  return t;
}

}  // namespace

absl::StatusOr<Tensor> Tensor::FromProto(const TensorProto& proto) {
  const DataType dtype = proto.dtype();
  if (dtype == DT_STRING) return StringsFromProto(proto);
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
    if (dtype == DT_BOOL) {
      // Only bytes 0 and 1 are bools; any other would make reads of it undefined.
      for (const char c : proto.tensor_content()) {
        if (static_cast<unsigned char>(c) > 1) {
          return absl::InvalidArgumentError(absl::StrCat(
              "bool tensor_content holds byte ", static_cast<int>(static_cast<unsigned char>(c)),
              " (a bool is 0 or 1)"));
        }
      }
    }
    DFLOW_ASSIGN_OR_RETURN(Tensor t, Allocate(dtype, shape));
    if (expected > 0) std::memcpy(t.data(), proto.tensor_content().data(), expected);
    return t;
  }
  DFLOW_ASSIGN_OR_RETURN(Tensor t, Allocate(dtype, shape));
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
  if (BaseType(dtype_) == DT_STRING) {
    for (const std::string& v : flat<std::string>()) proto->add_string_val(v);
    return;
  }
  if (TotalBytes() > 0) {
    proto->set_tensor_content(std::string(static_cast<const char*>(data()), TotalBytes()));
  }
}

std::string Tensor::DebugString(int max_values) const {
  if (!IsInitialized()) return "<uninitialized tensor>";
  std::string out = absl::StrCat(DataTypeString(dtype_), " ", shape_.DebugString(), " {");
  const int64_t n = std::min<int64_t>(num_elements_, max_values);
  if (BaseType(dtype_) == DT_STRING) {
    const std::string* values = static_cast<const std::string*>(data());
    for (int64_t i = 0; i < n; ++i) {
      absl::StrAppend(&out, i > 0 ? ", " : "", "\"", absl::CHexEscape(values[i]), "\"");
    }
  }
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
