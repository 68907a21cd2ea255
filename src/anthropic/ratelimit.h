// Rate-limit state from the headers Anthropic sends with every response (docs/api.md "Quota").
//   - Claude Max/Pro (OAuth) traffic: `anthropic-ratelimit-unified-*` — an overall status
//     (allowed | allowed_warning | rejected), reset time, representative claim, fallback and
//     overage state, and per window ("5h", "7d", "7d_opus", ...) status, utilisation (0-1),
//     reset time and surpassed threshold.
//   - API-key traffic: `anthropic-ratelimit-<bucket>-{limit,remaining,reset}` for the buckets
//     requests, tokens, input-tokens, output-tokens (any other bucket name is kept too).
// Every `anthropic-ratelimit-*` header that is not understood is kept verbatim in `unknown`.
// Pure functions over header values; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/header.h"

namespace cn::anthropic {

struct RateLimitWindow {
  std::string status;                         // allowed | allowed_warning | rejected | ...
  std::optional<double> utilization;          // 0..1 as the header gives it
  std::optional<std::int64_t> resets_at;      // unix seconds
  std::optional<double> surpassed_threshold;  // the warning level crossed, when given
  bool operator==(const RateLimitWindow&) const = default;
};

struct RateLimitBucket {
  std::optional<std::int64_t> limit;
  std::optional<std::int64_t> remaining;
  std::optional<std::int64_t> resets_at;  // unix seconds (the header is RFC 3339)
  bool operator==(const RateLimitBucket&) const = default;
};

struct RateLimitState {
  // Unified (subscription) limits.
  std::string status;
  std::optional<std::int64_t> resets_at;  // unix seconds
  std::string representative_claim;       // five_hour | seven_day | ...
  std::string fallback;                   // e.g. "available"
  std::optional<double> fallback_percentage;
  std::string overage_status;
  std::optional<std::int64_t> overage_resets_at;
  std::string overage_disabled_reason;
  std::map<std::string, RateLimitWindow> windows;  // by window name: "5h", "7d", ...
  // API-key limits, by bucket name: "requests", "tokens", "input-tokens", "output-tokens".
  std::map<std::string, RateLimitBucket> buckets;
  // Headers named anthropic-ratelimit-* that none of the above understood (name lower-cased).
  std::map<std::string, std::string> unknown;

  bool empty() const;
  bool operator==(const RateLimitState&) const = default;
};

// Reads every anthropic-ratelimit-* header (names compared without case; the last of repeated
// headers wins). Malformed values are kept in `unknown` rather than guessed.
RateLimitState ParseRateLimitHeaders(const Headers& headers);

// Compact JSON object of the state (camelCase, only fields that are set; "" when empty):
// {"status":..,"resetsAt":..,"representativeClaim":..,"fallback":..,"fallbackPercentage":..,
//  "overageStatus":..,"overageResetsAt":..,"overageDisabledReason":..,
//  "windows":{"5h":{"status":..,"utilization":..,"resetsAt":..,"surpassedThreshold":..}},
//  "buckets":{"tokens":{"limit":..,"remaining":..,"resetsAt":..}},"unknown":{name:value}}
std::string RateLimitJson(const RateLimitState& state);

}  // namespace cn::anthropic
