// SqliteReader: an SqlReader (storage/reader.h) on its own read-only connection to the store's
// database file. SQLite's WAL mode lets it read the last committed state while the store's writer
// commits, without either waiting for the other (docs/storage.md, "Read connections").
//
// Thread-safety: none. One thread at a time uses a reader (the SqlReader contract); readers do not
// share anything with each other or with the SqliteStore that opened them.
#pragma once

#include <sqlite3.h>

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "common/status.h"
#include "storage/reader.h"

namespace cn::storage {

class SqliteReader final : public SqlReader {
 public:
  // Opens `path` read-only (SQLITE_OPEN_READONLY and PRAGMA query_only), waiting up to
  // `busy_timeout_ms` for another connection's lock. The file must exist (the store created it);
  // a file that is not a database is detected by the first Query().
  static StatusOr<std::unique_ptr<SqliteReader>> Open(const std::string& path, int busy_timeout_ms);

  ~SqliteReader() override;
  SqliteReader(const SqliteReader&) = delete;
  SqliteReader& operator=(const SqliteReader&) = delete;

  SqlDialect dialect() const override { return SqlDialect::kSqlite; }

  // Prepares `sql` (exactly one statement, which must not write: kInternal otherwise), binds
  // `params` (kBool as 1/0, text byte for byte) and steps through the rows. The statement is
  // finalized before returning, also after an early stop, so no read transaction stays open.
  // Statements are not cached: the query layer's SQL text varies with its filters.
  Status Query(std::string_view sql, std::span<const SqlParam> params,
               const std::function<bool(const SqlRow&)>& on_row) override;

 private:
  SqliteReader(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

  // `rc` plus sqlite3_errmsg and the file name (storage/sqlite/connection.h's SqliteStatus).
  Status Error(int rc, std::string_view what) const;

  sqlite3* db_;
  const std::string path_;
};

}  // namespace cn::storage
