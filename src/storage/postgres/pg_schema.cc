#include "storage/postgres/pg_schema.h"

namespace cn::storage {
namespace {

// Version 1: the original's tables, columns and indexes (index names as the original's
// init-database.sql and migrations use them, so an upgraded database does not get a second copy).
//
// Left out on purpose (an upgraded database keeps whatever it has): the foreign keys on
// parent_request_id / parent_task_request_id (version 2 explains), indexes that duplicate the
// primary key or a UNIQUE prefix (request_id, streaming_chunks.request_id), the unused
// message_count index, and the GIN / expression indexes over response_body, which multiply the
// size and write cost of the largest column for queries claude-nexus does not run
// (docs/storage.md, "Upgrading a database created by the original").
constexpr std::string_view kV1 = R"sql(
CREATE TABLE IF NOT EXISTS api_requests (
  request_id UUID PRIMARY KEY,
  domain VARCHAR(255) NOT NULL,
  timestamp TIMESTAMPTZ NOT NULL,
  method VARCHAR(10) NOT NULL,
  path VARCHAR(255) NOT NULL,
  headers JSONB,
  body JSONB,
  api_key_hash VARCHAR(50),
  model VARCHAR(100),
  request_type VARCHAR(50),
  response_status INTEGER,
  response_headers JSONB,
  response_body JSONB,
  response_streaming BOOLEAN DEFAULT false,
  input_tokens INTEGER DEFAULT 0,
  output_tokens INTEGER DEFAULT 0,
  total_tokens INTEGER DEFAULT 0,
  cache_creation_input_tokens INTEGER DEFAULT 0,
  cache_read_input_tokens INTEGER DEFAULT 0,
  usage_data JSONB,
  first_token_ms INTEGER,
  duration_ms INTEGER,
  error TEXT,
  tool_call_count INTEGER DEFAULT 0,
  created_at TIMESTAMPTZ DEFAULT NOW()
);

-- Added by the original's migrations 001-007: an older original database lacks some of them.
ALTER TABLE api_requests
  ADD COLUMN IF NOT EXISTS current_message_hash CHAR(64),
  ADD COLUMN IF NOT EXISTS parent_message_hash CHAR(64),
  ADD COLUMN IF NOT EXISTS conversation_id UUID,
  ADD COLUMN IF NOT EXISTS branch_id VARCHAR(255) DEFAULT 'main',
  ADD COLUMN IF NOT EXISTS message_count INTEGER DEFAULT 0,
  ADD COLUMN IF NOT EXISTS parent_task_request_id UUID,
  ADD COLUMN IF NOT EXISTS is_subtask BOOLEAN DEFAULT false,
  ADD COLUMN IF NOT EXISTS task_tool_invocation JSONB,
  ADD COLUMN IF NOT EXISTS account_id VARCHAR(255),
  ADD COLUMN IF NOT EXISTS parent_request_id UUID,
  ADD COLUMN IF NOT EXISTS system_hash VARCHAR(64);

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'chk_parent_request_not_self'
                 AND conrelid = 'api_requests'::regclass) THEN
    ALTER TABLE api_requests ADD CONSTRAINT chk_parent_request_not_self
      CHECK (parent_request_id != request_id);
  END IF;
END $$;

CREATE TABLE IF NOT EXISTS streaming_chunks (
  id SERIAL PRIMARY KEY,
  request_id UUID NOT NULL REFERENCES api_requests (request_id) ON DELETE CASCADE,
  chunk_index INTEGER NOT NULL,
  timestamp TIMESTAMPTZ NOT NULL,
  data TEXT NOT NULL,
  token_count INTEGER DEFAULT 0,
  created_at TIMESTAMPTZ DEFAULT NOW(),
  UNIQUE (request_id, chunk_index)
);

CREATE INDEX IF NOT EXISTS idx_requests_domain ON api_requests (domain);
CREATE INDEX IF NOT EXISTS idx_requests_timestamp ON api_requests (timestamp);
CREATE INDEX IF NOT EXISTS idx_requests_model ON api_requests (model);
CREATE INDEX IF NOT EXISTS idx_requests_request_type ON api_requests (request_type);
CREATE INDEX IF NOT EXISTS idx_requests_conversation_id ON api_requests (conversation_id);
CREATE INDEX IF NOT EXISTS idx_requests_branch_id ON api_requests (branch_id);
CREATE INDEX IF NOT EXISTS idx_requests_conversation_branch
  ON api_requests (conversation_id, branch_id);
CREATE INDEX IF NOT EXISTS idx_requests_parent_hash ON api_requests (parent_message_hash);
CREATE INDEX IF NOT EXISTS idx_requests_current_hash ON api_requests (current_message_hash);
CREATE INDEX IF NOT EXISTS idx_requests_account_id ON api_requests (account_id);
CREATE INDEX IF NOT EXISTS idx_requests_conversation_timestamp_id
  ON api_requests (conversation_id, timestamp DESC, request_id DESC)
  WHERE conversation_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_requests_conversation_subtask
  ON api_requests (conversation_id, is_subtask, timestamp ASC, request_id ASC)
  WHERE conversation_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_api_requests_parent_request_id ON api_requests (parent_request_id);
CREATE INDEX IF NOT EXISTS idx_requests_parent_task_request_id
  ON api_requests (parent_task_request_id);
CREATE INDEX IF NOT EXISTS idx_requests_system_hash ON api_requests (system_hash);
CREATE INDEX IF NOT EXISTS idx_api_requests_conv_id_timestamp
  ON api_requests (conversation_id, timestamp);
CREATE INDEX IF NOT EXISTS idx_subtask_seq ON api_requests (conversation_id, timestamp)
  WHERE branch_id LIKE 'subtask_%';

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_type WHERE typname = 'conversation_analysis_status') THEN
    CREATE TYPE conversation_analysis_status AS ENUM ('pending', 'processing', 'completed', 'failed');
  END IF;
