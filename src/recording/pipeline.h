// RecordPipeline: the bounded queue between the proxy's hot path and the Store, with one
// batching writer thread, an on-disk spill file for what the store cannot take (yet), and replay.
//
// Thread-safety: Submit() and Stats() may be called from any thread at any time. Start() and
// Shutdown() are called by the owner (recording::Recording), Start() once, before or after the
// first Submit(); Shutdown() is idempotent. The Store and both callbacks must outlive Shutdown().
//
// Threads:
//   - callers of Submit() (the hot path): O(1) under mu_, never any I/O, never waits on the store.
//   - the writer thread: the only caller of Store::WriteBatch(), enrich and on_committed; it
//     batches (LevelDB-style group commit: one transaction per batch), spills while the store
//     is down, probes it, and replays the spill file when it is back.
//   - the spill thread: appends records that found the queue full to the spill file, so the disk
//     writes of an overload never happen on the hot path.
//
// Writer states (writer-owned, mirrored in PipelineStats::store_healthy):
//
//        Start()                 WriteBatch fails (Deliver / ReplayOneBatch)
//       ---------> [healthy] -------------------------------------------> [degraded]
//                     ^  |                                                    |
//                     |  +-- spill pending & queue not behind:                | batches are
//                     spilled; |      ReplayOneBatch() rotates, then replays closed    | Ping()
//                     every backoff |      segments one batch at a time                     |
//                     (retry_min..retry_max,
//                     +------------------- ProbeStore(): Ping ok -------------+  doubling)
//     Shutdown(): either state -> draining (queue drained to the store, or spilled when the
//     store is down or the deadline is near; no replay) -> stopped (threads joined).
//
// Spill file: segments `spill-<seq>.jsonl` in spill_dir, one record_json line per record.
//
// Invariants:
//   1. Every submitted record ends up in exactly one of: the store (written directly), a spill
//      segment (spilled), or the `failed` counter (the spill append itself failed: disk full or
//      broken; logged as an error). Records are never dropped for being slow or many.
//   2. Every spilled record is replayed into the store and its segment deleted only after all of
//      its records are committed; a kill at any point replays the segment again, and
//      Store::WriteBatch's idempotence on request_id makes that harmless.
//   3. At most one segment is open for appending (the active one, seq = active_seq_); replay
//      reads only closed segments (seq < active_seq_). The writer rotates before replaying, so an
//      append and a replay never touch the same file.
//   4. Each append (one batch) is written with one write() and fdatasync()ed before the records are
//      counted as spilled. A kill mid-append leaves at most one torn last line, which replay skips
//      with a warning; lines that do not parse, and records a healthy store rejects as invalid
//      (kInvalidArgument / kCorruption, retried one by one), go to `spill-<seq>.bad`, never
//      silently deleted.
//   5. enrich runs exactly once per record, on the writer thread, before the record is stored or
//      spilled by the writer; records spilled by the spill thread are stored un-enriched
//      (`enriched` = false in the line) and enriched when replayed. The flag travels in the file.
//      (A restart re-enriches such a line if it was read but not committed before the stop.)
//   6. Lock order: spill_mu_ before mu_. Neither is held across Store calls or callbacks; mu_ is
//      never held across I/O.
//
// Loss bound on kill -9: records in memory, i.e. at most queue_capacity (the queue) + batch_size
// (the writer's batch in flight) + the overflow hand-off not yet fsynced by the spill thread
// (what arrived while the queue was full during the last append). Everything counted as spilled
// or written survives.
//
// Ordering: records reach the store in submission order except spilled ones, which arrive later.
// enrich runs on each batch in request-arrival order (timestamp), not submission order: a record
// is submitted when its exchange ended, and a follow-up can be queued before the record it
// continues (EnrichAll; docs/conversations.md "What is guaranteed under concurrency").
// Shutdown hazard: a WriteBatch that never returns blocks Shutdown(); stores bound their own
// waits (busy timeouts, connect timeouts).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "record/record.h"
#include "storage/store.h"

namespace cn::recording {

struct PipelineOptions {
  std::filesystem::path spill_dir;    // <DATA_DIR>/spill
  std::size_t queue_capacity = 4096;  // records held in memory at most (before overflow)
  std::size_t batch_size = 128;       // records per store transaction
  std::chrono::milliseconds flush_interval{100};  // max time a record waits for a batch to fill
  std::chrono::milliseconds retry_min{250};       // store probe backoff while degraded
  std::chrono::milliseconds retry_max{10000};
  std::uint64_t segment_max_bytes = 64ull << 20;  // rotate the active segment past this size
  // Group commit of the spill thread: once overflow starts, it gathers records for up to
  // spill_linger (or until spill_group are waiting) before one append + fdatasync. Under a
  // sustained overload that is ~50 fsyncs a second instead of one per few dozen records.
  std::chrono::milliseconds spill_linger{20};
  std::size_t spill_group = 1024;
  // > 0: the writer thread is background work (SCHED_IDLE, or this nice increment where the
  // kernel refuses SCHED_IDLE), so recording never delays proxying; 0: normal priority.
  int writer_nice = 10;
};

// Counters are totals since Start(); gauges are "now".
struct PipelineStats {
  std::uint64_t submitted = 0;      // accepted by Submit()
  std::uint64_t queued = 0;         // gauge: waiting in memory (queue + overflow hand-off;
                                    // not the batch the writer holds)
  std::uint64_t written = 0;        // records in successful WriteBatch calls (incl. replayed)
  std::uint64_t write_batches = 0;  // successful WriteBatch calls
  std::uint64_t spilled = 0;        // records appended (and fsynced) to the spill file
  std::uint64_t replayed = 0;       // records read back from the spill file and written
  std::uint64_t failed = 0;         // records lost: the spill append failed (must stay 0)
  std::uint64_t quarantined = 0;    // spill lines moved to .bad (corrupt, torn, rejected)
  std::uint64_t rejected_after_shutdown = 0;       // Submit() after Shutdown(): a wiring bug
  std::uint64_t spill_bytes = 0;                   // gauge: bytes in spill segments on disk
  std::uint64_t spill_segments = 0;                // gauge: segment files on disk (closed + active)
  bool store_healthy = true;                       // gauge: false while degraded
  std::chrono::milliseconds oldest_queued_age{0};  // gauge: writer lag
};

class SpillReader;  // pipeline.cc: reads one closed segment batch by batch

class RecordPipeline {
 public:
  using EnrichFn = std::function<void(Record&)>;
  using CommittedFn = std::function<void(std::span<const Record>)>;

