// Saving and restoring variables and random-op streams.
#include "runtime/checkpoint.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "graph/graph_def_io.h"
#include "gtest/gtest.h"
#include "ops/random_ops.h"
#include "ops/standard_ops.h"
#include "proto/checkpoint.pb.h"
#include "runtime/tensor_bundle.h"
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
  for (const char* file : {".index", ".data-00000-of-00001"}) {
    EXPECT_TRUE(std::ifstream(path + file).good()) << file;
    EXPECT_FALSE(std::ifstream(path + file + ".tmp." + std::to_string(getpid())).good())
        << "the temporary file must be renamed away";
  }
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

bool SameBits(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() &&
         std::memcmp(a.data(), b.data(), a.TotalBytes()) == 0;
}

// A seeded RandomUniform, an unseeded TruncatedNormal (its key is drawn per session, so only
// the checkpoint can carry it) and a variable v [1].
struct RandomModel {
  Scope root = Scope::NewRootScope();
  Output u, t, v;
  Operation init;
  RandomModel() {
    u = ops::RandomUniform(root.WithOpName("u"), ops::Const(root, {8}), DT_FLOAT,
                           ops::RandomUniform::Seed(11).Seed2(3));
    t = ops::TruncatedNormal(root.WithOpName("t"), ops::Const(root, {8}), DT_FLOAT);
    v = ops::Variable(root.WithOpName("v"), {1}, DT_FLOAT);
    ops::Assign(root, v, Input(test::FloatTensor({1}, {4.f})));
    init = GlobalVariablesInitializer(root);
  }
  std::unique_ptr<Session> NewSession() {
    auto s = Session::Create(root);
    EXPECT_TRUE(s.ok()) << s.status();
    EXPECT_TRUE((*s)->Run({init}).ok());
    return std::move(*s);
  }
};

// N runs, save, M more; a fresh session restored from the checkpoint draws the same M tensors
// bit for bit, and a session never restored starts again at run 0.
TEST(Checkpoint, ARestoredSessionContinuesTheRandomStreams) {
  const std::string path = TempPath("random_streams.ckpt");
  RandomModel model;
  const int n = 3, m = 4;
  auto first = model.NewSession();
  std::vector<Tensor> at_start = Fetch(*first, {model.u, model.t});
  for (int r = 1; r < n; ++r) Fetch(*first, {model.u, model.t});
  absl::Status st = SaveCheckpoint(*first, path);
  ASSERT_TRUE(st.ok()) << st;
  std::vector<std::vector<Tensor>> straight;
  for (int r = 0; r < m; ++r) straight.push_back(Fetch(*first, {model.u, model.t}));

  auto restored = model.NewSession();
  st = RestoreCheckpoint(*restored, path);
  ASSERT_TRUE(st.ok()) << st;
  for (int r = 0; r < m; ++r) {
    std::vector<Tensor> again = Fetch(*restored, {model.u, model.t});
    EXPECT_TRUE(SameBits(again[0], straight[r][0])) << "RandomUniform, run " << n + r;
    EXPECT_TRUE(SameBits(again[1], straight[r][1])) << "TruncatedNormal, run " << n + r;
  }

  auto never_restored = model.NewSession();
  EXPECT_TRUE(SameBits(Fetch(*never_restored, {model.u})[0], at_start[0]));
}

// Restoring makes the session's streams the checkpoint's: one that had not started when the
// checkpoint was saved starts again at run 0.
TEST(Checkpoint, AStreamAbsentFromTheCheckpointRestarts) {
  const std::string path = TempPath("no_streams.ckpt");
  RandomModel model;
  auto session = model.NewSession();
  ASSERT_TRUE(SaveCheckpoint(*session, path).ok());  // Before u ever ran.
  const Tensor run0 = Fetch(*session, {model.u})[0];
  Fetch(*session, {model.u});
  ASSERT_TRUE(RestoreCheckpoint(*session, path).ok());
  EXPECT_TRUE(SameBits(Fetch(*session, {model.u})[0], run0));
}

