// dflow against hand-written references doing the same math on the same data, in one process:
//
//   tutorial_train  1000 tutorial steps (batch 100) from zero weights
//   batch1_step     one tutorial step at batch 1 (per-step overhead)
//   eval            test-set accuracy, 10,000 images in one run
//   mlp_step        one SGD step of a 784-1024-1024-10 relu MLP at batch 128 (reference: oneDNN
//                   matmul primitives called directly)
//   dispatch_*      chains of 1 and 100 Identity / scalar Add nodes (reference: virtual calls)
//
//   bazel build -c opt //bench:all
//   OMP_NUM_THREADS=1 MNIST_DIR=... bazel-out/k8-opt/bin/bench/tutorial_reference
//       --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//       --benchmark_enable_random_interleaving=true --dflow_report
//
// --dflow_report prints a table of medians (or single runs) with the dflow / reference ratio.
// Before timing, both sides train 1000 steps and their weights and test accuracies are printed
// for comparison (--nocheck skips that; the eval figures then score untrained weights).
// The softmax references are single-threaded loops; the MLP reference uses oneDNN, so it runs on
// as many OpenMP threads as dflow. Batches are drawn once into a ring that both sides cycle
// through, so neither side pays for batching.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/models.h"
#include "bench/report.h"
#include "benchmark/benchmark.h"

extern "C" int omp_get_max_threads();  // libgomp, which oneDNN uses.

