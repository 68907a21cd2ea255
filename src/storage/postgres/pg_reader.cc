#include "storage/postgres/pg_reader.h"

#include <charconv>
#include <cstdint>
#include <limits>
#include <string>
#include <system_error>
#include <utility>

#include "storage/postgres/pg_connection.h"

namespace cn::storage {
namespace {

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

// `s` as a double, without locale: PostgreSQL's float8/numeric text ("1.5", "1e+20", "NaN",
// "Infinity", "-Infinity"), a boolean ("t"/"f") as 1/0. Anything else (and the rest after a
// number) reads as 0 / is ignored, as SQLite converts text.
double ParseDouble(std::string_view s) {
  if (s == "t") return 1;
  if (s == "f") return 0;
  double v = 0;
  const char* begin = s.data();
  if (!s.empty() && s.front() == '+') ++begin;  // from_chars takes no '+'
  const auto res = std::from_chars(begin, s.data() + s.size(), v);
  if (res.ec == std::errc::result_out_of_range) {
    // Beyond a double (numeric can be): too small reads as 0, too large as an infinity. numeric
    // prints no exponent, so a value below 1 has integer part 0.
    const std::size_t e = s.find_first_of("eE");
    const std::size_t digit = s.find_first_not_of("+-");
    const bool tiny = e != std::string_view::npos ? s.substr(e + 1).starts_with('-')
                                                  : digit < s.size() && s[digit] == '0';
    if (tiny) return 0.0;
    return s.front() == '-' ? -std::numeric_limits<double>::infinity()
                            : std::numeric_limits<double>::infinity();
  }
  return res.ec == std::errc() ? v : 0.0;
}

// `s` as an integer: int8/int4/numeric digits exactly; a boolean as 1/0; a fractional or
// exponent value (float8, numeric from avg()) truncated toward zero and clamped to int64.
std::int64_t ParseInt(std::string_view s) {
  if (s == "t") return 1;
  if (s == "f") return 0;
  std::int64_t v = 0;
  const char* begin = s.data();
  const char* end = s.data() + s.size();
  if (!s.empty() && s.front() == '+') ++begin;
  const auto res = std::from_chars(begin, end, v);
  if (res.ec == std::errc() && res.ptr == end) return v;
  const double d = ParseDouble(s);
  if (d != d) return 0;  // NaN
  if (d >= 9223372036854775807.0) return std::numeric_limits<std::int64_t>::max();
  if (d <= -9223372036854775808.0) return std::numeric_limits<std::int64_t>::min();
  return static_cast<std::int64_t>(d);
}

// One row of a text-format result.
class PgRow final : public SqlRow {
 public:
  PgRow(const PGresult* result, int row) : result_(result), row_(row), size_(PQnfields(result)) {}

  int size() const override { return size_; }
  bool IsNull(int col) const override { return PQgetisnull(result_, row_, col) != 0; }
  std::int64_t Int(int col) const override { return ParseInt(Text(col)); }
  double Double(int col) const override { return ParseDouble(Text(col)); }
  // A NULL reads as "" (libpq gives an empty string for it).
  std::string_view Text(int col) const override {
    if (col < 0 || col >= size_) return {};
    return {PQgetvalue(result_, row_, col),
            static_cast<std::size_t>(PQgetlength(result_, row_, col))};
  }

