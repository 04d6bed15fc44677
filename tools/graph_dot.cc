#include "tools/graph_dot.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace dflow {
namespace {

std::string Quote(absl::string_view s) {
  return absl::StrCat("\"", absl::StrReplaceAll(s, {{"\\", "\\\\"}, {"\"", "\\\""}}), "\"");
}

std::string NodeStyle(const Node& node) {
  if (node.is_opaque()) return "shape=box, style=\"dashed,filled\", fillcolor=\"#f8d7da\"";
  if (node.op() == "Placeholder") return "shape=box, style=\"rounded,filled\", fillcolor=\"#cfe2ff\"";
  if (node.op() == "VariableV2") return "shape=box3d, style=filled, fillcolor=\"#fff3bf\"";
  if (node.op() == "Const") return "shape=ellipse, style=filled, fillcolor=\"#eeeeee\"";
  if (node.num_outputs() == 0) return "shape=octagon";
  return "shape=ellipse";
}

}  // namespace

std::string GraphToDot(const Graph& graph, const std::vector<bool>* needed, bool hide_pruned) {
  std::string out = "digraph dflow {\n  rankdir=TB;\n  node [fontname=\"Helvetica\", fontsize=10];\n"
                    "  edge [fontname=\"Helvetica\", fontsize=8];\n";
  auto pruned = [&](const Node* n) { return needed != nullptr && !(*needed)[n->id()]; };
  for (const Node* node : graph.nodes()) {
    if (hide_pruned && pruned(node)) continue;
    absl::StrAppend(&out, "  ", Quote(node->name()), " [label=",
                    Quote(absl::StrCat(node->name(), "\n", node->op(),
                                       node->is_opaque() ? " (unsupported)" : "")),
                    ", ", NodeStyle(*node));
    if (pruned(node)) absl::StrAppend(&out, ", color=gray70, fontcolor=gray60, style=dotted");
    absl::StrAppend(&out, "];\n");
  }
  for (const Node* node : graph.nodes()) {
    if (hide_pruned && pruned(node)) continue;
    for (const Output& in : node->inputs()) {
      // An opaque node's output no supported op reads has no known type.
      const std::string type = in.type() == DT_INVALID ? "?" : DataTypeString(in.type());
      const std::string label = absl::StrCat(type, " ", in.shape().DebugString(),
                                             in.index() > 0 ? absl::StrCat(" :", in.index()) : "");
      absl::StrAppend(&out, "  ", Quote(in.node()->name()), " -> ", Quote(node->name()),
                      " [label=", Quote(label));
      if (pruned(node) || pruned(in.node())) absl::StrAppend(&out, ", color=gray70, fontcolor=gray60");
      absl::StrAppend(&out, "];\n");
    }
    for (const Node* c : node->control_inputs()) {
      if (hide_pruned && pruned(c)) continue;
      absl::StrAppend(&out, "  ", Quote(c->name()), " -> ", Quote(node->name()), " [style=dashed");
      if (pruned(node) || pruned(c)) absl::StrAppend(&out, ", color=gray70");
      absl::StrAppend(&out, "];\n");
    }
  }
  return out + "}\n";
}

}  // namespace dflow
