#include "app/config.h"

#include <charconv>
#include <limits>
#include <system_error>

#include "common/ascii.h"

namespace cn::app {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kDefaultUpstream = "https://api.anthropic.com";

// The value of `name`, or nullptr when unset or empty (an empty value means "use the default",
// which is what `KEY=` in a .env file usually intends).
const std::string* Get(const std::map<std::string, std::string>& env, std::string_view name) {
  auto it = env.find(std::string(name));
  return (it == env.end() || it->second.empty()) ? nullptr : &it->second;
}

Status Bad(std::string_view name, std::string_view value, std::string_view expected) {
  return Status::InvalidArgument(std::string(name) + "='" + std::string(value) +
                                 "' is invalid: expected " + std::string(expected));
}

StatusOr<bool> ParseBool(std::string_view name, std::string_view value) {
  const std::string v = AsciiToLower(TrimHttpSpace(value));
  if (v == "true" || v == "1" || v == "yes") return true;
  if (v == "false" || v == "0" || v == "no") return false;
  return Bad(name, value, "true/false, 1/0 or yes/no");
}

StatusOr<std::uint64_t> ParseUint(std::string_view name, std::string_view value, std::uint64_t min,
                                  std::uint64_t max) {
  const std::string_view v = TrimHttpSpace(value);
  std::uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ec != std::errc() || ptr != v.data() + v.size() || n < min || n > max) {
    return Bad(name, value,
               "an integer from " + std::to_string(min) + " to " + std::to_string(max));
  }
  return n;
}

// Reads an optional variable through `parse` into `*out`; leaves `*out` alone when unset.
template <typename T, typename Parse>
Status Read(const std::map<std::string, std::string>& env, std::string_view name, T* out,
            Parse parse) {
  const std::string* value = Get(env, name);
  if (value == nullptr) return Status::Ok();
  auto parsed = parse(name, *value);
  if (!parsed.ok()) return parsed.status();
  *out = static_cast<T>(*parsed);
  return Status::Ok();
}

auto UintIn(std::uint64_t min, std::uint64_t max) {
  return [=](std::string_view name, std::string_view value) {
    return ParseUint(name, value, min, max);
  };
}

auto Millis(std::uint64_t min, std::uint64_t max) {
  return [=](std::string_view name, std::string_view value) -> StatusOr<std::chrono::milliseconds> {
    StatusOr<std::uint64_t> n = ParseUint(name, value, min, max);
    if (!n.ok()) return n.status();
    return std::chrono::milliseconds(static_cast<std::int64_t>(*n));
  };
}

StatusOr<fs::path> ExpandHome(const std::map<std::string, std::string>& env, std::string_view name,
                              const std::string& value) {
  if (value != "~" && !value.starts_with("~/")) return fs::path(value);
  const std::string* home = Get(env, "HOME");
  if (home == nullptr) {
    return Status::InvalidArgument(std::string(name) + " starts with '~' but HOME is not set");
  }
  return fs::path(*home + value.substr(1));
}

bool IsHostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

