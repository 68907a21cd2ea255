// ASCII text helpers for protocol tokens (header names, env values). HTTP header names and the
// configuration vocabulary are ASCII, so no locale is consulted. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace cn {

constexpr char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

inline std::string AsciiToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = AsciiLower(c);
  return out;
}

constexpr bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

constexpr bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && EqualsIgnoreCase(s.substr(0, prefix.size()), prefix);
}

// `needle` must be lower-case.
inline bool ContainsIgnoreCase(std::string_view haystack, std::string_view needle) {
  return AsciiToLower(haystack).find(needle) != std::string::npos;
}

constexpr bool IsHttpSpace(char c) { return c == ' ' || c == '\t'; }

constexpr std::string_view TrimHttpSpace(std::string_view s) {
  while (!s.empty() && IsHttpSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsHttpSpace(s.back())) s.remove_suffix(1);
  return s;
}

// Calls fn(token) for every non-empty, space-trimmed element of a comma-separated header list.
template <typename Fn>
void ForEachListElement(std::string_view list, Fn&& fn) {
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    const std::string_view item = TrimHttpSpace(list.substr(0, comma));
    if (!item.empty()) fn(item);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

}  // namespace cn
