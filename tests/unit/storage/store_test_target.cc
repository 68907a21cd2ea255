#include "store_test_target.h"

#include <stdlib.h>

#include <filesystem>
#include <system_error>

#include "common/ids.h"

namespace cn::storage::testing {

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "cn_storage_test_XXXXXX").string();
  if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!path_.empty()) std::filesystem::remove_all(path_, ec);
}

Record FullRecord(int n) {
  const std::int64_t base = 1'795'000'000'123'456 + n * 1'000'000LL;
  Record r;
  r.request_id = NewUuidV4();
  r.domain = "team" + std::to_string(n) + ".example.com:3000";
  r.account_id = "acc-" + std::to_string(n);
  r.timestamp_unix_micros = base;
  r.method = "POST";
  r.path = "/v1/messages";
  r.query = "beta=true&n=" + std::to_string(n);
  r.request_headers = {{"Content-Type", "application/json"},
                       {"x-api-key", "****abcdef"},
                       {"User-Agent", "claude-cli/1.0 \"quoted\"\t\\ tab"},
                       {"X-Raw-Bytes", "\x01 \xff\xfe latin1 \xe9"}};
  r.request_body =
      R"({"model":"claude-3-opus","stream":true,"messages":[{"role":"user","content":"hi \u00e9"}]})";
  r.response_status = 200;
  r.response_headers = {{"content-type", "text/event-stream"},
                        {"set-cookie", "a=1"},
                        {"request-id", "req_" + std::to_string(n)},
                        {"Set-Cookie", "b=2"}};
  r.response_body = "";
  r.response_body_truncated = true;
  r.response_streaming = true;
  r.chunks = {
      {base + 100,
       "event: message_start\ndata: {\"type\":\"message_start\",\"message\":"
       "{\"usage\":{\"input_tokens\":10,\"output_tokens\":1}}}\n\n"},
      {base + 200,
       "event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
       "\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n"},
      {base + 300,
       "event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":"
       "{\"output_tokens\":42}}\n\n"},
  };
  // What anthropic::ChunkUsages gives for these chunks (tests/unit/anthropic/enrich_test.cc).
  r.chunk_usage = {
      {0,
       "{\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":10,"
       "\"output_tokens\":1}}}",
       0},
      {2, "{\"type\":\"message_delta\",\"usage\":{\"output_tokens\":42}}", 42},
  };
  r.first_byte_micros = 1234;
  r.duration_micros = 56789;
  r.upstream_attempts = 2;
  r.outcome = Outcome::kClientAborted;
  r.error = "client went away";
  r.enriched = true;
  r.model = "claude-3-opus";
  r.request_type = "inference";
  r.message_count = 3 + n;
  r.usage = {10 + n, 42, 5, 7};
  r.usage_json = R"({"input_tokens":10,"output_tokens":42})";
  r.response_json = R"({"id":"msg_1","type":"message","content":[{"type":"text","text":"Hello"}]})";
  r.tool_call_count = 1;
  r.task_tool_invocation_json = R"([{"id":"toolu_1","name":"Task","input":{}}])";
  r.stop_reason = "end_turn";
  r.link.current_message_hash = std::string(64, 'c');
  r.link.parent_message_hash = std::string(64, 'p');
  r.link.system_hash = std::string(64, 's');
  r.link.conversation_id = NewUuidV4();
  r.link.branch_id = "subtask_1";
  r.link.parent_request_id = NewUuidV4();
  r.link.parent_task_request_id = NewUuidV4();
  r.link.is_subtask = true;
  r.user_id = "user_" + std::string(64, 'a') + "_account_acc-" + std::to_string(n) + "_session_" +
              std::to_string(n);
  r.session_id = NewUuidV4();
  r.cost_usd = 0.1 + 0.2 + n;  // 0.30000000000000004 + n: only an exact round trip keeps it
  r.quota.status = "allowed_warning";
  r.quota.utilization_5h = 0.81 + n / 1000.0;
  r.quota.resets_at_5h = 1'795'003'600 + n;
  r.quota.utilization_7d = 1.0 / 3.0;
  r.quota.resets_at_7d = 1'795'400'000 + n;
  // As anthropic::RateLimitJson writes it (key order not JSONB's).
  r.quota.json =
      R"({"status":"allowed_warning","representativeClaim":"five_hour","windows":{"5h":)"
      R"({"status":"allowed_warning","utilization":0.81,"resetsAt":1795003600,)"
      R"("surpassedThreshold":0.8},"7d":{"status":"allowed","utilization":0.3333333333333333,)"
      R"("resetsAt":1795400000}},"unknown":{"anthropic-ratelimit-x":"café"}})";
  r.search_text = "hi é word" + std::to_string(n) + "\nHello";
  return r;
}

Record SimpleRecord(const std::string& domain, const std::string& type, std::int64_t input,
                    std::int64_t output, int tools, std::int64_t at_unix_micros) {
  Record r;
  r.request_id = NewUuidV4();
  r.domain = domain;
  r.timestamp_unix_micros = at_unix_micros;
  r.method = "POST";
  r.path = "/v1/messages";
  r.request_body = R"({"model":"m","messages":[]})";
  r.response_status = 200;
  r.response_body = R"({"type":"message"})";
  r.response_json = r.response_body;
  r.duration_micros = 1000;
  r.upstream_attempts = 1;
  r.enriched = true;
  r.model = "m";
  r.request_type = type;
  r.usage.input_tokens = input;
  r.usage.output_tokens = output;
  r.tool_call_count = tools;
  return r;
}

}  // namespace cn::storage::testing
