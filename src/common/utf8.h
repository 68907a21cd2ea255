// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF — exactly
// what a conforming JSON parser accepts inside a string and what PostgreSQL accepts as text.
#pragma once

#include <cstddef>
#include <string_view>

namespace cn {

// Length of the valid UTF-8 sequence starting at s[i] (1 for an ASCII byte), or 0 if there is
// none. REQUIRES: i < s.size().
std::size_t Utf8SequenceLength(std::string_view s, std::size_t i);

bool IsValidUtf8(std::string_view s);

}  // namespace cn
