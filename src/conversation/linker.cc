#include "conversation/linker.h"

#include <boost/json/object.hpp>
#include <boost/json/string.hpp>
#include <ctime>

#include "common/ids.h"
#include "conversation/detection.h"
#include "conversation/hashing.h"

namespace cn::conversation {
namespace {

namespace json = boost::json;

constexpr std::string_view kSummarizationPrompt =
    "You are a helpful AI assistant tasked with summarizing conversations";
constexpr std::string_view kCompactPrefix = "compact_";
constexpr std::int64_t kCompactWindowMicros = 7 * kMicrosPerDay;

std::tm UtcTm(std::int64_t unix_micros) {
  std::time_t seconds = static_cast<std::time_t>(unix_micros / kMicrosPerSecond);
  if (unix_micros % kMicrosPerSecond < 0) --seconds;  // floor for instants before 1970
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return tm;
}

std::optional<std::string> OptionalOf(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return s;
}

// The single-message cases: a Task-tool sub-agent's first request, then a compact continuation.
// nullopt when neither applies.
std::optional<LinkResult> LinkSingleMessage(const LinkInput& in, const json::value& message,
                                            LinkResult base, ConversationIndex& index) {
  const json::object* m = message.if_object();
  const json::value* role = m == nullptr ? nullptr : m->if_contains("role");
  const json::value* content = m == nullptr ? nullptr : m->if_contains("content");
  if (role != nullptr && role->is_string() && role->get_string() == "user" && content != nullptr) {
    const std::string prompt = ExtractSubtaskPrompt(*content);
    if (!prompt.empty()) {
      const std::optional<TaskMatch> match =
          index.MatchTaskInvocation(in.domain, prompt, in.timestamp_unix_micros);
      if (match && !match->task_request->conversation_id.empty()) {
        const IndexEntry& task = *match->task_request;
        LinkResult r = base;
        r.kind = LinkKind::kSubtask;
        r.subtask_sequence = index.AssignSubtaskNumber(task, match->invocation_index);
        r.conversation_id = task.conversation_id;
        r.parent_request_id = task.request_id;
        r.branch_id = "subtask_" + std::to_string(r.subtask_sequence);
        r.parent_message_hash.reset();
        r.is_subtask = true;
        r.parent_task_request_id = task.request_id;
        return r;
      }
    }
  }
  if (const std::optional<std::string> summary = ExtractCompactSummary(message)) {
    const std::string cleaned = CleanCompactSummary(*summary);
    // An empty key would "match" any response; the original never produced one in practice.
    if (!cleaned.empty()) {
      const IndexEntry* parent = index.FindCompactParent(
          in.domain, cleaned, in.timestamp_unix_micros - kCompactWindowMicros,
          in.timestamp_unix_micros);
      if (parent != nullptr) {
        LinkResult r = base;
        r.kind = LinkKind::kCompact;
        r.conversation_id = OptionalOf(parent->conversation_id);
        r.parent_request_id = parent->request_id;
        r.branch_id = CompactBranchId(in.timestamp_unix_micros);
        r.parent_message_hash = parent->current_message_hash;
        return r;
      }
    }
  }
  return std::nullopt;
}

}  // namespace

const char* LinkKindName(LinkKind kind) {
  switch (kind) {
    case LinkKind::kNewConversation:
      return "new_conversation";
    case LinkKind::kParent:
      return "parent";
    case LinkKind::kGrandparent:
      return "grandparent";
    case LinkKind::kCompact:
      return "compact";
    case LinkKind::kSubtask:
      return "subtask";
    case LinkKind::kError:
      return "error";
  }
  return "error";
}

std::string UserBranchId(std::int64_t unix_micros) {
  const std::tm tm = UtcTm(unix_micros);
  char buf[32];
  std::strftime(buf, sizeof buf, "branch_%Y%m%d%H%M%S", &tm);
  return buf;
}

std::string CompactBranchId(std::int64_t unix_micros) {
  const std::tm tm = UtcTm(unix_micros);
  char buf[32];
  std::strftime(buf, sizeof buf, "compact_%H%M%S", &tm);
  return buf;
}

LinkResult Link(const LinkInput& in, ConversationIndex& index) {
  LinkResult error_result;
  error_result.kind = LinkKind::kError;
  if (in.messages == nullptr || in.messages->empty()) return error_result;

  // Step 0.
  const StatusOr<MessageHashes> hashes = ComputeMessageHashes(*in.messages);
  if (!hashes.ok()) return error_result;
  const std::optional<std::string> system_text = SystemPromptText(in.system);
  LinkResult base;
  base.current_message_hash = hashes->current;
  base.system_hash = system_text ? SystemHashOfText(*system_text) : std::nullopt;
  const std::int64_t t = in.timestamp_unix_micros;

  // Step 1: exactly one raw message.
  if (in.messages->size() == 1) {
    if (auto special = LinkSingleMessage(in, (*in.messages)[0], base, index))
      return *std::move(special);
    return base;
  }
  // Step 2.
  if (!hashes->parent) return base;
  // Step 3.
  base.parent_message_hash = hashes->parent;
  const std::string& parent_hash = *hashes->parent;

  // Step 4. (ii "summarisation request" and iii "fallback" are the same query.)
  LinkKind kind = LinkKind::kParent;
  const IndexEntry* parent = nullptr;
  if (base.system_hash) {
    parent =
        index.FindNewestByCurrentHash(in.domain, parent_hash, &*base.system_hash, in.request_id, t);
  }
  if (parent == nullptr) {
    parent = index.FindNewestByCurrentHash(in.domain, parent_hash, nullptr, in.request_id, t);
  }
  if (parent == nullptr && hashes->grandparent && hashes->deduplicated_count > 4) {
    parent =
        index.FindNewestByCurrentHash(in.domain, *hashes->grandparent, nullptr, in.request_id, t);
    kind = LinkKind::kGrandparent;
  }
  // Step 6.
  if (parent == nullptr) return base;

  // Step 5.
  LinkResult r = base;
  r.kind = kind;
  r.conversation_id = OptionalOf(parent->conversation_id);
  r.parent_request_id = parent->request_id;
  if (std::string_view(parent->branch_id).starts_with(kCompactPrefix)) {
    r.branch_id = parent->branch_id;
  } else if (index.HasChild(in.domain, parent->current_message_hash, parent->conversation_id,
                            in.request_id, t)) {
    r.branch_id = UserBranchId(t);
  } else {
    r.branch_id = parent->branch_id.empty() ? std::string("main") : parent->branch_id;
  }
  // A sub-agent's follow-ups are sub-agent requests too; main-branch requests never are.
  if (parent->is_subtask) {
    r.is_subtask = true;
    r.parent_task_request_id = parent->parent_task_request_id;
  }
  return r;
}

std::optional<LinkKind> LinkRecord(Record& r, const json::value& request_body,
                                   ConversationIndex& index) {
  const json::object* body = request_body.if_object();
  const json::value* messages = body == nullptr ? nullptr : body->if_contains("messages");
  if (messages == nullptr || !messages->is_array() || messages->get_array().empty())
    return std::nullopt;
  LinkInput in;
  in.request_id = r.request_id;
  in.domain = r.domain;
  in.timestamp_unix_micros = r.timestamp_unix_micros;
  in.messages = &messages->get_array();
  in.system = body->if_contains("system");
  LinkResult result = Link(in, index);
  r.link.current_message_hash = std::move(result.current_message_hash);
  r.link.parent_message_hash = result.parent_message_hash.value_or("");
  r.link.system_hash = result.system_hash.value_or("");
  r.link.conversation_id =
      result.conversation_id ? std::move(*result.conversation_id) : NewUuidV4();
  r.link.branch_id = std::move(result.branch_id);
  r.link.parent_request_id =
      result.parent_request_id != r.request_id ? std::move(result.parent_request_id) : "";
  r.link.parent_task_request_id = std::move(result.parent_task_request_id);
  r.link.is_subtask = result.is_subtask;
  return result.kind;
}

}  // namespace cn::conversation
