// Concurrent runs of one signature: the tutorial's inference signature (y = softmax(x W + b),
// 784 -> 10, tools/mnist_softmax_lib's graph) at batch 1 and 100, run from 1 and from 2 client
// threads on one Session whose runs each use one intra-op thread. Prints runs/s and the
// 2-thread / 1-thread ratio (2.0 would be perfect scaling on 2 cores). `inference_own_session`
// runs the same with one Session per client: what the machine allows when nothing is shared.
//
//   bazel build -c opt //bench:throughput
//   bazel-out/k8-opt/bin/bench/throughput --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true --benchmark_enable_random_interleaving=true
//       --dflow_report
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/models.h"
#include "bench/report.h"
#include "benchmark/benchmark.h"

namespace dflow {
namespace bench {
namespace {

constexpr int kBatches[] = {1, 100};
constexpr int kInputsPerThread = 8;  // Each client cycles through its own inputs.

// models[0] is shared by every client thread of `inference`; `inference_own_session` gives
// client i models[i], a control for what the machine allows when nothing is shared.
std::vector<std::unique_ptr<DflowModel>> models;

void RunInference(benchmark::State& state, DflowModel* model) {
  const int batch = static_cast<int>(state.range(0));
  std::vector<Tensor> inputs;
  for (int i = 0; i < kInputsPerThread; ++i) {
    inputs.push_back(RandomBatch(batch, mnist::kImageSize, mnist::kNumClasses).images);
  }
  std::vector<Tensor> out;
  size_t i = state.thread_index();
  for (auto _ : state) {
    CheckOk(model->session->Run({{model->x, inputs[i++ % inputs.size()]}}, {model->y}, {}, &out),
            "inference");
  }
  state.SetItemsProcessed(state.iterations());
}

void Inference(benchmark::State& state) { RunInference(state, models[0].get()); }
void InferenceOwnSession(benchmark::State& state) {
  RunInference(state, models[state.thread_index()].get());
}

void PrintReport(const CollectingReporter& r, const std::string& load_before) {
  std::printf("\nthroughput report: one Session, 1 intra-op thread per run; load average before "
              "%s, after %s\n\n",
              load_before.c_str(), LoadAverage().c_str());
  std::printf("| batch | sessions | 1 client: runs/s | 2 clients: runs/s | ratio | goal >= 1.8x |\n"
              "|---|---|---|---|---|---|\n");
  for (const char* name : {"inference", "inference_own_session"}) {
    for (int batch : kBatches) {
      const std::string key = absl::StrCat(name, "/", batch);
      const double one = r.Seconds(key), two = r.Seconds(absl::StrCat(key, "/threads:2"));
      if (one <= 0 || two <= 0) continue;
      std::printf("| %d | %s | %.0f | %.0f | %.2fx | %s |\n", batch,
                  name == std::string("inference") ? "one shared" : "one per client (control)",
                  1 / one, 1 / two, one / two, one / two >= 1.8 ? "yes" : "no");
    }
  }
}

}  // namespace
}  // namespace bench
}  // namespace dflow

int main(int argc, char** argv) {
  using namespace dflow::bench;  // NOLINT: main only.
  const std::optional<ReportStart> start = StartReportOnlyBenchmark(&argc, argv);
  if (!start) return 1;
  dflow::SessionOptions options;
  options.intra_op_threads = 1;
  for (int i = 0; i < 2; ++i) {
    models.push_back(ValueOrDie(BuildDflowSoftmax(options), "tutorial graph"));
  }
  for (auto [name, fn] : {std::pair{"inference", Inference},
                          std::pair{"inference_own_session", InferenceOwnSession}}) {
    for (int batch : kBatches) {
      benchmark::RegisterBenchmark(name, fn)->Arg(batch)->Threads(1)->Threads(2)->UseRealTime();
    }
  }
  RunBenchmarks(start->report,
                [&](const CollectingReporter& r) { PrintReport(r, start->load_before); });
  return 0;
}
