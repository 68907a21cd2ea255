#include "storage/sqlite/sqlite_store.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <filesystem>
#include <limits>
#include <string>
#include <system_error>
#include <utility>

#include "common/header.h"
#include "common/json.h"
#include "common/time.h"
#include "storage/linking_row.h"
#include "storage/sqlite/connection.h"
#include "storage/sqlite/schema.h"
#include "storage/sqlite/sqlite_reader.h"

namespace cn::storage {
namespace {

// ---- Status helpers --------------------------------------------------------------------------

// `s` with `context` in front of its message, same code.
// Ends the open transaction, if any, keeping `cause` as the result. SQLite may already have
// rolled back by itself (e.g. after SQLITE_FULL), hence the check.
Status RollBack(Connection& db, Status cause) {
  if (db.InTransaction()) (void)db.Exec("ROLLBACK");
  return cause;
}

// ---- api_requests columns --------------------------------------------------------------------
// One list drives the INSERT (parameter ?N is column N-1) and the SELECT (result column N), so
// the two cannot drift apart.

// clang-format off
enum Column : int {
  kRequestId, kDomain, kTimestamp, kMethod, kPath, kHeaders, kBody, kModel, kRequestType,
  kResponseStatus, kResponseHeaders, kResponseBody, kResponseStreaming, kInputTokens,
  kOutputTokens, kTotalTokens, kCacheCreationInputTokens, kCacheReadInputTokens, kUsageData,
  kFirstTokenMs, kDurationMs, kError, kToolCallCount, kCurrentMessageHash, kParentMessageHash,
  kConversationId, kBranchId, kMessageCount, kParentTaskRequestId, kIsSubtask,
  kTaskToolInvocation, kAccountId, kParentRequestId, kSystemHash, kQueryString, kOutcome,
  kUpstreamAttempts, kStopReason, kResponseBodyRaw, kResponseBodyTruncated, kHeaderList,
  kResponseHeaderList, kTimestampUs, kFirstByteUs, kDurationUs, kUserId, kSessionId, kCostUsd,
  kQuotaStatus, kQuota5hUtilization, kQuota5hReset, kQuota7dUtilization, kQuota7dReset,
  kRatelimit, kApiKeyHash,
  kColumnCount
};

constexpr std::array<std::string_view, kColumnCount> kColumnNames = {
    "request_id", "domain", "timestamp", "method", "path", "headers", "body", "model",
    "request_type", "response_status", "response_headers", "response_body", "response_streaming",
    "input_tokens", "output_tokens", "total_tokens", "cache_creation_input_tokens",
    "cache_read_input_tokens", "usage_data", "first_token_ms", "duration_ms", "error",
    "tool_call_count", "current_message_hash", "parent_message_hash", "conversation_id",
    "branch_id", "message_count", "parent_task_request_id", "is_subtask", "task_tool_invocation",
    "account_id", "parent_request_id", "system_hash", "query_string", "outcome",
    "upstream_attempts", "stop_reason", "response_body_raw", "response_body_truncated",
    "header_list", "response_header_list", "timestamp_us", "first_byte_us", "duration_us",
    "user_id", "session_id", "cost_usd", "quota_status", "quota_5h_utilization",
    "quota_5h_reset", "quota_7d_utilization", "quota_7d_reset", "ratelimit", "api_key_hash",
};
// clang-format on

std::string ColumnList() {
  std::string s;
  for (std::string_view name : kColumnNames) {
    if (!s.empty()) s += ", ";
    s += name;
  }
  return s;
}

const std::string& InsertRequestSql() {
  static const std::string sql = [] {
    // Not INSERT OR IGNORE: that would also skip rows violating CHECK/NOT NULL, silently.
    std::string s = "INSERT INTO api_requests (" + ColumnList() + ") VALUES (";
    for (int i = 1; i <= kColumnCount; ++i) s += (i > 1 ? ", ?" : "?") + std::to_string(i);
    return s + ") ON CONFLICT (request_id) DO NOTHING";
  }();
  return sql;
}

const std::string& SelectRequestSql() {
  static const std::string sql =
      "SELECT " + ColumnList() + " FROM api_requests WHERE request_id = ?1";
  return sql;
}

// token_count is the chunk's ChunkUsage::output_tokens (enrichment read it), else 0.
constexpr std::string_view kInsertChunkSql =
    "INSERT INTO streaming_chunks (request_id, chunk_index, timestamp, data, token_count, "
    "timestamp_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
    "ON CONFLICT (request_id, chunk_index) DO NOTHING";

// Retention, oldest first through idx_requests_timestamp; chunks go by ON DELETE CASCADE.
constexpr std::string_view kPruneSql =
    "DELETE FROM api_requests WHERE request_id IN (SELECT request_id FROM api_requests "
    "WHERE timestamp < ?1 ORDER BY timestamp LIMIT ?2)";

// A newly inserted record's search text (migration 4), under the rowid its api_requests row
// just got (run right after that INSERT). OR REPLACE: a rowid is only reused after its row was
// deleted some other way than retention (which deletes the search row too); the stale search row
// then gives way.
constexpr std::string_view kInsertSearchSql =
    "INSERT OR REPLACE INTO cn_search (rowid, text, request_id) "
    "VALUES (last_insert_rowid(), ?1, ?2)";
constexpr std::string_view kInsertEventSql =
    "INSERT INTO cn_events (request_id, created_us) VALUES (?1, ?2)";
// The search rows of what kPruneSql deletes: the same selection (same plan, same transaction),
// by rowid, which FTS5 looks up directly.
constexpr std::string_view kPruneSearchSql =
    "DELETE FROM cn_search WHERE rowid IN (SELECT rowid FROM api_requests "
    "WHERE timestamp < ?1 ORDER BY timestamp LIMIT ?2)";
// The feed keeps 24 hours: every event before the first one younger than ?1 (seq order, so the
// feed never has holes and the scan stops at the first young row; all of them when none is).
constexpr std::string_view kPruneEventsSql =
    "DELETE FROM cn_events WHERE seq < coalesce((SELECT seq FROM cn_events WHERE created_us >= ?1 "
    "ORDER BY seq LIMIT 1), (SELECT max(seq) + 1 FROM cn_events))";
constexpr std::int64_t kEventRetentionMicros = std::int64_t{24} * 3600 * 1'000'000;

constexpr std::string_view kSelectChunksSql =
    "SELECT timestamp_us, data FROM streaming_chunks WHERE request_id = ?1 ORDER BY chunk_index";

// ---- Value encodings -------------------------------------------------------------------------

struct EncodedHeaders {
  std::string object;  // {"name": "value", ...}; empty when there are no headers
  std::string list;    // [["name", "value"], ...]; empty unless a name repeats
};

EncodedHeaders EncodeHeaders(const Headers& headers) {
  EncodedHeaders out;
  if (headers.empty()) return out;
  bool repeated = false;
  const auto merged = MergeRepeatedHeaders(headers, &repeated);
  out.object = "{";
  for (const auto& [name, value] : merged) {
    if (out.object.size() > 1) out.object += ',';
    AppendJsonString(out.object, name);
    out.object += ':';
    AppendJsonString(out.object, value);
  }
  out.object += '}';
  if (repeated) {
    out.list = "[";
    for (const Header& h : headers) {
      if (out.list.size() > 1) out.list += ',';
      out.list += '[';
      AppendJsonString(out.list, h.name);
      out.list += ',';
      AppendJsonString(out.list, h.value);
      out.list += ']';
    }
    out.list += ']';
  }
  return out;
}

// Inverse of EncodeHeaders, with SQLite's JSON parser on `db`.
StatusOr<Headers> DecodeHeaders(Connection& db, const std::string& object,
                                const std::string& list) {
  Headers headers;
  if (object.empty() && list.empty()) return headers;
  auto stmt =
      db.Prepare(list.empty() ? "SELECT key, value FROM json_each(?1) ORDER BY id"
                              : "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') "
                                "FROM json_each(?1) ORDER BY id");
  if (!stmt.ok()) return stmt.status();
  stmt->BindText(1, list.empty() ? object : list);
  int rc;
  while ((rc = stmt->Step()) == SQLITE_ROW) headers.push_back({stmt->Text(0), stmt->Text(1)});
  if (rc != SQLITE_DONE) return db.Error(rc, "decoding stored headers");
  return headers;
}

// What GetRecord assumes Record::response_body was when response_body_raw is NULL.
std::string_view ImpliedResponseBody(bool streaming, std::string_view response_json) {
  return streaming ? std::string_view() : response_json;
}

std::int64_t MicrosToMillis(std::int64_t us) { return us / 1000; }

// ---- Conversation linking (LoadForLinking / UpdateLinks) --------------------------------------

// The bounds of the `timestamp` text column that cover [lo_us, hi_us]: the column has millisecond
// precision (truncated), so these are a superset that lets idx_requests_timestamp narrow the scan;
// the exact microsecond predicates decide. Clamped to what FormatIso8601 can print.
constexpr std::int64_t kMaxIsoMicros = 253402300799999999;  // 9999-12-31T23:59:59.999999Z

// ?1 lo text, ?2 hi text, ?3 since_us, ?4 until_us, ?5 domain ('' = any), ?6 inference_only,
// ?7 cursor timestamp_us (NULL = none), ?8 cursor request_id, ?9 all_request_bodies, ?10 limit.
std::string LinkingScanSql(bool newest_first) {
  const char* dir = newest_first ? " DESC" : "";
  std::string sql =
      "SELECT request_id, domain, timestamp_us, method, path, request_type, message_count, "
      "response_status, outcome, response_body, current_message_hash, parent_message_hash, "
      "system_hash, conversation_id, branch_id, parent_request_id, parent_task_request_id, "
      "is_subtask, CASE WHEN ?9 OR (is_subtask AND parent_message_hash IS NULL) THEN body END "
      "FROM api_requests WHERE timestamp >= ?1 AND timestamp <= ?2 AND timestamp_us >= ?3 "
      "AND timestamp_us < ?4 AND (?5 = '' OR domain = ?5) "
      "AND (NOT ?6 OR request_type = 'inference') AND (?7 IS NULL OR (timestamp_us, request_id) ";
  sql += newest_first ? "<" : ">";
  sql += " (?7, ?8)) ORDER BY timestamp";
  sql += dir;
  sql += ", timestamp_us";
  sql += dir;
  sql += ", request_id";
  sql += dir;
  sql += " LIMIT ?10";
  return sql;
}

constexpr std::string_view kUpdateLinksSql =
    "UPDATE api_requests SET current_message_hash = ?2, parent_message_hash = ?3, "
    "system_hash = ?4, conversation_id = ?5, branch_id = ?6, parent_request_id = ?7, "
    "parent_task_request_id = ?8, is_subtask = ?9 WHERE request_id = ?1";

}  // namespace

// ---- Open / Migrate ----------------------------------------------------------------------------

StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(const SqliteOptions& options) {
  if (options.path.empty()) return Status::InvalidArgument("SQLite database path is empty");
  std::filesystem::path parent = std::filesystem::path(options.path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) {
      return Status::IoError("cannot create directory '" + parent.string() +
                             "' for the SQLite database '" + options.path + "': " + ec.message());
    }
  }
  const int busy_ms = static_cast<int>(options.busy_timeout.count());
  auto writer = Connection::Open({options.path, busy_ms, /*create=*/true});
  if (!writer.ok()) return writer.status();

