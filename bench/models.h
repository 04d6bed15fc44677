// The models the benchmarks time, each twice: as a dflow graph run by a Session, and as a
// hand-written reference (plain C++ loops, or oneDNN primitives called directly) doing the same
// math on the same data. See docs/benchmarks.md.
#ifndef DFLOW_BENCH_MODELS_H_
#define DFLOW_BENCH_MODELS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "graph/tensor.h"
#include "oneapi/dnnl/dnnl.hpp"
#include "ops/scope.h"
#include "runtime/session.h"
#include "tools/mnist_data.h"

namespace dflow {
namespace bench {

// Benchmarks stop at the first error: prints `what` and the message, and exits.
void CheckOk(const absl::Status& s, const char* what);
template <typename T>
T ValueOrDie(absl::StatusOr<T> v, const char* what) {
  CheckOk(v.status(), what);
  return std::move(*v);
}

// Random images in [0, 1) and one-hot labels (seeded), for benchmarks that need no data set.
mnist::Batch RandomBatch(int batch, int features, int classes);

// MNIST from $MNIST_DIR when set, else generated data of the same shapes (55,000 training and
// 10,000 test images of 784 values in [0, 1], 10 classes). `description` says which.
absl::StatusOr<mnist::DataSets> LoadBenchData(std::string* description);

// `count` batches of `batch_size` drawn in order from `set`; benchmarks cycle through them so
// that both implementations see the same inputs and neither pays for batching.
absl::StatusOr<std::vector<mnist::Batch>> MakeBatchRing(mnist::DataSet& set, int batch_size,
                                                        int count);

// The tutorial's softmax regression written as plain loops, single-threaded, that the compiler
// vectorizes at -O2 (portable SSE2 code: no -march flags). Weights start at 0.
class SoftmaxReference {
 public:
  static constexpr int kFeatures = mnist::kImageSize;
  static constexpr int kClasses = mnist::kNumClasses;

  explicit SoftmaxReference(int max_batch);
  void Reset();  // Weights back to zero.
  // One gradient-descent step on x [batch, 784] and one-hot y_ [batch, 10]: the gradient of the
  // tutorial's mean cross-entropy with respect to the logits is (softmax - y_) / batch.
  void Step(const float* x, const float* labels, int batch, float learning_rate);
  // The fraction of the `n` examples whose most probable class is the label's.
  double Accuracy(const float* x, const float* labels, int n) const;

  float w(int feature, int j) const { return wt_[static_cast<size_t>(j) * kFeatures + feature]; }
  const float* weights() const { return wt_.data(); }

 private:
  // probs [batch, 10] = softmax(x W + b), one row at a time.
  void Forward(const float* x, int batch, float* probs) const;

  std::vector<float> wt_;  // W transposed: [10, 784], so that every loop reads contiguously.
  std::vector<float> b_;
  std::vector<float> dwt_, db_;  // Gradients, same layouts.
  std::vector<float> probs_;     // [max_batch, 10]
};

// A graph, its handles and the Session running it.
struct DflowModel {
  Scope root = Scope::NewRootScope();
  Output x, y_, y, loss, accuracy;
  Operation train, init;
  std::unique_ptr<Session> session;

  // One training run: feeds x and y_, runs `train` as the only target.
  absl::Status TrainStep(const mnist::Batch& batch);
};

// The tutorial's graph (tools/mnist_softmax_lib's BuildSoftmaxGraph, tutorial loss, rate 0.5),
// initialized.
absl::StatusOr<std::unique_ptr<DflowModel>> BuildDflowSoftmax(const SessionOptions& options);

// The MLP 784-1024-1024-10 with relu, softmax cross-entropy and gradient descent.
inline constexpr int kMlpLayers[] = {784, 1024, 1024, 10};
inline constexpr int kMlpBatch = 128;
inline constexpr float kMlpLearningRate = 0.05f;

// Glorot-uniform weights (seeded) and zero biases, [in, out] row-major per layer.
struct MlpWeights {
  std::vector<std::vector<float>> w, b;
};
MlpWeights InitialMlpWeights(uint64_t seed);

// dflow: MatMul, BiasAdd, Relu, SoftmaxCrossEntropyWithLogits, Mean and
// GradientDescentOptimizer; variables initialized from `weights`.
absl::StatusOr<std::unique_ptr<DflowModel>> BuildDflowMlp(const MlpWeights& weights,
                                                          const SessionOptions& options);

// The same training step with oneDNN matmul primitives called directly (created once, three
// forward and five backward) and plain loops for bias, relu, softmax and the update.
class MlpReference {
 public:
  MlpReference(const MlpWeights& weights, int batch);
  // One step on x [batch, 784], one-hot y_ [batch, 10]; returns the batch's mean loss (before
  // the update).
  float Step(const float* x, const float* labels, float learning_rate);

 private:
  struct MatMulCall {
    dnnl::matmul prim;
    dnnl::memory a, b, c;
  };
  // c [m, n] = op(a) op(b); a is stored [m, k] (or [k, m] when transposed), b [k, n] (or [n, k]).
  MatMulCall MakeMatMul(float* a, bool transpose_a, float* b, bool transpose_b, float* c,
                        int64_t m, int64_t k, int64_t n);
  void Run(MatMulCall& call);

  int batch_;
  dnnl::engine engine_;
  dnnl::stream stream_;
  MlpWeights p_;                            // w[l] [in, out], b[l] [out]
  std::vector<std::vector<float>> act_;     // act_[l] [batch, layers[l+1]]: layer outputs
  std::vector<std::vector<float>> grad_;    // grad_[l]: d loss / d pre-activation of layer l
  std::vector<std::vector<float>> dw_, db_;
  std::vector<MatMulCall> forward_;         // forward_[l]: act_[l] = input_l W_l
  std::vector<MatMulCall> weight_grad_;     // dw_[l] = input_lᵀ grad_[l]
  std::vector<MatMulCall> input_grad_;      // grad_[l-1] = grad_[l] W_lᵀ (l >= 1)
};

// A chain of `length` nodes after a scalar float Placeholder "x": Identity nodes, or Add nodes
// each adding one Const 1.0. `loss` is the chain's last output (what a run fetches).
enum class ChainOp { kIdentity, kAdd };
absl::StatusOr<std::unique_ptr<DflowModel>> BuildDflowChain(ChainOp op, int length,
                                                            const SessionOptions& options);

}  // namespace bench
}  // namespace dflow

#endif  // DFLOW_BENCH_MODELS_H_
