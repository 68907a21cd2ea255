// Search text: the plain text of an exchange that full-text search indexes (Record::search_text,
// written by the stores into cn_search; docs/storage.md "Search and the live feed").
//
// It is the text of the request's last user message, a newline, then the assistant text of the
// response — what a person would look for ("the request where I asked about X", "the answer that
// said Y"), not tool schemas, system prompts or older turns that every later request repeats.
// Each part is bounded (kSearchTextPartMaxBytes) and cut on a UTF-8 character boundary; invalid
// UTF-8 and NUL bytes are dropped, so the text is valid for both stores.
//
// Pure functions over their arguments; nothing here throws except std::bad_alloc.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <string>
#include <string_view>

namespace cn::anthropic {

// The most each part (user, assistant) contributes, in bytes. 1 KiB, not more: the full-text
// index costs the writer in proportion to the text (docs/storage.md "Search and the live feed").
inline constexpr std::size_t kSearchTextPartMaxBytes = 1024;

// Whether an exchange has search text at all: request_type inference or query_evaluation, and a
// request body that is an object with a `messages` array.
bool HasSearchText(std::string_view request_type, const boost::json::value* request_body);

// The text of the last message with role "user" in `messages`: its string content, or the `text`
// of its text blocks and of the text blocks (or string content) of its tool_result blocks,
// joined by '\n'. Images, documents and other blocks are skipped. At most `max_bytes`.
std::string UserSearchText(const boost::json::value& request_body,
                           std::size_t max_bytes = kSearchTextPartMaxBytes);

// The `text` of the text blocks of a Messages API message's `content`, joined by '\n' (thinking
// and tool_use blocks are not the answer's text). At most `max_bytes`.
std::string AssistantSearchText(const boost::json::object& message,
                                std::size_t max_bytes = kSearchTextPartMaxBytes);

// UserSearchText + '\n' + AssistantSearchText, or "" when !HasSearchText (or both parts are
// empty). `response_message` is the response's message (the JSON body, or the message rebuilt
// from the stream); nullptr when there is none.
std::string SearchText(std::string_view request_type, const boost::json::value* request_body,
                       const boost::json::object* response_message);

// The same over the stored texts of a record: its request body and its response_json. For spill
// lines written before search_text was in the format (recording/record_json.h).
std::string SearchTextFromJson(std::string_view request_type, std::string_view request_body,
                               std::string_view response_json);

}  // namespace cn::anthropic
