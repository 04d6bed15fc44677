#include "tests/test_util.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <numeric>
#include <random>
#include <sys/stat.h>

#include "graph/status_macros.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ops/array_ops.h"
#include "runtime/session.h"
#include "tests/gradient_checker.h"
#include "zlib.h"

namespace dflow {

void PrintTo(const PartialTensorShape& shape, std::ostream* os) { *os << shape.DebugString(); }

namespace test {

absl::StatusOr<std::vector<Tensor>> RunGraph(const Scope& scope,
                                             const std::vector<std::pair<Output, Tensor>>& feeds,
                                             const std::vector<Output>& fetches,
                                             const SessionOptions& options) {
  DFLOW_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::Create(scope, options));
  std::vector<Tensor> outputs;
  DFLOW_RETURN_IF_ERROR(session->Run(feeds, fetches, {}, &outputs));
  return outputs;
}

absl::StatusOr<Tensor> RunOne(const Scope& scope, const Output& fetch,
                              const std::vector<std::pair<Output, Tensor>>& feeds,
                              const SessionOptions& options) {
  DFLOW_ASSIGN_OR_RETURN(std::vector<Tensor> out, RunGraph(scope, feeds, {fetch}, options));
  return out[0];
}

SessionOptions Unoptimized() {
  SessionOptions options;
  options.optimize_graph = false;
  return options;
}

Tensor RandomTensor(const TensorShape& shape, uint64_t seed, float lo, float hi) {
  std::mt19937_64 gen(seed);
  Tensor t(DT_FLOAT, shape);
  for (float& v : t.flat<float>()) {
    // 24 random bits -> [0,1): independent of the standard library's distributions.
    const float u = static_cast<float>(gen() >> 40) / static_cast<float>(1 << 24);
    v = lo + (hi - lo) * u;
  }
  return t;
}

Tensor FloatTensor(const TensorShape& shape, std::vector<float> values) {
  absl::StatusOr<Tensor> t = Tensor::FromVector<float>(values, shape);
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *t : Tensor();
}

template <>
Tensor Make<bool>(const TensorShape& shape, std::vector<bool> values) {
  Tensor t(DT_BOOL, shape);
  EXPECT_EQ(t.NumElements(), static_cast<int64_t>(values.size()));
  for (size_t i = 0; i < values.size() && i < static_cast<size_t>(t.NumElements()); ++i) {
    t.flat<bool>()[i] = values[i];
  }
  return t;
}

Tensor Int32Tensor(const TensorShape& shape, std::vector<int32_t> values) {
  absl::StatusOr<Tensor> t = Tensor::FromVector<int32_t>(values, shape);
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *t : Tensor();
}

Tensor Iota(const TensorShape& shape) {
  std::vector<float> v(shape.num_elements());
  std::iota(v.begin(), v.end(), 0.0f);
  return FloatTensor(shape, v);
}

Tensor RandomLabels(int64_t n, int64_t c, uint64_t seed) {
  Tensor t = RandomTensor(TensorShape({n, c}), seed, 0.0f, 1.0f);
  auto v = t.flat<float>();
  for (int64_t r = 0; r < n; ++r) {
    double sum = 0;
    for (int64_t j = 0; j < c; ++j) sum += v[r * c + j];
    for (int64_t j = 0; j < c; ++j) v[r * c + j] = static_cast<float>(v[r * c + j] / sum);
  }
  return t;
}

std::vector<int64_t> Ints(const Tensor& t) {
  std::vector<int64_t> v;
  if (t.dtype() == DT_INT32) {
    for (int32_t x : t.flat<int32_t>()) v.push_back(x);
  } else {
    for (int64_t x : t.flat<int64_t>()) v.push_back(x);
  }
  return v;
}

std::string ErrorOf(const absl::Status& s) {
  EXPECT_FALSE(s.ok());
  return std::string(s.message());
}

std::string ErrorOf(const Scope& scope) { return std::string(scope.status().message()); }

Tensor Sizes(const TensorShape& s) {
  std::vector<int32_t> v(s.dim_sizes().begin(), s.dim_sizes().end());
  return *Tensor::FromVector<int32_t>(v, TensorShape({4}));
}

std::unique_ptr<Session> NewSession(const Scope& root, const SessionOptions& options) {
  absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(root, options);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *std::move(s) : nullptr;
}

void ExpectNear(const std::vector<float>& actual, const std::vector<double>& expected,
                double tol, const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  for (size_t i = 0; i < actual.size(); ++i) {
    EXPECT_NEAR(actual[i], expected[i], tol * std::max(1.0, std::fabs(expected[i])))
        << what << "[" << i << "]";
  }
}

Output FloatPlaceholder(const Scope& root, const PartialTensorShape& shape, bool known) {
  return ops::Placeholder(root, DT_FLOAT,
                          known ? ops::Placeholder::Shape(shape) : ops::Placeholder::Attrs());
}

void ExpectClose(const Tensor& actual, const std::vector<double>& expected, const std::string& what,
                 double abs_tol, double rel_tol) {
  ASSERT_EQ(actual.NumElements(), static_cast<int64_t>(expected.size())) << what;
  for (size_t i = 0; i < expected.size(); ++i) {
    const double a = actual.flat<float>()[i], e = expected[i];
    if (std::isnan(e)) {
      EXPECT_TRUE(std::isnan(a)) << what << " [" << i << "]: " << a << " vs NaN";
    } else if (std::isinf(e)) {
      EXPECT_EQ(a, e) << what << " [" << i << "]";
    } else {
      EXPECT_LE(std::abs(a - e), abs_tol + rel_tol * std::abs(e))
          << what << " [" << i << "]: " << a << " vs " << e;
    }
  }
}

void ExpectUnaryOpClose(const std::function<Output(const Scope&, Input)>& build,
                        const std::vector<Tensor>& inputs, const std::function<double(double)>& ref,
                        const std::string& name) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  Output y = build(root, x);
  std::unique_ptr<Session> session = NewSession(root);
  ASSERT_NE(session, nullptr);
  for (const Tensor& xv : inputs) {
    std::vector<Tensor> out;
    ASSERT_TRUE(session->Run({{x, xv}}, {y}, {}, &out).ok()) << name;
    EXPECT_EQ(out[0].shape(), xv.shape());
    std::vector<double> expected;
    for (float v : xv.flat<float>()) expected.push_back(ref(v));
    ExpectClose(out[0], expected, name + " " + xv.shape().DebugString());
  }
}