// The URL is not echoed in errors: a mistyped one may carry credentials.
StatusOr<UpstreamUrl> ParseUpstreamUrl(std::string_view url) {
  constexpr std::string_view kName = "CLAUDE_API_BASE_URL";
  auto fail = [&](std::string_view why) {
    return Status::InvalidArgument(std::string(kName) + " is not a usable URL: " +
                                   std::string(why) + " (example: https://api.anthropic.com)");
  };
  UpstreamUrl out;
  const std::size_t sep = url.find("://");
  if (sep == std::string_view::npos) return fail("missing scheme");
  out.scheme = AsciiToLower(url.substr(0, sep));
  if (out.scheme == "https") {
    out.tls = true;
    out.port = 443;
  } else if (out.scheme == "http") {
    out.tls = false;
    out.port = 80;
  } else {
    return fail("the scheme must be https (or http for local tests)");
  }
  std::string_view rest = url.substr(sep + 3);
  if (rest.find_first_of("?#") != std::string_view::npos)
    return fail("query strings and fragments are not allowed");
  const std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos) return fail("user information is not allowed");

  std::string_view host = authority;
  std::string_view port;
  if (authority.starts_with('[')) {  // IPv6 literal
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return fail("unterminated IPv6 address");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && !after.starts_with(':'))
      return fail("unexpected text after the IPv6 address");
    if (!after.empty()) port = after.substr(1);
    if (host.empty() ||
        host.find_first_not_of("0123456789abcdefABCDEF:.") != std::string_view::npos) {
      return fail("bad IPv6 address");
    }
  } else {
    const std::size_t colon = authority.find(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
    }
    if (host.empty()) return fail("missing host");
    for (const char c : host) {
      if (!IsHostChar(c)) return fail("the host contains characters that are not allowed");
    }
  }
  if (authority.find(':') != std::string_view::npos || !port.empty()) {
    StatusOr<std::uint64_t> p = ParseUint(kName, port, 1, 65535);
    if (!p.ok()) return fail("the port must be a number from 1 to 65535");
    out.port = static_cast<std::uint16_t>(*p);
  }
  out.host = std::string(host);
  while (path.ends_with('/')) path.remove_suffix(1);
  for (const char c : path) {
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      return fail("the path contains spaces or control characters");
    }
  }
  out.base_path = std::string(path);
  return out;
}

Status CheckDatabaseUrl(std::string_view url) {
  if (url.empty()) return Status::Ok();
  const std::string lower = AsciiToLower(url);
  if (lower.starts_with("postgres://") || lower.starts_with("postgresql://")) return Status::Ok();
  // Not echoed: database URLs carry passwords.
  return Status::InvalidArgument(
      "DATABASE_URL is not supported: leave it empty for SQLite in DATA_DIR, or give a postgres:// "
      "or "
      "postgresql:// URL");
}

const char* LevelName(log::Level level) {
  switch (level) {
    case log::Level::kDebug:
      return "debug";
    case log::Level::kInfo:
      return "info";
    case log::Level::kWarn:
      return "warn";
    case log::Level::kError:
      return "error";
  }
  return "info";
}

std::string FormatUpstream(const UpstreamUrl& u) {
  const bool ipv6 = u.host.find(':') != std::string::npos;
  return u.scheme + "://" + (ipv6 ? "[" + u.host + "]" : u.host) + ":" + std::to_string(u.port) +
         u.base_path;
}

// Only blanks or a comment may follow a closing quote.
bool OnlyCommentAfter(std::string_view rest) {
  rest = TrimHttpSpace(rest);
  return rest.empty() || rest.starts_with('#');
}

// Parses the value part of a .env line (after '='). Returns false on an unterminated quote or
// text after the closing quote.
bool ParseDotEnvValue(std::string_view raw, std::string* out) {
  raw = TrimHttpSpace(raw);
  out->clear();
  if (raw.starts_with('\'')) {
    const std::size_t end = raw.find('\'', 1);
    if (end == std::string_view::npos) return false;
    out->assign(raw.substr(1, end - 1));
    return OnlyCommentAfter(raw.substr(end + 1));
  }
  if (raw.starts_with('"')) {
    for (std::size_t i = 1; i < raw.size(); ++i) {
      const char c = raw[i];
      if (c == '"') return OnlyCommentAfter(raw.substr(i + 1));
      if (c == '\\' && i + 1 < raw.size()) {
        const char e = raw[++i];
        out->push_back(e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e);
      } else {
        out->push_back(c);
      }
    }
    return false;
  }
  // Unquoted: a '#' preceded by whitespace starts a comment.
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '#' && (i == 0 || IsHttpSpace(raw[i - 1]))) {
      raw = raw.substr(0, i);
      break;
    }
  }
  out->assign(TrimHttpSpace(raw));
  return true;
}

bool IsEnvName(std::string_view name) {
  if (name.empty() || (name.front() >= '0' && name.front() <= '9')) return false;
  for (const char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
      return false;
  }
  return true;
}

}  // namespace

