#include "recording/pipeline.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <optional>
#include <system_error>
#include <utility>

#include "common/log.h"
#include "common/thread.h"
#include "recording/record_json.h"

namespace cn::recording {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kSegmentPrefix = "spill-";
constexpr std::string_view kSegmentSuffix = ".jsonl";
constexpr std::string_view kBadSuffix = ".bad";
constexpr std::size_t kMaxAppendBytes = 4u << 20;  // the spill thread's largest single append

std::string ErrnoText(int err) { return std::error_code(err, std::generic_category()).message(); }

// "spill-<seq><suffix>" -> seq.
std::optional<std::uint64_t> ParseSegmentName(std::string_view name, std::string_view suffix) {
  if (!name.starts_with(kSegmentPrefix) || !name.ends_with(suffix)) return std::nullopt;
  const std::string_view digits =
      name.substr(kSegmentPrefix.size(), name.size() - kSegmentPrefix.size() - suffix.size());
  std::uint64_t seq = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), seq);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size())
    return std::nullopt;
  return seq;
}

Status WriteAll(int fd, std::string_view data, const fs::path& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IoError("write " + path.string() + ": " + ErrnoText(errno));
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return Status::Ok();
}

// A new directory entry is durable only once the directory itself is fsynced.
void SyncDir(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

// One record_json line per record (invariant 4: appended whole, with one write()).
std::string ToLines(std::span<const Record> records) {
  std::string data;
  for (const Record& r : records) {
    AppendRecordJson(r, data);
    data.push_back('\n');
  }
  return data;
}

// Only these mean "this record can never be written"; every other error is the store's (retry).
bool IsRecordError(const Status& st) {
  return st.code() == StatusCode::kInvalidArgument || st.code() == StatusCode::kCorruption;
}

}  // namespace

// Reads one closed segment (invariant 3: no one appends to it) a batch at a time, collecting the
// lines it cannot use for the segment's .bad file (invariant 4).
// Thread-safety: writer thread only.
class SpillReader {
 public:
  explicit SpillReader(fs::path path) : path_(std::move(path)), in_(path_, std::ios::binary) {
    std::error_code ec;
    size_ = fs::file_size(path_, ec);
    if (ec) size_ = 0;
  }

  bool ok() const { return static_cast<bool>(in_.is_open()); }
  bool eof() const { return eof_; }
  std::uint64_t size() const { return size_; }
  std::uint64_t quarantined() const { return bad_.size(); }

  // Appends up to `n` records to `out`.
  void Next(std::size_t n, std::vector<Record>* out) {
    std::size_t taken = 0;
    while (taken < n && !eof_) {
      if (!std::getline(in_, line_)) {
        eof_ = true;
        break;
      }
      ++line_no_;
      if (in_.eof()) {
        // No '\n' after it: the append was cut (kill -9, power loss) before its fsync returned,
        // so nobody was told these records were safe.
        eof_ = true;
        if (!line_.empty()) Quarantine(line_, LineName(), "torn last line (interrupted append)");
        break;
      }
      if (line_.empty()) continue;
      StatusOr<Record> r = RecordFromJson(line_);
      if (!r.ok()) {
        Quarantine(line_, LineName(), r.status().ToString());
        continue;
      }
      out->push_back(std::move(r).value());
      ++taken;
    }
  }

  // `what` names the line ("line 12") or the record ("request_id ...") for the log.
  void Quarantine(std::string line, std::string_view what, std::string_view why) {
    log::Warn("spill line quarantined",
              {{"segment", path_.filename().string()}, {"what", what}, {"why", why}});
    bad_.push_back(std::move(line));
  }

  // Saves the quarantined lines beside the segment, then deletes the segment. The .bad file is
  // rewritten whole, so finishing the same segment twice (crash before the unlink) is harmless.
  Status Finish() {
    in_.close();
    if (!bad_.empty()) {
      fs::path bad_path = path_;
      bad_path.replace_extension(kBadSuffix);
      std::string data;
      for (const std::string& l : bad_) data.append(l).push_back('\n');
      const int fd = ::open(bad_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd < 0) return Status::IoError("open " + bad_path.string() + ": " + ErrnoText(errno));
      Status st = WriteAll(fd, data, bad_path);
      if (st.ok() && ::fsync(fd) != 0)
        st = Status::IoError("fsync " + bad_path.string() + ": " + ErrnoText(errno));
      ::close(fd);
      if (!st.ok()) return st;
    }
    if (::unlink(path_.c_str()) != 0 && errno != ENOENT) {
      return Status::IoError("unlink " + path_.string() + ": " + ErrnoText(errno));
    }
    return Status::Ok();
  }

