// Issue 16: hostile inputs give one clear error, never a crash or a silently different value.
// Each test uses the exact input the issue reports.
#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "graph/graph_def_io.h"
#include "gtest/gtest.h"
#include "ops/graph_import.h"
#include "ops/standard_ops.h"
#include "runtime/session.h"
#include "tests/test_util.h"
#include "tools/tensor_io.h"
#include "tools/tensor_literal.h"

namespace dflow {
namespace {

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
}

std::string NpyHeaderOnly(const std::string& descr, const std::string& shape) {
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  return std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(header.size()) + '\0' + header;
}

void AppendBigEndian(std::string* s, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) s->push_back(static_cast<char>(v >> shift));
}

// ---- 1. Allocation failure is ResourceExhausted naming the node and the bytes.

absl::Status RunFetch(const Scope& root, const Output& fetch, int64_t memory_limit = 0) {
  SessionOptions options;
  options.memory_limit_bytes = memory_limit;
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(root, options);
  if (!session.ok()) return session.status();
  std::vector<Tensor> out;
  return (*session)->Run({}, {fetch}, {}, &out);
}

TEST(AllocationFailure, TileOfAMillionByAMillionIsResourceExhausted) {
  Scope root = Scope::NewRootScope();
  auto one = ops::Const(root.WithOpName("one"), test::FloatTensor({1, 1}, {1.f}));
  auto tile = ops::Tile(root.WithOpName("huge_tile"), one, Input({1000000, 1000000}));
  const absl::Status s = RunFetch(root, tile);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "huge_tile")) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "4000000000000 bytes")) << s;  // 10^12 floats
}

TEST(AllocationFailure, FillOfTwoToThe33IsResourceExhaustedUnderTheDefaultLimit) {
  // 2^33 floats are 32 GiB: within the element limit, beyond 3/4 of this machine's memory
  // unless it has over 43 GiB.
  if (DefaultMemoryLimit() >= (int64_t{4} << 33)) GTEST_SKIP() << "machine has > 43 GiB";
  Scope root = Scope::NewRootScope();
  auto fill = ops::Fill(root.WithOpName("huge_fill"), test::IntTensor<int64_t>({int64_t{1} << 33}),
                        1.f);
  const absl::Status s = RunFetch(root, fill);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "huge_fill")) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "34359738368 bytes")) << s;
}

TEST(AllocationFailure, SessionMemoryLimitIsCheckedBeforeLargeAllocations) {
  Scope root = Scope::NewRootScope();
  auto fill = ops::Fill(root.WithOpName("fill"), Input({1 << 20}), 2.f);  // 4 MiB
  const absl::Status s = RunFetch(root, fill, /*memory_limit=*/2 << 20);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "'fill'")) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "4194304 bytes")) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "limit is 2097152")) << s;
  EXPECT_TRUE(RunFetch(root, fill, /*memory_limit=*/64 << 20).ok());
}

