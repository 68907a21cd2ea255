#include "common/ids.h"

#include <sys/random.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

namespace cn {

void RandomBytes(std::span<std::uint8_t> out) {
  std::size_t done = 0;
  while (done < out.size()) {
    ssize_t n = getrandom(out.data() + done, out.size() - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::abort();  // cannot happen on supported kernels; never hand out predictable ids
    }
    done += static_cast<std::size_t>(n);
  }
}

namespace {

// 16 random bytes from a thread-local pool: one getrandom call per 16 UUIDs.
void Random16(std::uint8_t* b) {
  thread_local std::array<std::uint8_t, 256> pool;
  thread_local std::size_t used = pool.size();
  if (used + 16 > pool.size()) {
    RandomBytes(pool);
    used = 0;
  }
  std::memcpy(b, pool.data() + used, 16);
  used += 16;
}

std::string Format(std::uint8_t* b, int version) {
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0F) | (version << 4));
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3F) | 0x80);  // RFC 9562 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  s.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
    s.push_back(kHex[b[i] >> 4]);
    s.push_back(kHex[b[i] & 0x0F]);
  }
  return s;
}

}  // namespace

std::string NewUuidV4() {
  std::uint8_t b[16];
  Random16(b);
  return Format(b, 4);
}

std::string NewUuidV7() {
  std::uint8_t b[16];
  Random16(b);
  const auto ms =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  for (int i = 0; i < 6; ++i) b[i] = static_cast<std::uint8_t>(ms >> (40 - 8 * i));  // big-endian
  return Format(b, 7);
}

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

}  // namespace cn
