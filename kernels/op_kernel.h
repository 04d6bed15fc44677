// Kernels: the code that runs one node. A kernel object is created once per node per execution
// plan and reused for every run of that plan, and concurrent runs of one plan share it: Compute
// may be called on one kernel from several threads at once, each with its own OpKernelContext
// (stream, buffer pool). So a kernel's members are read-only after construction, except:
//   - oneDNN primitives per input shape, in a ShapeCache (kernels/dnnl_util.h), which leases each
//     entry to one call at a time (its memory objects get the call's buffers), and primitives
//     made with KernelAttr(), whose scratchpad RunPrimitive binds per thread;
//   - values set once, idempotently, through atomics (VariableV2's variable);
//   - per-call scratch lives on the stack, in the call's entry lease or thread_local storage.
// Exceptions (oneDNN's, bad_alloc) may pass through Compute, to RunKernel; a kernel leaves no
// half-built state behind (ShapeCache keeps an entry only once make() returned it).
//
//   class MatMulOp : public OpKernel {
//    public:
//     explicit MatMulOp(const Node& node) : OpKernel(node) { ...read attrs... }
//     absl::Status Compute(OpKernelContext* ctx) override;
//   };
//   REGISTER_KERNEL("MatMul", MatMulOp, "T", {DT_FLOAT});
#ifndef DFLOW_KERNELS_OP_KERNEL_H_
#define DFLOW_KERNELS_OP_KERNEL_H_

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "graph/attr_value_util.h"
#include "graph/buffer_pool.h"
#include "graph/graph.h"
#include "graph/tensor.h"
#include "kernels/random_state.h"
#include "kernels/run_resources.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace dflow {

// Guards a variable's value, and counts its changes. A plain mutex underneath: several are taken
// per step, and absl::Mutex's deadlock detection (compiled into Debian's Abseil) costs on each.
// Every unlock() advances the version, so whoever locks may write; a section that only reads
// locks reader() instead and leaves the version alone.
class VariableMutex {
 public:
  void lock() { mu_.lock(); }
  void unlock() {
    version_.store(version_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    mu_.unlock();
  }
  std::mutex& reader() { return mu_; }
  // Equal before and after means no writer finished in between. Read under reader(), it is the
  // version of the value seen.
  uint64_t version() const { return version_.load(std::memory_order_acquire); }

 private:
  std::mutex mu_;
  std::atomic<uint64_t> version_{0};
};

// A variable's state, owned by a Session. Reads share the buffer; writers replace it, or update
// it in place only while no other tensor shares it (copy on write), so a tensor read from a
// variable never changes.
struct Variable {
  std::string name;
  int64_t id = -1;  // Its position in the store: what a resource handle (VarHandleOp) holds.
  // Guards value. Change value only while holding it (or through Set): plans that keep their
  // reads between runs (runtime/step_inputs.h) notice a change by the version its unlock
  // advances, so a change made without it may go unseen.
  VariableMutex mu;
  Tensor value;  // Uninitialized until the first Assign.

  void Set(Tensor t) {
    std::lock_guard<VariableMutex> lock(mu);
    value = std::move(t);
  }
};

// OK when input `t`, named `what` in errors, holds a tensor of `dtype` (and, in the second form,
// of rank `rank`); else InvalidArgument "<what> is not initialized", "<what> must be float but is
// int32" or "<what> must be 2-D but has shape [3]".
absl::Status CheckInput(const Tensor& t, absl::string_view what, DataType dtype);
absl::Status CheckInput(const Tensor& t, absl::string_view what, DataType dtype, int rank);

// FailedPrecondition "Attempting to use uninitialized variable <name>" (TensorFlow's words).
absl::Status UninitializedError(const Variable& var);

// The variables of one Session, by name; created on first lookup, uninitialized.
class VariableStore {
 public:
  Variable* LookupOrCreate(const std::string& name);
  Variable* Find(const std::string& name) const;
  // The variable whose `id` is `id`; null when none has it.
  Variable* FindById(int64_t id) const;
  std::vector<std::string> Names() const;  // Sorted.
  // The session's random-op streams, kept beside its variables (kernels/random_state.h).
  RandomStateStore* random_states() { return &random_states_; }

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<Variable>> vars_;
  std::vector<Variable*> by_id_;
  RandomStateStore random_states_;
};

// The variable a VariableV2 or VarHandleOp node names (its shared_name, else its own name):
// looked up (created uninitialized) on the first run and kept, so later runs skip the store.
class VariableLookup {
 public:
  explicit VariableLookup(const Node& node) {
    std::string shared_name;
    GetAttr(node.attrs(), "shared_name", &shared_name).IgnoreError();
    name_ = shared_name.empty() ? node.name() : shared_name;
  }

  Variable* Get(VariableStore* store) {
    Variable* var = var_.load(std::memory_order_acquire);
    if (var == nullptr) {  // Concurrent first runs look up the same variable.
      var = store->LookupOrCreate(name_);
      var_.store(var, std::memory_order_release);
    }
    return var;
  }

 private:
  std::string name_;
  std::atomic<Variable*> var_{nullptr};
};

// A value flowing along an edge: a tensor, or a reference to a variable (VariableV2's output).
struct TensorValue {
  Tensor tensor;
  Variable* ref = nullptr;
};

class OpKernelContext {
 public:
  // Outputs are allocated from `pool` when it is not null.
  OpKernelContext(const Node& node, absl::Span<TensorValue* const> inputs,
                  absl::Span<TensorValue> outputs, VariableStore* variables,
                  const dnnl::engine& engine, dnnl::stream& stream, BufferPool* pool = nullptr)
      : node_(node), inputs_(inputs), outputs_(outputs), variables_(variables),
        engine_(engine), stream_(stream), pool_(pool) {}

