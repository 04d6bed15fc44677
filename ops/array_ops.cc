// Array ops: Placeholder, Const, Identity, NoOp, Reshape, Shape, Fill, ZerosLike, OnesLike,
// ExpandDims, Pack, StridedSlice, StridedSliceGrad, Tile, Range, Rank, DynamicStitch,
// PreventGradient, Squeeze, ConcatV2 — schemas, shape functions, gradients and builder functions.
#include "ops/array_ops.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "ops/math_ops.h"
#include "ops/node_builder.h"
#include "ops/op_registry.h"
#include "ops/shape_inference.h"

namespace dflow {

absl::Status GetStridedSliceAttrs(const AttrMap& attrs, ops::StridedSliceAttrs* masks) {
  DFLOW_RETURN_IF_ERROR(GetAttr(attrs, "begin_mask", &masks->begin_mask));
  DFLOW_RETURN_IF_ERROR(GetAttr(attrs, "end_mask", &masks->end_mask));
  DFLOW_RETURN_IF_ERROR(GetAttr(attrs, "ellipsis_mask", &masks->ellipsis_mask));
  DFLOW_RETURN_IF_ERROR(GetAttr(attrs, "new_axis_mask", &masks->new_axis_mask));
  return GetAttr(attrs, "shrink_axis_mask", &masks->shrink_axis_mask);
}

absl::Status ResolveStridedSlice(absl::Span<const int64_t> input_dims, int64_t spec_length,
                                 const std::vector<int64_t>* begin,
                                 const std::vector<int64_t>* end,
                                 const std::vector<int64_t>* strides,
                                 const ops::StridedSliceAttrs& masks,
                                 StridedSliceResolved* out) {
  auto bit = [](int64_t mask, int64_t i) { return i < 63 && ((mask >> i) & 1) != 0; };
  auto error = [](auto... parts) { return absl::InvalidArgumentError(absl::StrCat(parts...)); };
  const int64_t n = spec_length;
  const bool known = begin != nullptr && end != nullptr && strides != nullptr;
  if (known && (static_cast<int64_t>(begin->size()) != n ||
                static_cast<int64_t>(end->size()) != n ||
                static_cast<int64_t>(strides->size()) != n)) {
    return error("begin, end and strides must have the same length");
  }
  int ellipses = 0;
  int64_t new_axes_after_ellipsis = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (ellipses > 0 && bit(masks.new_axis_mask, i)) ++new_axes_after_ellipsis;
    if (bit(masks.ellipsis_mask, i)) ++ellipses;
  }
  if (ellipses > 1) return error("a slice spec may hold only one ellipsis");
  // Without an ellipsis, one is implied after the last entry: the remaining dims are whole.
  const int64_t entries = ellipses == 1 ? n : n + 1;

  // The spec expanded to one entry per input dim ("dense"), and where each output dim comes
  // from: an input dim, a new axis (kNewAxis) or nothing (a shrunk dim, not listed).
  constexpr int64_t kNewAxis = -1;
  struct Dense {
    int64_t begin = 0, end = 0, stride = 1;
    bool begin_masked = true, end_masked = true, shrink = false;
  };
  const int64_t rank = static_cast<int64_t>(input_dims.size());
  std::vector<Dense> dense(rank);
  std::vector<int64_t> gather;
  int64_t full = 0;
  for (int64_t i = 0; i < entries; ++i) {
    if (i == n || bit(masks.ellipsis_mask, i)) {
      const int64_t next = std::min(rank - (entries - i) + 1 + new_axes_after_ellipsis, rank);
      for (; full < next; ++full) {
        dense[full] = Dense();
        gather.push_back(full);
      }
    } else if (bit(masks.new_axis_mask, i)) {
      gather.push_back(kNewAxis);
    } else {
      if (full >= rank) {
        return error("slice spec entry ", i, " is out of range: the input has rank ", rank);
      }
      Dense& d = dense[full];
      d.begin = known ? (*begin)[i] : 0;
      d.end = known ? (*end)[i] : 0;
      d.stride = known ? (*strides)[i] : 1;
      d.begin_masked = bit(masks.begin_mask, i);
      d.end_masked = bit(masks.end_mask, i);
      d.shrink = bit(masks.shrink_axis_mask, i);
      if (!d.shrink) gather.push_back(full);
      ++full;
    }
  }

  out->begin.assign(rank, 0);
  out->stride.assign(rank, 1);
  out->size.assign(rank, -1);
  for (int64_t i = 0; i < rank; ++i) {
    const Dense& d = dense[i];
    const int64_t dim = input_dims[i];
    if (known && d.stride == 0) return error("strides[", i, "] must be non-zero");
    if (known && d.shrink && d.stride < 0) {
      return error("a shrunk (single index) dim needs a positive stride, got ", d.stride);
    }
    if (d.shrink) out->size[i] = 1;
    if (!known || dim < 0) continue;
    if (d.shrink) {
      const int64_t index = d.begin < 0 ? dim + d.begin : d.begin;
      if (index < 0 || index >= dim) {
        return error("index ", d.begin, " of dim ", i, " is out of bounds for size ", dim);
      }
      out->begin[i] = index;
      continue;
    }
    out->stride[i] = d.stride;
    // Valid positions: [0, dim] going forward, [-1, dim - 1] going backward.
    const int64_t lo = d.stride > 0 ? 0 : -1;
    const int64_t hi = d.stride > 0 ? dim : dim - 1;
    auto canonical = [&](int64_t x, bool masked, bool is_end) {
      if (masked) return (d.stride > 0) == is_end ? hi : lo;
      const int64_t fwd = x < 0 ? dim + x : x;
      return std::min(std::max(fwd, lo), hi);
    };
    const int64_t b = canonical(d.begin, d.begin_masked, false);
    const int64_t e = canonical(d.end, d.end_masked, true);
    out->begin[i] = b;
    const int64_t interval = e - b;
    if (interval == 0 || (interval < 0) != (d.stride < 0)) {
      out->size[i] = 0;
    } else {
      out->size[i] = interval / d.stride + (interval % d.stride != 0 ? 1 : 0);
    }
  }
  out->output_dims.clear();
  for (int64_t g : gather) out->output_dims.push_back(g == kNewAxis ? 1 : out->size[g]);
  return absl::OkStatus();
}

