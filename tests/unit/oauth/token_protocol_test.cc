#include "oauth/token_protocol.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace cn::oauth {
namespace {

TEST(TokenProtocolTest, RefreshBodyHasTheOriginalFields) {
  const auto v = boost::json::parse(RefreshRequestBody("cid", "rt-1")).as_object();
  EXPECT_EQ(v.at("client_id").as_string(), "cid");
  EXPECT_EQ(v.at("refresh_token").as_string(), "rt-1");
  EXPECT_EQ(v.at("grant_type").as_string(), "refresh_token");
  EXPECT_EQ(v.size(), 3u);
}

TEST(TokenProtocolTest, AuthorizationCodeBody) {
  const auto v =
      boost::json::parse(AuthorizationCodeRequestBody("cid", "c", "s", "ver")).as_object();
  EXPECT_EQ(v.at("grant_type").as_string(), "authorization_code");
  EXPECT_EQ(v.at("code").as_string(), "c");
  EXPECT_EQ(v.at("state").as_string(), "s");
  EXPECT_EQ(v.at("code_verifier").as_string(), "ver");
  EXPECT_EQ(v.at("redirect_uri").as_string(), "https://console.anthropic.com/oauth/code/callback");
}

TEST(TokenProtocolTest, SuccessMapsTokensExpiryAndScopes) {
  const TokenResult r = ParseTokenResponse(
      {200,
       R"({"access_token":"a","refresh_token":"r2","expires_in":28800,"scope":"user:inference  user:profile",)"
       R"("account":{"uuid":"u1","email_address":"x@y"}})",
       {}},
      1000, "r1");
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.grant.access_token, "a");
  EXPECT_EQ(r.grant.refresh_token, "r2");
  EXPECT_EQ(r.grant.expires_at_ms, 1000 + 28800 * 1000LL);
  EXPECT_EQ(r.grant.scopes, (std::vector<std::string>{"user:inference", "user:profile"}));
  EXPECT_EQ(r.grant.account_uuid, "u1");
}

TEST(TokenProtocolTest, KeepsOldRefreshTokenAndDefaultScopesWhenAbsent) {
  const TokenResult r =
      ParseTokenResponse({200, R"({"access_token":"a","expires_in":60})", {}}, 0, "r1");
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.grant.refresh_token, "r1");
  EXPECT_EQ(r.grant.scopes, DefaultScopes());
}

TEST(TokenProtocolTest, InvalidGrantRequiresRelogin) {
  const TokenResult r = ParseTokenResponse(
      {400, R"({"error":"invalid_grant","error_description":"Refresh token not found"})", {}}, 0,
      "r");
  EXPECT_FALSE(r.status.ok());
  EXPECT_TRUE(r.relogin_required);
  EXPECT_NE(r.status.message().find("invalid_grant"), std::string::npos);
  EXPECT_NE(r.status.message().find("Refresh token not found"), std::string::npos);
}

TEST(TokenProtocolTest, ServerErrorsAndGarbageAreRetryableFailures) {
  TokenResult r = ParseTokenResponse({503, "<html>down</html>", {}}, 0, "r");
  EXPECT_EQ(r.status.code(), StatusCode::kUnavailable);
  EXPECT_FALSE(r.relogin_required);
  r = ParseTokenResponse({0, {}, "connection refused"}, 0, "r");
  EXPECT_NE(r.status.message().find("connection refused"), std::string::npos);
  r = ParseTokenResponse({200, R"({"token_type":"Bearer"})", {}}, 0, "r");
  EXPECT_FALSE(r.status.ok());
  r = ParseTokenResponse(
      {401,
       R"({"type":"error","error":{"type":"authentication_error","message":"bad client"}})",
       {}},
      0, "r");
  EXPECT_NE(r.status.message().find("bad client"), std::string::npos);
}

TEST(TokenProtocolTest, EndpointUrls) {
  auto u = ParseEndpointUrl("https://console.anthropic.com/v1/oauth/token");
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->host, "console.anthropic.com");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->target, "/v1/oauth/token");
  u = ParseEndpointUrl("http://127.0.0.1:8080/t");
  ASSERT_TRUE(u.ok());
  EXPECT_FALSE(u->tls);
  EXPECT_EQ(u->port, 8080);
  u = ParseEndpointUrl("https://[::1]:9/x");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "::1");
  EXPECT_FALSE(ParseEndpointUrl("http://example.com/token").ok());  // refresh tokens in clear text
  EXPECT_FALSE(ParseEndpointUrl("ftp://x/").ok());
  EXPECT_FALSE(ParseEndpointUrl("https://x:99999/").ok());
}

}  // namespace
}  // namespace cn::oauth
