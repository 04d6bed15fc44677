// Tests of the "Deep MNIST" convolutional model and tool: learning generated class patterns,
// exact resumption from checkpoints, bad options, the mnist_cnn binary on good and bad input,
// and (when MNIST_DIR is set) a short schedule on the real data.
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "graph/graph_def_io.h"
#include "gtest/gtest.h"
#include "ops/standard_ops.h"
#include "runtime/session.h"
#include "tests/test_util.h"
#include "tools/mnist_cnn_lib.h"
#include "tools/mnist_data.h"

namespace dflow {
namespace mnist {
namespace {

using ::testing::HasSubstr;

// ---- Generated data: a bright 3x3 square in one of 10 class-specific 4x4 cells of a 16x16
// image (cells on a 4x4 grid; the square's offset inside its cell is random), over noise.

constexpr int kSide = 16;

DataSet Squares(int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> noise(0.0f, 0.3f), bright(0.7f, 1.0f);
  std::vector<float> images;
  std::vector<int32_t> labels;
  for (int i = 0; i < n; ++i) {
    const int label = static_cast<int>(rng() % 10);
    const int top = (label / 4) * 4 + static_cast<int>(rng() % 2);
    const int left = (label % 4) * 4 + static_cast<int>(rng() % 2);
    labels.push_back(label);
    for (int r = 0; r < kSide; ++r) {
      for (int c = 0; c < kSide; ++c) {
        const bool lit = r >= top && r < top + 3 && c >= left && c < left + 3;
        images.push_back(lit ? bright(rng) : noise(rng));
      }
    }
  }
  absl::StatusOr<DataSet> set = DataSet::Create(images, kSide * kSide, labels, 10, seed + 100);
  EXPECT_TRUE(set.ok()) << set.status();
  return *std::move(set);
}

// A narrow network for the 16x16 squares.
CnnOptions SmallOptions() {
  CnnOptions options;
  options.image_height = kSide;
  options.image_width = kSide;
  options.conv1_features = 4;
  options.conv2_features = 8;
  options.fc_units = 32;
  options.learning_rate = 3e-3f;
  options.batch_size = 32;
  options.log_every = 50;
  options.eval_batch_size = 64;  // Not a divisor of the test set: the last batch is partial.
  options.seed = 5;
  return options;
}

TEST(MnistCnn, LearnsGeneratedClassPatterns) {
  DataSet train = Squares(2000, 1);
  DataSet test = Squares(500, 2);
  CnnOptions options = SmallOptions();
  options.steps = 300;
  std::ostringstream log;
  options.log = &log;
  absl::StatusOr<CnnResult> result = TrainCnn(train, test, options);
  ASSERT_TRUE(result.ok()) << result.status();
  // Records at steps 1, 50, ..., 300.
  ASSERT_EQ(result->progress.size(), 7u);
  EXPECT_EQ(result->progress.front().step, 1);
  EXPECT_EQ(result->progress.back().step, 300);
  EXPECT_LT(result->progress.back().loss, 0.25 * result->progress.front().loss);
  EXPECT_GE(result->progress.back().train_accuracy, 0.9);
  EXPECT_GT(result->progress.back().images_per_second, 0);
  EXPECT_GE(result->test_accuracy, 0.95);
  EXPECT_EQ(result->test_correct, std::lround(result->test_accuracy * 500));
  EXPECT_EQ(result->first_step, 1);
  EXPECT_EQ(result->last_step, 300);
  EXPECT_THAT(log.str(), HasSubstr("step 300: loss "));
  EXPECT_THAT(log.str(), HasSubstr("images/s"));
  std::printf("generated squares: test accuracy %.4f after 300 steps, %.2f s\n",
              result->test_accuracy, result->train_seconds);
}

TEST(MnistCnn, TheGraphIsTheTutorials) {
  Scope root = Scope::NewRootScope();
  absl::StatusOr<CnnGraph> g = BuildCnnGraph(root, 10, CnnOptions());
  ASSERT_TRUE(g.ok()) << g.status();
  const Graph& graph = *root.graph();
  auto shape_of = [&](const char* name) {
    Node* node = graph.FindNode(name);
    EXPECT_NE(node, nullptr) << name;
    return node == nullptr ? PartialTensorShape() : node->output_shape(0);
  };
  EXPECT_EQ(shape_of("W_conv1"), PartialTensorShape({5, 5, 1, 32}));
  EXPECT_EQ(shape_of("b_conv1"), PartialTensorShape({32}));
  EXPECT_EQ(shape_of("W_conv2"), PartialTensorShape({5, 5, 32, 64}));
  EXPECT_EQ(shape_of("b_conv2"), PartialTensorShape({64}));
  EXPECT_EQ(shape_of("W_fc1"), PartialTensorShape({7 * 7 * 64, 1024}));
  EXPECT_EQ(shape_of("b_fc1"), PartialTensorShape({1024}));
  EXPECT_EQ(shape_of("W_fc2"), PartialTensorShape({1024, 10}));
  EXPECT_EQ(shape_of("b_fc2"), PartialTensorShape({10}));
  EXPECT_EQ(shape_of("h_pool1"), PartialTensorShape({-1, 14, 14, 32}));
  EXPECT_EQ(shape_of("h_pool2"), PartialTensorShape({-1, 7, 7, 64}));
  EXPECT_EQ(shape_of("logits"), PartialTensorShape({-1, 10}));
  EXPECT_EQ(g->train.node()->name(), "Adam");
  EXPECT_EQ(g->train.node()->op(), "AssignAdd");  // Increments global_step after the updates.
  for (const char* name : {"W_fc1/Adam", "W_fc1/Adam_1", "beta1_power", "beta2_power",
                           "global_step", "dropout/Floor"}) {
    EXPECT_NE(graph.FindNode(name), nullptr) << name;
  }
  EXPECT_EQ(g->dropout_noise.node()->op(), "RandomUniform");
  // The dropout's stream is the session's random state, not a variable aliasing it.
  for (const Node* node : graph.nodes()) {
    std::string shared;
    GetAttr(node->attrs(), "shared_name", &shared).IgnoreError();
    EXPECT_TRUE(shared.empty()) << node->name() << " aliases " << shared;
  }

  // The initial weights: truncated normal with stddev 0.1 (all within 2 stddevs), biases 0.1.
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(root);
  ASSERT_TRUE(session.ok()) << session.status();
  ASSERT_TRUE((*session)->Run({g->init}).ok());
  std::vector<Tensor> out;
  ASSERT_TRUE((*session)
                  ->Run({}, {*graph.FindOutput("W_fc1"), *graph.FindOutput("b_fc1"),
                             *graph.FindOutput("Adam/learning_rate")},
                        {}, &out)
                  .ok());
  EXPECT_EQ(out[2].scalar<float>(), 1e-4f);
  double sum = 0, sum_sq = 0, max_abs = 0;
  for (float v : out[0].flat<float>()) {
    sum += v;
    sum_sq += v * v;
    max_abs = std::max(max_abs, std::fabs(static_cast<double>(v)));
  }
  const double n = out[0].NumElements();
  EXPECT_NEAR(sum / n, 0.0, 1e-3);
  // A standard normal truncated to [-2, 2] has standard deviation 0.8796.
  EXPECT_NEAR(std::sqrt(sum_sq / n), 0.08796, 1e-3);
  EXPECT_LE(max_abs, 0.2 + 1e-6);
  for (float v : out[1].flat<float>()) ASSERT_EQ(v, 0.1f);
}

// Resuming: N steps, save, restore in a fresh session and continue N more gives the same
// variables, bit for bit, as 2N steps straight. Every op then sees identical inputs: the weights,
// Adam's slots and beta powers and global_step are variables in the checkpoint, the dropout's
// random stream position is a random state in it, the data set skips the batches the restored steps used, and the
// kernels are deterministic for fixed shapes and thread counts.
TEST(MnistCnn, ResumingFromACheckpointMatchesAnUninterruptedRun) {
  const std::string dir = test::TempDir("mnist_cnn_resume");
  const int n = 20;
  CnnOptions options = SmallOptions();
  options.log_every = 7;

  DataSet train = Squares(300, 3), test = Squares(100, 4);
  options.steps = 2 * n;
  options.checkpoint = dir + "/straight.ckpt";
  absl::StatusOr<CnnResult> straight = TrainCnn(train, test, options);
  ASSERT_TRUE(straight.ok()) << straight.status();

  DataSet train1 = Squares(300, 3);
  options.steps = n;
  options.checkpoint = dir + "/resumed.ckpt";
  options.save_every = 10;
  absl::StatusOr<CnnResult> first = TrainCnn(train1, test, options);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(std::filesystem::exists(options.checkpoint + ".index"));

  DataSet train2 = Squares(300, 3);  // A fresh process would read the data afresh.
  options.steps = 2 * n;
  options.restore = true;
  std::ostringstream log;
  options.log = &log;
  absl::StatusOr<CnnResult> resumed = TrainCnn(train2, test, options);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_THAT(log.str(), HasSubstr("restored step 20 from "));
  EXPECT_EQ(resumed->first_step, n + 1);
  EXPECT_EQ(resumed->last_step, 2 * n);

  ASSERT_EQ(resumed->variables.size(), straight->variables.size());
  int compared = 0;
  for (size_t i = 0; i < straight->variables.size(); ++i) {
    const auto& [name, value] = straight->variables[i];
    ASSERT_EQ(resumed->variables[i].first, name);
    const Tensor& other = resumed->variables[i].second;
    ASSERT_EQ(other.dtype(), value.dtype()) << name;
    ASSERT_EQ(other.shape(), value.shape()) << name;
    EXPECT_EQ(std::memcmp(other.data(), value.data(), value.TotalBytes()), 0) << name;
    ++compared;
  }
  EXPECT_EQ(compared, 8 + 16 + 2 + 1);  // Weights, their slots, beta powers, step.
  // The random streams (the dropout's and the four weight initializers') stand at the same
  // place in both.
  ASSERT_EQ(straight->random_states.size(), 5u);
  ASSERT_EQ(resumed->random_states.size(), straight->random_states.size());
  std::string dropout_node;
  {
    Scope graph_root = Scope::NewRootScope();
    absl::StatusOr<CnnGraph> g = BuildCnnGraph(graph_root, 10, options);
    ASSERT_TRUE(g.ok()) << g.status();
    dropout_node = g->dropout_noise.node()->name();
  }
  int dropout_streams = 0;
  for (size_t i = 0; i < straight->random_states.size(); ++i) {
    const auto& [name, position] = straight->random_states[i];
    EXPECT_EQ(resumed->random_states[i].first, name);
    EXPECT_EQ(resumed->random_states[i].second.key, position.key) << name;
    EXPECT_EQ(resumed->random_states[i].second.run, position.run) << name;
    if (name == dropout_node) {
      ++dropout_streams;
      // The stream (key, runs): one run per training step, none for evaluation.
      EXPECT_EQ(position.run, static_cast<uint64_t>(2 * n));
    } else {
      EXPECT_EQ(position.run, 1u) << name;  // An initializer, run once.
    }
  }
  EXPECT_EQ(dropout_streams, 1);
  // The records both runs made after step 20 agree too.
  for (const CnnProgress& p : resumed->progress) {
    for (const CnnProgress& q : straight->progress) {
      if (p.step != q.step) continue;
      EXPECT_EQ(p.loss, q.loss) << "step " << p.step;
      EXPECT_EQ(p.train_accuracy, q.train_accuracy) << "step " << p.step;
    }
  }
  EXPECT_EQ(resumed->test_correct, straight->test_correct);
  for (const auto& [name, value] : straight->variables) {
    if (name == "global_step") EXPECT_EQ(value.scalar<int64_t>(), 2 * n);
  }

  // The masks matter: another dropout seed gives other weights.
  DataSet train3 = Squares(300, 3);
  options.restore = false;
  options.checkpoint.clear();
  options.save_every = 0;
  options.log = nullptr;
  options.seed = 6;
  absl::StatusOr<CnnResult> other = TrainCnn(train3, test, options);
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_NE(other->variables[0].second.flat<float>()[0],
            straight->variables[0].second.flat<float>()[0]);
}

TEST(MnistCnn, RestoringAMismatchedOrMissingCheckpointIsAnError) {
  const std::string dir = test::TempDir("mnist_cnn_mismatch");
  DataSet train = Squares(100, 3), test = Squares(50, 4);
  CnnOptions options = SmallOptions();
  options.steps = 2;
  options.checkpoint = dir + "/small.ckpt";
  ASSERT_TRUE(TrainCnn(train, test, options).ok());
  options.fc_units = 16;
  options.restore = true;
  absl::Status s = TrainCnn(train, test, options).status();
  EXPECT_THAT(s.message(), HasSubstr("small.ckpt"));
  EXPECT_THAT(s.message(), HasSubstr("shape"));
  options.checkpoint = dir + "/none.ckpt";
  s = TrainCnn(train, test, options).status();
  EXPECT_THAT(s.message(), HasSubstr("does not exist"));
}

TEST(MnistCnn, BadOptionsAreErrors) {
  DataSet train = Squares(20, 3), test = Squares(10, 4);
  struct Case {
    void (*change)(CnnOptions*);
    const char* expected;
  };
  const std::vector<Case> cases = {
      {[](CnnOptions* o) { o->steps = -1; }, "steps"},
      {[](CnnOptions* o) { o->batch_size = 0; }, "batch size"},
      {[](CnnOptions* o) { o->learning_rate = -1; }, "learning rate"},
      {[](CnnOptions* o) { o->keep_prob = 0; }, "keep_prob"},
      {[](CnnOptions* o) { o->keep_prob = 1.5f; }, "keep_prob"},
      {[](CnnOptions* o) { o->image_height = 15; }, "are not 15 x 16"},
      {[](CnnOptions* o) { o->fc_units = 0; }, "widths"},
      {[](CnnOptions* o) { o->log_every = 0; }, "log interval"},
      {[](CnnOptions* o) { o->eval_batch_size = 0; }, "evaluation batch size"},
      {[](CnnOptions* o) { o->save_every = 5; }, "checkpoint path"},
      {[](CnnOptions* o) { o->restore = true; }, "checkpoint path"},
      {[](CnnOptions* o) { o->threads = -2; }, "threads"},
  };
  for (const Case& c : cases) {
    CnnOptions options = SmallOptions();
    options.steps = 1;
    c.change(&options);
    absl::Status s = TrainCnn(train, test, options).status();
    EXPECT_THAT(s.message(), HasSubstr(c.expected)) << c.expected;
  }
  DataSet wide = Squares(10, 4);
  absl::StatusOr<DataSet> other_size = DataSet::Create({0, 1, 1, 0}, 2, {0, 1}, 2, 0);
  ASSERT_TRUE(other_size.ok());
  EXPECT_FALSE(TrainCnn(train, *other_size, SmallOptions()).ok());
}

// ---- The mnist_cnn binary ----

using Command = test::CommandResult;

Command RunTool(const std::string& args, bool unset_mnist_dir = false) {
  return test::RunBinary("tools/mnist_cnn", args, unset_mnist_dir ? "env -u MNIST_DIR " : "");
}




TEST(MnistCnnTool, HelpDescribesTheFlags) {
  Command run = RunTool("--help");
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("Usage: mnist_cnn"));
  for (const char* flag : {"--data_dir", "--steps", "--quick", "--batch_size", "--seed",
                           "--save_every", "--checkpoint", "--restore", "--log_every",
                           "--write_graph"}) {
    EXPECT_THAT(run.output, HasSubstr(flag));
  }
}

TEST(MnistCnnTool, WritesAGraphThatTrainsWhenLoadedFromTheFile) {
  const std::string path = test::TempDir("mnist_cnn_graph") + "/cnn.pbtxt";
  Command run = RunTool("--write_graph=" + path, /*unset_mnist_dir=*/true);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("wrote the CNN graph"));
  GraphDef def;
  ASSERT_TRUE(ReadGraphDefFile(path, &def).ok());
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(def);
  ASSERT_TRUE(session.ok()) << session.status();
  ASSERT_TRUE((*session)->Run({}, {}, {"init"}, nullptr).ok());
  Tensor labels(DT_FLOAT, TensorShape({2, 10}));
  for (int i = 0; i < 20; ++i) labels.flat<float>()[i] = i == 3 || i == 17;
  const std::vector<std::pair<std::string, Tensor>> feeds = {
      {"x", test::RandomTensor({2, 784}, 1, 0.f, 1.f)},
      {"y_", labels},
      {"keep_prob", test::FloatTensor({}, {1.f})}};
  std::vector<Tensor> before, after;
  ASSERT_TRUE((*session)->Run(feeds, {"loss"}, {"Adam"}, &before).ok());
  for (int step = 0; step < 5; ++step) {
    ASSERT_TRUE((*session)->Run(feeds, {}, {"Adam"}, nullptr).ok());
  }
  ASSERT_TRUE((*session)->Run(feeds, {"loss"}, {}, &after).ok());
  EXPECT_LT(after[0].scalar<float>(), before[0].scalar<float>());  // Adam fits two images.
}

TEST(MnistCnnTool, TrainsSavesAndResumesOnAnMnistShapedFolder) {
  const std::string dir = test::WriteEasyMnist("mnist_cnn_easy", 5200, 100);
  const std::string ckpt = test::TempDir("mnist_cnn_tool_ckpt") + "/model.ckpt";
  const std::string common =
      absl::StrCat("--data_dir=", dir, " --batch_size=10 --log_every=10 --learning_rate=1e-3 ",
                   "--checkpoint=", ckpt);
  Command run = RunTool(common + " --steps=20 --save_every=10");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("loaded 200 training, 5000 validation and 100 test images"));
  EXPECT_THAT(run.output, HasSubstr("step 10: loss "));
  EXPECT_THAT(run.output, HasSubstr("training accuracy "));
  EXPECT_THAT(run.output, HasSubstr("images/s"));
  EXPECT_THAT(run.output, HasSubstr("saved step 20 to " + ckpt));
  EXPECT_THAT(run.output, ::testing::ContainsRegex("\ntest accuracy: [01]\\.[0-9]{4}\n"));
  EXPECT_THAT(run.output, HasSubstr("training time: "));
  EXPECT_THAT(run.output, HasSubstr("evaluation time: "));

