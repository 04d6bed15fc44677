#include "runtime/session.h"

#include <chrono>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "graph/status_macros.h"
#include "kernels/dnnl_util.h"
#include "kernels/op_kernel.h"
#include "ops/graph_import.h"
#include "runtime/control_flow_optimizer.h"
#include "runtime/executor.h"

namespace dflow {

Session::Session(const Graph* graph, std::shared_ptr<const void> owner,
                 const SessionOptions& options)
    : graph_(graph),
      graph_owner_(std::move(owner)),
      variables_(std::make_unique<VariableStore>()),
      options_(options) {
  variables_->random_states()->set_session_seed(options.random_seed);
}

Session::~Session() = default;

absl::StatusOr<std::unique_ptr<Session>> Session::Create(const Graph& graph,
                                                         const SessionOptions& options) {
  return std::unique_ptr<Session>(new Session(&graph, nullptr, options));
}

absl::StatusOr<std::unique_ptr<Session>> Session::Create(const Scope& scope,
                                                         const SessionOptions& options) {
  DFLOW_RETURN_IF_ERROR(scope.status());
  std::shared_ptr<Graph> graph = scope.graph_as_shared_ptr();
  return std::unique_ptr<Session>(new Session(graph.get(), graph, options));
}

absl::StatusOr<std::unique_ptr<Session>> Session::Create(const GraphDef& def,
                                                         const SessionOptions& options) {
  auto graph = std::make_shared<Graph>();
  DFLOW_RETURN_IF_ERROR(ImportGraphDef(def, graph.get()));
  return std::unique_ptr<Session>(new Session(graph.get(), graph, options));
}

namespace {

bool IsPlaceholderOp(absl::string_view op) {
  return op == "Placeholder" || op == "PlaceholderV2" || op == "PlaceholderWithDefault";
}

absl::Status NoOutputsError(const Node& node) {
  return absl::InvalidArgumentError(absl::StrCat(
      "cannot fetch node ", node.DebugString(), ": it has no outputs; pass it as a target instead"));
}

// Prefixes `what` ("feed", "fetch") to a name lookup's error.
absl::Status LookupError(absl::string_view what, const absl::Status& s) {
  return absl::Status(s.code(), absl::StrCat(what, ": ", s.message()));
}

// A run that needs an opaque node fails before planning, naming the node, its op and what
// needs it; at most a few more are listed.
absl::Status UnsupportedNodesError(absl::Span<const OpaqueNeed> needed) {
  const OpaqueNeed& first = needed.front();
  std::string message = absl::StrCat(
      "dflow does not support op ", UnsupportedWhat(*first.node), ", and ", first.needed_by,
      " needs its node '", first.node->name(), "'",
      first.consumer != nullptr ? absl::StrCat(" (an input of '", first.consumer->name(), "')")
                                : "");
  if (needed.size() > 1) {
    absl::StrAppend(&message, "; it also needs ", needed.size() - 1, " more unsupported node(s):");
    for (size_t i = 1; i < needed.size() && i <= 5; ++i) {
      absl::StrAppend(&message, i > 1 ? ", " : " ", needed[i].node->DebugString());
    }
    if (needed.size() > 6) absl::StrAppend(&message, ", ...");
  }
  return absl::UnimplementedError(message);
}

absl::StatusOr<Output> ResolveFetch(const Graph& graph, const std::string& name) {
  absl::StatusOr<Output> out = graph.FindOutput(name);
  if (!out.ok() && out.status().code() == absl::StatusCode::kOutOfRange) {
    absl::StatusOr<std::pair<std::string, int>> parsed = ParseInputName(name);
    Node* node = parsed.ok() ? graph.FindNode(parsed->first) : nullptr;
    if (node != nullptr && node->is_opaque()) {
      // Its outputs are only those its consumers use: say why it cannot be fetched instead.
      return absl::UnimplementedError(absl::StrCat(
          "dflow does not support op ", UnsupportedWhat(*node), " of node '", node->name(), "'"));
    }
    if (node != nullptr && node->num_outputs() == 0) return NoOutputsError(*node);
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
  std::vector<std::pair<Output, Tensor>> feed_outputs;
  std::vector<Output> fetch_outputs;
  std::vector<Operation> target_ops;
  for (const auto& [name, value] : feeds) {
    absl::StatusOr<Output> out = graph_->FindOutput(name);
    if (!out.ok()) return LookupError("feed", out.status());
    feed_outputs.emplace_back(*out, value);
  }
  for (const std::string& name : fetches) {
    absl::StatusOr<Output> out = ResolveFetch(*graph_, name);
    if (!out.ok()) return LookupError("fetch", out.status());
    fetch_outputs.push_back(*out);
  }
  for (const std::string& name : targets) {
    Node* node = graph_->FindNode(name);
    if (node == nullptr) {
      return absl::NotFoundError(absl::StrCat("target: no node named '", name, "' in the graph"));
    }
    target_ops.emplace_back(node);
  }
  return Run(options, feed_outputs, fetch_outputs, target_ops, outputs, metadata);
}

absl::Status Session::CheckSignature(absl::Span<const std::pair<Output, Tensor>> feeds,
                                     absl::Span<const Output> fetches,
                                     absl::Span<const Operation> targets, PlanKey* key) const {
  auto check = [this](const Node* node, const char* what) -> absl::Status {
    if (node == nullptr || node->id() >= graph_->num_nodes() || graph_->node(node->id()) != node) {
      return absl::InvalidArgumentError(absl::StrCat(what, " is not a node of this session's graph"));
    }
    return absl::OkStatus();
  };
  // The key: node ids and output indices, with -1 between the three lists.
  for (const auto& [out, value] : feeds) {
    DFLOW_RETURN_IF_ERROR(check(out.node(), "a feed"));
    if (out.index() < 0 || out.index() >= out.node()->num_outputs()) {
      return absl::OutOfRangeError(absl::StrCat("feed '", out.name(), "': no such output"));
    }
    if (!value.IsInitialized()) {
      return absl::InvalidArgumentError(absl::StrCat("feed '", out.name(), "' is an empty tensor"));
    }
    if (out.type() == DT_INVALID) {
      return absl::InvalidArgumentError(absl::StrCat(
          "feed '", out.name(), "': its dtype is unknown, since dflow does not support op ",
          UnsupportedWhat(*out.node()), " and no op it supports reads that output"));
    }
    if (value.dtype() != out.type()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "feed '", out.name(), "' is ", DataTypeString(value.dtype()), " but the graph expects ",
          DataTypeString(out.type())));
    }
    // A placeholder's shape is the user's declared contract. Any other fed tensor may take
    // another shape than its inferred one, as in TensorFlow's C++ session (the optimizer
    // specializes the graph to the fed shape).
    if (IsPlaceholderOp(out.node()->op()) && !out.shape().IsCompatibleWith(value.shape())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "feed '", out.name(), "' has shape ", value.shape().DebugString(),
          " but the graph expects ", out.shape().DebugString()));
    }
    key->push_back(out.node()->id());
    key->push_back(out.index());
    key->push_back(value.dims());
    for (int64_t d : value.shape().dim_sizes()) key->push_back(d);
  }
  key->push_back(-1);
  for (const Output& out : fetches) {
    DFLOW_RETURN_IF_ERROR(check(out.node(), "a fetch"));
    if (out.node()->num_outputs() == 0) return NoOutputsError(*out.node());
    if (out.index() < 0 || out.index() >= out.node()->num_outputs()) {
      return absl::OutOfRangeError(absl::StrCat("fetch '", out.name(), "': node ",
                                                out.node()->DebugString(), " has ",
                                                out.node()->num_outputs(), " outputs"));
    }
    key->push_back(out.node()->id());
    key->push_back(out.index());
  }
  key->push_back(-1);
  for (const Operation& op : targets) {
    DFLOW_RETURN_IF_ERROR(check(op.node(), "a target"));
    key->push_back(op.node()->id());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ExecutionPlan>> Session::BuildPlan(
    const Signature& signature) const {
  const std::vector<OpaqueNeed> unsupported =
      OpaqueNodesNeededFor(*graph_, signature.feeds, signature.fetches, signature.targets);
  if (!unsupported.empty()) return UnsupportedNodesError(unsupported);
  if (!options_.optimize_graph) return ExecutionPlan::Build(*graph_, signature);
  const std::vector<bool> needed =
      NodesNeededFor(*graph_, signature.feeds, signature.fetches, signature.targets);
  OptimizedGraph optimized;
  if (DataflowPlan::NeedsDataflow(*graph_, needed)) {
    // The optimizer's rewrites (folding, CSE, fusion) know nothing of dead tensors and frames:
    // they run on the part of the graph outside loops that is never dead, and the control-flow
    // nodes and what they reach are kept as written (runtime/control_flow_optimizer.h).
    DFLOW_ASSIGN_OR_RETURN(std::optional<OptimizedGraph> around,
                           OptimizeAroundControlFlow(*graph_, signature, needed,
                                                     options_.optimizer));
    if (!around.has_value()) return ExecutionPlan::Build(*graph_, signature);
    optimized = *std::move(around);
  } else {
    DFLOW_ASSIGN_OR_RETURN(optimized, OptimizeGraph(*graph_, signature, options_.optimizer));
  }
  DFLOW_ASSIGN_OR_RETURN(std::unique_ptr<ExecutionPlan> plan,
                         ExecutionPlan::Build(*optimized.graph, optimized.signature));
  plan->Own(std::move(optimized.graph));
  return plan;
}

absl::StatusOr<std::shared_ptr<const Session::PlanRef>> Session::FindOrBuildPlan(
    const PlanKey& key, absl::Span<const std::pair<Output, Tensor>> feeds,
    absl::Span<const Output> fetches, absl::Span<const Operation> targets) {
  PlanSlot& slot = plan_slots_[ThisThreadSlot()];
  {
    std::lock_guard<std::mutex> lock(slot.mu);
    for (int i = 0; i < PlanSlot::kEntries; ++i) {
      if (slot.refs[i] != nullptr && slot.keys[i] == key) return slot.refs[i];
    }
  }
  DFLOW_ASSIGN_OR_RETURN(std::shared_ptr<const ExecutionPlan> plan,
                         FindOrBuildSharedPlan(key, feeds, fetches, targets));
  auto ref = std::make_shared<const PlanRef>(PlanRef{std::move(plan)});
  std::lock_guard<std::mutex> lock(slot.mu);
  slot.keys[slot.next] = key;
  slot.refs[slot.next] = ref;
  slot.next = (slot.next + 1) % PlanSlot::kEntries;
  return ref;
}

absl::StatusOr<std::shared_ptr<const ExecutionPlan>> Session::FindOrBuildSharedPlan(
    const PlanKey& key, absl::Span<const std::pair<Output, Tensor>> feeds,
    absl::Span<const Output> fetches, absl::Span<const Operation> targets) {
  {
    std::shared_lock<std::shared_mutex> lock(plans_mu_);
    auto it = plans_.find(key);
    if (it != plans_.end()) return it->second;
  }
  // Checks that hold for every run with this key are made once, here.
  Signature signature;
  for (const auto& [out, value] : feeds) {
    for (const Output& earlier : signature.feeds) {
      if (earlier == out) {
        return absl::InvalidArgumentError(absl::StrCat("tensor '", out.name(), "' is fed twice"));
      }
    }
    signature.feeds.push_back(out);
    signature.feed_shapes.push_back(value.shape());
  }
  signature.fetches.assign(fetches.begin(), fetches.end());
  for (const Operation& op : targets) signature.targets.push_back(op.node());
  DFLOW_ASSIGN_OR_RETURN(std::unique_ptr<ExecutionPlan> built, BuildPlan(signature));
  std::unique_lock<std::shared_mutex> lock(plans_mu_);
  if (plans_.size() >= kMaxPlans) plans_.clear();
  // A concurrent run may have built the same plan meanwhile; the first one stays.
  return plans_.emplace(key, std::move(built)).first->second;
}

absl::Status Session::Run(const RunOptions& options,
                          const std::vector<std::pair<Output, Tensor>>& feeds,
                          const std::vector<Output>& fetches, const std::vector<Operation>& targets,
                          std::vector<Tensor>* outputs, RunMetadata* metadata) {
  const bool trace = options.trace && metadata != nullptr;
  const ScopedMemoryLimit memory_limit(options_.memory_limit_bytes);
  const auto start = std::chrono::steady_clock::now();
  if (trace) {
    metadata->start_unix_ns = absl::GetCurrentTimeNanos();
    metadata->nodes.clear();
  }
  PlanKey key;
  DFLOW_RETURN_IF_ERROR(CheckSignature(feeds, fetches, targets, &key));
  DFLOW_ASSIGN_OR_RETURN(std::shared_ptr<const PlanRef> plan,
                         FindOrBuildPlan(key, feeds, fetches, targets));
  // The plan runs on the fed tensors alone; inline, so a run with few feeds allocates nothing.
  absl::InlinedVector<Tensor, 8> feed_values;
  for (const auto& feed : feeds) feed_values.push_back(feed.second);
  // oneDNN uses OpenMP; the thread count is per calling thread, so set it on each run.
  if (options_.intra_op_threads > 0) omp_set_num_threads(options_.intra_op_threads);
  const auto deadline = options.timeout_in_ms > 0
                            ? start + std::chrono::milliseconds(options.timeout_in_ms)
                            : std::chrono::steady_clock::time_point::max();
  absl::Status status = plan->plan->Run(feed_values, variables_.get(), outputs,
                                  trace ? metadata : nullptr, start, deadline);
  if (trace) {
    metadata->duration_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::steady_clock::now() - start)
                                .count();
  }
  return status;
}

}  // namespace dflow
