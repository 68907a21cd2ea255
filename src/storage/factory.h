// OpenStore: picks and opens the Store the configuration asks for — embedded SQLite by default,
// PostgreSQL when a postgres:// / postgresql:// URL is given. The one place that knows the
// implementations; everything else goes through the Store interface (storage/store.h).
//
// Thread-safety: free functions; OpenStore's result follows the Store contract.
#pragma once

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

}  // namespace cn::storage
