// Kernels for RandomUniform and TruncatedNormal. oneDNN has no random-number primitives, so
// these are loops over a counter-based generator.
//
// The generator, fixed so that seeded streams are the same on every run and in every process:
//   * Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011): a
//     64-bit key and a 128-bit counter give four 32-bit words.
//   * key = SplitMix64(seed ^ SplitMix64(seed2 + 0x9E3779B97F4A7C15)) when seed or seed2 is
//     non-zero; otherwise, in a Session with SessionOptions::random_seed s, SplitMix64(s ^
//     SplitMix64(FNV-1a 64 of the node's name)); otherwise a random key drawn
//     (std::random_device) once per Session.
//   * counter = (block index within the run: 64 bits, run index: 64 bits). The run index counts
//     the runs of the node in its Session (0, 1, 2, ...). Key and run index are the node's
//     RandomState (kernels/random_state.h), kept beside the Session's variables, so every
//     execution plan of the Session continues the same stream, checkpoints carry it, and a
//     fresh Session starts again at run 0.
//   * Uniform float: the top 24 bits of a word times 2^-24, in [0, 1). Uniform double: 53 bits
//     from two words times 2^-53.
//   * Normal: Box-Muller on two words, u1 = (w0 + 1) * 2^-32 in (0, 1], u2 = w1 * 2^-32, giving
//     r*cos(2*pi*u2) then r*sin(2*pi*u2), r = sqrt(-2 ln u1), computed in double. Truncated
//     normal takes these in order and drops any with |x| > 2.
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "graph/attr_value_util.h"
#include "graph/status_macros.h"
#include "graph/tensor.h"
#include "kernels/op_kernel.h"
#include "kernels/random_state.h"

