// SavedModels and MetaGraphDefs written by TensorFlow (the corpus's, DFLOW_SHARED_DIR) and
// hand-built ones: field contents against values decoded by hand (`protoc --decode_raw`) or
// stated in the corpus README, signature runs against the cases' expected .npy outputs.
#include "runtime/saved_model.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "graph/graph_def_io.h"
#include "gtest/gtest.h"
#include "runtime/checkpoint.h"
#include "tests/test_util.h"
#include "tools/tensor_io.h"

namespace dflow {
namespace {

std::string CorpusFiles() {
  const std::string shared = test::SharedDir();
  return shared.empty() ? "" : shared + "/tf_graphs/corpus/files";
}
std::string CorpusCases() { return test::SharedDir() + "/tf_graphs/corpus/cases"; }

#define SKIP_WITHOUT_CORPUS()                                                     \
  if (CorpusFiles().empty()) GTEST_SKIP() << "DFLOW_SHARED_DIR is not set"

float RunScalar(Session& session, const std::vector<std::pair<std::string, Tensor>>& feeds,
                const std::string& fetch) {
  std::vector<Tensor> out;
  absl::Status s = session.Run(feeds, {fetch}, {}, &out);
  EXPECT_TRUE(s.ok()) << fetch << ": " << s;
  if (!s.ok() || out.size() != 1 || out[0].NumElements() != 1) return -12345.f;
  return out[0].flat<float>()[0];
}

TEST(SavedModelTest, CounterSignaturesAndSaverDef) {
  SKIP_WITHOUT_CORPUS();
  SavedModel sm;
  ASSERT_TRUE(ReadSavedModel(CorpusFiles() + "/tfserving_saved_model_counter", &sm).ok());
  EXPECT_EQ(sm.saved_model_schema_version(), 1);
  ASSERT_EQ(sm.meta_graphs_size(), 1);
  const MetaGraphDef& mg = sm.meta_graphs(0);
  ASSERT_EQ(mg.meta_info_def().tags_size(), 1);
  EXPECT_EQ(mg.meta_info_def().tags(0), "serve");
  EXPECT_EQ(mg.meta_info_def().tensorflow_version(), "1.5.0-rc1");
  EXPECT_EQ(mg.graph_def().node_size(), 30);  // README: 30 nodes.
  // saver_def as decoded: keep_checkpoint_every_n_hours is the float bits 0x461c4000.
  EXPECT_EQ(mg.saver_def().filename_tensor_name(), "save/Const:0");
  EXPECT_EQ(mg.saver_def().save_tensor_name(), "save/Identity:0");
  EXPECT_EQ(mg.saver_def().restore_op_name(), "save/restore_all");
  EXPECT_EQ(mg.saver_def().max_to_keep(), 5);
  EXPECT_TRUE(mg.saver_def().sharded());
  EXPECT_EQ(mg.saver_def().keep_checkpoint_every_n_hours(), 10000.f);
  EXPECT_EQ(mg.saver_def().version(), SaverDef::V2);
  ASSERT_EQ(mg.collection_def().count("variables"), 1);
  EXPECT_EQ(mg.collection_def().at("variables").bytes_list().value_size(), 1);
  ASSERT_EQ(mg.signature_def_size(), 4);
  const SignatureDef& get = mg.signature_def().at("get_counter");
  EXPECT_EQ(get.method_name(), "tensorflow/serving/predict");
  EXPECT_EQ(get.inputs_size(), 0);
  const TensorInfo& out = get.outputs().at("output");
  EXPECT_EQ(out.name(), "counter:0");
  EXPECT_EQ(out.dtype(), DT_FLOAT_REF);
  EXPECT_TRUE(out.has_tensor_shape());
  EXPECT_EQ(out.tensor_shape().dim_size(), 0);
  EXPECT_FALSE(out.tensor_shape().unknown_rank());
  const TensorInfo& delta = mg.signature_def().at("incr_counter_by").inputs().at("delta");
  EXPECT_EQ(delta.name(), "delta:0");
  EXPECT_EQ(delta.dtype(), DT_FLOAT);
  EXPECT_TRUE(delta.tensor_shape().unknown_rank());
  EXPECT_EQ(mg.signature_def().at("reset_counter").outputs().at("output").name(),
            "reset_counter_op/Assign:0");
  EXPECT_EQ(InitOpName(mg), "");

  const std::string shown = DescribeMetaGraphs({&mg});
  EXPECT_TRUE(absl::StrContains(shown, "MetaGraphDef with tag-set: 'serve' contains the following SignatureDefs:"));
  EXPECT_TRUE(absl::StrContains(shown, "    inputs['delta'] tensor_info:\n        dtype: DT_FLOAT\n"
                                       "        shape: unknown_rank\n        name: delta:0\n"))
      << shown;
  EXPECT_TRUE(absl::StrContains(shown, "        dtype: DT_FLOAT_REF\n        shape: ()\n        name: counter:0\n"));
}

TEST(SavedModelTest, CounterLoadsRestoresAndKeepsState) {
  SKIP_WITHOUT_CORPUS();
  SavedModelBundle bundle;
  absl::Status s = LoadSavedModel({}, CorpusFiles() + "/tfserving_saved_model_counter", {"serve"}, &bundle);
  ASSERT_TRUE(s.ok()) << s;
  const auto& sigs = bundle.meta_graph_def.signature_def();
  auto name = [&](const std::string& sig, const std::string& key, bool input) {
    absl::StatusOr<std::string> n = SignatureTensorName(sigs.at(sig), key, input);
    EXPECT_TRUE(n.ok()) << n.status();
    return n.ok() ? *n : "";
  };
  absl::StatusOr<LoadedTensor> want =
      ReadTensorFile(CorpusCases() + "/tfserving_counter_get/expected/counter_read.npy");
  ASSERT_TRUE(want.ok()) << want.status();
  Session& session = *bundle.session;
  EXPECT_EQ(RunScalar(session, {}, name("get_counter", "output", false)), want->tensor.flat<float>()[0]);
  EXPECT_EQ(RunScalar(session, {}, "counter/read"), 0.f);
  // README: incr_counter adds 1, incr_counter_by adds delta, reset_counter assigns 0.
  EXPECT_EQ(RunScalar(session, {}, name("incr_counter", "output", false)), 1.f);
  EXPECT_EQ(RunScalar(session, {{name("incr_counter_by", "delta", true), test::Make<float>({}, {2.5f})}},
                      name("incr_counter_by", "output", false)),
            3.5f);
  EXPECT_EQ(RunScalar(session, {}, name("get_counter", "output", false)), 3.5f);
  EXPECT_EQ(RunScalar(session, {}, name("reset_counter", "output", false)), 0.f);
  EXPECT_EQ(RunScalar(session, {}, "counter/read"), 0.f);

  absl::StatusOr<std::string> missing = SignatureTensorName(sigs.at("get_counter"), "nope", true);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
}

TEST(SavedModelTest, TagSetsMatchAsSets) {
  SKIP_WITHOUT_CORPUS();
  SavedModel sm;
  ASSERT_TRUE(ReadSavedModel(CorpusFiles() + "/tfrust_regression_savedmodel", &sm).ok());
  absl::StatusOr<const MetaGraphDef*> serve = FindMetaGraph(sm, {"serve"});
  EXPECT_EQ(serve.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(serve.status().message(), "{train, serve}")) << serve.status();
  absl::StatusOr<const MetaGraphDef*> both = FindMetaGraph(sm, {"serve", "train"});
  ASSERT_TRUE(both.ok()) << both.status();
  const MetaGraphDef& mg = **both;
  EXPECT_EQ(mg.meta_info_def().tensorflow_version(), "1.7.0");
  const SignatureDef& sig = mg.signature_def().at("tensorflow/serving/regress");
  EXPECT_EQ(sig.method_name(), "tensorflow/serving/regress");
  EXPECT_EQ(sig.inputs().at("x").name(), "x:0");
  EXPECT_EQ(sig.inputs().at("y").name(), "y:0");
  EXPECT_EQ(sig.outputs().at("out").name(), "y_hat:0");
  EXPECT_EQ(sig.outputs().at("out").dtype(), DT_FLOAT);
  EXPECT_EQ(mg.collection_def().at("train_op").node_list().value_size(), 1);
}

TEST(SavedModelTest, RegressionSignatureRuns) {
  SKIP_WITHOUT_CORPUS();
  SavedModelBundle bundle;
  absl::Status s =
      LoadSavedModel({}, CorpusFiles() + "/tfrust_regression_savedmodel", {"train", "serve"}, &bundle);
  if (absl::IsUnimplemented(s) && absl::StrContains(s.message(), "Size")) {
    // The training half of the graph uses Size, which dflow lacks (outside the Saver scope).
    GTEST_SKIP() << s;
  }
  ASSERT_TRUE(s.ok()) << s;
  const std::string dir = CorpusCases() + "/tfrust_regression_savedmodel";
  absl::StatusOr<LoadedTensor> x = ReadTensorFile(dir + "/inputs/x.npy");
  absl::StatusOr<LoadedTensor> want = ReadTensorFile(dir + "/expected/y_hat.npy");
  ASSERT_TRUE(x.ok() && want.ok());
  const SignatureDef& sig = bundle.meta_graph_def.signature_def().at("tensorflow/serving/regress");
  std::vector<Tensor> out;
  s = bundle.session->Run({{sig.inputs().at("x").name(), x->tensor}}, {sig.outputs().at("out").name()},
                          {}, &out);
  ASSERT_TRUE(s.ok()) << s;
  ASSERT_EQ(out[0].NumElements(), want->tensor.NumElements());
  for (int64_t i = 0; i < out[0].NumElements(); ++i) {
    EXPECT_NEAR(out[0].flat<float>()[i], want->tensor.flat<float>()[i], 1e-4);
  }
}

TEST(SavedModelTest, NoVariablesFolderLoadsGraphOnly) {
  SKIP_WITHOUT_CORPUS();
  SavedModelBundle bundle;
  absl::Status s = LoadSavedModel({}, CorpusFiles() + "/scisharp_example1_savedmodel", {"serve"}, &bundle);
  ASSERT_TRUE(s.ok()) << s;
  const MetaGraphDef& mg = bundle.meta_graph_def;
  EXPECT_EQ(InitOpName(mg), "group_deps");  // The saved_model_main_op collection.
  const SignatureDef& sig = mg.signature_def().at(kDefaultServingSignatureDefKey);
  const TensorInfo& fuel = sig.inputs().at("fuel");
  EXPECT_EQ(fuel.name(), "fuel:0");
  ASSERT_EQ(fuel.tensor_shape().dim_size(), 2);
  EXPECT_EQ(fuel.tensor_shape().dim(0).size(), -1);
  EXPECT_EQ(fuel.tensor_shape().dim(1).size(), 96);
  EXPECT_EQ(sig.outputs().at("classes").name(), "ArgMax:0");
  EXPECT_EQ(sig.outputs().at("classes").dtype(), DT_INT64);
  EXPECT_EQ(sig.outputs().at("probabilities").name(), "softmax_tensor:0");
  // Nothing restored: the variables are uninitialized, which a run reports.
  Tensor zeros = test::Make<float>({1, 96}, std::vector<float>(96, 0.f));
  std::vector<Tensor> out;
  s = bundle.session->Run({{"fuel:0", zeros}, {"sp:0", zeros}}, {"softmax_tensor:0"}, {}, &out);
  EXPECT_FALSE(s.ok());
}

TEST(SavedModelTest, CorruptOrMissingFilesFailClearly) {
  const std::string dir = test::TempDir("saved_model_corrupt");
  SavedModelBundle bundle;
  absl::Status s = LoadSavedModel({}, dir, {"serve"}, &bundle);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(s.message(), "saved_model.pb")) << s;
  {
    std::ofstream f(dir + "/saved_model.pb", std::ios::binary);
    f << std::string("\x12\xff\xff\xff\x0f\x01garbage", 11);
  }
  s = LoadSavedModel({}, dir, {"serve"}, &bundle);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(s.message(), dir + "/saved_model.pb")) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "corrupt or truncated")) << s;
  EXPECT_EQ(bundle.session, nullptr);
}

