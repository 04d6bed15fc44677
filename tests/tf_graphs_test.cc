// Graphs written by real TensorFlow 1.x (../shared/tf_graphs) load and run with the expected
// results. Skipped when ../shared is absent.
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "graph/graph_def_io.h"
#include "gtest/gtest.h"
#include "runtime/session.h"
#include "tests/test_util.h"
#include "tools/mnist_data.h"

namespace dflow {
namespace {

class TfGraphs : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::SharedDir();
    if (dir_.empty()) GTEST_SKIP() << "DFLOW_SHARED_DIR is not set; skipping real TensorFlow graphs";
    dir_ += "/tf_graphs/";
  }
  std::unique_ptr<Session> Load(const std::string& file) {
    GraphDef def;
    absl::Status s = ReadGraphDefFile(dir_ + file, &def);
    EXPECT_TRUE(s.ok()) << s;
    absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(def);
    EXPECT_TRUE(session.ok()) << session.status();
    return session.ok() ? std::move(*session) : nullptr;
  }
  std::string dir_;
};

TEST_F(TfGraphs, FazibearBinaryAndTextBothComputeThirty) {
  for (const char* file : {"fazibear_graph.pb", "fazibear_graph.pbtxt"}) {
    std::unique_ptr<Session> s = Load(file);
    ASSERT_NE(s, nullptr);
    std::vector<Tensor> out;
    ASSERT_TRUE(s->Run({}, {}, {"init"}, &out).ok());
    absl::Status st = s->Run({}, {"c"}, {}, &out);
    ASSERT_TRUE(st.ok()) << st;
    EXPECT_EQ(out[0].dtype(), DT_FLOAT);
    EXPECT_EQ(out[0].scalar<float>(), 30.0f) << file;
  }
}

TEST_F(TfGraphs, FazibearNeedsInitBeforeReadingVariables) {
  std::unique_ptr<Session> s = Load("fazibear_graph.pb");
  ASSERT_NE(s, nullptr);
  std::vector<Tensor> out;
  absl::Status st = s->Run({}, {"c"}, {}, &out);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(std::string(st.message()).find("uninitialized variable"), std::string::npos) << st;
}

TEST_F(TfGraphs, TfrustMultiplicationMultipliesTwoScalars) {
  std::unique_ptr<Session> s = Load("tfrust_multiplication.pb");
  ASSERT_NE(s, nullptr);
  std::vector<Tensor> out;
  absl::Status st = s->Run({{"a", Tensor::Scalar<float>(2.f)}, {"b", Tensor::Scalar<float>(3.f)}},
                           {"c"}, {}, &out);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(out[0].scalar<float>(), 6.f);
}

TEST_F(TfGraphs, TfrustAdditionAddsInt32s) {
  std::unique_ptr<Session> s = Load("tfrust_addition_tf1.pb");
  ASSERT_NE(s, nullptr);
  std::vector<Tensor> out;
  absl::Status st = s->Run({{"x", Tensor::Scalar<int32_t>(2)}, {"y", Tensor::Scalar<int32_t>(3)}},
                           {"z"}, {}, &out);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(out[0].scalar<int32_t>(), 5);
}

TEST_F(TfGraphs, TfrustRegressionTrainsToTheLineItWasMadeFrom) {
  std::unique_ptr<Session> s = Load("tfrust_regression_train.pb");
  ASSERT_NE(s, nullptr);
  // 100 points x ~ U[-1, 1], y = 0.1 x + 0.3, as the example that wrote the graph feeds them.
  Tensor x = test::RandomTensor({100}, 42, -1.f, 1.f);
  Tensor y(DT_FLOAT, TensorShape({100}));
  for (int i = 0; i < 100; ++i) y.flat<float>()[i] = 0.1f * x.flat<float>()[i] + 0.3f;
  std::vector<Tensor> out;
  ASSERT_TRUE(s->Run({}, {}, {"init"}, &out).ok());
  for (int step = 0; step < 201; ++step) {
    absl::Status st = s->Run({{"x", x}, {"y", y}}, {}, {"train"}, &out);
    ASSERT_TRUE(st.ok()) << st;
  }
  ASSERT_TRUE(s->Run({}, std::vector<std::string>{"w", "b"}, {}, &out).ok());
  EXPECT_NEAR(out[0].flat<float>()[0], 0.1f, 1e-3);
  EXPECT_NEAR(out[1].flat<float>()[0], 0.3f, 1e-3);
}

// The frozen MNIST models, scored on the 10,000 test images.
class FrozenMnist : public TfGraphs {
 protected:
  void SetUp() override {
    TfGraphs::SetUp();
    if (IsSkipped()) return;
    const char* mnist = std::getenv("MNIST_DIR");
    if (mnist == nullptr || *mnist == '\0') GTEST_SKIP() << "MNIST_DIR is not set";
    static absl::StatusOr<mnist::DataSets>* data = new absl::StatusOr<mnist::DataSets>(
        mnist::ReadDataSets(mnist));
    ASSERT_TRUE(data->ok()) << data->status();
    test_ = &(*data)->test;
  }

  // The reference predicted class of each test image.
  std::vector<int> ReferencePredictions(const std::string& model) {
    std::ifstream in(dir_ + "reference/" + model + ".pred.txt");
    std::vector<int> pred;
    int v;
    while (in >> v) pred.push_back(v);
    return pred;
  }

