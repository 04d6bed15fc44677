// Nodes of ops dflow does not know (opaque nodes, graph/graph.h): imported and exported
// unchanged, never run, and an error naming the op, the node and the fetch only for a run
// that needs one; session_run --list_unsupported.
#include <fstream>

#include "absl/strings/match.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "graph/graph_def_io.h"
#include "gtest/gtest.h"
#include "ops/gradients.h"
#include "ops/graph_import.h"
#include "ops/standard_ops.h"
#include "runtime/graph_optimizer.h"
#include "tests/test_util.h"
#include "tools/graph_dot.h"

namespace dflow {
namespace {

// x [?,2] feeds an audio-front-end-like chain of unknown ops (Decode -> Features, two outputs
// used) whose output 1 is reshaped into `r`; `y` = x * 2 never reaches them; `summary` is an
// unknown sink op reading x, and `save` an unknown op with no outputs used.
constexpr char kGraph[] = R"(
node { name: 'x' op: 'Placeholder' attr { key: 'dtype' value { type: DT_FLOAT } }
       attr { key: 'shape' value { shape { dim { size: -1 } dim { size: 2 } } } } }
node { name: 'two' op: 'Const' attr { key: 'dtype' value { type: DT_FLOAT } }
       attr { key: 'value' value { tensor { dtype: DT_FLOAT tensor_shape { } float_val: 2 } } } }
node { name: 'y' op: 'Mul' input: 'x' input: 'two' attr { key: 'T' value { type: DT_FLOAT } } }
node { name: 'decode' op: 'FrobDecode' input: 'x' attr { key: 'rate' value { i: 16000 } } }
node { name: 'features' op: 'FrobFeatures' input: 'decode' input: 'x'
       attr { key: 'channels' value { i: 4 } } device: '/cpu:0' }
node { name: 'shape' op: 'Const' attr { key: 'dtype' value { type: DT_INT32 } }
       attr { key: 'value' value { tensor { dtype: DT_INT32 tensor_shape { dim { size: 2 } }
                                            int_val: -1 int_val: 2 } } } }
node { name: 'r' op: 'Reshape' input: 'features:1' input: 'shape'
       attr { key: 'T' value { type: DT_FLOAT } } attr { key: 'Tshape' value { type: DT_INT32 } } }
node { name: 'z' op: 'Mul' input: 'r' input: 'two' attr { key: 'T' value { type: DT_FLOAT } } }
node { name: 'summary' op: 'FrobSummary' input: 'x' input: '^y' }
node { name: 'save' op: 'FrobSave' input: 'x' input: '^summary' }
)";

GraphDef ParseGraph(const std::string& text) {
  GraphDef def;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &def));
  return def;
}

std::unique_ptr<Session> NewSession(const SessionOptions& options = {}) {
  absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(ParseGraph(kGraph), options);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *std::move(s) : nullptr;
}

TEST(OpaqueNodes, ImportKeepsThemWithOutputsTheirConsumersUseTypedAsTheyTakeThem) {
  Graph graph;
  ASSERT_TRUE(ImportGraphDef(ParseGraph(kGraph), &graph).ok());
  const Node* features = graph.FindNode("features");
  ASSERT_NE(features, nullptr);
  EXPECT_TRUE(features->is_opaque());
  EXPECT_FALSE(graph.FindNode("r")->is_opaque());
  EXPECT_EQ(features->op(), "FrobFeatures");
  EXPECT_EQ(features->device(), "/cpu:0");
  ASSERT_EQ(features->num_inputs(), 2);
  EXPECT_EQ(features->input(0).node()->name(), "decode");
  EXPECT_EQ(features->FindAttr("channels")->i(), 4);
  // Only output 1 is read, by Reshape with T = float; output 0 is nobody's, so untyped.
  ASSERT_EQ(features->num_outputs(), 2);
  EXPECT_EQ(features->output_type(0), DT_INVALID);
  EXPECT_EQ(features->output_type(1), DT_FLOAT);
  EXPECT_TRUE(features->output_shape(1).unknown_rank());
  // Its consumer's shape function saw an unknown-rank input and still used the Const shape.
  EXPECT_EQ(graph.FindNode("r")->output_shape(0), PartialTensorShape({-1, 2}));
  // decode is read by an opaque node only: one output, type unknown.
  ASSERT_EQ(graph.FindNode("decode")->num_outputs(), 1);
  EXPECT_EQ(graph.FindNode("decode")->output_type(0), DT_INVALID);
  EXPECT_EQ(graph.FindNode("save")->num_outputs(), 0);
  EXPECT_EQ(graph.FindNode("summary")->control_inputs()[0]->name(), "y");
}

