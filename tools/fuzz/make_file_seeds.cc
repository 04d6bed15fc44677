// Writes the seed corpora of the checkpoint and SavedModel fuzz targets (checkpoint_fuzz.h,
// saved_model_fuzz.h) into tools/fuzz/checkpoint_corpus/ and saved_model_corpus/:
//
//   bazel run //tools/fuzz:make_file_seeds -- $PWD/tools/fuzz            (the committed seeds)
//   bazel run //tools/fuzz:make_file_seeds -- /tmp/seeds /work/shared    (also TensorFlow's)
//
// Seeds: checkpoints and a SavedModel written by dflow, and with SHARED_DIR (../shared) the
// TensorFlow-written SavedModels of tf_graphs/corpus (named tf_*, not committed: they are other
// projects' files; `FUZZ_EXTRA_SEEDS=/tmp/seeds tools/fuzz/run_fuzzer.sh ...` adds them).
#include <filesystem>
#include <fstream>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "ops/standard_ops.h"
#include "runtime/saved_model.h"
#include "runtime/saved_model_export.h"
#include "runtime/tensor_bundle.h"
#include "tools/fuzz/checkpoint_fuzz.h"
#include "tools/fuzz/saved_model_fuzz.h"

namespace dflow {
namespace {

bool Put(const std::string& path, const absl::StatusOr<std::string>& bytes) {
  if (!bytes.ok()) {
    std::cerr << "make_file_seeds: " << path << ": " << bytes.status() << std::endl;
    return false;
  }
  std::ofstream(path, std::ios::binary) << *bytes;
  std::cout << "wrote " << path << " (" << bytes->size() << " bytes)" << std::endl;
  return true;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The raw form: flags 0, u32 LE index length, index, data.
std::string RawForm(const std::string& prefix) {
  const std::string index = ReadAll(BundleIndexPath(prefix));
  std::string out(1, '\0');
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((index.size() >> (8 * i)) & 0xff));
  return out + index + ReadAll(BundleDataPath(prefix, 0, 1));
}

int Main(const std::string& out_dir, const std::string& shared) {
  const std::string ckpt = out_dir + "/checkpoint_corpus";
  const std::string sm = out_dir + "/saved_model_corpus";
  std::filesystem::create_directories(ckpt);
  std::filesystem::create_directories(sm);
  const std::string tmp = std::filesystem::temp_directory_path().string() + "/make_file_seeds";
  std::filesystem::remove_all(tmp);
  std::filesystem::create_directories(tmp);

  // The fuzz target's own variables: a float [2], b int32 [?].
  const std::string prefix = tmp + "/ab";
  NamedTensors ab;
  ab.emplace_back("a", *Tensor::FromVector<float>({3, 4}, TensorShape({2})));
  ab.emplace_back("b", *Tensor::FromVector<int32_t>({1, 2, 3, 4}, TensorShape({4})));
  ab.emplace_back("c", *Tensor::FromVector<int64_t>({-5}, TensorShape({})));
  if (!WriteTensorBundle(prefix, ab).ok()) return 1;
  bool ok = Put(ckpt + "/ab_built", CheckpointFuzzInput(prefix, false));
  ok &= Put(ckpt + "/ab_built_fixed", CheckpointFuzzInput(prefix, true));
  ok &= Put(ckpt + "/ab_raw", RawForm(prefix));

  // A tiny model, y = x w, exported by SaveSavedModel.
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT, ops::Placeholder::Shape({-1, 2}));
  auto w = ops::Variable(root.WithOpName("w"), {2, 1}, DT_FLOAT);
  ops::Assign(root.WithOpName("init"), w,
              ops::Const(root, *Tensor::FromVector<float>({2, 3}, TensorShape({2, 1}))));
  ops::MatMul(root.WithOpName("y"), x, w);
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(root);
  absl::StatusOr<SignatureDef> sig = PredictSignature(*root.graph(), {{"x", "x"}}, {{"y", "y"}});
  if (!session.ok() || !sig.ok() ||
      !(*session)->Run({}, {}, std::vector<std::string>{"init"}, nullptr).ok() ||
      !SaveSavedModel(**session, tmp + "/tiny", {"serve"}, {{"serving_default", *sig}}).ok()) {
    std::cerr << "make_file_seeds: exporting the tiny model failed" << std::endl;
    return 1;
  }
  ok &= Put(sm + "/tiny_export", SavedModelFuzzInput(tmp + "/tiny"));

  if (!shared.empty()) {
    const std::string files = shared + "/tf_graphs/corpus/files";
    for (const char* name : {"tfserving_saved_model_counter", "tfrust_regression_savedmodel",
                             "scisharp_example1_savedmodel"}) {
      ok &= Put(absl::StrCat(sm, "/tf_", name),
                SavedModelFuzzInput(absl::StrCat(files, "/", name)));
    }
    const std::string counter = files + "/tfserving_saved_model_counter/variables/variables";
    ok &= Put(ckpt + "/tf_counter_built", CheckpointFuzzInput(counter, false));
    ok &= Put(ckpt + "/tf_counter_raw", RawForm(counter));
  }
  std::filesystem::remove_all(tmp);
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace dflow

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3 || std::string(argv[1]) == "--help") {
    std::cerr << "Usage: make_file_seeds OUT_DIR [SHARED_DIR]\n"
                 "Writes OUT_DIR/checkpoint_corpus/ and OUT_DIR/saved_model_corpus/ (the seeds\n"
                 "of the checkpoint and saved_model fuzz targets).\n";
    return argc == 2 ? 0 : 2;
  }
  return dflow::Main(argv[1], argc == 3 ? argv[2] : "");
}
