// PlaceholderWithDefault (fed value or its default; TensorFlow's shape function; identity
// gradient) and Assert (a false condition fails the run with the data as TensorFlow prints it;
// stateful: never folded away).
#include <cmath>

#include "absl/strings/match.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "ops/standard_ops.h"
#include "tests/gradient_checker.h"
#include "tests/test_util.h"

namespace dflow {
namespace {

TEST(PlaceholderWithDefault, GivesTheFedValueElseItsDefault) {
  for (bool optimize : {true, false}) {
    SessionOptions options;
    options.optimize_graph = optimize;
    Scope root = Scope::NewRootScope();
    auto def = ops::Const(root, test::FloatTensor({1, 2}, {1, 2}));
    auto p = ops::PlaceholderWithDefault(root.WithOpName("p"), def, PartialTensorShape({-1, 2}));
    auto y = ops::Mul(root.WithOpName("y"), p, 3.f);
    ASSERT_TRUE(root.ok()) << root.status();
    EXPECT_EQ(p.shape(), PartialTensorShape({-1, 2})) << "the declared shape, not the default's";
    absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(root, options);
    ASSERT_TRUE(session.ok());
    std::vector<Tensor> out;
    ASSERT_TRUE((*session)->Run({}, {"y"}, {}, &out).ok());
    test::ExpectTensorNear(out[0], {1, 2}, {3, 6});
    // A fed value of another batch size.
    ASSERT_TRUE((*session)->Run({{"p", test::FloatTensor({2, 2}, {1, 0, 0, -1})}}, {"y"}, {}, &out).ok());
    test::ExpectTensorNear(out[0], {2, 2}, {3, 0, 0, -3});
    absl::Status s = (*session)->Run({{"p", test::FloatTensor({1, 3}, {1, 2, 3})}}, {"y"}, {}, &out);
    EXPECT_TRUE(absl::StrContains(s.message(), "feed 'p' has shape [1,3]")) << s;
  }
}

TEST(PlaceholderWithDefault, TheDefaultMustFitTheShapeAttr) {
  Scope root = Scope::NewRootScope();
  ops::PlaceholderWithDefault(root.WithOpName("p"), ops::Const(root, test::FloatTensor({3}, {1, 2, 3})),
                              PartialTensorShape({2}));
  EXPECT_TRUE(absl::StrContains(test::ErrorOf(root), "PlaceholderWithDefault node 'p': the default "
                                                    "input has shape [3], incompatible with the "
                                                    "shape attr [2]"))
      << test::ErrorOf(root);
}

TEST(PlaceholderWithDefault, GradientFlowsToTheDefault) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({2, 3}));
  auto y = ops::PlaceholderWithDefault(root, ops::Square(root, x), PartialTensorShape({-1, 3}));
  absl::StatusOr<double> error = test::MaxGradientError(root, {{x, test::RandomTensor({2, 3}, 7)}}, y);
  ASSERT_TRUE(error.ok()) << error.status();
  EXPECT_LT(*error, 1e-3);
}

// Runs an Assert of `cond` on `data` as a target and returns the status.
absl::Status RunAssert(const Tensor& cond, const std::vector<Tensor>& data, int64_t summarize = 3,
                       bool optimize = true) {
  Scope root = Scope::NewRootScope();
  std::vector<Output> outs;
  for (const Tensor& t : data) outs.push_back(ops::Const(root, t));
  ops::Assert(root.WithOpName("check"), ops::Const(root, cond), outs, summarize);
  if (!root.ok()) return root.status();
  SessionOptions options;
  options.optimize_graph = optimize;
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(root, options);
  if (!session.ok()) return session.status();
  return (*session)->Run({}, {}, {"check"}, nullptr);
}