// The counter's meta graph as a .meta file (binary and text), restored with --restore's path.
TEST(SavedModelTest, MetaGraphFileAndDflowRestore) {
  SKIP_WITHOUT_CORPUS();
  SavedModel sm;
  const std::string counter = CorpusFiles() + "/tfserving_saved_model_counter";
  ASSERT_TRUE(ReadSavedModel(counter, &sm).ok());
  const std::string dir = test::TempDir("saved_model_meta");
  for (ProtoFormat format : {ProtoFormat::kBinary, ProtoFormat::kText}) {
    const std::string path = dir + (format == ProtoFormat::kText ? "/m.meta.txt" : "/m.meta");
    ASSERT_TRUE(WriteProtoFile(path, sm.meta_graphs(0), format).ok());
    MetaGraphDef mg;
    ASSERT_TRUE(LoadMetaGraph(path, &mg).ok());
    EXPECT_EQ(mg.signature_def_size(), 4);
    absl::StatusOr<std::unique_ptr<Session>> session = CreateSessionFromMetaGraph({}, mg);
    ASSERT_TRUE(session.ok()) << session.status();
    // The Saver scope stays: dflow has its ops (tests/saver_ops_test.cc runs them).
    EXPECT_NE((*session)->graph().FindNode("save/RestoreV2"), nullptr);
    EXPECT_NE((*session)->graph().FindNode("incr_counter_op/AssignAdd"), nullptr);
    ASSERT_TRUE(RestoreCheckpoint(**session, counter + "/variables/variables").ok());
    EXPECT_EQ(RunScalar(**session, {}, "incr_counter_op/AssignAdd:0"), 1.f);
  }
}

