// Who sent a request: the developer (user) and the Claude Code session, from what Claude Code
// puts in every Messages API request (docs/api.md "Who used it"):
//   - `metadata.user_id` in the body, in either of its two forms:
//       older: "user_<hash>_account_<uuid>_session_<uuid>" (the account part may be empty);
//       newer: a JSON object encoded as a string: {"device_id":"<hash>","account_uuid":"..",
//              "session_id":".."} (user_id read too when present);
//     any other string (SDK users set their own ids) is the user id as it is;
//   - the `X-Claude-Code-Session-Id` request header (newer versions), which wins for the session.
// Values are bounded (kMaxAttributionLength bytes) and must be printable ASCII; anything else is
// dropped rather than stored. Pure functions; thread-safe.
#pragma once

#include <boost/json/value.hpp>
#include <cstddef>
#include <string>

#include "common/header.h"

namespace cn::anthropic {

inline constexpr std::size_t kMaxAttributionLength = 200;

struct Attribution {
  std::string user_id;       // "" when unknown
  std::string session_id;    // "" when unknown
  std::string account_uuid;  // the Claude account named in user_id, "" when none
  bool operator==(const Attribution&) const = default;
};

// `body` is the parsed request body (or nullptr); `headers` the request headers.
Attribution ParseAttribution(const boost::json::value* body, const Headers& headers);

// Just the metadata.user_id string's parts (exposed for tests).
Attribution ParseUserIdString(std::string_view user_id);

}  // namespace cn::anthropic
