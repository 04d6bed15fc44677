// TensorFlow-written training MetaGraphDefs of ../shared/tf_graphs/corpus train in dflow: the
// gradients TensorFlow's graph computes (each optimizer update's gradient input) agree with
// central differences of the graph's loss, perturbing the variable in the session's store, and
// train steps reduce the loss (xor: to the TF.NET example's bound). Skips without
// DFLOW_SHARED_DIR.
#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "gtest/gtest.h"
#include "kernels/op_kernel.h"
#include "runtime/saved_model.h"
#include "runtime/session.h"
#include "tests/test_util.h"

namespace dflow {
namespace test {
namespace {

using Feeds = std::vector<std::pair<std::string, Tensor>>;

struct Loaded {
  MetaGraphDef meta_graph;
  std::unique_ptr<Session> session;
};

std::unique_ptr<Loaded> Load(const std::string& file) {
  auto m = std::make_unique<Loaded>();
  const std::string path = SharedDir() + "/tf_graphs/corpus/files/" + file;
  absl::Status s = LoadMetaGraph(path, &m->meta_graph);
  EXPECT_TRUE(s.ok()) << s;
  if (!s.ok()) return nullptr;
  absl::StatusOr<std::unique_ptr<Session>> session = CreateSessionFromMetaGraph({}, m->meta_graph);
  EXPECT_TRUE(session.ok()) << session.status();
  if (!session.ok()) return nullptr;
  m->session = *std::move(session);
  return m;
}

// Every variable's initializer_name (VariableDef field 2) of the `variables` collection, read
// from the wire format (dflow has no VariableDef message).
std::vector<std::string> Initializers(const MetaGraphDef& mg) {
  using google::protobuf::internal::WireFormatLite;
  std::vector<std::string> names;
  auto c = mg.collection_def().find("variables");
  if (c == mg.collection_def().end()) return names;
  for (const std::string& def : c->second.bytes_list().value()) {
    google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(def.data()),
                                              static_cast<int>(def.size()));
    while (uint32_t tag = in.ReadTag()) {
      if (tag == WireFormatLite::MakeTag(2, WireFormatLite::WIRETYPE_LENGTH_DELIMITED)) {
        std::string name;
        if (WireFormatLite::ReadString(&in, &name)) names.push_back(name);
      } else if (!WireFormatLite::SkipField(&in, tag)) {
        break;
      }
    }
  }
  return names;
}

// The train_op collection's first node.
std::string TrainOp(const MetaGraphDef& mg) {
  auto c = mg.collection_def().find("train_op");
  if (c == mg.collection_def().end() || c->second.node_list().value_size() == 0) return "";
  return c->second.node_list().value(0);
}

float Loss(Session& s, const Feeds& feeds, const std::string& loss) {
  std::vector<Tensor> out;
  absl::Status st = s.Run(feeds, {loss}, {}, &out);
  EXPECT_TRUE(st.ok()) << st;
  return st.ok() ? out[0].flat<float>()[0] : NAN;
}

// For every optimizer update node (ApplyGradientDescent: grad input 2, ApplyAdam: 9) of the
// graph, the gradient TensorFlow's graph feeds it, against central differences of the loss at
// the `probes` elements of largest gradient (a small step: ReLU and max pooling have kinks).
void CheckGradients(Session& s, const Feeds& feeds, const std::string& loss, int probes,
                    int* checked) {
  const Graph& graph = s.graph();
  for (const Node* n : graph.nodes()) {
    int grad_input = n->op() == "ApplyGradientDescent" ? 2 : n->op() == "ApplyAdam" ? 9 : -1;
    if (grad_input < 0) continue;
    const Node* var_node = n->input(0).node();
    std::string shared;
    GetAttr(var_node->attrs(), "shared_name", &shared).IgnoreError();
    Variable* var = s.variables()->Find(shared.empty() ? var_node->name() : shared);
    ASSERT_NE(var, nullptr) << n->name();
    const Output g_out = n->input(grad_input);
    std::vector<Tensor> out;
    std::vector<std::pair<Output, Tensor>> feeds_out;
    for (const auto& [name, t] : feeds) feeds_out.emplace_back(*graph.FindOutput(name), t);
    absl::Status st = s.Run(feeds_out, {g_out}, {}, &out);
    ASSERT_TRUE(st.ok()) << st;
    const Tensor grad = out[0];
    const Tensor saved = var->value;
    ASSERT_EQ(grad.shape(), saved.shape()) << n->name();
    std::vector<int64_t> order(grad.NumElements());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return std::fabs(grad.flat<float>()[a]) > std::fabs(grad.flat<float>()[b]);
    });
    for (int k = 0; k < probes && k < static_cast<int>(order.size()); ++k) {
      const int64_t i = order[k];
      const float h = 1e-3f * std::max(1.f, std::fabs(saved.flat<float>()[i]));
      auto loss_at = [&](float delta) {
        Tensor t = saved.DeepCopy();
        t.flat<float>()[i] += delta;
        var->value = t;
        return static_cast<double>(Loss(s, feeds, loss));
      };
      const double numeric = (loss_at(h) - loss_at(-h)) / (2.0 * h);
      var->value = saved;
      const double symbolic = grad.flat<float>()[i];
      EXPECT_NEAR(symbolic, numeric, 2e-3 + 3e-2 * std::fabs(numeric))
          << "gradient " << g_out.name() << " of " << var->name << " at element " << i;
      ++*checked;
    }
  }
}

