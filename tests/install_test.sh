#!/usr/bin/env bash
# tools/install.sh into a temporary prefix, then examples/saved_model_client built there with its
# own Makefile (pkg-config --cflags --libs dflow) and run on two exported SavedModels:
#   - a tiny y = x W + b (tests/install_test_helper.cc), outputs computed by hand;
#   - with MNIST_DIR, mnist_softmax --export_saved_model after 30 steps, the probabilities of
#     the first test image against softmax(x W + b) by plain loops from the exported W and b.
set -euo pipefail

root=${TEST_SRCDIR}/${TEST_WORKSPACE:-dflow}
work=$(mktemp -d "${TEST_TMPDIR:-/tmp}/install_test.XXXXXX")
prefix=${work}/prefix
fail() { echo "install_test: FAIL: $*" >&2; exit 1; }

echo "== install into ${prefix}"
"${root}/tools/install.sh" --from="${root}" "${prefix}"
[[ -f ${prefix}/lib/libdflow.so && -f ${prefix}/lib/pkgconfig/dflow.pc ]] || fail "files missing"
[[ -f ${prefix}/include/dflow/runtime/saved_model.h ]] || fail "runtime/saved_model.h missing"
[[ -f ${prefix}/include/dflow/proto/meta_graph.pb.h ]] || fail "proto/meta_graph.pb.h missing"
export PKG_CONFIG_PATH=${prefix}/lib/pkgconfig
# Outputs are read whole before matching: under pipefail, `cmd | grep -q` fails when grep's early
# exit kills cmd with SIGPIPE (it did, on a loaded machine).
flags=$(pkg-config --cflags --libs dflow)
[[ ${flags} == *-ldflow* ]] || fail "pkg-config --libs dflow lacks -ldflow"

echo "== build examples/saved_model_client with make"
mkdir "${work}/client"
cp "${root}/examples/saved_model_client/main.cc" "${root}/examples/saved_model_client/Makefile" \
  "${work}/client/"
make -C "${work}/client" CXXFLAGS=-O0 >"${work}/make.log" 2>&1 || { cat "${work}/make.log"; fail "make"; }
client=${work}/client/saved_model_client
# Every op is registered through libdflow.so alone: the example links nothing else of dflow.
libs=$(ldd "${client}")
[[ ${libs} == *"${prefix}/lib/libdflow.so"* ]] || fail "client does not use the installed libdflow.so"

echo "== tiny model"
"${root}/tests/install_test_helper" export "${work}/tiny"
out=$("${client}" "${work}/tiny" x=1,0,-1,2,1,0)
echo "${out}"
# By hand: [1 0 -1] W = [1-5, 2-6] = [-4, -4], + b = [-3.5, -5]; [2 1 0] W = [5, 8] -> [5.5, 7].
[[ ${out} == "y [2,2]: -3.5 -5 5.5 7" ]] || fail "tiny model printed '${out}'"
if "${client}" "${work}/tiny" x=1,2 2>"${work}/err.txt"; then fail "a bad feed was accepted"; fi
grep -q "input 'x': 2 numbers do not fit its shape" "${work}/err.txt" || fail "bad feed: $(cat "${work}/err.txt")"

if [[ -n ${MNIST_DIR:-} && -f ${MNIST_DIR}/t10k-images-idx3-ubyte.gz ]]; then
  echo "== mnist_softmax --export_saved_model"
  "${root}/tools/mnist_softmax" --data_dir="${MNIST_DIR}" --steps=30 \
    --export_saved_model="${work}/mnist" | tail -2
  # The first test image's 784 pixels in [0, 1], as text (gzip stops on SIGPIPE once od has them).
  { gzip -dc "${MNIST_DIR}/t10k-images-idx3-ubyte.gz" 2>/dev/null || true; } |
    od -An -v -tu1 -j16 -N784 |
    awk '{for (i = 1; i <= NF; i++) printf "%.10g\n", $i / 255}' >"${work}/image.txt"
  [[ $(wc -l <"${work}/image.txt") -eq 784 ]] || fail "could not read the first MNIST test image"
  got=$("${client}" "${work}/mnist" "x=@${work}/image.txt")
  echo "${got}"
  "${root}/tests/install_test_helper" softmax "${work}/mnist" "${work}/image.txt" >"${work}/want.txt"
  echo "${got}" | sed 's/^y \[1,10\]://' | tr ' ' '\n' | sed '/^$/d' >"${work}/got.txt"
  [[ $(wc -l <"${work}/got.txt") -eq 10 ]] || fail "mnist output is not 10 probabilities: ${got}"
  paste "${work}/got.txt" "${work}/want.txt" |
    awk '{d = $1 - $2; if (d < 0) d = -d; if (d > 1e-5 + 1e-4 * $2) bad = 1} END {exit bad}' ||
    fail "mnist probabilities differ from the reference: $(paste "${work}/got.txt" "${work}/want.txt" | tr '\n' ' ')"
else
  echo "== MNIST_DIR not set: the mnist_softmax export is not checked"
fi
echo "install_test: PASS"