absl::StatusOr<int64_t> RangeSize(const Tensor& start, const Tensor& limit, const Tensor& delta) {
  auto error = [](auto... parts) { return absl::InvalidArgumentError(absl::StrCat(parts...)); };
  if (start.dtype() != limit.dtype() || start.dtype() != delta.dtype()) {
    return error("start, limit and delta must have one type");
  }
  if (start.NumElements() != 1 || limit.NumElements() != 1 || delta.NumElements() != 1) {
    return error("start, limit and delta must be scalars");
  }
  constexpr int64_t kMaxSize = std::numeric_limits<int32_t>::max();
  auto check = [&](auto s, auto l, auto d) -> absl::StatusOr<int64_t> {
    using T = decltype(s);
    if (d == T(0)) return error("delta must not be 0");
    if (d > T(0) && s > l) return error("start ", s, " > limit ", l, " with delta ", d, " > 0");
    if (d < T(0) && s < l) return error("start ", s, " < limit ", l, " with delta ", d, " < 0");
    if constexpr (std::is_integral_v<T>) {
      const __int128 span = static_cast<__int128>(l) - static_cast<__int128>(s);
      const __int128 step = static_cast<__int128>(d);
      const __int128 abs_span = span < 0 ? -span : span;
      const __int128 abs_step = step < 0 ? -step : step;
      const __int128 c = (abs_span + abs_step - 1) / abs_step;
      if (c > kMaxSize) return error("the range has more than ", kMaxSize, " values");
      return static_cast<int64_t>(c);
    } else {
      if (!std::isfinite(s) || !std::isfinite(l) || !std::isfinite(d)) {
        return error("start, limit and delta must be finite");
      }
      const long double count = std::ceil(std::fabs((static_cast<long double>(l) - s) / d));
      if (count > kMaxSize) return error("the range has more than ", kMaxSize, " values");
      return static_cast<int64_t>(count);
    }
  };
  switch (start.dtype()) {
    case DT_INT32:
      return check(start.scalar<int32_t>(), limit.scalar<int32_t>(), delta.scalar<int32_t>());
    case DT_INT64:
      return check(start.scalar<int64_t>(), limit.scalar<int64_t>(), delta.scalar<int64_t>());
    case DT_FLOAT:
      return check(start.scalar<float>(), limit.scalar<float>(), delta.scalar<float>());
    case DT_DOUBLE:
      return check(start.scalar<double>(), limit.scalar<double>(), delta.scalar<double>());
    default:
      return error("unsupported Range type ", DataTypeString(start.dtype()));
  }
}

namespace {


absl::Status PlaceholderShape(InferenceContext* ctx) {
  PartialTensorShape shape;
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("shape", &shape));
  ctx->set_output(0, shape);
  return absl::OkStatus();
}

absl::Status ConstShape(InferenceContext* ctx) {
  Tensor value;
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("value", &value));
  DataType dtype;
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("dtype", &dtype));
  if (value.dtype() != dtype) {
    return ctx->Error(absl::StrCat("value is ", DataTypeString(value.dtype()), " but dtype is ",
                                   DataTypeString(dtype)));
  }
  ctx->set_output(0, value.shape());
  return absl::OkStatus();
}

absl::Status ReshapeShape(InferenceContext* ctx) {
  const PartialTensorShape& in = ctx->input(0);
  const Tensor* shape_t = ctx->input_tensor(1);
  if (shape_t == nullptr) {
    const PartialTensorShape& s = ctx->input(1);
    ctx->set_output(0, s.dims() == 1 && s.dim_size(0) >= 0
                           ? PartialTensorShape::UnknownDims(static_cast<int>(s.dim_size(0)))
                           : PartialTensorShape::Unknown());
    return absl::OkStatus();
  }
  if (shape_t->dims() > 1) return ctx->Error("shape must be a vector");
  IntList dims = IntValues(*shape_t, "shape").value_or(IntList{});
  int unknown = -1;
  std::vector<int64_t> known_dims;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == -1) {
      if (unknown >= 0) return ctx->Error("shape has more than one -1");
      unknown = static_cast<int>(i);
    } else if (dims[i] < 0) {
      return ctx->Error(absl::StrCat("shape has a negative dimension ", dims[i]));
    } else {
      known_dims.push_back(dims[i]);
    }
  }
  const int64_t known = CheckedNumElements(known_dims);
  if (known < 0) return ctx->Error("shape has too many elements");
  const int64_t n = in.num_elements();
  if (n >= 0) {
    if (unknown >= 0) {
      if (known == 0 || n % known != 0) {
        return ctx->Error(absl::StrCat("cannot reshape ", in.DebugString(), " (", n,
                                       " elements) to a multiple of ", known));
      }
      dims[unknown] = n / known;
    } else if (known != n) {
      return ctx->Error(absl::StrCat("cannot reshape ", in.DebugString(), " (", n,
                                     " elements) to ", PartialTensorShape(dims).DebugString()));
    }
  }
  ctx->set_output(0, PartialTensorShape(dims));
  return absl::OkStatus();
}

absl::Status ShapeShape(InferenceContext* ctx) {
  ctx->set_output(0, PartialTensorShape({ctx->input(0).dims()}));  // -1 when rank unknown.
  return absl::OkStatus();
}

