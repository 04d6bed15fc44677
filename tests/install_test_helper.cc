// Helper of tests/install_test.sh:
//   install_test_helper export DIR            writes a tiny SavedModel: y = x W + b, x [?,3],
//                                             W = [[1,2],[3,4],[5,6]], b = [0.5,-1]
//   install_test_helper softmax DIR FILE      softmax(x W + b) by plain loops, W and b read from
//                                             DIR/variables/variables, x (one row) from FILE
#include <cmath>
#include <fstream>
#include <iostream>
#include <sstream>

#include "ops/standard_ops.h"
#include "runtime/saved_model.h"
#include "runtime/saved_model_export.h"
#include "runtime/tensor_bundle.h"

namespace dflow {
namespace {

int Export(const std::string& dir) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({-1, 3}));
  auto w = ops::Variable(root.WithOpName("W"), {3, 2}, DT_FLOAT);
  auto b = ops::Variable(root.WithOpName("b"), {2}, DT_FLOAT);
  ops::Assign(root.WithOpName("W/Assign"), w,
              ops::Const(root, *Tensor::FromVector<float>({1, 2, 3, 4, 5, 6}, TensorShape({3, 2}))));
  ops::Assign(root.WithOpName("b/Assign"), b,
              ops::Const(root, *Tensor::FromVector<float>({0.5f, -1}, TensorShape({2}))));
  ops::Add(root.WithOpName("y"), ops::MatMul(root, x, w), b);
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(root);
  absl::Status s = session.status();
  if (s.ok()) s = (*session)->Run({}, {}, std::vector<std::string>{"W/Assign", "b/Assign"}, nullptr);
  absl::StatusOr<SignatureDef> sig = PredictSignature(*root.graph(), {{"x", "x"}}, {{"y", "y"}});
  if (s.ok()) s = sig.status();
  if (s.ok()) s = SaveSavedModel(**session, dir, {kSavedModelTagServe}, {{"serving_default", *sig}});
  if (!s.ok()) std::cerr << "install_test_helper: " << s << std::endl;
  return s.ok() ? 0 : 1;
}

int Softmax(const std::string& dir, const std::string& file) {
  absl::StatusOr<NamedTensors> vars = ReadTensorBundle(dir + "/variables/variables");
  if (!vars.ok() || vars->size() != 2 || (*vars)[0].first != "W" || (*vars)[1].first != "b") {
    std::cerr << "install_test_helper: expected W and b in " << dir << std::endl;
    return 1;
  }
  const Tensor& w = (*vars)[0].second;
  const Tensor& b = (*vars)[1].second;
  const int64_t n = w.shape().dim_size(0), k = w.shape().dim_size(1);
  std::ifstream in(file);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (char& c : text) c = c == ',' ? ' ' : c;
  std::istringstream numbers(text);
  std::vector<double> x;
  for (double v; numbers >> v;) x.push_back(v);
  if (static_cast<int64_t>(x.size()) != n) {
    std::cerr << "install_test_helper: " << file << " has " << x.size() << " numbers, not " << n
              << std::endl;
    return 1;
  }
  std::vector<double> logits(k);
  double max = -1e300, sum = 0;
  for (int64_t j = 0; j < k; ++j) {
    logits[j] = b.flat<float>()[j];
    for (int64_t i = 0; i < n; ++i) logits[j] += x[i] * w.flat<float>()[i * k + j];
    max = std::max(max, logits[j]);
  }
  for (double& l : logits) sum += (l = std::exp(l - max));
  for (double l : logits) std::cout << l / sum << "\n";
  return 0;
}

}  // namespace
}  // namespace dflow

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "export" && argc == 3) return dflow::Export(argv[2]);
  if (mode == "softmax" && argc == 4) return dflow::Softmax(argv[2], argv[3]);
  std::cerr << "usage: install_test_helper export DIR | softmax DIR FILE" << std::endl;
  return 2;
}
