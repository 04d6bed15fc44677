#!/usr/bin/env bash
# The sanitizer subset (docs/hostile_input.md): the hostile-input, fuzz-replay and file-format
# tests under AddressSanitizer and UndefinedBehaviorSanitizer together (.bazelrc's --config=asan
# and --config=ubsan, GCC's). Extra arguments go to `bazel test` (e.g. --jobs=2).
#
#   tools/run_sanitizers.sh [BAZEL_TEST_FLAGS...]
#
# .ci/run runs it after the whole suite (the whole suite sanitized would not fit CI's 90 minutes:
# docs/hostile_input.md has the measured cost).
set -uo pipefail
if [[ ${1:-} == --help ]]; then
  sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit 0
fi
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

tests=(
  //tests:hostile_input_test
  //tests:graph_fuzz_test
  //tests:feed_fuzz_test
  //tests:file_fuzz_test
  //tests:checkpoint_test
  //tests:tensor_bundle_test
  //tests:saved_model_test
  //tests:saved_model_export_test
  //tests:session_run_test
  //tests:audio_ops_test
)
echo "run_sanitizers: ${#tests[@]} tests under --config=asan --config=ubsan"
bazel test --config=asan --config=ubsan "$@" "${tests[@]}"
