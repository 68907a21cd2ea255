#include "anthropic/message.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <limits>

namespace cn::anthropic {

std::optional<boost::json::value> ParseJson(std::string_view text, bool lenient_utf8,
                                            boost::json::storage_ptr storage) {
  boost::json::parse_options options;
  options.max_depth = 1024;
  options.allow_invalid_utf8 = lenient_utf8;
  boost::json::error_code ec;
  boost::json::value v = boost::json::parse(text, ec, std::move(storage), options);
  if (ec) return std::nullopt;
  return v;
}

std::optional<std::int64_t> AsInt(const boost::json::value& v) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64()) {
    if (v.get_uint64() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return std::nullopt;
    }
    return static_cast<std::int64_t>(v.get_uint64());
  }
  if (v.is_double()) {
    const double d = v.get_double();
    // 2^63 is exactly representable; anything at or beyond it does not fit.
    if (d >= -9.2233720368547758e18 && d < 9.2233720368547758e18 &&
        d == static_cast<double>(static_cast<std::int64_t>(d))) {
      return static_cast<std::int64_t>(d);
    }
  }
  return std::nullopt;
}

std::string_view StringField(const boost::json::object& obj, std::string_view key) {
  const boost::json::value* v = obj.if_contains(key);
  if (v == nullptr || !v->is_string()) return {};
  return v->get_string();
}

void MergeUsage(const boost::json::object& usage, TokenUsage* into) {
  auto take = [&usage](std::string_view key, std::int64_t* field) {
    if (const boost::json::value* v = usage.if_contains(key)) {
      if (auto n = AsInt(*v)) *field = *n;
    }
  };
  take("input_tokens", &into->input_tokens);
  take("output_tokens", &into->output_tokens);
  take("cache_creation_input_tokens", &into->cache_creation_input_tokens);
  take("cache_read_input_tokens", &into->cache_read_input_tokens);
}

namespace {

bool IsToolUse(const boost::json::value& block) {
  const boost::json::object* obj = block.if_object();
  return obj != nullptr && StringField(*obj, "type") == "tool_use";
}

}  // namespace

int CountToolUses(const boost::json::array& content) {
  int n = 0;
  for (const boost::json::value& block : content) n += IsToolUse(block) ? 1 : 0;
  return n;
}

std::string TaskInvocationsJson(const boost::json::array& content) {
  boost::json::array tasks;
  for (const boost::json::value& block : content) {
    if (!IsToolUse(block)) continue;
    const boost::json::object& obj = block.get_object();
    if (StringField(obj, "name") != "Task") continue;
    auto field_or_null = [&obj](std::string_view key) {
      const boost::json::value* v = obj.if_contains(key);
      return v != nullptr ? *v : boost::json::value(nullptr);
    };
    boost::json::object task;
    task["id"] = field_or_null("id");
    task["name"] = "Task";
    task["input"] = field_or_null("input");
    tasks.push_back(std::move(task));
  }
  if (tasks.empty()) return {};
  return boost::json::serialize(tasks);
}

}  // namespace cn::anthropic
