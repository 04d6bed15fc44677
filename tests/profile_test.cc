// Traced runs (RunOptions::trace) and what runtime/profile.h makes of them.
#include "runtime/profile.h"

#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "graph/status_macros.h"
#include "gtest/gtest.h"
#include "ops/standard_ops.h"
#include "runtime/session.h"
#include "tests/test_util.h"

namespace dflow {
namespace {

// One traced run of the scope's graph in a new Session; its metadata, or the run's error.
absl::StatusOr<RunMetadata> TracedRun(const Scope& root,
                                      const std::vector<std::pair<Output, Tensor>>& feeds,
                                      const std::vector<Output>& fetches,
                                      std::vector<Tensor>* out) {
  DFLOW_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::Create(root));
  RunOptions options;
  options.trace = true;
  RunMetadata meta;
  DFLOW_RETURN_IF_ERROR(session->Run(options, feeds, fetches, {}, out, &meta));
  return meta;
}

TEST(TracedRunTest, RecordsEachExecutedNodeOnceInOrderWithinTheRun) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
  auto doubled = ops::Add(root.WithOpName("doubled"), x, x);
  auto y = ops::Relu(root.WithOpName("y"), doubled);
  ops::Neg(root.WithOpName("unused"), x);  // Not needed for y: must not run.
  std::vector<Tensor> out;
  absl::StatusOr<RunMetadata> traced =
      TracedRun(root, {{x, test::FloatTensor({2}, {-1.f, 2.f})}}, {y}, &out);
  ASSERT_TRUE(traced.ok()) << traced.status();
  const RunMetadata& meta = *traced;
  test::ExpectTensorNear(out[0], {2}, {0.f, 4.f});
  ASSERT_EQ(meta.nodes.size(), 2u);
  EXPECT_EQ(meta.nodes[0].node, "doubled");
  EXPECT_EQ(meta.nodes[0].op, "Add");
  EXPECT_EQ(meta.nodes[1].node, "y");
  EXPECT_EQ(meta.nodes[1].op, "Relu");
  EXPECT_GT(meta.start_unix_ns, 0);
  int64_t previous_end = 0;
  for (const NodeExecStats& n : meta.nodes) {
    EXPECT_LE(previous_end, n.start_ns);
    EXPECT_LE(n.start_ns, n.end_ns);
    previous_end = n.end_ns;
  }
  EXPECT_LE(previous_end, meta.duration_ns);
}

TEST(TracedRunTest, AnUntracedRunLeavesTheMetadataAlone) {
  Scope root = Scope::NewRootScope();
  auto y = ops::Neg(root.WithOpName("y"), ops::Const(root, 2.f));
  auto session = Session::Create(root);
  ASSERT_TRUE(session.ok());
  RunMetadata meta;
  meta.duration_ns = -7;
  std::vector<Tensor> out;
  ASSERT_TRUE((*session)->Run(RunOptions(), {}, {"y"}, {}, &out, &meta).ok());
  EXPECT_EQ(meta.duration_ns, -7);
  EXPECT_TRUE(meta.nodes.empty());
}

// FLOPs counted by hand: a multiply-add is 2.
TEST(TracedRunTest, CountsTheArithmeticOfConvolutionsAndProducts) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
  auto conv =
      ops::Conv2D(root.WithOpName("conv"), x, ops::Const(root, test::RandomTensor({3, 3, 3, 4}, 1)),
                  {1, 1, 1, 1}, "SAME");
  auto a = ops::Placeholder(root.WithOpName("a"), DT_FLOAT);
  auto product =
      ops::MatMul(root.WithOpName("product"), a, ops::Const(root, test::RandomTensor({5, 4}, 2)),
                  ops::MatMul::TransposeB(true));
  auto relu = ops::Relu(root.WithOpName("relu"), product);
  std::vector<Tensor> out;
  absl::StatusOr<RunMetadata> meta = TracedRun(
      root, {{x, test::RandomTensor({2, 5, 5, 3}, 3)}, {a, test::RandomTensor({3, 4}, 4)}},
      {conv, relu}, &out);
  ASSERT_TRUE(meta.ok()) << meta.status();
  int64_t conv_flops = -1, product_flops = -1, other_flops = 0;
  for (const NodeExecStats& n : meta->nodes) {
    if (absl::StartsWith(n.op, "Conv2D") || n.op == "_FusedConv2D") {
      conv_flops = n.flops;
    } else if (n.op == "MatMul" || n.op == "_FusedMatMul") {
      product_flops = n.flops;
    } else {
      other_flops += n.flops;
    }
  }
  // [2, 5, 5, 4] outputs, each 3 x 3 x 3 multiply-adds; [3, 5] outputs of 4 multiply-adds.
  EXPECT_EQ(conv_flops, 2 * (2 * 5 * 5 * 4) * (3 * 3 * 3));
  EXPECT_EQ(product_flops, 2 * (3 * 5) * 4);
  EXPECT_EQ(other_flops, 0);
}

