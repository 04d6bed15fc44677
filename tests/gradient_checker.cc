#include "tests/gradient_checker.h"

#include <algorithm>
#include <cmath>

#include "graph/status_macros.h"
#include "ops/array_ops.h"
#include "ops/gradients.h"
#include "runtime/session.h"
#include "tests/test_util.h"

namespace dflow {
namespace test {

absl::StatusOr<double> MaxGradientError(const Scope& scope,
                                        const std::vector<std::pair<Output, Tensor>>& xs,
                                        const Output& y,
                                        const std::vector<std::pair<Output, Tensor>>& other_feeds,
                                        double step) {
  DFLOW_RETURN_IF_ERROR(scope.status());
  std::vector<std::pair<Output, Tensor>> feeds = xs;
  feeds.insert(feeds.end(), other_feeds.begin(), other_feeds.end());

  DFLOW_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::Create(scope));
  std::vector<Tensor> out;
  DFLOW_RETURN_IF_ERROR(session->Run(feeds, {y}, {}, &out));
  const Tensor weights = RandomTensor(out[0].shape(), /*seed=*/1234, 0.5f, 1.5f);

  // Symbolic: seed dL/dy = w.
  Output w = ops::Const(scope.WithOpName("gradient_checker/w"), weights);
  std::vector<Output> x_outputs, grads;
  for (const auto& [x, value] : xs) x_outputs.push_back(x);
  DFLOW_RETURN_IF_ERROR(AddSymbolicGradients(scope, {y}, x_outputs, {w}, &grads));
  std::vector<Tensor> symbolic;
  DFLOW_RETURN_IF_ERROR(session->Run(feeds, grads, {}, &symbolic));

  auto loss = [&](const std::vector<std::pair<Output, Tensor>>& f) -> absl::StatusOr<double> {
    std::vector<Tensor> o;
    DFLOW_RETURN_IF_ERROR(session->Run(f, {y}, {}, &o));
    double sum = 0;
    auto yv = o[0].flat<float>();
    auto wv = weights.flat<float>();
    for (size_t i = 0; i < yv.size(); ++i) sum += static_cast<double>(yv[i]) * wv[i];
    return sum;
  };

  double max_error = 0;
  for (size_t k = 0; k < xs.size(); ++k) {
    if (symbolic[k].shape() != xs[k].second.shape()) {
      return absl::InternalError("gradient of '" + xs[k].first.name() + "' has shape " +
                                 symbolic[k].shape().DebugString() + ", x has " +
                                 xs[k].second.shape().DebugString());
    }
    for (int64_t i = 0; i < xs[k].second.NumElements(); ++i) {
      std::vector<std::pair<Output, Tensor>> f = feeds;
      Tensor plus = xs[k].second.DeepCopy(), minus = xs[k].second.DeepCopy();
      plus.flat<float>()[i] += static_cast<float>(step);
      minus.flat<float>()[i] -= static_cast<float>(step);
      f[k].second = plus;
      DFLOW_ASSIGN_OR_RETURN(const double lp, loss(f));
      f[k].second = minus;
      DFLOW_ASSIGN_OR_RETURN(const double lm, loss(f));
      // The perturbation actually applied, after float rounding.
      const double h = static_cast<double>(plus.flat<float>()[i]) - minus.flat<float>()[i];
      const double numeric = (lp - lm) / h;
      const double sym = symbolic[k].flat<float>()[i];
      max_error = std::max(max_error, std::fabs(sym - numeric) / std::max(1.0, std::fabs(numeric)));
    }
  }
  return max_error;
}

}  // namespace test
}  // namespace dflow
