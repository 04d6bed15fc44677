// graph_viz: writes a Graphviz DOT picture of a graph file (and an SVG when `dot` is installed).
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "graph/graph_def_io.h"
#include "ops/graph_import.h"
#include "tools/graph_dot.h"

namespace {

constexpr char kUsage[] = R"(Usage: graph_viz --graph=FILE --output=FILE.dot [--fetch=NAME ...] [--target=OP ...]
                 [--feed=NAME ...] [--hide_pruned] [--svg]

Writes a Graphviz DOT file of a graph (binary or text GraphDef): one box per node with its
name and op, placeholders (blue) and variables (yellow) marked, data edges labelled with dtype
and graph-time shape, control edges dashed. With --fetch/--target (and --feed to cut at fed
tensors), the nodes a run would prune are drawn grey and dotted (left out with
--hide_pruned). --svg also writes FILE.svg
with Graphviz's `dot` (Debian package graphviz).

Example:
  graph_viz --graph=mnist_softmax.pb --output=mnist.dot --fetch=accuracy --svg
)";

int Fail(const std::string& message) {
  std::cerr << "graph_viz: error: " << message << std::endl;
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string graph_path, output;
  std::vector<std::string> fetches, targets, feeds;
  bool svg = false, hide_pruned = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](const char* flag) -> const char* {
      const std::string prefix = absl::StrCat("--", flag, "=");
      return absl::StartsWith(arg, prefix) ? argv[i] + prefix.size() : nullptr;
    };
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (arg == "--svg") {
      svg = true;
    } else if (arg == "--hide_pruned") {
      hide_pruned = true;
    } else if (const char* v = value("graph")) {
      graph_path = v;
    } else if (const char* v = value("output")) {
      output = v;
    } else if (const char* v = value("fetch")) {
      fetches.push_back(v);
    } else if (const char* v = value("target")) {
      targets.push_back(v);
    } else if (const char* v = value("feed")) {
      feeds.push_back(v);
    } else {
      return Fail(absl::StrCat("unknown argument '", arg, "' (see --help)"));
    }
  }
  if (graph_path.empty() || output.empty()) return Fail("--graph and --output are required");

  dflow::GraphDef def;
  absl::Status s = dflow::ReadGraphDefFile(graph_path, &def);
  if (!s.ok()) return Fail(std::string(s.message()));
  dflow::Graph graph;
  s = dflow::ImportGraphDef(def, &graph);
  if (!s.ok()) return Fail(absl::StrCat("graph '", graph_path, "': ", s.message()));

  std::vector<bool> needed;
  if (!fetches.empty() || !targets.empty()) {
    std::vector<dflow::Output> feed_outputs, fetch_outputs;
    std::vector<const dflow::Node*> target_nodes;
    for (const auto& [names, outs] : {std::make_pair(&feeds, &feed_outputs),
                                      std::make_pair(&fetches, &fetch_outputs)}) {
      for (const std::string& name : *names) {
        absl::StatusOr<dflow::Output> o = graph.FindOutput(name);
        if (!o.ok()) return Fail(std::string(o.status().message()));
        outs->push_back(*o);
      }
    }
    for (const std::string& name : targets) {
      const dflow::Node* n = graph.FindNode(name);
      if (n == nullptr) return Fail(absl::StrCat("no node named '", name, "' in the graph"));
      target_nodes.push_back(n);
    }
    needed = dflow::NodesNeededFor(graph, feed_outputs, fetch_outputs, target_nodes);
  }
  s = dflow::WriteFileAtomically(output, dflow::GraphToDot(graph, needed.empty() ? nullptr : &needed, hide_pruned));
  if (!s.ok()) return Fail(std::string(s.message()));
  std::cout << "wrote " << output << " (" << graph.num_nodes() << " nodes)" << std::endl;
  if (svg) {
    if (std::system("command -v dot >/dev/null 2>&1") != 0) {
      return Fail("--svg needs Graphviz's `dot` (apt-get install graphviz)");
    }
    const std::string svg_path = absl::StrCat(output, ".svg");
    const std::string command = absl::StrCat("dot -Tsvg '", output, "' -o '", svg_path, "'");
    if (std::system(command.c_str()) != 0) return Fail(absl::StrCat("`", command, "` failed"));
    std::cout << "wrote " << svg_path << std::endl;
  }
  return 0;
}
