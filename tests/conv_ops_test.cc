// Tests of the convolution and pooling ops: every op against plain nested-loop references
// written here (strides 1-3, SAME and VALID, odd image and kernel sizes, batch 1 and 3),
// hand-computed values (including TensorFlow's SAME padding putting the odd pad after), attr and
// shape errors, ops imported from a TensorFlow-style GraphDef, and every gradient against central
// differences.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "ops/array_ops.h"
#include "ops/conv_ops.h"
#include "ops/op_registry.h"
#include "runtime/session.h"
#include "tests/gradient_checker.h"
#include "tests/test_util.h"

namespace dflow {
namespace {

using ::testing::HasSubstr;
using test::ExpectTensorNear;
using test::FloatTensor;
using test::RandomTensor;
using test::RunGraph;
using test::RunOne;

// ---------------------------------------------------------------------------------------------
// Plain-loop references, in double precision, with the window arithmetic written out again.

// Output size and leading padding of one spatial dimension.
struct WinDim {
  int64_t out, pad;
};
WinDim WindowDim(int64_t in, int64_t k, int64_t s, bool same) {
  if (!same) return {(in - k) / s + 1, 0};
  const int64_t out = (in + s - 1) / s;
  const int64_t total = std::max<int64_t>((out - 1) * s + k - in, 0);
  return {out, total / 2};
}

// Row-major offset in an NHWC (or HWIO) tensor of dims d.
int64_t At(const std::vector<int64_t>& d, int64_t a, int64_t b, int64_t c, int64_t e) {
  return ((a * d[1] + b) * d[2] + c) * d[3] + e;
}

std::vector<int64_t> Dims(const TensorShape& s) {
  return std::vector<int64_t>(s.dim_sizes().begin(), s.dim_sizes().end());
}

struct ConvCase {
  int64_t n, h, w, ci, kh, kw, co, sh, sw;
  bool same;
  std::string Name() const {
    return absl::StrCat("x[", n, ",", h, ",", w, ",", ci, "] f[", kh, ",", kw, ",", ci, ",", co,
                        "] strides ", sh, ",", sw, same ? " SAME" : " VALID");
  }
  WinDim Rows() const { return WindowDim(h, kh, sh, same); }
  WinDim Cols() const { return WindowDim(w, kw, sw, same); }
  TensorShape In() const { return TensorShape({n, h, w, ci}); }
  TensorShape Filter() const { return TensorShape({kh, kw, ci, co}); }
  TensorShape Out() const { return TensorShape({n, Rows().out, Cols().out, co}); }
  std::vector<int64_t> Strides() const { return {1, sh, sw, 1}; }
  const char* Padding() const { return same ? "SAME" : "VALID"; }
};

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

std::vector<float> ToFloat(const std::vector<double>& v) { return {v.begin(), v.end()}; }

std::vector<float> Conv2DRef(const ConvCase& c, const Tensor& x, const Tensor& f) {
  const auto xd = Dims(c.In()), fd = Dims(c.Filter()), yd = Dims(c.Out());
  std::vector<double> y(c.Out().num_elements(), 0.0);
  auto xv = x.flat<float>();
  auto fv = f.flat<float>();
  ForEachTap(c, [&](int64_t n, int64_t oh, int64_t ow, int64_t i, int64_t j, int64_t ih,
                    int64_t iw) {
    for (int64_t ci = 0; ci < c.ci; ++ci) {
      for (int64_t co = 0; co < c.co; ++co) {
        y[At(yd, n, oh, ow, co)] +=
            static_cast<double>(xv[At(xd, n, ih, iw, ci)]) * fv[At(fd, i, j, ci, co)];
      }
    }
  });
  return ToFloat(y);
}

std::vector<float> BackpropInputRef(const ConvCase& c, const Tensor& f, const Tensor& dy) {
  const auto xd = Dims(c.In()), fd = Dims(c.Filter()), yd = Dims(c.Out());
  std::vector<double> dx(c.In().num_elements(), 0.0);
  auto fv = f.flat<float>();
  auto gv = dy.flat<float>();
  ForEachTap(c, [&](int64_t n, int64_t oh, int64_t ow, int64_t i, int64_t j, int64_t ih,
                    int64_t iw) {
    for (int64_t ci = 0; ci < c.ci; ++ci) {
      for (int64_t co = 0; co < c.co; ++co) {
        dx[At(xd, n, ih, iw, ci)] +=
            static_cast<double>(fv[At(fd, i, j, ci, co)]) * gv[At(yd, n, oh, ow, co)];
      }
    }
  });
  return ToFloat(dx);
}

std::vector<float> BackpropFilterRef(const ConvCase& c, const Tensor& x, const Tensor& dy) {
  const auto xd = Dims(c.In()), fd = Dims(c.Filter()), yd = Dims(c.Out());
  std::vector<double> df(c.Filter().num_elements(), 0.0);
  auto xv = x.flat<float>();
  auto gv = dy.flat<float>();
  ForEachTap(c, [&](int64_t n, int64_t oh, int64_t ow, int64_t i, int64_t j, int64_t ih,
                    int64_t iw) {
    for (int64_t ci = 0; ci < c.ci; ++ci) {
      for (int64_t co = 0; co < c.co; ++co) {
        df[At(fd, i, j, ci, co)] +=
            static_cast<double>(xv[At(xd, n, ih, iw, ci)]) * gv[At(yd, n, oh, ow, co)];
      }
    }
  });
  return ToFloat(df);
}

struct PoolCase {
  int64_t n, h, w, c, kh, kw, sh, sw;
  bool same;
  std::string Name() const {
    return absl::StrCat("x[", n, ",", h, ",", w, ",", c, "] ksize ", kh, ",", kw, " strides ",
                        sh, ",", sw, same ? " SAME" : " VALID");
  }
  WinDim Rows() const { return WindowDim(h, kh, sh, same); }
  WinDim Cols() const { return WindowDim(w, kw, sw, same); }
  TensorShape In() const { return TensorShape({n, h, w, c}); }
  TensorShape Out() const { return TensorShape({n, Rows().out, Cols().out, c}); }
  std::vector<int64_t> Ksize() const { return {1, kh, kw, 1}; }
  std::vector<int64_t> Strides() const { return {1, sh, sw, 1}; }
  const char* Padding() const { return same ? "SAME" : "VALID"; }
};

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

// The gradient goes to the first maximum of each window.
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
  return ToFloat(dx);
}

// Padding is excluded from the count.
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
  return ToFloat(dx);
}

