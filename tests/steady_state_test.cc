// Once a signature has run, further runs of it do no set-up work: no heap allocation by dflow,
// no oneDNN primitive or memory object created, no memory descriptor built.
//
// The test binary interposes glibc's malloc family and the oneDNN C functions that dflow's
// kernels reach through oneDNN's C++ API, so the counts come from outside dflow's code. The
// allocations oneDNN makes inside dnnl_primitive_execute (its own argument map; 4 to 9 per call
// in oneDNN 2.6, whatever the caller does) are counted apart and reported, not asserted.
#include <dlfcn.h>
#include <malloc.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "oneapi/dnnl/dnnl.h"
#include "ops/standard_ops.h"
#include "ops/training.h"
#include "runtime/session.h"
#include "tests/test_util.h"
#include "tools/mnist_cnn_lib.h"
#include "tools/mnist_softmax_lib.h"

extern "C" {
void* __libc_malloc(size_t size);
void* __libc_calloc(size_t count, size_t size);
void* __libc_realloc(void* ptr, size_t size);
void* __libc_memalign(size_t alignment, size_t size);
void __libc_free(void* ptr);
}

namespace {

std::atomic<bool> counting{false};
thread_local int inside_execute = 0;

struct Counts {
  std::atomic<int64_t> allocations{0};          // Outside oneDNN's execute.
  std::atomic<int64_t> execute_allocations{0};  // Inside it.
  std::atomic<int64_t> executes{0};
  std::atomic<int64_t> primitives{0};
  std::atomic<int64_t> memories{0};
  std::atomic<int64_t> descriptors{0};
};
Counts counts;

inline void CountAllocation() {
  if (!counting.load(std::memory_order_relaxed)) return;
  (inside_execute > 0 ? counts.execute_allocations : counts.allocations)
      .fetch_add(1, std::memory_order_relaxed);
}

inline void CountIf(std::atomic<int64_t>& counter) {
  if (counting.load(std::memory_order_relaxed)) counter.fetch_add(1, std::memory_order_relaxed);
}

template <typename Fn>
Fn Next(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
}

}  // namespace

extern "C" {
void* malloc(size_t size) {
  CountAllocation();
  return __libc_malloc(size);
}
void* calloc(size_t count, size_t size) {
  CountAllocation();
  return __libc_calloc(count, size);
}
void* realloc(void* ptr, size_t size) {
  CountAllocation();
  return __libc_realloc(ptr, size);
}
void free(void* ptr) { __libc_free(ptr); }
void* memalign(size_t alignment, size_t size) {
  CountAllocation();
  return __libc_memalign(alignment, size);
}
void* aligned_alloc(size_t alignment, size_t size) {
  CountAllocation();
  return __libc_memalign(alignment, size);
}
int posix_memalign(void** out, size_t alignment, size_t size) {
  if (alignment % sizeof(void*) != 0 || (alignment & (alignment - 1)) != 0) return EINVAL;
  CountAllocation();
  void* p = __libc_memalign(alignment, size);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}

dnnl_status_t dnnl_primitive_execute(const_dnnl_primitive_t primitive, dnnl_stream_t stream,
                                     int nargs, const dnnl_exec_arg_t* args) {
  using Fn = dnnl_status_t (*)(const_dnnl_primitive_t, dnnl_stream_t, int, const dnnl_exec_arg_t*);
  static Fn next = Next<Fn>("dnnl_primitive_execute");
  CountIf(counts.executes);
  ++inside_execute;
  dnnl_status_t s = next(primitive, stream, nargs, args);
  --inside_execute;
  return s;
}
dnnl_status_t dnnl_primitive_create(dnnl_primitive_t* primitive,
                                    const_dnnl_primitive_desc_t primitive_desc) {
  using Fn = dnnl_status_t (*)(dnnl_primitive_t*, const_dnnl_primitive_desc_t);
  static Fn next = Next<Fn>("dnnl_primitive_create");
  CountIf(counts.primitives);
  return next(primitive, primitive_desc);
}
dnnl_status_t dnnl_memory_create(dnnl_memory_t* memory, const dnnl_memory_desc_t* memory_desc,
                                 dnnl_engine_t engine, void* handle) {
  using Fn = dnnl_status_t (*)(dnnl_memory_t*, const dnnl_memory_desc_t*, dnnl_engine_t, void*);
  static Fn next = Next<Fn>("dnnl_memory_create");
  CountIf(counts.memories);
  return next(memory, memory_desc, engine, handle);
}
dnnl_status_t dnnl_memory_desc_init_by_strides(dnnl_memory_desc_t* memory_desc, int ndims,
                                               const dnnl_dims_t dims,
                                               dnnl_data_type_t data_type,
                                               const dnnl_dims_t strides) {
  using Fn = dnnl_status_t (*)(dnnl_memory_desc_t*, int, const dnnl_dims_t, dnnl_data_type_t,
                               const dnnl_dims_t);
  static Fn next = Next<Fn>("dnnl_memory_desc_init_by_strides");
  CountIf(counts.descriptors);
  return next(memory_desc, ndims, dims, data_type, strides);
}
dnnl_status_t dnnl_memory_desc_init_by_tag(dnnl_memory_desc_t* memory_desc, int ndims,
                                           const dnnl_dims_t dims, dnnl_data_type_t data_type,
                                           dnnl_format_tag_t tag) {
  using Fn = dnnl_status_t (*)(dnnl_memory_desc_t*, int, const dnnl_dims_t, dnnl_data_type_t,
                               dnnl_format_tag_t);
  static Fn next = Next<Fn>("dnnl_memory_desc_init_by_tag");
  CountIf(counts.descriptors);
  return next(memory_desc, ndims, dims, data_type, tag);
}
}  // extern "C"