namespace dflow {
namespace bench {
namespace {

constexpr int kTutorialSteps = 1000;
constexpr int kTutorialBatch = 100;
constexpr float kTutorialRate = 0.5f;
constexpr int kRingSize = 100;
constexpr int kChainLength = 100;

struct Globals {
  std::string data_description;
  mnist::DataSets data;
  std::vector<mnist::Batch> tutorial_ring;  // kRingSize batches of 100
  std::vector<mnist::Batch> batch1_ring;    // kRingSize batches of 1
  std::vector<mnist::Batch> mlp_ring;       // batches of 128
  // Trained by the correctness check; the eval benchmarks score them.
  std::unique_ptr<SoftmaxReference> trained_reference;
  std::unique_ptr<DflowModel> trained_dflow;
};
Globals* globals = nullptr;

const float* Data(const Tensor& t) { return static_cast<const float*>(t.data()); }

// ---------------------------------------------------------------------------------------------
// a. Tutorial training.

void TutorialReference(benchmark::State& state) {
  SoftmaxReference reference(kTutorialBatch);
  const auto& ring = globals->tutorial_ring;
  for (auto _ : state) {
    reference.Reset();
    for (int s = 0; s < kTutorialSteps; ++s) {
      const mnist::Batch& b = ring[s % ring.size()];
      reference.Step(Data(b.images), Data(b.labels), kTutorialBatch, kTutorialRate);
    }
    benchmark::DoNotOptimize(reference.weights());
  }
  state.SetItemsProcessed(state.iterations() * kTutorialSteps);
}

void TutorialDflow(benchmark::State& state) {
  std::unique_ptr<DflowModel> model = ValueOrDie(BuildDflowSoftmax({}), "tutorial graph");
  const auto& ring = globals->tutorial_ring;
  for (auto _ : state) {
    state.PauseTiming();
    CheckOk(model->session->Run({model->init}), "init");
    state.ResumeTiming();
    for (int s = 0; s < kTutorialSteps; ++s) {
      CheckOk(model->TrainStep(ring[s % ring.size()]), "train step");
    }
  }
  state.SetItemsProcessed(state.iterations() * kTutorialSteps);
}

// ---------------------------------------------------------------------------------------------
// b. One step at batch 1.

void Batch1Reference(benchmark::State& state) {
  SoftmaxReference reference(1);
  const auto& ring = globals->batch1_ring;
  size_t i = 0;
  for (auto _ : state) {
    const mnist::Batch& b = ring[i++ % ring.size()];
    reference.Step(Data(b.images), Data(b.labels), 1, kTutorialRate);
    benchmark::DoNotOptimize(reference.weights());
  }
  state.SetItemsProcessed(state.iterations());
}

void Batch1Dflow(benchmark::State& state) {
  std::unique_ptr<DflowModel> model = ValueOrDie(BuildDflowSoftmax({}), "tutorial graph");
  const auto& ring = globals->batch1_ring;
  size_t i = 0;
  for (auto _ : state) {
    CheckOk(model->TrainStep(ring[i++ % ring.size()]), "train step");
  }
  state.SetItemsProcessed(state.iterations());
}

// ---------------------------------------------------------------------------------------------
// c. Test-set evaluation.

void EvalReference(benchmark::State& state) {
  const mnist::DataSet& test = globals->data.test;
  double accuracy = 0;
  for (auto _ : state) {
    accuracy = globals->trained_reference->Accuracy(Data(test.images()), Data(test.labels()),
                                                    static_cast<int>(test.num_examples()));
    benchmark::DoNotOptimize(accuracy);
  }
  state.counters["accuracy"] = accuracy;
  state.SetItemsProcessed(state.iterations() * test.num_examples());
}

void EvalDflow(benchmark::State& state) {
  const mnist::DataSet& test = globals->data.test;
  DflowModel& model = *globals->trained_dflow;
  std::vector<Tensor> out;
  for (auto _ : state) {
    CheckOk(model.session->Run({{model.x, test.images()}, {model.y_, test.labels()}},
                               {model.accuracy}, {}, &out),
            "accuracy");
  }
  state.counters["accuracy"] = out.empty() ? 0 : out[0].scalar<float>();
  state.SetItemsProcessed(state.iterations() * test.num_examples());
}

// ---------------------------------------------------------------------------------------------
// d. MLP step.

void MlpReferenceStep(benchmark::State& state) {
  MlpReference reference(InitialMlpWeights(1), kMlpBatch);
  const auto& ring = globals->mlp_ring;
  size_t i = 0;
  for (auto _ : state) {
    const mnist::Batch& b = ring[i++ % ring.size()];
    benchmark::DoNotOptimize(reference.Step(Data(b.images), Data(b.labels), kMlpLearningRate));
  }
  state.SetItemsProcessed(state.iterations());
}

void MlpDflowStep(benchmark::State& state) {
  std::unique_ptr<DflowModel> model =
      ValueOrDie(BuildDflowMlp(InitialMlpWeights(1), {}), "MLP graph");
  const auto& ring = globals->mlp_ring;
  size_t i = 0;
  for (auto _ : state) {
    CheckOk(model->TrainStep(ring[i++ % ring.size()]), "MLP step");
  }
  state.SetItemsProcessed(state.iterations());
}

// ---------------------------------------------------------------------------------------------
// e. Dispatch: chains of trivially cheap nodes.

class TinyNode {
 public:
  virtual ~TinyNode() = default;
  virtual float Apply(float x) const = 0;
};
class IdentityNode : public TinyNode {
 public:
  float Apply(float x) const override { return x; }
};
class AddOneNode : public TinyNode {
 public:
  float Apply(float x) const override { return x + 1.0f; }
};

void DispatchReference(benchmark::State& state, ChainOp op) {
  const int length = static_cast<int>(state.range(0));
  std::vector<std::unique_ptr<TinyNode>> nodes;
  for (int i = 0; i < length; ++i) {
    if (op == ChainOp::kIdentity) {
      nodes.push_back(std::make_unique<IdentityNode>());
    } else {
      nodes.push_back(std::make_unique<AddOneNode>());
    }
  }
  float x = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(x);
    float v = x;
    for (const auto& node : nodes) {
      v = node->Apply(v);
      benchmark::ClobberMemory();
    }
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations() * length);
}

void DispatchDflow(benchmark::State& state, ChainOp op) {
  const int length = static_cast<int>(state.range(0));
  SessionOptions options;
  options.optimize_graph = false;  // This measures the executor: the optimizer would drop Identities.
  std::unique_ptr<DflowModel> model =
      ValueOrDie(BuildDflowChain(op, length, options), "chain graph");
  const Tensor x = Tensor::Scalar<float>(1.0f);
  const std::vector<std::pair<Output, Tensor>> feeds = {{model->x, x}};
  const std::vector<Output> fetches = {model->loss};
  std::vector<Tensor> out;
  for (auto _ : state) {
    CheckOk(model->session->Run(feeds, fetches, {}, &out), "chain");
  }
  state.SetItemsProcessed(state.iterations() * length);
}

void RegisterAll() {
  using benchmark::RegisterBenchmark;
  RegisterBenchmark("tutorial_train/reference", TutorialReference)
      ->Unit(benchmark::kMillisecond)->UseRealTime();
  RegisterBenchmark("tutorial_train/dflow", TutorialDflow)
      ->Unit(benchmark::kMillisecond)->UseRealTime();
  RegisterBenchmark("batch1_step/reference", Batch1Reference)
      ->Unit(benchmark::kMicrosecond)->UseRealTime();
  RegisterBenchmark("batch1_step/dflow", Batch1Dflow)
      ->Unit(benchmark::kMicrosecond)->UseRealTime();
  RegisterBenchmark("eval/reference", EvalReference)->Unit(benchmark::kMillisecond)->UseRealTime();
  RegisterBenchmark("eval/dflow", EvalDflow)->Unit(benchmark::kMillisecond)->UseRealTime();
  RegisterBenchmark("mlp_step/reference", MlpReferenceStep)
      ->Unit(benchmark::kMillisecond)->UseRealTime();
  RegisterBenchmark("mlp_step/dflow", MlpDflowStep)->Unit(benchmark::kMillisecond)->UseRealTime();
  for (auto [name, op] : {std::pair<const char*, ChainOp>{"dispatch_identity", ChainOp::kIdentity},
                          std::pair<const char*, ChainOp>{"dispatch_add", ChainOp::kAdd}}) {
    const ChainOp chain_op = op;
    RegisterBenchmark(absl::StrCat(name, "/reference").c_str(),
                      [chain_op](benchmark::State& s) { DispatchReference(s, chain_op); })
        ->Arg(1)->Arg(kChainLength)->UseRealTime();
    RegisterBenchmark(absl::StrCat(name, "/dflow").c_str(),
                      [chain_op](benchmark::State& s) { DispatchDflow(s, chain_op); })
        ->Arg(1)->Arg(kChainLength)->Unit(benchmark::kMicrosecond)->UseRealTime();
  }
}

// ---------------------------------------------------------------------------------------------
// Correctness: both sides must compute the same thing.

void CheckAgreement() {
  Globals& g = *globals;
  g.trained_reference = std::make_unique<SoftmaxReference>(kTutorialBatch);
  g.trained_dflow = ValueOrDie(BuildDflowSoftmax({}), "tutorial graph");
  for (int s = 0; s < kTutorialSteps; ++s) {
    const mnist::Batch& b = g.tutorial_ring[s % g.tutorial_ring.size()];
    g.trained_reference->Step(Data(b.images), Data(b.labels), kTutorialBatch, kTutorialRate);
    CheckOk(g.trained_dflow->TrainStep(b), "train step");
  }
  std::vector<Tensor> out;
  CheckOk(g.trained_dflow->session->Run(std::vector<std::pair<std::string, Tensor>>(),
                                            {"W", "b"}, {}, &out), "fetch W, b");
  float max_diff = 0;
  const auto w = out[0].flat<float>();  // [784, 10]
  for (int k = 0; k < SoftmaxReference::kFeatures; ++k) {
    for (int j = 0; j < SoftmaxReference::kClasses; ++j) {
      max_diff = std::max(max_diff, std::abs(w[k * SoftmaxReference::kClasses + j] -
                                             g.trained_reference->w(k, j)));
    }
  }
  const mnist::DataSet& test = g.data.test;
  const double ref_accuracy = g.trained_reference->Accuracy(
      Data(test.images()), Data(test.labels()), static_cast<int>(test.num_examples()));
  CheckOk(g.trained_dflow->session->Run({{g.trained_dflow->x, test.images()},
                                         {g.trained_dflow->y_, test.labels()}},
                                        {g.trained_dflow->accuracy}, {}, &out),
          "accuracy");
  std::printf("check tutorial: %d steps, max |W_dflow - W_ref| = %.2e, test accuracy dflow %.4f, "
              "reference %.4f\n",
              kTutorialSteps, max_diff, out[0].scalar<float>(), ref_accuracy);

  MlpWeights weights = InitialMlpWeights(1);
  MlpReference mlp_reference(weights, kMlpBatch);
  std::unique_ptr<DflowModel> mlp = ValueOrDie(BuildDflowMlp(weights, {}), "MLP graph");
  std::printf("check mlp: loss per step dflow/reference:");
  for (int s = 0; s < 5; ++s) {
    const mnist::Batch& b = g.mlp_ring[s];
    CheckOk(mlp->session->Run({{mlp->x, b.images}, {mlp->y_, b.labels}}, {mlp->loss},
                              {mlp->train}, &out),
            "MLP step");
    const float ref_loss = mlp_reference.Step(Data(b.images), Data(b.labels), kMlpLearningRate);
    std::printf(" %.5f/%.5f", out[0].scalar<float>(), ref_loss);
  }
  std::printf("\n");
}

// ---------------------------------------------------------------------------------------------
// The ratio table.

void PrintReport(const CollectingReporter& r, const std::string& load_before) {
  struct Figure {
    const char* key;
    const char* what;
    double units;  // Iteration time is divided by this (nodes in a chain).
    double target_ratio;
  };
  const Figure figures[] = {
      {"tutorial_train", "tutorial training, 1000 steps x 100", 1, 1.5},
      {"batch1_step", "one step at batch 1", 1, 3},
      {"eval", "evaluation, 10,000 images", 1, 1.5},
      {"mlp_step", "MLP 784-1024-1024-10 step, batch 128", 1, 1.1},
      {"dispatch_identity", "Identity chain, per node", kChainLength, 0},
      {"dispatch_add", "scalar Add chain, per node", kChainLength, 0},
  };
  const char* wait_policy = std::getenv("OMP_WAIT_POLICY");
  std::printf("\ndflow report: OMP threads %d, OMP_WAIT_POLICY %s, %s\n", omp_get_max_threads(),
              wait_policy != nullptr ? wait_policy : "unset",
              globals->data_description.c_str());
  std::printf("load average before %s, after %s\n\n", load_before.c_str(), LoadAverage().c_str());
  std::printf("| figure | reference | dflow | ratio | target | met |\n|---|---|---|---|---|---|\n");
  for (const Figure& f : figures) {
    const bool chain = f.units > 1;
    const std::string suffix = chain ? absl::StrCat("/", kChainLength) : "";
    const double ref = r.Seconds(absl::StrCat(f.key, "/reference", suffix));
    const double dflow = r.Seconds(absl::StrCat(f.key, "/dflow", suffix));
    if (ref < 0 || dflow < 0) continue;
    const double ratio = dflow / ref;
    const double per_unit = dflow / f.units;
    std::string target, met;
    if (chain) {
      target = "< 1 us/node";
      met = per_unit < 1e-6 ? "yes" : "no";
    } else {
      target = absl::StrFormat("<= %gx", f.target_ratio);
      met = ratio <= f.target_ratio ? "yes" : "no";
    }
    std::printf("| %s | %s | %s | %.2fx | %s | %s |\n", f.what, FormatTime(ref / f.units).c_str(),
                FormatTime(per_unit).c_str(), ratio, target.c_str(), met.c_str());
  }
  for (const char* key : {"dispatch_identity", "dispatch_add"}) {
    const double one = r.Seconds(absl::StrCat(key, "/dflow/1"));
    const double many = r.Seconds(absl::StrCat(key, "/dflow/", kChainLength));
    if (one < 0 || many < 0) continue;
    std::printf("%s: a run of 1 node %s; each further node %s\n", key, FormatTime(one).c_str(),
                FormatTime((many - one) / (kChainLength - 1)).c_str());
  }
}

}  // namespace
}  // namespace bench
}  // namespace dflow

