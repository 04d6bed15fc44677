#include "ops/function_lowering.h"

#include <algorithm>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "graph/status_macros.h"
#include "graph/types.h"
#include "ops/function_inlining.h"
#include "ops/functional_ops.h"

namespace dflow {
namespace {

using lowering::Error;
using lowering::FunctionInliner;
using lowering::Inlined;
using lowering::MakeNode;
using lowering::TypeAttr;
using lowering::Typed;
using lowering::Work;

// Deeper nesting of function calls than this is taken for runaway recursion.
constexpr size_t kMaxCallDepth = 64;

AttrValue TypeListAttr(const std::vector<DataType>& types) {
  AttrValue v;
  v.mutable_list();
  for (DataType t : types) v.mutable_list()->add_type(t);
  return v;
}

void AddControls(const std::vector<std::string>& controls, NodeDef* n) {
  for (const std::string& c : controls) n->add_input(absl::StrCat("^", c));
}

// What a functional node's lowering needs from it.
struct Call {
  const NodeDef* node;
  std::vector<std::string> data;      // Data inputs, GraphDef naming.
  std::vector<std::string> controls;  // Control inputs' node names.
};

class Lowerer {
 public:
  explicit Lowerer(const FunctionDefLibrary& library) : inliner_(library) {}

  bool IsLibraryFunction(const std::string& op) const { return inliner_.IsLibraryFunction(op); }

  absl::Status Run(GraphDef* def) {
    std::deque<Work> queue;
    for (NodeDef& n : *def->mutable_node()) queue.push_back({std::move(n), {}});
    def->clear_node();
    while (!queue.empty()) {
      Work w = std::move(queue.front());
      queue.pop_front();
      if (!IsFunctionalOp(w.node.op()) && !IsLibraryFunction(w.node.op())) {
        *def->add_node() = std::move(w.node);
        continue;
      }
      std::vector<Work> out;
      DFLOW_RETURN_IF_ERROR(Lower(w, &out));
      for (Work& o : out) queue.push_back(std::move(o));
    }
    def->clear_library();
    return absl::OkStatus();
  }

 private:
  absl::Status Lower(const Work& w, std::vector<Work>* out) {
    Call call{&w.node, {}, {}};
    for (const std::string& in : w.node.input()) {
      if (!in.empty() && in[0] == '^') {
        call.controls.push_back(in.substr(1));
      } else {
        call.data.push_back(in);
      }
    }
    if (w.stack.size() >= kMaxCallDepth) {
      return Error(w.node, absl::StrCat("functions nest deeper than ", kMaxCallDepth, " (",
                                        absl::StrJoin(w.stack, " -> "), ")"));
    }
    const std::string& op = w.node.op();
    if (IsFunctionalIf(op)) return LowerIf(call, w.stack, out);
    if (IsFunctionalWhile(op)) return LowerWhile(call, w.stack, out);
    return LowerCall(call, w.stack, out);
  }

  static absl::StatusOr<std::vector<DataType>> Types(const NodeDef& n, const std::string& attr) {
    auto it = n.attr().find(attr);
    if (it == n.attr().end()) return std::vector<DataType>{};
    if (it->second.value_case() != AttrValue::kList) {
      return Error(n, absl::StrCat("attr '", attr, "' is not a list of types"));
    }
    std::vector<DataType> types;
    for (int t : it->second.list().type()) types.push_back(static_cast<DataType>(t));
    return types;
  }

  static absl::StatusOr<const NameAttrList*> Func(const NodeDef& n, const std::string& attr) {
    auto it = n.attr().find(attr);
    if (it == n.attr().end() || it->second.value_case() != AttrValue::kFunc) {
      return Error(n, absl::StrCat("attr '", attr, "' is missing or not a function"));
    }
    return &it->second.func();
  }

  absl::Status CheckCount(const NodeDef& n, absl::string_view what, size_t got,
                          absl::string_view attr, size_t want) {
    if (got == want) return absl::OkStatus();
    return Error(n, absl::StrCat("has ", got, " ", what, " but ", attr, " lists ", want,
                                 want == 1 ? " type" : " types"));
  }