TEST(AllocationFailure, TensorAllocateReturnsTheStatusOutsideKernels) {
  absl::StatusOr<Tensor> t = Tensor::Allocate(DT_FLOAT, TensorShape({int64_t{1} << 40, 1 << 30}));  // 2^70
  EXPECT_EQ(t.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(absl::StrContains(t.status().message(), "more than 2^63 bytes")) << t.status();
  const ScopedMemoryLimit limit(1 << 20);
  t = Tensor::Allocate(DT_DOUBLE, TensorShape({1 << 20}));
  EXPECT_EQ(t.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(absl::StrContains(t.status().message(), "8388608 bytes")) << t.status();
}

// ---- 2. Shape products never overflow.

TEST(ShapeOverflow, NpyShapeOfFourByTwoToThe31SquaredIsAnError) {
  absl::StatusOr<Tensor> t =
      ParseNpy(NpyHeaderOnly("<f4", "(4, 2147483648, 2147483648)"), "huge.npy");
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(absl::StrContains(t.status().message(), "huge.npy")) << t.status();
  EXPECT_TRUE(absl::StrContains(t.status().message(), "too many elements")) << t.status();
}

TEST(ShapeOverflow, IdxDimsTwoToThe31FourTwoToThe31IsAnError) {
  std::string idx("\0\0\x08\x03", 4);
  for (uint32_t d : {2147483648u, 4u, 2147483648u}) AppendBigEndian(&idx, d);
  absl::StatusOr<Tensor> t = ParseIdx(idx, "huge.idx");
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(absl::StrContains(t.status().message(), "huge.idx")) << t.status();
  EXPECT_TRUE(absl::StrContains(t.status().message(), "too many elements")) << t.status();
}

TEST(ShapeOverflow, NumElementsReportsOverflowInsteadOfWrapping) {
  // 4 * 2^31 * 2^31 = 2^64 wraps to 0 in int64 arithmetic.
  EXPECT_EQ(TensorShape({4, int64_t{1} << 31, int64_t{1} << 31}).num_elements(), -1);
  EXPECT_EQ(CheckedNumElements({4, int64_t{1} << 31, int64_t{1} << 31}), -1);
  EXPECT_EQ(TensorShape({3, 5}).num_elements(), 15);
  TensorShapeProto proto;
  for (int64_t d : {int64_t{4}, int64_t{1} << 31, int64_t{1} << 31}) proto.add_dim()->set_size(d);
  EXPECT_FALSE(TensorShape::FromProto(proto).ok());
}

// ---- 3. Literal feeds are parsed strictly; values must fit the placeholder's dtype.

TEST(LiteralFeeds, AnEmptyListItemIsAnError) {
  absl::StatusOr<Tensor> t = ParseLiteral("[1,2,,3]", DT_FLOAT, "x");
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(absl::StrContains(t.status().message(), "empty item at position 2")) << t.status();
  EXPECT_FALSE(ParseLiteral("[1,2,3,]", DT_FLOAT, "x").ok());
  EXPECT_FALSE(ParseLiteral("[1,2", DT_FLOAT, "x").ok());
  EXPECT_FALSE(ParseLiteral("[[1,2],[3]]", DT_FLOAT, "x").ok());  // Ragged.
  absl::StatusOr<Tensor> ok = ParseLiteral("[1, 2, 3]", DT_FLOAT, "x");
  ASSERT_TRUE(ok.ok()) << ok.status();
  test::ExpectTensorNear(*ok, {3}, {1, 2, 3});
  absl::StatusOr<Tensor> empty = ParseLiteral("[]", DT_INT32, "x");
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(empty->shape(), TensorShape({0}));
}

TEST(LiteralFeeds, ValuesThatDoNotFitInt32AreErrorsSayingSo) {
  for (const char* text : {"1e999", "nan", "inf", "1e10", "-3000000000", "[1,3000000000]"}) {
    absl::StatusOr<Tensor> t = ParseLiteral(text, DT_INT32, "x");
    ASSERT_FALSE(t.ok()) << text << " became " << t->DebugString();
    EXPECT_TRUE(absl::StrContains(t.status().message(), "does not fit int32")) << t.status();
    EXPECT_TRUE(absl::StrContains(t.status().message(), "feed 'x'")) << t.status();
  }
  absl::StatusOr<Tensor> half = ParseLiteral("1.5", DT_INT32, "x");
  ASSERT_FALSE(half.ok());
  EXPECT_TRUE(absl::StrContains(half.status().message(), "not an integer")) << half.status();
  // The edges of int32 fit exactly.
  absl::StatusOr<Tensor> edges = ParseLiteral("[-2147483648, 2147483647, 3.0]", DT_INT32, "x");
  ASSERT_TRUE(edges.ok()) << edges.status();
  EXPECT_EQ(edges->flat<int32_t>()[0], -2147483648);
  EXPECT_EQ(edges->flat<int32_t>()[1], 2147483647);
  EXPECT_EQ(edges->flat<int32_t>()[2], 3);
}

TEST(LiteralFeeds, OtherDtypesAreCheckedToo) {
  EXPECT_FALSE(ParseLiteral("256", DT_UINT8, "x").ok());
  EXPECT_FALSE(ParseLiteral("-1", DT_UINT8, "x").ok());
  EXPECT_FALSE(ParseLiteral("2", DT_BOOL, "x").ok());
  EXPECT_FALSE(ParseLiteral("1e39", DT_FLOAT, "x").ok());
  EXPECT_FALSE(ParseLiteral("1e999", DT_DOUBLE, "x").ok());
  EXPECT_FALSE(ParseLiteral("9223372036854775808", DT_INT64, "x").ok());
  absl::StatusOr<Tensor> big = ParseLiteral("9007199254740993", DT_INT64, "x");  // 2^53 + 1
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big->scalar<int64_t>(), 9007199254740993);
  absl::StatusOr<Tensor> inf = ParseLiteral("[inf, -inf]", DT_FLOAT, "x");
  ASSERT_TRUE(inf.ok()) << inf.status();
  EXPECT_TRUE(std::isinf(inf->flat<float>()[0]));
  absl::StatusOr<Tensor> truth = ParseLiteral("[true,false,1]", DT_BOOL, "x");
  ASSERT_TRUE(truth.ok()) << truth.status();
  EXPECT_TRUE(truth->flat<bool>()[0]);
  EXPECT_FALSE(truth->flat<bool>()[1]);
}

TEST(LiteralFeeds, Int64FileHoldingTwoToThe62AdaptedToInt32IsAnError) {
  const Tensor big = test::IntTensor<int64_t>({1, int64_t{1} << 62});
  absl::StatusOr<Tensor> t = ConvertValues(big, DT_INT32, 1.0, "feed 'ids' from 'big.npy'");
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(absl::StrContains(t.status().message(), "element 1")) << t.status();
  EXPECT_TRUE(absl::StrContains(t.status().message(), "4611686018427387904 does not fit int32"))
      << t.status();
  absl::StatusOr<Tensor> fits = ConvertValues(test::IntTensor<int64_t>({7, -8}), DT_INT32, 1.0, "f");
  ASSERT_TRUE(fits.ok());
  EXPECT_EQ(fits->flat<int32_t>()[1], -8);
}

// ---- 4. Every dtype's representation is validated on import.

TEST(ImportValidation, BoolByteTwoInConstTensorContentIsAnErrorNamingTheNode) {
  GraphDef def;
  NodeDef* node = def.add_node();
  node->set_name("bad_bool");
  node->set_op("Const");
  (*node->mutable_attr())["dtype"].set_type(DT_BOOL);
  TensorProto* value = (*node->mutable_attr())["value"].mutable_tensor();
  value->set_dtype(DT_BOOL);
  value->mutable_tensor_shape()->add_dim()->set_size(3);
  value->set_tensor_content(std::string("\x01\x02\x00", 3));
  Graph graph;
  const absl::Status s = ImportGraphDef(def, &graph);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(absl::StrContains(s.message(), "bad_bool")) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "byte 2")) << s;
}

