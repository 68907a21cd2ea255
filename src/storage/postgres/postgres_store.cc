#include "storage/postgres/postgres_store.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <charconv>
#include <cstdlib>
#include <map>
#include <string>
#include <unordered_set>
#include <utility>

#include "common/ids.h"
#include "common/log.h"
#include "common/time.h"
#include "storage/linking_row.h"
#include "storage/postgres/pg_codec.h"
#include "storage/postgres/pg_connection.h"
#include "storage/postgres/pg_reader.h"
#include "storage/postgres/pg_schema.h"

namespace cn::storage {
namespace {

using pg::JsonbCanHold;
using pg::SanitizeUtf8;

// Arbitrary constant: the advisory lock that serialises concurrent Migrate() calls.
constexpr std::int64_t kMigrationLockKey = 0x636e5f6d696772;  // "cn_migr"
// Parameters per statement stay below libpq's limit of 65535.
constexpr std::size_t kMaxParams = 60000;

// ---- api_requests columns --------------------------------------------------------------------
// One list drives the INSERT (with the cast of each parameter); AppendRequestRow adds the values
// in the same order.

struct Column {
  std::string_view name;
  std::string_view cast;
};
// clang-format off
constexpr std::array<Column, 59> kRequestColumns = {{
    {"request_id", "::uuid"}, {"domain", ""}, {"timestamp", "::timestamptz"}, {"method", ""},
    {"path", ""}, {"headers", "::jsonb"}, {"body", "::jsonb"}, {"model", ""},
    {"request_type", ""}, {"response_status", "::int"}, {"response_headers", "::jsonb"},
    {"response_body", "::jsonb"}, {"response_streaming", "::bool"}, {"input_tokens", "::int"},
    {"output_tokens", "::int"}, {"total_tokens", "::int"},
    {"cache_creation_input_tokens", "::int"}, {"cache_read_input_tokens", "::int"},
    {"usage_data", "::jsonb"}, {"first_token_ms", "::int"}, {"duration_ms", "::int"},
    {"error", ""}, {"tool_call_count", "::int"}, {"current_message_hash", ""},
    {"parent_message_hash", ""}, {"conversation_id", "::uuid"}, {"branch_id", ""},
    {"message_count", "::int"}, {"parent_task_request_id", "::uuid"}, {"is_subtask", "::bool"},
    {"task_tool_invocation", "::jsonb"}, {"account_id", ""}, {"parent_request_id", "::uuid"},
    {"system_hash", ""}, {"query_string", ""}, {"outcome", ""}, {"upstream_attempts", "::int"},
    {"stop_reason", ""}, {"response_body_truncated", "::bool"}, {"timestamp_us", "::bigint"},
    {"first_byte_us", "::bigint"}, {"duration_us", "::bigint"}, {"header_list", "::bytea"},
    {"response_header_list", "::bytea"}, {"body_raw", "::bytea"},
    {"response_body_raw", "::bytea"}, {"response_json_text", ""}, {"usage_json_text", ""},
    {"task_tool_invocation_text", ""}, {"user_id", ""}, {"session_id", ""},
    {"cost_usd", "::float8"}, {"quota_status", ""}, {"quota_5h_utilization", "::float8"},
    {"quota_5h_reset", "::bigint"}, {"quota_7d_utilization", "::float8"},
    {"quota_7d_reset", "::bigint"}, {"ratelimit", "::jsonb"}, {"api_key_hash", ""},
}};

constexpr std::array<Column, 7> kChunkColumns = {{
    {"request_id", "::uuid"}, {"chunk_index", "::int"}, {"timestamp", "::timestamptz"},
    {"data", ""}, {"token_count", "::int"}, {"timestamp_us", "::bigint"}, {"data_raw", "::bytea"},
}};
// clang-format on

// "INSERT INTO table (cols) VALUES ($1::t, ...), (...)" for `rows` rows.
template <std::size_t N>
std::string MultiRowInsert(std::string_view table, const std::array<Column, N>& cols,
                           std::size_t rows) {
  std::string sql = "INSERT INTO ";
  sql += table;
  sql += " (";
  for (std::size_t c = 0; c < N; ++c) {
    if (c > 0) sql += ", ";
    sql += '"';
    sql += cols[c].name;
    sql += '"';
  }
  sql += ") VALUES ";
  std::size_t p = 1;
  for (std::size_t r = 0; r < rows; ++r) {
    sql += r > 0 ? ", (" : "(";
    for (std::size_t c = 0; c < N; ++c) {
      if (c > 0) sql += ", ";
      sql += '$';
      sql += std::to_string(p++);
      sql += cols[c].cast;
    }
    sql += ')';
  }
  return sql;
}

// What GetRecord assumes Record::response_body was when response_body_raw is NULL: nothing for
// a stream we wrote; for the original's rows (never streaming, no raw column) the JSON body.
std::string_view ImpliedResponseBody(bool streaming, std::string_view response_json) {
  return streaming ? std::string_view() : response_json;
}

void AddOptionalInt(PgParams& p, const std::optional<std::int64_t>& v) {
  if (v) {
    p.AddInt(*v);
  } else {
    p.AddNull();
  }
}

void AddOptionalDouble(PgParams& p, const std::optional<double>& v) {
  if (v) {
    p.AddDouble(*v);
  } else {
    p.AddNull();
  }
}

// A derived JSON field: the JSONB column when it can hold it, else the *_text column.
void AddJson(PgParams& p, const std::string& json, std::string* fallback) {
  if (json.empty()) {
    p.AddNull();
  } else if (JsonbCanHold(json)) {
    p.AddText(json);
  } else {
    p.AddNull();
    *fallback = SanitizeUtf8(json);
  }
}

void AppendRequestRow(const Record& r, PostgresOptions::RawBodies raw_bodies, PgParams& p) {
  std::string response_json_text, usage_json_text, task_text;
  const bool body_jsonb = !r.request_body.empty() && JsonbCanHold(r.request_body);
  // Unlike SQLite, a JSON body cannot be implied by response_json here: JSONB re-spells it.
  const bool raw_implied = r.response_streaming && r.response_body.empty();
  const std::string headers = pg::HeadersJsonObject(r.request_headers);
  const std::string response_headers = pg::HeadersJsonObject(r.response_headers);

  p.AddText(r.request_id);
  p.AddText(SanitizeUtf8(r.domain));
  p.AddText(FormatIso8601Micros(r.timestamp_unix_micros));
  p.AddText(SanitizeUtf8(r.method));
  p.AddText(SanitizeUtf8(r.path));
  p.AddTextOrNull(headers);
  if (body_jsonb) {
    p.AddText(r.request_body);
  } else {
    p.AddNull();
  }
  p.AddTextOrNull(SanitizeUtf8(r.model));
  p.AddTextOrNull(SanitizeUtf8(r.request_type));
  AddOptionalInt(
      p, r.response_status == 0 ? std::nullopt : std::optional<std::int64_t>(r.response_status));
  p.AddTextOrNull(response_headers);
  AddJson(p, r.response_json, &response_json_text);
  p.AddBool(r.response_streaming);
  p.AddInt(r.usage.input_tokens);
  p.AddInt(r.usage.output_tokens);
  p.AddInt(r.usage.input_tokens + r.usage.output_tokens);
  p.AddInt(r.usage.cache_creation_input_tokens);
  p.AddInt(r.usage.cache_read_input_tokens);
  AddJson(p, r.usage_json, &usage_json_text);
  AddOptionalInt(p,
                 r.first_byte_micros ? std::optional(*r.first_byte_micros / 1000) : std::nullopt);
  p.AddInt(r.duration_micros / 1000);
  p.AddTextOrNull(SanitizeUtf8(r.error));
  p.AddInt(r.tool_call_count);
  p.AddTextOrNull(SanitizeUtf8(r.link.current_message_hash));
  p.AddTextOrNull(SanitizeUtf8(r.link.parent_message_hash));
  p.AddTextOrNull(r.link.conversation_id);
  p.AddTextOrNull(SanitizeUtf8(r.link.branch_id));
  p.AddInt(r.message_count);
  p.AddTextOrNull(r.link.parent_task_request_id);
  p.AddBool(r.link.is_subtask);
  AddJson(p, r.task_tool_invocation_json, &task_text);
  if (r.account_id) {
    p.AddText(SanitizeUtf8(*r.account_id));
  } else {
    p.AddNull();
  }
  p.AddTextOrNull(r.link.parent_request_id);
  p.AddTextOrNull(SanitizeUtf8(r.link.system_hash));
  p.AddTextOrNull(SanitizeUtf8(r.query));
  p.AddText(OutcomeName(r.outcome));
  p.AddInt(r.upstream_attempts);
  p.AddTextOrNull(SanitizeUtf8(r.stop_reason));
  p.AddBool(r.response_body_truncated);
  p.AddInt(r.timestamp_unix_micros);
  AddOptionalInt(p, r.first_byte_micros);
  p.AddInt(r.duration_micros);
  if (r.request_headers.empty()) {
    p.AddNull();
  } else {
    p.AddBytes(pg::EncodeHeaderList(r.request_headers));
  }
  if (r.response_headers.empty()) {
    p.AddNull();
  } else {
    p.AddBytes(pg::EncodeHeaderList(r.response_headers));
  }
  if (!r.request_body.empty() &&
      (!body_jsonb || raw_bodies == PostgresOptions::RawBodies::kAlways)) {
    p.AddBytes(r.request_body);
  } else {
    p.AddNull();
  }
  if (raw_implied) {
    p.AddNull();
  } else {
    p.AddBytes(r.response_body);  // may be '' on purpose
  }
  p.AddTextOrNull(response_json_text);
  p.AddTextOrNull(usage_json_text);
  p.AddTextOrNull(task_text);
  p.AddTextOrNull(SanitizeUtf8(r.user_id));
  p.AddTextOrNull(SanitizeUtf8(r.session_id));
  AddOptionalDouble(p, r.cost_usd);
  p.AddTextOrNull(SanitizeUtf8(r.quota.status));
  AddOptionalDouble(p, r.quota.utilization_5h);
  AddOptionalInt(p, r.quota.resets_at_5h);
  AddOptionalDouble(p, r.quota.utilization_7d);
  AddOptionalInt(p, r.quota.resets_at_7d);
  // Our own ASCII JSON (anthropic::RateLimitJson), yet a header value may carry any bytes: what
  // JSONB cannot hold is sanitised, or left NULL rather than failing the batch.
  p.AddTextOrNull(pg::JsonbOrEmpty(r.quota.json));
  p.AddTextOrNull(r.api_key_hash);  // 40 hex digits (VARCHAR(50))
}

// ---- cn_search and cn_events (migration 5) -----------------------------------------------------

// Arbitrary constant: the advisory lock that makes cn_events.seq commit order across replicas.
constexpr std::int64_t kEventsLockKey = 0x636e5f6576656e74;  // "cn_event"
constexpr std::int64_t kEventRetentionMicros = std::int64_t{24} * 3600 * 1'000'000;

// Appends `v` as one element of a PostgreSQL array literal ("{...}").
void AppendArrayElement(std::string& array, std::string_view v) {
  array += array.size() > 1 ? ",\"" : "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') array += '\\';
    array += c;
  }
  array += '"';
}

// The search rows and feed events of the records a batch newly inserted, and the wake-up of the
// feed's listeners (delivered at COMMIT), in one statement. The events are inserted under a
// transaction-scoped advisory lock held until COMMIT, so replicas writing to one database hand out
// seq in commit order: a reader that has seen seq N never later finds a new event below N.
Status AddSearchAndEvents(PgConnection& db, std::span<const Record* const> records) {
  if (records.empty()) return Status::Ok();
  std::string search_ids = "{", search_texts = "{", event_ids = "{";
  for (const Record* r : records) {
    AppendArrayElement(event_ids, r->request_id);
    if (r->search_text.empty()) continue;
    AppendArrayElement(search_ids, r->request_id);
    AppendArrayElement(search_texts, SanitizeUtf8(r->search_text));
  }
  search_ids += '}';
  search_texts += '}';
  event_ids += '}';
  PgParams p;
  p.AddText(search_ids);
  p.AddText(search_texts);
  p.AddText(event_ids);
  p.AddInt(NowUnixMicros());
  p.AddInt(kEventsLockKey);
  static const std::string kSql =
      "WITH s AS (INSERT INTO cn_search (request_id, text) "
      "SELECT * FROM unnest($1::uuid[], $2::text[]) ON CONFLICT (request_id) DO NOTHING), "
      "e AS (INSERT INTO cn_events (request_id, created_us) SELECT u.id, $4::bigint "
      "FROM (SELECT pg_advisory_xact_lock($5::bigint)) l, unnest($3::uuid[]) WITH ORDINALITY "
      "AS u(id, n) ORDER BY u.n) "
      "SELECT pg_notify('cn_events', '')";
  return db.Query(kSql, p, "inserting into cn_search and cn_events", nullptr);
}

// SELECT list of GetRecord; indexes below.
constexpr std::string_view kSelectRecordSql =
    "SELECT request_id::text, domain, coalesce(timestamp_us, (extract(epoch FROM timestamp) * "
    "1000000)::bigint), method, path, query_string, body_raw, body::text, response_status, "
    "response_body::text, response_json_text, coalesce(response_streaming, false), "
    "response_body_raw, response_body_truncated, coalesce(first_byte_us, first_token_ms::bigint * "
    "1000), coalesce(duration_us, duration_ms::bigint * 1000, 0), upstream_attempts, outcome, "
    "error, account_id, model, request_type, coalesce(message_count, 0), "
    "coalesce(input_tokens, 0), coalesce(output_tokens, 0), "
    "coalesce(cache_creation_input_tokens, 0), coalesce(cache_read_input_tokens, 0), "
    "usage_data::text, usage_json_text, coalesce(tool_call_count, 0), task_tool_invocation::text, "
    "task_tool_invocation_text, stop_reason, current_message_hash, parent_message_hash, "
    "system_hash, conversation_id::text, branch_id, parent_request_id::text, "
    "parent_task_request_id::text, coalesce(is_subtask, false), header_list, headers::text, "
    "response_header_list, response_headers::text, user_id, session_id, cost_usd, quota_status, "
    "quota_5h_utilization, quota_5h_reset, quota_7d_utilization, quota_7d_reset, "
    "ratelimit::text, api_key_hash "
    "FROM api_requests WHERE request_id = $1::uuid";
// clang-format off
enum SelectColumn : int {
  kRequestId, kDomain, kTimestampUs, kMethod, kPath, kQuery, kBodyRaw, kBody, kResponseStatus,
  kResponseBody, kResponseJsonText, kResponseStreaming, kResponseBodyRaw, kTruncated,
  kFirstByteUs, kDurationUs, kUpstreamAttempts, kOutcome, kError, kAccountId, kModel,
  kRequestType, kMessageCount, kInputTokens, kOutputTokens, kCacheCreation, kCacheRead,
  kUsageData, kUsageJsonText, kToolCallCount, kTask, kTaskText, kStopReason,
  kCurrentMessageHash, kParentMessageHash, kSystemHash, kConversationId, kBranchId,
  kParentRequestId, kParentTaskRequestId, kIsSubtask, kHeaderList, kHeaders,
  kResponseHeaderList, kResponseHeaders, kUserId, kSessionId, kCostUsd, kQuotaStatus,
  kQuota5hUtilization, kQuota5hReset, kQuota7dUtilization, kQuota7dReset, kRatelimit,
  kApiKeyHash,
};
// clang-format on

// Typed access to one row of a text-format result.
class Row {
 public:
  Row(const PGresult* r, int row) : r_(r), row_(row) {}
  bool IsNull(int c) const { return PQgetisnull(r_, row_, c) != 0; }
  std::string Text(int c) const {
    return IsNull(c) ? std::string()
                     : std::string(PQgetvalue(r_, row_, c), PQgetlength(r_, row_, c));
  }
  std::int64_t Int(int c) const {
    return IsNull(c) ? 0 : std::strtoll(PQgetvalue(r_, row_, c), nullptr, 10);
  }
  std::optional<std::int64_t> OptionalInt(int c) const {
    return IsNull(c) ? std::nullopt : std::optional(Int(c));
  }
  // float8 text as the session prints it (extra_float_digits, see SessionSql): exact.
  std::optional<double> OptionalDouble(int c) const {
    if (IsNull(c)) return std::nullopt;
    const char* v = PQgetvalue(r_, row_, c);
    double d = 0;
    (void)std::from_chars(v, v + PQgetlength(r_, row_, c), d);  // locale-independent
    return d;
  }
  bool Bool(int c) const { return !IsNull(c) && PQgetvalue(r_, row_, c)[0] == 't'; }
  std::optional<std::string> Bytes(int c) const {
    if (IsNull(c)) return std::nullopt;
    std::string out;
    if (!DecodeByteaHex(std::string_view(PQgetvalue(r_, row_, c), PQgetlength(r_, row_, c)),
                        &out)) {
      return std::nullopt;
    }
    return out;
  }

