// Session semantics: pruning, feeds, variables, errors, threads.
#include "runtime/session.h"

#include <atomic>
#include <thread>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "kernels/op_kernel.h"
#include "ops/standard_ops.h"
#include "tests/test_util.h"

namespace dflow {
namespace {

TEST(Session, RunsOnlyWhatTheFetchesNeed) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
  auto c = ops::Const(root.WithOpName("c"), 3.0f);
  auto y = ops::Identity(root.WithOpName("y"), x);
  ASSERT_TRUE(root.ok());
  absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(root);
  ASSERT_TRUE(s.ok());
  std::vector<Tensor> out;
  // The unfed placeholder is not needed for c, so this succeeds.
  ASSERT_TRUE((*s)->Run({}, {c}, {}, &out).ok());
  EXPECT_EQ(out[0].scalar<float>(), 3.0f);
  // But y needs it.
  absl::Status st = (*s)->Run({}, {y}, {}, &out);
  EXPECT_FALSE(st.ok());
  EXPECT_TRUE(absl::StrContains(st.message(), "You must feed a value for placeholder tensor 'x'"))
      << st;
}

TEST(Session, AFeedCutsOffEverythingUpstream) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
  auto mid = ops::Identity(root.WithOpName("mid"), x);
  auto y = ops::Identity(root.WithOpName("y"), mid);
  absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(root);
  ASSERT_TRUE(s.ok());
  std::vector<Tensor> out;
  ASSERT_TRUE((*s)->Run({{"mid", Tensor::Scalar<float>(5.f)}}, {"y"}, {}, &out).ok());
  EXPECT_EQ(out[0].scalar<float>(), 5.f);
}

TEST(Session, FetchingAFedTensorReturnsTheFeed) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
  absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(root);
  std::vector<Tensor> out;
  ASSERT_TRUE((*s)->Run({{x, Tensor::Scalar<float>(2.f)}}, {x}, {}, &out).ok());
  EXPECT_EQ(out[0].scalar<float>(), 2.f);
}

TEST(Session, VariablesPersistAcrossRuns) {
  Scope root = Scope::NewRootScope();
  auto w = ops::Variable(root.WithOpName("w"), {2}, DT_FLOAT);
  auto init = ops::Assign(root.WithOpName("init_w"), w, Input({1.f, 2.f}));
  auto step = ops::ApplyGradientDescent(root.WithOpName("step"), w, 0.5f, Input({2.f, 4.f}));
  ASSERT_TRUE(root.ok()) << root.status();
  absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(root);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->Run({Operation(init)}).ok());
  std::vector<Tensor> before;
  ASSERT_TRUE((*s)->Run({}, {w}, {}, &before).ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE((*s)->Run({Operation(step)}).ok());
  std::vector<Tensor> after;
  ASSERT_TRUE((*s)->Run({}, {w}, {}, &after).ok());
  // 1 - 3 * 0.5 * 2 = -2; 2 - 3 * 0.5 * 4 = -4.
  test::ExpectTensorNear(after[0], {2}, {-2.f, -4.f});
  // A tensor fetched earlier keeps its values: updates copy on write.
  test::ExpectTensorNear(before[0], {2}, {1.f, 2.f});
}

TEST(Session, ReadingAnUninitializedVariableNamesIt) {
  Scope root = Scope::NewRootScope();
  auto w = ops::Variable(root.WithOpName("W"), {2}, DT_FLOAT);
  auto read = ops::Identity(root.WithOpName("read"), w);
  absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(root);
  std::vector<Tensor> out;
  absl::Status st = (*s)->Run({}, {read}, {}, &out);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(st.message(), "Attempting to use uninitialized variable W")) << st;
}

TEST(Session, RefusesToUpdateAVariableWhoseValueIsFed) {
  Scope root = Scope::NewRootScope();
  auto w = ops::Variable(root.WithOpName("w"), {2}, DT_FLOAT);
  auto assign = ops::Assign(root.WithOpName("assign"), w, Input({1.f, 2.f}));
  auto step = ops::ApplyGradientDescent(root.WithOpName("step"), w, 0.5f, Input({2.f, 4.f}));
  absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(root);
  std::vector<Tensor> out;
  for (const Output& target : {Output(assign), Output(step)}) {
    absl::Status st = (*s)->Run({{w, test::FloatTensor({2}, {0, 0})}}, {}, {target}, &out);
    EXPECT_TRUE(absl::StrContains(st.message(), "must be a variable, but a fed tensor was given"))
        << st;
  }
  // Reading a fed variable is fine: the feed replaces its value for this run.
  auto read = ops::Identity(root.WithOpName("read"), w);
  ASSERT_TRUE((*s)->Run({{w, test::FloatTensor({2}, {7, 8})}}, {read}, {}, &out).ok());
  test::ExpectTensorNear(out[0], {2}, {7, 8});
}

