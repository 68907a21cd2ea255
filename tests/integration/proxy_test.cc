// The proxy's contract with clients and the upstream, end to end: forwarding, streaming,
// failures, credentials, recording.

#include <fstream>

#include "common/ids.h"
#include "integration/fixture.h"

namespace cn::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST_F(ProxyFixture, ForwardsBodyBytesAndHeadersExactlyBothWays) {
  StartProxy();
  // Odd formatting, key order and unicode must survive untouched (no re-serialisation).
  const std::string body =
      "{ \"stream\":false,\"model\" : \"claude-x\",\n  "
      "\"messages\":[{\"role\":\"system\",\"content\":\"s\"},"
      "{\"role\":\"user\",\"content\":\"h\\u00e9llo \xe2\x9c\x93 \\\"q\\\"\"}], \"zeta\": 1.50 }";
  auto res = Http(port(), "POST", "/v1/messages?beta=true",
                  {{"content-type", "application/json"},
                   {"x-fake-echo", "1"},
                   {"anthropic-version", "2023-06-01"},
                   {"anthropic-beta", "claude-code-20250219,interleaved-thinking-2025-05-14"},
                   {"x-stainless-lang", "js"},
                   {"x-api-key", "sk-ant-api03-passthrough-key"},
                   {"Connection", "keep-alive, x-hop"},
                   {"x-hop", "must-not-pass"}},
                  body);
  ASSERT_EQ(res.status, 200) << res.error;
  EXPECT_EQ(res.body, body);
  EXPECT_TRUE(IsUuid(res.Header("x-request-id"))) << res.Header("x-request-id");
  EXPECT_EQ(res.Header("anthropic-ratelimit-requests-remaining"), "49");
  EXPECT_FALSE(res.Header("request-id").empty());

  ASSERT_TRUE(upstream_->WaitForRequests(1, seconds(5)));
  auto up = upstream_->requests().at(0);
  EXPECT_EQ(up.target, "/v1/messages?beta=true");
  EXPECT_EQ(up.body, body);
  EXPECT_EQ(up.Header("anthropic-version"), "2023-06-01");
  EXPECT_EQ(up.Header("anthropic-beta"), "claude-code-20250219,interleaved-thinking-2025-05-14");
  EXPECT_EQ(up.Header("x-stainless-lang"), "js");
  EXPECT_EQ(up.Header("x-api-key"), "sk-ant-api03-passthrough-key");  // passthrough by default
  EXPECT_EQ(up.Header("x-hop"), "");
  EXPECT_EQ(up.Header("host"), "127.0.0.1:" + std::to_string(upstream_->port()));

  auto rec = WaitForRecord(res.Header("x-request-id"));
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->domain, "127.0.0.1:" + std::to_string(port()));
  EXPECT_EQ(rec->method, "POST");
  EXPECT_EQ(rec->path, "/v1/messages");
  EXPECT_EQ(rec->query, "beta=true");
  EXPECT_EQ(rec->request_body, body);
  EXPECT_EQ(rec->response_status, 200);
  EXPECT_EQ(rec->model, "claude-x");
  EXPECT_EQ(rec->outcome, Outcome::kCompleted);
  EXPECT_EQ(rec->upstream_attempts, 1);
  EXPECT_FALSE(rec->response_streaming);
  EXPECT_GT(rec->duration_micros, 0);
  ASSERT_TRUE(rec->first_byte_micros);
  bool masked = false;
  for (const auto& h : rec->request_headers) {
    if (h.name == "x-api-key") masked = h.value.find("passthrough") == std::string::npos;
  }
  EXPECT_TRUE(masked) << "x-api-key must be masked in the record";
}

TEST_F(ProxyFixture, NonStreamingRecordHasUsageAndClassification) {
  StartProxy();
  auto res =
      Http(port(), "POST", "/v1/messages", {{"content-type", "application/json"}}, MessagesBody());
  ASSERT_EQ(res.status, 200) << res.error;
  EXPECT_NE(res.body.find("Hello from fake"), std::string::npos);
  auto rec = WaitForRecord(res.Header("x-request-id"));
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->request_type, "inference");
  EXPECT_EQ(rec->usage.input_tokens, 12);
  EXPECT_EQ(rec->usage.output_tokens, 5);
  EXPECT_EQ(rec->message_count, 1);
  EXPECT_NE(rec->response_json.find("Hello from fake"), std::string::npos);
  EXPECT_EQ(rec->stop_reason, "end_turn");
}

