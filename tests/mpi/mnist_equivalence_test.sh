#!/usr/bin/env bash
# Runs mnist_equivalence_mpi_test (its path: $1) under mpirun on 2 and then 3 ranks (100 rows
# split 50/50 and 33/33/34). Skips (passes) without MNIST_DIR. A timeout bounds each run.
set -euo pipefail
binary="$1"
if [[ -z "${MNIST_DIR:-}" ]]; then
  echo "mnist_equivalence_test.sh: MNIST_DIR is not set; skipped"
  exit 0
fi
unset TEST_PREMATURE_EXIT_FILE XML_OUTPUT_FILE
for n in 2 3; do
  echo "mnist_equivalence_test.sh: mpirun -np ${n}"
  timeout 600 mpirun --allow-run-as-root --oversubscribe --bind-to none -np "${n}" \
    -x MNIST_DIR "${binary}" --gtest_brief=1
done
echo "mnist_equivalence_test.sh: PASSED"