void ExpectGradientOk(const Scope& root, const std::vector<std::pair<Output, Tensor>>& xs,
                      const Output& y, const std::string& what, double tolerance) {
  ASSERT_TRUE(root.ok()) << what << ": " << root.status();
  absl::StatusOr<double> err = MaxGradientError(root, xs, y);
  ASSERT_TRUE(err.ok()) << what << ": " << err.status();
  EXPECT_LT(*err, tolerance) << what;
}

void ExpectBinaryOpNear(const BinaryOpBuilder& build, const Tensor& a, const Tensor& b,
                        const TensorShape& shape, absl::Span<const float> expected, float tol,
                        const std::optional<PartialTensorShape>& static_shape) {
  Scope root = Scope::NewRootScope();
  auto pa = ops::Placeholder(root, DT_FLOAT);
  auto pb = ops::Placeholder(root, DT_FLOAT);
  const Output y = build(root, pa, pb);
  if (static_shape.has_value()) {
    ASSERT_TRUE(root.ok()) << root.status();
    EXPECT_EQ(y.shape(), *static_shape);
  }
  absl::StatusOr<Tensor> out = RunOne(root, y, {{pa, a}, {pb, b}});
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectTensorNear(*out, shape, expected, tol);
}

void ExpectBinaryOpGradientBelow(const BinaryOpBuilder& build, const Tensor& a, const Tensor& b,
                                 double step, double tolerance) {
  Scope root = Scope::NewRootScope();
  auto pa = ops::Placeholder(root, DT_FLOAT);
  auto pb = ops::Placeholder(root, DT_FLOAT);
  const Output y = build(root, pa, pb);
  absl::StatusOr<double> err = MaxGradientError(root, {{pa, a}, {pb, b}}, y, {}, step);
  ASSERT_TRUE(err.ok()) << err.status();
  EXPECT_LT(*err, tolerance);
}

