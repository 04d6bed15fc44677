// CRC-32C (Castagnoli), the checksum of TensorFlow's checkpoints and of LevelDB's blocks.
//
// Debian 12 packages no C/C++ crc32c library (only a Python one), and LevelDB keeps its own
// internal, so this is a small table implementation: see docs/checkpoints.md.
#ifndef DFLOW_KERNELS_CRC32C_H_
#define DFLOW_KERNELS_CRC32C_H_

#include <cstddef>
#include <cstdint>

namespace dflow {
namespace crc32c {

// The crc32c of `data` appended to bytes whose crc32c is `crc`.
uint32_t Extend(uint32_t crc, const void* data, size_t size);

inline uint32_t Value(const void* data, size_t size) { return Extend(0, data, size); }

// As TensorFlow and LevelDB store a crc next to data it covers: rotated and offset, since the crc
// of bytes that themselves hold crcs is otherwise degenerate.
inline constexpr uint32_t kMaskDelta = 0xa282ead8u;
inline uint32_t Mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + kMaskDelta; }
inline uint32_t Unmask(uint32_t masked) {
  const uint32_t rot = masked - kMaskDelta;
  return (rot >> 17) | (rot << 15);
}

}  // namespace crc32c
}  // namespace dflow

#endif  // DFLOW_KERNELS_CRC32C_H_