int main(int argc, char** argv) {
  using namespace dflow::bench;  // NOLINT: main only.
  bool report = false, check = true;
  if (!InitializeBenchmark(&argc, argv,
                           {ReportFlag(&report),
                            {"--nocheck", [&](const char*) { check = false; }}})) {
    return 1;
  }

  const std::string load_before = LoadAverage();
  globals = new Globals();
  Globals& g = *globals;
  g.data = ValueOrDie(LoadBenchData(&g.data_description), "data");
  g.tutorial_ring = ValueOrDie(MakeBatchRing(g.data.train, kTutorialBatch, kRingSize), "batches");
  g.batch1_ring = ValueOrDie(MakeBatchRing(g.data.train, 1, kRingSize), "batches");
  g.mlp_ring = ValueOrDie(MakeBatchRing(g.data.train, dflow::bench::kMlpBatch, 20), "batches");
  if (check) {
    CheckAgreement();
  } else {
    g.trained_reference = std::make_unique<SoftmaxReference>(kTutorialBatch);
    g.trained_dflow = ValueOrDie(BuildDflowSoftmax({}), "tutorial graph");
  }

  const char* wait_policy = std::getenv("OMP_WAIT_POLICY");
  benchmark::AddCustomContext("omp_threads", std::to_string(omp_get_max_threads()));
  benchmark::AddCustomContext("OMP_WAIT_POLICY", wait_policy != nullptr ? wait_policy : "unset");
  benchmark::AddCustomContext("data", g.data_description);
  benchmark::AddCustomContext("loadavg", load_before);
  RegisterAll();
  RunBenchmarks(report, [&](const CollectingReporter& r) { PrintReport(r, load_before); });
  return 0;
}
