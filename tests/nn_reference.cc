// The plain-loop references of tests/reference.h for the depthwise convolution, batch norm,
// image resizing, fake quantization and batched matrix product ops.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/reference.h"

namespace dflow {
namespace test {

// ---------------------------------------------------------------------------------------------
// Depthwise convolution.

std::string DepthwiseCase::Name() const {
  return absl::StrCat("input [", n, ",", h, ",", w, ",", c, "] filter [", kh, ",", kw, ",", c,
                      ",", m, "] strides ", sh, "x", sw, " dilations ", dh, "x", dw, " ",
                      same ? "SAME" : "VALID");
}

namespace {

// Calls tap(x_index, f_index, y_index) for every (input, filter, output) triple the depthwise
// convolution multiplies, taps outside the image skipped.
template <typename Tap>
void ForEachDepthwiseTap(const DepthwiseCase& c, Tap tap) {
  const WinDim rows = c.Rows(), cols = c.Cols();
  for (int64_t b = 0; b < c.n; ++b)
    for (int64_t oy = 0; oy < rows.out; ++oy)
      for (int64_t ox = 0; ox < cols.out; ++ox)
        for (int64_t k = 0; k < c.c; ++k)
          for (int64_t q = 0; q < c.m; ++q)
            for (int64_t i = 0; i < c.kh; ++i)
              for (int64_t j = 0; j < c.kw; ++j) {
                const int64_t iy = oy * c.sh + i * c.dh - rows.pad;
                const int64_t ix = ox * c.sw + j * c.dw - cols.pad;
                if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;
                tap(((b * c.h + iy) * c.w + ix) * c.c + k, ((i * c.kw + j) * c.c + k) * c.m + q,
                    ((b * rows.out + oy) * cols.out + ox) * (c.c * c.m) + k * c.m + q);
              }
}

}  // namespace

namespace {

// The three references are one sum over the taps: of (x, filter, y), the tensor numbered `out`
// accumulates the product of the other two, `a` and `b` in that order.
std::vector<float> SumOfTapProducts(const DepthwiseCase& c, int out, const Tensor& a,
                                    const Tensor& b) {
  const int64_t sizes[3] = {c.In().num_elements(), c.Filter().num_elements(),
                            c.Out().num_elements()};
  const int ia = out == 0 ? 1 : 0, ib = out == 2 ? 1 : 2;
  std::vector<double> acc(sizes[out], 0.0);
  auto av = a.flat<float>();
  auto bv = b.flat<float>();
  ForEachDepthwiseTap(c, [&](int64_t xi, int64_t fi, int64_t yi) {
    const int64_t at[3] = {xi, fi, yi};
    acc[at[out]] += static_cast<double>(av[at[ia]]) * bv[at[ib]];
  });
  return ToFloats(acc);
}

}  // namespace

std::vector<float> DepthwiseConv2DRef(const DepthwiseCase& c, const Tensor& x, const Tensor& f) {
  return SumOfTapProducts(c, 2, x, f);
}

std::vector<float> DepthwiseBackpropInputRef(const DepthwiseCase& c, const Tensor& f,
                                             const Tensor& dy) {
  return SumOfTapProducts(c, 0, f, dy);
}

std::vector<float> DepthwiseBackpropFilterRef(const DepthwiseCase& c, const Tensor& x,
                                              const Tensor& dy) {
  return SumOfTapProducts(c, 1, x, dy);
}

// ---------------------------------------------------------------------------------------------
// Batch normalization.

BatchNormRefResult FusedBatchNormRef(const BatchNormDims& d, const Tensor& x, const Tensor& scale,
                                     const Tensor& offset, const Tensor& mean, const Tensor& var,
                                     float epsilon, bool is_training, float factor) {
  auto xv = x.flat<float>();
  auto at = [&](int64_t o, int64_t c, int64_t i) { return (o * d.c + c) * d.inner + i; };
  const int64_t n = d.outer * d.inner;
  BatchNormRefResult r;
  r.y.resize(x.NumElements());
  for (int64_t c = 0; c < d.c; ++c) {
    double m = 0, v = 0;
    if (is_training) {
      for (int64_t o = 0; o < d.outer; ++o)
        for (int64_t i = 0; i < d.inner; ++i) m += xv[at(o, c, i)];
      m /= n;
      for (int64_t o = 0; o < d.outer; ++o)
        for (int64_t i = 0; i < d.inner; ++i) v += (xv[at(o, c, i)] - m) * (xv[at(o, c, i)] - m);
      v /= n;
      r.saved_mean.push_back(static_cast<float>(m));
      r.saved_var.push_back(static_cast<float>(v));
      const double corrected = v * n / std::max<int64_t>(n - 1, 1);
      if (factor == 1.0f) {
        r.batch_mean.push_back(static_cast<float>(m));
        r.batch_var.push_back(static_cast<float>(corrected));
      } else {
        r.batch_mean.push_back(
            static_cast<float>((1.0 - factor) * mean.flat<float>()[c] + factor * m));
        r.batch_var.push_back(
            static_cast<float>((1.0 - factor) * var.flat<float>()[c] + factor * corrected));
      }
    } else {
      m = mean.flat<float>()[c];
      v = var.flat<float>()[c];
      r.batch_mean.push_back(static_cast<float>(m));
      r.batch_var.push_back(static_cast<float>(v));
    }
    const double k = scale.flat<float>()[c] / std::sqrt(v + epsilon);
    for (int64_t o = 0; o < d.outer; ++o)
      for (int64_t i = 0; i < d.inner; ++i) {
        r.y[at(o, c, i)] = static_cast<float>((xv[at(o, c, i)] - m) * k + offset.flat<float>()[c]);
      }
  }
  return r;
}

BatchNormGradRefResult FusedBatchNormGradRef(const BatchNormDims& d, const Tensor& dy,
                                             const Tensor& x, const Tensor& scale,
                                             const Tensor& mean, const Tensor& var,
                                             float epsilon, bool is_training) {
  auto xv = x.flat<float>();
  auto g = dy.flat<float>();
  auto at = [&](int64_t o, int64_t c, int64_t i) { return (o * d.c + c) * d.inner + i; };
  const int64_t n = d.outer * d.inner;
  BatchNormGradRefResult r;
  r.dx.resize(x.NumElements());
  for (int64_t c = 0; c < d.c; ++c) {
    const double m = mean.flat<float>()[c];
    const double inv = 1.0 / std::sqrt(var.flat<float>()[c] + static_cast<double>(epsilon));
    double sum_g = 0, sum_gx = 0;  // sum(dy), sum(dy * (x - m)).
    for (int64_t o = 0; o < d.outer; ++o)
      for (int64_t i = 0; i < d.inner; ++i) {
        sum_g += g[at(o, c, i)];
        sum_gx += g[at(o, c, i)] * (xv[at(o, c, i)] - m);
      }
    r.doffset.push_back(static_cast<float>(sum_g));
    r.dscale.push_back(static_cast<float>(sum_gx * inv));
    const double s = scale.flat<float>()[c];
    for (int64_t o = 0; o < d.outer; ++o)
      for (int64_t i = 0; i < d.inner; ++i) {
        const int64_t j = at(o, c, i);
        // Training: y = s * (x - m(x)) * inv(x) + b differentiated through m and v as well.
        r.dx[j] = static_cast<float>(
            is_training ? s * inv * (g[j] - sum_g / n - (xv[j] - m) * inv * inv * sum_gx / n)
                        : s * inv * g[j]);
      }
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// Image resizing.

namespace {

float ResizeScaleRef(int64_t in, int64_t out, bool align_corners) {
  if (align_corners && out > 1) return static_cast<float>(in - 1) / static_cast<float>(out - 1);
  return static_cast<float>(in) / static_cast<float>(out);
}

// The two source indices and the second's weight of output index i (bilinear).
struct LinearTap {
  int64_t lo, hi;
  double t;
};
LinearTap LinearTapRef(int64_t i, int64_t in, int64_t out, bool align, bool half) {
  const float s = ResizeScaleRef(in, out, align);
  // Float, as TensorFlow computes the coordinate, so ties land the same way.
  const float src = half ? (static_cast<float>(i) + 0.5f) * s - 0.5f : static_cast<float>(i) * s;
  const float f = std::floor(src);
  LinearTap tap;
  tap.lo = std::max<int64_t>(static_cast<int64_t>(f), 0);
  tap.hi = std::min<int64_t>(static_cast<int64_t>(std::ceil(src)), in - 1);
  tap.t = static_cast<double>(src) - f;
  return tap;
}

int64_t NearestRef(int64_t i, int64_t in, int64_t out, bool align, bool half) {
  const float s = ResizeScaleRef(in, out, align);
  const float src = half ? (static_cast<float>(i) + 0.5f) * s : static_cast<float>(i) * s;
  int64_t j = static_cast<int64_t>(align ? std::round(src) : std::floor(src));
  j = std::min<int64_t>(j, in - 1);
  return half ? std::max<int64_t>(j, 0) : j;
}

}  // namespace

namespace {

// An NHWC image of [n, h, w, c] resized to [n, oh, ow, c].
struct ResizeDims {
  int64_t n, h, w, c, oh, ow;
  int64_t In(int64_t b, int64_t r, int64_t q, int64_t k) const {
    return ((b * h + r) * w + q) * c + k;
  }
};

// Calls tap(y_index, x_index, wy, wx) for the four source pixels (row weight wy, column weight
// wx) of every bilinear output element in turn: the forward reference and its gradient's sum.
template <typename Tap>
void ForEachBilinearTap(const ResizeDims& d, bool align, bool half, Tap tap) {
  int64_t yi = 0;
  for (int64_t b = 0; b < d.n; ++b)
    for (int64_t i = 0; i < d.oh; ++i)
      for (int64_t j = 0; j < d.ow; ++j)
        for (int64_t k = 0; k < d.c; ++k, ++yi) {
          const LinearTap ty = LinearTapRef(i, d.h, d.oh, align, half);
          const LinearTap tx = LinearTapRef(j, d.w, d.ow, align, half);
          tap(yi, d.In(b, ty.lo, tx.lo, k), 1 - ty.t, 1 - tx.t);
          tap(yi, d.In(b, ty.lo, tx.hi, k), 1 - ty.t, tx.t);
          tap(yi, d.In(b, ty.hi, tx.lo, k), ty.t, 1 - tx.t);
          tap(yi, d.In(b, ty.hi, tx.hi, k), ty.t, tx.t);
        }
}

// Calls tap(y_index, x_index) with the source pixel of every nearest-neighbour output element.
template <typename Tap>
void ForEachNearestTap(const ResizeDims& d, bool align, bool half, Tap tap) {
  int64_t yi = 0;
  for (int64_t b = 0; b < d.n; ++b)
    for (int64_t i = 0; i < d.oh; ++i)
      for (int64_t j = 0; j < d.ow; ++j)
        for (int64_t k = 0; k < d.c; ++k, ++yi) {
          const int64_t r = NearestRef(i, d.h, d.oh, align, half);
          const int64_t q = NearestRef(j, d.w, d.ow, align, half);
          tap(yi, d.In(b, r, q, k));
        }
}

ResizeDims ForwardDims(const Tensor& x, int64_t oh, int64_t ow) {
  return {x.dim_size(0), x.dim_size(1), x.dim_size(2), x.dim_size(3), oh, ow};
}
ResizeDims GradDims(const Tensor& dy, int64_t h, int64_t w) {
  return {dy.dim_size(0), h, w, dy.dim_size(3), dy.dim_size(1), dy.dim_size(2)};
}

}  // namespace

std::vector<float> ResizeBilinearRef(const Tensor& x, int64_t oh, int64_t ow, bool align_corners,
                                     bool half_pixel_centers) {
  const ResizeDims d = ForwardDims(x, oh, ow);
  auto xv = x.flat<float>();
  std::vector<double> y(d.n * oh * ow * d.c, 0.0);
  ForEachBilinearTap(d, align_corners, half_pixel_centers,
                     [&](int64_t yi, int64_t xi, double wy, double wx) {
                       y[yi] += wy * wx * static_cast<double>(xv[xi]);
                     });
  return ToFloats(y);
}

std::vector<float> ResizeBilinearGradRef(const Tensor& dy, int64_t h, int64_t w,
                                         bool align_corners, bool half_pixel_centers) {
  const ResizeDims d = GradDims(dy, h, w);
  std::vector<double> dx(d.n * h * w * d.c, 0.0);
  auto g = dy.flat<float>();
  ForEachBilinearTap(d, align_corners, half_pixel_centers,
                     [&](int64_t yi, int64_t xi, double wy, double wx) {
                       dx[xi] += static_cast<double>(g[yi]) * wy * wx;
                     });
  return ToFloats(dx);
}

std::vector<float> ResizeNearestRef(const Tensor& x, int64_t oh, int64_t ow, bool align_corners,
                                    bool half_pixel_centers) {
  const ResizeDims d = ForwardDims(x, oh, ow);
  auto xv = x.flat<float>();
  std::vector<float> y(d.n * oh * ow * d.c);
  ForEachNearestTap(d, align_corners, half_pixel_centers,
                    [&](int64_t yi, int64_t xi) { y[yi] = xv[xi]; });
  return y;
}

std::vector<float> ResizeNearestGradRef(const Tensor& dy, int64_t h, int64_t w,
                                        bool align_corners, bool half_pixel_centers) {
  const ResizeDims d = GradDims(dy, h, w);
  std::vector<double> dx(d.n * h * w * d.c, 0.0);
  auto g = dy.flat<float>();
  ForEachNearestTap(d, align_corners, half_pixel_centers,
                    [&](int64_t yi, int64_t xi) { dx[xi] += g[yi]; });
  return ToFloats(dx);
}

// ---------------------------------------------------------------------------------------------
// Fake quantization.

FakeQuantRange NudgeRef(float min, float max, int num_bits, bool narrow_range) {
  // The zero point in float, as TensorFlow computes it: 1 / (2 / 255) is 127.49999 there, so
  // [-1, 1] puts zero on level 127, where exact arithmetic would pick 128.
  const float qmin = narrow_range ? 1.0f : 0.0f;
  const float qmax = static_cast<float>((1 << num_bits) - 1);
  const float scale = (max - min) / (qmax - qmin);
  const float from_min = qmin - min / scale;
  const double zero = from_min < qmin ? qmin : from_min > qmax ? qmax : std::round(from_min);
  return {(qmin - zero) * scale, (qmax - zero) * scale, scale};
}

double FakeQuantRef(float x, const FakeQuantRange& r) {
  const double clamped = std::min(std::max<double>(x, r.min), r.max);
  return r.min + std::round((clamped - r.min) / r.scale) * r.scale;
}

// ---------------------------------------------------------------------------------------------
// Batched matrix products.

std::vector<float> BatchMatMulRef(const Tensor& x, const Tensor& y, bool adj_x, bool adj_y,
                                  const TensorShape& out) {
  const int rank = out.dims();
  const int64_t m = out.dim_size(rank - 2), n = out.dim_size(rank - 1);
  const int64_t k = x.dim_size(adj_x ? x.dims() - 2 : x.dims() - 1);
  std::vector<int64_t> batch_dims(out.dims() - 2);
  for (int i = 0; i < rank - 2; ++i) batch_dims[i] = out.dim_size(i);
  const TensorShape batch(absl::MakeConstSpan(batch_dims));
  // The batch part of an operand's shape.
  auto batch_of = [](const Tensor& t) {
    std::vector<int64_t> d(t.dims() - 2);
    for (int i = 0; i < t.dims() - 2; ++i) d[i] = t.dim_size(i);
    return TensorShape(absl::MakeConstSpan(d));
  };
  const TensorShape xb = batch_of(x), yb = batch_of(y);
  const int64_t xr = x.dim_size(x.dims() - 2), xc = x.dim_size(x.dims() - 1);
  const int64_t yr = y.dim_size(y.dims() - 2), yc = y.dim_size(y.dims() - 1);
  auto xv = x.flat<float>();
  auto yv = y.flat<float>();
  std::vector<float> z;
  for (int64_t b = 0; b < batch.num_elements(); ++b) {
    const std::vector<int64_t> idx = Unravel(b, batch);
    const int64_t xo = BroadcastSource(idx, xb) * xr * xc, yo = BroadcastSource(idx, yb) * yr * yc;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (int64_t p = 0; p < k; ++p) {
          const double a = adj_x ? xv[xo + p * xc + i] : xv[xo + i * xc + p];
          const double c = adj_y ? yv[yo + j * yc + p] : yv[yo + p * yc + j];
          s += a * c;
        }
        z.push_back(static_cast<float>(s));
      }
  }
  return z;
}

}  // namespace test
}  // namespace dflow
