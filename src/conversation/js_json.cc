#include "conversation/js_json.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <system_error>

namespace cn::conversation {
namespace {

// Decodes one UTF-8 sequence starting at s[i]. Malformed input yields U+FFFD over one byte, which
// is never whitespace, so trimming stops there rather than misreading the text.
char32_t DecodeUtf8(std::string_view s, std::size_t i, std::size_t* len) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  std::size_t n = 0;
  char32_t cp = 0;
  if (b0 < 0x80) {
    *len = 1;
    return b0;
  } else if ((b0 & 0xE0) == 0xC0) {
    n = 2;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    n = 3;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    n = 4;
    cp = b0 & 0x07;
  } else {
    *len = 1;
    return 0xFFFD;
  }
  if (i + n > s.size()) {
    *len = 1;
    return 0xFFFD;
  }
  for (std::size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) {
      *len = 1;
      return 0xFFFD;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  *len = n;
  return cp;
}

void AppendEscapedString(std::string_view s, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t run_start = 0;
  auto flush = [&](std::size_t end) { out.append(s.data() + run_start, end - run_start); };
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    const char* short_form = nullptr;
    switch (c) {
      case '"':
        short_form = "\\\"";
        break;
      case '\\':
        short_form = "\\\\";
        break;
      case '\b':
        short_form = "\\b";
        break;
      case '\f':
        short_form = "\\f";
        break;
      case '\n':
        short_form = "\\n";
        break;
      case '\r':
        short_form = "\\r";
        break;
      case '\t':
        short_form = "\\t";
        break;
      default:
        break;
    }
    if (short_form != nullptr) {
      flush(i);
      out.append(short_form);
      run_start = i + 1;
    } else if (c < 0x20) {
      flush(i);
      out.append("\\u00");
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
      run_start = i + 1;
    } else if (c == 0xED && i + 2 < s.size() &&
               (static_cast<unsigned char>(s[i + 1]) & 0xE0) == 0xA0) {
      // WTF-8 surrogate U+D800..U+DFFF: JS escapes lone surrogates.
      const char32_t cp = 0xD000 | ((static_cast<unsigned char>(s[i + 1]) & 0x3F) << 6) |
                          (static_cast<unsigned char>(s[i + 2]) & 0x3F);
      flush(i);
      out.append("\\u");
      for (int shift = 12; shift >= 0; shift -= 4) out.push_back(kHex[(cp >> shift) & 0xF]);
      i += 2;
      run_start = i + 1;
    }
  }
  flush(s.size());
  out.push_back('"');
}

}  // namespace

std::string JsNumberToString(double d) {
  if (std::isnan(d)) return "NaN";
  if (d == 0) return "0";  // also -0
  if (std::isinf(d)) return d < 0 ? "-Infinity" : "Infinity";
  std::string out;
  if (d < 0) {
    out.push_back('-');
    d = -d;
  }
  // Shortest round-trip digits, as ECMAScript requires ("k as small as possible").
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  const std::string_view sci(buf, static_cast<std::size_t>(res.ptr - buf));
  const std::size_t e_pos = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e_pos)) {
    if (c != '.') digits.push_back(c);
  }
  const int exp10 = std::atoi(std::string(sci.substr(e_pos + 1)).c_str());
  const int k = static_cast<int>(digits.size());
  const int n = exp10 + 1;  // position of the decimal point relative to the digits
  if (k <= n && n <= 21) {
    out += digits;
    out.append(static_cast<std::size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out.append(digits, 0, static_cast<std::size_t>(n));
    out.push_back('.');
    out.append(digits, static_cast<std::size_t>(n));
  } else if (-6 < n && n <= 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-n), '0');
    out += digits;
  } else {
    out.push_back(digits[0]);
    if (k > 1) {
      out.push_back('.');
      out.append(digits, 1);
    }
    out.push_back('e');
    out.push_back(n - 1 < 0 ? '-' : '+');
    out += std::to_string(std::abs(n - 1));
  }
  return out;
}

void JsStringifyTo(const boost::json::value& v, std::string& out) {
  switch (v.kind()) {
    case boost::json::kind::null:
      out += "null";
      return;
    case boost::json::kind::bool_:
      out += v.get_bool() ? "true" : "false";
      return;
    case boost::json::kind::int64:
      out += JsNumberToString(static_cast<double>(v.get_int64()));
      return;
    case boost::json::kind::uint64:
      out += JsNumberToString(static_cast<double>(v.get_uint64()));
      return;
    case boost::json::kind::double_: {
      const double d = v.get_double();
      out += std::isfinite(d) ? JsNumberToString(d) : "null";
      return;
    }
    case boost::json::kind::string:
      AppendEscapedString(v.get_string(), out);
      return;
    case boost::json::kind::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& e : v.get_array()) {
        if (!first) out.push_back(',');
        first = false;
        JsStringifyTo(e, out);
      }
      out.push_back(']');
      return;
    }
    case boost::json::kind::object: {
      out.push_back('{');
      bool first = true;
      for (const auto& kv : v.get_object()) {
        if (!first) out.push_back(',');
        first = false;
        AppendEscapedString(kv.key(), out);
        out.push_back(':');
        JsStringifyTo(kv.value(), out);
      }
      out.push_back('}');
      return;
    }
  }
}

std::string JsStringify(const boost::json::value& v) {
  std::string out;
  JsStringifyTo(v, out);
  return out;
}

std::string JsToString(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::string:
      return std::string(v.get_string());
    case boost::json::kind::array: {
      std::string out;
      bool first = true;
      for (const auto& e : v.get_array()) {
        if (!first) out.push_back(',');
        first = false;
        if (!e.is_null()) out += JsToString(e);
      }
      return out;
    }
    case boost::json::kind::object:
      return "[object Object]";
    case boost::json::kind::double_:
      return JsNumberToString(v.get_double());
    default:
      return JsStringify(v);  // null, booleans, integers print the same either way
  }
}

const boost::json::value* JsProperty(const boost::json::value& v, std::string_view key) {
  const boost::json::object* o = v.if_object();
  return o == nullptr ? nullptr : o->if_contains(key);
}

bool IsJsWhitespace(char32_t c) {
  switch (c) {
    case 0x09:
    case 0x0A:
    case 0x0B:
    case 0x0C:
    case 0x0D:
    case 0x20:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
    case 0xFEFF:
      return true;
    default:
      return c >= 0x2000 && c <= 0x200A;
  }
}

std::string_view JsTrim(std::string_view s) {
  std::size_t begin = 0;
  while (begin < s.size()) {
    std::size_t len = 0;
    if (!IsJsWhitespace(DecodeUtf8(s, begin, &len))) break;
    begin += len;
  }
  std::size_t end = s.size();
  while (end > begin) {
    std::size_t start = end - 1;
    while (start > begin && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80 &&
           end - start < 4) {
      --start;
    }
    std::size_t len = 0;
    const char32_t cp = DecodeUtf8(s, start, &len);
    if (start + len != end || !IsJsWhitespace(cp)) break;
    end = start;
  }
  return s.substr(begin, end - begin);
}

std::string CrLfToLf(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  // Copies the runs between "\r\n" pairs whole (this runs over every message text the writer
  // hashes); a lone '\r' stays.
  std::size_t run = 0;
  for (std::size_t cr = s.find('\r'); cr != std::string_view::npos; cr = s.find('\r', cr + 1)) {
    if (cr + 1 < s.size() && s[cr + 1] == '\n') {
      out.append(s.data() + run, cr - run);
      run = cr + 1;
    }
  }
  out.append(s.data() + run, s.size() - run);
  return out;
}

}  // namespace cn::conversation