TEST(OpaqueNodes, ARunThatDoesNotNeedThemRuns) {
  for (bool optimize : {true, false}) {
    SessionOptions options;
    options.optimize_graph = optimize;
    std::unique_ptr<Session> session = NewSession(options);
    ASSERT_NE(session, nullptr);
    std::vector<Tensor> out;
    absl::Status s = session->Run({{"x", test::FloatTensor({1, 2}, {1, 3})}}, {"y"}, {}, &out);
    ASSERT_TRUE(s.ok()) << s;
    test::ExpectTensorNear(out[0], {1, 2}, {2, 6});
    // Fed downstream of the unknown ops: z = r * 2 runs without them.
    s = session->Run({{"r", test::FloatTensor({2, 2}, {1, 2, 3, 4})}}, {"z"}, {}, &out);
    ASSERT_TRUE(s.ok()) << s;
    test::ExpectTensorNear(out[0], {2, 2}, {2, 4, 6, 8});
    // Feeding the opaque output itself, whose dtype Reshape gave.
    s = session->Run({{"features:1", test::FloatTensor({4}, {1, 2, 3, 4})}}, {"z"}, {}, &out);
    ASSERT_TRUE(s.ok()) << s;
    test::ExpectTensorNear(out[0], {2, 2}, {2, 4, 6, 8});
  }
}

TEST(OpaqueNodes, ARunThatNeedsOneFailsNamingTheOpTheNodeAndTheFetch) {
  for (bool optimize : {true, false}) {
    SessionOptions options;
    options.optimize_graph = optimize;
    std::unique_ptr<Session> session = NewSession(options);
    ASSERT_NE(session, nullptr);
    std::vector<Tensor> out;
    absl::Status s = session->Run({{"x", test::FloatTensor({1, 2}, {1, 3})}}, {"y", "z"}, {}, &out);
    EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented) << s;
    EXPECT_TRUE(absl::StrContains(s.message(),
                                  "dflow does not support op FrobFeatures, and fetch 'z' needs "
                                  "its node 'features' (an input of 'r'); it also needs 1 more "
                                  "unsupported node(s): 'decode' (FrobDecode)"))
        << s;
    s = session->Run({{"x", test::FloatTensor({1, 2}, {1, 3})}}, {}, {"save"}, &out);
    EXPECT_TRUE(absl::StrContains(s.message(), "op FrobSave, and target 'save' needs its node 'save'"))
        << s;
    EXPECT_TRUE(absl::StrContains(s.message(), "'summary' (FrobSummary)")) << s;
    // A fetch of an opaque node whose outputs nothing reads names no output: the error says why.
    s = session->Run({{"x", test::FloatTensor({1, 2}, {1, 3})}}, {"save"}, {}, &out);
    EXPECT_TRUE(absl::StrContains(s.message(), "dflow does not support op FrobSave of node 'save'")) << s;
    // A feed of an output whose dtype nothing says.
    s = session->Run({{"features:0", test::FloatTensor({1}, {1})}}, {"y"}, {}, &out);
    EXPECT_TRUE(absl::StrContains(s.message(), "feed 'features': its dtype is unknown")) << s;
    // The failures left the session usable.
    s = session->Run({{"x", test::FloatTensor({1, 2}, {1, 3})}}, {"y"}, {}, &out);
    EXPECT_TRUE(s.ok()) << s;
  }
}