  run = RunTool(common + " --steps=30 --restore");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("restored step 20 from " + ckpt));
  EXPECT_THAT(run.output, ::testing::Not(HasSubstr("step 10: loss")));
  EXPECT_THAT(run.output, HasSubstr("step 30: loss "));
  EXPECT_THAT(run.output, HasSubstr("(10 steps,"));
  EXPECT_THAT(run.output, HasSubstr("test accuracy: "));
}

TEST(MnistCnnTool, BadInputGivesOneMessageAndExitCode1) {
  const std::string good = test::WriteEasyMnist("mnist_cnn_bad_input", 5200, 100);
  const std::string missing = test::TempDir("mnist_cnn_missing");
  const std::string d = "--data_dir=" + good;
  test::ExpectToolRefuses("tools/mnist_cnn", {
      {d + " --steps=-2", "--steps"},
      {d + " --steps=5 --quick", "--quick"},
      {d + " --batch_size=0", "--batch_size"},
      {d + " --batch_size=201", "--batch_size"},
      {d + " --learning_rate=0", "--learning_rate"},
      {d + " --keep_prob=0", "--keep_prob"},
      {d + " --keep_prob=1.5", "--keep_prob"},
      {d + " --log_every=0", "--log_every"},
      {d + " --eval_batch_size=0", "--eval_batch_size"},
      {d + " --save_every=10", "--checkpoint"},
      {d + " --restore", "--checkpoint"},
      {d + " --restore --checkpoint=" + missing + "/none.ckpt", missing + "/none.ckpt"},
      {d + " --threads=-1", "--threads"},
      {d + " --steps=many", "steps"},
      {d + " extra", "extra"},
      {"--data_dir=" + missing, missing + "/train-images-idx3-ubyte.gz"},
  });
}

