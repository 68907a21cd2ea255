// PgConnection: one libpq connection that reconnects on demand, plus the mapping from libpq
// errors and SQLSTATEs to cn::Status. Internal to storage/postgres.
//
// Thread-safety: none. A PgConnection is used by one thread at a time; PostgresStore guards each
// of its connections with its own mutex.
//
// Every call that may wait on the network is bounded: connect_timeout (libpq, default 5 s here),
// TCP keepalives and tcp_user_timeout (a dead peer is noticed in ~30 s), and statement_timeout
// for the session (set by the owner). Messages name the server as host:port/dbname, never the
// password.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace cn::storage {

// Maps a failed result (or a broken connection when `result` is null) to a Status:
// kUnavailable when retrying later may help (connection lost, server shutting down or starting,
// too many connections, serialization failure, deadlock, lock or statement timeout),
// kInvalidArgument for data and constraint errors (SQLSTATE classes 22 and 23: retrying the
// same data cannot help), kInternal for the rest (bad SQL, missing tables: bugs or a wrong
// database). The message carries `what`, the server's message and (shortened) detail.
Status PgStatus(PGconn* conn, const PGresult* result, std::string_view what);

// Owns a PGresult.
struct PgResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, PgResultDeleter>;

// Parameters of one statement, bound in text format except AddBytes (binary: bytea, any bytes).
// Values are copied; the pointers handed to libpq are computed at execution.
class PgParams {
 public:
  void Reserve(std::size_t n);
  // `v` must not contain NUL bytes (text parameters are C strings); see SanitizeUtf8.
  void AddText(std::string_view v);
  void AddTextOrNull(std::string_view v);  // empty -> NULL
  void AddNull();
  void AddInt(std::int64_t v);
  // The shortest text that reads back as exactly `v` (NaN and infinities spelled as PostgreSQL
  // reads them).
  void AddDouble(double v);
  void AddBool(bool v);
  void AddBytes(std::string_view v);  // bytea, binary format
  std::size_t size() const { return values_.size(); }

 private:
  friend class PgConnection;
  std::vector<std::string> values_;
  std::vector<bool> null_;
  std::vector<int> formats_;
};

class PgConnection {
 public:
  // `conninfo` is a postgres:// URL or a key=value string (libpq's syntax, every libpq option
  // works, e.g. sslmode). `application_name` and the timeouts are defaults the URL may override.
  // `session_sql` runs after every (re)connect (e.g. SET statement_timeout).
  PgConnection(std::string conninfo, std::string session_sql);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Connects if not connected (or the connection broke). kUnavailable when the server cannot
  // be reached; kInvalidArgument for a malformed URL or rejected credentials.
  Status Ensure();

  // Runs SQL without parameters (may hold several statements). Result rows are discarded.
  Status Exec(std::string_view sql, std::string_view what);
  // Runs one statement with parameters; text results. On success *out holds the result.
  Status Query(const std::string& sql, const PgParams& params, std::string_view what,
               PgResult* out);
  Status Query(const std::string& sql, std::string_view what, PgResult* out);

  bool InTransaction() const;
  // ROLLBACK if a transaction is open; errors ignored (the connection may be gone).
  void RollBackQuietly();
  // Drops the connection (the next Ensure reconnects).
  void Close();

  // "host:port/dbname" for messages (no user, no password).
  std::string Describe() const;
  PGconn* raw() { return conn_; }

 private:
  const std::string conninfo_;
  const std::string session_sql_;
  PGconn* conn_ = nullptr;
};

// "\x0a1b..." (bytea in text output format) -> bytes. Returns false on malformed input.
bool DecodeByteaHex(std::string_view text, std::string* out);

}  // namespace cn::storage
