// The PostgreSQL schema as versioned migrations. Internal to storage/postgres.
//
// Version 1 is the original Claude Nexus Proxy's schema (its tables and indexes), written so
// that it also completes a database the original created, whatever its migration level: every
// statement is IF NOT EXISTS / ADD COLUMN IF NOT EXISTS. Versions 2+ are claude-nexus additions
// and only ever add (columns with defaults, indexes, tables) or relax (the parent foreign keys,
// varchar limits); none drops or rewrites rows.
//
// Thread-safety: constant data.
#pragma once

#include <span>
#include <string_view>

namespace cn::storage {

struct PgMigration {
  int version;
  std::string_view name;
  std::string_view sql;
};

std::span<const PgMigration> PostgresMigrations();

}  // namespace cn::storage