  absl::Status LowerIf(const Call& c, const std::vector<std::string>& stack,
                       std::vector<Work>* out) {
    const NodeDef& n = *c.node;
    const std::string& N = n.name();
    DFLOW_ASSIGN_OR_RETURN(std::vector<DataType> tin, Types(n, "Tin"));
    DFLOW_ASSIGN_OR_RETURN(std::vector<DataType> tout, Types(n, "Tout"));
    DFLOW_ASSIGN_OR_RETURN(const NameAttrList* then_f, Func(n, "then_branch"));
    DFLOW_ASSIGN_OR_RETURN(const NameAttrList* else_f, Func(n, "else_branch"));
    if (c.data.empty()) return Error(n, "has no predicate input");
    DFLOW_RETURN_IF_ERROR(CheckCount(n, "inputs after the predicate", c.data.size() - 1, "Tin",
                                     tin.size()));
    auto emit = [&](NodeDef node) { out->push_back({std::move(node), stack}); };
    std::string pred = c.data[0];
    auto tcond = n.attr().find("Tcond");
    if (tcond != n.attr().end() && tcond->second.type() != DT_BOOL) {
      // A non-bool scalar predicate is true when nonzero, as Cast to bool makes it.
      NodeDef cast = MakeNode(N + "/pred_cast", "Cast", {pred}, n);
      (*cast.mutable_attr())["SrcT"] = TypeAttr(tcond->second.type());
      (*cast.mutable_attr())["DstT"] = TypeAttr(DT_BOOL);
      AddControls(c.controls, &cast);
      pred = cast.name();
      emit(std::move(cast));
    }
    NodeDef switch_pred = Typed(N + "/switch_pred", "Switch", {pred, pred}, DT_BOOL, n);
    AddControls(c.controls, &switch_pred);
    emit(std::move(switch_pred));
    emit(Typed(N + "/pivot_t", "Identity", {N + "/switch_pred:1"}, DT_BOOL, n));
    emit(Typed(N + "/pivot_f", "Identity", {N + "/switch_pred:0"}, DT_BOOL, n));
    std::vector<std::string> then_args, else_args;
    for (size_t k = 0; k < tin.size(); ++k) {
      const std::string sw = absl::StrCat(N, "/switch_input_", k);
      NodeDef s = Typed(sw, "Switch", {c.data[k + 1], pred}, tin[k], n);
      AddControls(c.controls, &s);
      emit(std::move(s));
      else_args.push_back(sw + ":0");
      then_args.push_back(sw + ":1");
    }
    Inlined then_r, else_r;
    DFLOW_RETURN_IF_ERROR(inliner_.Inline(n, *then_f, N + "/then/", then_args, tin,
                                          N + "/pivot_t", stack, out, &then_r));
    DFLOW_RETURN_IF_ERROR(inliner_.Inline(n, *else_f, N + "/else/", else_args, tin,
                                          N + "/pivot_f", stack, out, &else_r));
    DFLOW_RETURN_IF_ERROR(CheckRets(n, then_f->name(), then_r, "Tout", tout.size()));
    DFLOW_RETURN_IF_ERROR(CheckRets(n, else_f->name(), else_r, "Tout", tout.size()));
    std::vector<std::string> results;
    for (size_t j = 0; j < tout.size(); ++j) {
      NodeDef m = Typed(absl::StrCat(N, "/merge_", j), "Merge",
                        {else_r.rets[j], then_r.rets[j]}, tout[j], n);
      (*m.mutable_attr())["N"].set_i(2);
      results.push_back(m.name());
      emit(std::move(m));
    }
    std::vector<std::string> done;
    if (tout.empty() || !then_r.control_rets.empty() || !else_r.control_rets.empty()) {
      // Which branch ran, live once its side effects are done: what "^N" waits for.
      NodeDef t = Typed(N + "/then_done", "Identity", {N + "/pivot_t"}, DT_BOOL, n);
      AddControls(then_r.control_rets, &t);
      NodeDef e = Typed(N + "/else_done", "Identity", {N + "/pivot_f"}, DT_BOOL, n);
      AddControls(else_r.control_rets, &e);
      NodeDef m = Typed(N + "/branch_executed", "Merge", {e.name(), t.name()}, DT_BOOL, n);
      (*m.mutable_attr())["N"].set_i(2);
      done.push_back(m.name());
      emit(std::move(t));
      emit(std::move(e));
      emit(std::move(m));
    }
    emit(Results(n, results, tout, done));
    return absl::OkStatus();
  }