  // The first statement reads the file header: a file that is not a database fails here.
  const std::string unusable = "'" + options.path + "' is not a usable SQLite database";
  // Takes effect only on a new, empty file (before WAL mode writes the header); an existing
  // database keeps the page size it was created with. A proxied exchange is a ~3.5 KB row: a
  // 16 KiB page holds four where a 4 KiB page holds one, so a batch appends (and the checkpoint
  // copies) a quarter as many table pages, and each page is two or three system calls
  // (docs/storage.md, "Write cost").
  if (Status s = (*writer)->Exec("PRAGMA page_size = 16384"); !s.ok()) {
    return s.WithContext(unusable);
  }
  {
    auto mode = (*writer)->Prepare("PRAGMA journal_mode = WAL");
    if (!mode.ok()) return mode.status().WithContext(unusable);
    int rc = mode->Step();
    if (rc != SQLITE_ROW) return (*writer)->Error(rc, "enabling WAL").WithContext(unusable);
    if (std::string got = mode->Text(0); got != "wal") {
      return Status::IoError("SQLite database '" + options.path +
                             "' cannot use WAL mode (journal_mode is '" + got +
                             "'); put DATA_DIR on a local file system");
    }
  }
  if (Status s = (*writer)->Exec(
          // A 32 MiB page cache keeps the index pages of a growing table in memory, so inserts
          // stop re-reading them from the OS (measured: most of the writer's CPU was pread).
          "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -32768; "
          "PRAGMA temp_store = MEMORY");
      !s.ok()) {
    return s;
  }