TEST(Assert, PassesOnTrueAndFailsOnFalseWithTheDataSummarizedAsTensorFlowPrintsIt) {
  EXPECT_TRUE(RunAssert(Tensor::Scalar<bool>(true), {test::Iota({2, 3})}).ok());
  for (bool optimize : {true, false}) {
    // A Const false condition is not folded away: Assert is stateful.
    absl::Status s = RunAssert(Tensor::Scalar<bool>(false),
                               {test::Iota({2, 3}), Tensor::Scalar<int32_t>(7)}, 3, optimize);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(s.message(), "Assert node 'check': assertion failed: [[0 1 2]...] [7]");
  }
  struct Case {
    std::vector<Tensor> data;
    int64_t summarize;
    std::string expected;
  };
  for (const Case& c : std::vector<Case>{
           {{test::Iota({2, 3})}, 4, "[[0 1 2][3...]...]"},
           {{test::Iota({2, 3})}, -1, "[[0 1 2][3 4 5]]"},
           {{test::Iota({2, 3})}, 0, "[...]"},
           {{test::IntTensor<int64_t>({5, 6, 7, 8})}, 3, "[5 6 7...]"},
           {{Tensor::Scalar<float>(0.1f), Tensor::Scalar<float>(1.2345678f)}, 3,
            "[0.1] [1.23456776]"},
           {{Tensor::Scalar<double>(1.0 / 3)}, 3, "[0.33333333333333331]"},
           {{Tensor::Scalar<bool>(false), Tensor::Scalar<float>(-INFINITY)}, 3, "[0] [-inf]"},
           {{}, 3, ""}}) {
    absl::Status s = RunAssert(Tensor::Scalar<bool>(false), c.data, c.summarize);
    EXPECT_EQ(s.message(), "Assert node 'check': assertion failed: " + c.expected);
  }
}

TEST(Assert, ChecksItsConditionIsAScalarBoolWhenItRuns) {
  EXPECT_TRUE(RunAssert(test::Make<bool>({1}, {true}), {}).ok()) << "[1] is a legacy scalar";
  absl::Status s = RunAssert(test::Make<bool>({2}, {true, true}), {});
  EXPECT_TRUE(absl::StrContains(s.message(), "In[0] should be a scalar: [2]")) << s;
}

TEST(Assert, ImportsFromTensorFlowAndGuardsItsReaders) {
  // y = Identity(x) with a control edge from an Assert of x > 0, as tf.Assert in a
  // control_dependencies block writes it.
  GraphDef def;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(R"(
node { name: 'x' op: 'Placeholder' attr { key: 'dtype' value { type: DT_FLOAT } }
       attr { key: 'shape' value { shape { } } } }
node { name: 'zero' op: 'Const' attr { key: 'dtype' value { type: DT_FLOAT } }
       attr { key: 'value' value { tensor { dtype: DT_FLOAT tensor_shape { } float_val: 0 } } } }
node { name: 'positive' op: 'Greater' input: 'x' input: 'zero' attr { key: 'T' value { type: DT_FLOAT } } }
node { name: 'check' op: 'Assert' input: 'positive' input: 'x'
       attr { key: 'T' value { list { type: DT_FLOAT } } } attr { key: 'summarize' value { i: 3 } } }
node { name: 'y' op: 'Identity' input: 'x' input: '^check' attr { key: 'T' value { type: DT_FLOAT } } }
versions { producer: 27 }
)", &def));
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(def);
  ASSERT_TRUE(session.ok()) << session.status();
  std::vector<Tensor> out;
  ASSERT_TRUE((*session)->Run({{"x", Tensor::Scalar<float>(2)}}, {"y"}, {}, &out).ok());
  test::ExpectTensorNear(out[0], {}, {2});
  absl::Status s = (*session)->Run({{"x", Tensor::Scalar<float>(-0.5f)}}, {"y"}, {}, &out);
  EXPECT_EQ(s.message(), "Assert node 'check': assertion failed: [-0.5]");
  // The T list must match the data.
  def.mutable_node(3)->mutable_attr()->at("T").mutable_list()->add_type(DT_INT32);
  EXPECT_TRUE(absl::StrContains(Session::Create(def).status().message(),
                                "too few for its 'data'"))
      << Session::Create(def).status();
}

}  // namespace
}  // namespace dflow
