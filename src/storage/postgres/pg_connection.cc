#include "storage/postgres/pg_connection.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <utility>

namespace cn::storage {
namespace {

std::string Trimmed(const char* s) {
  std::string out = s == nullptr ? "" : s;
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

// "Failing row contains (...)" repeats whole bodies; the request_id comes first, so the head is
// what a reader needs.
std::string Shortened(std::string s, std::size_t max) {
  if (s.size() > max) {
    s.resize(max);
    s += "...";
  }
  return s;
}

bool IsRetryableSqlState(std::string_view state) {
  if (state.size() != 5) return false;
  const std::string_view cls = state.substr(0, 2);
  if (cls == "08" || cls == "53" || cls == "57" || cls == "58") return true;  // connection,
  // resources, operator intervention (shutdown, cancel, statement timeout), system errors
  return state == "40001" || state == "40P01" || state == "55P03";
}

}  // namespace

Status PgStatus(PGconn* conn, const PGresult* result, std::string_view what) {
  std::string message(what);
  message += ": ";
  const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  std::string primary = result ? Trimmed(PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY)) : "";
  if (primary.empty()) primary = Trimmed(conn ? PQerrorMessage(conn) : "no connection");
  message += primary;
  if (result) {
    std::string detail = Trimmed(PQresultErrorField(result, PG_DIAG_MESSAGE_DETAIL));
    if (!detail.empty()) message += " (" + Shortened(std::move(detail), 400) + ")";
  }
  if (state != nullptr) {
    message += " [SQLSTATE ";
    message += state;
    message += "]";
  }
  const bool broken = conn == nullptr || PQstatus(conn) != CONNECTION_OK;
  if (state == nullptr || broken) return Status::Unavailable(std::move(message));
  const std::string_view s(state);
  if (IsRetryableSqlState(s)) return Status::Unavailable(std::move(message));
  if (s.starts_with("22") || s.starts_with("23"))
    return Status::InvalidArgument(std::move(message));
  return Status::Internal(std::move(message));
}

// ---- PgParams --------------------------------------------------------------------------------

void PgParams::Reserve(std::size_t n) {
  values_.reserve(n);
  null_.reserve(n);
  formats_.reserve(n);
}

void PgParams::AddText(std::string_view v) {
  values_.emplace_back(v);
  null_.push_back(false);
  formats_.push_back(0);
}

void PgParams::AddTextOrNull(std::string_view v) {
  if (v.empty()) {
    AddNull();
  } else {
    AddText(v);
  }
}

void PgParams::AddNull() {
  values_.emplace_back();
  null_.push_back(true);
  formats_.push_back(0);
}

void PgParams::AddInt(std::int64_t v) { AddText(std::to_string(v)); }
void PgParams::AddDouble(double v) {
  if (std::isnan(v)) return AddText("NaN");
  if (std::isinf(v)) return AddText(v > 0 ? "Infinity" : "-Infinity");
  char buf[32];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);  // shortest round trip, no locale
  AddText(std::string_view(buf, static_cast<std::size_t>(res.ptr - buf)));
}
void PgParams::AddBool(bool v) { AddText(v ? "t" : "f"); }

void PgParams::AddBytes(std::string_view v) {
  values_.emplace_back(v);
  null_.push_back(false);
  formats_.push_back(1);
}

// ---- PgConnection ----------------------------------------------------------------------------

PgConnection::PgConnection(std::string conninfo, std::string session_sql)
    : conninfo_(std::move(conninfo)), session_sql_(std::move(session_sql)) {}

PgConnection::~PgConnection() { Close(); }

void PgConnection::Close() {
  if (conn_ != nullptr) PQfinish(conn_);
  conn_ = nullptr;
}

std::string PgConnection::Describe() const {
  if (conn_ == nullptr) return "PostgreSQL";
  const char* host = PQhost(conn_);
  const char* port = PQport(conn_);
  const char* db = PQdb(conn_);
  return std::string("PostgreSQL at ") + (host ? host : "?") + ":" + (port ? port : "?") + "/" +
         (db ? db : "?");
}

