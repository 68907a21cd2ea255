#include "proxy/key_hash.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

#include "proxy/auth.h"

namespace cn::proxy {
namespace fs = std::filesystem;

namespace {

std::string Hex(const unsigned char* p, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[p[i] >> 4]);
    out.push_back(kDigits[p[i] & 0xf]);
  }
  return out;
}

}  // namespace

std::string KeyHasher::Hash(std::string_view credential) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
       reinterpret_cast<const unsigned char*>(credential.data()), credential.size(), mac, &len);
  return Hex(mac, std::min<unsigned int>(len, 20));
}

std::optional<std::string_view> PresentedCredential(const Headers& client_headers) {
  if (const Header* h = FindHeader(client_headers, "x-api-key"); h && !h->value.empty()) {
    return std::string_view(h->value);
  }
  if (const Header* h = FindHeader(client_headers, "authorization")) return BearerToken(h->value);
  return std::nullopt;
}

namespace {

StatusOr<std::string> ReadSecret(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string secret = ss.str();
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  if (!in || secret.size() < 32) {
    return Status::InvalidArgument("key hash secret file '" + file.string() +
                                   "' is unreadable or shorter than 32 characters");
  }
  return secret;
}

}  // namespace

StatusOr<std::string> LoadOrCreateKeyHashSecret(const std::string& configured,
                                                const fs::path& file) {
  if (!configured.empty()) return configured;
  std::error_code ec;
  if (fs::exists(file, ec)) return ReadSecret(file);
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1) {
    return Status::Internal("no randomness for the key hash secret");
  }
  const std::string secret = Hex(raw, sizeof raw);
  fs::create_directories(file.parent_path(), ec);
  const fs::path tmp = file.string() + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << secret << "\n";
    if (!out) return Status::IoError("cannot write key hash secret file '" + tmp.string() + "'");
  }
  ::chmod(tmp.c_str(), 0600);
  // link() fails when the file exists: a process that started at the same moment won, use its.
  const int rc = ::link(tmp.c_str(), file.c_str());
  const int err = errno;
  fs::remove(tmp, ec);
  if (rc == 0) return secret;
  if (err == EEXIST) return ReadSecret(file);
  return Status::IoError("cannot create '" + file.string() + "': " + std::strerror(err));
}

}  // namespace cn::proxy
