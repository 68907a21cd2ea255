// Conversation hashing (docs/conversations.md): the message hashes that chain requests into
// conversations and the system-prompt hash, bit-identical to the original proxy so that a
// database it wrote can be continued (golden vectors in tests/unit/conversation/hashing_test.cc).
//
// All functions are pure and thread-safe. Inputs are Boost.JSON values as parsed from the request
// body; malformed shapes the original would have thrown on are reported as a non-OK Status.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace cn::conversation {

// Lower-case hex SHA-256 of the bytes of `data`.
std::string Sha256Hex(std::string_view data);

// Deletes every /\s*<system-reminder>[\s\S]*?<\/system-reminder>/gi match (JS \s, so the
// whitespace run before the tag goes too). "Hello\n\n<system-reminder>x</system-reminder>\nWorld"
// -> "Hello\nWorld".
std::string StripSystemReminder(std::string_view text);

// True when `text` contains "<system-reminder>" in any ASCII letter case.
bool ContainsSystemReminder(std::string_view text);

// The original's normalize(content): "[0]text:..." for a string, the filtered and indexed item
// lines joined by "\n" for an array. Errors for content that is neither (the original threw).
StatusOr<std::string> NormalizeContent(const boost::json::value& content);

// Drops every array-content message that repeats a tool_use id or tool_result tool_use_id seen
// earlier (ids are recorded while testing, even for dropped messages). Errors for a message that is
// not an object or whose content is neither a string nor an array.
StatusOr<std::vector<const boost::json::value*>> DeduplicateMessages(
    const boost::json::array& messages);

// The message hash over an already de-duplicated list (no second de-dup pass): SHA-256 hex of role
// "\n" normalize(content) "\n" for each message. Errors on an empty list or a missing role.
StatusOr<std::string> HashMessages(const std::vector<const boost::json::value*>& messages);

struct MessageHashes {
  std::string current;                     // hash of the whole de-duplicated list
  std::optional<std::string> parent;       // minus the last 2 (needs >= 3 de-duplicated messages)
  std::optional<std::string> grandparent;  // minus the last 4 (needs >= 5)
  std::size_t deduplicated_count = 0;
};

// De-duplicates `messages` and hashes the whole list, the parent and the grandparent prefixes.
StatusOr<MessageHashes> ComputeMessageHashes(const boost::json::array& messages);

// The system prompt as one string, as the linker sees it: a string as is, an array as each item's
// `text` joined by "\n" (missing text renders empty). nullopt for an absent/null/empty-string
// system or any other shape (the original's `systemPrompt ? ... : undefined`).
std::optional<std::string> SystemPromptText(const boost::json::value* system);

// The text of a system prompt that is hashed after dropping the volatile parts (git status,
// branches, recent commits, reminders, transient context).
std::string StableSystemText(std::string_view system_text);

// The system hash: SHA-256 hex of StableSystemText(SystemPromptText(system)); nullopt (SQL NULL)
// when the system prompt is absent or empty, or nothing stable remains.
std::optional<std::string> SystemHash(const boost::json::value* system);
std::optional<std::string> SystemHashOfText(std::string_view system_text);

}  // namespace cn::conversation