  auto reader = Connection::Open({options.path, busy_ms, /*create=*/false});
  if (!reader.ok()) return reader.status();
  if (Status s = (*reader)->Exec("PRAGMA query_only = ON; PRAGMA foreign_keys = ON"); !s.ok()) {
    return s;
  }
  return std::unique_ptr<SqliteStore>(
      new SqliteStore(options.path, busy_ms, std::move(*writer), std::move(*reader)));
}

SqliteStore::SqliteStore(std::string path, int busy_timeout_ms, std::unique_ptr<Connection> writer,
                         std::unique_ptr<Connection> reader)
    : path_(std::move(path)),
      busy_timeout_ms_(busy_timeout_ms),
      writer_(std::move(writer)),
      reader_(std::move(reader)) {}

SqliteStore::~SqliteStore() = default;

StatusOr<std::unique_ptr<SqlReader>> SqliteStore::OpenReader(int /*statement_timeout_ms*/) {
  auto reader = SqliteReader::Open(path_, busy_timeout_ms_);
  if (!reader.ok()) return reader.status();
  return std::unique_ptr<SqlReader>(std::move(reader).value());
}

int SqliteStore::LatestSchemaVersion() { return SqliteMigrations().back().version; }

Status SqliteStore::Migrate() {
  std::lock_guard lock(write_mu_);
  Connection& db = *writer_;
  Status s = db.Exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
      "name TEXT NOT NULL, applied_at TEXT NOT NULL)");
  if (!s.ok()) return s.WithContext("creating schema_migrations");

  // The version is read inside each migration's write transaction, so two processes migrating
  // the same file at once apply each migration exactly once.
  for (const Migration& m : SqliteMigrations()) {
    std::string what = "migration " + std::to_string(m.version) + " (" + std::string(m.name) +
                       ") of '" + path_ + "'";
    if (s = db.Exec("BEGIN IMMEDIATE"); !s.ok()) return s.WithContext(what);
    std::int64_t version = 0;
    int rc;
    {
      // Reset when it goes out of scope: a statement still pending on the connection would make
      // a DROP in the migration fail with SQLITE_LOCKED.
      auto current = db.Prepare("SELECT coalesce(max(version), 0) FROM schema_migrations");
      if (!current.ok()) return RollBack(db, current.status().WithContext(what));
      rc = current->Step();
      if (rc != SQLITE_ROW) return RollBack(db, db.Error(rc, "reading version").WithContext(what));
      version = current->Int(0);
    }
    if (version > LatestSchemaVersion()) {
      return RollBack(
          db, Status::InvalidArgument("SQLite database '" + path_ + "' has schema version " +
                                      std::to_string(version) +
                                      " but this claude-nexus knows versions up to " +
                                      std::to_string(LatestSchemaVersion()) +
                                      "; run a newer claude-nexus or point DATA_DIR elsewhere"));
    }
    if (version >= m.version) {
      (void)db.Exec("COMMIT");
      continue;
    }
    if (s = db.Exec(m.sql); !s.ok()) return RollBack(db, s.WithContext(what));
    auto record =
        db.Prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)");
    if (!record.ok()) return RollBack(db, record.status().WithContext(what));
    std::string applied_at = FormatIso8601(NowUnixMicros());
    record->BindInt(1, m.version);
    record->BindText(2, m.name);
    record->BindText(3, applied_at);
    if (rc = record->Step(); rc != SQLITE_DONE) {
      return RollBack(db, db.Error(rc, "recording version").WithContext(what));
    }
    if (s = db.Exec("COMMIT"); !s.ok()) return RollBack(db, s.WithContext(what));
  }
  return Status::Ok();
}

