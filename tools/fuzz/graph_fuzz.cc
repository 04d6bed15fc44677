#include "tools/fuzz/graph_fuzz.h"

#include <memory>
#include <vector>

#include "graph/status_macros.h"
#include "runtime/session.h"

namespace dflow {

absl::Status RunGraphDefBytes(const uint8_t* data, size_t size) {
  // Small tensors only: a fuzz input may legitimately ask for gigabytes, which is slow, not a bug.
  SetMaxTensorElements(int64_t{1} << 22);
  GraphDef def;
  if (!def.ParseFromArray(data, static_cast<int>(size))) {
    return absl::InvalidArgumentError("not a GraphDef");
  }
  DFLOW_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::Create(def));
  const Graph& graph = session->graph();
  if (graph.num_nodes() == 0) return absl::OkStatus();
  const Node* last = graph.node(graph.num_nodes() - 1);
  std::vector<Tensor> outputs;
  if (last->num_outputs() > 0) {
    return session->Run({}, {Output(const_cast<Node*>(last), 0)}, {}, &outputs);
  }
  return session->Run({}, {}, {Operation(const_cast<Node*>(last))}, &outputs);
}

}  // namespace dflow
