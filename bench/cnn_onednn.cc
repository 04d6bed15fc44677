#include "bench/cnn_onednn.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <unordered_map>
#include <vector>

#include "oneapi/dnnl/dnnl.hpp"

namespace dflow {
namespace bench {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
constexpr memory::data_type f32 = memory::data_type::f32;
constexpr int kClasses = kCnnClasses;

// The reference forward pass: oneDNN primitives created once for a fixed batch.
class OneDnnInference : public CnnInferenceReference {
 public:
  OneDnnInference(const CnnWeights& w, int batch)
      : n_(batch), engine_(dnnl::engine::kind::cpu, 0), stream_(engine_) {
    const memory::dim n = batch;
    // Activations, all NHWC (dims are given NCHW to oneDNN).
    src_ = Mem({n, 1, 28, 28}, tag::nhwc);
    conv1_ = Mem({n, 32, 28, 28}, tag::nhwc);
    pool1_ = Mem({n, 32, 14, 14}, tag::nhwc);
    conv2_ = Mem({n, 64, 14, 14}, tag::nhwc);
    pool2_ = Mem({n, 64, 7, 7}, tag::nhwc);
    flat_ = memory(memory::desc({n, 3136}, f32, tag::ab), engine_, pool2_.get_data_handle());
    fc1_ = Mem({n, 1024}, tag::ab);
    logits_ = Mem({n, kClasses}, tag::ab);
    probs_ = Mem({n, kClasses}, tag::ab);

    AddConv(w.w_conv1, w.b_conv1, src_, conv1_, 1, 32);
    AddRelu(conv1_);
    AddPool(conv1_, pool1_);
    AddConv(w.w_conv2, w.b_conv2, pool1_, conv2_, 32, 64);
    AddRelu(conv2_);
    AddPool(conv2_, pool2_);
    AddMatMul(w.w_fc1, w.b_fc1, flat_, fc1_, 3136, 1024);
    AddRelu(fc1_);
    AddMatMul(w.w_fc2, w.b_fc2, fc1_, logits_, 1024, kClasses);
    dnnl::softmax_forward::primitive_desc sm(
        dnnl::softmax_forward::desc(dnnl::prop_kind::forward_inference,
                                    logits_.get_desc(), 1),
        engine_);
    steps_.push_back({dnnl::softmax_forward(sm),
                      {{DNNL_ARG_SRC, logits_}, {DNNL_ARG_DST, probs_}}});
    stream_.wait();  // The weight reorders.
  }

  // probs [n, 10] for images [n, 784].
  const float* Infer(const float* images) override {
    std::memcpy(src_.get_data_handle(), images, sizeof(float) * n_ * 784);
    for (Step& s : steps_) s.prim.execute(stream_, s.args);
    stream_.wait();
    return static_cast<const float*>(probs_.get_data_handle());
  }

 private:
  struct Step {
    dnnl::primitive prim;
    std::unordered_map<int, memory> args;
  };

  memory Mem(const memory::dims& dims, tag t) {
    return memory(memory::desc(dims, f32, t), engine_);
  }
  memory Copy(const memory::desc& md, const Tensor& t) {
    memory m(md, engine_);
    std::memcpy(m.get_data_handle(), t.data(), md.get_size());
    return m;
  }

  void AddConv(const Tensor& wt, const Tensor& bt, const memory& src, const memory& dst,
               memory::dim ci, memory::dim co) {
    memory user_w = Copy(memory::desc({co, ci, 5, 5}, f32, tag::hwio), wt);
    memory bias = Copy(memory::desc({co}, f32, tag::x), bt);
    dnnl::convolution_forward::primitive_desc pd(
        dnnl::convolution_forward::desc(
            dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
            src.get_desc(), memory::desc({co, ci, 5, 5}, f32, tag::any), bias.get_desc(),
            dst.get_desc(), {1, 1}, {2, 2}, {2, 2}),
        engine_);
    memory w = user_w;
    if (pd.weights_desc() != user_w.get_desc()) {
      w = memory(pd.weights_desc(), engine_);
      dnnl::reorder(user_w, w).execute(stream_, user_w, w);
    }
    keep_.push_back(w);
    keep_.push_back(bias);
    steps_.push_back({dnnl::convolution_forward(pd),
                      {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_BIAS, bias},
                       {DNNL_ARG_DST, dst}}});
  }

