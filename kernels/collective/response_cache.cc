#include "kernels/collective/response_cache.h"

#include <utility>

namespace dflow {

bool BitSet::Any() const {
  for (uint64_t w : words_) {
    if (w != 0) return true;
  }
  return false;
}

std::vector<int> BitSet::Bits() const {
  std::vector<int> bits;
  for (size_t i = 0; i < words_.size(); ++i) {
    for (uint64_t w = words_[i]; w != 0; w &= w - 1) {
      bits.push_back(static_cast<int>(i * 64) + __builtin_ctzll(w));
    }
  }
  return bits;
}

ResponseCache::Lookup ResponseCache::Find(const CollectiveRequest& request, int* bit) const {
  auto it = by_name_.find(request.name);
  if (it == by_name_.end()) return Lookup::kMiss;
  *bit = it->second;
  const CollectiveRequest& cached = *slots_[it->second];
  const bool same = request.error.empty() && cached.kind == request.kind &&
                    cached.dtype == request.dtype && cached.dims == request.dims &&
                    cached.attr == request.attr;
  return same ? Lookup::kHit : Lookup::kChanged;
}

void ResponseCache::Insert(const CollectiveRequest& request) {
  if (request.kind == CollectiveKind::kAllgather || !request.error.empty() ||
      by_name_.count(request.name) > 0 || size() >= capacity_) {
    return;
  }
  int bit = 0;
  while (bit < static_cast<int>(slots_.size()) && slots_[bit]) ++bit;
  if (bit == static_cast<int>(slots_.size())) slots_.emplace_back();
  slots_[bit] = request;
  by_name_[request.name] = bit;
}

void ResponseCache::Erase(int bit) {
  if (!has(bit)) return;
  by_name_.erase(slots_[bit]->name);
  slots_[bit].reset();
}

void ResponseCache::Clear() {
  slots_.clear();
  by_name_.clear();
}

std::vector<CollectiveAction> ResponseCache::Actions(const BitSet& bits,
                                                     int64_t fusion_threshold) const {
  std::vector<CollectiveAction> actions;
  std::vector<int64_t> group_bytes;
  // Open fusion groups: (dtype, wire op) -> index in `actions`.
  std::map<std::pair<int64_t, int64_t>, size_t> open;
  for (int bit : bits.Bits()) {
    if (!has(bit)) continue;
    const CollectiveRequest& r = *slots_[bit];
    if (r.kind == CollectiveKind::kAllreduce) {
      const std::pair<int64_t, int64_t> key(r.dtype, WireReduceOp(r.attr));
      const int64_t bytes = RequestBytes(r);
      auto group = open.find(key);
      if (group != open.end() && group_bytes[group->second] + bytes <= fusion_threshold) {
        actions[group->second].names.push_back(r.name);
        group_bytes[group->second] += bytes;
        continue;
      }
      open[key] = actions.size();
      group_bytes.push_back(bytes);
    } else {
      group_bytes.push_back(0);
    }
    CollectiveAction action;
    action.names = {r.name};
    action.kind = r.kind;
    actions.push_back(std::move(action));
  }
  return actions;
}

std::vector<uint64_t> ControlVector::Encode() const {
  const size_t n = hits.words().size();
  std::vector<uint64_t> out;
  out.reserve(1 + 3 * n);
  out.push_back((need_negotiation ? 0 : 1) | (shutdown ? 0 : 2));
  for (uint64_t w : hits.words()) out.push_back(w);
  for (uint64_t w : hits.words()) out.push_back(~w);
  for (uint64_t w : invalid.words()) out.push_back(~w);
  return out;
}

ControlResult ControlResult::Decode(const std::vector<uint64_t>& anded, int words) {
  ControlResult r;
  r.all_hits = BitSet(words);
  r.any_hits = BitSet(words);
  r.any_invalid = BitSet(words);
  r.any_negotiation = (anded[0] & 1) == 0;
  r.any_shutdown = (anded[0] & 2) == 0;
  for (int i = 0; i < words; ++i) {
    r.all_hits.words()[i] = anded[1 + i];
    r.any_hits.words()[i] = ~anded[1 + words + i];
    r.any_invalid.words()[i] = ~anded[1 + 2 * words + i];
  }
  return r;
}

std::vector<int> PartialHits::Update(const ControlResult& result, absl::Time now,
                                     absl::Duration after) {
  std::vector<int> stalled;
  std::map<int, absl::Time> still;
  for (int bit : result.any_hits.Bits()) {
    if (result.all_hits.Get(bit) || result.any_invalid.Get(bit)) continue;
    auto it = since_.find(bit);
    const absl::Time since = it == since_.end() ? now : it->second;
    still[bit] = since;
    if (now - since >= after) stalled.push_back(bit);
  }
  since_ = std::move(still);
  return stalled;
}

}  // namespace dflow
