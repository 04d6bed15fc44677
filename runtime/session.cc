#include "runtime/session.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/strings/str_join.h"
#include "kernels/op_kernel.h"
#include "ops/graph_import.h"
#include "runtime/executor.h"

extern "C" void omp_set_num_threads(int num_threads);  // libgomp, which oneDNN uses.

namespace dflow {

Session::Session(const Graph* graph, std::shared_ptr<const void> owner,
                 const SessionOptions& options)
    : graph_(graph),
      graph_owner_(std::move(owner)),
      variables_(std::make_unique<VariableStore>()),
      options_(options) {}

Session::~Session() = default;

absl::StatusOr<std::unique_ptr<Session>> Session::Create(const Graph& graph,
                                                         const SessionOptions& options) {
  return std::unique_ptr<Session>(new Session(&graph, nullptr, options));
}

absl::StatusOr<std::unique_ptr<Session>> Session::Create(const Scope& scope,
                                                         const SessionOptions& options) {
  if (!scope.ok()) return scope.status();
  std::shared_ptr<Graph> graph = scope.graph_as_shared_ptr();
  return std::unique_ptr<Session>(new Session(graph.get(), graph, options));
}

absl::StatusOr<std::unique_ptr<Session>> Session::Create(const GraphDef& def,
                                                         const SessionOptions& options) {
  auto graph = std::make_shared<Graph>();
  absl::Status s = ImportGraphDef(def, graph.get());
  if (!s.ok()) return s;
  return std::unique_ptr<Session>(new Session(graph.get(), graph, options));
}

namespace {

absl::StatusOr<Output> ResolveFetch(const Graph& graph, const std::string& name) {
  absl::StatusOr<Output> out = graph.FindOutput(name);
  if (!out.ok() && out.status().code() == absl::StatusCode::kOutOfRange) {
    absl::StatusOr<std::pair<std::string, int>> parsed = ParseInputName(name);
    Node* node = parsed.ok() ? graph.FindNode(parsed->first) : nullptr;
    if (node != nullptr && node->num_outputs() == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot fetch node ", node->DebugString(),
                       ": it has no outputs; pass it as a target instead"));
    }
  }
  return out;
}

}  // namespace

absl::Status Session::Run(const std::vector<std::pair<std::string, Tensor>>& feeds,
                          const std::vector<std::string>& fetches,
                          const std::vector<std::string>& targets, std::vector<Tensor>* outputs) {
  return Run(RunOptions(), feeds, fetches, targets, outputs, nullptr);
}

absl::Status Session::Run(const std::vector<std::pair<Output, Tensor>>& feeds,
                          const std::vector<Output>& fetches, const std::vector<Operation>& targets,
                          std::vector<Tensor>* outputs) {
  return Run(RunOptions(), feeds, fetches, targets, outputs, nullptr);
}

absl::Status Session::Run(const RunOptions& options,
                          const std::vector<std::pair<std::string, Tensor>>& feeds,
                          const std::vector<std::string>& fetches,
                          const std::vector<std::string>& targets, std::vector<Tensor>* outputs,
                          RunMetadata* metadata) {
  std::vector<Output> feed_outputs, fetch_outputs;
  std::vector<const Node*> target_nodes;
  std::vector<Tensor> feed_values;
  for (const auto& [name, value] : feeds) {
    absl::StatusOr<Output> out = graph_->FindOutput(name);
    if (!out.ok()) return absl::Status(out.status().code(), absl::StrCat("feed: ", out.status().message()));
    feed_outputs.push_back(*out);
    feed_values.push_back(value);
  }
  for (const std::string& name : fetches) {
    absl::StatusOr<Output> out = ResolveFetch(*graph_, name);
    if (!out.ok()) return absl::Status(out.status().code(), absl::StrCat("fetch: ", out.status().message()));
    fetch_outputs.push_back(*out);
  }
  for (const std::string& name : targets) {
    const Node* node = graph_->FindNode(name);
    if (node == nullptr) {
      return absl::NotFoundError(absl::StrCat("target: no node named '", name, "' in the graph"));
    }
    target_nodes.push_back(node);
  }
  std::vector<Operation> target_ops;
  for (const Node* n : target_nodes) target_ops.push_back(const_cast<Node*>(n));
  std::vector<std::pair<Output, Tensor>> feed_pairs;
  for (size_t i = 0; i < feed_outputs.size(); ++i) {
    feed_pairs.emplace_back(feed_outputs[i], feed_values[i]);
  }
  return Run(options, feed_pairs, fetch_outputs, target_ops, outputs, metadata);
}

