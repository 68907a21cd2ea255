// Base64 (RFC 4648): the standard alphabet with padding, and base64url without padding.
#pragma once

#include <string>
#include <string_view>

namespace cn {

enum class Base64Alphabet {
  kStandard,  // A-Z a-z 0-9 + /, padded with '=' (RFC 4648 §4)
  kUrlNoPad,  // A-Z a-z 0-9 - _, no padding (RFC 4648 §5; PKCE, JWT)
};

std::string Base64Encode(std::string_view bytes,
                         Base64Alphabet alphabet = Base64Alphabet::kStandard);

// Strict decoder of the standard padded form: length a multiple of 4, no whitespace, padding
// only at the end. Returns false (and leaves `out` unspecified) on anything else.
bool Base64Decode(std::string_view text, std::string* out);

}  // namespace cn