END $$;

CREATE TABLE IF NOT EXISTS conversation_analyses (
  id BIGSERIAL PRIMARY KEY,
  conversation_id UUID NOT NULL,
  branch_id VARCHAR(255) NOT NULL DEFAULT 'main',
  status conversation_analysis_status NOT NULL DEFAULT 'pending',
  model_used VARCHAR(255) DEFAULT 'gemini-2.5-pro',
  analysis_content TEXT,
  analysis_data JSONB,
  raw_response JSONB,
  error_message TEXT,
  retry_count INTEGER DEFAULT 0,
  generated_at TIMESTAMPTZ,
  processing_duration_ms INTEGER,
  prompt_tokens INTEGER,
  completion_tokens INTEGER,
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  completed_at TIMESTAMPTZ,
  UNIQUE (conversation_id, branch_id)
);
ALTER TABLE conversation_analyses ADD COLUMN IF NOT EXISTS custom_prompt TEXT;

CREATE OR REPLACE FUNCTION trigger_set_timestamp() RETURNS TRIGGER AS $$
BEGIN
  NEW.updated_at = NOW();
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'set_timestamp_on_conversation_analyses'
                 AND tgrelid = 'conversation_analyses'::regclass) THEN
    CREATE TRIGGER set_timestamp_on_conversation_analyses
      BEFORE UPDATE ON conversation_analyses
      FOR EACH ROW EXECUTE FUNCTION trigger_set_timestamp();
  END IF;
END $$;

CREATE INDEX IF NOT EXISTS idx_conversation_analyses_status
  ON conversation_analyses (status) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS idx_conversation_analyses_conversation
  ON conversation_analyses (conversation_id, branch_id);
CREATE INDEX IF NOT EXISTS idx_conversation_analyses_has_custom_prompt
  ON conversation_analyses ((custom_prompt IS NOT NULL)) WHERE custom_prompt IS NOT NULL;

CREATE TABLE IF NOT EXISTS analysis_audit_log (
  id SERIAL PRIMARY KEY,
  event_type VARCHAR(50) NOT NULL,
  outcome VARCHAR(50) NOT NULL,
  conversation_id UUID NOT NULL,
  branch_id VARCHAR(255) NOT NULL,
  domain VARCHAR(255) NOT NULL,
  request_id VARCHAR(255) NOT NULL,
  user_context JSONB DEFAULT '{}',
  metadata JSONB DEFAULT '{}',
  timestamp TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
CREATE INDEX IF NOT EXISTS idx_audit_conversation ON analysis_audit_log (conversation_id, branch_id);
CREATE INDEX IF NOT EXISTS idx_audit_domain ON analysis_audit_log (domain);
CREATE INDEX IF NOT EXISTS idx_audit_timestamp ON analysis_audit_log (timestamp);
CREATE INDEX IF NOT EXISTS idx_audit_event_type ON analysis_audit_log (event_type);
)sql";

