#!/usr/bin/env bash
# Runs horovod_mpi_test (its path: $1) on 2 and then 3 ranks with Open MPI's mpirun, then
# checks that a rank exiting before a collective ends the job (non-zero, naming the rank)
# instead of hanging it. A timeout bounds each run, so a hang fails the test.
set -euo pipefail
binary="$1"
# Bazel's per-test files would be written (and removed) by every rank at once.
unset TEST_PREMATURE_EXIT_FILE XML_OUTPUT_FILE
mpirun=(timeout 240 mpirun --allow-run-as-root --oversubscribe --bind-to none)
for n in 2 3; do
  echo "horovod_mpi_test.sh: mpirun -np ${n}"
  "${mpirun[@]}" -np "${n}" "${binary}" --gtest_brief=1
done

echo "horovod_mpi_test.sh: rank 1 of 3 exits before an allreduce"
set +e
output="$("${mpirun[@]}" -np 3 -x DFLOW_MPI_TEST_EXIT_RANK=1 -x DFLOW_MPI_EXIT_TIMEOUT_SECONDS=2 \
  "${binary}" \
  --gtest_filter='*ExitingRankEndsTheJob' 2>&1)"
status=$?
set -e
echo "${output}"
if [[ ${status} -eq 0 || ${status} -eq 124 ]]; then
  echo "horovod_mpi_test.sh: FAILED: expected mpirun to end the job with an error, got exit" \
       "${status} (124: timed out, a hang)" >&2
  exit 1
fi
if ! grep -q "exited with non-zero status" <<<"${output}" ||
   ! grep -q "Process name: \[\[[0-9]*,1\],1\]" <<<"${output}"; then
  echo "horovod_mpi_test.sh: FAILED: mpirun did not name rank 1 as the one that exited" >&2
  exit 1
fi
echo "horovod_mpi_test.sh: PASSED"
