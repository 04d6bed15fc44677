#include "ops/function_inlining.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "graph/status_macros.h"
#include "graph/types.h"
#include "ops/op_registry.h"

namespace dflow {
namespace lowering {
namespace {

// Replaces attr placeholders ("$T" or "T") with the call's values.
absl::Status BindAttrs(const NameAttrList& f, NodeDef* node) {
  for (auto& [name, value] : *node->mutable_attr()) {
    if (value.value_case() != AttrValue::kPlaceholder) continue;
    std::string key = value.placeholder();
    if (!key.empty() && key[0] == '$') key = key.substr(1);
    auto it = f.attr().find(key);
    if (it == f.attr().end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("function '", f.name(), "': node '", node->name(), "': attr '", name,
                       "' is placeholder '", value.placeholder(), "', which the call does not bind"));
    }
    value = it->second;
  }
  return absl::OkStatus();
}

// The number of tensors output arg `arg` of a node of op `op` stands for.
absl::StatusOr<int64_t> ArgSize(const ArgDef& arg, const OpDef& op, const NodeDef& node) {
  auto attr = [&](const std::string& name) -> const AttrValue* {
    auto it = node.attr().find(name);
    if (it != node.attr().end()) return &it->second;
    const AttrDef* def = op.FindAttr(name);
    return def != nullptr && def->default_value ? &*def->default_value : nullptr;
  };
  if (!arg.number_attr.empty() || !arg.type_list_attr.empty()) {
    const std::string& name = arg.number_attr.empty() ? arg.type_list_attr : arg.number_attr;
    const AttrValue* v = attr(name);
    if (v == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("node '", node.name(), "' has no attr '",
                                                     name, "' giving the size of output '",
                                                     arg.name, "'"));
    }
    return arg.number_attr.empty() ? v->list().type_size() : v->i();
  }
  return 1;
}

}  // namespace

absl::Status Error(const NodeDef& n, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(n.op(), " node '", n.name(), "': ", message));
}

AttrValue TypeAttr(DataType t) {
  AttrValue v;
  v.set_type(t);
  return v;
}

NodeDef MakeNode(const std::string& name, const std::string& op,
                 std::vector<std::string> inputs, const NodeDef& origin) {
  NodeDef n;
  n.set_name(name);
  n.set_op(op);
  n.set_device(origin.device());
  for (std::string& in : inputs) n.add_input(std::move(in));
  return n;
}

NodeDef Typed(const std::string& name, const std::string& op, std::vector<std::string> inputs,
              DataType t, const NodeDef& origin) {
  NodeDef n = MakeNode(name, op, std::move(inputs), origin);
  (*n.mutable_attr())["T"] = TypeAttr(t);
  return n;
}

FunctionInliner::FunctionInliner(const FunctionDefLibrary& library) {
  for (const FunctionDef& f : library.function()) functions_[f.signature().name()] = &f;
}

const FunctionDef* FunctionInliner::Find(const std::string& name) const {
  auto it = functions_.find(name);
  return it == functions_.end() ? nullptr : it->second;
}

bool FunctionInliner::IsLibraryFunction(const std::string& op) const {
  return functions_.contains(op) && OpRegistry::Global()->Find(op) == nullptr;
}

