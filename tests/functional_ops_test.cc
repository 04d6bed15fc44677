// Functional control flow (If, While, PartitionedCall and their variants, bodies in
// GraphDef.library), lowered at import (ops/function_lowering.h). The graphs are hand-written
// text GraphDefs in tests/testdata/functional; expected values are hand-computed and, for every
// graph, the TF.js oracle's outputs (tests/testdata/functional/oracle, README there).
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "ops/function_lowering.h"
#include "ops/graph_import.h"
#include "runtime/session.h"
#include "tests/test_util.h"
#include "tools/tensor_io.h"

namespace dflow {
namespace {

constexpr char kDir[] = "tests/testdata/functional/";

GraphDef LoadGraph(const std::string& file) {
  std::ifstream in(kDir + file);
  std::stringstream text;
  text << in.rdbuf();
  GraphDef def;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text.str(), &def)) << file;
  return def;
}

GraphDef ParseGraph(const std::string& text) {
  GraphDef def;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &def));
  return def;
}

Tensor Oracle(const std::string& run, const std::string& output) {
  absl::StatusOr<LoadedTensor> t = ReadTensorFile(absl::StrCat(kDir, "oracle/", run, "/", output, ".npy"));
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? t->tensor : Tensor();
}

// Runs `fetches` of `def` with `feeds`, optimized and not.
std::vector<std::vector<Tensor>> RunBoth(const GraphDef& def,
                                         const std::vector<std::pair<std::string, Tensor>>& feeds,
                                         const std::vector<std::string>& fetches) {
  std::vector<std::vector<Tensor>> results;
  for (bool optimize : {true, false}) {
    SessionOptions options;
    options.optimize_graph = optimize;
    absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(def, options);
    EXPECT_TRUE(session.ok()) << session.status();
    if (!session.ok()) return results;
    std::vector<Tensor> out;
    absl::Status s = (*session)->Run(feeds, fetches, {}, &out);
    EXPECT_TRUE(s.ok()) << s;
    if (!s.ok()) return results;
    results.push_back(std::move(out));
  }
  return results;
}

void ExpectInts(const Tensor& actual, const Tensor& oracle, int64_t expected) {
  ASSERT_EQ(actual.dtype(), DT_INT32);
  ASSERT_EQ(actual.NumElements(), 1);
  EXPECT_EQ(actual.flat<int32_t>()[0], expected);
  ASSERT_EQ(oracle.dtype(), DT_INT32);
  EXPECT_EQ(oracle.flat<int32_t>()[0], expected);
}

void ExpectFloats(const Tensor& actual, const Tensor& oracle, std::vector<float> expected) {
  const TensorShape shape({static_cast<int64_t>(expected.size())});
  test::ExpectTensorNear(actual, shape, expected);
  test::ExpectTensorNear(oracle, shape, expected);  // The oracle agrees with the hand values.
}

const std::vector<float> kX = {1.5f, -2.f, 3.f};
const std::vector<float> kY = {0.5f, 4.f, -1.f};

Tensor Bool(bool b) { return test::Make<bool>(TensorShape({}), {b}); }
Tensor Int(int32_t i) { return test::Int32Tensor(TensorShape({}), {i}); }
Tensor Floats(const std::vector<float>& v) {
  return test::FloatTensor(TensorShape({static_cast<int64_t>(v.size())}), v);
}

TEST(FunctionalIf, PicksEachBranchWithSeveralOutputs) {
  const GraphDef def = LoadGraph("if_two_outputs.pbtxt");
  for (bool p : {true, false}) {
    SCOPED_TRACE(p);
    const std::string run = p ? "if_true" : "if_false";
    for (const std::vector<Tensor>& out :
         RunBoth(def, {{"p", Bool(p)}, {"x", Floats(kX)}, {"y", Floats(kY)}},
                 {"if:0", "if:1", "out"})) {
      ASSERT_EQ(out.size(), 3u);
      if (p) {  // (x + y, x * y)
        ExpectFloats(out[0], Oracle(run, "if_0"), {2.f, 2.f, 2.f});
        ExpectFloats(out[1], Oracle(run, "if_1"), {0.75f, -8.f, -3.f});
        ExpectFloats(out[2], Oracle(run, "out"), {2.75f, -6.f, -1.f});
      } else {  // (x - y, 10 * x)
        ExpectFloats(out[0], Oracle(run, "if_0"), {1.f, -6.f, 4.f});
        ExpectFloats(out[1], Oracle(run, "if_1"), {15.f, -20.f, 30.f});
        ExpectFloats(out[2], Oracle(run, "out"), {16.f, -26.f, 34.f});
      }
    }
  }
}

