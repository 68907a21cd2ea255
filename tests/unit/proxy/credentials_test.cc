#include "proxy/credentials.h"

#include <gtest/gtest.h>

#include "test_files.h"

namespace cn::proxy {
namespace {

using testing::TempDir;
using Kind = CredentialStore::Lookup::Kind;

constexpr std::string_view kApiKeyFile = R"({
  "type": "api_key",
  "accountId": "acc_4f8b2c1d",
  "api_key": "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
  "client_api_key": "cnp_live_Q2xhdWRlTmV4dXNQcm94eUNsaWVudEtleTAx",
  "slack": {"webhook_url": "https://hooks.slack.com/services/x", "enabled": false}
})";

constexpr std::string_view kOAuthFile = R"({
  "type": "oauth",
  "accountId": "claude-1",
  "oauth": {
    "accessToken": "sk-ant-oat01-ZyXwVuTsRqPoNmLkJiHgFeDcBa9876543210",
    "refreshToken": "sk-ant-ort01-MnBvCxZaSdFgHjKl",
    "expiresAt": 1767225600000,
    "scopes": ["org:create_api_key", "user:profile", "user:inference"],
    "isMax": true
  }
})";

TEST(ParseCredentialFileTest, ApiKeyFile) {
  StatusOr<Credential> c = ParseCredentialFile(kApiKeyFile, "a.credentials.json");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->type, Credential::Type::kApiKey);
  EXPECT_EQ(c->account_id, "acc_4f8b2c1d");
  EXPECT_EQ(c->api_key, "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789");
  EXPECT_EQ(c->client_api_key, "cnp_live_Q2xhdWRlTmV4dXNQcm94eUNsaWVudEtleTAx");
  EXPECT_EQ(c->path, "a.credentials.json");
}

TEST(ParseCredentialFileTest, OAuthFile) {
  StatusOr<Credential> c = ParseCredentialFile(kOAuthFile, "b.credentials.json");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->type, Credential::Type::kOAuth);
  EXPECT_EQ(c->account_id, "claude-1");
  EXPECT_EQ(c->oauth.access_token, "sk-ant-oat01-ZyXwVuTsRqPoNmLkJiHgFeDcBa9876543210");
  EXPECT_EQ(c->oauth.refresh_token, "sk-ant-ort01-MnBvCxZaSdFgHjKl");
  EXPECT_EQ(c->oauth.expires_at_ms, 1767225600000);
  EXPECT_EQ(c->oauth.scopes.size(), 3u);
  EXPECT_TRUE(c->oauth.is_max);
  EXPECT_TRUE(c->client_api_key.empty());
}

TEST(ParseCredentialFileTest, MissingAccountIdIsAllowed) {
  StatusOr<Credential> c =
      ParseCredentialFile(R"({"type":"api_key","api_key":"sk-ant-api03-x"})", "c");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->account_id.empty());
}

TEST(ParseCredentialFileTest, InvalidFilesGiveClearErrorsWithoutSecrets) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {R"({"accountId":"x","api_key":"sk-ant-api03-SECRETSECRET"})", "'type' is required"},
      {R"({"type":"api_key","accountId":"x"})", "requires a non-empty 'api_key'"},
      {R"({"type":"api_key","api_key":""})", "requires a non-empty 'api_key'"},
      {R"({"type":"oauth","accountId":"x"})", "requires an 'oauth' object"},
      {R"({"type":"oauth","oauth":{"expiresAt":1}})", "accessToken or a refreshToken"},
      {R"({"type":"oauth","oauth":{"accessToken":"t","expiresAt":"soon"}})",
       "'oauth.expiresAt' must be a number"},
      {R"({"type":"bearer","api_key":"sk-ant-api03-SECRETSECRET"})", "unknown type"},
      {R"({"type":"api_key","api_key":12})", "'api_key' must be a string"},
      {R"({"type":"api_key","api_key":"sk-ant-api03-SECRETSECRET",)", "not valid JSON"},
      {R"(["type","api_key"])", "must contain a JSON object"},
      {"", "not valid JSON"},
  };
  for (const auto& [json, expected] : cases) {
    StatusOr<Credential> c = ParseCredentialFile(json, "host.credentials.json");
    ASSERT_FALSE(c.ok()) << json;
    EXPECT_NE(c.status().message().find(expected), std::string::npos) << c.status().message();
    EXPECT_NE(c.status().message().find("host.credentials.json"), std::string::npos)
        << c.status().message();
    EXPECT_EQ(c.status().message().find("SECRET"), std::string::npos) << c.status().message();
  }
}

