#include "app/config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace cn::app {
namespace {

using Env = std::map<std::string, std::string>;
using std::chrono::milliseconds;

Config MustLoad(const Env& env) {
  StatusOr<Config> c = LoadConfig(env);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? *c : Config{};
}

// Asserts that `env` is rejected with a message naming `variable`.
std::string ExpectRejected(const Env& env, std::string_view variable) {
  StatusOr<Config> c = LoadConfig(env);
  EXPECT_FALSE(c.ok()) << "accepted " << env.begin()->first << "=" << env.begin()->second;
  if (c.ok()) return {};
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find(variable), std::string::npos) << c.status().message();
  return c.status().message();
}

TEST(LoadConfigTest, Defaults) {
  const Config c = MustLoad({});
  EXPECT_EQ(c.host, "0.0.0.0");
  EXPECT_EQ(c.port, 3000);
  EXPECT_EQ(c.dashboard_port, 3001);
  EXPECT_EQ(c.upstream.scheme, "https");
  EXPECT_EQ(c.upstream.host, "api.anthropic.com");
  EXPECT_EQ(c.upstream.port, 443);
  EXPECT_EQ(c.upstream.base_path, "");
  EXPECT_TRUE(c.upstream.tls);
  EXPECT_EQ(c.upstream_timeout, milliseconds(600000));
  EXPECT_EQ(c.server_timeout, milliseconds(660000));
  EXPECT_EQ(c.shutdown_timeout, milliseconds(30000));
  EXPECT_EQ(c.credentials_dir, "credentials");
  EXPECT_FALSE(c.client_auth);
  EXPECT_TRUE(c.storage_enabled);
  EXPECT_EQ(c.database_url, "");
  EXPECT_EQ(c.data_dir, "./data");
  EXPECT_EQ(c.log_level, log::Level::kInfo);
  EXPECT_FALSE(c.log_json);
  EXPECT_EQ(c.max_body_bytes, 33554432u);
  EXPECT_EQ(c.retry.max_retries, 2);
  EXPECT_EQ(c.io_threads, 0);
  EXPECT_GT(c.record_queue_capacity, 0u);
  EXPECT_EQ(c.upstream_ca_file, "");
}

TEST(LoadConfigTest, EveryVariable) {
  const std::string ca = ::testing::TempDir() + "cn-config-test-ca.pem";
  std::ofstream(ca) << "-----BEGIN CERTIFICATE-----\n";
  const Config c = MustLoad({{"PORT", "0"},
                             {"HOST", "127.0.0.1"},
                             {"DASHBOARD_PORT", "65535"},
                             {"CLAUDE_API_BASE_URL", "http://127.0.0.1:18080/prefix/"},
                             {"CLAUDE_API_TIMEOUT", "1500"},
                             {"PROXY_SERVER_TIMEOUT", "2500"},
                             {"SHUTDOWN_TIMEOUT_MS", "0"},
                             {"CREDENTIALS_DIR", "~/creds"},
                             {"HOME", "/home/nexus"},
                             {"ENABLE_CLIENT_AUTH", "YES"},
                             {"STORAGE_ENABLED", "0"},
                             {"DATABASE_URL", "postgresql://u:p@db:5432/nexus"},
                             {"DATA_DIR", "/var/lib/nexus"},
                             {"LOG_LEVEL", "WARN"},
                             {"LOG_JSON", "true"},
                             {"MAX_REQUEST_BODY_BYTES", "1048576"},
                             {"CLAUDE_API_MAX_RETRIES", "5"},
                             {"IO_THREADS", "3"},
                             {"RECORD_QUEUE_CAPACITY", "42"},
                             {"CLAUDE_API_CA_FILE", ca}});
  std::remove(ca.c_str());
  EXPECT_EQ(c.port, 0);
  EXPECT_EQ(c.host, "127.0.0.1");
  EXPECT_EQ(c.dashboard_port, 65535);
  EXPECT_EQ(c.upstream.scheme, "http");
  EXPECT_FALSE(c.upstream.tls);
  EXPECT_EQ(c.upstream.host, "127.0.0.1");
  EXPECT_EQ(c.upstream.port, 18080);
  EXPECT_EQ(c.upstream.base_path, "/prefix");
  EXPECT_EQ(c.upstream_timeout, milliseconds(1500));
  EXPECT_EQ(c.server_timeout, milliseconds(2500));
  EXPECT_EQ(c.shutdown_timeout, milliseconds(0));
  EXPECT_EQ(c.credentials_dir, "/home/nexus/creds");
  EXPECT_TRUE(c.client_auth);
  EXPECT_FALSE(c.storage_enabled);
  EXPECT_EQ(c.database_url, "postgresql://u:p@db:5432/nexus");
  EXPECT_EQ(c.data_dir, "/var/lib/nexus");
  EXPECT_EQ(c.log_level, log::Level::kWarn);
  EXPECT_TRUE(c.log_json);
  EXPECT_EQ(c.max_body_bytes, 1048576u);
  EXPECT_EQ(c.retry.max_retries, 5);
  EXPECT_EQ(c.io_threads, 3);
  EXPECT_EQ(c.record_queue_capacity, 42u);
  EXPECT_EQ(c.upstream_ca_file, ca);
}

