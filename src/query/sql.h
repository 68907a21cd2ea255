// The SQL both backends understand, and the few fragments that differ (storage/reader.h runs
// it). Every read query of src/query is built here: a WHERE clause from parts with `?`
// placeholders and their parameters in order, plus dialect helpers for time columns.
//
// Time in the schema: api_requests.timestamp is TEXT 'YYYY-MM-DDTHH:MM:SS.mmmZ' in SQLite (it
// sorts chronologically) and TIMESTAMPTZ in PostgreSQL; a text parameter in that ISO format
// compares correctly with both (PostgreSQL infers timestamptz). timestamp_us holds the exact
// microseconds (NULL in PostgreSQL rows written by the original proxy, hence TsUs()).
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "storage/reader.h"

namespace cn::query {

// Microseconds since the epoch of api_requests.timestamp, for display (not for filtering: it
// defeats the timestamp index on PostgreSQL).
std::string TsUs(SqlDialect d, std::string_view table_alias = {});
// The start of the UTC hour / day of api_requests.timestamp, in microseconds since the epoch.
std::string HourUs(SqlDialect d);
std::string DayUs(SqlDialect d);
// Start of `minutes`-minute buckets (1..60 dividing an hour) in microseconds since the epoch.
std::string BucketUs(SqlDialect d, int minutes);
// A boolean literal / test for a boolean column (INTEGER 0/1 in SQLite, BOOLEAN in PostgreSQL).
std::string IsTrue(SqlDialect d, std::string_view column);
// A request_id column as text in either dialect (PostgreSQL: uuid).
std::string IdText(SqlDialect d, std::string_view column);

// The ISO text to compare with api_requests.timestamp.
std::string TimeParam(std::int64_t unix_micros);

// A conjunction of conditions with their parameters.
class Where {
 public:
  // Appends `cond` (with `?` for each of `params`).
  void Add(std::string cond, std::vector<SqlParam> params = {});
  // "" or " WHERE a AND b".
  std::string Sql() const;
  // Parameters in order.
  const std::vector<SqlParam>& params() const { return params_; }
  bool empty() const { return conds_.empty(); }

 private:
  std::vector<std::string> conds_;
  std::vector<SqlParam> params_;
};

// Concatenates parameter lists (where's first).
std::vector<SqlParam> Params(const std::vector<SqlParam>& a, std::vector<SqlParam> more = {});

}  // namespace cn::query
