#include "storage/factory.h"

#include <sqlite3.h>

#include "common/ascii.h"
#include "common/time.h"
#include "storage/sqlite/sqlite_store.h"
#ifdef CN_HAVE_POSTGRES
#include "storage/postgres/postgres_store.h"
#endif

namespace cn::storage {
namespace {


// SQLite retention through a connection of its own (SqliteStore has no pruning entry point):
// WAL lets it run beside the store's writer; busy_timeout bounds the wait for its lock.
StatusOr<std::int64_t> PruneSqlite(const std::string& path, std::int64_t cutoff_unix_micros,
                                   std::int64_t max_rows) {
  sqlite3* db = nullptr;
  auto fail = [&](std::string_view what) -> Status {
    std::string m = "pruning '" + path + "': " + std::string(what) + ": " +
                    (db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return Status::Unavailable(std::move(m));
  };
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    return fail("open");
  }
  sqlite3_busy_timeout(db, 2000);
  if (sqlite3_exec(db, "PRAGMA foreign_keys = ON", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return fail("foreign_keys");
  }
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db,
                         "DELETE FROM api_requests WHERE request_id IN (SELECT request_id FROM "
                         "api_requests WHERE timestamp < ?1 ORDER BY timestamp LIMIT ?2)",
                         -1, &stmt, nullptr) != SQLITE_OK) {
    return fail("prepare");
  }
  const std::string cutoff = FormatIso8601(cutoff_unix_micros);
  sqlite3_bind_text(stmt, 1, cutoff.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(stmt, 2, max_rows);
  const int rc = sqlite3_step(stmt);
  sqlite3_finalize(stmt);
  if (rc != SQLITE_DONE) return fail("delete");
  const std::int64_t n = sqlite3_changes64(db);
  sqlite3_close(db);
  return n;
}

}  // namespace

bool IsPostgresUrl(std::string_view url) {
  return StartsWithIgnoreCase(url, "postgres://") || StartsWithIgnoreCase(url, "postgresql://");
}

StatusOr<std::unique_ptr<Store>> OpenStore(const StoreConfig& config) {
  if (config.database_url.empty()) {
    auto sqlite = SqliteStore::Open(SqliteOptions{config.sqlite_path});
    if (!sqlite.ok()) return sqlite.status();
    return std::unique_ptr<Store>(std::move(sqlite).value());
  }
  if (!IsPostgresUrl(config.database_url)) {
    return Status::InvalidArgument(
        "DATABASE_URL must start with postgres:// or postgresql:// (or be empty for SQLite)");
  }
#ifdef CN_HAVE_POSTGRES
  PostgresOptions options;
  options.url = config.database_url;
  options.raw_bodies = config.raw_bodies ? PostgresOptions::RawBodies::kAlways
                                         : PostgresOptions::RawBodies::kWhenNeeded;
  auto pg = PostgresStore::Open(options);
  if (!pg.ok()) return pg.status();
  return std::unique_ptr<Store>(std::move(pg).value());
#else
  return Status::InvalidArgument(
      "DATABASE_URL names a PostgreSQL server, but this claude-nexus was built without libpq; "
      "unset DATABASE_URL to record into SQLite under DATA_DIR");
#endif
}

StatusOr<std::int64_t> PruneOlderThan(Store& store, const StoreConfig& config,
                                      std::int64_t cutoff_unix_micros, std::int64_t max_rows) {
#ifdef CN_HAVE_POSTGRES
  if (auto* pg = dynamic_cast<PostgresStore*>(&store)) {
    return pg->PruneOlderThan(cutoff_unix_micros, max_rows);
  }
#endif
  if (store.Kind() == "sqlite") return PruneSqlite(config.sqlite_path, cutoff_unix_micros, max_rows);
  return Status::InvalidArgument("retention is not supported for a " + std::string(store.Kind()) +
                                 " store");
}

bool SharedByReplicas(const Store& store) { return store.Kind() == "postgres"; }

}  // namespace cn::storage
