// Every case of the corpus of real TensorFlow 1.x graphs (../shared/tf_graphs/corpus, see its
// README.md) run through a Session and compared with the expected outputs TensorFlow.js
// computed, within each case's tolerances. The cases that cannot run yet are listed below with
// the reason; the test fails when an unlisted case fails and when a listed one passes, so that
// the list stays honest. Skipped when ../shared is absent.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "graph/graph_def_io.h"
#include "graph/status_macros.h"
#include "gtest/gtest.h"
#include "runtime/checkpoint.h"
#include "runtime/saved_model.h"
#include "runtime/session.h"
#include "tests/test_util.h"
#include "tools/tensor_io.h"

namespace dflow {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

// The cases expected to fail, with why. Remove a case once it passes.
const std::map<std::string, std::string>& ExpectedFailures() {
  static const auto* failures = new std::map<std::string, std::string>{
      // It feeds a batch of 2 at Reshape (the fingerprint [N, 3920]), but with the audio ops'
      // shape functions (TensorFlow's) Reshape's static shape is [1, 3920]: DecodeWav
      // desired_samples 16000 -> AudioSpectrogram [1, 98, 257] -> Mfcc [1, 98, 40]. Session::Run
      // rejects the feed as TensorFlow's Python Session.run does ("Cannot feed value of shape
      // (2, 3920) for Tensor 'Reshape:0', which has shape '(1, 3920)'"); TensorFlow.js, which
      // made the expected outputs, turns fed nodes into shapeless placeholders. A one-row feed
      // runs (tests/audio_corpus_test.cc feeds Reshape [1, 3920]).
      {"agent007_speech_commands_fingerprint", "feeds [2,3920] at Reshape, whose static shape is [1,3920]"},
      {"minakhan01_ssd_mobilenet", "fails in the run (not yet investigated); --list_unsupported lists nothing missing"},
      // The expected FakeQuantWithMinMaxVars output lies off TensorFlow's quantization grid
      // (nudged_min + k * (max - min) / 255, k an integer: e.g. 0.0577 with min -9.2457, max
      // 16.2693 gives k = 92.58), so the oracle did not quantize; dflow's values are on the grid.
      {"octogonapus_keras_fakequant", "the oracle (TensorFlow.js) does not fake-quantize"},
  };
  return *failures;
}

absl::StatusOr<Struct> ReadJson(const std::string& path) {
  DFLOW_ASSIGN_OR_RETURN(std::string text, ReadFileMaybeGzip(path));
  Struct json;
  if (!google::protobuf::util::JsonStringToMessage(text, &json).ok()) {
    return absl::InvalidArgumentError(absl::StrCat("'", path, "' is not valid JSON"));
  }
  return json;
}

const Value* Field(const Struct& s, const std::string& name) {
  auto it = s.fields().find(name);
  return it == s.fields().end() ? nullptr : &it->second;
}

std::string StringField(const Struct& s, const std::string& name) {
  const Value* v = Field(s, name);
  return v != nullptr && v->kind_case() == Value::kStringValue ? v->string_value() : "";
}

// `t` converted to `dtype` element by element (the corpus stores what TensorFlow.js feeds).
Tensor Converted(const Tensor& t, DataType dtype) {
  if (t.dtype() == dtype || DataTypeSize(dtype) == 0) return t;
  Tensor out(dtype, t.shape());
  for (int64_t i = 0; i < t.NumElements(); ++i) {
    double v = 0;
    VisitDataType(t.dtype(), [&](auto zero) { v = static_cast<double>(t.flat<decltype(zero)>()[i]); });
    VisitDataType(dtype, [&](auto zero) { out.flat<decltype(zero)>()[i] = static_cast<decltype(zero)>(v); });
  }
  return out;
}

double ValueAt(const Tensor& t, int64_t i) {
  double v = 0;
  VisitDataType(t.dtype(), [&](auto zero) { v = static_cast<double>(t.flat<decltype(zero)>()[i]); });
  return v;
}

bool IsFloat(DataType t) { return t == DT_FLOAT || t == DT_DOUBLE; }

// OK when `got` matches `want`: same shape; floats within atol + rtol * |want| (NaN matches
// NaN), other types exactly; integers TensorFlow computes in int64 the oracle wrote as int32.
absl::Status Compare(const std::string& fetch, const Tensor& got, const Tensor& want, double rtol,
                     double atol) {
  if (got.shape() != want.shape()) {
    return absl::InvalidArgumentError(absl::StrCat(fetch, ": shape ", got.shape().DebugString(),
                                                   ", expected ", want.shape().DebugString()));
  }
  const bool exact = !IsFloat(want.dtype());
  if (exact && IsFloat(got.dtype())) {
    return absl::InvalidArgumentError(absl::StrCat(fetch, ": dtype ", DataTypeString(got.dtype()),
                                                   ", expected ", DataTypeString(want.dtype())));
  }
  double worst = 0;
  int64_t worst_at = -1;
  for (int64_t i = 0; i < want.NumElements(); ++i) {
    const double g = ValueAt(got, i), w = ValueAt(want, i);
    if (std::isnan(g) && std::isnan(w)) continue;
    const double d = std::isnan(g - w) ? INFINITY : std::fabs(g - w);
    const bool ok = exact ? g == w : d <= atol + rtol * std::fabs(w);
    if (!ok && (worst_at < 0 || d > worst)) {
      worst = d;
      worst_at = i;
    }
  }
  if (worst_at >= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(fetch, ": element ", worst_at, " is ", ValueAt(got, worst_at), ", expected ",
                     ValueAt(want, worst_at), " (rtol ", rtol, ", atol ", atol, ")"));
  }
  return absl::OkStatus();
}

