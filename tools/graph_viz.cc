// graph_viz: writes a Graphviz DOT picture of a graph file (and an SVG when `dot` is installed).
#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "graph/graph_def_io.h"
#include "graph/status_macros.h"
#include "ops/graph_import.h"
#include "tools/graph_dot.h"

extern char** environ;

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

struct Options {
  std::string graph_path, output;
  std::vector<std::string> fetches, targets, feeds;
  bool svg = false, hide_pruned = false;
};

// Runs `dot -Tsvg DOT -o SVG` directly (no shell, so no path is ever interpreted as a command).
absl::Status RunDot(const std::string& dot_path, const std::string& svg_path) {
  std::vector<std::string> args = {"dot", "-Tsvg", dot_path, "-o", svg_path};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid;
  const int err = posix_spawnp(&pid, "dot", nullptr, nullptr, argv.data(), environ);
  if (err == ENOENT) {
    return absl::FailedPreconditionError("--svg needs Graphviz's `dot` (apt-get install graphviz)");
  }
  if (err != 0) {
    return absl::InternalError(absl::StrCat("cannot run `dot`: ", std::strerror(err)));
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return absl::InternalError("lost track of `dot`");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(absl::StrCat("`dot -Tsvg` failed writing '", svg_path, "'"));
  }
  return absl::OkStatus();
}

// Reads, imports and draws the graph (and its SVG with --svg).
absl::Status Draw(const Options& o) {
  dflow::GraphDef def;
  DFLOW_RETURN_IF_ERROR(dflow::ReadGraphDefFile(o.graph_path, &def));
  dflow::Graph graph;
  absl::Status s = dflow::ImportGraphDef(def, &graph);
  if (!s.ok()) {
    return absl::Status(s.code(), absl::StrCat("graph '", o.graph_path, "': ", s.message()));
  }

  std::vector<bool> needed;
  if (!o.fetches.empty() || !o.targets.empty()) {
    std::vector<dflow::Output> feed_outputs, fetch_outputs;
    std::vector<const dflow::Node*> target_nodes;
    for (const auto& [names, outs] : {std::make_pair(&o.feeds, &feed_outputs),
                                      std::make_pair(&o.fetches, &fetch_outputs)}) {
      for (const std::string& name : *names) {
        DFLOW_ASSIGN_OR_RETURN(const dflow::Output out, graph.FindOutput(name));
        outs->push_back(out);
      }
    }
    for (const std::string& name : o.targets) {
      const dflow::Node* n = graph.FindNode(name);
      if (n == nullptr) {
        return absl::NotFoundError(absl::StrCat("no node named '", name, "' in the graph"));
      }
      target_nodes.push_back(n);
    }
    needed = dflow::NodesNeededFor(graph, feed_outputs, fetch_outputs, target_nodes);
  }
  DFLOW_RETURN_IF_ERROR(dflow::WriteFileAtomically(
      o.output, dflow::GraphToDot(graph, needed.empty() ? nullptr : &needed, o.hide_pruned)));
  std::cout << "wrote " << o.output << " (" << graph.num_nodes() << " nodes)" << std::endl;
  if (o.svg) {
    const std::string svg_path = absl::StrCat(o.output, ".svg");
    DFLOW_RETURN_IF_ERROR(RunDot(o.output, svg_path));
    std::cout << "wrote " << svg_path << std::endl;
  }
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
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
      o.svg = true;
    } else if (arg == "--hide_pruned") {
      o.hide_pruned = true;
    } else if (const char* v = value("graph")) {
      o.graph_path = v;
    } else if (const char* v = value("output")) {
      o.output = v;
    } else if (const char* v = value("fetch")) {
      o.fetches.push_back(v);
    } else if (const char* v = value("target")) {
      o.targets.push_back(v);
    } else if (const char* v = value("feed")) {
      o.feeds.push_back(v);
    } else {
      return Fail(absl::StrCat("unknown argument '", arg, "' (see --help)"));
    }
  }
  if (o.graph_path.empty() || o.output.empty()) return Fail("--graph and --output are required");

  const absl::Status status = Draw(o);
  return status.ok() ? 0 : Fail(std::string(status.message()));
}
