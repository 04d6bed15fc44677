#include "kernels/tensor_bundle_strings.h"

#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "graph/status_macros.h"
#include "kernels/crc32c.h"

namespace dflow {
namespace {

uint32_t ExtendWithLength(uint32_t crc, uint64_t length) {
  if (length <= UINT32_MAX) {
    const uint32_t narrow = static_cast<uint32_t>(length);
    return crc32c::Extend(crc, &narrow, sizeof(narrow));
  }
  return crc32c::Extend(crc, &length, sizeof(length));
}

void PutVarint64(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

bool GetVarint64(absl::string_view in, size_t* pos, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && *pos < in.size(); shift += 7) {
    const uint8_t byte = static_cast<uint8_t>(in[(*pos)++]);
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}

}  // namespace

uint32_t EncodeStringTensor(const Tensor& t, std::string* out) {
  uint32_t crc = 0;
  for (const std::string& v : t.flat<std::string>()) {
    PutVarint64(out, v.size());
    crc = ExtendWithLength(crc, v.size());
  }
  const uint32_t length_checksum = crc32c::Mask(crc);
  char le[4];
  std::memcpy(le, &length_checksum, 4);  // Little-endian machines only (see CheckHeader).
  out->append(le, 4);
  crc = crc32c::Extend(crc, le, 4);
  for (const std::string& v : t.flat<std::string>()) {
    out->append(v);
    crc = crc32c::Extend(crc, v.data(), v.size());
  }
  return crc;
}

absl::StatusOr<Tensor> DecodeStringTensor(absl::string_view encoded, const TensorShape& shape,
                                          uint32_t masked_crc32c) {
  DFLOW_ASSIGN_OR_RETURN(Tensor t, Tensor::Allocate(DT_STRING, shape));
  absl::Span<std::string> out = t.flat<std::string>();
  std::vector<uint64_t> lengths(out.size());
  size_t pos = 0;
  uint32_t crc = 0;
  uint64_t total = 0;
  for (uint64_t& length : lengths) {
    if (!GetVarint64(encoded, &pos, &length)) {
      return absl::DataLossError("the string lengths are cut off or malformed");
    }
    crc = ExtendWithLength(crc, length);
    total += length;
  }
  if (encoded.size() - pos < 4) return absl::DataLossError("the length checksum is cut off");
  uint32_t length_checksum;
  std::memcpy(&length_checksum, encoded.data() + pos, 4);
  if (length_checksum != crc32c::Mask(crc)) {
    return absl::DataLossError(absl::StrFormat(
        "the string lengths fail their checksum (0x%08x, stored 0x%08x): the file is corrupt",
        crc32c::Mask(crc), length_checksum));
  }
  crc = crc32c::Extend(crc, encoded.data() + pos, 4);
  pos += 4;
  if (total != encoded.size() - pos) {
    return absl::DataLossError(absl::StrCat("the lengths add up to ", total, " bytes but the entry has ",
                                            encoded.size() - pos, " after them"));
  }
  for (size_t i = 0; i < out.size(); ++i) {
    out[i].assign(encoded.data() + pos, lengths[i]);
    crc = crc32c::Extend(crc, encoded.data() + pos, lengths[i]);
    pos += lengths[i];
  }
  if (crc != crc32c::Unmask(masked_crc32c)) {
    return absl::DataLossError(absl::StrFormat(
        "fails its checksum (crc32c 0x%08x, index says 0x%08x): the file is corrupt", crc,
        crc32c::Unmask(masked_crc32c)));
  }
  return t;
}

}  // namespace dflow
