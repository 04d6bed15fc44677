#include "bench/models.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "ops/standard_ops.h"
#include "tools/mnist_softmax_lib.h"

namespace dflow {
namespace bench {
namespace {

// sum_k a[k] b[k], with 8 partial sums so that the compiler vectorizes it at -O2 (a float sum is
// not reassociated without -ffast-math).
inline float Dot(int n, const float* __restrict a, const float* __restrict b) {
  constexpr int kLanes = 8;
  float partial[kLanes] = {};
  int k = 0;
  for (; k + kLanes <= n; k += kLanes) {
    for (int u = 0; u < kLanes; ++u) partial[u] += a[k + u] * b[k + u];
  }
  float sum = 0;
  for (; k < n; ++k) sum += a[k] * b[k];
  for (int u = 0; u < kLanes; ++u) sum += partial[u];
  return sum;
}

// y += alpha x.
inline void Axpy(int n, float alpha, const float* __restrict x, float* __restrict y) {
  for (int k = 0; k < n; ++k) y[k] += alpha * x[k];
}

// row += bias, then max(row, 0) when `relu`.
inline void AddBias(int n, const float* __restrict bias, bool relu, float* __restrict row) {
  if (relu) {
    for (int j = 0; j < n; ++j) row[j] = std::max(row[j] + bias[j], 0.0f);
  } else {
    for (int j = 0; j < n; ++j) row[j] += bias[j];
  }
}

// Relu's gradient: g where the relu's output was positive, else 0.
inline void ReluBackward(size_t n, const float* __restrict activation, float* __restrict g) {
  for (size_t k = 0; k < n; ++k) g[k] = activation[k] > 0 ? g[k] : 0.0f;
}

// Uniform in [0, 1) from the top 24 bits: the same values with every standard library.
float Uniform(std::mt19937_64& rng) { return static_cast<float>(rng() >> 40) * 0x1p-24f; }

// `count` images around one sparse prototype per class, with labels drawn uniformly.
absl::StatusOr<mnist::DataSet> GeneratedSet(int count, const std::vector<float>& prototypes,
                                            std::mt19937_64& rng, uint64_t seed) {
  const int size = mnist::kImageSize;
  std::vector<float> images(static_cast<size_t>(count) * size);
  std::vector<int32_t> labels(count);
  for (int i = 0; i < count; ++i) {
    labels[i] = static_cast<int32_t>(rng() % mnist::kNumClasses);
    const float* proto = &prototypes[static_cast<size_t>(labels[i]) * size];
    float* image = &images[static_cast<size_t>(i) * size];
    for (int p = 0; p < size; ++p) {
      const float v = proto[p] > 0 ? proto[p] + 0.6f * (Uniform(rng) - 0.5f) : 0.0f;
      image[p] = std::clamp(v, 0.0f, 1.0f);
    }
  }
  return mnist::DataSet::Create(std::move(images), size, std::move(labels), mnist::kNumClasses,
                                seed);
}

}  // namespace

void CheckOk(const absl::Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, std::string(s.message()).c_str());
    std::exit(1);
  }
}

mnist::Batch RandomBatch(int batch, int features, int classes) {
  std::mt19937_64 rng(7);
  mnist::Batch b;
  b.images = Tensor(DT_FLOAT, TensorShape({batch, features}));
  for (float& v : b.images.flat<float>()) v = static_cast<float>(rng() >> 40) * 0x1p-24f;
  b.labels = Tensor::Filled<float>(TensorShape({batch, classes}), 0.0f);
  for (int i = 0; i < batch; ++i) b.labels.flat<float>()[i * classes + rng() % classes] = 1.0f;
  return b;
}

absl::StatusOr<mnist::DataSets> LoadBenchData(std::string* description) {
  const char* dir = std::getenv("MNIST_DIR");
  if (dir != nullptr && *dir != '\0') {
    *description = absl::StrCat("MNIST from ", dir);
    return mnist::ReadDataSets(dir);
  }
  *description = "generated data (MNIST_DIR unset)";
  std::mt19937_64 rng(20240501);
  std::vector<float> prototypes(static_cast<size_t>(mnist::kNumClasses) * mnist::kImageSize);
  for (float& v : prototypes) v = Uniform(rng) < 0.2f ? Uniform(rng) : 0.0f;  // MNIST-like: ~80% zeros.
  mnist::DataSets sets;
  DFLOW_ASSIGN_OR_RETURN(sets.train, GeneratedSet(55000, prototypes, rng, 0));
  DFLOW_ASSIGN_OR_RETURN(sets.test, GeneratedSet(10000, prototypes, rng, 2));
  return sets;
}

