// SqlReader: one read-only database connection for the read side (src/query: the JSON API and
// the dashboard). The queries themselves live in src/query, written once for both backends in
// the SQL both understand, with a few dialect-specific fragments (SqlDialect); this interface
// only runs them. Open one with Store::OpenReader().
//
// Thread-safety: none. A reader is used by one thread at a time (query::ReaderPool gives each
// of its threads its own). Readers never block the writer: SQLite readers use their own
// connection to the WAL database, PostgreSQL readers their own session.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

#include "common/status.h"

namespace cn {

enum class SqlDialect { kSqlite, kPostgres };

// A statement parameter. Text parameters reach the database as text; PostgreSQL infers the
// parameter's type from where it is used (a uuid, timestamptz or boolean column), so the same
// SQL works on both backends. kBool is 1/0 for SQLite and true/false for PostgreSQL.
struct SqlParam {
  enum class Kind { kNull, kInt, kDouble, kText, kBool };
  Kind kind = Kind::kNull;
  std::int64_t i = 0;
  double d = 0;
  std::string s;

  static SqlParam Null() { return {}; }
  static SqlParam Int(std::int64_t v) { return {Kind::kInt, v, 0, {}}; }
  static SqlParam Double(double v) { return {Kind::kDouble, 0, v, {}}; }
  static SqlParam Text(std::string v) { return {Kind::kText, 0, 0, std::move(v)}; }
  static SqlParam Bool(bool v) { return {Kind::kBool, v ? 1 : 0, 0, {}}; }
};

// One result row, valid only during the callback that receives it. Columns are 0-based.
// Conversions follow the value: an integer column read with Text() gives its decimal digits; a
// PostgreSQL boolean reads as Int() 1/0; NULL reads as 0, 0.0 and "".
class SqlRow {
 public:
  virtual ~SqlRow() = default;
  virtual int size() const = 0;
  virtual bool IsNull(int col) const = 0;
  virtual std::int64_t Int(int col) const = 0;
  virtual double Double(int col) const = 0;
  virtual std::string_view Text(int col) const = 0;
};

class SqlReader {
 public:
  virtual ~SqlReader() = default;

  virtual SqlDialect dialect() const = 0;

  // Runs one statement (a SELECT or WITH ... SELECT) with `?` placeholders bound in order from
  // `params` (PostgreSQL: rewritten to $1, $2, ...; a `?` inside a quoted literal is left alone),
  // calling `on_row` for each row until it returns false. Errors: kUnavailable when the database
  // cannot be reached or the statement timed out (PostgreSQL statement_timeout), kInvalidArgument
  // when a parameter is rejected by the database (e.g. text that is not a uuid), kInternal for
  // bad SQL. Rows already delivered stay delivered.
  virtual Status Query(std::string_view sql, std::span<const SqlParam> params,
                       const std::function<bool(const SqlRow&)>& on_row) = 0;

  // The same with the parameters written in place: Query(sql, {SqlParam::Text(id)}, ...).
  Status Query(std::string_view sql, std::initializer_list<SqlParam> params,
               const std::function<bool(const SqlRow&)>& on_row) {
    return Query(sql, std::span<const SqlParam>(params.begin(), params.size()), on_row);
  }
};

}  // namespace cn
