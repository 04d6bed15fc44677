// session_run and its file formats: .npy and IDX parsing against hand-written bytes, and the
// tool end to end on graphs and data this test writes.
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "graph/graph_def_io.h"
#include "gtest/gtest.h"
#include "ops/standard_ops.h"
#include "tests/test_util.h"
#include "tools/tensor_io.h"

namespace dflow {
namespace {

// A .npy file exactly as NumPy writes it (version 1.0, header padded with spaces to 64 bytes).
std::string NumpyStyleNpy(const std::string& descr, const std::string& shape, const std::string& data) {
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  return std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(header.size()) + '\0' + header + data;
}

std::string Bytes(const std::vector<float>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
}

TEST(Npy, ParsesAFileAsNumpyWritesIt) {
  absl::StatusOr<Tensor> t = ParseNpy(NumpyStyleNpy("<f4", "(2, 3)", Bytes({1, 2, 3, 4, 5, 6})), "t.npy");
  ASSERT_TRUE(t.ok()) << t.status();
  test::ExpectTensorNear(*t, {2, 3}, {1, 2, 3, 4, 5, 6});
  absl::StatusOr<Tensor> scalar = ParseNpy(NumpyStyleNpy("<i8", "()", std::string("\x07\0\0\0\0\0\0\0", 8)), "s.npy");
  ASSERT_TRUE(scalar.ok()) << scalar.status();
  EXPECT_EQ(scalar->dims(), 0);
  EXPECT_EQ(scalar->scalar<int64_t>(), 7);
  absl::StatusOr<Tensor> vec = ParseNpy(NumpyStyleNpy("|u1", "(3,)", "\x01\x02\xff"), "v.npy");
  ASSERT_TRUE(vec.ok());
  EXPECT_EQ(vec->shape(), TensorShape({3}));
  EXPECT_EQ(vec->flat<uint8_t>()[2], 255);
}

TEST(Npy, EncodingRoundTripsEveryTypeWithANumpyCompatibleHeader) {
  Tensor f = test::FloatTensor({2, 2}, {1.5f, -2.f, 0.f, 8.f});
  absl::StatusOr<std::string> bytes = EncodeNpy(f);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(bytes->size() % 64, 16u % 64) << "data starts on a 64-byte boundary";
  EXPECT_TRUE(absl::StrContains(*bytes, "'descr': '<f4', 'fortran_order': False, 'shape': (2,2)"));
  for (const Tensor& t : {f, Tensor::Scalar<int32_t>(-3), Tensor::Scalar<bool>(true),
                          *Tensor::FromVector<int64_t>({5, 6, 7}, TensorShape({3}))}) {
    absl::StatusOr<Tensor> back = ParseNpy(*EncodeNpy(t), "x");
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->dtype(), t.dtype());
    EXPECT_EQ(back->shape(), t.shape());
    EXPECT_EQ(0, std::memcmp(back->data(), t.data(), t.TotalBytes()));
  }
}

TEST(Npy, RejectsBadHeadersAndLengthsNamingTheFile) {
  struct Case { std::string data, expected; };
  for (const Case& c : std::vector<Case>{
           {"not numpy at all", "bad magic"},
           {NumpyStyleNpy("<f4", "(2, 3)", Bytes({1, 2, 3})), "needs 24 data bytes but the file has 12"},
           {NumpyStyleNpy(">f4", "(1,)", Bytes({1})), "unsupported .npy dtype '>f4'"},
           {NumpyStyleNpy("<c8", "(1,)", Bytes({1, 2})), "unsupported .npy dtype"},
           {NumpyStyleNpy("<f4", "(2, x)", Bytes({1, 2})), "malformed .npy shape"},
           {std::string("\x93NUMPY\x01\x00\xff\x00{'descr'", 18), "truncated .npy header"}}) {
    absl::StatusOr<Tensor> t = ParseNpy(c.data, "bad.npy");
    EXPECT_FALSE(t.ok());
    EXPECT_TRUE(absl::StrContains(t.status().message(), c.expected)) << t.status();
    EXPECT_TRUE(absl::StrContains(t.status().message(), "bad.npy")) << t.status();
  }
  std::string fortran = NumpyStyleNpy("<f4", "(1,)", Bytes({1}));
  fortran.replace(fortran.find("False"), 5, "True ");
  EXPECT_TRUE(absl::StrContains(ParseNpy(fortran, "f").status().message(), "Fortran"));
}

TEST(Idx, ParsesBigEndianDimsAndValues) {
  // Type 0x0C (int32), rank 2, dims 2x1, values 258 and -1.
  const std::string data("\0\0\x0c\x02\0\0\0\x02\0\0\0\x01\0\0\x01\x02\xff\xff\xff\xff", 20);
  absl::StatusOr<Tensor> t = ParseIdx(data, "t.idx");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->shape(), TensorShape({2, 1}));
  EXPECT_EQ(t->flat<int32_t>()[0], 258);
  EXPECT_EQ(t->flat<int32_t>()[1], -1);
  EXPECT_FALSE(ParseIdx(data.substr(0, 18), "short.idx").ok());
}