TEST_F(ProxyFixture, StreamsEventsAsTheyArriveAndRecordsTheStream) {
  StartProxy();
  // The upstream pauses 3 s in the middle: the first half must reach the client during the pause.
  StreamingClient c(port(), "/v1/messages?beta=true",
                    {{"content-type", "application/json"},
                     {"x-fake-deltas", "6"},
                     {"x-fake-pause-ms", "3000"},
                     {"x-fake-thinking", "1"},
                     {"x-fake-tool", "1"}},
                    MessagesBody(true));
  ASSERT_TRUE(c.ReadHeader(seconds(5)));
  EXPECT_EQ(c.status(), 200);
  EXPECT_EQ(c.Header("content-type").rfind("text/event-stream", 0), 0u);
  ASSERT_TRUE(c.ReadUntil("event: message_start", seconds(2))) << c.body();
  EXPECT_EQ(c.body().find("event: message_stop"), std::string::npos) << "held back until the end?";
  ASSERT_TRUE(c.ReadToEnd(seconds(10))) << c.body();
  EXPECT_NE(c.body().find("event: message_stop"), std::string::npos);

  auto rec = WaitForRecord(c.Header("x-request-id"));
  ASSERT_TRUE(rec);
  EXPECT_TRUE(rec->response_streaming);
  EXPECT_EQ(rec->outcome, Outcome::kCompleted);
  std::string joined;
  for (const auto& ch : rec->chunks) joined += ch.data;
  EXPECT_EQ(joined, c.body()) << "every raw event is recorded exactly";
  EXPECT_NE(rec->response_json.find(FakeStreamText(6)), std::string::npos) << rec->response_json;
  EXPECT_NE(rec->response_json.find("\"thinking\""), std::string::npos) << "thinking kept";
  EXPECT_NE(rec->response_json.find("get_weather"), std::string::npos) << "tool_use kept";
  EXPECT_EQ(rec->tool_call_count, 1);
  EXPECT_EQ(rec->usage.output_tokens, 6);
  ASSERT_TRUE(rec->first_byte_micros);
  EXPECT_LT(*rec->first_byte_micros, rec->duration_micros);
}

TEST_F(ProxyFixture, ReplaysRealCapturedStreamByteForByte) {
  StartProxy();
  const std::string fixture =
      std::string(CN_FIXTURES_DIR) +
      "/captured/inference_streaming_with_tools_with_system_opus-1750420376296-im7ygz453.json";
  StreamingClient direct(upstream_->port(), "/v1/messages", {{"x-fake-replay", fixture}},
                         MessagesBody(true));
  ASSERT_TRUE(direct.ReadHeader(seconds(5)));
  ASSERT_TRUE(direct.ReadToEnd(seconds(10)));
  StreamingClient via(port(), "/v1/messages", {{"x-fake-replay", fixture}}, MessagesBody(true));
  ASSERT_TRUE(via.ReadHeader(seconds(5)));
  ASSERT_TRUE(via.ReadToEnd(seconds(10)));
  EXPECT_GT(via.body().size(), 1000u);
  EXPECT_EQ(via.body(), direct.body());
  auto rec = WaitForRecord(via.Header("x-request-id"));
  ASSERT_TRUE(rec);
  EXPECT_GT(rec->usage.output_tokens, 0);
  EXPECT_FALSE(rec->task_tool_invocation_json.empty()) << "the capture contains a Task tool_use";
}

TEST_F(ProxyFixture, ClientDisconnectMidStreamCancelsUpstreamAndIsRecordedAsAborted) {
  StartProxy();
  std::string rid;
  {
    StreamingClient c(port(), "/v1/messages", {{"x-fake-deltas", "200"}, {"x-fake-delay-ms", "50"}},
                      MessagesBody(true));
    ASSERT_TRUE(c.ReadHeader(seconds(5)));
    rid = c.Header("x-request-id");
    ASSERT_TRUE(c.ReadUntil("content_block_delta", seconds(5)));
    c.Close();
  }
  auto rec = WaitForRecord(rid);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->outcome, Outcome::kClientAborted);
  EXPECT_FALSE(rec->error.empty());
  EXPECT_LT(rec->chunks.size(), 100u) << "the upstream stream was cut short, not read to the end";
  EXPECT_GT(rec->chunks.size(), 0u);
}