  absl::Status LowerWhile(const Call& c, const std::vector<std::string>& stack,
                          std::vector<Work>* out) {
    const NodeDef& n = *c.node;
    const std::string& N = n.name();
    DFLOW_ASSIGN_OR_RETURN(std::vector<DataType> types, Types(n, "T"));
    DFLOW_ASSIGN_OR_RETURN(const NameAttrList* cond_f, Func(n, "cond"));
    DFLOW_ASSIGN_OR_RETURN(const NameAttrList* body_f, Func(n, "body"));
    DFLOW_RETURN_IF_ERROR(CheckCount(n, "inputs", c.data.size(), "T", types.size()));
    if (types.empty()) return Error(n, "has no loop variables");
    int64_t parallel_iterations = 10;
    auto pi = n.attr().find("parallel_iterations");
    if (pi != n.attr().end()) parallel_iterations = pi->second.i();
    auto emit = [&](NodeDef node) { out->push_back({std::move(node), stack}); };
    std::vector<std::string> merges;
    for (size_t k = 0; k < types.size(); ++k) {
      NodeDef enter = Typed(absl::StrCat(N, "/enter_", k), "Enter", {c.data[k]}, types[k], n);
      (*enter.mutable_attr())["frame_name"].set_s(N);
      (*enter.mutable_attr())["is_constant"].set_b(false);
      (*enter.mutable_attr())["parallel_iterations"].set_i(parallel_iterations);
      AddControls(c.controls, &enter);
      NodeDef merge = Typed(absl::StrCat(N, "/merge_", k), "Merge",
                            {enter.name(), absl::StrCat(N, "/next_iteration_", k)}, types[k], n);
      (*merge.mutable_attr())["N"].set_i(2);
      merges.push_back(merge.name());
      emit(std::move(enter));
      emit(std::move(merge));
    }
    Inlined cond_r;
    DFLOW_RETURN_IF_ERROR(
        inliner_.Inline(n, *cond_f, N + "/cond/", merges, types, merges[0], stack, out, &cond_r));
    if (cond_r.rets.size() != 1) {
      return Error(n, absl::StrCat("cond function '", cond_f->name(), "' returns ",
                                   cond_r.rets.size(), " values, not 1"));
    }
    std::string pred = cond_r.rets[0];
    const DataType cond_type = ResultType(cond_f->name());
    if (cond_type != DT_BOOL && cond_type != DT_INVALID) {
      NodeDef cast = MakeNode(N + "/cond_cast", "Cast", {pred}, n);
      (*cast.mutable_attr())["SrcT"] = TypeAttr(cond_type);
      (*cast.mutable_attr())["DstT"] = TypeAttr(DT_BOOL);
      pred = cast.name();
      emit(std::move(cast));
    }
    emit(MakeNode(N + "/loop_cond", "LoopCond", {pred}, n));
    std::vector<std::string> body_args, exits;
    for (size_t k = 0; k < types.size(); ++k) {
      const std::string sw = absl::StrCat(N, "/switch_", k);
      emit(Typed(sw, "Switch", {merges[k], N + "/loop_cond"}, types[k], n));
      emit(Typed(absl::StrCat(N, "/exit_", k), "Exit", {sw + ":0"}, types[k], n));
      exits.push_back(absl::StrCat(N, "/exit_", k));
      body_args.push_back(sw + ":1");
    }
    emit(Typed(N + "/body_pivot", "Identity", {body_args[0]}, types[0], n));
    Inlined body_r;
    DFLOW_RETURN_IF_ERROR(inliner_.Inline(n, *body_f, N + "/body/", body_args, types,
                                          N + "/body_pivot", stack, out, &body_r));
    DFLOW_RETURN_IF_ERROR(CheckRets(n, body_f->name(), body_r, "T", types.size()));
    for (size_t k = 0; k < types.size(); ++k) {
      NodeDef next = Typed(absl::StrCat(N, "/next_iteration_", k), "NextIteration",
                           {body_r.rets[k]}, types[k], n);
      AddControls(body_r.control_rets, &next);
      emit(std::move(next));
    }
    emit(Results(n, exits, types, {}));
    return absl::OkStatus();
  }

