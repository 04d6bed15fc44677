// Tests of RandomUniform and TruncatedNormal: ranges and statistics against the distributions'
// known moments, seeded determinism across sessions, stream continuation within a session and
// across a checkpoint (old checkpoints too), distinct run indices under concurrency, shapes and
// errors.
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ops/array_ops.h"
#include "ops/gradients.h"
#include "ops/math_ops.h"
#include "ops/op_registry.h"
#include "ops/random_ops.h"
#include "ops/state_ops.h"
#include "graph/graph_def_io.h"
#include "kernels/random_state.h"
#include "proto/checkpoint.pb.h"
#include "runtime/checkpoint.h"
#include "runtime/session.h"
#include "tests/test_util.h"

namespace dflow {
namespace {

using ::testing::HasSubstr;

template <typename T>
std::vector<double> Values(const Tensor& t) {
  std::vector<double> v;
  for (T x : t.flat<T>()) v.push_back(static_cast<double>(x));
  return v;
}

double Mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / v.size();
}

double Variance(const std::vector<double>& v) {
  const double m = Mean(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return s / v.size();
}

std::unique_ptr<Session> NewSession(const Scope& scope) {
  absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(scope);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? std::move(*s) : nullptr;
}

Tensor RunFetch(Session* session, const Output& fetch,
                const std::vector<std::pair<Output, Tensor>>& feeds = {}) {
  std::vector<Tensor> out;
  absl::Status s = session->Run(feeds, {fetch}, {}, &out);
  EXPECT_TRUE(s.ok()) << s;
  return s.ok() ? out[0] : Tensor();
}

bool SameValues(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
  return std::memcmp(a.data(), b.data(), a.TotalBytes()) == 0;
}

// ---------------------------------------------------------------------------------------------
// An independent implementation of the documented generator (kernels/random_kernels.cc):
// Philox4x32-10 keyed by SplitMix64(seed ^ SplitMix64(seed2 + golden)), counter = (word block,
// run index), checked against Random123's known-answer vectors.

using Words = std::array<uint32_t, 4>;

Words RefPhilox(Words ctr, std::array<uint32_t, 2> key) {
  for (int r = 0; r < 10; ++r) {
    if (r > 0) {
      key[0] += 0x9E3779B9u;
      key[1] += 0xBB67AE85u;
    }
    const uint64_t a = uint64_t{0xD2511F53u} * ctr[0];
    const uint64_t b = uint64_t{0xCD9E8D57u} * ctr[2];
    ctr = {static_cast<uint32_t>(b >> 32) ^ ctr[1] ^ key[0], static_cast<uint32_t>(b),
           static_cast<uint32_t>(a >> 32) ^ ctr[3] ^ key[1], static_cast<uint32_t>(a)};
  }
  return ctr;
}

uint64_t RefSplitMix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Word i of run `run` of a stream with key `key`.
uint32_t RefKeyWord(uint64_t key, uint64_t run, uint64_t i) {
  const uint64_t block = i / 4;
  const Words out = RefPhilox(
      {static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32),
       static_cast<uint32_t>(run), static_cast<uint32_t>(run >> 32)},
      {static_cast<uint32_t>(key), static_cast<uint32_t>(key >> 32)});
  return out[i % 4];
}

// The key of a node seeded (seed, seed2).
uint64_t RefKey(int64_t seed, int64_t seed2) {
  return RefSplitMix64(static_cast<uint64_t>(seed) ^
                       RefSplitMix64(static_cast<uint64_t>(seed2) + 0x9E3779B97F4A7C15ull));
}

// Word i of run `run` of a node seeded (seed, seed2).
uint32_t RefWord(int64_t seed, int64_t seed2, uint64_t run, uint64_t i) {
  return RefKeyWord(RefKey(seed, seed2), run, i);
}

// The float RandomUniform draws as element i of run `run` of a stream with key `key`.
float RefUniform(uint64_t key, uint64_t run, uint64_t i) {
  return static_cast<float>(RefKeyWord(key, run, i) >> 8) / 16777216.0f;
}

TEST(GeneratorTest, ReferencePhiloxMatchesKnownAnswers) {
  EXPECT_EQ(RefPhilox({0, 0, 0, 0}, {0, 0}),
            (Words{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}));
  EXPECT_EQ(RefPhilox({~0u, ~0u, ~0u, ~0u}, {~0u, ~0u}),
            (Words{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}));
  EXPECT_EQ(RefPhilox({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u},
                      {0xa4093822u, 0x299f31d0u}),
            (Words{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}));
}

TEST(GeneratorTest, UniformIsTheDocumentedStream) {
  Scope root = Scope::NewRootScope();
  const int64_t seed = 123456789012345, seed2 = -7;
  auto u = ops::RandomUniform(root, ops::Const(root, {3, 5}), DT_FLOAT,
                              ops::RandomUniform::Seed(seed).Seed2(seed2));
  std::unique_ptr<Session> session = NewSession(root);
  ASSERT_NE(session, nullptr);
  for (uint64_t run = 0; run < 2; ++run) {
    Tensor out = RunFetch(session.get(), u);
    ASSERT_EQ(out.NumElements(), 15);
    for (uint64_t i = 0; i < 15; ++i) {
      const float expected = static_cast<float>(RefWord(seed, seed2, run, i) >> 8) / 16777216.0f;
      EXPECT_EQ(out.flat<float>()[i], expected) << "run " << run << " element " << i;
    }
  }
}

TEST(GeneratorTest, TruncatedNormalIsTheDocumentedStream) {
  Scope root = Scope::NewRootScope();
  const int64_t seed = 5, seed2 = 0;
  auto t = ops::TruncatedNormal(root, ops::Const(root, {64}), DT_FLOAT,
                                ops::TruncatedNormal::Seed(seed));
  absl::StatusOr<Tensor> out = test::RunOne(root, t);
  ASSERT_TRUE(out.ok()) << out.status();
  // Box-Muller on consecutive word pairs; values beyond +-2 are skipped.
  std::vector<double> expected;
  for (uint64_t w = 0; expected.size() < 64; w += 2) {
    const double u1 = (RefWord(seed, seed2, 0, w) + 1.0) / 4294967296.0;
    const double u2 = RefWord(seed, seed2, 0, w + 1) / 4294967296.0;
    const double r = std::sqrt(-2.0 * std::log(u1));
    for (double z : {r * std::cos(2 * M_PI * u2), r * std::sin(2 * M_PI * u2)}) {
      if (std::fabs(z) <= 2.0 && expected.size() < 64) expected.push_back(z);
    }
  }
  for (int i = 0; i < 64; ++i) EXPECT_NEAR(out->flat<float>()[i], expected[i], 1e-6) << i;
}

// ---------------------------------------------------------------------------------------------
// RandomUniform

TEST(RandomUniformTest, RangeAndStatistics) {
  Scope root = Scope::NewRootScope();
  auto u = ops::RandomUniform(root, ops::Const(root, {200, 100}), DT_FLOAT,
                              ops::RandomUniform::Seed(1).Seed2(2));
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(u.shape(), PartialTensorShape({200, 100}));
  absl::StatusOr<Tensor> out = test::RunOne(root, u);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->dtype(), DT_FLOAT);
  ASSERT_EQ(out->shape(), TensorShape({200, 100}));
  std::vector<double> v = Values<float>(*out);
  for (double x : v) {
    ASSERT_GE(x, 0.0);
    ASSERT_LT(x, 1.0);
  }
  // n = 20000: the mean's standard error is sqrt(1/12/n) ~ 0.002.
  EXPECT_NEAR(Mean(v), 0.5, 0.01);
  EXPECT_NEAR(Variance(v), 1.0 / 12, 0.004);
  // Ten equal bins each expect 2000 (standard deviation ~42).
  std::vector<int> bins(10, 0);
  for (double x : v) ++bins[static_cast<int>(x * 10)];
  for (int b : bins) EXPECT_NEAR(b, 2000, 250);
  // Neighbours are uncorrelated.
  double cov = 0;
  for (size_t i = 0; i + 1 < v.size(); ++i) cov += (v[i] - 0.5) * (v[i + 1] - 0.5);
  EXPECT_NEAR(cov / (v.size() - 1) * 12, 0.0, 0.05);
}

