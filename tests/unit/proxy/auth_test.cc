#include "proxy/auth.h"

#include <gtest/gtest.h>

#include "proxy/header_policy.h"

namespace cn::proxy {
namespace {

using Kind = CredentialStore::Lookup::Kind;

constexpr std::int64_t kNow = 1'767'000'000'000;
const std::string kApiKey = "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789";
const std::string kAccessToken = "sk-ant-oat01-ZyXwVuTsRqPoNmLkJiHgFeDcBa9876543210";
const std::string kClientKey = "cnp_live_Q2xhdWRlTmV4dXNQcm94eUNsaWVudEtleTAx";

CredentialStore::Lookup Missing() {
  CredentialStore::Lookup l;
  l.kind = Kind::kMissing;
  l.file_name = "localhost:3000.credentials.json";
  return l;
}

CredentialStore::Lookup Found(Credential c) {
  CredentialStore::Lookup l;
  l.kind = Kind::kFound;
  l.file_name = "localhost:3000.credentials.json";
  l.credential = std::make_shared<const Credential>(std::move(c));
  return l;
}

Credential ApiKeyCredential(std::string client_key = kClientKey) {
  Credential c;
  c.type = Credential::Type::kApiKey;
  c.account_id = "acc_1";
  c.api_key = kApiKey;
  c.client_api_key = std::move(client_key);
  return c;
}

Credential OAuthCredential(std::int64_t expires_at_ms = kNow + 3'600'000) {
  Credential c;
  c.type = Credential::Type::kOAuth;
  c.account_id = "claude-1";
  c.oauth.access_token = kAccessToken;
  c.oauth.refresh_token = "sk-ant-ort01-x";
  c.oauth.expires_at_ms = expires_at_ms;
  c.client_api_key = kClientKey;
  return c;
}

void ExpectNoSecrets(const AuthPlan& plan) {
  for (const std::string& secret : {kApiKey, kAccessToken, kClientKey}) {
    EXPECT_EQ(plan.message.find(secret), std::string::npos) << plan.message;
  }
}

void ExpectClientRejected(const AuthPlan& plan, std::string_view message_part) {
  EXPECT_TRUE(plan.reject);
  EXPECT_EQ(plan.status, 401);
  EXPECT_EQ(plan.error_type, "authentication_error");
  EXPECT_NE(plan.message.find(message_part), std::string::npos) << plan.message;
  EXPECT_EQ(plan.extra_response_headers,
            (Headers{{"WWW-Authenticate", "Bearer realm=\"claude-nexus\""}}));
  EXPECT_EQ(plan.inject, AuthPlan::Inject::kNone);
  ExpectNoSecrets(plan);
}

TEST(DecideAuthTest, PassthroughApiKeyWithoutCredentialFile) {
  const Headers client = {{"x-api-key", kApiKey}};
  const AuthPlan plan = DecideAuth(client, Missing(), false, kNow);
  EXPECT_FALSE(plan.reject);
  EXPECT_EQ(plan.inject, AuthPlan::Inject::kNone);
  EXPECT_FALSE(plan.add_oauth_beta);
  EXPECT_FALSE(plan.account_id.has_value());
  EXPECT_EQ(UpstreamRequestHeaders(client, plan), client);
}

TEST(DecideAuthTest, PassthroughBearerWithoutCredentialFile) {
  const Headers client = {{"Authorization", "Bearer " + kAccessToken},
                          {"anthropic-beta", "oauth-2025-04-20"}};
  const AuthPlan plan = DecideAuth(client, Missing(), false, kNow);
  EXPECT_FALSE(plan.reject);
  EXPECT_EQ(plan.inject, AuthPlan::Inject::kNone);
  EXPECT_EQ(UpstreamRequestHeaders(client, plan), client);
}

TEST(DecideAuthTest, ApiKeyFileInjectsXApiKey) {
  const AuthPlan plan =
      DecideAuth({{"x-api-key", "client-own"}}, Found(ApiKeyCredential()), false, kNow);
  EXPECT_FALSE(plan.reject);
  EXPECT_EQ(plan.inject, AuthPlan::Inject::kApiKey);
  EXPECT_EQ(plan.secret, kApiKey);
  EXPECT_FALSE(plan.add_oauth_beta);
  EXPECT_EQ(plan.account_id, "acc_1");
}

TEST(DecideAuthTest, OAuthFileInjectsBearerAndBeta) {
  const AuthPlan plan = DecideAuth({}, Found(OAuthCredential()), false, kNow);
  EXPECT_FALSE(plan.reject);
  EXPECT_EQ(plan.inject, AuthPlan::Inject::kBearer);
  EXPECT_EQ(plan.secret, kAccessToken);
  EXPECT_TRUE(plan.add_oauth_beta);
  EXPECT_EQ(plan.account_id, "claude-1");
}

TEST(DecideAuthTest, OAuthWithoutRecordedExpiryIsUsed) {
  const AuthPlan plan = DecideAuth({}, Found(OAuthCredential(0)), false, kNow);
  EXPECT_FALSE(plan.reject);
  EXPECT_EQ(plan.inject, AuthPlan::Inject::kBearer);
}

TEST(DecideAuthTest, ExpiredOAuthIsRejectedNamingTheFile) {
  for (std::int64_t expires : {kNow, kNow - 1}) {
    const AuthPlan plan = DecideAuth({}, Found(OAuthCredential(expires)), false, kNow);
    EXPECT_TRUE(plan.reject);
    EXPECT_EQ(plan.status, 401);
    EXPECT_EQ(plan.error_type, "authentication_error");
    EXPECT_NE(plan.message.find("localhost:3000.credentials.json"), std::string::npos)
        << plan.message;
    EXPECT_NE(plan.message.find("expired"), std::string::npos) << plan.message;
    ExpectNoSecrets(plan);
  }
}

TEST(DecideAuthTest, InvalidCredentialFileIsRejectedNotPassedThrough) {
  CredentialStore::Lookup invalid = Missing();
  invalid.kind = Kind::kInvalid;
  invalid.error = "credential file 'localhost:3000.credentials.json': field 'type' is required";
  const AuthPlan plan = DecideAuth({{"x-api-key", kApiKey}}, invalid, false, kNow);
  EXPECT_TRUE(plan.reject);
  EXPECT_EQ(plan.status, 401);
  EXPECT_NE(plan.message.find("'type' is required"), std::string::npos);
}

TEST(DecideAuthTest, UnsafeHostIsABadRequest) {
  CredentialStore::Lookup unsafe;
  unsafe.kind = Kind::kUnsafeHost;
  for (bool client_auth : {false, true}) {
    const AuthPlan plan =
        DecideAuth({{"Authorization", "Bearer " + kClientKey}}, unsafe, client_auth, kNow);
    EXPECT_TRUE(plan.reject);
    EXPECT_EQ(plan.status, 400);
    EXPECT_EQ(plan.error_type, "invalid_request_error");
  }
}

TEST(DecideAuthTest, ClientAuthMissingHeader) {
  ExpectClientRejected(
      DecideAuth({{"x-api-key", kClientKey}}, Found(ApiKeyCredential()), true, kNow),
      "Missing Authorization header");
}

TEST(DecideAuthTest, ClientAuthBadFormat) {
  for (const char* value : {"Basic abc", "Bearer", "Bearer   ", "Bearerabc", "token"}) {
    ExpectClientRejected(
        DecideAuth({{"Authorization", value}}, Found(ApiKeyCredential()), true, kNow),
        "Invalid Authorization header format");
  }
}

TEST(DecideAuthTest, ClientAuthWithoutCredentialFile) {
  ExpectClientRejected(
      DecideAuth({{"Authorization", "Bearer " + kClientKey}}, Missing(), true, kNow),
      "localhost:3000.credentials.json");
}

TEST(DecideAuthTest, ClientAuthWithoutConfiguredClientKey) {
  ExpectClientRejected(DecideAuth({{"Authorization", "Bearer " + kClientKey}},
                                  Found(ApiKeyCredential("")), true, kNow),
                       "add client_api_key");
}

TEST(DecideAuthTest, ClientAuthMismatch) {
  ExpectClientRejected(DecideAuth({{"Authorization", "Bearer " + kClientKey + "x"}},
                                  Found(ApiKeyCredential()), true, kNow),
                       "Invalid client API key");
  // Upstream-looking keys in x-api-key do not count as the client key.
  ExpectClientRejected(DecideAuth({{"Authorization", "Bearer wrong"}, {"x-api-key", kClientKey}},
                                  Found(ApiKeyCredential()), true, kNow),
                       "Invalid client API key");
}

TEST(DecideAuthTest, ClientAuthMatchInjectsTheFileCredential) {
  const Headers client = {{"Authorization", "bearer  " + kClientKey},
                          {"content-type", "application/json"}};
  AuthPlan plan = DecideAuth(client, Found(ApiKeyCredential()), true, kNow);
  ASSERT_FALSE(plan.reject) << plan.message;
  EXPECT_EQ(plan.inject, AuthPlan::Inject::kApiKey);
  EXPECT_EQ(plan.account_id, "acc_1");
  // The client key never travels upstream.
  EXPECT_EQ(UpstreamRequestHeaders(client, plan),
            (Headers{{"content-type", "application/json"}, {"x-api-key", kApiKey}}));

  plan = DecideAuth(client, Found(OAuthCredential()), true, kNow);
  ASSERT_FALSE(plan.reject);
  EXPECT_EQ(plan.inject, AuthPlan::Inject::kBearer);
  EXPECT_TRUE(plan.add_oauth_beta);
}

TEST(DecideAuthTest, ClientAuthMatchButNoUpstreamCredential) {
  Credential c = OAuthCredential();
  c.oauth.access_token.clear();
  const AuthPlan plan =
      DecideAuth({{"Authorization", "Bearer " + kClientKey}}, Found(c), true, kNow);
  EXPECT_TRUE(plan.reject);
  EXPECT_EQ(plan.status, 401);
  EXPECT_NE(plan.message.find("no OAuth access token"), std::string::npos) << plan.message;
}

TEST(ClientKeyMatchesTest, ComparesWholeKeys) {
  EXPECT_TRUE(ClientKeyMatches(kClientKey, kClientKey));
  EXPECT_FALSE(ClientKeyMatches(kClientKey, kClientKey + "x"));
  EXPECT_FALSE(ClientKeyMatches(kClientKey.substr(0, 20), kClientKey));  // prefixes do not match
  EXPECT_FALSE(ClientKeyMatches("", ""));                                // no key configured: never
  EXPECT_FALSE(ClientKeyMatches("a", "A"));
}

TEST(BearerTokenTest, ParsesTheScheme) {
  EXPECT_EQ(BearerToken("Bearer abc"), "abc");
  EXPECT_EQ(BearerToken("BEARER \tabc "), "abc");
  EXPECT_EQ(BearerToken("Bearer"), std::nullopt);
  EXPECT_EQ(BearerToken("Bearer "), std::nullopt);
  EXPECT_EQ(BearerToken("Bearerabc"), std::nullopt);
  EXPECT_EQ(BearerToken("Basic abc"), std::nullopt);
}

}  // namespace
}  // namespace cn::proxy
