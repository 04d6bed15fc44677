// Tensors, shapes, the graph, node validation and GraphDef conversion.
#include "graph/graph.h"

#include "absl/strings/match.h"
#include "google/protobuf/text_format.h"
#include "graph/buffer_pool.h"
#include "graph/tensor.h"
#include "gtest/gtest.h"
#include "ops/graph_import.h"
#include "ops/standard_ops.h"
#include "runtime/session.h"
#include "tests/test_util.h"

namespace dflow {
namespace {

TEST(Tensor, BufferIsSixtyFourByteAlignedAndSharedByCopies) {
  Tensor t(DT_FLOAT, TensorShape({3, 5}));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data()) % 64, 0u);
  Tensor copy = t;
  EXPECT_TRUE(copy.SharesBufferWith(t));
  Tensor deep = t.DeepCopy();
  EXPECT_FALSE(deep.SharesBufferWith(t));
  EXPECT_EQ(deep.shape(), t.shape());
}

TEST(BufferPool, ReusesARecycledBufferForTheSameRoundedSize) {
  BufferPool pool;
  Tensor a(DT_FLOAT, TensorShape({10}), &pool);  // 40 bytes, rounded to 64.
  const void* first = a.data();
  pool.Recycle(&a);
  EXPECT_FALSE(a.IsInitialized());
  EXPECT_EQ(pool.free_bytes(), 64u);
  Tensor b(DT_INT32, TensorShape({3, 5}), &pool);  // 60 bytes: the same 64-byte buffer.
  EXPECT_EQ(b.data(), first);
  EXPECT_EQ(pool.free_bytes(), 0u);
  Tensor c(DT_FLOAT, TensorShape({10}), &pool);  // Nothing free: a new buffer.
  EXPECT_NE(c.data(), first);
}

TEST(BufferPool, NeverKeepsABufferAnotherTensorStillShares) {
  BufferPool pool;
  Tensor a(DT_FLOAT, TensorShape({4}), &pool);
  Tensor view = *a.Reshaped(TensorShape({2, 2}));
  pool.Recycle(&a);
  EXPECT_EQ(pool.free_bytes(), 0u);
  Tensor b(DT_FLOAT, TensorShape({4}), &pool);
  EXPECT_FALSE(b.SharesBufferWith(view));
}

TEST(BufferPool, FreesWhatWouldExceedItsLimit) {
  BufferPool pool(/*max_free_bytes=*/128);
  Tensor a(DT_FLOAT, TensorShape({32}), &pool);  // 128 bytes.
  Tensor b(DT_FLOAT, TensorShape({16}), &pool);  // 64 bytes.
  pool.Recycle(&a);
  pool.Recycle(&b);
  EXPECT_EQ(pool.free_bytes(), 128u);
}

TEST(Tensor, FromProtoRepeatsASingleTypedValueToFillTheShape) {
  TensorProto proto;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      "dtype: DT_FLOAT tensor_shape { dim { size: 2 } dim { size: 2 } } float_val: 7", &proto));
  absl::StatusOr<Tensor> t = Tensor::FromProto(proto);
  ASSERT_TRUE(t.ok()) << t.status();
  for (float v : t->flat<float>()) EXPECT_EQ(v, 7.0f);
}

TEST(Tensor, FromProtoRejectsTensorContentOfTheWrongSize) {
  TensorProto proto;
  proto.set_dtype(DT_INT32);
  proto.mutable_tensor_shape()->add_dim()->set_size(3);
  proto.set_tensor_content(std::string(8, '\0'));
  absl::StatusOr<Tensor> t = Tensor::FromProto(proto);
  EXPECT_FALSE(t.ok());
  EXPECT_TRUE(absl::StrContains(t.status().message(), "tensor_content has 8 bytes"));
}

TEST(Tensor, ProtoRoundTripKeepsEveryTypeAndValue) {
  Tensor f = *Tensor::FromVector<float>({1.5f, -2.f, 3.25f}, TensorShape({3}));
  Tensor i = *Tensor::FromVector<int64_t>({1, -2}, TensorShape({2, 1}));
  Tensor b = *Tensor::FromVector<bool>({true, false}, TensorShape({2}));
  for (const Tensor& t : {f, i, b}) {
    TensorProto p;
    t.ToProto(&p);
    absl::StatusOr<Tensor> back = Tensor::FromProto(p);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->shape(), t.shape());
    EXPECT_EQ(back->dtype(), t.dtype());
    EXPECT_EQ(0, std::memcmp(back->data(), t.data(), t.TotalBytes()));
  }
}

