// SaveSavedModel: the written saved_model.pb decoded field by field with a wire-format reader of
// its own (TensorFlow's field numbers, values expected by hand), the variables bundle read back,
// and the exported model loaded and run (hand-computed outputs), also through session_run and
// from mnist_softmax --export_saved_model.
#include "runtime/saved_model_export.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "ops/standard_ops.h"
#include "runtime/saved_model.h"
#include "runtime/tensor_bundle.h"
#include "tests/test_util.h"
#include "tools/tensor_io.h"

namespace dflow {
namespace {

// One protobuf field as it is on the wire: number, wire type and its varint or bytes.
struct Field {
  int number = 0;
  int wire_type = 0;
  uint64_t varint = 0;
  std::string bytes;
};

// Decodes a message's fields (wire types 0 and 2 only, which is all these messages use).
std::vector<Field> Decode(const std::string& data) {
  std::vector<Field> fields;
  size_t i = 0;
  auto varint = [&](uint64_t* v) {
    *v = 0;
    for (int shift = 0; i < data.size() && shift < 64; shift += 7) {
      const uint8_t b = static_cast<uint8_t>(data[i++]);
      *v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;
  };
  while (i < data.size()) {
    uint64_t key;
    if (!varint(&key)) break;
    Field f;
    f.number = static_cast<int>(key >> 3);
    f.wire_type = static_cast<int>(key & 7);
    if (f.wire_type == 0) {
      EXPECT_TRUE(varint(&f.varint));
    } else if (f.wire_type == 2) {
      uint64_t len;
      EXPECT_TRUE(varint(&len));
      EXPECT_LE(i + len, data.size());
      f.bytes = data.substr(i, len);
      i += len;
    } else {
      ADD_FAILURE() << "unexpected wire type " << f.wire_type;
      break;
    }
    fields.push_back(f);
  }
  return fields;
}

std::vector<Field> Only(const std::vector<Field>& fields, int number) {
  std::vector<Field> out;
  for (const Field& f : fields) {
    if (f.number == number) out.push_back(f);
  }
  return out;
}

// y = x w with w a [2,1] variable set to [[2],[3]]; x: float [?,2].
struct Tiny {
  Scope root = Scope::NewRootScope();
  std::unique_ptr<Session> session;
};
std::unique_ptr<Tiny> MakeTiny(bool initialize = true) {
  auto t = std::make_unique<Tiny>();
  Scope& root = t->root;
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({-1, 2}));
  auto w = ops::Variable(root.WithOpName("w"), {2, 1}, DT_FLOAT);
  auto init = ops::Assign(root.WithOpName("init"), w,
                          ops::Const(root, test::Make<float>(TensorShape({2, 1}), {2, 3})));
  ops::MatMul(root.WithOpName("y"), x, w);
  absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(root);
  EXPECT_TRUE(s.ok()) << s.status();
  t->session = *std::move(s);
  if (initialize) {
    EXPECT_TRUE(t->session->Run({}, {}, {"init"}, nullptr).ok());
  }
  return t;
}

std::map<std::string, SignatureDef> ServingSignature(const Graph& graph) {
  absl::StatusOr<SignatureDef> sig = PredictSignature(graph, {{"x", "x"}}, {{"y", "y"}});
  EXPECT_TRUE(sig.ok()) << sig.status();
  return {{kDefaultServingSignatureDefKey, *sig}};
}

TEST(SavedModelExportTest, SavedModelPbFieldByField) {
  auto tiny = MakeTiny();
  const std::string dir = test::TempDir("export_fields") + "/model";
  ASSERT_TRUE(SaveSavedModel(*tiny->session, dir, {"serve"},
                             ServingSignature(tiny->session->graph())).ok());
  const std::vector<Field> top = Decode(test::ReadFileBytes(dir + "/saved_model.pb"));
  // SavedModel: saved_model_schema_version = 1 (field 1), one meta_graphs (field 2).
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].number, 1);
  EXPECT_EQ(top[0].wire_type, 0);
  EXPECT_EQ(top[0].varint, 1u);
  ASSERT_EQ(top[1].number, 2);
  const std::vector<Field> mg = Decode(top[1].bytes);
  // MetaGraphDef: meta_info_def 1, graph_def 2, signature_def 5; no saver_def (3).
  EXPECT_TRUE(Only(mg, 3).empty());
  ASSERT_EQ(Only(mg, 1).size(), 1u);
  const std::vector<Field> info = Decode(Only(mg, 1)[0].bytes);
  ASSERT_EQ(Only(info, 4).size(), 1u);  // MetaInfoDef.tags = 4.
  EXPECT_EQ(Only(info, 4)[0].bytes, "serve");

