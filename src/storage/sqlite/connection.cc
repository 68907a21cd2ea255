#include "storage/sqlite/connection.h"

#include <algorithm>
#include <string>

namespace cn::storage {

Status SqliteStatus(int rc, std::string_view what, std::string_view detail) {
  std::string_view name = sqlite3_errstr(rc);
  std::string msg(what);
  msg += ": ";
  msg += detail.empty() ? name : detail;
  msg += " (";
  if (!detail.empty() && detail != name) {
    msg += name;
    msg += ", ";
  }
  msg += "SQLite code " + std::to_string(rc) + ")";
  switch (rc & 0xff) {  // primary code; extended codes keep it in the low byte
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_NOMEM:
    case SQLITE_PROTOCOL:
    case SQLITE_CANTOPEN:
      return Status::Unavailable(std::move(msg));
    case SQLITE_CONSTRAINT:
    case SQLITE_TOOBIG:
    case SQLITE_MISMATCH:
      return Status::InvalidArgument(std::move(msg));
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status::Corruption(std::move(msg));
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return Status::IoError(std::move(msg));
    default:
      return Status::Internal(std::move(msg));
  }
}

StatusOr<std::unique_ptr<Connection>> Connection::Open(const Options& options) {
  sqlite3* db = nullptr;
  // NOMUTEX: SqliteStore serialises access to each connection itself.
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  if (options.create) flags |= SQLITE_OPEN_CREATE;
  int rc = sqlite3_open_v2(options.path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string detail = db != nullptr ? sqlite3_errmsg(db) : "";
    sqlite3_close_v2(db);  // a handle is returned even on failure
    return SqliteStatus(rc, "cannot open SQLite database '" + options.path + "'", detail);
  }
  sqlite3_busy_timeout(db, options.busy_timeout_ms);
  return std::unique_ptr<Connection>(new Connection(db, options.path));
}

Connection::~Connection() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

Status Connection::Error(int rc, std::string_view what) const {
  return SqliteStatus(rc, std::string(what) + " on '" + path_ + "'", sqlite3_errmsg(db_));
}

Status Connection::Exec(std::string_view sql) {
  std::string text(sql);  // sqlite3_exec needs a NUL-terminated string
  char* err = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return Status::Ok();
  std::string detail = err != nullptr ? err : "";
  sqlite3_free(err);
  // The statement's start, on one line, names it well enough in a message.
  std::string what = "executing '";
  std::string_view rest = sql.substr(std::min(sql.size(), sql.find_first_not_of(" \n")));
  std::string_view head = rest.substr(0, 60);
  for (char c : head) what += c == '\n' ? ' ' : c;
  what += head.size() < rest.size() ? "...'" : "'";
  return SqliteStatus(rc, what + " on '" + path_ + "'", detail);
}

StatusOr<Statement> Connection::Prepare(std::string_view sql) {
  auto it = statements_.find(sql);
  if (it != statements_.end()) return Statement(it->second);
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return Error(rc, "preparing statement");
  statements_.emplace(std::string(sql), stmt);
  return Statement(stmt);
}

}  // namespace cn::storage
