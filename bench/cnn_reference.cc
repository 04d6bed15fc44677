// The Deep MNIST CNN (tools/mnist_cnn_lib's BuildCnnGraph) run by a dflow Session against the
// same forward pass written directly with oneDNN primitives, on the same weights and images:
//
//   cnn_infer  class probabilities for 1000 images (keep_prob 1): conv 5x5x32 SAME + bias +
//              relu + max-pool 2x2, conv 5x5x64 + bias + relu + max-pool, fc 3136->1024 relu,
//              fc 1024->10, softmax.
//   cnn_train  one training step at batch 50 (forward, backward, Adam 1e-4), keep_prob 1 on both
//              sides (dflow is fed zero dropout noise).
//
// The reference uses the layouts dflow's kernels use (NHWC images, HWIO filters reordered once,
// outside the timed loop, into the convolution's preferred layout), convolution_forward with
// bias, eltwise relu, pooling_forward max, matmul with bias for the dense layers and
// softmax_forward; every primitive and buffer is created before timing (bench/cnn_onednn).
//
//   bazel build -c opt //bench:cnn_reference
//   OMP_NUM_THREADS=1 bazel-out/k8-opt/bin/bench/cnn_reference --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true --dflow_report
//
// Before timing, both sides' outputs are compared (max abs difference printed), and both train
// 3 steps from the same weights (losses and the max weight difference printed).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/cnn_onednn.h"
#include "bench/report.h"
#include "benchmark/benchmark.h"
#include "ops/standard_ops.h"
#include "runtime/session.h"
#include "tools/mnist_cnn_lib.h"

extern "C" int omp_get_max_threads();  // libgomp, which oneDNN uses.

namespace dflow {
namespace bench {
namespace {

constexpr int kInferBatch = 1000;
constexpr int kClasses = kCnnClasses;
constexpr int kTrainBatch = 50;
constexpr float kLearningRate = 1e-4f;

void CheckOk(const absl::Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, std::string(s.message()).c_str());
    std::exit(1);
  }
}

// The dflow side: the tutorial's graph plus a Softmax on the logits, initialized.
struct DflowCnn {
  Scope root = Scope::NewRootScope();
  mnist::CnnGraph g;
  Output probs;
  std::unique_ptr<Session> session;
  Tensor keep_one = Tensor::Scalar<float>(1.0f);
  std::map<int64_t, Tensor> zero_noise;  // Fed to the dropout's noise at keep_prob 1.

