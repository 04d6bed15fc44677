// The Saver ops (SaveV2, RestoreV2, MergeV2Checkpoints) and strings in V2 checkpoints, against
// bytes decoded by hand (TensorFlow's string encoding: varint64 lengths, masked crc32c of the
// lengths as uint32s, bytes), and TensorFlow-written graphs saving and restoring through their
// own save/ subgraph (the corpus's SavedModels, DFLOW_SHARED_DIR).
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "kernels/crc32c.h"
#include "kernels/tensor_bundle.h"
#include "kernels/tensor_bundle_strings.h"
#include "ops/standard_ops.h"
#include "runtime/checkpoint.h"
#include "runtime/saved_model.h"
#include "tests/test_util.h"

namespace dflow {
namespace {

Tensor Strings(const TensorShape& shape, std::vector<std::string> values) {
  return *Tensor::FromVector<std::string>(values, shape);
}

uint32_t Le32(const std::string& s, size_t at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

TEST(Crc32c, KnownVectors) {
  // RFC 3720's check value and the all-zero 32-byte vector.
  EXPECT_EQ(crc32c::Value("123456789", 9), 0xE3069283u);
  EXPECT_EQ(crc32c::Value(std::string(32, '\0').data(), 32), 0x8A9136AAu);
}

TEST(SaveV2, StringTensorBytesAreTensorFlowsEncoding) {
  const std::string dir = test::TempDir("saver_strings");
  const std::string prefix = dir + "/ck";
  Scope root = Scope::NewRootScope();
  auto save = ops::SaveV2(root, ops::Const(root, Tensor::Scalar<std::string>(prefix)),
                          ops::Const(root, Strings({2}, {"s", "f"})),
                          ops::Const(root, Strings({2}, {"", ""})),
                          {ops::Const(root, Strings({2}, {"ab", ""})),
                           ops::Const(root, test::FloatTensor({1}, {1.5f}))});
  ASSERT_TRUE(root.ok()) << root.status();
  ASSERT_TRUE(test::NewSession(root)->Run({}, {}, {save}, nullptr).ok());
  // Data in input order: s (lengths, their checksum, bytes) at 0, then f's 4 bytes of 1.5f.
  const std::string data = test::ReadFileBytes(prefix + ".data-00000-of-00001");
  ASSERT_EQ(data.size(), 2u + 4 + 2 + 4);
  EXPECT_EQ(data.substr(0, 2), std::string("\x02\x00", 2)) << "varint64 lengths 2 and 0";
  // The lengths' checksum covers them as little-endian uint32s, not as varints.
  const std::string lengths("\x02\x00\x00\x00\x00\x00\x00\x00", 8);
  const uint32_t length_crc = crc32c::Value(lengths.data(), 8);
  EXPECT_EQ(Le32(data, 2), crc32c::Mask(length_crc));
  EXPECT_EQ(data.substr(6, 2), "ab");
  EXPECT_EQ(data.substr(8, 4), std::string("\x00\x00\xc0\x3f", 4));
  // The entry's crc: lengths (as uint32s), the 4 checksum bytes, the strings' bytes.
  const std::string covered = lengths + data.substr(2, 4) + "ab";
  const uint32_t entry_crc = crc32c::Value(covered.data(), covered.size());

  absl::StatusOr<NamedTensors> read = ReadTensorBundle(prefix);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), 2u);
  EXPECT_EQ((*read)[1].first, "s");
  EXPECT_EQ((*read)[1].second.flat<std::string>()[0], "ab");
  EXPECT_EQ((*read)[1].second.flat<std::string>()[1], "");
  // The same crc, recomputed by the decoder from the masked value the index holds.
  EXPECT_TRUE(DecodeStringTensor(data.substr(0, 8), TensorShape({2}), crc32c::Mask(entry_crc)).ok());
  EXPECT_FALSE(
      DecodeStringTensor(data.substr(0, 8), TensorShape({2}), crc32c::Mask(entry_crc ^ 1)).ok());

