#include "oauth/pkce.h"

#include <openssl/evp.h>

#include <array>

#include "common/base64.h"
#include "common/ids.h"

namespace cn::oauth {
namespace {

std::string RandomToken(const RandomSource& random) {
  std::array<std::uint8_t, 32> bytes{};
  if (random) {
    random(bytes);
  } else {
    RandomBytes(bytes);
  }
  return Base64Url(bytes);
}

}  // namespace

std::string Base64Url(std::span<const std::uint8_t> bytes) {
  return Base64Encode(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()),
                      Base64Alphabet::kUrlNoPad);
}

std::string S256Challenge(std::string_view verifier) {
  std::array<std::uint8_t, 32> digest{};
  unsigned int len = 0;
  EVP_Digest(verifier.data(), verifier.size(), digest.data(), &len, EVP_sha256(), nullptr);
  return Base64Url(digest);
}

Pkce NewPkce(const RandomSource& random) {
  Pkce p;
  p.verifier = RandomToken(random);
  p.challenge = S256Challenge(p.verifier);
  return p;
}

std::string NewState(const RandomSource& random) { return RandomToken(random); }

std::string FormEncode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '*') {
      out += ch;
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string AuthorizeUrl(std::string_view client_id, std::string_view challenge,
                         std::string_view state) {
  std::string url(kAuthorizeUrl);
  url += "?code=true&client_id=" + FormEncode(client_id) +
         "&response_type=code&redirect_uri=" + FormEncode(kRedirectUri) +
         "&scope=" + FormEncode(kLoginScopes) + "&code_challenge=" + FormEncode(challenge) +
         "&code_challenge_method=S256&state=" + FormEncode(state);
  return url;
}

std::optional<PastedCode> ParsePastedCode(std::string_view input) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!input.empty() && is_space(input.front())) input.remove_prefix(1);
  while (!input.empty() && is_space(input.back())) input.remove_suffix(1);
  PastedCode out;
  const std::size_t hash = input.find('#');
  out.code = std::string(input.substr(0, hash));
  if (hash != std::string_view::npos) out.state = std::string(input.substr(hash + 1));
  if (out.code.empty()) return std::nullopt;
  return out;
}

std::string GenerateClientKey(const RandomSource& random) {
  return std::string(kClientKeyPrefix) + RandomToken(random);
}

}  // namespace cn::oauth
