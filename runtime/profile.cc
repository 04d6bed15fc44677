#include "runtime/profile.h"

#include <algorithm>
#include <cstdio>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "graph/graph_def_io.h"

namespace dflow {
namespace {

struct Total {
  std::string name, op;
  int64_t ns = 0;
  int64_t calls = 0;
  int64_t flops = 0;  // runtime/flops.h's count.
};

// Sorted by time, longest first; ties by name so that the table is stable.
std::vector<Total> Sorted(absl::flat_hash_map<std::string, Total> totals) {
  std::vector<Total> out;
  for (auto& [key, t] : totals) out.push_back(std::move(t));
  std::sort(out.begin(), out.end(), [](const Total& a, const Total& b) {
    return a.ns != b.ns ? a.ns > b.ns : a.name < b.name;
  });
  return out;
}

// A JSON string literal.
std::string Quoted(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      absl::StrAppendFormat(&out, "\\u%04x", c);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace

std::string ProfileSummary(absl::Span<const RunMetadata> runs, int top_nodes) {
  absl::flat_hash_map<std::string, Total> by_op, by_node;
  int64_t run_ns = 0, node_ns = 0, flops = 0;
  for (const RunMetadata& run : runs) {
    run_ns += run.duration_ns;
    for (const NodeExecStats& n : run.nodes) {
      const int64_t ns = n.end_ns - n.start_ns;
      node_ns += ns;
      flops += n.flops;
      for (auto [map, key] : {std::pair{&by_op, n.op}, std::pair{&by_node, n.node}}) {
        Total& t = (*map)[key];
        t.name = key;
        t.op = n.op;
        t.ns += ns;
        t.flops += n.flops;
        ++t.calls;
      }
    }
  }
  const double runs_n = std::max<size_t>(runs.size(), 1);
  auto share = [&](int64_t ns) { return run_ns > 0 ? 100.0 * ns / run_ns : 0.0; };
  std::string out = absl::StrFormat(
      "%d run(s): %.1f us per run, %.1f us of it in %d nodes (%.0f%%); the rest is the "
      "executor's own work\n",
      runs.size(), run_ns / 1e3 / runs_n, node_ns / 1e3 / runs_n,
      runs.empty() ? 0 : static_cast<int>(runs.front().nodes.size()), share(node_ns));
  // GFLOP/s: FLOPs per nanosecond (a traced run's timers slow it a little).
  auto gflops = [](int64_t f, int64_t ns) {
    return f > 0 && ns > 0 ? absl::StrFormat("%.2f", static_cast<double>(f) / ns) : "-";
  };
  if (flops > 0) {
    absl::StrAppendFormat(&out, "%.4f GFLOP per run (convolutions and products), %s GFLOP/s\n",
                          flops / 1e9 / runs_n, gflops(flops, run_ns));
  }
  absl::StrAppendFormat(&out, "%-28s %8s %12s %7s %8s\n", "op", "nodes", "us per run", "share",
                        "GFLOP/s");
  for (const Total& t : Sorted(std::move(by_op))) {
    absl::StrAppendFormat(&out, "%-28s %8.0f %12.2f %6.1f%% %8s\n", t.name, t.calls / runs_n,
                          t.ns / 1e3 / runs_n, share(t.ns), gflops(t.flops, t.ns));
  }
  std::vector<Total> nodes = Sorted(std::move(by_node));
  if (top_nodes > 0 && !nodes.empty()) {
    absl::StrAppendFormat(&out, "%-40s %-20s %12s %7s\n", "slowest nodes", "op", "us per run",
                          "share");
    for (int i = 0; i < std::min<int>(top_nodes, nodes.size()); ++i) {
      absl::StrAppendFormat(&out, "%-40s %-20s %12.2f %6.1f%%\n", nodes[i].name, nodes[i].op,
                            nodes[i].ns / 1e3 / runs_n, share(nodes[i].ns));
    }
  }
  return out;
}

std::string ChromeTraceJson(absl::Span<const RunMetadata> runs) {
  std::string out = "{\"traceEvents\":[";
  const int64_t origin = runs.empty() ? 0 : runs.front().start_unix_ns;
  bool first = true;
  auto event = [&](absl::string_view name, absl::string_view cat, int tid, int64_t start_ns,
                   int64_t dur_ns) {
    absl::StrAppendFormat(&out, "%s\n{\"name\":%s,\"cat\":%s,\"ph\":\"X\",\"pid\":1,\"tid\":%d,"
                          "\"ts\":%.3f,\"dur\":%.3f}",
                          first ? "" : ",", Quoted(name), Quoted(cat), tid, start_ns / 1e3,
                          dur_ns / 1e3);
    first = false;
  };
  for (size_t r = 0; r < runs.size(); ++r) {
    const int64_t base = runs[r].start_unix_ns - origin;
    event(absl::StrCat("Session::Run ", r + 1), "run", 1, base, runs[r].duration_ns);
    for (const NodeExecStats& n : runs[r].nodes) {
      event(n.node, n.op, 2, base + n.start_ns, n.end_ns - n.start_ns);
    }
  }
  out += "\n],\"displayTimeUnit\":\"ns\"}\n";
  return out;
}

absl::Status WriteChromeTrace(absl::Span<const RunMetadata> runs, const std::string& path) {
  return WriteFileAtomically(path, ChromeTraceJson(runs));
}

}  // namespace dflow
