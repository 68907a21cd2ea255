// One refresh of one credential file, safe against other threads and other processes sharing
// the directory (the cross-process protocol, docs/oauth.md):
//
//   1. take FileLock("<file>.lock")            (waits while another process refreshes)
//   2. re-read and parse the file               (corrupt -> fail, nothing written)
//   3. fresh enough now? -> done, kAlreadyFresh (another process refreshed while we waited)
//   4. POST the refresh grant                   (failure -> fail; invalid_grant -> relogin)
//   5. merge + WriteFileAtomically              (other fields kept, mode 0600)
//   6. release the lock
//
// Because every refresher re-reads under the lock, at most one process spends a given refresh
// token; the others adopt its result. This matters: the endpoint rotates refresh tokens, so a
// second use of the same one fails with invalid_grant.
//
// Thread-safety: RefreshCredentialFile is thread-safe (it blocks: lock wait + HTTP).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "oauth/pkce.h"
#include "oauth/token_protocol.h"
#include "proxy/credentials.h"

namespace cn::oauth {

// An oauth credential whose expiry is known and at most `margin_ms` away (or past).
bool NeedsRefresh(const proxy::Credential& cred, std::int64_t now_ms, std::int64_t margin_ms);
bool IsExpired(const proxy::Credential& cred, std::int64_t now_ms);

// Wall-clock epoch milliseconds.
std::int64_t WallNowMs();

struct RefreshOptions {
  std::string client_id{kDefaultClientId};
  std::int64_t margin_ms = 60000;  // step 3: "fresh enough" means more than this left
  bool force = false;              // skip step 3
  std::chrono::milliseconds lock_timeout{30000};
  std::function<std::int64_t()> now_ms;  // wall clock; default WallNowMs
};

struct RefreshOutcome {
  enum class Kind { kRefreshed, kAlreadyFresh, kFailed };
  Kind kind = Kind::kFailed;
  Status status;                  // why, for kFailed (messages name the file, never a token)
  bool relogin_required = false;  // kFailed: invalid_grant, or no refresh token to use
  std::shared_ptr<const proxy::Credential> credential;  // as now on disk; kRefreshed/kAlreadyFresh
  std::int64_t endpoint_micros = 0;  // time in the token request; 0 when none was made
};

RefreshOutcome RefreshCredentialFile(const std::filesystem::path& path, TokenEndpoint& endpoint,
                                     const RefreshOptions& options);

}  // namespace cn::oauth