TEST(OpaqueNodes, ExportWritesThemBackUnchanged) {
  const GraphDef def = ParseGraph(kGraph);
  Graph graph;
  ASSERT_TRUE(ImportGraphDef(def, &graph).ok());
  GraphDef exported;
  graph.ToGraphDef(&exported);
  int compared = 0;
  for (const NodeDef& original : def.node()) {
    if (!absl::StartsWith(original.op(), "Frob")) continue;
    for (const NodeDef& written : exported.node()) {
      if (written.name() != original.name()) continue;
      EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(written, original))
          << written.DebugString() << "\nvs\n" << original.DebugString();
      ++compared;
    }
  }
  EXPECT_EQ(compared, 4);
  // And the export imports again, still runnable where it was.
  absl::StatusOr<std::unique_ptr<Session>> again = Session::Create(exported);
  ASSERT_TRUE(again.ok()) << again.status();
  std::vector<Tensor> out;
  ASSERT_TRUE((*again)->Run({{"r", test::FloatTensor({1, 2}, {1, 2})}}, {"z"}, {}, &out).ok());
  test::ExpectTensorNear(out[0], {1, 2}, {2, 4});
}

TEST(OpaqueNodes, GraphVizDrawsThemAsUnsupported) {
  Graph graph;
  ASSERT_TRUE(ImportGraphDef(ParseGraph(kGraph), &graph).ok());
  const std::string dot = GraphToDot(graph, nullptr, false);
  EXPECT_TRUE(
      absl::StrContains(dot, "\"features\" [label=\"features\nFrobFeatures (unsupported)\""))
      << dot;
  EXPECT_TRUE(absl::StrContains(dot, "\"decode\" -> \"features\" [label=\"? <unknown>\"")) << dot;
}

