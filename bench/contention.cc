// 1 and 2 intra-op threads, on a quiet machine and while a competing process keeps 2 threads
// busy (this binary re-executed with --burn, started before and killed after each measurement,
// and bounded by --burn_seconds in any case). Figures:
//
//   tutorial     one tutorial training step, batch 100
//   tutorial_b1  one tutorial training step, batch 1
//   mlp          one MLP 784-1024-1024-10 training step, batch 128
//   cnn          one Deep MNIST CNN training step, batch 50
//   pilotnet     PilotNet (the corpus' Keras graph) inference, batch 1
//
// and probe/*: what each way of noticing contention costs per call.
//
//   bazel build -c opt //bench:contention
//   DFLOW_SHARED_DIR=/work/shared bazel-out/k8-opt/bin/bench/contention --benchmark_repetitions=3
//       --benchmark_report_aggregates_only=true --benchmark_enable_random_interleaving=true
//       --dflow_report
//
// DFLOW_CONTENTION_CHECK=0 turns the thread policy's contention check off (runtime/thread_policy.h)
// to compare. Each figure's first step runs with the check off (see warm_under_policy). Without
// DFLOW_SHARED_DIR the PilotNet figure is skipped.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/models.h"
#include "bench/report.h"
#include "benchmark/benchmark.h"
#include "graph/graph_def_io.h"
#include "runtime/thread_policy.h"
#include "tools/mnist_cnn_lib.h"