// Runs the case in `dir` (its case.json) and compares every fetch.
absl::Status RunCase(const std::string& dir, const Struct& c, const std::string& files) {
  const std::string format = StringField(c, "format");
  const std::string graph = files + "/" + StringField(c, "graph");
  std::unique_ptr<Session> session;
  if (format == "SavedModel") {
    // Loaded as TensorFlow's loader does (variables restored, init op run), with the tags of
    // its first meta graph.
    const std::string export_dir = std::filesystem::path(graph).parent_path().string();
    SavedModel saved_model;
    DFLOW_RETURN_IF_ERROR(ReadSavedModel(export_dir, &saved_model));
    if (saved_model.meta_graphs_size() == 0) return absl::InvalidArgumentError("no meta graphs");
    const auto& tags = saved_model.meta_graphs(0).meta_info_def().tags();
    SavedModelBundle bundle;
    DFLOW_RETURN_IF_ERROR(LoadSavedModel({}, export_dir, {tags.begin(), tags.end()}, &bundle));
    session = std::move(bundle.session);
  } else if (format == "MetaGraphDef") {
    MetaGraphDef meta_graph;
    DFLOW_RETURN_IF_ERROR(LoadMetaGraph(graph, &meta_graph));
    DFLOW_ASSIGN_OR_RETURN(session, CreateSessionFromMetaGraph({}, meta_graph));
  } else if (format == "GraphDef (binary)" || format == "GraphDef (text)") {
    GraphDef def;
    DFLOW_RETURN_IF_ERROR(ReadGraphDefFile(graph, &def));
    DFLOW_ASSIGN_OR_RETURN(session, Session::Create(def));
  } else {
    return absl::UnimplementedError(absl::StrCat("format '", format, "'"));
  }
  const std::string checkpoint = StringField(c, "checkpoint");
  if (!checkpoint.empty() && format != "SavedModel") {
    DFLOW_RETURN_IF_ERROR(RestoreCheckpoint(*session, files + "/" + checkpoint));
  }

  std::vector<std::pair<std::string, Tensor>> feeds;
  const Value* feed_list = Field(c, "feeds");
  for (const Value& f : feed_list != nullptr ? feed_list->list_value().values()
                                             : google::protobuf::RepeatedPtrField<Value>()) {
    const std::string name = StringField(f.struct_value(), "name");
    DFLOW_ASSIGN_OR_RETURN(LoadedTensor loaded,
                           ReadTensorFile(dir + "/" + StringField(f.struct_value(), "file")));
    DFLOW_ASSIGN_OR_RETURN(Output target, session->graph().FindOutput(name));
    feeds.emplace_back(name, Converted(loaded.tensor, target.type()));
  }
  std::vector<std::string> fetches;
  const Value* fetch_list = Field(c, "fetches");
  if (fetch_list == nullptr || fetch_list->list_value().values().empty()) {
    return absl::InvalidArgumentError("case.json names no fetches");
  }
  for (const Value& f : fetch_list->list_value().values()) fetches.push_back(f.string_value());
  std::vector<Tensor> outputs;
  DFLOW_RETURN_IF_ERROR(session->Run(feeds, fetches, {}, &outputs));

  const Value* expected = Field(c, "expected");
  const Value* tolerance = Field(c, "tolerance");
  for (size_t i = 0; i < fetches.size(); ++i) {
    const Value* file = expected != nullptr ? Field(expected->struct_value(), fetches[i]) : nullptr;
    if (file == nullptr) return absl::InvalidArgumentError(absl::StrCat(fetches[i], ": no expected output"));
    DFLOW_ASSIGN_OR_RETURN(LoadedTensor want, ReadTensorFile(dir + "/" + file->string_value()));
    double rtol = 0, atol = 0;
    const Value* tol = tolerance != nullptr ? Field(tolerance->struct_value(), fetches[i]) : nullptr;
    if (tol != nullptr) {
      if (const Value* r = Field(tol->struct_value(), "rtol")) rtol = r->number_value();
      if (const Value* a = Field(tol->struct_value(), "atol")) atol = a->number_value();
    }
    DFLOW_RETURN_IF_ERROR(Compare(fetches[i], outputs[i], want.tensor, rtol, atol));
  }
  return absl::OkStatus();
}