namespace dflow {
namespace {

uint64_t SplitMix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// One Philox4x32-10 block.
void Philox4x32(const uint32_t in[4], uint64_t key64, uint32_t out[4]) {
  constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  constexpr uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  uint32_t c0 = in[0], c1 = in[1], c2 = in[2], c3 = in[3];
  uint32_t k0 = static_cast<uint32_t>(key64), k1 = static_cast<uint32_t>(key64 >> 32);
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = static_cast<uint64_t>(kMul0) * c0;
    const uint64_t p1 = static_cast<uint64_t>(kMul1) * c2;
    const uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
    const uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
    k0 += kWeyl0;
    k1 += kWeyl1;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

// The words of one run's stream, in order.
class WordStream {
 public:
  WordStream(uint64_t key, uint64_t run) : key_(key), run_(run) {}

  uint32_t Next() {
    if (pos_ == 4) {
      const uint32_t counter[4] = {static_cast<uint32_t>(block_),
                                   static_cast<uint32_t>(block_ >> 32),
                                   static_cast<uint32_t>(run_), static_cast<uint32_t>(run_ >> 32)};
      Philox4x32(counter, key_, words_);
      ++block_;
      pos_ = 0;
    }
    return words_[pos_++];
  }

 private:
  uint64_t key_;
  uint64_t run_;
  uint64_t block_ = 0;
  uint32_t words_[4] = {0, 0, 0, 0};
  int pos_ = 4;
};

float UniformFloat(WordStream& s) { return static_cast<float>(s.Next() >> 8) * 0x1.0p-24f; }

double UniformDouble(WordStream& s) {
  const uint64_t hi = s.Next(), lo = s.Next();
  return static_cast<double>((hi << 21) | (lo >> 11)) * 0x1.0p-53;
}

// Two independent standard normals.
void NormalPair(WordStream& s, double* z0, double* z1) {
  constexpr double kTwoPi = 6.283185307179586476925286766559;
  const double u1 = (static_cast<double>(s.Next()) + 1.0) * 0x1.0p-32;  // (0, 1]
  const double u2 = static_cast<double>(s.Next()) * 0x1.0p-32;          // [0, 1)
  const double r = std::sqrt(-2.0 * std::log(u1));
  *z0 = r * std::cos(kTwoPi * u2);
  *z1 = r * std::sin(kTwoPi * u2);
}

template <typename T>
void FillUniform(WordStream& s, absl::Span<T> out);
template <>
void FillUniform<float>(WordStream& s, absl::Span<float> out) {
  for (float& v : out) v = UniformFloat(s);
}
template <>
void FillUniform<double>(WordStream& s, absl::Span<double> out) {
  for (double& v : out) v = UniformDouble(s);
}

template <typename T>
void FillTruncatedNormal(WordStream& s, absl::Span<T> out) {
  size_t i = 0;
  while (i < out.size()) {
    double z[2];
    NormalPair(s, &z[0], &z[1]);
    for (double v : z) {
      if (i < out.size() && std::fabs(v) <= 2.0) out[i++] = static_cast<T>(v);
    }
  }
}

enum class Distribution { kUniform, kTruncatedNormal };

template <Distribution kDist>
class RandomOp : public OpKernel {
 public:
  explicit RandomOp(const Node& node) : OpKernel(node) {
    int64_t seed = 0, seed2 = 0;
    absl::Status s = GetNodeAttr(node, "seed", &seed);
    if (s.ok()) s = GetNodeAttr(node, "seed2", &seed2);
    if (s.ok()) s = GetNodeAttr(node, "dtype", &dtype_);
    if (!s.ok()) {
      SetConstructionError(s);
      return;
    }
    if (dtype_ != DT_FLOAT && dtype_ != DT_DOUBLE) {
      SetConstructionError(absl::UnimplementedError(
          absl::StrCat("dtype ", DataTypeString(dtype_), " is not supported (float, double)")));
      return;
    }
    seeded_ = seed != 0 || seed2 != 0;
    key_ = seeded_
               ? SplitMix64(static_cast<uint64_t>(seed) ^
                            SplitMix64(static_cast<uint64_t>(seed2) + 0x9E3779B97F4A7C15ULL))
               : RandomKey();
  }

  absl::Status Compute(OpKernelContext* ctx) override {
    TensorShape shape;
    DFLOW_RETURN_IF_ERROR(OutputShape(ctx->input(0), &shape));
    const RandomState::Position position = NextRun(ctx);
    Tensor* out = ctx->allocate_output(0, shape);
    WordStream stream(position.key, position.run);
    if (dtype_ == DT_FLOAT) {
      Fill(stream, out->flat<float>());
    } else {
      Fill(stream, out->flat<double>());
    }
    return absl::OkStatus();
  }

 private:
  template <typename T>
  static void Fill(WordStream& stream, absl::Span<T> out) {
    if (kDist == Distribution::kUniform) {
      FillUniform<T>(stream, out);
    } else {
      FillTruncatedNormal<T>(stream, out);
    }
  }

  static absl::Status OutputShape(const Tensor& t, TensorShape* shape) {
    if (t.dtype() != DT_INT32 && t.dtype() != DT_INT64) {
      return OpKernelContext::InvalidArgument("shape must be int32 or int64 but is ",
                                              DataTypeString(t.dtype()));
    }
    if (t.dims() != 1) {
      return OpKernelContext::InvalidArgument("shape must be a 1-D tensor but has shape ",
                                              t.shape().DebugString());
    }
    constexpr int64_t kMaxElements = int64_t{1} << 40;
    int64_t count = 1;
    for (int64_t i = 0; i < t.NumElements(); ++i) {
      const int64_t d = t.dtype() == DT_INT32 ? t.flat<int32_t>()[i] : t.flat<int64_t>()[i];
      if (d < 0) return OpKernelContext::InvalidArgument("shape has a negative dimension ", d);
      if (d > 0 && count > kMaxElements / d) {
        return OpKernelContext::InvalidArgument("shape ", t.DebugString(),
                                                " has too many elements");
      }
      count *= d;
      shape->AddDim(d);
    }
    return absl::OkStatus();
  }

  // This run's key and index: from the Session's random state for this node (kept beside its
  // variables), else from the kernel's own.
  RandomState::Position NextRun(OpKernelContext* ctx) {
    RandomState* state = &local_state_;
    if (ctx->variables() != nullptr) {
      absl::MutexLock lock(&mu_);
      if (ctx->variables() != state_store_) {  // Looked up once per session, not per run.
        state_store_ = ctx->variables();
        session_state_ = state_store_->random_states()->LookupOrCreate(node().name());
        const std::optional<uint64_t> session_seed = state_store_->random_states()->session_seed();
        session_key_ = !seeded_ && session_seed.has_value()
                           ? SplitMix64(*session_seed ^ SplitMix64(NameHash(node().name())))
                           : key_;
      }
      return session_state_->Next(session_key_);
    }
    return state->Next(key_);
  }

  static uint64_t NameHash(absl::string_view name) {  // FNV-1a, 64 bits.
    uint64_t h = 0xCBF29CE484222325ULL;
    for (unsigned char c : name) h = (h ^ c) * 0x100000001B3ULL;
    return h;
  }

  static uint64_t RandomKey() {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }

  DataType dtype_ = DT_FLOAT;
  bool seeded_ = false;  // The node's seed or seed2 attr is non-zero.
  uint64_t key_ = 0;  // From the seeds, else drawn: the key of a stream this kernel starts.
  absl::Mutex mu_;
  VariableStore* state_store_ ABSL_GUARDED_BY(mu_) = nullptr;
  RandomState* session_state_ ABSL_GUARDED_BY(mu_) = nullptr;
  uint64_t session_key_ ABSL_GUARDED_BY(mu_) = 0;  // key_, or from the session's seed.
  RandomState local_state_;
};

using RandomUniformOp = RandomOp<Distribution::kUniform>;
using TruncatedNormalOp = RandomOp<Distribution::kTruncatedNormal>;

REGISTER_KERNEL("RandomUniform", RandomUniformOp, "dtype", {DT_FLOAT, DT_DOUBLE});
REGISTER_KERNEL("TruncatedNormal", TruncatedNormalOp, "dtype", {DT_FLOAT, DT_DOUBLE});

}  // namespace
}  // namespace dflow
