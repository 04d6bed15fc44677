#!/usr/bin/env bash
# CNN training throughput, 2 ranks x 1 intra-op thread against 1 process x 2 threads, on the
# same global batch (docs/benchmarks.md, "Issue 15"). Run by the lead on a quiet machine:
#   bazel build -c opt //tools:mnist_cnn && bench/mpi_cnn_throughput.sh [STEPS] [BATCH]
# Prints each run's progress lines (images/s over the global batch, from rank 0) and wall times.
set -euo pipefail
steps="${1:-600}"
batch="${2:-100}"
data="${MNIST_DIR:-/work/shared/data/mnist}"
cnn="$(bazel info -c opt bazel-bin 2>/dev/null)/tools/mnist_cnn"
[[ -x "${cnn}" ]] || { echo "build it first: bazel build -c opt //tools:mnist_cnn" >&2; exit 1; }
common=(--data_dir="${data}" --steps="${steps}" --batch_size="${batch}" --log_every=100
        --eval_batch_size=1000)
echo "== 1 process x 2 threads (OMP_NUM_THREADS=2 --threads=2)"
OMP_NUM_THREADS=2 "${cnn}" "${common[@]}" --threads=2
echo "== 2 ranks x 1 thread (mpirun -np 2, OMP_NUM_THREADS=1 --threads=1)"
mpirun --allow-run-as-root --bind-to core -np 2 -x OMP_NUM_THREADS=1 \
  -x DFLOW_MPI_EXIT_TIMEOUT_SECONDS=600 "${cnn}" "${common[@]}" --threads=1
