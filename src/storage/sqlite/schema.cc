#include "storage/sqlite/schema.h"

namespace cn::storage {
namespace {

// Version 1: the original's api_requests and streaming_chunks (docs/storage.md) in SQLite types,
// plus the columns that keep a Record lossless (marked "ours").
//
// Type mapping: UUID/VARCHAR/CHAR/JSONB -> TEXT (JSON as text; SQLite's json_* functions read it),
// TIMESTAMPTZ -> TEXT 'YYYY-MM-DDTHH:MM:SS.mmmZ' (UTC; sorts chronologically and SQLite's date
// functions accept it), BOOLEAN -> INTEGER 0/1.
//
// The *_us columns (ours) hold the exact microsecond values the millisecond columns round.
// parent_request_id and parent_task_request_id are soft references (indexed, no FOREIGN KEY): a
// batch must never fail because a parent was not stored (aborted, spilled, pruned).
constexpr std::string_view kV1 = R"sql(
CREATE TABLE api_requests (
  request_id TEXT PRIMARY KEY NOT NULL CHECK (length(request_id) > 0),
  domain TEXT NOT NULL,
  timestamp TEXT NOT NULL,
  method TEXT NOT NULL,
  path TEXT NOT NULL,
  headers TEXT,
  body TEXT,
  api_key_hash TEXT,
  model TEXT,
  request_type TEXT,
  response_status INTEGER,
  response_headers TEXT,
  response_body TEXT,
  response_streaming INTEGER NOT NULL DEFAULT 0,
  input_tokens INTEGER NOT NULL DEFAULT 0,
  output_tokens INTEGER NOT NULL DEFAULT 0,
  total_tokens INTEGER NOT NULL DEFAULT 0,
  cache_creation_input_tokens INTEGER NOT NULL DEFAULT 0,
  cache_read_input_tokens INTEGER NOT NULL DEFAULT 0,
  usage_data TEXT,
  first_token_ms INTEGER,
  duration_ms INTEGER,
  error TEXT,
  tool_call_count INTEGER NOT NULL DEFAULT 0,
  current_message_hash TEXT,
  parent_message_hash TEXT,
  conversation_id TEXT,
  branch_id TEXT DEFAULT 'main',
  message_count INTEGER NOT NULL DEFAULT 0,
  parent_task_request_id TEXT,
  is_subtask INTEGER NOT NULL DEFAULT 0,
  task_tool_invocation TEXT,
  account_id TEXT,
  parent_request_id TEXT CHECK (parent_request_id <> request_id),
  system_hash TEXT,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  -- ours --
  query_string TEXT,                  -- raw query without '?'
  outcome TEXT NOT NULL DEFAULT 'completed'
    CHECK (outcome IN ('completed', 'client_aborted', 'upstream_failed', 'rejected')),
  upstream_attempts INTEGER NOT NULL DEFAULT 0,
  stop_reason TEXT,
  response_body_raw TEXT,             -- see SqliteStore: NULL when derivable from response_body
  response_body_truncated INTEGER NOT NULL DEFAULT 0,
  header_list TEXT,                   -- JSON [[name,value],...] when `headers` cannot hold the list
  response_header_list TEXT,          -- same for response_headers
  timestamp_us INTEGER NOT NULL,
  first_byte_us INTEGER,
  duration_us INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE streaming_chunks (
  id INTEGER PRIMARY KEY,
  request_id TEXT NOT NULL REFERENCES api_requests (request_id) ON DELETE CASCADE,
  chunk_index INTEGER NOT NULL,
  timestamp TEXT NOT NULL,
  data TEXT NOT NULL,
  token_count INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  timestamp_us INTEGER NOT NULL,      -- ours
  UNIQUE (request_id, chunk_index)
);

-- The original's indexes minus what SQLite cannot use (GIN) or what a composite below already
-- covers as a prefix (domain, conversation_id, account_id; request_id is the primary key;
-- streaming_chunks.request_id is the UNIQUE index's prefix).
CREATE INDEX idx_requests_timestamp ON api_requests (timestamp);
CREATE INDEX idx_requests_domain_timestamp ON api_requests (domain, timestamp);
CREATE INDEX idx_requests_model ON api_requests (model);
CREATE INDEX idx_requests_request_type ON api_requests (request_type);
CREATE INDEX idx_requests_branch_id ON api_requests (branch_id);
CREATE INDEX idx_requests_conversation_branch ON api_requests (conversation_id, branch_id);
CREATE INDEX idx_requests_conversation_timestamp ON api_requests
  (conversation_id, timestamp DESC, request_id DESC) WHERE conversation_id IS NOT NULL;
CREATE INDEX idx_requests_conversation_subtask ON api_requests
  (conversation_id, is_subtask, timestamp, request_id) WHERE conversation_id IS NOT NULL;
CREATE INDEX idx_requests_current_message_hash ON api_requests (current_message_hash);
CREATE INDEX idx_requests_parent_message_hash ON api_requests (parent_message_hash);
CREATE INDEX idx_requests_system_hash ON api_requests (system_hash);
CREATE INDEX idx_requests_account_timestamp ON api_requests (account_id, timestamp);
CREATE INDEX idx_requests_parent_request_id ON api_requests (parent_request_id);
CREATE INDEX idx_requests_parent_task_request_id ON api_requests (parent_task_request_id);
)sql";

// Version 2: only the indexes a query of ours uses. Every api_requests index is written by every
// insert, and a key that is random (conversation_id, the hashes) dirties a different page per
// record: with 14 indexes the writer spent most of its CPU writing and checkpointing index pages
// (docs/storage.md, "Write cost"). The SQL each remaining index serves:
//   idx_requests_timestamp         LoadForLinking's time window (warm-up, rebuild), retention's
//                                  "oldest first" DELETE
//   idx_requests_domain_timestamp  LoadDomainStats' GROUP BY domain (no sort), a domain's requests
// request_id lookups (GetRecord, UpdateLinks, ON CONFLICT) use the primary key, chunks and the
// cascade their UNIQUE (request_id, chunk_index). Conversation linking reads no index: it keeps
// its own in memory. A query added later brings its index in a new migration (a partial one,
// WHERE col IS NOT NULL, when the column is sparse). PostgreSQL keeps the original's indexes.
constexpr std::string_view kV2 = R"sql(
DROP INDEX IF EXISTS idx_requests_model;
DROP INDEX IF EXISTS idx_requests_request_type;
DROP INDEX IF EXISTS idx_requests_branch_id;
DROP INDEX IF EXISTS idx_requests_conversation_branch;
DROP INDEX IF EXISTS idx_requests_conversation_timestamp;
DROP INDEX IF EXISTS idx_requests_conversation_subtask;
DROP INDEX IF EXISTS idx_requests_current_message_hash;
DROP INDEX IF EXISTS idx_requests_parent_message_hash;
DROP INDEX IF EXISTS idx_requests_system_hash;
DROP INDEX IF EXISTS idx_requests_account_timestamp;
DROP INDEX IF EXISTS idx_requests_parent_request_id;
DROP INDEX IF EXISTS idx_requests_parent_task_request_id;
)sql";

// Version 3: who made a request, what it cost and the account's quota as the response reported
// it (Record::user_id, session_id, cost_usd, quota; docs/storage.md "Who, cost and quota").
// Nullable columns without defaults: ADD COLUMN only edits the table's schema text, rows already
// stored read NULL. No index: no query of ours filters on them yet (a read that does brings its
// own, partial, index in a later migration).
constexpr std::string_view kV3 = R"sql(
ALTER TABLE api_requests ADD COLUMN user_id TEXT;
ALTER TABLE api_requests ADD COLUMN session_id TEXT;
ALTER TABLE api_requests ADD COLUMN cost_usd REAL;
ALTER TABLE api_requests ADD COLUMN quota_status TEXT;
ALTER TABLE api_requests ADD COLUMN quota_5h_utilization REAL;
ALTER TABLE api_requests ADD COLUMN quota_5h_reset INTEGER;
ALTER TABLE api_requests ADD COLUMN quota_7d_utilization REAL;
ALTER TABLE api_requests ADD COLUMN quota_7d_reset INTEGER;
ALTER TABLE api_requests ADD COLUMN ratelimit TEXT;
)sql";

// Version 4: full-text search and the live feed of the read side (docs/storage.md "Search and
// the live feed"). WriteBatch fills both for each newly inserted record, in its transaction.
//   cn_search  Record::search_text (the last user message and the response's text). Its rowid is
//              the api_requests row's rowid, so retention deletes a request's search row by rowid
//              (request_id is UNINDEXED: matching on it would scan the whole table). VACUUM keeps
//              the rowids of a table with indexes, as api_requests is.
//   cn_events  one row per committed record; seq is commit order (one writer per SQLite file).
//              Retention keeps the last 24 hours.
// Records written before version 4 have no search row.
constexpr std::string_view kV4 = R"sql(
CREATE VIRTUAL TABLE cn_search USING fts5(text, request_id UNINDEXED,
  tokenize = 'unicode61 remove_diacritics 2');
CREATE TABLE cn_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  request_id TEXT NOT NULL,
  created_us INTEGER NOT NULL
);
)sql";