TEST(SavedModelTest, ResourceVariablesAndForeignOpsRefused) {
  MetaGraphDef mg;
  NodeDef* v = mg.mutable_graph_def()->add_node();
  // Resource variables (VarHandleOp) are supported now (tests/resource_variable_ops_test.cc).
  // An unknown op outside the Saver scope is not stripped: it stays an opaque node, and a run
  // that needs it fails naming it.
  v->set_op("FrobSave");  // An op dflow lacks.
  v->set_name("elsewhere/FrobSave");
  NodeDef* saver = mg.mutable_graph_def()->add_node();
  saver->set_name("save/FrobRestore");
  saver->set_op("FrobRestore");
  absl::StatusOr<std::unique_ptr<Session>> s = CreateSessionFromMetaGraph({}, mg);
  ASSERT_TRUE(s.ok()) << s.status();
  const absl::Status run = (*s)->Run({}, {}, {"elsewhere/FrobSave"}, nullptr);
  EXPECT_EQ(run.code(), absl::StatusCode::kUnimplemented);
  EXPECT_TRUE(absl::StrContains(run.message(), "FrobSave")) << run;
  // Only the Saver's: dropped, with the control edge into it.
  v->set_name("save/FrobSave");
  NodeDef* c = mg.mutable_graph_def()->add_node();
  c->set_name("init");
  c->set_op("NoOp");
  c->add_input("^save/FrobRestore");
  s = CreateSessionFromMetaGraph({}, mg);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_NE((*s)->graph().FindNode("init"), nullptr);
}

