// Connection: one sqlite3 handle plus its cache of prepared statements, and the mapping from
// SQLite result codes to cn::Status. Internal to storage/sqlite.
//
// Thread-safety: none. A Connection is used by one thread at a time; SqliteStore guards each of
// its connections with its own mutex. Statements handed out by Prepare() belong to the
// connection and stay valid until it is destroyed.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "common/status.h"

namespace cn::storage {

// Maps an SQLite result code to a Status code: kUnavailable for conditions that may clear up by
// themselves (busy/locked database, I/O errors, full disk, out of memory), kInvalidArgument for
// constraint violations (retrying the same data cannot help), kCorruption for damaged or foreign
// files, kInternal for the rest (bugs: bad SQL, misuse).
Status SqliteStatus(int rc, std::string_view what, std::string_view detail);

// A prepared statement borrowed from a Connection's cache. Binding indexes are 1-based, as in
// SQLite. The destructor resets the statement and clears its bindings so the next user starts
// clean (and so a half-stepped read statement does not keep a read transaction open).
class Statement {
 public:
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  Statement(Statement&& other) noexcept : stmt_(std::exchange(other.stmt_, nullptr)) {}
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement() {
    if (stmt_ != nullptr) Reset();
  }

  void BindInt(int i, std::int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void BindNull(int i) { sqlite3_bind_null(stmt_, i); }
  void BindDouble(int i, double v) { sqlite3_bind_double(stmt_, i, v); }
  // The bytes are copied only if SQLite needs to keep them past the next Step(); `v` must stay
  // alive until then (SQLITE_STATIC).
  void BindText(int i, std::string_view v) {
    sqlite3_bind_text64(stmt_, i, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8);
  }
  // Empty text is stored as NULL: the schema's convention for "absent".
  void BindTextOrNull(int i, std::string_view v) {
    if (v.empty()) {
      BindNull(i);
    } else {
      BindText(i, v);
    }
  }
  void BindOptionalText(int i, const std::optional<std::string>& v) {
    if (v) {
      BindText(i, *v);
    } else {
      BindNull(i);
    }
  }
  void BindOptionalInt(int i, const std::optional<std::int64_t>& v) {
    if (v) {
      BindInt(i, *v);
    } else {
      BindNull(i);
    }
  }

  void BindOptionalDouble(int i, const std::optional<double>& v) {
    if (v) {
      BindDouble(i, *v);
    } else {
      BindNull(i);
    }
  }

  // Makes the statement ready to bind and run again.
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return sqlite3_step(stmt_); }

  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  // NULL reads as the empty string. Byte-exact, embedded NULs included.
  std::string Text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    if (p == nullptr) return {};
    return std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)));
  }
  std::optional<std::string> OptionalText(int col) const {
    if (IsNull(col)) return std::nullopt;
    return Text(col);
  }
  std::optional<std::int64_t> OptionalInt(int col) const {
    if (IsNull(col)) return std::nullopt;
    return Int(col);
  }
  std::optional<double> OptionalDouble(int col) const {
    if (IsNull(col)) return std::nullopt;
    return sqlite3_column_double(stmt_, col);
  }

 private:
  sqlite3_stmt* stmt_;
};

class Connection {
 public:
  struct Options {
    std::string path;
    int busy_timeout_ms = 2000;
    bool create = true;  // SQLITE_OPEN_CREATE
  };

  // Opens the database file. The file is not read until the first statement runs, so a file
  // that is not a database is only detected by the caller's first Exec().
  static StatusOr<std::unique_ptr<Connection>> Open(const Options& options);

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // Runs one or more statements that return no rows the caller needs.
  Status Exec(std::string_view sql);

  // Returns the cached prepared statement for `sql` (prepared on first use). `sql` must hold
  // exactly one statement.
  StatusOr<Statement> Prepare(std::string_view sql);

  // Status for a failed call on this connection: `rc` plus sqlite3_errmsg and the file name.
  Status Error(int rc, std::string_view what) const;

  // Rows changed by the most recent INSERT/UPDATE/DELETE on this connection.
  std::int64_t Changes() const { return sqlite3_changes64(db_); }
  bool InTransaction() const { return sqlite3_get_autocommit(db_) == 0; }
  const std::string& path() const { return path_; }

 private:
  Connection(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

  sqlite3* db_;
  std::string path_;
  // Transparent so Prepare() looks statements up by string_view without copying the SQL.
  struct SqlHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, sqlite3_stmt*, SqlHash, std::equal_to<>> statements_;
};

}  // namespace cn::storage
