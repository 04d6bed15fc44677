// libFuzzer's entry point for the SavedModel target; built only by tools/fuzz/run_fuzzer.sh.
#include <cstddef>
#include <cstdint>
#include <iostream>

#include "google/protobuf/stubs/logging.h"
#include "tools/fuzz/saved_model_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static bool quiet = [] {
    google::protobuf::SetLogHandler(nullptr);  // Invalid UTF-8 in names is expected here.
    std::cerr.setstate(std::ios::failbit);     // The loader's notes, once per input, are noise.
    return true;
  }();
  (void)quiet;
  dflow::RunSavedModelBytes(data, size).IgnoreError();
  return 0;
}
