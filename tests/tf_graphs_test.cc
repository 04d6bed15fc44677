// Graphs written by real TensorFlow 1.x (../shared/tf_graphs) load and run with the expected
// results. Skipped when ../shared is absent.
#include <string>

#include "graph/graph_def_io.h"
#include "gtest/gtest.h"
#include "runtime/session.h"
#include "tests/test_util.h"

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

}  // namespace
}  // namespace dflow
