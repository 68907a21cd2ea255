#include "common/base64.h"

#include <array>
#include <cstdint>

namespace cn {
namespace {

constexpr char kStandard[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kUrl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::uint32_t Byte(std::string_view s, std::size_t i) {
  return static_cast<unsigned char>(s[i]);  // never sign-extended, whatever char's signedness
}

}  // namespace

std::string Base64Encode(std::string_view in, Base64Alphabet alphabet) {
  const char* a = alphabet == Base64Alphabet::kStandard ? kStandard : kUrl;
  const bool pad = alphabet == Base64Alphabet::kStandard;
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const std::uint32_t n = (Byte(in, i) << 16) | (Byte(in, i + 1) << 8) | Byte(in, i + 2);
    out += a[(n >> 18) & 63];
    out += a[(n >> 12) & 63];
    out += a[(n >> 6) & 63];
    out += a[n & 63];
  }
  const std::size_t rest = in.size() - i;
  if (rest > 0) {
    std::uint32_t n = Byte(in, i) << 16;
    if (rest == 2) n |= Byte(in, i + 1) << 8;
    out += a[(n >> 18) & 63];
    out += a[(n >> 12) & 63];
    if (rest == 2) {
      out += a[(n >> 6) & 63];
    } else if (pad) {
      out += '=';
    }
    if (pad) out += '=';
  }
  return out;
}

bool Base64Decode(std::string_view in, std::string* out) {
  static constexpr std::array<std::int8_t, 256> kValues = [] {
    std::array<std::int8_t, 256> v{};
    v.fill(-1);
    for (int i = 0; i < 64; ++i)
      v[static_cast<unsigned char>(kStandard[i])] = static_cast<std::int8_t>(i);
    return v;
  }();
  if (in.size() % 4 != 0) return false;
  out->clear();
  out->reserve(in.size() / 4 * 3);
  for (std::size_t i = 0; i < in.size(); i += 4) {
    const bool last = i + 4 == in.size();
    const int pad = last ? (in[i + 3] == '=') + (in[i + 2] == '=') : 0;
    if (pad == 1 && in[i + 2] == '=') return false;  // "x=y=" is not padding
    std::uint32_t n = 0;
    for (int k = 0; k < 4 - pad; ++k) {
      const std::int8_t d = kValues[static_cast<unsigned char>(in[i + k])];
      if (d < 0) return false;
      n |= static_cast<std::uint32_t>(d) << (18 - 6 * k);
    }
    out->push_back(static_cast<char>((n >> 16) & 0xFF));
    if (pad < 2) out->push_back(static_cast<char>((n >> 8) & 0xFF));
    if (pad < 1) out->push_back(static_cast<char>(n & 0xFF));
  }
  return true;
}

}  // namespace cn
