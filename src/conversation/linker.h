// Conversation linking (docs/conversations.md): decides which earlier request a new one continues,
// on which branch, and whether it is a Task-tool sub-agent, by querying a ConversationIndex instead
// of the database. Follows the original step by step, with its quirks fixed as our issue asks:
//   - is_subtask marks real sub-agent requests only: a sub-agent's first request and the
//     follow-ups that continue it (inherited from the parent), never main-branch requests of a
//     conversation that once spawned a sub-agent (the original's flagging is not reproduced);
//   - subtask_N follows the order of the Task calls in the parent response (see
//     ConversationIndex::AssignSubtaskNumber), not arrival timing: parallel sub-agents get
//     distinct, ordered numbers even when they start in the same second;
//   - compact_HHMMSS and branch_YYYYMMDDHHMMSS use UTC.
//
// Thread-safety: Link/LinkRecord mutate the index; call them from the thread that owns it.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "conversation/index.h"
#include "record/record.h"

namespace cn::conversation {

struct LinkInput {
  std::string_view request_id;
  std::string_view domain;                 // raw Host header
  std::int64_t timestamp_unix_micros = 0;  // arrival time T; every lookup is bounded by it
  const boost::json::array* messages = nullptr;
  const boost::json::value* system = nullptr;  // null when the body has no `system`
};

enum class LinkKind {
  kNewConversation,  // no parent: conversation_id stays empty (the caller mints one)
  kParent,           // parent found by parent_message_hash
  kGrandparent,      // parent found by the grandparent hash
  kCompact,          // compact continuation of a summarisation request
  kSubtask,          // first request of a Task-tool sub-agent
  kError,            // malformed messages: the original's safe default
};
inline constexpr std::size_t kLinkKindCount = 6;
const char* LinkKindName(LinkKind kind);

struct LinkResult {
  LinkKind kind = LinkKind::kNewConversation;
  std::optional<std::string> conversation_id;  // nullopt: start a new conversation
  std::string parent_request_id;               // empty: none
  std::string branch_id = "main";
  std::string current_message_hash;  // empty only for kError
  std::optional<std::string> parent_message_hash;
  std::optional<std::string> system_hash;
  bool is_subtask = false;
  std::string parent_task_request_id;  // empty unless is_subtask
  int subtask_sequence = 0;            // N of subtask_N for kSubtask, else 0
};

LinkResult Link(const LinkInput& input, ConversationIndex& index);

// "branch_YYYYMMDDHHMMSS" and "compact_HHMMSS" of a UTC instant.
std::string UserBranchId(std::int64_t unix_micros);
std::string CompactBranchId(std::int64_t unix_micros);

// The pipeline's one call: links `r` (request_id, domain, timestamp_unix_micros) using its parsed
// request body and fills its conversation fields (hashes, conversation_id — a new UUIDv4 when no
// parent gives one —, branch_id, parent_request_id, parent_task_request_id, is_subtask). Bodies
// without a non-empty `messages` array are left unlinked (all fields untouched) and give nullopt;
// otherwise the kind of link made. Does not add `r` to the index: call index.Add(r) once its
// response fields are final.
std::optional<LinkKind> LinkRecord(Record& r, const boost::json::value& request_body,
                                   ConversationIndex& index);

}  // namespace cn::conversation