// ---- Writes ----------------------------------------------------------------------------------

Status SqliteStore::WriteBatch(std::span<const Record> records) {
  if (records.empty()) return Status::Ok();
  std::lock_guard lock(write_mu_);
  Connection& db = *writer_;
  const std::string context = "writing a batch of " + std::to_string(records.size()) + " records";
  if (Status s = db.Exec("BEGIN IMMEDIATE"); !s.ok()) return RollBack(db, s.WithContext(context));
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (Status s = InsertRecord(records[i]); !s.ok()) {
      return RollBack(db, s.WithContext(context + ", record " + std::to_string(i) + " (" +
                                        records[i].request_id + ")"));
    }
  }
  if (Status s = db.Exec("COMMIT"); !s.ok()) return RollBack(db, s.WithContext(context));
  return Status::Ok();
}

Status SqliteStore::InsertRecord(const Record& r) {
  Connection& db = *writer_;
  assert(db.InTransaction());
  auto stmt = db.Prepare(InsertRequestSql());
  if (!stmt.ok()) return stmt.status();
  Statement& q = *stmt;

  // Everything bound as text must outlive Step() (SQLITE_STATIC).
  const std::string timestamp = FormatIso8601(r.timestamp_unix_micros);
  const EncodedHeaders request_headers = EncodeHeaders(r.request_headers);
  const EncodedHeaders response_headers = EncodeHeaders(r.response_headers);
  const bool raw_implied =
      r.response_body == ImpliedResponseBody(r.response_streaming, r.response_json);

  auto p = [](Column c) { return static_cast<int>(c) + 1; };
  q.BindText(p(kRequestId), r.request_id);
  q.BindText(p(kDomain), r.domain);
  q.BindText(p(kTimestamp), timestamp);
  q.BindText(p(kMethod), r.method);
  q.BindText(p(kPath), r.path);
  q.BindTextOrNull(p(kHeaders), request_headers.object);
  q.BindTextOrNull(p(kBody), r.request_body);
  q.BindTextOrNull(p(kModel), r.model);
  q.BindTextOrNull(p(kRequestType), r.request_type);
  q.BindOptionalInt(p(kResponseStatus), r.response_status == 0
                                            ? std::nullopt
                                            : std::optional<std::int64_t>(r.response_status));
  q.BindTextOrNull(p(kResponseHeaders), response_headers.object);
  q.BindTextOrNull(p(kResponseBody), r.response_json);
  q.BindInt(p(kResponseStreaming), r.response_streaming);
  q.BindInt(p(kInputTokens), r.usage.input_tokens);
  q.BindInt(p(kOutputTokens), r.usage.output_tokens);
  q.BindInt(p(kTotalTokens), r.usage.input_tokens + r.usage.output_tokens);
  q.BindInt(p(kCacheCreationInputTokens), r.usage.cache_creation_input_tokens);
  q.BindInt(p(kCacheReadInputTokens), r.usage.cache_read_input_tokens);
  q.BindTextOrNull(p(kUsageData), r.usage_json);
  q.BindOptionalInt(p(kFirstTokenMs), r.first_byte_micros
                                          ? std::optional(MicrosToMillis(*r.first_byte_micros))
                                          : std::nullopt);
  q.BindInt(p(kDurationMs), MicrosToMillis(r.duration_micros));
  q.BindTextOrNull(p(kError), r.error);
  q.BindInt(p(kToolCallCount), r.tool_call_count);
  q.BindTextOrNull(p(kCurrentMessageHash), r.link.current_message_hash);
  q.BindTextOrNull(p(kParentMessageHash), r.link.parent_message_hash);
  q.BindTextOrNull(p(kConversationId), r.link.conversation_id);
  q.BindTextOrNull(p(kBranchId), r.link.branch_id);
  q.BindInt(p(kMessageCount), r.message_count);
  q.BindTextOrNull(p(kParentTaskRequestId), r.link.parent_task_request_id);
  q.BindInt(p(kIsSubtask), r.link.is_subtask);
  q.BindTextOrNull(p(kTaskToolInvocation), r.task_tool_invocation_json);
  q.BindOptionalText(p(kAccountId), r.account_id);
  q.BindTextOrNull(p(kParentRequestId), r.link.parent_request_id);
  q.BindTextOrNull(p(kSystemHash), r.link.system_hash);
  q.BindTextOrNull(p(kQueryString), r.query);
  q.BindText(p(kOutcome), OutcomeName(r.outcome));
  q.BindInt(p(kUpstreamAttempts), r.upstream_attempts);
  q.BindTextOrNull(p(kStopReason), r.stop_reason);
  if (raw_implied) {
    q.BindNull(p(kResponseBodyRaw));
  } else {
    q.BindText(p(kResponseBodyRaw), r.response_body);  // may be '' on purpose
  }
  q.BindInt(p(kResponseBodyTruncated), r.response_body_truncated);
  q.BindTextOrNull(p(kHeaderList), request_headers.list);
  q.BindTextOrNull(p(kResponseHeaderList), response_headers.list);
  q.BindInt(p(kTimestampUs), r.timestamp_unix_micros);
  q.BindOptionalInt(p(kFirstByteUs), r.first_byte_micros);
  q.BindInt(p(kDurationUs), r.duration_micros);
  q.BindTextOrNull(p(kUserId), r.user_id);
  q.BindTextOrNull(p(kSessionId), r.session_id);
  q.BindOptionalDouble(p(kCostUsd), r.cost_usd);
  q.BindTextOrNull(p(kQuotaStatus), r.quota.status);
  q.BindOptionalDouble(p(kQuota5hUtilization), r.quota.utilization_5h);
  q.BindOptionalInt(p(kQuota5hReset), r.quota.resets_at_5h);
  q.BindOptionalDouble(p(kQuota7dUtilization), r.quota.utilization_7d);
  q.BindOptionalInt(p(kQuota7dReset), r.quota.resets_at_7d);
  q.BindTextOrNull(p(kRatelimit), r.quota.json);
  q.BindTextOrNull(p(kApiKeyHash), r.api_key_hash);

  if (int rc = q.Step(); rc != SQLITE_DONE) return db.Error(rc, "inserting into api_requests");
  // Already stored (a replayed batch): leave the row, its chunks, its search row and its event
  // exactly as they are.
  if (db.Changes() == 0) return Status::Ok();

  if (!r.search_text.empty()) {
    auto search = db.Prepare(kInsertSearchSql);
    if (!search.ok()) return search.status();
    search->BindText(1, r.search_text);
    search->BindText(2, r.request_id);
    if (int rc = search->Step(); rc != SQLITE_DONE) return db.Error(rc, "inserting into cn_search");
  }
  auto event = db.Prepare(kInsertEventSql);
  if (!event.ok()) return event.status();
  event->BindText(1, r.request_id);
  event->BindInt(2, NowUnixMicros());
  if (int rc = event->Step(); rc != SQLITE_DONE) return db.Error(rc, "inserting into cn_events");

  auto chunk_stmt = db.Prepare(kInsertChunkSql);
  if (!chunk_stmt.ok()) return chunk_stmt.status();
  Statement& c = *chunk_stmt;
  auto usage = r.chunk_usage.begin();  // in chunk order
  for (std::size_t i = 0; i < r.chunks.size(); ++i) {
    const StreamChunk& chunk = r.chunks[i];
    const std::string at = FormatIso8601(chunk.at_unix_micros);
    while (usage != r.chunk_usage.end() && usage->chunk_index < i) ++usage;
    const bool has_usage = usage != r.chunk_usage.end() && usage->chunk_index == i;
    c.BindText(1, r.request_id);
    c.BindInt(2, static_cast<std::int64_t>(i));
    c.BindText(3, at);
    c.BindText(4, chunk.data);
    c.BindInt(5, has_usage ? usage->output_tokens : 0);
    c.BindInt(6, chunk.at_unix_micros);
    int rc = c.Step();
    if (rc != SQLITE_DONE) return db.Error(rc, "inserting into streaming_chunks");
    c.Reset();
  }
  return Status::Ok();
}