// A restore that fails (here on a variable's shape) changes no variable and no random state.
TEST(Checkpoint, AFailedRestoreChangesNoRandomState) {
  const std::string path = TempPath("bad_v.ckpt");
  Checkpoint checkpoint;
  Checkpoint::Variable* v = checkpoint.add_variable();
  v->set_name("v");
  test::FloatTensor({2}, {1.f, 2.f}).ToProto(v->mutable_value());
  Checkpoint::Variable* rng = checkpoint.add_variable();
  rng->set_name("_rng_state/u");
  Tensor(DT_INT64, TensorShape({0})).ToProto(rng->mutable_value());  // Would restart u.
  ASSERT_TRUE(WriteProtoFile(path, checkpoint, ProtoFormat::kBinary).ok());

  RandomModel model;
  auto reference = model.NewSession();
  auto session = model.NewSession();
  Fetch(*reference, {model.u});
  Fetch(*session, {model.u});
  absl::Status st = RestoreCheckpoint(*session, path);
  EXPECT_TRUE(absl::StrContains(st.message(), "shape [2] for variable v")) << st;
  test::ExpectTensorNear(Fetch(*session, {model.v})[0], {1}, {4.f});
  EXPECT_TRUE(SameBits(Fetch(*session, {model.u})[0], Fetch(*reference, {model.u})[0]));

  // A malformed random state fails naming the node, and changes nothing either.
  v->clear_value();
  test::FloatTensor({1}, {9.f}).ToProto(v->mutable_value());
  test::FloatTensor({2}, {1.f, 2.f}).ToProto(rng->mutable_value());
  ASSERT_TRUE(WriteProtoFile(path, checkpoint, ProtoFormat::kBinary).ok());
  st = RestoreCheckpoint(*session, path);
  EXPECT_TRUE(absl::StrContains(st.message(), "float [2] for the random state of u")) << st;
  test::ExpectTensorNear(Fetch(*session, {model.v})[0], {1}, {4.f});
  EXPECT_TRUE(SameBits(Fetch(*session, {model.u})[0], Fetch(*reference, {model.u})[0]));
}

// Names select random states too ("_rng_state/<node>"); variables are not saved then.
TEST(Checkpoint, SavesAndRestoresANamedRandomState) {
  const std::string path = TempPath("only_u.ckpt");
  RandomModel model;
  auto first = model.NewSession();
  Fetch(*first, {model.u});
  ASSERT_TRUE(SaveCheckpoint(*first, path, {"_rng_state/u"}).ok());
  const Tensor next = Fetch(*first, {model.u})[0];

  auto second = model.NewSession();
  absl::Status st = RestoreCheckpoint(*second, path);
  EXPECT_TRUE(absl::StrContains(st.message(), "no value for variable v")) << st;
  ASSERT_TRUE(RestoreCheckpoint(*second, path, {"_rng_state/u"}).ok());
  EXPECT_TRUE(SameBits(Fetch(*second, {model.u})[0], next));
  st = RestoreCheckpoint(*second, path, {"_rng_state/t"});
  EXPECT_TRUE(absl::StrContains(st.message(), "no random state for node t")) << st;
  st = SaveCheckpoint(*second, path, {"_rng_state/nope"});
  EXPECT_TRUE(absl::StrContains(st.message(), "no node named 'nope'")) << st;
}

// Graphs written before random states were session state aliased a stream with a VariableV2
// whose shared_name is "_rng_state/<node>". Such a graph still runs, and its checkpoints hold
// the stream once, as the random state, not also as that variable.
TEST(Checkpoint, AnOldGraphsAliasVariableIsNotSavedTwice) {
  const std::string path = TempPath("old_alias.ckpt");
  RandomModel model;
  Node* alias = AddOp(model.root.WithOpName("dropout_random_state"), "VariableV2", {},
                      {{"shape", MakeAttr(PartialTensorShape::Unknown())},
                       {"dtype", MakeAttr(DT_INT64)},
                       {"shared_name", MakeAttr(std::string("_rng_state/u"))}});
  ASSERT_NE(alias, nullptr);
  ops::Assign(model.root, Output(alias, 0), Input(Tensor(DT_INT64, TensorShape({0}))),
              ops::Assign::ValidateShape(false));
  model.init = GlobalVariablesInitializer(model.root);
  auto first = model.NewSession();
  Fetch(*first, {model.u});
  ASSERT_TRUE(SaveCheckpoint(*first, path).ok());
  const Tensor next = Fetch(*first, {model.u})[0];

  absl::StatusOr<NamedTensors> tensors = ReadTensorBundle(path);
  ASSERT_TRUE(tensors.ok()) << tensors.status();
  int entries = 0;
  for (const auto& [name, state] : *tensors) {
    if (name != "_rng_state/u") continue;
    ++entries;
    ASSERT_EQ(state.shape(), TensorShape({2}));
    EXPECT_EQ(state.flat<int64_t>()[1], 1);  // Runs so far.
  }
  EXPECT_EQ(entries, 1);
  auto second = model.NewSession();
  ASSERT_TRUE(RestoreCheckpoint(*second, path).ok());
  EXPECT_TRUE(SameBits(Fetch(*second, {model.u})[0], next));
}