absl::StatusOr<std::vector<mnist::Batch>> MakeBatchRing(mnist::DataSet& set, int batch_size,
                                                        int count) {
  std::vector<mnist::Batch> ring;
  ring.reserve(count);
  for (int i = 0; i < count; ++i) {
    DFLOW_ASSIGN_OR_RETURN(mnist::Batch batch, set.NextBatch(batch_size));
    ring.push_back(std::move(batch));
  }
  return ring;
}

// ---------------------------------------------------------------------------------------------
// Softmax regression, plain loops.

SoftmaxReference::SoftmaxReference(int max_batch)
    : wt_(kFeatures * kClasses),
      b_(kClasses),
      dwt_(kFeatures * kClasses),
      db_(kClasses),
      probs_(static_cast<size_t>(max_batch) * kClasses) {
  Reset();
}

void SoftmaxReference::Reset() {
  std::fill(wt_.begin(), wt_.end(), 0.0f);
  std::fill(b_.begin(), b_.end(), 0.0f);
}

void SoftmaxReference::Forward(const float* x, int batch, float* probs) const {
  for (int i = 0; i < batch; ++i) {
    const float* xi = x + static_cast<size_t>(i) * kFeatures;
    // logits_j = x_i . W[:, j] + b_j: W is kept transposed so that both operands are contiguous.
    float logits[kClasses];
    for (int j = 0; j < kClasses; ++j) {
      logits[j] = b_[j] + Dot(kFeatures, xi, &wt_[static_cast<size_t>(j) * kFeatures]);
    }
    float max = logits[0];
    for (int j = 1; j < kClasses; ++j) max = std::max(max, logits[j]);
    float sum = 0;
    for (int j = 0; j < kClasses; ++j) {
      logits[j] = std::exp(logits[j] - max);
      sum += logits[j];
    }
    const float inv = 1.0f / sum;
    float* row = probs + static_cast<size_t>(i) * kClasses;
    for (int j = 0; j < kClasses; ++j) row[j] = logits[j] * inv;
  }
}

void SoftmaxReference::Step(const float* x, const float* labels, int batch,
                            float learning_rate) {
  Forward(x, batch, probs_.data());
  std::fill(dwt_.begin(), dwt_.end(), 0.0f);
  std::fill(db_.begin(), db_.end(), 0.0f);
  const float scale = 1.0f / batch;
  for (int i = 0; i < batch; ++i) {
    // g_j = d loss / d logit_j = (p_j - y_j) / batch; dW[:, j] += g_j x_i; db_j += g_j.
    const float* xi = x + static_cast<size_t>(i) * kFeatures;
    const float* p = &probs_[static_cast<size_t>(i) * kClasses];
    const float* y = labels + static_cast<size_t>(i) * kClasses;
    for (int j = 0; j < kClasses; ++j) {
      const float g = (p[j] - y[j]) * scale;
      db_[j] += g;
      Axpy(kFeatures, g, xi, &dwt_[static_cast<size_t>(j) * kFeatures]);
    }
  }
  Axpy(kFeatures * kClasses, -learning_rate, dwt_.data(), wt_.data());
  Axpy(kClasses, -learning_rate, db_.data(), b_.data());
}

double SoftmaxReference::Accuracy(const float* x, const float* labels, int n) const {
  int correct = 0;
  float probs[kClasses];
  for (int i = 0; i < n; ++i) {
    Forward(x + static_cast<size_t>(i) * kFeatures, 1, probs);
    const float* y = labels + static_cast<size_t>(i) * kClasses;
    const int predicted = static_cast<int>(std::max_element(probs, probs + kClasses) - probs);
    const int expected = static_cast<int>(std::max_element(y, y + kClasses) - y);
    correct += predicted == expected;
  }
  return static_cast<double>(correct) / n;
}

// ---------------------------------------------------------------------------------------------
// dflow models.

absl::Status DflowModel::TrainStep(const mnist::Batch& batch) {
  return session->Run({{x, batch.images}, {y_, batch.labels}}, {}, {train}, nullptr);
}

