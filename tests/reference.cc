#include "tests/reference.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace dflow {
namespace test {

std::vector<float> ToFloats(const std::vector<double>& v) {
  return std::vector<float>(v.begin(), v.end());
}

std::vector<int64_t> Unravel(int64_t i, const TensorShape& shape) {
  std::vector<int64_t> idx(shape.dims());
  for (int d = shape.dims() - 1; d >= 0; --d) {
    idx[d] = i % shape.dim_size(d);
    i /= shape.dim_size(d);
  }
  return idx;
}

int64_t BroadcastSource(const std::vector<int64_t>& out_idx, const TensorShape& shape) {
  const int lead = static_cast<int>(out_idx.size()) - shape.dims();
  int64_t offset = 0;
  for (int d = 0; d < shape.dims(); ++d) {
    const int64_t i = shape.dim_size(d) == 1 ? 0 : out_idx[lead + d];
    offset = offset * shape.dim_size(d) + i;
  }
  return offset;
}

std::vector<double> ReduceRef(const Tensor& x, const std::vector<bool>& reduced,
                              const std::string& kind) {
  TensorShape keep;
  for (int d = 0; d < x.dims(); ++d) keep.AddDim(reduced[d] ? 1 : x.dim_size(d));
  std::vector<double> acc(keep.num_elements(), kind == "prod" ? 1.0 : 0.0);
  std::vector<int64_t> count(keep.num_elements(), 0);
  auto xv = x.flat<float>();
  for (int64_t i = 0; i < x.NumElements(); ++i) {
    std::vector<int64_t> idx = Unravel(i, x.shape());
    int64_t o = 0;
    for (int d = 0; d < x.dims(); ++d) o = o * keep.dim_size(d) + (reduced[d] ? 0 : idx[d]);
    acc[o] = kind == "prod" ? acc[o] * xv[i] : acc[o] + xv[i];
    ++count[o];
  }
  if (kind == "mean") {
    for (size_t o = 0; o < acc.size(); ++o) acc[o] /= count[o];
  }
  return acc;
}

std::vector<float> BiasAddRef(absl::Span<const float> x, const Tensor& bias) {
  const size_t c = static_cast<size_t>(bias.NumElements());
  auto bv = bias.flat<float>();
  std::vector<float> out(x.size());
  for (size_t i = 0; i < x.size(); ++i) out[i] = x[i] + bv[i % c];
  return out;
}

std::vector<float> ReluRef(absl::Span<const float> x) {
  std::vector<float> out;
  for (float v : x) out.push_back(v > 0 ? v : 0);
  return out;
}

std::vector<float> MatMulRef(const Tensor& a, const Tensor& b, bool transpose_a,
                             bool transpose_b) {
  const bool ta = transpose_a, tb = transpose_b;
  const int64_t m = ta ? a.dim_size(1) : a.dim_size(0), k = ta ? a.dim_size(0) : a.dim_size(1);
  const int64_t n = tb ? b.dim_size(0) : b.dim_size(1);
  auto av = a.flat<float>();
  auto bv = b.flat<float>();
  std::vector<float> out(m * n, 0.0f);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double sum = 0;
      for (int64_t p = 0; p < k; ++p) {
        const float x = ta ? av[p * m + i] : av[i * k + p];
        const float y = tb ? bv[j * k + p] : bv[p * n + j];
        sum += static_cast<double>(x) * y;
      }
      out[i * n + j] = static_cast<float>(sum);
    }
  }
  return out;
}

std::vector<float> SoftmaxRef(const Tensor& x) {
  const int64_t c = x.dim_size(x.dims() - 1);
  const int64_t rows = c == 0 ? 0 : x.NumElements() / c;
  auto v = x.flat<float>();
  std::vector<float> out(x.NumElements());
  for (int64_t r = 0; r < rows; ++r) {
    double mx = -INFINITY;
    for (int64_t j = 0; j < c; ++j) mx = std::max(mx, static_cast<double>(v[r * c + j]));
    double sum = 0;
    for (int64_t j = 0; j < c; ++j) sum += std::exp(v[r * c + j] - mx);
    for (int64_t j = 0; j < c; ++j) out[r * c + j] = std::exp(v[r * c + j] - mx) / sum;
  }
  return out;
}

