#!/usr/bin/env bash
# Runs a training test binary (its path: $1) under mpirun on each rank count that follows
# (default 2 and 3: the tutorial's 100 rows split 50/50 and 33/33/34), one oneDNN thread per
# rank. Skips (passes) without MNIST_DIR. A timeout bounds each run.
set -euo pipefail
binary="$1"
shift
ranks=("$@")
[[ ${#ranks[@]} -gt 0 ]] || ranks=(2 3)
if [[ -z "${MNIST_DIR:-}" ]]; then
  echo "mnist_equivalence_test.sh: MNIST_DIR is not set; skipped"
  exit 0
fi
unset TEST_PREMATURE_EXIT_FILE XML_OUTPUT_FILE
for n in "${ranks[@]}"; do
  echo "mnist_equivalence_test.sh: mpirun -np ${n} $(basename "${binary}")"
  # Rank 0 evaluates after training while the others wait at exit: a long exit timeout.
  timeout 840 mpirun --allow-run-as-root --oversubscribe --bind-to none -np "${n}" \
    -x MNIST_DIR -x OMP_NUM_THREADS=1 -x DFLOW_MPI_EXIT_TIMEOUT_SECONDS=600 \
    "${binary}" --gtest_brief=1
done
echo "mnist_equivalence_test.sh: PASSED"