TEST(FunctionalIf, LoweredNodesAreNamedUnderTheIf) {
  Graph graph;
  ASSERT_TRUE(ImportGraphDef(LoadGraph("if_two_outputs.pbtxt"), &graph).ok());
  const Node* node = graph.FindNode("if");
  ASSERT_NE(node, nullptr);
  EXPECT_EQ(node->op(), "IdentityN");
  EXPECT_EQ(node->num_outputs(), 2);
  EXPECT_EQ(graph.FindNode("if/then/add")->op(), "AddV2");
  EXPECT_EQ(graph.FindNode("if/else/ten")->op(), "Const");
  EXPECT_EQ(graph.FindNode("if/switch_input_1")->op(), "Switch");
  EXPECT_EQ(graph.FindNode("if/merge_0")->op(), "Merge");
  // The else branch's Const depends on the else pivot, so it dies when the branch is not taken.
  ASSERT_EQ(graph.FindNode("if/else/ten")->control_inputs().size(), 1u);
  EXPECT_EQ(graph.FindNode("if/else/ten")->control_inputs()[0]->name(), "if/pivot_f");
}

TEST(FunctionalIf, NonBoolPredicateIsTrueWhenNonzero) {
  GraphDef def = LoadGraph("if_two_outputs.pbtxt");
  std::string text;
  google::protobuf::TextFormat::PrintToString(def, &text);
  text = absl::StrReplaceAll(text, {{"type: DT_BOOL", "type: DT_INT32"}});
  def = ParseGraph(text);
  for (int32_t p : {0, 3}) {
    for (const std::vector<Tensor>& out :
         RunBoth(def, {{"p", Int(p)}, {"x", Floats(kX)}, {"y", Floats(kY)}}, {"if:0"})) {
      test::ExpectTensorNear(out[0], TensorShape({3}),
                             p != 0 ? std::vector<float>{2.f, 2.f, 2.f}
                                    : std::vector<float>{1.f, -6.f, 4.f});
    }
  }
}

TEST(FunctionalWhile, DataDependentTripCountWithLoopInvariants) {
  const GraphDef def = LoadGraph("while_loop.pbtxt");
  const std::vector<float> acc = {1.f, -0.5f};
  const std::vector<float> x = {0.25f, 2.f};
  for (int32_t i0 : {0, 7}) {
    SCOPED_TRACE(i0);
    const std::string run = i0 == 0 ? "while_five" : "while_zero";
    for (const std::vector<Tensor>& out :
         RunBoth(def, {{"i", Int(i0)}, {"n", Int(5)}, {"acc", Floats(acc)}, {"x", Floats(x)}},
                 {"count", "result", "while:1", "while:3"})) {
      ASSERT_EQ(out.size(), 4u);
      if (i0 == 0) {
        // Five iterations of acc = 2 acc + x: 1 -> 2.25, 4.75, 9.75, 19.75, 39.75 and
        // -0.5 -> 1, 4, 10, 22, 46.
        ExpectInts(out[0], Oracle(run, "count"), 5);
        ExpectFloats(out[1], Oracle(run, "result"), {39.75f, 46.f});
      } else {  // i >= n: no iteration, the inputs come out unchanged.
        ExpectInts(out[0], Oracle(run, "count"), 7);
        ExpectFloats(out[1], Oracle(run, "result"), acc);
      }
      ExpectInts(out[2], Oracle(run, "while_1"), 5);
      ExpectFloats(out[3], Oracle(run, "while_3"), x);
    }
  }
}