 private:
  const PGresult* r_;
  int row_;
};

Headers ReadHeaders(const Row& row, int list_column, int object_column) {
  Headers headers;
  if (auto list = row.Bytes(list_column); list && pg::DecodeHeaderList(*list, &headers)) {
    return headers;
  }
  (void)pg::HeadersFromJsonObject(row.Text(object_column), &headers);
  return headers;
}

std::string SessionSql(const PostgresOptions& o) {
  // extra_float_digits = 3: float8 values print exactly (shortest round trip on PostgreSQL 12+,
  // 17 significant digits before), whatever the server's default.
  return "SET bytea_output = 'hex'; SET client_min_messages = warning; "
         "SET extra_float_digits = 3; SET statement_timeout = " +
         std::to_string(o.statement_timeout.count());
}

}  // namespace

// ---- Open / Migrate ----------------------------------------------------------------------------

StatusOr<std::unique_ptr<PostgresStore>> PostgresStore::Open(const PostgresOptions& options) {
  if (options.url.empty()) return Status::InvalidArgument("PostgreSQL URL is empty");
  const std::string session = SessionSql(options);
  auto writer = std::make_unique<PgConnection>(options.url, session);
  if (Status s = writer->Ensure(); !s.ok()) return s;
  auto reader = std::make_unique<PgConnection>(options.url, session);
  if (Status s = reader->Ensure(); !s.ok()) return s;
  auto maintenance = std::make_unique<PgConnection>(options.url, session);
  return std::unique_ptr<PostgresStore>(
      new PostgresStore(options, std::move(writer), std::move(reader), std::move(maintenance)));
}