  const Tensor& Zeros(int64_t n) {
    auto it = zero_noise.find(n);
    if (it == zero_noise.end()) {
      it = zero_noise.emplace(n, Tensor::Filled<float>(TensorShape({n, 1024}), 0.0f)).first;
    }
    return it->second;
  }
  absl::Status Infer(const Tensor& images, std::vector<Tensor>* out) {
    return session->Run({{g.x, images}, {g.keep_prob, keep_one}, {g.dropout_noise,
                                                                   Zeros(images.dim_size(0))}},
                        {probs}, {}, out);
  }
  absl::Status TrainStep(const Tensor& images, const Tensor& labels, std::vector<Tensor>* out) {
    return session->Run({{g.x, images}, {g.y_, labels}, {g.keep_prob, keep_one},
                         {g.dropout_noise, Zeros(images.dim_size(0))}},
                        {g.loss}, {g.train}, out);
  }
  CnnWeights Weights() {
    std::vector<Tensor> out;
    CheckOk(session->Run(std::vector<std::pair<std::string, Tensor>>(),
                         {"W_conv1", "b_conv1", "W_conv2", "b_conv2", "W_fc1", "b_fc1", "W_fc2",
                          "b_fc2"},
                         {}, &out),
            "fetch weights");
    return {out[0], out[1], out[2], out[3], out[4], out[5], out[6], out[7]};
  }
};

std::unique_ptr<DflowCnn> BuildDflowCnn() {
  auto m = std::make_unique<DflowCnn>();
  mnist::CnnOptions options;
  options.seed = 1;
  absl::StatusOr<mnist::CnnGraph> g = mnist::BuildCnnGraph(m->root, kClasses, options);
  CheckOk(g.status(), "CNN graph");
  m->g = *g;
  m->probs = ops::Softmax(m->root.WithOpName("probs"), m->g.logits);
  CheckOk(m->root.status(), "softmax");
  absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(m->root, SessionOptions());
  CheckOk(s.status(), "session");
  m->session = std::move(*s);
  CheckOk(m->session->Run({m->g.init}), "init");
  return m;
}

struct Globals {
  std::unique_ptr<DflowCnn> dflow;
  std::unique_ptr<CnnInferenceReference> reference;
  Tensor images;  // [kInferBatch, 784], uniform in [0, 1)
  Tensor train_images, train_labels;  // [kTrainBatch, 784], one-hot [kTrainBatch, 10]
};
Globals* globals = nullptr;

void InferReference(benchmark::State& state) {
  const float* images = static_cast<const float*>(globals->images.data());
  for (auto _ : state) {
    benchmark::DoNotOptimize(globals->reference->Infer(images));
  }
  state.SetItemsProcessed(state.iterations() * kInferBatch);
}

void InferDflow(benchmark::State& state) {
  std::vector<Tensor> out;
  for (auto _ : state) {
    CheckOk(globals->dflow->Infer(globals->images, &out), "infer");
  }
  state.SetItemsProcessed(state.iterations() * kInferBatch);
}


void TrainReference(benchmark::State& state) {
  std::unique_ptr<CnnTrainReference> reference =
      NewCnnTrainReference(BuildDflowCnn()->Weights(), kTrainBatch);
  const float* x = static_cast<const float*>(globals->train_images.data());
  const float* y = static_cast<const float*>(globals->train_labels.data());
  for (auto _ : state) benchmark::DoNotOptimize(reference->Step(x, y, kLearningRate));
  state.SetItemsProcessed(state.iterations() * kTrainBatch);
}

void TrainDflow(benchmark::State& state) {
  std::unique_ptr<DflowCnn> model = BuildDflowCnn();
  std::vector<Tensor> out;
  for (auto _ : state) {
    CheckOk(model->TrainStep(globals->train_images, globals->train_labels, &out), "train");
  }
  state.SetItemsProcessed(state.iterations() * kTrainBatch);
}

void CheckTraining() {
  std::unique_ptr<DflowCnn> model = BuildDflowCnn();
  std::unique_ptr<CnnTrainReference> reference =
      NewCnnTrainReference(model->Weights(), kTrainBatch);
  const float* x = static_cast<const float*>(globals->train_images.data());
  const float* y = static_cast<const float*>(globals->train_labels.data());
  std::vector<Tensor> out;
  std::printf("check cnn_train: loss per step dflow/reference:");
  for (int s = 0; s < 3; ++s) {
    CheckOk(model->TrainStep(globals->train_images, globals->train_labels, &out), "train");
    std::printf(" %.6f/%.6f", out[0].scalar<float>(), reference->Step(x, y, kLearningRate));
  }
  const CnnWeights w = model->Weights();
  const Tensor* ts[8] = {&w.w_conv1, &w.b_conv1, &w.w_conv2, &w.b_conv2,
                         &w.w_fc1,   &w.b_fc1,   &w.w_fc2,   &w.b_fc2};
  float max_diff = 0;
  for (int i = 0; i < 8; ++i) {
    const float* d = static_cast<const float*>(ts[i]->data());
    for (size_t k = 0; k < reference->weights_size(i); ++k) {
      max_diff = std::max(max_diff, std::abs(d[k] - reference->weights(i)[k]));
    }
  }
  std::printf("; after 3 steps max |w_dflow - w_ref| = %.3e (learning rate %g)\n", max_diff,
              kLearningRate);
}

void CheckAgreement() {
  std::vector<Tensor> out;
  CheckOk(globals->dflow->Infer(globals->images, &out), "infer");
  const float* d = static_cast<const float*>(out[0].data());
  const float* r = globals->reference->Infer(static_cast<const float*>(globals->images.data()));
  float max_diff = 0;
  int argmax_disagree = 0;
  for (int i = 0; i < kInferBatch; ++i) {
    const float* a = d + i * kClasses;
    const float* b = r + i * kClasses;
    for (int j = 0; j < kClasses; ++j) max_diff = std::max(max_diff, std::abs(a[j] - b[j]));
    argmax_disagree += (std::max_element(a, a + kClasses) - a) !=
                       (std::max_element(b, b + kClasses) - b);
  }
  std::printf("check cnn_infer: batch %d, max |probs_dflow - probs_ref| = %.3e, argmax "
              "disagreements %d; image 0 probs dflow %.5f %.5f %.5f, reference %.5f %.5f %.5f\n",
              kInferBatch, max_diff, argmax_disagree, d[0], d[1], d[2], r[0], r[1], r[2]);
  if (!(max_diff < 1e-3f)) {
    std::fprintf(stderr, "dflow and the reference disagree\n");
    std::exit(1);
  }
}

void PrintReport(const CollectingReporter& r, const std::string& load_before) {
  struct Figure {
    const char* key;
    const char* what;
    int images;
  };
  const Figure figures[] = {{"cnn_infer", "CNN inference, batch 1000", kInferBatch},
                            {"cnn_train", "CNN training step, batch 50", kTrainBatch}};
  std::printf("\ndflow report: OMP threads %d\nload average before %s, after %s\n\n",
              omp_get_max_threads(), load_before.c_str(), LoadAverage().c_str());
  std::printf("| figure | reference images/s | dflow images/s | ratio dflow/reference | "
              "target | met |\n|---|---|---|---|---|---|\n");
  for (const Figure& f : figures) {
    const double ref = r.Seconds(absl::StrCat(f.key, "/reference"));
    const double dflow = r.Seconds(absl::StrCat(f.key, "/dflow"));
    if (ref < 0 || dflow < 0) continue;
    const double ratio = dflow / ref;
    std::printf("| %s | %.0f | %.0f | %.3fx | <= 1.1x | %s |\n", f.what, f.images / ref,
                f.images / dflow, ratio, ratio <= 1.1 ? "yes" : "no");
  }
}

}  // namespace
}  // namespace bench
}  // namespace dflow

