// Inference latency and arithmetic rate of the corpus' real TensorFlow graphs (issue 14): the
// image models, the SSD detector and two LSTM graphs, at batch 1 and 32 on 1 and 2 intra-op
// threads. Each benchmark reports ms per image (ms_per_image) and GFLOP/s, the FLOPs of one run
// counted by a traced run (runtime/flops.h: convolutions and products, a multiply-add as 2) of
// the graph optimized without convolution trunks. DFLOW_CONV_TRUNKS=0 times it without them.
// Inputs are random, in each graph's range; the graph runs as written (no batch is relaxed:
// graphs that fix batch 1 run only at batch 1).
//
//   bazel build -c opt //bench:corpus_models
//   DFLOW_SHARED_DIR=/work/shared bazel-out/k8-opt/bin/bench/corpus_models \
//       --benchmark_repetitions=3 --benchmark_report_aggregates_only=true --dflow_report
//
// Without DFLOW_SHARED_DIR nothing is registered.
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/models.h"
#include "bench/report.h"
#include "benchmark/benchmark.h"
#include "graph/graph_def_io.h"
#include "runtime/session.h"

namespace dflow {
namespace bench {
namespace {

// A corpus graph: its file, its input (per-image shape, dtype and value range) and fetches.
struct Model {
  const char* key;
  const char* file;
  const char* input;
  std::vector<int64_t> image_shape;  // Without the batch dimension.
  DataType dtype;
  float low, high;
  bool integers;  // Whole numbers in [low, high) (word ids fed as float, uint8 pixels).
  std::vector<const char*> fetches;
  std::vector<int> batches;
};

const std::vector<Model>& Models() {
  static const auto* models = new std::vector<Model>{
      {"mobilenet_v1_025_128", "erkkapekka_mobilenet_v1_025_128_retrained_graph.pb", "input",
       {128, 128, 3}, DT_FLOAT, -1, 1, false, {"final_result"}, {1}},
      {"squeezenet_160_075", "minakhan01_squeezenet_160res_5x5_0.75.pb", "input", {160, 160, 3},
       DT_FLOAT, -1, 1, false, {"Prediction"}, {1}},
      {"fer_tiny_cnn_48", "cdyangzhenyu_fer_emotion_tiny_cnn.pb", "image_array_input",
       {48, 48, 1}, DT_FLOAT, 0, 1, false, {"predictions/Softmax"}, {1, 32}},
      {"cifar10_keras", "foolmarks_cifar10_keras_frozen_graph.pb", "conv2d_input", {32, 32, 3},
       DT_FLOAT, 0, 1, false, {"dense_1/Softmax"}, {1, 32}},
      {"lenet5_28", "ardianumam_keras_lenet5_small_frozen_model.pb", "input_tensor_input",
       {28, 28, 1}, DT_FLOAT, 0, 1, false, {"output_tensor/Softmax"}, {1, 32}},
      {"pilotnet_160x320", "avinashshah_pilotnet_keras_model.pb", "cropping2d_1_input",
       {160, 320, 3}, DT_FLOAT, 0, 255, false, {"dense_4/BiasAdd"}, {1, 32}},
      // The OD API's SSD: resizes to 300x300 in a while loop, then NMS per image.
      {"ssd_mobilenet_v1", "minakhan01_ssd_mobilenet_frozen_inference_graph.pb", "image_tensor",
       {120, 160, 3}, DT_UINT8, 0, 256, true,
       {"detection_boxes", "detection_scores", "detection_classes", "num_detections"}, {1, 8}},
      // 2-layer LSTM of 64 units unrolled by static_rnn over 200 steps of 3 values.
      {"lstm_har_static", "curiousily_static_lstm_har_frozen.pb", "input", {200, 3}, DT_FLOAT,
       -10, 10, false, {"y_"}, {1, 32}},
      // Keras Embedding + LSTM over 3 words in a tf.while_loop, softmax over 8286 words.
      {"lstm_while_keras", "irdanish11_keras_lstm_while_frozen_model.pb", "embedding_1_input",
       {3}, DT_FLOAT, 0, 8286, true, {"dense_2/Softmax"}, {1, 32}},
  };
  return *models;
}

std::string CorpusDir() {
  const char* dir = std::getenv("DFLOW_SHARED_DIR");
  return dir == nullptr ? "" : absl::StrCat(dir, "/tf_graphs/corpus/files");
}

Tensor RandomInput(const Model& m, int batch) {
  std::vector<int64_t> dims = {batch};
  dims.insert(dims.end(), m.image_shape.begin(), m.image_shape.end());
  Tensor t(m.dtype, TensorShape(dims));
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(m.low, m.high);
  if (m.dtype == DT_UINT8) {
    for (uint8_t& v : t.flat<uint8_t>()) v = static_cast<uint8_t>(rng() % 256);
  } else {
    for (float& v : t.flat<float>()) {
      v = uniform(rng);
      if (m.integers) v = static_cast<float>(static_cast<int>(v));
    }
  }
  return t;
}

// One (model, batch, threads) configuration, made on first use and kept warm.
struct Figure {
  std::unique_ptr<Session> session;
  std::vector<std::pair<Output, Tensor>> feeds;
  std::vector<Output> fetches;
  std::vector<Tensor> out;
  int64_t flops = 0;  // Per run.
  void Run() { CheckOk(session->Run(feeds, fetches, {}, &out), "run"); }
};

Figure& GetFigure(int model, int batch, int threads) {
  static auto* figures = new std::map<std::tuple<int, int, int>, std::unique_ptr<Figure>>();
  std::unique_ptr<Figure>& f = (*figures)[{model, batch, threads}];
  if (f != nullptr) return *f;
  const Model& m = Models()[model];
  f = std::make_unique<Figure>();
  GraphDef def;
  const std::string path = absl::StrCat(CorpusDir(), "/", m.file);
  CheckOk(ReadGraphDefFile(path, &def), path.c_str());
  SessionOptions options;
  options.intra_op_threads = threads;
  f->session = ValueOrDie(Session::Create(def, options), m.key);
  const Tensor input = RandomInput(m, batch);
  // The feeds and fetches of `session`, by name.
  auto signature = [&](const Session& session, std::vector<std::pair<Output, Tensor>>* feeds,
                       std::vector<Output>* fetches) {
    const Graph& graph = session.graph();
    *feeds = {{ValueOrDie(graph.FindOutput(m.input), m.input), input}};
    for (const char* name : m.fetches) {
      fetches->push_back(ValueOrDie(graph.FindOutput(name), name));
    }
  };
  signature(*f->session, &f->feeds, &f->fetches);
  f->Run();  // Plan, primitives, JIT code.
  // FLOPs from a traced run of the same graph without convolution trunks, whose stages a trace
  // does not see one by one (runtime/flops.h); the arithmetic is the same.
  options.optimizer.conv_trunks = false;
  std::unique_ptr<Session> counting = ValueOrDie(Session::Create(def, options), m.key);
  std::vector<std::pair<Output, Tensor>> feeds;
  std::vector<Output> fetches;
  signature(*counting, &feeds, &fetches);
  RunOptions traced;
  traced.trace = true;
  RunMetadata meta;
  std::vector<Tensor> out;
  CheckOk(counting->Run(traced, feeds, fetches, {}, &out, &meta), "traced run");
  for (const NodeExecStats& n : meta.nodes) f->flops += n.flops;
  return *f;
}

// Args: model index, batch, intra-op threads.
void CorpusModel(benchmark::State& state) {
  const int batch = static_cast<int>(state.range(1));
  Figure& f = GetFigure(static_cast<int>(state.range(0)), batch, static_cast<int>(state.range(2)));
  for (auto _ : state) f.Run();
  state.counters["ms_per_image"] = benchmark::Counter(
      1e3 / batch, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  state.counters["GFLOP/s"] = benchmark::Counter(
      static_cast<double>(f.flops) / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GFLOP_per_run"] = static_cast<double>(f.flops) / 1e9;
}

void PrintReport(const CollectingReporter& r, const std::string& load_before) {
  std::printf("\nload average before: %s, after: %s\n", load_before.c_str(),
              LoadAverage().c_str());
  std::printf("%-22s %6s %8s %12s %14s %10s\n", "model", "batch", "threads", "ms per run",
              "ms per image", "GFLOP/s");
  for (size_t m = 0; m < Models().size(); ++m) {
    for (int batch : Models()[m].batches) {
      for (int threads : {1, 2}) {
        const double s =
            r.Seconds(absl::StrCat("corpus/", Models()[m].key, "/", m, "/", batch, "/", threads));
        if (s < 0) continue;
        const Figure& f = GetFigure(static_cast<int>(m), batch, threads);
        std::printf("%-22s %6d %8d %12.3f %14.4f %10.2f\n", Models()[m].key, batch, threads,
                    s * 1e3, s * 1e3 / batch, f.flops / s / 1e9);
      }
    }
  }
}

}  // namespace
}  // namespace bench
}  // namespace dflow

int main(int argc, char** argv) {
  using namespace dflow::bench;  // NOLINT: a benchmark's main.
  const std::optional<ReportStart> start = StartReportOnlyBenchmark(&argc, argv);
  if (!start) return 1;
  if (CorpusDir().empty()) {
    std::fprintf(stderr, "DFLOW_SHARED_DIR is not set: no corpus models to run\n");
  } else {
    for (size_t m = 0; m < Models().size(); ++m) {
      for (int batch : Models()[m].batches) {
        for (int threads : {1, 2}) {
          benchmark::RegisterBenchmark(absl::StrCat("corpus/", Models()[m].key).c_str(),
                                       CorpusModel)
              ->Args({static_cast<int64_t>(m), batch, threads})
              ->UseRealTime()
              ->Unit(benchmark::kMillisecond);
        }
      }
    }
  }
  RunBenchmarks(start->report,
                [&](const CollectingReporter& r) { PrintReport(r, start->load_before); });
  return 0;
}
