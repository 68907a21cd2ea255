#include "proxy/credentials.h"

#include <algorithm>
#include <boost/json.hpp>
#include <fstream>
#include <iterator>
#include <optional>
#include <system_error>

namespace cn::proxy {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr std::string_view kSuffix = ".credentials.json";
// Credential files are a few hundred bytes; anything far larger is not one.
constexpr std::uintmax_t kMaxFileBytes = 1 << 20;

std::string Describe(const fs::path& path) { return "credential file '" + path.string() + "'"; }

// Reads an optional string member; a present member of another type is an error.
Status OptionalString(const json::object& obj, std::string_view key, std::string* out,
                      const fs::path& path) {
  const json::value* v = obj.if_contains(key);
  if (v == nullptr || v->is_null()) return Status::Ok();
  if (!v->is_string()) {
    return Status::Corruption(Describe(path) + ": field '" + std::string(key) +
                              "' must be a string");
  }
  out->assign(v->as_string().begin(), v->as_string().end());
  return Status::Ok();
}

Status ParseOAuth(const json::object& obj, Credential::OAuth* out, const fs::path& path) {
  for (auto [key, dest] : {std::pair{"accessToken", &out->access_token},
                           std::pair{"refreshToken", &out->refresh_token}}) {
    if (Status s = OptionalString(obj, key, dest, path); !s.ok()) return s;
  }
  if (const json::value* v = obj.if_contains("expiresAt"); v != nullptr && !v->is_null()) {
    if (v->is_int64()) {
      out->expires_at_ms = v->get_int64();
    } else if (v->is_uint64()) {
      out->expires_at_ms =
          static_cast<std::int64_t>(std::min<std::uint64_t>(v->get_uint64(), INT64_MAX));
    } else if (v->is_double()) {
      out->expires_at_ms = static_cast<std::int64_t>(v->get_double());
    } else {
      return Status::Corruption(Describe(path) +
                                ": field 'oauth.expiresAt' must be a number (epoch ms)");
    }
  }
  if (const json::value* v = obj.if_contains("scopes"); v != nullptr && !v->is_null()) {
    if (!v->is_array())
      return Status::Corruption(Describe(path) + ": field 'oauth.scopes' must be an array");
    for (const json::value& scope : v->get_array()) {
      if (!scope.is_string()) {
        return Status::Corruption(Describe(path) + ": field 'oauth.scopes' must hold strings");
      }
      out->scopes.emplace_back(scope.get_string());
    }
  }
  if (const json::value* v = obj.if_contains("isMax"); v != nullptr && !v->is_null()) {
    if (!v->is_bool())
      return Status::Corruption(Describe(path) + ": field 'oauth.isMax' must be a boolean");
    out->is_max = v->get_bool();
  }
  if (out->access_token.empty() && out->refresh_token.empty()) {
    return Status::Corruption(
        Describe(path) +
        ": 'oauth' needs an accessToken or a refreshToken (run the OAuth login again)");
  }
  return Status::Ok();
}

}  // namespace

bool IsSafeHost(std::string_view host) {
  if (host.empty() || host.size() > kMaxHostLength) return false;
  if (host.find("..") != std::string_view::npos) return false;
  return std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == ':';
  });
}

std::string CredentialFileName(std::string_view host) {
  std::string name(host);
  name += kSuffix;
  return name;
}

StatusOr<Credential> ParseCredentialFile(std::string_view json_text,
                                         const fs::path& path_for_messages) {
  const fs::path& path = path_for_messages;
  std::error_code ec;
  json::value root = json::parse(json_text, ec);
  if (ec) return Status::Corruption(Describe(path) + " is not valid JSON (" + ec.message() + ")");
  if (!root.is_object()) return Status::Corruption(Describe(path) + " must contain a JSON object");
  const json::object& obj = root.get_object();

  Credential cred;
  cred.path = path;
  std::string type;
  if (Status s = OptionalString(obj, "type", &type, path); !s.ok()) return s;
  if (type.empty()) {
    return Status::Corruption(Describe(path) +
                              ": field 'type' is required (\"api_key\" or \"oauth\")");
  }
  for (auto [key, dest] :
       {std::pair{"accountId", &cred.account_id}, std::pair{"api_key", &cred.api_key},
        std::pair{"client_api_key", &cred.client_api_key}}) {
    if (Status s = OptionalString(obj, key, dest, path); !s.ok()) return s;
  }

  if (type == "api_key") {
    cred.type = Credential::Type::kApiKey;
    if (cred.api_key.empty()) {
      return Status::Corruption(Describe(path) +
                                ": type \"api_key\" requires a non-empty 'api_key' field");
    }
  } else if (type == "oauth") {
    cred.type = Credential::Type::kOAuth;
    const json::value* oauth = obj.if_contains("oauth");
    if (oauth == nullptr || !oauth->is_object()) {
      return Status::Corruption(Describe(path) + ": type \"oauth\" requires an 'oauth' object");
    }
    if (Status s = ParseOAuth(oauth->get_object(), &cred.oauth, path); !s.ok()) return s;
  } else {
    return Status::Corruption(Describe(path) +
                              ": unknown type (expected \"api_key\" or \"oauth\")");
  }
  return cred;
}

CredentialStore::CredentialStore(fs::path dir) : CredentialStore(std::move(dir), Options{}) {}

CredentialStore::CredentialStore(fs::path dir, Options options)
    : dir_(std::move(dir)), options_(std::move(options)) {}