  // A flipped string byte is caught and named.
  std::string corrupt = data;
  corrupt[6] = 'x';
  std::ofstream(prefix + ".data-00000-of-00001", std::ios::binary) << corrupt;
  absl::StatusOr<NamedTensors> bad = ReadTensorBundle(prefix);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "'s'")) << bad.status();
}

TEST(SaveV2, RestoreV2AndMergeV2Checkpoints) {
  const std::string dir = test::TempDir("saver_merge");
  Scope root = Scope::NewRootScope();
  auto prefix = ops::Placeholder(root.WithOpName("prefix"), DT_STRING);
  auto part = ops::ShardedFilename(
      root, ops::StringJoin(root, {prefix, ops::Const(root, Tensor::Scalar<std::string>("_temp/part"))}),
      0, 1);
  auto save = ops::SaveV2(root.WithOpName("save"), part, ops::Const(root, Strings({2}, {"a", "n"})),
                          ops::Const(root, Strings({2}, {"", ""})),
                          {ops::Const(root, test::FloatTensor({2}, {1, 2})),
                           ops::Const(root, Strings({}, {"name"}))});
  auto merge = ops::MergeV2Checkpoints(
      root.WithOpName("merge").WithControlDependencies({save}),
      ops::Pack(root, {part}), prefix);
  auto restored = ops::RestoreV2(root.WithOpName("restore"), prefix,
                                 ops::Const(root, Strings({2}, {"n", "a"})),
                                 ops::Const(root, Strings({2}, {"", ""})), {DT_STRING, DT_FLOAT});
  auto sliced = ops::RestoreV2(root.WithOpName("sliced"), prefix,
                               ops::Const(root, Strings({1}, {"a"})),
                               ops::Const(root, Strings({1}, {"2 0,1"})), {DT_FLOAT});
  auto wrong = ops::RestoreV2(root.WithOpName("wrong"), prefix,
                              ops::Const(root, Strings({1}, {"a"})),
                              ops::Const(root, Strings({1}, {""})), {DT_INT32});
  ASSERT_TRUE(root.ok()) << root.status();
  std::unique_ptr<Session> session = test::NewSession(root);
  const Tensor where = Tensor::Scalar<std::string>(dir + "/model");
  ASSERT_TRUE(session->Run({{"prefix", where}}, {}, {"merge"}, nullptr).ok());
  EXPECT_TRUE(BundleExists(dir + "/model"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/model_temp")) << "delete_old_dirs";
  std::vector<Tensor> out;
  ASSERT_TRUE(session->Run({{"prefix", where}}, {"restore:0", "restore:1"}, {}, &out).ok());
  EXPECT_EQ(out[0].scalar<std::string>(), "name");
  test::ExpectTensorNear(out[1], {2}, {1, 2});
  absl::Status s = session->Run({{"prefix", where}}, {"sliced:0"}, {}, &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "2 0,1")) << s;
  s = session->Run({{"prefix", where}}, {"wrong:0"}, {}, &out);
  EXPECT_TRUE(absl::StrContains(s.message(), "is float but dtypes[0] is int32")) << s;
  s = session->Run({{"prefix", Tensor::Scalar<std::string>(dir + "/none")}}, {"restore:0"}, {}, &out);
  EXPECT_FALSE(s.ok());
}

// A partitioned variable's slice spec ("full shape" then "start,length:..." per dim, as
// tf.train.Saver writes for tf.get_variable(partitioner=...)) is refused by name, writing nothing.
TEST(SaveV2, SlicedTensorsAreUnimplementedNamingTheNode) {
  const std::string dir = test::TempDir("saver_sliced");
  Scope root = Scope::NewRootScope();
  auto prefix = ops::Placeholder(root.WithOpName("prefix"), DT_STRING);
  auto save = ops::SaveV2(root.WithOpName("save/SaveV2_sliced"), prefix,
                          ops::Const(root, Strings({2}, {"whole", "part"})),
                          ops::Const(root, Strings({2}, {"", "4 2 0,2:-"})),
                          {ops::Const(root, test::FloatTensor({2}, {1, 2})),
                           ops::Const(root, test::FloatTensor({2, 2}, {1, 2, 3, 4}))});
  ASSERT_TRUE(root.ok()) << root.status();
  std::unique_ptr<Session> session = test::NewSession(root);
  absl::Status s = session->Run({{"prefix", Tensor::Scalar<std::string>(dir + "/model")}}, {},
                                {"save/SaveV2_sliced"}, nullptr);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "SaveV2 node 'save/SaveV2_sliced'")) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "shape_and_slices[1] is '4 2 0,2:-' for tensor 'part'"))
      << s;
  EXPECT_TRUE(test::FilesIn(dir).empty()) << "nothing written";
}