PostgresStore::PostgresStore(PostgresOptions options, std::unique_ptr<PgConnection> writer,
                             std::unique_ptr<PgConnection> reader,
                             std::unique_ptr<PgConnection> maintenance)
    : options_(std::move(options)),
      writer_(std::move(writer)),
      reader_(std::move(reader)),
      maintenance_(std::move(maintenance)) {}

PostgresStore::~PostgresStore() = default;

StatusOr<std::unique_ptr<SqlReader>> PostgresStore::OpenReader(int statement_timeout_ms) {
  auto reader = PgReader::Open(options_.url, statement_timeout_ms);
  if (!reader.ok()) return reader.status();
  return std::unique_ptr<SqlReader>(std::move(reader).value());
}

int PostgresStore::LatestSchemaVersion() { return PostgresMigrations().back().version; }

StatusOr<int> PostgresStore::SchemaVersion() {
  std::lock_guard lock(read_mu_);
  PgResult r;
  Status s = reader_->Query(
      "SELECT CASE WHEN to_regclass('schema_migrations') IS NULL THEN 0 ELSE "
      "(SELECT coalesce(max(version), 0) FROM schema_migrations) END",
      "reading the schema version", &r);
  if (!s.ok()) return s;
  return static_cast<int>(Row(r.get(), 0).Int(0));
}