TEST(DataType, NamesRefTypesAndSurvivesValuesOutsideTheEnum) {
  EXPECT_EQ(DataTypeString(DT_FLOAT_REF), "float_ref");
  EXPECT_EQ(DataTypeString(static_cast<DataType>(123456)), "type_enum_123456");
  EXPECT_EQ(DataTypeSize(static_cast<DataType>(123456)), 0);
}

TEST(PartialTensorShape, MergeFillsUnknownDimsAndRejectsConflicts) {
  PartialTensorShape a({-1, 784}), b({100, -1});
  absl::StatusOr<PartialTensorShape> m = a.Merge(b);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->DebugString(), "[100,784]");
  EXPECT_FALSE(a.Merge(PartialTensorShape({100, 10})).ok());
  EXPECT_TRUE(PartialTensorShape().IsCompatibleWith(PartialTensorShape({1, 2, 3})));
  EXPECT_EQ(PartialTensorShape().DebugString(), "<unknown>");
}

TEST(Scope, NamesOpsUniquelyUnderSubScopes) {
  Scope root = Scope::NewRootScope();
  Scope linear = root.NewSubScope("linear");
  auto a = ops::Const(linear, 1.0f);
  auto b = ops::Const(linear, 2.0f);
  auto c = ops::Identity(linear, a);
  auto d = ops::Identity(linear, b);
  Scope linear2 = root.NewSubScope("linear");
  auto e = ops::Identity(linear2, a);
  auto named = ops::Identity(root.WithOpName("out"), e);
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(a.node()->name(), "linear/Const");
  EXPECT_EQ(b.node()->name(), "linear/Const_1");
  EXPECT_EQ(c.node()->name(), "linear/Identity");
  EXPECT_EQ(d.node()->name(), "linear/Identity_1");
  EXPECT_EQ(e.node()->name(), "linear_1/Identity");
  EXPECT_EQ(named.node()->name(), "out");
}

TEST(Scope, KeepsTheFirstErrorAndSkipsLaterOps) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Identity(root.WithOpName("x"), 1.0f);
  auto dup = ops::Identity(root.WithOpName("x"), 2.0f);  // Duplicate name.
  EXPECT_EQ(dup.node(), nullptr);
  auto later = ops::Identity(root, dup);
  EXPECT_EQ(later.node(), nullptr);
  EXPECT_FALSE(root.ok());
  EXPECT_TRUE(absl::StrContains(root.status().message(), "duplicate node name 'x'"));
  EXPECT_FALSE(Session::Create(root).ok());
  GraphDef def;
  EXPECT_FALSE(root.ToGraphDef(&def).ok());
}

TEST(Scope, ControlDependenciesBecomeControlInputs) {
  Scope root = Scope::NewRootScope();
  auto a = ops::Const(root, 1.0f);
  auto group = ops::NoOp(root.WithControlDependencies(a));
  ASSERT_TRUE(root.ok());
  ASSERT_EQ(group.node()->control_inputs().size(), 1u);
  EXPECT_EQ(group.node()->control_inputs()[0], a.node());
}

TEST(GraphDef, RoundTripThroughBinaryAndTextRunsTheSame) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({-1, 2}));
  auto y = ops::Reshape(root.WithOpName("y"), x, {2, -1});
  GraphDef def;
  ASSERT_TRUE(root.ToGraphDef(&def).ok());
  std::string binary = def.SerializeAsString();
  std::string text;
  ASSERT_TRUE(google::protobuf::TextFormat::PrintToString(def, &text));
  GraphDef from_binary, from_text;
  ASSERT_TRUE(from_binary.ParseFromString(binary));
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &from_text));
  Tensor in = test::FloatTensor({3, 2}, {1, 2, 3, 4, 5, 6});
  for (const GraphDef* d : {&from_binary, &from_text}) {
    absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(*d);
    ASSERT_TRUE(s.ok()) << s.status();
    std::vector<Tensor> out;
    ASSERT_TRUE((*s)->Run({{"x", in}}, {"y"}, {}, &out).ok());
    test::ExpectTensorNear(out[0], {2, 3}, {1, 2, 3, 4, 5, 6});
  }
}

absl::Status ImportText(const std::string& text, Graph* graph) {
  GraphDef def;
  if (!google::protobuf::TextFormat::ParseFromString(text, &def)) {
    return absl::InvalidArgumentError("test GraphDef does not parse");
  }
  return ImportGraphDef(def, graph);
}

void ExpectImportError(const std::string& text, const std::string& expected) {
  Graph graph;
  absl::Status s = ImportText(text, &graph);
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(absl::StrContains(s.message(), expected)) << s.message();
  EXPECT_EQ(graph.num_nodes(), 0) << "a failed import must leave the graph unchanged";
}

constexpr char kConstA[] =
    "node { name: 'a' op: 'Const' attr { key: 'dtype' value { type: DT_FLOAT } } "
    "attr { key: 'value' value { tensor { dtype: DT_FLOAT float_val: 1 } } } } ";

