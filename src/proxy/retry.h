// Upstream retry policy (the original's, with its ignored Retry-After fixed).
//
// Retried: connect/transport errors (status 0), 429, 529 and every 5xx — and only while no byte
// of the response has reached the client, which the caller guarantees. Delays grow
// exponentially with "equal jitter": the n-th retry waits uniformly in [cap/2, cap] where
// cap = min(base·2^(n−1), max_delay), so retries always back off yet never synchronise.
// A Retry-After from the upstream replaces the computed delay (the server knows best); one
// longer than max_retry_after means "not soon", so the upstream's answer goes to the client.
//
// Pure function; thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace cn::proxy {

struct RetryPolicy {
  int max_retries = 2;  // retries after the first attempt; 0 disables retrying
  std::chrono::milliseconds base{500};
  std::chrono::milliseconds max_delay{8000};
  std::chrono::milliseconds max_retry_after{60000};
};

// True for statuses worth another attempt: 0 (no response), 429, 529 and 5xx.
bool IsRetryableStatus(int status);

// `attempt`: attempts made so far (1 after the first). `status`: the upstream status, 0 for a
// connect/transport error. `retry_after`: the upstream's Retry-After value (delta-seconds or an
// HTTP-date, compared with `now_unix_seconds`), empty if absent; `retry_after_ms`: the
// upstream's retry-after-ms value, which wins when valid. `random01` in [0, 1).
// Returns how long to wait before the next attempt, or nullopt for "do not retry".
std::optional<std::chrono::milliseconds> RetryDelay(const RetryPolicy& policy, int attempt,
                                                    int status, std::string_view retry_after,
                                                    std::int64_t now_unix_seconds, double random01,
                                                    std::string_view retry_after_ms = {});

// Parses an HTTP-date (IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", RFC 850
// "Sunday, 06-Nov-94 08:49:37 GMT" or asctime "Sun Nov  6 08:49:37 1994") into Unix seconds.
std::optional<std::int64_t> ParseHttpDate(std::string_view text);

}  // namespace cn::proxy
