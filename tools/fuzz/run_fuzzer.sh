#!/usr/bin/env bash
# Builds a fuzz target (libFuzzer + AddressSanitizer + UndefinedBehaviorSanitizer, with
# Debian's clang) and runs it for a bounded time over its seed corpus. A crash is copied into
# its regressions folder (replayed by //tests:graph_fuzz_test or //tests:feed_fuzz_test) and the
# script exits 1, as it does for any other abnormal libFuzzer exit. See docs/hostile_input.md.
#
#   tools/fuzz/run_fuzzer.sh [SECONDS] [TARGET]   default 60 s, target graph
#     graph        arbitrary bytes as a GraphDef: import, Session, Run (corpus/, regressions/)
#     feed         .npy, IDX and literal feeds (feed_corpus/, feed_regressions/)
#     checkpoint   V2 checkpoints: ReadTensorBundle, RestoreCheckpoint (checkpoint_corpus/,
#                  checkpoint_regressions/)
#     saved_model  SavedModel folders: LoadSavedModel, signatures run (saved_model_corpus/,
#                  saved_model_regressions/)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
seconds=${1:-60}
target=${2:-graph}
out=${FUZZ_BUILD_DIR:-/tmp/dflow_fuzz}
case "${target}" in
  graph) corpus=tools/fuzz/corpus; regressions=tools/fuzz/regressions ;;
  feed) corpus=tools/fuzz/feed_corpus; regressions=tools/fuzz/feed_regressions ;;
  checkpoint) corpus=tools/fuzz/checkpoint_corpus; regressions=tools/fuzz/checkpoint_regressions ;;
  saved_model) corpus=tools/fuzz/saved_model_corpus; regressions=tools/fuzz/saved_model_regressions ;;
  *)
    echo "run_fuzzer: unknown target '${target}' (graph, feed, checkpoint or saved_model)" >&2
    exit 2
    ;;
esac
# Inputs up to this many bytes: a GraphDef or feed is small; a SavedModel holds a whole graph.
case "${target}" in
  saved_model) max_len=32768 ;;
  checkpoint) max_len=4096 ;;
  *) max_len=2048 ;;
esac

missing=()
for package in clang libclang-rt-14-dev; do
  dpkg-query -W -f='${Status}' "${package}" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("${package}")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "run_fuzzer: installing ${missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

mkdir -p "${out}/gen" "${out}/obj" "${out}/corpus_${target}"
protoc --proto_path=. --cpp_out="${out}/gen" proto/*.proto
flags=(-std=c++17 -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined
       -fsanitize=fuzzer-no-link -I. -I"${out}/gen")
engine=(graph/*.cc ops/*.cc kernels/*.cc runtime/*.cc "${out}"/gen/proto/*.pb.cc)
if [[ ${target} == graph ]]; then
  sources=("${engine[@]}" tools/fuzz/graph_fuzz.cc tools/fuzz/fuzz_entry.cc)
elif [[ ${target} == checkpoint ]]; then
  sources=("${engine[@]}" tools/fuzz/checkpoint_fuzz.cc tools/fuzz/checkpoint_fuzz_entry.cc)
elif [[ ${target} == saved_model ]]; then
  sources=("${engine[@]}" tools/fuzz/checkpoint_fuzz.cc tools/fuzz/saved_model_fuzz.cc
           tools/fuzz/saved_model_fuzz_entry.cc)
else
  sources=(graph/*.cc tools/tensor_io.cc tools/fuzz/feed_fuzz.cc tools/fuzz/feed_fuzz_entry.cc
           "${out}"/gen/proto/*.pb.cc)
fi
echo "run_fuzzer: compiling ${#sources[@]} files with clang (objects cached in ${out}/obj)"
# Objects are reused unless their source changed; a changed header rebuilds everything.
stamp="${out}/obj/.built"
if [[ -f ${stamp} ]] && [[ -n $(find graph ops kernels runtime tools -name '*.h' -newer "${stamp}" | head -n 1) ]]; then
  rm -f "${out}"/obj/*.o
fi
objects=()
stale=()
for src in "${sources[@]}"; do
  obj="${out}/obj/$(echo "${src}" | tr '/' '_').o"
  objects+=("${obj}")
  if [[ ! -f ${obj} || ${src} -nt ${obj} ]]; then stale+=("${src}" "${obj}"); fi
done
if [[ ${#stale[@]} -gt 0 ]]; then
  printf '%s\n' "${stale[@]}" |
    xargs -P "$(nproc)" -n 2 sh -c 'echo "  $0"; clang++ '"${flags[*]}"' -c "$0" -o "$1"'
fi
touch "${stamp}"
absl_libs=$(ls /usr/lib/x86_64-linux-gnu/libabsl_*.so | sed 's|.*/lib\(.*\)\.so|-l\1|' | tr '\n' ' ')
clang++ "${flags[@]}" -fsanitize=fuzzer "${objects[@]}" -o "${out}/${target}_fuzzer" \
  -lprotobuf -ldnnl -lleveldb -lz -lgomp -lpthread ${absl_libs}

# FUZZ_EXTRA_SEEDS=DIR: DIR/<corpus folder name> seeds too (make_file_seeds' TensorFlow files).
extra=""
if [[ -n ${FUZZ_EXTRA_SEEDS:-} && -d ${FUZZ_EXTRA_SEEDS}/$(basename "${corpus}") ]]; then
  extra=$(cd "${FUZZ_EXTRA_SEEDS}/$(basename "${corpus}")" && pwd)
fi
echo "run_fuzzer: fuzzing ${target} for ${seconds} s"
mkdir -p "${out}/run_${target}"
cd "${out}/run_${target}"
rm -f crash-* leak-* timeout-* oom-*
set +e
"${out}/${target}_fuzzer" -max_total_time="${seconds}" -rss_limit_mb=3072 -malloc_limit_mb=2048 \
  -max_len="${max_len}" -timeout=10 -print_final_stats=1 "${out}/corpus_${target}" "$OLDPWD/${corpus}" ${extra} 2>&1 |
  tail -n 40
status=${PIPESTATUS[0]}
set -e
cd "$OLDPWD"
run="${out}/run_${target}"
found=$(ls "${run}"/crash-* "${run}"/leak-* "${run}"/timeout-* "${run}"/oom-* 2>/dev/null || true)
if [[ -n ${found} ]]; then
  mkdir -p "${regressions}"
  cp ${found} "${regressions}/"
  echo "run_fuzzer: saved $(echo "${found}" | wc -l) failing input(s) to ${regressions}/"
  exit 1
fi
if [[ ${status} -ne 0 ]]; then
  # libFuzzer exits 0 only when the time ran out without a finding; anything else (an abort
  # of the sanitizer runtime itself, a signal, a bad flag) is a failure even with no input saved.
  echo "run_fuzzer: FAILED: libFuzzer exited with status ${status} and saved no input" >&2
  exit 1
fi
echo "run_fuzzer: no failures (libFuzzer ran ${seconds} s and exited 0)"
