#include "tools/tensor_io.h"

#include <cerrno>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cctype>
#include <cstring>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "graph/status_macros.h"
#include "zlib.h"

namespace dflow {
namespace {

constexpr char kNpyMagic[] = "\x93NUMPY";
constexpr int64_t kMaxElements = int64_t{1} << 33;

absl::Status Bad(const std::string& what, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(what, ": ", message));
}

// The value of `key` in a .npy header dict, up to the next top-level ',' or '}'.
bool HeaderValue(absl::string_view header, absl::string_view key, std::string* value) {
  const std::string quoted = absl::StrCat("'", key, "'");
  size_t pos = header.find(quoted);
  if (pos == absl::string_view::npos) return false;
  pos = header.find(':', pos + quoted.size());
  if (pos == absl::string_view::npos) return false;
  size_t end = pos + 1;
  int depth = 0;
  for (; end < header.size(); ++end) {
    const char c = header[end];
    if (c == '(' || c == '[') ++depth;
    if (c == ')' || c == ']') --depth;
    if (depth == 0 && (c == ',' || c == '}')) break;
    if (depth < 0) return false;
  }
  *value = std::string(absl::StripAsciiWhitespace(header.substr(pos + 1, end - pos - 1)));
  return true;
}

// The element count of a shape read from a file, checked against overflow and the element limit.
absl::StatusOr<int64_t> CheckedElements(const TensorShape& shape, const std::string& what) {
  const int64_t n = CheckedNumElements(shape.dim_sizes());
  if (n < 0 || n > kMaxElements) {
    return Bad(what, absl::StrCat("shape ", shape.DebugString(), " has too many elements (at most ",
                                  kMaxElements, ")"));
  }
  return n;
}

uint32_t BigEndian32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

}  // namespace

absl::StatusOr<Tensor> ParseNpy(const std::string& data, const std::string& what) {
  if (data.size() < 10 || data.compare(0, 6, kNpyMagic, 6) != 0) {
    return Bad(what, "not a .npy file (bad magic)");
  }
  const int major = static_cast<unsigned char>(data[6]);
  size_t header_len, offset;
  if (major == 1) {
    header_len = static_cast<unsigned char>(data[8]) | (static_cast<unsigned char>(data[9]) << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (data.size() < 12) return Bad(what, "truncated .npy header");
    header_len = 0;
    for (int i = 0; i < 4; ++i) header_len |= size_t{static_cast<unsigned char>(data[8 + i])} << (8 * i);
    offset = 12;
  } else {
    return Bad(what, absl::StrCat("unsupported .npy version ", major));
  }
  if (offset + header_len > data.size()) return Bad(what, "truncated .npy header");
  const absl::string_view header(data.data() + offset, header_len);
  std::string descr, fortran, shape_text;
  if (!HeaderValue(header, "descr", &descr) || !HeaderValue(header, "fortran_order", &fortran) ||
      !HeaderValue(header, "shape", &shape_text)) {
    return Bad(what, "malformed .npy header (needs descr, fortran_order and shape)");
  }
  if (fortran != "False") return Bad(what, "Fortran-order arrays are not supported");
  descr = std::string(absl::StripSuffix(absl::StripPrefix(descr, "'"), "'"));
  DataType dtype;
  int64_t string_width = 0;  // |S<n>: n bytes per element, NUL-padded.
  if (descr == "<f4") dtype = DT_FLOAT;
  else if (descr == "<f8") dtype = DT_DOUBLE;
  else if (descr == "<i4") dtype = DT_INT32;
  else if (descr == "<i8") dtype = DT_INT64;
  else if (descr == "|u1" || descr == "<u1") dtype = DT_UINT8;
  else if (descr == "|b1") dtype = DT_BOOL;
  else if (absl::StartsWith(descr, "|S") && absl::SimpleAtoi(descr.substr(2), &string_width) &&
           string_width >= 0) dtype = DT_STRING;
  else return Bad(what, absl::StrCat("unsupported .npy dtype '", descr, "'"));
  if (shape_text.size() < 2 || shape_text.front() != '(' || shape_text.back() != ')') {
    return Bad(what, absl::StrCat("malformed .npy shape '", shape_text, "'"));
  }
  TensorShape shape;
  for (absl::string_view part : absl::StrSplit(
           absl::string_view(shape_text).substr(1, shape_text.size() - 2), ',', absl::SkipWhitespace())) {
    int64_t d;
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(part), &d) || d < 0) {
      return Bad(what, absl::StrCat("malformed .npy shape '", shape_text, "'"));
    }
    shape.AddDim(d);
  }
  DFLOW_ASSIGN_OR_RETURN(const int64_t elements, CheckedElements(shape, what));
  const size_t element_bytes =
      dtype == DT_STRING ? static_cast<size_t>(string_width) : DataTypeSize(dtype);
  if (dtype == DT_STRING && string_width > (int64_t{1} << 31)) {
    return Bad(what, absl::StrCat("string width ", string_width, " is too large"));
  }
  if (element_bytes > 0 && static_cast<size_t>(elements) > (data.size() / element_bytes)) {
    return Bad(what, absl::StrCat("shape ", shape.DebugString(), " of ", descr,
                                  " needs more data bytes than the file has"));
  }
  const size_t bytes = static_cast<size_t>(elements) * element_bytes;
  const size_t available = data.size() - offset - header_len;
  if (available != bytes) {
    return Bad(what, absl::StrCat("shape ", shape.DebugString(), " of ", descr, " needs ", bytes,
                                  " data bytes but the file has ", available));
  }
  DFLOW_ASSIGN_OR_RETURN(Tensor t, Tensor::Allocate(dtype, shape));
  if (dtype == DT_STRING) {
    // numpy's bytes_ elements drop their trailing NULs.
    const char* p = data.data() + offset + header_len;
    for (std::string& v : t.flat<std::string>()) {
      size_t n = element_bytes;
      while (n > 0 && p[n - 1] == '\0') --n;
      v.assign(p, n);
      p += element_bytes;
    }
    return t;
  }
  if (bytes > 0) std::memcpy(t.data(), data.data() + offset + header_len, bytes);
  if (dtype == DT_BOOL) {
    for (bool& b : t.flat<bool>()) {
      unsigned char raw;
      std::memcpy(&raw, &b, 1);
      if (raw > 1) return Bad(what, "bool array holds a byte other than 0 or 1");
    }
  }
  return t;
}

