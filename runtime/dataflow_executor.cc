#include "runtime/dataflow_executor.h"

#include <algorithm>
#include <deque>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "graph/buffer_pool.h"
#include "graph/status_macros.h"
#include "kernels/dnnl_util.h"
#include "ops/control_flow_ops.h"
#include "runtime/flops.h"
#include "runtime/step_inputs.h"

namespace dflow {

// A node as this plan runs it.
struct DataflowPlan::Item {
  const Node* node = nullptr;
  std::unique_ptr<OpKernel> kernel;
  Kind kind = Kind::kNormal;
  int frame = 0;          // The frame it runs in: its inputs' frame.
  int out_frame = 0;      // Where its outputs go: `frame`, Enter's child or Exit's parent.
  bool constant = false;  // An is_constant Enter: its value reaches every iteration.
  int local = 0;          // Index among its frame's items.
  int input_base = 0;     // Its first input among an iteration's input values.
  int forward_inputs = 0;  // Merge: data inputs that are not back edges ...
  int back_inputs = 0;     // ... and those that are.
  std::vector<std::vector<Edge>> outputs;  // Consumers of each output.
  std::vector<Edge> control_outputs;
  std::vector<std::pair<int, int>> fetched_as;  // (output, fetch index).
};

struct DataflowPlan::Frame {
  std::string name;
  int parent = -1;
  int depth = 0;
  std::vector<int> items;
  std::vector<int> initial_pending;  // By local index: inputs each item waits for.
  int num_inputs = 0;
  int num_enters = 0;      // Enters into this frame: each delivers once per frame instance.
  std::vector<int> exits;  // Its Exit items (they run in this frame).
};

// One iteration of one frame instance: what each of the frame's items still waits for.
struct DataflowPlan::Iteration {
  explicit Iteration(const Frame& frame)
      : pending(frame.initial_pending),
        dead_inputs(frame.items.size(), 0),
        dead(frame.items.size(), 0),
        merge_input(frame.items.size(), -1),
        inputs(frame.num_inputs) {}
  std::vector<int> pending;
  std::vector<int> dead_inputs;  // Merge: dead data inputs so far.
  std::vector<uint8_t> dead;     // Other items: some input is dead. Merge: already queued.
  std::vector<int> merge_input;  // Merge: the live input it forwards, -1 while none.
  std::vector<TensorValue> inputs;
};

struct DataflowPlan::FrameInstance {
  int frame = 0;
  FrameInstance* parent = nullptr;
  int64_t parent_iteration = 0;
  int depth = 0;
  int pending_enters = 0;
  bool finished = false;
  std::vector<std::unique_ptr<Iteration>> iterations;
  struct Invariant {
    int item;
    TensorValue value;
    bool dead;
  };
  std::vector<Invariant> invariants;  // Constant Enters' values, for every new iteration.
  std::vector<uint8_t> exit_delivered;  // By local index of the Exit item.
  absl::flat_hash_map<std::pair<int64_t, int>, FrameInstance*> children;
};

struct DataflowPlan::Task {
  int item;
  FrameInstance* frame;
  int64_t iteration;
};

// One run: the queue of ready nodes and the frame instances they run in.
class DataflowPlan::Run_ {
 public:
  Run_(const DataflowPlan& plan, absl::Span<const Tensor> feeds, VariableStore* variables,
       RunMetadata* trace, std::chrono::steady_clock::time_point start,
       std::chrono::steady_clock::time_point deadline)
      : plan_(plan), feeds_(feeds), variables_(variables), trace_(trace), start_(start),
        deadline_(deadline), stream_(CpuEngine()), reads_(plan.max_inputs_),
        inputs_(plan.max_inputs_), outs_(plan.max_outputs_), fetched_(plan.fetches_.size()),
        fetched_dead_(plan.fetches_.size(), false), fetched_set_(plan.fetches_.size(), false) {}

  absl::Status Execute(std::vector<Tensor>* outputs);