TEST(RandomUniformTest, Double) {
  Scope root = Scope::NewRootScope();
  auto u = ops::RandomUniform(root, ops::Const(root, {10000}), DT_DOUBLE,
                              ops::RandomUniform::Seed(5));
  absl::StatusOr<Tensor> out = test::RunOne(root, u);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->dtype(), DT_DOUBLE);
  std::vector<double> v = Values<double>(*out);
  for (double x : v) {
    ASSERT_GE(x, 0.0);
    ASSERT_LT(x, 1.0);
  }
  EXPECT_NEAR(Mean(v), 0.5, 0.015);
  EXPECT_NEAR(Variance(v), 1.0 / 12, 0.005);
}

// The same graph built twice, each in its own scope and session.
TEST(RandomUniformTest, SeededStreamsRepeatAcrossSessions) {
  std::vector<std::vector<Tensor>> runs(2);
  for (int k = 0; k < 2; ++k) {
    Scope root = Scope::NewRootScope();
    auto u = ops::RandomUniform(root, ops::Const(root, {3, 7}), DT_FLOAT,
                                ops::RandomUniform::Seed(42).Seed2(7));
    std::unique_ptr<Session> session = NewSession(root);
    ASSERT_NE(session, nullptr);
    for (int r = 0; r < 3; ++r) runs[k].push_back(RunFetch(session.get(), u));
  }
  for (int r = 0; r < 3; ++r) EXPECT_TRUE(SameValues(runs[0][r], runs[1][r])) << "run " << r;
  // Each run of the node continues the stream.
  EXPECT_FALSE(SameValues(runs[0][0], runs[0][1]));
  EXPECT_FALSE(SameValues(runs[0][1], runs[0][2]));
}

