// KeyHasher: a keyed hash of the credential a client presented in passthrough mode (its own
// `x-api-key` or `Authorization: Bearer` token), stored as api_key_hash so usage can be grouped
// per key (GET /api/keys, the `apiKeyHash` filter; docs/api.md) without storing any key.
//
// HMAC-SHA-256 with a per-installation secret (API_KEY_HASH_SECRET, or a random one kept in
// DATA_DIR/key-hash.secret), truncated to 40 hex digits (160 bits; the original's column is
// VARCHAR(50)). Without the secret a hash cannot be tested against guessed keys.
//
// Thread-safety: Hash() is const and may be called from any thread.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "common/header.h"
#include "common/status.h"

namespace cn::proxy {

class KeyHasher {
 public:
  explicit KeyHasher(std::string secret) : secret_(std::move(secret)) {}
  // 40 lowercase hex digits.
  std::string Hash(std::string_view credential) const;

 private:
  std::string secret_;
};

// The credential the client presented: x-api-key, else the token of Authorization: Bearer;
// nullopt when neither (or empty).
std::optional<std::string_view> PresentedCredential(const Headers& client_headers);

// The installation's secret: `configured` when non-empty, else the contents of `file`, created
// with 32 random bytes (hex, mode 0600) when missing. Errors name the file, never the secret.
StatusOr<std::string> LoadOrCreateKeyHashSecret(const std::string& configured,
                                                const std::filesystem::path& file);

}  // namespace cn::proxy
