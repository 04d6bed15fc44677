#include "kernels/random_state.h"

#include <algorithm>

namespace dflow {

RandomState::Position RandomState::Next(uint64_t initial_key) {
  absl::MutexLock lock(&mu_);
  if (!position_.has_value()) position_ = Position{initial_key, 0};
  Position now = *position_;
  ++position_->run;
  return now;
}

std::optional<RandomState::Position> RandomState::Get() const {
  absl::MutexLock lock(&mu_);
  return position_;
}

void RandomState::Set(std::optional<Position> position) {
  absl::MutexLock lock(&mu_);
  position_ = position;
}

RandomState* RandomStateStore::LookupOrCreateLocked(const std::string& node_name) {
  std::unique_ptr<RandomState>& slot = states_[node_name];
  if (slot == nullptr) slot = std::make_unique<RandomState>();
  return slot.get();
}

RandomState* RandomStateStore::LookupOrCreate(const std::string& node_name) {
  absl::MutexLock lock(&mu_);
  return LookupOrCreateLocked(node_name);
}

std::vector<std::pair<std::string, RandomState::Position>> RandomStateStore::Snapshot() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::pair<std::string, RandomState::Position>> out;
  for (const auto& [name, state] : states_) {
    std::optional<RandomState::Position> p = state->Get();
    if (p.has_value()) out.emplace_back(name, *p);
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

void RandomStateStore::SetAll(
    absl::Span<const std::pair<std::string, std::optional<RandomState::Position>>> states) {
  absl::MutexLock lock(&mu_);
  for (const auto& [name, position] : states) LookupOrCreateLocked(name)->Set(position);
}

}  // namespace dflow