  absl::Status LowerCall(const Call& c, const std::vector<std::string>& stack,
                         std::vector<Work>* out) {
    const NodeDef& n = *c.node;
    const std::string& N = n.name();
    NameAttrList direct;
    const NameAttrList* f = &direct;
    std::vector<DataType> tin, tout;
    if (IsFunctionCall(n.op())) {
      DFLOW_ASSIGN_OR_RETURN(f, Func(n, "f"));
      DFLOW_ASSIGN_OR_RETURN(tin, Types(n, "Tin"));
      DFLOW_ASSIGN_OR_RETURN(tout, Types(n, "Tout"));
    } else {
      // A node whose op is a library function: the node's attrs bind the function's.
      direct.set_name(n.op());
      direct.mutable_attr()->insert(n.attr().begin(), n.attr().end());
      const FunctionDef& fd = *inliner_.Find(n.op());
      for (const OpDefProto::ArgDef& a : fd.signature().input_arg()) {
        tin.push_back(ArgType(a, direct));
      }
      for (const OpDefProto::ArgDef& a : fd.signature().output_arg()) {
        tout.push_back(ArgType(a, direct));
      }
    }
    DFLOW_RETURN_IF_ERROR(CheckCount(n, "inputs", c.data.size(), "Tin", tin.size()));
    auto emit = [&](NodeDef node) { out->push_back({std::move(node), stack}); };
    // A body's source nodes wait for the call's inputs (and run in their frame, or die with
    // them when those are dead).
    std::string pivot;
    if (!c.data.empty() || !c.controls.empty()) {
      NodeDef p = MakeNode(N + "/call_pivot", "NoOp", {}, n);
      for (const std::string& in : c.data) {
        absl::StatusOr<std::pair<std::string, int>> parsed = ParseInput(in);
        if (!parsed.ok()) return Error(n, parsed.status().message());
        p.add_input(absl::StrCat("^", parsed->first));
      }
      AddControls(c.controls, &p);
      pivot = p.name();
      emit(std::move(p));
    }
    std::vector<std::string> args = c.data;
    if (!c.controls.empty()) {
      // The call's control inputs hold back its args too.
      for (size_t k = 0; k < args.size(); ++k) {
        NodeDef a = Typed(absl::StrCat(N, "/call_input_", k), "Identity", {args[k]},
                          tin[k], n);
        AddControls(c.controls, &a);
        args[k] = a.name();
        emit(std::move(a));
      }
    }
    Inlined r;
    DFLOW_RETURN_IF_ERROR(inliner_.Inline(n, *f, N + "/", args, tin, pivot, stack, out, &r));
    DFLOW_RETURN_IF_ERROR(CheckRets(n, f->name(), r, "Tout", tout.size()));
    std::vector<std::string> done = r.control_rets;
    if (tout.empty() && !pivot.empty()) done.push_back(pivot);
    emit(Results(n, r.rets, tout, done));
    return absl::OkStatus();
  }

  static absl::StatusOr<std::pair<std::string, int>> ParseInput(const std::string& in) {
    const std::vector<std::string> parts = absl::StrSplit(in, ':');
    int index = 0;
    if (parts.size() > 2 || parts[0].empty() ||
        (parts.size() == 2 && !absl::SimpleAtoi(parts[1], &index))) {
      return absl::InvalidArgumentError(absl::StrCat("malformed input '", in, "'"));
    }
    return std::make_pair(parts[0], index);
  }

  // Node N itself: IdentityN over its results (so "N:k" is result k), a NoOp without any.
  static NodeDef Results(const NodeDef& n, const std::vector<std::string>& results,
                         const std::vector<DataType>& types, const std::vector<std::string>& done) {
    NodeDef r = MakeNode(n.name(), results.empty() ? "NoOp" : "IdentityN", results, n);
    if (!results.empty()) (*r.mutable_attr())["T"] = TypeListAttr(types);
    AddControls(done, &r);
    return r;
  }

  absl::Status CheckRets(const NodeDef& n, const std::string& fname, const Inlined& r,
                         absl::string_view attr, size_t want) {
    if (r.rets.size() == want) return absl::OkStatus();
    return Error(n, absl::StrCat("function '", fname, "' returns ", r.rets.size(),
                                 " values but ", attr, " lists ", want, " types"));
  }

  DataType ResultType(const std::string& fname) const {
    const FunctionDef* f = inliner_.Find(fname);
    if (f == nullptr || f->signature().output_arg_size() != 1) return DT_INVALID;
    return f->signature().output_arg(0).type();
  }

  static DataType ArgType(const OpDefProto::ArgDef& a, const NameAttrList& attrs) {
    if (a.type() != DT_INVALID) return a.type();
    auto it = attrs.attr().find(a.type_attr());
    return it == attrs.attr().end() ? DT_INVALID : it->second.type();
  }

  FunctionInliner inliner_;
};

}  // namespace

bool HasFunctionalOps(const GraphDef& def) {
  Lowerer lowerer(def.library());
  for (const NodeDef& n : def.node()) {
    if (IsFunctionalOp(n.op()) || lowerer.IsLibraryFunction(n.op())) return true;
  }
  return false;
}

absl::Status LowerFunctionalOps(GraphDef* def) {
  // The lowerer points into the library, which Run clears: it reads a copy.
  const FunctionDefLibrary library = def->library();
  Lowerer lowerer(library);
  return lowerer.Run(def);
}

}  // namespace dflow
