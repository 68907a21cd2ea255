// OpenStore: picks and opens the Store the configuration asks for — embedded SQLite by default,
// PostgreSQL when a postgres:// / postgresql:// URL is given — plus the storage maintenance
// that is not part of the Store interface (retention).
//
// Thread-safety: free functions; OpenStore's result follows the Store contract.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "storage/store.h"

namespace cn::storage {

struct StoreConfig {
  std::string database_url;  // "" = SQLite at sqlite_path; else a postgres(ql):// URL
  std::string sqlite_path;   // <DATA_DIR>/claude-nexus.db
  // PostgreSQL body policy: keep the exact request bytes beside the JSONB `body` (lossless) or
  // only when JSONB cannot hold them (STORE_RAW_BODIES, docs/storage.md).
  bool raw_bodies = true;
};

// True for postgres:// and postgresql:// (any case).
bool IsPostgresUrl(std::string_view url);

// Opens (not migrates) the store. Errors say what to fix and name a PostgreSQL server as
// host:port/dbname, never with its password: kInvalidArgument for a URL that is not a
// PostgreSQL URL or is malformed, rejected credentials, an unknown database, or a build without
// libpq; kUnavailable when the server cannot be reached.
StatusOr<std::unique_ptr<Store>> OpenStore(const StoreConfig& config);

// Retention: deletes at most `max_rows` of the oldest exchanges (with their chunks) recorded
// before `cutoff_unix_micros`; returns how many. Call repeatedly while it returns max_rows;
// each call is one short transaction, so writers are never held up for long.
StatusOr<std::int64_t> PruneOlderThan(Store& store, const StoreConfig& config,
                                      std::int64_t cutoff_unix_micros, std::int64_t max_rows);

// True when other processes may write to the same store (PostgreSQL), so per-domain totals
// must be re-read from it rather than only advanced locally.
bool SharedByReplicas(const Store& store);

}  // namespace cn::storage
