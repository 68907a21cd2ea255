#include "conversation/hashing.h"

#include <openssl/evp.h>

#include <memory>
#include <unordered_set>

#include "conversation/js_json.h"
#include "conversation/js_regex.h"

namespace cn::conversation {
namespace {

namespace json = boost::json;

constexpr std::string_view kCliToolPrefix =
    "You are an interactive CLI tool that helps users with software engineering tasks";
constexpr std::string_view kReminderTag = "<system-reminder>";

// The original's system-reminder and system-prompt expressions, translated once (see js_regex.h for
// the JS -> PCRE2 mapping).
struct Patterns {
  JsRegex reminder{std::string(kJsSpace) + "*<" + AsciiCaseless("system-reminder") +
                   ">[\\s\\S]*?</" + AsciiCaseless("system-reminder") + ">"};
  JsRegex transient{"<transient_context>[\\s\\S]*?</transient_context>"};
  JsRegex git_status{"gitStatus:[\\s\\S]*?(?:\\n\\n|\\z)"};
  JsRegex status{"(?:" + std::string(kJsLineStart) + "|\\n)Status:" + std::string(kJsSpace) +
                 "*\\n(?:[^\\n]*\\n)*?(?=\\n\\n|" + std::string(kJsLineEnd) + ")"};
  JsRegex current_branch{"(?:" + std::string(kJsLineStart) + "|\\n)Current branch:" +
                         std::string(kJsDot) + "*" + std::string(kJsLineEnd)};
  JsRegex main_branch{"(?:" + std::string(kJsLineStart) + "|\\n)Main branch" + std::string(kJsDot) +
                      "*:" + std::string(kJsDot) + "*" + std::string(kJsLineEnd)};
  JsRegex recent_commits{"(?:" + std::string(kJsLineStart) +
                         "|\\n)Recent commits:" + std::string(kJsDot) + "*\\n(?:(?!" +
                         std::string(kJsLineStart) + "\\n)" + std::string(kJsDot) + "*\\n)*"};
  JsRegex newlines{"\\n{3,}"};
};

const Patterns& Regexes() {
  static const Patterns patterns;  // thread-safe lazy init; JsRegex is immutable afterwards
  return patterns;
}

bool JsTruthy(const json::value* v) {
  if (v == nullptr) return false;
  switch (v->kind()) {
    case json::kind::null:
      return false;
    case json::kind::bool_:
      return v->get_bool();
    case json::kind::int64:
      return v->get_int64() != 0;
    case json::kind::uint64:
      return v->get_uint64() != 0;
    case json::kind::double_:
      return v->get_double() != 0 && v->get_double() == v->get_double();
    case json::kind::string:
      return !v->get_string().empty();
    default:
      return true;
  }
}

// `${obj.key}`: "undefined" when the property is missing.
std::string Template(const json::value& obj, std::string_view key) {
  const json::value* v = JsProperty(obj, key);
  return v == nullptr ? "undefined" : JsToString(*v);
}

// `x || ''` where x must end up a string; anything else made the original throw.
StatusOr<std::string_view> StringOrEmpty(const json::value* v, std::string_view what) {
  if (v != nullptr && v->is_string()) return std::string_view(v->get_string());
  if (!JsTruthy(v)) return std::string_view();
  return Status::InvalidArgument(std::string(what) + " is not a string");
}

bool IsType(const json::value& item, std::string_view type) {
  const json::value* t = JsProperty(item, "type");
  return t != nullptr && t->is_string() && t->get_string() == type;
}

// The "[i]..." line of one content item (see NormalizeContent).
StatusOr<std::string> SerializeItem(const json::value& item, std::size_t index) {
  std::string out = "[" + std::to_string(index) + "]";
  if (IsType(item, "text")) {
    auto text = StringOrEmpty(JsProperty(item, "text"), "text block text");
    if (!text.ok()) return text.status();
    out += "text:";
    out += CrLfToLf(JsTrim(StripSystemReminder(*text)));
  } else if (IsType(item, "image")) {
    const json::value* source = JsProperty(item, "source");
    if (!JsTruthy(source)) return out + "image:no-source";
    auto data = StringOrEmpty(JsProperty(*source, "data"), "image data");
    if (!data.ok()) return data.status();
    out += "image:" + Template(*source, "media_type") + ":" + Sha256Hex(*data);
  } else if (IsType(item, "tool_use")) {
    const json::value* input = JsProperty(item, "input");
    out += "tool_use:" + Template(item, "name") + ":" + Template(item, "id") + ":";
    if (input == nullptr) {
      out += "undefined";
    } else {
      JsStringifyTo(*input, out);
    }
  } else if (IsType(item, "tool_result")) {
    const json::value* content = JsProperty(item, "content");
    out += "tool_result:" + Template(item, "tool_use_id") + ":";
    if (content != nullptr && content->is_string()) {
      out += StripSystemReminder(content->get_string());
    } else if (content != nullptr && content->is_array()) {
      JsStringifyTo(*content, out);
    }
  } else {
    out += Template(item, "type") + ":unknown";
  }
  return out;
}

std::string ToHex(const unsigned char* digest, unsigned int len) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(static_cast<std::size_t>(len) * 2, '0');
  for (unsigned int i = 0; i < len; ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 0xF];
  }
  return out;
}

}  // namespace

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  return ToHex(digest, len);
}