// ---- Reads -----------------------------------------------------------------------------------

Status SqliteStore::Ping() {
  std::lock_guard lock(read_mu_);
  auto stmt = reader_->Prepare("SELECT 1");
  if (!stmt.ok()) return stmt.status();
  if (int rc = stmt->Step(); rc != SQLITE_ROW) return reader_->Error(rc, "ping");
  return Status::Ok();
}

StatusOr<std::int64_t> SqliteStore::CountRecords() {
  std::lock_guard lock(read_mu_);
  auto stmt = reader_->Prepare("SELECT count(*) FROM api_requests");
  if (!stmt.ok()) return stmt.status();
  if (int rc = stmt->Step(); rc != SQLITE_ROW) return reader_->Error(rc, "counting records");
  return stmt->Int(0);
}

StatusOr<std::vector<DomainStats>> SqliteStore::LoadDomainStats() {
  std::lock_guard lock(read_mu_);
  auto stmt = reader_->Prepare(
      "SELECT domain, sum(input_tokens), sum(output_tokens), count(*), "
      "coalesce(sum(request_type = 'query_evaluation'), 0), "
      "coalesce(sum(request_type = 'inference'), 0), sum(tool_call_count), max(timestamp_us) "
      "FROM api_requests GROUP BY domain ORDER BY domain");
  if (!stmt.ok()) return stmt.status();
  std::vector<DomainStats> out;
  int rc;
  while ((rc = stmt->Step()) == SQLITE_ROW) {
    DomainStats& d = out.emplace_back();
    d.domain = stmt->Text(0);
    d.input_tokens = stmt->Int(1);
    d.output_tokens = stmt->Int(2);
    d.request_count = stmt->Int(3);
    d.query_evaluation_count = stmt->Int(4);
    d.inference_count = stmt->Int(5);
    d.tool_call_count = stmt->Int(6);
    d.last_updated_unix_micros = stmt->Int(7);
  }
  if (rc != SQLITE_DONE) return reader_->Error(rc, "loading domain stats");
  return out;
}

