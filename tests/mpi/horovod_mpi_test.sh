#!/usr/bin/env bash
# Runs horovod_mpi_test (its path: $1) on 2 and then 3 ranks with Open MPI's mpirun, then the
# failure cases with a 3 s stall shutdown time, then lost_rank_bin ($2): a rank that exits or is
# killed before an allreduce. A timeout bounds each run, so a hang fails the test.
set -euo pipefail
binary="$1"
lost="$2"
# Bazel's per-test files would be written (and removed) by every rank at once.
unset TEST_PREMATURE_EXIT_FILE XML_OUTPUT_FILE
mpirun=(timeout 240 mpirun --allow-run-as-root --oversubscribe --bind-to none)
short=(-x HOROVOD_STALL_CHECK_TIME_SECONDS=1 -x HOROVOD_STALL_SHUTDOWN_TIME_SECONDS=3
       -x DFLOW_MPI_EXIT_TIMEOUT_SECONDS=5)
for n in 2 3; do
  echo "horovod_mpi_test.sh: mpirun -np ${n}"
  "${mpirun[@]}" -np "${n}" "${binary}" --gtest_brief=1 --gtest_filter='-HorovodMpiFailureTest.*'
  echo "horovod_mpi_test.sh: mpirun -np ${n}, failure cases (stall shutdown time 3 s)"
  "${mpirun[@]}" -np "${n}" "${short[@]}" "${binary}" --gtest_brief=1 \
    --gtest_filter='HorovodMpiFailureTest.*'
done

echo "horovod_mpi_test.sh: mpirun -np 3, HOROVOD_CACHE_CAPACITY=0 (every collective through rank 0)"
"${mpirun[@]}" -np 3 -x HOROVOD_CACHE_CAPACITY=0 "${binary}" --gtest_brief=1 \
  --gtest_filter='-HorovodMpiFailureTest.*'

fail() { echo "horovod_mpi_test.sh: FAILED: $*" >&2; exit 1; }

# Runs lost_rank_bin on 3 ranks, rank 1 lost as $1 (kill or exit), with mpirun options $2...
# Sets `output` and `status`; a timeout (status 124) is a hang.
lose() {
  local how="$1"
  shift
  set +e
  output="$(timeout 60 mpirun --allow-run-as-root --oversubscribe --bind-to none -np 3 "$@" \
    "${short[@]}" -x DFLOW_MPI_TEST_LOSE_RANK=1 -x DFLOW_MPI_TEST_LOSE_HOW="${how}" \
    "${lost}" 2>&1)"
  status=$?
  set -e
  echo "${output}"
  [[ ${status} -ne 124 ]] || fail "rank 1 lost by ${how}: the job hung"
}

echo "horovod_mpi_test.sh: rank 1 of 3 exits before an allreduce"
lose exit
[[ ${status} -ne 0 ]] || fail "expected a non-zero exit when rank 1 exits"
# A survivor that fails and exits first is named too ("ranks 1, 2 shut down").
for r in 0 2; do
  grep -qE "lost_rank_test: rank ${r}: .*ranks? ([0-9]+, )*1(, [0-9]+)* shut down" <<<"${output}" ||
    fail "rank ${r}'s error does not name rank 1 as shut down"
done

echo "horovod_mpi_test.sh: rank 1 of 3 is killed before an allreduce (mpirun's default)"
lose kill
# Open MPI's mpirun ends the whole job when a rank dies, naming it; the survivors never report.
[[ ${status} -ne 0 ]] || fail "expected a non-zero exit when rank 1 is killed"
grep -q "process rank 1 .* signal 9" <<<"${output}" || fail "mpirun did not name rank 1"

echo "horovod_mpi_test.sh: rank 1 of 3 is killed, mpirun --enable-recovery"
# The job goes on: the survivors' own timeout (3 s) must fail their allreduce naming rank 1.
lose kill --enable-recovery
for r in 0 2; do
  grep -q "lost_rank_test: rank ${r}: .*rank 1 lost" <<<"${output}" ||
    fail "rank ${r}'s error does not name rank 1 as lost"
done

# With the response cache: the allreduce ran once (cached), then rank 1 is killed before the
# second; and rank 1 killed inside the agreed MPI_Allreduce (the survivors are in the blocking
# call: their watchdog must name rank 1).
for how in after_cache collective; do
  echo "horovod_mpi_test.sh: rank 1 of 3 is lost (${how}), mpirun --enable-recovery"
  die=()
  [[ ${how} != collective ]] || die=(-x DFLOW_MPI_TEST_DIE_IN=1:allreduce)
  lose "${how}" --enable-recovery "${die[@]}"
  for r in 0 2; do
    grep -q "lost_rank_test: rank ${r}: .*rank 1 lost" <<<"${output}" ||
      fail "rank ${r}'s error does not name rank 1 as lost (${how})"
    grep -q "dflow: rank ${r}: stall: .* has waited 1s" <<<"${output}" ||
      fail "rank ${r} printed no stall warning before the error (${how})"
  done
done
echo "horovod_mpi_test.sh: PASSED"