Status PostgresStore::Migrate() {
  std::lock_guard lock(write_mu_);
  PgConnection& db = *writer_;
  const std::string where = db.Describe();
  // Migrations on a large adopted database may take long: no statement timeout for them.
  if (Status s = db.Exec("SET statement_timeout = 0", "migrating"); !s.ok()) {
    return s.WithContext("migrating " + where);
  }
  PgParams key;
  key.AddInt(kMigrationLockKey);
  // Session lock: other replicas migrating at the same time wait here, then find nothing to do.
  if (Status s = db.Query("SELECT pg_advisory_lock($1::bigint)", key, "taking the migration lock",
                          nullptr);
      !s.ok()) {
    return s.WithContext("migrating " + where);
  }
  auto run = [&]() -> Status {
    if (Status s =
            db.Exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                    "name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
                    "creating schema_migrations");
        !s.ok()) {
      return s;
    }
    PgResult r;
    if (Status s = db.Query("SELECT (SELECT coalesce(max(version), 0) FROM schema_migrations), "
                            "to_regclass('api_requests') IS NOT NULL",
                            "reading the schema version", &r);
        !s.ok()) {
      return s;
    }
    const std::int64_t version = Row(r.get(), 0).Int(0);
    const bool has_requests = Row(r.get(), 0).Bool(1);
    if (version > LatestSchemaVersion()) {
      return Status::InvalidArgument("the database has schema version " + std::to_string(version) +
                                     " but this claude-nexus knows versions up to " +
                                     std::to_string(LatestSchemaVersion()) +
                                     "; run a newer claude-nexus");
    }
    if (version == 0 && has_requests) {
      log::Info(
          "adopting a database created by the original Claude Nexus Proxy: adding what "
          "is missing, keeping every row",
          {{"database", where}});
    }
    for (const PgMigration& m : PostgresMigrations()) {
      if (m.version <= version) continue;
      const std::string what =
          "migration " + std::to_string(m.version) + " (" + std::string(m.name) + ")";
      if (Status s = db.Exec("BEGIN", what); !s.ok()) return s;
      Status s = db.Exec(m.sql, what);
      if (s.ok()) {
        PgParams p;
        p.AddInt(m.version);
        p.AddText(m.name);
        s = db.Query("INSERT INTO schema_migrations (version, name) VALUES ($1::int, $2)", p,
                     what + ": recording it", nullptr);
      }
      if (s.ok()) s = db.Exec("COMMIT", what);
      if (!s.ok()) {
        db.RollBackQuietly();
        return s;
      }
      log::Info("applied migration", {{"version", m.version}, {"name", std::string(m.name)}});
    }
    return Status::Ok();
  };
  Status result = run();
  (void)db.Query("SELECT pg_advisory_unlock($1::bigint)", key, "releasing the migration lock",
                 nullptr);
  (void)db.Exec("SET statement_timeout = " + std::to_string(options_.statement_timeout.count()),
                "restoring statement_timeout");
  return result.WithContext("migrating " + where);
}