absl::Status FillShape(InferenceContext* ctx) {
  if (ctx->input(1).dims() > 0) return ctx->Error("value must be a scalar");
  const Tensor* dims_t = ctx->input_tensor(0);
  if (dims_t != nullptr) {
    IntList dims = IntValues(*dims_t, "dims").value_or(IntList{});
    for (int64_t d : dims) {
      if (d < 0) return ctx->Error(absl::StrCat("dims has a negative dimension ", d));
    }
    ctx->set_output(0, PartialTensorShape(dims));
    return absl::OkStatus();
  }
  const PartialTensorShape& s = ctx->input(0);
  ctx->set_output(0, s.dims() == 1 && s.dim_size(0) >= 0
                         ? PartialTensorShape::UnknownDims(static_cast<int>(s.dim_size(0)))
                         : PartialTensorShape::Unknown());
  return absl::OkStatus();
}

absl::Status ExpandDimsShape(InferenceContext* ctx) {
  const PartialTensorShape& in = ctx->input(0);
  const Tensor* axis_t = ctx->input_tensor(1);
  if (axis_t == nullptr || in.unknown_rank()) {
    ctx->set_output(0, in.unknown_rank() ? in : PartialTensorShape::UnknownDims(in.dims() + 1));
    return absl::OkStatus();
  }
  IntList axis = IntValues(*axis_t, "dim").value_or(IntList{});
  if (axis.size() != 1) return ctx->Error("axis must hold one value");
  int64_t a = axis[0];
  const int rank = in.dims();
  if (a < -rank - 1 || a > rank) {
    return ctx->Error(absl::StrCat("axis ", a, " is out of range for rank ", rank));
  }
  if (a < 0) a += rank + 1;
  std::vector<int64_t> dims(in.dim_sizes().begin(), in.dim_sizes().end());
  dims.insert(dims.begin() + a, 1);
  ctx->set_output(0, PartialTensorShape(dims));
  return absl::OkStatus();
}

// A 1-D int32 constant.
Output IntVector(const Scope& scope, const std::vector<int32_t>& v) {
  return ops::Const(scope, *Tensor::FromVector<int32_t>(
                               v, TensorShape({static_cast<int64_t>(v.size())})));
}

// Shape(x) as `out_type` (int32 or int64).
Output ShapeAs(const Scope& scope, const Output& x, DataType out_type) {
  return AddOp(scope, "Shape", {x}, {{"out_type", MakeAttr(out_type)}});
}

// The constant values of input i when they are known at graph time.
std::optional<std::vector<int64_t>> ConstInts(InferenceContext* ctx, int i) {
  const Tensor* t = ctx->input_tensor(i);
  if (t == nullptr) return std::nullopt;
  absl::StatusOr<IntList> v = IntValues(*t, "input");
  if (!v.ok()) return std::nullopt;
  return std::vector<int64_t>(v->begin(), v->end());
}

// Every input merged into one shape (N * T lists of equal shapes).
absl::StatusOr<PartialTensorShape> MergeInputs(InferenceContext* ctx, int first, int count) {
  PartialTensorShape merged = ctx->input(first);
  for (int i = first + 1; i < first + count; ++i) {
    absl::StatusOr<PartialTensorShape> m = merged.Merge(ctx->input(i));
    if (!m.ok()) {
      return ctx->Error(absl::StrCat("values must all have the same shape, but value 0 is ",
                                     ctx->input(first).DebugString(), " and value ", i - first,
                                     " is ", ctx->input(i).DebugString()));
    }
    merged = *m;
  }
  return merged;
}

absl::Status PackShape(InferenceContext* ctx) {
  int64_t axis = 0;
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("axis", &axis));
  DFLOW_ASSIGN_OR_RETURN(PartialTensorShape merged, MergeInputs(ctx, 0, ctx->num_inputs()));
  if (merged.unknown_rank()) {
    ctx->set_output(0, PartialTensorShape::Unknown());
    return absl::OkStatus();
  }
  const int out_rank = merged.dims() + 1;
  if (axis < -out_rank || axis >= out_rank) {
    return ctx->Error(absl::StrCat("axis ", axis, " is out of range [", -out_rank, ", ", out_rank,
                                   ") for values of shape ", merged.DebugString()));
  }
  if (axis < 0) axis += out_rank;
  std::vector<int64_t> dims(merged.dim_sizes().begin(), merged.dim_sizes().end());
  dims.insert(dims.begin() + axis, ctx->num_inputs());
  ctx->set_output(0, PartialTensorShape(dims));
  return absl::OkStatus();
}

// The output shape of StridedSlice of an input of shape `in` given the spec inputs
// begin_index.. (begin, end, strides).
absl::Status StridedSliceOutputShape(InferenceContext* ctx, const PartialTensorShape& in,
                                     int begin_index) {
  ops::StridedSliceAttrs masks;
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("begin_mask", &masks.begin_mask));
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("end_mask", &masks.end_mask));
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("ellipsis_mask", &masks.ellipsis_mask));
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("new_axis_mask", &masks.new_axis_mask));
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("shrink_axis_mask", &masks.shrink_axis_mask));
  int64_t length = -1;
  for (int k = 0; k < 3; ++k) {
    const PartialTensorShape& spec = ctx->input(begin_index + k);
    if (spec.unknown_rank()) continue;
    if (spec.dims() != 1) {
      return ctx->Error(absl::StrCat("begin, end and strides must be vectors, got shape ",
                                     spec.DebugString()));
    }
    const int64_t n = spec.dim_size(0);
    if (n < 0) continue;
    if (length >= 0 && n != length) {
      return ctx->Error("begin, end and strides must have the same length");
    }
    length = n;
  }
  if (in.unknown_rank() || length < 0) {
    ctx->set_output(0, PartialTensorShape::Unknown());
    return absl::OkStatus();
  }
  std::optional<std::vector<int64_t>> begin = ConstInts(ctx, begin_index);
  std::optional<std::vector<int64_t>> end = ConstInts(ctx, begin_index + 1);
  std::optional<std::vector<int64_t>> strides = ConstInts(ctx, begin_index + 2);
  const bool known = begin && end && strides;
  StridedSliceResolved r;
  absl::Status s =
      ResolveStridedSlice(in.dim_sizes(), length, known ? &*begin : nullptr,
                          known ? &*end : nullptr, known ? &*strides : nullptr, masks, &r);
  if (!s.ok()) return ctx->Error(s.message());
  ctx->set_output(0, PartialTensorShape(r.output_dims));
  return absl::OkStatus();
}

