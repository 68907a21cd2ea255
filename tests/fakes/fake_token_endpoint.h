// FakeTokenEndpoint: an in-process fake of Anthropic's OAuth token endpoint
// (POST /v1/oauth/token, docs/oauth.md) for the OAuth tests.
//
// It behaves like the real one where it matters for correctness:
//   - refresh_token grant: a known refresh token is exchanged for "at-<n>" / "rt-<n>" and is then
//     spent (rotation) — a second use answers 400 {"error":"invalid_grant"}. So two processes that
//     both refresh with the same token show up as an invalid_grant.
//   - authorization_code grant: a registered code is accepted once, only with the code_verifier
//     whose S256 matches the registered challenge; the answer includes "account".
//   - knobs: a delay before every answer, a forced failure (any status and body), expires_in.
// It records every request. Plain HTTP on 127.0.0.1, or TLS with the test certificate
// (CN_TEST_CERTS_DIR, valid for "localhost"), one thread per connection, Connection: close.
//
// Thread-safety: every public method may be called from any thread at any time. The destructor
// stops accepting and joins the connection threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cn::testing {

struct FakeTokenEndpointOptions {
  bool tls = false;
  std::int64_t expires_in_s = 3600;
};

struct TokenRequest {
  std::string method, target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string grant_type;     // from the JSON body
  std::string refresh_token;  // from the JSON body (refresh grant)
  std::chrono::steady_clock::time_point received_at;
  std::string Header(std::string_view name) const;  // case-insensitive, "" when absent
};

class FakeTokenEndpoint {
 public:
  explicit FakeTokenEndpoint(FakeTokenEndpointOptions options = {});
  ~FakeTokenEndpoint();
  FakeTokenEndpoint(const FakeTokenEndpoint&) = delete;
  FakeTokenEndpoint& operator=(const FakeTokenEndpoint&) = delete;

  std::uint16_t port() const;
  // http://127.0.0.1:PORT/v1/oauth/token, or https://localhost:PORT/v1/oauth/token with TLS.
  std::string url() const;

  void AddRefreshToken(const std::string& refresh_token);
  void AddAuthorizationCode(const std::string& code, const std::string& code_challenge);
  void SetDelay(std::chrono::milliseconds delay);
  void SetExpiresIn(std::int64_t seconds);
  // Every request is answered with this until FailWith(0, "").
  void FailWith(int status, std::string body);

  std::vector<TokenRequest> requests() const;
  std::size_t request_count() const;
  std::size_t refresh_grants() const;  // refresh requests that issued tokens
  std::size_t invalid_grants() const;  // answers with invalid_grant
  std::string last_access_token() const;
  bool WaitForRequests(std::size_t n, std::chrono::milliseconds timeout) const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace cn::testing