  ASSERT_EQ(Only(mg, 2).size(), 1u);
  std::vector<std::string> node_names;  // GraphDef.node = 1; NodeDef.name = 1, op = 2.
  std::vector<std::string> node_ops;
  for (const Field& node : Only(Decode(Only(mg, 2)[0].bytes), 1)) {
    const std::vector<Field> nf = Decode(node.bytes);
    node_names.push_back(Only(nf, 1).at(0).bytes);
    node_ops.push_back(Only(nf, 2).at(0).bytes);
  }
  EXPECT_EQ(node_names, (std::vector<std::string>{"x", "w", "Const", "init", "y"}));
  EXPECT_EQ(node_ops,
            (std::vector<std::string>{"Placeholder", "VariableV2", "Const", "Assign", "MatMul"}));

  // signature_def: map entry {key 1: "serving_default", value 2: SignatureDef}.
  ASSERT_EQ(Only(mg, 5).size(), 1u);
  const std::vector<Field> entry = Decode(Only(mg, 5)[0].bytes);
  EXPECT_EQ(Only(entry, 1).at(0).bytes, "serving_default");
  const std::vector<Field> sig = Decode(Only(entry, 2).at(0).bytes);
  EXPECT_EQ(Only(sig, 3).at(0).bytes, "tensorflow/serving/predict");  // method_name = 3.
  // inputs = 1: {"x": TensorInfo{name 1: "x:0", dtype 2: DT_FLOAT = 1, tensor_shape 3}}.
  const std::vector<Field> in_entry = Decode(Only(sig, 1).at(0).bytes);
  EXPECT_EQ(Only(in_entry, 1).at(0).bytes, "x");
  const std::vector<Field> x_info = Decode(Only(in_entry, 2).at(0).bytes);
  EXPECT_EQ(Only(x_info, 1).at(0).bytes, "x:0");
  EXPECT_EQ(Only(x_info, 2).at(0).varint, 1u);
  // TensorShapeProto.dim = 2, Dim.size = 1: -1 (as a 64-bit varint), then 2.
  const std::vector<Field> dims = Only(Decode(Only(x_info, 3).at(0).bytes), 2);
  ASSERT_EQ(dims.size(), 2u);
  EXPECT_EQ(Only(Decode(dims[0].bytes), 1).at(0).varint, ~uint64_t{0});
  EXPECT_EQ(Only(Decode(dims[1].bytes), 1).at(0).varint, 2u);
  // outputs = 2: {"y": TensorInfo{name "y:0", DT_FLOAT}}, shape [-1, 1].
  const std::vector<Field> out_entry = Decode(Only(sig, 2).at(0).bytes);
  EXPECT_EQ(Only(out_entry, 1).at(0).bytes, "y");
  const std::vector<Field> y_info = Decode(Only(out_entry, 2).at(0).bytes);
  EXPECT_EQ(Only(y_info, 1).at(0).bytes, "y:0");
  EXPECT_EQ(Only(y_info, 2).at(0).varint, 1u);