StatusOr<std::optional<Record>> SqliteStore::GetRecord(std::string_view request_id) {
  std::lock_guard lock(read_mu_);
  Connection& db = *reader_;
  // One read transaction, so the row and its chunks come from the same snapshot.
  if (Status s = db.Exec("BEGIN"); !s.ok()) return s;
  auto result = [&]() -> StatusOr<std::optional<Record>> {
    auto stmt = db.Prepare(SelectRequestSql());
    if (!stmt.ok()) return stmt.status();
    Statement& q = *stmt;
    q.BindText(1, request_id);
    int rc = q.Step();
    if (rc == SQLITE_DONE) return std::optional<Record>();
    if (rc != SQLITE_ROW) return db.Error(rc, "reading api_requests");

    Record r;
    r.enriched = true;
    r.request_id = q.Text(kRequestId);
    r.domain = q.Text(kDomain);
    r.timestamp_unix_micros = q.Int(kTimestampUs);
    r.method = q.Text(kMethod);
    r.path = q.Text(kPath);
    r.query = q.Text(kQueryString);
    r.request_body = q.Text(kBody);
    r.response_status = static_cast<int>(q.Int(kResponseStatus));
    r.response_json = q.Text(kResponseBody);
    r.response_streaming = q.Int(kResponseStreaming) != 0;
    r.response_body = q.IsNull(kResponseBodyRaw)
                          ? std::string(ImpliedResponseBody(r.response_streaming, r.response_json))
                          : q.Text(kResponseBodyRaw);
    r.response_body_truncated = q.Int(kResponseBodyTruncated) != 0;
    r.first_byte_micros = q.OptionalInt(kFirstByteUs);
    r.duration_micros = q.Int(kDurationUs);
    r.upstream_attempts = static_cast<int>(q.Int(kUpstreamAttempts));
    r.outcome = StoredOutcome(q.Text(kOutcome));
    r.error = q.Text(kError);
    r.account_id = q.OptionalText(kAccountId);
    r.model = q.Text(kModel);
    r.request_type = q.Text(kRequestType);
    r.message_count = static_cast<int>(q.Int(kMessageCount));
    r.usage.input_tokens = q.Int(kInputTokens);
    r.usage.output_tokens = q.Int(kOutputTokens);
    r.usage.cache_creation_input_tokens = q.Int(kCacheCreationInputTokens);
    r.usage.cache_read_input_tokens = q.Int(kCacheReadInputTokens);
    r.usage_json = q.Text(kUsageData);
    r.tool_call_count = static_cast<int>(q.Int(kToolCallCount));
    r.task_tool_invocation_json = q.Text(kTaskToolInvocation);
    r.stop_reason = q.Text(kStopReason);
    r.link.current_message_hash = q.Text(kCurrentMessageHash);
    r.link.parent_message_hash = q.Text(kParentMessageHash);
    r.link.system_hash = q.Text(kSystemHash);
    r.link.conversation_id = q.Text(kConversationId);
    r.link.branch_id = q.Text(kBranchId);
    r.link.parent_request_id = q.Text(kParentRequestId);
    r.link.parent_task_request_id = q.Text(kParentTaskRequestId);
    r.link.is_subtask = q.Int(kIsSubtask) != 0;
    r.user_id = q.Text(kUserId);
    r.session_id = q.Text(kSessionId);
    r.cost_usd = q.OptionalDouble(kCostUsd);
    r.quota.status = q.Text(kQuotaStatus);
    r.quota.utilization_5h = q.OptionalDouble(kQuota5hUtilization);
    r.quota.resets_at_5h = q.OptionalInt(kQuota5hReset);
    r.quota.utilization_7d = q.OptionalDouble(kQuota7dUtilization);
    r.quota.resets_at_7d = q.OptionalInt(kQuota7dReset);
    r.quota.json = q.Text(kRatelimit);
    r.api_key_hash = q.Text(kApiKeyHash);

    auto request_headers = DecodeHeaders(db, q.Text(kHeaders), q.Text(kHeaderList));
    if (!request_headers.ok()) return request_headers.status();
    r.request_headers = std::move(*request_headers);
    auto response_headers =
        DecodeHeaders(db, q.Text(kResponseHeaders), q.Text(kResponseHeaderList));
    if (!response_headers.ok()) return response_headers.status();
    r.response_headers = std::move(*response_headers);

    auto chunks = db.Prepare(kSelectChunksSql);
    if (!chunks.ok()) return chunks.status();
    chunks->BindText(1, request_id);
    while ((rc = chunks->Step()) == SQLITE_ROW) {
      r.chunks.push_back({chunks->Int(0), chunks->Text(1)});
    }
    if (rc != SQLITE_DONE) return db.Error(rc, "reading streaming_chunks");
    return std::optional<Record>(std::move(r));
  }();
  (void)db.Exec("COMMIT");
  return result;
}