// Saves write TensorFlow's two files and name the prefix in the folder's state file, which
// restoring from the folder follows to the newest checkpoint.
TEST(Checkpoint, SavesTensorFlowsFilesAndTheStateFile) {
  const std::string dir = test::TempDir("state_file");
  Model m({1.f, 2.f}, 3.f);
  auto s = m.NewSession(true);
  ASSERT_TRUE(SaveCheckpoint(*s, dir + "/model.ckpt-1").ok());
  Model later({5.f, 6.f}, 3.f);
  ASSERT_TRUE(SaveCheckpoint(*later.NewSession(true), dir + "/model.ckpt-2").ok());
  for (const char* f : {"model.ckpt-1.index", "model.ckpt-1.data-00000-of-00001",
                        "model.ckpt-2.index", "model.ckpt-2.data-00000-of-00001"}) {
    EXPECT_TRUE(std::ifstream(dir + "/" + f).good()) << f;
  }
  const std::string state = test::ReadFileBytes(dir + "/checkpoint");
  EXPECT_TRUE(absl::StartsWith(state,
                               "model_checkpoint_path: \"model.ckpt-2\"\n"
                               "all_model_checkpoint_paths: \"model.ckpt-1\"\n"
                               "all_model_checkpoint_paths: \"model.ckpt-2\"\n"
                               "all_model_checkpoint_timestamps: "))
      << state;
  absl::StatusOr<std::string> latest = LatestCheckpoint(dir);
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ(*latest, dir + "/model.ckpt-2");

  Model fresh({0.f, 0.f}, 0.f);
  auto s2 = fresh.NewSession(false);
  ASSERT_TRUE(RestoreCheckpoint(*s2, dir).ok());
  test::ExpectTensorNear(Fetch(*s2, {fresh.a})[0], {2}, {5.f, 6.f});
  ASSERT_TRUE(RestoreCheckpoint(*s2, dir + "/model.ckpt-1.index").ok());  // The index file too.
  test::ExpectTensorNear(Fetch(*s2, {fresh.a})[0], {2}, {1.f, 2.f});

  // A state file as TensorFlow writes it (absolute path, timestamps) is read too.
  std::ofstream(dir + "/checkpoint")
      << "model_checkpoint_path: \"" << dir << "/model.ckpt-2\"\n"
      << "all_model_checkpoint_paths: \"" << dir << "/model.ckpt-2\"\n"
      << "all_model_checkpoint_timestamps: 1577836800.5\nlast_preserved_timestamp: 1577836000.25\n";
  latest = LatestCheckpoint(dir);
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ(*latest, dir + "/model.ckpt-2");
  std::ofstream(dir + "/checkpoint") << "model_checkpoint_path: \"gone.ckpt\"\n";
  absl::Status st = RestoreCheckpoint(*s2, dir);
  EXPECT_TRUE(absl::StrContains(st.message(), "gone.ckpt.index' does not exist")) << st;
  st = RestoreCheckpoint(*s2, test::TempDir("no_state"));
  EXPECT_TRUE(absl::StrContains(st.message(), "no checkpoint state file")) << st;
}

// One flipped bit in b's bytes: the restore fails naming b and the data file, and a, whose bytes
// are intact and which comes first, is not restored either.
TEST(Checkpoint, ACorruptTensorFailsTheWholeRestore) {
  const std::string path = TempPath("flipped.ckpt");
  Model saved({1.f, 2.f}, 3.f);
  auto s1 = saved.NewSession(true);
  ASSERT_TRUE(SaveCheckpoint(*s1, path).ok());
  const std::string data_path = path + ".data-00000-of-00001";
  std::string data = test::ReadFileBytes(data_path);
  ASSERT_EQ(data.size(), 12u);  // a [2] then b [1], floats.
  data[9] ^= 0x10;
  std::ofstream(data_path, std::ios::binary | std::ios::trunc) << data;

  Model target({9.f, 9.f}, 9.f);
  auto s2 = target.NewSession(true);
  absl::Status st = RestoreCheckpoint(*s2, path);
  EXPECT_TRUE(absl::StrContains(st.message(), "tensor 'b' fails its checksum")) << st;
  EXPECT_TRUE(absl::StrContains(st.message(), data_path)) << st;
  std::vector<Tensor> v = Fetch(*s2, {target.a, target.b});
  test::ExpectTensorNear(v[0], {2}, {9.f, 9.f});
  test::ExpectTensorNear(v[1], {1}, {9.f});
}