TEST(RandomUniformTest, DifferentSeedsGiveDifferentNumbers) {
  Scope root = Scope::NewRootScope();
  auto shape = ops::Const(root, {64});
  auto a = ops::RandomUniform(root, shape, DT_FLOAT, ops::RandomUniform::Seed(1).Seed2(2));
  auto b = ops::RandomUniform(root, shape, DT_FLOAT, ops::RandomUniform::Seed(2).Seed2(1));
  auto c = ops::RandomUniform(root, shape, DT_FLOAT, ops::RandomUniform::Seed(1).Seed2(3));
  auto d = ops::RandomUniform(root, shape, DT_FLOAT, ops::RandomUniform::Seed(1).Seed2(2));
  absl::StatusOr<std::vector<Tensor>> out = test::RunGraph(root, {}, {a, b, c, d});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_FALSE(SameValues((*out)[0], (*out)[1]));
  EXPECT_FALSE(SameValues((*out)[0], (*out)[2]));
  // Two nodes with the same seeds draw the same numbers (as in TensorFlow).
  EXPECT_TRUE(SameValues((*out)[0], (*out)[3]));
}

// Unseeded (seed = seed2 = 0) nodes draw a random seed: two sessions differ.
TEST(RandomUniformTest, UnseededDiffersAcrossSessions) {
  Scope root = Scope::NewRootScope();
  auto u = ops::RandomUniform(root, ops::Const(root, {64}), DT_FLOAT);
  absl::StatusOr<Tensor> first = test::RunOne(root, u);
  absl::StatusOr<Tensor> second = test::RunOne(root, u);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_FALSE(SameValues(*first, *second));
}

// With SessionOptions::random_seed, an unseeded node's key is SplitMix64(seed ^ SplitMix64(FNV-1a
// 64 of its name)), the same in every session; a seeded node keeps its own stream.
TEST(RandomUniformTest, SessionSeedFixesUnseededNodesOnly) {
  Scope root = Scope::NewRootScope();
  auto u = ops::RandomUniform(root.WithOpName("layer/u"), ops::Const(root, {6}), DT_FLOAT);
  auto seeded = ops::RandomUniform(root, ops::Const(root, {6}), DT_FLOAT,
                                   ops::RandomUniform::Seed(3).Seed2(4));
  uint64_t fnv = 0xcbf29ce484222325ull;  // FNV-1a 64 of "layer/u", by the book.
  for (unsigned char c : std::string("layer/u")) fnv = (fnv ^ c) * 0x100000001b3ull;
  const uint64_t seed = 99, key = RefSplitMix64(seed ^ RefSplitMix64(fnv));
  SessionOptions options;
  options.random_seed = seed;
  for (int session = 0; session < 2; ++session) {
    std::unique_ptr<Session> s = test::NewSession(root, options);
    ASSERT_NE(s, nullptr);
    for (uint64_t run = 0; run < 2; ++run) {
      std::vector<Tensor> out;
      ASSERT_TRUE(s->Run({}, {u, seeded}, {}, &out).ok());
      for (uint64_t i = 0; i < 6; ++i) {
        EXPECT_EQ(out[0].flat<float>()[i], RefUniform(key, run, i)) << "run " << run << " " << i;
        EXPECT_EQ(out[1].flat<float>()[i], RefUniform(RefKey(3, 4), run, i)) << "seeded " << i;
      }
    }
  }
}

