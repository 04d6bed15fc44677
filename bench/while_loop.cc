// The cost of one while-loop iteration: a tf.while_loop adding 1 to a float scalar 10,000 times
// (Enter, Merge, Less, LoopCond, Switch, Identity, Add, NextIteration per iteration, and the
// loop counter's own Add), against a C++ loop calling the same Add kernel 10,000 times. Reported
// as ns per iteration; the ratio is the dataflow executor's overhead per iteration.
//
//   bazel build -c opt //bench:while_loop
//   OMP_NUM_THREADS=1 bazel-out/k8-opt/bin/bench/while_loop --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true
#include <memory>
#include <vector>

#include "benchmark/benchmark.h"
#include "kernels/dnnl_util.h"
#include "kernels/op_kernel.h"
#include "ops/standard_ops.h"
#include "runtime/session.h"

namespace dflow {
namespace {

constexpr int kIterations = 10000;

void BM_WhileLoop(benchmark::State& state) {
  Scope root = Scope::NewRootScope();
  std::vector<Output> outs;
  absl::Status s = ops::WhileLoop(
      root, {ops::Const(root, Tensor::Scalar<int32_t>(0)), ops::Const(root, 0.0f, TensorShape())},
      [](const Scope& sc, const std::vector<Output>& v, Output* out) {
        *out = ops::Less(sc, v[0], kIterations);
        return sc.status();
      },
      [](const Scope& sc, const std::vector<Output>& v, std::vector<Output>* out) {
        *out = {ops::Add(sc, v[0], 1), ops::Add(sc, v[1], 1.0f)};
        return sc.status();
      },
      &outs);
  auto session = Session::Create(root);
  if (!s.ok() || !session.ok()) {
    state.SkipWithError("building the loop failed");
    return;
  }
  std::vector<Tensor> out;
  for (auto _ : state) {
    if (!(*session)->Run({}, {outs[1]}, {}, &out).ok()) {
      state.SkipWithError("the loop failed");
      return;
    }
  }
  if (out[0].scalar<float>() != kIterations) state.SkipWithError("wrong result");
  state.counters["ns_per_iteration"] = benchmark::Counter(
      static_cast<double>(kIterations) * state.iterations(),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_WhileLoop)->Unit(benchmark::kMillisecond);

// The reference: the Add kernel of a one-node graph, called from a plain C++ loop.
void BM_KernelLoop(benchmark::State& state) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto add = ops::Add(root, x, 1.0f);
  auto kernel = KernelRegistry::Global()->CreateKernel(*add.node());
  if (!kernel.ok()) {
    state.SkipWithError("no Add kernel");
    return;
  }
  dnnl::stream stream(CpuEngine());
  BufferPool pool;
  VariableStore variables;
  TensorValue one;
  one.tensor = Tensor::Scalar<float>(1.0f);
  float result = 0;
  for (auto _ : state) {
    TensorValue acc;
    acc.tensor = Tensor::Scalar<float>(0.0f);
    for (int i = 0; i < kIterations; ++i) {
      TensorValue out;
      TensorValue* inputs[2] = {&acc, &one};
      OpKernelContext ctx(*add.node(), absl::MakeConstSpan(inputs, 2), absl::MakeSpan(&out, 1),
                          &variables, CpuEngine(), stream, &pool);
      if (!RunKernel(**kernel, &ctx).ok()) {
        state.SkipWithError("Add failed");
        return;
      }
      pool.Recycle(&acc.tensor);
      acc = std::move(out);
    }
    result = acc.tensor.scalar<float>();
  }
  if (result != kIterations) state.SkipWithError("wrong result");
  state.counters["ns_per_iteration"] = benchmark::Counter(
      static_cast<double>(kIterations) * state.iterations(),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_KernelLoop)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace dflow

BENCHMARK_MAIN();
