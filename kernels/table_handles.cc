#include "kernels/table_handles.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace dflow {
namespace {

// From LevelDB's documented table format (doc/table_format.md).
constexpr uint64_t kFooterSize = 48;  // Two handles, padding, an 8-byte magic number.
constexpr uint64_t kBlockTrailerSize = 5;  // A type byte and a crc32c after each block.
constexpr uint64_t kMagic = 0xdb4775248b80fb57ull;

bool GetVarint64(absl::string_view* in, uint64_t* value) {
  *value = 0;
  for (int shift = 0; shift <= 63 && !in->empty(); shift += 7) {
    const uint64_t byte = static_cast<unsigned char>(in->front());
    in->remove_prefix(1);
    *value |= (byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

struct Handle {
  uint64_t offset = 0, size = 0;
};

bool GetHandle(absl::string_view* in, Handle* h) {
  return GetVarint64(in, &h->offset) && GetVarint64(in, &h->size);
}

// The block with its trailer ends within the first `limit` bytes (no overflow in the sums).
bool Inside(const Handle& h, uint64_t limit) {
  return h.offset <= limit && h.size <= limit - h.offset &&
         kBlockTrailerSize <= limit - h.offset - h.size;
}

absl::Status Corrupt(absl::string_view path, absl::string_view what) {
  return absl::DataLossError(absl::StrCat("checkpoint index '", path, "' is corrupt: ", what));
}

}  // namespace

absl::Status CheckTableBlockHandles(leveldb::RandomAccessFile* file, uint64_t file_size,
                                    absl::string_view path) {
  if (file_size < kFooterSize) return Corrupt(path, "shorter than a table's footer");
  const uint64_t body = file_size - kFooterSize;
  std::string footer_buf(kFooterSize, '\0');
  leveldb::Slice footer;
  if (!file->Read(body, kFooterSize, &footer, footer_buf.data()).ok() ||
      footer.size() != kFooterSize) {
    return Corrupt(path, "its footer cannot be read");
  }
  uint64_t magic = 0;
  for (int i = 0; i < 8; ++i) magic |= uint64_t{static_cast<unsigned char>(footer[40 + i])} << (8 * i);
  if (magic != kMagic) return Corrupt(path, "not a LevelDB table (bad magic number)");
  absl::string_view in(footer.data(), 40);
  Handle meta, index;
  if (!GetHandle(&in, &meta) || !GetHandle(&in, &index) || !Inside(index, body)) {
    return Corrupt(path, "the footer's index block handle lies outside the file");
  }

  // Index block: entries (shared, non-shared and value lengths, key suffix, value = a data
  // block's handle), then the restart offsets and their count, each a fixed 32-bit integer.
  std::string block_buf(index.size, '\0');
  leveldb::Slice block;
  if (!file->Read(index.offset, index.size, &block, block_buf.data()).ok() ||
      block.size() != index.size || index.size < 4) {
    return Corrupt(path, "its index block cannot be read");
  }
  uint32_t restarts = 0;
  for (int i = 0; i < 4; ++i) {
    restarts |= uint32_t{static_cast<unsigned char>(block[index.size - 4 + i])} << (8 * i);
  }
  if (restarts > (index.size - 4) / 4) return Corrupt(path, "its index block is malformed");
  in = absl::string_view(block.data(), index.size - 4 - 4 * uint64_t{restarts});
  while (!in.empty()) {
    uint64_t shared, non_shared, value_size;
    if (!GetVarint64(&in, &shared) || !GetVarint64(&in, &non_shared) ||
        !GetVarint64(&in, &value_size) || non_shared > in.size() ||
        value_size > in.size() - non_shared) {
      return Corrupt(path, "its index block is malformed");
    }
    in.remove_prefix(non_shared);
    absl::string_view value = in.substr(0, value_size);
    in.remove_prefix(value_size);
    Handle data;
    if (!GetHandle(&value, &data) || !Inside(data, body)) {
      return Corrupt(path, "a block handle lies outside the file");
    }
  }
  return absl::OkStatus();
}

}  // namespace dflow
