#include "storage/postgres/pg_codec.h"

#include <boost/json.hpp>
#include <charconv>
#include <system_error>
#include <utility>
#include <vector>

#include "common/header.h"
#include "common/utf8.h"

namespace cn::storage::pg {
namespace {

void AppendField(std::string* out, std::string_view v) {
  *out += std::to_string(v.size());
  out->push_back(':');
  out->append(v);
}

bool ReadField(std::string_view* in, std::string* out) {
  const std::size_t colon = in->find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  std::size_t len = 0;
  auto [ptr, ec] = std::from_chars(in->data(), in->data() + colon, len);
  if (ec != std::errc() || ptr != in->data() + colon || in->size() - colon - 1 < len) return false;
  out->assign(in->substr(colon + 1, len));
  in->remove_prefix(colon + 1 + len);
  return true;
}

boost::json::parse_options Lenient() {
  boost::json::parse_options o;
  o.max_depth = 100000;
  return o;
}

}  // namespace

std::string SanitizeUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = Utf8SequenceLength(s, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      if (s[i] != '\0') out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

bool JsonbCanHold(std::string_view json) {
  if (json.find("\\u0000") != std::string_view::npos) return false;
  if (json.find('\0') != std::string_view::npos) return false;
  boost::json::error_code ec;
  boost::json::storage_ptr sp =
      boost::json::make_shared_resource<boost::json::monotonic_resource>();
  (void)boost::json::parse(json, ec, sp, Lenient());
  return !ec;  // Boost.JSON rejects invalid UTF-8 by default, as JSONB does
}

std::string JsonbOrEmpty(std::string_view json) {
  if (json.empty() || JsonbCanHold(json)) return std::string(json);
  std::string sanitized = SanitizeUtf8(json);
  return JsonbCanHold(sanitized) ? sanitized : std::string();
}

std::string EncodeHeaderList(const Headers& headers) {
  std::string out;
  for (const Header& h : headers) {
    AppendField(&out, h.name);
    AppendField(&out, h.value);
  }
  return out;
}

bool DecodeHeaderList(std::string_view bytes, Headers* out) {
  out->clear();
  while (!bytes.empty()) {
    Header h;
    if (!ReadField(&bytes, &h.name) || !ReadField(&bytes, &h.value)) return false;
    out->push_back(std::move(h));
  }
  return true;
}

std::string HeadersJsonObject(const Headers& headers) {
  if (headers.empty()) return {};
  const auto merged = MergeRepeatedHeaders(headers);
  boost::json::object obj;
  for (auto& [name, value] : merged) {
    obj[SanitizeUtf8(name)] = SanitizeUtf8(value);
  }
  return boost::json::serialize(obj);
}

bool HeadersFromJsonObject(std::string_view json, Headers* out) {
  out->clear();
  if (json.empty()) return true;
  boost::json::error_code ec;
  boost::json::value v = boost::json::parse(json, ec, {}, Lenient());
  if (ec || !v.is_object()) return false;
  for (const auto& kv : v.get_object()) {
    Header h{std::string(kv.key()), ""};
    if (kv.value().is_string()) {
      h.value = std::string(kv.value().get_string());
    } else {
      h.value = boost::json::serialize(kv.value());
    }
    out->push_back(std::move(h));
  }
  return true;
}

}  // namespace cn::storage::pg