absl::StatusOr<std::string> FunctionInliner::BodyInput(const NodeDef& caller,
                                                       const FunctionDef& fd,
                                                       const NameAttrList& f,
                                                       const std::string& prefix,
                                                       const std::string& in,
                                                       const NodeDef* consumer) {
  const std::string where =
      absl::StrCat("function '", f.name(), "'",
                   consumer != nullptr ? absl::StrCat(", node '", consumer->name(), "'") : "",
                   ", input '", in, "'");
  const std::vector<std::string> parts = absl::StrSplit(in, ':');
  auto arg = arg_tensors_.find(parts[0]);
  if (arg != arg_tensors_.end()) {
    int index = 0;
    if (parts.size() > 2 || (parts.size() == 2 && !absl::SimpleAtoi(parts[1], &index)) ||
        index < 0 || index >= static_cast<int>(arg->second.size())) {
      return Error(caller, absl::StrCat(where, ": not an element of arg '", parts[0], "'"));
    }
    return arg->second[index];
  }
  auto body = body_nodes_.find(parts[0]);
  if (body == body_nodes_.end() || parts.size() < 2 || parts.size() > 3) {
    return Error(caller, absl::StrCat(where, ": names neither an arg nor a node output "
                                             "(\"node:output_arg:index\")"));
  }
  int index = 0;
  if (parts.size() == 3 && (!absl::SimpleAtoi(parts[2], &index) || index < 0)) {
    return Error(caller, absl::StrCat(where, ": bad index"));
  }
  const NodeDef& src = *body->second;
  const OpDef* op = OpRegistry::Global()->Find(src.op());
  int64_t offset = 0;
  if (op == nullptr && IsLibraryFunction(src.op())) {
    // A call of a library function by its name: outputs are its signature's output args.
    const FunctionDef& callee = *functions_.at(src.op());
    for (const OpDefProto::ArgDef& a : callee.signature().output_arg()) {
      if (a.name() == parts[1]) return absl::StrCat(prefix, src.name(), ":", offset + index);
      ++offset;
    }
  } else if (op != nullptr) {
    for (const ArgDef& a : op->outputs) {
      DFLOW_ASSIGN_OR_RETURN(int64_t size, ArgSize(a, *op, src));
      if (a.name == parts[1]) {
        if (index >= size) {
          return Error(caller, absl::StrCat(where, ": output '", a.name, "' of ", src.op(),
                                            " has ", size, " tensors"));
        }
        return absl::StrCat(prefix, src.name(), ":", offset + index);
      }
      offset += size;
    }
    std::vector<std::string> names;
    for (const ArgDef& a : op->outputs) names.push_back(a.name);
    return Error(caller, absl::StrCat(where, ": op ", src.op(), " has no output '", parts[1],
                                      "' (its outputs: ", absl::StrJoin(names, ", "), ")"));
  }
  return Error(caller, absl::StrCat(where, ": op '", src.op(),
                                    "' is unknown to dflow, so its output '", parts[1],
                                    "' cannot be resolved"));
}

