#include "anthropic/search_text.h"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <optional>

#include "anthropic/message.h"
#include "common/utf8.h"

namespace cn::anthropic {
namespace {

// Appends text pieces to `out`, joined by '\n', at most max_bytes from this writer, cut before the
// first character that does not fit; bytes that are not UTF-8, and NULs, are dropped (neither
// store could hold them as text, and they are no words). Runs of valid characters are copied at
// once: a byte-at-a-time append cost more than the rest of enrichment on a 2 KB prompt.
class BoundedText {
 public:
  BoundedText(std::string& out, std::size_t max_bytes) : out_(out), end_(out.size() + max_bytes) {}

  bool full() const { return full_; }

  void operator()(std::string_view piece) {
    if (full_ || piece.empty()) return;
    if (!first_) Append("\n");
    first_ = false;
    Append(piece);
  }

 private:
  void Append(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
      const std::size_t limit = i + std::min(s.size() - i, end_ - out_.size());
      std::size_t j = i;
      std::size_t n = 0;  // length of the character at j; 0 when it is not one (or a NUL)
      while (j < limit) {
        const unsigned char c = static_cast<unsigned char>(s[j]);
        n = c == 0 ? 0 : c < 0x80 ? 1 : Utf8SequenceLength(s, j);
        if (n == 0 || j + n > limit) break;
        j += n;
      }
      out_.append(s.substr(i, j - i));
      if (j == s.size()) return;
      if (j == limit || n != 0) {  // the next character does not fit
        full_ = true;
        return;
      }
      i = j + 1;  // drop the byte that starts no character
    }
  }

  std::string& out_;
  std::size_t end_;
  bool first_ = true;
  bool full_ = false;
};

// An upper bound of what a BoundedText of `max_bytes` takes from the same pieces, so the result
// is allocated once.
class SizeBound {
 public:
  explicit SizeBound(std::size_t max_bytes) : max_(max_bytes) {}
  bool full() const { return size_ >= max_; }
  void operator()(std::string_view piece) {
    if (piece.empty()) return;
    size_ = std::min(max_, size_ + (size_ > 0) + piece.size());
  }
  std::size_t size() const { return size_; }

 private:
  std::size_t max_;
  std::size_t size_ = 0;
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

// Hands `out` the text of the text blocks of `blocks` (and of tool_result blocks when
// `tool_results`, one level deep: a tool_result's content is a string or an array of text/image
// blocks).
template <typename Out>
void VisitBlocks(const boost::json::array& blocks, bool tool_results, Out& out) {
  for (const boost::json::value& block : blocks) {
    if (out.full()) return;
    const boost::json::object* obj = block.if_object();
    if (obj == nullptr) continue;
    const std::string_view type = StringField(*obj, "type");
    if (type == "text") {
      const std::string_view text = StringField(*obj, "text");
      if (!IsSystemReminder(text)) out(text);
    } else if (type == "tool_result" && tool_results) {
      const boost::json::value* content = obj->if_contains("content");
      if (content == nullptr) continue;
      if (const boost::json::string* s = content->if_string()) {
        out(*s);
      } else if (const boost::json::array* inner = content->if_array()) {
        VisitBlocks(*inner, /*tool_results=*/false, out);
      }
    }
  }
}

const boost::json::array* MessagesOf(const boost::json::value* request_body) {
  const boost::json::object* request = request_body ? request_body->if_object() : nullptr;
  const boost::json::value* messages = request ? request->if_contains("messages") : nullptr;
  return messages ? messages->if_array() : nullptr;
}

// The pieces of the last user message (UserSearchText).
template <typename Out>
void VisitUser(const boost::json::value& request_body, Out& out) {
  const boost::json::array* messages = MessagesOf(&request_body);
  if (messages == nullptr) return;
  for (auto it = messages->rbegin(); it != messages->rend(); ++it) {
    const boost::json::object* msg = it->if_object();
    if (msg == nullptr || StringField(*msg, "role") != "user") continue;
    if (const boost::json::value* content = msg->if_contains("content")) {
      if (const boost::json::string* s = content->if_string()) {
        out(*s);
      } else if (const boost::json::array* blocks = content->if_array()) {
        VisitBlocks(*blocks, /*tool_results=*/true, out);
      }
    }
    return;
  }
}

// The pieces of a response message (AssistantSearchText).
template <typename Out>
void VisitAssistant(const boost::json::object& message, Out& out) {
  if (const boost::json::value* content = message.if_contains("content")) {
    if (const boost::json::array* blocks = content->if_array()) {
      VisitBlocks(*blocks, /*tool_results=*/false, out);
    } else if (const boost::json::string* s = content->if_string()) {
      out(*s);
    }
  }
}

}  // namespace

bool HasSearchText(std::string_view request_type, const boost::json::value* request_body) {
  return (request_type == "inference" || request_type == "query_evaluation") &&
         MessagesOf(request_body) != nullptr;
}

std::string UserSearchText(const boost::json::value& request_body, std::size_t max_bytes) {
  SizeBound size(max_bytes);
  VisitUser(request_body, size);
  std::string text;
  text.reserve(size.size());
  BoundedText out(text, max_bytes);
  VisitUser(request_body, out);
  return text;
}

std::string AssistantSearchText(const boost::json::object& message, std::size_t max_bytes) {
  SizeBound size(max_bytes);
  VisitAssistant(message, size);
  std::string text;
  text.reserve(size.size());
  BoundedText out(text, max_bytes);
  VisitAssistant(message, out);
  return text;
}

std::string SearchText(std::string_view request_type, const boost::json::value* request_body,
                       const boost::json::object* response_message) {
  if (!HasSearchText(request_type, request_body)) return {};
  SizeBound user_size(kSearchTextPartMaxBytes);
  VisitUser(*request_body, user_size);
  SizeBound assistant_size(kSearchTextPartMaxBytes);
  if (response_message != nullptr) VisitAssistant(*response_message, assistant_size);
  if (user_size.size() == 0 && assistant_size.size() == 0) return {};
  std::string text;
  text.reserve(user_size.size() + 1 + assistant_size.size());
  BoundedText user(text, kSearchTextPartMaxBytes);
  VisitUser(*request_body, user);
  text.push_back('\n');
  if (response_message != nullptr) {
    BoundedText assistant(text, kSearchTextPartMaxBytes);
    VisitAssistant(*response_message, assistant);
  }
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