// Version 5: the indexes the read side's queries use (src/query, docs/api.md), partial so rows
// without the column cost nothing to write: a conversation's requests in time order (conversation
// detail, the conversation list's aggregates and latest request), the sub-agent requests a Task
// call started (conversation detail's sub-tasks), an account's requests in a time window (token
// usage, quota history). Lists and aggregates by time use idx_requests_timestamp.
constexpr std::string_view kV5 = R"sql(
CREATE INDEX IF NOT EXISTS idx_requests_conversation_time ON api_requests
  (conversation_id, timestamp, request_id) WHERE conversation_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_requests_parent_task ON api_requests (parent_task_request_id)
  WHERE parent_task_request_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_requests_account_time ON api_requests (account_id, timestamp)
  WHERE account_id IS NOT NULL;
)sql";

// Version 6 (docs/benchmarks.md, "Read API at 1M requests"):
//   idx_requests_account_quota_time  an account's requests that carry quota headers, newest
//       first (the latest quota snapshot of token-usage/current, time-series and accounts;
//       ratelimits' history). With only idx_requests_account_time, an account whose responses
//       never carry the unified headers (API-key traffic) made "latest row with quota_status"
//       walk every row of that account: 320 ms at 1M rows. Partial: rows without quota cost
//       nothing.
//   idx_requests_model_time  the `model` filter of the request list and export (its total and
//       its newest-first page): without it, count(*) WHERE model = ? read the whole table
//       (2.5 s at 1M rows). Few distinct models, so inserts append near a few right edges.
constexpr std::string_view kV6 = R"sql(
CREATE INDEX IF NOT EXISTS idx_requests_account_quota_time ON api_requests (account_id, timestamp)
  WHERE quota_status IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_requests_model_time ON api_requests (model, timestamp)
  WHERE model IS NOT NULL;
)sql";

constexpr Migration kMigrations[] = {
    {1, "initial schema: api_requests, streaming_chunks", kV1},
    {2, "drop the api_requests indexes no query uses", kV2},
    {3, "api_requests: user, session, cost and quota columns", kV3},
    {4, "cn_search (full-text search) and cn_events (live feed)", kV4},
    {5, "the read side's indexes: conversation, sub-task parent, account", kV5},
    {6, "indexes: an account's requests with quota headers; model filter", kV6},
};

}  // namespace

std::span<const Migration> SqliteMigrations() { return kMigrations; }

}  // namespace cn::storage
