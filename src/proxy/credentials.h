// Per-Host upstream credentials: the `<Host>.credentials.json` file format (docs/oauth.md), the
// Host safety check that keeps a client-chosen Host from naming a file outside the credentials
// directory, and CredentialStore, the cache the hot path asks once per request.
//
// Thread-safety: Credential is an immutable value once published (shared as
// shared_ptr<const Credential>). CredentialStore is thread-safe; all I/O threads share one.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"

namespace cn::proxy {

struct Credential {
  enum class Type { kApiKey, kOAuth };
  struct OAuth {
    std::string access_token;
    std::string refresh_token;
    std::int64_t expires_at_ms = 0;  // epoch ms; 0 = unknown (the file has no expiresAt)
    std::vector<std::string> scopes;
    bool is_max = false;
  };

  Type type = Type::kApiKey;
  std::string account_id;      // "accountId"; empty when the file has none (allowed)
  std::string api_key;         // "api_key", set for kApiKey
  OAuth oauth;                 // "oauth", set for kOAuth
  std::string client_api_key;  // "client_api_key": what clients present when client auth is on
  std::filesystem::path path;  // the file it came from (for messages; never contains secrets)
};

// Longest Host accepted as a credential file name component (file names are limited to 255
// bytes; ".credentials.json" takes 17).
inline constexpr std::size_t kMaxHostLength = 200;

// True when `host` may name a credential file: ^[A-Za-z0-9.\-:]+$, no "..", 1..kMaxHostLength
// bytes. Everything else (slashes, backslashes, NUL, spaces, empty) is unsafe.
bool IsSafeHost(std::string_view host);

// "<host>.credentials.json". REQUIRES: IsSafeHost(host).
std::string CredentialFileName(std::string_view host);

// Parses the original's JSON format. Errors name `path_for_messages` and the problem, never a
// value from the file. Unknown fields (e.g. "slack") are ignored; a missing accountId is allowed.
StatusOr<Credential> ParseCredentialFile(std::string_view json_text,
                                         const std::filesystem::path& path_for_messages);

// Start-up report line for one credential file. Never contains secrets.
struct CredentialStatus {
  std::string file_name;
  std::string host;  // file name without ".credentials.json"
  std::string account_id;
  std::string type;  // "api_key" | "oauth" | "" when invalid
  // "valid" | "expiring_soon" (< 24 h) | "expired" | "no_refresh_token" (oauth without a
  // refresh token) | "invalid" (see `error`)
  std::string state;
  bool has_client_key = false;
  std::int64_t expires_at_ms = 0;  // oauth: the access token's expiry (0 = unknown)
  bool has_refresh_token = false;  // oauth
  std::string error;
};

// Caches parsed credential files per Host.
//
// Freshness: a Host's file is stat()ed at most once per `recheck_interval` (the answer, including
// "missing" and "invalid", is cached in between), and re-read only when its mtime or size
// changed. So an edited file is seen within about a second, and the hot path touches the
// filesystem at most once per second per Host. The cache holds at most `max_entries` Hosts
// (clients choose the Host header, so it must be bounded); the least recently checked entry is
// evicted first.
//
// Thread-safety: all methods may be called concurrently. File I/O happens outside `mu_`; two
// threads that find the same stale entry may both re-read it, which is harmless.
class CredentialStore {
 public:
  struct Options {
    std::chrono::milliseconds recheck_interval{1000};
    std::size_t max_entries = 1024;
    // Monotonic milliseconds; tests inject a fake clock so no test has to sleep.
    std::function<std::int64_t()> clock_ms;
  };

  struct Lookup {
    enum class Kind { kFound, kMissing, kUnsafeHost, kInvalid };
    Kind kind = Kind::kMissing;
    std::shared_ptr<const Credential> credential;  // set for kFound
    std::string error;                             // set for kInvalid / kUnsafeHost
    std::string file_name;                         // set unless kUnsafeHost
  };

  explicit CredentialStore(std::filesystem::path dir);  // dir may not exist: all "missing"
  CredentialStore(std::filesystem::path dir, Options options);
  CredentialStore(const CredentialStore&) = delete;
  CredentialStore& operator=(const CredentialStore&) = delete;

  // `host` is the raw Host header (with port).
  Lookup Find(std::string_view host);

  // Status of every *.credentials.json in the directory, sorted by file name, for the start-up
  // log. Reads the directory; not for the hot path. An oauth token with less than
  // `expiring_soon_ms` left is "expiring_soon" (the original used 24 h).
  std::vector<CredentialStatus> Report(std::int64_t now_unix_ms,
                                       std::int64_t expiring_soon_ms = 24LL * 3600 * 1000) const;

  const std::filesystem::path& dir() const { return dir_; }
  std::size_t CachedEntriesForTest() const;

 private:
  struct FileStamp {
    bool exists = false;
    std::filesystem::file_time_type mtime{};
    std::uintmax_t size = 0;
    bool operator==(const FileStamp&) const = default;
  };
  struct Entry {
    std::int64_t checked_at_ms = 0;
    FileStamp stamp;
    Lookup lookup;
  };

  std::int64_t NowMs() const;
  static FileStamp Stat(const std::filesystem::path& path);
  static Lookup Load(const std::filesystem::path& path, const std::string& file_name,
                     const FileStamp& stamp);
  void EvictOneLocked();  // REQUIRES: mu_ held

  const std::filesystem::path dir_;
  const Options options_;

  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;  // GUARDED_BY(mu_), keyed by raw Host
};

}  // namespace cn::proxy
