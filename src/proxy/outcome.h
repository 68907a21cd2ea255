// The exchange outcome rule: how far a proxied exchange got, and what its record says about how it
// ended (record/record.h `Outcome`, plus the `error` text). The request path (src/net, see
// docs/architecture.md, "Request path") only gathers the facts while it relays; this file decides.
//
// Pure functions and plain values; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "record/record.h"

namespace cn::proxy {

// How far an exchange has got. Phases only move forward, and not every exchange passes every
// phase: a rejected request goes kPlanning → kResponding → kDone; a proxied one kPlanning →
// kAwaitingUpstream → kResponding (the upstream's answer, or the proxy's own 502/504 when every
// attempt failed) → kBodyRelayed (only when a body was pumped) → kDone.
enum class ExchangePhase : std::uint8_t {
  kPlanning,          // credential lookup, OAuth refresh, the auth decision
  kAwaitingUpstream,  // attempts: connect, send, wait for the response header, back off
  kResponding,        // a response header and body are being written to the client
  kBodyRelayed,       // the last body bytes are on their way to the client
  kDone,              // the whole response was written, its framing complete
};

// Whether a client hang-up seen in `phase` ends the exchange (the upstream is cancelled and the
// client counted as gone). Once the last body bytes are on their way the client has everything:
// a hang-up then is too late to matter, and the exchange completes (only a failed write to the
// client still counts as the client gone).
constexpr bool HangUpEndsExchange(ExchangePhase phase) {
  return phase < ExchangePhase::kBodyRelayed;
}

// When the upstream failed, if it did: a transport error (connect, send, header, body read).
enum class UpstreamFailure : std::uint8_t {
  kNone,
  kBeforeResponse,  // every attempt failed before the upstream's header: the proxy answered 502/504
  kMidResponse,     // the upstream's header (and maybe some body) had reached the client
};

// What an exchange knows about how it ended. Each fact is recorded once, where it happens; an
// upstream failure is recorded only while the client is still there (one that follows a client
// hang-up is the consequence of cancelling the upstream, not a fact of its own).
struct ExchangeFacts {
  bool aborted = false;           // the shutdown deadline aborted the exchange (AbortExchange)
  std::string_view abort_reason;  // ... saying why
  bool client_gone = false;       // a hang-up that ended the exchange, or a failed/timed-out write
  bool rejected = false;          // the proxy answered the request itself (the auth plan said no)
  std::string_view rejection;     // ... with this message
  UpstreamFailure upstream_failure = UpstreamFailure::kNone;
  bool upstream_timed_out = false;  // the upstream failure was a timeout
  std::string_view upstream_error;  // the upstream failure's text
};

struct ExchangeResult {
  Outcome outcome = Outcome::kCompleted;
  std::string error;  // empty when nothing went wrong
};

// The record's outcome and error text. In order of precedence: a shutdown abort is
// kClientAborted with its reason; an upstream failure is kUpstreamFailed ("upstream timeout: ",
// "upstream unreachable: " or "upstream failed mid-response: " and the error), even if the
// client went away afterwards; a client gone is kClientAborted (with the rejection's message if
// the proxy was rejecting the request, else "client disconnected before the response ended");
// otherwise kRejected with the rejection's message, or kCompleted with no error.
// Allocates nothing for a completed exchange.
ExchangeResult DecideOutcome(const ExchangeFacts& facts);

}  // namespace cn::proxy