absl::StatusOr<std::unique_ptr<ExecutionPlan>> Session::BuildPlan(
    const std::vector<std::pair<Output, Tensor>>& feeds, const std::vector<Output>& fetches,
    const std::vector<Operation>& targets) const {
  std::vector<Output> feed_outputs;
  std::vector<TensorShape> feed_shapes;
  for (const auto& [out, value] : feeds) {
    feed_outputs.push_back(out);
    feed_shapes.push_back(value.shape());
  }
  std::vector<const Node*> target_nodes;
  for (const Operation& op : targets) target_nodes.push_back(op.node());
  if (!options_.optimize_graph) {
    return ExecutionPlan::Build(*graph_, feed_outputs, fetches, target_nodes);
  }
  absl::StatusOr<OptimizedGraph> optimized = OptimizeGraph(
      *graph_, Signature{feed_outputs, feed_shapes, fetches, target_nodes}, options_.optimizer);
  if (!optimized.ok()) return optimized.status();
  const Signature& sig = optimized->signature;
  absl::StatusOr<std::unique_ptr<ExecutionPlan>> plan =
      ExecutionPlan::Build(*optimized->graph, sig.feeds, sig.fetches, sig.targets);
  if (plan.ok()) (*plan)->Own(std::move(optimized->graph));
  return plan;
}

absl::Status Session::Run(const RunOptions& options,
                          const std::vector<std::pair<Output, Tensor>>& feeds,
                          const std::vector<Output>& fetches, const std::vector<Operation>& targets,
                          std::vector<Tensor>* outputs, RunMetadata* metadata) {
  const bool trace = options.trace && metadata != nullptr;
  const auto start = std::chrono::steady_clock::now();
  if (trace) {
    metadata->start_unix_ns = absl::GetCurrentTimeNanos();
    metadata->nodes.clear();
  }
  auto check = [this](const Node* node, const char* what) -> absl::Status {
    if (node == nullptr || node->id() >= graph_->num_nodes() || graph_->node(node->id()) != node) {
      return absl::InvalidArgumentError(absl::StrCat(what, " is not a node of this session's graph"));
    }
    return absl::OkStatus();
  };
  // The plan's key: node ids and output indices, with -1 between the three lists.
  PlanKey key;
  for (const auto& [out, value] : feeds) {
    absl::Status s = check(out.node(), "a feed");
    if (!s.ok()) return s;
    if (out.index() >= out.node()->num_outputs()) {
      return absl::OutOfRangeError(absl::StrCat("feed '", out.name(), "': no such output"));
    }
    if (!value.IsInitialized()) {
      return absl::InvalidArgumentError(absl::StrCat("feed '", out.name(), "' is an empty tensor"));
    }
    if (value.dtype() != out.type()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "feed '", out.name(), "' is ", DataTypeString(value.dtype()), " but the graph expects ",
          DataTypeString(out.type())));
    }
    if (!out.shape().IsCompatibleWith(value.shape())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "feed '", out.name(), "' has shape ", value.shape().DebugString(),
          " but the graph expects ", out.shape().DebugString()));
    }
    key.push_back(out.node()->id());
    key.push_back(out.index());
    key.push_back(value.dims());
    for (int64_t d : value.shape().dim_sizes()) key.push_back(d);
  }
  key.push_back(-1);
  for (const Output& out : fetches) {
    absl::Status s = check(out.node(), "a fetch");
    if (!s.ok()) return s;
    if (out.node()->num_outputs() == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot fetch node ", out.node()->DebugString(),
                       ": it has no outputs; pass it as a target instead"));
    }
    if (out.index() < 0 || out.index() >= out.node()->num_outputs()) {
      return absl::OutOfRangeError(absl::StrCat("fetch '", out.name(), "': node ",
                                                out.node()->DebugString(), " has ",
                                                out.node()->num_outputs(), " outputs"));
    }
    key.push_back(out.node()->id());
    key.push_back(out.index());
  }
  key.push_back(-1);
  for (const Operation& op : targets) {
    absl::Status s = check(op.node(), "a target");
    if (!s.ok()) return s;
    key.push_back(op.node()->id());
  }

  std::shared_ptr<ExecutionPlan> plan;
  {
    absl::MutexLock lock(&mu_);
    auto it = plans_.find(key);
    if (it != plans_.end()) plan = it->second;
  }
  if (plan == nullptr) {
    absl::StatusOr<std::unique_ptr<ExecutionPlan>> built = BuildPlan(feeds, fetches, targets);
    if (!built.ok()) return built.status();
    absl::MutexLock lock(&mu_);
    if (plans_.size() >= kMaxPlans) plans_.clear();  // Runs in flight keep their plans.
    auto [it, inserted] = plans_.emplace(key, std::move(*built));
    plan = it->second;
  }
  // oneDNN uses OpenMP; the thread count is per calling thread, so set it on each run.
  if (options_.intra_op_threads > 0) omp_set_num_threads(options_.intra_op_threads);
  absl::Status status =
      plan->Run(feeds, variables_.get(), outputs, trace ? metadata : nullptr, start);
  if (trace) {
    metadata->duration_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::steady_clock::now() - start)
                                .count();
  }
  return status;
}

}  // namespace dflow