Tensor Sizes(const TensorShape& s) {
  std::vector<int32_t> v(s.dim_sizes().begin(), s.dim_sizes().end());
  return *Tensor::FromVector<int32_t>(v, TensorShape({4}));
}

std::string ErrorOf(const Scope& scope) { return std::string(scope.status().message()); }

// ---------------------------------------------------------------------------------------------
// Convolutions against the references.

const std::vector<ConvCase>& ConvCases() {
  static const auto* cases = new std::vector<ConvCase>{
      // n, h, w, ci, kh, kw, co, sh, sw, same
      {1, 5, 7, 1, 3, 3, 1, 1, 1, true},
      {3, 5, 7, 2, 3, 3, 4, 1, 1, false},
      {1, 5, 7, 3, 5, 5, 2, 2, 2, true},
      {3, 7, 5, 2, 5, 3, 3, 2, 1, false},
      {3, 5, 7, 1, 3, 3, 2, 2, 3, true},
      {2, 6, 6, 3, 1, 1, 5, 2, 2, true},
      {1, 4, 4, 1, 4, 4, 1, 1, 1, false},  // One output pixel.
      {1, 9, 8, 4, 5, 5, 1, 3, 3, true},
      {2, 6, 5, 2, 2, 4, 3, 2, 2, true},   // Even kernels: the odd SAME pad goes after.
      {2, 12, 11, 16, 3, 3, 32, 1, 1, true},  // Channel counts where oneDNN blocks its weights.
      {1, 10, 10, 8, 3, 3, 16, 2, 2, false},
  };
  return *cases;
}

TEST(Conv2DTest, MatchesReference) {
  uint64_t seed = 1;
  for (const ConvCase& c : ConvCases()) {
    SCOPED_TRACE(c.Name());
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT);
    auto f = ops::Placeholder(root, DT_FLOAT);
    auto y = ops::Conv2D(root, x, f, c.Strides(), c.Padding());
    Tensor xv = RandomTensor(c.In(), seed++), fv = RandomTensor(c.Filter(), seed++);
    absl::StatusOr<Tensor> out = RunOne(root, y, {{x, xv}, {f, fv}});
    ASSERT_TRUE(out.ok()) << out.status();
    ExpectTensorNear(*out, c.Out(), Conv2DRef(c, xv, fv), 1e-4f);
  }
}

TEST(Conv2DBackpropInputTest, MatchesReference) {
  uint64_t seed = 100;
  for (const ConvCase& c : ConvCases()) {
    SCOPED_TRACE(c.Name());
    Scope root = Scope::NewRootScope();
    auto f = ops::Placeholder(root, DT_FLOAT);
    auto dy = ops::Placeholder(root, DT_FLOAT);
    auto dx = ops::Conv2DBackpropInput(root, ops::Const(root, Sizes(c.In())), f, dy, c.Strides(),
                                       c.Padding());
    ASSERT_TRUE(root.ok()) << root.status();
    EXPECT_EQ(dx.shape(), PartialTensorShape(c.In()));  // From the constant input_sizes.
    Tensor fv = RandomTensor(c.Filter(), seed++), gv = RandomTensor(c.Out(), seed++);
    absl::StatusOr<Tensor> out = RunOne(root, dx, {{f, fv}, {dy, gv}});
    ASSERT_TRUE(out.ok()) << out.status();
    ExpectTensorNear(*out, c.In(), BackpropInputRef(c, fv, gv), 1e-4f);
  }
}

TEST(Conv2DBackpropFilterTest, MatchesReference) {
  uint64_t seed = 200;
  for (const ConvCase& c : ConvCases()) {
    SCOPED_TRACE(c.Name());
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT);
    auto dy = ops::Placeholder(root, DT_FLOAT);
    auto df = ops::Conv2DBackpropFilter(root, x, ops::Const(root, Sizes(c.Filter())), dy,
                                        c.Strides(), c.Padding());
    ASSERT_TRUE(root.ok()) << root.status();
    EXPECT_EQ(df.shape(), PartialTensorShape(c.Filter()));
    Tensor xv = RandomTensor(c.In(), seed++), gv = RandomTensor(c.Out(), seed++);
    absl::StatusOr<Tensor> out = RunOne(root, df, {{x, xv}, {dy, gv}});
    ASSERT_TRUE(out.ok()) << out.status();
    ExpectTensorNear(*out, c.Filter(), BackpropFilterRef(c, xv, gv), 2e-4f);
  }
}