// A graph file: y = x * w + c, with variable w and placeholders x [?,2] and c (scalar).
class SessionRunTool : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::TempDir("session_run_test");
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({-1, 2}));
    auto c = ops::Placeholder(root.WithOpName("c"), DT_FLOAT, ops::Placeholder::Shape(TensorShape()));
    auto w = ops::Variable(root.WithOpName("w"), {2}, DT_FLOAT);
    ops::Assign(root.WithOpName("w/init"), w, Input({2.f, 3.f}));
    auto y = ops::Add(root.WithOpName("y"), ops::Mul(root, x, w), c);
    auto step = ops::ApplyGradientDescent(root.WithOpName("step"), w, 1.f, Input({1.f, 1.f}));
    GlobalVariablesInitializer(root);
    GraphDef def;
    ASSERT_TRUE(root.ToGraphDef(&def).ok());
    graph_ = dir_ + "/g.pb";
    ASSERT_TRUE(WriteProtoFile(graph_, def, ProtoFormat::kBinary).ok());
    x_ = dir_ + "/x.npy";
    WriteFile(x_, NumpyStyleNpy("<f4", "(3, 2)", Bytes({1, 1, 2, 2, 3, 3})));
  }
  test::CommandResult Run(const std::string& args) {
    return test::RunBinary("tools/session_run", "--graph=" + graph_ + " " + args);
  }
  std::string dir_, graph_, x_;
};

TEST_F(SessionRunTool, FeedsFilesAndLiteralsAndWritesFetchesAsNpy) {
  test::CommandResult r = Run("--init=init --feed=x=" + x_ + " --feed=c=0.5 --fetch=y --output_dir=" + dir_);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream in(dir_ + "/y.npy", std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  absl::StatusOr<Tensor> y = ParseNpy(data, "y.npy");
  ASSERT_TRUE(y.ok()) << y.status();
  test::ExpectTensorNear(*y, {3, 2}, {2.5, 3.5, 4.5, 6.5, 6.5, 9.5});
}

TEST_F(SessionRunTool, TrainsForStepsAndRestoresTheCheckpoint) {
  const std::string ckpt = dir_ + "/w.ckpt";
  test::CommandResult r = Run("--init=init --target=step --steps=4 --save=" + ckpt);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = Run("--restore=" + ckpt + " --fetch=w --print");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, "float [2] {-2, -1}")) << r.output;  // 2-4, 3-4
}

TEST_F(SessionRunTool, ServesLargeFeedsInBatches) {
  test::CommandResult r = Run("--init=init --feed=x=" + x_ + " --feed=c=0 --fetch=y --steps=2 --batch_size=2 --print");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // Step 2 takes rows 2 and 0 (cycling): [3,3]*[2,3] and [1,1]*[2,3].
  EXPECT_TRUE(absl::StrContains(r.output, "float [2,2] {6, 9, 2, 3}")) << r.output;
}

