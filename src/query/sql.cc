#include "query/sql.h"

#include "common/time.h"

namespace cn::query {

std::string TsUs(SqlDialect d, std::string_view alias) {
  std::string p = alias.empty() ? std::string() : std::string(alias) + ".";
  if (d == SqlDialect::kSqlite) return p + "timestamp_us";
  return "COALESCE(" + p + "timestamp_us, (EXTRACT(EPOCH FROM " + p +
         "timestamp) * 1000000)::bigint)";
}

std::string HourUs(SqlDialect d) {
  if (d == SqlDialect::kSqlite) return "(timestamp_us / 3600000000 * 3600000000)";
  return "(EXTRACT(EPOCH FROM date_trunc('hour', timestamp)) * 1000000)::bigint";
}

std::string DayUs(SqlDialect d) {
  if (d == SqlDialect::kSqlite) return "(timestamp_us / 86400000000 * 86400000000)";
  return "(EXTRACT(EPOCH FROM date_trunc('day', timestamp)) * 1000000)::bigint";
}

std::string BucketUs(SqlDialect d, int minutes) {
  const std::string width = std::to_string(static_cast<std::int64_t>(minutes) * 60000000);
  if (d == SqlDialect::kSqlite) return "(timestamp_us / " + width + " * " + width + ")";
  return "((EXTRACT(EPOCH FROM timestamp) * 1000000)::bigint / " + width + " * " + width + ")";
}

std::string IsTrue(SqlDialect d, std::string_view column) {
  if (d == SqlDialect::kSqlite) return std::string(column) + " = 1";
  return "COALESCE(" + std::string(column) + ", false)";
}

std::string IdText(SqlDialect d, std::string_view column) {
  if (d == SqlDialect::kSqlite) return std::string(column);
  return std::string(column) + "::text";
}

std::string TimeParam(std::int64_t unix_micros) { return FormatIso8601(unix_micros); }

void Where::Add(std::string cond, std::vector<SqlParam> params) {
  conds_.push_back(std::move(cond));
  for (auto& p : params) params_.push_back(std::move(p));
}

std::string Where::Sql() const {
  std::string out;
  for (std::size_t i = 0; i < conds_.size(); ++i) {
    out += i == 0 ? " WHERE " : " AND ";
    out += "(" + conds_[i] + ")";
  }
  return out;
}

std::vector<SqlParam> Params(const std::vector<SqlParam>& a, std::vector<SqlParam> more) {
  std::vector<SqlParam> out = a;
  for (auto& p : more) out.push_back(std::move(p));
  return out;
}

}  // namespace cn::query