// Version 2: what claude-nexus records beyond the original (the same extra columns as the
// SQLite schema; see PostgresStore for how a Record maps onto them), and what it relaxes:
//   - The foreign keys from parent_request_id / parent_task_request_id to api_requests are
//     dropped (values kept): records are written in batches, spilled and replayed out of order,
//     and pruned by retention, so a child may be stored before or after its parent.
//   - domain, method, path, model, request_type, branch_id, account_id become TEXT (no
//     rewrite: varchar -> text is binary-compatible) so a long Host or path is stored rather
//     than rejecting the whole record. Skipped, with a notice, when a view depends on the column
//     (e.g. the original's hourly_stats materialized view).
//   - streaming_chunks.id becomes BIGINT while the table is still empty (the original never
//     wrote chunks; with ~300 chunks per stream a SERIAL runs out after ~7 M streams).
constexpr std::string_view kV2 = R"sql(
DO $$
DECLARE
  fk record;
  col text;
BEGIN
  FOR fk IN SELECT conname FROM pg_constraint
            WHERE contype = 'f' AND conrelid = 'api_requests'::regclass
              AND confrelid = 'api_requests'::regclass LOOP
    EXECUTE format('ALTER TABLE api_requests DROP CONSTRAINT %I', fk.conname);
  END LOOP;
  FOREACH col IN ARRAY ARRAY['domain', 'method', 'path', 'model', 'request_type', 'branch_id',
                             'account_id'] LOOP
    BEGIN
      EXECUTE format('ALTER TABLE api_requests ALTER COLUMN %I TYPE TEXT', col);
    EXCEPTION WHEN feature_not_supported OR dependent_objects_still_exist THEN
      RAISE NOTICE 'api_requests.% keeps its varchar limit: %', col, SQLERRM;
    END;
  END LOOP;
  IF NOT EXISTS (SELECT 1 FROM streaming_chunks LIMIT 1) AND
     (SELECT data_type FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = 'streaming_chunks'
        AND column_name = 'id') = 'integer' THEN
    ALTER TABLE streaming_chunks ALTER COLUMN id TYPE BIGINT;
    IF pg_get_serial_sequence('streaming_chunks', 'id') IS NOT NULL THEN
      EXECUTE format('ALTER SEQUENCE %s AS BIGINT', pg_get_serial_sequence('streaming_chunks', 'id'));
    END IF;
  END IF;
END $$;

ALTER TABLE api_requests
  ADD COLUMN IF NOT EXISTS query_string TEXT,
  ADD COLUMN IF NOT EXISTS outcome TEXT NOT NULL DEFAULT 'completed'
    CHECK (outcome IN ('completed', 'client_aborted', 'upstream_failed', 'rejected')),
  ADD COLUMN IF NOT EXISTS upstream_attempts INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS stop_reason TEXT,
  ADD COLUMN IF NOT EXISTS response_body_truncated BOOLEAN NOT NULL DEFAULT false,
  ADD COLUMN IF NOT EXISTS timestamp_us BIGINT,
  ADD COLUMN IF NOT EXISTS first_byte_us BIGINT,
  ADD COLUMN IF NOT EXISTS duration_us BIGINT,
  ADD COLUMN IF NOT EXISTS header_list BYTEA,
  ADD COLUMN IF NOT EXISTS response_header_list BYTEA,
  ADD COLUMN IF NOT EXISTS body_raw BYTEA,
  ADD COLUMN IF NOT EXISTS response_body_raw BYTEA,
  ADD COLUMN IF NOT EXISTS response_json_text TEXT,
  ADD COLUMN IF NOT EXISTS usage_json_text TEXT,
  ADD COLUMN IF NOT EXISTS task_tool_invocation_text TEXT;

ALTER TABLE streaming_chunks
  ADD COLUMN IF NOT EXISTS timestamp_us BIGINT,
  ADD COLUMN IF NOT EXISTS data_raw BYTEA;

-- Token usage per account (the original's 5 h window and daily queries, docs/storage.md):
-- covering, so the window and daily sums are index-only scans (no heap visits for the ~40 k rows
-- of a busy account's month); recent requests per domain.
CREATE INDEX IF NOT EXISTS idx_requests_account_usage ON api_requests (account_id, timestamp)
  INCLUDE (domain, model, input_tokens, output_tokens, total_tokens, cache_creation_input_tokens,
           cache_read_input_tokens);
CREATE INDEX IF NOT EXISTS idx_requests_domain_timestamp ON api_requests (domain, timestamp DESC);
)sql";

// Version 3: per-domain totals behind /token-stats, shared by every replica. WriteBatch adds
// the rows it inserts in the same transaction (so replays add nothing); the backfill covers
// rows written before (by the original or by version-2 claude-nexus). Retention does not
// subtract: the totals cover everything ever recorded in this database.
constexpr std::string_view kV3 = R"sql(
CREATE TABLE IF NOT EXISTS cn_domain_stats (
  domain TEXT PRIMARY KEY,
  input_tokens BIGINT NOT NULL DEFAULT 0,
  output_tokens BIGINT NOT NULL DEFAULT 0,
  request_count BIGINT NOT NULL DEFAULT 0,
  query_evaluation_count BIGINT NOT NULL DEFAULT 0,
  inference_count BIGINT NOT NULL DEFAULT 0,
  tool_call_count BIGINT NOT NULL DEFAULT 0,
  last_timestamp_us BIGINT NOT NULL DEFAULT 0
);
INSERT INTO cn_domain_stats
SELECT domain, coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0), count(*),
       count(*) FILTER (WHERE request_type = 'query_evaluation'),
       count(*) FILTER (WHERE request_type = 'inference'),
       coalesce(sum(tool_call_count), 0),
       coalesce(max(coalesce(timestamp_us,
                             (extract(epoch FROM timestamp) * 1000000)::bigint)), 0)
