// PKCE (RFC 7636, S256), the authorize URL of the Claude login (docs/oauth.md, "Setting up an
// account"), the pasted "code#state" answer, and the `cnp_live_` client keys of
// `claude-nexus keygen` (docs/oauth.md, "Commands"). All randomness comes from the OS CSPRNG
// (cn::RandomBytes, getrandom) unless a test injects a source.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace cn::oauth {

// Fills its argument with random bytes. The default everywhere is cn::RandomBytes.
using RandomSource = std::function<void(std::span<std::uint8_t>)>;

// Base64url without padding (RFC 4648 §5).
std::string Base64Url(std::span<const std::uint8_t> bytes);

struct Pkce {
  std::string verifier;   // 43 chars: base64url of 32 random bytes
  std::string challenge;  // base64url(SHA-256(verifier))
};
Pkce NewPkce(const RandomSource& random = {});
std::string S256Challenge(std::string_view verifier);

// A fresh opaque `state` (base64url of 32 random bytes). The original sent the PKCE verifier
// as the state, which puts the secret half of PKCE into the browser's URL; we keep them apart.
std::string NewState(const RandomSource& random = {});

inline constexpr std::string_view kAuthorizeUrl = "https://claude.ai/oauth/authorize";
inline constexpr std::string_view kRedirectUri =
    "https://console.anthropic.com/oauth/code/callback";
inline constexpr std::string_view kLoginScopes = "org:create_api_key user:profile user:inference";
inline constexpr std::string_view kDefaultClientId = "9d1c250a-e61b-44d9-88ed-5944d1962f5e";
inline constexpr std::string_view kDefaultTokenUrl = "https://console.anthropic.com/v1/oauth/token";

// The URL the user opens (in any browser, on any machine) to log in.
std::string AuthorizeUrl(std::string_view client_id, std::string_view challenge,
                         std::string_view state);

// "application/x-www-form-urlencoded" encoding of one query value (space as '+').
std::string FormEncode(std::string_view value);

struct PastedCode {
  std::string code;
  std::string state;  // empty when the user pasted the code alone
};
// Parses what the callback page shows: "code#state" (surrounding spaces ignored). nullopt when
// there is no code.
std::optional<PastedCode> ParsePastedCode(std::string_view input);

inline constexpr std::string_view kClientKeyPrefix = "cnp_live_";
// "cnp_live_" + base64url of 32 random bytes (43 characters).
std::string GenerateClientKey(const RandomSource& random = {});

}  // namespace cn::oauth
