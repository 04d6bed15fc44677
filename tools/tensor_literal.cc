#include "tools/tensor_literal.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <type_traits>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "graph/status_macros.h"

namespace dflow {
namespace {

// One value on its way to a tensor element: exact as an integer when it was one.
struct Value {
  bool is_int = false;
  int64_t i = 0;
  double d = 0;
  bool overflowed = false;  // Parsed from text too large for a double (1e999).
  std::string text() const { return is_int ? absl::StrCat(i) : absl::StrCat(d); }
};

// Writes `v` as a T into *out, or says why it does not fit.
template <typename T>
absl::Status Store(const Value& v, T* out) {
  const auto misfit = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("value ", v.text(), " does not fit ",
                                                   DataTypeString(DataTypeOf<T>::value), why));
  };
  if (v.overflowed) return misfit(" (it is beyond the range of a double)");
  if constexpr (std::is_same_v<T, bool>) {
    const double x = v.is_int ? static_cast<double>(v.i) : v.d;
    if (x != 0 && x != 1) return misfit(" (a bool is 0 or 1, true or false)");
    *out = x == 1;
  } else if constexpr (std::is_integral_v<T>) {
    int64_t i = v.i;
    if (!v.is_int) {
      // Doubles in [-2^63, 2^63) convert to int64 exactly when integral.
      if (!std::isfinite(v.d) || v.d < -9223372036854775808.0 || v.d >= 9223372036854775808.0) {
        return misfit("");
      }
      if (v.d != std::trunc(v.d)) return misfit(" (it is not an integer)");
      i = static_cast<int64_t>(v.d);
    }
    if (i < std::numeric_limits<T>::min() || i > std::numeric_limits<T>::max()) return misfit("");
    *out = static_cast<T>(i);
  } else {
    const double x = v.is_int ? static_cast<double>(v.i) : v.d;
    if (std::isfinite(x) && std::fabs(x) > std::numeric_limits<T>::max()) return misfit("");
    *out = static_cast<T>(x);
  }
  return absl::OkStatus();
}

absl::Status StoreAs(const Value& v, Tensor* t, int64_t index) {
  absl::Status s;
  VisitDataType(t->dtype(), [&](auto zero) { s = Store(v, &t->flat<decltype(zero)>()[index]); });
  return s;
}

// Parses one literal item: an integer (kept exact), a number strtod reads whole, true or false.
bool ParseItem(absl::string_view text, Value* v) {
  *v = Value();
  if (text == "true" || text == "false") {
    v->is_int = true;
    v->i = text == "true";
    return true;
  }
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0]))) return false;
  if (absl::SimpleAtoi(text, &v->i)) {
    v->is_int = true;
    return true;
  }
  const std::string s(text);
  char* end = nullptr;
  errno = 0;
  v->d = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) return false;
  v->overflowed = errno == ERANGE && std::isinf(v->d);
  return true;
}

}  // namespace

bool LooksLikeLiteral(absl::string_view text) {
  Value v;
  return absl::StartsWith(text, "[") || absl::StartsWith(text, "\"") || ParseItem(text, &v);
}

namespace {

// Reads the nested lists of a literal: their shape (every sublist at one depth of one length,
// every item at one depth) and their items' text, flat in row-major order. A string item is in
// double quotes, with C escapes (\" \\ \n \x41 ...) inside; other items end at ',' or ']'.
class LiteralReader {
 public:
  explicit LiteralReader(absl::string_view text) : text_(text) {}

  absl::Status Read(std::vector<int64_t>* dims, std::vector<std::string>* items,
                    std::vector<bool>* quoted) {
    DFLOW_RETURN_IF_ERROR(Value(0));
    SkipSpace();
    if (pos_ != text_.size()) {
      return Fail(absl::StrCat("unexpected '", text_.substr(pos_, 1), "' at offset ", pos_));
    }
    const size_t rank = leaf_depth_ >= 0 ? static_cast<size_t>(leaf_depth_) : dims_.size();
    if (dims_.size() != rank) return Fail("its lists are nested to different depths");
    *dims = dims_;
    *items = std::move(items_);
    *quoted = std::move(quoted_);
    return absl::OkStatus();
  }

 private:
  absl::Status Fail(absl::string_view why) const {
    return absl::InvalidArgumentError(absl::StrCat("'", text_, "' ", why));
  }
  void SkipSpace() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }

  absl::Status Value(int depth) {
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == '[') {
      if (leaf_depth_ >= 0 && leaf_depth_ <= depth) return Fail("is ragged: a list among items");
      ++pos_;
      int64_t count = 0;
      SkipSpace();
      if (pos_ < text_.size() && text_[pos_] == ']') {
        ++pos_;
      } else {
        while (true) {
          DFLOW_RETURN_IF_ERROR(Value(depth + 1));
          ++count;
          SkipSpace();
          if (pos_ >= text_.size()) return Fail("is not a list: it must end with ']'");
          if (text_[pos_] == ']') {
            ++pos_;
            break;
          }
          if (text_[pos_] != ',') {
            return Fail(absl::StrCat("has '", text_.substr(pos_, 1), "' at offset ", pos_,
                                     " where ',' or ']' belongs"));
          }
          ++pos_;
        }
      }
      // Inner lists end first: a depth's length is known once its first list ends.
      if (static_cast<size_t>(depth) >= dims_.size()) dims_.resize(depth + 1, -1);
      if (dims_[depth] < 0) {
        dims_[depth] = count;
      } else if (dims_[depth] != count) {
        return Fail(absl::StrCat("is ragged: lists at depth ", depth, " have ", dims_[depth],
                                 " and ", count, " items"));
      }
      return absl::OkStatus();
    }
    // An item.
    if (leaf_depth_ < 0) leaf_depth_ = depth;
    if (leaf_depth_ != depth || static_cast<size_t>(depth) < dims_.size()) {  // [[1],2]
      return Fail("is ragged: items at different depths");
    }
    if (pos_ < text_.size() && text_[pos_] == '"') {
      size_t end = pos_ + 1;
      while (end < text_.size() && text_[end] != '"') end += text_[end] == '\\' ? 2 : 1;
      if (end >= text_.size()) return Fail("has a string without its closing '\"'");
      std::string value, error;
      if (!absl::CUnescape(text_.substr(pos_ + 1, end - pos_ - 1), &value, &error)) {
        return Fail(absl::StrCat("has a bad escape in a string: ", error));
      }
      items_.push_back(std::move(value));
      quoted_.push_back(true);
      pos_ = end + 1;
      return absl::OkStatus();
    }
    size_t end = pos_;
    while (end < text_.size() && text_[end] != ',' && text_[end] != ']') ++end;
    items_.emplace_back(absl::StripAsciiWhitespace(text_.substr(pos_, end - pos_)));
    quoted_.push_back(false);
    if (items_.back().empty()) {
      return Fail(absl::StrCat("has an empty item at position ", items_.size() - 1));
    }
    pos_ = end;
    return absl::OkStatus();
  }

  absl::string_view text_;
  size_t pos_ = 0;
  int leaf_depth_ = -1;
  std::vector<int64_t> dims_;
  std::vector<std::string> items_;
  std::vector<bool> quoted_;
};

}  // namespace

absl::StatusOr<Tensor> ParseLiteral(absl::string_view text, DataType dtype,
                                    const std::string& what) {
  const auto fail = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("feed '", what, "': ", why));
  };
  if (!HasStorage(dtype) || dtype == DT_RESOURCE) {
    return fail(absl::StrCat("cannot feed ", DataTypeString(dtype)));
  }
  std::vector<int64_t> dims;
  std::vector<std::string> items;
  std::vector<bool> quoted;
  const absl::Status read = LiteralReader(text).Read(&dims, &items, &quoted);
  if (!read.ok()) return fail(read.message());
  const TensorShape shape(dims);
  if (shape.num_elements() != static_cast<int64_t>(items.size())) {
    return fail(absl::StrCat("'", text, "' holds ", items.size(), " items for shape ",
                             shape.DebugString()));
  }
  DFLOW_ASSIGN_OR_RETURN(Tensor t, Tensor::Allocate(dtype, shape));
  const bool is_list = !dims.empty();
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string where = is_list ? absl::StrCat(" (item ", i, ")") : "";
    if (dtype == DT_STRING) {
      if (!quoted[i]) {
        return fail(absl::StrCat("'", items[i], "' is not a string in double quotes", where));
      }
      t.flat<std::string>()[i] = std::move(items[i]);
      continue;
    }
    Value v;
    if (quoted[i] || !ParseItem(items[i], &v)) {
      return fail(absl::StrCat("'", items[i], "' in '", text, "' is not a number", where,
                               quoted[i] ? absl::StrCat(" (the feed is ", DataTypeString(dtype), ")")
                                         : ""));
    }
    const absl::Status s = StoreAs(v, &t, static_cast<int64_t>(i));
    if (!s.ok()) return fail(absl::StrCat(s.message(), where));
  }
  return t;
}

absl::StatusOr<Tensor> ConvertValues(const Tensor& t, DataType dtype, double scale,
                                     const std::string& what) {
  DFLOW_ASSIGN_OR_RETURN(Tensor out, Tensor::Allocate(dtype, t.shape()));
  absl::Status s;
  VisitDataType(t.dtype(), [&](auto zero) {
    using From = decltype(zero);
    const auto in = t.flat<From>();
    for (int64_t i = 0; i < t.NumElements() && s.ok(); ++i) {
      Value v;
      if constexpr (std::is_integral_v<From>) {
        v.is_int = scale == 1;
        v.i = static_cast<int64_t>(in[i]);
        v.d = static_cast<double>(in[i]) * scale;
      } else {
        v.d = static_cast<double>(in[i]) * scale;
      }
      s = StoreAs(v, &out, i);
      if (!s.ok()) s = absl::InvalidArgumentError(absl::StrCat(what, ": element ", i, ": ", s.message()));
    }
  });
  DFLOW_RETURN_IF_ERROR(s);
  return out;
}

}  // namespace dflow
