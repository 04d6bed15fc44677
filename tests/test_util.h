// Helpers shared by dflow's tests.
#ifndef DFLOW_TESTS_TEST_UTIL_H_
#define DFLOW_TESTS_TEST_UTIL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "graph/tensor.h"
#include "gtest/gtest.h"
#include "ops/array_ops.h"
#include "ops/scope.h"
#include "runtime/session.h"

namespace dflow {

// Readable shapes in gtest failure messages (found by argument-dependent lookup).
void PrintTo(const PartialTensorShape& shape, std::ostream* os);

namespace test {

// Runs `fetches` of the scope's graph in a new Session with `feeds`.
absl::StatusOr<std::vector<Tensor>> RunGraph(const Scope& scope,
                                             const std::vector<std::pair<Output, Tensor>>& feeds,
                                             const std::vector<Output>& fetches,
                                             const SessionOptions& options = {});
// The same for one fetch.
absl::StatusOr<Tensor> RunOne(const Scope& scope, const Output& fetch,
                              const std::vector<std::pair<Output, Tensor>>& feeds = {},
                              const SessionOptions& options = {});
// Options that run the graph's nodes as they are, so that a kernel's own input checks run (the
// graph optimizer's shape inference would otherwise catch bad fed shapes first).
SessionOptions Unoptimized();

// A float tensor of `shape` with values uniform in [lo, hi), from a fixed generator.
Tensor RandomTensor(const TensorShape& shape, uint64_t seed, float lo = -1.f, float hi = 1.f);

// Builds a float tensor from values; the count must match the shape.
Tensor FloatTensor(const TensorShape& shape, std::vector<float> values);

// A tensor of `shape` from values; the count must match the shape (a test failure otherwise).
template <typename T>
Tensor Make(const TensorShape& shape, std::vector<T> values);
template <>
Tensor Make<bool>(const TensorShape& shape, std::vector<bool> values);

// A 1-D tensor of `values`.
template <typename T>
Tensor IntTensor(std::vector<T> values) {
  const int64_t n = static_cast<int64_t>(values.size());
  return *Tensor::FromVector<T>(values, TensorShape({n}));
}

// An int32 tensor of `shape` from values; the count must match the shape.
Tensor Int32Tensor(const TensorShape& shape, std::vector<int32_t> values);

// 0, 1, 2, ... as floats.
Tensor Iota(const TensorShape& shape);

// Rows of non-negative values summing to 1 (soft labels), [n, c].
Tensor RandomLabels(int64_t n, int64_t c, uint64_t seed);

// The values of a tensor of type T.
template <typename T>
std::vector<T> ValuesOf(const Tensor& t) {
  return std::vector<T>(t.flat<T>().begin(), t.flat<T>().end());
}

// The values of an int32 or int64 tensor, as int64.
std::vector<int64_t> Ints(const Tensor& t);

// The error message of `s`, checked to be an error.
std::string ErrorOf(const absl::Status& s);
// The error message the scope recorded ("" when it is ok).
std::string ErrorOf(const Scope& scope);

// The dims of a 4-D shape as an int32 [4] tensor (the sizes input of the backprop ops).
Tensor Sizes(const TensorShape& s);

// A new Session for the scope's graph; a test failure and null when it cannot be created.
std::unique_ptr<Session> NewSession(const Scope& root, const SessionOptions& options = {});

// Every element of `actual` within `tol` * max(1, |expected|) of the double `expected`.
void ExpectNear(const std::vector<float>& actual, const std::vector<double>& expected,
                double tol, const std::string& what);

// A float placeholder stating `shape` when `known`, else of unknown shape: the gradient tests
// check both, since a graph may or may not know its shapes.
Output FloatPlaceholder(const Scope& root, const PartialTensorShape& shape, bool known);

// |actual - expected| <= abs_tol + rel_tol * |expected|; NaN matches NaN, infinities exactly.
void ExpectClose(const Tensor& actual, const std::vector<double>& expected, const std::string& what,
                 double abs_tol = 1e-6, double rel_tol = 3e-6);

// The element-wise op `build` makes from one float placeholder, run on each of `inputs` in one
// session: the input's shape and `ref` applied in double to each element (ExpectClose).
void ExpectUnaryOpClose(const std::function<Output(const Scope&, Input)>& build,
                        const std::vector<Tensor>& inputs, const std::function<double(double)>& ref,
                        const std::string& name);

// The symbolic gradients of y with respect to the fed xs within `tolerance` of central
// differences (MaxGradientError); `what` names the case in failures.
void ExpectGradientOk(const Scope& root, const std::vector<std::pair<Output, Tensor>>& xs,
                      const Output& y, const std::string& what, double tolerance = 5e-3);

// The gradient of build(x) with respect to a float placeholder x fed `value`, checked against
// central differences in a scope of its own (the checker adds fixed node names).
template <typename Build>
void CheckGradient(const Tensor& value, const std::string& what, Build build) {
  Scope root = Scope::NewRootScope();
  Output x = ops::Placeholder(root, DT_FLOAT);
  Output y = build(root, x);
  ExpectGradientOk(root, {{x, value}}, y, what);
}

// Every element of `actual` within `tol` (absolute + relative) of `expected`; shape must match.
void ExpectTensorNear(const Tensor& actual, const TensorShape& expected_shape,
                      absl::Span<const float> expected, float tol = 1e-5f);

// An op built from two float placeholders a and b (a convolution from x and filter, ...).
using BinaryOpBuilder = std::function<Output(const Scope& root, Output a, Output b)>;

// Runs the op `build` makes with its placeholders fed `a` and `b` and expects `expected` (of
// `shape`, within `tol`); first, when `static_shape` is given, that the graph knows that shape.
void ExpectBinaryOpNear(const BinaryOpBuilder& build, const Tensor& a, const Tensor& b,
                        const TensorShape& shape, absl::Span<const float> expected, float tol,
                        const std::optional<PartialTensorShape>& static_shape = std::nullopt);

// The op's gradients with respect to its placeholders, fed `a` and `b`, within `tolerance` of
// central differences of `step` (MaxGradientError).
void ExpectBinaryOpGradientBelow(const BinaryOpBuilder& build, const Tensor& a, const Tensor& b,
                                 double step, double tolerance);

// Runs a binary from the test's runfiles ("tools/session_run") with `args` through the shell;
// returns its exit code and its stdout and stderr together.
struct CommandResult {
  int exit_code = -1;
  std::string output;
};
CommandResult RunBinary(const std::string& runfiles_path, const std::string& args,
                        const std::string& env_prefix = "");

// A tool's refusals (the MNIST tools'): run with each case's `args`, the runfiles binary exits 1
// with `expected` in its output and scores nothing; so it does with $MNIST_DIR unset and no
// --data_dir.
struct ToolRefusal {
  std::string args;
  std::string expected;  // In the message.
};
void ExpectToolRefuses(const std::string& runfiles_path, const std::vector<ToolRefusal>& cases);

// A fresh empty folder under TEST_TMPDIR.
std::string TempDir(const std::string& name);

// Appends v as 4 big-endian bytes (IDX headers).
void PutBigEndian32(std::string* out, uint32_t v);
// Writes `bytes` gzip-compressed to `path`; fails the test on an I/O error.
void WriteGzipFile(const std::string& path, const std::string& bytes);
// A fresh MNIST-shaped folder of easy "digits" (class c lights rows 2c..2c+2 of the 28x28
// image, with noise), as the four official gzipped IDX files; returns its path.
std::string WriteEasyMnist(const std::string& name, int train_count, int test_count);

// The whole file at `path` ("" when it cannot be read), and the entries of folder `dir` in
// name order (none when it is missing).
std::string ReadFileBytes(const std::string& path);
std::vector<std::string> FilesIn(const std::string& dir);

// $MNIST_DIR, or empty when it is not set (the tests on the real data then skip with
// kNoMnistDir and what they would have done).
std::string MnistDir();
inline constexpr char kNoMnistDir[] =
    "MNIST_DIR is not set; set it to a folder with the four official MNIST files "
    "(e.g. ../shared/data/mnist)";

// The ../shared folder (DFLOW_SHARED_DIR), or "" when it is absent.
std::string SharedDir();

template <typename T>
Tensor Make(const TensorShape& shape, std::vector<T> values) {
  absl::StatusOr<Tensor> t = Tensor::FromVector<T>(values, shape);
  EXPECT_TRUE(t.ok()) << t.status();
  return *t;
}

}  // namespace test
}  // namespace dflow

#endif  // DFLOW_TESTS_TEST_UTIL_H_