  const Node& node() const { return node_; }
  int num_inputs() const { return static_cast<int>(inputs_.size()); }
  // A value input (variable references are already read by the executor).
  const Tensor& input(int i) const { return inputs_[i]->tensor; }
  // A reference input (an input slot declared Ref(T)): the variable itself.
  Variable* ref_input(int i) const { return inputs_[i]->ref; }

  int num_outputs() const { return static_cast<int>(outputs_.size()); }
  void set_output(int i, Tensor t) { outputs_[i].tensor = std::move(t); }
  void set_output_ref(int i, Variable* v) { outputs_[i].ref = v; }
  // A new tensor of the node's declared output type for output i.
  Tensor* allocate_output(int i, const TensorShape& shape) {
    outputs_[i].tensor = Tensor(node_.output_type(i), shape, pool_);
    return &outputs_[i].tensor;
  }
  // A scratch or to-be-reshaped tensor whose memory comes from the same pool as outputs.
  Tensor allocate_temp(DataType dtype, const TensorShape& shape) {
    return Tensor(dtype, shape, pool_);
  }
  // Hands a temp's buffer back to the pool, for the next allocation of its size (a temp simply
  // dropped frees its buffer), and resets *t.
  void release_temp(Tensor* t) {
    if (pool_ != nullptr) pool_->Recycle(t);
    *t = Tensor();
  }

  VariableStore* variables() const { return variables_; }
  // This run's TensorArrays and stacks; null outside a run (constant folding).
  RunResources* resources() const { return resources_; }
  void set_resources(RunResources* resources) { resources_ = resources; }
  const dnnl::engine& engine() const { return engine_; }
  dnnl::stream& stream() const { return stream_; }

  // InvalidArgument "<message>"; the executor adds the node's name and op.
  template <typename... Args>
  static absl::Status InvalidArgument(const Args&... parts) {
    return absl::InvalidArgumentError(absl::StrCat(parts...));
  }

 private:
  const Node& node_;
  absl::Span<TensorValue* const> inputs_;
  absl::Span<TensorValue> outputs_;
  VariableStore* variables_;
  const dnnl::engine& engine_;
  dnnl::stream& stream_;
  BufferPool* pool_;
  RunResources* resources_ = nullptr;
};

class OpKernel {
 public:
  explicit OpKernel(const Node& node) : node_(node) {}
  virtual ~OpKernel() = default;
  OpKernel(const OpKernel&) = delete;
  OpKernel& operator=(const OpKernel&) = delete;

  // Validates inputs (rank, shape, dtype) and computes the outputs. Never reads or writes out of
  // bounds, whatever the graph says. May run on several threads at once (see the file comment).
  virtual absl::Status Compute(OpKernelContext* ctx) = 0;

  // The element count the thread policy's size rule weighs for a node whose inputs hold
  // `input_elements` (runtime/thread_policy.h): those, unless the kernel's own work is larger
  // than its inputs suggest (a convolution trunk's inner images).
  virtual int64_t TeamElements(int64_t input_elements) const { return input_elements; }

  const Node& node() const { return node_; }
  // A kernel whose constructor found a problem (an attr it cannot handle) sets this.
  const absl::Status& construction_status() const { return construction_status_; }

 protected:
  void SetConstructionError(absl::Status status) { construction_status_ = std::move(status); }

 private:
  const Node& node_;
  absl::Status construction_status_;
};

// Runs kernel.Compute(ctx). The one place where exceptions from kernels are caught: oneDNN's
// (dnnl::error) and the allocator's (std::bad_alloc) become an error status; the executor and
// the optimizer's constant folding call kernels only through it.
absl::Status RunKernel(OpKernel& kernel, OpKernelContext* ctx);

using KernelFactory = std::function<std::unique_ptr<OpKernel>(const Node&)>;

class KernelRegistry {
 public:
  static KernelRegistry* Global();

  // A kernel for `op` used when the node's `type_attr` is one of `types` (any if empty).
  void Register(std::string op, KernelFactory factory, std::string type_attr,
                std::vector<DataType> types);
  bool HasKernel(absl::string_view op) const;
  // Fails naming the node when no kernel matches its op and type, or the kernel rejects it.
  absl::StatusOr<std::unique_ptr<OpKernel>> CreateKernel(const Node& node) const;

 private:
  struct Entry {
    KernelFactory factory;
    std::string type_attr;
    std::vector<DataType> types;
  };
  absl::flat_hash_map<std::string, std::vector<Entry>> kernels_;
};

struct KernelRegistrar {
  KernelRegistrar(std::string op, KernelFactory factory, std::string type_attr = "",
                  std::vector<DataType> types = {}) {
    KernelRegistry::Global()->Register(std::move(op), std::move(factory), std::move(type_attr),
                                       std::move(types));
  }
};

}  // namespace dflow

#define DFLOW_KERNEL_CONCAT_INNER(a, b) a##b
#define DFLOW_KERNEL_CONCAT(a, b) DFLOW_KERNEL_CONCAT_INNER(a, b)
// REGISTER_KERNEL("Op", KernelClass) or REGISTER_KERNEL("Op", KernelClass, "T", {DT_FLOAT}).
#define REGISTER_KERNEL(op, Class, ...)                                                  \
  static ::dflow::KernelRegistrar DFLOW_KERNEL_CONCAT(kernel_registrar_, __COUNTER__)( \
      op,                                                                                \
      [](const ::dflow::Node& node) -> std::unique_ptr<::dflow::OpKernel> {              \
        return std::make_unique<Class>(node);                                            \
      },                                                                                 \
      ##__VA_ARGS__)

#endif  // DFLOW_KERNELS_OP_KERNEL_H_
