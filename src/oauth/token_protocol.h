// The OAuth token endpoint protocol (docs/oauth.md, "How refresh works") as pure functions, and
// TokenEndpoint, the seam between them and the network: request bodies for the refresh and
// authorization-code grants, the mapping of an answer to new tokens or to a classified failure,
// and endpoint URL parsing.
//
// Thread-safety: pure functions. TokenEndpoint implementations must allow concurrent Post().
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace cn::oauth {

// Headers every token request carries besides Content-Type: application/json.
inline constexpr std::string_view kOAuthBetaHeader = "anthropic-beta";
inline constexpr std::string_view kOAuthBetaValue = "oauth-2025-04-20";

// One answer of the token endpoint. `status` 0 means no HTTP answer (see transport_error).
struct TokenHttpResult {
  int status = 0;
  std::string body;
  std::string transport_error;
};

// Posts a JSON body to the token endpoint and returns its answer. Blocking: call it from a
// thread that may block (the refresher's workers, a CLI command), never from an I/O thread.
class TokenEndpoint {
 public:
  virtual ~TokenEndpoint() = default;
  virtual TokenHttpResult Post(const std::string& json_body) = 0;
};

std::string RefreshRequestBody(std::string_view client_id, std::string_view refresh_token);
std::string AuthorizationCodeRequestBody(std::string_view client_id, std::string_view code,
                                         std::string_view state, std::string_view verifier);

struct TokenGrant {
  std::string access_token;
  std::string refresh_token;  // the new one, or the previous one when the answer has none
  std::int64_t expires_at_ms = 0;
  std::vector<std::string> scopes;
  std::string account_uuid;   // "account.uuid" of a login answer, when present
  std::string account_email;  // "account.email_address", for the login message only
};

// Outcome of one grant. `relogin_required` is set for invalid_grant: the refresh token (or the
// code) is dead and only a new login helps, so retrying is pointless.
struct TokenResult {
  Status status;
  bool relogin_required = false;
  TokenGrant grant;  // set when status.ok()
};

// Maps the endpoint's answer. Error messages carry the endpoint's error code/description (never
// tokens). `previous_refresh_token` is kept when the answer rotates none.
TokenResult ParseTokenResponse(const TokenHttpResult& http, std::int64_t now_ms,
                               std::string_view previous_refresh_token);

// Default scopes when the answer has no "scope": the ones the login asks for (docs/oauth.md,
// "Setting up an account").
std::vector<std::string> DefaultScopes();

struct EndpointUrl {
  bool tls = true;
  std::string host;
  std::uint16_t port = 443;
  std::string target;  // path and query, "/" at least
};
// https://host[:port]/path, or http:// for loopback hosts only (tests, local relays): refresh
// tokens never travel in clear text over a network.
StatusOr<EndpointUrl> ParseEndpointUrl(std::string_view url);

}  // namespace cn::oauth
