// Tensors in files: NumPy .npy (read and write) and IDX (read), as session_run uses them.
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

// A literal feed, strictly parsed: a number, true/false, a string in double quotes (C escapes
// inside; only for string feeds), or nested lists of them ([a,b], [[1,0],[1,1]]: rectangular,
// no empty items; [] is shape [0]). Each value must fit `dtype` exactly: 1.5, 1e10, nan or inf as int32, 2 as bool,
// 1e39 as float are errors saying so. Errors name `what` (the feed).
absl::StatusOr<Tensor> ParseLiteral(absl::string_view text, DataType dtype,
                                    const std::string& what);
// True when `text` reads as a literal (see ParseLiteral: a number, or starts with '[' or '"')
// rather than a file name.
bool LooksLikeLiteral(absl::string_view text);
// `t`'s values (times `scale`, when not 1) as `dtype`, each checked to fit as in ParseLiteral:
// an int64 holding 2^62 does not become an int32. Errors name `what`.
absl::StatusOr<Tensor> ConvertValues(const Tensor& t, DataType dtype, double scale,
                                     const std::string& what);

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
