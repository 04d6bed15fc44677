#include "bench/report.h"

#include <cstring>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace dflow {
namespace bench {

void CollectingReporter::ReportRuns(const std::vector<Run>& runs) {
  ConsoleReporter::ReportRuns(runs);
  for (const Run& run : runs) {
    if (run.error_occurred) continue;
    std::string key = run.run_name.function_name;
    if (!run.run_name.args.empty()) absl::StrAppend(&key, "/", run.run_name.args);
    if (run.threads > 1) absl::StrAppend(&key, "/", run.run_name.threads);
    const double seconds =
        run.GetAdjustedRealTime() / benchmark::GetTimeUnitMultiplier(run.time_unit);
    if (run.run_type == Run::RT_Aggregate) {
      if (run.aggregate_name == "median") medians_[key] = seconds;
    } else if (!medians_.count(key)) {
      singles_[key] = seconds;  // Used when there are no repetitions.
    }
  }
}

double CollectingReporter::Seconds(const std::string& key) const {
  auto it = medians_.find(key);
  if (it != medians_.end()) return it->second;
  it = singles_.find(key);
  return it != singles_.end() ? it->second : -1;
}

bool InitializeBenchmark(int* argc, char** argv, absl::Span<const Flag> flags) {
  int kept = 1;
  for (int i = 1; i < *argc; ++i) {
    const Flag* match = nullptr;
    for (const Flag& f : flags) {
      const size_t n = std::strlen(f.name);
      const bool prefix = n > 0 && f.name[n - 1] == '=';
      if (prefix ? std::strncmp(argv[i], f.name, n) == 0 : std::strcmp(argv[i], f.name) == 0) {
        match = &f;
        f.set(argv[i] + n);
        break;
      }
    }
    if (match == nullptr) argv[kept++] = argv[i];
  }
  *argc = kept;
  benchmark::Initialize(argc, argv);
  return !benchmark::ReportUnrecognizedArguments(*argc, argv);
}

Flag ReportFlag(bool* report) {
  return {"--dflow_report", [report](const char*) { *report = true; }};
}

std::optional<ReportStart> StartReportOnlyBenchmark(int* argc, char** argv) {
  ReportStart start;
  if (!InitializeBenchmark(argc, argv, {ReportFlag(&start.report)})) return std::nullopt;
  start.load_before = LoadAverage();
  return start;
}

void RunBenchmarks(bool report, const std::function<void(const CollectingReporter&)>& print) {
  CollectingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  if (report) print(reporter);
  benchmark::Shutdown();
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return absl::StrCat(a, " ", b, " ", c);
}

std::string FormatTime(double seconds) {
  if (seconds < 0) return "-";
  if (seconds < 1e-6) return absl::StrFormat("%.1f ns", seconds * 1e9);
  if (seconds < 1e-3) return absl::StrFormat("%.2f us", seconds * 1e6);
  if (seconds < 1) return absl::StrFormat("%.3f ms", seconds * 1e3);
  return absl::StrFormat("%.3f s", seconds);
}

}  // namespace bench
}  // namespace dflow
