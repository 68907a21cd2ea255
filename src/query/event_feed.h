// EventFeed: the live feed behind GET /api/events — one small summary per committed record.
//
// The stores append a row to cn_events (seq, request_id) in the same transaction as each new
// record (docs/storage.md), so the feed sees what any process wrote: SQLite, or every
// PostgreSQL replica. One thread per process polls cn_events through its own reader every
// `poll` (a cheap primary-key range read) and keeps the newest `capacity` summaries in memory;
// SSE sessions read from that ring (no database call on an I/O thread), each at its own
// position. seq is commit order in both stores (SQLite has one writer; PostgreSQL writers hold an
// advisory lock from taking their seqs to COMMIT, docs/storage.md), so each poll reads only the
// seqs above the newest it has.
//
// Thread-safety: After/PositionAfterSeq/end may be called from any thread, concurrently with
// the polling thread; Start/Stop from the owner.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "storage/reader.h"

namespace cn::query {

struct FeedEvent {
  std::int64_t seq = 0;        // cn_events.seq: the SSE event id
  std::uint64_t position = 0;  // this process's arrival order (1, 2, ...)
  std::string json;            // {requestId, timestamp, domain, model, requestType, outcome, ...}
};

class EventFeed {
 public:
  EventFeed(std::unique_ptr<SqlReader> reader, std::chrono::milliseconds poll,
            std::size_t capacity = 2048);
  ~EventFeed();
  EventFeed(const EventFeed&) = delete;
  EventFeed& operator=(const EventFeed&) = delete;

  // Reads the newest seq (the feed starts after it: no history replay) and starts polling.
  Status Start();
  void Stop();

  // Events that arrived after `position` (0: from the oldest kept), at most `max`.
  std::vector<FeedEvent> After(std::uint64_t position, std::size_t max = 256) const;
  // The position to continue from for a client that last saw event id `last_seq`
  // (Last-Event-ID): after that event if it is still kept, else after every kept event with a
  // smaller or equal seq. nullopt: the current end (only new events).
  std::uint64_t PositionAfterSeq(std::optional<std::int64_t> last_seq) const;

  // One poll now (tests; the thread calls it every `poll`). Returns how many events arrived.
  StatusOr<int> PollOnce();

 private:
  void Run();

  std::unique_ptr<SqlReader> reader_;
  const std::chrono::milliseconds poll_;
  const std::size_t capacity_;
  mutable std::mutex mu_;
  std::deque<FeedEvent> ring_;
  std::uint64_t next_position_ = 1;
  std::int64_t max_seq_ = 0;
  std::mutex poll_mu_;  // one poll at a time (thread or PollOnce)
  std::condition_variable stop_cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace cn::query