  // enrich: called exactly once per record on the writer thread before it is stored or spilled
  //   by the writer (may be empty). The pipeline sets Record::enriched afterwards.
  // on_committed: called on the writer thread after records are durably in the store (may be
  //   empty). A replay after a crash may report a record a second time.
  RecordPipeline(Store& store, PipelineOptions options, EnrichFn enrich, CommittedFn on_committed);
  ~RecordPipeline();  // Shutdown(0ms) if still running: the queue goes to the spill file.
  RecordPipeline(const RecordPipeline&) = delete;
  RecordPipeline& operator=(const RecordPipeline&) = delete;

  // Opens/creates spill_dir and starts the threads; leftover segments from a previous run are
  // replayed once the store accepts writes. Fails (nothing started) when spill_dir is unusable.
  Status Start();

  // Thread-safe, O(1), never blocks on I/O or on the store. After Shutdown() the record is
  // rejected (counted, logged).
  void Submit(Record&& r);

  // Stops accepting; writes everything queued to the store (or to the spill file when the store
  // is down or `deadline` is near) and joins the threads. Idempotent.
  void Shutdown(std::chrono::milliseconds deadline);

  PipelineStats Stats() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Queued {
    Record record;
    Clock::time_point at;
  };
  // What the writer should do after TakeBatch().
  struct Turn {
    bool stopping = false;         // Shutdown() began
    bool queue_empty = false;      // with stopping: nothing left to drain
    bool replay = false;           // idle and healthy with spill pending: replay one batch
    Clock::time_point deadline{};  // with stopping: the shutdown deadline
  };

  void WriterLoop();
  void SpillLoop();
  Turn TakeBatch(std::vector<Record>* batch);
  void EnrichAll(std::span<Record> records);
  void Deliver(std::vector<Record>& batch, const Turn& turn);
  void ProbeStore();
  void ReplayOneBatch();
  bool OpenNextSegment();
  void FinishSegment();
  Status WriteReplayed(std::span<Record> records);
  Status TimedWrite(std::span<const Record> records);
  void Committed(std::span<const Record> records, bool replayed);
  void EnterDegraded(const Status& why);
  // Appends `count` records serialised as `data` (ToLines) to the active segment.
  Status AppendToSpill(const std::string& data, std::size_t count);
  void RotateLocked();  // REQUIRES: spill_mu_ held
  std::filesystem::path SegmentPath(std::uint64_t seq) const;

  Store& store_;
  const PipelineOptions options_;
  const EnrichFn enrich_;
  const CommittedFn on_committed_;

  // Hot-path state.
  mutable std::mutex mu_;
  std::condition_variable writer_cv_;  // queue reached a batch / first record / spill / stop
  std::condition_variable spill_cv_;   // overflow has records / stop
  std::deque<Queued> queue_;           // GUARDED_BY(mu_); size() <= queue_capacity
  std::deque<Record> overflow_;        // GUARDED_BY(mu_); records that found the queue full
  std::size_t overflow_in_flight_ =
      0;                         // GUARDED_BY(mu_); taken by the spill thread, not yet on disk
  bool replay_pending_ = false;  // GUARDED_BY(mu_); spill data may await replay
  bool started_ = false;         // GUARDED_BY(mu_)
  bool stopping_ = false;        // GUARDED_BY(mu_)
  Clock::time_point shutdown_deadline_{};  // GUARDED_BY(mu_); valid once stopping_

  // Spill file (invariant 3). Appends hold spill_mu_ across write+fsync; the hot path never
  // takes it.
  std::mutex spill_mu_;
  int active_fd_ = -1;                // GUARDED_BY(spill_mu_); -1 until the first append
  std::uint64_t active_seq_ = 1;      // GUARDED_BY(spill_mu_)
  std::uint64_t active_bytes_ = 0;    // GUARDED_BY(spill_mu_)
  std::deque<std::uint64_t> closed_;  // GUARDED_BY(spill_mu_); ascending; front is replayed

  // Writer-owned (only the writer thread touches these after Start()).
  bool healthy_ = true;
  std::chrono::milliseconds backoff_;
  Clock::time_point next_probe_{};
  Clock::duration last_write_duration_{};
  std::unique_ptr<SpillReader> reader_;  // open on closed_.front() while replaying it
  std::vector<Record> replay_batch_;     // read and enriched, not yet committed (kept across a
                                         // store outage so enrich never runs twice on it)

  // Counters (PipelineStats).
  std::atomic<std::uint64_t> submitted_{0}, written_{0}, write_batches_{0}, spilled_{0},
      replayed_{0}, failed_{0}, quarantined_{0}, rejected_{0}, spill_bytes_{0}, spill_segments_{0};
  std::atomic<bool> healthy_gauge_{true};

  std::mutex join_mu_;  // serialises the joins of concurrent Shutdown() calls

  // Declared last: they use every field above (userver's rule for background task owners).
  std::thread writer_;
  std::thread spiller_;
};

}  // namespace cn::recording