TEST(Conv2DTest, HandComputedValues) {
  const Tensor x = FloatTensor({1, 3, 3, 1}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  {  // 2x2 ones, VALID: sums of 2x2 blocks.
    Scope root = Scope::NewRootScope();
    auto y = ops::Conv2D(root, ops::Const(root, x), ops::Const(root, 1.0f, {2, 2, 1, 1}),
                         {1, 1, 1, 1}, "VALID");
    absl::StatusOr<Tensor> out = RunOne(root, y);
    ASSERT_TRUE(out.ok()) << out.status();
    ExpectTensorNear(*out, TensorShape({1, 2, 2, 1}), {12, 16, 24, 28});
  }
  {  // 3x3 ones, SAME: sums of 3x3 neighbourhoods.
    Scope root = Scope::NewRootScope();
    auto y = ops::Conv2D(root, ops::Const(root, x), ops::Const(root, 1.0f, {3, 3, 1, 1}),
                         {1, 1, 1, 1}, "SAME");
    absl::StatusOr<Tensor> out = RunOne(root, y);
    ASSERT_TRUE(out.ok()) << out.status();
    ExpectTensorNear(*out, TensorShape({1, 3, 3, 1}), {12, 21, 16, 27, 45, 33, 24, 39, 28});
  }
  {  // Two output channels: the filter is HWIO.
    Scope root = Scope::NewRootScope();
    auto y = ops::Conv2D(root, ops::Const(root, FloatTensor({1, 1, 2, 2}, {1, 2, 3, 4})),
                         ops::Const(root, FloatTensor({1, 1, 2, 2}, {1, 10, 100, 1000})),
                         {1, 1, 1, 1}, "VALID");
    absl::StatusOr<Tensor> out = RunOne(root, y);
    ASSERT_TRUE(out.ok()) << out.status();
    // out[c] = x0 * f[0][c] + x1 * f[1][c].
    ExpectTensorNear(*out, TensorShape({1, 1, 2, 2}), {201, 2010, 403, 4030});
  }
}

TEST(Conv2DTest, SamePaddingPutsTheOddPadAfter) {
  const Tensor x = FloatTensor({1, 1, 4, 1}, {1, 2, 3, 4});
  {  // Width 4, kernel 2, stride 1: one pad column, on the right: out[j] = x[j] + 10 x[j+1].
    Scope root = Scope::NewRootScope();
    auto y = ops::Conv2D(root, ops::Const(root, x),
                         ops::Const(root, FloatTensor({1, 2, 1, 1}, {1, 10})), {1, 1, 1, 1},
                         "SAME");
    absl::StatusOr<Tensor> out = RunOne(root, y);
    ASSERT_TRUE(out.ok()) << out.status();
    ExpectTensorNear(*out, TensorShape({1, 1, 4, 1}), {21, 32, 43, 4});
  }
  {  // Width 4, kernel 3, stride 2: out 2, one pad column on the right.
    Scope root = Scope::NewRootScope();
    auto y = ops::Conv2D(root, ops::Const(root, x), ops::Const(root, 1.0f, {1, 3, 1, 1}),
                         {1, 1, 2, 1}, "SAME");
    absl::StatusOr<Tensor> out = RunOne(root, y);
    ASSERT_TRUE(out.ok()) << out.status();
    ExpectTensorNear(*out, TensorShape({1, 1, 2, 1}), {6, 7});
  }
}

TEST(Conv2DTest, StaticShapeInference) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({-1, 28, 27, 3}));
  auto f = ops::Placeholder(root, DT_FLOAT, ops::Placeholder::Shape({5, 5, 3, 32}));
  auto same = ops::Conv2D(root, x, f, {1, 2, 2, 1}, "SAME");
  auto valid = ops::Conv2D(root, x, f, {1, 2, 2, 1}, "VALID");
  auto pool = ops::MaxPool(root, same, {1, 3, 3, 1}, {1, 2, 2, 1}, "VALID");
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(same.shape(), PartialTensorShape({-1, 14, 14, 32}));
  EXPECT_EQ(valid.shape(), PartialTensorShape({-1, 12, 12, 32}));
  EXPECT_EQ(pool.shape(), PartialTensorShape({-1, 6, 6, 32}));
}

TEST(Conv2DTest, ShapeChangesBetweenRunsOfOneSession) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto f = ops::Placeholder(root, DT_FLOAT);
  auto y = ops::Conv2D(root, x, f, {1, 2, 2, 1}, "SAME");
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(root);
  ASSERT_TRUE(session.ok()) << session.status();
  uint64_t seed = 300;
  for (const ConvCase& c : std::vector<ConvCase>{{3, 5, 7, 2, 3, 3, 4, 2, 2, true},
                                                 {1, 5, 7, 2, 3, 3, 4, 2, 2, true},
                                                 {3, 6, 4, 2, 3, 3, 4, 2, 2, true},
                                                 {3, 5, 7, 2, 3, 3, 4, 2, 2, true}}) {
    SCOPED_TRACE(c.Name());
    Tensor xv = RandomTensor(c.In(), seed++), fv = RandomTensor(c.Filter(), seed++);
    std::vector<Tensor> out;
    absl::Status s = (*session)->Run({{x, xv}, {f, fv}}, {y}, {}, &out);
    ASSERT_TRUE(s.ok()) << s;
    ExpectTensorNear(out[0], c.Out(), Conv2DRef(c, xv, fv), 1e-4f);
  }
}

TEST(Conv2DTest, EmptyInputs) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto f = ops::Placeholder(root, DT_FLOAT);
  auto y = ops::Conv2D(root, x, f, {1, 1, 1, 1}, "SAME");
  // Batch 0: an empty output.
  absl::StatusOr<Tensor> out = RunOne(root, y, {{x, Tensor(DT_FLOAT, TensorShape({0, 4, 4, 2}))},
                                                {f, RandomTensor({3, 3, 2, 5}, 1)}});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->shape(), TensorShape({0, 4, 4, 5}));
  // No input channels: zeros.
  out = RunOne(root, y, {{x, Tensor(DT_FLOAT, TensorShape({1, 2, 2, 0}))},
                         {f, Tensor(DT_FLOAT, TensorShape({3, 3, 0, 2}))}});
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectTensorNear(*out, TensorShape({1, 2, 2, 2}), std::vector<float>(8, 0.0f));
}

// ---------------------------------------------------------------------------------------------
// Errors.