// Two runs of 10 us each: MatMul nodes take 4 us and 2 us, Relu 1 us.
std::vector<RunMetadata> TwoRuns() {
  RunMetadata a{1'000'000, 10'000, {{"dense/MatMul", "MatMul", 0, 4'000}, {"act", "Relu", 4'000, 5'000}}};
  RunMetadata b{1'050'000, 10'000, {{"dense/MatMul", "MatMul", 500, 2'500}, {"act", "Relu", 3'000, 4'000}}};
  return {a, b};
}

TEST(ProfileSummaryTest, AveragesTimePerRunByOpAndByNode) {
  std::vector<RunMetadata> runs = TwoRuns();
  runs[0].nodes[0].flops = runs[1].nodes[0].flops = 9'000;  // 18,000 FLOPs in 6 us and 20 us.
  const std::string table = ProfileSummary(runs, 5);
  // MatMul: (4 + 2) / 2 = 3 us per run, 30 % of 10 us; Relu 1 us, 10 %.
  EXPECT_TRUE(absl::StrContains(table, "2 run(s): 10.0 us per run, 4.0 us of it in 2 nodes (40%)"))
      << table;
  EXPECT_TRUE(absl::StrContains(table, "0.0000 GFLOP per run (convolutions and products), 0.90 GFLOP/s"))
      << table;
  EXPECT_TRUE(absl::StrContains(table, "MatMul                              1         3.00   30.0%     3.00"))
      << table;
  EXPECT_TRUE(absl::StrContains(table, "Relu                                1         1.00   10.0%        -"))
      << table;
  EXPECT_LT(table.find("dense/MatMul"), table.find("act ")) << "slowest first\n" << table;
}

TEST(ChromeTraceTest, PlacesEveryRunAndNodeAtItsTimeInMicroseconds) {
  std::vector<RunMetadata> runs = TwoRuns();
  runs[1].nodes[1].node = "say \"hi\"";
  EXPECT_EQ(ChromeTraceJson(runs),
            "{\"traceEvents\":[\n"
            "{\"name\":\"Session::Run 1\",\"cat\":\"run\",\"ph\":\"X\",\"pid\":1,\"tid\":1,"
            "\"ts\":0.000,\"dur\":10.000},\n"
            "{\"name\":\"dense/MatMul\",\"cat\":\"MatMul\",\"ph\":\"X\",\"pid\":1,\"tid\":2,"
            "\"ts\":0.000,\"dur\":4.000},\n"
            "{\"name\":\"act\",\"cat\":\"Relu\",\"ph\":\"X\",\"pid\":1,\"tid\":2,"
            "\"ts\":4.000,\"dur\":1.000},\n"
            "{\"name\":\"Session::Run 2\",\"cat\":\"run\",\"ph\":\"X\",\"pid\":1,\"tid\":1,"
            "\"ts\":50.000,\"dur\":10.000},\n"
            "{\"name\":\"dense/MatMul\",\"cat\":\"MatMul\",\"ph\":\"X\",\"pid\":1,\"tid\":2,"
            "\"ts\":50.500,\"dur\":2.000},\n"
            "{\"name\":\"say \\\"hi\\\"\",\"cat\":\"Relu\",\"ph\":\"X\",\"pid\":1,\"tid\":2,"
            "\"ts\":53.000,\"dur\":1.000}\n"
            "],\"displayTimeUnit\":\"ns\"}\n");
}

TEST(ChromeTraceTest, WritingToAMissingFolderFailsNamingTheFile) {
  absl::Status s = WriteChromeTrace(TwoRuns(), "/nonexistent/dir/trace.json");
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(absl::StrContains(s.message(), "/nonexistent/dir/trace.json")) << s;
}

}  // namespace
}  // namespace dflow