TEST(Checkpoint, ADtypeMismatchNamesTheVariable) {
  const std::string path = TempPath("int_a.ckpt");
  Scope root = Scope::NewRootScope();
  Output a = ops::Variable(root.WithOpName("a"), {2}, DT_INT32);
  ops::Assign(root, a, Input(test::Make<int32_t>({2}, {1, 2})));
  Operation init = GlobalVariablesInitializer(root);
  auto s1 = Session::Create(root);
  ASSERT_TRUE(s1.ok() && (*s1)->Run({init}).ok());
  ASSERT_TRUE(SaveCheckpoint(**s1, path).ok());
  Model target({9.f, 9.f}, 9.f);
  auto s2 = target.NewSession(true);
  absl::Status st = RestoreCheckpoint(*s2, path, {"a"});
  EXPECT_TRUE(absl::StrContains(st.message(), "holds int32 for variable a, which is float")) << st;
  test::ExpectTensorNear(Fetch(*s2, {target.a})[0], {2}, {9.f, 9.f});
}

// A save removes the temporaries that a killed writer of the same prefix left behind.
TEST(Checkpoint, ASaveRemovesStaleTemporaries) {
  const std::string dir = test::TempDir("stale_save");
  const pid_t child = fork();
  if (child == 0) _exit(0);
  ASSERT_GT(child, 0);
  ASSERT_EQ(waitpid(child, nullptr, 0), child);
  const std::string stale = dir + "/m.ckpt.data-00000-of-00001.tmp." + std::to_string(child);
  const std::string stale_state = dir + "/checkpoint.tmp." + std::to_string(child);
  std::ofstream(stale) << std::string(1000, 'x');
  std::ofstream(stale_state) << "x";
  Model m({1.f, 2.f}, 3.f);
  auto s = m.NewSession(true);
  ASSERT_TRUE(SaveCheckpoint(*s, dir + "/m.ckpt").ok());
  EXPECT_FALSE(std::ifstream(stale).good());
  EXPECT_FALSE(std::ifstream(stale_state).good());
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    EXPECT_FALSE(absl::StrContains(e.path().string(), ".tmp.")) << e.path();
    ++files;
  }
  EXPECT_EQ(files, 3);  // m.ckpt.index, m.ckpt.data-00000-of-00001, checkpoint.
}

// dflow's first format, one binary Checkpoint proto, written by hand here, still restores;
// a name listed twice is refused.
TEST(Checkpoint, AnOldFormatFileStillRestores) {
  const std::string path = TempPath("old_format.ckpt");
  Checkpoint checkpoint;
  Checkpoint::Variable* a = checkpoint.add_variable();
  a->set_name("a");
  test::FloatTensor({2}, {3.f, 4.f}).ToProto(a->mutable_value());
  Checkpoint::Variable* b = checkpoint.add_variable();
  b->set_name("b");
  test::FloatTensor({1}, {5.f}).ToProto(b->mutable_value());
  ASSERT_TRUE(WriteProtoFile(path, checkpoint, ProtoFormat::kBinary).ok());
  Model target({9.f, 9.f}, 9.f);
  auto s = target.NewSession(true);
  absl::Status st = RestoreCheckpoint(*s, path);
  ASSERT_TRUE(st.ok()) << st;
  std::vector<Tensor> v = Fetch(*s, {target.a, target.b});
  test::ExpectTensorNear(v[0], {2}, {3.f, 4.f});
  test::ExpectTensorNear(v[1], {1}, {5.f});

  *checkpoint.add_variable() = *a;
  ASSERT_TRUE(WriteProtoFile(path, checkpoint, ProtoFormat::kBinary).ok());
  st = RestoreCheckpoint(*s, path);
  EXPECT_TRUE(absl::StrContains(st.message(), "lists 'a' twice")) << st;
}

// The tensorflow/rust regression SavedModel's variables, written by TensorFlow 1.7, restore into
// a graph's variables w and b with the values its README states (b = 0, w = -0.5107).
TEST(Checkpoint, RestoresATensorFlowWrittenCheckpoint) {
  const std::string shared = test::SharedDir();
  if (shared.empty()) GTEST_SKIP() << "DFLOW_SHARED_DIR not set";
  Scope root = Scope::NewRootScope();
  Output w = ops::Variable(root.WithOpName("w"), {1}, DT_FLOAT);
  Output b = ops::Variable(root.WithOpName("b"), {1}, DT_FLOAT);
  auto s = Session::Create(root);
  ASSERT_TRUE(s.ok()) << s.status();
  absl::Status st = RestoreCheckpoint(
      **s, shared + "/tf_graphs/corpus/files/tfrust_regression_savedmodel/variables/variables");
  ASSERT_TRUE(st.ok()) << st;
  std::vector<Tensor> v = Fetch(**s, {w, b});
  test::ExpectTensorNear(v[0], {1}, {-0.5107f}, 1e-4f);
  test::ExpectTensorNear(v[1], {1}, {0.f});
}

}  // namespace
}  // namespace dflow
