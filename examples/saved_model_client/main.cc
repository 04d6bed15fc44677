// saved_model_client: loads a SavedModel with an installed dflow and runs one of its signatures,
// as a program outside dflow's own build would (see README.md here and docs/install.md).
//
//   saved_model_client [--tag=serve] [--signature=serving_default] EXPORT_DIR KEY=VALUES ...
//
// VALUES are float numbers separated by commas ("1,0,-1,2,1,0") or "@FILE", a text file of
// numbers separated by spaces, commas or newlines. Each input is shaped as the signature says,
// its one unknown dimension (e.g. the batch) taken from the count of numbers.
#include <algorithm>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "runtime/saved_model.h"

namespace {

int Fail(const std::string& message) {
  std::cerr << "saved_model_client: error: " << message << std::endl;
  return 1;
}

bool ParseNumbers(std::string text, std::vector<float>* values, std::string* error) {
  if (!text.empty() && text[0] == '@') {
    std::ifstream in(text.substr(1));
    if (!in) {
      *error = "cannot read '" + text.substr(1) + "'";
      return false;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  for (char& c : text) {
    if (c == ',' || c == '\n' || c == '\t') c = ' ';
  }
  std::istringstream in(text);
  std::string word;
  while (in >> word) {
    size_t used = 0;
    try {
      values->push_back(std::stof(word, &used));
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != word.size()) {
      *error = "'" + word + "' is not a number";
      return false;
    }
  }
  return true;
}

// The signature's shape for `info` with its unknown dimension (at most one) fitted to `count`.
bool FitShape(const dflow::TensorInfo& info, int64_t count, std::vector<int64_t>* dims,
              std::string* error) {
  if (info.tensor_shape().unknown_rank()) {
    dims->push_back(count);  // Unknown rank: a vector.
    return true;
  }
  int64_t known = 1;
  int unknown = -1;
  for (int i = 0; i < info.tensor_shape().dim_size(); ++i) {
    const int64_t d = info.tensor_shape().dim(i).size();
    if (d < 0) {
      if (unknown >= 0) {
        *error = "its shape has more than one unknown dimension";
        return false;
      }
      unknown = i;
      dims->push_back(-1);
    } else {
      known *= d;
      dims->push_back(d);
    }
  }
  if (unknown >= 0 && known > 0 && count % known == 0) (*dims)[unknown] = count / known;
  int64_t total = 1;
  for (int64_t d : *dims) total *= d;
  if (total != count || (unknown >= 0 && known == 0)) {
    *error = std::to_string(count) + " numbers do not fit its shape";
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string tag = dflow::kSavedModelTagServe;
  std::string signature_key = dflow::kDefaultServingSignatureDefKey;
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help") {
      std::cout << "Usage: saved_model_client [--tag=serve] [--signature=serving_default] "
                   "EXPORT_DIR KEY=VALUES ...\n"
                   "Loads the SavedModel in EXPORT_DIR, feeds each signature input KEY the float\n"
                   "numbers VALUES (\"1,2,3\" or @FILE), runs the signature and prints every output.\n";
      return 0;
    }
    if (arg.rfind("--tag=", 0) == 0) {
      tag = arg.substr(6);
    } else if (arg.rfind("--signature=", 0) == 0) {
      signature_key = arg.substr(12);
    } else if (arg.rfind("--", 0) == 0) {
      return Fail("unknown flag '" + arg + "' (see --help)");
    } else {
      args.push_back(arg);
    }
  }
  if (args.empty()) return Fail("no EXPORT_DIR (see --help)");

  dflow::SavedModelBundle bundle;
  absl::Status status = dflow::LoadSavedModel({}, args[0], {tag}, &bundle);
  if (!status.ok()) return Fail(std::string(status.message()));
  const auto& signatures = bundle.meta_graph_def.signature_def();
  auto sig = signatures.find(signature_key);
  if (sig == signatures.end()) return Fail("no signature '" + signature_key + "' in " + args[0]);

  std::vector<std::pair<std::string, dflow::Tensor>> feeds;
  for (size_t i = 1; i < args.size(); ++i) {
    const size_t eq = args[i].find('=');
    if (eq == std::string::npos) return Fail("feed '" + args[i] + "' is not KEY=VALUES");
    const std::string key = args[i].substr(0, eq);
    auto input = sig->second.inputs().find(key);
    if (input == sig->second.inputs().end()) return Fail("the signature has no input '" + key + "'");
    std::vector<float> values;
    std::vector<int64_t> dims;
    std::string error;
    if (!ParseNumbers(args[i].substr(eq + 1), &values, &error) ||
        !FitShape(input->second, static_cast<int64_t>(values.size()), &dims, &error)) {
      return Fail("input '" + key + "': " + error);
    }
    absl::StatusOr<dflow::Tensor> t =
        dflow::Tensor::FromVector<float>(values, dflow::TensorShape(dims));
    if (!t.ok()) return Fail("input '" + key + "': " + std::string(t.status().message()));
    feeds.emplace_back(input->second.name(), *std::move(t));
  }

  std::vector<std::string> keys, fetches;  // By key, as saved_model_cli prints them.
  for (const auto& [key, info] : sig->second.outputs()) keys.push_back(key);
  std::sort(keys.begin(), keys.end());
  for (const std::string& key : keys) fetches.push_back(sig->second.outputs().at(key).name());
  std::vector<dflow::Tensor> outputs;
  status = bundle.session->Run(feeds, fetches, {}, &outputs);
  if (!status.ok()) return Fail(std::string(status.message()));
  for (size_t i = 0; i < outputs.size(); ++i) {
    const dflow::Tensor& t = outputs[i];
    std::cout << keys[i] << " " << t.shape().DebugString() << ":";
    if (t.dtype() == dflow::DT_FLOAT) {
      for (float v : t.flat<float>()) std::cout << " " << v;
    } else {
      std::cout << " (" << dflow::DataTypeString(t.dtype()) << ", not printed)";
    }
    std::cout << std::endl;
  }
  return 0;
}