  void AddRelu(const memory& data) {
    dnnl::eltwise_forward::primitive_desc pd(
        dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_inference,
                                    dnnl::algorithm::eltwise_relu, data.get_desc(), 0.f, 0.f),
        engine_);
    steps_.push_back({dnnl::eltwise_forward(pd), {{DNNL_ARG_SRC, data}, {DNNL_ARG_DST, data}}});
  }

  void AddPool(const memory& src, const memory& dst) {
    dnnl::pooling_forward::primitive_desc pd(
        dnnl::pooling_forward::desc(dnnl::prop_kind::forward_inference,
                                    dnnl::algorithm::pooling_max, src.get_desc(), dst.get_desc(),
                                    {2, 2}, {2, 2}, {0, 0}, {0, 0}),
        engine_);
    steps_.push_back({dnnl::pooling_forward(pd), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}}});
  }

  void AddMatMul(const Tensor& wt, const Tensor& bt, const memory& src, const memory& dst,
                 memory::dim in, memory::dim out) {
    memory w = Copy(memory::desc({in, out}, f32, tag::ab), wt);
    memory bias = Copy(memory::desc({1, out}, f32, tag::ab), bt);
    dnnl::matmul::primitive_desc pd(
        dnnl::matmul::desc(src.get_desc(), w.get_desc(), bias.get_desc(), dst.get_desc()),
        engine_);
    keep_.push_back(w);
    keep_.push_back(bias);
    steps_.push_back({dnnl::matmul(pd), {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, w},
                                         {DNNL_ARG_BIAS, bias}, {DNNL_ARG_DST, dst}}});
  }

  int n_;
  dnnl::engine engine_;
  dnnl::stream stream_;
  memory src_, conv1_, pool1_, conv2_, pool2_, flat_, fc1_, logits_, probs_;
  std::vector<memory> keep_;
  std::vector<Step> steps_;
};

