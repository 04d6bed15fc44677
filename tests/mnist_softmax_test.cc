// Tests of the "MNIST for ML beginners" model and tool: exact gradient-descent steps against a
// double-precision reference written here, learning on generated data, the mnist_softmax binary's
// behavior on good and bad input, and (when MNIST_DIR is set) the tutorial's accuracy.
#include <sys/wait.h>
#include <zlib.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "graph/graph_def_io.h"
#include "gtest/gtest.h"
#include "runtime/session.h"
#include "tools/mnist_data.h"
#include "tests/reference.h"
#include "tests/test_util.h"
#include "tools/mnist_softmax_lib.h"

namespace dflow {
namespace mnist {
namespace {

using ::testing::HasSubstr;

DataSet MakeSet(const std::vector<float>& images, int size, const std::vector<int32_t>& labels,
                int classes, uint64_t seed) {
  absl::StatusOr<DataSet> set = DataSet::Create(images, size, labels, classes, seed);
  EXPECT_TRUE(set.ok()) << set.status();
  return *std::move(set);
}

TEST(MnistSoftmax, FullBatchStepsMatchAHandWrittenReference) {
  const int d = 4, c = 3;
  const std::vector<float> x = {0.9f, 0.1f, 0.0f, 0.3f, 0.8f, 0.2f, 0.1f, 0.0f,
                                0.1f, 0.9f, 0.2f, 0.5f, 0.0f, 0.7f, 0.3f, 0.1f,
                                0.2f, 0.1f, 0.8f, 0.9f, 0.1f, 0.3f, 0.9f, 0.4f};
  const std::vector<int32_t> labels = {0, 0, 1, 1, 2, 2};
  const std::vector<float> test_x = {0.7f, 0.3f, 0.1f, 0.1f, 0.2f, 0.8f, 0.1f, 0.6f,
                                     0.3f, 0.2f, 0.7f, 0.2f, 0.4f, 0.4f, 0.4f, 0.4f};
  const std::vector<int32_t> test_labels = {0, 1, 2, 1};
  const int steps = 4;
  test::SoftmaxTrainingRef ref =
      test::TrainSoftmaxRef(x, labels, d, c, steps, 0.5, test_x, test_labels);
  ASSERT_NEAR(ref.losses[0], std::log(3.0), 1e-12);

  for (SoftmaxLoss loss : {SoftmaxLoss::kTutorial, SoftmaxLoss::kLogits}) {
    DataSet train = MakeSet(x, d, labels, c, 5);
    DataSet test = MakeSet(test_x, d, test_labels, c, 6);
    SoftmaxOptions options;
    options.steps = steps;
    options.batch_size = 6;  // the whole set each step, in a shuffled order
    options.log_every = 1;
    options.loss = loss;
    absl::StatusOr<SoftmaxResult> result = TrainSoftmax(train, test, options);
    ASSERT_TRUE(result.ok()) << result.status();
    ASSERT_EQ(result->losses.size(), static_cast<size_t>(steps));
    for (int s = 0; s < steps; ++s) {
      EXPECT_EQ(result->losses[s].step, s + 1);
      EXPECT_NEAR(result->losses[s].loss, ref.losses[s], 1e-5) << "step " << s + 1;
    }
    EXPECT_DOUBLE_EQ(result->test_accuracy, ref.accuracy);
    EXPECT_GE(result->train_seconds, 0);
    EXPECT_GE(result->eval_seconds, 0);
  }
}

// `n` examples of 784 values around one of 10 random centers (class = center), like MNIST-sized
// but easy: centers uniform in [0,1] per value, Gaussian noise of sd 0.3.
void Blobs(int n, uint64_t seed, const std::vector<float>& centers, std::vector<float>* x,
           std::vector<int32_t>* labels) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> noise(0.0f, 0.3f);
  for (int i = 0; i < n; ++i) {
    const int label = static_cast<int>(rng() % 10);
    labels->push_back(label);
    for (int k = 0; k < 784; ++k) x->push_back(centers[label * 784 + k] + noise(rng));
  }
}

TEST(MnistSoftmax, LearnsSeparableBlobs) {
  std::mt19937_64 rng(2024);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  std::vector<float> centers(10 * 784);
  for (float& v : centers) v = uniform(rng);
  std::vector<float> train_x, test_x;
  std::vector<int32_t> train_labels, test_labels;
  Blobs(2000, 1, centers, &train_x, &train_labels);
  Blobs(500, 2, centers, &test_x, &test_labels);

  for (SoftmaxLoss loss : {SoftmaxLoss::kTutorial, SoftmaxLoss::kLogits}) {
    std::vector<SoftmaxResult> runs;
    for (int run = 0; run < 2; ++run) {
      DataSet train = MakeSet(train_x, 784, train_labels, 10, 11);
      DataSet test = MakeSet(test_x, 784, test_labels, 10, 12);
      SoftmaxOptions options;
      options.steps = 200;
      options.batch_size = 50;
      options.learning_rate = 0.05f;
      options.log_every = 50;
      options.loss = loss;
      absl::StatusOr<SoftmaxResult> result = TrainSoftmax(train, test, options);
      ASSERT_TRUE(result.ok()) << result.status();
      runs.push_back(*result);
    }
    const SoftmaxResult& result = runs[0];
    // Steps 1, 50, 100, 150, 200.
    ASSERT_EQ(result.losses.size(), 5u);
    EXPECT_EQ(result.losses[0].step, 1);
    EXPECT_EQ(result.losses[4].step, 200);
    // All-zero weights give every class probability 1/10.
    EXPECT_NEAR(result.losses[0].loss, std::log(10.0), 1e-5);
    EXPECT_LT(result.losses[4].loss, 0.1 * result.losses[0].loss);
    EXPECT_GE(result.test_accuracy, 0.97);
    // Same data, same seed: the same numbers.
    ASSERT_EQ(runs[1].losses.size(), result.losses.size());
    for (size_t i = 0; i < result.losses.size(); ++i) {
      EXPECT_EQ(runs[1].losses[i].loss, result.losses[i].loss);
    }
    EXPECT_EQ(runs[1].test_accuracy, result.test_accuracy);
  }
}

TEST(MnistSoftmax, BadOptionsAreErrors) {
  DataSet train = MakeSet({0, 1, 1, 0}, 2, {0, 1}, 2, 0);
  DataSet test = MakeSet({0, 1}, 2, {0}, 2, 0);
  DataSet wide = MakeSet({0, 1, 1}, 3, {0}, 2, 0);
  SoftmaxOptions options;
  options.steps = -1;
  EXPECT_THAT(TrainSoftmax(train, test, options).status().message(), HasSubstr("steps"));
  options = SoftmaxOptions();
  options.batch_size = 0;
  EXPECT_THAT(TrainSoftmax(train, test, options).status().message(), HasSubstr("batch size"));
  options = SoftmaxOptions();
  options.learning_rate = -1;
  EXPECT_THAT(TrainSoftmax(train, test, options).status().message(), HasSubstr("learning rate"));
  options.learning_rate = NAN;
  EXPECT_FALSE(TrainSoftmax(train, test, options).ok());
  EXPECT_FALSE(TrainSoftmax(train, wide, SoftmaxOptions()).ok());
  EXPECT_TRUE(ParseSoftmaxLoss("logits").ok());
  EXPECT_FALSE(ParseSoftmaxLoss("mse").ok());
}

// ---- The mnist_softmax binary ----

using Command = test::CommandResult;

Command RunTool(const std::string& args, bool unset_mnist_dir = false) {
  return test::RunBinary("tools/mnist_softmax", args, unset_mnist_dir ? "env -u MNIST_DIR " : "");
}

std::string TempDir(const std::string& name) { return test::TempDir("mnist_softmax_test_" + name); }




TEST(MnistSoftmaxTool, HelpDescribesTheFlags) {
  Command run = RunTool("--help");
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("Usage: mnist_softmax"));
  for (const char* flag :
       {"--data_dir", "--steps", "--batch_size", "--learning_rate", "--seed", "--loss",
        "--write_graph"}) {
    EXPECT_THAT(run.output, HasSubstr(flag));
  }
}

TEST(MnistSoftmaxTool, WritesTheGraphInBinaryOrTextForOtherTools) {
  for (const char* name : {"softmax.pb", "softmax.pbtxt"}) {
    SCOPED_TRACE(name);
    const std::string path = TempDir("graph") + "/" + name;
    Command run = RunTool("--write_graph=" + path, /*unset_mnist_dir=*/true);
    ASSERT_EQ(run.exit_code, 0) << run.output;
    EXPECT_THAT(run.output, HasSubstr("wrote the tutorial graph"));
    std::ifstream in(path);
    std::string head(16, '\0');
    in.read(&head[0], head.size());
    // Text starts with the first node's field name; binary with field 1's tag byte.
    EXPECT_EQ(absl::StartsWith(head, "node {"), absl::EndsWith(name, ".pbtxt")) << head;
    GraphDef def;
    ASSERT_TRUE(ReadGraphDefFile(path, &def).ok());
    absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(def);
    ASSERT_TRUE(session.ok()) << session.status();
    ASSERT_TRUE((*session)->Run({}, {}, {"init"}, nullptr).ok());
    Tensor labels(DT_FLOAT, TensorShape({1, 10}));
    for (int i = 0; i < 10; ++i) labels.flat<float>()[i] = i == 4;
    std::vector<Tensor> out;
    ASSERT_TRUE((*session)
                    ->Run({{"x", test::RandomTensor({1, 784}, 1, 0.f, 1.f)}, {"y_", labels}},
                          {"loss"}, {"train/GradientDescent"}, &out)
                    .ok());
    // Zero weights: ten equal probabilities, so the loss is log(10).
    EXPECT_NEAR(out[0].scalar<float>(), std::log(10.f), 1e-5f);
  }
}

TEST(MnistSoftmaxTool, TrainsOnAnMnistShapedFolder) {
  std::string dir = test::WriteEasyMnist("easy", 5100, 200);
  Command run = RunTool(absl::StrCat("--data_dir=", dir, " --steps=200"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("loaded 100 training, 5000 validation and 200 test images"));
  EXPECT_THAT(run.output, HasSubstr("step 100: loss"));
  EXPECT_THAT(run.output, HasSubstr("step 200: loss"));
  EXPECT_THAT(run.output, HasSubstr("\ntest accuracy: 1.0000\n"));
  EXPECT_THAT(run.output, HasSubstr("training time: "));
  EXPECT_THAT(run.output, HasSubstr("evaluation time: "));

  run = RunTool(absl::StrCat("--data_dir=", dir, " --steps=20 --loss=logits --batch_size=100"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("test accuracy: "));
}

TEST(MnistSoftmaxTool, BadInputGivesOneMessageAndExitCode1) {
  std::string good = test::WriteEasyMnist("bad_input", 5100, 200);
  std::string missing = TempDir("missing_files");
  std::string corrupt = test::WriteEasyMnist("corrupt", 5100, 200);
  std::filesystem::resize_file(corrupt + "/t10k-images-idx3-ubyte.gz", 1000);
  test::ExpectToolRefuses("tools/mnist_softmax", {
      {"--data_dir=" + good + " --steps=-1", "--steps"},
      {"--data_dir=" + good + " --batch_size=0", "--batch_size"},
      {"--data_dir=" + good + " --batch_size=101", "--batch_size"},
      {"--data_dir=" + good + " --learning_rate=0", "--learning_rate"},
      {"--data_dir=" + good + " --loss=mse", "--loss"},
      {"--data_dir=" + good + " --steps=many", "steps"},
      {"--data_dir=" + good + " extra", "extra"},
      {"--data_dir=" + good + "/nope", good + "/nope"},
      {"--data_dir=" + missing, missing + "/train-images-idx3-ubyte.gz"},
      {"--data_dir=" + corrupt, corrupt + "/t10k-images-idx3-ubyte.gz"},
  });  // And with no folder at all.
}

// ---- The real tutorial ----

TEST(MnistSoftmaxTutorial, ReachesTheTutorialAccuracy) {
  const std::string env = test::MnistDir();
  if (env.empty()) GTEST_SKIP() << test::kNoMnistDir << " to run the full tutorial";
  std::vector<double> accuracies;
  for (int run = 0; run < 2; ++run) {
    absl::StatusOr<DataSets> data = ReadDataSets(env);
    ASSERT_TRUE(data.ok()) << data.status();
    absl::StatusOr<SoftmaxResult> result = TrainSoftmax(data->train, data->test, SoftmaxOptions());
    ASSERT_TRUE(result.ok()) << result.status();
    ASSERT_EQ(result->losses.size(), 11u);  // steps 1, 100, ..., 1000
    EXPECT_NEAR(result->losses[0].loss, std::log(10.0), 1e-5);
    EXPECT_LT(result->losses.back().loss, 0.6);
    std::printf("run %d: test accuracy %.4f, training %.2f s, evaluation %.3f s\n", run + 1,
                result->test_accuracy, result->train_seconds, result->eval_seconds);
    accuracies.push_back(result->test_accuracy);
  }
  EXPECT_GE(accuracies[0], 0.91);
  EXPECT_EQ(accuracies[0], accuracies[1]);

  Command tool = RunTool(absl::StrCat("--data_dir=", env, " --steps=100"));
  ASSERT_EQ(tool.exit_code, 0) << tool.output;
  EXPECT_THAT(tool.output, HasSubstr("loaded 55000 training, 5000 validation and 10000 test"));
  EXPECT_THAT(tool.output, ::testing::ContainsRegex("\ntest accuracy: 0\\.[0-9]{4}\n"));
}

}  // namespace
}  // namespace mnist
}  // namespace dflow