// ---- Writes ----------------------------------------------------------------------------------

Status PostgresStore::WriteBatch(std::span<const Record> records) {
  if (records.empty()) return Status::Ok();
  // Replays and duplicates within the batch: the first occurrence wins, as ON CONFLICT would.
  std::vector<const Record*> unique;
  unique.reserve(records.size());
  std::unordered_set<std::string_view> seen;
  for (std::size_t i = 0; i < records.size(); ++i) {
    const Record& r = records[i];
    assert(r.enriched);
    if (!IsUuid(r.request_id)) {
      return Status::InvalidArgument("record " + std::to_string(i) + " ('" +
                                     SanitizeUtf8(r.request_id) + "'): request_id is not a UUID");
    }
    if (seen.insert(r.request_id).second) unique.push_back(&r);
  }

  std::lock_guard lock(write_mu_);
  PgConnection& db = *writer_;
  const std::string context =
      "writing a batch of " + std::to_string(records.size()) + " records to " + db.Describe();
  if (Status s = db.Exec("BEGIN", "BEGIN"); !s.ok()) {
    db.RollBackQuietly();
    return s.WithContext(context);
  }
  std::vector<bool> inserted;
  Status s = InsertRequests(unique, &inserted);
  std::vector<const Record*> fresh;
  if (s.ok()) {
    for (std::size_t i = 0; i < unique.size(); ++i) {
      if (inserted[i]) fresh.push_back(unique[i]);
    }
    s = InsertChunks(fresh);
  }
  if (s.ok()) s = AddDomainStats(fresh);
  // Last before COMMIT: it takes the lock that orders cn_events.seq.
  if (s.ok()) s = AddSearchAndEvents(db, fresh);
  if (s.ok()) s = db.Exec("COMMIT", "COMMIT");
  if (!s.ok()) {
    db.RollBackQuietly();
    return s.WithContext(context);
  }
  return Status::Ok();
}