absl::Status FunctionInliner::Inline(const NodeDef& caller, const NameAttrList& f,
                                     const std::string& prefix,
                                     const std::vector<std::string>& args,
                                     const std::vector<DataType>& types, const std::string& pivot,
                                     const std::vector<std::string>& stack,
                                     std::vector<Work>* out, Inlined* result) {
  auto fit = functions_.find(f.name());
  if (fit == functions_.end()) {
    return Error(caller, absl::StrCat("function '", f.name(), "' is not in the graph's library"));
  }
  const FunctionDef& fd = *fit->second;
  for (const std::string& s : stack) {
    if (s == f.name()) {
      return Error(caller, absl::StrCat("function '", f.name(), "' calls itself (",
                                        absl::StrJoin(stack, " -> "), " -> ", f.name(),
                                        "); recursive functions cannot be lowered"));
    }
  }
  std::vector<std::string> inner_stack = stack;
  inner_stack.push_back(f.name());
  // Args: one tensor each, unless a number_attr or type_list_attr makes a list.
  arg_tensors_.clear();
  body_nodes_.clear();
  std::vector<int64_t> counts;
  for (const OpDefProto::ArgDef& a : fd.signature().input_arg()) {
    int64_t count = 1;
    if (!a.number_attr().empty() || !a.type_list_attr().empty()) {
      const std::string& name = a.number_attr().empty() ? a.type_list_attr() : a.number_attr();
      auto it = f.attr().find(name);
      if (it == f.attr().end()) {
        return Error(caller, absl::StrCat("function '", f.name(), "': the call does not bind attr '",
                                          name, "' of arg '", a.name(), "'"));
      }
      count = a.number_attr().empty() ? it->second.list().type_size() : it->second.i();
    }
    counts.push_back(count);
  }
  int64_t total = 0;
  for (int64_t count : counts) total += count;
  if (total != static_cast<int64_t>(args.size())) {
    return Error(caller, absl::StrCat("function '", f.name(), "' takes ", total,
                                      total == 1 ? " arg" : " args", " but the node passes ",
                                      args.size()));
  }
  size_t next = 0;
  for (int i = 0; i < fd.signature().input_arg_size(); ++i) {
    const OpDefProto::ArgDef& a = fd.signature().input_arg(i);
    const bool is_list = !a.number_attr().empty() || !a.type_list_attr().empty();
    std::vector<std::string>& tensors = arg_tensors_[a.name()];
    for (int64_t j = 0; j < counts[i]; ++j, ++next) {
      const std::string name = is_list ? absl::StrCat(prefix, a.name(), "_", j) : prefix + a.name();
      out->push_back({Typed(name, "Identity", {args[next]}, types[next], caller), stack});
      tensors.push_back(name);
    }
  }
  // Body nodes, with placeholders bound, so that output arg sizes can be read from their attrs.
  std::vector<NodeDef> body(fd.node_def().begin(), fd.node_def().end());
  for (NodeDef& n : body) {
    if (arg_tensors_.contains(n.name())) {
      return Error(caller, absl::StrCat("function '", f.name(), "': node '", n.name(),
                                        "' has the name of an arg"));
    }
    absl::Status s = BindAttrs(f, &n);
    if (!s.ok()) return Error(caller, s.message());
  }
  for (const NodeDef& n : body) {
    if (!body_nodes_.emplace(n.name(), &n).second) {
      return Error(caller, absl::StrCat("function '", f.name(), "' has two nodes named '",
                                        n.name(), "'"));
    }
  }
  std::vector<NodeDef> converted;
  for (const NodeDef& n : body) {
    NodeDef c = n;
    c.set_name(prefix + n.name());
    c.clear_input();
    for (const std::string& in : n.input()) {
      if (!in.empty() && in[0] == '^') {
        const std::string name = in.substr(1);
        auto arg = arg_tensors_.find(name);
        if (arg != arg_tensors_.end()) {
          for (const std::string& t : arg->second) c.add_input("^" + t);
        } else if (body_nodes_.contains(name)) {
          c.add_input("^" + prefix + name);
        } else {
          return Error(caller, absl::StrCat("function '", f.name(), "', node '", n.name(),
                                            "': control input '", in, "' names no node"));
        }
        continue;
      }
      auto arg = arg_tensors_.find(in);
      if (arg != arg_tensors_.end()) {
        for (const std::string& t : arg->second) c.add_input(t);  // A whole list arg.
        continue;
      }
      DFLOW_ASSIGN_OR_RETURN(std::string t, BodyInput(caller, fd, f, prefix, in, &n));
      c.add_input(std::move(t));
    }
    if (c.input_size() == 0 && !pivot.empty()) c.add_input("^" + pivot);
    // Control inputs must follow data inputs; a body may list them in any order.
    std::stable_partition(c.mutable_input()->begin(), c.mutable_input()->end(),
                          [](const std::string& in) { return in.empty() || in[0] != '^'; });
    converted.push_back(std::move(c));
  }
  for (const OpDefProto::ArgDef& a : fd.signature().output_arg()) {
    auto it = fd.ret().find(a.name());
    if (it == fd.ret().end()) {
      return Error(caller, absl::StrCat("function '", f.name(), "' has no ret for output '",
                                        a.name(), "'"));
    }
    auto arg = arg_tensors_.find(it->second);
    if (arg != arg_tensors_.end()) {
      for (const std::string& t : arg->second) result->rets.push_back(t);
      continue;
    }
    DFLOW_ASSIGN_OR_RETURN(std::string t, BodyInput(caller, fd, f, prefix, it->second, nullptr));
    result->rets.push_back(std::move(t));
  }
  for (const auto& [name, node] : fd.control_ret()) {
    if (!body_nodes_.contains(node)) {
      return Error(caller, absl::StrCat("function '", f.name(), "': control output '", name,
                                        "' names no node"));
    }
    result->control_rets.push_back(prefix + node);
  }
  std::sort(result->control_rets.begin(), result->control_rets.end());  // Map order varies.
  for (NodeDef& c : converted) out->push_back({std::move(c), inner_stack});
  return absl::OkStatus();
}

}  // namespace lowering
}  // namespace dflow
