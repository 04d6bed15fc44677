// TensorFlow's data-file encoding of a string tensor in a tensor bundle (kernels/tensor_bundle):
// every length as a varint64, the masked crc32c of the lengths, then every string's bytes. The
// entry's crc32c covers the lengths (each as a little-endian uint32, or uint64 past 2^32-1, not
// as varints), the 4 length-checksum bytes and the strings' bytes.
#ifndef DFLOW_KERNELS_TENSOR_BUNDLE_STRINGS_H_
#define DFLOW_KERNELS_TENSOR_BUNDLE_STRINGS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/tensor.h"

namespace dflow {

// Appends the encoding of string tensor `t` to *out; returns the entry's (unmasked) crc32c.
uint32_t EncodeStringTensor(const Tensor& t, std::string* out);

// Decodes a string tensor of `shape` from its data-file bytes, checking the lengths' checksum and
// the entry's `masked_crc32c`.
absl::StatusOr<Tensor> DecodeStringTensor(absl::string_view encoded, const TensorShape& shape,
                                          uint32_t masked_crc32c);

}  // namespace dflow

#endif  // DFLOW_KERNELS_TENSOR_BUNDLE_STRINGS_H_