// One training step at a fixed batch: the forward pass above in training mode, the backward pass
// (matmul for the dense layers' gradients, eltwise relu backward, pooling backward with the
// forward's workspace, convolution backward data and weights) and Adam as a plain loop. The
// master weights stay HWIO / [in, out] like dflow's variables and are reordered into the
// convolutions' layouts every step (they change every step), as dflow's kernels do. Dropout is
// left out: both sides train at keep_prob 1 (dflow is fed zero noise).
class OneDnnTrain : public CnnTrainReference {
 public:
  OneDnnTrain(const CnnWeights& w, int batch)
      : n_(batch), engine_(dnnl::engine::kind::cpu, 0), stream_(engine_) {
    const memory::dim n = batch;
    src_ = Mem({n, 1, 28, 28}, tag::nhwc);
    a1_ = Mem({n, 32, 28, 28}, tag::nhwc);
    p1_ = Mem({n, 32, 14, 14}, tag::nhwc);
    a2_ = Mem({n, 64, 14, 14}, tag::nhwc);
    p2_ = Mem({n, 64, 7, 7}, tag::nhwc);
    flat_ = memory(memory::desc({n, 3136}, f32, tag::ab), engine_, p2_.get_data_handle());
    h1_ = Mem({n, 1024}, tag::ab);
    logits_ = Mem({n, kClasses}, tag::ab);
    d_logits_ = Mem({n, kClasses}, tag::ab);
    d_h1_ = Mem({n, 1024}, tag::ab);
    d_p2_ = Mem({n, 64, 7, 7}, tag::nhwc);
    d_flat_ = memory(memory::desc({n, 3136}, f32, tag::ab), engine_, d_p2_.get_data_handle());
    d_a2_ = Mem({n, 64, 14, 14}, tag::nhwc);
    d_p1_ = Mem({n, 32, 14, 14}, tag::nhwc);
    d_a1_ = Mem({n, 32, 28, 28}, tag::nhwc);

    params_.resize(8);
    const Tensor* ts[8] = {&w.w_conv1, &w.b_conv1, &w.w_conv2, &w.b_conv2,
                           &w.w_fc1,   &w.b_fc1,   &w.w_fc2,   &w.b_fc2};
    const memory::desc mds[8] = {
        memory::desc({32, 1, 5, 5}, f32, tag::hwio),    memory::desc({32}, f32, tag::x),
        memory::desc({64, 32, 5, 5}, f32, tag::hwio),   memory::desc({64}, f32, tag::x),
        memory::desc({3136, 1024}, f32, tag::ab),       memory::desc({1, 1024}, f32, tag::ab),
        memory::desc({1024, kClasses}, f32, tag::ab),   memory::desc({1, kClasses}, f32, tag::ab)};
    for (int i = 0; i < 8; ++i) {
      Param& p = params_[i];
      p.w = memory(mds[i], engine_);
      std::memcpy(p.w.get_data_handle(), ts[i]->data(), mds[i].get_size());
      p.g = memory(mds[i], engine_);
      p.size = mds[i].get_size() / sizeof(float);
      p.m.assign(p.size, 0.f);
      p.v.assign(p.size, 0.f);
    }

    // Forward.
    conv1_ = MakeConv(src_, a1_, params_[0], params_[1], 1, 32, /*backward_data=*/nullptr);
    relu1_ = MakeRelu(a1_);
    pool1_ = MakePool(a1_, p1_, d_a1_, d_p1_);
    conv2_ = MakeConv(p1_, a2_, params_[2], params_[3], 32, 64, &d_p1_);
    relu2_ = MakeRelu(a2_);
    pool2_ = MakePool(a2_, p2_, d_a2_, d_p2_);
    fc1_ = MakeMatMul(flat_, false, params_[4].w, false, h1_, &params_[5].w);
    relu3_ = MakeRelu(h1_);
    fc2_ = MakeMatMul(h1_, false, params_[6].w, false, logits_, &params_[7].w);
    // Dense layers' gradients.
    d_w2_ = MakeMatMul(h1_, true, d_logits_, false, params_[6].g, nullptr);
    d_h1_call_ = MakeMatMul(d_logits_, false, params_[6].w, true, d_h1_, nullptr);
    d_w1_ = MakeMatMul(flat_, true, d_h1_, false, params_[4].g, nullptr);
    d_flat_call_ = MakeMatMul(d_h1_, false, params_[4].w, true, d_flat_, nullptr);
  }

