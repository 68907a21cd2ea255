// FaultyStore: a Store decorator for fault injection at the storage seam. It forwards every call
// to the wrapped Store unless told to fail or stall:
//   - FailNextWrites(n):   the next n WriteBatch calls fail (then writes pass again);
//   - FailWrites(on):      every WriteBatch fails until FailWrites(false);
//   - FailPings(on):       every Ping fails until FailPings(false);
//   - DelayWrites(d):      every WriteBatch sleeps d before running ("a slow store");
//   - Hold() / Release():  WriteBatch waits at a gate until Release() (a "stuck" store);
//                          WaitUntilHeld() lets a test wait until a writer is parked there.
// Injected failures use `failure_code` (kUnavailable by default: "retry later"). A failed call
// never reaches the wrapped store, so it commits nothing.
// Every other Store method (reads by id, counts, retention, replica sharing) is forwarded as is;
// conversation linking keeps the Store defaults (it fails, so the recorder starts empty).
//
// Thread-safety: every method may be called from any thread (the test thread configures faults
// while the pipeline's writer calls WriteBatch/Ping). The wrapped Store must outlive it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "storage/store.h"

namespace cn::testing {

class FaultyStore final : public Store {
 public:
  explicit FaultyStore(Store& inner) : inner_(inner) {}

  void FailNextWrites(int n) {
    std::lock_guard lk(mu_);
    fail_next_writes_ = n;
  }
  void FailWrites(bool on) {
    std::lock_guard lk(mu_);
    fail_writes_ = on;
  }
  void FailPings(bool on) {
    std::lock_guard lk(mu_);
    fail_pings_ = on;
  }
  // Convenience: the database is "down" (writes and pings fail) or "up".
  void SetDown(bool down) {
    std::lock_guard lk(mu_);
    fail_writes_ = down;
    fail_pings_ = down;
  }
  void SetFailureCode(StatusCode code) {
    std::lock_guard lk(mu_);
    failure_code_ = code;
  }
  void DelayWrites(std::chrono::milliseconds d) {
    std::lock_guard lk(mu_);
    delay_ = d;
  }
  void Hold() {
    std::lock_guard lk(mu_);
    held_ = true;
  }
  void Release() {
    {
      std::lock_guard lk(mu_);
      held_ = false;
    }
    cv_.notify_all();
  }
  // True once a WriteBatch call is parked at the Hold() gate (false on timeout).
  bool WaitUntilHeld(std::chrono::milliseconds timeout) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, timeout, [this] { return parked_ > 0; });
  }

  std::size_t write_calls() const {
    std::lock_guard lk(mu_);
    return write_calls_;
  }
  std::size_t failed_writes() const {
    std::lock_guard lk(mu_);
    return failed_writes_;
  }
  std::size_t completed_writes() const {  // calls that reached the wrapped store and returned
    std::lock_guard lk(mu_);
    return completed_writes_;
  }
  std::size_t ping_calls() const {
    std::lock_guard lk(mu_);
    return ping_calls_;
  }

  // ---- Store ----
  std::string_view Kind() const override { return inner_.Kind(); }
  Status Migrate() override { return inner_.Migrate(); }

  Status WriteBatch(std::span<const Record> records) override {
    {
      std::unique_lock lk(mu_);
      ++write_calls_;
      if (held_) {
        ++parked_;
        cv_.notify_all();
        cv_.wait(lk, [this] { return !held_; });
        --parked_;
      }
      if (delay_.count() > 0) {
        // A simulated slow database (mu_ is released meanwhile), not synchronisation.
        cv_.wait_for(lk, delay_, [] { return false; });
      }
      if (fail_writes_ || fail_next_writes_ > 0) {
        if (fail_next_writes_ > 0) --fail_next_writes_;
        ++failed_writes_;
        return Injected(failure_code_, "injected WriteBatch failure");
      }
    }
    Status st = inner_.WriteBatch(records);
    std::lock_guard lk(mu_);
    ++completed_writes_;
    return st;
  }

  Status Ping() override {
    {
      std::lock_guard lk(mu_);
      ++ping_calls_;
      if (fail_pings_) return Injected(failure_code_, "injected Ping failure");
    }
    return inner_.Ping();
  }

  StatusOr<std::vector<DomainStats>> LoadDomainStats() override { return inner_.LoadDomainStats(); }
  StatusOr<std::optional<Record>> GetRecord(std::string_view request_id) override {
    return inner_.GetRecord(request_id);
  }
  StatusOr<std::int64_t> CountRecords() override { return inner_.CountRecords(); }
  StatusOr<std::int64_t> PruneOlderThan(std::int64_t cutoff_unix_micros,
                                        std::int64_t max_rows) override {
    return inner_.PruneOlderThan(cutoff_unix_micros, max_rows);
  }
  bool SharedByReplicas() const override { return inner_.SharedByReplicas(); }

 private:
  static Status Injected(StatusCode code, std::string message) {
    switch (code) {
      case StatusCode::kInvalidArgument:
        return Status::InvalidArgument(std::move(message));
      case StatusCode::kNotFound:
        return Status::NotFound(std::move(message));
      case StatusCode::kIoError:
        return Status::IoError(std::move(message));
      case StatusCode::kCorruption:
        return Status::Corruption(std::move(message));
      case StatusCode::kInternal:
        return Status::Internal(std::move(message));
      case StatusCode::kOk:
      case StatusCode::kUnavailable:
        break;
    }
    return Status::Unavailable(std::move(message));
  }

  Store& inner_;
  mutable std::mutex mu_;
  std::condition_variable cv_;                          // Hold/Release gate and WaitUntilHeld
  int fail_next_writes_ = 0;                            // GUARDED_BY(mu_)
  bool fail_writes_ = false;                            // GUARDED_BY(mu_)
  bool fail_pings_ = false;                             // GUARDED_BY(mu_)
  bool held_ = false;                                   // GUARDED_BY(mu_)
  int parked_ = 0;                                      // GUARDED_BY(mu_)
  std::chrono::milliseconds delay_{0};                  // GUARDED_BY(mu_)
  StatusCode failure_code_ = StatusCode::kUnavailable;  // GUARDED_BY(mu_)
  std::size_t write_calls_ = 0, failed_writes_ = 0, completed_writes_ = 0, ping_calls_ = 0;
};

}  // namespace cn::testing