TEST(OpaqueNodes, TheOptimizerCopiesThemAsTheyAreNeverFoldingOrMergingThem) {
  // Two identical unknown nodes on Consts: folding would need a kernel, merging would assume
  // they compute the same.
  Graph graph;
  ASSERT_TRUE(ImportGraphDef(ParseGraph(R"(
node { name: 'c' op: 'Const' attr { key: 'dtype' value { type: DT_FLOAT } }
       attr { key: 'value' value { tensor { dtype: DT_FLOAT tensor_shape { } float_val: 1 } } } }
node { name: 'u1' op: 'FrobRandom' input: 'c' }
node { name: 'u2' op: 'FrobRandom' input: 'c' }
node { name: 'sum' op: 'Add' input: 'u1' input: 'u2' attr { key: 'T' value { type: DT_FLOAT } } }
)"), &graph).ok());
  Signature signature;
  signature.fetches = {Output(graph.FindNode("sum"), 0)};
  absl::StatusOr<OptimizedGraph> optimized = OptimizeGraph(graph, signature);
  ASSERT_TRUE(optimized.ok()) << optimized.status();
  for (const char* name : {"u1", "u2"}) {
    const Node* n = optimized->graph->FindNode(name);
    ASSERT_NE(n, nullptr) << name;
    EXPECT_TRUE(n->is_opaque());
    EXPECT_EQ(n->input(0).node()->op(), "Const");
  }
  EXPECT_EQ(optimized->graph->FindNode("sum")->input(1).node()->name(), "u2");
}

TEST(OpaqueNodes, GradientsThroughOneFailNamingIt) {
  Scope root = Scope::NewRootScope();
  ASSERT_TRUE(ImportGraphDef(ParseGraph(R"(
node { name: 'x' op: 'Placeholder' attr { key: 'dtype' value { type: DT_FLOAT } } }
node { name: 'u' op: 'FrobSquare' input: 'x' }
node { name: 'y' op: 'Neg' input: 'u' attr { key: 'T' value { type: DT_FLOAT } } }
)"), root.graph()).ok());
  std::vector<Output> grads;
  absl::Status s = AddSymbolicGradients(root, {Output(root.graph()->FindNode("y"), 0)},
                                        {Output(root.graph()->FindNode("x"), 0)}, &grads);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "node 'u': dflow does not support op FrobSquare")) << s;
}

TEST(OpaqueNodes, HostileOutputIndicesAndMissingTypeAttrsAreErrors) {
  Graph graph;
  absl::Status s = ImportGraphDef(ParseGraph(R"(
node { name: 'u' op: 'Frob' }
node { name: 'y' op: 'Neg' input: 'u:2000000000' attr { key: 'T' value { type: DT_FLOAT } } }
)"), &graph);
  EXPECT_TRUE(absl::StrContains(s.message(), "asks for output 2000000000 of 'u'")) << s;
  // Nothing says Neg's T when its input comes from an op dflow does not know.
  s = ImportGraphDef(ParseGraph("node { name: 'u' op: 'Frob' } node { name: 'y' op: 'Neg' input: 'u' }"),
                     &graph);
  EXPECT_TRUE(absl::StrContains(s.message(), "missing attr 'T'")) << s;
  EXPECT_EQ(graph.num_nodes(), 0);
}

TEST(OpaqueNodes, NodesOnDtypesDflowCannotStoreAreOpaqueToo) {
  // Half-precision nodes (dflow stores no DT_HALF); only a run that needs them fails. (String
  // nodes, once opaque here, now run: tests/string_ops_test.cc.)
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(ParseGraph(R"(
node { name: 'msg' op: 'Const' attr { key: 'dtype' value { type: DT_HALF } }
       attr { key: 'value' value { tensor { dtype: DT_HALF tensor_shape { } half_val: 15360 } } } }
node { name: 'msg_copy' op: 'Identity' input: 'msg' attr { key: 'T' value { type: DT_HALF } } }
node { name: 'one' op: 'Const' attr { key: 'dtype' value { type: DT_FLOAT } }
       attr { key: 'value' value { tensor { dtype: DT_FLOAT tensor_shape { } float_val: 1 } } } }
node { name: 's' op: 'Const' attr { key: 'dtype' value { type: DT_STRING } }
       attr { key: 'value' value { tensor { dtype: DT_STRING tensor_shape { } string_val: 'hi' } } } }
)"));
  ASSERT_TRUE(session.ok()) << session.status();
  EXPECT_TRUE((*session)->graph().FindNode("msg")->is_opaque());
  EXPECT_FALSE((*session)->graph().FindNode("s")->is_opaque());
  EXPECT_EQ(UnsupportedWhat(*(*session)->graph().FindNode("msg_copy")), "Identity on half tensors");
  EXPECT_EQ(UnsupportedWhat(*(*session)->graph().FindNode("msg")), "Const on half tensors");
  std::vector<Tensor> out;
  EXPECT_TRUE((*session)->Run({}, {"one"}, {}, &out).ok());
  EXPECT_TRUE((*session)->Run({}, {"s"}, {}, &out).ok());
  absl::Status s = (*session)->Run({}, {"msg_copy"}, {}, &out);
  EXPECT_TRUE(absl::StrContains(s.message(), "dflow does not support op Identity on half "
                                             "tensors, and fetch 'msg_copy' needs its node 'msg_copy'"))
      << s;
}

// session_run --list_unsupported on kGraph written to a file.
class ListUnsupported : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::TempDir("opaque_nodes_test");
    graph_ = dir_ + "/g.pbtxt";
    ASSERT_TRUE(WriteProtoFile(graph_, ParseGraph(kGraph), ProtoFormat::kText).ok());
  }
  test::CommandResult Run(const std::string& args) {
    return test::RunBinary("tools/session_run", "--graph=" + graph_ + " --list_unsupported " + args);
  }
  std::string dir_, graph_;
};

TEST_F(ListUnsupported, CountsNodesByOpAndNamesThoseTheFetchesNeed) {
  test::CommandResult r = Run("");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output,
            "4 op(s) dflow does not support, in 4 of 10 nodes:\n"
            "  FrobDecode    1 node\n"
            "  FrobFeatures  1 node\n"
            "  FrobSave      1 node\n"
            "  FrobSummary   1 node\n");
  r = Run("--fetch=y --fetch=z --target=summary");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output,
                                "the fetches and targets need 3 of them:\n"
                                "  node 'features' (FrobFeatures), needed by fetch 'z' (an input of 'r')\n"
                                "  node 'decode' (FrobDecode), needed by fetch 'z' (an input of 'features')\n"
                                "  node 'summary' (FrobSummary), needed by target 'summary'\n"))
      << r.output;
  // A feed cuts them off; its file is not read.
  r = Run("--feed=r=/nonexistent.npy --fetch=z --fetch=y");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, "need none of them: they can run")) << r.output;
  r = Run("--fetch=nope");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, "fetch: no node named 'nope'")) << r.output;
}

}  // namespace
}  // namespace dflow
