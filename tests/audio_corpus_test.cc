// The corpus' speech_commands graph (agent007_speech_commands_wav, ../shared/tf_graphs/corpus)
// run from its WAV bytes: the graph's own DecodeWav -> AudioSpectrogram -> Mfcc front end must
// give the MFCCs of tests/reference.h's direct-DFT spectrogram and explicit-triangle filterbank
// over samples this test reads from the file by hand, and the model's softmax from the WAV must
// equal the softmax of those reference MFCCs fed past the front end (at the graph's `Reshape`,
// as the agent007_speech_commands_fingerprint case feeds it). That case's input is random
// (normal * 5, its case.json says), not this WAV's fingerprint, so there is nothing of it to
// reproduce; the oracle (TensorFlow.js) lacks the audio ops. So a numpy front end's fingerprint
// of this WAV and TensorFlow.js's softmax for it (fed at Reshape) are kept in
// tests/testdata/audio (README there): dflow's Mfcc and softmax from the WAV must match them too.
// Skipped when ../shared is absent.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "graph/attr_value_util.h"
#include "graph/graph_def_io.h"
#include "gtest/gtest.h"
#include "runtime/session.h"
#include "tests/reference.h"
#include "tests/test_util.h"
#include "tools/tensor_io.h"

namespace dflow {
namespace test {
namespace {

uint32_t Le(const std::string& b, size_t at, int bytes) {
  uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[at + i]);
  return v;
}

// The one node of op `op` in the graph, or null.
const Node* NodeOfOp(const Graph& g, const std::string& op) {
  const Node* found = nullptr;
  for (const Node* n : g.nodes()) {
    if (n->op() == op) {
      EXPECT_EQ(found, nullptr) << "two " << op << " nodes";
      found = n;
    }
  }
  return found;
}

int64_t IntAttr(const Node* n, const char* name) {
  int64_t v = -1;
  EXPECT_TRUE(GetNodeAttr(*n, name, &v).ok()) << n->name() << " " << name;
  return v;
}

TEST(AudioCorpusTest, SpeechCommandsFromWavMatchesTheReferenceFrontEnd) {
  if (SharedDir().empty()) GTEST_SKIP() << "DFLOW_SHARED_DIR is not set";
  const std::string corpus = SharedDir() + "/tf_graphs/corpus";
  const std::string graph_file = corpus + "/files/agent007_speech_commands_conv_frozen_graph.pb";
  const std::string wav_file = corpus + "/cases/agent007_speech_commands_wav/inputs/wav_data.npy";
  if (ReadFileBytes(graph_file).empty() || ReadFileBytes(wav_file).empty()) {
    GTEST_SKIP() << "the speech_commands corpus case is absent";
  }
  GraphDef def;
  ASSERT_TRUE(ReadGraphDefFile(graph_file, &def).ok());
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(def);
  ASSERT_TRUE(session.ok()) << session.status();
  absl::StatusOr<LoadedTensor> wav = ReadTensorFile(wav_file);
  ASSERT_TRUE(wav.ok()) << wav.status();
  ASSERT_EQ(wav->tensor.dtype(), DT_STRING);
  const std::string bytes = wav->tensor.flat<std::string>()[0];

  // The file by hand: a canonical 44-byte header, mono 16-bit PCM at 16 kHz, then the samples.
  ASSERT_GE(bytes.size(), 44u);
  ASSERT_EQ(bytes.substr(0, 4), "RIFF");
  ASSERT_EQ(bytes.substr(8, 8), "WAVEfmt ");
  ASSERT_EQ(Le(bytes, 16, 4), 16u);     // fmt size
  ASSERT_EQ(Le(bytes, 20, 2), 1u);      // PCM
  ASSERT_EQ(Le(bytes, 22, 2), 1u);      // mono
  ASSERT_EQ(Le(bytes, 24, 4), 16000u);  // rate
  ASSERT_EQ(Le(bytes, 34, 2), 16u);     // bits
  ASSERT_EQ(bytes.substr(36, 4), "data");
  const uint32_t data_size = Le(bytes, 40, 4);
  ASSERT_EQ(44 + data_size, bytes.size());

  // The front end's settings, from the graph.
  const Graph& g = (*session)->graph();
  const Node* decode = NodeOfOp(g, "DecodeWav");
  const Node* spectrogram = NodeOfOp(g, "AudioSpectrogram");
  const Node* mfcc = NodeOfOp(g, "Mfcc");
  ASSERT_TRUE(decode != nullptr && spectrogram != nullptr && mfcc != nullptr);
  const int64_t desired = IntAttr(decode, "desired_samples");
  ASSERT_EQ(IntAttr(decode, "desired_channels"), 1);
  const int64_t window = IntAttr(spectrogram, "window_size");
  const int64_t stride = IntAttr(spectrogram, "stride");
  bool squared = false;
  ASSERT_TRUE(GetNodeAttr(*spectrogram, "magnitude_squared", &squared).ok());
  float lower = 0, upper = 0;
  ASSERT_TRUE(GetNodeAttr(*mfcc, "lower_frequency_limit", &lower).ok());
  ASSERT_TRUE(GetNodeAttr(*mfcc, "upper_frequency_limit", &upper).ok());
  const int64_t channels = IntAttr(mfcc, "filterbank_channel_count");
  const int64_t dct = IntAttr(mfcc, "dct_coefficient_count");
  // speech_commands' defaults: 1 s, 30 ms windows every 10 ms, 40 coefficients.
  EXPECT_EQ(desired, 16000);
  EXPECT_EQ(window, 480);
  EXPECT_EQ(stride, 160);
  EXPECT_TRUE(squared);
  EXPECT_EQ(dct, 40);

  std::vector<float> samples(desired, 0.f);  // Cut or zero-padded to desired_samples.
  for (int64_t i = 0; i < desired && 2 * i + 1 < data_size; ++i) {
    samples[i] = static_cast<int16_t>(Le(bytes, 44 + 2 * i, 2)) / 32768.0f;
  }
  int64_t fft = 1;
  while (fft < window) fft *= 2;
  const int64_t bins = fft / 2 + 1;
  const std::vector<double> power = SpectrogramRef(samples, window, stride, fft, squared);
  const int64_t frames = static_cast<int64_t>(power.size()) / bins;
  std::vector<float> power_f(power.begin(), power.end());
  std::vector<double> want_mfcc;
  for (int64_t f = 0; f < frames; ++f) {
    const std::vector<double> v =
        MfccRef(power_f.data() + f * bins, bins, 16000, lower, upper, channels, dct);
    want_mfcc.insert(want_mfcc.end(), v.begin(), v.end());
  }

  Tensor fed(DT_STRING, TensorShape());
  fed.flat<std::string>()[0] = bytes;
  std::vector<Tensor> out;
  absl::Status s = (*session)->Run({{"wav_data", fed}}, {mfcc->name(), "labels_softmax"}, {}, &out);
  ASSERT_TRUE(s.ok()) << s;
  ASSERT_EQ(out[0].shape(), TensorShape({1, frames, dct}));
  ExpectNear(ValuesOf<float>(out[0]), want_mfcc, 1e-4, "Mfcc");

  // The reference fingerprint fed past the front end gives the same softmax.
  Tensor fingerprint(DT_FLOAT, TensorShape({1, frames * dct}));
  for (size_t i = 0; i < want_mfcc.size(); ++i) {
    fingerprint.flat<float>()[i] = static_cast<float>(want_mfcc[i]);
  }
  std::vector<Tensor> from_fingerprint;
  s = (*session)->Run({{"Reshape", fingerprint}}, {"labels_softmax"}, {}, &from_fingerprint);
  ASSERT_TRUE(s.ok()) << s;
  ASSERT_EQ(out[1].shape(), TensorShape({1, 12}));
  std::vector<double> want_softmax;
  for (float v : ValuesOf<float>(from_fingerprint[0])) want_softmax.push_back(v);
  ExpectNear(ValuesOf<float>(out[1]), want_softmax, 1e-5, "labels_softmax");

  // The independent references of tests/testdata/audio: numpy's fingerprint, TensorFlow.js's
  // softmax for it (the corpus' tolerance for labels_softmax: rtol 1e-4, atol 1e-5).
  absl::StatusOr<LoadedTensor> numpy_mfcc =
      ReadTensorFile("tests/testdata/audio/speech_commands_wav_fingerprint.npy");
  ASSERT_TRUE(numpy_mfcc.ok()) << numpy_mfcc.status();
  ASSERT_EQ(numpy_mfcc->tensor.NumElements(), out[0].NumElements());
  std::vector<double> numpy_values;
  for (float v : ValuesOf<float>(numpy_mfcc->tensor)) numpy_values.push_back(v);
  ExpectNear(ValuesOf<float>(out[0]), numpy_values, 1e-4, "Mfcc vs numpy");
  absl::StatusOr<LoadedTensor> oracle =
      ReadTensorFile("tests/testdata/audio/speech_commands_wav_labels_softmax.npy");
  ASSERT_TRUE(oracle.ok()) << oracle.status();
  ASSERT_EQ(oracle->tensor.shape(), out[1].shape());
  for (int64_t i = 0; i < out[1].NumElements(); ++i) {
    const double want = oracle->tensor.flat<float>()[i];
    EXPECT_NEAR(out[1].flat<float>()[i], want, 1e-5 + 1e-4 * std::fabs(want)) << "class " << i;
  }
  double total = 0;
  for (float v : ValuesOf<float>(out[1])) total += v;
  EXPECT_NEAR(total, 1.0, 1e-5);
}

// The agent007_speech_commands_fingerprint case row by row: its [2, 3920] feed at Reshape no
// longer fits the static shape [1, 3920] the audio ops' shape functions give (corpus_test lists
// the case), but each row does, and must give that row of TensorFlow.js's outputs.
TEST(AudioCorpusTest, FingerprintCaseRowByRowMatchesTheOracle) {
  if (SharedDir().empty()) GTEST_SKIP() << "DFLOW_SHARED_DIR is not set";
  const std::string corpus = SharedDir() + "/tf_graphs/corpus";
  const std::string dir = corpus + "/cases/agent007_speech_commands_fingerprint/";
  const std::string graph_file = corpus + "/files/agent007_speech_commands_conv_frozen_graph.pb";
  if (ReadFileBytes(graph_file).empty() || ReadFileBytes(dir + "inputs/Reshape.npy").empty()) {
    GTEST_SKIP() << "the speech_commands corpus case is absent";
  }
  GraphDef def;
  ASSERT_TRUE(ReadGraphDefFile(graph_file, &def).ok());
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(def);
  ASSERT_TRUE(session.ok()) << session.status();
  absl::StatusOr<LoadedTensor> input = ReadTensorFile(dir + "inputs/Reshape.npy");
  absl::StatusOr<LoadedTensor> softmax = ReadTensorFile(dir + "expected/labels_softmax.npy");
  absl::StatusOr<LoadedTensor> logits = ReadTensorFile(dir + "expected/add_2.npy");
  ASSERT_TRUE(input.ok() && softmax.ok() && logits.ok());
  const int64_t rows = input->tensor.dim_size(0), width = input->tensor.dim_size(1);
  ASSERT_EQ(width, 3920);
  for (int64_t r = 0; r < rows; ++r) {
    Tensor row(DT_FLOAT, TensorShape({1, width}));
    std::copy_n(input->tensor.flat<float>().data() + r * width, width, row.flat<float>().data());
    std::vector<Tensor> out;
    absl::Status s = (*session)->Run({{"Reshape", row}}, {"labels_softmax", "add_2"}, {}, &out);
    ASSERT_TRUE(s.ok()) << s;
    // The case's tolerances: labels_softmax rtol 1e-4 atol 1e-5, add_2 rtol 1e-4 atol 1e-4.
    for (int64_t k = 0; k < 12; ++k) {
      const double p = softmax->tensor.flat<float>()[r * 12 + k];
      const double z = logits->tensor.flat<float>()[r * 12 + k];
      EXPECT_NEAR(out[0].flat<float>()[k], p, 1e-5 + 1e-4 * std::fabs(p)) << r << "," << k;
      EXPECT_NEAR(out[1].flat<float>()[k], z, 1e-4 + 1e-4 * std::fabs(z)) << r << "," << k;
    }
  }
}

}  // namespace
}  // namespace test
}  // namespace dflow