 private:
  FrameInstance* NewInstance(int frame, FrameInstance* parent, int64_t parent_iteration);
  void EnsureIteration(FrameInstance* f, int64_t iteration);
  FrameInstance* Child(FrameInstance* f, int64_t iteration, int frame);
  absl::Status Process(const Task& task);
  void DeliverOutputs(const Item& item, FrameInstance* f, int64_t iteration,
                      absl::Span<const TensorValue> values, bool dead);
  void Deliver(const Edge& edge, FrameInstance* f, int64_t iteration, const TensorValue& value,
               bool dead);
  // Finishes the deepest frame instance that waits for nothing: its Exits that never delivered a
  // live value deliver a dead one. False when no instance is left to finish.
  bool FinishOneFrame();
  std::string Where(const FrameInstance* f, int64_t iteration) const;

  const DataflowPlan& plan_;
  absl::Span<const Tensor> feeds_;
  VariableStore* variables_;
  RunMetadata* trace_;
  std::chrono::steady_clock::time_point start_, deadline_;
  dnnl::stream stream_;
  BufferPool pool_;
  RunResources resources_;
  std::vector<TensorValue> reads_;
  std::vector<TensorValue*> inputs_;
  std::vector<TensorValue> outs_;
  std::deque<Task> ready_;
  std::vector<std::unique_ptr<FrameInstance>> instances_;
  std::vector<TensorValue> fetched_;
  std::vector<bool> fetched_dead_, fetched_set_;
  absl::Status error_;  // The first delivery error (a Merge with two live inputs, ...).
  int threads_ = 1, current_threads_ = 1;
};

DataflowPlan::~DataflowPlan() = default;

bool DataflowPlan::NeedsDataflow(const Graph& graph, const std::vector<bool>& needed) {
  for (int id = 0; id < graph.num_nodes(); ++id) {
    if (needed[id] && IsControlFlowOp(graph.node(id)->op())) return true;
  }
  return false;
}

namespace {

DataflowPlan::Kind KindOf(absl::string_view op);

}  // namespace

absl::StatusOr<std::unique_ptr<DataflowPlan>> DataflowPlan::Build(const Graph& graph,
                                                                  const Signature& signature,
                                                                  const std::vector<bool>& needed) {
  auto plan = std::unique_ptr<DataflowPlan>(new DataflowPlan());
  absl::flat_hash_map<Output, int> feed_index;
  for (size_t i = 0; i < signature.feeds.size(); ++i) feed_index[signature.feeds[i]] = i;
  std::vector<int> item_of(graph.num_nodes(), -1);
  plan->frames_.emplace_back();  // The root frame.
  absl::flat_hash_map<std::pair<int, std::string>, int> child_frames;
  auto frame_error = [](const Node& node, absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat(node.op(), " node '", node.name(), "': ", what));
  };

  // Node ids are a topological order ignoring back edges, so each node's inputs have their
  // frames when it is reached.
  for (int id = 0; id < graph.num_nodes(); ++id) {
    if (!needed[id]) continue;
    const Node& node = *graph.node(id);
    Item item;
    item.node = &node;
    item.kind = KindOf(node.op());
    int frame = -1;
    for (int i = 0; i < node.num_inputs(); ++i) {
      if (node.is_back_edge(i)) continue;
      const Output& in = node.input(i);
      const int from = feed_index.contains(in) ? 0 : plan->items_[item_of[in.node()->id()]].out_frame;
      if (frame == -1) {
        frame = from;
      } else if (frame != from) {
        return frame_error(node, absl::StrCat("its inputs come from different frames ('",
                                              plan->frames_[frame].name, "' and '",
                                              plan->frames_[from].name, "')"));
      }
    }
    if (frame == -1 && !node.control_inputs().empty()) {
      frame = plan->items_[item_of[node.control_inputs()[0]->id()]].out_frame;
    }
    if (frame == -1) frame = 0;
    item.frame = item.out_frame = frame;
    if (item.kind == Kind::kEnter) {
      std::string name;
      DFLOW_RETURN_IF_ERROR(GetAttr(node.attrs(), "frame_name", &name));
      bool constant = false;
      DFLOW_RETURN_IF_ERROR(GetAttr(node.attrs(), "is_constant", &constant));
      auto [it, added] = child_frames.try_emplace({frame, name}, plan->frames_.size());
      if (added) {
        Frame child;
        child.name = name;
        child.parent = frame;
        child.depth = plan->frames_[frame].depth + 1;
        plan->frames_.push_back(std::move(child));
      }
      item.out_frame = it->second;
      item.constant = constant;
      ++plan->frames_[it->second].num_enters;
    } else if (item.kind == Kind::kExit || item.kind == Kind::kNextIteration) {
      if (frame == 0) return frame_error(node, "it is not inside a while loop (no Enter before it)");
      if (item.kind == Kind::kExit) item.out_frame = plan->frames_[frame].parent;
    }
    Frame& f = plan->frames_[frame];
    item.local = static_cast<int>(f.items.size());
    item.input_base = f.num_inputs;
    f.num_inputs += node.num_inputs();
    int pending = static_cast<int>(node.control_inputs().size());
    if (item.kind == Kind::kMerge) {
      for (int i = 0; i < node.num_inputs(); ++i) {
        ++(node.is_back_edge(i) ? item.back_inputs : item.forward_inputs);
      }
      if (item.forward_inputs == 0) return frame_error(node, "every input is a loop back edge");
    } else {
      pending += node.num_inputs();
    }
    f.initial_pending.push_back(pending);
    if (item.kind == Kind::kExit) f.exits.push_back(static_cast<int>(plan->items_.size()));
    item.outputs.resize(node.num_outputs());
    DFLOW_ASSIGN_OR_RETURN(item.kernel, KernelRegistry::Global()->CreateKernel(node));
    plan->max_inputs_ = std::max(plan->max_inputs_, node.num_inputs());
    plan->max_outputs_ = std::max(plan->max_outputs_, node.num_outputs());
    item_of[id] = static_cast<int>(plan->items_.size());
    f.items.push_back(item_of[id]);
    plan->items_.push_back(std::move(item));
  }

