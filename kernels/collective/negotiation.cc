#include "kernels/collective/negotiation.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace dflow {
namespace {

// ---- A little-endian wire format: int64s and length-prefixed strings.

class Writer {
 public:
  void Int(int64_t v) { out_.append(reinterpret_cast<const char*>(&v), sizeof(v)); }
  void Str(absl::string_view s) {
    Int(static_cast<int64_t>(s.size()));
    out_.append(s.data(), s.size());
  }
  void Ints(const std::vector<int64_t>& v) {
    Int(static_cast<int64_t>(v.size()));
    for (int64_t x : v) Int(x);
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(absl::string_view in) : in_(in) {}
  bool Int(int64_t* v) {
    if (in_.size() < sizeof(*v)) return false;
    std::memcpy(v, in_.data(), sizeof(*v));
    in_.remove_prefix(sizeof(*v));
    return true;
  }
  bool Str(std::string* s) {
    int64_t n = 0;
    if (!Int(&n) || n < 0 || static_cast<uint64_t>(n) > in_.size()) return false;
    s->assign(in_.data(), n);
    in_.remove_prefix(n);
    return true;
  }
  bool Ints(std::vector<int64_t>* v) {
    int64_t n = 0;
    if (!Int(&n) || n < 0 || static_cast<uint64_t>(n) > in_.size() / sizeof(int64_t)) return false;
    v->resize(n);
    for (int64_t& x : *v) {
      if (!Int(&x)) return false;
    }
    return true;
  }
  // A count of items at least `min_bytes` each.
  bool Count(int64_t* n, size_t min_bytes) {
    return Int(n) && *n >= 0 && static_cast<uint64_t>(*n) <= in_.size() / min_bytes;
  }
  bool done() const { return in_.empty(); }

 private:
  absl::string_view in_;
};

absl::Status Corrupt(const char* what) {
  return absl::DataLossError(absl::StrCat("a corrupt ", what, " between ranks"));
}

std::string RankList(const std::vector<int>& ranks) {
  return absl::StrCat(ranks.size() == 1 ? "rank " : "ranks ", absl::StrJoin(ranks, ", "));
}

std::string ShapeString(const std::vector<int64_t>& dims) {
  return absl::StrCat("[", absl::StrJoin(dims, ","), "]");
}

absl::Status EnvSeconds(const char* name, absl::Duration* out) {
  const char* env = std::getenv(name);
  if (env == nullptr) return absl::OkStatus();
  double v = 0;
  if (!absl::SimpleAtod(env, &v) || v <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, "=", env, " is not a positive number of seconds"));
  }
  *out = absl::Seconds(v);
  return absl::OkStatus();
}

}  // namespace

int64_t RequestBytes(const CollectiveRequest& r) {
  int64_t n = DataTypeSize(r.dtype);
  for (int64_t d : r.dims) n *= d;
  return n;
}

int64_t WireReduceOp(int64_t reduce_op) { return reduce_op == 0 ? 1 : reduce_op; }

const char* CollectiveOpName(CollectiveKind kind) {
  switch (kind) {
    case CollectiveKind::kAllreduce: return "HorovodAllreduce";
    case CollectiveKind::kBroadcast: return "HorovodBroadcast";
    case CollectiveKind::kAllgather: return "HorovodAllgather";
  }
  return "an unknown collective";
}

std::string SerializeCycleMessage(const CycleMessage& message) {
  Writer w;
  w.Int(message.shutdown ? 1 : 0);
  w.Int(static_cast<int64_t>(message.requests.size()));
  for (const CollectiveRequest& r : message.requests) {
    w.Str(r.name);
    w.Int(static_cast<int64_t>(r.kind));
    w.Int(r.dtype);
    w.Ints(r.dims);
    w.Int(r.attr);
    w.Str(r.error);
  }
  return w.Take();
}

absl::StatusOr<CycleMessage> ParseCycleMessage(absl::string_view bytes) {
  Reader in(bytes);
  CycleMessage m;
  int64_t shutdown = 0, n = 0;
  if (!in.Int(&shutdown) || !in.Count(&n, 6 * sizeof(int64_t))) return Corrupt("message");
  m.shutdown = shutdown != 0;
  m.requests.resize(n);
  for (CollectiveRequest& r : m.requests) {
    int64_t kind = 0, dtype = 0;
    if (!in.Str(&r.name) || !in.Int(&kind) || !in.Int(&dtype) || !in.Ints(&r.dims) ||
        !in.Int(&r.attr) || !in.Str(&r.error)) {
      return Corrupt("message");
    }
    r.kind = static_cast<CollectiveKind>(kind);
    r.dtype = static_cast<DataType>(dtype);
  }
  if (!in.done()) return Corrupt("message");
  return m;
}