// Runs with different fetch lists use different execution plans, but the node's stream is the
// Session's: it continues rather than restarting.
TEST(RandomUniformTest, StreamContinuesAcrossExecutionPlans) {
  Scope root = Scope::NewRootScope();
  auto u = ops::RandomUniform(root, ops::Const(root, {16}), DT_FLOAT,
                              ops::RandomUniform::Seed(3).Seed2(4));
  auto doubled = ops::Mul(root, u, 2.0f);
  std::unique_ptr<Session> session = NewSession(root);
  ASSERT_NE(session, nullptr);
  Tensor first = RunFetch(session.get(), u);
  Tensor second = RunFetch(session.get(), doubled);
  ASSERT_TRUE(first.IsInitialized() && second.IsInitialized());
  int equal = 0;
  for (int i = 0; i < 16; ++i) {
    if (second.flat<float>()[i] == 2 * first.flat<float>()[i]) ++equal;
  }
  EXPECT_EQ(equal, 0);

  // A fresh session replays the same two runs.
  std::unique_ptr<Session> again = NewSession(root);
  ASSERT_NE(again, nullptr);
  EXPECT_TRUE(SameValues(RunFetch(again.get(), u), first));
  EXPECT_TRUE(SameValues(RunFetch(again.get(), doubled), second));
}

TEST(RandomUniformTest, ShapeFedAtRunTime) {
  Scope root = Scope::NewRootScope();
  auto shape = ops::Placeholder(root, DT_INT64, ops::Placeholder::Shape({2}));
  auto u = ops::RandomUniform(root, shape, DT_FLOAT, ops::RandomUniform::Seed(9));
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(u.shape(), PartialTensorShape({-1, -1}));
  std::unique_ptr<Session> session = NewSession(root);
  ASSERT_NE(session, nullptr);
  Tensor out = RunFetch(session.get(), u,
                        {{shape, *Tensor::FromVector<int64_t>({4, 5}, TensorShape({2}))}});
  EXPECT_EQ(out.shape(), TensorShape({4, 5}));
  out = RunFetch(session.get(), u,
                 {{shape, *Tensor::FromVector<int64_t>({0, 5}, TensorShape({2}))}});
  EXPECT_EQ(out.shape(), TensorShape({0, 5}));
}

TEST(RandomUniformTest, ScalarFromEmptyShape) {
  Scope root = Scope::NewRootScope();
  auto u = ops::RandomUniform(root, ops::Const(root, Tensor(DT_INT32, TensorShape({0}))),
                              DT_FLOAT, ops::RandomUniform::Seed(1));
  absl::StatusOr<Tensor> out = test::RunOne(root, u);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->shape(), TensorShape({}));
}

TEST(RandomUniformTest, Errors) {
  {  // Negative dimension, known at graph time.
    Scope root = Scope::NewRootScope();
    ops::RandomUniform(root, ops::Const(root, {2, -1}), DT_FLOAT);
    EXPECT_FALSE(root.ok());
    EXPECT_THAT(std::string(root.status().message()), HasSubstr("negative"));
  }
  {  // Negative dimension fed at run time.
    Scope root = Scope::NewRootScope();
    auto shape = ops::Placeholder(root, DT_INT32);
    auto u = ops::RandomUniform(root, shape, DT_FLOAT);
    absl::StatusOr<Tensor> out =
        test::RunOne(root, u, {{shape, *Tensor::FromVector<int32_t>({3, -2}, TensorShape({2}))}});
    ASSERT_FALSE(out.ok());
    EXPECT_THAT(std::string(out.status().message()), HasSubstr("negative"));
    // Not 1-D.
    out = test::RunOne(root, u, {{shape, Tensor::Scalar<int32_t>(3)}});
    ASSERT_FALSE(out.ok());
    EXPECT_THAT(std::string(out.status().message()), HasSubstr("1-D"));
    // Too many elements to allocate.
    out = test::RunOne(root, u, {{shape, *Tensor::FromVector<int32_t>(
                                             {1 << 30, 1 << 30, 1 << 30}, TensorShape({3}))}});
    EXPECT_FALSE(out.ok());
  }
  {  // A 2-D shape tensor.
    Scope root = Scope::NewRootScope();
    ops::RandomUniform(root, ops::Const(root, Tensor::Filled<int32_t>(TensorShape({1, 2}), 2)),
                       DT_FLOAT);
    EXPECT_FALSE(root.ok());
  }
  {  // Integer dtypes are not supported.
    Scope root = Scope::NewRootScope();
    ops::RandomUniform(root, ops::Const(root, {2}), DT_INT32);
    EXPECT_FALSE(root.ok());
  }
  {  // Float shape.
    Scope root = Scope::NewRootScope();
    ops::RandomUniform(root, ops::Const(root, {2.0f}), DT_FLOAT);
    EXPECT_FALSE(root.ok());
  }
}