  // Edges, now that every item exists (back edges point forward in id order).
  std::vector<std::vector<Edge>> feed_edges(signature.feeds.size());
  for (int k = 0; k < static_cast<int>(plan->items_.size()); ++k) {
    Item& item = plan->items_[k];
    const Node& node = *item.node;
    for (int i = 0; i < node.num_inputs(); ++i) {
      const Output& in = node.input(i);
      auto fed = feed_index.find(in);
      if (fed != feed_index.end()) {
        if (item.frame != 0) return frame_error(node, "a fed tensor cannot enter a while loop without an Enter");
        feed_edges[fed->second].push_back({k, i});
        continue;
      }
      Item& from = plan->items_[item_of[in.node()->id()]];
      if (node.is_back_edge(i) && from.frame != item.frame) {
        return frame_error(node, "its loop input comes from another frame");
      }
      from.outputs[in.index()].push_back({k, i});
    }
    for (const Node* c : node.control_inputs()) {
      Item& from = plan->items_[item_of[c->id()]];
      if (from.out_frame != item.frame) {
        return frame_error(node, absl::StrCat("its control input '", c->name(),
                                              "' is in another frame"));
      }
      from.control_outputs.push_back({k, -1});
    }
  }
  for (const std::vector<Edge>& edges : feed_edges) {
    plan->feed_edge_begin_.push_back(static_cast<int>(plan->feed_edges_.size()));
    plan->feed_edges_.insert(plan->feed_edges_.end(), edges.begin(), edges.end());
  }
  plan->feed_edge_begin_.push_back(static_cast<int>(plan->feed_edges_.size()));
  for (int j = 0; j < static_cast<int>(signature.fetches.size()); ++j) {
    const Output& f = signature.fetches[j];
    auto fed = feed_index.find(f);
    if (fed != feed_index.end()) {
      plan->fetches_.emplace_back(-1, fed->second);
      continue;
    }
    const int k = item_of[f.node()->id()];
    Item& item = plan->items_[k];
    if (item.out_frame != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "fetch '", f.name(), "' is inside the while loop '", plan->frames_[item.out_frame].name,
          "'; fetch the loop's Exit instead"));
    }
    item.fetched_as.emplace_back(f.index(), j);
    plan->fetches_.emplace_back(k, f.index());
  }
  return plan;
}

namespace {

DataflowPlan::Kind KindOf(absl::string_view op) {
  using Kind = DataflowPlan::Kind;
  if (op == "Switch" || op == "RefSwitch") return Kind::kSwitch;
  if (op == "Merge" || op == "RefMerge") return Kind::kMerge;
  if (op == "Enter" || op == "RefEnter") return Kind::kEnter;
  if (op == "Exit" || op == "RefExit") return Kind::kExit;
  if (op == "NextIteration" || op == "RefNextIteration") return Kind::kNextIteration;
  if (op == "ControlTrigger") return Kind::kControlTrigger;
  return Kind::kNormal;
}

}  // namespace