namespace {

absl::Status CreateSession(DflowModel* model, const SessionOptions& options, bool initialize) {
  DFLOW_RETURN_IF_ERROR(model->root.status());
  DFLOW_ASSIGN_OR_RETURN(model->session, Session::Create(model->root, options));
  return initialize ? model->session->Run({model->init}) : absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<DflowModel>> BuildDflowSoftmax(const SessionOptions& options) {
  auto model = std::make_unique<DflowModel>();
  mnist::SoftmaxOptions softmax_options;  // Tutorial loss, learning rate 0.5.
  DFLOW_ASSIGN_OR_RETURN(const mnist::SoftmaxGraph graph,
                         mnist::BuildSoftmaxGraph(model->root, mnist::kImageSize,
                                                  mnist::kNumClasses, softmax_options));
  model->x = graph.x;
  model->y_ = graph.y_;
  model->y = graph.y;
  model->loss = graph.loss;
  model->accuracy = graph.accuracy;
  model->train = graph.train;
  model->init = graph.init;
  DFLOW_RETURN_IF_ERROR(CreateSession(model.get(), options, /*initialize=*/true));
  return model;
}

MlpWeights InitialMlpWeights(uint64_t seed) {
  std::mt19937_64 rng(seed);
  MlpWeights p;
  for (int l = 0; l + 1 < static_cast<int>(std::size(kMlpLayers)); ++l) {
    const int in = kMlpLayers[l], out = kMlpLayers[l + 1];
    const float limit = std::sqrt(6.0f / (in + out));
    std::vector<float> w(static_cast<size_t>(in) * out);
    for (float& v : w) v = limit * (2 * Uniform(rng) - 1);
    p.w.push_back(std::move(w));
    p.b.push_back(std::vector<float>(out, 0.0f));
  }
  return p;
}

absl::StatusOr<std::unique_ptr<DflowModel>> BuildDflowMlp(const MlpWeights& weights,
                                                          const SessionOptions& options) {
  auto model = std::make_unique<DflowModel>();
  const Scope& root = model->root;
  const int64_t inputs = kMlpLayers[0], classes = kMlpLayers[std::size(kMlpLayers) - 1];
  model->x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({-1, inputs}));
  model->y_ =
      ops::Placeholder(root.WithOpName("y_"), DT_FLOAT, ops::Placeholder::Shape({-1, classes}));
  Output h = model->x;
  const int num_layers = static_cast<int>(weights.w.size());
  for (int l = 0; l < num_layers; ++l) {
    const int64_t in = kMlpLayers[l], out = kMlpLayers[l + 1];
    Scope layer = root.NewSubScope(absl::StrCat("layer", l + 1));
    auto w = ops::Variable(layer.WithOpName("W"), {in, out}, DT_FLOAT);
    auto b = ops::Variable(layer.WithOpName("b"), {out}, DT_FLOAT);
    DFLOW_ASSIGN_OR_RETURN(Tensor w0,
                           Tensor::FromVector<float>(weights.w[l], TensorShape({in, out})));
    DFLOW_ASSIGN_OR_RETURN(Tensor b0, Tensor::FromVector<float>(weights.b[l], TensorShape({out})));
    ops::Assign(layer.WithOpName("W/Assign"), w, ops::Const(layer, w0));
    ops::Assign(layer.WithOpName("b/Assign"), b, ops::Const(layer, b0));
    Output z = ops::BiasAdd(layer, ops::MatMul(layer, h, w), b);
    h = l + 1 < num_layers ? ops::Relu(layer, z) : z;
  }
  ops::SoftmaxCrossEntropyWithLogits xent(root, h, model->y_);
  model->loss = ops::Mean(root.WithOpName("loss"), xent.loss, {0});
  model->train =
      GradientDescentOptimizer(kMlpLearningRate).Minimize(root.NewSubScope("train"), model->loss);
  model->init = GlobalVariablesInitializer(root);
  DFLOW_RETURN_IF_ERROR(CreateSession(model.get(), options, /*initialize=*/true));
  return model;
}

absl::StatusOr<std::unique_ptr<DflowModel>> BuildDflowChain(ChainOp op, int length,
                                                            const SessionOptions& options) {
  auto model = std::make_unique<DflowModel>();
  const Scope& root = model->root;
  model->x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT,
                              ops::Placeholder::Shape(PartialTensorShape(TensorShape())));
  Output one = ops::Const(root.WithOpName("one"), 1.0f);
  Output v = model->x;
  for (int i = 0; i < length; ++i) {
    v = op == ChainOp::kIdentity ? ops::Identity(root, v) : ops::Add(root, v, one);
  }
  model->loss = v;
  DFLOW_RETURN_IF_ERROR(CreateSession(model.get(), options, /*initialize=*/false));
  return model;
}

// ---------------------------------------------------------------------------------------------
// MLP on oneDNN primitives.