 private:
  std::string LineName() const { return "line " + std::to_string(line_no_); }

  fs::path path_;
  std::ifstream in_;
  std::string line_;
  std::uint64_t line_no_ = 0;
  std::uint64_t size_ = 0;
  bool eof_ = false;
  std::vector<std::string> bad_;
};

RecordPipeline::RecordPipeline(Store& store, PipelineOptions options, EnrichFn enrich,
                               CommittedFn on_committed)
    : store_(store),
      options_(std::move(options)),
      enrich_(std::move(enrich)),
      on_committed_(std::move(on_committed)),
      backoff_(options_.retry_min) {}

RecordPipeline::~RecordPipeline() { Shutdown(std::chrono::milliseconds(0)); }

fs::path RecordPipeline::SegmentPath(std::uint64_t seq) const {
  char name[48];
  std::snprintf(name, sizeof name, "spill-%08llu.jsonl", static_cast<unsigned long long>(seq));
  return options_.spill_dir / name;
}

Status RecordPipeline::Start() {
  if (options_.batch_size == 0 || options_.queue_capacity == 0) {
    return Status::InvalidArgument("record pipeline: batch_size and queue_capacity must be > 0");
  }
  if (options_.retry_min.count() <= 0 || options_.retry_max < options_.retry_min) {
    return Status::InvalidArgument("record pipeline: need 0 < retry_min <= retry_max");
  }
  {
    std::lock_guard lk(mu_);
    if (started_ || stopping_) {
      return Status::InvalidArgument("record pipeline: Start() after Start() or Shutdown()");
    }
  }
  const fs::path& dir = options_.spill_dir;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || ::access(dir.c_str(), W_OK | X_OK) != 0) {
    return Status::IoError("cannot use spill directory " + dir.string() + ": " +
                           (ec ? ec.message() : ErrnoText(errno)) +
                           " (set the data directory to a writable place)");
  }
  std::vector<std::uint64_t> leftover;
  std::uint64_t max_seq = 0;
  std::uint64_t bytes = 0;
  // Explicit increment(ec): the range-for form throws on a listing error.
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::directory_entry& e = *it;
    const std::string name = e.path().filename().string();
    if (std::optional<std::uint64_t> seq = ParseSegmentName(name, kSegmentSuffix)) {
      leftover.push_back(*seq);
      std::error_code size_ec;
      bytes += e.file_size(size_ec);
      max_seq = std::max(max_seq, *seq);
    } else if (std::optional<std::uint64_t> bad_seq = ParseSegmentName(name, kBadSuffix)) {
      max_seq = std::max(max_seq, *bad_seq);  // never reuse a seq whose .bad file exists
    }
  }
  if (ec)
    return Status::IoError("cannot list spill directory " + dir.string() + ": " + ec.message());
  std::sort(leftover.begin(), leftover.end());
  {
    std::lock_guard lk(spill_mu_);
    closed_.assign(leftover.begin(), leftover.end());
    active_seq_ = max_seq + 1;
  }
  spill_bytes_ = bytes;
  spill_segments_ = leftover.size();
  if (!leftover.empty()) {
    log::Info("spill segments from a previous run will be replayed",
              {{"segments", static_cast<std::uint64_t>(leftover.size())}, {"bytes", bytes}});
  }
  std::lock_guard lk(mu_);
  replay_pending_ = !leftover.empty();
  started_ = true;
  writer_ = std::thread([this] { WriterLoop(); });
  spiller_ = std::thread([this] { SpillLoop(); });
  return Status::Ok();
}

void RecordPipeline::Submit(Record&& r) {
  const Clock::time_point now = Clock::now();
  std::unique_lock lk(mu_);
  if (stopping_) {
    lk.unlock();
    ++rejected_;
    log::Error("record submitted after the pipeline shut down; dropped",
               {{"request_id", r.request_id}});
    return;
  }
  ++submitted_;
  if (queue_.size() < options_.queue_capacity) {
    // The writer waits without a timeout only on an empty queue, and otherwise needs waking
    // only when a batch is full: one notify per batch, not per record.
    const bool wake = queue_.empty() || queue_.size() + 1 == options_.batch_size;
    queue_.push_back(Queued{std::move(r), now});
    lk.unlock();
    if (wake) writer_cv_.notify_one();
  } else {
    // The spill thread sleeps untimed on an empty overflow, and lingers (timed) on a short one.
    const bool wake = overflow_.empty() || overflow_.size() + 1 == options_.spill_group;
    overflow_.push_back(std::move(r));
    lk.unlock();
    if (wake) spill_cv_.notify_one();
  }
}

