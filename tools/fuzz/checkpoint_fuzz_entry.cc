// libFuzzer's entry point for the checkpoint target; built only by tools/fuzz/run_fuzzer.sh.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "tools/fuzz/checkpoint_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::Status s = dflow::RunCheckpointBytes(data, size);
  if (s.code() == absl::StatusCode::kInternal && s.message().find("changed a variable") !=
                                                     absl::string_view::npos) {
    std::abort();  // A failed restore must change nothing.
  }
  return 0;
}
