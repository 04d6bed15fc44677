// The fuzzing entry: arbitrary bytes as a GraphDef, through import, Session creation and Run.
#ifndef DFLOW_TOOLS_FUZZ_GRAPH_FUZZ_H_
#define DFLOW_TOOLS_FUZZ_GRAPH_FUZZ_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"

namespace dflow {

// Parses `data` as a binary GraphDef, imports it, creates a Session and runs it once, fetching
// the first output of the last node (or running it as a target). Any outcome but a crash,
// a sanitizer report or a hang is fine; the status says how far it got.
absl::Status RunGraphDefBytes(const uint8_t* data, size_t size);

}  // namespace dflow

#endif  // DFLOW_TOOLS_FUZZ_GRAPH_FUZZ_H_