void ExpectTensorNear(const Tensor& actual, const TensorShape& expected_shape,
                      absl::Span<const float> expected, float tol) {
  ASSERT_EQ(actual.dtype(), DT_FLOAT);
  ASSERT_EQ(actual.shape(), expected_shape) << actual.shape().DebugString() << " vs "
                                            << expected_shape.DebugString();
  ASSERT_EQ(actual.NumElements(), static_cast<int64_t>(expected.size()));
  auto a = actual.flat<float>();
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NEAR(a[i], expected[i], tol * (1 + std::fabs(expected[i]))) << "at element " << i;
  }
}

CommandResult RunBinary(const std::string& runfiles_path, const std::string& args,
                        const std::string& env_prefix) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  const std::string binary = std::string(srcdir ? srcdir : ".") + "/" +
                             (workspace ? workspace : "dflow") + "/" + runfiles_path;
  const std::string command = env_prefix + binary + " " + args + " 2>&1";
  CommandResult result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) result.output.append(buffer, n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

void ExpectToolRefuses(const std::string& runfiles_path, const std::vector<ToolRefusal>& cases) {
  using ::testing::HasSubstr;
  for (const ToolRefusal& c : cases) {
    CommandResult run = RunBinary(runfiles_path, c.args, "");
    EXPECT_EQ(run.exit_code, 1) << c.args << "\n" << run.output;
    EXPECT_THAT(run.output, HasSubstr(c.expected)) << c.args;
    EXPECT_THAT(run.output, ::testing::Not(HasSubstr("test accuracy"))) << c.args;
  }
  CommandResult run = RunBinary(runfiles_path, "", "env -u MNIST_DIR ");
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_THAT(run.output, HasSubstr("MNIST_DIR"));
}

std::string TempDir(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::filesystem::path dir = std::filesystem::path(base != nullptr ? base : "/tmp") / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

void PutBigEndian32(std::string* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}

void WriteGzipFile(const std::string& path, const std::string& bytes) {
  gzFile file = gzopen(path.c_str(), "wb1");
  ASSERT_NE(file, nullptr) << path;
  ASSERT_EQ(gzwrite(file, bytes.data(), bytes.size()), static_cast<int>(bytes.size()));
  ASSERT_EQ(gzclose(file), Z_OK);
}

std::string WriteEasyMnist(const std::string& name, int train_count, int test_count) {
  std::string dir = TempDir(name);
  std::mt19937_64 rng(3);
  for (auto [prefix, count] : {std::pair<std::string, int>{"train", train_count},
                               {"t10k", test_count}}) {
    std::string images, labels;
    PutBigEndian32(&images, 2051);  // IDX image magic
    PutBigEndian32(&images, count);
    PutBigEndian32(&images, 28);
    PutBigEndian32(&images, 28);
    PutBigEndian32(&labels, 2049);  // IDX label magic
    PutBigEndian32(&labels, count);
    for (int i = 0; i < count; ++i) {
      const int label = static_cast<int>(rng() % 10);
      labels.push_back(static_cast<char>(label));
      for (int p = 0; p < 784; ++p) {
        const int row = p / 28;
        const bool lit = row >= 2 * label && row < 2 * label + 3;
        images.push_back(static_cast<char>(lit ? 155 + rng() % 100 : rng() % 60));
      }
    }
    WriteGzipFile(dir + "/" + prefix + "-images-idx3-ubyte.gz", images);
    WriteGzipFile(dir + "/" + prefix + "-labels-idx1-ubyte.gz", labels);
  }
  return dir;
}

std::string MnistDir() {
  const char* dir = std::getenv("MNIST_DIR");
  return dir == nullptr ? "" : dir;
}

std::string SharedDir() {
  const char* dir = std::getenv("DFLOW_SHARED_DIR");
  if (dir == nullptr || *dir == '\0') return "";
  struct stat st;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) return "";
  return dir;
}

std::string ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

std::vector<std::string> FilesIn(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace test
}  // namespace dflow
