#include "kernels/op_kernel.h"

#include <algorithm>
#include <new>

#include "absl/strings/str_join.h"
#include "graph/status_macros.h"

namespace dflow {

absl::Status RunKernel(OpKernel& kernel, OpKernelContext* ctx) {
  try {
    return kernel.Compute(ctx);
  } catch (const dnnl::error& e) {
    return absl::InternalError(absl::StrCat("oneDNN error: ", e.what()));
  } catch (const TensorAllocationError& e) {
    return absl::ResourceExhaustedError(e.what());
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError("out of memory");
  }
}

absl::Status CheckInput(const Tensor& t, absl::string_view what, DataType dtype) {
  if (!t.IsInitialized()) return OpKernelContext::InvalidArgument(what, " is not initialized");
  if (t.dtype() != dtype) {
    return OpKernelContext::InvalidArgument(what, " must be ", DataTypeString(dtype), " but is ",
                                            DataTypeString(t.dtype()));
  }
  return absl::OkStatus();
}

absl::Status CheckInput(const Tensor& t, absl::string_view what, DataType dtype, int rank) {
  DFLOW_RETURN_IF_ERROR(CheckInput(t, what, dtype));
  if (t.dims() != rank) {
    return OpKernelContext::InvalidArgument(what, " must be ", rank, "-D but has shape ",
                                            t.shape().DebugString());
  }
  return absl::OkStatus();
}

absl::Status UninitializedError(const Variable& var) {
  return absl::FailedPreconditionError(
      absl::StrCat("Attempting to use uninitialized variable ", var.name));
}

Variable* VariableStore::LookupOrCreate(const std::string& name) {
  absl::MutexLock lock(&mu_);
  auto& slot = vars_[name];
  if (slot == nullptr) {
    slot = std::make_unique<Variable>();
    slot->name = name;
    slot->id = static_cast<int64_t>(by_id_.size());
    by_id_.push_back(slot.get());
  }
  return slot.get();
}

Variable* VariableStore::Find(const std::string& name) const {
  absl::MutexLock lock(&mu_);
  auto it = vars_.find(name);
  return it == vars_.end() ? nullptr : it->second.get();
}

Variable* VariableStore::FindById(int64_t id) const {
  absl::MutexLock lock(&mu_);
  return id >= 0 && id < static_cast<int64_t>(by_id_.size()) ? by_id_[id] : nullptr;
}

std::vector<std::string> VariableStore::Names() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> names;
  for (const auto& [name, var] : vars_) names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

KernelRegistry* KernelRegistry::Global() {
  static KernelRegistry* registry = new KernelRegistry();  // Never destroyed: static init.
  return registry;
}

void KernelRegistry::Register(std::string op, KernelFactory factory, std::string type_attr,
                              std::vector<DataType> types) {
  kernels_[op].push_back(Entry{std::move(factory), std::move(type_attr), std::move(types)});
}

bool KernelRegistry::HasKernel(absl::string_view op) const { return kernels_.contains(op); }

absl::StatusOr<std::unique_ptr<OpKernel>> KernelRegistry::CreateKernel(const Node& node) const {
  auto it = kernels_.find(node.op());
  if (it == kernels_.end()) {
    return absl::UnimplementedError(
        absl::StrCat("node ", node.DebugString(), ": no kernel registered for op ", node.op()));
  }
  std::vector<std::string> supported;
  for (const Entry& entry : it->second) {
    if (!entry.types.empty()) {
      DataType t = DT_INVALID;
      if (!GetAttr(node.attrs(), entry.type_attr, &t).ok() ||
          std::find(entry.types.begin(), entry.types.end(), t) == entry.types.end()) {
        for (DataType d : entry.types) supported.push_back(DataTypeString(d));
        continue;
      }
    }
    std::unique_ptr<OpKernel> kernel = entry.factory(node);
    if (!kernel->construction_status().ok()) {
      return absl::Status(kernel->construction_status().code(),
                          absl::StrCat("node ", node.DebugString(), ": ",
                                       kernel->construction_status().message()));
    }
    return kernel;
  }
  DataType t = DT_INVALID;
  GetAttr(node.attrs(), it->second[0].type_attr, &t).IgnoreError();
  return absl::UnimplementedError(absl::StrCat(
      "node ", node.DebugString(), ": no ", node.op(), " kernel for ", it->second[0].type_attr,
      "=", DataTypeString(t), " (supported: ", absl::StrJoin(supported, ", "), ")"));
}

}  // namespace dflow