TEST_F(ProxyFixture, ClientDisconnectWhileWaitingForNonStreamingAnswerIsRecorded) {
  StartProxy();
  std::string rid;
  {
    StreamingClient c(port(), "/v1/messages", {{"x-fake-header-delay-ms", "30000"}},
                      MessagesBody(false));
    ASSERT_TRUE(upstream_->WaitForRequests(1, seconds(5)));
    c.Close();
  }
  // The record appears long before the upstream's 30 s answer: the watcher noticed the hang-up.
  ASSERT_TRUE(Eventually([&] { return records().Count() == 1; }, seconds(10)));
}

TEST_F(ProxyFixture, UpstreamCutMidStreamEndsWithAnErrorEvent) {
  StartProxy();
  StreamingClient c(port(), "/v1/messages", {{"x-fake-cut-after", "3"}, {"x-fake-deltas", "10"}},
                    MessagesBody(true));
  ASSERT_TRUE(c.ReadHeader(seconds(5)));
  ASSERT_TRUE(c.ReadToEnd(seconds(10))) << "the response must still end well-framed: " << c.body();
  EXPECT_NE(
      c.body().find("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\""),
      std::string::npos)
      << c.body();
  auto rec = WaitForRecord(c.Header("x-request-id"));
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->outcome, Outcome::kUpstreamFailed);
  EXPECT_NE(rec->error.find("mid-response"), std::string::npos) << rec->error;
}

TEST_F(ProxyFixture, RetriesOverloadedThenSucceeds) {
  StartProxy({{"CLAUDE_API_MAX_RETRIES", "3"}});
  auto res = Http(port(), "POST", "/v1/messages",
                  {{"x-fake-status", "529"},
                   {"x-fake-fail-times", "2"},
                   {"x-fake-key", "k1"},
                   {"x-fake-retry-after", "0"}},
                  MessagesBody());
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(upstream_->request_count(), 3u);
  auto rec = WaitForRecord(res.Header("x-request-id"));
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->upstream_attempts, 3);
}

TEST_F(ProxyFixture, StatusesBeastHasNoNameForPassUnchanged) {
  StartProxy({{"CLAUDE_API_MAX_RETRIES", "0"}});
  auto res = Http(port(), "POST", "/v1/messages", {{"x-fake-status", "529"}}, MessagesBody());
  EXPECT_EQ(res.status, 529) << res.error;
  EXPECT_NE(res.body.find("overloaded_error"), std::string::npos) << res.body;
}

TEST_F(ProxyFixture, RateLimitWithLongRetryAfterGoesBackToTheClient) {
  StartProxy();
  auto res = Http(port(), "POST", "/v1/messages",
                  {{"x-fake-status", "429"}, {"x-fake-retry-after", "3600"}}, MessagesBody());
  EXPECT_EQ(res.status, 429);
  EXPECT_EQ(res.Header("retry-after"), "3600");
  EXPECT_NE(res.body.find("rate_limit_error"), std::string::npos);
  EXPECT_EQ(upstream_->request_count(), 1u);
  auto rec = WaitForRecord(res.Header("x-request-id"));
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->response_status, 429);
}

TEST_F(ProxyFixture, UnreachableUpstreamGives502InAnthropicShape) {
  StartProxy({{"CLAUDE_API_BASE_URL", "http://127.0.0.1:1"}, {"CLAUDE_API_MAX_RETRIES", "0"}});
  auto res = Http(port(), "POST", "/v1/messages", {}, MessagesBody());
  EXPECT_EQ(res.status, 502);
  EXPECT_NE(res.body.find("\"type\":\"error\""), std::string::npos) << res.body;
  EXPECT_NE(res.body.find("\"api_error\""), std::string::npos) << res.body;
  auto rec = WaitForRecord(res.Header("x-request-id"));
  ASSERT_TRUE(rec) << proxy_->Log();
  EXPECT_EQ(rec->outcome, Outcome::kUpstreamFailed);
}

TEST_F(ProxyFixture, SlowUpstreamHeadersTimeOutWith504) {
  StartProxy({{"CLAUDE_API_TIMEOUT", "300"}, {"CLAUDE_API_MAX_RETRIES", "0"}});
  auto res =
      Http(port(), "POST", "/v1/messages", {{"x-fake-header-delay-ms", "3000"}}, MessagesBody());
  EXPECT_EQ(res.status, 504) << res.body;
  EXPECT_NE(res.body.find("timeout_error"), std::string::npos);
}

