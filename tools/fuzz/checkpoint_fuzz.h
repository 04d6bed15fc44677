// The checkpoint fuzzing entry: arbitrary bytes as a V2 checkpoint (PREFIX.index, a LevelDB table,
// and PREFIX.data-00000-of-00001), read with ReadTensorBundle and restored with RestoreCheckpoint.
//
// Input layout (byte 0 picks the form):
//   raw    (bit 0 clear): u32 LE n, then n bytes of index file, then the data file
//   built  (bit 0 set):   u16 LE count, then count entries {u8 key length, key, u16 LE value
//                         length, value}, then the data file; the index table is built from the
//                         entries (sorted, last of equal keys kept) with valid block checksums,
//                         so the fuzzer reaches the header and entry checks. With bit 1 set, each
//                         value that parses as a BundleEntryProto gets the crc32c of the data
//                         bytes it points at, so it reaches the tensor decoding too.
#ifndef DFLOW_TOOLS_FUZZ_CHECKPOINT_FUZZ_H_
#define DFLOW_TOOLS_FUZZ_CHECKPOINT_FUZZ_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace dflow {

// Writes the checkpoint that `input` (the layout above) describes as PREFIX.index and
// PREFIX.data-00000-of-00001.
absl::Status WriteFuzzCheckpoint(absl::string_view input, const std::string& prefix);

// Reads and restores the checkpoint `data` describes into a session with float [2] variable "a"
// and int32 [?] variable "b". Any outcome but a crash, a sanitizer report, a hang, or a failed
// restore that changed a variable (reported as Internal) is fine.
absl::Status RunCheckpointBytes(const uint8_t* data, size_t size);

// The bundle at `prefix` in the built form (its index table's entries and its data file), with
// bit 1 (fix checksums) as given: seeds for the corpus.
absl::StatusOr<std::string> CheckpointFuzzInput(const std::string& prefix, bool fix_checksums);

}  // namespace dflow

#endif  // DFLOW_TOOLS_FUZZ_CHECKPOINT_FUZZ_H_