TEST(Corpus, EveryCaseMatchesTheOracleOrIsAListedExpectedFailure) {
  if (test::SharedDir().empty()) GTEST_SKIP() << "DFLOW_SHARED_DIR is not set";
  const std::string corpus = test::SharedDir() + "/tf_graphs/corpus";
  const std::string cases = corpus + "/cases";
  std::vector<std::string> names;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(cases, error)) {
    if (std::filesystem::exists(entry.path() / "case.json")) {
      names.push_back(entry.path().filename().string());
    }
  }
  if (names.empty()) GTEST_SKIP() << "no corpus cases in " << cases;
  std::sort(names.begin(), names.end());
  int passed = 0, compared = 0;
  for (const std::string& name : names) {
    const std::string dir = cases + "/" + name;
    absl::StatusOr<Struct> c = ReadJson(dir + "/case.json");
    ASSERT_TRUE(c.ok()) << c.status();
    const std::string oracle = StringField(*c, "oracle");
    const auto listed = ExpectedFailures().find(name);
    if (oracle != "ok") {
      // No expected outputs to compare with (the README cites the graph's own repository).
      EXPECT_EQ(listed, ExpectedFailures().end()) << name << " has no reference: do not list it";
      std::cout << "n/a   " << name << " (oracle: " << oracle << ")\n";
      continue;
    }
    ++compared;
    const absl::Status s = RunCase(dir, *c, corpus + "/files");
    if (s.ok()) ++passed;
    std::cout << (s.ok() ? "pass  " : listed != ExpectedFailures().end() ? "xfail " : "FAIL  ")
              << name << (s.ok() ? "" : ": " + std::string(s.message()).substr(0, 300)) << "\n";
    if (listed == ExpectedFailures().end()) {
      EXPECT_TRUE(s.ok()) << name << ": " << s;
    } else {
      EXPECT_FALSE(s.ok()) << name << " passes now: remove it from ExpectedFailures() ("
                           << listed->second << ")";
    }
  }
  for (const auto& [name, why] : ExpectedFailures()) {
    EXPECT_TRUE(std::binary_search(names.begin(), names.end(), name))
        << "ExpectedFailures() lists '" << name << "', which is not a corpus case";
  }
  std::cout << passed << "/" << compared << " corpus cases match the oracle\n";
}

}  // namespace
}  // namespace dflow