  // Runs `output` on all test images fed to `input` (reshaped to `input_shape` rows) and checks
  // the accuracy and the agreement with the reference predictions.
  void ExpectModelMatchesReference(const std::string& file, const std::string& model,
                                   const std::string& input, const std::string& output,
                                   const TensorShape& row_shape, double expected_accuracy) {
    std::unique_ptr<Session> s = Load(file);
    ASSERT_NE(s, nullptr);
    TensorShape shape({test_->num_examples()});
    for (int64_t d : row_shape.dim_sizes()) shape.AddDim(d);
    absl::StatusOr<Tensor> images = test_->images().Reshaped(shape);
    ASSERT_TRUE(images.ok());
    std::vector<Tensor> out;
    absl::Status st = s->Run({{input, *images}}, {output}, {}, &out);
    ASSERT_TRUE(st.ok()) << st;
    ASSERT_EQ(out[0].shape(), TensorShape({test_->num_examples(), 10}));
    std::vector<int> reference = ReferencePredictions(model);
    ASSERT_EQ(reference.size(), static_cast<size_t>(test_->num_examples()));
    int correct = 0, agree = 0;
    auto probs = out[0].flat<float>();
    for (int64_t i = 0; i < test_->num_examples(); ++i) {
      int best = 0;
      for (int k = 1; k < 10; ++k) {
        if (probs[i * 10 + k] > probs[i * 10 + best]) best = k;
      }
      correct += best == test_->int_labels()[i];
      agree += best == reference[i];
    }
    EXPECT_NEAR(correct / 10000.0, expected_accuracy, 1.5e-4) << file;
    EXPECT_GE(agree, 9990) << file << ": predictions agree with the reference on " << agree;
  }

  const mnist::DataSet* test_ = nullptr;
};

TEST_F(FrozenMnist, AkinobuSoftmaxBinaryAndTextScoreTheReadmeAccuracy) {
  for (const char* file : {"akinobu_softmax_frozen_trained_graph.pb",
                           "akinobu_softmax_frozen_trained_graph.pbtxt"}) {
    ExpectModelMatchesReference(file, "akinobu_softmax_frozen_trained_graph", "x", "y",
                                TensorShape({784}), 0.9187);
    // The in-graph accuracy agrees.
    std::unique_ptr<Session> s = Load(file);
    std::vector<Tensor> out;
    absl::Status st = s->Run({{"x", test_->images()}, {"y_", test_->labels()}}, {"accuracy"}, {}, &out);
    ASSERT_TRUE(st.ok()) << st;
    EXPECT_NEAR(out[0].scalar<float>(), 0.9187f, 1e-4);
  }
}

TEST_F(FrozenMnist, MiyosudaSoftmaxScoresTheReadmeAccuracy) {
  ExpectModelMatchesReference("miyosuda_beginner_softmax_frozen.pb", "miyosuda_beginner_softmax_frozen",
                              "input", "output", TensorShape({784}), 0.9115);
}

TEST_F(FrozenMnist, K210SmallCnnScoresTheReadmeAccuracy) {
  ExpectModelMatchesReference("k210_small_cnn_frozen.pb", "k210_small_cnn_frozen", "inputs",
                              "output", TensorShape({28, 28, 1}), 0.9462);
}

TEST_F(FrozenMnist, HpdcjMlpTrainsWithTensorFlowsOwnGradientOps) {
  std::unique_ptr<Session> s = Load("hpdcj_mnist_mlp_train_graph.pb");
  ASSERT_NE(s, nullptr);
  // As the README's check: train on test[0:5000] in batches of 50, score on test[5000:].
  auto rows = [&](int64_t start, int64_t n) {
    Tensor x(DT_FLOAT, TensorShape({n, 784}));
    Tensor y(DT_INT32, TensorShape({n}));
    std::memcpy(x.data(), test_->images().flat<float>().data() + start * 784, n * 784 * sizeof(float));
    for (int64_t i = 0; i < n; ++i) y.flat<int32_t>()[i] = test_->int_labels()[start + i];
    return std::make_pair(x, y);
  };
  auto [held_x, held_y] = rows(5000, 5000);
  std::vector<Tensor> out;
  ASSERT_TRUE(s->Run({}, {}, {"init"}, &out).ok());
  ASSERT_TRUE(s->Run({{"X", held_x}, {"y", held_y}}, {"eval/Mean"}, {}, &out).ok());
  const float before = out[0].scalar<float>();
  // Its RandomUniform initializers have no seed, so each run starts elsewhere: 5 epochs reach
  // about 0.86 from any start, comfortably above the bound.
  for (int epoch = 0; epoch < 5; ++epoch) {
    for (int64_t start = 0; start < 5000; start += 50) {
      auto [x, y] = rows(start, 50);
      absl::Status st = s->Run({{"X", x}, {"y", y}}, {}, {"train/GradientDescent"}, &out);
      ASSERT_TRUE(st.ok()) << st;
    }
  }
  ASSERT_TRUE(s->Run({{"X", held_x}, {"y", held_y}}, std::vector<std::string>{"eval/Mean", "loss/loss"}, {}, &out).ok());
  EXPECT_LT(before, 0.3f);
  EXPECT_GT(out[0].scalar<float>(), 0.8f) << "accuracy after 5 epochs (before: " << before << ")";
}

}  // namespace
}  // namespace dflow
