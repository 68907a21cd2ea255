#include "conversation/js_regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

namespace cn::conversation {
namespace {

pcre2_code* Code(void* p) { return static_cast<pcre2_code*>(p); }

struct MatchDataDeleter {
  void operator()(pcre2_match_data* m) const { pcre2_match_data_free(m); }
};

std::size_t Utf8Length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  return 4;
}

}  // namespace

std::string AsciiCaseless(std::string_view literal) {
  std::string out;
  for (char c : literal) {
    const char lower = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if (lower >= 'a' && lower <= 'z') {
      out.push_back('[');
      out.push_back(lower);
      out.push_back(static_cast<char>(lower - 'a' + 'A'));
      out.push_back(']');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

JsRegex::JsRegex(const std::string& pcre2_pattern) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pcre2_pattern.data()),
                                   pcre2_pattern.size(), PCRE2_UTF, &error, &offset, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof message);
    std::fprintf(stderr, "conversation: bad built-in regex at %zu: %s\n",
                 static_cast<std::size_t>(offset), reinterpret_cast<const char*>(message));
    std::abort();
  }
  // JIT is an optimisation only; matching falls back to the interpreter where it is unavailable.
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
  code_ = code;
}

JsRegex::~JsRegex() { pcre2_code_free(Code(code_)); }

std::string JsRegex::ReplaceAll(std::string_view subject, std::string_view replacement) const {
  std::unique_ptr<pcre2_match_data, MatchDataDeleter> md(
      pcre2_match_data_create_from_pattern(Code(code_), nullptr));
  const auto* data = reinterpret_cast<PCRE2_SPTR>(subject.data());
  std::string out;
  std::size_t copied = 0;  // subject[0, copied) has been emitted
  std::size_t pos = 0;
  uint32_t options = 0;
  bool any = false;
  while (pos <= subject.size()) {
    int rc = pcre2_match(Code(code_), data, subject.size(), pos, options, md.get(), nullptr);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
      rc = pcre2_match(Code(code_), data, subject.size(), pos, options | PCRE2_NO_JIT, md.get(),
                       nullptr);
    }
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) return std::string(subject);  // invalid UTF-8 or resource limit: leave text as is
    // Later calls start inside the subject that was already checked.
    options = PCRE2_NO_UTF_CHECK;
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.get());
    const std::size_t start = ov[0];
    const std::size_t end = ov[1];
    if (!any) out.reserve(subject.size());
    any = true;
    out.append(subject.data() + copied, start - copied);
    out.append(replacement);
    copied = end;
    if (end == start) {
      // JS advances lastIndex past an empty match; the skipped character stays in the output.
      if (end >= subject.size()) break;
      pos = end + Utf8Length(static_cast<unsigned char>(subject[end]));
    } else {
      pos = end;
    }
  }
  if (!any) return std::string(subject);
  out.append(subject.data() + copied, subject.size() - copied);
  return out;
}

}  // namespace cn::conversation