TEST(SavedModelTest, InitOpPrecedence) {
  MetaGraphDef mg;
  EXPECT_EQ(InitOpName(mg), "");
  (*mg.mutable_collection_def())["legacy_init_op"].mutable_node_list()->add_value("legacy");
  EXPECT_EQ(InitOpName(mg), "legacy");
  (*mg.mutable_collection_def())["saved_model_main_op"].mutable_node_list()->add_value("main");
  EXPECT_EQ(InitOpName(mg), "main");
  (*(*mg.mutable_signature_def())["__saved_model_init_op"].mutable_outputs())["__saved_model_init_op"]
      .set_name("init_all:0");
  EXPECT_EQ(InitOpName(mg), "init_all");
}

}  // namespace
}  // namespace dflow

namespace dflow {
namespace {

TEST(SavedModelToolTest, SignatureKeysShowAndErrors) {
  SKIP_WITHOUT_CORPUS();
  const std::string counter = "--saved_model=" + CorpusFiles() + "/tfserving_saved_model_counter";
  // incr_counter_by twice from the checkpoint's 0: 2.5, then 5.
  test::CommandResult r = test::RunBinary(
      "tools/session_run", counter + " --signature_def=incr_counter_by --feed=delta=2.5 --fetch=output --steps=2");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, "\noutput = 5 (float [])")) << r.output;
  r = test::RunBinary("tools/session_run", counter + " --show");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, "signature_def['reset_counter']:\n")) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, "  Method name is: tensorflow/serving/predict\n")) << r.output;
  r = test::RunBinary("tools/session_run", counter + " --signature_def=nope --fetch=output");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(r.output, "no signature_def 'nope'")) << r.output;
  r = test::RunBinary("tools/session_run", counter + " --tag_set=gpu --fetch=output");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(r.output, "no MetaGraphDef with tag set {gpu}; the tag sets there: {serve}"))
      << r.output;
  // A .meta file: keys of its serving_default-less signatures need --signature_def; variables
  // come from --restore.
  SavedModel sm;
  ASSERT_TRUE(ReadSavedModel(CorpusFiles() + "/tfserving_saved_model_counter", &sm).ok());
  const std::string meta = test::TempDir("saved_model_tool") + "/counter.meta";
  ASSERT_TRUE(WriteProtoFile(meta, sm.meta_graphs(0), ProtoFormat::kBinary).ok());
  r = test::RunBinary("tools/session_run", "--meta_graph=" + meta + " --restore=" + CorpusFiles() +
                                               "/tfserving_saved_model_counter/variables/variables"
                                               " --signature_def=incr_counter --fetch=output");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, "\noutput = 1 (float [])")) << r.output;
  r = test::RunBinary("tools/session_run", counter + " --graph=x.pb --fetch=output");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(r.output, "exactly one of --graph, --meta_graph and --saved_model"));
}

}  // namespace
}  // namespace dflow
