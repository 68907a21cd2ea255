// Aggregates: overall statistics, domains, token usage per account and window, hourly series,
// per-developer and per-session usage, and the quota history from the rate-limit headers — the
// read model behind /api/stats, /api/dashboard/stats, /api/domains, /api/token-usage/*,
// /api/analytics/token-usage/sliding-window, /api/usage/*/hourly, /api/users, /api/sessions and
// /api/ratelimits (docs/api.md gives each response's shape).
//
// Every function takes `now_us` (the caller's clock) so windows are reproducible in tests.
// Thread-safety: free functions; each call uses only the reader it is given.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <string>

#include "common/status.h"
#include "query/requests.h"
#include "storage/reader.h"

namespace cn::query {

// /api/stats: totals over the filter (the API defaults since to 24 h ago).
StatusOr<boost::json::object> Stats(SqlReader& r, const RequestFilter& f);

// /api/dashboard/stats: conversation, branch and model counts over rows with a conversation,
// the last 24 h, and hourly activity over the last 24 h.
StatusOr<boost::json::object> DashboardStats(SqlReader& r, const RequestFilter& f,
                                             std::int64_t now_us);

// /api/domains: request count per domain over the filter, most requests first.
StatusOr<boost::json::object> Domains(SqlReader& r, const RequestFilter& f);

// /api/token-usage/current: sums over [now - window, now) for an account (filter.account_id).
StatusOr<boost::json::object> CurrentWindow(SqlReader& r, const RequestFilter& f,
                                            std::int64_t window_minutes, std::int64_t now_us);

// /api/token-usage/daily: per UTC day (and model unless aggregate) over the last `days`.
StatusOr<boost::json::object> Daily(SqlReader& r, const RequestFilter& f, int days, bool aggregate,
                                    std::int64_t now_us);

// /api/token-usage/time-series: output tokens in the trailing window at each interval point.
StatusOr<boost::json::object> TimeSeries(SqlReader& r, const RequestFilter& f, int window_hours,
                                         int interval_minutes, std::int64_t now_us);

// /api/token-usage/accounts: accounts active in the last 5 h with their latest quota state.
StatusOr<boost::json::object> Accounts(SqlReader& r, std::int64_t now_us);

// /api/analytics/token-usage/sliding-window.
StatusOr<boost::json::object> SlidingWindow(SqlReader& r, const RequestFilter& f, int days,
                                            int bucket_minutes, int window_hours,
                                            std::int64_t now_us);

// /api/usage/requests/hourly (tokens = false) and /api/usage/tokens/hourly (tokens = true).
StatusOr<boost::json::object> Hourly(SqlReader& r, const RequestFilter& f, int days, bool tokens,
                                     std::int64_t now_us);

// /api/users and /api/sessions: usage and cost per user_id / session_id over the filter.
StatusOr<boost::json::object> Users(SqlReader& r, const RequestFilter& f, std::int64_t limit);
StatusOr<boost::json::object> Sessions(SqlReader& r, const RequestFilter& f, std::int64_t limit);
// /api/keys: the same per presented API key in passthrough mode (api_key_hash).
StatusOr<boost::json::object> ApiKeys(SqlReader& r, const RequestFilter& f, std::int64_t limit);

// /api/ratelimits: the account's latest quota state, its history (one sample per change of
// status or utilisation) and when it crossed the warning levels, over the filter's time range.
StatusOr<boost::json::object> RateLimits(SqlReader& r, const RequestFilter& f);

}  // namespace cn::query
