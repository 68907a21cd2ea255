#include "conversation/detection.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>

#include "conversation/hashing.h"
#include "conversation/js_json.h"

namespace cn::conversation {
namespace {

namespace json = boost::json;

constexpr std::string_view kCompactPrefix =
    "This session is being continued from a previous conversation that ran out of context";
constexpr std::string_view kSummaryMarker = "The conversation is summarized below:";
constexpr std::string_view kSummarySuffixMarker = "Please continue the conversation";

const json::string* StringField(const json::value& v, std::string_view key) {
  const json::value* f = JsProperty(v, key);
  return f == nullptr ? nullptr : f->if_string();
}

bool IsTextBlock(const json::value& item) {
  const json::string* type = StringField(item, "type");
  return type != nullptr && *type == "text";
}

std::optional<std::string> SummaryOf(std::string_view text) {
  if (text.find(kCompactPrefix) == std::string_view::npos) return std::nullopt;
  const std::size_t marker = text.find(kSummaryMarker);
  if (marker == std::string_view::npos) return std::nullopt;
  std::string_view summary = JsTrim(text.substr(marker + kSummaryMarker.size()));
  if (const std::size_t suffix = summary.find(kSummarySuffixMarker);
      suffix != std::string_view::npos) {
    summary = JsTrim(summary.substr(0, suffix));
  }
  while (!summary.empty() && summary.back() == '.') summary.remove_suffix(1);
  return std::string(JsTrim(summary));
}

}  // namespace

std::optional<std::string> ExtractCompactSummary(const json::value& message) {
  const json::value* content = JsProperty(message, "content");
  if (content == nullptr) return std::nullopt;
  if (content->is_string()) return SummaryOf(content->get_string());
  const json::array* items = content->if_array();
  if (items == nullptr) return std::nullopt;
  for (const json::value& item : *items) {
    std::optional<std::string> summary;
    if (item.is_string()) {
      summary = SummaryOf(item.get_string());
    } else if (const json::string* text = StringField(item, "text");
               text != nullptr && IsTextBlock(item)) {
      summary = SummaryOf(*text);
    }
    if (summary) return summary;
  }
  return std::nullopt;
}

std::string LowerForMatch(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string CleanCompactSummary(std::string_view summary) {
  std::string s = LowerForMatch(summary);
  constexpr std::string_view kAnalysis = "analysis:";
  if (s.starts_with(kAnalysis)) s.replace(0, kAnalysis.size(), "<analysis>");
  constexpr std::string_view kSummary = "\n\nsummary:";
  if (const std::size_t pos = s.find(kSummary); pos != std::string::npos) {
    s.replace(pos, kSummary.size(), "\n</analysis>\n\n<summary>");
  }
  return std::string(JsTrim(s));
}

std::string ExtractSubtaskPrompt(const json::value& content) {
  if (content.is_string()) return StripSystemReminder(content.get_string());
  const json::array* items = content.if_array();
  if (items == nullptr) return {};
  std::string out;
  bool first = true;
  for (const json::value& item : *items) {
    if (!IsTextBlock(item)) continue;
    const json::string* text = StringField(item, "text");
    std::string stripped = text == nullptr ? std::string() : StripSystemReminder(*text);
    if (JsTrim(stripped).empty()) continue;
    if (!first) out.push_back('\n');
    first = false;
    out += stripped;
  }
  return out;
}

std::vector<TaskInvocation> ExtractTaskInvocations(const json::value& response_body) {
  std::vector<TaskInvocation> out;
  const json::value* content = JsProperty(response_body, "content");
  if (content == nullptr || !content->is_array()) return out;
  for (const json::value& item : content->get_array()) {
    const json::string* type = StringField(item, "type");
    const json::string* name = StringField(item, "name");
    if (type == nullptr || *type != "tool_use" || name == nullptr || *name != "Task") continue;
    const json::value* input = JsProperty(item, "input");
    const json::string* prompt = input == nullptr ? nullptr : StringField(*input, "prompt");
    if (prompt == nullptr) continue;
    TaskInvocation inv;
    if (const json::string* id = StringField(item, "id")) inv.tool_use_id = std::string(*id);
    inv.prompt = std::string(*prompt);
    if (const json::string* d = StringField(*input, "description"))
      inv.description = std::string(*d);
    out.push_back(std::move(inv));
  }
  return out;
}

std::optional<std::string_view> FirstResponseText(const json::value& response_body) {
  const json::value* content = JsProperty(response_body, "content");
  if (content == nullptr || !content->is_array() || content->get_array().empty())
    return std::nullopt;
  const json::string* text = StringField(content->get_array()[0], "text");
  if (text == nullptr) return std::nullopt;
  return std::string_view(*text);
}

}  // namespace cn::conversation