 private:
  const PGresult* result_;
  int row_;
  int size_;
};

// True when `sql` holds only blanks, ';' and comments: PostgreSQL answers that with an empty
// result, not an error, and PgStatus would take the missing SQLSTATE for a lost connection.
bool HasNoStatement(std::string_view sql) {
  std::size_t i = 0;
  while (i < sql.size()) {
    if (sql.substr(i, 2) == "--") {
      i = sql.find('\n', i);
    } else if (sql.substr(i, 2) == "/*") {
      i = sql.find("*/", i + 2);
      if (i != std::string_view::npos) i += 2;
    } else if (sql[i] == ' ' || sql[i] == '\t' || sql[i] == '\r' || sql[i] == '\n' ||
               sql[i] == ';') {
      ++i;
    } else {
      return false;
    }
  }
  return true;
}

std::string SessionSql(int statement_timeout_ms) {
  // application_name first: set_config is a SELECT, and PgConnection checks only the last
  // statement's result, which must be a command. Appending keeps a name the URL chose.
  // extra_float_digits = 3: float8 prints exactly, as the store's sessions read it.
  return "SELECT set_config('application_name', current_setting('application_name') || "
         "'-reader', false); "
         "SET client_min_messages = warning; SET bytea_output = 'hex'; "
         "SET extra_float_digits = 3; SET TIME ZONE 'UTC'; "
         "SET default_transaction_read_only = on; SET statement_timeout = " +
         std::to_string(statement_timeout_ms > 0 ? statement_timeout_ms : 0);
}

}  // namespace

std::string RewritePlaceholders(std::string_view sql, int* count) {
  std::string out;
  out.reserve(sql.size() + 16);
  int n = 0;
  std::size_t i = 0;
  // Copies sql[i..] up to and including the first `close` (or to the end).
  auto copy_through = [&](std::string_view close) {
    const std::size_t end = sql.find(close, i);
    const std::size_t stop = end == std::string_view::npos ? sql.size() : end + close.size();
    out.append(sql.substr(i, stop - i));
    i = stop;
  };
  while (i < sql.size()) {
    const char c = sql[i];
    if (c == '\'' || c == '"') {
      // A doubled quote inside ('it''s') closes and reopens: the same scan handles it.
      out += c;
      ++i;
      copy_through(std::string_view(&c, 1));
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      copy_through("\n");
    } else if (c == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
      out += "/*";
      i += 2;
      copy_through("*/");
    } else if (c == '?') {
      out += '$';
      out += std::to_string(++n);
      ++i;
    } else {
      out += c;
      ++i;
    }
  }
  *count = n;
  return out;
}

StatusOr<std::unique_ptr<PgReader>> PgReader::Open(const std::string& url,
                                                   int statement_timeout_ms) {
  if (url.empty()) return Status::InvalidArgument("PostgreSQL URL is empty");
  auto conn = std::make_unique<PgConnection>(url, SessionSql(statement_timeout_ms));
  if (Status s = conn->Ensure(); !s.ok()) return s.WithContext("opening a read connection");
  return std::unique_ptr<PgReader>(new PgReader(std::move(conn)));
}

PgReader::PgReader(std::unique_ptr<PgConnection> conn) : conn_(std::move(conn)) {}

PgReader::~PgReader() = default;

Status PgReader::Query(std::string_view sql, std::span<const SqlParam> params,
                       const std::function<bool(const SqlRow&)>& on_row) {
  if (HasNoStatement(sql)) return Status::Internal("no SQL statement in " + Head(sql));
  int placeholders = 0;
  const std::string text = RewritePlaceholders(sql, &placeholders);
  if (placeholders != static_cast<int>(params.size())) {
    return Status::Internal(Head(sql) + " has " + std::to_string(placeholders) +
                            " parameters but " + std::to_string(params.size()) + " were given");
  }
  PgParams values;
  values.Reserve(params.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    const SqlParam& p = params[i];
    switch (p.kind) {
      case SqlParam::Kind::kNull:
        values.AddNull();
        break;
      case SqlParam::Kind::kInt:
        values.AddInt(p.i);
        break;
      case SqlParam::Kind::kDouble:
        values.AddDouble(p.d);
        break;
      case SqlParam::Kind::kBool:
        values.AddBool(p.i != 0);
        break;
      case SqlParam::Kind::kText:
        // libpq sends text parameters as C strings: a NUL would silently cut the value short.
        if (p.s.find('\0') != std::string::npos) {
          return Status::InvalidArgument("parameter " + std::to_string(i + 1) + " of " + Head(sql) +
                                         " contains a NUL byte");
        }
        values.AddText(p.s);
        break;
    }
  }
  PgResult result;
  if (Status s = conn_->Query(text, values, "running " + Head(sql), &result); !s.ok()) return s;
  const int rows = PQntuples(result.get());
  for (int r = 0; r < rows; ++r) {
    if (!on_row(PgRow(result.get(), r))) break;
  }
  return Status::Ok();
}

}  // namespace cn::storage
