#include "graph/graph_def_io.h"

#include "absl/strings/match.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"

namespace dflow {
namespace {

// Text protos are printable ASCII; binary GraphDefs start with a field tag byte below 0x20
// or contain other control bytes early on.
bool LooksLikeText(const std::string& data) {
  const size_t n = std::min<size_t>(data.size(), 4096);
  for (size_t i = 0; i < n; ++i) {
    const unsigned char c = static_cast<unsigned char>(data[i]);
    if (c < 0x20 && c != '\n' && c != '\r' && c != '\t') return false;
  }
  return !data.empty();
}

// Keeps the first error of a text parse (with its 1-based line and column) instead of
// protobuf's logging it.
class FirstError : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (!message_.empty()) return;
    message_ = absl::StrCat("line ", line + 1, " column ", column + 1, ": ", message);
  }
  void AddWarning(int, google::protobuf::io::ColumnNumber, const std::string&) override {}
  const std::string& message() const { return message_; }

 private:
  std::string message_;
};

}  // namespace

absl::Status ReadProtoFile(const std::string& path, google::protobuf::Message* message) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot open '", path, "': ", std::strerror(errno)));
  }
  // One copy of the bytes (a stringstream would hold two): graphs may be hundreds of MB.
  std::error_code ec;
  const bool regular = std::filesystem::is_regular_file(path, ec);
  const uintmax_t size = regular ? std::filesystem::file_size(path, ec) : 0;
  std::string data;
  if (regular && !ec && size > 0) {
    data.resize(static_cast<size_t>(size));
    in.read(data.data(), static_cast<std::streamsize>(size));
    if (!in) return absl::DataLossError(absl::StrCat("cannot read '", path, "'"));
  } else {
    std::stringstream buffer;  // Not a regular file (a pipe): read it as a stream.
    buffer << in.rdbuf();
    data = buffer.str();
  }
  if (data.empty()) return absl::InvalidArgumentError(absl::StrCat("'", path, "' is empty"));
  if (LooksLikeText(data)) {
    google::protobuf::TextFormat::Parser parser;
    parser.AllowUnknownField(true);  // TensorFlow fields dflow does not model.
    FirstError error;
    parser.RecordErrorsTo(&error);
    if (parser.ParseFromString(data, message)) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat("'", path, "' is not a valid text ", message->GetTypeName(),
                     error.message().empty() ? "" : ": ", error.message()));
  }
  if (!message->ParseFromString(data)) {
    return absl::InvalidArgumentError(absl::StrCat("'", path, "' is not a valid binary ",
                                                   message->GetTypeName(),
                                                   " (corrupt or truncated)"));
  }
  return absl::OkStatus();
}

absl::Status WriteFileAtomically(const std::string& path, const std::string& contents) {
  const std::string tmp = absl::StrCat(path, ".tmp.", getpid());
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot write '", tmp, "': ", std::strerror(errno)));
  }
  const bool ok = std::fwrite(contents.data(), 1, contents.size(), f) == contents.size() &&
                  std::fflush(f) == 0 && fsync(fileno(f)) == 0;
  if (std::fclose(f) != 0 || !ok) {
    std::remove(tmp.c_str());
    return absl::DataLossError(absl::StrCat("failed writing '", tmp, "'"));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    return absl::PermissionDeniedError(
        absl::StrCat("cannot rename '", tmp, "' to '", path, "': ", std::strerror(err)));
  }
  return absl::OkStatus();
}

absl::Status WriteGraphDefFile(const std::string& path, const GraphDef& def) {
  return WriteProtoFile(path, def,
                        absl::EndsWith(path, ".pbtxt") ? ProtoFormat::kText : ProtoFormat::kBinary);
}

absl::Status WriteProtoFile(const std::string& path, const google::protobuf::Message& message,
                            ProtoFormat format) {
  std::string data;
  if (format == ProtoFormat::kText) {
    if (!google::protobuf::TextFormat::PrintToString(message, &data)) {
      return absl::InternalError("cannot print proto as text");
    }
  } else if (!message.SerializeToString(&data)) {
    return absl::InternalError("cannot serialize proto");
  }
  return WriteFileAtomically(path, data);
}

}  // namespace dflow