  // The variables: one bundle entry, w = [[2], [3]]; no checkpoint state file, no temporaries.
  absl::StatusOr<NamedTensors> vars = ReadTensorBundle(dir + "/variables/variables");
  ASSERT_TRUE(vars.ok()) << vars.status();
  ASSERT_EQ(vars->size(), 1u);
  EXPECT_EQ((*vars)[0].first, "w");
  test::ExpectTensorNear((*vars)[0].second, TensorShape({2, 1}), {2, 3}, 0);
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir + "/variables")) {
    files.push_back(e.path().filename().string());
  }
  std::sort(files.begin(), files.end());
  EXPECT_EQ(files, (std::vector<std::string>{"variables.data-00000-of-00001", "variables.index"}));
  int entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir + "/..")) entries += !!e.exists();
  EXPECT_EQ(entries, 1);  // Only "model": the temporary folder was renamed.
}

TEST(SavedModelExportTest, LoadsBackAndRunsAsTheSession) {
  auto tiny = MakeTiny();
  const std::string dir = test::TempDir("export_load") + "/model";
  ASSERT_TRUE(SaveSavedModel(*tiny->session, dir, {"serve"},
                             ServingSignature(tiny->session->graph())).ok());
  SavedModelBundle bundle;
  absl::Status s = LoadSavedModel({}, dir, {"serve"}, &bundle);
  ASSERT_TRUE(s.ok()) << s;
  const SignatureDef& sig = bundle.meta_graph_def.signature_def().at("serving_default");
  const Tensor x = test::Make<float>(TensorShape({2, 2}), {1, 1, 2, -1});
  std::vector<Tensor> loaded, original;
  ASSERT_TRUE(bundle.session->Run({{sig.inputs().at("x").name(), x}},
                                  {sig.outputs().at("y").name()}, {}, &loaded).ok());
  ASSERT_TRUE(tiny->session->Run({{"x", x}}, {"y"}, {}, &original).ok());
  // By hand: [1 1] . [2 3] = 5, [2 -1] . [2 3] = 1.
  test::ExpectTensorNear(loaded[0], TensorShape({2, 1}), {5, 1}, 0);
  test::ExpectTensorNear(original[0], TensorShape({2, 1}), {5, 1}, 0);
}

TEST(SavedModelExportTest, RefusesWithoutWritingAnything) {
  auto tiny = MakeTiny();
  const std::string base = test::TempDir("export_refused");
  const auto sigs = ServingSignature(tiny->session->graph());
  // A non-empty folder is refused; an empty one is replaced.
  std::filesystem::create_directories(base + "/full");
  std::ofstream(base + "/full/keep") << "x";
  absl::Status s = SaveSavedModel(*tiny->session, base + "/full", {"serve"}, sigs);
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), base + "/full")) << s;
  std::filesystem::create_directories(base + "/empty");
  EXPECT_TRUE(SaveSavedModel(*tiny->session, base + "/empty/", {"serve"}, sigs).ok());
  EXPECT_TRUE(std::filesystem::exists(base + "/empty/saved_model.pb"));

  s = SaveSavedModel(*tiny->session, base + "/notags", {}, sigs);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  SignatureDef bad = sigs.begin()->second;
  (*bad.mutable_outputs())["z"].set_name("nope:0");
  s = SaveSavedModel(*tiny->session, base + "/badsig", {"serve"}, {{"serving_default", bad}});
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "nope")) << s;
  EXPECT_FALSE(PredictSignature(tiny->session->graph(), {{"x", "missing"}}, {}).ok());

  // A killed exporter's temporary (pid 2^22 + 1 is above Linux's pid limit, so never running) is
  // removed by the next export beside it.
  std::filesystem::create_directories(base + "/empty.tmp.4194305/variables");
  std::filesystem::remove_all(base + "/empty");
  EXPECT_TRUE(SaveSavedModel(*tiny->session, base + "/empty", {"serve"}, sigs).ok());
  EXPECT_FALSE(std::filesystem::exists(base + "/empty.tmp.4194305"));

  auto uninit = MakeTiny(/*initialize=*/false);
  s = SaveSavedModel(*uninit->session, base + "/uninit", {"serve"}, sigs);
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(absl::StrContains(s.message(), "w")) << s;
  std::vector<std::string> left;
  for (const auto& e : std::filesystem::directory_iterator(base)) {
    left.push_back(e.path().filename().string());
  }
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{"empty", "full"}));
}