TEST(ImportGraphDef, RejectsAnInputNamingAMissingNode) {
  ExpectImportError("node { name: 'b' op: 'Identity' input: 'nope' "
                    "attr { key: 'T' value { type: DT_FLOAT } } }",
                    "node 'b': input 'nope' is not a node in the graph");
}

TEST(ImportGraphDef, RejectsAMalformedInputIndex) {
  ExpectImportError(std::string(kConstA) + "node { name: 'b' op: 'Identity' input: 'a:x' }",
                    "malformed input 'a:x'");
}

TEST(ImportGraphDef, RejectsAnOutputIndexOutOfRange) {
  ExpectImportError(std::string(kConstA) + "node { name: 'b' op: 'Identity' input: 'a:3' }",
                    "refers to output 3 of 'a'");
}

TEST(ImportGraphDef, RejectsAnAttrOfTheWrongType) {
  ExpectImportError("node { name: 'x' op: 'Placeholder' attr { key: 'dtype' value { i: 3 } } }",
                    "attr 'dtype' must be type but is int");
}

TEST(ImportGraphDef, RejectsACycle) {
  ExpectImportError("node { name: 'a' op: 'Identity' input: 'b' } "
                    "node { name: 'b' op: 'Identity' input: 'a' }",
                    "cycle");
}

TEST(ImportGraphDef, RejectsADuplicateName) {
  ExpectImportError(std::string(kConstA) + kConstA, "duplicate node name 'a'");
}

TEST(ImportGraphDef, AcceptsNodesInAnyOrderAndControlInputs) {
  Graph graph;
  absl::Status s = ImportText(
      "node { name: 'b' op: 'Identity' input: 'a' input: '^n' } "
      "node { name: 'n' op: 'NoOp' } " + std::string(kConstA), &graph);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(graph.FindNode("b")->control_inputs()[0]->name(), "n");
  EXPECT_EQ(graph.FindNode("b")->input_type(0), DT_FLOAT);
}

TEST(ImportGraphDef, TreatsAScalarPlaceholderShapeAsUnknownBeforeProducer22) {
  for (int producer : {9, 22}) {
    Graph graph;
    GraphDef def;
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
        "node { name: 'x' op: 'Placeholder' attr { key: 'dtype' value { type: DT_FLOAT } } "
        "attr { key: 'shape' value { shape { } } } }",
        &def));
    def.mutable_versions()->set_producer(producer);
    ASSERT_TRUE(ImportGraphDef(def, &graph).ok());
    EXPECT_EQ(graph.FindNode("x")->output_shape(0).unknown_rank(), producer < 22);
  }
}

TEST(ImportGraphDef, AddsAPrefixToEveryNodeAndInput) {
  Graph graph;
  GraphDef def;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      std::string(kConstA) + "node { name: 'b' op: 'Identity' input: 'a' }", &def));
  ASSERT_TRUE(ImportGraphDef(def, &graph, {"imported"}).ok());
  ASSERT_NE(graph.FindNode("imported/b"), nullptr);
  EXPECT_EQ(graph.FindNode("imported/b")->input(0).node()->name(), "imported/a");
}

// A failure after some nodes were built removes them again, edges included, also when the
// GraphDef is taken over (and so emptied as the import goes).
TEST(GraphImportTest, LateFailureRemovesTheNodesItAdded) {
  Graph graph;
  ASSERT_TRUE(ImportText("node { name: 'z' op: 'NoOp' }", &graph).ok());
  GraphDef def;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      std::string(kConstA) +
          "node { name: 'b' op: 'Identity' input: 'a' input: '^a' } "
          "node { name: 'c' op: 'Identity' input: 'b' } "
          "node { name: 'd' op: 'MatMul' input: 'c' input: 'c' "
          "       attr { key: 'T' value { type: DT_INT32 } } }",
      &def));
  const absl::Status s = ImportGraphDef(std::move(def), &graph);
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(absl::StrContains(s.message(), "'d'")) << s.message();
  EXPECT_EQ(graph.num_nodes(), 1);
  EXPECT_EQ(graph.FindNode("a"), nullptr);
  EXPECT_EQ(graph.FindNode("c"), nullptr);
  // The names are free again, and the new nodes' edges are their own.
  ASSERT_TRUE(ImportText(std::string(kConstA) + "node { name: 'b' op: 'Identity' input: 'a' }",
                         &graph)
                  .ok());
  EXPECT_EQ(graph.num_nodes(), 3);
  EXPECT_EQ(graph.FindNode("a")->out_edges().size(), 1u);
  EXPECT_TRUE(graph.FindNode("a")->control_outputs().empty());
}

}  // namespace
}  // namespace dflow

