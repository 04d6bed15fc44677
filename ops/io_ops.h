// Builder functions for the checkpoint ops of TensorFlow's Saver: ShardedFilename,
// ShardedFilespec, SaveV2, RestoreV2 and MergeV2Checkpoints (V2 format: kernels/tensor_bundle.h).
#ifndef DFLOW_OPS_IO_OPS_H_
#define DFLOW_OPS_IO_OPS_H_

#include <vector>

#include "absl/types/span.h"
#include "graph/graph.h"
#include "ops/scope.h"

namespace dflow {
namespace ops {

// "<basename>-<shard, 5 digits>-of-<num_shards, 5 digits>" (scalar string).
Output ShardedFilename(const Scope& scope, Input basename, Input shard, Input num_shards);
// "<basename>-?????-of-<num_shards, 5 digits>".
Output ShardedFilespec(const Scope& scope, Input basename, Input num_shards);

// Writes `tensors` under the names in the 1-D string `tensor_names` as the one-shard bundle
// `prefix`. `shape_and_slices` holds one "" per tensor (slices are not supported).
Operation SaveV2(const Scope& scope, Input prefix, Input tensor_names, Input shape_and_slices,
                 absl::Span<const Output> tensors);

// Reads the tensors named in `tensor_names` from the bundle `prefix`; output i has dtypes[i].
std::vector<Output> RestoreV2(const Scope& scope, Input prefix, Input tensor_names,
                              Input shape_and_slices, absl::Span<const DataType> dtypes);

// Merges the bundles `checkpoint_prefixes` into `destination_prefix` (see MergeTensorBundles).
Operation MergeV2Checkpoints(const Scope& scope, Input checkpoint_prefixes,
                             Input destination_prefix, bool delete_old_dirs = true,
                             bool allow_missing_files = false);

}  // namespace ops
}  // namespace dflow

#endif  // DFLOW_OPS_IO_OPS_H_
