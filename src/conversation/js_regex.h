// JsRegex: a PCRE2 pattern used with JavaScript String#replace(/re/g, literal) semantics, and the
// building blocks that translate the ECMAScript constructs our patterns use (hashing.cc:
// system-reminder stripping, the stable system prompt) into PCRE2 syntax that means exactly the
// same thing:
//   JS `.`            -> kJsDot         (any code point except \n \r U+2028 U+2029)
//   JS `\s`           -> kJsSpace       (ECMAScript WhiteSpace + LineTerminator; PCRE2's \s
//   differs) JS `^` with /m    -> kJsLineStart   (start, or after a line terminator, also at the
//   very end) JS `$` with /m    -> kJsLineEnd     (end, or before a line terminator) JS `$` without
//   /m -> \z             (PCRE2's plain `$` would also match before a final \n) JS /i on ASCII ->
//   AsciiCaseless  (PCRE2 UTF caseless also folds U+017F to "s"; JS does not)
// Patterns are compiled in UTF mode without UCP, so no PCRE2 default decides a JS meaning.
//
// Thread-safety: a compiled JsRegex is immutable and may be used from any number of threads at
// once (match data is allocated per call).
#pragma once

#include <string>
#include <string_view>

namespace cn::conversation {

inline constexpr std::string_view kJsDot = "[^\\n\\r\\x{2028}\\x{2029}]";
inline constexpr std::string_view kJsSpace =
    "[\\t\\n\\x{0B}\\f\\r \\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}"
    "\\x{3000}\\x{FEFF}]";
inline constexpr std::string_view kJsLineStart = "(?<![^\\n\\r\\x{2028}\\x{2029}])";
inline constexpr std::string_view kJsLineEnd = "(?![^\\n\\r\\x{2028}\\x{2029}])";

// "[aA][bB]-" for "ab-": case-insensitive ASCII letters, other characters literal (callers pass
// only characters that need no escaping).
std::string AsciiCaseless(std::string_view literal);

class JsRegex {
 public:
  // Aborts on a pattern that does not compile: patterns are compile-time constants of this layer.
  explicit JsRegex(const std::string& pcre2_pattern);
  ~JsRegex();
  JsRegex(const JsRegex&) = delete;
  JsRegex& operator=(const JsRegex&) = delete;

  // subject.replace(/re/g, replacement) with a literal replacement. Subjects that are not valid
  // UTF-8 (never the case for strings Boost.JSON parsed) are returned unchanged.
  std::string ReplaceAll(std::string_view subject, std::string_view replacement) const;

 private:
  void* code_;  // pcre2_code_8*, kept opaque so PCRE2's header stays out of this one
};

}  // namespace cn::conversation