Status PostgresStore::InsertRequests(std::span<const Record* const> records,
                                     std::vector<bool>* inserted) {
  PgConnection& db = *writer_;
  inserted->assign(records.size(), false);
  const std::size_t per_statement = kMaxParams / kRequestColumns.size();
  for (std::size_t begin = 0; begin < records.size(); begin += per_statement) {
    const std::size_t n = std::min(per_statement, records.size() - begin);
    PgParams p;
    p.Reserve(n * kRequestColumns.size());
    for (std::size_t i = 0; i < n; ++i) {
      AppendRequestRow(*records[begin + i], options_.raw_bodies, p);
    }
    assert(p.size() == n * kRequestColumns.size());
    const std::string sql = MultiRowInsert("api_requests", kRequestColumns, n) +
                            " ON CONFLICT (request_id) DO NOTHING RETURNING request_id::text";
    const std::string what =
        n == 1 ? "inserting record " + records[begin]->request_id + " into api_requests"
               : "inserting records " + std::to_string(begin) + ".." +
                     std::to_string(begin + n - 1) + " into api_requests";
    PgResult r;
    if (Status s = db.Query(sql, p, what, &r); !s.ok()) return s;
    std::unordered_set<std::string> ids;
    for (int row = 0; row < PQntuples(r.get()); ++row) ids.insert(PQgetvalue(r.get(), row, 0));
    for (std::size_t i = 0; i < n; ++i) {
      // request_id::text is lower case; IsUuid admits upper-case hex too.
      std::string id = records[begin + i]->request_id;
      std::transform(id.begin(), id.end(), id.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      (*inserted)[begin + i] = ids.count(id) != 0;
    }
  }
  return Status::Ok();
}

Status PostgresStore::InsertChunks(std::span<const Record* const> records) {
  PgConnection& db = *writer_;
  const std::size_t per_statement = kMaxParams / kChunkColumns.size();
  PgParams p;
  std::size_t rows = 0;
  auto flush = [&]() -> Status {
    if (rows == 0) return Status::Ok();
    const std::string sql = MultiRowInsert("streaming_chunks", kChunkColumns, rows) +
                            " ON CONFLICT (request_id, chunk_index) DO NOTHING";
    Status s = db.Query(sql, p, "inserting " + std::to_string(rows) + " streaming_chunks", nullptr);
    p = PgParams();
    rows = 0;
    return s;
  };
  for (const Record* r : records) {
    auto usage = r->chunk_usage.begin();  // in chunk order
    for (std::size_t i = 0; i < r->chunks.size(); ++i) {
      const StreamChunk& c = r->chunks[i];
      std::string text = SanitizeUtf8(c.data);
      const bool exact = text == c.data;
      while (usage != r->chunk_usage.end() && usage->chunk_index < i) ++usage;
      const bool has_usage = usage != r->chunk_usage.end() && usage->chunk_index == i;
      p.AddText(r->request_id);
      p.AddInt(static_cast<std::int64_t>(i));
      p.AddText(FormatIso8601Micros(c.at_unix_micros));
      p.AddText(text);
      p.AddInt(has_usage ? usage->output_tokens : 0);
      p.AddInt(c.at_unix_micros);
      if (exact) {
        p.AddNull();
      } else {
        p.AddBytes(c.data);
      }
      if (++rows == per_statement) {
        if (Status s = flush(); !s.ok()) return s;
      }
    }
  }
  return flush();
}

Status PostgresStore::AddDomainStats(std::span<const Record* const> records) {
  if (records.empty()) return Status::Ok();
  // Ordered by domain: concurrent writers lock the rows in the same order (no deadlock).
  std::map<std::string, DomainStats> by_domain;
  for (const Record* r : records) {
    DomainStats& d = by_domain[SanitizeUtf8(r->domain)];
    d.input_tokens += r->usage.input_tokens;
    d.output_tokens += r->usage.output_tokens;
    d.request_count += 1;
    d.query_evaluation_count += r->request_type == "query_evaluation";
    d.inference_count += r->request_type == "inference";
    d.tool_call_count += r->tool_call_count;
    d.last_updated_unix_micros = std::max(d.last_updated_unix_micros, r->timestamp_unix_micros);
  }
  std::string sql =
      "INSERT INTO cn_domain_stats (domain, input_tokens, output_tokens, request_count, "
      "query_evaluation_count, inference_count, tool_call_count, last_timestamp_us) VALUES ";
  PgParams p;
  int n = 0;
  for (const auto& [domain, d] : by_domain) {
    sql += n == 0 ? "(" : ", (";
    for (int c = 0; c < 8; ++c) {
      sql += (c > 0 ? ", $" : "$") + std::to_string(n * 8 + c + 1) + (c > 0 ? "::bigint" : "");
    }
    sql += ")";
    p.AddText(domain);
    for (std::int64_t v :
         {d.input_tokens, d.output_tokens, d.request_count, d.query_evaluation_count,
          d.inference_count, d.tool_call_count, d.last_updated_unix_micros}) {
      p.AddInt(v);
    }
    ++n;
  }
  sql +=
      " ON CONFLICT (domain) DO UPDATE SET "
      "input_tokens = cn_domain_stats.input_tokens + EXCLUDED.input_tokens, "
      "output_tokens = cn_domain_stats.output_tokens + EXCLUDED.output_tokens, "
      "request_count = cn_domain_stats.request_count + EXCLUDED.request_count, "
      "query_evaluation_count = cn_domain_stats.query_evaluation_count + "
      "EXCLUDED.query_evaluation_count, "
      "inference_count = cn_domain_stats.inference_count + EXCLUDED.inference_count, "
      "tool_call_count = cn_domain_stats.tool_call_count + EXCLUDED.tool_call_count, "
      "last_timestamp_us = greatest(cn_domain_stats.last_timestamp_us, "
      "EXCLUDED.last_timestamp_us)";
  return writer_->Query(sql, p, "updating cn_domain_stats", nullptr);
}

// ---- Reads -----------------------------------------------------------------------------------

Status PostgresStore::Ping() {
  std::lock_guard lock(read_mu_);
  return reader_->Exec("SELECT 1", "ping");
}

StatusOr<std::int64_t> PostgresStore::CountRecords() {
  std::lock_guard lock(read_mu_);
  PgResult r;
  if (Status s = reader_->Query("SELECT count(*) FROM api_requests", "counting records", &r);
      !s.ok()) {
    return s;
  }
  return Row(r.get(), 0).Int(0);
}

StatusOr<std::vector<DomainStats>> PostgresStore::LoadDomainStats() {
  std::lock_guard lock(read_mu_);
  PgResult r;
  if (Status s = reader_->Query(
          "SELECT domain, input_tokens, output_tokens, request_count, query_evaluation_count, "
          "inference_count, tool_call_count, last_timestamp_us FROM cn_domain_stats "
          "ORDER BY domain",
          "loading domain stats", &r);
      !s.ok()) {
    return s;
  }
  std::vector<DomainStats> out;
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    Row row(r.get(), i);
    DomainStats& d = out.emplace_back();
    d.domain = row.Text(0);
    d.input_tokens = row.Int(1);
    d.output_tokens = row.Int(2);
    d.request_count = row.Int(3);
    d.query_evaluation_count = row.Int(4);
    d.inference_count = row.Int(5);
    d.tool_call_count = row.Int(6);
    d.last_updated_unix_micros = row.Int(7);
  }
  return out;
}