TEST_F(ProxyFixture, SilentThinkingPauseLongerThanTheHeaderTimeoutDoesNotTrip) {
  StartProxy({{"CLAUDE_API_TIMEOUT", "300"}});
  StreamingClient c(port(), "/v1/messages", {{"x-fake-pause-ms", "1500"}}, MessagesBody(true));
  ASSERT_TRUE(c.ReadHeader(seconds(5)));
  ASSERT_TRUE(c.ReadToEnd(seconds(10)));
  EXPECT_NE(c.body().find("event: message_stop"), std::string::npos);
  EXPECT_EQ(c.body().find("event: error"), std::string::npos);
}

// Deadlines are enforced by the worker's sweeper, not per-operation timers (net/io.h): a stream
// the upstream stops feeding ends after PROXY_SERVER_TIMEOUT of silence, with an error event.
TEST_F(ProxyFixture, StalledStreamEndsAfterTheInactivityTimeoutWithAnErrorEvent) {
  StartProxy({{"PROXY_SERVER_TIMEOUT", "400"}});
  StreamingClient c(port(), "/v1/messages", {{"x-fake-pause-ms", "3000"}}, MessagesBody(true));
  ASSERT_TRUE(c.ReadHeader(seconds(5)));
  ASSERT_TRUE(c.ReadToEnd(seconds(10)));
  EXPECT_NE(c.body().find("event: error"), std::string::npos) << c.body();
  EXPECT_EQ(c.body().find("event: message_stop"), std::string::npos);
  auto rec = WaitForRecord(c.Header("x-request-id"));
  ASSERT_TRUE(rec) << proxy_->Log();
  EXPECT_EQ(rec->outcome, Outcome::kUpstreamFailed);
  EXPECT_NE(rec->error.find("timeout"), std::string::npos) << rec->error;
}

// ... and a client that sends half a request and goes silent is disconnected, on the client side.
TEST_F(ProxyFixture, ClientSilentMidRequestIsDisconnectedAfterTheServerTimeout) {
  StartProxy({{"PROXY_SERVER_TIMEOUT", "300"}});
  const auto start = std::chrono::steady_clock::now();
  std::string got = RawExchange(port(),
                                "POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                "Content-Length: 100\r\n\r\n{\"model\":",
                                seconds(20));
  // RawExchange returns when the server closes, or after 20 s: well before that means closed.
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(10));
  EXPECT_EQ(upstream_->request_count(), 0u);
  auto health = Http(port(), "GET", "/health/live", {}, "");
  EXPECT_EQ(health.status, 200);
}

TEST_F(ProxyFixture, OversizedBodyIs413) {
  StartProxy({{"MAX_REQUEST_BODY_BYTES", "1000"}});
  auto res = Http(port(), "POST", "/v1/messages", {}, std::string(5000, 'x'));
  EXPECT_EQ(res.status, 413);
  EXPECT_NE(res.body.find("request_too_large"), std::string::npos);
  EXPECT_EQ(upstream_->request_count(), 0u);
}

TEST_F(ProxyFixture, BadInputGetsClearErrorsAndTheProcessSurvives) {
  StartProxy();
  std::string no_host = RawExchange(port(), "GET /v1/models HTTP/1.0\r\n\r\n");
  EXPECT_NE(no_host.find("400"), std::string::npos) << no_host;
  EXPECT_NE(no_host.find("Host header is required"), std::string::npos) << no_host;
  std::string garbage = RawExchange(port(), "\x16\x03\x01 this is not http\r\n\r\n");
  EXPECT_NE(garbage.find("HTTP/1.1 400"), std::string::npos) << garbage;
  auto nf = Http(port(), "GET", "/nope");
  EXPECT_EQ(nf.status, 404);
  EXPECT_NE(nf.body.find("not_found_error"), std::string::npos);
  auto root = Http(port(), "GET", "/");
  EXPECT_EQ(root.status, 200);
  auto head = Http(port(), "HEAD", "/");
  EXPECT_EQ(head.status, 200);
  auto preflight = Http(port(), "OPTIONS", "/v1/messages");
  EXPECT_EQ(preflight.status, 204);
  EXPECT_EQ(preflight.Header("access-control-allow-origin"), "*");
  // Still serving after all that.
  EXPECT_EQ(Http(port(), "GET", "/health").status, 200);
}

