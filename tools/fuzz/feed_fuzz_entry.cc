// libFuzzer's entry point for the feed target; built only by tools/fuzz/run_fuzzer.sh (clang).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "tools/fuzz/feed_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::Status s = dflow::RunFeedBytes(data, size);
  if (s.code() == absl::StatusCode::kInternal) std::abort();  // A round trip changed data.
  return 0;
}
