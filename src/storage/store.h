// Store: where records end up, and everything a caller needs from the database behind it. The
// proxy never sees a Store; only the record pipeline (writer thread) writes, and read paths
// (token stats, conversation linking, tests and tools) query; StoreMaintenance prunes.
//
// Implementations: storage/sqlite (embedded, the default), storage/postgres (team/production).
// One test suite (tests/unit/storage) runs against every implementation (docs/storage.md).
//
// Thread-safety contract for implementations:
//   - Migrate() is called once, before anything else, from one thread.
//   - WriteBatch() is called from a single thread (the pipeline's writer).
//   - Ping(), the read methods and PruneOlderThan() may be called from any thread, concurrently
//     with WriteBatch().
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "record/record.h"
#include "storage/reader.h"

namespace cn {

// Per-domain totals over every stored record (the original's /token-stats entry).
struct DomainStats {
  std::string domain;
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  std::int64_t request_count = 0;
  std::int64_t query_evaluation_count = 0;
  std::int64_t inference_count = 0;
  std::int64_t tool_call_count = 0;
  std::int64_t last_updated_unix_micros = 0;  // timestamp of the newest record
};

// Which stored requests LoadForLinking() returns (conversation linking, docs/conversations.md).
// Rows match every filter; they come in (timestamp_unix_micros, request_id) order, ascending, or
// descending with newest_first; at most `limit` of them, starting after the cursor `after`.
struct LinkingScan {
  std::string domain;  // only this domain (raw Host); empty: every domain
  std::int64_t since_unix_micros = std::numeric_limits<std::int64_t>::min();  // timestamp >= since
  std::int64_t until_unix_micros = std::numeric_limits<std::int64_t>::max();  // timestamp < until
  // Keyset cursor: (timestamp_unix_micros, request_id) of the last row of the previous page;
  // the page holds only rows strictly after it in the scan order. nullopt: from the first row.
  std::optional<std::pair<std::int64_t, std::string>> after;
  bool newest_first = false;
  bool inference_only = false;  // request_type = 'inference'
  // request_body of every row; otherwise only of sub-agent first requests (is_subtask set and
  // parent_message_hash empty), whose prompt the index keeps. Bodies are the big column.
  bool all_request_bodies = false;
  std::size_t limit = 1000;
};

class Store {
 public:
  virtual ~Store() = default;

  // "sqlite" or "postgres": for display and logs only; callers never branch on it.
  virtual std::string_view Kind() const = 0;

  // Creates or upgrades the schema with versioned, idempotent migrations recorded in the
  // schema_migrations table. Never drops or rewrites user data.
  virtual Status Migrate() = 0;

  // Writes every record (api_requests row + its streaming_chunks rows) in one transaction.
  // Idempotent: a record whose request_id is already stored is left as it is (replaying a
  // spilled batch creates no duplicates). On error nothing of the batch is committed and the
  // Status says why (kUnavailable when retrying later may help).
  // REQUIRES: every record is enriched.
  virtual Status WriteBatch(std::span<const Record> records) = 0;

  // Cheap liveness check of the underlying database.
  virtual Status Ping() = 0;

  // Per-domain totals over all stored records, ordered by domain.
  virtual StatusOr<std::vector<DomainStats>> LoadDomainStats() = 0;

  // The stored record with its chunks, or nullopt if there is none. It reads back as written
  // (docs/storage.md says where a backend canonicalises, e.g. JSONB), with `enriched` set;
  // chunk_usage is not kept as such (only its output_tokens, as streaming_chunks.token_count)
  // and reads back empty. Read method: any thread.
  virtual StatusOr<std::optional<Record>> GetRecord(std::string_view request_id) = 0;

  // How many exchanges are stored. Read method: any thread.
  virtual StatusOr<std::int64_t> CountRecords() = 0;

  // Retention: deletes (with their chunks) at most `max_rows` of the oldest exchanges recorded
  // before `cutoff_unix_micros`, in one short transaction, and returns how many; 0 when
  // max_rows <= 0. Call again while it returns max_rows (StoreMaintenance does). Any thread,
  // concurrently with WriteBatch: a batch never holds the writer up for long.
  virtual StatusOr<std::int64_t> PruneOlderThan(std::int64_t cutoff_unix_micros,
                                                std::int64_t max_rows) = 0;

  // True when other processes may write to the same store (PostgreSQL replicas), so per-domain
  // totals must be re-read from it rather than only advanced locally.
  virtual bool SharedByReplicas() const = 0;

  // A new read-only connection for the read side (storage/reader.h), independent of the
  // store's own connections; the caller owns it and uses it from one thread at a time.
  // PostgreSQL readers run with `statement_timeout_ms` (0: none); SQLite ignores it.
  virtual StatusOr<std::unique_ptr<SqlReader>> OpenReader(int statement_timeout_ms);

  // ---- Conversation linking (recording/recorder: start-up index fill, `conversations rebuild`) -
  // Both have defaults that fail with kInternal, so test doubles need not implement them; the
  // recorder then starts with an empty index.

  // One page of stored requests for `scan`. Each Record holds only: request_id, domain,
  // timestamp_unix_micros, method, path, request_type, message_count, response_status, outcome,
  // response_json, the eight link fields (current_message_hash, parent_message_hash,
  // system_hash, conversation_id, branch_id, parent_request_id, parent_task_request_id,
  // is_subtask), and request_body as LinkingScan::all_request_bodies says; `enriched` is true.
  // A page shorter than scan.limit is the last one. Read method: any thread.
  virtual StatusOr<std::vector<Record>> LoadForLinking(const LinkingScan& scan);

  // Sets the eight link fields of each stored row with the record's request_id to the record's
  // values (empty string -> NULL), in one transaction; other columns and rows without a match are
  // left alone. Write method: only from the thread that writes (never concurrently with
  // WriteBatch of the same Store object).
  virtual Status UpdateLinks(std::span<const Record> records);
};

inline StatusOr<std::vector<Record>> Store::LoadForLinking(const LinkingScan&) {
  return Status::Internal(std::string(Kind()) +
                          " store cannot load records for conversation linking");
}

inline StatusOr<std::unique_ptr<SqlReader>> Store::OpenReader(int) {
  return Status::Internal(std::string(Kind()) + " store has no read connections");
}

inline Status Store::UpdateLinks(std::span<const Record>) {
  return Status::Internal(std::string(Kind()) + " store cannot update conversation links");
}

}  // namespace cn
