// A run's signature: which tensors are fed (and at which shapes), which are fetched and which
// nodes run for their effect. Session resolves and validates it once per run (every feed,
// fetch and target belongs to the session's graph; feeds are distinct, initialized-compatible
// outputs whose fed dtype and shape the graph accepts; fetches name existing outputs); the
// optimizer and the planner take it as given and only assert what it promises.
#ifndef DFLOW_RUNTIME_SIGNATURE_H_
#define DFLOW_RUNTIME_SIGNATURE_H_

#include <vector>

#include "graph/graph.h"
#include "graph/tensor_shape.h"

namespace dflow {

struct Signature {
  std::vector<Output> feeds;             // Distinct.
  std::vector<TensorShape> feed_shapes;  // One per feed (a variable reference keeps its own).
  std::vector<Output> fetches;
  std::vector<const Node*> targets;
};

}  // namespace dflow

#endif  // DFLOW_RUNTIME_SIGNATURE_H_