TEST(Conv2DTest, AttrErrorsAtGraphBuild) {
  auto build = [](std::vector<int64_t> strides, const char* padding, ops::Conv2D::Attrs attrs) {
    Scope root = Scope::NewRootScope();
    ops::Conv2D(root, ops::Const(root, 0.0f, {1, 5, 5, 2}), ops::Const(root, 0.0f, {3, 3, 2, 4}),
                strides, padding, attrs);
    EXPECT_FALSE(root.ok());
    return ErrorOf(root);
  };
  EXPECT_THAT(build({1, 1, 1}, "SAME", {}), HasSubstr("strides must have 4 entries"));
  EXPECT_THAT(build({2, 1, 1, 1}, "SAME", {}), HasSubstr("batch and depth"));
  EXPECT_THAT(build({1, 1, 1, 2}, "SAME", {}), HasSubstr("batch and depth"));
  EXPECT_THAT(build({1, 0, 1, 1}, "SAME", {}), HasSubstr("positive"));
  EXPECT_THAT(build({1, int64_t{1} << 40, 1, 1}, "SAME", {}), HasSubstr("too large"));
  EXPECT_THAT(build({1, 1, 1, 1}, "FULL", {}), HasSubstr("unknown padding 'FULL'"));
  EXPECT_THAT(build({1, 1, 1, 1}, "EXPLICIT", {}), HasSubstr("'EXPLICIT' is not supported"));
  EXPECT_THAT(build({1, 1, 1, 1}, "SAME", ops::Conv2D::DataFormat("NCHW")),
              HasSubstr("data_format 'NCHW' is not supported"));
  EXPECT_THAT(build({1, 1, 1, 1}, "SAME", ops::Conv2D::Dilations({1, 2, 2, 1})),
              HasSubstr("dilations"));
  EXPECT_THAT(build({1, 1, 1, 1}, "SAME", ops::Conv2D::ExplicitPaddings({0, 0, 1, 1, 1, 1, 0, 0})),
              HasSubstr("explicit_paddings"));
  // The message names the node and its op.
  EXPECT_THAT(build({1, 1, 1}, "SAME", {}), HasSubstr("Conv2D"));
  // use_cudnn_on_gpu is accepted.
  Scope root = Scope::NewRootScope();
  ops::Conv2D(root, ops::Const(root, 0.0f, {1, 5, 5, 2}), ops::Const(root, 0.0f, {3, 3, 2, 4}),
              {1, 1, 1, 1}, "SAME", ops::Conv2D::UseCudnnOnGpu(false));
  EXPECT_TRUE(root.ok()) << root.status();
}

TEST(Conv2DTest, ShapeErrorsAtGraphBuild) {
  {  // Channel mismatch between input and filter.
    Scope root = Scope::NewRootScope();
    ops::Conv2D(root, ops::Const(root, 0.0f, {1, 5, 5, 3}), ops::Const(root, 0.0f, {3, 3, 2, 4}),
                {1, 1, 1, 1}, "SAME");
    EXPECT_THAT(ErrorOf(root), HasSubstr("in_channels"));
    EXPECT_THAT(ErrorOf(root), HasSubstr("3 vs. 2"));
  }
  {  // Rank.
    Scope root = Scope::NewRootScope();
    ops::Conv2D(root, ops::Const(root, 0.0f, {5, 5, 3}), ops::Const(root, 0.0f, {3, 3, 3, 4}),
                {1, 1, 1, 1}, "SAME");
    EXPECT_THAT(ErrorOf(root), HasSubstr("input must be 4-D"));
  }
  {  // VALID with a filter larger than the image.
    Scope root = Scope::NewRootScope();
    ops::Conv2D(root, ops::Const(root, 0.0f, {1, 5, 2, 1}), ops::Const(root, 0.0f, {3, 3, 1, 1}),
                {1, 1, 1, 1}, "VALID");
    EXPECT_THAT(ErrorOf(root), HasSubstr("filter width (3) is larger than the input width (2)"));
  }
  {  // Backprop ops: out_backprop inconsistent with the forward output.
    Scope root = Scope::NewRootScope();
    ops::Conv2DBackpropInput(root, ops::Const(root, {1, 5, 5, 2}),
                             ops::Const(root, 0.0f, {3, 3, 2, 4}),
                             ops::Const(root, 0.0f, {1, 5, 5, 3}), {1, 1, 1, 1}, "SAME");
    EXPECT_THAT(ErrorOf(root), HasSubstr("out_backprop"));
  }
  {
    Scope root = Scope::NewRootScope();
    ops::Conv2DBackpropFilter(root, ops::Const(root, 0.0f, {1, 5, 5, 2}),
                              ops::Const(root, {3, 3, 2, 4}),
                              ops::Const(root, 0.0f, {1, 3, 3, 4}), {1, 1, 1, 1}, "SAME");
    EXPECT_THAT(ErrorOf(root), HasSubstr("out_backprop"));
  }
  {  // input_sizes must hold 4 sizes.
    Scope root = Scope::NewRootScope();
    ops::Conv2DBackpropInput(root, ops::Const(root, {5, 5, 2}),
                             ops::Const(root, 0.0f, {3, 3, 2, 4}),
                             ops::Const(root, 0.0f, {1, 5, 5, 4}), {1, 1, 1, 1}, "SAME");
    EXPECT_THAT(ErrorOf(root), HasSubstr("input_sizes"));
  }
}