namespace dflow {
namespace {

using test::RandomTensor;

constexpr int kSteps = 100;

// Runs `step` once uncounted, then kSteps times counted, and checks that the counted runs did no
// set-up work. Logs oneDNN's own allocations per run. `runs_primitives`: whether the step runs
// any oneDNN primitive, so that the interposers must have seen one.
void ExpectSteadyState(const std::string& what, const std::function<absl::Status()>& step,
                       bool runs_primitives = true) {
  ASSERT_TRUE(step().ok()) << what;
  counts.allocations = counts.execute_allocations = counts.executes = 0;
  counts.primitives = counts.memories = counts.descriptors = 0;
  counting = true;
  absl::Status status;
  for (int i = 0; i < kSteps && status.ok(); ++i) status = step();
  counting = false;
  ASSERT_TRUE(status.ok()) << what << ": " << status;
  // The interposers must have seen the kernels' primitive executions.
  if (runs_primitives) EXPECT_GT(counts.executes.load(), 0) << what;
  EXPECT_EQ(counts.allocations.load(), 0) << what << ": heap allocations outside oneDNN";
  EXPECT_EQ(counts.primitives.load(), 0) << what << ": oneDNN primitives created";
  EXPECT_EQ(counts.memories.load(), 0) << what << ": oneDNN memory objects created";
  EXPECT_EQ(counts.descriptors.load(), 0) << what << ": oneDNN memory descriptors built";
  std::printf("%s: %.1f primitive executions and %.1f allocations inside oneDNN per run\n",
              what.c_str(), static_cast<double>(counts.executes) / kSteps,
              static_cast<double>(counts.execute_allocations) / kSteps);
}

TEST(SteadyStateTest, InterposedMallocCountsAllocations) {
  counts.allocations = 0;
  counting = true;
  auto p = std::make_unique<std::vector<int>>(1000);
  counting = false;
  EXPECT_GE(counts.allocations.load(), 2);
}

class TutorialSteadyStateTest : public ::testing::TestWithParam<int> {};

TEST_P(TutorialSteadyStateTest, TrainingStepsAllocateNothingAfterTheFirst) {
  const int batch = GetParam();
  Scope root = Scope::NewRootScope();
  mnist::SoftmaxOptions options;
  absl::StatusOr<mnist::SoftmaxGraph> g = mnist::BuildSoftmaxGraph(root, 784, 10, options);
  ASSERT_TRUE(g.ok()) << g.status();
  auto session = Session::Create(root);
  ASSERT_TRUE(session.ok());
  ASSERT_TRUE((*session)->Run({g->init}).ok());
  const Tensor x = RandomTensor(TensorShape({batch, 784}), 1, 0.f, 1.f);
  Tensor labels = Tensor::Filled(TensorShape({batch, 10}), 0.f);
  for (int i = 0; i < batch; ++i) labels.flat<float>()[i * 10 + i % 10] = 1.f;
  // Arguments are made outside the counted runs: building these vectors allocates.
  const std::vector<std::pair<Output, Tensor>> feeds = {{g->x, x}, {g->y_, labels}};
  const std::vector<Output> loss = {g->loss}, accuracy = {g->accuracy}, none;
  const std::vector<Operation> train = {g->train}, no_targets;
  std::vector<Tensor> out;
  // At batch 1 every kernel of the step and the evaluation is a loop (kernels/loops.h).
  const bool runs_primitives = batch > 1;
  ExpectSteadyState(
      "tutorial train step, targets only",
      [&] { return (*session)->Run(feeds, none, train, nullptr); }, runs_primitives);
  // Fetching the loss: the outputs vector is reused, so last run's loss buffer is too.
  ExpectSteadyState("tutorial train step, loss fetched", [&] {
    return (*session)->Run(feeds, loss, train, &out);
  });
  ExpectSteadyState(
      "tutorial evaluation", [&] { return (*session)->Run(feeds, accuracy, no_targets, &out); },
      runs_primitives);
}

INSTANTIATE_TEST_SUITE_P(Batches, TutorialSteadyStateTest, ::testing::Values(1, 100));

TEST(SteadyStateTest, MlpStepWithReluAndStableCrossEntropyAllocatesNothingAfterTheFirst) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
  auto y = ops::Placeholder(root.WithOpName("y"), DT_FLOAT);
  auto w1 = ops::Variable(root, {20, 32}, DT_FLOAT);
  auto b1 = ops::Variable(root, {32}, DT_FLOAT);
  auto w2 = ops::Variable(root, {32, 5}, DT_FLOAT);
  auto h = ops::Relu(root, ops::BiasAdd(root, ops::MatMul(root, x, w1), b1));
  auto logits = ops::MatMul(root, h, w2);
  auto xent = ops::SoftmaxCrossEntropyWithLogits(root, logits, y);
  auto loss = ops::Mean(root, xent.loss, {0});
  auto train = GradientDescentOptimizer(0.1f).Minimize(root, loss);
  std::vector<Output> init = {ops::Assign(root, w1, RandomTensor(TensorShape({20, 32}), 2)),
                              ops::Assign(root, b1, RandomTensor(TensorShape({32}), 3)),
                              ops::Assign(root, w2, RandomTensor(TensorShape({32, 5}), 4))};
  auto session = Session::Create(root);
  ASSERT_TRUE(session.ok()) << session.status();
  ASSERT_TRUE((*session)->Run({}, init, {}, nullptr).ok());
  const Tensor xv = RandomTensor(TensorShape({8, 20}), 5);
  Tensor yv = Tensor::Filled(TensorShape({8, 5}), 0.f);
  for (int i = 0; i < 8; ++i) yv.flat<float>()[i * 5 + i % 5] = 1.f;
  const std::vector<std::pair<Output, Tensor>> feeds = {{x, xv}, {y, yv}};
  const std::vector<Output> fetches = {loss};
  const std::vector<Operation> targets = {train};
  std::vector<Tensor> out;
  ExpectSteadyState("MLP step", [&] { return (*session)->Run(feeds, fetches, targets, &out); });
}

TEST(SteadyStateTest, CnnTrainingStepAllocatesNothingAfterTheFirst) {
  Scope root = Scope::NewRootScope();
  mnist::CnnOptions options;
  options.conv1_features = 4;
  options.conv2_features = 8;
  options.fc_units = 16;
  options.seed = 1;
  absl::StatusOr<mnist::CnnGraph> g = mnist::BuildCnnGraph(root, 10, options);
  ASSERT_TRUE(g.ok()) << g.status();
  auto session = Session::Create(root);
  ASSERT_TRUE(session.ok());
  ASSERT_TRUE((*session)->Run({g->init}).ok());
  const Tensor x = RandomTensor(TensorShape({2, 784}), 6, 0.f, 1.f);
  Tensor labels = Tensor::Filled(TensorShape({2, 10}), 0.f);
  labels.flat<float>()[3] = labels.flat<float>()[17] = 1.f;
  const std::vector<std::pair<Output, Tensor>> feeds = {
      {g->x, x}, {g->y_, labels}, {g->keep_prob, Tensor::Scalar(0.5f)}};
  const std::vector<Output> fetches = {g->loss};
  const std::vector<Operation> targets = {g->train};
  std::vector<Tensor> out;
  ExpectSteadyState("CNN train step", [&] { return (*session)->Run(feeds, fetches, targets, &out); });
}

}  // namespace
}  // namespace dflow