// ---------------------------------------------------------------------------------------------
// TruncatedNormal

TEST(TruncatedNormalTest, RangeAndStatistics) {
  Scope root = Scope::NewRootScope();
  auto t = ops::TruncatedNormal(root, ops::Const(root, {100, 200}), DT_FLOAT,
                                ops::TruncatedNormal::Seed(1).Seed2(2));
  absl::StatusOr<Tensor> out = test::RunOne(root, t);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->shape(), TensorShape({100, 200}));
  std::vector<double> v = Values<float>(*out);
  for (double x : v) ASSERT_LE(std::fabs(x), 2.0);
  // N(0, 1) truncated to [-2, 2]: mean 0, variance 1 - 4 phi(2) / (Phi(2) - Phi(-2)) = 0.773741,
  // P(|x| > 1) = 2 (Phi(2) - Phi(1)) / (Phi(2) - Phi(-2)) = 0.284766.
  EXPECT_NEAR(Mean(v), 0.0, 0.02);
  EXPECT_NEAR(Variance(v), 0.773741, 0.02);
  int beyond_one = 0;
  for (double x : v) beyond_one += std::fabs(x) > 1.0;
  EXPECT_NEAR(static_cast<double>(beyond_one) / v.size(), 0.284766, 0.012);
  // Symmetric.
  int positive = 0;
  for (double x : v) positive += x > 0;
  EXPECT_NEAR(static_cast<double>(positive) / v.size(), 0.5, 0.012);
}

TEST(TruncatedNormalTest, Double) {
  Scope root = Scope::NewRootScope();
  auto t = ops::TruncatedNormal(root, ops::Const(root, {20000}), DT_DOUBLE,
                                ops::TruncatedNormal::Seed(77));
  absl::StatusOr<Tensor> out = test::RunOne(root, t);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->dtype(), DT_DOUBLE);
  std::vector<double> v = Values<double>(*out);
  for (double x : v) ASSERT_LE(std::fabs(x), 2.0);
  EXPECT_NEAR(Mean(v), 0.0, 0.02);
  EXPECT_NEAR(Variance(v), 0.773741, 0.02);
}

TEST(TruncatedNormalTest, SeededStreamsRepeatAcrossSessions) {
  std::vector<std::vector<Tensor>> runs(2);
  for (int k = 0; k < 2; ++k) {
    Scope root = Scope::NewRootScope();
    auto t = ops::TruncatedNormal(root, ops::Const(root, {5, 3}), DT_FLOAT,
                                  ops::TruncatedNormal::Seed(11).Seed2(12));
    std::unique_ptr<Session> session = NewSession(root);
    ASSERT_NE(session, nullptr);
    for (int r = 0; r < 3; ++r) runs[k].push_back(RunFetch(session.get(), t));
  }
  for (int r = 0; r < 3; ++r) EXPECT_TRUE(SameValues(runs[0][r], runs[1][r])) << "run " << r;
  EXPECT_FALSE(SameValues(runs[0][0], runs[0][1]));
}

TEST(TruncatedNormalTest, BatchOneAndEmpty) {
  Scope root = Scope::NewRootScope();
  auto one = ops::TruncatedNormal(root, ops::Const(root, {1, 1}), DT_FLOAT,
                                  ops::TruncatedNormal::Seed(1));
  auto empty = ops::TruncatedNormal(root, ops::Const(root, {0, 3}), DT_FLOAT,
                                    ops::TruncatedNormal::Seed(1));
  absl::StatusOr<std::vector<Tensor>> out = test::RunGraph(root, {}, {one, empty});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].shape(), TensorShape({1, 1}));
  EXPECT_LE(std::fabs((*out)[0].flat<float>()[0]), 2.0f);
  EXPECT_EQ((*out)[1].shape(), TensorShape({0, 3}));
}