TEST(LoadConfigTest, DebugAndNodeEnv) {
  EXPECT_EQ(MustLoad({{"DEBUG", "true"}, {"LOG_LEVEL", "error"}}).log_level, log::Level::kDebug);
  EXPECT_TRUE(MustLoad({{"NODE_ENV", "production"}}).log_json);
  EXPECT_FALSE(MustLoad({{"NODE_ENV", "production"}, {"LOG_JSON", "no"}}).log_json);
}

TEST(LoadConfigTest, EmptyValuesMeanDefault) {
  const Config c = MustLoad({{"PORT", ""}, {"ENABLE_CLIENT_AUTH", ""}, {"DATABASE_URL", ""}});
  EXPECT_EQ(c.port, 3000);
  EXPECT_FALSE(c.client_auth);
  EXPECT_EQ(c.database_url, "");
}

TEST(LoadConfigTest, BooleansAcceptTheUsualSpellings) {
  for (const char* yes : {"true", "TRUE", "True", "1", "yes", "Yes"}) {
    EXPECT_TRUE(MustLoad({{"ENABLE_CLIENT_AUTH", yes}}).client_auth) << yes;
  }
  for (const char* no : {"false", "FALSE", "0", "no", "NO"}) {
    EXPECT_FALSE(MustLoad({{"STORAGE_ENABLED", no}}).storage_enabled) << no;
  }
}

TEST(LoadConfigTest, BadValuesNameTheVariableAndTheValue) {
  const std::pair<const char*, const char*> cases[] = {
      {"PORT", "abc"},
      {"PORT", "65536"},
      {"PORT", "-1"},
      {"PORT", "80x"},
      {"DASHBOARD_PORT", "99999"},
      {"CLAUDE_API_TIMEOUT", "0"},
      {"CLAUDE_API_TIMEOUT", "ten"},
      {"PROXY_SERVER_TIMEOUT", "1.5"},
      {"SHUTDOWN_TIMEOUT_MS", "-5"},
      {"ENABLE_CLIENT_AUTH", "maybe"},
      {"STORAGE_ENABLED", "on-ish"},
      {"LOG_JSON", "2"},
      {"DEBUG", "verbose"},
      {"LOG_LEVEL", "loud"},
      {"MAX_REQUEST_BODY_BYTES", "0"},
      {"CLAUDE_API_MAX_RETRIES", "11"},
      {"IO_THREADS", "many"},
      {"RECORD_QUEUE_CAPACITY", "0"},
      {"HOST", "bad host"},
  };
  for (const auto& [name, value] : cases) {
    const std::string message = ExpectRejected({{name, value}}, name);
    EXPECT_NE(message.find(value), std::string::npos) << message;
  }
}

TEST(LoadConfigTest, UpstreamUrls) {
  Config c = MustLoad({{"CLAUDE_API_BASE_URL", "https://proxy.example.com:8443"}});
  EXPECT_EQ(c.upstream.host, "proxy.example.com");
  EXPECT_EQ(c.upstream.port, 8443);
  EXPECT_TRUE(c.upstream.tls);
  c = MustLoad({{"CLAUDE_API_BASE_URL", "HTTP://[::1]:9000/"}});
  EXPECT_EQ(c.upstream.scheme, "http");
  EXPECT_EQ(c.upstream.host, "::1");
  EXPECT_EQ(c.upstream.port, 9000);
  EXPECT_EQ(c.upstream.base_path, "");
  c = MustLoad({{"CLAUDE_API_BASE_URL", "http://localhost"}});
  EXPECT_EQ(c.upstream.port, 80);

  for (const char* bad :
       {"api.anthropic.com", "ftp://api.anthropic.com", "https://", "https://:443",
        "https://host:0", "https://host:70000", "https://host:x", "https://u:secretpw@host",
        "https://host/a?b=c", "https://ho st", "https://[::1"}) {
    const std::string message =
        ExpectRejected({{"CLAUDE_API_BASE_URL", bad}}, "CLAUDE_API_BASE_URL");
    EXPECT_EQ(message.find("secretpw"), std::string::npos) << message;
  }
}

