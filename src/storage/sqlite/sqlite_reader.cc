#include "storage/sqlite/sqlite_reader.h"

#include <cstdint>
#include <string>
#include <utility>

#include "storage/sqlite/connection.h"

namespace cn::storage {
namespace {

struct StmtFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// The statement's start, on one line, for messages.
std::string Head(std::string_view sql) {
  const std::size_t start = sql.find_first_not_of(" \t\r\n");
  const std::string_view rest = start == std::string_view::npos ? "" : sql.substr(start);
  const std::string_view head = rest.substr(0, 60);
  std::string out = "'";
  for (char c : head) out += c == '\n' || c == '\r' || c == '\t' ? ' ' : c;
  out += head.size() < rest.size() ? "...'" : "'";
  return out;
}

// One row of a stepping statement: the sqlite3_column_* accessors, which convert as SQLite does
// (NULL reads as 0, 0.0 and ""; an integer read as text gives its digits).
class SqliteRow final : public SqlRow {
 public:
  explicit SqliteRow(sqlite3_stmt* stmt) : stmt_(stmt), size_(sqlite3_column_count(stmt)) {}

  int size() const override { return size_; }
  bool IsNull(int col) const override { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::int64_t Int(int col) const override { return sqlite3_column_int64(stmt_, col); }
  double Double(int col) const override { return sqlite3_column_double(stmt_, col); }
  std::string_view Text(int col) const override {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    if (p == nullptr) return {};
    return {p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))};
  }

 private:
  sqlite3_stmt* stmt_;
  int size_;
};

}  // namespace

StatusOr<std::unique_ptr<SqliteReader>> SqliteReader::Open(const std::string& path,
                                                           int busy_timeout_ms) {
  sqlite3* db = nullptr;
  // NOMUTEX: a reader is used by one thread at a time (storage/reader.h).
  const int flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string detail = db != nullptr ? sqlite3_errmsg(db) : "";
    sqlite3_close_v2(db);  // a handle is returned even on failure
    return SqliteStatus(rc, "cannot open SQLite database '" + path + "' for reading", detail);
  }
  sqlite3_busy_timeout(db, busy_timeout_ms);
  std::unique_ptr<SqliteReader> reader(new SqliteReader(db, path));
  // Belt and braces beside SQLITE_OPEN_READONLY; Query() also refuses statements that write.
  char* err = nullptr;
  const int prc = sqlite3_exec(db, "PRAGMA query_only = 1", nullptr, nullptr, &err);
  if (prc != SQLITE_OK) {
    std::string detail = err != nullptr ? err : "";
    sqlite3_free(err);
    return SqliteStatus(prc, "configuring a read connection to '" + path + "'", detail);
  }
  return reader;
}

SqliteReader::~SqliteReader() { sqlite3_close_v2(db_); }

Status SqliteReader::Error(int rc, std::string_view what) const {
  return SqliteStatus(rc, std::string(what) + " on '" + path_ + "'", sqlite3_errmsg(db_));
}

Status SqliteReader::Query(std::string_view sql, std::span<const SqlParam> params,
                           const std::function<bool(const SqlRow&)>& on_row) {
  sqlite3_stmt* raw = nullptr;
  const char* tail = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), 0, &raw, &tail);
  StmtPtr stmt(raw);
  if (rc != SQLITE_OK) return Error(rc, "preparing " + Head(sql));
  if (stmt == nullptr) return Status::Internal("no SQL statement in " + Head(sql));
  // Exactly one statement: whatever follows it may only be blanks, ';' and comments (which
  // prepare to no statement).
  const std::string_view rest = sql.substr(static_cast<std::size_t>(tail - sql.data()));
  if (rest.find_first_not_of(" \t\r\n;") != std::string_view::npos) {
    sqlite3_stmt* next = nullptr;
    rc = sqlite3_prepare_v3(db_, rest.data(), static_cast<int>(rest.size()), 0, &next, nullptr);
    StmtPtr next_owner(next);
    if (rc != SQLITE_OK || next != nullptr) {
      return Status::Internal("more than one SQL statement in " + Head(sql));
    }
  }
  if (sqlite3_stmt_readonly(stmt.get()) == 0) {
    return Status::Internal("read connection refuses a statement that writes: " + Head(sql));
  }
  const int expected = sqlite3_bind_parameter_count(stmt.get());
  if (expected != static_cast<int>(params.size())) {
    return Status::Internal(Head(sql) + " has " + std::to_string(expected) + " parameters but " +
                            std::to_string(params.size()) + " were given");
  }
  for (int i = 1; i <= expected; ++i) {
    const SqlParam& p = params[static_cast<std::size_t>(i - 1)];
    switch (p.kind) {
      case SqlParam::Kind::kNull:
        rc = sqlite3_bind_null(stmt.get(), i);
        break;
      case SqlParam::Kind::kInt:
      case SqlParam::Kind::kBool:  // i is 1/0
        rc = sqlite3_bind_int64(stmt.get(), i, p.i);
        break;
      case SqlParam::Kind::kDouble:
        rc = sqlite3_bind_double(stmt.get(), i, p.d);
        break;
      case SqlParam::Kind::kText:
        // SQLITE_STATIC: `params` outlives the statement, finalized before we return.
        rc = sqlite3_bind_text64(stmt.get(), i, p.s.data(), p.s.size(), SQLITE_STATIC, SQLITE_UTF8);
        break;
    }
    if (rc != SQLITE_OK)
      return Error(rc, "binding parameter " + std::to_string(i) + " of " + Head(sql));
  }
  const SqliteRow row(stmt.get());
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    if (!on_row(row)) return Status::Ok();
  }
  if (rc != SQLITE_DONE) return Error(rc, "running " + Head(sql));
  return Status::Ok();
}

}  // namespace cn::storage