StatusOr<std::optional<Record>> PostgresStore::GetRecord(std::string_view request_id) {
  if (!IsUuid(request_id)) return std::optional<Record>();
  std::lock_guard lock(read_mu_);
  PgConnection& db = *reader_;
  // One snapshot for the row and its chunks.
  if (Status s = db.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "BEGIN"); !s.ok()) {
    db.RollBackQuietly();
    return s;
  }
  auto result = [&]() -> StatusOr<std::optional<Record>> {
    PgParams id;
    id.AddText(request_id);
    PgResult res;
    if (Status s = db.Query(std::string(kSelectRecordSql), id, "reading api_requests", &res);
        !s.ok()) {
      return s;
    }
    if (PQntuples(res.get()) == 0) return std::optional<Record>();
    const Row q(res.get(), 0);
    Record r;
    r.enriched = true;
    r.request_id = q.Text(kRequestId);
    r.domain = q.Text(kDomain);
    r.timestamp_unix_micros = q.Int(kTimestampUs);
    r.method = q.Text(kMethod);
    r.path = q.Text(kPath);
    r.query = q.Text(kQuery);
    if (auto raw = q.Bytes(kBodyRaw)) {
      r.request_body = std::move(*raw);
    } else {
      r.request_body = q.Text(kBody);
    }
    r.response_status = static_cast<int>(q.Int(kResponseStatus));
    r.response_json =
        q.IsNull(kResponseJsonText) ? q.Text(kResponseBody) : q.Text(kResponseJsonText);
    r.response_streaming = q.Bool(kResponseStreaming);
    if (auto raw = q.Bytes(kResponseBodyRaw)) {
      r.response_body = std::move(*raw);
    } else {
      r.response_body = std::string(ImpliedResponseBody(r.response_streaming, r.response_json));
    }
    r.response_body_truncated = q.Bool(kTruncated);
    r.first_byte_micros = q.OptionalInt(kFirstByteUs);
    r.duration_micros = q.Int(kDurationUs);
    r.upstream_attempts = static_cast<int>(q.Int(kUpstreamAttempts));
    r.outcome = StoredOutcome(q.Text(kOutcome));
    r.error = q.Text(kError);
    if (!q.IsNull(kAccountId)) r.account_id = q.Text(kAccountId);
    r.model = q.Text(kModel);
    r.request_type = q.Text(kRequestType);
    r.message_count = static_cast<int>(q.Int(kMessageCount));
    r.usage.input_tokens = q.Int(kInputTokens);
    r.usage.output_tokens = q.Int(kOutputTokens);
    r.usage.cache_creation_input_tokens = q.Int(kCacheCreation);
    r.usage.cache_read_input_tokens = q.Int(kCacheRead);
    r.usage_json = q.IsNull(kUsageJsonText) ? q.Text(kUsageData) : q.Text(kUsageJsonText);
    r.tool_call_count = static_cast<int>(q.Int(kToolCallCount));
    r.task_tool_invocation_json = q.IsNull(kTaskText) ? q.Text(kTask) : q.Text(kTaskText);
    r.stop_reason = q.Text(kStopReason);
    r.link.current_message_hash = q.Text(kCurrentMessageHash);
    r.link.parent_message_hash = q.Text(kParentMessageHash);
    r.link.system_hash = q.Text(kSystemHash);
    r.link.conversation_id = q.Text(kConversationId);
    r.link.branch_id = q.Text(kBranchId);
    r.link.parent_request_id = q.Text(kParentRequestId);
    r.link.parent_task_request_id = q.Text(kParentTaskRequestId);
    r.link.is_subtask = q.Bool(kIsSubtask);
    r.request_headers = ReadHeaders(q, kHeaderList, kHeaders);
    r.response_headers = ReadHeaders(q, kResponseHeaderList, kResponseHeaders);
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

    PgResult chunks;
    if (Status s = db.Query(
            "SELECT coalesce(timestamp_us, (extract(epoch FROM timestamp) * 1000000)::bigint), "
            "data, data_raw FROM streaming_chunks WHERE request_id = $1::uuid ORDER BY chunk_index",
            id, "reading streaming_chunks", &chunks);
        !s.ok()) {
      return s;
    }
    for (int i = 0; i < PQntuples(chunks.get()); ++i) {
      const Row c(chunks.get(), i);
      auto raw = c.Bytes(2);
      r.chunks.push_back({c.Int(0), raw ? std::move(*raw) : c.Text(1)});
    }
    return std::optional<Record>(std::move(r));
  }();
  if (Status s = db.Exec("COMMIT", "COMMIT"); !s.ok()) db.RollBackQuietly();
  return result;
}

// ---- Conversation linking ----------------------------------------------------------------------

namespace {

// Bounds outside what timestamptz text can say become +-infinity.
std::string TimestampBound(std::int64_t us) {
  constexpr std::int64_t kMinMicros = -210866803200000000;  // 4713 BC, PostgreSQL's lower end
  constexpr std::int64_t kMaxMicros = 253402300799999999;   // 9999-12-31T23:59:59.999999Z
  if (us <= kMinMicros) return "-infinity";
  if (us > kMaxMicros) return "infinity";
  return FormatIso8601Micros(us);
}

std::string LinkingScanSql(bool newest_first) {
  const char* dir = newest_first ? " DESC" : "";
  std::string sql =
      "SELECT request_id::text, domain, coalesce(timestamp_us, (extract(epoch FROM timestamp) * "
      "1000000)::bigint), method, path, request_type, coalesce(message_count, 0), "
      "response_status, outcome, coalesce(response_json_text, response_body::text), "
      "current_message_hash, parent_message_hash, system_hash, conversation_id::text, "
      "branch_id, parent_request_id::text, parent_task_request_id::text, "
      "coalesce(is_subtask, false), "
      "CASE WHEN $6::bool OR (is_subtask AND parent_message_hash IS NULL) THEN body_raw END, "
      "CASE WHEN $6::bool OR (is_subtask AND parent_message_hash IS NULL) THEN body::text END "
      "FROM api_requests WHERE timestamp >= $1::timestamptz AND timestamp < $2::timestamptz "
      "AND ($3 = '' OR domain = $3) AND (NOT $4::bool OR request_type = 'inference') "
      "AND ($5::timestamptz IS NULL OR (timestamp, request_id) ";
  sql += newest_first ? "<" : ">";
  sql += " ($5::timestamptz, $7::uuid)) ORDER BY timestamp";
  sql += dir;
  sql += ", request_id";
  sql += dir;
  sql += " LIMIT $8::bigint";
  return sql;
}

}  // namespace

StatusOr<std::vector<Record>> PostgresStore::LoadForLinking(const LinkingScan& scan) {
  std::vector<Record> out;
  if (scan.limit == 0) return out;
  if (scan.after && !IsUuid(scan.after->second)) {
    return Status::InvalidArgument("LoadForLinking: the cursor's request_id is not a UUID");
  }
  PgParams p;
  p.AddText(TimestampBound(scan.since_unix_micros));
  p.AddText(TimestampBound(scan.until_unix_micros));
  p.AddText(SanitizeUtf8(scan.domain));
  p.AddBool(scan.inference_only);
  if (scan.after) {
    p.AddText(FormatIso8601Micros(scan.after->first));
  } else {
    p.AddNull();
  }
  p.AddBool(scan.all_request_bodies);
  if (scan.after) {
    p.AddText(scan.after->second);
  } else {
    p.AddNull();
  }
  p.AddInt(static_cast<std::int64_t>(
      std::min<std::size_t>(scan.limit, static_cast<std::size_t>(INT64_MAX))));
  static const std::string kAscending = LinkingScanSql(false);
  static const std::string kDescending = LinkingScanSql(true);
  std::lock_guard lock(read_mu_);
  PgResult r;
  if (Status s = reader_->Query(scan.newest_first ? kDescending : kAscending, p,
                                "loading requests for conversation linking", &r);
      !s.ok()) {
    return s;
  }
  out.reserve(static_cast<std::size_t>(PQntuples(r.get())));
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    const Row q(r.get(), i);
    Record& rec = out.emplace_back();
    ReadLinkingRow(q, rec);
    rec.link.is_subtask = q.Bool(17);
    if (auto raw = q.Bytes(18)) {
      rec.request_body = std::move(*raw);
    } else {
      rec.request_body = q.Text(19);
    }
  }
  return out;
}