TEST(FunctionalWhile, LowersToAFrameNamedAfterTheNode) {
  Graph graph;
  ASSERT_TRUE(ImportGraphDef(LoadGraph("while_loop.pbtxt"), &graph).ok());
  const Node* enter = graph.FindNode("while/enter_2");
  ASSERT_NE(enter, nullptr);
  EXPECT_EQ(enter->op(), "Enter");
  EXPECT_EQ(enter->FindAttr("frame_name")->s(), "while");
  EXPECT_EQ(enter->FindAttr("parallel_iterations")->i(), 10);
  EXPECT_EQ(graph.FindNode("while/loop_cond")->op(), "LoopCond");
  EXPECT_EQ(graph.FindNode("while/body/next_acc")->op(), "AddV2");
  EXPECT_EQ(graph.FindNode("while/cond/less")->op(), "Less");
  EXPECT_EQ(graph.FindNode("while")->op(), "IdentityN");
  EXPECT_EQ(graph.FindNode("while")->num_outputs(), 4);
}

TEST(FunctionalNested, WhileInIfAndFunctionCallingFunction) {
  const GraphDef def = LoadGraph("nested.pbtxt");
  for (bool p : {true, false}) {
    SCOPED_TRACE(p);
    const std::string run = p ? "nested_true" : "nested_false";
    for (const std::vector<Tensor>& out :
         RunBoth(def, {{"p", Bool(p)}, {"n", Int(3)}, {"x", Floats(kX)}}, {"out"})) {
      ASSERT_EQ(out.size(), 1u);
      // then: 3 iterations of v += x, so 3x; else: outer(x) = inner(x) + 1 = 3x + 1.
      ExpectFloats(out[0], Oracle(run, "out"),
                   p ? std::vector<float>{4.5f, -6.f, 9.f} : std::vector<float>{5.5f, -5.f, 10.f});
    }
  }
  Graph graph;
  ASSERT_TRUE(ImportGraphDef(def, &graph).ok());
  EXPECT_EQ(graph.FindNode("cond/then/loop/enter_0")->FindAttr("parallel_iterations")->i(), 4);
  EXPECT_EQ(graph.FindNode("cond/then/loop/body/sum")->op(), "AddV2");
  EXPECT_EQ(graph.FindNode("cond/else/call/mul")->op(), "Mul");
}

TEST(FunctionalNested, ZeroIterationsInsideABranch) {
  const GraphDef def = LoadGraph("nested.pbtxt");
  for (const std::vector<Tensor>& out :
       RunBoth(def, {{"p", Bool(true)}, {"n", Int(0)}, {"x", Floats(kX)}}, {"out"})) {
    test::ExpectTensorNear(out[0], TensorShape({3}), {0.f, 0.f, 0.f});
  }
}

TEST(FunctionCall, PartitionedCallResultsResolveByName) {
  const GraphDef def = LoadGraph("call.pbtxt");
  for (const std::vector<Tensor>& out :
       RunBoth(def, {{"a", Floats(kX)}, {"b", Floats(kY)}}, {"call:0", "call:1", "prod"})) {
    ASSERT_EQ(out.size(), 3u);
    ExpectFloats(out[0], Oracle("call", "call_0"), {2.f, 2.f, 2.f});
    ExpectFloats(out[1], Oracle("call", "call_1"), {1.f, -6.f, 4.f});
    ExpectFloats(out[2], Oracle("call", "prod"), {2.f, -12.f, 8.f});
  }
  // The same with PartitionedCall.
  std::string text;
  google::protobuf::TextFormat::PrintToString(def, &text);
  const GraphDef stateless =
      ParseGraph(absl::StrReplaceAll(text, {{"StatefulPartitionedCall", "PartitionedCall"}}));
  for (const std::vector<Tensor>& out :
       RunBoth(stateless, {{"a", Floats(kX)}, {"b", Floats(kY)}}, {"prod"})) {
    test::ExpectTensorNear(out[0], TensorShape({3}), {2.f, -12.f, 8.f});
  }
}