TEST(Conv2DTest, ShapeErrorsAtRunTime) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto f = ops::Placeholder(root, DT_FLOAT);
  auto y = ops::Conv2D(root, x, f, {1, 1, 1, 1}, "VALID");
  ASSERT_TRUE(root.ok());
  absl::StatusOr<Tensor> out =
      RunOne(root, y, {{x, RandomTensor({1, 5, 5, 3}, 1)}, {f, RandomTensor({3, 3, 2, 4}, 2)}});
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(std::string(out.status().message()), HasSubstr("in_channels"));
  out = RunOne(root, y, {{x, RandomTensor({5, 5, 3}, 1)}, {f, RandomTensor({3, 3, 3, 4}, 2)}});
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(std::string(out.status().message()), HasSubstr("4-D"));
  out = RunOne(root, y, {{x, RandomTensor({1, 2, 5, 3}, 1)}, {f, RandomTensor({3, 3, 3, 4}, 2)}});
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(std::string(out.status().message()), HasSubstr("larger than the input height"));

  // Backprop ops with inconsistent sizes.
  Scope root2 = Scope::NewRootScope();
  auto sizes = ops::Placeholder(root2, DT_INT32);
  auto g = ops::Placeholder(root2, DT_FLOAT);
  auto w = ops::Placeholder(root2, DT_FLOAT);
  auto dx = ops::Conv2DBackpropInput(root2, sizes, w, g, {1, 2, 2, 1}, "SAME");
  auto dw = ops::Conv2DBackpropFilter(root2, g, sizes, w, {1, 2, 2, 1}, "SAME");
  ASSERT_TRUE(root2.ok()) << root2.status();
  out = RunOne(root2, dx, {{sizes, Sizes({1, 5, 5, 2})},
                           {w, RandomTensor({3, 3, 2, 4}, 1)},
                           {g, RandomTensor({1, 5, 5, 4}, 2)}});  // Should be [1,3,3,4].
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(std::string(out.status().message()), HasSubstr("out_backprop has shape [1,5,5,4]"));
  out = RunOne(root2, dx, {{sizes, *Tensor::FromVector<int32_t>({1, 5, 5}, TensorShape({3}))},
                           {w, RandomTensor({3, 3, 2, 4}, 1)},
                           {g, RandomTensor({1, 3, 3, 4}, 2)}});
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(std::string(out.status().message()), HasSubstr("input_sizes"));
  out = RunOne(root2, dx, {{sizes, *Tensor::FromVector<int32_t>({1, -5, 5, 2}, TensorShape({4}))},
                           {w, RandomTensor({3, 3, 2, 4}, 1)},
                           {g, RandomTensor({1, 3, 3, 4}, 2)}});
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(std::string(out.status().message()), HasSubstr("non-negative"));
  out = RunOne(root2, dx, {{sizes, Sizes({1 << 30, 1 << 30, 1, 2})},
                           {w, RandomTensor({3, 3, 2, 4}, 1)},
                           {g, RandomTensor({1, 3, 3, 4}, 2)}});
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(std::string(out.status().message()), HasSubstr("too many elements"));
  // filter_sizes [3,3,2,4] with an input of depth 3.
  out = RunOne(root2, dw, {{sizes, Sizes({3, 3, 2, 4})},
                           {g, RandomTensor({1, 5, 5, 3}, 1)},
                           {w, RandomTensor({1, 3, 3, 4}, 2)}});
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(std::string(out.status().message()), HasSubstr("in_channels"));
}

// ---------------------------------------------------------------------------------------------
// Pooling against the references.

const std::vector<PoolCase>& PoolCases() {
  static const auto* cases = new std::vector<PoolCase>{
      // n, h, w, c, kh, kw, sh, sw, same
      {1, 4, 4, 1, 2, 2, 2, 2, false},
      {3, 5, 7, 2, 2, 2, 2, 2, false},
      {3, 5, 7, 2, 2, 2, 2, 2, true},
      {1, 5, 7, 3, 3, 3, 1, 1, true},
      {3, 7, 5, 4, 3, 3, 2, 2, true},
      {2, 7, 5, 1, 3, 2, 2, 1, false},
      {1, 5, 7, 2, 5, 5, 3, 3, true},
      {2, 6, 6, 16, 3, 3, 2, 2, true},
      {1, 3, 3, 2, 1, 1, 1, 1, false},
      {2, 8, 9, 32, 2, 2, 2, 2, true},   // The CNN's pool, many channels, a padded column.
      {1, 9, 8, 6, 3, 2, 3, 2, false},   // Disjoint 3x2 windows, a row left over.
  };
  return *cases;
}

TEST(MaxPoolTest, MatchesReference) {
  uint64_t seed = 400;
  for (const PoolCase& p : PoolCases()) {
    SCOPED_TRACE(p.Name());
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT);
    auto y = ops::MaxPool(root, x, p.Ksize(), p.Strides(), p.Padding());
    // All negative: SAME padding must never win.
    Tensor xv = RandomTensor(p.In(), seed++, -2.0f, -1.0f);
    absl::StatusOr<Tensor> out = RunOne(root, y, {{x, xv}});
    ASSERT_TRUE(out.ok()) << out.status();
    ExpectTensorNear(*out, p.Out(), MaxPoolRef(p, xv));
  }
}

TEST(MaxPoolTest, HandComputedValues) {
  std::vector<float> v(16);
  std::iota(v.begin(), v.end(), 1.0f);
  const Tensor x = FloatTensor({1, 4, 4, 1}, v);
  {
    Scope root = Scope::NewRootScope();
    auto y = ops::MaxPool(root, ops::Const(root, x), {1, 2, 2, 1}, {1, 2, 2, 1}, "VALID");
    absl::StatusOr<Tensor> out = RunOne(root, y);
    ASSERT_TRUE(out.ok()) << out.status();
    ExpectTensorNear(*out, TensorShape({1, 2, 2, 1}), {6, 8, 14, 16});
  }
  {  // 3x3 windows, stride 2, SAME on 4x4: rows/cols {0,1,2} and {2,3} (the pad is after).
    Scope root = Scope::NewRootScope();
    auto y = ops::MaxPool(root, ops::Const(root, x), {1, 3, 3, 1}, {1, 2, 2, 1}, "SAME");
    absl::StatusOr<Tensor> out = RunOne(root, y);
    ASSERT_TRUE(out.ok()) << out.status();
    ExpectTensorNear(*out, TensorShape({1, 2, 2, 1}), {11, 12, 15, 16});
  }
}

TEST(MaxPoolGradTest, MatchesReference) {
  uint64_t seed = 500;
  for (const PoolCase& p : PoolCases()) {
    SCOPED_TRACE(p.Name());
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT);
    auto g = ops::Placeholder(root, DT_FLOAT);
    auto y = ops::MaxPool(root, x, p.Ksize(), p.Strides(), p.Padding());
    auto dx = ops::MaxPoolGrad(root, x, y, g, p.Ksize(), p.Strides(), p.Padding());
    // Values on a coarse grid, so that windows have ties.
    Tensor xv = RandomTensor(p.In(), seed++, -2.0f, 2.0f);
    for (float& e : xv.flat<float>()) e = std::round(e * 2) / 2;
    Tensor gv = RandomTensor(p.Out(), seed++);
    absl::StatusOr<Tensor> out = RunOne(root, dx, {{x, xv}, {g, gv}});
    ASSERT_TRUE(out.ok()) << out.status();
    ExpectTensorNear(*out, p.In(), MaxPoolGradRef(p, xv, gv));
  }
}

