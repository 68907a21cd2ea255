// Authentication decision for one proxied request (README.md, "Credentials"; without the
// original's quirks): which credential goes upstream, or why the request is rejected locally.
//
// Passthrough is the default: with no credential file for the Host, the client's own x-api-key
// or Authorization travels upstream untouched and the proxy does no authentication of its own.
// With a file, the proxy injects the file's credential in place of the client's. With client
// auth on, the client must present the file's client_api_key as a Bearer token.
//
// Pure functions over plain data; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/header.h"
#include "proxy/credentials.h"

namespace cn::proxy {

inline constexpr std::string_view kOAuthBeta = "oauth-2025-04-20";
inline constexpr std::string_view kAuthRealmHeader = "Bearer realm=\"claude-nexus\"";

struct AuthPlan {
  // Rejection: answer locally with `status` and an Anthropic-style error body
  // {"error":{"type":error_type,"message":message}}. Messages never contain secrets.
  bool reject = false;
  int status = 0;
  std::string error_type;
  std::string message;
  Headers extra_response_headers;  // e.g. WWW-Authenticate

  // Acceptance: which credential replaces the client's (kNone = pass the client's through).
  enum class Inject { kNone, kApiKey, kBearer };
  Inject inject = Inject::kNone;
  std::string secret;                     // the api key or access token to inject; never log it
  bool add_oauth_beta = false;            // append kOAuthBeta to anthropic-beta
  std::optional<std::string> account_id;  // from the credential file, when one was used
};

// `cred` is CredentialStore::Find(raw Host). `now_ms` is wall-clock epoch ms (token expiry).
AuthPlan DecideAuth(const Headers& client_headers, const CredentialStore::Lookup& cred,
                    bool client_auth_enabled, std::int64_t now_ms);

// The rejection DecideAuth answers whatever the credential's own state: an unsafe Host, a
// failed client-auth check, an invalid credential file; nullopt when none applies. Callers check
// it before working on a credential's behalf (an OAuth refresh must not be triggerable by a
// client that would be turned away anyway).
std::optional<AuthPlan> EarlyRejection(const Headers& client_headers,
                                       const CredentialStore::Lookup& cred,
                                       bool client_auth_enabled);

// Compares SHA-256 digests of both keys with CRYPTO_memcmp, so the time taken depends on neither
// the keys' contents nor the length of their common prefix.
bool ClientKeyMatches(std::string_view presented, std::string_view configured);

// The token of an "Authorization: Bearer <token>" value (scheme case-insensitive, one or more
// spaces/tabs), or nullopt when the value has another form or an empty token.
std::optional<std::string_view> BearerToken(std::string_view authorization);

// First header named `name` (case-insensitive), or nullptr.
const Header* FindHeader(const Headers& headers, std::string_view name);

}  // namespace cn::proxy