absl::Status DataflowPlan::Run(absl::Span<const Tensor> feeds, VariableStore* variables,
                               std::vector<Tensor>* outputs, RunMetadata* trace,
                               std::chrono::steady_clock::time_point start,
                               std::chrono::steady_clock::time_point deadline) const {
  if (outputs != nullptr) outputs->clear();
  Run_ run(*this, feeds, variables, trace, start, deadline);
  absl::Status status = run.Execute(outputs);
  if (!status.ok() && outputs != nullptr) outputs->clear();
  return status;
}

DataflowPlan::FrameInstance* DataflowPlan::Run_::NewInstance(int frame, FrameInstance* parent,
                                                             int64_t parent_iteration) {
  auto instance = std::make_unique<FrameInstance>();
  instance->frame = frame;
  instance->parent = parent;
  instance->parent_iteration = parent_iteration;
  instance->depth = plan_.frames_[frame].depth;
  instance->pending_enters = plan_.frames_[frame].num_enters;
  instance->exit_delivered.assign(plan_.frames_[frame].items.size(), 0);
  instances_.push_back(std::move(instance));
  FrameInstance* f = instances_.back().get();
  EnsureIteration(f, 0);
  return f;
}

void DataflowPlan::Run_::EnsureIteration(FrameInstance* f, int64_t iteration) {
  const Frame& frame = plan_.frames_[f->frame];
  while (static_cast<int64_t>(f->iterations.size()) <= iteration) {
    f->iterations.push_back(std::make_unique<Iteration>(frame));
    const int64_t i = static_cast<int64_t>(f->iterations.size()) - 1;
    // Queue the frame's items that wait for nothing (a root node without inputs).
    for (int local = 0; local < static_cast<int>(frame.items.size()); ++local) {
      const Item& item = plan_.items_[frame.items[local]];
      if (frame.initial_pending[local] == 0 && item.kind != Kind::kMerge) {
        ready_.push_back({frame.items[local], f, i});
      }
    }
    for (const FrameInstance::Invariant& inv : f->invariants) {
      DeliverOutputs(plan_.items_[inv.item], f, i, absl::MakeConstSpan(&inv.value, 1), inv.dead);
    }
  }
}

DataflowPlan::FrameInstance* DataflowPlan::Run_::Child(FrameInstance* f, int64_t iteration,
                                                       int frame) {
  auto [it, added] = f->children.try_emplace({iteration, frame}, nullptr);
  if (added) it->second = NewInstance(frame, f, iteration);
  return it->second;
}

std::string DataflowPlan::Run_::Where(const FrameInstance* f, int64_t iteration) const {
  if (f->frame == 0) return "";
  return absl::StrCat(" (in frame '", plan_.frames_[f->frame].name, "', iteration ", iteration, ")");
}

absl::Status DataflowPlan::Run_::Execute(std::vector<Tensor>* outputs) {
  threads_ = current_threads_ = omp_get_max_threads();
  FrameInstance* root = NewInstance(0, nullptr, 0);
  for (size_t i = 0; i < feeds_.size(); ++i) {
    TensorValue value;
    value.tensor = feeds_[i];
    for (int e = plan_.feed_edge_begin_[i]; e < plan_.feed_edge_begin_[i + 1]; ++e) {
      Deliver(plan_.feed_edges_[e], root, 0, value, false);
    }
  }
  absl::Status status;
  int64_t steps = 0;
  do {
    while (!ready_.empty() && status.ok() && error_.ok()) {
      const Task task = ready_.front();
      ready_.pop_front();
      status = Process(task);
      if ((++steps & 1023) == 0 && std::chrono::steady_clock::now() > deadline_) {
        status = absl::DeadlineExceededError(absl::StrCat(
            "the run passed its timeout after ", steps, " node executions (a while loop that "
            "never ends?)"));
      }
    }
    if (status.ok()) status = error_;
  } while (status.ok() && FinishOneFrame());
  if (omp_get_max_threads() != threads_) omp_set_num_threads(threads_);
  if (!status.ok()) return status;

  for (size_t j = 0; j < plan_.fetches_.size(); ++j) {
    const auto [item, index] = plan_.fetches_[j];
    if (item < 0) {
      if (outputs != nullptr) outputs->push_back(feeds_[index]);
      continue;
    }
    const std::string name = OutputOf(*plan_.items_[item].node, index).name();
    if (!fetched_set_[j]) {
      return absl::InternalError(absl::StrCat(
          "fetch '", name, "' was never computed: the graph's control flow is stuck"));
    }
    if (fetched_dead_[j]) {
      return absl::InvalidArgumentError(absl::StrCat(
          "fetch '", name, "' is dead: it depends on a branch its Switch did not take"));
    }
    if (outputs == nullptr) continue;
    const TensorValue& v = fetched_[j];
    if (v.ref == nullptr) {
      outputs->push_back(v.tensor);
      continue;
    }
    std::lock_guard<std::mutex> var_lock(v.ref->mu.reader());
    if (!v.ref->value.IsInitialized()) return UninitializedError(*v.ref);
    outputs->push_back(v.ref->value);
  }
  return absl::OkStatus();
}