FROM api_requests GROUP BY domain
ON CONFLICT (domain) DO NOTHING;
)sql";

// Version 4: who made a request, what it cost and the account's quota as the response reported
// it (Record::user_id, session_id, cost_usd, quota; docs/storage.md "Who, cost and quota"), the
// same columns as SQLite's version 3. Nullable without defaults: a catalog change, no rewrite of
// an adopted database's rows, which read NULL. `ratelimit` is JSONB like the original's derived
// JSON. No index: no query of ours filters on them yet.
constexpr std::string_view kV4 = R"sql(
ALTER TABLE api_requests
  ADD COLUMN IF NOT EXISTS user_id TEXT,
  ADD COLUMN IF NOT EXISTS session_id TEXT,
  ADD COLUMN IF NOT EXISTS cost_usd DOUBLE PRECISION,
  ADD COLUMN IF NOT EXISTS quota_status TEXT,
  ADD COLUMN IF NOT EXISTS quota_5h_utilization DOUBLE PRECISION,
  ADD COLUMN IF NOT EXISTS quota_5h_reset BIGINT,
  ADD COLUMN IF NOT EXISTS quota_7d_utilization DOUBLE PRECISION,
  ADD COLUMN IF NOT EXISTS quota_7d_reset BIGINT,
  ADD COLUMN IF NOT EXISTS ratelimit JSONB;
)sql";

// Version 5: full-text search and the live feed of the read side (docs/storage.md "Search and
// the live feed"), as SQLite's version 4. WriteBatch fills both for the records it newly inserts,
// in its transaction, and notifies channel cn_events (delivered at COMMIT); retention deletes a
// request's search row with it and keeps 24 hours of events.
//   cn_search  Record::search_text; `simple` configuration (no stemming, no stop words: the
//              text mixes languages and code), GIN-indexed.
//   cn_events  one row per committed record; seq is commit order (WriteBatch takes an advisory
//              lock for it).
// Rows written before version 5 have no search row.
constexpr std::string_view kV5 = R"sql(
CREATE TABLE IF NOT EXISTS cn_search (
  request_id UUID PRIMARY KEY,
  text TEXT NOT NULL,
  tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED
);
CREATE INDEX IF NOT EXISTS idx_cn_search_tsv ON cn_search USING GIN (tsv);
CREATE TABLE IF NOT EXISTS cn_events (
  seq BIGSERIAL PRIMARY KEY,
  request_id UUID NOT NULL,
  created_us BIGINT NOT NULL
);
)sql";

// Version 6: an account's requests that carry quota headers, newest first (the latest quota
// snapshot of token-usage/current, time-series and accounts; ratelimits' history), as SQLite's
// version 6: without it an account whose responses never carry the unified headers (API-key
// traffic) made "latest row with quota_status" walk every row of that account
// (docs/benchmarks.md, "Read API at 1M requests"). Partial: rows without quota cost nothing.
constexpr std::string_view kV6 = R"sql(
CREATE INDEX IF NOT EXISTS idx_requests_account_quota_time ON api_requests (account_id, timestamp)
  WHERE quota_status IS NOT NULL;
)sql";

constexpr PgMigration kMigrations[] = {
    {1,
     "the original's schema (api_requests, streaming_chunks, conversation_analyses, "
     "analysis_audit_log)",
     kV1},
    {2, "claude-nexus columns; soft parent references; text limits", kV2},
    {3, "cn_domain_stats: per-domain totals shared by replicas", kV3},
    {4, "api_requests: user, session, cost and quota columns", kV4},
    {5, "cn_search (full-text search) and cn_events (live feed)", kV5},
    {6, "index: an account's requests with quota headers", kV6},
};

}  // namespace

std::span<const PgMigration> PostgresMigrations() { return kMigrations; }

}  // namespace cn::storage