TEST_F(SessionRunTool, ProfileWritesAChromeTraceOfEveryStepAndPrintsTheSlowestNodes) {
  const std::string trace = dir_ + "/trace.json";
  test::CommandResult r = Run("--init=init --feed=x=" + x_ + " --feed=c=1 --fetch=y --target=step "
                              "--steps=3 --profile=" + trace);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, "slowest nodes")) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, "ApplyGradientDescent")) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, "Chrome trace of 3 step(s)")) << r.output;
  std::ifstream in(trace);
  const std::string json((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(absl::StartsWith(json, "{\"traceEvents\":[")) << json;
  // Each of the 3 steps: one event for the run and one per node: w, the two Consts of step,
  // y (x * w + c, one _FusedBinary) and step (x and c are fed).
  size_t events = 0;
  for (size_t at = json.find("\"ph\":\"X\""); at != std::string::npos;
       at = json.find("\"ph\":\"X\"", at + 1)) {
    ++events;
  }
  EXPECT_EQ(events, 3u * 6u) << json;
  EXPECT_TRUE(absl::StrContains(json, "{\"name\":\"step\",\"cat\":\"ApplyGradientDescent\"")) << json;
}

TEST_F(SessionRunTool, EveryBadInputIsOneLineAndExitCodeOne) {
  WriteFile(dir_ + "/corrupt.pb", std::string("\x0a\xff\xff\xff\x0f garbage", 13));
  WriteFile(dir_ + "/short.npy", NumpyStyleNpy("<f4", "(3, 2)", Bytes({1, 2})));
  struct Case { std::string args, expected; };
  for (const Case& c : std::vector<Case>{
           {"--graph=" + dir_ + "/missing.pb --fetch=y", "missing.pb"},
           {"--graph=" + dir_ + "/corrupt.pb --fetch=y", "corrupt.pb"},
           {"--feed=nope=1 --fetch=y", "'nope'"},
           {"--feed=x=" + dir_ + "/short.npy --fetch=y", "short.npy"},
           {"--feed=x=" + dir_ + "/absent.npy --fetch=y", "absent.npy"},
           {"--init=init --feed=x=" + x_ + " --feed=c=[1,2] --fetch=y", "feed 'c' has shape [2]"},
           {"--init=init --feed=x=" + x_ + " --feed=c=1 --fetch=nothing", "'nothing'"},
           {"--fetch=y --steps=-1", "--steps"},
           {"--fetch=y --bogus", "unknown flag --bogus"},
           {"--restore=" + dir_ + "/none.ckpt --fetch=w", "none.ckpt"}}) {
    const std::string args = absl::StartsWith(c.args, "--graph=") ? c.args : "--graph=" + graph_ + " " + c.args;
    test::CommandResult r = test::RunBinary("tools/session_run", args + " --output_dir=" + dir_ + "/out");
    EXPECT_EQ(r.exit_code, 1) << args << "\n" << r.output;
    EXPECT_TRUE(absl::StartsWith(r.output, "session_run: error: ")) << r.output;
    EXPECT_TRUE(absl::StrContains(r.output, c.expected)) << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  }
  EXPECT_FALSE(std::ifstream(dir_ + "/out/y.npy").good()) << "no partial output";
}

TEST_F(SessionRunTool, HelpDocumentsEveryFlagWithAnExample) {
  test::CommandResult r = test::RunBinary("tools/session_run", "--help");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* flag : {"--graph", "--feed", "--fetch", "--target", "--init", "--steps",
                           "--batch_size", "--restore", "--save", "--output_dir", "--print", "Example"}) {
    EXPECT_TRUE(absl::StrContains(r.output, flag)) << flag;
  }
}

}  // namespace
}  // namespace dflow