  // One step on images [n, 784] and one-hot labels [n, 10]; returns the loss before the update.
  float Step(const float* images, const float* labels, float lr) override {
    std::memcpy(src_.get_data_handle(), images, sizeof(float) * n_ * 784);
    // Forward.
    RunConvForward(conv1_);
    Exec(relu1_.fwd, {{DNNL_ARG_SRC, a1_}, {DNNL_ARG_DST, a1_}});
    RunPoolForward(pool1_);
    RunConvForward(conv2_);
    Exec(relu2_.fwd, {{DNNL_ARG_SRC, a2_}, {DNNL_ARG_DST, a2_}});
    RunPoolForward(pool2_);
    Run(fc1_);
    Exec(relu3_.fwd, {{DNNL_ARG_SRC, h1_}, {DNNL_ARG_DST, h1_}});
    Run(fc2_);
    stream_.wait();
    // Softmax cross-entropy and its gradient (softmax - y) / n.
    const float* z = static_cast<const float*>(logits_.get_data_handle());
    float* dz = static_cast<float*>(d_logits_.get_data_handle());
    double loss = 0;
    for (int i = 0; i < n_; ++i) {
      const float* zi = z + i * kClasses;
      const float* yi = labels + i * kClasses;
      float mx = *std::max_element(zi, zi + kClasses);
      float sum = 0;
      for (int j = 0; j < kClasses; ++j) sum += std::exp(zi[j] - mx);
      const float log_sum = std::log(sum);
      for (int j = 0; j < kClasses; ++j) {
        const float log_p = zi[j] - mx - log_sum;
        loss -= yi[j] * log_p;
        dz[i * kClasses + j] = (std::exp(log_p) - yi[j]) / n_;
      }
    }
    // Backward.
    Run(d_w2_);
    ColumnSums(dz, kClasses, params_[7]);
    Run(d_h1_call_);
    Exec(relu3_.bwd, {{DNNL_ARG_DST, h1_}, {DNNL_ARG_DIFF_DST, d_h1_}, {DNNL_ARG_DIFF_SRC, d_h1_}});
    Run(d_w1_);
    Run(d_flat_call_);
    stream_.wait();
    ColumnSums(static_cast<const float*>(d_h1_.get_data_handle()), 1024, params_[5]);
    RunPoolBackward(pool2_);
    Exec(relu2_.bwd, {{DNNL_ARG_DST, a2_}, {DNNL_ARG_DIFF_DST, d_a2_}, {DNNL_ARG_DIFF_SRC, d_a2_}});
    RunConvBackward(conv2_, p1_, d_a2_, params_[2], params_[3]);
    RunPoolBackward(pool1_);
    Exec(relu1_.bwd, {{DNNL_ARG_DST, a1_}, {DNNL_ARG_DIFF_DST, d_a1_}, {DNNL_ARG_DIFF_SRC, d_a1_}});
    RunConvBackward(conv1_, src_, d_a1_, params_[0], params_[1]);
    stream_.wait();
    // Adam.
    ++t_;
    const float b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
    const float lr_t = lr * std::sqrt(1 - std::pow(b2, static_cast<float>(t_))) /
                       (1 - std::pow(b1, static_cast<float>(t_)));
    for (Param& p : params_) {
      float* w = static_cast<float*>(p.w.get_data_handle());
      const float* g = static_cast<const float*>(p.g.get_data_handle());
      float* m = p.m.data();
      float* v = p.v.data();
      for (size_t k = 0; k < p.size; ++k) {
        m[k] = b1 * m[k] + (1 - b1) * g[k];
        v[k] = b2 * v[k] + (1 - b2) * g[k] * g[k];
        w[k] -= lr_t * m[k] / (std::sqrt(v[k]) + eps);
      }
    }
    return static_cast<float>(loss / n_);
  }

  const float* weights(int i) const override {
    return static_cast<const float*>(params_[i].w.get_data_handle());
  }
  size_t weights_size(int i) const override { return params_[i].size; }

 private:
  struct Param {
    memory w, g;
    size_t size = 0;
    std::vector<float> m, v;
  };
  struct Relu {
    dnnl::eltwise_forward fwd;
    dnnl::eltwise_backward bwd;
  };
  struct Pool {
    dnnl::pooling_forward fwd;
    dnnl::pooling_backward bwd;
    memory src, dst, d_src, d_dst, workspace;
  };
  struct Conv {
    dnnl::convolution_forward fwd;
    memory src, dst, fwd_w;
    dnnl::reorder to_fwd_w;
    bool reorder_fwd = false;
    Param* w = nullptr;
    Param* b = nullptr;
    dnnl::convolution_backward_weights bwd_w;
    memory d_w;  // In the backward-weights primitive's layout.
    dnnl::reorder from_d_w;
    bool reorder_d_w = false;
    bool has_bwd_data = false;
    dnnl::convolution_backward_data bwd_d;
    memory bwd_d_w, d_src;
    dnnl::reorder to_bwd_d_w;
    bool reorder_bwd_d = false;
  };
  struct MatMulCall {
    dnnl::matmul prim;
    std::unordered_map<int, memory> args;
  };

  memory Mem(const memory::dims& dims, tag t) {
    return memory(memory::desc(dims, f32, t), engine_);
  }
  void Exec(dnnl::primitive& p, const std::unordered_map<int, memory>& args) {
    p.execute(stream_, args);
  }
  void Run(MatMulCall& c) { c.prim.execute(stream_, c.args); }

