// The SQLite schema as an ordered list of migrations. Internal to storage/sqlite.
//
// Invariants:
//   1. Versions are strictly increasing; a released migration is never edited, only followed by
//      a new one (databases in the field have already run it).
//   2. Each migration's SQL runs in one transaction together with its schema_migrations row, so a
//      database is always at exactly one recorded version.
//   3. No migration drops or rewrites user data.
#pragma once

#include <span>
#include <string_view>

namespace cn::storage {

struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;  // one or more statements
};

std::span<const Migration> SqliteMigrations();

}  // namespace cn::storage
