// GraphDef -> Graph, with the validation TensorFlow's importer does.
#ifndef DFLOW_OPS_GRAPH_IMPORT_H_
#define DFLOW_OPS_GRAPH_IMPORT_H_

#include <string>

#include "absl/status/status.h"
#include "graph/graph.h"
#include "proto/graph.pb.h"

namespace dflow {

struct ImportOptions {
  // Prepended as "<prefix>/" to every imported node name (and to the inputs that refer to them).
  std::string prefix;
};

// Adds every node of `def` to `graph`. A node of an op dflow does not know, or whose type attrs
// name a dtype it cannot store (string Consts), becomes an opaque node (graph/graph.h): its
// outputs are as many as its consumers use (a known op's: its schema's), typed as they take them;
// only a run that needs it fails. Fails, leaving `graph` unchanged, on: duplicate or empty names,
// malformed inputs ("node:idx", "^ctrl"), inputs naming missing nodes, a data input after a
// control input, a cycle, or a node its op's schema rejects (wrong attr type, input type,
// shapes). Every message names the node. Handles TensorFlow's compatibility rules: old op names
// (Variable, Div), and for producer < 22 a Placeholder `shape` with zero dims meaning "unknown".
// Functional control flow (If, While, PartitionedCall and their variants, with bodies in
// def.library) is lowered first (ops/function_lowering.h).
absl::Status ImportGraphDef(const GraphDef& def, Graph* graph, const ImportOptions& options = {});
// The same, taking `def` over: each NodeDef is freed as soon as its node is built, so a very
// large graph does not need the memory of the GraphDef and the Graph together.
absl::Status ImportGraphDef(GraphDef&& def, Graph* graph, const ImportOptions& options = {});

// What dflow lacks to run opaque `node`, for "dflow does not support op ...": "Mfcc", or, for an
// op it has whose type attrs name a dtype it cannot store (string, complex), "Const on string
// tensors".
std::string UnsupportedWhat(const Node& node);

}  // namespace dflow

#endif  // DFLOW_OPS_GRAPH_IMPORT_H_
