-- Rows written the way the original writes them: an INSERT of the request columns ON CONFLICT DO
-- NOTHING, then an UPDATE with the response; response_streaming false, chunks never written,
-- request_type always inference. Timestamps are relative to now() so that the token-usage windows
-- cover them.
INSERT INTO api_requests (request_id, domain, timestamp, method, path, headers, body, api_key_hash,
  model, request_type, current_message_hash, parent_message_hash, conversation_id, branch_id,
  message_count, account_id, system_hash)
VALUES
  ('11111111-1111-4111-8111-111111111111', 'team.example.com', now() - interval '2 hours', 'POST',
   '/v1/messages', '{"user-agent": "claude-cli/1.0.0", "content-type": "application/json"}',
   '{"model": "claude-3-opus", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 10}',
   '', 'claude-3-opus', 'inference', repeat('a', 64), NULL,
   'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'main', 1, 'acc-1', repeat('s', 64))
ON CONFLICT (request_id) DO NOTHING;
UPDATE api_requests SET response_status = 200,
  response_headers = '{"request-id": "req_1", "anthropic-ratelimit-unified-status": "allowed"}',
  response_body = '{"id": "msg_1", "type": "message", "content": [{"type": "text", "text": "Hello"}]}',
  response_streaming = false, input_tokens = 10, output_tokens = 5, total_tokens = 15,
  cache_creation_input_tokens = 1, cache_read_input_tokens = 2, duration_ms = 1234,
  tool_call_count = 0, usage_data = '{"input_tokens": 10, "output_tokens": 5}'
WHERE request_id = '11111111-1111-4111-8111-111111111111';

INSERT INTO api_requests (request_id, domain, timestamp, method, path, headers, body, api_key_hash,
  model, request_type, current_message_hash, parent_message_hash, conversation_id, branch_id,
  message_count, account_id, parent_request_id)
VALUES
  ('22222222-2222-4222-8222-222222222222', 'team.example.com', now() - interval '1 hour', 'POST',
   '/v1/messages', '{"user-agent": "claude-cli/1.0.0"}',
   '{"model": "claude-3-opus", "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "more"}]}',
   '', 'claude-3-opus', 'inference', repeat('b', 64), repeat('a', 64),
   'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'main', 3, 'acc-1',
   '11111111-1111-4111-8111-111111111111')
ON CONFLICT (request_id) DO NOTHING;
UPDATE api_requests SET response_status = 200, response_headers = '{"request-id": "req_2"}',
  response_body = '{"id": "msg_2", "type": "message", "content": [{"type": "tool_use", "id": "toolu_1", "name": "Task", "input": {"prompt": "x"}}]}',
  response_streaming = false, input_tokens = 20, output_tokens = 7, total_tokens = 27,
  duration_ms = 2000, tool_call_count = 1, usage_data = '{"input_tokens": 20, "output_tokens": 7}',
  task_tool_invocation = '[{"id": "toolu_1", "name": "Task", "input": {"prompt": "x"}}]'
WHERE request_id = '22222222-2222-4222-8222-222222222222';

INSERT INTO api_requests (request_id, domain, timestamp, method, path, body, model, request_type,
  response_status, input_tokens, output_tokens, total_tokens, duration_ms, account_id)
VALUES ('33333333-3333-4333-8333-333333333333', 'other.example.com:3000', now() - interval '3 days',
  'POST', '/v1/messages', '{"model": "claude-3-haiku", "messages": []}', 'claude-3-haiku',
  'inference', 200, 100, 50, 150, 10, NULL);

INSERT INTO conversation_analyses (conversation_id, branch_id, status, analysis_content)
VALUES ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'main', 'completed', '# Summary');
INSERT INTO analysis_audit_log (event_type, outcome, conversation_id, branch_id, domain, request_id)
VALUES ('ANALYSIS_REQUEST', 'SUCCESS', 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'main',
        'team.example.com', 'req-1');
REFRESH MATERIALIZED VIEW hourly_stats;
