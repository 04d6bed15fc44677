// libFuzzer's entry point; built only by tools/fuzz/run_fuzzer.sh (clang).
#include <cstddef>
#include <cstdint>

#include "tools/fuzz/graph_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  dflow::RunGraphDefBytes(data, size).IgnoreError();
  return 0;
}
