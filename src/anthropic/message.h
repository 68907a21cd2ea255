// Helpers over Messages API JSON shared by request classification, response enrichment and stream
// reconstruction. Pure functions; every field may be missing or of the wrong type, in which case
// the helper treats it as absent. Nothing here throws except std::bad_alloc.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "record/record.h"

namespace cn::anthropic {

// Parses `text` as JSON. Limits are generous (nesting 1024) because tool schemas and tool inputs
// nest deeply; `lenient_utf8` accepts invalid UTF-8 for bodies that are only read, never stored.
// `storage` may be a monotonic resource when the value dies with the caller's scope.
std::optional<boost::json::value> ParseJson(std::string_view text, bool lenient_utf8 = false,
                                            boost::json::storage_ptr storage = {});

// The integer value of `v` if it is a whole number that fits in int64.
std::optional<std::int64_t> AsInt(const boost::json::value& v);

// The string field `key` of `obj`, or "" when missing or not a string.
std::string_view StringField(const boost::json::object& obj, std::string_view key);

// Reads the four token counts of a usage object. Fields that are missing or not whole numbers
// leave the corresponding member of `into` unchanged (callers merge cumulative updates this way).
void MergeUsage(const boost::json::object& usage, TokenUsage* into);

// Number of `tool_use` blocks in a message's content array.
int CountToolUses(const boost::json::array& content);

// JSON array text of {"id","name","input"} for every `tool_use` block named "Task", in content
// order; "" when there is none (Record::task_tool_invocation_json).
std::string TaskInvocationsJson(const boost::json::array& content);

}  // namespace cn::anthropic