StatusOr<Config> LoadConfig(const std::map<std::string, std::string>& env) {
  Config c;
  std::optional<std::string> node_env;
  if (const std::string* v = Get(env, "NODE_ENV")) node_env = AsciiToLower(*v);
  c.log_json = node_env == "production";

  const auto port = UintIn(0, 65535);
  const auto as_bool = [](std::string_view n, std::string_view v) { return ParseBool(n, v); };
  constexpr std::uint64_t kMaxTimeoutMs = 7ULL * 24 * 3600 * 1000;
  std::size_t max_retries = static_cast<std::size_t>(c.retry.max_retries);
  bool debug = false;

  for (Status s : {
           Read(env, "PORT", &c.port, port),
           Read(env, "DASHBOARD_PORT", &c.dashboard_port, port),
           Read(env, "CLAUDE_API_TIMEOUT", &c.upstream_timeout, Millis(1, kMaxTimeoutMs)),
           Read(env, "PROXY_SERVER_TIMEOUT", &c.server_timeout, Millis(1, kMaxTimeoutMs)),
           Read(env, "SHUTDOWN_TIMEOUT_MS", &c.shutdown_timeout, Millis(0, kMaxTimeoutMs)),
           Read(env, "ENABLE_CLIENT_AUTH", &c.client_auth, as_bool),
           Read(env, "STORAGE_ENABLED", &c.storage_enabled, as_bool),
           Read(env, "LOG_JSON", &c.log_json, as_bool),
           Read(env, "DEBUG", &debug, as_bool),
           Read(env, "MAX_REQUEST_BODY_BYTES", &c.max_body_bytes, UintIn(1, 1ULL << 32)),
           Read(env, "CLAUDE_API_MAX_RETRIES", &max_retries, UintIn(0, 10)),
           Read(env, "IO_THREADS", &c.io_threads, UintIn(0, 256)),
           Read(env, "API_READERS", &c.api_readers, UintIn(1, 64)),
           Read(env, "API_STATEMENT_TIMEOUT_MS", &c.api_statement_timeout, Millis(100, 3'600'000)),
           Read(env, "RECORD_QUEUE_CAPACITY", &c.record_queue_capacity, UintIn(1, 10'000'000)),
           Read(env, "AUTO_MIGRATE", &c.auto_migrate, as_bool),
           Read(env, "RETENTION_DAYS", &c.retention_days, UintIn(0, 100'000)),
           Read(env, "STORE_RAW_BODIES", &c.store_raw_bodies, as_bool),
           Read(env, "TOKEN_STATS_REFRESH_MS", &c.token_stats_refresh, Millis(100, 3'600'000)),
           Read(env, "OAUTH_REFRESH_MARGIN_MS", &c.oauth_refresh_margin, Millis(0, kMaxTimeoutMs)),
           Read(env, "OAUTH_BACKGROUND_REFRESH", &c.oauth_background_refresh, as_bool),
           Read(env, "OAUTH_BACKGROUND_MARGIN_MS", &c.oauth_background_margin,
                Millis(0, kMaxTimeoutMs)),
           Read(env, "OAUTH_BACKGROUND_INTERVAL_MS", &c.oauth_background_interval,
                Millis(10, kMaxTimeoutMs)),
           Read(env, "OAUTH_REFRESH_BACKOFF_MS", &c.oauth_backoff, Millis(1, kMaxTimeoutMs)),
       }) {
    if (!s.ok()) return s;
  }
  c.retry.max_retries = static_cast<int>(max_retries);

  if (const std::string* v = Get(env, "HOST")) {
    if (v->find_first_of(" \t/") != std::string::npos)
      return Bad("HOST", *v, "an IP address or host name");
    c.host = *v;
  }
  if (const std::string* v = Get(env, "LOG_LEVEL")) {
    if (!log::ParseLevel(*v, &c.log_level))
      return Bad("LOG_LEVEL", *v, "debug, info, warn or error");
  }
  if (debug) c.log_level = log::Level::kDebug;

  const std::string* base_url = Get(env, "CLAUDE_API_BASE_URL");
  StatusOr<UpstreamUrl> upstream =
      ParseUpstreamUrl(base_url ? *base_url : std::string(kDefaultUpstream));
  if (!upstream.ok()) return upstream.status();
  c.upstream = std::move(upstream).value();

  for (auto [name, dest] :
       {std::pair{"CREDENTIALS_DIR", &c.credentials_dir}, std::pair{"DATA_DIR", &c.data_dir}}) {
    if (const std::string* v = Get(env, name)) {
      StatusOr<fs::path> p = ExpandHome(env, name, *v);
      if (!p.ok()) return p.status();
      *dest = std::move(p).value();
    }
  }

  if (const std::string* v = Get(env, "DASHBOARD_API_KEY")) c.dashboard_api_key = *v;
  if (const std::string* v = Get(env, "INTERNAL_API_KEY")) c.internal_api_key = *v;
  if (const std::string* v = Get(env, "API_KEY_HASH_SECRET")) {
    if (!v->empty() && v->size() < 32) {
      return Status::InvalidArgument("API_KEY_HASH_SECRET must be at least 32 characters");
    }
    c.api_key_hash_secret = *v;
  }

  if (const std::string* v = Get(env, "DATABASE_URL")) {
    if (Status s = CheckDatabaseUrl(*v); !s.ok()) return s;
    c.database_url = *v;
  }

  if (const std::string* v = Get(env, "CLAUDE_API_CA_FILE")) {
    std::error_code ec;
    if (!fs::is_regular_file(*v, ec)) {
      return Status::InvalidArgument("CLAUDE_API_CA_FILE='" + *v + "' is not a readable file");
    }
    c.upstream_ca_file = *v;
  }
  if (const std::string* v = Get(env, "PRICING_FILE")) {
    std::error_code ec;
    if (!fs::is_regular_file(*v, ec)) {
      return Status::InvalidArgument("PRICING_FILE='" + *v + "' is not a readable file");
    }
    c.pricing_file = *v;
  }
  for (auto [name, dest] : {std::pair{"CLAUDE_OAUTH_TOKEN_URL", &c.oauth_token_url},
                            std::pair{"CLAUDE_OAUTH_CLIENT_ID", &c.oauth_client_id}}) {
    if (const std::string* v = Get(env, name)) {
      if (v->empty()) return Status::InvalidArgument(std::string(name) + " must not be empty");
      *dest = *v;
    }
  }
  if (const std::string* v = Get(env, "CLAUDE_OAUTH_CA_FILE")) {
    std::error_code ec;
    if (!fs::is_regular_file(*v, ec)) {
      return Status::InvalidArgument("CLAUDE_OAUTH_CA_FILE='" + *v + "' is not a readable file");
    }
    c.oauth_ca_file = *v;
  }
  return c;
}

StatusOr<std::map<std::string, std::string>> ParseDotEnv(std::string_view text) {
  std::map<std::string, std::string> out;
  int line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.ends_with('\r')) line.remove_suffix(1);
    line = TrimHttpSpace(line);
    if (line.empty() || line.starts_with('#')) continue;
    if (line.starts_with("export ") || line.starts_with("export\t"))
      line = TrimHttpSpace(line.substr(7));
    const std::size_t eq = line.find('=');
    const std::string where = ".env line " + std::to_string(line_no);
    if (eq == std::string_view::npos)
      return Status::InvalidArgument(where + ": expected KEY=VALUE");
    const std::string_view key = TrimHttpSpace(line.substr(0, eq));
    if (!IsEnvName(key))
      return Status::InvalidArgument(where + ": '" + std::string(key) + "' is not a variable name");
    std::string value;
    if (!ParseDotEnvValue(line.substr(eq + 1), &value)) {
      return Status::InvalidArgument(where + ": the quoted value of " + std::string(key) +
                                     " has no closing quote, or text after it");
    }
    out[std::string(key)] = std::move(value);
  }
  return out;
}

