// Saving and restoring variables.
#include "runtime/checkpoint.h"

#include <cstdio>
#include <fstream>

#include "absl/strings/match.h"
#include "graph/graph_def_io.h"
#include "gtest/gtest.h"
#include "ops/standard_ops.h"
#include "proto/checkpoint.pb.h"
#include "tests/test_util.h"

namespace dflow {
namespace {

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/" + name;
}

// Variables a [2] and b [1], initialized to given values.
struct Model {
  Scope root = Scope::NewRootScope();
  Output a, b;
  Operation init;
  Model(std::vector<float> a0, float b0, std::vector<int64_t> b_shape = {1}) {
    a = ops::Variable(root.WithOpName("a"), {2}, DT_FLOAT);
    b = ops::Variable(root.WithOpName("b"), PartialTensorShape(b_shape), DT_FLOAT);
    ops::Assign(root, a, Input(test::FloatTensor({2}, a0)));
    ops::Assign(root, b, Input(Tensor::Filled<float>(TensorShape(b_shape), b0)));
    init = GlobalVariablesInitializer(root);
  }
  std::unique_ptr<Session> NewSession(bool initialize) {
    auto s = Session::Create(root);
    EXPECT_TRUE(s.ok()) << s.status();
    if (initialize) EXPECT_TRUE((*s)->Run({init}).ok());
    return std::move(*s);
  }
};

std::vector<Tensor> Fetch(Session& s, const std::vector<Output>& outs) {
  std::vector<Tensor> values;
  absl::Status st = s.Run({}, outs, {}, &values);
  EXPECT_TRUE(st.ok()) << st;
  return values;
}

TEST(Checkpoint, RestoresSavedValuesIntoAFreshSession) {
  const std::string path = TempPath("roundtrip.ckpt");
  Model saved({1.5f, -2.f}, 7.f);
  auto s1 = saved.NewSession(true);
  ASSERT_TRUE(SaveCheckpoint(*s1, path).ok());

  Model fresh({0.f, 0.f}, 0.f);
  auto s2 = fresh.NewSession(false);
  absl::Status st = RestoreCheckpoint(*s2, path);
  ASSERT_TRUE(st.ok()) << st;
  std::vector<Tensor> v = Fetch(*s2, {fresh.a, fresh.b});
  test::ExpectTensorNear(v[0], {2}, {1.5f, -2.f});
  test::ExpectTensorNear(v[1], {1}, {7.f});
  std::ifstream tmp(path + ".tmp." + std::to_string(getpid()));
  EXPECT_FALSE(tmp.good()) << "the temporary file must be renamed away";
}

TEST(Checkpoint, RefusesToSaveAnUninitializedVariable) {
  Model m({1.f, 2.f}, 3.f);
  auto s = m.NewSession(false);
  const std::string path = TempPath("never_written.ckpt");
  absl::Status st = SaveCheckpoint(*s, path);
  EXPECT_TRUE(absl::StrContains(st.message(), "uninitialized variable a")) << st;
  EXPECT_FALSE(std::ifstream(path).good());
}

TEST(Checkpoint, AMissingVariableFailsAndRestoresNothing) {
  const std::string path = TempPath("only_a.ckpt");
  Model saved({1.f, 2.f}, 3.f);
  auto s1 = saved.NewSession(true);
  ASSERT_TRUE(SaveCheckpoint(*s1, path, {"a"}).ok());

  Model target({9.f, 9.f}, 9.f);
  auto s2 = target.NewSession(true);
  absl::Status st = RestoreCheckpoint(*s2, path);
  EXPECT_TRUE(absl::StrContains(st.message(), "no value for variable b")) << st;
  test::ExpectTensorNear(Fetch(*s2, {target.a})[0], {2}, {9.f, 9.f});  // Not half-restored.
  // Restoring just a works.
  ASSERT_TRUE(RestoreCheckpoint(*s2, path, {"a"}).ok());
  test::ExpectTensorNear(Fetch(*s2, {target.a})[0], {2}, {1.f, 2.f});
}

TEST(Checkpoint, AShapeMismatchNamesTheVariable) {
  const std::string path = TempPath("b3.ckpt");
  Model saved({1.f, 2.f}, 3.f, {3});
  auto s1 = saved.NewSession(true);
  ASSERT_TRUE(SaveCheckpoint(*s1, path).ok());
  Model target({0.f, 0.f}, 0.f, {1});
  auto s2 = target.NewSession(true);
  absl::Status st = RestoreCheckpoint(*s2, path);
  EXPECT_TRUE(absl::StrContains(st.message(), "shape [3] for variable b, which has shape [1]")) << st;
  test::ExpectTensorNear(Fetch(*s2, {target.a})[0], {2}, {0.f, 0.f});
}

TEST(Checkpoint, ACorruptOrMissingFileNamesTheFile) {
  Model m({1.f, 2.f}, 3.f);
  auto s = m.NewSession(true);
  const std::string path = TempPath("corrupt.ckpt");
  std::ofstream(path, std::ios::binary) << std::string("\x0a\xff\xff\xff\x01junk", 9);
  absl::Status st = RestoreCheckpoint(*s, path);
  EXPECT_FALSE(st.ok());
  EXPECT_TRUE(absl::StrContains(st.message(), path)) << st;
  st = RestoreCheckpoint(*s, TempPath("does_not_exist.ckpt"));
  EXPECT_TRUE(absl::StrContains(st.message(), "does_not_exist.ckpt")) << st;
}

}  // namespace
}  // namespace dflow
