#include "storage/factory.h"

#include "common/ascii.h"
#include "storage/sqlite/sqlite_store.h"
#ifdef CN_HAVE_POSTGRES
#include "storage/postgres/postgres_store.h"
#endif

namespace cn::storage {

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

}  // namespace cn::storage
