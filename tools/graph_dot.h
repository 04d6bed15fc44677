// Graphviz DOT rendering of a graph.
#ifndef DFLOW_TOOLS_GRAPH_DOT_H_
#define DFLOW_TOOLS_GRAPH_DOT_H_

#include <string>
#include <vector>

#include "graph/graph.h"

namespace dflow {

// One DOT node per graph node ("name\nOp"), placeholders and variables marked by shape and
// colour, data edges labelled with dtype and shape, control edges dashed. When `needed` is
// given (indexed by node id), nodes it excludes are drawn grey and dotted: the part a run of
// the chosen fetches and targets prunes away.
// With `hide_pruned`, those nodes are left out instead.
std::string GraphToDot(const Graph& graph, const std::vector<bool>* needed = nullptr,
                       bool hide_pruned = false);

}  // namespace dflow

#endif  // DFLOW_TOOLS_GRAPH_DOT_H_
