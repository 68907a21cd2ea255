// Pure detectors for the two special single-message cases of conversation linking:
// compact continuations and Task-tool sub-agents (docs/conversations.md, "Rules"), plus the
// extraction of Task invocations from a response body that makes a request a possible sub-task
// parent.
//
// Thread-safety: pure functions; safe from any thread.
#pragma once

#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cn::conversation {

// The summary a compact continuation carries: for the first content item (the string content, or
// a `text` block) that contains "This session is being continued from a previous conversation
// that ran out of context" and "The conversation is summarized below:", the text after the latter,
// trimmed, cut before "Please continue the conversation" (trimmed), trailing '.' removed, trimmed.
// nullopt when `message` is not such a continuation.
std::optional<std::string> ExtractCompactSummary(const boost::json::value& message);

// The key a compact summary is matched with against lowered response texts: lower-cased, a
// leading "analysis:" turned into "<analysis>", the first "\n\nsummary:" into
// "\n</analysis>\n\n<summary>", trimmed.
std::string CleanCompactSummary(std::string_view summary);

// The lower-casing applied to both sides of the compact match (the summary above and the first
// response text block). ASCII letters only: both sides go through this same function, so the
// comparison is consistent with the original's toLocaleLowerCase()/SQL lower() pair for all text
// that matched there.
std::string LowerForMatch(std::string_view s);

// The prompt text of a would-be sub-agent's single user message: string content with system
// reminders stripped (not trimmed); array content: every `text` block stripped, blank ones
// dropped, joined by "\n". Empty when there is none.
std::string ExtractSubtaskPrompt(const boost::json::value& content);

// One `tool_use` block named "Task" with a string `input.prompt`, in response content order.
struct TaskInvocation {
  std::string tool_use_id;
  std::string prompt;
  std::string description;  // input.description, empty if absent
  bool operator==(const TaskInvocation&) const = default;
};

// Every Task invocation in a Messages API response body ({"content": [...]}); empty for anything
// else.
std::vector<TaskInvocation> ExtractTaskInvocations(const boost::json::value& response_body);

// response_body.content[0].text when it is a string (what the compact search compares against).
std::optional<std::string_view> FirstResponseText(const boost::json::value& response_body);

}  // namespace cn::conversation
