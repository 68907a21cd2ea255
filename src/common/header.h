// HTTP header fields as the proxy keeps them: name and value bytes as received, in order,
// repeats kept. Used by the request path (proxy/, net/), the Record (record/) and the stores.
// Pure value types and functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cn {

struct Header {
  std::string name;  // as received (case preserved)
  std::string value;
  bool operator==(const Header&) const = default;
};
using Headers = std::vector<Header>;

// The headers with repeated names (compared without case) merged into one entry each, in order
// of first appearance, values joined by ", " (RFC 9110 §5.3); the name is the first spelling seen.
// `repeated` (optional) is set when any name occurred more than once.
std::vector<std::pair<std::string_view, std::string>> MergeRepeatedHeaders(
    const Headers& headers, bool* repeated = nullptr);

}  // namespace cn
