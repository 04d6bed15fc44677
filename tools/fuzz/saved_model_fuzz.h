// The SavedModel fuzzing entry: arbitrary bytes as a SavedModel folder, loaded with
// LoadSavedModel and its signatures run.
//
// Input layout: u32 LE n, then n bytes of saved_model.pb, then (when any bytes are left) a
// checkpoint in tools/fuzz/checkpoint_fuzz.h's layout, written as variables/variables.
#ifndef DFLOW_TOOLS_FUZZ_SAVED_MODEL_FUZZ_H_
#define DFLOW_TOOLS_FUZZ_SAVED_MODEL_FUZZ_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace dflow {

// Reads the SavedModel, describes its meta graphs, loads the first meta graph's tag set and runs
// each signature on small zero-filled feeds of the inputs' dtypes and shapes. Any outcome but a
// crash, a sanitizer report or a hang is fine.
absl::Status RunSavedModelBytes(const uint8_t* data, size_t size);

// The SavedModel folder `dir` (saved_model.pb and, when present, variables/variables) in the
// layout above: seeds for the corpus.
absl::StatusOr<std::string> SavedModelFuzzInput(const std::string& dir);

}  // namespace dflow

#endif  // DFLOW_TOOLS_FUZZ_SAVED_MODEL_FUZZ_H_
