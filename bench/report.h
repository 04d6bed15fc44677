// What the benchmark binaries share to print their tables: medians by benchmark name, the load
// average, times in readable units.
#ifndef DFLOW_BENCH_REPORT_H_
#define DFLOW_BENCH_REPORT_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "benchmark/benchmark.h"

namespace dflow {
namespace bench {

// Console output as usual, plus the real time per iteration of each benchmark (the median when
// repeated), by "<function>[/<args>][/threads:N]". For a benchmark run from N threads that is
// the wall time divided by all threads' iterations, i.e. 1 / throughput.
class CollectingReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override;
  // Seconds per iteration, or a negative number when `key` did not run.
  double Seconds(const std::string& key) const;

 private:
  std::map<std::string, double> medians_, singles_;
};

// A flag of the binary's own: `name` exactly ("--dflow_report"), or a prefix ending in '='
// ("--burn_seconds=") whose value `set` receives ("" for an exact name).
struct Flag {
  const char* name;
  std::function<void(const char* value)> set;
};

// Takes `flags` out of argv and initializes Google Benchmark with the rest; false when an
// argument is neither (Google Benchmark prints it).
bool InitializeBenchmark(int* argc, char** argv, absl::Span<const Flag> flags);
// --dflow_report, which sets *report.
Flag ReportFlag(bool* report);

// What a binary whose only flag of its own is --dflow_report knows as it starts.
struct ReportStart {
  bool report = false;      // --dflow_report was given.
  std::string load_before;  // The load average before any benchmark ran.
};
// Main's first step for such a binary: InitializeBenchmark with ReportFlag, then LoadAverage;
// nullopt when an argument is unknown.
std::optional<ReportStart> StartReportOnlyBenchmark(int* argc, char** argv);

// Main's last step: runs the registered benchmarks into a CollectingReporter, passes it to
// `print` when `report` is set, and shuts Google Benchmark down.
void RunBenchmarks(bool report, const std::function<void(const CollectingReporter&)>& print);

// /proc/loadavg's three averages.
std::string LoadAverage();

// "12.3 ns", "4.56 us", "7.890 ms" or "1.234 s"; "-" for a negative time.
std::string FormatTime(double seconds);

}  // namespace bench
}  // namespace dflow

#endif  // DFLOW_BENCH_REPORT_H_