void RecordPipeline::Shutdown(std::chrono::milliseconds deadline) {
  bool started = false;
  std::size_t stranded = 0;
  {
    std::lock_guard lk(mu_);
    if (!stopping_) {
      stopping_ = true;
      shutdown_deadline_ = Clock::now() + deadline;
    }
    started = started_;
    if (!started) {
      stranded = queue_.size() + overflow_.size();
      queue_.clear();
      overflow_.clear();
    }
  }
  if (!started) {
    if (stranded > 0) {
      failed_ += stranded;
      log::Error("record pipeline shut down before Start(); queued records dropped",
                 {{"records", static_cast<std::uint64_t>(stranded)}});
    }
    return;
  }
  writer_cv_.notify_all();
  spill_cv_.notify_all();
  // A concurrent second caller waits here until the first has joined both threads.
  std::lock_guard join_lk(join_mu_);
  if (writer_.joinable()) writer_.join();
  if (spiller_.joinable()) spiller_.join();
  std::lock_guard spill_lk(spill_mu_);
  if (active_fd_ >= 0) {
    ::close(active_fd_);  // stays on disk as a leftover segment for the next Start()
    active_fd_ = -1;
  }
}

PipelineStats RecordPipeline::Stats() const {
  PipelineStats s;
  {
    std::lock_guard lk(mu_);
    s.queued = queue_.size() + overflow_.size() + overflow_in_flight_;
    if (!queue_.empty()) {
      s.oldest_queued_age =
          std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - queue_.front().at);
    }
  }
  s.submitted = submitted_;
  s.written = written_;
  s.write_batches = write_batches_;
  s.spilled = spilled_;
  s.replayed = replayed_;
  s.failed = failed_;
  s.quarantined = quarantined_;
  s.rejected_after_shutdown = rejected_;
  s.spill_bytes = spill_bytes_;
  s.spill_segments = spill_segments_;
  s.store_healthy = healthy_gauge_;
  return s;
}

// ---- Writer thread ---------------------------------------------------------------------------

void RecordPipeline::WriterLoop() {
  // Recording is background work: when it competes with the I/O threads for a CPU, they win.
  SetThreadName("cn-writer");
  if (options_.writer_nice > 0) MakeThreadBackground(options_.writer_nice);
  std::vector<Record> batch;
  batch.reserve(options_.batch_size);
  for (;;) {
    batch.clear();
    const Turn turn = TakeBatch(&batch);
    if (!batch.empty()) Deliver(batch, turn);
    if (turn.stopping) {
      if (turn.queue_empty) break;
      continue;
    }
    if (!healthy_ && Clock::now() >= next_probe_) ProbeStore();
    if (healthy_ && turn.replay) ReplayOneBatch();
  }
  // Unfinished replay: its segment stays on disk for the next Start() (invariant 2).
  reader_.reset();
  replay_batch_.clear();
}

RecordPipeline::Turn RecordPipeline::TakeBatch(std::vector<Record>* batch) {
  const auto take = [&] {
    const std::size_t n = std::min(options_.batch_size, queue_.size());
    for (std::size_t i = 0; i < n; ++i) {
      batch->push_back(std::move(queue_.front().record));
      queue_.pop_front();
    }
  };
  std::unique_lock lk(mu_);
  for (;;) {
    Turn turn;
    const Clock::time_point now = Clock::now();
    if (stopping_) {
      take();
      turn.stopping = true;
      turn.queue_empty = queue_.empty();
      turn.deadline = shutdown_deadline_;
      return turn;
    }
    const bool aged = !queue_.empty() && now >= queue_.front().at + options_.flush_interval;
    if (queue_.size() >= options_.batch_size || aged) {
      take();
      return turn;
    }
    // Not behind: a good moment to replay (the queue has priority; spilled records are safe).
    if (healthy_ && replay_pending_) {
      turn.replay = true;
      return turn;
    }
    if (!healthy_ && now >= next_probe_) return turn;
    std::optional<Clock::time_point> wake;
    if (!queue_.empty()) wake = queue_.front().at + options_.flush_interval;
    if (!healthy_) wake = wake ? std::min(*wake, next_probe_) : next_probe_;
    if (wake) {
      writer_cv_.wait_until(lk, *wake);
    } else {
      writer_cv_.wait(lk);
    }
  }
}

