// Tests of Dequantize: hand-computed values for each mode and quantized type, per-axis ranges,
// random inputs of every type against the mode formulas evaluated in double, and attr and input
// checks. TensorFlow registers no gradient for Dequantize.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ops/array_ops.h"
#include "ops/quantize_ops.h"
#include "tests/test_util.h"

namespace dflow {
namespace test {
namespace {

// A quantized tensor of `dtype` holding `values` as Q.
template <typename Q>
Tensor Quantized(DataType dtype, const TensorShape& shape, const std::vector<int64_t>& values) {
  Tensor t(dtype, shape);
  std::vector<Q> q(values.begin(), values.end());
  std::memcpy(t.data(), q.data(), q.size() * sizeof(Q));
  return t;
}

absl::StatusOr<Tensor> Deq(const Tensor& q, const Tensor& min, const Tensor& max,
                           const ops::DequantizeAttrs& attrs) {
  Scope root = Scope::NewRootScope();
  Output y = ops::Dequantize(root, ops::Const(root, q), ops::Const(root, min),
                             ops::Const(root, max), attrs);
  return RunOne(root, y, {}, Unoptimized());
}

Tensor F(float v) { return Tensor::Scalar<float>(v); }

TEST(DequantizeTest, MinCombinedHandComputed) {
  absl::StatusOr<Tensor> u = Deq(Quantized<uint8_t>(DT_QUINT8, {3}, {0, 255, 128}), F(0), F(1),
                                 ops::DequantizeAttrs());
  ASSERT_TRUE(u.ok()) << u.status();
  ExpectTensorNear(*u, TensorShape({3}), {0, 1, 128 / 255.0f}, 1e-6f);
  // Signed: shifted by half the range, 128: -128 -> min, 127 -> max.
  absl::StatusOr<Tensor> s = Deq(Quantized<int8_t>(DT_QINT8, {3}, {-128, 127, 0}), F(-1), F(1),
                                 ops::DequantizeAttrs());
  ASSERT_TRUE(s.ok()) << s.status();
  ExpectTensorNear(*s, TensorShape({3}), {-1, 1, 128 * 2 / 255.0f - 1}, 1e-6f);
}

TEST(DequantizeTest, ScaledHandComputed) {
  const Tensor q = Quantized<int8_t>(DT_QINT8, {1, 5}, {-128, -127, 0, 64, 127});
  // The larger of -3 / -128 and 1 / 127; with narrow_range -3 / -127.
  absl::StatusOr<Tensor> y = Deq(q, F(-3), F(1), ops::DequantizeAttrs().Mode("SCALED"));
  ASSERT_TRUE(y.ok()) << y.status();
  const float s = 3.0f / 128;
  ExpectTensorNear(*y, TensorShape({1, 5}), {-128 * s, -127 * s, 0, 64 * s, 127 * s}, 1e-6f);
  y = Deq(q, F(-3), F(1), ops::DequantizeAttrs().Mode("SCALED").NarrowRange(true));
  ASSERT_TRUE(y.ok()) << y.status();
  const float t = 3.0f / 127;
  ExpectTensorNear(*y, TensorShape({1, 5}), {-128 * t, -127 * t, 0, 64 * t, 127 * t}, 1e-6f);
  // Unsigned: max / highest.
  y = Deq(Quantized<uint16_t>(DT_QUINT16, {2}, {0, 65535}), F(0), F(2),
          ops::DequantizeAttrs().Mode("SCALED"));
  ASSERT_TRUE(y.ok()) << y.status();
  ExpectTensorNear(*y, TensorShape({2}), {0, 2}, 1e-6f);
}

TEST(DequantizeTest, MinFirstRoundsMinToAStep) {
  // Step 2/255, which rounds up in float: -1 / step is -127.49999 in float, so the range starts
  // at -127 steps (TensorFlow computes in float too).
  absl::StatusOr<Tensor> y = Deq(Quantized<uint8_t>(DT_QUINT8, {3}, {0, 128, 255}), F(-1), F(1),
                                 ops::DequantizeAttrs().Mode("MIN_FIRST"));
  ASSERT_TRUE(y.ok()) << y.status();
  const float step = 2.0f / 255;
  ExpectTensorNear(*y, TensorShape({3}), {-127 * step, step, 128 * step}, 1e-6f);
  // min == max: every value is min.
  y = Deq(Quantized<uint8_t>(DT_QUINT8, {2}, {3, 200}), F(0.5f), F(0.5f),
          ops::DequantizeAttrs().Mode("MIN_FIRST"));
  ASSERT_TRUE(y.ok()) << y.status();
  ExpectTensorNear(*y, TensorShape({2}), {0.5f, 0.5f}, 1e-6f);
}

TEST(DequantizeTest, PerAxisRanges) {
  const Tensor q = Quantized<int8_t>(DT_QINT8, {2, 3}, {127, 127, 127, -64, 0, 64});
  absl::StatusOr<Tensor> y =
      Deq(q, FloatTensor({3}, {-1, -2, -4}), FloatTensor({3}, {1, 2, 4}),
          ops::DequantizeAttrs().Mode("SCALED").Axis(1));
  ASSERT_TRUE(y.ok()) << y.status();
  // Column j's scale: max(min_j / -128, max_j / 127) = max_j / 127.
  ExpectTensorNear(*y, TensorShape({2, 3}), {1, 2, 4, -64 / 127.0f, 0, 4 * 64 / 127.0f}, 1e-6f);
  y = Deq(q, FloatTensor({2}, {0, 0}), FloatTensor({2}, {1, 2}), ops::DequantizeAttrs().Axis(0));
  ASSERT_TRUE(y.ok()) << y.status();
  const float a = 1 / 255.0f, b = 2 / 255.0f;
  ExpectTensorNear(*y, TensorShape({2, 3}), {255 * a, 255 * a, 255 * a, 64 * b, 128 * b, 192 * b},
                   1e-6f);
}

// The three formulas in double, for a type of `bits` bits starting at `lowest`.
double RefValue(const std::string& mode, int64_t q, int bits, int64_t lowest, double min,
                double max, bool narrow) {
  const double highest = std::ldexp(1.0, bits) - 1 + lowest;
  if (mode == "MIN_COMBINED") {
    const double half = lowest < 0 ? std::ldexp(1.0, bits - 1) : 0;
    return (q + half) * (max - min) / (highest - lowest) + min;
  }
  if (mode == "SCALED") {
    const double scale =
        lowest == 0 ? max / highest : std::max(min / (lowest + (narrow ? 1 : 0)), max / highest);
    return q * scale;
  }
  const double step = (max - min) / (std::ldexp(1.0, bits) - 1);
  return std::round(min / step) * step + (q - lowest) * step;
}

TEST(DequantizeTest, RandomValuesMatchTheFormulas) {
  struct Type {
    DataType dtype;
    int bits;
    int64_t lowest;
  };
  uint64_t seed = 5;
  for (const Type& type : std::vector<Type>{{DT_QUINT8, 8, 0},
                                            {DT_QINT8, 8, -128},
                                            {DT_QUINT16, 16, 0},
                                            {DT_QINT16, 16, -32768},
                                            {DT_QINT32, 32, -2147483648LL}}) {
    for (const std::string mode : {"MIN_COMBINED", "MIN_FIRST", "SCALED"}) {
      SCOPED_TRACE(absl::StrCat(DataTypeString(type.dtype), " ", mode));
      const Tensor u = RandomTensor({3, 5}, seed++, 0.0f, 1.0f);
      std::vector<int64_t> q;
      const double span = std::ldexp(1.0, type.bits) - 1;
      for (float v : u.flat<float>()) q.push_back(type.lowest + std::llround(v * span));
      q[0] = type.lowest;
      q[1] = static_cast<int64_t>(type.lowest + span);
      Tensor t;
      switch (type.dtype) {
        case DT_QUINT8: t = Quantized<uint8_t>(type.dtype, {3, 5}, q); break;
        case DT_QINT8: t = Quantized<int8_t>(type.dtype, {3, 5}, q); break;
        case DT_QUINT16: t = Quantized<uint16_t>(type.dtype, {3, 5}, q); break;
        case DT_QINT16: t = Quantized<int16_t>(type.dtype, {3, 5}, q); break;
        default: t = Quantized<int32_t>(type.dtype, {3, 5}, q); break;
      }
      const float min = -2.5f, max = 3.75f;
      absl::StatusOr<Tensor> y = Deq(t, F(min), F(max), ops::DequantizeAttrs().Mode(mode));
      ASSERT_TRUE(y.ok()) << y.status();
      std::vector<double> expected;
      for (int64_t v : q) expected.push_back(RefValue(mode, v, type.bits, type.lowest, min, max, false));
      ExpectNear(ValuesOf<float>(*y), expected, 1e-5, mode);
    }
  }
}

TEST(DequantizeTest, BadAttrsAndInputsAreErrors) {
  const Tensor q = Quantized<uint8_t>(DT_QUINT8, {2, 2}, {1, 2, 3, 4});
  {
    Scope root = Scope::NewRootScope();
    ops::Dequantize(root, ops::Const(root, q), ops::Const(root, 0.0f), ops::Const(root, 1.0f),
                    ops::DequantizeAttrs().Mode("ROUND"));
    EXPECT_TRUE(absl::StrContains(ErrorOf(root), "Mode string must be")) << ErrorOf(root);
  }
  {
    Scope root = Scope::NewRootScope();
    ops::Dequantize(root, ops::Const(root, q), ops::Const(root, 0.0f), ops::Const(root, 1.0f),
                    ops::DequantizeAttrs().Axis(2));
    EXPECT_TRUE(absl::StrContains(ErrorOf(root), "Axis must be less than")) << ErrorOf(root);
  }
  {
    Scope root = Scope::NewRootScope();
    ops::Dequantize(root, ops::Const(root, FloatTensor({2}, {1, 2})), ops::Const(root, 0.0f),
                    ops::Const(root, 1.0f));
    EXPECT_FALSE(root.ok());  // float is not a quantized type.
  }
  // Per-axis ranges of the wrong length, found at run time.
  Scope root = Scope::NewRootScope();
  auto lo = ops::Placeholder(root, DT_FLOAT);
  Output y = ops::Dequantize(root, ops::Const(root, q), lo, ops::Const(root, FloatTensor({2}, {1, 1})),
                             ops::DequantizeAttrs().Axis(1).Mode("SCALED"));
  absl::StatusOr<Tensor> r = RunOne(root, y, {{lo, FloatTensor({3}, {0, 0, 0})}}, Unoptimized());
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::StrContains(r.status().message(), "as many elements")) << r.status();
  r = Deq(q, FloatTensor({2}, {0, 0}), FloatTensor({2}, {1, 1}),
          ops::DequantizeAttrs().Axis(1).Mode("MIN_FIRST"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::StrContains(r.status().message(), "MIN_FIRST mode is not implemented"))
      << r.status();
}

}  // namespace
}  // namespace test
}  // namespace dflow