bool DataflowPlan::Run_::FinishOneFrame() {
  FrameInstance* pick = nullptr;
  for (const auto& f : instances_) {
    if (f->frame == 0 || f->finished || f->pending_enters > 0) continue;
    if (pick == nullptr || f->depth > pick->depth) pick = f.get();
  }
  if (pick == nullptr) return false;
  pick->finished = true;
  for (int k : plan_.frames_[pick->frame].exits) {
    const Item& exit = plan_.items_[k];
    if (pick->exit_delivered[exit.local]) continue;
    pick->exit_delivered[exit.local] = 1;
    const TensorValue none;
    DeliverOutputs(exit, pick->parent, pick->parent_iteration, absl::MakeConstSpan(&none, 1), true);
  }
  return true;
}

absl::Status DataflowPlan::Run_::Process(const Task& task) {
  const Item& item = plan_.items_[task.item];
  const Node& node = *item.node;
  Iteration& it = *task.frame->iterations[task.iteration];
  TensorValue* in = it.inputs.data() + item.input_base;
  const int n_in = node.num_inputs(), n_out = node.num_outputs();
  for (int i = 0; i < n_out; ++i) outs_[i] = TensorValue();
  bool dead;
  if (item.kind == Kind::kMerge) {
    const int k = it.merge_input[item.local];
    dead = k < 0;
    if (!dead) {
      outs_[0] = in[k];
      outs_[1].tensor = Tensor::Scalar<int32_t>(k);
    }
  } else {
    dead = item.kind != Kind::kControlTrigger && it.dead[item.local];
    if (!dead) {
      for (int i = 0; i < n_in; ++i) {
        DFLOW_RETURN_IF_ERROR(ResolveInput(node, i, in[i], reads_[i], &inputs_[i]));
      }
      OpKernelContext ctx(node, absl::MakeConstSpan(inputs_.data(), n_in),
                          absl::MakeSpan(outs_.data(), n_out), variables_, CpuEngine(), stream_,
                          &pool_);
      ctx.set_resources(&resources_);
      if (threads_ > 1) {
        SetTeamFor(*item.kernel, absl::MakeConstSpan(inputs_.data(), n_in), threads_,
                   &current_threads_);
      }
      const auto since_start = [this] {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::steady_clock::now() - start_)
            .count();
      };
      const int64_t node_start = trace_ != nullptr ? since_start() : 0;
      const absl::Status s = RunKernel(*item.kernel, &ctx);
      if (trace_ != nullptr) {
        trace_->nodes.push_back({node.name(), node.op(), node_start, since_start(),
                                 NodeFlops(node, absl::MakeConstSpan(inputs_.data(), n_in),
                                           absl::MakeConstSpan(outs_.data(), n_out))});
      }
      for (int i = 0; i < n_in; ++i) reads_[i] = TensorValue();
      if (!s.ok()) {
        return NodeError(node, absl::Status(s.code(), absl::StrCat(s.message(),
                                                                  Where(task.frame, task.iteration))));
      }
      for (int i = 0; i < n_out && item.kind != Kind::kSwitch; ++i) {
        if (outs_[i].ref == nullptr && !outs_[i].tensor.IsInitialized()) {
          return NodeError(node, absl::InternalError(absl::StrCat("produced no value for output ", i)));
        }
      }
    }
  }
  for (int i = 0; i < n_in; ++i) {
    pool_.Recycle(&in[i].tensor);
    in[i].ref = nullptr;
  }

  FrameInstance* to = task.frame;
  int64_t to_iteration = task.iteration;
  switch (item.kind) {
    case Kind::kEnter: {
      to = Child(task.frame, task.iteration, item.out_frame);
      --to->pending_enters;
      if (item.constant) {
        to->invariants.push_back({task.item, outs_[0], dead});
        for (int64_t i = 0; i < static_cast<int64_t>(to->iterations.size()); ++i) {
          DeliverOutputs(item, to, i, absl::MakeConstSpan(outs_.data(), 1), dead);
        }
        return absl::OkStatus();
      }
      to_iteration = 0;
      break;
    }
    case Kind::kExit:
      if (dead) return absl::OkStatus();  // Only a live value leaves; see FinishOneFrame.
      if (task.frame->exit_delivered[item.local]) {
        return NodeError(node, absl::InvalidArgumentError(
                                   "a value left the loop twice through this Exit"));
      }
      task.frame->exit_delivered[item.local] = 1;
      to = task.frame->parent;
      to_iteration = task.frame->parent_iteration;
      break;
    case Kind::kNextIteration:
      if (dead) return absl::OkStatus();  // A dead value starts no iteration.
      to_iteration = task.iteration + 1;
      EnsureIteration(to, to_iteration);
      break;
    default:
      break;
  }
  DeliverOutputs(item, to, to_iteration, absl::MakeConstSpan(outs_.data(), n_out), dead);
  return absl::OkStatus();
}

