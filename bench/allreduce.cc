// Allreduce latency and bandwidth, 4 B to 64 MiB of float32, run under mpirun (every rank runs
// the same benchmarks with the same fixed iteration counts; only rank 0 reports):
//   BM_MpiAllreduce      MPI_Allreduce(MPI_IN_PLACE, sum) called directly on the buffer;
//   BM_DflowCollective   the same buffer through MpiContext::Run (the background thread's cycle:
//                        the control allreduce of cache bits, then MPI_Allreduce; the first
//                        iteration negotiates with rank 0): the collective layer;
//   BM_DflowSession      Session::Run of a graph fetching HorovodAllreduce of a fed tensor:
//                        what a training step pays (adds the kernel's copy and the run);
//   BM_Ratio             per iteration one MPI_Allreduce and one MpiContext::Run of the same
//                        buffer, timed separately: the counter `ratio` is the median of the
//                        per-pair ratios (dflow / MPI), which a loaded machine skews far less
//                        than two separately timed benchmarks.
// BM_MpiAllreduce runs first, before MpiContext (and its background thread) exists. Run with
// `-x HOROVOD_CACHE_CAPACITY=0` for every collective through rank 0 (no response cache).
// bytes_per_second counts the buffer once per iteration; docs/benchmarks.md ("Issue 15") has the
// commands and how to read the ring-allreduce arithmetic. Never timed by tests.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "kernels/collective/mpi_context.h"
#include "ops/array_ops.h"
#include "ops/collective/horovod_ops.h"
#include "runtime/session.h"

namespace dflow {
namespace {

// Same on every rank, so the ranks make the same calls: ~256 MiB moved per benchmark.
int64_t Iterations(int64_t bytes) {
  return std::max<int64_t>(20, std::min<int64_t>(20000, (int64_t{256} << 20) / bytes));
}

// A float32 sum of `buffer` in place across the ranks, named `name`, as the kernel submits it.
CollectiveWork SumInPlace(const std::string& name, std::vector<float>* buffer) {
  CollectiveWork work;
  work.request.name = name;
  work.request.kind = CollectiveKind::kAllreduce;
  work.request.dtype = DT_FLOAT;
  work.request.dims = {static_cast<int64_t>(buffer->size())};
  work.request.attr = 1;  // Sum.
  work.buffer = buffer->data();
  work.count = static_cast<int64_t>(buffer->size());
  return work;
}

void BM_MpiAllreduce(benchmark::State& state) {
  std::vector<float> buffer(state.range(0) / sizeof(float), 1.0f);
  for (auto _ : state) {
    MPI_Allreduce(MPI_IN_PLACE, buffer.data(), static_cast<int>(buffer.size()), MPI_FLOAT,
                  MPI_SUM, MPI_COMM_WORLD);
    std::fill(buffer.begin(), buffer.begin() + 1, 1.0f);  // Keep the values finite.
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}

void BM_DflowCollective(benchmark::State& state) {
  absl::StatusOr<MpiContext*> context = MpiContext::Get();  // The first call starts it.
  if (!context.ok()) {
    state.SkipWithError(std::string(context.status().message()).c_str());
    return;
  }
  MpiContext* mpi = *context;
  std::vector<float> buffer(state.range(0) / sizeof(float), 1.0f);
  for (auto _ : state) {
    CollectiveWork work = SumInPlace("bench_allreduce", &buffer);
    absl::Status s = mpi->Run(&work);
    if (!s.ok()) {
      state.SkipWithError(std::string(s.message()).c_str());
      break;
    }
    std::fill(buffer.begin(), buffer.begin() + 1, 1.0f);
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}

void BM_Ratio(benchmark::State& state) {
  absl::StatusOr<MpiContext*> context = MpiContext::Get();
  if (!context.ok()) {
    state.SkipWithError(std::string(context.status().message()).c_str());
    return;
  }
  MpiContext* mpi = *context;
  std::vector<float> buffer(state.range(0) / sizeof(float), 1.0f);
  std::vector<double> ratios;
  double mpi_seconds = 0, dflow_seconds = 0;
  using Clock = std::chrono::steady_clock;
  for (auto _ : state) {
    const Clock::time_point t0 = Clock::now();
    MPI_Allreduce(MPI_IN_PLACE, buffer.data(), static_cast<int>(buffer.size()), MPI_FLOAT,
                  MPI_SUM, MPI_COMM_WORLD);
    const Clock::time_point t1 = Clock::now();
    CollectiveWork work = SumInPlace("bench_ratio_allreduce", &buffer);
    absl::Status s = mpi->Run(&work);
    const Clock::time_point t2 = Clock::now();
    if (!s.ok()) {
      state.SkipWithError(std::string(s.message()).c_str());
      break;
    }
    std::fill(buffer.begin(), buffer.begin() + 1, 1.0f);
    const double a = std::chrono::duration<double>(t1 - t0).count();
    const double b = std::chrono::duration<double>(t2 - t1).count();
    mpi_seconds += a;
    dflow_seconds += b;
    ratios.push_back(b / a);
  }
  if (ratios.empty()) return;
  std::nth_element(ratios.begin(), ratios.begin() + ratios.size() / 2, ratios.end());
  state.counters["ratio"] = ratios[ratios.size() / 2];
  state.counters["mpi_us"] = 1e6 * mpi_seconds / ratios.size();
  state.counters["dflow_us"] = 1e6 * dflow_seconds / ratios.size();
  state.SetBytesProcessed(state.iterations() * state.range(0));
}

void BM_DflowSession(benchmark::State& state) {
  const int64_t n = state.range(0) / sizeof(float);
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
  auto y = ops::HorovodAllreduce(root.WithOpName("bench_session_allreduce"), x);
  std::unique_ptr<Session> session = *Session::Create(root);
  Tensor feed(DT_FLOAT, TensorShape({n}));
  std::fill(feed.flat<float>().begin(), feed.flat<float>().end(), 1.0f);
  std::vector<Tensor> out;
  for (auto _ : state) {
    absl::Status s = session->Run({{x, feed}}, {y}, {}, &out);
    if (!s.ok()) {
      state.SkipWithError(std::string(s.message()).c_str());
      break;
    }
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}

// One registration per size: Google Benchmark's Iterations() applies to a whole family, so
// sizes sharing one family would all run the last size's count.
void RegisterSizes(const char* name, void (*fn)(benchmark::State&)) {
  for (int64_t bytes = 4; bytes <= (int64_t{64} << 20); bytes *= 4) {
    benchmark::RegisterBenchmark(name, fn)
        ->Arg(bytes)
        ->Iterations(Iterations(bytes))
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();
  }
}

void FinalizeMpi() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

}  // namespace
}  // namespace dflow

int main(int argc, char** argv) {
  // MPI_THREAD_MULTIPLE, which MpiContext needs. Registered before MpiContext exists,
  // FinalizeMpi runs after its destructor has stopped its threads.
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  if (provided < MPI_THREAD_MULTIPLE) {
    std::fprintf(stderr, "allreduce bench: this MPI lacks MPI_THREAD_MULTIPLE\n");
    return 1;
  }
  std::atexit(dflow::FinalizeMpi);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank != 0 && std::freopen("/dev/null", "w", stdout) == nullptr) return 1;
  dflow::RegisterSizes("BM_MpiAllreduce", dflow::BM_MpiAllreduce);
  dflow::RegisterSizes("BM_DflowCollective", dflow::BM_DflowCollective);
  dflow::RegisterSizes("BM_DflowSession", dflow::BM_DflowSession);
  dflow::RegisterSizes("BM_Ratio", dflow::BM_Ratio);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
