// Counts heap allocations per Session::Run in steady state (after the first run of each
// signature, which builds the plan and the kernels' oneDNN primitives):
//
//   OMP_NUM_THREADS=1 bazel-out/k8-opt/bin/bench/alloc_count
//
// The binary replaces glibc's malloc family with counting wrappers around glibc's own
// implementation (__libc_malloc & co.), so it sees every allocation: operator new, Tensor
// buffers (aligned_alloc), oneDNN's scratch memory (posix_memalign), from any thread.
#include <malloc.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bench/models.h"

extern "C" {
void* __libc_malloc(size_t size);
void* __libc_calloc(size_t count, size_t size);
void* __libc_realloc(void* ptr, size_t size);
void* __libc_memalign(size_t alignment, size_t size);
void* __libc_valloc(size_t size);
void* __libc_pvalloc(size_t size);
void __libc_free(void* ptr);
}

namespace {

std::atomic<bool> counting{false};
std::atomic<int64_t> allocations{0};
std::atomic<int64_t> allocated_bytes{0};

inline void Count(size_t bytes) {
  if (counting.load(std::memory_order_relaxed)) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    allocated_bytes.fetch_add(static_cast<int64_t>(bytes), std::memory_order_relaxed);
  }
}

}  // namespace

extern "C" {
void* malloc(size_t size) {
  Count(size);
  return __libc_malloc(size);
}
void* calloc(size_t count, size_t size) {
  Count(count * size);
  return __libc_calloc(count, size);
}
void* realloc(void* ptr, size_t size) {
  Count(size);
  return __libc_realloc(ptr, size);
}
void free(void* ptr) { __libc_free(ptr); }
void* memalign(size_t alignment, size_t size) {
  Count(size);
  return __libc_memalign(alignment, size);
}
void* aligned_alloc(size_t alignment, size_t size) {
  Count(size);
  return __libc_memalign(alignment, size);
}
int posix_memalign(void** out, size_t alignment, size_t size) {
  if (alignment % sizeof(void*) != 0 || (alignment & (alignment - 1)) != 0) return EINVAL;
  Count(size);
  void* p = __libc_memalign(alignment, size);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}
void* valloc(size_t size) {
  Count(size);
  return __libc_valloc(size);
}
void* pvalloc(size_t size) {
  Count(size);
  return __libc_pvalloc(size);
}
}  // extern "C"

namespace dflow {
namespace bench {
namespace {

// Runs `step(0)` once uncounted, then steps 1..runs counted; prints the per-run averages.
void Measure(const char* name, int runs, const std::function<void(int)>& step) {
  step(0);
  allocations = 0;
  allocated_bytes = 0;
  counting = true;
  for (int i = 1; i <= runs; ++i) step(i);
  counting = false;
  std::printf("| %s | %.1f | %.0f |\n", name, static_cast<double>(allocations) / runs,
              static_cast<double>(allocated_bytes) / runs);
}

int Main() {
  std::string description;
  mnist::DataSets data = ValueOrDie(LoadBenchData(&description), "data");
  std::vector<mnist::Batch> ring100 = ValueOrDie(MakeBatchRing(data.train, 100, 101), "batches");
  std::vector<mnist::Batch> ring1 = ValueOrDie(MakeBatchRing(data.train, 1, 101), "batches");
  std::vector<mnist::Batch> ring128 =
      ValueOrDie(MakeBatchRing(data.train, kMlpBatch, 21), "batches");
  std::printf("heap allocations per Session::Run after the first (%s)\n\n", description.c_str());
  std::printf("| run | allocations | bytes |\n|---|---|---|\n");

  std::unique_ptr<DflowModel> softmax = ValueOrDie(BuildDflowSoftmax({}), "tutorial graph");
  Measure("tutorial train step, batch 100 (steps 2..101)", 100,
          [&](int i) { CheckOk(softmax->TrainStep(ring100[i]), "train step"); });
  Measure("tutorial train step, batch 1", 100,
          [&](int i) { CheckOk(softmax->TrainStep(ring1[i]), "train step"); });
  std::vector<Tensor> out;
  Measure("evaluation, 10,000 images", 5, [&](int) {
    CheckOk(softmax->session->Run({{softmax->x, data.test.images()},
                                   {softmax->y_, data.test.labels()}},
                                  {softmax->accuracy}, {}, &out),
            "accuracy");
  });

  std::unique_ptr<DflowModel> mlp =
      ValueOrDie(BuildDflowMlp(InitialMlpWeights(1), {}), "MLP graph");
  Measure("MLP step, batch 128", 20,
          [&](int i) { CheckOk(mlp->TrainStep(ring128[i]), "MLP step"); });

  const Tensor x = Tensor::Scalar<float>(1.0f);
  for (auto [name, op] : {std::pair<const char*, ChainOp>{"100 Identity nodes", ChainOp::kIdentity},
                          std::pair<const char*, ChainOp>{"100 scalar Add nodes", ChainOp::kAdd}}) {
    std::unique_ptr<DflowModel> chain = ValueOrDie(BuildDflowChain(op, 100, {}), "chain");
    Measure(name, 100, [&](int) {
      CheckOk(chain->session->Run({{chain->x, x}}, {chain->loss}, {}, &out), "chain");
    });
  }
  return 0;
}

}  // namespace
}  // namespace bench
}  // namespace dflow

int main() { return dflow::bench::Main(); }