// ---- The real data ----

// The --quick schedule: 1000 steps of the tutorial's (batch 50, Adam 1e-4, dropout 0.5), seed 0.
// With one oneDNN thread a step takes about 0.07 s on an idle 2-core machine (0.1-0.2 s while
// other builds and tests run), so the test takes one to three minutes; it is marked large.
//
// Measured test accuracies: 1000 steps: 0.9668 (seed 0, this test), 0.9615 (seed 2), 0.9645
// (seed 3); 600 steps: 0.9503-0.9577 over seeds 0-3, too close to any useful bound, hence 1000.
// The bound 0.95 sits 1.7 points below this test's run and 1.2 below the worst seed measured:
// a CPU whose oneDNN kernels round differently follows another trajectory, which behaves like
// another seed, and must still pass. A broken model does not: an untrained one scores about
// 0.1, softmax regression 0.92, and losing a layer's gradient or Adam's bias correction shows.
TEST(MnistCnnTutorial, TheQuickScheduleReachesItsAccuracy) {
  const std::string env = test::MnistDir();
  if (env.empty()) GTEST_SKIP() << test::kNoMnistDir << " to train on the real data";
  absl::StatusOr<DataSets> data = ReadDataSets(env);
  ASSERT_TRUE(data.ok()) << data.status();
  CnnOptions options;
  options.steps = 1000;
  absl::StatusOr<CnnResult> result = TrainCnn(data->train, data->test, options);
  ASSERT_TRUE(result.ok()) << result.status();
  std::printf("MNIST, %d steps: test accuracy %.4f (%lld of 10000), training %.1f s, "
              "evaluation %.1f s\n",
              options.steps, result->test_accuracy,
              static_cast<long long>(result->test_correct), result->train_seconds,
              result->eval_seconds);
  ASSERT_EQ(result->progress.size(), 11u);  // Steps 1, 100, ..., 1000.
  EXPECT_LT(result->progress.back().loss, 0.5 * result->progress.front().loss);
  EXPECT_GE(result->test_accuracy, 0.95);
}

}  // namespace
}  // namespace mnist
}  // namespace dflow