absl::Status StridedSliceShape(InferenceContext* ctx) {
  return StridedSliceOutputShape(ctx, ctx->input(0), 1);
}

absl::Status StridedSliceGradShape(InferenceContext* ctx) {
  // The output has the shape given by input 0 (the sliced tensor's shape).
  std::optional<std::vector<int64_t>> shape = ConstInts(ctx, 0);
  if (shape) {
    for (int64_t d : *shape) {
      if (d < 0) return ctx->Error(absl::StrCat("shape has a negative dimension ", d));
    }
    ctx->set_output(0, PartialTensorShape(*shape));
    return absl::OkStatus();
  }
  const PartialTensorShape& s = ctx->input(0);
  ctx->set_output(0, s.dims() == 1 && s.dim_size(0) >= 0
                         ? PartialTensorShape::UnknownDims(static_cast<int>(s.dim_size(0)))
                         : PartialTensorShape::Unknown());
  return absl::OkStatus();
}

absl::Status TileShape(InferenceContext* ctx) {
  const PartialTensorShape& in = ctx->input(0);
  const PartialTensorShape& m_shape = ctx->input(1);
  if (m_shape.dims() > 1 || m_shape.dims() == 0) {
    return ctx->Error(absl::StrCat("multiples must be a vector, got shape ",
                                   m_shape.DebugString()));
  }
  if (!in.unknown_rank() && m_shape.dims() == 1 && m_shape.dim_size(0) >= 0 &&
      m_shape.dim_size(0) != in.dims()) {
    return ctx->Error(absl::StrCat("multiples has ", m_shape.dim_size(0),
                                   " values but the input ", in.DebugString(), " has rank ",
                                   in.dims()));
  }
  std::optional<std::vector<int64_t>> m = ConstInts(ctx, 1);
  if (!m) {
    if (!in.unknown_rank()) {
      ctx->set_output(0, PartialTensorShape::UnknownDims(in.dims()));
    } else if (m_shape.dims() == 1 && m_shape.dim_size(0) >= 0) {
      ctx->set_output(0, PartialTensorShape::UnknownDims(static_cast<int>(m_shape.dim_size(0))));
    } else {
      ctx->set_output(0, PartialTensorShape::Unknown());
    }
    return absl::OkStatus();
  }
  for (int64_t v : *m) {
    if (v < 0) return ctx->Error(absl::StrCat("multiples has a negative value ", v));
  }
  std::vector<int64_t> dims(m->size(), -1);
  for (size_t d = 0; d < m->size(); ++d) {
    if (!in.unknown_rank() && in.dim_size(static_cast<int>(d)) >= 0) {
      if (__builtin_mul_overflow(in.dim_size(static_cast<int>(d)), (*m)[d], &dims[d])) {
        return ctx->Error("tiling by these multiples overflows");
      }
    } else if ((*m)[d] == 0) {
      dims[d] = 0;
    }
  }
  ctx->set_output(0, PartialTensorShape(dims));
  return absl::OkStatus();
}

absl::Status RangeShape(InferenceContext* ctx) {
  const char* names[] = {"start", "limit", "delta"};
  for (int i = 0; i < 3; ++i) {
    if (ctx->input(i).dims() > 0) {
      return ctx->Error(absl::StrCat(names[i], " must be a scalar, got shape ",
                                     ctx->input(i).DebugString()));
    }
  }
  const Tensor* t[3] = {ctx->input_tensor(0), ctx->input_tensor(1), ctx->input_tensor(2)};
  if (t[0] == nullptr || t[1] == nullptr || t[2] == nullptr) {
    ctx->set_output(0, PartialTensorShape({-1}));
    return absl::OkStatus();
  }
  absl::StatusOr<int64_t> size = RangeSize(*t[0], *t[1], *t[2]);
  if (!size.ok()) return ctx->Error(size.status().message());
  ctx->set_output(0, PartialTensorShape({*size}));
  return absl::OkStatus();
}

absl::Status DynamicStitchShape(InferenceContext* ctx) {
  const int n = ctx->num_inputs() / 2;
  int64_t first = 0;  // max index + 1, or -1 when not known.
  for (int m = 0; m < n && first >= 0; ++m) {
    const Tensor* t = ctx->input_tensor(m);
    if (t == nullptr) {
      first = -1;
      break;
    }
    const int32_t* p = t->flat<int32_t>().data();
    for (int64_t k = 0; k < t->NumElements(); ++k) {
      if (p[k] < 0) return ctx->Error(absl::StrCat("indices ", m, " holds a negative index ", p[k]));
      first = std::max<int64_t>(first, int64_t{p[k]} + 1);
    }
  }
  // The dims after each indices[m]'s rank in data[m] are common to all.
  std::optional<PartialTensorShape> tail;
  for (int m = 0; m < n; ++m) {
    const PartialTensorShape& idx = ctx->input(m);
    const PartialTensorShape& data = ctx->input(n + m);
    if (idx.unknown_rank() || data.unknown_rank()) continue;
    if (data.dims() < idx.dims()) {
      return ctx->Error(absl::StrCat("data ", m, " of shape ", data.DebugString(),
                                     " must start with the shape of indices ", m, " ",
                                     idx.DebugString()));
    }
    for (int d = 0; d < idx.dims(); ++d) {
      if (idx.dim_size(d) >= 0 && data.dim_size(d) >= 0 && idx.dim_size(d) != data.dim_size(d)) {
        return ctx->Error(absl::StrCat("data ", m, " of shape ", data.DebugString(),
                                       " must start with the shape of indices ", m, " ",
                                       idx.DebugString()));
      }
    }
    PartialTensorShape t(absl::MakeConstSpan(data.dim_sizes()).subspan(idx.dims()));
    if (!tail) {
      tail = t;
    } else {
      absl::StatusOr<PartialTensorShape> merged = tail->Merge(t);
      if (!merged.ok()) {
        return ctx->Error(absl::StrCat("the data shapes disagree after the indices' dims: ",
                                       tail->DebugString(), " vs ", t.DebugString()));
      }
      tail = *merged;
    }
  }
  if (!tail) {
    ctx->set_output(0, PartialTensorShape::Unknown());
    return absl::OkStatus();
  }
  std::vector<int64_t> dims = {first};
  dims.insert(dims.end(), tail->dim_sizes().begin(), tail->dim_sizes().end());
  ctx->set_output(0, PartialTensorShape(dims));
  return absl::OkStatus();
}