TEST_F(ProxyFixture, EveryV1PathAndMethodIsForwarded) {
  StartProxy();
  auto models = Http(port(), "GET", "/v1/models?limit=2", {{"x-fake-echo", "1"}});
  EXPECT_EQ(models.status, 200);
  auto count = Http(port(), "POST", "/v1/messages/count_tokens",
                    {{"content-type", "application/json"}}, MessagesBody());
  EXPECT_EQ(count.status, 200);
  ASSERT_TRUE(upstream_->WaitForRequests(2, seconds(5)));
  auto reqs = upstream_->requests();
  EXPECT_EQ(reqs[0].method, "GET");
  EXPECT_EQ(reqs[0].target, "/v1/models?limit=2");
  EXPECT_EQ(reqs[1].target, "/v1/messages/count_tokens");
  auto rec = WaitForRecord(count.Header("x-request-id"));
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->request_type, "count_tokens");
}

TEST_F(ProxyFixture, ApiKeyCredentialFileIsInjectedAndAccountRecorded) {
  StartProxy();
  WriteCredentials(
      proxy_->host_header(),
      R"({"type":"api_key","accountId":"acc_team","api_key":"sk-ant-api03-FILEKEYSECRET"})");
  auto res = Http(port(), "POST", "/v1/messages", {{"x-api-key", "sk-ant-api03-CLIENTKEY"}},
                  MessagesBody());
  ASSERT_EQ(res.status, 200) << res.body;
  ASSERT_TRUE(upstream_->WaitForRequests(1, seconds(5)));
  auto up = upstream_->requests().at(0);
  EXPECT_EQ(up.Header("x-api-key"), "sk-ant-api03-FILEKEYSECRET");
  EXPECT_EQ(up.Header("authorization"), "");
  auto rec = WaitForRecord(res.Header("x-request-id"));
  ASSERT_TRUE(rec);
  ASSERT_TRUE(rec->account_id);
  EXPECT_EQ(*rec->account_id, "acc_team");
}

TEST_F(ProxyFixture, OAuthCredentialSendsBearerAndAppendsBeta) {
  StartProxy();
  const auto future_ms = std::to_string(
      (std::chrono::system_clock::now().time_since_epoch() / milliseconds(1)) + 3600000);
  WriteCredentials(
      proxy_->host_header(),
      R"({"type":"oauth","accountId":"max1","oauth":{"accessToken":"sk-ant-oat01-ACCESSSECRET","refreshToken":"r","expiresAt":)" +
          future_ms + "}}");
  auto res = Http(port(), "POST", "/v1/messages", {{"anthropic-beta", "claude-code-20250219"}},
                  MessagesBody());
  ASSERT_EQ(res.status, 200) << res.body;
  auto up = upstream_->requests().at(0);
  EXPECT_EQ(up.Header("authorization"), "Bearer sk-ant-oat01-ACCESSSECRET");
  EXPECT_EQ(up.Header("anthropic-beta"), "claude-code-20250219,oauth-2025-04-20");
}

TEST_F(ProxyFixture, ExpiredOAuthTokenIsAClear401WithoutCallingUpstream) {
  StartProxy();
  WriteCredentials(
      proxy_->host_header(),
      R"({"type":"oauth","accountId":"max1","oauth":{"accessToken":"sk-ant-oat01-OLD","refreshToken":"r","expiresAt":1000}})");
  auto res = Http(port(), "POST", "/v1/messages", {}, MessagesBody());
  EXPECT_EQ(res.status, 401);
  EXPECT_NE(res.body.find("authentication_error"), std::string::npos);
  EXPECT_NE(res.body.find(".credentials.json"), std::string::npos) << res.body;
  EXPECT_EQ(upstream_->request_count(), 0u);
  auto rec = WaitForRecord(res.Header("x-request-id"));
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->outcome, Outcome::kRejected);
}