std::string CorpusFiles() {
  const std::string shared = test::SharedDir();
  return shared.empty() ? "" : shared + "/tf_graphs/corpus/files";
}

#define SKIP_WITHOUT_CORPUS() \
  if (CorpusFiles().empty()) GTEST_SKIP() << "DFLOW_SHARED_DIR is not set"

// The VariableV2 nodes of the scisharp example (README: 11 variables).
const std::vector<std::string>& ExampleVariables() {
  static const auto* names = new std::vector<std::string>{
      "fuel_conv1/bias", "fuel_conv1/kernel", "fuel_conv2/bias", "fuel_conv2/kernel",
      "global_step",     "logits/bias",       "logits/kernel",   "sp_conv1/bias",
      "sp_conv1/kernel", "sp_conv2/bias",     "sp_conv2/kernel"};
  return *names;
}

TEST(Saver, TensorFlowGraphSavesAndRestoresThroughItsOwnOps) {
  SKIP_WITHOUT_CORPUS();
  SavedModelBundle bundle;
  ASSERT_TRUE(LoadSavedModel({}, CorpusFiles() + "/scisharp_example1_savedmodel", {"serve"},
                             &bundle).ok());
  Session& session = *bundle.session;
  const MetaGraphDef& mg = bundle.meta_graph_def;
  ASSERT_TRUE(HasSaverRestore(mg));
  ASSERT_TRUE(HasSaverSave(mg));
  std::vector<std::string> inits;
  for (const std::string& v : ExampleVariables()) inits.push_back(v + "/Assign");
  ASSERT_TRUE(session.Run({}, {}, inits, nullptr).ok());
  std::vector<Tensor> saved;
  ASSERT_TRUE(session.Run({}, ExampleVariables(), {}, &saved).ok());

  const std::string dir = test::TempDir("saver_example1");
  const std::string prefix = dir + "/model.ckpt";
  absl::Status s = SaveThroughSaver(session, mg, prefix);
  ASSERT_TRUE(s.ok()) << s;
  // The sharded Saver's temporary folder is merged away: only the two files remain, and the
  // state file naming them (as Saver.save writes it).
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    ++files;
    const std::string name = e.path().filename().string();
    EXPECT_TRUE(absl::StartsWith(name, "model.ckpt.") || name == "checkpoint") << e.path();
  }
  EXPECT_EQ(files, 3);
  absl::StatusOr<std::string> latest = LatestCheckpoint(dir);
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ(*latest, prefix);

  // dflow's reader decodes what the graph's SaveV2 wrote: every variable, by name.
  absl::StatusOr<NamedTensors> read = ReadTensorBundle(prefix);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), ExampleVariables().size());
  for (size_t i = 0; i < read->size(); ++i) {
    EXPECT_EQ((*read)[i].first, ExampleVariables()[i]) << "sorted by name";
    ASSERT_EQ((*read)[i].second.shape(), saved[i].shape()) << (*read)[i].first;
    EXPECT_EQ((*read)[i].second.dtype(), saved[i].dtype());
  }
  EXPECT_EQ((*read)[4].second.dtype(), DT_INT64) << "global_step";
  EXPECT_EQ((*read)[5].second.shape(), TensorShape({2})) << "logits/bias: 2 classes";
  const Tensor& k = (*read)[8].second;  // sp_conv1/kernel
  for (int64_t j = 0; j < k.NumElements(); ++j) {
    ASSERT_EQ(k.flat<float>()[j], saved[8].flat<float>()[j]);
  }

  // Change every float variable (zeros through dflow's own restore), then restore through
  // save/restore_all.
  NamedTensors zeros;
  for (size_t i = 0; i < saved.size(); ++i) {
    if (saved[i].dtype() != DT_FLOAT) continue;
    zeros.emplace_back(ExampleVariables()[i], Tensor::Filled<float>(saved[i].shape(), 0.f));
  }
  ASSERT_TRUE(WriteTensorBundle(dir + "/zeros", zeros).ok());
  std::vector<std::string> float_names;
  for (const auto& [name, t] : zeros) float_names.push_back(name);
  ASSERT_TRUE(RestoreCheckpoint(session, dir + "/zeros", float_names).ok());
  std::vector<Tensor> now;
  ASSERT_TRUE(session.Run({}, {"sp_conv1/kernel"}, {}, &now).ok());
  EXPECT_EQ(now[0].flat<float>()[0], 0.f);
  s = RestoreThroughSaver(session, mg, prefix);
  ASSERT_TRUE(s.ok()) << s;
  ASSERT_TRUE(session.Run({}, ExampleVariables(), {}, &now).ok());
  for (size_t i = 0; i < now.size(); ++i) {
    ASSERT_EQ(now[i].shape(), saved[i].shape());
    if (now[i].dtype() == DT_FLOAT) {
      for (int64_t j = 0; j < now[i].NumElements(); ++j) {
        ASSERT_EQ(now[i].flat<float>()[j], saved[i].flat<float>()[j]) << ExampleVariables()[i];
      }
    }
  }
  s = RestoreThroughSaver(session, mg, dir + "/missing");
  EXPECT_TRUE(absl::StrContains(s.message(), "save/restore_all")) << s;
}