// ---------------------------------------------------------------------------------------------
// Schemas

TEST(RandomOpsTest, SchemasMatchTensorFlow) {
  for (const char* name : {"RandomUniform", "TruncatedNormal"}) {
    SCOPED_TRACE(name);
    const OpDef* op = OpRegistry::Global()->Find(name);
    ASSERT_NE(op, nullptr);
    EXPECT_TRUE(op->is_stateful);
    EXPECT_FALSE(op->differentiable);
    ASSERT_EQ(op->inputs.size(), 1u);
    EXPECT_EQ(op->inputs[0].name, "shape");
    ASSERT_EQ(op->outputs.size(), 1u);
    EXPECT_EQ(op->outputs[0].name, "output");
    for (const char* attr : {"seed", "seed2"}) {
      const AttrDef* def = op->FindAttr(attr);
      ASSERT_NE(def, nullptr) << attr;
      ASSERT_TRUE(def->default_value.has_value());
      EXPECT_EQ(def->default_value->i(), 0);
    }
    EXPECT_NE(op->FindAttr("dtype"), nullptr);
    EXPECT_NE(op->FindAttr("T"), nullptr);
  }
}

// A GraphDef as TensorFlow writes it (attrs in full) builds and runs.
TEST(RandomOpsTest, ImportsTensorFlowGraphDef) {
  GraphDef def;
  NodeDef* shape = def.add_node();
  shape->set_name("shape");
  shape->set_op("Const");
  (*shape->mutable_attr())["dtype"].set_type(DT_INT32);
  Tensor shape_value = *Tensor::FromVector<int32_t>({2, 3}, TensorShape({2}));
  shape_value.ToProto((*shape->mutable_attr())["value"].mutable_tensor());
  NodeDef* rnd = def.add_node();
  rnd->set_name("truncated_normal/TruncatedNormal");
  rnd->set_op("TruncatedNormal");
  rnd->add_input("shape");
  (*rnd->mutable_attr())["T"].set_type(DT_INT32);
  (*rnd->mutable_attr())["dtype"].set_type(DT_FLOAT);
  (*rnd->mutable_attr())["seed"].set_i(87654321);
  (*rnd->mutable_attr())["seed2"].set_i(5);
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(def);
  ASSERT_TRUE(session.ok()) << session.status();
  std::vector<Tensor> out;
  absl::Status s = (*session)->Run({}, {"truncated_normal/TruncatedNormal"}, {}, &out);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(out[0].shape(), TensorShape({2, 3}));
}

TEST(RandomOpsTest, NoGradientFlows) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto u = ops::RandomUniform(root, ops::Const(root, {3}), DT_FLOAT, ops::RandomUniform::Seed(1));
  auto y = ops::Mul(root, x, u);
  std::vector<Output> grads;
  absl::Status s = AddSymbolicGradients(root, {y}, {x}, &grads);
  ASSERT_TRUE(s.ok()) << s;
  auto inputs = *Tensor::FromVector<float>({1, 2, 3}, TensorShape({3}));
  absl::StatusOr<std::vector<Tensor>> out = test::RunGraph(root, {{x, inputs}}, {grads[0], u});
  ASSERT_TRUE(out.ok()) << out.status();
  // dy/dx = u, and the fetch of u in the same run sees the same values.
  for (int i = 0; i < 3; ++i) EXPECT_EQ((*out)[0].flat<float>()[i], (*out)[1].flat<float>()[i]);
}

// ---------------------------------------------------------------------------------------------
// Random state: a session's streams as state that checkpoints carry.

// Each element of `t` (float) is the reference stream's element for `key` at run `run`.
void ExpectStream(const Tensor& t, uint64_t key, uint64_t run) {
  for (int64_t i = 0; i < t.NumElements(); ++i) {
    ASSERT_EQ(t.flat<float>()[i], RefUniform(key, run, i)) << "run " << run << " element " << i;
  }
}