absl::Status SqueezeShape(InferenceContext* ctx) {
  std::vector<int64_t> axes;
  DFLOW_RETURN_IF_ERROR(ctx->GetAttr("squeeze_dims", &axes));
  const PartialTensorShape& in = ctx->input(0);
  if (in.unknown_rank()) {
    ctx->set_output(0, PartialTensorShape::Unknown());
    return absl::OkStatus();
  }
  const int rank = in.dims();
  std::vector<bool> squeeze(rank, false);
  for (int64_t a : axes) {
    if (a < -rank || a >= rank) {
      return ctx->Error(absl::StrCat("squeeze dim ", a, " is out of range for shape ",
                                     in.DebugString()));
    }
    const int d = static_cast<int>(a < 0 ? a + rank : a);
    if (in.dim_size(d) >= 0 && in.dim_size(d) != 1) {
      return ctx->Error(absl::StrCat("cannot squeeze dim ", d, " of shape ", in.DebugString(),
                                     ": its size is not 1"));
    }
    squeeze[d] = true;
  }
  std::vector<int64_t> dims;
  for (int d = 0; d < rank; ++d) {
    const int64_t size = in.dim_size(d);
    if (axes.empty()) {
      if (size < 0) {  // It may or may not be 1.
        ctx->set_output(0, PartialTensorShape::Unknown());
        return absl::OkStatus();
      }
      if (size != 1) dims.push_back(size);
    } else if (!squeeze[d]) {
      dims.push_back(size);
    }
  }
  ctx->set_output(0, PartialTensorShape(dims));
  return absl::OkStatus();
}

absl::Status ConcatV2Shape(InferenceContext* ctx) {
  const int n = ctx->num_inputs() - 1;
  const PartialTensorShape& axis_shape = ctx->input(n);
  if (axis_shape.dims() > 0) {
    return ctx->Error(absl::StrCat("axis must be a scalar, got shape ", axis_shape.DebugString()));
  }
  int rank = -1;
  for (int i = 0; i < n; ++i) {
    const int r = ctx->input(i).dims();
    if (r < 0) continue;
    if (rank >= 0 && r != rank) {
      return ctx->Error(absl::StrCat("values must have the same rank, but value 0 is ",
                                     ctx->input(0).DebugString(), " and value ", i, " is ",
                                     ctx->input(i).DebugString()));
    }
    rank = r;
  }
  if (rank == 0) return ctx->Error("cannot concatenate scalars (use Pack)");
  std::optional<std::vector<int64_t>> axis = ConstInts(ctx, n);
  if (rank < 0 || !axis) {
    ctx->set_output(0, rank < 0 ? PartialTensorShape::Unknown()
                                : PartialTensorShape::UnknownDims(rank));
    return absl::OkStatus();
  }
  if (axis->size() != 1) return ctx->Error("axis must hold one value");
  int64_t a = (*axis)[0];
  if (a < -rank || a >= rank) {
    return ctx->Error(absl::StrCat("axis ", a, " is out of range for rank ", rank));
  }
  if (a < 0) a += rank;
  std::vector<int64_t> dims(rank, -1);
  int64_t total = 0;
  for (int i = 0; i < n; ++i) {
    const PartialTensorShape& in = ctx->input(i);
    if (in.unknown_rank()) {
      total = -1;
      continue;
    }
    for (int d = 0; d < rank; ++d) {
      const int64_t size = in.dim_size(d);
      if (d == a) {
        total = (total < 0 || size < 0) ? -1 : total + size;
      } else if (size >= 0) {
        if (dims[d] >= 0 && dims[d] != size) {
          return ctx->Error(absl::StrCat("dimension ", d, " of the values differs: ",
                                         ctx->input(0).DebugString(), " vs ", in.DebugString()));
        }
        dims[d] = size;
      }
    }
  }
  dims[a] = total;
  ctx->set_output(0, PartialTensorShape(dims));
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Gradients of the ops above.

absl::Status PackGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                      std::vector<Output>* grad_inputs) {
  // Unstacks the gradient: input i gets g[..., i, ...] (the axis removed) through a
  // StridedSlice that does not need the rank: "[:, ..., :, i]" for axis >= 0 and
  // "[..., i, :, ..., :]" for a negative axis.
  const int n = node.num_inputs();
  grad_inputs->assign(n, Output());
  int64_t axis = 0;
  DFLOW_RETURN_IF_ERROR(GetNodeAttr(node, "axis", &axis));
  for (int i = 0; i < n; ++i) {
    std::vector<int32_t> begin, end;
    ops::StridedSliceAttrs a;
    if (axis >= 0) {
      begin.assign(axis + 1, 0);
      end.assign(axis + 1, 0);
      begin[axis] = i;
      end[axis] = i + 1;
      a = a.BeginMask((int64_t{1} << axis) - 1).EndMask((int64_t{1} << axis) - 1)
              .ShrinkAxisMask(int64_t{1} << axis);
    } else {
      const int64_t len = 1 - axis;  // The ellipsis, the index, then -axis - 1 full slices.
      begin.assign(len, 0);
      end.assign(len, 0);
      begin[1] = i;
      end[1] = i + 1;
      const int64_t full = ((int64_t{1} << len) - 1) & ~int64_t{3};
      a = a.EllipsisMask(1).ShrinkAxisMask(2).BeginMask(full).EndMask(full);
    }
    std::vector<int32_t> strides(begin.size(), 1);
    (*grad_inputs)[i] = ops::StridedSlice(scope, grads[0], IntVector(scope, begin),
                                          IntVector(scope, end), IntVector(scope, strides), a);
  }
  return scope.status();
}

