// SqliteStore: the embedded Store (the default). One database file in WAL mode
// (`<DATA_DIR>/claude-nexus.db` in the app), schema in storage/sqlite/schema.cc.
//
// Thread-safety (the Store contract, made concrete):
//   - Two connections, each guarded by its own mutex: the write connection (Migrate, WriteBatch,
//     UpdateLinks, PruneOlderThan) and the read connection (Ping, LoadDomainStats, GetRecord,
//     CountRecords, LoadForLinking). In WAL mode a reader sees the last committed state and never
//     waits for the writer, neither for its mutex nor for its transaction.
//   - Retention shares the write connection: SQLite lets one connection write at a time anyway,
//     so a connection of its own would buy no concurrency, only turn the wait into busy_timeout
//     polling that can fail a WriteBatch (kUnavailable, then a spill) while a batch of deletes
//     runs. On write_mu_ a WriteBatch simply waits for the one short prune transaction.
//   - Every public method may be called from any thread; calls on the same connection are
//     serialised. The Store contract still applies (Migrate first, one writer thread).
//   - Another process may open the same file; SQLite's locking applies and a write blocked longer
//     than busy_timeout fails with kUnavailable.
//
// How a Record maps to a row (lossless; GetRecord() inverts it):
//   - Empty strings are stored as NULL and read back as empty; account_id keeps nullopt vs "".
//   - timestamp/first_token_ms/duration_ms are the original's millisecond columns; the exact
//     microseconds live in timestamp_us/first_byte_us/duration_us.
//   - headers/response_headers: a JSON object name -> value (repeated names, compared
//     case-insensitively, joined with ", " under the first spelling). When a name repeats the
//     object cannot give the list back, so header_list/response_header_list also hold the exact
//     list as [[name, value], ...].
//   - response_body is Record::response_json (NULL if empty). response_body_raw holds
//     Record::response_body unless it equals what a reader would assume (the JSON body for a
//     non-streaming response, nothing for a stream), in which case it is NULL.
//   - enriched is not stored: only enriched records are written, so GetRecord() sets it.
//   - streaming_chunks.token_count is the chunk's ChunkUsage::output_tokens (Record::chunk_usage,
//     filled by enrichment), 0 for a chunk without one; chunk_usage is not read back.
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

class Connection;

struct SqliteOptions {
  // The database file. Missing parent directories are created.
  std::string path;
  // How long a statement waits for another connection's lock before failing with kUnavailable.
  std::chrono::milliseconds busy_timeout{2000};
};

class SqliteStore final : public Store {
 public:
  // Opens (creating if needed) the database and configures it (WAL, synchronous=NORMAL,
  // foreign_keys). Fails with a message naming the path when the directory cannot be created,
  // the file cannot be opened or is not an SQLite database. Call Migrate() before use.
  static StatusOr<std::unique_ptr<SqliteStore>> Open(const SqliteOptions& options);

  ~SqliteStore() override;

  std::string_view Kind() const override { return "sqlite"; }
  // Also fails (kInvalidArgument) if the database was migrated by a newer binary.
  Status Migrate() override;
  Status WriteBatch(std::span<const Record> records) override;
  Status Ping() override;
  StatusOr<std::vector<DomainStats>> LoadDomainStats() override;
  StatusOr<std::vector<Record>> LoadForLinking(const LinkingScan& scan) override;
  Status UpdateLinks(std::span<const Record> records) override;
  StatusOr<std::optional<Record>> GetRecord(std::string_view request_id) override;
  StatusOr<std::int64_t> CountRecords() override;
  // Oldest first by the `timestamp` column (millisecond text, idx_requests_timestamp), on the
  // write connection; chunks go by ON DELETE CASCADE.
  StatusOr<std::int64_t> PruneOlderThan(std::int64_t cutoff_unix_micros,
                                        std::int64_t max_rows) override;
  // False: an SQLite database belongs to one claude-nexus (docs/storage.md).
  bool SharedByReplicas() const override { return false; }
  // A SqliteReader on its own read-only connection to the file (statement_timeout_ms unused).
  StatusOr<std::unique_ptr<SqlReader>> OpenReader(int statement_timeout_ms) override;

  // Highest migration this binary knows.
  static int LatestSchemaVersion();

 private:
  SqliteStore(std::string path, int busy_timeout_ms, std::unique_ptr<Connection> writer,
              std::unique_ptr<Connection> reader);

  // REQUIRES: write_mu_ held, inside a transaction.
  Status InsertRecord(const Record& r);

  const std::string path_;
  const int busy_timeout_ms_;  // SqliteOptions::busy_timeout, for every connection it opens

  std::mutex write_mu_;
  std::unique_ptr<Connection> writer_;  // guarded by write_mu_

  std::mutex read_mu_;
  std::unique_ptr<Connection> reader_;  // guarded by read_mu_
};

}  // namespace cn::storage
