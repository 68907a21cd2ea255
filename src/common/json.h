// JSON string literals for hand-written JSON (log lines, /health, /token-stats, stored header
// objects). One escaping rule everywhere: `"` and `\` backslash-escaped, \n \r \t short-escaped,
// other control bytes as \u00XX; every other byte (UTF-8 included) is copied unchanged, so the
// output is valid JSON whenever the input is valid UTF-8. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace cn {

// Appends `s` escaped, without surrounding quotes.
void AppendJsonEscaped(std::string& out, std::string_view s);

// Appends `s` as a quoted JSON string literal.
inline void AppendJsonString(std::string& out, std::string_view s) {
  out.push_back('"');
  AppendJsonEscaped(out, s);
  out.push_back('"');
}

// `s` escaped, without quotes.
inline std::string JsonEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  AppendJsonEscaped(out, s);
  return out;
}

}  // namespace cn
