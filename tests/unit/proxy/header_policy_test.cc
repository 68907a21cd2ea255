#include "proxy/header_policy.h"

#include <gtest/gtest.h>

#include "common/ascii.h"

namespace cn::proxy {
namespace {

// Realistic-looking secrets (not real keys).
const std::string kApiKey =
    "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-AbCdEfGhIjKlMnOpQrStUvWxYz01234567-"
    "AbCdEfAA";
const std::string kOAuthToken =
    "sk-ant-oat01-ZyXwVuTsRqPoNmLkJiHgFeDcBa9876543210_-ZyXwVuTsRqPoNmLkJiHgFeDcBa98765432-"
    "ZyXwVuAA";
const std::string kClientKey = "cnp_live_Q2xhdWRlTmV4dXNQcm94eUNsaWVudEtleTAxMjM0NTY3";

std::vector<std::string> Names(const Headers& headers) {
  std::vector<std::string> names;
  for (const Header& h : headers) names.push_back(h.name);
  return names;
}

const std::string* Value(const Headers& headers, std::string_view name) {
  const Header* h = FindHeader(headers, name);
  return h == nullptr ? nullptr : &h->value;
}

// The headers Claude Code sends (fixtures/captured), plus connection-level noise.
Headers ClaudeCodeRequest(std::string authorization) {
  return {
      {"Host", "localhost:3000"},
      {"Connection", "keep-alive, X-Hop"},
      {"accept", "application/json"},
      {"X-Hop", "per-connection"},
      {"accept-encoding", "gzip, deflate"},
      {"anthropic-beta", "claude-code-20250219,fine-grained-tool-streaming-2025-05-14"},
      {"anthropic-version", "2023-06-01"},
      {"authorization", std::move(authorization)},
      {"content-length", "189"},
      {"content-type", "application/json"},
      {"Keep-Alive", "timeout=5"},
      {"Transfer-Encoding", "chunked"},
      {"TE", "trailers"},
      {"user-agent", "claude-cli/1.0.25 (external, cli)"},
      {"x-stainless-lang", "js"},
      {"x-stainless-retry-count", "0"},
      {"anthropic-dangerous-direct-browser-access", "true"},
      {"x-app", "cli"},
  };
}

TEST(IsHopByHopTest, KnowsTheConnectionLevelHeaders) {
  for (const char* name :
       {"Connection", "keep-alive", "PROXY-AUTHENTICATE", "Proxy-Authorization", "TE", "Trailer",
        "Trailers", "Transfer-Encoding", "upgrade", "Proxy-Connection"}) {
    EXPECT_TRUE(IsHopByHop(name)) << name;
  }
  for (const char* name :
       {"content-type", "authorization", "x-api-key", "anthropic-beta", "te-x", ""}) {
    EXPECT_FALSE(IsHopByHop(name)) << name;
  }
}

TEST(UpstreamRequestHeadersTest, PassthroughKeepsEndToEndHeadersInOrder) {
  const Headers out =
      UpstreamRequestHeaders(ClaudeCodeRequest("Bearer " + kOAuthToken), AuthPlan{});
  EXPECT_EQ(Names(out),
            (std::vector<std::string>{"accept", "anthropic-beta", "anthropic-version",
                                      "authorization", "content-type", "user-agent",
                                      "x-stainless-lang", "x-stainless-retry-count",
                                      "anthropic-dangerous-direct-browser-access", "x-app"}));
  EXPECT_EQ(*Value(out, "authorization"), "Bearer " + kOAuthToken);
  EXPECT_EQ(*Value(out, "anthropic-beta"),
            "claude-code-20250219,fine-grained-tool-streaming-2025-05-14");
  EXPECT_EQ(*Value(out, "user-agent"), "claude-cli/1.0.25 (external, cli)");
}

TEST(UpstreamRequestHeadersTest, PassthroughKeepsClientApiKey) {
  const Headers client = {{"x-api-key", kApiKey}, {"content-type", "application/json"}};
  const Headers out = UpstreamRequestHeaders(client, AuthPlan{});
  EXPECT_EQ(out, client);
}

TEST(UpstreamRequestHeadersTest, ApiKeyInjectionReplacesClientCredentials) {
  Headers client = ClaudeCodeRequest("Bearer client-token");
  client.push_back({"X-Api-Key", "client-key"});
  AuthPlan plan;
  plan.inject = AuthPlan::Inject::kApiKey;
  plan.secret = kApiKey;
  const Headers out = UpstreamRequestHeaders(client, plan);
  int credential_headers = 0;
  for (const Header& h : out) {
    EXPECT_NE(h.value, "Bearer client-token");
    EXPECT_NE(h.value, "client-key");
    if (EqualsIgnoreCase(h.name, "x-api-key") || EqualsIgnoreCase(h.name, "authorization"))
      ++credential_headers;
  }
  EXPECT_EQ(credential_headers, 1);
  EXPECT_EQ(out.back(), (Header{"x-api-key", kApiKey}));
  // No OAuth beta for api keys; the client's list is untouched.
  EXPECT_EQ(*Value(out, "anthropic-beta"),
            "claude-code-20250219,fine-grained-tool-streaming-2025-05-14");
}

TEST(UpstreamRequestHeadersTest, BearerInjectionAppendsOAuthBetaOnce) {
  AuthPlan plan;
  plan.inject = AuthPlan::Inject::kBearer;
  plan.secret = kOAuthToken;
  plan.add_oauth_beta = true;

  Headers out = UpstreamRequestHeaders(ClaudeCodeRequest("Bearer client"), plan);
  EXPECT_EQ(*Value(out, "authorization"), "Bearer " + kOAuthToken);
  EXPECT_EQ(*Value(out, "anthropic-beta"),
            "claude-code-20250219,fine-grained-tool-streaming-2025-05-14,oauth-2025-04-20");
  // The beta header stays where the client put it.
  EXPECT_EQ(Names(out)[1], "anthropic-beta");

  // Already present (any position, spaces, case): not duplicated.
  const Headers with_beta = {{"anthropic-beta", "a-1, OAuth-2025-04-20 ,b-2"}};
  out = UpstreamRequestHeaders(with_beta, plan);
  EXPECT_EQ(*Value(out, "anthropic-beta"), "a-1, OAuth-2025-04-20 ,b-2");

  // Present in a second anthropic-beta header: not added to the first.
  const Headers two = {{"anthropic-beta", "a-1"}, {"anthropic-beta", "oauth-2025-04-20"}};
  out = UpstreamRequestHeaders(two, plan);
  EXPECT_EQ(out[0].value, "a-1");
  EXPECT_EQ(out[1].value, "oauth-2025-04-20");

  // None at all: a new header.
  out = UpstreamRequestHeaders({{"content-type", "application/json"}}, plan);
  EXPECT_EQ(*Value(out, "anthropic-beta"), "oauth-2025-04-20");

  // Empty value: becomes just the beta, no leading comma.
  out = UpstreamRequestHeaders({{"anthropic-beta", " "}}, plan);
  EXPECT_EQ(*Value(out, "anthropic-beta"), "oauth-2025-04-20");
}

TEST(UpstreamRequestHeadersTest, DropsHeadersNamedByConnectionAndFraming) {
  const Headers client = {{"Connection", "close, x-secret-hop"},
                          {"connection", "Foo"},
                          {"X-Secret-Hop", "1"},
                          {"foo", "2"},
                          {"Host", "a"},
                          {"Content-Length", "3"},
                          {"Expect", "100-continue"},
                          {"x-kept", "4"}};
  EXPECT_EQ(UpstreamRequestHeaders(client, AuthPlan{}), (Headers{{"x-kept", "4"}}));
}

TEST(ClientResponseHeadersTest, KeepsUpstreamHeadersAndAddsRequestId) {
  const Headers upstream = {{"Date", "Thu, 27 Nov 2026 06:40:00 GMT"},
                            {"Content-Type", "text/event-stream; charset=utf-8"},
                            {"Transfer-Encoding", "chunked"},
                            {"Connection", "keep-alive"},
                            {"Content-Length", "10"},
                            {"request-id", "req_011CQ"},
                            {"anthropic-ratelimit-tokens-remaining", "39000"},
                            {"retry-after", "7"},
                            {"x-request-id", "upstream-one"},
                            {"cf-ray", "abc"}};
  const Headers out = ClientResponseHeaders(upstream, "3f2a7c4e-0000-4000-8000-000000000001");
  EXPECT_EQ(out, (Headers{{"Date", "Thu, 27 Nov 2026 06:40:00 GMT"},
                          {"Content-Type", "text/event-stream; charset=utf-8"},
                          {"request-id", "req_011CQ"},
                          {"anthropic-ratelimit-tokens-remaining", "39000"},
                          {"retry-after", "7"},
                          {"cf-ray", "abc"},
                          {"X-Request-ID", "3f2a7c4e-0000-4000-8000-000000000001"}}));
}

TEST(CorsTest, PreflightHeaders) {
  const Headers h = CorsPreflightHeaders();
  EXPECT_EQ(*Value(h, "access-control-allow-origin"), "*");
  EXPECT_NE(Value(h, "access-control-allow-headers")->find("X-API-Key"), std::string::npos);
  EXPECT_EQ(*Value(h, "access-control-max-age"), "86400");
}

TEST(MaskSecretTest, KeepsOnlyTheKindOfAnthropicKeys) {
  EXPECT_EQ(MaskSecret(kApiKey), "sk-ant-api****");
  EXPECT_EQ(MaskSecret(kOAuthToken), "sk-ant-oat****");
  EXPECT_EQ(MaskSecret(kClientKey), "****");
  EXPECT_EQ(MaskSecret("sk-ant-"), "****");
  EXPECT_EQ(MaskSecret("short"), "****");
  EXPECT_EQ(MaskSecret(""), "");
}

TEST(MaskHeadersTest, NoSecretSubstringSurvives) {
  const Headers in = {{"Authorization", "Bearer " + kOAuthToken},
                      {"authorization", "Bearer " + kClientKey},
                      {"authorization", kClientKey},
                      {"x-api-key", kApiKey},
                      {"X-API-KEY", kClientKey},
                      {"Proxy-Authorization", "Basic dXNlcjpwYXNzd29yZA=="},
                      {"Cookie", "session=" + kClientKey},
                      {"x-dashboard-key", kClientKey},
                      {"x-refresh-token", kOAuthToken},
                      {"X-Client-Secret", kClientKey},
                      {"x-db-password", "hunter2hunter2"},
                      {"x-goog-api-key", kClientKey},
                      {"openai_api_key", kClientKey},
                      {"anthropic-ratelimit-tokens-remaining", "39000"},
                      {"user-agent", "claude-cli/1.0.25"}};
  const Headers out = MaskHeaders(in);
  ASSERT_EQ(out.size(), in.size());
  for (std::size_t i = 0; i < out.size(); ++i) EXPECT_EQ(out[i].name, in[i].name);
  for (const Header& h : out) {
    for (const std::string& secret : {kApiKey, kOAuthToken, kClientKey}) {
      // No 16-character window of any secret survives.
      for (std::size_t pos = 0; pos + 16 <= secret.size(); ++pos) {
        ASSERT_EQ(h.value.find(secret.substr(pos, 16)), std::string::npos)
            << h.name << ": " << h.value;
      }
    }
    EXPECT_EQ(h.value.find("dXNlcjpw"), std::string::npos);
    EXPECT_EQ(h.value.find("hunter2"), std::string::npos);
  }
  EXPECT_EQ(out[0].value, "Bearer ****");
  EXPECT_EQ(out[2].value, "****");
  EXPECT_EQ(out[3].value, "sk-ant-api****");
  EXPECT_EQ(out[4].value, "****");
  EXPECT_EQ(out[5].value, "Basic ****");
  EXPECT_EQ(out[6].value, "****");
  EXPECT_EQ(out[13].value, "39000");  // token counts are not secrets
  EXPECT_EQ(out[14].value, "claude-cli/1.0.25");
}

}  // namespace
}  // namespace cn::proxy