absl::Status StridedSliceGradFn(const Scope& scope, const Node& node,
                                absl::Span<const Output> grads,
                                std::vector<Output>* grad_inputs) {
  grad_inputs->assign(4, Output());
  ops::StridedSliceAttrs masks;
  DFLOW_RETURN_IF_ERROR(GetStridedSliceAttrs(node.attrs(), &masks));
  const Output x = node.input(0);
  Output shape = ShapeAs(scope, x, node.input(1).type());
  (*grad_inputs)[0] = ops::StridedSliceGrad(scope, shape, node.input(1), node.input(2),
                                            node.input(3), grads[0], masks);
  return scope.status();
}

absl::Status StridedSliceGradGrad(const Scope& scope, const Node& node,
                                  absl::Span<const Output> grads,
                                  std::vector<Output>* grad_inputs) {
  // StridedSliceGrad is linear in dy: its gradient slices the incoming gradient.
  grad_inputs->assign(5, Output());
  ops::StridedSliceAttrs masks;
  DFLOW_RETURN_IF_ERROR(GetStridedSliceAttrs(node.attrs(), &masks));
  (*grad_inputs)[4] = ops::StridedSlice(scope, grads[0], node.input(1), node.input(2),
                                        node.input(3), masks);
  return scope.status();
}

absl::Status TileGrad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                      std::vector<Output>* grad_inputs) {
  // y = Tile(x, m) seen as [m0, d0, m1, d1, ...] (row-major: tile index before element index
  // in each dim); dx sums the gradient over the tile axes 0, 2, 4, ...
  grad_inputs->assign(2, Output());
  const Output x = node.input(0), multiples = node.input(1);
  Output pairs = ops::Pack(scope, {multiples, ShapeAs(scope, x, multiples.type())},
                           ops::Pack::Axis(1));  // [[m0, d0], [m1, d1], ...]
  Output split = ops::Reshape(scope, grads[0], ops::Reshape(scope, pairs, {-1}));
  Output tile_axes = ops::Range(scope, 0, ops::Mul(scope, ops::Rank(scope, x), 2), 2);
  Output summed = ops::Sum(scope, split, tile_axes);
  (*grad_inputs)[0] = ops::Reshape(scope, summed, ops::Shape(scope, x));
  return scope.status();
}

absl::Status PreventGradientGrad(const Scope& scope, const Node& node,
                                 absl::Span<const Output> grads,
                                 std::vector<Output>* grad_inputs) {
  std::string message;
  GetNodeAttr(node, "message", &message).IgnoreError();
  return absl::InvalidArgumentError(
      absl::StrCat("Gradient explicitly disabled by PreventGradient node '", node.name(),
                   "'. Reason: ", message));
}

absl::Status ConcatV2Grad(const Scope& scope, const Node& node, absl::Span<const Output> grads,
                          std::vector<Output>* grad_inputs) {
  // Input i gets g[offset_i : offset_i + shape_i], where offset_i is zero except along the axis,
  // where it is the sum of the earlier inputs' sizes; all computed at run time.
  const int n = node.num_inputs() - 1;
  grad_inputs->assign(n + 1, Output());
  const Scope& s = scope;
  const Output axis = ops::Cast(s, node.input(n), DT_INT32);
  const Output rank = ops::Rank(s, node.input(0));
  const Output axis_n = ops::FloorMod(s, axis, rank);  // Negative axes counted from the end.
  const Output on_axis =
      ops::Cast(s, ops::Equal(s, ops::Range(s, 0, rank, 1), axis_n), DT_INT32);
  std::vector<Output> shapes;
  for (int i = 0; i < n; ++i) shapes.push_back(ops::Shape(s, node.input(i)));
  Output offset = ops::ZerosLike(s, shapes[0]);
  for (int i = 0; i < n; ++i) {
    Output end = ops::Add(s, offset, shapes[i]);
    (*grad_inputs)[i] =
        ops::StridedSlice(s, grads[0], offset, end, ops::OnesLike(s, offset));
    if (i + 1 < n) offset = ops::Add(s, offset, ops::Mul(s, on_axis, shapes[i]));
  }
  return scope.status();
}

// d(Reshape(x))/dx and d(ExpandDims(x))/dx: reshape the gradient back to x's run-time shape.
absl::Status ReshapeBackGrad(const Scope& scope, const Node& node,
                             absl::Span<const Output> grad_outputs,
                             std::vector<Output>* grad_inputs) {
  Output x = node.input(0);
  grad_inputs->assign(node.num_inputs(), Output());
  (*grad_inputs)[0] = ops::Reshape(scope, grad_outputs[0], ops::Shape(scope, x));
  return scope.status();
}

}  // namespace

REGISTER_OP("Placeholder")
    .Output("output: dtype")
    .Attr("dtype: type")
    .Attr("shape: shape = unknown")
    .SetShapeFn(PlaceholderShape)
    .NotDifferentiable();