TEST_F(ProxyFixture, ClientAuthRequiresTheDomainsClientKey) {
  StartProxy({{"ENABLE_CLIENT_AUTH", "true"}});
  WriteCredentials(
      proxy_->host_header(),
      R"({"type":"api_key","accountId":"a","api_key":"sk-ant-api03-UPSTREAMKEY","client_api_key":"cnp_live_CLIENTKEYVALUE"})");
  auto missing = Http(port(), "POST", "/v1/messages", {}, MessagesBody());
  EXPECT_EQ(missing.status, 401);
  EXPECT_FALSE(missing.Header("www-authenticate").empty());
  auto wrong = Http(port(), "POST", "/v1/messages", {{"authorization", "Bearer cnp_live_WRONG"}},
                    MessagesBody());
  EXPECT_EQ(wrong.status, 401);
  EXPECT_NE(wrong.body.find("authentication_error"), std::string::npos);
  EXPECT_EQ(upstream_->request_count(), 0u);
  auto ok = Http(port(), "POST", "/v1/messages",
                 {{"authorization", "Bearer cnp_live_CLIENTKEYVALUE"}}, MessagesBody());
  ASSERT_EQ(ok.status, 200) << ok.body;
  auto up = upstream_->requests().at(0);
  EXPECT_EQ(up.Header("x-api-key"), "sk-ant-api03-UPSTREAMKEY");
  EXPECT_EQ(up.Header("authorization"), "") << "the proxy's client key never goes upstream";
}

TEST_F(ProxyFixture, TlsUpstreamIsVerifiedAgainstTheConfiguredCa) {
  FakeUpstreamOptions o;
  o.tls = true;
  StartUpstream(o);
  StartProxy({{"CLAUDE_API_CA_FILE", std::string(CN_TEST_CERTS_DIR) + "/ca.pem"}});
  auto res = Http(port(), "POST", "/v1/messages", {}, MessagesBody());
  EXPECT_EQ(res.status, 200) << res.body;
}

TEST_F(ProxyFixture, TlsUpstreamWithUnknownCaIsRefused) {
  FakeUpstreamOptions o;
  o.tls = true;
  StartUpstream(o);
  StartProxy({{"CLAUDE_API_MAX_RETRIES", "0"}});
  auto res = Http(port(), "POST", "/v1/messages", {}, MessagesBody());
  EXPECT_EQ(res.status, 502) << res.body;
  EXPECT_EQ(upstream_->request_count(), 0u);
}

TEST_F(ProxyFixture, SecretsNeverReachTheDatabaseOrTheLog) {
  StartProxy({{"LOG_LEVEL", "debug"}});
  auto a = Http(port(), "POST", "/v1/messages", {{"x-api-key", "sk-ant-api03-TOPSECRETAPIKEY"}},
                MessagesBody());
  auto b = Http(port(), "POST", "/v1/messages",
                {{"authorization", "Bearer sk-ant-oat01-TOPSECRETTOKEN"}}, MessagesBody(true));
  ASSERT_EQ(a.status, 200);
  ASSERT_EQ(b.status, 200);
  ASSERT_TRUE(WaitForRecord(a.Header("x-request-id")));
  ASSERT_TRUE(WaitForRecord(b.Header("x-request-id")));
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(content.find("TOPSECRET"), std::string::npos) << entry.path();
  }
}

TEST_F(ProxyFixture, MetricsAndTokenStatsReflectTraffic) {
  StartProxy();
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(Http(port(), "POST", "/v1/messages", {}, MessagesBody()).status, 200);
  }
  ASSERT_TRUE(Eventually([&] { return records().Count() == 3; }));
  auto m = Http(port(), "GET", "/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_NE(m.body.find("cn_proxy_responses_total{status=\"200\",outcome=\"completed\"} 3"),
            std::string::npos)
      << m.body;
  EXPECT_EQ(MetricValue(m.body, "cn_records_written_total"), 3);
  EXPECT_NE(m.body.find("cn_tokens_total{model=\"claude-sonnet-4-20250514\",kind=\"output\"} 15"),
            std::string::npos);
  auto ts = Http(port(), "GET", "/token-stats");
  EXPECT_NE(ts.body.find("\"requestCount\":3"), std::string::npos) << ts.body;
  EXPECT_NE(ts.body.find("\"outputTokens\":15"), std::string::npos) << ts.body;
  auto one = Http(port(), "GET", "/token-stats?domain=" + proxy_->host_header());
  EXPECT_NE(one.body.find("\"inferenceCount\":3"), std::string::npos) << one.body;
}

}  // namespace
}  // namespace cn::testing
