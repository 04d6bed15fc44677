// Checks the block handles of a LevelDB-format table (a V2 checkpoint index) against the file's
// size before LevelDB reads it. LevelDB allocates a block of the size a handle states before it
// reads (and checksums) the block, so a corrupt handle would ask for up to 2^64 bytes; this
// check makes such a file a DataLoss error instead. Thread-compatible; reads through `file`.
#ifndef DFLOW_KERNELS_TABLE_HANDLES_H_
#define DFLOW_KERNELS_TABLE_HANDLES_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "leveldb/env.h"

namespace dflow {

// OK when the footer's index handle and every data-block handle in the index block lie inside
// the file's `file_size` bytes (each with its 5-byte trailer). Otherwise DataLoss naming `path`.
// A table this check passes may still be corrupt (LevelDB's checksums find the rest).
absl::Status CheckTableBlockHandles(leveldb::RandomAccessFile* file, uint64_t file_size,
                                    absl::string_view path);

}  // namespace dflow

#endif  // DFLOW_KERNELS_TABLE_HANDLES_H_