void RecordPipeline::EnrichAll(std::span<Record> records) {
  // In arrival order, not queue order: a record is queued when its response has been sent, so a
  // conversation's next request (sent as soon as the client has that response, and maybe served
  // by another I/O thread) can be queued before the record it continues. Linking needs the
  // parent first; a child always arrived after its parent.
  std::vector<std::size_t> order(records.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return records[a].timestamp_unix_micros < records[b].timestamp_unix_micros;
  });
  for (std::size_t i : order) {
    Record& r = records[i];
    if (r.enriched) continue;
    if (enrich_) {
      try {
        enrich_(r);
      } catch (const std::exception& e) {
        // The exchange still gets stored, with whatever derived fields were filled.
        log::Error("record enrichment threw", {{"request_id", r.request_id}, {"what", e.what()}});
      }
    }
    r.enriched = true;
  }
}

Status RecordPipeline::TimedWrite(std::span<const Record> records) {
  const Clock::time_point t0 = Clock::now();
  Status st = store_.WriteBatch(records);
  last_write_duration_ = Clock::now() - t0;
  return st;
}

void RecordPipeline::Deliver(std::vector<Record>& batch, const Turn& turn) {
  EnrichAll(batch);
  // Near the shutdown deadline a store write might not finish in time; a spill append will.
  const bool deadline_near =
      turn.stopping && Clock::now() + 2 * last_write_duration_ >= turn.deadline;
  if (healthy_ && !deadline_near) {
    const Status st = TimedWrite(batch);
    if (st.ok()) {
      Committed(batch, /*replayed=*/false);
      return;
    }
    EnterDegraded(st);
  }
  AppendToSpill(ToLines(batch), batch.size());
}

void RecordPipeline::Committed(std::span<const Record> records, bool replayed) {
  written_ += records.size();
  ++write_batches_;
  if (replayed) replayed_ += records.size();
  backoff_ = options_.retry_min;
  if (!on_committed_) return;
  try {
    on_committed_(records);
  } catch (const std::exception& e) {
    log::Error("on_committed callback threw", {{"what", e.what()}});
  }
}

void RecordPipeline::EnterDegraded(const Status& why) {
  if (healthy_) {
    log::Warn("store write failed; spilling records until it recovers",
              {{"error", why.ToString()}});
  }
  healthy_ = false;
  healthy_gauge_ = false;
  next_probe_ = Clock::now() + backoff_;
  backoff_ = std::min(backoff_ * 2, options_.retry_max);
}

void RecordPipeline::ProbeStore() {
  const Status st = store_.Ping();
  if (!st.ok()) {
    next_probe_ = Clock::now() + backoff_;
    backoff_ = std::min(backoff_ * 2, options_.retry_max);
    return;
  }
  log::Info("store is reachable again; replaying the spill file");
  healthy_ = true;
  healthy_gauge_ = true;
  std::lock_guard lk(mu_);
  replay_pending_ = true;
}

bool RecordPipeline::OpenNextSegment() {
  std::uint64_t seq = 0;
  {
    std::lock_guard spill_lk(spill_mu_);
    if (closed_.empty() && active_fd_ >= 0) RotateLocked();  // invariant 3
    if (closed_.empty()) {
      // Cleared under spill_mu_: an append after this point sets it again (invariant 6 order).
      std::lock_guard lk(mu_);
      replay_pending_ = false;
      return false;
    }
    seq = closed_.front();
  }
  reader_ = std::make_unique<SpillReader>(SegmentPath(seq));
  if (!reader_->ok()) {
    // Left on disk (never deleted unread); the next Start() tries it again.
    log::Error("cannot open spill segment for replay; skipping it until restart",
               {{"segment", SegmentPath(seq).string()}});
    reader_.reset();
    std::lock_guard spill_lk(spill_mu_);
    closed_.pop_front();
    return false;
  }
  return true;
}

void RecordPipeline::ReplayOneBatch() {
  if (replay_batch_.empty()) {
    if (!reader_ && !OpenNextSegment()) return;
    reader_->Next(options_.batch_size, &replay_batch_);
    EnrichAll(replay_batch_);
  }
  if (!replay_batch_.empty()) {
    const Status st = WriteReplayed(replay_batch_);
    if (!st.ok()) {
      EnterDegraded(st);  // replay_batch_ is kept, already enriched, for the next attempt
      return;
    }
    replay_batch_.clear();
  }
  if (reader_->eof()) FinishSegment();
}

Status RecordPipeline::WriteReplayed(std::span<Record> records) {
  Status st = TimedWrite(records);
  if (st.ok()) {
    Committed(records, /*replayed=*/true);
    return st;
  }
  if (!IsRecordError(st)) return st;
  // The store is up but refuses something in this batch: find what it refuses on its own and
  // quarantine that, so one bad record cannot hold the spill file hostage (invariant 4).
  for (Record& r : records) {
    st = TimedWrite(std::span<const Record>(&r, 1));
    if (st.ok()) {
      Committed(std::span<const Record>(&r, 1), /*replayed=*/true);
    } else if (IsRecordError(st)) {
      reader_->Quarantine(RecordToJson(r), "request_id " + r.request_id,
                          "store rejected the record: " + st.ToString());
    } else {
      return st;  // the whole batch is retried; what was committed is ignored (idempotent)
    }
  }
  return Status::Ok();
}