TEST(Session, RejectsAFeedOfTheWrongDtypeOrShape) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({-1, 3}));
  auto y = ops::Identity(root.WithOpName("y"), x);
  absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(root);
  std::vector<Tensor> out;
  absl::Status st = (*s)->Run({{"x", Tensor::Scalar<int32_t>(1)}}, {"y"}, {}, &out);
  EXPECT_TRUE(absl::StrContains(st.message(), "feed 'x' is int32 but the graph expects float")) << st;
  st = (*s)->Run({{"x", Tensor(DT_FLOAT, TensorShape({2, 4}))}}, {"y"}, {}, &out);
  EXPECT_TRUE(absl::StrContains(st.message(), "feed 'x' has shape [2,4] but the graph expects [?,3]"))
      << st;
}

// As in TensorFlow's C++ session, only a placeholder's declared shape binds a feed: a fed
// intermediate may take another shape than inferred, and what reads it computes with that shape.
TEST(Session, AFedIntermediateMayHaveAnotherShapeThanInferred) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({1, 3}));
  auto r = ops::Reshape(root.WithOpName("r"), x, {1, 3});
  auto y = ops::Sum(root.WithOpName("y"), ops::Mul(root, r, r), ops::Const(root, 1));
  for (bool optimize : {true, false}) {
    SCOPED_TRACE(optimize);
    SessionOptions options;
    options.optimize_graph = optimize;
    absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(root, options);
    ASSERT_TRUE(s.ok()) << s.status();
    std::vector<Tensor> out;
    absl::Status st =
        (*s)->Run({{"r", test::FloatTensor({2, 3}, {1, 2, 3, 4, 5, 6})}}, {"y"}, {}, &out);
    ASSERT_TRUE(st.ok()) << st;
    test::ExpectTensorNear(out[0], {2}, {1 + 4 + 9, 16 + 25 + 36});
  }
}

TEST(Session, RejectsUnknownFetchesAndOutputIndices) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Const(root.WithOpName("x"), 1.f);
  absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(root);
  std::vector<Tensor> out;
  absl::Status st = (*s)->Run({}, {"nope"}, {}, &out);
  EXPECT_TRUE(absl::StrContains(st.message(), "no node named 'nope'")) << st;
  st = (*s)->Run({}, {"x:1"}, {}, &out);
  EXPECT_TRUE(absl::StrContains(st.message(), "has 1 outputs")) << st;
  st = (*s)->Run({}, {}, {"missing_target"}, &out);
  EXPECT_TRUE(absl::StrContains(st.message(), "missing_target")) << st;
}

TEST(Session, FetchingAnOpWithoutOutputsSuggestsATarget) {
  Scope root = Scope::NewRootScope();
  auto noop = ops::NoOp(root.WithOpName("train"));
  absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(root);
  std::vector<Tensor> out;
  absl::Status st = (*s)->Run({}, {"train"}, {}, &out);
  EXPECT_TRUE(absl::StrContains(st.message(), "pass it as a target")) << st;
  EXPECT_TRUE((*s)->Run({}, {}, {"train"}, &out).ok());
}

TEST(Session, NodesAddedAfterCreationAreRunnable) {
  Scope root = Scope::NewRootScope();
  auto a = ops::Const(root, 2.f);
  absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(root);
  auto b = ops::Identity(root, a);
  std::vector<Tensor> out;
  ASSERT_TRUE((*s)->Run({}, {b}, {}, &out).ok());
  EXPECT_EQ(out[0].scalar<float>(), 2.f);
}

TEST(Session, RunIsSafeFromSeveralThreads) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
  auto y = ops::Reshape(root.WithOpName("y"), x, {-1});
  absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(root);
  ASSERT_TRUE(s.ok());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const float v = static_cast<float>(t * 1000 + i);
        std::vector<Tensor> out;
        absl::Status st = (*s)->Run({{"x", test::FloatTensor({1, 2}, {v, -v})}}, {"y"}, {}, &out);
        if (!st.ok() || out[0].flat<float>()[0] != v || out[0].flat<float>()[1] != -v) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace dflow