bool ContainsSystemReminder(std::string_view text) {
  for (std::size_t pos = text.find('<'); pos != std::string_view::npos;
       pos = text.find('<', pos + 1)) {
    if (text.size() - pos < kReminderTag.size()) return false;
    bool equal = true;
    for (std::size_t i = 1; i < kReminderTag.size() && equal; ++i) {
      char c = text[pos + i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      equal = c == kReminderTag[i];
    }
    if (equal) return true;
  }
  return false;
}

std::string StripSystemReminder(std::string_view text) {
  // Fast path: without an opening tag the expression cannot match, and most text has none.
  if (!ContainsSystemReminder(text)) return std::string(text);
  return Regexes().reminder.ReplaceAll(text, "");
}

StatusOr<std::string> NormalizeContent(const json::value& content) {
  if (content.is_string()) {
    return "[0]text:" + CrLfToLf(JsTrim(content.get_string()));
  }
  const json::array* items = content.if_array();
  if (items == nullptr)
    return Status::InvalidArgument("message content is neither a string nor an array");
  std::string out;
  std::size_t index = 0;
  for (const json::value& item : *items) {
    if (item.is_null()) return Status::InvalidArgument("null content block");
    if (IsType(item, "text")) {
      const json::value* text = JsProperty(item, "text");
      if (text != nullptr && text->is_string() &&
          JsTrim(StripSystemReminder(text->get_string())).empty()) {
        continue;  // reminder-only (or blank) text blocks do not count, nor take an index
      }
    }
    auto line = SerializeItem(item, index);
    if (!line.ok()) return line.status();
    if (index > 0) out.push_back('\n');
    out += *line;
    ++index;
  }
  return out;
}

StatusOr<std::vector<const json::value*>> DeduplicateMessages(const json::array& messages) {
  std::unordered_set<std::string> seen_tool_use;
  std::unordered_set<std::string> seen_tool_result;
  std::vector<const json::value*> kept;
  kept.reserve(messages.size());
  for (const json::value& message : messages) {
    if (!message.is_object()) return Status::InvalidArgument("message is not an object");
    const json::value* content = JsProperty(message, "content");
    if (content != nullptr && content->is_string()) {
      kept.push_back(&message);
      continue;
    }
    if (content == nullptr || !content->is_array()) {
      return Status::InvalidArgument("message content is neither a string nor an array");
    }
    bool duplicate = false;
    for (const json::value& item : content->get_array()) {
      if (item.is_null()) return Status::InvalidArgument("null content block");
      if (IsType(item, "tool_use") && JsTruthy(JsProperty(item, "id"))) {
        if (!seen_tool_use.insert(JsStringify(*JsProperty(item, "id"))).second) duplicate = true;
      } else if (IsType(item, "tool_result") && JsTruthy(JsProperty(item, "tool_use_id"))) {
        if (!seen_tool_result.insert(JsStringify(*JsProperty(item, "tool_use_id"))).second)
          duplicate = true;
      }
    }
    if (!duplicate) kept.push_back(&message);
  }
  return kept;
}

namespace {

using DigestCtx = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

std::string FinalHex(EVP_MD_CTX* ctx) {
  DigestCtx copy(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  EVP_MD_CTX_copy_ex(copy.get(), ctx);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(copy.get(), digest, &len);
  return ToHex(digest, len);
}

// One pass over `messages`; out[k] receives the hash of the first prefix_lengths[k] messages
// (ascending, each >= 1), so the parent and grandparent hashes cost no second normalisation.
Status HashPrefixes(const std::vector<const json::value*>& messages,
                    const std::vector<std::size_t>& prefix_lengths, std::vector<std::string>& out) {
  if (messages.empty())
    return Status::InvalidArgument("Cannot compute hash for empty messages array");
  DigestCtx ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  std::size_t next = 0;
  for (std::size_t i = 0; i < messages.size() && next < prefix_lengths.size(); ++i) {
    const json::value* role = JsProperty(*messages[i], "role");
    if (!JsTruthy(role) || !role->is_string())
      return Status::InvalidArgument("Invalid message: missing role");
    const json::value* content = JsProperty(*messages[i], "content");
    if (content == nullptr) return Status::InvalidArgument("message without content");
    auto normalized = NormalizeContent(*content);
    if (!normalized.ok()) return normalized.status();
    const std::string_view r = role->get_string();
    EVP_DigestUpdate(ctx.get(), r.data(), r.size());
    EVP_DigestUpdate(ctx.get(), "\n", 1);
    EVP_DigestUpdate(ctx.get(), normalized->data(), normalized->size());
    EVP_DigestUpdate(ctx.get(), "\n", 1);
    while (next < prefix_lengths.size() && prefix_lengths[next] == i + 1) {
      out.push_back(FinalHex(ctx.get()));
      ++next;
    }
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::string> HashMessages(const std::vector<const json::value*>& messages) {
  std::vector<std::string> out;
  if (Status s = HashPrefixes(messages, {messages.size()}, out); !s.ok()) return s;
  return std::move(out[0]);
}

StatusOr<MessageHashes> ComputeMessageHashes(const json::array& messages) {
  if (messages.empty())
    return Status::InvalidArgument("Cannot compute hash for empty messages array");
  auto dedup = DeduplicateMessages(messages);
  if (!dedup.ok()) return dedup.status();
  const std::size_t n = dedup->size();
  std::vector<std::size_t> prefixes;
  if (n >= 5) prefixes.push_back(n - 4);
  if (n >= 3) prefixes.push_back(n - 2);
  prefixes.push_back(n);
  std::vector<std::string> hashes;
  if (Status s = HashPrefixes(*dedup, prefixes, hashes); !s.ok()) return s;
  MessageHashes out;
  out.deduplicated_count = n;
  out.current = std::move(hashes.back());
  if (n >= 3) out.parent = std::move(hashes[hashes.size() - 2]);
  if (n >= 5) out.grandparent = std::move(hashes[0]);
  return out;
}

std::optional<std::string> SystemPromptText(const json::value* system) {
  if (system == nullptr) return std::nullopt;
  if (system->is_string()) {
    if (system->get_string().empty()) return std::nullopt;
    return std::string(system->get_string());
  }
  if (!system->is_array()) return std::nullopt;
  // Array#join renders undefined/null as empty. (A null element made the original throw on
  // `item.text`; it is read as an empty block here.)
  std::string out;
  bool first = true;
  for (const json::value& item : system->get_array()) {
    if (!first) out.push_back('\n');
    first = false;
    const json::value* text = JsProperty(item, "text");
    if (text != nullptr && !text->is_null()) out += JsToString(*text);
  }
  return out;
}

std::string StableSystemText(std::string_view system_text) {
  if (JsTrim(system_text).starts_with(kCliToolPrefix)) return std::string(kCliToolPrefix);
  const Patterns& re = Regexes();
  std::string s = re.transient.ReplaceAll(system_text, "");
  s = StripSystemReminder(s);
  s = re.git_status.ReplaceAll(s, "\n\n");
  s = re.status.ReplaceAll(s, "\n");
  s = re.current_branch.ReplaceAll(s, "");
  s = re.main_branch.ReplaceAll(s, "");
  s = re.recent_commits.ReplaceAll(s, "\n");
  s = re.newlines.ReplaceAll(s, "\n\n");
  return std::string(JsTrim(s));
}

std::optional<std::string> SystemHashOfText(std::string_view system_text) {
  if (system_text.empty()) return std::nullopt;
  const std::string stable = StableSystemText(system_text);
  if (stable.empty()) return std::nullopt;
  return Sha256Hex(stable);
}

std::optional<std::string> SystemHash(const json::value* system) {
  const std::optional<std::string> text = SystemPromptText(system);
  if (!text) return std::nullopt;
  return SystemHashOfText(*text);
}

}  // namespace cn::conversation