void RecordPipeline::FinishSegment() {
  const std::uint64_t bytes = reader_->size();
  const std::uint64_t bad = reader_->quarantined();
  const Status st = reader_->Finish();
  reader_.reset();
  if (!st.ok()) {
    // The segment (or its .bad) stays on disk; the next Start() replays it again.
    log::Error("could not finish replayed spill segment", {{"error", st.ToString()}});
  } else {
    spill_bytes_ -= std::min<std::uint64_t>(bytes, spill_bytes_);
    --spill_segments_;
  }
  quarantined_ += bad;
  std::lock_guard spill_lk(spill_mu_);
  closed_.pop_front();
}

// ---- Spill file (writer and spill thread) ------------------------------------------------------

void RecordPipeline::RotateLocked() {
  if (active_fd_ < 0) return;
  ::close(active_fd_);
  active_fd_ = -1;
  closed_.push_back(active_seq_);
  ++active_seq_;
  active_bytes_ = 0;
}

Status RecordPipeline::AppendToSpill(const std::string& data, std::size_t count) {
  if (count == 0) return Status::Ok();

  Status st;
  {
    std::lock_guard spill_lk(spill_mu_);
    const fs::path path = SegmentPath(active_seq_);
    if (active_fd_ < 0) {
      active_fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (active_fd_ >= 0) {
        SyncDir(options_.spill_dir);
        ++spill_segments_;
        active_bytes_ = 0;
      } else {
        st = Status::IoError("open " + path.string() + ": " + ErrnoText(errno));
      }
    }
    if (st.ok()) st = WriteAll(active_fd_, data, path);
    if (st.ok() && ::fdatasync(active_fd_) != 0) {
      st = Status::IoError("fsync " + path.string() + ": " + ErrnoText(errno));
    }
    if (st.ok()) {
      active_bytes_ += data.size();
      spill_bytes_ += data.size();
      if (active_bytes_ >= options_.segment_max_bytes) RotateLocked();
    } else if (active_fd_ >= 0) {
      // Cut back what part of this append landed, and start the next append in a fresh
      // segment either way, so a half line can never glue itself to the next record.
      if (::ftruncate(active_fd_, static_cast<off_t>(active_bytes_)) != 0) {
        log::Error("could not truncate a failed spill append", {{"segment", path.string()}});
      }
      RotateLocked();
    }
  }
  if (!st.ok()) {
    failed_ += count;
    log::Error("spill append failed; records lost",
               {{"records", static_cast<std::uint64_t>(count)}, {"error", st.ToString()}});
    return st;
  }
  spilled_ += count;
  {
    std::lock_guard lk(mu_);
    replay_pending_ = true;
  }
  writer_cv_.notify_one();
  return st;
}

// ---- Spill thread ------------------------------------------------------------------------------

void RecordPipeline::SpillLoop() {
  // Normal priority on purpose: the spill thread is the overflow valve that keeps memory
  // bounded when the writer cannot keep up, so it must not starve behind the I/O threads.
  SetThreadName("cn-spill");
  std::deque<Record> batch;
  std::string data;
  for (;;) {
    {
      std::unique_lock lk(mu_);
      spill_cv_.wait(lk, [this] { return !overflow_.empty() || stopping_; });
      if (overflow_.empty()) return;  // stopping_, and Submit() accepts no more
      spill_cv_.wait_for(lk, options_.spill_linger,
                         [this] { return overflow_.size() >= options_.spill_group || stopping_; });
      batch.swap(overflow_);  // group commit: everything that piled up, in as few fsyncs as fit
      overflow_in_flight_ = batch.size();
    }
    // Appends of bounded size: a long overload must not build one giant string in memory.
    // `data` keeps its capacity from one append to the next (no regrowth copies per batch).
    data.clear();
    std::size_t count = 0;
    for (const Record& r : batch) {
      AppendRecordJson(r, data);
      data.push_back('\n');
      ++count;
      if (data.size() >= kMaxAppendBytes) {
        AppendToSpill(data, count);
        data.clear();
        count = 0;
      }
    }
    AppendToSpill(data, count);
    batch.clear();
    std::lock_guard lk(mu_);
    overflow_in_flight_ = 0;
  }
}

}  // namespace cn::recording