Status PgConnection::Ensure() {
  if (conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK) return Status::Ok();
  Close();
  char* parse_error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(conninfo_.c_str(), &parse_error);
  if (parsed == nullptr) {
    std::string why = Trimmed(parse_error ? parse_error : "out of memory");
    PQfreemem(parse_error);
    // libpq's message quotes the offending part, never the whole string.
    return Status::InvalidArgument("DATABASE_URL is not a valid PostgreSQL connection string: " +
                                   why);
  }
  PQconninfoFree(parsed);

  // Defaults first: the URL's own options (after expand_dbname) override them.
  static constexpr std::array<const char*, 9> kKeys = {"connect_timeout",
                                                       "application_name",
                                                       "keepalives",
                                                       "keepalives_idle",
                                                       "keepalives_interval",
                                                       "keepalives_count",
                                                       "tcp_user_timeout",
                                                       "dbname",
                                                       nullptr};
  const std::array<const char*, 9> values = {"5",     "claude-nexus",    "1",    "10", "5", "3",
                                             "30000", conninfo_.c_str(), nullptr};
  conn_ = PQconnectdbParams(kKeys.data(), values.data(), /*expand_dbname=*/1);
  if (conn_ == nullptr) return Status::Unavailable("PostgreSQL: out of memory connecting");
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string why = Trimmed(PQerrorMessage(conn_));
    std::string where = Describe();
    Close();
    const bool rejected = why.find("authentication failed") != std::string::npos ||
                          why.find("does not exist") != std::string::npos ||
                          why.find("no password supplied") != std::string::npos ||
                          why.find("no pg_hba.conf entry") != std::string::npos;
    std::string message = "cannot connect to " + where + ": " + why;
    return rejected ? Status::InvalidArgument(std::move(message))
                    : Status::Unavailable(std::move(message));
  }
  if (!session_sql_.empty()) {
    PgResult r(PQexec(conn_, session_sql_.c_str()));
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
      Status s = PgStatus(conn_, r.get(), "configuring the session");
      Close();
      return s;
    }
  }
  return Status::Ok();
}

Status PgConnection::Exec(std::string_view sql, std::string_view what) {
  if (Status s = Ensure(); !s.ok()) return s;
  PgResult r(PQexec(conn_, std::string(sql).c_str()));
  const ExecStatusType st = PQresultStatus(r.get());
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return Status::Ok();
  return PgStatus(conn_, r.get(), what);
}

Status PgConnection::Query(const std::string& sql, const PgParams& params, std::string_view what,
                           PgResult* out) {
  if (Status s = Ensure(); !s.ok()) return s;
  const std::size_t n = params.values_.size();
  std::vector<const char*> values(n);
  std::vector<int> lengths(n);
  for (std::size_t i = 0; i < n; ++i) {
    values[i] = params.null_[i] ? nullptr : params.values_[i].c_str();
    lengths[i] = static_cast<int>(params.values_[i].size());
  }
  PgResult r(PQexecParams(conn_, sql.c_str(), static_cast<int>(n), nullptr, values.data(),
                          lengths.data(), params.formats_.data(), /*resultFormat=*/0));
  const ExecStatusType st = PQresultStatus(r.get());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return PgStatus(conn_, r.get(), what);
  if (out != nullptr) *out = std::move(r);
  return Status::Ok();
}

Status PgConnection::Query(const std::string& sql, std::string_view what, PgResult* out) {
  return Query(sql, PgParams(), what, out);
}

bool PgConnection::InTransaction() const {
  if (conn_ == nullptr) return false;
  const PGTransactionStatusType t = PQtransactionStatus(conn_);
  return t == PQTRANS_INTRANS || t == PQTRANS_INERROR;
}

void PgConnection::RollBackQuietly() {
  if (!InTransaction()) return;
  PgResult r(PQexec(conn_, "ROLLBACK"));
}

bool DecodeByteaHex(std::string_view text, std::string* out) {
  out->clear();
  if (!text.starts_with("\\x") || text.size() % 2 != 0) return false;
  out->reserve((text.size() - 2) / 2);
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 2; i < text.size(); i += 2) {
    const int hi = nibble(text[i]);
    const int lo = nibble(text[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi << 4 | lo));
  }
  return true;
}

}  // namespace cn::storage