  // A view of `m` (a 2-D row-major buffer) as its transpose when `transpose`.
  static memory::desc View(const memory& m, bool transpose) {
    const memory::dims d = m.get_desc().dims();
    if (!transpose) return memory::desc(d, f32, memory::dims{d[1], 1});
    return memory::desc({d[1], d[0]}, f32, memory::dims{1, d[1]});
  }
  MatMulCall MakeMatMul(const memory& a, bool ta, const memory& b, bool tb, const memory& c,
                        const memory* bias) {
    memory::desc a_md = View(a, ta), b_md = View(b, tb);
    memory av(a_md, engine_, a.get_data_handle()), bv(b_md, engine_, b.get_data_handle());
    MatMulCall call;
    if (bias != nullptr) {
      dnnl::matmul::primitive_desc pd(
          dnnl::matmul::desc(a_md, b_md, bias->get_desc(), c.get_desc()), engine_);
      call.prim = dnnl::matmul(pd);
      call.args = {{DNNL_ARG_SRC, av}, {DNNL_ARG_WEIGHTS, bv}, {DNNL_ARG_BIAS, *bias},
                   {DNNL_ARG_DST, c}};
    } else {
      dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, b_md, c.get_desc()), engine_);
      call.prim = dnnl::matmul(pd);
      call.args = {{DNNL_ARG_SRC, av}, {DNNL_ARG_WEIGHTS, bv}, {DNNL_ARG_DST, c}};
    }
    return call;
  }
  Relu MakeRelu(const memory& data) {
    const auto algo = dnnl::algorithm::eltwise_relu_use_dst_for_bwd;
    dnnl::eltwise_forward::primitive_desc fwd(
        dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_training, algo, data.get_desc(),
                                    0.f, 0.f),
        engine_);
    dnnl::eltwise_backward::primitive_desc bwd(
        dnnl::eltwise_backward::desc(algo, data.get_desc(), data.get_desc(), 0.f, 0.f), engine_,
        fwd);
    return {dnnl::eltwise_forward(fwd), dnnl::eltwise_backward(bwd)};
  }
  Pool MakePool(const memory& src, const memory& dst, const memory& d_src, const memory& d_dst) {
    const auto algo = dnnl::algorithm::pooling_max;
    dnnl::pooling_forward::primitive_desc fwd(
        dnnl::pooling_forward::desc(dnnl::prop_kind::forward_training, algo, src.get_desc(),
                                    dst.get_desc(), {2, 2}, {2, 2}, {0, 0}, {0, 0}),
        engine_);
    dnnl::pooling_backward::primitive_desc bwd(
        dnnl::pooling_backward::desc(algo, d_src.get_desc(), d_dst.get_desc(), {2, 2}, {2, 2},
                                     {0, 0}, {0, 0}),
        engine_, fwd);
    Pool p{dnnl::pooling_forward(fwd), dnnl::pooling_backward(bwd), src, dst, d_src, d_dst,
           memory(fwd.workspace_desc(), engine_)};
    return p;
  }
  void RunPoolForward(Pool& p) {
    Exec(p.fwd, {{DNNL_ARG_SRC, p.src}, {DNNL_ARG_DST, p.dst}, {DNNL_ARG_WORKSPACE, p.workspace}});
  }
  void RunPoolBackward(Pool& p) {
    Exec(p.bwd, {{DNNL_ARG_DIFF_DST, p.d_dst}, {DNNL_ARG_DIFF_SRC, p.d_src},
                 {DNNL_ARG_WORKSPACE, p.workspace}});
  }
  Conv MakeConv(const memory& src, const memory& dst, Param& w, Param& b, memory::dim ci,
                memory::dim co, const memory* d_src) {
    Conv c;
    c.src = src;
    c.dst = dst;
    c.w = &w;
    c.b = &b;
    const memory::desc any({co, ci, 5, 5}, f32, tag::any);
    dnnl::convolution_forward::desc fd(dnnl::prop_kind::forward_training,
                                       dnnl::algorithm::convolution_direct, src.get_desc(), any,
                                       b.w.get_desc(), dst.get_desc(), {1, 1}, {2, 2}, {2, 2});
    dnnl::convolution_forward::primitive_desc fpd(fd, engine_);
    c.fwd = dnnl::convolution_forward(fpd);
    c.fwd_w = w.w;
    if (fpd.weights_desc() != w.w.get_desc()) {
      c.fwd_w = memory(fpd.weights_desc(), engine_);
      c.to_fwd_w = dnnl::reorder(w.w, c.fwd_w);
      c.reorder_fwd = true;
    }
    dnnl::convolution_backward_weights::primitive_desc wpd(
        dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct,
                                                 src.get_desc(), any, b.g.get_desc(),
                                                 dst.get_desc(), {1, 1}, {2, 2}, {2, 2}),
        engine_, fpd);
    c.bwd_w = dnnl::convolution_backward_weights(wpd);
    c.d_w = w.g;
    if (wpd.diff_weights_desc() != w.g.get_desc()) {
      c.d_w = memory(wpd.diff_weights_desc(), engine_);
      c.from_d_w = dnnl::reorder(c.d_w, w.g);
      c.reorder_d_w = true;
    }
    if (d_src != nullptr) {
      c.has_bwd_data = true;
      c.d_src = *d_src;
      dnnl::convolution_backward_data::primitive_desc dpd(
          dnnl::convolution_backward_data::desc(dnnl::algorithm::convolution_direct,
                                                d_src->get_desc(), any, dst.get_desc(), {1, 1},
                                                {2, 2}, {2, 2}),
          engine_, fpd);
      c.bwd_d = dnnl::convolution_backward_data(dpd);
      c.bwd_d_w = w.w;
      if (dpd.weights_desc() != w.w.get_desc()) {
        c.bwd_d_w = memory(dpd.weights_desc(), engine_);
        c.to_bwd_d_w = dnnl::reorder(w.w, c.bwd_d_w);
        c.reorder_bwd_d = true;
      }
    }
    return c;
  }
  void RunConvForward(Conv& c) {
    if (c.reorder_fwd) c.to_fwd_w.execute(stream_, c.w->w, c.fwd_w);
    Exec(c.fwd, {{DNNL_ARG_SRC, c.src}, {DNNL_ARG_WEIGHTS, c.fwd_w}, {DNNL_ARG_BIAS, c.b->w},
                 {DNNL_ARG_DST, c.dst}});
  }
  void RunConvBackward(Conv& c, const memory& src, const memory& d_dst, Param& w, Param& b) {
    Exec(c.bwd_w, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, d_dst},
                   {DNNL_ARG_DIFF_WEIGHTS, c.d_w}, {DNNL_ARG_DIFF_BIAS, b.g}});
    if (c.reorder_d_w) c.from_d_w.execute(stream_, c.d_w, w.g);
    if (c.has_bwd_data) {
      if (c.reorder_bwd_d) c.to_bwd_d_w.execute(stream_, w.w, c.bwd_d_w);
      Exec(c.bwd_d, {{DNNL_ARG_DIFF_DST, d_dst}, {DNNL_ARG_WEIGHTS, c.bwd_d_w},
                     {DNNL_ARG_DIFF_SRC, c.d_src}});
    }
  }
  // The bias gradient: the column sums of a [n, cols] gradient.
  void ColumnSums(const float* d, int cols, Param& p) {
    float* g = static_cast<float*>(p.g.get_data_handle());
    std::fill(g, g + cols, 0.f);
    for (int i = 0; i < n_; ++i) {
      for (int j = 0; j < cols; ++j) g[j] += d[i * cols + j];
    }
  }

  int n_;
  int t_ = 0;
  dnnl::engine engine_;
  dnnl::stream stream_;
  memory src_, a1_, p1_, a2_, p2_, flat_, h1_, logits_;
  memory d_logits_, d_h1_, d_p2_, d_flat_, d_a2_, d_p1_, d_a1_;
  std::vector<Param> params_;
  Conv conv1_, conv2_;
  Relu relu1_, relu2_, relu3_;
  Pool pool1_, pool2_;
  MatMulCall fc1_, fc2_, d_w2_, d_h1_call_, d_w1_, d_flat_call_;
};

}  // namespace

std::unique_ptr<CnnInferenceReference> NewCnnInferenceReference(const CnnWeights& w, int batch) {
  return std::make_unique<OneDnnInference>(w, batch);
}

std::unique_ptr<CnnTrainReference> NewCnnTrainReference(const CnnWeights& w, int batch) {
  return std::make_unique<OneDnnTrain>(w, batch);
}

}  // namespace bench
}  // namespace dflow