std::string SerializeCycleResponse(const CycleResponse& response) {
  Writer w;
  w.Str(response.fatal);
  w.Int(static_cast<int64_t>(response.actions.size()));
  for (const CollectiveAction& a : response.actions) {
    w.Int(static_cast<int64_t>(a.names.size()));
    for (const std::string& name : a.names) w.Str(name);
    w.Int(static_cast<int64_t>(a.kind));
    w.Int(static_cast<int64_t>(a.error_code));
    w.Str(a.error);
    w.Ints(a.dim0s);
  }
  return w.Take();
}

absl::StatusOr<CycleResponse> ParseCycleResponse(absl::string_view bytes) {
  Reader in(bytes);
  CycleResponse r;
  int64_t n = 0;
  if (!in.Str(&r.fatal) || !in.Count(&n, 5 * sizeof(int64_t))) return Corrupt("response");
  r.actions.resize(n);
  for (CollectiveAction& a : r.actions) {
    int64_t names = 0, kind = 0, code = 0;
    if (!in.Count(&names, sizeof(int64_t))) return Corrupt("response");
    a.names.resize(names);
    for (std::string& name : a.names) {
      if (!in.Str(&name)) return Corrupt("response");
    }
    if (!in.Int(&kind) || !in.Int(&code) || !in.Str(&a.error) || !in.Ints(&a.dim0s)) {
      return Corrupt("response");
    }
    a.kind = static_cast<CollectiveKind>(kind);
    a.error_code = static_cast<absl::StatusCode>(code);
  }
  if (!in.done()) return Corrupt("response");
  return r;
}

absl::StatusOr<CoordinatorOptions> CoordinatorOptions::FromEnv() {
  CoordinatorOptions o;
  absl::Status s = EnvSeconds("HOROVOD_STALL_CHECK_TIME_SECONDS", &o.stall_check);
  if (s.ok()) s = EnvSeconds("HOROVOD_STALL_SHUTDOWN_TIME_SECONDS", &o.stall_shutdown);
  if (!s.ok()) return s;
  if (const char* env = std::getenv("HOROVOD_FUSION_THRESHOLD")) {
    if (!absl::SimpleAtoi(env, &o.fusion_threshold) || o.fusion_threshold < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "HOROVOD_FUSION_THRESHOLD=", env, " is not a number of bytes (0 turns fusion off)"));
    }
  }
  if (const char* env = std::getenv("HOROVOD_CYCLE_TIME")) {
    double ms = 0;
    if (!absl::SimpleAtod(env, &ms) || ms <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("HOROVOD_CYCLE_TIME=", env, " is not a positive number of milliseconds"));
    }
    o.cycle = absl::Milliseconds(ms);
  }
  if (const char* env = std::getenv("HOROVOD_CACHE_CAPACITY")) {
    if (!absl::SimpleAtoi(env, &o.cache_capacity) || o.cache_capacity < 0 ||
        o.cache_capacity > (1 << 20)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "HOROVOD_CACHE_CAPACITY=", env, " is not a number of entries in [0, 1048576] (0 turns "
          "the response cache off)"));
    }
  }
  return o;
}

Coordinator::Coordinator(int size, const CoordinatorOptions& options)
    : size_(size), options_(options), shut_down_(size, false) {}

void Coordinator::Add(int rank, const CycleMessage& message, absl::Time now) {
  if (message.shutdown) shut_down_[rank] = true;
  for (const CollectiveRequest& r : message.requests) {
    Entry& e = table_[r.name];
    if (e.have.empty()) {
      e.have.assign(size_, false);
      e.requests.resize(size_);
      e.first_seen = now;
    }
    if (e.have[rank]) continue;  // A second submission of a pending name waits its turn.
    e.have[rank] = true;
    e.requests[rank] = r;
    if (++e.count == size_) e.order = next_order_++;
  }
}

absl::Status Coordinator::Check(const Entry& e) const {
  for (int r = 0; r < size_; ++r) {
    if (!e.requests[r].error.empty()) {
      return absl::AbortedError(absl::StrCat("rank ", r, " failed at this collective: ",
                                             e.requests[r].error));
    }
  }
  const CollectiveRequest& first = e.requests[0];
  for (int r = 1; r < size_; ++r) {
    const CollectiveRequest& h = e.requests[r];
    if (h.kind != first.kind) {
      return absl::FailedPreconditionError(
          absl::StrCat("rank ", r, " ran it as ", CollectiveOpName(h.kind), " but rank 0 as ",
                       CollectiveOpName(first.kind)));
    }
    if (h.dtype != first.dtype) {
      return absl::InvalidArgumentError(
          absl::StrCat("rank ", r, "'s tensor is ", DataTypeString(h.dtype),
                       " but rank 0's is ", DataTypeString(first.dtype)));
    }
    const bool gather = first.kind == CollectiveKind::kAllgather;
    const bool same = gather ? h.dims.size() == first.dims.size() &&
                                   std::equal(h.dims.begin() + std::min<size_t>(1, h.dims.size()),
                                              h.dims.end(),
                                              first.dims.begin() +
                                                  std::min<size_t>(1, first.dims.size()))
                             : h.dims == first.dims;
    if (!same) {
      return absl::InvalidArgumentError(absl::StrCat(
          "rank ", r, "'s tensor (shape ", ShapeString(h.dims), ") does not match rank 0's (shape ",
          ShapeString(first.dims), ")",
          gather ? "; only dimension 0 may differ" : "; shapes must be equal"));
    }
    if (h.attr != first.attr) {
      return absl::InvalidArgumentError(
          absl::StrCat("rank ", r, " has ",
                       first.kind == CollectiveKind::kBroadcast ? "root_rank " : "reduce_op ",
                       h.attr, " but rank 0 has ", first.attr));
    }
  }
  return absl::OkStatus();
}