TEST(SavedModelExportTest, SessionRunServesTheExport) {
  auto tiny = MakeTiny();
  const std::string dir = test::TempDir("export_tool") + "/model";
  ASSERT_TRUE(SaveSavedModel(*tiny->session, dir, {"serve"},
                             ServingSignature(tiny->session->graph())).ok());
  const std::string feed = dir + "/../x.npy";
  absl::StatusOr<std::string> npy = EncodeNpy(test::Make<float>(TensorShape({2, 2}), {1, 1, 2, -1}));
  ASSERT_TRUE(npy.ok());
  std::ofstream(feed, std::ios::binary) << *npy;
  test::CommandResult r = test::RunBinary(
      "tools/session_run", "--saved_model=" + dir + " --signature_def=serving_default --feed=x=" +
                               feed + " --fetch=y --output_dir=" + dir + "/../out");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  absl::StatusOr<Tensor> y = ParseNpy(test::ReadFileBytes(dir + "/../out/y.npy"), "y.npy");
  ASSERT_TRUE(y.ok()) << y.status() << "\n" << r.output;
  test::ExpectTensorNear(*y, TensorShape({2, 1}), {5, 1}, 0);
}

// Softmax(x W + b) by plain loops, W [n,k] and b [k] read from the exported bundle.
std::vector<float> SoftmaxReference(const std::vector<float>& x, int rows, const Tensor& w,
                                    const Tensor& b) {
  const int n = static_cast<int>(w.shape().dim_size(0)), k = static_cast<int>(w.shape().dim_size(1));
  std::vector<float> out;
  for (int r = 0; r < rows; ++r) {
    std::vector<double> logits(k);
    double max = -1e300, sum = 0;
    for (int j = 0; j < k; ++j) {
      logits[j] = b.flat<float>()[j];
      for (int i = 0; i < n; ++i) logits[j] += double{x[r * n + i]} * w.flat<float>()[i * k + j];
      max = std::max(max, logits[j]);
    }
    for (double& l : logits) sum += (l = std::exp(l - max));
    for (double l : logits) out.push_back(static_cast<float>(l / sum));
  }
  return out;
}

TEST(SavedModelExportTest, MnistSoftmaxExportServesItsProbabilities) {
  const std::string data = test::WriteEasyMnist("export_mnist", 5100, 100);
  const std::string dir = test::TempDir("export_mnist_model") + "/mnist";
  test::CommandResult r = test::RunBinary(
      "tools/mnist_softmax", "--data_dir=" + data + " --steps=20 --export_saved_model=" + dir);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, "wrote SavedModel " + dir)) << r.output;
  absl::StatusOr<NamedTensors> vars = ReadTensorBundle(dir + "/variables/variables");
  ASSERT_TRUE(vars.ok()) << vars.status();
  ASSERT_EQ(vars->size(), 2u);  // Sorted by name: W, b.
  ASSERT_EQ((*vars)[0].first, "W");
  ASSERT_EQ((*vars)[1].first, "b");
  const Tensor& w = (*vars)[0].second;
  const Tensor& b = (*vars)[1].second;
  ASSERT_EQ(w.shape(), TensorShape({784, 10}));

  std::vector<float> x(3 * 784);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 37) % 101) / 100.f;
  const std::vector<float> expected = SoftmaxReference(x, 3, w, b);
  SavedModelBundle bundle;
  ASSERT_TRUE(LoadSavedModel({}, dir, {"serve"}, &bundle).ok());
  const SignatureDef& sig = bundle.meta_graph_def.signature_def().at("serving_default");
  EXPECT_EQ(sig.inputs().at("x").name(), "x:0");
  EXPECT_EQ(sig.outputs().at("y").name(), "y:0");
  std::vector<Tensor> out;
  ASSERT_TRUE(bundle.session->Run({{"x:0", test::Make<float>(TensorShape({3, 784}), x)}},
                                  {"y:0"}, {}, &out).ok());
  test::ExpectTensorNear(out[0], TensorShape({3, 10}), expected, 1e-5f);
}

}  // namespace
}  // namespace dflow
