#include "tools/fuzz/feed_fuzz.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "tools/tensor_io.h"
#include "tools/tensor_literal.h"

namespace dflow {
namespace {

constexpr DataType kTypes[] = {DT_FLOAT, DT_DOUBLE, DT_INT32, DT_INT64, DT_UINT8, DT_BOOL};

// Converts `t` to every dtype; each conversion either fails or yields `t`'s shape.
absl::Status ConvertToEveryType(const Tensor& t) {
  for (DataType type : kTypes) {
    absl::StatusOr<Tensor> converted = ConvertValues(t, type, 1.0, "fuzz");
    if (converted.ok() && converted->shape() != t.shape()) {
      return absl::InternalError("conversion changed the shape");
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RunFeedBytes(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  if (absl::StartsWith(bytes, "\x93NUMPY")) {
    DFLOW_ASSIGN_OR_RETURN(const Tensor t, ParseNpy(bytes, "fuzz.npy"));
    DFLOW_ASSIGN_OR_RETURN(const std::string encoded, EncodeNpy(t));
    DFLOW_ASSIGN_OR_RETURN(const Tensor back, ParseNpy(encoded, "encoded.npy"));
    if (back.shape() != t.shape() || back.dtype() != t.dtype() ||
        (t.TotalBytes() > 0 && std::memcmp(back.data(), t.data(), t.TotalBytes()) != 0)) {
      return absl::InternalError(".npy round trip changed the tensor");
    }
    return ConvertToEveryType(t);
  }
  if (size >= 2 && data[0] == 0 && data[1] == 0) {
    DFLOW_ASSIGN_OR_RETURN(const Tensor t, ParseIdx(bytes, "fuzz.idx"));
    return ConvertToEveryType(t);
  }
  absl::Status last = absl::OkStatus();
  bool parsed = false;
  // A literal's rank is at most its list nesting: `[[1,2],[3,4]]` is [2,2], `"a"` a scalar.
  const int max_rank = static_cast<int>(std::count(bytes.begin(), bytes.end(), '['));
  for (DataType type : {DT_FLOAT, DT_DOUBLE, DT_INT32, DT_INT64, DT_UINT8, DT_BOOL, DT_STRING}) {
    absl::StatusOr<Tensor> t = ParseLiteral(bytes, type, "fuzz");
    if (!t.ok()) {
      last = t.status();
      continue;
    }
    parsed = true;
    if (t->dtype() != type || t->dims() > max_rank) {
      return absl::InternalError("literal has a bad type or rank");
    }
    if (type != DT_STRING) DFLOW_RETURN_IF_ERROR(ConvertToEveryType(*t));
  }
  return parsed ? absl::OkStatus() : last;  // OK when some dtype takes the literal.
}

}  // namespace dflow