// A checkpoint as older versions wrote it: the stream as a variable entry
// "_rng_state/<node name>" holding int64 [2] {key, runs}, beside ordinary variables. Its key
// and run index carry over; an int64 [0] entry (what a fresh alias variable held) restarts.
TEST(RandomStateTest, AnOldCheckpointWithRngStateVariablesRestores) {
  const std::string dir = test::TempDir("random_state_old");
  Scope root = Scope::NewRootScope();
  auto u = ops::RandomUniform(root.WithOpName("noise"), ops::Const(root, {6}), DT_FLOAT,
                              ops::RandomUniform::Seed(1).Seed2(2));
  auto w = ops::Variable(root.WithOpName("w"), {1}, DT_FLOAT);
  ops::Assign(root.WithOpName("w/Assign"), w, ops::Const(root, {0.5f}));
  const uint64_t key = 0x0123456789ABCDEFull;  // Not the seeds' key: the file's wins.
  auto write = [&](const std::string& path, const Tensor& state) {
    Checkpoint checkpoint;
    Checkpoint::Variable* var = checkpoint.add_variable();
    var->set_name("w");
    test::FloatTensor({1}, {2.5f}).ToProto(var->mutable_value());
    Checkpoint::Variable* rng = checkpoint.add_variable();
    rng->set_name("_rng_state/noise");
    state.ToProto(rng->mutable_value());
    absl::Status s = WriteProtoFile(path, checkpoint, ProtoFormat::kBinary);
    EXPECT_TRUE(s.ok()) << s;
  };
  write(dir + "/old.ckpt",
        *Tensor::FromVector<int64_t>({static_cast<int64_t>(key), 7}, TensorShape({2})));
  write(dir + "/fresh.ckpt", Tensor(DT_INT64, TensorShape({0})));

  std::unique_ptr<Session> session = NewSession(root);
  ASSERT_NE(session, nullptr);
  absl::Status s = RestoreCheckpoint(*session, dir + "/old.ckpt");
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(RunFetch(session.get(), w).flat<float>()[0], 2.5f);
  ExpectStream(RunFetch(session.get(), u), key, 7);
  ExpectStream(RunFetch(session.get(), u), key, 8);

  s = RestoreCheckpoint(*session, dir + "/fresh.ckpt");
  ASSERT_TRUE(s.ok()) << s;
  ExpectStream(RunFetch(session.get(), u), RefKey(1, 2), 0);
}

// Runs of one node from several threads each get their own run index: together they draw
// runs 0..K-1, each exactly once.
TEST(RandomStateTest, ConcurrentRunsGetDistinctRunIndices) {
  RandomState state;
  constexpr int kThreads = 4, kRuns = 500;
  std::vector<std::vector<RandomState::Position>> seen(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&state, &seen, t] {
      for (int r = 0; r < kRuns; ++r) seen[t].push_back(state.Next(99));
    });
  }
  for (std::thread& t : threads) t.join();
  std::set<uint64_t> runs;
  for (const auto& v : seen) {
    for (const RandomState::Position& p : v) {
      EXPECT_EQ(p.key, 99u);
      runs.insert(p.run);
    }
  }
  EXPECT_EQ(runs.size(), static_cast<size_t>(kThreads * kRuns));
  EXPECT_EQ(*runs.begin(), 0u);
  EXPECT_EQ(*runs.rbegin(), static_cast<uint64_t>(kThreads * kRuns - 1));

  // The same through a Session, two threads running one plan.
  Scope root = Scope::NewRootScope();
  auto u = ops::RandomUniform(root, ops::Const(root, {4}), DT_FLOAT,
                              ops::RandomUniform::Seed(4).Seed2(4));
  std::unique_ptr<Session> session = NewSession(root);
  ASSERT_NE(session, nullptr);
  constexpr int kSessionRuns = 40;
  std::vector<std::vector<Tensor>> outputs(2);
  std::vector<std::thread> runners;
  for (int t = 0; t < 2; ++t) {
    runners.emplace_back([&, t] {
      for (int r = 0; r < kSessionRuns; ++r) outputs[t].push_back(RunFetch(session.get(), u));
    });
  }
  for (std::thread& t : runners) t.join();
  // Each run's first element identifies its run index.
  std::multiset<float> drawn, expected;
  for (const auto& v : outputs) {
    for (const Tensor& out : v) drawn.insert(out.flat<float>()[0]);
  }
  for (uint64_t run = 0; run < 2 * kSessionRuns; ++run) {
    expected.insert(RefUniform(RefKey(4, 4), run, 0));
  }
  EXPECT_EQ(drawn, expected);
}

}  // namespace
}  // namespace dflow
