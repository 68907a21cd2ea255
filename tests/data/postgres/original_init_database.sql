-- The original Claude Nexus Proxy's database as its init-database.sql plus migrations 000-011
-- leave it (reconstructed from the original's schema for the compatibility test; not used by
-- claude-nexus itself). Includes what claude-nexus deliberately does not create (foreign keys on
-- the parent columns, GIN indexes, the hourly_stats materialized view, a dropped column's
-- leftover last_message_preview) so that adopting it is tested against the real thing.
CREATE TABLE api_requests (
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
  current_message_hash CHAR(64),
  parent_message_hash CHAR(64),
  conversation_id UUID,
  branch_id VARCHAR(255) DEFAULT 'main',
  message_count INTEGER DEFAULT 0,
  parent_task_request_id UUID REFERENCES api_requests (request_id),
  is_subtask BOOLEAN DEFAULT false,
  task_tool_invocation JSONB,
  account_id VARCHAR(255),
  last_message_preview TEXT,
  parent_request_id UUID REFERENCES api_requests (request_id),
  system_hash VARCHAR(64),
  created_at TIMESTAMPTZ DEFAULT NOW(),
  CONSTRAINT chk_parent_request_not_self CHECK (parent_request_id != request_id)
);

CREATE TABLE streaming_chunks (
  id SERIAL PRIMARY KEY,
  request_id UUID NOT NULL REFERENCES api_requests (request_id) ON DELETE CASCADE,
  chunk_index INTEGER NOT NULL,
  timestamp TIMESTAMPTZ NOT NULL,
  data TEXT NOT NULL,
  token_count INTEGER DEFAULT 0,
  created_at TIMESTAMPTZ DEFAULT NOW(),
  UNIQUE (request_id, chunk_index)
);

CREATE INDEX idx_requests_domain ON api_requests (domain);
CREATE INDEX idx_requests_timestamp ON api_requests (timestamp);
CREATE INDEX idx_requests_model ON api_requests (model);
CREATE INDEX idx_requests_request_type ON api_requests (request_type);
CREATE INDEX idx_requests_conversation_id ON api_requests (conversation_id);
CREATE INDEX idx_requests_branch_id ON api_requests (branch_id);
CREATE INDEX idx_requests_conversation_branch ON api_requests (conversation_id, branch_id);
CREATE INDEX idx_requests_message_count ON api_requests (message_count);
CREATE INDEX idx_requests_parent_hash ON api_requests (parent_message_hash);
CREATE INDEX idx_requests_current_hash ON api_requests (current_message_hash);
CREATE INDEX idx_requests_account_id ON api_requests (account_id);
CREATE INDEX idx_requests_conversation_timestamp_id ON api_requests
  (conversation_id, timestamp DESC, request_id DESC) WHERE conversation_id IS NOT NULL;
CREATE INDEX idx_requests_conversation_subtask ON api_requests
  (conversation_id, is_subtask, timestamp ASC, request_id ASC) WHERE conversation_id IS NOT NULL;
CREATE INDEX idx_requests_request_id ON api_requests (request_id);
CREATE INDEX idx_api_requests_parent_request_id ON api_requests (parent_request_id);
CREATE INDEX idx_api_requests_system_hash ON api_requests (system_hash);
CREATE INDEX idx_requests_response_body_gin ON api_requests USING GIN (response_body);
CREATE INDEX idx_requests_task_tool_invocation_gin ON api_requests USING GIN (task_tool_invocation);
CREATE INDEX idx_requests_domain_timestamp_response ON api_requests (domain, timestamp DESC)
  WHERE response_body IS NOT NULL;
CREATE INDEX idx_api_requests_account_timestamp ON api_requests (account_id, timestamp);
CREATE INDEX idx_api_requests_conv_id_timestamp ON api_requests (conversation_id, timestamp);
CREATE INDEX idx_subtask_seq ON api_requests (conversation_id, timestamp)
  WHERE branch_id LIKE 'subtask_%';
CREATE INDEX idx_chunks_request_id ON streaming_chunks (request_id);

-- Migration 000: a materialized view over the last 7 days (nothing reads it).
CREATE MATERIALIZED VIEW hourly_stats AS
SELECT date_trunc('hour', timestamp) AS hour, domain, model, count(*) AS request_count,
       sum(input_tokens) AS total_input_tokens, sum(output_tokens) AS total_output_tokens,
       avg(duration_ms) AS avg_duration_ms
FROM api_requests WHERE timestamp > NOW() - INTERVAL '7 days'
GROUP BY 1, 2, 3;

-- Migration 011.
CREATE TYPE conversation_analysis_status AS ENUM ('pending', 'processing', 'completed', 'failed');
CREATE TABLE conversation_analyses (
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
  custom_prompt TEXT,
  UNIQUE (conversation_id, branch_id)
);
CREATE FUNCTION trigger_set_timestamp() RETURNS TRIGGER AS $$
BEGIN
  NEW.updated_at = NOW();
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER set_timestamp_on_conversation_analyses BEFORE UPDATE ON conversation_analyses
  FOR EACH ROW EXECUTE FUNCTION trigger_set_timestamp();
CREATE INDEX idx_conversation_analyses_status ON conversation_analyses (status)
  WHERE status = 'pending';
CREATE INDEX idx_conversation_analyses_conversation ON conversation_analyses (conversation_id, branch_id);
CREATE TABLE analysis_audit_log (
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
CREATE INDEX idx_audit_conversation ON analysis_audit_log (conversation_id, branch_id);
CREATE INDEX idx_audit_domain ON analysis_audit_log (domain);
CREATE INDEX idx_audit_timestamp ON analysis_audit_log (timestamp);
CREATE INDEX idx_audit_event_type ON analysis_audit_log (event_type);