TEST(MaxPoolGradTest, TiesGoToTheFirstMaximum) {
  auto run = [](const Tensor& x, std::vector<int64_t> ksize, std::vector<int64_t> strides,
                const Tensor& g) {
    Scope root = Scope::NewRootScope();
    auto xc = ops::Const(root, x);
    auto y = ops::MaxPool(root, xc, ksize, strides, "VALID");
    absl::StatusOr<Tensor> out =
        RunOne(root, ops::MaxPoolGrad(root, xc, y, ops::Const(root, g), ksize, strides, "VALID"));
    EXPECT_TRUE(out.ok()) << out.status();
    return out.ok() ? *out : Tensor();
  };
  // One 2x2 window of equal values: all to the top-left.
  ExpectTensorNear(run(FloatTensor({1, 2, 2, 1}, {5, 5, 5, 5}), {1, 2, 2, 1}, {1, 2, 2, 1},
                       FloatTensor({1, 1, 1, 1}, {1})),
                   TensorShape({1, 2, 2, 1}), {1, 0, 0, 0});
  // Row-major: in [[1, 3], [3, 2]] the maximum 3 at (0, 1) comes before (1, 0).
  ExpectTensorNear(run(FloatTensor({1, 2, 2, 1}, {1, 3, 3, 2}), {1, 2, 2, 1}, {1, 2, 2, 1},
                       FloatTensor({1, 1, 1, 1}, {7})),
                   TensorShape({1, 2, 2, 1}), {0, 7, 0, 0});
  // Overlapping windows of width 2, stride 1, over [1, 3, 2]: both pick the 3, gradients add.
  ExpectTensorNear(run(FloatTensor({1, 1, 3, 1}, {1, 3, 2}), {1, 1, 2, 1}, {1, 1, 1, 1},
                       FloatTensor({1, 1, 2, 1}, {10, 20})),
                   TensorShape({1, 1, 3, 1}), {0, 30, 0});
  // Six channels of one 2x2 window (vector lanes and a scalar tail): channel k holds its
  // maximum k % 4 in row-major cell k % 4, the other cells tie below it or equal it later.
  std::vector<float> x6(24), g6(6), want6(24, 0.f);
  for (int cell = 0; cell < 4; ++cell) {
    for (int k = 0; k < 6; ++k) x6[cell * 6 + k] = cell >= k % 4 ? 1.f : 0.f;
  }
  for (int k = 0; k < 6; ++k) {
    g6[k] = k + 1.f;
    want6[(k % 4) * 6 + k] = k + 1.f;  // The first cell holding the maximum 1.
  }
  ExpectTensorNear(run(FloatTensor({1, 2, 2, 6}, x6), {1, 2, 2, 1}, {1, 2, 2, 1},
                       FloatTensor({1, 1, 1, 6}, g6)),
                   TensorShape({1, 2, 2, 6}), want6);
  // Over [2, 2, 2] each window picks its own first element.
  ExpectTensorNear(run(FloatTensor({1, 1, 3, 1}, {2, 2, 2}), {1, 1, 2, 1}, {1, 1, 1, 1},
                       FloatTensor({1, 1, 2, 1}, {10, 20})),
                   TensorShape({1, 1, 3, 1}), {10, 20, 0});
}

TEST(MaxPoolTest, Errors) {
  auto build = [](std::vector<int64_t> ksize, std::vector<int64_t> strides, const char* padding,
                  ops::MaxPool::Attrs attrs, TensorShape shape) {
    Scope root = Scope::NewRootScope();
    ops::MaxPool(root, ops::Const(root, 0.0f, shape), ksize, strides, padding, attrs);
    EXPECT_FALSE(root.ok());
    return ErrorOf(root);
  };
  const TensorShape s({1, 5, 5, 2});
  EXPECT_THAT(build({1, 2, 2}, {1, 2, 2, 1}, "VALID", {}, s), HasSubstr("ksize must have 4"));
  EXPECT_THAT(build({1, 2, 2, 1}, {1, 2, 1}, "VALID", {}, s), HasSubstr("strides must have 4"));
  EXPECT_THAT(build({2, 2, 2, 1}, {1, 2, 2, 1}, "VALID", {}, s), HasSubstr("batch and depth"));
  EXPECT_THAT(build({1, 2, 2, 1}, {1, 2, 2, 1}, "VALID", ops::MaxPool::DataFormat("NCHW"), s),
              HasSubstr("NCHW"));
  EXPECT_THAT(build({1, 2, 2, 1}, {1, 2, 2, 1}, "EXPLICIT", {}, s), HasSubstr("EXPLICIT"));
  EXPECT_THAT(build({1, 6, 2, 1}, {1, 2, 2, 1}, "VALID", {}, s),
              HasSubstr("window height (6) is larger than the input height (5)"));
  EXPECT_THAT(build({1, 2, 2, 1}, {1, 2, 2, 1}, "VALID", {}, TensorShape({5, 5, 2})),
              HasSubstr("4-D"));

  // MaxPoolGrad with a grad of the wrong shape, at run time.
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto g = ops::Placeholder(root, DT_FLOAT);
  auto y = ops::MaxPool(root, x, {1, 2, 2, 1}, {1, 2, 2, 1}, "VALID");
  auto dx = ops::MaxPoolGrad(root, x, y, g, {1, 2, 2, 1}, {1, 2, 2, 1}, "VALID");
  absl::StatusOr<Tensor> out =
      RunOne(root, dx, {{x, RandomTensor({1, 4, 4, 2}, 1)}, {g, RandomTensor({1, 3, 2, 2}, 2)}});
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(std::string(out.status().message()), HasSubstr("grad has shape [1,3,2,2]"));
}

TEST(AvgPoolTest, MatchesReference) {
  uint64_t seed = 600;
  for (const PoolCase& p : PoolCases()) {
    SCOPED_TRACE(p.Name());
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT);
    auto y = ops::AvgPool(root, x, p.Ksize(), p.Strides(), p.Padding());
    Tensor xv = RandomTensor(p.In(), seed++);
    absl::StatusOr<Tensor> out = RunOne(root, y, {{x, xv}});
    ASSERT_TRUE(out.ok()) << out.status();
    ExpectTensorNear(*out, p.Out(), AvgPoolRef(p, xv));
  }
}

