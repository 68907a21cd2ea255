#include "proxy/outcome.h"

#include <utility>

namespace cn::proxy {

ExchangeResult DecideOutcome(const ExchangeFacts& facts) {
  if (facts.aborted) return {Outcome::kClientAborted, std::string(facts.abort_reason)};
  switch (facts.upstream_failure) {
    case UpstreamFailure::kBeforeResponse: {
      std::string error(facts.upstream_timed_out ? "upstream timeout: " : "upstream unreachable: ");
      error += facts.upstream_error;
      return {Outcome::kUpstreamFailed, std::move(error)};
    }
    case UpstreamFailure::kMidResponse: {
      std::string error("upstream failed mid-response: ");
      error += facts.upstream_error;
      return {Outcome::kUpstreamFailed, std::move(error)};
    }
    case UpstreamFailure::kNone:
      break;
  }
  std::string error;
  if (facts.rejected) error = facts.rejection;
  if (facts.client_gone) {
    if (error.empty()) error = "client disconnected before the response ended";
    return {Outcome::kClientAborted, std::move(error)};
  }
  return {facts.rejected ? Outcome::kRejected : Outcome::kCompleted, std::move(error)};
}

}  // namespace cn::proxy
