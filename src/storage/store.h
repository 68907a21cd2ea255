// Store: where records end up. The proxy never sees a Store; only the record pipeline (writer
// thread) writes, and read paths (token stats, later the dashboard) query.
//
// Implementations: storage/sqlite (embedded, the default), storage/postgres (team/production).
// One test suite (tests/unit/storage) runs against every implementation.
//
// Thread-safety contract for implementations:
//   - Migrate() is called once, before anything else, from one thread.
//   - WriteBatch() is called from a single thread (the pipeline's writer).
//   - Ping() and the read methods may be called from any thread, concurrently with WriteBatch().
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "record/record.h"

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

class Store {
 public:
  virtual ~Store() = default;

  // "sqlite" or "postgres".
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
};

}  // namespace cn