void DataflowPlan::Run_::DeliverOutputs(const Item& item, FrameInstance* f, int64_t iteration,
                                        absl::Span<const TensorValue> values, bool dead) {
  for (int k = 0; k < static_cast<int>(item.outputs.size()); ++k) {
    const TensorValue& v = values[k];
    const bool d = dead || (v.ref == nullptr && !v.tensor.IsInitialized());
    for (const Edge& e : item.outputs[k]) Deliver(e, f, iteration, v, d);
  }
  if (f->frame == 0) {
    for (const auto [output, j] : item.fetched_as) {
      fetched_[j] = values[output];
      fetched_dead_[j] = dead || (values[output].ref == nullptr &&
                                  !values[output].tensor.IsInitialized());
      fetched_set_[j] = true;
    }
  }
  for (const Edge& e : item.control_outputs) Deliver(e, f, iteration, TensorValue(), dead);
}

void DataflowPlan::Run_::Deliver(const Edge& edge, FrameInstance* f, int64_t iteration,
                                 const TensorValue& value, bool dead) {
  const Item& to = plan_.items_[edge.item];
  Iteration& it = *f->iterations[iteration];
  const int l = to.local;
  if (to.kind != Kind::kMerge) {
    if (edge.input >= 0) it.inputs[to.input_base + edge.input] = value;
    if (dead) it.dead[l] = 1;
    if (--it.pending[l] == 0) ready_.push_back({edge.item, f, iteration});
    return;
  }
  // Merge: ready once its control inputs are in and one data input is live or all are dead.
  if (edge.input < 0) {
    --it.pending[l];
  } else if (dead) {
    ++it.dead_inputs[l];
  } else {
    if (it.merge_input[l] >= 0 && error_.ok()) {
      error_ = NodeError(*to.node, absl::InvalidArgumentError(absl::StrCat(
                                       "inputs ", it.merge_input[l], " and ", edge.input,
                                       " are both live", Where(f, iteration))));
      return;
    }
    it.merge_input[l] = edge.input;
    it.inputs[to.input_base + edge.input] = value;
  }
  const int expected =
      to.back_inputs == 0 ? to.forward_inputs : (iteration == 0 ? to.forward_inputs : to.back_inputs);
  if (!it.dead[l] && it.pending[l] == 0 &&
      (it.merge_input[l] >= 0 || it.dead_inputs[l] == expected)) {
    it.dead[l] = 1;  // Queued: a Merge runs once per iteration.
    ready_.push_back({edge.item, f, iteration});
  }
}

}  // namespace dflow
