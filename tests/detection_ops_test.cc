// Tests of NonMaxSuppressionV2/V3/V4: TensorFlow's documented three-clusters example (also with
// flipped corners), hand-computed IoU at the threshold, ties, zero-area boxes, padding, input
// checks, and random boxes against a plain reference (repeatedly take the best remaining box
// and strike out what overlaps it, IoU in double).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ops/array_ops.h"
#include "ops/detection_ops.h"
#include "tests/test_util.h"

namespace dflow {
namespace test {
namespace {

// A fresh reference: box k is taken when no box taken before overlaps it by more than the
// threshold; among the remaining boxes above score_threshold the highest score (then the lowest
// index) goes next.
std::vector<int32_t> NmsRef(const std::vector<float>& boxes, const std::vector<float>& scores,
                            int max_out, float iou_thr, float score_thr) {
  const int n = static_cast<int>(scores.size());
  auto iou = [&](int i, int j) -> double {
    double y0[2], y1[2], x0[2], x1[2];
    const int k[2] = {i, j};
    for (int a = 0; a < 2; ++a) {
      const float* b = &boxes[4 * k[a]];
      y0[a] = std::min(b[0], b[2]);
      y1[a] = std::max(b[0], b[2]);
      x0[a] = std::min(b[1], b[3]);
      x1[a] = std::max(b[1], b[3]);
    }
    const double ai = (y1[0] - y0[0]) * (x1[0] - x0[0]), aj = (y1[1] - y0[1]) * (x1[1] - x0[1]);
    if (ai <= 0 || aj <= 0) return 0;
    const double h = std::min(y1[0], y1[1]) - std::max(y0[0], y0[1]);
    const double w = std::min(x1[0], x1[1]) - std::max(x0[0], x0[1]);
    const double inter = h > 0 && w > 0 ? h * w : 0;
    return inter / (ai + aj - inter);
  };
  std::vector<bool> gone(n, false);
  for (int i = 0; i < n; ++i) gone[i] = !(scores[i] > score_thr);
  std::vector<int32_t> out;
  while (static_cast<int>(out.size()) < max_out) {
    int best = -1;
    for (int i = 0; i < n; ++i) {
      if (!gone[i] && (best < 0 || scores[i] > scores[best])) best = i;
    }
    if (best < 0) break;
    gone[best] = true;
    bool keep = true;
    for (int32_t k : out) keep = keep && !(iou(best, k) > iou_thr);
    if (keep) out.push_back(best);
  }
  return out;
}

Tensor Boxes(std::vector<float> v) {
  const int64_t n = static_cast<int64_t>(v.size() / 4);
  return FloatTensor({n, 4}, std::move(v));
}

absl::StatusOr<Tensor> RunV3(const Tensor& boxes, const Tensor& scores, int max_out, float iou,
                             float score_thr) {
  Scope root = Scope::NewRootScope();
  Output y = ops::NonMaxSuppressionV3(root, ops::Const(root, boxes), ops::Const(root, scores),
                                      max_out, iou, score_thr);
  return RunOne(root, y, {}, Unoptimized());
}

std::vector<int32_t> I32(const Tensor& t) { return ValuesOf<int32_t>(t); }

const std::vector<float> kClusters = {0, 0,  1, 1,  0, 0.1f,  1, 1.1f,  0, -0.1f, 1, 0.9f,
                                      0, 10, 1, 11, 0, 10.1f, 1, 11.1f, 0, 100,   1, 101};
const std::vector<float> kClusterScores = {0.9f, 0.75f, 0.6f, 0.95f, 0.5f, 0.3f};

TEST(NonMaxSuppressionTest, ThreeClusters) {
  // Boxes 1 and 2 overlap box 0 by 0.9/1.1 and 0.8/1.2; box 4 overlaps box 3 by 0.9/1.1.
  Scope root = Scope::NewRootScope();
  auto b = ops::Const(root, Boxes(kClusters));
  auto s = ops::Const(root, FloatTensor({6}, kClusterScores));
  Output v2 = ops::NonMaxSuppressionV2(root, b, s, 3, 0.5f);
  Output v2_two = ops::NonMaxSuppressionV2(root, b, s, 2, 0.5f);
  Output v3 = ops::NonMaxSuppressionV3(root, b, s, 6, 0.5f, 0.4f);
  Output v2_all = ops::NonMaxSuppressionV2(root, b, s, 100, 0.85f);  // Every IoU is below.
  absl::StatusOr<std::vector<Tensor>> out = RunGraph(root, {}, {v2, v2_two, v3, v2_all});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(I32((*out)[0]), (std::vector<int32_t>{3, 0, 5}));
  EXPECT_EQ(I32((*out)[1]), (std::vector<int32_t>{3, 0}));
  EXPECT_EQ(I32((*out)[2]), (std::vector<int32_t>{3, 0}));  // Box 5's 0.3 is under 0.4.
  EXPECT_EQ(I32((*out)[3]), (std::vector<int32_t>{3, 0, 1, 2, 4, 5}));
}

TEST(NonMaxSuppressionTest, FlippedCornersGiveTheSameBoxes) {
  const std::vector<float> flipped = {1, 1,  0, 0,  0, 0.1f,  1, 1.1f,  0, 0.9f, 1, -0.1f,
                                      0, 10, 1, 11, 1, 10.1f, 0, 11.1f, 1, 101,  0, 100};
  absl::StatusOr<Tensor> y =
      RunV3(Boxes(flipped), FloatTensor({6}, kClusterScores), 3, 0.5f, -1e30f);
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(I32(*y), (std::vector<int32_t>{3, 0, 5}));
}

TEST(NonMaxSuppressionTest, IouEqualToTheThresholdKeeps) {
  // [0,0,2,2] and [0,0,2,1]: intersection 2, union 4, IoU exactly 0.5.
  const Tensor b = Boxes({0, 0, 2, 2, 0, 0, 2, 1});
  const Tensor s = FloatTensor({2}, {0.9f, 0.8f});
  absl::StatusOr<Tensor> at = RunV3(b, s, 5, 0.5f, 0.0f);
  absl::StatusOr<Tensor> below = RunV3(b, s, 5, 0.49f, 0.0f);
  ASSERT_TRUE(at.ok() && below.ok());
  EXPECT_EQ(I32(*at), (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(I32(*below), (std::vector<int32_t>{0}));
}

TEST(NonMaxSuppressionTest, TiesGoToTheLowerIndexAndScoreThresholdIsStrict) {
  // Four equal boxes with equal scores: only the first survives.
  const Tensor same = Boxes({0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1});
  absl::StatusOr<Tensor> y = RunV3(same, FloatTensor({4}, {0.5f, 0.7f, 0.7f, 0.7f}), 4, 0.5f, 0);
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(I32(*y), (std::vector<int32_t>{1}));
  // Disjoint boxes, equal scores: index order; a score equal to the threshold is dropped.
  const Tensor apart = Boxes({0, 0, 1, 1, 0, 5, 1, 6, 0, 9, 1, 10});
  y = RunV3(apart, FloatTensor({3}, {0.25f, 0.5f, 0.5f}), 3, 0.5f, 0.25f);
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(I32(*y), (std::vector<int32_t>{1, 2}));
}

TEST(NonMaxSuppressionTest, ZeroAreaBoxesNeverSuppress) {
  const Tensor b = Boxes({0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 1});
  absl::StatusOr<Tensor> y = RunV3(b, FloatTensor({3}, {0.9f, 0.8f, 0.7f}), 3, 0.0f, 0.0f);
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(I32(*y), (std::vector<int32_t>{0, 1, 2}));
}

TEST(NonMaxSuppressionTest, EmptyAndZeroMax) {
  absl::StatusOr<Tensor> none = RunV3(FloatTensor({0, 4}, {}), FloatTensor({0}, {}), 3, 0.5f, 0);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(none->NumElements(), 0);
  absl::StatusOr<Tensor> zero =
      RunV3(Boxes(kClusters), FloatTensor({6}, kClusterScores), 0, 0.5f, 0);
  ASSERT_TRUE(zero.ok()) << zero.status();
  EXPECT_EQ(zero->NumElements(), 0);
}

TEST(NonMaxSuppressionTest, V4PadsWithZerosAndCounts) {
  for (bool pad : {false, true}) {
    Scope root = Scope::NewRootScope();
    ops::NonMaxSuppressionV4 nms(root, ops::Const(root, Boxes(kClusters)),
                                 ops::Const(root, FloatTensor({6}, kClusterScores)), 5, 0.5f,
                                 0.0f, pad);
    ASSERT_TRUE(root.ok()) << root.status();
    EXPECT_EQ(nms.selected_indices.node()->output_shape(0),
              PartialTensorShape({pad ? 5 : -1}));
    absl::StatusOr<std::vector<Tensor>> out =
        RunGraph(root, {}, {nms.selected_indices, nms.valid_outputs});
    ASSERT_TRUE(out.ok()) << out.status();
    const std::vector<int32_t> expected =
        pad ? std::vector<int32_t>{3, 0, 5, 0, 0} : std::vector<int32_t>{3, 0, 5};
    EXPECT_EQ(I32((*out)[0]), expected);
    EXPECT_EQ((*out)[1].dims(), 0);
    EXPECT_EQ((*out)[1].flat<int32_t>()[0], 3);
  }
}

TEST(NonMaxSuppressionTest, RandomBoxesMatchTheReference) {
  uint64_t seed = 11;
  for (int n : {1, 2, 7, 37, 100}) {
    for (float iou : {0.0f, 0.3f, 0.7f, 1.0f}) {
      const Tensor corners = RandomTensor({n, 4}, seed++, 0.0f, 10.0f);
      std::vector<float> b = ValuesOf<float>(corners);
      for (int i = 0; i < n; ++i) {  // Small boxes so that clusters form; some flipped.
        b[4 * i + 2] = b[4 * i] + (i % 3 == 0 ? -1.0f : 1.0f) * (0.5f + b[4 * i + 2] / 4);
        b[4 * i + 3] = b[4 * i + 1] + 0.5f + b[4 * i + 3] / 4;
      }
      std::vector<float> s = ValuesOf<float>(RandomTensor({n}, seed++, 0.0f, 1.0f));
      for (float& v : s) v = std::round(v * 8) / 8;  // Many ties.
      for (int max_out : {1, n / 2 + 1, n + 3}) {
        SCOPED_TRACE(absl::StrCat("n ", n, " iou ", iou, " max ", max_out));
        absl::StatusOr<Tensor> y =
            RunV3(Boxes(b), FloatTensor({n}, s), max_out, iou, 0.25f);
        ASSERT_TRUE(y.ok()) << y.status();
        EXPECT_EQ(I32(*y), NmsRef(b, s, max_out, iou, 0.25f));
      }
    }
  }
}

TEST(NonMaxSuppressionTest, BadInputsAreErrors) {
  const Tensor s6 = FloatTensor({6}, kClusterScores);
  struct Case {
    Tensor boxes, scores;
    int max_out;
    float iou;
    const char* message;
  };
  for (const Case& c : std::vector<Case>{
           {Boxes(kClusters), s6, 3, 1.5f, "iou_threshold must be in [0, 1]"},
           {Boxes(kClusters), s6, -1, 0.5f, "output size must be non-negative"},
           {FloatTensor({4, 6}, std::vector<float>(24, 0)), FloatTensor({4}, {1, 2, 3, 4}), 3,
            0.5f, "4 columns"},
           {Boxes(kClusters), FloatTensor({5}, {1, 2, 3, 4, 5}), 3, 0.5f, "scores"}}) {
    Scope root = Scope::NewRootScope();
    auto b = ops::Placeholder(root, DT_FLOAT);
    auto s = ops::Placeholder(root, DT_FLOAT);
    Output y = ops::NonMaxSuppressionV3(root, b, s, c.max_out, c.iou, 0.0f);
    absl::StatusOr<Tensor> r = RunOne(root, y, {{b, c.boxes}, {s, c.scores}}, Unoptimized());
    ASSERT_FALSE(r.ok()) << c.message;
    EXPECT_TRUE(absl::StrContains(r.status().message(), c.message)) << r.status();
  }
  // Shape errors are found when the graph is built, too.
  Scope root = Scope::NewRootScope();
  ops::NonMaxSuppressionV2(root, ops::Const(root, FloatTensor({2, 3}, {1, 2, 3, 4, 5, 6})),
                           ops::Const(root, FloatTensor({2}, {1, 2})), 1, 0.5f);
  EXPECT_TRUE(absl::StrContains(ErrorOf(root), "4 columns")) << ErrorOf(root);
}

}  // namespace
}  // namespace test
}  // namespace dflow
