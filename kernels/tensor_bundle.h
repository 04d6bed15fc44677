// TensorFlow's V2 checkpoint format ("tensor bundle"), read and written as TensorFlow's
// BundleReader/BundleWriter do, so each side restores the other's checkpoints.
//
//   PREFIX.index                  a LevelDB-format table (no compression, 256 KiB blocks, restart
//                                 interval 16): under "" a BundleHeaderProto, under each tensor's
//                                 name a BundleEntryProto (proto/tensor_bundle.proto)
//   PREFIX.data-00000-of-00001    the tensors' raw little-endian bytes, back to back (TensorFlow's
//                                 default alignment of 1), each entry's masked crc32c over its bytes;
//                                 a string tensor as TensorFlow writes it
//                                 (kernels/tensor_bundle_strings.h)
//
// Reading also takes TensorFlow's merged bundles of several data shards.
#ifndef DFLOW_KERNELS_TENSOR_BUNDLE_H_
#define DFLOW_KERNELS_TENSOR_BUNDLE_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/tensor.h"

namespace dflow {

// TensorFlow's table options and format version for bundles.
inline constexpr int kBundleIndexBlockSize = 262144;
inline constexpr int kBundleIndexRestartInterval = 16;
inline constexpr int kTensorBundleVersion = 1;
inline constexpr int kTensorBundleMinConsumer = 0;
inline constexpr int kTensorBundleMinProducer = 0;

std::string BundleIndexPath(absl::string_view prefix);                          // PREFIX.index
std::string BundleDataPath(absl::string_view prefix, int shard, int num_shards);  // .data-...

// The folder part of a path ("." when it has none) and the rest.
std::string Dirname(const std::string& path);
std::string Basename(const std::string& path);

// True when PREFIX.index exists.
bool BundleExists(const std::string& prefix);

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// Writes `tensors` (distinct, non-empty names; dtypes with storage) as a one-shard bundle. Each
// file is written to a `.tmp.<pid>` temporary, synced, and renamed over the old one, the data file
// first and the index last; on failure the temporaries are removed and the old files are kept.
absl::Status WriteTensorBundle(const std::string& prefix, const NamedTensors& tensors);

// Reads every tensor of the bundle, sorted by name, checking the table's block checksums, the
// header's version and endianness, each entry's dtype, shape, shard, offset and size against the
// data files, and each tensor's crc32c. Duplicate names and partitioned (sliced) tensors are
// errors. Any failure is one error naming the file (and the tensor).
absl::StatusOr<NamedTensors> ReadTensorBundle(const std::string& prefix);

// TensorFlow's MergeBundles (the MergeV2Checkpoints op): merges the bundles `prefixes` (each
// written by WriteTensorBundle or SaveV2) into `merged_prefix`: their data files are renamed to
// merged_prefix's shard names, one index lists every entry (shard ids renumbered), and the source
// index files are removed. A prefix without an index is an error unless `allow_missing_files`
// (and then at least one must exist); a name in two bundles is an error. With
// `delete_old_dirs`, each source's folder, if other than merged_prefix's, is removed when empty.
absl::Status MergeTensorBundles(const std::vector<std::string>& prefixes,
                                const std::string& merged_prefix, bool allow_missing_files,
                                bool delete_old_dirs);

// Removes the temporaries `<PREFIX><anything>.tmp.<pid>` in PREFIX's folder whose writer process
// no longer runs (killed during a save). Returns how many were removed.
int RemoveStaleTemporaries(const std::string& prefix);

}  // namespace dflow

#endif  // DFLOW_KERNELS_TENSOR_BUNDLE_H_