TEST(AvgPoolTest, HandComputedValuesExcludePadding) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Const(root, FloatTensor({1, 3, 3, 1}, {1, 2, 3, 4, 5, 6, 7, 8, 9}));
  auto y = ops::AvgPool(root, x, {1, 2, 2, 1}, {1, 1, 1, 1}, "SAME");
  absl::StatusOr<Tensor> out = RunOne(root, y);
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectTensorNear(*out, TensorShape({1, 3, 3, 1}), {3, 4, 4.5f, 6, 7, 7.5f, 7.5f, 8.5f, 9});
}

TEST(AvgPoolGradTest, MatchesReference) {
  uint64_t seed = 700;
  for (const PoolCase& p : PoolCases()) {
    SCOPED_TRACE(p.Name());
    Scope root = Scope::NewRootScope();
    auto g = ops::Placeholder(root, DT_FLOAT);
    auto dx = ops::AvgPoolGrad(root, ops::Const(root, Sizes(p.In())), g, p.Ksize(), p.Strides(),
                               p.Padding());
    ASSERT_TRUE(root.ok()) << root.status();
    EXPECT_EQ(dx.shape(), PartialTensorShape(p.In()));
    Tensor gv = RandomTensor(p.Out(), seed++);
    absl::StatusOr<Tensor> out = RunOne(root, dx, {{g, gv}});
    ASSERT_TRUE(out.ok()) << out.status();
    ExpectTensorNear(*out, p.In(), AvgPoolGradRef(p, gv));
  }
}

// ---------------------------------------------------------------------------------------------
// A graph written the way TensorFlow writes one (every attr spelled out), imported and run.

TEST(ConvImportTest, TensorFlowStyleGraphDef) {
  const std::string conv_attrs = R"(
      attr { key: "T" value { type: DT_FLOAT } }
      attr { key: "data_format" value { s: "NHWC" } }
      attr { key: "dilations" value { list { i: 1 i: 1 i: 1 i: 1 } } }
      attr { key: "explicit_paddings" value { list { } } }
      attr { key: "padding" value { s: "SAME" } }
      attr { key: "strides" value { list { i: 1 i: 2 i: 2 i: 1 } } }
      attr { key: "use_cudnn_on_gpu" value { b: true } })";
  const std::string text = R"(
    node { name: "x" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } } }
    node { name: "w" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } } }
    node { name: "dy" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } } }
    node {
      name: "sizes" op: "Const"
      attr { key: "dtype" value { type: DT_INT32 } }
      attr { key: "value" value { tensor { dtype: DT_INT32 tensor_shape { dim { size: 4 } }
                                           int_val: 2 int_val: 5 int_val: 7 int_val: 3 } } }
    }
    node { name: "conv" op: "Conv2D" input: "x" input: "w" )" + conv_attrs + R"( }
    node { name: "dx" op: "Conv2DBackpropInput" input: "sizes" input: "w" input: "dy"
           )" + conv_attrs + R"( }
    node {
      name: "pool" op: "MaxPool" input: "conv"
      attr { key: "T" value { type: DT_FLOAT } }
      attr { key: "data_format" value { s: "NHWC" } }
      attr { key: "ksize" value { list { i: 1 i: 2 i: 2 i: 1 } } }
      attr { key: "padding" value { s: "VALID" } }
      attr { key: "strides" value { list { i: 1 i: 2 i: 2 i: 1 } } }
    }
  )";
  GraphDef def;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &def));
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(def);
  ASSERT_TRUE(session.ok()) << session.status();
  const ConvCase c{2, 5, 7, 3, 3, 3, 4, 2, 2, true};
  Tensor xv = RandomTensor(c.In(), 1), wv = RandomTensor(c.Filter(), 2),
         gv = RandomTensor(c.Out(), 3);
  std::vector<Tensor> out;
  absl::Status s = (*session)->Run({{"x", xv}, {"w", wv}, {"dy", gv}}, {"conv", "dx", "pool"},
                                   {}, &out);
  ASSERT_TRUE(s.ok()) << s;
  const std::vector<float> conv = Conv2DRef(c, xv, wv);
  ExpectTensorNear(out[0], c.Out(), conv, 1e-4f);
  ExpectTensorNear(out[1], c.In(), BackpropInputRef(c, wv, gv), 1e-4f);
  // conv is [2, 3, 4, 4]; pooled 2x2 stride 2 VALID -> [2, 1, 2, 4].
  const PoolCase p{2, 3, 4, 4, 2, 2, 2, 2, false};
  ExpectTensorNear(out[2], p.Out(), MaxPoolRef(p, FloatTensor(c.Out(), conv)), 1e-4f);

  // NCHW in an imported graph is rejected at import, naming the node.
  GraphDef nchw = def;
  for (NodeDef& node : *nchw.mutable_node()) {
    if (node.name() == "conv") (*node.mutable_attr())["data_format"].set_s("NCHW");
  }
  session = Session::Create(nchw);
  ASSERT_FALSE(session.ok());
  EXPECT_THAT(std::string(session.status().message()), HasSubstr("NCHW"));
  EXPECT_THAT(std::string(session.status().message()), HasSubstr("conv"));
}

// ---------------------------------------------------------------------------------------------
// Gradients against central differences. The convolutions are linear in each argument and the
// pools piecewise linear, so a large step keeps float rounding out of the differences.

constexpr double kGradTolerance = 2e-3;
constexpr double kStep = 1e-2;

TEST(ConvGradientTest, Conv2D) {
  for (const ConvCase& c : std::vector<ConvCase>{{1, 5, 4, 2, 3, 3, 3, 1, 1, true},
                                                 {2, 5, 4, 2, 3, 2, 2, 2, 2, false},
                                                 {2, 4, 5, 1, 2, 2, 2, 2, 1, true}}) {
    SCOPED_TRACE(c.Name());
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT);
    auto f = ops::Placeholder(root, DT_FLOAT);
    auto y = ops::Conv2D(root, x, f, c.Strides(), c.Padding());
    absl::StatusOr<double> err = test::MaxGradientError(
        root, {{x, RandomTensor(c.In(), 31)}, {f, RandomTensor(c.Filter(), 32)}}, y, {}, kStep);
    ASSERT_TRUE(err.ok()) << err.status();
    EXPECT_LT(*err, kGradTolerance);
  }
}