REGISTER_OP("Const")
    .Output("output: dtype")
    .Attr("value: tensor")
    .Attr("dtype: type")
    .SetShapeFn(ConstShape)
    .NotDifferentiable();

REGISTER_OP("Identity").Input("input: T").Output("output: T").Attr("T: type").SetShapeFn(
    UnchangedShape);
REGISTER_GRADIENT("Identity", [](const Scope& scope, const Node& node,
                                 absl::Span<const Output> grad_outputs,
                                 std::vector<Output>* grad_inputs) {
  *grad_inputs = {grad_outputs[0]};
  return absl::OkStatus();
});

REGISTER_OP("NoOp").SetShapeFn(NoOutputs).NotDifferentiable();

REGISTER_OP("Reshape")
    .Input("tensor: T")
    .Input("shape: Tshape")
    .Output("output: T")
    .Attr("T: type")
    .Attr("Tshape: {int32, int64} = int32")
    .SetShapeFn(ReshapeShape);
REGISTER_GRADIENT("Reshape", ReshapeBackGrad);

REGISTER_OP("Shape")
    .Input("input: T")
    .Output("output: out_type")
    .Attr("T: type")
    .Attr("out_type: {int32, int64} = int32")
    .SetShapeFn(ShapeShape)
    .NotDifferentiable();

REGISTER_OP("Fill")
    .Input("dims: index_type")
    .Input("value: T")
    .Output("output: T")
    .Attr("T: type")
    .Attr("index_type: {int32, int64} = int32")
    .SetShapeFn(FillShape)
    .NotDifferentiable();

REGISTER_OP("ZerosLike").Input("x: T").Output("y: T").Attr("T: type").SetShapeFn(UnchangedShape)
    .NotDifferentiable();
REGISTER_OP("OnesLike").Input("x: T").Output("y: T").Attr("T: type").SetShapeFn(UnchangedShape)
    .NotDifferentiable();

REGISTER_OP("ExpandDims")
    .Input("input: T")
    .Input("dim: Tdim")
    .Output("output: T")
    .Attr("T: type")
    .Attr("Tdim: {int32, int64} = int32")
    .SetShapeFn(ExpandDimsShape);
REGISTER_GRADIENT("ExpandDims", ReshapeBackGrad);

// Given the shapes of two broadcast operands, the axes each must sum its gradient over.
REGISTER_OP("BroadcastGradientArgs")
    .Input("s0: T")
    .Input("s1: T")
    .Output("r0: T")
    .Output("r1: T")
    .Attr("T: {int32, int64} = int32")
    .SetShapeFn([](InferenceContext* ctx) {
      ctx->set_output(0, PartialTensorShape({-1}));
      ctx->set_output(1, PartialTensorShape({-1}));
      return absl::OkStatus();
    })
    .NotDifferentiable();


REGISTER_OP("Pack")
    .Input("values: N * T")
    .Output("output: T")
    .Attr("N: int >= 1")
    .Attr("T: type")
    .Attr("axis: int = 0")
    .SetShapeFn(PackShape);
REGISTER_GRADIENT("Pack", PackGrad);

#define DFLOW_STRIDED_SLICE_MASK_ATTRS                        \
  Attr("Index: {int32, int64}")                               \
      .Attr("begin_mask: int = 0")                            \
      .Attr("end_mask: int = 0")                              \
      .Attr("ellipsis_mask: int = 0")                         \
      .Attr("new_axis_mask: int = 0")                         \
      .Attr("shrink_axis_mask: int = 0")

REGISTER_OP("StridedSlice")
    .Input("input: T")
    .Input("begin: Index")
    .Input("end: Index")
    .Input("strides: Index")
    .Output("output: T")
    .Attr("T: type")
    .DFLOW_STRIDED_SLICE_MASK_ATTRS
    .SetShapeFn(StridedSliceShape);
REGISTER_GRADIENT("StridedSlice", StridedSliceGradFn);

REGISTER_OP("StridedSliceGrad")
    .Input("shape: Index")
    .Input("begin: Index")
    .Input("end: Index")
    .Input("strides: Index")
    .Input("dy: T")
    .Output("output: T")
    .Attr("T: type")
    .DFLOW_STRIDED_SLICE_MASK_ATTRS
    .SetShapeFn(StridedSliceGradShape);
REGISTER_GRADIENT("StridedSliceGrad", StridedSliceGradGrad);
#undef DFLOW_STRIDED_SLICE_MASK_ATTRS

REGISTER_OP("Tile")
    .Input("input: T")
    .Input("multiples: Tmultiples")
    .Output("output: T")
    .Attr("T: type")
    .Attr("Tmultiples: {int32, int64} = int32")
    .SetShapeFn(TileShape);
REGISTER_GRADIENT("Tile", TileGrad);

REGISTER_OP("Range")
    .Input("start: Tidx")
    .Input("limit: Tidx")
    .Input("delta: Tidx")
    .Output("output: Tidx")
    .Attr("Tidx: {float, double, int32, int64} = int32")
    .SetShapeFn(RangeShape)
    .NotDifferentiable();

REGISTER_OP("Rank")
    .Input("input: T")
    .Output("output: int32")
    .Attr("T: type")
    .SetShapeFn(ScalarShape)
    .NotDifferentiable();

REGISTER_OP("DynamicStitch")
    .Input("indices: N * int32")
    .Input("data: N * T")
    .Output("merged: T")
    .Attr("N: int >= 1")
    .Attr("T: type")
    .SetShapeFn(DynamicStitchShape)
    .NotDifferentiable();

REGISTER_OP("PreventGradient")
    .Input("input: T")
    .Output("output: T")
    .Attr("T: type")
    .Attr("message: string = ''")
    .SetShapeFn(UnchangedShape);
