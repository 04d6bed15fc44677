// large_graph: how fast dflow imports, optimizes, plans and runs very large graphs, in nodes
// per second, and the peak memory it takes. See --help.
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "ops/graph_import.h"
#include "runtime/executor.h"
#include "runtime/graph_optimizer.h"
#include "runtime/session.h"

namespace dflow {
namespace {

constexpr char kUsage[] = R"(Usage: large_graph [--nodes=N] [--graph=add|identity] [--run]

Builds a GraphDef of N nodes and times each stage a Session goes through with it, printing
nodes per CPU second for each (wall time too) and the process's peak resident memory:
  import     ImportGraphDef (schema checks, shape inference, the Graph)
  optimize   OptimizeGraph for fetching the chain's end (folding, pass-through removal, CSE)
  plan       ExecutionPlan::Build on the optimized graph (kernels, slots, buffer release)
  run        (with --run) one run of the plan

  --nodes=N         the chain's length (default 1000000)
  --graph=add       x -> Add(x, c) -> Add(., c) -> ... (a placeholder x, a Const c)
  --graph=identity  x -> Identity -> Identity -> ... (the default)
  --run             also run the plan once, feeding x = 1
  --help            this message

Goal (issue 16): 1,000,000 nodes imported, optimized and planned in under 5 s and 1 GB.
Build with `bazel build -c opt //bench:large_graph`.
)";

GraphDef ChainGraph(int64_t n, bool add) {
  GraphDef def;
  NodeDef* x = def.add_node();
  x->set_name("x");
  x->set_op("Placeholder");
  (*x->mutable_attr())["dtype"].set_type(DT_FLOAT);
  (*x->mutable_attr())["shape"].mutable_shape();
  if (add) {
    NodeDef* c = def.add_node();
    c->set_name("c");
    c->set_op("Const");
    (*c->mutable_attr())["dtype"].set_type(DT_FLOAT);
    TensorProto* t = (*c->mutable_attr())["value"].mutable_tensor();
    t->set_dtype(DT_FLOAT);
    t->add_float_val(1.f);
  }
  std::string previous = "x";
  for (int64_t i = 1; i < n; ++i) {
    NodeDef* node = def.add_node();
    node->set_name(absl::StrCat("n", i));
    node->set_op(add ? "Add" : "Identity");
    node->add_input(previous);
    if (add) node->add_input("c");
    (*node->mutable_attr())["T"].set_type(DT_FLOAT);
    previous = node->name();
  }
  return def;
}

double PeakRssMb() {
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;
}

// The process's resident memory now, from /proc/self/statm (0 where that is missing).
double RssMb() {
  std::ifstream statm("/proc/self/statm");
  double pages_total = 0, pages_resident = 0;
  if (!(statm >> pages_total >> pages_resident)) return 0;
  return pages_resident * sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
}

// Heap bytes in use now (glibc's count), which, unlike RSS, drops when memory is freed.
double HeapInUseMb() { return mallinfo2().uordblks / (1024.0 * 1024.0); }

// This process's user + system CPU seconds: on a loaded machine, wall time says little.
double CpuSeconds() {
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
         (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6;
}

// Prints a stage's wall and CPU time and nodes per CPU second when it goes out of scope.
class Stage {
 public:
  Stage(const char* name, int64_t nodes)
      : name_(name), nodes_(nodes), start_(std::chrono::steady_clock::now()), cpu_(CpuSeconds()) {}
  ~Stage() {
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double cpu = std::max(CpuSeconds() - cpu_, 1e-6);
    std::cout << name_ << ": " << cpu << " s CPU (" << wall << " s wall), "
              << static_cast<int64_t>(nodes_ / cpu) << " nodes per CPU second, peak RSS "
              << PeakRssMb() << " MiB (" << RssMb() << " MiB now, heap in use " << HeapInUseMb() << " MiB)" << std::endl;
  }

 private:
  const char* name_;
  int64_t nodes_;
  std::chrono::steady_clock::time_point start_;
  double cpu_;
};

absl::Status Main(int64_t n, bool add, bool run) {
  GraphDef def = ChainGraph(n, add);
  std::cout << "built a GraphDef of " << def.node_size() << " nodes (" << (add ? "Add" : "Identity")
            << " chain), peak RSS " << PeakRssMb() << " MiB" << std::endl;
  const double cpu_start = CpuSeconds();
  Graph graph;
  {
    Stage stage("import", n);
    // Taken over, as a tool that has no further use for the GraphDef passes it.
    DFLOW_RETURN_IF_ERROR(ImportGraphDef(std::move(def), &graph));
  }
  Signature signature;
  signature.feeds.push_back(Output(graph.FindNode("x"), 0));
  signature.feed_shapes.push_back(TensorShape({}));
  signature.fetches.push_back(Output(graph.node(graph.num_nodes() - 1), 0));
  absl::StatusOr<OptimizedGraph> optimized;
  {
    Stage stage("optimize", n);
    optimized = OptimizeGraph(graph, signature);
    DFLOW_RETURN_IF_ERROR(optimized.status());
  }
  std::cout << "  optimized graph: " << optimized->graph->num_nodes() << " nodes" << std::endl;
  std::unique_ptr<ExecutionPlan> plan;
  {
    Stage stage("plan", optimized->graph->num_nodes());
    DFLOW_ASSIGN_OR_RETURN(plan, ExecutionPlan::Build(*optimized->graph, optimized->signature));
  }
  std::cout << "import + optimize + plan: " << CpuSeconds() - cpu_start << " s CPU for " << n
            << " nodes, peak RSS "
            << PeakRssMb() << " MiB" << std::endl;
  if (run) {
    Stage stage("run", optimized->graph->num_nodes());
    VariableStore variables;
    std::vector<Tensor> outputs;
    const Tensor one = Tensor::Scalar(1.f);
    DFLOW_RETURN_IF_ERROR(plan->Run({&one, 1}, &variables, &outputs));
    std::cout << "  fetched " << outputs[0].DebugString() << std::endl;
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace dflow

int main(int argc, char** argv) {
  int64_t nodes = 1000000;
  bool add = false, run = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << dflow::kUsage;
      return 0;
    } else if (arg.rfind("--nodes=", 0) == 0) {
      if (!absl::SimpleAtoi(arg.substr(8), &nodes) || nodes < 2) {
        std::cerr << "large_graph: error: --nodes must be an integer >= 2" << std::endl;
        return 1;
      }
    } else if (arg == "--graph=add" || arg == "--graph=identity") {
      add = arg == "--graph=add";
    } else if (arg == "--run") {
      run = true;
    } else {
      std::cerr << "large_graph: error: unknown argument '" << arg << "' (see --help)" << std::endl;
      return 1;
    }
  }
  const absl::Status s = dflow::Main(nodes, add, run);
  if (!s.ok()) {
    std::cerr << "large_graph: error: " << s.message() << std::endl;
    return 1;
  }
  return 0;
}