std::int64_t CredentialStore::NowMs() const {
  if (options_.clock_ms) return options_.clock_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

CredentialStore::FileStamp CredentialStore::Stat(const fs::path& path) {
  FileStamp stamp;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);  // follows symlinks (mounted secrets use them)
  if (ec || !fs::is_regular_file(st)) return stamp;
  stamp.size = fs::file_size(path, ec);
  if (ec) return stamp;
  stamp.mtime = fs::last_write_time(path, ec);
  if (ec) return stamp;
  stamp.exists = true;
  return stamp;
}

CredentialStore::Lookup CredentialStore::Load(const fs::path& path, const std::string& file_name,
                                              const FileStamp& stamp) {
  Lookup lookup;
  lookup.file_name = file_name;
  if (!stamp.exists) {
    lookup.kind = Lookup::Kind::kMissing;
    return lookup;
  }
  lookup.kind = Lookup::Kind::kInvalid;
  if (stamp.size > kMaxFileBytes) {
    lookup.error = Describe(file_name) + " is too large to be a credential file";
    return lookup;
  }
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) {
    lookup.error = Describe(file_name) + " could not be read";
    return lookup;
  }
  // Messages name the file only: they may reach clients, which need not learn server paths.
  StatusOr<Credential> parsed = ParseCredentialFile(text, file_name);
  if (!parsed.ok()) {
    lookup.error = parsed.status().message();
    return lookup;
  }
  parsed->path = path;
  lookup.kind = Lookup::Kind::kFound;
  lookup.credential = std::make_shared<const Credential>(std::move(parsed).value());
  return lookup;
}

CredentialStore::Lookup CredentialStore::Find(std::string_view host) {
  const std::string file_name = IsSafeHost(host) ? CredentialFileName(host) : std::string();
  // IsSafeHost excludes separators and "..", so the name is one component directly inside dir_;
  // the second test guards that invariant should the host rule ever be loosened.
  if (file_name.empty() || fs::path(file_name) != fs::path(file_name).filename()) {
    Lookup lookup;
    lookup.kind = Lookup::Kind::kUnsafeHost;
    lookup.error = "Host header is not a valid host name";
    return lookup;
  }
  const std::string key(host);
  const std::int64_t now = NowMs();
  std::optional<Entry> previous;
  {
    std::lock_guard lock(mu_);
    if (auto it = entries_.find(key); it != entries_.end()) {
      if (now - it->second.checked_at_ms < options_.recheck_interval.count())
        return it->second.lookup;
      previous = it->second;
    }
  }

  // Filesystem work happens unlocked so that one slow disk read never stalls other Hosts.
  const fs::path path = dir_ / file_name;
  Entry fresh;
  fresh.checked_at_ms = now;
  fresh.stamp = Stat(path);
  fresh.lookup = (previous && previous->stamp == fresh.stamp) ? previous->lookup
                                                              : Load(path, file_name, fresh.stamp);

  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (entries_.size() >= options_.max_entries) EvictOneLocked();
    it = entries_.emplace(key, Entry{}).first;
  }
  it->second = fresh;
  return fresh.lookup;
}

void CredentialStore::EvictOneLocked() {
  if (entries_.empty()) return;
  auto oldest = std::min_element(
      entries_.begin(), entries_.end(),
      [](const auto& a, const auto& b) { return a.second.checked_at_ms < b.second.checked_at_ms; });
  entries_.erase(oldest);
}

std::size_t CredentialStore::CachedEntriesForTest() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

std::vector<CredentialStatus> CredentialStore::Report(std::int64_t now_unix_ms,
                                                      std::int64_t expiring_soon_ms) const {
  std::vector<CredentialStatus> out;
  std::error_code ec;
  fs::directory_iterator it(dir_, ec);
  if (ec) return out;
  for (const fs::directory_entry& entry : it) {
    const std::string name = entry.path().filename().string();
    if (name.size() <= kSuffix.size() || !name.ends_with(kSuffix)) continue;
    CredentialStatus status;
    status.file_name = name;
    status.host = name.substr(0, name.size() - kSuffix.size());
    const Lookup lookup = Load(entry.path(), name, Stat(entry.path()));
    if (lookup.kind != Lookup::Kind::kFound) {
      status.state = "invalid";
      status.error =
          lookup.error.empty() ? Describe(name) + " is not a regular file" : lookup.error;
      out.push_back(std::move(status));
      continue;
    }
    const Credential& cred = *lookup.credential;
    status.account_id = cred.account_id;
    status.has_client_key = !cred.client_api_key.empty();
    if (cred.type == Credential::Type::kApiKey) {
      status.type = "api_key";
      status.state = "valid";
    } else {
      status.type = "oauth";
      const std::int64_t expires = cred.oauth.expires_at_ms;
      status.expires_at_ms = expires;
      status.has_refresh_token = !cred.oauth.refresh_token.empty();
      if (cred.oauth.refresh_token.empty()) {
        status.state = (expires != 0 && expires <= now_unix_ms) ? "expired" : "no_refresh_token";
      } else if (expires != 0 && expires <= now_unix_ms) {
        status.state = "expired";
      } else if (expires != 0 && expires - now_unix_ms < expiring_soon_ms) {
        status.state = "expiring_soon";
      } else {
        status.state = "valid";
      }
    }
    out.push_back(std::move(status));
  }
  std::sort(out.begin(), out.end(), [](const CredentialStatus& a, const CredentialStatus& b) {
    return a.file_name < b.file_name;
  });
  return out;
}

}  // namespace cn::proxy