TEST(TrainMeta, XorGradientsMatchCentralDifferencesAndTrainingReachesTheBound) {
  if (SharedDir().empty()) GTEST_SKIP() << "DFLOW_SHARED_DIR is not set";
  std::unique_ptr<Loaded> m = Load("scisharp_xor_train.meta");
  ASSERT_NE(m, nullptr);
  Session& s = *m->session;
  ASSERT_TRUE(s.Run({}, {}, {"init"}, nullptr).ok());
  const Feeds feeds = {{"Placeholder", FloatTensor({4, 2}, {1, 0, 1, 1, 0, 0, 0, 1})},
                       {"Placeholder_1", Int32Tensor({4}, {1, 0, 0, 1})}};
  int checked = 0;
  CheckGradients(s, feeds, "loss", 4, &checked);
  EXPECT_GE(checked, 8);
  const std::string train = TrainOp(m->meta_graph);
  ASSERT_EQ(train, "GradientDescent");
  const float first = Loss(s, feeds, "loss");
  std::vector<Tensor> out;
  for (int step = 0; step < 10000; ++step) {
    ASSERT_TRUE(s.Run(feeds, {}, {train}, nullptr).ok());
  }
  const float last = Loss(s, feeds, "loss");
  EXPECT_LT(last, first);
  EXPECT_LT(last, 0.0628f);  // TF.NET's NeuralNetXor passes below this.
}

TEST(TrainMeta, WordCnnGradientsMatchCentralDifferencesAndAdamReducesTheLoss) {
  if (SharedDir().empty()) GTEST_SKIP() << "DFLOW_SHARED_DIR is not set";
  std::unique_ptr<Loaded> m = Load("scisharp_word_cnn_train.meta");
  ASSERT_NE(m, nullptr);
  Session& s = *m->session;
  const std::vector<std::string> init = Initializers(m->meta_graph);
  ASSERT_EQ(init.size(), 30u);  // No `init` op in this graph: every variable's initializer.
  ASSERT_TRUE(s.Run({}, {}, init, nullptr).ok());
  std::mt19937 gen(5);
  std::vector<int32_t> x(8 * 100), y(8);
  for (int32_t& v : x) v = static_cast<int32_t>(gen() % 50);
  for (int32_t& v : y) v = static_cast<int32_t>(gen() % 2);
  const Feeds feeds = {{"x", Int32Tensor({8, 100}, x)},
                       {"y", Int32Tensor({8}, y)},
                       {"is_training", Make<bool>({}, {false})}};
  int checked = 0;
  CheckGradients(s, feeds, "loss/Mean", 2, &checked);
  EXPECT_GE(checked, 16);  // Two elements of each of the 8 Adam-updated variables.
  const std::string train = TrainOp(m->meta_graph);
  ASSERT_EQ(train, "loss/Adam");
  const float first = Loss(s, feeds, "loss/Mean");
  for (int step = 0; step < 10; ++step) ASSERT_TRUE(s.Run(feeds, {}, {train}, nullptr).ok());
  const float last = Loss(s, feeds, "loss/Mean");
  EXPECT_LT(last, 0.5f * first) << "first " << first;
}

TEST(TrainMeta, KerasLstmWithResourceVariablesAndWhileLoopGradientsReducesTheLoss) {
  if (SharedDir().empty()) GTEST_SKIP() << "DFLOW_SHARED_DIR is not set";
  std::unique_ptr<Loaded> m = Load("irdanish11_keras_lstm_train.meta");
  ASSERT_NE(m, nullptr);
  Session& s = *m->session;
  // Keras's `init` leaves the optimizer's variables to a later initializer: run them all.
  ASSERT_TRUE(s.Run({}, {}, Initializers(m->meta_graph), nullptr).ok());
  const int64_t n = 4, vocab = 8286;
  std::mt19937 gen(9);
  std::vector<float> x(n * 3), target(n * vocab, 0.f);
  for (float& v : x) v = static_cast<float>(gen() % 100);
  for (int64_t i = 0; i < n; ++i) target[i * vocab + gen() % 100] = 1.f;
  const Feeds feeds = {{"embedding_1_input", FloatTensor({n, 3}, x)},
                       {"dense_2_target", FloatTensor({n, vocab}, target)},
                       {"dense_2_sample_weights", FloatTensor({n}, {1, 1, 1, 1})}};
  const float first = Loss(s, feeds, "loss/mul");
  EXPECT_NEAR(first, std::log(static_cast<float>(vocab)), 0.1f);  // Untrained: near uniform.
  float previous = first;
  for (int step = 0; step < 5; ++step) {
    ASSERT_TRUE(s.Run(feeds, {}, {"training/group_deps"}, nullptr).ok());
    const float now = Loss(s, feeds, "loss/mul");
    EXPECT_LT(now, previous) << "step " << step;
    previous = now;
  }
}

}  // namespace
}  // namespace test
}  // namespace dflow