TEST(IsSafeHostTest, AcceptsHostNamesWithPorts) {
  for (const char* host :
       {"localhost:3000", "claude-1.msldev.io", "127.0.0.1:8080", "A-b.C", "::1"}) {
    EXPECT_TRUE(IsSafeHost(host)) << host;
  }
}

TEST(IsSafeHostTest, RejectsTraversalAndOddCharacters) {
  for (const std::string& host :
       {std::string("../x"), std::string("a/b"), std::string(".."), std::string("host\\x"),
        std::string(""), std::string("a..b"), std::string("a b"), std::string("a\nb"),
        std::string("a\0b", 3), std::string("host%2f"), std::string("~root"),
        std::string(kMaxHostLength + 1, 'a')}) {
    EXPECT_FALSE(IsSafeHost(host)) << host;
  }
  EXPECT_TRUE(IsSafeHost(std::string(kMaxHostLength, 'a')));
}

class CredentialStoreTest : public ::testing::Test {
 protected:
  CredentialStore::Options FakeClock() {
    CredentialStore::Options options;
    options.clock_ms = [this] { return now_ms_; };
    return options;
  }

  TempDir dir_;
  std::int64_t now_ms_ = 1'000'000;
};

TEST_F(CredentialStoreTest, FindsFilesByRawHostWithPort) {
  dir_.Write("localhost:3000.credentials.json", kApiKeyFile);
  dir_.Write("claude-1.example.com.credentials.json", kOAuthFile);
  CredentialStore store(dir_.path(), FakeClock());

  CredentialStore::Lookup a = store.Find("localhost:3000");
  ASSERT_EQ(a.kind, Kind::kFound) << a.error;
  EXPECT_EQ(a.credential->api_key, "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789");
  EXPECT_EQ(a.credential->path, dir_.path() / "localhost:3000.credentials.json");
  EXPECT_EQ(a.file_name, "localhost:3000.credentials.json");

  CredentialStore::Lookup b = store.Find("claude-1.example.com");
  ASSERT_EQ(b.kind, Kind::kFound) << b.error;
  EXPECT_EQ(b.credential->type, Credential::Type::kOAuth);

  EXPECT_EQ(store.Find("localhost").kind, Kind::kMissing);  // the port is part of the name
}

TEST_F(CredentialStoreTest, UnsafeHostsNeverTouchTheFilesystem) {
  // A file outside the directory that a traversal would reach.
  TempDir outside;
  outside.Write("x.credentials.json", kApiKeyFile);
  CredentialStore store(dir_.path() / "creds", FakeClock());
  for (const std::string& host : {std::string("../x"), std::string("a/b"), std::string(".."),
                                  std::string("host\\x"), std::string(300, 'h'), std::string("")}) {
    CredentialStore::Lookup l = store.Find(host);
    EXPECT_EQ(l.kind, Kind::kUnsafeHost) << host;
    EXPECT_EQ(l.credential, nullptr);
  }
  EXPECT_EQ(store.CachedEntriesForTest(), 0u);
}

TEST_F(CredentialStoreTest, MissingDirectoryMeansMissing) {
  CredentialStore store(dir_.path() / "does-not-exist", FakeClock());
  CredentialStore::Lookup l = store.Find("localhost:3000");
  EXPECT_EQ(l.kind, Kind::kMissing);
  EXPECT_EQ(l.file_name, "localhost:3000.credentials.json");
  EXPECT_TRUE(store.Report(0).empty());
}

TEST_F(CredentialStoreTest, SeesEditsAfterTheRecheckInterval) {
  dir_.Write("h.credentials.json", R"({"type":"api_key","api_key":"sk-ant-api03-first"})");
  CredentialStore store(dir_.path(), FakeClock());
  ASSERT_EQ(store.Find("h").credential->api_key, "sk-ant-api03-first");

  dir_.Write("h.credentials.json", R"({"type":"api_key","api_key":"sk-ant-api03-second-longer"})");
  now_ms_ += 999;  // within the interval: the cached answer, no stat()
  EXPECT_EQ(store.Find("h").credential->api_key, "sk-ant-api03-first");
  now_ms_ += 1;
  EXPECT_EQ(store.Find("h").credential->api_key, "sk-ant-api03-second-longer");
}

