// PgReader: an SqlReader (storage/reader.h) on its own PostgreSQL session, read-only
// (default_transaction_read_only), in UTC, with the statement_timeout it was opened with
// (docs/storage.md, "Read connections").
//
// Thread-safety: none. One thread at a time uses a reader (the SqlReader contract); readers share
// nothing with each other or with the PostgresStore that opened them.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "common/status.h"
#include "storage/reader.h"

namespace cn::storage {

class PgConnection;

// `sql` with each `?` placeholder replaced by $1, $2, ... in order, leaving alone a `?` inside a
// single-quoted literal ('...', '' escapes a quote), a double-quoted identifier, a -- comment or a
// /* */ comment. *count receives the number of placeholders. (PostgreSQL's jsonb `?` operators
// therefore cannot appear in reader SQL; jsonb_exists() and friends can.)
std::string RewritePlaceholders(std::string_view sql, int* count);

class PgReader final : public SqlReader {
 public:
  // Connects to `url` (a postgres:// URL or key=value string, as PostgresOptions::url) and
  // configures the session; `statement_timeout_ms` bounds each statement (0 or less: no bound).
  // The session's application_name is the store's ("claude-nexus" unless the URL sets one) with
  // "-reader" appended. Errors as PgConnection::Ensure (kUnavailable: unreachable;
  // kInvalidArgument: bad URL or credentials).
  static StatusOr<std::unique_ptr<PgReader>> Open(const std::string& url, int statement_timeout_ms);

  ~PgReader() override;
  PgReader(const PgReader&) = delete;
  PgReader& operator=(const PgReader&) = delete;

  SqlDialect dialect() const override { return SqlDialect::kPostgres; }

  // Rewrites the placeholders (a count that differs from params.size() is kInternal), runs the
  // statement with untyped text parameters, so PostgreSQL infers each one's type from its use,
  // and hands the text-format rows to `on_row`. The whole result is in memory before the first
  // row is handed over (libpq's default): keep results bounded (LIMIT). A broken session is
  // re-opened first.
  Status Query(std::string_view sql, std::span<const SqlParam> params,
               const std::function<bool(const SqlRow&)>& on_row) override;

 private:
  explicit PgReader(std::unique_ptr<PgConnection> conn);

  std::unique_ptr<PgConnection> conn_;
};

}  // namespace cn::storage
