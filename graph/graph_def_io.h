// Reading and writing GraphDef files, binary (.pb) or text (.pbtxt).
#ifndef DFLOW_GRAPH_GRAPH_DEF_IO_H_
#define DFLOW_GRAPH_GRAPH_DEF_IO_H_

#include <string>

#include "absl/status/status.h"
#include "google/protobuf/message.h"
#include "proto/graph.pb.h"

namespace dflow {

// Reads a binary or text proto, telling them apart by content, not by the file name (real
// files named .pb are sometimes text). Errors name the file.
absl::Status ReadProtoFile(const std::string& path, google::protobuf::Message* message);
inline absl::Status ReadGraphDefFile(const std::string& path, GraphDef* def) {
  return ReadProtoFile(path, def);
}

enum class ProtoFormat { kBinary, kText };

// Writes atomically: to a temporary file beside `path`, then renamed over it, so a crash never
// leaves a half-written file under the final name.
absl::Status WriteProtoFile(const std::string& path, const google::protobuf::Message& message,
                            ProtoFormat format);

// Writes a graph atomically: text when `path` ends in .pbtxt, else binary.
absl::Status WriteGraphDefFile(const std::string& path, const GraphDef& def);

// Writes `contents` to `path` atomically (temporary file + rename).
absl::Status WriteFileAtomically(const std::string& path, const std::string& contents);

}  // namespace dflow

#endif  // DFLOW_GRAPH_GRAPH_DEF_IO_H_
