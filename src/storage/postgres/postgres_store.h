// PostgresStore: the team/production Store (DATABASE_URL=postgresql://...), over libpq.
// Schema-compatible with the original Claude Nexus Proxy (storage/postgres/pg_schema.cc): it
// can adopt and upgrade a database the original created, and the original's queries read what
// it writes. Several claude-nexus replicas may write to one database at once.
//
// Thread-safety (the Store contract, made concrete):
//   - Three connections, each with its own mutex: the writer (Migrate, WriteBatch), the reader
//     (Ping, LoadDomainStats, GetRecord, CountRecords) and maintenance (PruneOlderThan), so a
//     slow read or a retention batch never holds up the writer's batches.
//   - Every public method may be called from any thread. A broken connection is re-opened by the
//     next call on it; until the server answers, calls fail with kUnavailable (bounded by libpq's
//     connect_timeout, TCP keepalives and statement_timeout).
//   - Other processes (replicas) may write concurrently: inserts are ON CONFLICT DO NOTHING on
//     request_id, and the per-domain totals are advanced in the inserting transaction, only for
//     rows it actually inserted. Migrate() serialises concurrent migrators with an advisory lock.
//
// How a Record maps to a row (GetRecord() inverts it; see docs/storage.md):
//   - The original's columns hold what the original would store: JSONB `headers` /
//     `response_headers` (object name -> value, repeated names joined with ", ", invalid UTF-8
//     replaced), `body` (the request JSON), `response_body` (Record::response_json), `usage_data`,
//     `task_tool_invocation`; `timestamp`, `first_token_ms`, `duration_ms` rounded to ms.
//   - Exact values live in our columns: header_list / response_header_list (bytea, the exact
//     list), body_raw (bytea, the exact request bytes; see PostgresOptions::raw_bodies),
//     response_body_raw (bytea, Record::response_body exactly; NULL only for a stream with no
//     body), timestamp_us / first_byte_us / duration_us, query_string, outcome, ...
//   - A body that JSONB cannot hold (not JSON, not UTF-8, or containing \u0000) leaves the JSONB
//     column NULL and is kept only in body_raw. response_json / usage_json /
//     task_tool_invocation_json are stored as JSONB only, so they read back as JSONB's canonical
//     text of the same JSON value; when JSONB cannot hold them they go to *_text columns.
//   - Other text (domain, path, model, error, ...) must be UTF-8 without NUL in PostgreSQL;
//     invalid bytes are replaced by U+FFFD (lossy, and only for malformed input).
//   - Stream chunks: streaming_chunks.data is the raw event text; data_raw (bytea) keeps the
//     exact bytes when they are not valid UTF-8; token_count is the chunk's
//     ChunkUsage::output_tokens (Record::chunk_usage, filled by enrichment), else 0.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "record/record.h"
#include "storage/store.h"

namespace cn::storage {

class PgConnection;

struct PostgresOptions {
  // libpq connection URL (postgres:// or postgresql://) or key=value string; sslmode and the
  // other libpq options apply as libpq documents them.
  std::string url;
  // Raw request bodies (the body policy):
  //   kAlways:     body_raw always holds the exact bytes (lossless; about doubles the space a
  //                request takes, TOAST-compressed).
  //   kWhenNeeded: body_raw only when JSONB cannot hold the body; otherwise GetRecord returns
  //                JSONB's canonical text of the same JSON value.
  enum class RawBodies { kAlways, kWhenNeeded };
  RawBodies raw_bodies = RawBodies::kAlways;
  // Upper bound for one statement of WriteBatch / reads (not migrations).
  std::chrono::milliseconds statement_timeout{60000};
};

class PostgresStore final : public Store {
 public:
  // Connects (writer and reader). kInvalidArgument for a malformed URL, an unknown database or
  // rejected credentials; kUnavailable when the server cannot be reached. Messages name the
  // server as host:port/dbname and never contain the password. Call Migrate() before use.
  static StatusOr<std::unique_ptr<PostgresStore>> Open(const PostgresOptions& options);

  ~PostgresStore() override;

  std::string_view Kind() const override { return "postgres"; }
  // Also fails (kInvalidArgument) if the database was migrated by a newer claude-nexus.
  Status Migrate() override;
  Status WriteBatch(std::span<const Record> records) override;
  Status Ping() override;
  StatusOr<std::vector<DomainStats>> LoadDomainStats() override;
  // Keyset pages over ("timestamp", request_id): timestamptz holds our microseconds exactly.
  StatusOr<std::vector<Record>> LoadForLinking(const LinkingScan& scan) override;
  // One UPDATE ... FROM (VALUES ...) per few thousand records, in one transaction.
  Status UpdateLinks(std::span<const Record> records) override;

  // Rows written by the original read back with what it stored (exact fields it lacks come from
  // its rounded ones).
  StatusOr<std::optional<Record>> GetRecord(std::string_view request_id) override;
  StatusOr<std::int64_t> CountRecords() override;
  // Oldest first, on the maintenance connection, skipping rows another pruner (a replica) or a
  // writer holds (FOR UPDATE SKIP LOCKED).
  StatusOr<std::int64_t> PruneOlderThan(std::int64_t cutoff_unix_micros,
                                        std::int64_t max_rows) override;
  // True: any number of replicas may write to one database (docs/storage.md).
  bool SharedByReplicas() const override { return true; }
  // A PgReader: a read-only session of its own on the store's URL.
  StatusOr<std::unique_ptr<SqlReader>> OpenReader(int statement_timeout_ms) override;

  // Highest migration this binary knows / the database's current version.
  static int LatestSchemaVersion();
  StatusOr<int> SchemaVersion();

 private:
  PostgresStore(PostgresOptions options, std::unique_ptr<PgConnection> writer,
                std::unique_ptr<PgConnection> reader, std::unique_ptr<PgConnection> maintenance);

  // REQUIRES: write_mu_ held, inside a transaction. Inserts `records` (no duplicate ids) and
  // returns in *inserted the indexes of those that were not stored yet.
  Status InsertRequests(std::span<const Record* const> records, std::vector<bool>* inserted);
  Status InsertChunks(std::span<const Record* const> records);
  Status AddDomainStats(std::span<const Record* const> records);

  const PostgresOptions options_;

  std::mutex write_mu_;
  std::unique_ptr<PgConnection> writer_;  // guarded by write_mu_

  std::mutex read_mu_;
  std::unique_ptr<PgConnection> reader_;  // guarded by read_mu_

  std::mutex maintenance_mu_;
  std::unique_ptr<PgConnection> maintenance_;  // guarded by maintenance_mu_
};

}  // namespace cn::storage
