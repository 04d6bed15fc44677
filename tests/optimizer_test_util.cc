#include "tests/optimizer_test_util.h"

#include <cmath>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "runtime/session.h"
#include "tests/test_util.h"

namespace dflow {
namespace test {

int CountOps(const Graph& graph, absl::string_view op) {
  int count = 0;
  for (const Node* n : graph.nodes()) count += n->op() == op;
  return count;
}

void ExpectSameTensor(const Tensor& optimized, const Tensor& original, float tol) {
  ASSERT_EQ(optimized.dtype(), original.dtype());
  ASSERT_EQ(optimized.shape(), original.shape());
  if (original.dtype() != DT_FLOAT) {
    ASSERT_EQ(optimized.DebugString(1 << 20), original.DebugString(1 << 20));
    return;
  }
  auto a = optimized.flat<float>();
  auto b = original.flat<float>();
  for (int64_t i = 0; i < original.NumElements(); ++i) {
    ASSERT_NEAR(a[i], b[i], tol * (1 + std::fabs(b[i]))) << "at element " << i;
  }
}

OptimizedGraph RunBothAndCompare(const Graph& graph,
                                 const std::vector<std::pair<Output, Tensor>>& feeds,
                                 const std::vector<Output>& fetches,
                                 const GraphOptimizerOptions& options, float tol) {
  std::vector<Output> fed;
  std::vector<TensorShape> shapes;
  for (const auto& [output, value] : feeds) {
    fed.push_back(output);
    shapes.push_back(value.shape());
  }
  absl::StatusOr<OptimizedGraph> opt = OptimizeGraph(graph, Signature{fed, shapes, fetches, {}}, options);
  EXPECT_TRUE(opt.ok()) << opt.status();
  if (!opt.ok()) return OptimizedGraph();
  EXPECT_EQ(opt->signature.feeds.size(), feeds.size());
  EXPECT_EQ(opt->signature.fetches.size(), fetches.size());

  absl::StatusOr<std::unique_ptr<Session>> original =
      Session::Create(graph, Unoptimized());
  absl::StatusOr<std::unique_ptr<Session>> optimized =
      Session::Create(*opt->graph, Unoptimized());
  EXPECT_TRUE(original.ok() && optimized.ok());
  if (!original.ok() || !optimized.ok()) return std::move(*opt);
  std::vector<std::pair<Output, Tensor>> opt_feeds;
  for (size_t i = 0; i < feeds.size(); ++i) opt_feeds.push_back({opt->signature.feeds[i], feeds[i].second});
  std::vector<Tensor> expected, actual;
  absl::Status s = (*original)->Run(feeds, fetches, {}, &expected);
  EXPECT_TRUE(s.ok()) << s;
  if (!s.ok()) return std::move(*opt);
  s = (*optimized)->Run(opt_feeds, opt->signature.fetches, {}, &actual);
  EXPECT_TRUE(s.ok()) << s;
  if (!s.ok()) return std::move(*opt);
  for (size_t i = 0; i < fetches.size(); ++i) {
    SCOPED_TRACE(fetches[i].name());
    ExpectSameTensor(actual[i], expected[i], tol);
  }
  return std::move(*opt);
}

OptimizedGraph RunBothAndCompare(const Scope& root,
                                 const std::vector<std::pair<Output, Tensor>>& feeds,
                                 const std::vector<Output>& fetches,
                                 const GraphOptimizerOptions& options) {
  EXPECT_TRUE(root.ok()) << root.status();
  return RunBothAndCompare(*root.graph(), feeds, fetches, options);
}

}  // namespace test
}  // namespace dflow
