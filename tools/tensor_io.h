// Tensors in files: NumPy .npy (read and write) and IDX (read), as session_run uses them.
// (Literal feeds: tools/tensor_literal.h.)
#ifndef DFLOW_TOOLS_TENSOR_IO_H_
#define DFLOW_TOOLS_TENSOR_IO_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/tensor.h"

namespace dflow {

// Parses a .npy file's bytes: format versions 1-3, little-endian (or byte-order free)
// float32/float64/int32/int64/uint8/bool and byte strings |S<n> (trailing NULs dropped, as numpy
// reads them) in C order. Errors name `what` (the file).
absl::StatusOr<Tensor> ParseNpy(const std::string& data, const std::string& what);
// The .npy (version 1.0) encoding of `tensor`; strings as |S<longest, at least 1>, NUL-padded.
absl::StatusOr<std::string> EncodeNpy(const Tensor& tensor);

// Parses an IDX file's bytes (MNIST's format): uint8, int8->int32, int16->int32, int32,
// float32 and float64 elements, big-endian.
absl::StatusOr<Tensor> ParseIdx(const std::string& data, const std::string& what);

// Reads a whole file, gunzipping it when it starts with gzip's magic bytes.
absl::StatusOr<std::string> ReadFileMaybeGzip(const std::string& path);

// Reads an .npy or IDX file (optionally gzipped), told apart by their magic bytes.
struct LoadedTensor {
  Tensor tensor;
  bool from_idx = false;
};
absl::StatusOr<LoadedTensor> ReadTensorFile(const std::string& path);

}  // namespace dflow

#endif  // DFLOW_TOOLS_TENSOR_IO_H_