Status PostgresStore::UpdateLinks(std::span<const Record> records) {
  if (records.empty()) return Status::Ok();
  for (const Record& r : records) {
    if (!IsUuid(r.request_id)) {
      return Status::InvalidArgument("updating conversation links: request_id '" +
                                     SanitizeUtf8(r.request_id) + "' is not a UUID");
    }
  }
  constexpr std::size_t kFields = 9;
  const std::size_t per_statement = kMaxParams / kFields;
  std::lock_guard lock(write_mu_);
  PgConnection& db = *writer_;
  const std::string context = "updating the conversation links of " +
                              std::to_string(records.size()) + " records in " + db.Describe();
  Status s = db.Exec("BEGIN", "BEGIN");
  for (std::size_t begin = 0; s.ok() && begin < records.size(); begin += per_statement) {
    const std::size_t n = std::min(per_statement, records.size() - begin);
    std::string sql =
        "UPDATE api_requests a SET current_message_hash = v.cmh, parent_message_hash = v.pmh, "
        "system_hash = v.sh, conversation_id = v.cid, branch_id = v.bid, "
        "parent_request_id = v.prid, parent_task_request_id = v.ptid, is_subtask = v.sub "
        "FROM (VALUES ";
    PgParams p;
    p.Reserve(n * kFields);
    for (std::size_t i = 0; i < n; ++i) {
      const Record& r = records[begin + i];
      const std::size_t b = i * kFields;
      auto at = [&](std::size_t k) { return "$" + std::to_string(b + k + 1); };
      sql += (i > 0 ? ", (" : "(") + at(0) + "::uuid, " + at(1) + "::text, " + at(2) + "::text, " +
             at(3) + "::text, " + at(4) + "::uuid, " + at(5) + "::text, " + at(6) + "::uuid, " +
             at(7) + "::uuid, " + at(8) + "::bool)";
      p.AddText(r.request_id);
      p.AddTextOrNull(SanitizeUtf8(r.link.current_message_hash));
      p.AddTextOrNull(SanitizeUtf8(r.link.parent_message_hash));
      p.AddTextOrNull(SanitizeUtf8(r.link.system_hash));
      p.AddTextOrNull(r.link.conversation_id);
      p.AddTextOrNull(SanitizeUtf8(r.link.branch_id));
      p.AddTextOrNull(r.link.parent_request_id);
      p.AddTextOrNull(r.link.parent_task_request_id);
      p.AddBool(r.link.is_subtask);
    }
    sql += ") AS v (id, cmh, pmh, sh, cid, bid, prid, ptid, sub) WHERE a.request_id = v.id";
    s = db.Query(sql, p, "updating api_requests", nullptr);
  }
  if (s.ok()) s = db.Exec("COMMIT", "COMMIT");
  if (!s.ok()) {
    db.RollBackQuietly();
    return s.WithContext(context);
  }
  return Status::Ok();
}

// ---- Retention -------------------------------------------------------------------------------

StatusOr<std::int64_t> PostgresStore::PruneOlderThan(std::int64_t cutoff_unix_micros,
                                                     std::int64_t max_rows) {
  if (max_rows <= 0) return std::int64_t{0};
  std::lock_guard lock(maintenance_mu_);
  PgParams p;
  p.AddText(FormatIso8601Micros(cutoff_unix_micros));
  p.AddInt(max_rows);
  p.AddInt(NowUnixMicros() - kEventRetentionMicros);
  PgResult r;
  // Oldest first through idx_requests_timestamp; SKIP LOCKED so two replicas pruning at once
  // (or a writer holding a row) never wait on each other. Chunks go by ON DELETE CASCADE, the
  // search rows with their requests, and the feed keeps 24 hours: every event before the first
  // younger one (seq order: no holes, and the scan stops there). One statement, one transaction.
  if (Status s = maintenance_->Query(
          "WITH doomed AS (SELECT request_id FROM api_requests WHERE timestamp < "
          "$1::timestamptz ORDER BY timestamp LIMIT $2::int FOR UPDATE SKIP LOCKED), "
          "gone AS (DELETE FROM api_requests a USING doomed WHERE a.request_id = "
          "doomed.request_id RETURNING a.request_id), "
          "s AS (DELETE FROM cn_search c USING gone WHERE c.request_id = gone.request_id), "
          "e AS (DELETE FROM cn_events WHERE seq < coalesce((SELECT seq FROM cn_events "
          "WHERE created_us >= $3::bigint ORDER BY seq LIMIT 1), "
          "(SELECT max(seq) + 1 FROM cn_events))) "
          "SELECT count(*) FROM gone",
          p, "pruning old exchanges", &r);
      !s.ok()) {
    return s;
  }
  return static_cast<std::int64_t>(std::strtoll(PQgetvalue(r.get(), 0, 0), nullptr, 10));
}

}  // namespace cn::storage