TEST(LoadConfigTest, DatabaseUrl) {
  EXPECT_EQ(MustLoad({{"DATABASE_URL", "postgres://u@h/db"}}).database_url, "postgres://u@h/db");
  const std::string message =
      ExpectRejected({{"DATABASE_URL", "mysql://root:hunter2secret@db/x"}}, "DATABASE_URL");
  EXPECT_EQ(message.find("hunter2secret"), std::string::npos) << message;
}

TEST(LoadConfigTest, PathsAndCaFile) {
  EXPECT_EQ(MustLoad({{"CREDENTIALS_DIR", "/abs/creds"}}).credentials_dir, "/abs/creds");
  EXPECT_EQ(MustLoad({{"CREDENTIALS_DIR", "~"}, {"HOME", "/h"}}).credentials_dir, "/h");
  EXPECT_EQ(MustLoad({{"DATA_DIR", "~/d"}, {"HOME", "/h"}}).data_dir, "/h/d");
  EXPECT_EQ(MustLoad({{"CREDENTIALS_DIR", "a~b"}}).credentials_dir, "a~b");
  ExpectRejected({{"CREDENTIALS_DIR", "~/x"}}, "CREDENTIALS_DIR");  // no HOME
  ExpectRejected({{"CLAUDE_API_CA_FILE", "/nonexistent/ca.pem"}}, "CLAUDE_API_CA_FILE");
}

TEST(LoadConfigTest, OAuthVariables) {
  const Config d = MustLoad({});
  EXPECT_EQ(d.oauth_token_url, "https://console.anthropic.com/v1/oauth/token");
  EXPECT_EQ(d.oauth_client_id, "9d1c250a-e61b-44d9-88ed-5944d1962f5e");
  EXPECT_EQ(d.oauth_refresh_margin.count(), 60000);
  EXPECT_TRUE(d.oauth_background_refresh);
  const Config c = MustLoad({{"CLAUDE_OAUTH_TOKEN_URL", "http://127.0.0.1:9/t"},
                             {"CLAUDE_OAUTH_CLIENT_ID", "cid"},
                             {"OAUTH_REFRESH_MARGIN_MS", "500"},
                             {"OAUTH_BACKGROUND_REFRESH", "false"},
                             {"OAUTH_BACKGROUND_MARGIN_MS", "1000"},
                             {"OAUTH_BACKGROUND_INTERVAL_MS", "100"},
                             {"OAUTH_REFRESH_BACKOFF_MS", "50"}});
  EXPECT_EQ(c.oauth_token_url, "http://127.0.0.1:9/t");
  EXPECT_EQ(c.oauth_client_id, "cid");
  EXPECT_EQ(c.oauth_refresh_margin.count(), 500);
  EXPECT_FALSE(c.oauth_background_refresh);
  EXPECT_EQ(c.oauth_background_margin.count(), 1000);
  EXPECT_EQ(c.oauth_background_interval.count(), 100);
  EXPECT_EQ(c.oauth_backoff.count(), 50);
  ExpectRejected({{"CLAUDE_OAUTH_CA_FILE", "/nonexistent/ca.pem"}}, "CLAUDE_OAUTH_CA_FILE");
  ExpectRejected({{"OAUTH_BACKGROUND_INTERVAL_MS", "1"}}, "OAUTH_BACKGROUND_INTERVAL_MS");
}