std::vector<double> LogSoftmaxRow(const Tensor& x, int64_t r) {
  const int64_t c = x.dim_size(1);
  auto v = x.flat<float>();
  double mx = -INFINITY;
  for (int64_t j = 0; j < c; ++j) mx = std::max(mx, static_cast<double>(v[r * c + j]));
  double sum = 0;
  for (int64_t j = 0; j < c; ++j) sum += std::exp(v[r * c + j] - mx);
  std::vector<double> out(c);
  for (int64_t j = 0; j < c; ++j) out[j] = v[r * c + j] - mx - std::log(sum);
  return out;
}

std::vector<float> SoftmaxGradRef(const Tensor& g, const Tensor& y) {
  const int64_t cols = g.dim_size(g.dims() - 1), rows = g.NumElements() / cols;
  auto pg = g.flat<float>();
  auto py = y.flat<float>();
  std::vector<float> out(g.NumElements());
  for (int64_t r = 0; r < rows; ++r) {
    double dot = 0;
    for (int64_t c = 0; c < cols; ++c) {
      dot += static_cast<double>(pg[r * cols + c]) * py[r * cols + c];
    }
    for (int64_t c = 0; c < cols; ++c) {
      out[r * cols + c] = static_cast<float>((pg[r * cols + c] - dot) * py[r * cols + c]);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Convolution and pooling.

WinDim WindowDim(int64_t in, int64_t k, int64_t s, bool same) {
  if (!same) return {(in - k) / s + 1, 0};
  const int64_t out = (in + s - 1) / s;
  const int64_t total = std::max<int64_t>((out - 1) * s + k - in, 0);
  return {out, total / 2};
}

namespace {

// Row-major offset in an NHWC (or HWIO) tensor of dims d.
int64_t At(const std::vector<int64_t>& d, int64_t a, int64_t b, int64_t c, int64_t e) {
  return ((a * d[1] + b) * d[2] + c) * d[3] + e;
}

std::vector<int64_t> Dims(const TensorShape& s) {
  return std::vector<int64_t>(s.dim_sizes().begin(), s.dim_sizes().end());
}

// Calls f(n, oh, ow, kh, kw, ih, iw) for every filter tap that lands inside the image.
template <typename F>
void ForEachTap(const ConvCase& c, F f) {
  const WinDim rows = c.Rows(), cols = c.Cols();
  for (int64_t n = 0; n < c.n; ++n) {
    for (int64_t oh = 0; oh < rows.out; ++oh) {
      for (int64_t ow = 0; ow < cols.out; ++ow) {
        for (int64_t i = 0; i < c.kh; ++i) {
          for (int64_t j = 0; j < c.kw; ++j) {
            const int64_t ih = oh * c.sh + i - rows.pad, iw = ow * c.sw + j - cols.pad;
            if (ih < 0 || ih >= c.h || iw < 0 || iw >= c.w) continue;
            f(n, oh, ow, i, j, ih, iw);
          }
        }
      }
    }
  }
}

// Calls f(out_index, in_indices) for every output element with the indices of the input
// elements its window covers, in row-major window order.
template <typename F>
void ForEachWindow(const PoolCase& p, F f) {
  const auto xd = Dims(p.In()), yd = Dims(p.Out());
  const WinDim rows = p.Rows(), cols = p.Cols();
  for (int64_t n = 0; n < p.n; ++n) {
    for (int64_t oh = 0; oh < rows.out; ++oh) {
      for (int64_t ow = 0; ow < cols.out; ++ow) {
        for (int64_t c = 0; c < p.c; ++c) {
          std::vector<int64_t> in;
          for (int64_t i = 0; i < p.kh; ++i) {
            for (int64_t j = 0; j < p.kw; ++j) {
              const int64_t ih = oh * p.sh + i - rows.pad, iw = ow * p.sw + j - cols.pad;
              if (ih >= 0 && ih < p.h && iw >= 0 && iw < p.w) in.push_back(At(xd, n, ih, iw, c));
            }
          }
          f(At(yd, n, oh, ow, c), in);
        }
      }
    }
  }
}

}  // namespace

ConvCase ConvCase::Of(const TensorShape& input, const TensorShape& filter, int64_t sh,
                      int64_t sw, bool same) {
  return {input.dim_size(0), input.dim_size(1), input.dim_size(2), input.dim_size(3),
          filter.dim_size(0), filter.dim_size(1), filter.dim_size(3), sh, sw, same};
}

std::string ConvCase::Name() const {
  return absl::StrCat("x[", n, ",", h, ",", w, ",", ci, "] f[", kh, ",", kw, ",", ci, ",", co,
                      "] strides ", sh, ",", sw, same ? " SAME" : " VALID");
}

namespace {

// The three tensors of a convolution: input x, filter f, output y.
enum Operand { kX, kF, kY };

// result[r] += a[.] * b[.] for every tap inside the image and every channel pair, with r and the
// operands' elements indexed by their roles: y from (x, f), and the backprops dx from (f, dy)
// and df from (x, dy).
std::vector<float> TapProducts(const ConvCase& c, Operand result, Operand a_role, const Tensor& a,
                               Operand b_role, const Tensor& b) {
  const std::vector<int64_t> dims[3] = {Dims(c.In()), Dims(c.Filter()), Dims(c.Out())};
  const TensorShape shapes[3] = {c.In(), c.Filter(), c.Out()};
  std::vector<double> out(shapes[result].num_elements(), 0.0);
  auto av = a.flat<float>();
  auto bv = b.flat<float>();
  ForEachTap(c, [&](int64_t n, int64_t oh, int64_t ow, int64_t i, int64_t j, int64_t ih,
                    int64_t iw) {
    for (int64_t ci = 0; ci < c.ci; ++ci) {
      for (int64_t co = 0; co < c.co; ++co) {
        const int64_t at[3] = {At(dims[kX], n, ih, iw, ci), At(dims[kF], i, j, ci, co),
                               At(dims[kY], n, oh, ow, co)};
        out[at[result]] += static_cast<double>(av[at[a_role]]) * bv[at[b_role]];
      }
    }
  });
  return ToFloats(out);
}

}  // namespace

std::vector<float> Conv2DRef(const ConvCase& c, const Tensor& x, const Tensor& f) {
  return TapProducts(c, kY, kX, x, kF, f);
}

std::vector<float> Conv2DBackpropInputRef(const ConvCase& c, const Tensor& f, const Tensor& dy) {
  return TapProducts(c, kX, kF, f, kY, dy);
}

std::vector<float> Conv2DBackpropFilterRef(const ConvCase& c, const Tensor& x,
                                           const Tensor& dy) {
  return TapProducts(c, kF, kX, x, kY, dy);
}

std::string PoolCase::Name() const {
  return absl::StrCat("x[", n, ",", h, ",", w, ",", c, "] ksize ", kh, ",", kw, " strides ", sh,
                      ",", sw, same ? " SAME" : " VALID");
}

std::vector<float> MaxPoolRef(const PoolCase& p, const Tensor& x) {
  std::vector<float> y(p.Out().num_elements());
  auto xv = x.flat<float>();
  ForEachWindow(p, [&](int64_t o, const std::vector<int64_t>& in) {
    float m = -INFINITY;
    for (int64_t i : in) m = std::max(m, xv[i]);
    y[o] = m;
  });
  return y;
}

std::vector<float> MaxPoolGradRef(const PoolCase& p, const Tensor& x, const Tensor& g) {
  std::vector<double> dx(p.In().num_elements(), 0.0);
  auto xv = x.flat<float>();
  auto gv = g.flat<float>();
  ForEachWindow(p, [&](int64_t o, const std::vector<int64_t>& in) {
    int64_t best = in[0];
    for (int64_t i : in) {
      if (xv[i] > xv[best]) best = i;
    }
    dx[best] += gv[o];
  });
  return ToFloats(dx);
}

std::vector<float> AvgPoolRef(const PoolCase& p, const Tensor& x) {
  std::vector<float> y(p.Out().num_elements());
  auto xv = x.flat<float>();
  ForEachWindow(p, [&](int64_t o, const std::vector<int64_t>& in) {
    double sum = 0;
    for (int64_t i : in) sum += xv[i];
    y[o] = static_cast<float>(sum / in.size());
  });
  return y;
}

std::vector<float> AvgPoolGradRef(const PoolCase& p, const Tensor& g) {
  std::vector<double> dx(p.In().num_elements(), 0.0);
  auto gv = g.flat<float>();
  ForEachWindow(p, [&](int64_t o, const std::vector<int64_t>& in) {
    for (int64_t i : in) dx[i] += static_cast<double>(gv[o]) / in.size();
  });
  return ToFloats(dx);
}

// ---------------------------------------------------------------------------------------------
// Optimizers.

AdamRef::AdamRef(std::vector<double> init, float lr, float beta1, float beta2, float epsilon)
    : lr(lr), beta1(beta1), beta2(beta2), epsilon(epsilon), var(init), m(init.size(), 0.0),
      v(init.size(), 0.0), beta1_power(beta1), beta2_power(beta2) {}

void AdamRef::Step(const std::vector<double>& g) {
  const double lr_t = lr * std::sqrt(1 - double{beta2_power}) / (1 - double{beta1_power});
  for (size_t i = 0; i < var.size(); ++i) {
    m[i] = beta1 * m[i] + (1 - beta1) * g[i];
    v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
    const double direction = nesterov ? beta1 * m[i] + (1 - beta1) * g[i] : m[i];
    var[i] -= lr_t * direction / (std::sqrt(v[i]) + epsilon);
  }
  beta1_power = beta1_power * static_cast<float>(beta1);
  beta2_power = beta2_power * static_cast<float>(beta2);
}

void MomentumRef::Step(const std::vector<double>& g) {
  for (size_t i = 0; i < var.size(); ++i) {
    accum[i] = accum[i] * momentum + g[i];
    var[i] -= nesterov ? lr * g[i] + lr * momentum * accum[i] : lr * accum[i];
  }
}

// ---------------------------------------------------------------------------------------------
// Softmax regression.

SoftmaxTrainingRef TrainSoftmaxRef(const std::vector<float>& x,
                                   const std::vector<int32_t>& labels, int d, int c, int steps,
                                   double lr, const std::vector<float>& test_x,
                                   const std::vector<int32_t>& test_labels) {
  const int n = static_cast<int>(labels.size());
  std::vector<double> w(d * c, 0.0), b(c, 0.0);
  auto probabilities = [&](const std::vector<float>& xs, int row) {
    std::vector<double> logits(c);
    double max_logit = -1e300;
    for (int j = 0; j < c; ++j) {
      logits[j] = b[j];
      for (int k = 0; k < d; ++k) logits[j] += xs[row * d + k] * w[k * c + j];
      max_logit = std::max(max_logit, logits[j]);
    }
    double total = 0;
    for (int j = 0; j < c; ++j) total += logits[j] = std::exp(logits[j] - max_logit);
    for (int j = 0; j < c; ++j) logits[j] /= total;
    return logits;
  };
  SoftmaxTrainingRef ref;
  for (int step = 0; step < steps; ++step) {
    std::vector<double> dw(d * c, 0.0), db(c, 0.0);
    double loss = 0;
    for (int i = 0; i < n; ++i) {
      std::vector<double> p = probabilities(x, i);
      loss -= std::log(p[labels[i]]) / n;
      for (int j = 0; j < c; ++j) {
        const double g = (p[j] - (j == labels[i] ? 1.0 : 0.0)) / n;
        db[j] += g;
        for (int k = 0; k < d; ++k) dw[k * c + j] += x[i * d + k] * g;
      }
    }
    ref.losses.push_back(loss);
    for (int i = 0; i < d * c; ++i) w[i] -= lr * dw[i];
    for (int j = 0; j < c; ++j) b[j] -= lr * db[j];
  }
  int right = 0;
  const int m = static_cast<int>(test_labels.size());
  for (int i = 0; i < m; ++i) {
    std::vector<double> p = probabilities(test_x, i);
    int best = 0;
    for (int j = 1; j < c; ++j) {
      if (p[j] > p[best]) best = j;
    }
    right += best == test_labels[i];
  }
  ref.accuracy = static_cast<double>(right) / m;
  return ref;
}

}  // namespace test
}  // namespace dflow
