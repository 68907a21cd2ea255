// Request classification, the original Claude Nexus Proxy's rule (Record::request_type, below).
// Pure function.
#pragma once

#include <boost/json/value.hpp>
#include <string>
#include <string_view>

namespace cn::anthropic {

// Record::request_type of a request:
//  - POST /v1/messages: "quota" when the last user message's text, trimmed and lower-cased, is
//    "quota"; else "inference" when the request carries two or more system prompts (`system`
//    string = 1, array = its length, plus `messages` entries with role "system"), else
//    "query_evaluation" (a missing or non-object body counts as no system prompt);
//  - POST /v1/messages/count_tokens: "count_tokens";
//  - anything else (GET /v1/models, ...): "other".
// `path` excludes the query string; `body` is the parsed request body or null.
std::string ClassifyRequest(std::string_view method, std::string_view path,
                            const boost::json::value* body);

}  // namespace cn::anthropic
