#include "anthropic/classify.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "anthropic/message.h"

namespace cn::anthropic {
namespace {

// The text of a message's `content`: the string itself, or its text blocks joined by '\n'.
std::string ContentText(const boost::json::value& content) {
  if (content.is_string()) return std::string(content.get_string());
  std::string text;
  if (const boost::json::array* blocks = content.if_array()) {
    bool first = true;
    for (const boost::json::value& block : *blocks) {
      const boost::json::object* obj = block.if_object();
      if (obj == nullptr || StringField(*obj, "type") != "text") continue;
      if (!first) text.push_back('\n');
      text.append(StringField(*obj, "text"));
      first = false;
    }
  }
  return text;
}

bool IsQuotaProbe(const boost::json::array& messages) {
  for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
    const boost::json::object* msg = it->if_object();
    if (msg == nullptr || StringField(*msg, "role") != "user") continue;
    const boost::json::value* content = msg->if_contains("content");
    if (content == nullptr) return false;
    const std::string joined = ContentText(*content);
    std::string_view text = joined;
    constexpr std::string_view kSpace = " \t\n\r\f\v";
    const std::size_t begin = text.find_first_not_of(kSpace);
    if (begin == std::string_view::npos) return false;
    text = text.substr(begin, text.find_last_not_of(kSpace) - begin + 1);
    constexpr std::string_view kQuota = "quota";
    if (text.size() != kQuota.size()) return false;
    for (std::size_t i = 0; i < text.size(); ++i) {
      const char c = text[i];
      if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) != kQuota[i]) return false;
    }
    return true;
  }
  return false;
}

}  // namespace

std::string ClassifyRequest(std::string_view method, std::string_view path,
                            const boost::json::value* body) {
  if (method != "POST") return "other";
  if (path == "/v1/messages/count_tokens") return "count_tokens";
  if (path != "/v1/messages") return "other";

  const boost::json::object* request = body != nullptr ? body->if_object() : nullptr;
  if (request == nullptr) return "query_evaluation";
  const boost::json::value* messages_value = request->if_contains("messages");
  const boost::json::array* messages =
      messages_value != nullptr ? messages_value->if_array() : nullptr;
  if (messages != nullptr && IsQuotaProbe(*messages)) return "quota";

  std::size_t system_count = 0;
  if (const boost::json::value* system = request->if_contains("system")) {
    if (system->is_string()) system_count = 1;
    if (const boost::json::array* blocks = system->if_array()) system_count = blocks->size();
  }
  if (messages != nullptr) {
    for (const boost::json::value& m : *messages) {
      const boost::json::object* msg = m.if_object();
      if (msg != nullptr && StringField(*msg, "role") == "system") ++system_count;
    }
  }
  return system_count >= 2 ? "inference" : "query_evaluation";
}

}  // namespace cn::anthropic
