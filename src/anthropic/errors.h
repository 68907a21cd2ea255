// Anthropic error shapes, for answers the proxy gives itself (auth failure, body too large,
// upstream unreachable, a stream cut by the proxy). Pure functions.
#pragma once

#include <string>
#include <string_view>

namespace cn::anthropic {

// `{"type":"error","error":{"type":<type>,"message":<message>}}`, JSON-escaped (quotes,
// backslashes, control characters; UTF-8 passes through unchanged).
std::string ErrorBody(std::string_view type, std::string_view message);

// The same error as one SSE event, as Anthropic sends it mid-stream:
// `event: error\ndata: <ErrorBody>\n\n`.
std::string ErrorEvent(std::string_view type, std::string_view message);

}  // namespace cn::anthropic