TEST(ParseDotEnvTest, KeyValueForms) {
  StatusOr<Env> env = ParseDotEnv(
      "# comment\n"
      "\n"
      "PORT=3100\n"
      "export HOST = 127.0.0.1 \r\n"
      "PLAIN=value # trailing comment\n"
      "HASH=a#b\n"
      "SINGLE='it is # not a comment'  # comment\n"
      "DOUBLE=\"line\\nnext \\\"q\\\" # kept\" # comment\n"
      "EMPTY=\n"
      "EQUALS=a=b=c\n"
      "  INDENTED=yes\n"
      "SINGLE_RAW='a\\nb'");
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  const Env expected = {{"PORT", "3100"},
                        {"HOST", "127.0.0.1"},
                        {"PLAIN", "value"},
                        {"HASH", "a#b"},
                        {"SINGLE", "it is # not a comment"},
                        {"DOUBLE", "line\nnext \"q\" # kept"},
                        {"EMPTY", ""},
                        {"EQUALS", "a=b=c"},
                        {"INDENTED", "yes"},
                        {"SINGLE_RAW", "a\\nb"}};
  EXPECT_EQ(*env, expected);
}

TEST(ParseDotEnvTest, ErrorsGiveTheLineButNotTheValue) {
  for (const auto& [text, line] :
       {std::pair{"A=1\nnot a pair\n", "line 2"}, std::pair{"A=1\n\n1BAD=x\n", "line 3"},
        std::pair{"SECRET=\"s3cr3tvalue\n", "line 1"}, std::pair{"X='s3cr3tvalue", "line 1"},
        std::pair{"A=1\nX='s3cr3t'value", "line 2"}}) {
    StatusOr<Env> env = ParseDotEnv(text);
    ASSERT_FALSE(env.ok()) << text;
    EXPECT_NE(env.status().message().find(line), std::string::npos) << env.status().message();
    EXPECT_EQ(env.status().message().find("s3cr3t"), std::string::npos) << env.status().message();
  }
}

TEST(MergeEnvTest, ProcessEnvironmentWins) {
  const Env merged = MergeEnv({{"PORT", "1"}}, {{"PORT", "2"}, {"HOST", "h"}});
  EXPECT_EQ(merged, (Env{{"HOST", "h"}, {"PORT", "1"}}));
}

TEST(DescribeConfigTest, MasksTheDatabasePassword) {
  Config c = MustLoad(
      {{"DATABASE_URL",
        "postgres://nexus:Pa55w0rdSecret@db:5432/nexus?sslmode=require&password=Qq9secret"}});
  std::string all;
  for (const std::string& line : DescribeConfig(c)) all += line + "\n";
  EXPECT_EQ(all.find("Pa55w0rdSecret"), std::string::npos) << all;
  EXPECT_EQ(all.find("Qq9secret"), std::string::npos) << all;
  EXPECT_NE(all.find("postgres://nexus:****@db:5432/nexus?sslmode=require&password=****"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("https://api.anthropic.com:443"), std::string::npos) << all;
  EXPECT_NE(all.find(":3000"), std::string::npos) << all;

  c = MustLoad({});
  all.clear();
  for (const std::string& line : DescribeConfig(c)) all += line + "\n";
  EXPECT_NE(all.find("SQLite in ./data"), std::string::npos) << all;
  EXPECT_EQ(MaskDatabaseUrl("postgres://user@host/db"), "postgres://user@host/db");
}

}  // namespace
}  // namespace cn::app

namespace cn::app {
namespace {

TEST(LoadConfigTest, StorageMaintenance) {
  const Config defaults = *LoadConfig({});
  EXPECT_TRUE(defaults.auto_migrate);
  EXPECT_EQ(defaults.retention_days, 0);
  EXPECT_TRUE(defaults.store_raw_bodies);
  EXPECT_EQ(defaults.token_stats_refresh, std::chrono::milliseconds(5000));
  StatusOr<Config> c = LoadConfig({{"AUTO_MIGRATE", "false"},
                                   {"RETENTION_DAYS", "30"},
                                   {"STORE_RAW_BODIES", "no"},
                                   {"TOKEN_STATS_REFRESH_MS", "1500"}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_FALSE(c->auto_migrate);
  EXPECT_EQ(c->retention_days, 30);
  EXPECT_FALSE(c->store_raw_bodies);
  EXPECT_EQ(c->token_stats_refresh, std::chrono::milliseconds(1500));
  for (const auto& [name, value] : std::map<std::string, std::string>{
           {"RETENTION_DAYS", "-1"}, {"AUTO_MIGRATE", "maybe"}, {"TOKEN_STATS_REFRESH_MS", "5"}}) {
    StatusOr<Config> bad = LoadConfig({{name, value}});
    ASSERT_FALSE(bad.ok()) << name;
    EXPECT_NE(bad.status().message().find(name), std::string::npos);
  }
}

}  // namespace
}  // namespace cn::app
