// The Deep MNIST CNN (tools/mnist_cnn_lib's BuildCnnGraph) written directly with oneDNN
// primitives: the reference bench/cnn_reference times dflow against. Both take the weights dflow
// initialized and work on plain float buffers of a fixed batch.
#ifndef DFLOW_BENCH_CNN_ONEDNN_H_
#define DFLOW_BENCH_CNN_ONEDNN_H_

#include <cstddef>
#include <memory>

#include "graph/tensor.h"

namespace dflow {
namespace bench {

constexpr int kCnnClasses = 10;

// The CNN's weights as dflow initialized them: filters HWIO, dense weights [in, out].
struct CnnWeights {
  Tensor w_conv1, b_conv1, w_conv2, b_conv2, w_fc1, b_fc1, w_fc2, b_fc2;
};

// The forward pass: conv+bias, relu, max-pool twice, two dense layers, softmax.
class CnnInferenceReference {
 public:
  virtual ~CnnInferenceReference() = default;
  // probs [n, 10] for images [n, 784], in the reference's own buffer (valid until the next call).
  virtual const float* Infer(const float* images) = 0;
};
// Every primitive and buffer is created here, for `batch` images.
std::unique_ptr<CnnInferenceReference> NewCnnInferenceReference(const CnnWeights& w, int batch);

// One training step (forward, backward, Adam) at keep_prob 1.
class CnnTrainReference {
 public:
  virtual ~CnnTrainReference() = default;
  // One step on images [n, 784] and one-hot labels [n, 10]; returns the loss before the update.
  virtual float Step(const float* images, const float* labels, float lr) = 0;
  // The i-th weight (CnnWeights' order) as it stands, and its element count.
  virtual const float* weights(int i) const = 0;
  virtual size_t weights_size(int i) const = 0;
};
std::unique_ptr<CnnTrainReference> NewCnnTrainReference(const CnnWeights& w, int batch);

}  // namespace bench
}  // namespace dflow

#endif  // DFLOW_BENCH_CNN_ONEDNN_H_
