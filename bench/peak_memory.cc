// Peak resident memory of the tutorial (1000 steps of 100 images, then the test set) in dflow or
// in the hand-written reference, one per process so that each peak is its own:
//
//   bazel-out/k8-opt/bin/bench/peak_memory reference
//   bazel-out/k8-opt/bin/bench/peak_memory dflow
//
// Both load the same data with tools/mnist_data (MNIST from $MNIST_DIR, else generated data of
// the same shapes) and draw batches with NextBatch. Loading itself peaks far higher than training
// (decompression buffers), so the high-water mark is reset after loading (Linux's
// /proc/self/clear_refs) and the line printed gives the resident memory after loading and the
// peak from there to the end (VmHWM in /proc/self/status).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "bench/models.h"

namespace dflow {
namespace bench {
namespace {

// A "VmRSS" or "VmHWM" line of /proc/self/status, in MiB.
double StatusMiB(const char* field) {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return -1;
  char line[256];
  double kib = -1;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::strncmp(line, field, std::strlen(field)) == 0) kib = std::atof(line + std::strlen(field) + 1);
  }
  std::fclose(f);
  return kib / 1024.0;
}

void ResetPeak() {
  FILE* f = std::fopen("/proc/self/clear_refs", "w");
  if (f == nullptr) return;
  std::fputs("5", f);  // 5: reset the peak resident set size to the current one.
  std::fclose(f);
}

int Main(const std::string& which) {
  std::string description;
  absl::StatusOr<mnist::DataSets> data = LoadBenchData(&description);
  CheckOk(data.status(), "data");
  const double after_load = StatusMiB("VmRSS");
  ResetPeak();
  double accuracy = 0;
  if (which == "reference") {
    SoftmaxReference ref(100);
    for (int step = 0; step < 1000; ++step) {
      absl::StatusOr<mnist::Batch> b = data->train.NextBatch(100);
      CheckOk(b.status(), "batch");
      ref.Step(b->images.flat<float>().data(), b->labels.flat<float>().data(), 100, 0.5f);
    }
    accuracy = ref.Accuracy(data->test.images().flat<float>().data(),
                            data->test.labels().flat<float>().data(),
                            static_cast<int>(data->test.images().dim_size(0)));
  } else {
    absl::StatusOr<std::unique_ptr<DflowModel>> model = BuildDflowSoftmax(SessionOptions());
    CheckOk(model.status(), "graph");
    for (int step = 0; step < 1000; ++step) {
      absl::StatusOr<mnist::Batch> b = data->train.NextBatch(100);
      CheckOk(b.status(), "batch");
      CheckOk((*model)->TrainStep(*b), "train step");
    }
    std::vector<Tensor> out;
    CheckOk((*model)->session->Run({{(*model)->x, data->test.images()},
                                    {(*model)->y_, data->test.labels()}},
                                   {(*model)->accuracy}, {}, &out),
            "evaluation");
    accuracy = out[0].scalar<float>();
  }
  const double peak = StatusMiB("VmHWM");
  std::printf("%s on %s: RSS %.1f MiB after loading the data, peak %.1f MiB from there (+%.1f "
              "MiB; test accuracy %.4f)\n",
              which.c_str(), description.c_str(), after_load, peak, peak - after_load, accuracy);
  return 0;
}

}  // namespace
}  // namespace bench
}  // namespace dflow

int main(int argc, char** argv) {
  if (argc != 2 || (std::strcmp(argv[1], "dflow") != 0 && std::strcmp(argv[1], "reference") != 0)) {
    std::fprintf(stderr, "usage: peak_memory dflow|reference (see the comment in bench/peak_memory.cc)\n");
    return argc == 2 && std::strcmp(argv[1], "--help") == 0 ? 0 : 2;
  }
  return dflow::bench::Main(argv[1]);
}