TEST(ImportValidation, Uint8IntValOutOfRangeIsAnError) {
  TensorProto proto;
  proto.set_dtype(DT_UINT8);
  proto.add_int_val(300);
  EXPECT_FALSE(Tensor::FromProto(proto).ok());
  proto.set_int_val(0, 255);
  EXPECT_TRUE(Tensor::FromProto(proto).ok());
}

// ---- 9. A malformed text graph is one error with line and column.

TEST(TextGraphs, ParseErrorsCarryLineAndColumn) {
  const std::string dir = test::TempDir("hostile_text");
  WriteFile(dir + "/bad.pbtxt", "node {\n  name: \"a\"\n  op: \n}\n");
  GraphDef def;
  const absl::Status s = ReadGraphDefFile(dir + "/bad.pbtxt", &def);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(absl::StrContains(s.message(), "bad.pbtxt")) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "line 4 column 1")) << s;
}

// ---- The tools end to end: 1, 3, 7, 8, 9.

class HostileTools : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::TempDir("hostile_tools");
    Scope root = Scope::NewRootScope();
    auto ids = ops::Placeholder(root.WithOpName("ids"), DT_INT32);
    ops::Identity(root.WithOpName("out"), ids);
    ops::Fill(root.WithOpName("big"), Input({1 << 20}), 1.f);
    GraphDef def;
    ASSERT_TRUE(root.ToGraphDef(&def).ok());
    graph_ = dir_ + "/g.pb";
    ASSERT_TRUE(WriteProtoFile(graph_, def, ProtoFormat::kBinary).ok());
  }
  test::CommandResult Run(const std::string& args) {
    return test::RunBinary("tools/session_run", "--graph=" + graph_ + " " + args);
  }
  void ExpectOneErrorLine(const test::CommandResult& r, const std::string& expected) {
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_TRUE(absl::StartsWith(r.output, "session_run: error: ")) << r.output;
    EXPECT_TRUE(absl::StrContains(r.output, expected)) << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  }
  std::string dir_, graph_;
};

