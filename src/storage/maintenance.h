// StoreMaintenance: the writer-side background thread that keeps a Store tidy and shared state
// fresh, off the proxy's I/O threads:
//   - per-domain totals re-read every `stats_every` (LoadDomainStats) and handed to `on_stats`,
//     for stores other processes also write (PostgreSQL replicas), so /token-stats agrees
//     across replicas;
//   - retention: every `retention_every`, exchanges older than `retention` are deleted in batches
//     of `prune_batch` (one short transaction each, `prune_pause` apart) until none is left.
//
// Everything goes through the Store interface (LoadDomainStats, PruneOlderThan), so it works the
// same over every implementation (docs/storage.md, "Retention").
//
// Thread-safety: Start() and Stop() from the owner's thread; Stop() is idempotent and joins.
// The Store and the callback must outlive Stop(). Store read methods and PruneOlderThan run
// concurrently with the pipeline's WriteBatch (Store contract, storage/store.h).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "storage/store.h"

namespace cn::storage {

struct MaintenanceOptions {
  std::chrono::milliseconds stats_every{0};  // 0: never re-read
  std::chrono::hours retention{0};           // 0: keep everything
  std::chrono::milliseconds retention_every{std::chrono::hours(1)};
  std::int64_t prune_batch = 1000;
  std::chrono::milliseconds prune_pause{50};
};

// Counters since Start().
struct MaintenanceStats {
  std::uint64_t stats_refreshes = 0;
  std::uint64_t stats_failures = 0;
  std::uint64_t pruned = 0;
  std::uint64_t prune_failures = 0;
};

class StoreMaintenance {
 public:
  using StatsFn = std::function<void(const std::vector<DomainStats>&)>;
  StoreMaintenance(Store& store, MaintenanceOptions options, StatsFn on_stats);
  ~StoreMaintenance();  // Stop()
  StoreMaintenance(const StoreMaintenance&) = delete;
  StoreMaintenance& operator=(const StoreMaintenance&) = delete;

  // Starts the thread unless there is nothing to do.
  void Start();
  void Stop();
  MaintenanceStats Stats() const;

  // One retention pass now, on the caller's thread (the `prune` command): batches until none is
  // left or a batch fails. Returns how many exchanges were deleted.
  StatusOr<std::int64_t> PruneNow();

 private:
  void Loop();
  bool Sleep(std::chrono::milliseconds d);  // false when stopping

  Store& store_;
  const MaintenanceOptions options_;
  const StatsFn on_stats_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;   // guarded by mu_
  MaintenanceStats stats_;  // guarded by mu_
  std::thread thread_;      // declared last: joined before the fields above go
};

}  // namespace cn::storage
