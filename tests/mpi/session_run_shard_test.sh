#!/usr/bin/env bash
# session_run --shard ($1: session_run, $2: a graph with placeholders x, k and z = x * k):
# without mpirun the whole feed; under mpirun rank r of N gets rows [r*n/N, (r+1)*n/N) of every
# feed and of each --batch_size global batch. Expected rows are written out by hand.
set -euo pipefail
session_run="$1"
graph="$2"
unset TEST_PREMATURE_EXIT_FILE XML_OUTPUT_FILE
fail() { echo "session_run_shard_test.sh: FAILED: $*" >&2; exit 1; }
expect() {  # expect OUTPUT LINE: OUTPUT has LINE exactly.
  grep -qxF -- "$2" <<<"$1" || { echo "$1"; fail "missing line: $2"; }
}
mpirun=(timeout 120 mpirun --allow-run-as-root --oversubscribe --bind-to none --tag-output)
x3='[[0,1],[2,3],[4,5]]'

echo "session_run_shard_test.sh: no mpirun: one rank, the whole feed"
out="$("${session_run}" --graph="${graph}" --feed=x="${x3}" --feed=k=2 --fetch=z --print --shard)"
expect "${out}" "z: float [3,2] {0, 2, 4, 6, 8, 10}"

echo "session_run_shard_test.sh: 2 ranks, 3 rows: [0, 1) and [1, 3); the scalar k whole"
out="$("${mpirun[@]}" -np 2 "${session_run}" --graph="${graph}" --feed=x="${x3}" --feed=k=2 \
  --fetch=z --print --shard 2>/dev/null)"
expect "${out}" "[1,0]<stdout>:z: float [1,2] {0, 2}"
expect "${out}" "[1,1]<stdout>:z: float [2,2] {4, 6, 8, 10}"

echo "session_run_shard_test.sh: 3 ranks, 10 rows from an .npy file: [0, 3), [3, 6), [6, 10)"
npy="${TEST_TMPDIR:-/tmp}/shard_x.npy"
"${session_run}" --graph="${graph}" --feed=x='[10,11,12,13,14,15,16,17,18,19]' --fetch=y \
  --output_dir="${TEST_TMPDIR:-/tmp}" >/dev/null 2>&1
mv "${TEST_TMPDIR:-/tmp}/y.npy" "${npy}"
out="$("${mpirun[@]}" -np 3 "${session_run}" --graph="${graph}" --feed=x="${npy}" --fetch=y \
  --print --shard 2>/dev/null)"
expect "${out}" "[1,0]<stdout>:y: float [3] {10, 11, 12}"
expect "${out}" "[1,1]<stdout>:y: float [3] {13, 14, 15}"
expect "${out}" "[1,2]<stdout>:y: float [4] {16, 17, 18, 19}"

echo "session_run_shard_test.sh: 2 ranks, --steps=3 --batch_size=4 of 10 rows"
# Step 3's global batch is rows 8, 9, 0, 1 (wrapping): rank 0 gets 8, 9 and rank 1 gets 0, 1.
out="$("${mpirun[@]}" -np 2 "${session_run}" --graph="${graph}" --feed=x="${npy}" --fetch=y \
  --print --shard --steps=3 --batch_size=4 2>/dev/null)"
expect "${out}" "[1,0]<stdout>:y: float [2] {18, 19}"
expect "${out}" "[1,1]<stdout>:y: float [2] {10, 11}"
echo "session_run_shard_test.sh: PASSED"