TEST_F(CredentialStoreTest, CachesMissingAndNoticesCreationAndDeletion) {
  CredentialStore store(dir_.path(), FakeClock());
  EXPECT_EQ(store.Find("h").kind, Kind::kMissing);
  dir_.Write("h.credentials.json", kOAuthFile);
  EXPECT_EQ(store.Find("h").kind, Kind::kMissing);  // cached "missing" within the interval
  now_ms_ += 1000;
  EXPECT_EQ(store.Find("h").kind, Kind::kFound);
  std::filesystem::remove(dir_.path() / "h.credentials.json");
  now_ms_ += 1000;
  EXPECT_EQ(store.Find("h").kind, Kind::kMissing);
}

TEST_F(CredentialStoreTest, UnchangedFileKeepsTheSameParsedValue) {
  dir_.Write("h.credentials.json", kOAuthFile);
  CredentialStore store(dir_.path(), FakeClock());
  const auto first = store.Find("h").credential;
  now_ms_ += 5000;
  EXPECT_EQ(store.Find("h").credential, first);  // same pointer: not re-parsed
}

TEST_F(CredentialStoreTest, InvalidFileIsReportedAndRecovers) {
  dir_.Write("h.credentials.json", R"({"type":"api_key"})");
  CredentialStore store(dir_.path(), FakeClock());
  CredentialStore::Lookup l = store.Find("h");
  EXPECT_EQ(l.kind, Kind::kInvalid);
  EXPECT_NE(l.error.find("h.credentials.json"), std::string::npos);
  EXPECT_EQ(l.error.find(dir_.path().string()), std::string::npos);  // no server paths in messages
  dir_.Write("h.credentials.json", kApiKeyFile);
  now_ms_ += 1000;
  EXPECT_EQ(store.Find("h").kind, Kind::kFound);
}

TEST_F(CredentialStoreTest, CacheIsBounded) {
  CredentialStore::Options options = FakeClock();
  options.max_entries = 4;
  CredentialStore store(dir_.path(), options);
  for (int i = 0; i < 50; ++i) {
    ++now_ms_;
    EXPECT_EQ(store.Find("host" + std::to_string(i)).kind, Kind::kMissing);
  }
  EXPECT_LE(store.CachedEntriesForTest(), 4u);
}

TEST_F(CredentialStoreTest, ReportListsEveryFileWithoutSecrets) {
  const std::int64_t now = 1767225600000 - 3600 * 1000;  // one hour before kOAuthFile expires
  dir_.Write("api.credentials.json", kApiKeyFile);
  dir_.Write("soon.credentials.json", kOAuthFile);
  dir_.Write("broken.credentials.json", "{");
  dir_.Write(
      "norefresh.credentials.json",
      R"({"type":"oauth","oauth":{"accessToken":"sk-ant-oat01-QQQQ","expiresAt":1767225600000}})");
  dir_.Write("old.credentials.json",
             R"({"type":"oauth","oauth":{"accessToken":"a","refreshToken":"r","expiresAt":5}})");
  dir_.Write("notes.txt", "ignored");
  CredentialStore store(dir_.path());

  const std::vector<CredentialStatus> report = store.Report(now);
  ASSERT_EQ(report.size(), 5u);
  EXPECT_EQ(report[0].host, "api");
  EXPECT_EQ(report[0].type, "api_key");
  EXPECT_EQ(report[0].state, "valid");
  EXPECT_EQ(report[0].account_id, "acc_4f8b2c1d");
  EXPECT_TRUE(report[0].has_client_key);
  EXPECT_EQ(report[1].host, "broken");
  EXPECT_EQ(report[1].state, "invalid");
  EXPECT_NE(report[1].error.find("not valid JSON"), std::string::npos);
  EXPECT_EQ(report[2].state, "no_refresh_token");
  EXPECT_EQ(report[3].state, "expired");
  EXPECT_EQ(report[4].host, "soon");
  EXPECT_EQ(report[4].state, "expiring_soon");
  EXPECT_FALSE(report[4].has_client_key);
  for (const CredentialStatus& s : report) {
    for (const std::string* field :
         {&s.file_name, &s.host, &s.account_id, &s.type, &s.state, &s.error}) {
      EXPECT_EQ(field->find("sk-ant-"), std::string::npos) << *field;
      EXPECT_EQ(field->find("cnp_live"), std::string::npos) << *field;
    }
  }
}

}  // namespace
}  // namespace cn::proxy
