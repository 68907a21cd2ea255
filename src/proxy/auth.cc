#include "proxy/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>

#include "common/ascii.h"

namespace cn::proxy {
namespace {

using Kind = CredentialStore::Lookup::Kind;

AuthPlan Reject(int status, std::string_view type, std::string message) {
  AuthPlan plan;
  plan.reject = true;
  plan.status = status;
  plan.error_type = std::string(type);
  plan.message = std::move(message);
  return plan;
}

AuthPlan RejectClient(std::string message) {
  AuthPlan plan = Reject(401, "authentication_error", std::move(message));
  plan.extra_response_headers.push_back({"WWW-Authenticate", std::string(kAuthRealmHeader)});
  return plan;
}

// Builds the plan that injects the credential of `cred` in place of the client's own.
AuthPlan InjectFrom(const Credential& cred, const std::string& file_name, std::int64_t now_ms) {
  AuthPlan plan;
  if (cred.type == Credential::Type::kApiKey) {
    if (cred.api_key.empty()) {
      return Reject(401, "authentication_error",
                    "Credential file '" + file_name + "' has no api_key to send upstream");
    }
    plan.inject = AuthPlan::Inject::kApiKey;
    plan.secret = cred.api_key;
  } else {
    if (cred.oauth.access_token.empty()) {
      return Reject(401, "authentication_error",
                    "Credential file '" + file_name +
                        "' has no OAuth access token; run the OAuth login for this host again");
    }
    // expires_at_ms == 0: the file records no expiry, so the token is used until upstream refuses
    // it.
    if (cred.oauth.expires_at_ms != 0 && cred.oauth.expires_at_ms <= now_ms) {
      return Reject(401, "authentication_error",
                    "The OAuth access token in credential file '" + file_name +
                        "' has expired; run: claude-nexus oauth refresh $CREDENTIALS_DIR/" +
                        file_name + " (or claude-nexus oauth login $CREDENTIALS_DIR/" + file_name +
                        " if the login has expired)");
    }
    plan.inject = AuthPlan::Inject::kBearer;
    plan.secret = cred.oauth.access_token;
    plan.add_oauth_beta = true;
  }
  if (!cred.account_id.empty()) plan.account_id = cred.account_id;
  return plan;
}

using Digest = std::array<unsigned char, 32>;

Digest Sha256(std::string_view data) {
  Digest digest{};
  unsigned int len = 0;
  // EVP_Digest with SHA-256 cannot fail for in-memory input short of allocation failure; a
  // zeroed digest then still compares unequal to a real one with overwhelming probability.
  EVP_Digest(data.data(), data.size(), digest.data(), &len, EVP_sha256(), nullptr);
  return digest;
}

}  // namespace

const Header* FindHeader(const Headers& headers, std::string_view name) {
  for (const Header& h : headers) {
    if (EqualsIgnoreCase(h.name, name)) return &h;
  }
  return nullptr;
}

std::optional<std::string_view> BearerToken(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer";
  if (!StartsWithIgnoreCase(authorization, kScheme)) return std::nullopt;
  std::string_view rest = authorization.substr(kScheme.size());
  if (rest.empty() || !IsHttpSpace(rest.front())) return std::nullopt;
  rest = TrimHttpSpace(rest);
  if (rest.empty()) return std::nullopt;
  return rest;
}

bool ClientKeyMatches(std::string_view presented, std::string_view configured) {
  if (configured.empty()) return false;
  const Digest a = Sha256(presented);
  const Digest b = Sha256(configured);
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::optional<AuthPlan> EarlyRejection(const Headers& client_headers,
                                       const CredentialStore::Lookup& cred,
                                       bool client_auth_enabled) {
  if (cred.kind == Kind::kUnsafeHost) {
    return Reject(400, "invalid_request_error",
                  "Invalid Host header: only letters, digits, '.', '-' and ':' are allowed");
  }

  if (client_auth_enabled) {
    const Header* authorization = FindHeader(client_headers, "authorization");
    if (authorization == nullptr) {
      return RejectClient("Missing Authorization header. Please provide a Bearer token.");
    }
    const std::optional<std::string_view> token = BearerToken(authorization->value);
    if (!token)
      return RejectClient("Invalid Authorization header format. Expected: Bearer <token>");
    if (cred.kind == Kind::kMissing) {
      return RejectClient("No client API key is configured for this host: credential file '" +
                          cred.file_name +
                          "' does not exist. Add one with a client_api_key, or disable "
                          "ENABLE_CLIENT_AUTH.");
    }
    if (cred.kind == Kind::kInvalid) {
      return RejectClient("The credential file for this host is invalid: " + cred.error);
    }
    if (cred.credential->client_api_key.empty()) {
      return RejectClient("No client API key is configured for this host: add client_api_key to '" +
                          cred.file_name + "', or disable ENABLE_CLIENT_AUTH.");
    }
    if (!ClientKeyMatches(*token, cred.credential->client_api_key)) {
      return RejectClient("Invalid client API key. Please check your Bearer token.");
    }
    return std::nullopt;
  }

  if (cred.kind == Kind::kInvalid) {
    // The operator meant to inject a credential; passing the client's through would hide that.
    return Reject(401, "authentication_error",
                  "The credential file for this host is invalid: " + cred.error);
  }
  return std::nullopt;
}

AuthPlan DecideAuth(const Headers& client_headers, const CredentialStore::Lookup& cred,
                    bool client_auth_enabled, std::int64_t now_ms) {
  if (std::optional<AuthPlan> rejection =
          EarlyRejection(client_headers, cred, client_auth_enabled)) {
    return std::move(*rejection);
  }
  if (cred.kind == Kind::kFound) return InjectFrom(*cred.credential, cred.file_name, now_ms);
  return AuthPlan{};  // passthrough (no credential file for this Host)
}

}  // namespace cn::proxy
