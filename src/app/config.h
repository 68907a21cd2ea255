// Process configuration: parsed once at start-up from the environment (merged with .env) into
// an immutable Config that the rest of the program shares read-only.
//
// Variable names follow the original (README.md "Configuration") plus a few of ours; every bad
// value stops start-up with a message naming the variable and what is accepted — never echoing a
// secret such as the password in DATABASE_URL.
//
// Thread-safety: pure functions; a Config is a plain value (share it as shared_ptr<const Config>).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/log.h"
#include "common/status.h"
#include "proxy/retry.h"

namespace cn::app {

struct UpstreamUrl {
  std::string scheme;  // "https" or "http" (http only for local tests)
  std::string host;    // without brackets for IPv6 literals
  std::uint16_t port = 443;
  std::string base_path;  // "" or "/prefix" without a trailing '/'; "/v1/..." is appended to it
  bool tls = true;
};

struct Config {
  std::string host = "0.0.0.0";                          // HOST
  std::uint16_t port = 3000;                             // PORT (0 = ephemeral, for tests)
  std::uint16_t dashboard_port = 3001;                   // DASHBOARD_PORT
  UpstreamUrl upstream;                                  // CLAUDE_API_BASE_URL
  std::chrono::milliseconds upstream_timeout{600000};    // CLAUDE_API_TIMEOUT: until headers
  std::chrono::milliseconds server_timeout{660000};      // PROXY_SERVER_TIMEOUT
  std::chrono::milliseconds shutdown_timeout{30000};     // SHUTDOWN_TIMEOUT_MS
  std::filesystem::path credentials_dir{"credentials"};  // CREDENTIALS_DIR (~ expanded)
  bool client_auth = false;                              // ENABLE_CLIENT_AUTH
  bool storage_enabled = true;                           // STORAGE_ENABLED
  std::string database_url;                              // DATABASE_URL: "" = SQLite in data_dir
  std::filesystem::path data_dir{"./data"};              // DATA_DIR
  log::Level log_level = log::Level::kInfo;              // LOG_LEVEL; DEBUG=true forces debug
  bool log_json = false;                      // LOG_JSON (default true if NODE_ENV=production)
  std::size_t max_body_bytes = 32u << 20;     // MAX_REQUEST_BODY_BYTES
  proxy::RetryPolicy retry;                   // CLAUDE_API_MAX_RETRIES
  int io_threads = 0;                         // IO_THREADS: 0 = one per core
  std::size_t record_queue_capacity = 10000;  // RECORD_QUEUE_CAPACITY
  std::string upstream_ca_file;               // CLAUDE_API_CA_FILE: extra CA bundle
  // Storage maintenance (docs/storage.md).
  bool auto_migrate = true;                             // AUTO_MIGRATE: migrate at start-up
  int retention_days = 0;                               // RETENTION_DAYS: 0 = keep forever
  bool store_raw_bodies = true;                         // STORE_RAW_BODIES (PostgreSQL)
  std::chrono::milliseconds token_stats_refresh{5000};  // TOKEN_STATS_REFRESH_MS (PostgreSQL)
  std::filesystem::path pricing_file;                   // PRICING_FILE: "" = built-in prices
  // The read side (docs/api.md). Keys are secrets: never logged, DescribeConfig says "set".
  std::string dashboard_api_key;    // DASHBOARD_API_KEY: "" = loopback only
  std::string internal_api_key;     // INTERNAL_API_KEY: a second accepted key
  std::string api_key_hash_secret;  // API_KEY_HASH_SECRET: "" = DATA_DIR/key-hash.secret
  int api_readers = 2;              // API_READERS: reader threads/connections
  std::chrono::milliseconds api_statement_timeout{10000};  // API_STATEMENT_TIMEOUT_MS
  // OAuth credentials (docs/oauth.md).
  std::string oauth_token_url{
      "https://console.anthropic.com/v1/oauth/token"};                  // CLAUDE_OAUTH_TOKEN_URL
  std::string oauth_client_id{"9d1c250a-e61b-44d9-88ed-5944d1962f5e"};  // CLAUDE_OAUTH_CLIENT_ID
  std::string oauth_ca_file;  // CLAUDE_OAUTH_CA_FILE: extra CA bundle
  std::chrono::milliseconds oauth_refresh_margin{
      60000};                            // OAUTH_REFRESH_MARGIN_MS: requests refresh
  bool oauth_background_refresh = true;  // OAUTH_BACKGROUND_REFRESH
  std::chrono::milliseconds oauth_background_margin{300000};   // OAUTH_BACKGROUND_MARGIN_MS
  std::chrono::milliseconds oauth_background_interval{30000};  // OAUTH_BACKGROUND_INTERVAL_MS
  std::chrono::milliseconds oauth_backoff{5000};  // OAUTH_REFRESH_BACKOFF_MS: first backoff
};

// `env` is the process environment merged with .env (process environment wins). HOME, when
// present, is used for "~" in CREDENTIALS_DIR and DATA_DIR.
StatusOr<Config> LoadConfig(const std::map<std::string, std::string>& env);

// KEY=VALUE lines; optional "export " prefix; blank lines and "#" comments; values unquoted
// (trailing " #comment" removed, spaces trimmed), 'single-quoted' (literal) or "double-quoted"
// (\n, \t, \", \\ escapes). Errors give the line number, never the value.
StatusOr<std::map<std::string, std::string>> ParseDotEnv(std::string_view text);

// Adds the .env entries that `process_env` does not already have.
std::map<std::string, std::string> MergeEnv(std::map<std::string, std::string> process_env,
                                            const std::map<std::string, std::string>& dotenv);

// Human-readable lines for the start-up log; secrets (the DATABASE_URL password) masked.
std::vector<std::string> DescribeConfig(const Config& config);

// "postgres://user:****@host/db" for "postgres://user:secret@host/db".
std::string MaskDatabaseUrl(std::string_view url);

}  // namespace cn::app