namespace dflow {
namespace bench {
namespace {

constexpr int kBurnThreads = 2;
int burn_seconds = 120;  // The competitor's own time limit.
// Each figure's first step (which creates the oneDNN primitives) runs with the contention check
// off, as on a machine that was quiet at start-up; --warm_under_policy leaves it on.
bool warm_under_policy = false;
std::string self_path;

// The competitor: kBurnThreads threads of arithmetic until the deadline (or its parent dies).
int Burn(int seconds) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  std::vector<std::thread> threads;
  for (int t = 0; t < kBurnThreads; ++t) {
    threads.emplace_back([deadline] {
      volatile uint64_t x = 1;
      while (std::chrono::steady_clock::now() < deadline) {
        for (int i = 0; i < 100000; ++i) x = x * 6364136223846793005ULL + 1;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  return 0;
}

// Runs the competitor while alive.
class Competitor {
 public:
  Competitor() {
    const std::string flag = absl::StrCat("--burn=", burn_seconds);
    pid_ = fork();
    if (pid_ == 0) {
      execl(self_path.c_str(), self_path.c_str(), flag.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    // Let it start spinning before anything is timed.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ~Competitor() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }

 private:
  pid_t pid_;
};

// One figure: a session with a given thread count and the run to time.
struct Figure {
  std::function<void()> step;
  std::unique_ptr<DflowModel> model;  // Or the pieces below.
  Scope root = Scope::NewRootScope();
  std::unique_ptr<Session> session;
  std::vector<std::pair<Output, Tensor>> feeds;
  std::vector<Output> fetches;
  std::vector<Operation> targets;
  std::vector<Tensor> out;
  mnist::Batch batch;
};

const char* const kModels[] = {"tutorial", "tutorial_b1", "mlp", "cnn", "pilotnet"};
constexpr int kNumModels = sizeof(kModels) / sizeof(kModels[0]);

std::string PilotNetPath() {
  const char* dir = std::getenv("DFLOW_SHARED_DIR");
  if (dir == nullptr) return "";
  return absl::StrCat(dir, "/tf_graphs/corpus/files/avinashshah_pilotnet_keras_model.pb");
}

std::unique_ptr<Figure> MakeFigure(int which, int threads) {
  auto f = std::make_unique<Figure>();
  SessionOptions options;
  options.intra_op_threads = threads;
  const std::string name = kModels[which];
  if (name == "tutorial" || name == "tutorial_b1" || name == "mlp") {
    if (name == "mlp") {
      f->model = ValueOrDie(BuildDflowMlp(InitialMlpWeights(1), options), "MLP graph");
      f->batch = RandomBatch(kMlpBatch, kMlpLayers[0], kMlpLayers[3]);
    } else {
      f->model = ValueOrDie(BuildDflowSoftmax(options), "tutorial graph");
      f->batch = RandomBatch(name == "tutorial" ? 100 : 1, mnist::kImageSize, mnist::kNumClasses);
    }
    Figure* p = f.get();
    f->step = [p] { CheckOk(p->model->TrainStep(p->batch), "train step"); };
    return f;
  }
  if (name == "cnn") {
    mnist::CnnOptions cnn;
    cnn.seed = 1;
    const mnist::CnnGraph g = ValueOrDie(mnist::BuildCnnGraph(f->root, 10, cnn), "CNN graph");
    f->session = ValueOrDie(Session::Create(f->root, options), "session");
    CheckOk(f->session->Run({g.init}), "init");
    const mnist::Batch b = RandomBatch(50, mnist::kImageSize, mnist::kNumClasses);
    // keep_prob 1 with zero noise, as bench/cnn_reference trains.
    f->feeds = {{g.x, b.images},
                {g.y_, b.labels},
                {g.keep_prob, Tensor::Scalar<float>(1.0f)},
                {g.dropout_noise, Tensor::Filled<float>(TensorShape({50, 1024}), 0.0f)}};
    f->fetches = {g.loss};
    f->targets = {g.train};
  } else {  // pilotnet
    GraphDef def;
    CheckOk(ReadGraphDefFile(PilotNetPath(), &def), "PilotNet graph");
    f->session = ValueOrDie(Session::Create(def, options), "session");
    const Graph& graph = f->session->graph();
    Tensor image(DT_FLOAT, TensorShape({1, 160, 320, 3}));
    std::mt19937 rng(3);
    for (float& v : image.flat<float>()) v = static_cast<float>(rng() % 256);
    f->feeds = {{ValueOrDie(graph.FindOutput("cropping2d_1_input"), "input"), image}};
    f->fetches = {ValueOrDie(graph.FindOutput("dense_4/BiasAdd"), "output")};
  }
  Figure* p = f.get();
  f->step = [p] { CheckOk(p->session->Run(p->feeds, p->fetches, p->targets, &p->out), "run"); };
  return f;
}

// Figures by (model, threads), made on first use and kept (plans and primitives stay warm).
Figure& GetFigure(int which, int threads) {
  static auto* figures = new std::map<std::pair<int, int>, std::unique_ptr<Figure>>();
  std::unique_ptr<Figure>& f = (*figures)[{which, threads}];
  if (f == nullptr) {
    f = MakeFigure(which, threads);
    if (!warm_under_policy) ThreadPolicy::Global().SetContentionCheck(false);
    f->step();  // Plan, primitives, JIT code.
    const char* check = std::getenv("DFLOW_CONTENTION_CHECK");
    ThreadPolicy::Global().SetContentionCheck(check == nullptr || check[0] != '0');
  }
  return *f;
}

// Args: model index, intra-op threads, contended (0/1).
void Contention(benchmark::State& state) {
  Figure& f = GetFigure(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  std::unique_ptr<Competitor> competitor;
  if (state.range(2) != 0) competitor = std::make_unique<Competitor>();
  for (auto _ : state) f.step();
}

// What noticing contention costs, per call.
void ProbeSteadyClock(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(std::chrono::steady_clock::now());
}
void ProbeLoadavg(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(ThreadPolicy::ReadRunnableTasks());
}
void ProbeRusage(benchmark::State& state) {
  rusage usage;
  for (auto _ : state) {
    getrusage(RUSAGE_SELF, &usage);
    benchmark::DoNotOptimize(usage.ru_nivcsw);
  }
}
void ProbeThreadCpuTime(benchmark::State& state) {
  timespec ts;
  for (auto _ : state) {
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    benchmark::DoNotOptimize(ts.tv_nsec);
  }
}
void ProbeTeamSize(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(ThreadPolicy::Global().TeamSize(2, 1 << 20));
}

void PrintReport(const CollectingReporter& r, const std::string& load_before) {
  const char* check = std::getenv("DFLOW_CONTENTION_CHECK");
  const char* wait = std::getenv("OMP_WAIT_POLICY");
  std::printf("\ncontention report: DFLOW_CONTENTION_CHECK=%s OMP_WAIT_POLICY=%s; load average "
              "before %s, after %s\n\n",
              check != nullptr ? check : "unset", wait != nullptr ? wait : "unset",
              load_before.c_str(), LoadAverage().c_str());
  std::printf("| figure | quiet, 1 thread | quiet, 2 | 2/1 | busy, 1 thread | busy, 2 | 2/1 | "
              "goal: 2/1 <= 1.2 busy, < 1 quiet |\n|---|---|---|---|---|---|---|---|\n");
  for (int m = 0; m < kNumModels; ++m) {
    double t[2][2];  // [contended][threads - 1]
    bool all = true;
    for (int c = 0; c < 2; ++c) {
      for (int th = 1; th <= 2; ++th) {
        t[c][th - 1] = r.Seconds(absl::StrCat("contention/", m, "/", th, "/", c));
        all = all && t[c][th - 1] > 0;
      }
    }
    if (!all) continue;
    const double quiet = t[0][1] / t[0][0], busy = t[1][1] / t[1][0];
    std::printf("| %s | %s | %s | %.2fx | %s | %s | %.2fx | %s |\n", kModels[m],
                FormatTime(t[0][0]).c_str(), FormatTime(t[0][1]).c_str(), quiet,
                FormatTime(t[1][0]).c_str(), FormatTime(t[1][1]).c_str(), busy,
                busy <= 1.2 && quiet < 1 ? "yes" : "no");
  }
}

}  // namespace
}  // namespace bench
}  // namespace dflow

int main(int argc, char** argv) {
  using namespace dflow::bench;  // NOLINT: main only.
  if (argc == 2 && std::strncmp(argv[1], "--burn=", 7) == 0) return Burn(std::atoi(argv[1] + 7));
  bool report = false;
  if (!InitializeBenchmark(
          &argc, argv,
          {ReportFlag(&report),
           {"--warm_under_policy", [](const char*) { warm_under_policy = true; }},
           {"--burn_seconds=", [](const char* v) { burn_seconds = std::atoi(v); }}})) {
    return 1;
  }
  char path[4096];
  const ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
  self_path = n > 0 ? std::string(path, n) : argv[0];
  const std::string load_before = LoadAverage();
  const bool pilotnet = !PilotNetPath().empty();
  for (int m = 0; m < kNumModels; ++m) {
    if (std::string(kModels[m]) == "pilotnet" && !pilotnet) continue;
    for (int threads : {1, 2}) {
      for (int contended : {0, 1}) {
        benchmark::RegisterBenchmark("contention", Contention)
            ->Args({m, threads, contended})
            ->UseRealTime()
            ->Unit(benchmark::kMicrosecond);
      }
    }
  }
  benchmark::RegisterBenchmark("probe/steady_clock", ProbeSteadyClock);
  benchmark::RegisterBenchmark("probe/loadavg_pread", ProbeLoadavg);
  benchmark::RegisterBenchmark("probe/getrusage", ProbeRusage);
  benchmark::RegisterBenchmark("probe/thread_cputime", ProbeThreadCpuTime);
  benchmark::RegisterBenchmark("probe/team_size", ProbeTeamSize);
  RunBenchmarks(report, [&](const CollectingReporter& r) { PrintReport(r, load_before); });
  return 0;
}