// ---- Retention -------------------------------------------------------------------------------

StatusOr<std::int64_t> SqliteStore::PruneOlderThan(std::int64_t cutoff_unix_micros,
                                                   std::int64_t max_rows) {
  if (max_rows <= 0) return std::int64_t{0};
  // The `timestamp` text has millisecond precision: an exchange in the cutoff's own millisecond
  // is kept until the next pass.
  const std::string cutoff = FormatIso8601(cutoff_unix_micros);
  std::lock_guard lock(write_mu_);
  Connection& db = *writer_;
  const std::string context = "pruning old exchanges";
  // One short transaction: the search rows, then their requests (chunks by cascade), then the
  // feed's old events.
  if (Status s = db.Exec("BEGIN IMMEDIATE"); !s.ok()) return RollBack(db, s.WithContext(context));
  auto run = [&](std::string_view sql, std::string_view what) -> Status {
    auto stmt = db.Prepare(sql);
    if (!stmt.ok()) return stmt.status();
    stmt->BindText(1, cutoff);
    stmt->BindInt(2, max_rows);
    if (int rc = stmt->Step(); rc != SQLITE_DONE) return db.Error(rc, what);
    return Status::Ok();
  };
  if (Status s = run(kPruneSearchSql, "deleting from cn_search"); !s.ok()) {
    return RollBack(db, s.WithContext(context));
  }
  if (Status s = run(kPruneSql, "deleting"); !s.ok()) return RollBack(db, s.WithContext(context));
  const std::int64_t pruned = db.Changes();
  {
    auto stmt = db.Prepare(kPruneEventsSql);
    if (!stmt.ok()) return RollBack(db, stmt.status().WithContext(context));
    stmt->BindInt(1, NowUnixMicros() - kEventRetentionMicros);
    if (int rc = stmt->Step(); rc != SQLITE_DONE) {
      return RollBack(db, db.Error(rc, "deleting from cn_events").WithContext(context));
    }
  }
  if (Status s = db.Exec("COMMIT"); !s.ok()) return RollBack(db, s.WithContext(context));
  return pruned;
}

