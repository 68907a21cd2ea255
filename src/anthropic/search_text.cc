#include "anthropic/search_text.h"

#include <boost/json/array.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <optional>

#include "anthropic/message.h"
#include "common/utf8.h"

namespace cn::anthropic {
namespace {

// Text pieces joined by '\n', at most max_bytes in all, cut before the first character that does
// not fit; bytes that are not UTF-8, and NULs, are dropped (neither store could hold them as
// text, and they are no words).
class BoundedText {
 public:
  explicit BoundedText(std::size_t max_bytes) : max_(max_bytes) {}

  bool full() const { return full_; }

  void AddPiece(std::string_view piece) {
    if (full_ || piece.empty()) return;
    if (!out_.empty()) Append("\n");
    Append(piece);
  }

  std::string Take() && { return std::move(out_); }

 private:
  void Append(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
      const unsigned char c = static_cast<unsigned char>(s[i]);
      const std::size_t n = c < 0x80 ? 1 : Utf8SequenceLength(s, i);
      if (n == 0 || c == 0) {
        ++i;
        continue;
      }
      if (out_.size() + n > max_) {
        full_ = true;
        return;
      }
      out_.append(s.substr(i, n));
      i += n;
    }
  }

  std::size_t max_;
  std::string out_;
  bool full_ = false;
};

// Claude Code adds <system-reminder> text blocks to the user's turn (often 6 KB, before the
// user's own words): they are the client's, not the user's, and would fill the budget.
bool IsSystemReminder(std::string_view text) {
  constexpr std::string_view kSpace = " \t\n\r";
  const std::size_t begin = text.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return false;
  text = text.substr(begin, text.find_last_not_of(kSpace) - begin + 1);
  return text.starts_with("<system-reminder>") && text.ends_with("</system-reminder>");
}

// The text blocks of `blocks` (tool_result ones too, one level deep: a tool_result's content is a
// string or an array of text/image blocks).
void AddBlocks(const boost::json::array& blocks, bool tool_results, BoundedText& out) {
  for (const boost::json::value& block : blocks) {
    if (out.full()) return;
    const boost::json::object* obj = block.if_object();
    if (obj == nullptr) continue;
    const std::string_view type = StringField(*obj, "type");
    if (type == "text") {
      const std::string_view text = StringField(*obj, "text");
      if (!IsSystemReminder(text)) out.AddPiece(text);
    } else if (type == "tool_result" && tool_results) {
      const boost::json::value* content = obj->if_contains("content");
      if (content == nullptr) continue;
      if (const boost::json::string* s = content->if_string()) {
        out.AddPiece(*s);
      } else if (const boost::json::array* inner = content->if_array()) {
        AddBlocks(*inner, /*tool_results=*/false, out);
      }
    }
  }
}

const boost::json::array* MessagesOf(const boost::json::value* request_body) {
  const boost::json::object* request = request_body ? request_body->if_object() : nullptr;
  const boost::json::value* messages = request ? request->if_contains("messages") : nullptr;
  return messages ? messages->if_array() : nullptr;
}

}  // namespace

bool HasSearchText(std::string_view request_type, const boost::json::value* request_body) {
  return (request_type == "inference" || request_type == "query_evaluation") &&
         MessagesOf(request_body) != nullptr;
}

std::string UserSearchText(const boost::json::value& request_body, std::size_t max_bytes) {
  BoundedText out(max_bytes);
  const boost::json::array* messages = MessagesOf(&request_body);
  if (messages == nullptr) return {};
  for (auto it = messages->rbegin(); it != messages->rend(); ++it) {
    const boost::json::object* msg = it->if_object();
    if (msg == nullptr || StringField(*msg, "role") != "user") continue;
    if (const boost::json::value* content = msg->if_contains("content")) {
      if (const boost::json::string* s = content->if_string()) {
        out.AddPiece(*s);
      } else if (const boost::json::array* blocks = content->if_array()) {
        AddBlocks(*blocks, /*tool_results=*/true, out);
      }
    }
    break;
  }
  return std::move(out).Take();
}

std::string AssistantSearchText(const boost::json::object& message, std::size_t max_bytes) {
  BoundedText out(max_bytes);
  if (const boost::json::value* content = message.if_contains("content")) {
    if (const boost::json::array* blocks = content->if_array()) {
      AddBlocks(*blocks, /*tool_results=*/false, out);
    } else if (const boost::json::string* s = content->if_string()) {
      out.AddPiece(*s);
    }
  }
  return std::move(out).Take();
}

std::string SearchText(std::string_view request_type, const boost::json::value* request_body,
                       const boost::json::object* response_message) {
  if (!HasSearchText(request_type, request_body)) return {};
  std::string text = UserSearchText(*request_body);
  std::string assistant =
      response_message != nullptr ? AssistantSearchText(*response_message) : std::string();
  if (text.empty() && assistant.empty()) return {};
  text.push_back('\n');
  text += assistant;
  return text;
}

std::string SearchTextFromJson(std::string_view request_type, std::string_view request_body,
                               std::string_view response_json) {
  if (request_type != "inference" && request_type != "query_evaluation") return {};
  boost::json::monotonic_resource arena;
  const std::optional<boost::json::value> body =
      ParseJson(request_body, /*lenient_utf8=*/true, &arena);
  if (!body) return {};
  const std::optional<boost::json::value> response =
      response_json.empty() ? std::nullopt
                            : ParseJson(response_json, /*lenient_utf8=*/true, &arena);
  return SearchText(request_type, &*body, response ? response->if_object() : nullptr);
}

}  // namespace cn::anthropic