std::map<std::string, std::string> MergeEnv(std::map<std::string, std::string> process_env,
                                            const std::map<std::string, std::string>& dotenv) {
  for (const auto& [key, value] : dotenv) process_env.emplace(key, value);  // keeps existing keys
  return process_env;
}

std::string MaskDatabaseUrl(std::string_view url) {
  std::string out(url);
  const std::size_t scheme_end = out.find("://");
  if (scheme_end != std::string::npos) {
    const std::size_t auth_begin = scheme_end + 3;
    const std::size_t auth_end = std::min(out.find_first_of("/?", auth_begin), out.size());
    const std::size_t at = out.rfind('@', auth_end);
    if (at != std::string::npos && at >= auth_begin) {
      const std::size_t colon = out.find(':', auth_begin);
      if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "****");
    }
  }
  // libpq also accepts the password as a query parameter.
  for (std::size_t pos = 0;
       (pos = AsciiToLower(out).find("password=", pos)) != std::string::npos;) {
    const std::size_t begin = pos + 9;
    const std::size_t end = std::min(out.find('&', begin), out.size());
    out.replace(begin, end - begin, "****");
    pos = begin + 4;
  }
  return out;
}

std::vector<std::string> DescribeConfig(const Config& c) {
  std::vector<std::string> lines;
  lines.push_back("proxy listening on " + c.host + ":" + std::to_string(c.port) +
                  ", dashboard port " + std::to_string(c.dashboard_port));
  lines.push_back("upstream " + FormatUpstream(c.upstream) + " (timeout until headers " +
                  std::to_string(c.upstream_timeout.count()) + " ms, up to " +
                  std::to_string(c.retry.max_retries) + " retries)");
  if (!c.upstream_ca_file.empty()) lines.push_back("extra upstream CA file " + c.upstream_ca_file);
  if (!c.pricing_file.empty()) lines.push_back("prices from " + c.pricing_file.string());
  lines.push_back(
      std::string("API and dashboard: ") +
      (c.dashboard_api_key.empty() && c.internal_api_key.empty()
           ? "no DASHBOARD_API_KEY set: answering loopback clients (127.0.0.1, ::1) only"
           : "key required (DASHBOARD_API_KEY" +
                 std::string(c.internal_api_key.empty() ? "" : " or INTERNAL_API_KEY") + " set)") +
      ", " + std::to_string(c.api_readers) + " reader connections, statement timeout " +
      std::to_string(c.api_statement_timeout.count()) + " ms");
  lines.push_back("credentials dir " + c.credentials_dir.string() + ", client auth " +
                  (c.client_auth ? "on" : "off"));
  lines.push_back(
      "oauth token endpoint " + c.oauth_token_url + ", refresh " +
      std::to_string(c.oauth_refresh_margin.count()) + " ms before expiry, background " +
      (c.oauth_background_refresh
           ? std::to_string(c.oauth_background_margin.count()) + " ms before expiry every " +
                 std::to_string(c.oauth_background_interval.count()) + " ms"
           : std::string("off")));
  if (!c.storage_enabled) {
    lines.push_back("storage disabled");
  } else if (c.database_url.empty()) {
    lines.push_back("storage SQLite in " + c.data_dir.string());
  } else {
    lines.push_back("storage PostgreSQL " + MaskDatabaseUrl(c.database_url));
  }
  if (c.storage_enabled) {
    lines.push_back(
        std::string("migrate at start-up ") + (c.auto_migrate ? "on" : "off") + ", retention " +
        (c.retention_days == 0 ? std::string("off") : std::to_string(c.retention_days) + " days") +
        (c.database_url.empty()
             ? std::string()
             : std::string(", raw bodies ") + (c.store_raw_bodies ? "kept" : "when needed")));
  }
  lines.push_back("max request body " + std::to_string(c.max_body_bytes) + " bytes, record queue " +
                  std::to_string(c.record_queue_capacity) + ", io threads " +
                  (c.io_threads == 0 ? std::string("auto") : std::to_string(c.io_threads)));
  lines.push_back("server timeout " + std::to_string(c.server_timeout.count()) +
                  " ms, shutdown timeout " + std::to_string(c.shutdown_timeout.count()) + " ms");
  lines.push_back(std::string("log level ") + LevelName(c.log_level) +
                  (c.log_json ? ", JSON lines" : ", text"));
  return lines;
}

}  // namespace cn::app