// Parses call.pbtxt after `edit` (a text replacement) and returns its import error.
std::string ImportError(const std::string& file, const std::string& from, const std::string& to) {
  std::ifstream in(kDir + file);
  std::stringstream text;
  text << in.rdbuf();
  const std::string edited = absl::StrReplaceAll(text.str(), {{from, to}});
  EXPECT_NE(edited, text.str()) << "edit '" << from << "' matched nothing";
  Graph graph;
  absl::Status s = ImportGraphDef(ParseGraph(edited), &graph);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(graph.num_nodes(), 0);
  return std::string(s.message());
}

TEST(FunctionalErrors, MissingFunction) {
  const std::string e =
      ImportError("call.pbtxt", "func { name: \"add_sub\" }", "func { name: \"nope\" }");
  EXPECT_TRUE(absl::StrContains(e, "node 'call'")) << e;
  EXPECT_TRUE(absl::StrContains(e, "function 'nope' is not in the graph's library")) << e;
}

TEST(FunctionalErrors, WrongArgCount) {
  // Tin and the inputs agree (one), the function takes two.
  const std::string e = ImportError(
      "call.pbtxt", "input: \"a\" input: \"b\"\n  attr { key: \"Tin\" value { list { type: DT_FLOAT type: DT_FLOAT } } }",
      "input: \"a\"\n  attr { key: \"Tin\" value { list { type: DT_FLOAT } } }");
  EXPECT_TRUE(absl::StrContains(e, "node 'call'")) << e;
  EXPECT_TRUE(absl::StrContains(e, "function 'add_sub' takes 2 args but the node passes 1")) << e;
}

TEST(FunctionalErrors, InputsDisagreeWithTin) {
  const std::string e = ImportError("call.pbtxt", "input: \"a\" input: \"b\"\n", "input: \"a\"\n");
  EXPECT_TRUE(absl::StrContains(e, "node 'call': has 1 inputs but Tin lists 2 types")) << e;
}

TEST(FunctionalErrors, WrongResultCount) {
  const std::string e = ImportError(
      "if_two_outputs.pbtxt", "attr { key: \"Tout\" value { list { type: DT_FLOAT type: DT_FLOAT } } }",
      "attr { key: \"Tout\" value { list { type: DT_FLOAT } } }");
  EXPECT_TRUE(absl::StrContains(e, "function 'sum_prod' returns 2 values but Tout lists 1 types"))
      << e;
}

TEST(FunctionalErrors, Recursion) {
  // inner_fn calls outer_fn, which calls inner_fn.
  const std::string e = ImportError(
      "nested.pbtxt", "node_def { name: \"mul\" op: \"Mul\" input: \"three:output:0\" input: \"x\"",
      "node_def { name: \"again\" op: \"PartitionedCall\" input: \"x\" input: \"x\" "
      "attr { key: \"Tin\" value { list { type: DT_INT32 type: DT_FLOAT } } } "
      "attr { key: \"Tout\" value { list { type: DT_FLOAT } } } "
      "attr { key: \"f\" value { func { name: \"outer_fn\" } } } }\n"
      "    node_def { name: \"mul\" op: \"Mul\" input: \"three:output:0\" input: \"again:output:0\"");
  EXPECT_TRUE(absl::StrContains(e, "function 'outer_fn' calls itself (outer_fn -> inner_fn -> "
                                   "outer_fn)"))
      << e;
  EXPECT_TRUE(absl::StrContains(e, "node 'cond/else/call/again'")) << e;
}

TEST(FunctionalErrors, UnknownOutputArg) {
  const std::string e = ImportError("call.pbtxt", "value: \"add:z:0\"", "value: \"add:sum:0\"");
  EXPECT_TRUE(absl::StrContains(e, "op AddV2 has no output 'sum' (its outputs: z)")) << e;
}

TEST(FunctionalLowering, GraphsWithoutFunctionalOpsAreUntouched) {
  const GraphDef def = ParseGraph(R"(node { name: "x" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } } })");
  EXPECT_FALSE(HasFunctionalOps(def));
  EXPECT_TRUE(HasFunctionalOps(LoadGraph("call.pbtxt")));
}

}  // namespace
}  // namespace dflow