TEST(ConvGradientTest, Conv2DBackpropInput) {
  const ConvCase c{2, 5, 4, 2, 3, 3, 3, 2, 2, true};
  Scope root = Scope::NewRootScope();
  auto f = ops::Placeholder(root, DT_FLOAT);
  auto dy = ops::Placeholder(root, DT_FLOAT);
  auto dx = ops::Conv2DBackpropInput(root, ops::Const(root, Sizes(c.In())), f, dy, c.Strides(),
                                     c.Padding());
  absl::StatusOr<double> err = test::MaxGradientError(
      root, {{f, RandomTensor(c.Filter(), 33)}, {dy, RandomTensor(c.Out(), 34)}}, dx, {}, kStep);
  ASSERT_TRUE(err.ok()) << err.status();
  EXPECT_LT(*err, kGradTolerance);
}

TEST(ConvGradientTest, Conv2DBackpropFilter) {
  const ConvCase c{2, 5, 4, 2, 3, 3, 3, 1, 1, false};
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto dy = ops::Placeholder(root, DT_FLOAT);
  auto df = ops::Conv2DBackpropFilter(root, x, ops::Const(root, Sizes(c.Filter())), dy,
                                      c.Strides(), c.Padding());
  absl::StatusOr<double> err = test::MaxGradientError(
      root, {{x, RandomTensor(c.In(), 35)}, {dy, RandomTensor(c.Out(), 36)}}, df, {}, kStep);
  ASSERT_TRUE(err.ok()) << err.status();
  EXPECT_LT(*err, kGradTolerance);
}

// Distinct values at least 0.05 apart (a scaled random permutation): no ties, and a step of
// 0.01 never changes which element is a window's maximum.
Tensor DistinctValues(const TensorShape& shape, uint64_t seed) {
  std::vector<float> v(shape.num_elements());
  std::iota(v.begin(), v.end(), 0.0f);
  std::shuffle(v.begin(), v.end(), std::mt19937_64(seed));
  for (float& e : v) e = (e - v.size() / 2.0f) * 0.05f;
  return FloatTensor(shape, v);
}

TEST(PoolGradientTest, MaxPool) {
  for (const PoolCase& p : std::vector<PoolCase>{{1, 5, 5, 2, 3, 3, 2, 2, true},
                                                 {3, 4, 5, 1, 2, 2, 2, 2, false},
                                                 {1, 4, 4, 2, 3, 2, 1, 1, true}}) {
    SCOPED_TRACE(p.Name());
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT);
    auto y = ops::MaxPool(root, x, p.Ksize(), p.Strides(), p.Padding());
    absl::StatusOr<double> err =
        test::MaxGradientError(root, {{x, DistinctValues(p.In(), 37)}}, y, {}, kStep);
    ASSERT_TRUE(err.ok()) << err.status();
    EXPECT_LT(*err, kGradTolerance);
  }
}

TEST(PoolGradientTest, AvgPool) {
  for (const PoolCase& p : std::vector<PoolCase>{{1, 5, 5, 2, 3, 3, 2, 2, true},
                                                 {3, 4, 5, 1, 2, 2, 2, 2, false}}) {
    SCOPED_TRACE(p.Name());
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root, DT_FLOAT);
    auto y = ops::AvgPool(root, x, p.Ksize(), p.Strides(), p.Padding());
    absl::StatusOr<double> err =
        test::MaxGradientError(root, {{x, RandomTensor(p.In(), 38)}}, y, {}, kStep);
    ASSERT_TRUE(err.ok()) << err.status();
    EXPECT_LT(*err, kGradTolerance);
  }
}

TEST(PoolGradientTest, AvgPoolGrad) {
  const PoolCase p{2, 5, 5, 2, 3, 3, 2, 2, true};
  Scope root = Scope::NewRootScope();
  auto g = ops::Placeholder(root, DT_FLOAT);
  auto dx = ops::AvgPoolGrad(root, ops::Const(root, Sizes(p.In())), g, p.Ksize(), p.Strides(),
                             p.Padding());
  absl::StatusOr<double> err =
      test::MaxGradientError(root, {{g, RandomTensor(p.Out(), 39)}}, dx, {}, kStep);
  ASSERT_TRUE(err.ok()) << err.status();
  EXPECT_LT(*err, kGradTolerance);
}

// A small CNN end to end: conv -> max pool -> conv (stride 2) -> avg pool, all gradients at once.
TEST(PoolGradientTest, ComposedNetwork) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto f1 = ops::Placeholder(root, DT_FLOAT);
  auto f2 = ops::Placeholder(root, DT_FLOAT);
  auto h = ops::Conv2D(root, x, f1, {1, 1, 1, 1}, "SAME");
  auto p = ops::AvgPool(root, h, {1, 2, 2, 1}, {1, 2, 2, 1}, "SAME");
  auto y = ops::Conv2D(root, p, f2, {1, 2, 2, 1}, "VALID");
  absl::StatusOr<double> err = test::MaxGradientError(
      root,
      {{x, RandomTensor({2, 6, 5, 2}, 40)},
       {f1, RandomTensor({3, 3, 2, 3}, 41)},
       {f2, RandomTensor({2, 2, 3, 2}, 42)}},
      y, {}, kStep);
  ASSERT_TRUE(err.ok()) << err.status();
  EXPECT_LT(*err, kGradTolerance);
}

TEST(ConvOpsRegistryTest, MaxPoolGradIsNotDifferentiable) {
  const OpDef* op = OpRegistry::Global()->Find("MaxPoolGrad");
  ASSERT_NE(op, nullptr);
  EXPECT_FALSE(op->differentiable);
  for (const char* name : {"Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter", "MaxPool",
                           "AvgPool", "AvgPoolGrad"}) {
    const OpDef* d = OpRegistry::Global()->Find(name);
    ASSERT_NE(d, nullptr) << name;
    EXPECT_TRUE(d->grad_fn != nullptr) << name;
  }
}

}  // namespace
}  // namespace dflow