int main(int argc, char** argv) {
  using namespace dflow::bench;  // NOLINT: main only.
  const std::optional<ReportStart> start = StartReportOnlyBenchmark(&argc, argv);
  if (!start) return 1;
  globals = new Globals();
  Globals& g = *globals;
  g.images = dflow::Tensor(dflow::DT_FLOAT, dflow::TensorShape({kInferBatch, 784}));
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(0.f, 1.f);
  float* px = static_cast<float*>(g.images.data());
  for (int i = 0; i < kInferBatch * 784; ++i) px[i] = uniform(rng);
  g.dflow = BuildDflowCnn();
  g.reference = NewCnnInferenceReference(g.dflow->Weights(), kInferBatch);
  CheckAgreement();
  g.train_images = dflow::Tensor(dflow::DT_FLOAT, dflow::TensorShape({kTrainBatch, 784}));
  g.train_labels = dflow::Tensor::Filled<float>(dflow::TensorShape({kTrainBatch, kClasses}), 0.f);
  float* tx = static_cast<float*>(g.train_images.data());
  for (int i = 0; i < kTrainBatch * 784; ++i) tx[i] = uniform(rng);
  float* ty = static_cast<float*>(g.train_labels.data());
  for (int i = 0; i < kTrainBatch; ++i) ty[i * kClasses + rng() % kClasses] = 1.f;
  CheckTraining();

  benchmark::AddCustomContext("omp_threads", std::to_string(omp_get_max_threads()));
  benchmark::AddCustomContext("loadavg", start->load_before);
  benchmark::RegisterBenchmark("cnn_infer/reference", InferReference)
      ->Unit(benchmark::kMillisecond)->UseRealTime();
  benchmark::RegisterBenchmark("cnn_infer/dflow", InferDflow)
      ->Unit(benchmark::kMillisecond)->UseRealTime();
  benchmark::RegisterBenchmark("cnn_train/reference", TrainReference)
      ->Unit(benchmark::kMillisecond)->UseRealTime();
  benchmark::RegisterBenchmark("cnn_train/dflow", TrainDflow)
      ->Unit(benchmark::kMillisecond)->UseRealTime();
  RunBenchmarks(start->report,
                [&](const CollectingReporter& r) { PrintReport(r, start->load_before); });
  return 0;
}