MlpReference::MlpReference(const MlpWeights& weights, int batch)
    : batch_(batch), engine_(dnnl::engine::kind::cpu, 0), stream_(engine_), p_(weights) {
  const int num_layers = static_cast<int>(p_.w.size());
  for (int l = 0; l < num_layers; ++l) {
    const int out = kMlpLayers[l + 1];
    act_.emplace_back(static_cast<size_t>(batch) * out);
    grad_.emplace_back(static_cast<size_t>(batch) * out);
    dw_.emplace_back(p_.w[l].size());
    db_.emplace_back(out);
  }
  for (int l = 0; l < num_layers; ++l) {
    const int in = kMlpLayers[l], out = kMlpLayers[l + 1];
    float* input = l == 0 ? nullptr : act_[l - 1].data();  // x is set per step.
    forward_.push_back(
        MakeMatMul(input, false, p_.w[l].data(), false, act_[l].data(), batch, in, out));
    weight_grad_.push_back(
        MakeMatMul(input, true, grad_[l].data(), false, dw_[l].data(), in, batch, out));
    if (l > 0) {
      input_grad_.push_back(
          MakeMatMul(grad_[l].data(), false, p_.w[l].data(), true, grad_[l - 1].data(), batch,
                     out, in));
    } else {
      input_grad_.emplace_back();  // No gradient for x.
    }
  }
}

MlpReference::MatMulCall MlpReference::MakeMatMul(float* a, bool transpose_a, float* b,
                                                  bool transpose_b, float* c, int64_t m,
                                                  int64_t k, int64_t n) {
  using dnnl::memory;
  const auto f32 = memory::data_type::f32;
  memory::desc a_md({m, k}, f32, transpose_a ? memory::dims{1, m} : memory::dims{k, 1});
  memory::desc b_md({k, n}, f32, transpose_b ? memory::dims{1, k} : memory::dims{n, 1});
  memory::desc c_md({m, n}, f32, memory::dims{n, 1});
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, b_md, c_md), engine_);
  MatMulCall call;
  call.prim = dnnl::matmul(pd);
  call.a = memory(a_md, engine_, a);
  call.b = memory(b_md, engine_, b);
  call.c = memory(c_md, engine_, c);
  return call;
}

void MlpReference::Run(MatMulCall& call) {
  call.prim.execute(stream_,
                    {{DNNL_ARG_SRC, call.a}, {DNNL_ARG_WEIGHTS, call.b}, {DNNL_ARG_DST, call.c}});
  stream_.wait();
}

float MlpReference::Step(const float* x, const float* labels, float learning_rate) {
  const int num_layers = static_cast<int>(p_.w.size());
  forward_[0].a.set_data_handle(const_cast<float*>(x));
  weight_grad_[0].a.set_data_handle(const_cast<float*>(x));

  // Forward: act = relu(input W + b) (no relu on the last layer).
  for (int l = 0; l < num_layers; ++l) {
    Run(forward_[l]);
    const int out = kMlpLayers[l + 1];
    for (int i = 0; i < batch_; ++i) {
      AddBias(out, p_.b[l].data(), l + 1 < num_layers, &act_[l][static_cast<size_t>(i) * out]);
    }
  }

  // Softmax cross-entropy: loss and d mean loss / d logits = (softmax - y_) / batch.
  const int classes = kMlpLayers[num_layers];
  const float scale = 1.0f / batch_;
  double loss = 0;
  for (int i = 0; i < batch_; ++i) {
    const float* logits = &act_[num_layers - 1][static_cast<size_t>(i) * classes];
    const float* y = labels + static_cast<size_t>(i) * classes;
    float* g = &grad_[num_layers - 1][static_cast<size_t>(i) * classes];
    const float max = *std::max_element(logits, logits + classes);
    float sum = 0;
    for (int j = 0; j < classes; ++j) {
      g[j] = std::exp(logits[j] - max);
      sum += g[j];
    }
    const float log_sum = std::log(sum);
    const float inv = 1.0f / sum;
    for (int j = 0; j < classes; ++j) {
      loss -= y[j] * (logits[j] - max - log_sum);
      g[j] = (g[j] * inv - y[j]) * scale;
    }
  }

  // Backward.
  for (int l = num_layers - 1; l >= 0; --l) {
    Run(weight_grad_[l]);
    const int out = kMlpLayers[l + 1];
    std::fill(db_[l].begin(), db_[l].end(), 0.0f);
    for (int i = 0; i < batch_; ++i) {
      Axpy(out, 1.0f, &grad_[l][static_cast<size_t>(i) * out], db_[l].data());
    }
    if (l == 0) break;
    Run(input_grad_[l]);
    ReluBackward(grad_[l - 1].size(), act_[l - 1].data(), grad_[l - 1].data());
  }

  // Update.
  for (int l = 0; l < num_layers; ++l) {
    Axpy(static_cast<int>(p_.w[l].size()), -learning_rate, dw_[l].data(), p_.w[l].data());
    Axpy(static_cast<int>(p_.b[l].size()), -learning_rate, db_[l].data(), p_.b[l].data());
  }
  return static_cast<float>(loss / batch_);
}

}  // namespace bench
}  // namespace dflow
