#include "storage/maintenance.h"

#include <algorithm>
#include <utility>

#include "common/log.h"
#include "common/thread.h"
#include "common/time.h"

namespace cn::storage {

StoreMaintenance::StoreMaintenance(Store& store, MaintenanceOptions options, StatsFn on_stats)
    : store_(store), options_(options), on_stats_(std::move(on_stats)) {}

StoreMaintenance::~StoreMaintenance() { Stop(); }

void StoreMaintenance::Start() {
  const bool stats = options_.stats_every.count() > 0 && on_stats_;
  const bool retention = options_.retention.count() > 0;
  if (!stats && !retention) return;
  thread_ = std::thread([this] { Loop(); });
}

void StoreMaintenance::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

MaintenanceStats StoreMaintenance::Stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

bool StoreMaintenance::Sleep(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return stopping_; });
}

StatusOr<std::int64_t> StoreMaintenance::PruneNow() {
  const std::int64_t cutoff =
      NowUnixMicros() -
      std::chrono::duration_cast<std::chrono::microseconds>(options_.retention).count();
  std::int64_t total = 0;
  while (true) {
    auto n = store_.PruneOlderThan(cutoff, options_.prune_batch);
    if (!n.ok()) {
      std::lock_guard lock(mu_);
      ++stats_.prune_failures;
      return n.status();
    }
    total += *n;
    {
      std::lock_guard lock(mu_);
      stats_.pruned += static_cast<std::uint64_t>(*n);
      if (stopping_) break;
    }
    if (*n <= 0 || *n < options_.prune_batch) break;  // <= 0: never spin on a batch of 0
    // A pause between batches leaves the database to the writers.
    if (thread_.get_id() == std::this_thread::get_id() && !Sleep(options_.prune_pause)) break;
  }
  return total;
}

void StoreMaintenance::Loop() {
  SetThreadName("cn-maintenance");
  using Clock = std::chrono::steady_clock;
  const bool stats = options_.stats_every.count() > 0 && on_stats_;
  const bool retention = options_.retention.count() > 0;
  Clock::time_point next_stats = Clock::now() + options_.stats_every;
  Clock::time_point next_prune = Clock::now();  // first pass right after start-up
  while (true) {
    const Clock::time_point now = Clock::now();
    if (stats && now >= next_stats) {
      auto loaded = store_.LoadDomainStats();
      std::lock_guard lock(mu_);
      if (loaded.ok()) {
        ++stats_.stats_refreshes;
      } else {
        ++stats_.stats_failures;
      }
      if (loaded.ok()) on_stats_(*loaded);  // under mu_: keeps Stats() consistent; it is quick
      next_stats = now + options_.stats_every;
    }
    if (retention && now >= next_prune) {
      auto pruned = PruneNow();
      if (!pruned.ok()) {
        log::Warn("retention pass failed; retrying later", {{"error", pruned.status().message()}});
      } else if (*pruned > 0) {
        log::Info("retention pass", {{"deleted", *pruned}});
      }
      next_prune = Clock::now() + options_.retention_every;
    }
    Clock::time_point wake = Clock::time_point::max();
    if (stats) wake = std::min(wake, next_stats);
    if (retention) wake = std::min(wake, next_prune);
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(wake - Clock::now());
    if (!Sleep(std::max(wait, std::chrono::milliseconds(1)))) return;
  }
}

}  // namespace cn::storage