absl::StatusOr<std::string> EncodeNpy(const Tensor& tensor) {
  std::string descr;
  switch (tensor.dtype()) {
    case DT_FLOAT: descr = "<f4"; break;
    case DT_DOUBLE: descr = "<f8"; break;
    case DT_INT32: descr = "<i4"; break;
    case DT_INT64: descr = "<i8"; break;
    case DT_UINT8: descr = "|u1"; break;
    case DT_BOOL: descr = "|b1"; break;
    case DT_STRING: {
      size_t width = 1;  // numpy's narrowest bytes_ type, also for empty strings.
      for (const std::string& v : tensor.flat<std::string>()) width = std::max(width, v.size());
      descr = absl::StrCat("|S", width);
      break;
    }
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("cannot write ", DataTypeString(tensor.dtype()), " as .npy"));
  }
  std::string shape = "(";
  for (int i = 0; i < tensor.dims(); ++i) absl::StrAppend(&shape, tensor.dim_size(i), ",");
  if (tensor.dims() > 1) shape.pop_back();
  shape += ")";
  std::string header =
      absl::StrCat("{'descr': '", descr, "', 'fortran_order': False, 'shape': ", shape, ", }");
  // Pad with spaces so the data starts on a 64-byte boundary; the header ends in '\n'.
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out(kNpyMagic, 6);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  out += header;
  if (tensor.dtype() == DT_STRING) {
    const size_t width = std::stoul(descr.substr(2));
    for (const std::string& v : tensor.flat<std::string>()) {
      out += v;
      out.append(width - v.size(), '\0');
    }
    return out;
  }
  out.append(static_cast<const char*>(tensor.data()), tensor.TotalBytes());
  return out;
}

absl::StatusOr<Tensor> ParseIdx(const std::string& data, const std::string& what) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  if (data.size() < 4 || p[0] != 0 || p[1] != 0) return Bad(what, "not an IDX file (bad magic)");
  const int type = p[2], rank = p[3];
  DataType dtype;
  int width;
  switch (type) {
    case 0x08: dtype = DT_UINT8; width = 1; break;
    case 0x09: dtype = DT_INT32; width = 1; break;
    case 0x0B: dtype = DT_INT32; width = 2; break;
    case 0x0C: dtype = DT_INT32; width = 4; break;
    case 0x0D: dtype = DT_FLOAT; width = 4; break;
    case 0x0E: dtype = DT_DOUBLE; width = 8; break;
    default: return Bad(what, absl::StrCat("unknown IDX element type 0x", absl::Hex(type)));
  }
  if (rank == 0 || data.size() < 4 + 4 * size_t(rank)) return Bad(what, "truncated IDX header");
  TensorShape shape;
  for (int i = 0; i < rank; ++i) shape.AddDim(BigEndian32(p + 4 + 4 * i));
  DFLOW_ASSIGN_OR_RETURN(const int64_t elements, CheckedElements(shape, what));
  const size_t offset = 4 + 4 * size_t(rank);
  const size_t bytes = static_cast<size_t>(elements) * width;
  if (data.size() - offset != bytes) {
    return Bad(what, absl::StrCat("IDX shape ", shape.DebugString(), " needs ", bytes,
                                  " data bytes but the file has ", data.size() - offset));
  }
  DFLOW_ASSIGN_OR_RETURN(Tensor t, Tensor::Allocate(dtype, shape));
  const unsigned char* src = p + offset;
  for (int64_t i = 0; i < elements; ++i, src += width) {
    switch (type) {
      case 0x08: t.flat<uint8_t>()[i] = src[0]; break;
      case 0x09: t.flat<int32_t>()[i] = static_cast<int8_t>(src[0]); break;
      case 0x0B: t.flat<int32_t>()[i] = static_cast<int16_t>((src[0] << 8) | src[1]); break;
      case 0x0C: t.flat<int32_t>()[i] = static_cast<int32_t>(BigEndian32(src)); break;
      case 0x0D: {
        const uint32_t bits = BigEndian32(src);
        std::memcpy(&t.flat<float>()[i], &bits, 4);
        break;
      }
      case 0x0E: {
        const uint64_t bits = (uint64_t{BigEndian32(src)} << 32) | BigEndian32(src + 4);
        std::memcpy(&t.flat<double>()[i], &bits, 8);
        break;
      }
    }
  }
  return t;
}

