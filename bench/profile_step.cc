// Runs steady-state dflow steps on random data, for profilers (no data set to load):
//
//   profile_step [tutorial|batch1|infer1|mlp|add_chain|tutorial_reference|batch1_reference]
//                [steps]
//   profile_step graph GRAPH.pb INPUT OUTPUT BATCH [steps]
//
// infer1 runs the tutorial's inference signature (fetch y) at batch 1, as bench/throughput does.
// graph runs a frozen GraphDef's OUTPUT from INPUT (the placeholder's shape with batch BATCH,
// uniform in [0, 1) as peers/dflow_bench I feeds it): the corpus models of docs/benchmarks.md.
// The *_reference modes run the hand-written SoftmaxReference step instead, for comparison.
//
//   valgrind --tool=callgrind --toggle-collect='*SteadyStateSteps*'
//       bazel-out/k8-opt/bin/bench/profile_step tutorial 100
//   perf record -g bazel-out/k8-opt/bin/bench/profile_step tutorial 5000
//
// One step runs first (building the plan, the kernels' oneDNN primitives and oneDNN's JIT code),
// then SteadyStateSteps() runs the others, so that profilers can look at those alone.
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bench/models.h"
#include "graph/graph_def_io.h"
#include "runtime/session.h"

namespace dflow {
namespace bench {
namespace {

// Runs step() `steps` times (a function of its own for callgrind's --toggle-collect).
__attribute__((noinline)) void SteadyStateSteps(const std::function<void()>& step, int steps) {
  for (int s = 0; s < steps; ++s) step();
}

// The graph mode: GRAPH INPUT OUTPUT BATCH [steps] from argv[2].
int RunGraph(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: profile_step graph GRAPH.pb INPUT OUTPUT BATCH [steps]\n");
    return 2;
  }
  const std::string input = argv[3], output = argv[4];
  const int batch = std::atoi(argv[5]);
  const int steps = argc > 6 ? std::atoi(argv[6]) : 100;
  GraphDef def;
  CheckOk(ReadGraphDefFile(argv[2], &def), "read graph");
  std::unique_ptr<Session> session = ValueOrDie(Session::Create(def), "session");
  std::vector<int64_t> dims;
  for (const NodeDef& n : def.node()) {
    if (n.name() != input || n.attr().count("shape") == 0) continue;
    for (const auto& d : n.attr().at("shape").shape().dim()) dims.push_back(d.size());
  }
  if (dims.empty()) {
    std::fprintf(stderr, "no placeholder shape for %s\n", input.c_str());
    return 2;
  }
  dims[0] = batch;
  Tensor x(DT_FLOAT, TensorShape(dims));
  std::mt19937 rng(0);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  for (float& f : x.flat<float>()) f = u(rng);
  std::vector<Tensor> out;
  const std::function<void()> step = [&] {
    CheckOk(session->Run({{input, x}}, {output}, {}, &out), "run");
  };
  step();
  SteadyStateSteps(step, steps);
  std::printf("graph: %d steps done\n", steps);
  return 0;
}

int Main(int argc, char** argv) {
  const std::string what = argc > 1 ? argv[1] : "tutorial";
  if (what == "graph") return RunGraph(argc, argv);
  const int steps = argc > 2 ? std::atoi(argv[2]) : 1000;
  std::unique_ptr<DflowModel> model;
  std::unique_ptr<SoftmaxReference> reference;
  mnist::Batch batch;
  int batch_size = 0;
  if (what == "tutorial_reference" || what == "batch1_reference") {
    batch_size = what == "tutorial_reference" ? 100 : 1;
    reference = std::make_unique<SoftmaxReference>(batch_size);
    batch = RandomBatch(batch_size, mnist::kImageSize, mnist::kNumClasses);
  } else if (what == "tutorial" || what == "batch1" || what == "infer1") {
    model = ValueOrDie(BuildDflowSoftmax({}), "tutorial graph");
    batch = RandomBatch(what == "tutorial" ? 100 : 1, mnist::kImageSize, mnist::kNumClasses);
  } else if (what == "mlp") {
    model = ValueOrDie(BuildDflowMlp(InitialMlpWeights(1), {}), "MLP graph");
    batch = RandomBatch(kMlpBatch, kMlpLayers[0], kMlpLayers[3]);
  } else if (what == "add_chain") {
    model = ValueOrDie(BuildDflowChain(ChainOp::kAdd, 100, {}), "chain");
  } else {
    std::fprintf(stderr,
                 "usage: profile_step [tutorial|batch1|infer1|mlp|add_chain|tutorial_reference|"
                 "batch1_reference] [steps]\n"
                 "       profile_step graph GRAPH.pb INPUT OUTPUT BATCH [steps]\n");
    return 2;
  }
  std::function<void()> step;
  const Tensor x = Tensor::Scalar<float>(1.0f);
  std::vector<Tensor> out;
  if (reference != nullptr) {
    step = [&] {
      reference->Step(static_cast<const float*>(batch.images.data()),
                      static_cast<const float*>(batch.labels.data()), batch_size, 0.5f);
    };
  } else if (what == "infer1") {
    step = [&] {
      CheckOk(model->session->Run({{model->x, batch.images}}, {model->y}, {}, &out), "inference");
    };
  } else if (what == "add_chain") {
    step = [&] { CheckOk(model->session->Run({{model->x, x}}, {model->loss}, {}, &out), "chain"); };
  } else {
    step = [&] { CheckOk(model->TrainStep(batch), "step"); };
  }
  step();
  SteadyStateSteps(step, steps);
  std::printf("%s: %d steps done\n", what.c_str(), steps);
  return 0;
}

}  // namespace
}  // namespace bench
}  // namespace dflow

int main(int argc, char** argv) { return dflow::bench::Main(argc, argv); }