// ---- Conversation linking ----------------------------------------------------------------------

StatusOr<std::vector<Record>> SqliteStore::LoadForLinking(const LinkingScan& scan) {
  std::int64_t lo = std::max<std::int64_t>(scan.since_unix_micros, 0);
  std::int64_t hi = std::min<std::int64_t>(scan.until_unix_micros, kMaxIsoMicros);
  if (scan.after) {
    if (scan.newest_first) {
      hi = std::min(hi, scan.after->first);
    } else {
      lo = std::max(lo, scan.after->first);
    }
  }
  std::vector<Record> out;
  if (lo > hi || scan.limit == 0) return out;
  const std::string lo_text = FormatIso8601(lo);
  const std::string hi_text = FormatIso8601(hi);

  std::lock_guard lock(read_mu_);
  static const std::string kAscending = LinkingScanSql(false);
  static const std::string kDescending = LinkingScanSql(true);
  auto stmt = reader_->Prepare(scan.newest_first ? kDescending : kAscending);
  if (!stmt.ok()) return stmt.status();
  Statement& q = *stmt;
  q.BindText(1, lo_text);
  q.BindText(2, hi_text);
  q.BindInt(3, scan.since_unix_micros);
  q.BindInt(4, scan.until_unix_micros);
  q.BindText(5, scan.domain);
  q.BindInt(6, scan.inference_only);
  if (scan.after) {
    q.BindInt(7, scan.after->first);
    q.BindText(8, scan.after->second);
  } else {
    q.BindNull(7);
    q.BindNull(8);
  }
  q.BindInt(9, scan.all_request_bodies);
  q.BindInt(10, static_cast<std::int64_t>(
                    std::min<std::size_t>(scan.limit, std::numeric_limits<std::int64_t>::max())));
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) {
    Record& r = out.emplace_back();
    ReadLinkingRow(q, r);
    r.link.is_subtask = q.Int(17) != 0;
    r.request_body = q.Text(18);
  }
  if (rc != SQLITE_DONE) return reader_->Error(rc, "loading requests for conversation linking");
  return out;
}

Status SqliteStore::UpdateLinks(std::span<const Record> records) {
  if (records.empty()) return Status::Ok();
  std::lock_guard lock(write_mu_);
  Connection& db = *writer_;
  const std::string context =
      "updating the conversation links of " + std::to_string(records.size()) + " records";
  if (Status s = db.Exec("BEGIN IMMEDIATE"); !s.ok()) return RollBack(db, s.WithContext(context));
  auto stmt = db.Prepare(kUpdateLinksSql);
  if (!stmt.ok()) return RollBack(db, stmt.status().WithContext(context));
  Statement& q = *stmt;
  for (const Record& r : records) {
    q.BindText(1, r.request_id);
    q.BindTextOrNull(2, r.link.current_message_hash);
    q.BindTextOrNull(3, r.link.parent_message_hash);
    q.BindTextOrNull(4, r.link.system_hash);
    q.BindTextOrNull(5, r.link.conversation_id);
    q.BindTextOrNull(6, r.link.branch_id);
    q.BindTextOrNull(7, r.link.parent_request_id);
    q.BindTextOrNull(8, r.link.parent_task_request_id);
    q.BindInt(9, r.link.is_subtask);
    if (int rc = q.Step(); rc != SQLITE_DONE) {
      return RollBack(
          db,
          db.Error(rc, "updating api_requests").WithContext(context + ", request " + r.request_id));
    }
    q.Reset();
  }
  if (Status s = db.Exec("COMMIT"); !s.ok()) return RollBack(db, s.WithContext(context));
  return Status::Ok();
}

}  // namespace cn::storage