REGISTER_GRADIENT("PreventGradient", PreventGradientGrad);

REGISTER_OP("Squeeze")
    .Input("input: T")
    .Output("output: T")
    .Attr("T: type")
    .Attr("squeeze_dims: list(int) >= 0 = []")
    .SetShapeFn(SqueezeShape);
REGISTER_GRADIENT("Squeeze", ReshapeBackGrad);

REGISTER_OP("ConcatV2")
    .Input("values: N * T")
    .Input("axis: Tidx")
    .Output("output: T")
    .Attr("N: int >= 2")
    .Attr("T: type")
    .Attr("Tidx: {int32, int64} = int32")
    .SetShapeFn(ConcatV2Shape);
REGISTER_GRADIENT("ConcatV2", ConcatV2Grad);

namespace ops {

Placeholder::Placeholder(const Scope& scope, DataType dtype, const Attrs& attrs)
    : Output(AddOp(scope, "Placeholder", {}, {{"dtype", MakeAttr(dtype)},
                                              {"shape", MakeAttr(attrs.shape)}})) {}

Output Const(const Scope& scope, const Input& value) {
  if (!scope.ok()) return Output();
  return value.ToOutput(scope);
}

Output Const(const Scope& scope, float value, const TensorShape& shape) {
  return Const(scope, Tensor::Filled<float>(shape, value));
}

Output Identity(const Scope& scope, Input input) { return AddOp(scope, "Identity", {input}); }

Operation NoOp(const Scope& scope) { return AddOp(scope, "NoOp", {}); }

Output Reshape(const Scope& scope, Input tensor, Input shape) {
  return AddOp(scope, "Reshape", {tensor, shape});
}

Output Shape(const Scope& scope, Input input) { return AddOp(scope, "Shape", {input}); }

Output Fill(const Scope& scope, Input dims, Input value) {
  return AddOp(scope, "Fill", {dims, value});
}

Output ZerosLike(const Scope& scope, Input x) { return AddOp(scope, "ZerosLike", {x}); }
Output OnesLike(const Scope& scope, Input x) { return AddOp(scope, "OnesLike", {x}); }

Output ExpandDims(const Scope& scope, Input input, Input axis) {
  return AddOp(scope, "ExpandDims", {input, axis});
}

BroadcastGradientArgs::BroadcastGradientArgs(const Scope& scope, Input s0, Input s1) {
  Node* node = AddOp(scope, "BroadcastGradientArgs", {s0, s1});
  if (node != nullptr) {
    r0 = Output(node, 0);
    r1 = Output(node, 1);
  }
}


Pack::Pack(const Scope& scope, absl::Span<const Output> values, const Attrs& attrs)
    : Output(AddOpWithList(scope, "Pack", values, {}, {{"axis", MakeAttr(attrs.axis)}})) {}

namespace {
AttrMap StridedSliceAttrMap(const StridedSliceAttrs& a) {
  return {{"begin_mask", MakeAttr(a.begin_mask)},
          {"end_mask", MakeAttr(a.end_mask)},
          {"ellipsis_mask", MakeAttr(a.ellipsis_mask)},
          {"new_axis_mask", MakeAttr(a.new_axis_mask)},
          {"shrink_axis_mask", MakeAttr(a.shrink_axis_mask)}};
}
}  // namespace

StridedSlice::StridedSlice(const Scope& scope, Input input, Input begin, Input end,
                           Input strides, const Attrs& attrs)
    : Output(AddOp(scope, "StridedSlice", {input, begin, end, strides},
                   StridedSliceAttrMap(attrs))) {}

StridedSliceGrad::StridedSliceGrad(const Scope& scope, Input shape, Input begin, Input end,
                                   Input strides, Input dy, const Attrs& attrs)
    : Output(AddOp(scope, "StridedSliceGrad", {shape, begin, end, strides, dy},
                   StridedSliceAttrMap(attrs))) {}

Output Tile(const Scope& scope, Input input, Input multiples) {
  return AddOp(scope, "Tile", {input, multiples});
}

Output Range(const Scope& scope, Input start, Input limit, Input delta) {
  return AddOp(scope, "Range", {start, limit, delta});
}

Output Rank(const Scope& scope, Input input) { return AddOp(scope, "Rank", {input}); }

Output DynamicStitch(const Scope& scope, absl::Span<const Output> indices,
                     absl::Span<const Output> data) {
  if (!scope.ok()) return Output();
  for (const Output& o : indices) {
    if (o.node() == nullptr) {
      scope.UpdateStatus(absl::InvalidArgumentError("DynamicStitch: an indices input is null"));
      return Output();
    }
  }
  for (const Output& o : data) {
    if (o.node() == nullptr) {
      scope.UpdateStatus(absl::InvalidArgumentError("DynamicStitch: a data input is null"));
      return Output();
    }
  }
  NodeBuilder builder(scope.GetUniqueNameForOp("DynamicStitch"), "DynamicStitch");
  builder.Input(std::vector<Output>(indices.begin(), indices.end()));
  builder.Input(std::vector<Output>(data.begin(), data.end()));
  Node* node = scope.Finalize(builder);
  return node ? Output(node, 0) : Output();
}

PreventGradient::PreventGradient(const Scope& scope, Input input, const Attrs& attrs)
    : Output(AddOp(scope, "PreventGradient", {input}, {{"message", MakeAttr(attrs.message)}})) {}

Squeeze::Squeeze(const Scope& scope, Input input, const Attrs& attrs)
    : Output(AddOp(scope, "Squeeze", {input}, {{"squeeze_dims", MakeAttr(attrs.squeeze_dims)}})) {}

Output ConcatV2(const Scope& scope, absl::Span<const Output> values, Input axis) {
  return AddOpWithList(scope, "ConcatV2", values, {axis});
}

}  // namespace ops
}  // namespace dflow