namespace {

// Files larger than this are refused rather than read into memory.
constexpr size_t kMaxFileBytes = size_t{1} << 32;

absl::Status OpenError(const std::string& path, int err) {
  std::string message = absl::StrCat(path, ": cannot open: ", std::strerror(err));
  if (err == ENOENT) return absl::NotFoundError(message);
  if (err == EACCES) return absl::PermissionDeniedError(message);
  return absl::UnavailableError(message);
}

absl::StatusOr<std::string> ReadGzipFile(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) return OpenError(path, errno != 0 ? errno : EIO);
  gzbuffer(file, 1 << 18);
  std::string data;
  std::vector<char> chunk(1 << 20);
  while (true) {
    int n = gzread(file, chunk.data(), static_cast<unsigned>(chunk.size()));
    if (n < 0) {
      int code = 0;
      std::string message = gzerror(file, &code);
      gzclose(file);
      return absl::DataLossError(
          absl::StrCat(path, ": corrupt or truncated gzip data (", message, ")"));
    }
    if (n == 0) break;
    data.append(chunk.data(), n);
    if (data.size() > kMaxFileBytes) {
      gzclose(file);
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": more than ", kMaxFileBytes, " bytes uncompressed; not MNIST data"));
    }
  }
  int code = 0;
  std::string message = gzerror(file, &code);
  int close_code = gzclose(file);
  if (code != Z_OK && code != Z_STREAM_END) {
    return absl::DataLossError(
        absl::StrCat(path, ": corrupt or truncated gzip data (", message, ")"));
  }
  if (close_code == Z_BUF_ERROR) {
    return absl::DataLossError(absl::StrCat(path, ": truncated gzip data (the stream ends early)"));
  }
  if (close_code != Z_OK) {
    return absl::DataLossError(
        absl::StrCat(path, ": error reading gzip data (code ", close_code, ")"));
  }
  return data;
}

absl::StatusOr<std::string> ReadPlainFile(std::FILE* file, const std::string& path) {
  std::string data;
  std::vector<char> chunk(1 << 20);
  while (true) {
    size_t n = std::fread(chunk.data(), 1, chunk.size(), file);
    data.append(chunk.data(), n);
    if (data.size() > kMaxFileBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": more than ", kMaxFileBytes, " bytes; not MNIST data"));
    }
    if (n < chunk.size()) break;
  }
  if (std::ferror(file)) {
    return absl::DataLossError(absl::StrCat(path, ": read error: ", std::strerror(errno)));
  }
  return data;
}

}  // namespace

absl::StatusOr<std::string> ReadFileMaybeGzip(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": is a folder, not a file"));
  }
  errno = 0;
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return OpenError(path, errno);
  unsigned char magic[2] = {0, 0};
  size_t got = std::fread(magic, 1, 2, file);
  const bool gzipped = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  if (gzipped) {
    std::fclose(file);
    return ReadGzipFile(path);
  }
  std::rewind(file);
  absl::StatusOr<std::string> data = ReadPlainFile(file, path);
  std::fclose(file);
  return data;
}

absl::StatusOr<LoadedTensor> ReadTensorFile(const std::string& path) {
  DFLOW_ASSIGN_OR_RETURN(const std::string data, ReadFileMaybeGzip(path));
  LoadedTensor loaded;
  absl::StatusOr<Tensor> t;
  if (absl::StartsWith(data, std::string(kNpyMagic, 6))) {
    t = ParseNpy(data, "'" + path + "'");
  } else if (data.size() >= 4 && data[0] == 0 && data[1] == 0) {
    t = ParseIdx(data, "'" + path + "'");
    loaded.from_idx = true;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("'", path, "' is neither a .npy nor an IDX file"));
  }
  DFLOW_ASSIGN_OR_RETURN(loaded.tensor, std::move(t));
  return loaded;
}

}  // namespace dflow
