#include "tools/fuzz/saved_model_fuzz.h"

#include <unistd.h>

#include <filesystem>
#include <cstring>
#include <fstream>
#include <optional>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "runtime/saved_model.h"
#include "runtime/tensor_bundle.h"
#include "tools/fuzz/checkpoint_fuzz.h"

namespace dflow {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// A zero-filled feed of `info`'s dtype and shape (unknown dims 1), or nothing for dtypes and
// sizes this target does not feed.
std::optional<Tensor> ZeroFeed(const TensorInfo& info) {
  const DataType dtype = info.dtype();
  if (dtype != DT_FLOAT && dtype != DT_INT32 && dtype != DT_INT64 && dtype != DT_BOOL &&
      dtype != DT_DOUBLE && dtype != DT_UINT8) {
    return std::nullopt;
  }
  std::vector<int64_t> dims;
  int64_t elements = 1;
  if (!info.tensor_shape().unknown_rank()) {
    if (info.tensor_shape().dim_size() > 8) return std::nullopt;
    for (const auto& d : info.tensor_shape().dim()) {
      const int64_t size = d.size() < 0 ? 1 : d.size();
      if (size > 4096) return std::nullopt;
      elements *= size;
      if (elements > 4096) return std::nullopt;
      dims.push_back(size);
    }
  }
  Tensor t(dtype, TensorShape(dims));
  if (t.TotalBytes() > 0) std::memset(t.data(), 0, t.TotalBytes());
  return t;
}

}  // namespace

absl::Status RunSavedModelBytes(const uint8_t* data, size_t size) {
  SetMaxTensorElements(int64_t{1} << 22);
  static const std::string dir = [] {
    const std::string d = absl::StrCat(std::filesystem::temp_directory_path().string(),
                                       "/dflow_saved_model_fuzz.", getpid());
    std::filesystem::create_directories(d + "/variables");
    return d;
  }();
  absl::string_view in(reinterpret_cast<const char*>(data), size);
  uint32_t n = 0;
  for (int i = 0; i < 4 && !in.empty(); ++i) {
    n |= uint32_t{static_cast<uint8_t>(in[0])} << (8 * i);
    in.remove_prefix(1);
  }
  const absl::string_view pb = in.substr(0, std::min<size_t>(n, in.size()));
  in.remove_prefix(pb.size());
  {
    std::ofstream out(dir + "/saved_model.pb", std::ios::binary | std::ios::trunc);
    out.write(pb.data(), static_cast<std::streamsize>(pb.size()));
  }
  const std::string prefix = absl::StrCat(dir, "/", kSavedModelVariablesPrefix);
  std::filesystem::remove(BundleIndexPath(prefix));
  std::filesystem::remove(BundleDataPath(prefix, 0, 1));
  if (!in.empty()) DFLOW_RETURN_IF_ERROR(WriteFuzzCheckpoint(in, prefix));

  SavedModel saved_model;
  DFLOW_RETURN_IF_ERROR(ReadSavedModel(dir, &saved_model));
  std::vector<const MetaGraphDef*> meta_graphs;
  for (const MetaGraphDef& mg : saved_model.meta_graphs()) {
    meta_graphs.push_back(&mg);
    InitOpName(mg);
  }
  DescribeMetaGraphs(meta_graphs);
  if (meta_graphs.empty()) return absl::OkStatus();
  const auto& tags = meta_graphs[0]->meta_info_def().tags();
  SavedModelBundle bundle;
  SessionOptions options;
  options.memory_limit_bytes = int64_t{1} << 30;
  DFLOW_RETURN_IF_ERROR(
      LoadSavedModel(options, dir, std::vector<std::string>(tags.begin(), tags.end()), &bundle));
  for (const auto& [key, sig] : bundle.meta_graph_def.signature_def()) {
    std::vector<std::pair<std::string, Tensor>> feeds;
    std::vector<std::string> fetches;
    for (const auto& [name, info] : sig.inputs()) {
      absl::StatusOr<std::string> tensor = SignatureTensorName(sig, name, /*input=*/true);
      std::optional<Tensor> feed = ZeroFeed(info);
      if (tensor.ok() && feed.has_value()) feeds.emplace_back(*tensor, *std::move(feed));
    }
    for (const auto& [name, info] : sig.outputs()) {
      absl::StatusOr<std::string> tensor = SignatureTensorName(sig, name, /*input=*/false);
      if (tensor.ok()) fetches.push_back(*tensor);
    }
    std::vector<Tensor> outputs;
    bundle.session->Run(feeds, fetches, {}, &outputs).IgnoreError();
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> SavedModelFuzzInput(const std::string& dir) {
  const std::string pb = ReadAll(absl::StrCat(dir, "/", kSavedModelFilenamePb));
  if (pb.empty()) return absl::NotFoundError(absl::StrCat("no saved_model.pb in ", dir));
  std::string out;
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((pb.size() >> (8 * i)) & 0xff));
  out += pb;
  const std::string prefix = absl::StrCat(dir, "/", kSavedModelVariablesPrefix);
  if (BundleExists(prefix)) {
    DFLOW_ASSIGN_OR_RETURN(std::string variables, CheckpointFuzzInput(prefix, false));
    out += variables;
  }
  return out;
}

}  // namespace dflow