TEST(Saver, RestoresTensorFlowsCheckpointThroughTheGraphsRestoreV2) {
  SKIP_WITHOUT_CORPUS();
  const std::string model = CorpusFiles() + "/tfserving_saved_model_counter";
  SavedModel sm;
  ASSERT_TRUE(ReadSavedModel(model, &sm).ok());
  const MetaGraphDef& mg = sm.meta_graphs(0);
  ASSERT_TRUE(HasSaverRestore(mg));
  absl::StatusOr<std::unique_ptr<Session>> session = CreateSessionFromMetaGraph({}, mg);
  ASSERT_TRUE(session.ok()) << session.status();
  std::vector<Tensor> out;
  EXPECT_FALSE((*session)->Run({}, {"counter"}, {}, &out).ok()) << "uninitialized before";
  absl::Status s = RestoreThroughSaver(**session, mg, model + "/variables/variables");
  ASSERT_TRUE(s.ok()) << s;
  ASSERT_TRUE((*session)->Run({}, {"counter"}, {}, &out).ok());
  EXPECT_EQ(out[0].scalar<float>(), 0.f) << "README: counter starts at 0.0";
  // Increment, save through save/Identity, restore into a fresh session.
  ASSERT_TRUE((*session)->Run({}, {"incr_counter_op/AssignAdd"}, {}, &out).ok());
  const std::string prefix = test::TempDir("saver_counter") + "/c";
  ASSERT_TRUE(SaveThroughSaver(**session, mg, prefix).ok());
  absl::StatusOr<std::unique_ptr<Session>> again = CreateSessionFromMetaGraph({}, mg);
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE(RestoreThroughSaver(**again, mg, prefix).ok());
  ASSERT_TRUE((*again)->Run({}, {"counter"}, {}, &out).ok());
  EXPECT_EQ(out[0].scalar<float>(), 1.f);
}

}  // namespace
}  // namespace dflow