CycleResponse Coordinator::Decide(absl::Time now, std::vector<std::string>* warnings) {
  CycleResponse response;
  std::vector<std::pair<int64_t, std::string>> ready;
  for (auto it = table_.begin(); it != table_.end();) {
    Entry& e = it->second;
    const std::string& name = it->first;
    if (e.count == size_) {
      ready.emplace_back(e.order, name);
      ++it;
      continue;
    }
    std::vector<int> missing, present, ended;
    for (int r = 0; r < size_; ++r) {
      (e.have[r] ? present : missing).push_back(r);
      if (!e.have[r] && shut_down_[r]) ended.push_back(r);
    }
    const CollectiveKind kind = e.requests[present[0]].kind;
    const std::string what = absl::StrCat(CollectiveOpName(kind), " '", name, "': ");
    CollectiveAction fail;
    fail.names = {name};
    fail.kind = kind;
    if (!ended.empty()) {
      fail.error_code = absl::StatusCode::kAborted;
      fail.error = absl::StrCat(what, RankList(ended),
                                " shut down (its program ended or failed) before reaching it");
    } else if (now - e.first_seen >= options_.stall_shutdown) {
      fail.error_code = absl::StatusCode::kDeadlineExceeded;
      fail.error = absl::StrCat(what, RankList(missing), " did not reach it within ",
                                absl::FormatDuration(options_.stall_shutdown),
                                " (HOROVOD_STALL_SHUTDOWN_TIME_SECONDS); ", RankList(present),
                                " did: a rank failed earlier, is stuck, or runs other "
                                "collectives");
    } else {
      if (now - e.first_seen >= options_.stall_check &&
          now - e.last_warned >= options_.stall_check) {
        e.last_warned = now;
        warnings->push_back(absl::StrCat(
            "stall: ", what, RankList(present), " waiting for ", RankList(missing), " for ",
            absl::FormatDuration(absl::Trunc(now - e.first_seen, absl::Seconds(1))),
            " (error after ", absl::FormatDuration(options_.stall_shutdown),
            ", HOROVOD_STALL_SHUTDOWN_TIME_SECONDS)"));
      }
      ++it;
      continue;
    }
    response.actions.push_back(std::move(fail));
    it = table_.erase(it);
  }
  std::sort(ready.begin(), ready.end());
  // Open fusion groups: (dtype, wire op) -> index of its action in response.actions.
  std::map<std::pair<int64_t, int64_t>, size_t> open;
  std::vector<int64_t> group_bytes(response.actions.size() + ready.size(), 0);
  for (const auto& [order, name] : ready) {
    const Entry& e = table_.at(name);
    const CollectiveRequest& first = e.requests[0];
    CollectiveAction action;
    action.names = {name};
    action.kind = first.kind;
    const absl::Status s = Check(e);
    if (!s.ok()) {
      action.error_code = s.code();
      action.error =
          absl::StrCat(CollectiveOpName(first.kind), " '", name, "': ", s.message());
    } else if (first.kind == CollectiveKind::kAllgather) {
      for (int r = 0; r < size_; ++r) action.dim0s.push_back(e.requests[r].dims[0]);
    } else if (first.kind == CollectiveKind::kAllreduce) {
      const std::pair<int64_t, int64_t> key(first.dtype, WireReduceOp(first.attr));
      const int64_t bytes = RequestBytes(first);
      auto group = open.find(key);
      if (group != open.end() &&
          group_bytes[group->second] + bytes <= options_.fusion_threshold) {
        response.actions[group->second].names.push_back(name);
        group_bytes[group->second] += bytes;
        table_.erase(name);
        continue;
      }
      open[key] = response.actions.size();
      group_bytes[response.actions.size()] = bytes;
    }
    response.actions.push_back(std::move(action));
    table_.erase(name);
  }
  return response;
}

}  // namespace dflow