TEST_F(HostileTools, LiteralFeedsAreStrict) {
  ExpectOneErrorLine(Run("--feed=ids=[1,2,,3] --fetch=out"), "empty item");
  ExpectOneErrorLine(Run("--feed=ids=1e999 --fetch=out"), "does not fit int32");
  ExpectOneErrorLine(Run("--feed=ids=-3000000000 --fetch=out"), "does not fit int32");
  ExpectOneErrorLine(Run("--feed=ids=1.5 --fetch=out"), "not an integer");
  test::CommandResult ok = Run("--feed=ids=[1,2,3] --fetch=out --print");
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_TRUE(absl::StrContains(ok.output, "int32 [3] {1, 2, 3}")) << ok.output;
}

TEST_F(HostileTools, Int64NpyOutOfInt32RangeIsAnError) {
  std::string npy = NpyHeaderOnly("<i8", "(2,)");
  const int64_t values[2] = {1, int64_t{1} << 62};
  npy.append(reinterpret_cast<const char*>(values), sizeof(values));
  WriteFile(dir_ + "/big.npy", npy);
  ExpectOneErrorLine(Run("--feed=ids=" + dir_ + "/big.npy --fetch=out"), "does not fit int32");
}

TEST_F(HostileTools, MemoryLimitFlagFailsTheNodeThatWouldPassIt) {
  ExpectOneErrorLine(Run("--fetch=big --memory_limit=1M"), "'big'");
  ExpectOneErrorLine(Run("--fetch=big --memory_limit=lots"), "--memory_limit");
  EXPECT_EQ(Run("--fetch=big --memory_limit=64M").exit_code, 0);
}

TEST_F(HostileTools, OutputDirIsCreatedWhenMissing) {
  const std::string out = dir_ + "/not/yet/there";
  test::CommandResult r = Run("--feed=ids=[4,5] --fetch=out --output_dir=" + out);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream in(out + "/out.npy", std::ios::binary);
  const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  absl::StatusOr<Tensor> t = ParseNpy(data, "out.npy");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->flat<int32_t>()[1], 5);
}

TEST_F(HostileTools, MalformedTextGraphIsOneLineWithLineAndColumn) {
  WriteFile(dir_ + "/bad.pbtxt", "node {\n  name: \"a\"\n  op: \n}\n");
  test::CommandResult r = test::RunBinary("tools/session_run",
                                          "--graph=" + dir_ + "/bad.pbtxt --fetch=a");
  ExpectOneErrorLine(r, "line 4 column 1");
  EXPECT_FALSE(absl::StrContains(r.output, "libprotobuf")) << r.output;
}

TEST_F(HostileTools, GraphVizSvgPathWithAQuoteRunsNoCommand) {
  // A stand-in `dot` that writes its -o file, so the test does not depend on Graphviz.
  const std::string bin = dir_ + "/bin";
  std::filesystem::create_directories(bin);
  WriteFile(bin + "/dot", "#!/bin/sh\n[ \"$1\" = -Tsvg ] && [ \"$3\" = -o ] && echo '<svg/>' > \"$4\"\n");
  std::filesystem::permissions(bin + "/dot", std::filesystem::perms::owner_all);
  // Run in dir_, so that the injected `touch pwned` would create dir_/pwned.
  const std::string output = "a'; touch pwned; echo '.dot";
  test::CommandResult r = test::RunBinary(
      "tools/graph_viz", "--graph=" + graph_ + " --svg \"--output=" + output + "\"",
      "cd " + dir_ + " && PATH=" + bin + ":$PATH ");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/pwned")) << "the path ran a command";
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/" + output + ".svg")) << r.output;
}

}  // namespace
}  // namespace dflow
