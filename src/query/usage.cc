#include "query/usage.h"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <map>
#include <vector>

#include "common/time.h"

namespace cn::query {
namespace json = boost::json;

namespace {

constexpr std::int64_t kMinuteUs = 60'000'000;
constexpr std::int64_t kHourUs = 60 * kMinuteUs;
constexpr std::int64_t kDayUs = 24 * kHourUs;
// The original's fixed 5-hour output-token allowance. Only used where no response carried the
// account's real utilisation (anthropic-ratelimit-unified-5h-utilization).
constexpr std::int64_t kLegacyTokenLimit = 140000;

constexpr const char* kFailed =
    "(error IS NOT NULL OR response_status >= 400 OR outcome <> 'completed')";

json::value OptText(const SqlRow& row, int col) {
  if (row.IsNull(col)) return nullptr;
  return json::string(row.Text(col));
}
json::value OptDouble(const SqlRow& row, int col) {
  if (row.IsNull(col)) return nullptr;
  return row.Double(col);
}

std::string Iso(std::int64_t us) { return FormatIso8601(us); }
std::string IsoSeconds(std::int64_t unix_seconds) { return FormatIso8601(unix_seconds * 1000000); }

// Runs `sql` and hands each row to `f`.
template <typename F>
Status Each(SqlReader& r, const std::string& sql, const std::vector<SqlParam>& params, F f) {
  return r.Query(sql, params, [&](const SqlRow& row) {
    f(row);
    return true;
  });
}

// Sum of per-minute values in (t - window, t] for each point t, from (minute start, value)
// pairs sorted by minute.
std::int64_t TrailingSum(const std::vector<std::pair<std::int64_t, std::int64_t>>& minutes,
                         std::int64_t t, std::int64_t window) {
  std::int64_t sum = 0;
  for (const auto& [m, v] : minutes) {
    if (m > t - window && m <= t) sum += v;
  }
  return sum;
}

// The account's most recent quota state, or null when no response carried one.
StatusOr<json::value> LatestQuota(SqlReader& r, const std::string& account_id) {
  json::value out = nullptr;
  const SqlDialect d = r.dialect();
  Status st =
      Each(r,
           "SELECT quota_status, quota_5h_utilization, quota_5h_reset, "
           "quota_7d_utilization, quota_7d_reset, " +
               TsUs(d) + ", ratelimit" + (d == SqlDialect::kPostgres ? "::text" : "") +
               " FROM api_requests WHERE account_id = ? AND quota_status IS NOT NULL "
               "ORDER BY timestamp DESC LIMIT 1",
           {SqlParam::Text(account_id)}, [&](const SqlRow& row) {
             json::object windows;
             windows["5h"] =
                 json::object{{"utilization", OptDouble(row, 1)},
                              {"resetsAt", row.IsNull(2) ? json::value(nullptr)
                                                         : json::value(IsoSeconds(row.Int(2)))}};
             windows["7d"] =
                 json::object{{"utilization", OptDouble(row, 3)},
                              {"resetsAt", row.IsNull(4) ? json::value(nullptr)
                                                         : json::value(IsoSeconds(row.Int(4)))}};
             json::value headers = nullptr;
             if (!row.IsNull(6)) {
               boost::system::error_code ec;
               headers = json::parse(row.Text(6), ec);
               if (ec) headers = nullptr;
             }
             out = json::object{{"status", OptText(row, 0)},
                                {"windows", std::move(windows)},
                                {"observedAt", Iso(row.Int(5))},
                                {"headers", std::move(headers)}};
           });
  if (!st.ok()) return st;
  return out;
}

}  // namespace

StatusOr<json::object> Stats(SqlReader& r, const RequestFilter& f) {
  Where w;
  AddRequestFilter(r.dialect(), f, &w);
  json::object o;
  Status st = Each(
      r,
      std::string("SELECT count(*), COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), "
                  "0), COALESCE(SUM(cache_creation_input_tokens), 0), "
                  "COALESCE(SUM(cache_read_input_tokens), 0), AVG(duration_ms), "
                  "COALESCE(SUM(CASE WHEN ") +
          kFailed +
          " THEN 1 ELSE 0 END), 0), COUNT(DISTINCT domain), COALESCE(SUM(cost_usd), 0), "
          "COALESCE(SUM(CASE WHEN cost_usd IS NULL AND request_type IN ('inference', "
          "'query_evaluation') THEN 1 ELSE 0 END), 0) FROM api_requests" +
          w.Sql(),
      w.params(), [&](const SqlRow& row) {
        o["totalRequests"] = row.Int(0);
        o["totalTokens"] = row.Int(1) + row.Int(2);
        o["totalInputTokens"] = row.Int(1);
        o["totalOutputTokens"] = row.Int(2);
        o["totalCacheCreationTokens"] = row.Int(3);
        o["totalCacheReadTokens"] = row.Int(4);
        o["averageResponseTime"] = row.IsNull(5) ? 0.0 : row.Double(5);
        o["errorCount"] = row.Int(6);
        o["activeDomains"] = row.Int(7);
        o["totalCostUsd"] = row.Double(8);
        o["unpricedRequests"] = row.Int(9);
      });
  if (!st.ok()) return st;
  auto group = [&](const char* column, const char* key) -> Status {
    json::object m;
    Status s = Each(r,
                    std::string("SELECT ") + column + ", count(*) FROM api_requests" + w.Sql() +
                        " GROUP BY " + column + " ORDER BY count(*) DESC",
                    w.params(), [&](const SqlRow& row) {
                      m[row.IsNull(0) ? std::string("unknown") : std::string(row.Text(0))] =
                          row.Int(1);
                    });
    o[key] = std::move(m);
    return s;
  };
  if (Status s = group("model", "requestsByModel"); !s.ok()) return s;
  if (Status s = group("request_type", "requestsByType"); !s.ok()) return s;
  if (Status s = group("outcome", "requestsByOutcome"); !s.ok()) return s;
  return o;
}

StatusOr<json::object> DashboardStats(SqlReader& r, const RequestFilter& f, std::int64_t now_us) {
  const SqlDialect d = r.dialect();
  Where w;
  AddRequestFilter(d, f, &w);
  w.Add("conversation_id IS NOT NULL");
  json::object o;
  Status st = Each(r,
                   "SELECT count(DISTINCT conversation_id), count(DISTINCT account_id), count(*), "
                   "COALESCE(SUM(input_tokens), 0) + COALESCE(SUM(output_tokens), 0), "
                   "COALESCE(SUM(cost_usd), 0) FROM api_requests" +
                       w.Sql(),
                   w.params(), [&](const SqlRow& row) {
                     o["totalConversations"] = row.Int(0);
                     o["activeUsers"] = row.Int(1);
                     o["totalRequests"] = row.Int(2);
                     o["totalTokens"] = row.Int(3);
                     o["totalCostUsd"] = row.Double(4);
                   });
  if (!st.ok()) return st;
  st = Each(r,
            "SELECT count(*), COALESCE(SUM(CASE WHEN branch_id LIKE 'subtask%' THEN 1 ELSE 0 END), "
            "0), COALESCE(SUM(CASE WHEN branch_id LIKE 'compact%' THEN 1 ELSE 0 END), 0) FROM "
            "(SELECT DISTINCT conversation_id, branch_id FROM api_requests" +
                w.Sql() + ") b",
            w.params(), [&](const SqlRow& row) {
              o["totalBranches"] = row.Int(0);
              o["subtaskBranches"] = row.Int(1);
              o["compactBranches"] = row.Int(2);
            });
  if (!st.ok()) return st;
  json::array models;
  st = Each(r,
            "SELECT DISTINCT model FROM api_requests" + w.Sql() + (w.empty() ? " WHERE" : " AND") +
                " model IS NOT NULL ORDER BY model",
            w.params(), [&](const SqlRow& row) { models.push_back(json::string(row.Text(0))); });
  if (!st.ok()) return st;
  o["modelsUsedCount"] = models.size();
  o["modelsUsed"] = std::move(models);
  RequestFilter day = f;
  day.since_us = std::max(f.since_us.value_or(now_us - kDayUs), now_us - kDayUs);
  Where wd;
  AddRequestFilter(d, day, &wd);
  wd.Add("conversation_id IS NOT NULL");
  st = Each(r,
            "SELECT count(*), count(DISTINCT conversation_id), count(DISTINCT account_id) FROM "
            "api_requests" +
                wd.Sql(),
            wd.params(), [&](const SqlRow& row) {
              o["last24Hours"] = json::object{{"requests", row.Int(0)},
                                              {"conversations", row.Int(1)},
                                              {"activeUsers", row.Int(2)}};
            });
  if (!st.ok()) return st;
  json::array hourly;
  st = Each(
      r,
      "SELECT " + HourUs(d) +
          " AS h, count(*), COALESCE(SUM(input_tokens), 0) + COALESCE(SUM(output_tokens), "
          "0) FROM api_requests" +
          wd.Sql() + " GROUP BY h ORDER BY h",
      wd.params(), [&](const SqlRow& row) {
        hourly.push_back(json::object{
            {"hour", Iso(row.Int(0))}, {"requestCount", row.Int(1)}, {"tokenCount", row.Int(2)}});
      });
  if (!st.ok()) return st;
  o["hourlyActivity"] = std::move(hourly);
  return o;
}

StatusOr<json::object> Domains(SqlReader& r, const RequestFilter& f) {
  Where w;
  AddRequestFilter(r.dialect(), f, &w);
  json::array domains;
  Status st = Each(r,
                   "SELECT domain, count(*) FROM api_requests" + w.Sql() +
                       " GROUP BY domain ORDER BY count(*) DESC, domain",
                   w.params(), [&](const SqlRow& row) {
                     domains.push_back(json::object{{"domain", json::string(row.Text(0))},
                                                    {"requestCount", row.Int(1)}});
                   });
  if (!st.ok()) return st;
  return json::object{{"domains", std::move(domains)}};
}

StatusOr<json::object> CurrentWindow(SqlReader& r, const RequestFilter& f,
                                     std::int64_t window_minutes, std::int64_t now_us) {
  RequestFilter w = f;
  w.since_us = now_us - window_minutes * kMinuteUs;
  w.until_us = now_us;
  Where where;
  AddRequestFilter(r.dialect(), w, &where);
  json::object o{{"accountId", f.account_id},
                 {"domain", f.domain.empty() ? std::string("all") : f.domain},
                 {"model", f.model.empty() ? std::string("all") : f.model},
                 {"windowStart", Iso(*w.since_us)},
                 {"windowEnd", Iso(now_us)}};
  Status st = Each(r,
                   "SELECT COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0), "
                   "count(*), COALESCE(SUM(cache_creation_input_tokens), 0), "
                   "COALESCE(SUM(cache_read_input_tokens), 0), COALESCE(SUM(cost_usd), 0) FROM "
                   "api_requests" +
                       where.Sql(),
                   where.params(), [&](const SqlRow& row) {
                     o["totalInputTokens"] = row.Int(0);
                     o["totalOutputTokens"] = row.Int(1);
                     o["totalTokens"] = row.Int(0) + row.Int(1);
                     o["totalRequests"] = row.Int(2);
                     o["cacheCreationInputTokens"] = row.Int(3);
                     o["cacheReadInputTokens"] = row.Int(4);
                     o["costUsd"] = row.Double(5);
                   });
  if (!st.ok()) return st;
  auto quota = LatestQuota(r, f.account_id);
  if (!quota.ok()) return quota.status();
  o["quota"] = std::move(*quota);
  return o;
}

StatusOr<json::object> Daily(SqlReader& r, const RequestFilter& f, int days, bool aggregate,
                             std::int64_t now_us) {
  const SqlDialect d = r.dialect();
  RequestFilter w = f;
  w.since_us = (now_us / kDayUs - (days - 1)) * kDayUs;
  Where where;
  AddRequestFilter(d, w, &where);
  const std::string keys = "day, account_id, domain" + std::string(aggregate ? "" : ", model");
  json::array usage;
  Status st =
      Each(r,
           "SELECT " + DayUs(d) + " AS day, account_id, domain" + (aggregate ? "" : ", model") +
               ", COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0), count(*), "
               "COALESCE(SUM(cost_usd), 0) FROM api_requests" +
               where.Sql() + " GROUP BY " + keys + " ORDER BY day DESC, domain",
           where.params(), [&](const SqlRow& row) {
             int c = aggregate ? 3 : 4;
             json::object u{{"date", Iso(row.Int(0)).substr(0, 10)},
                            {"accountId", OptText(row, 1)},
                            {"domain", OptText(row, 2)}};
             if (!aggregate) u["model"] = OptText(row, 3);
             u["totalInputTokens"] = row.Int(c);
             u["totalOutputTokens"] = row.Int(c + 1);
             u["totalTokens"] = row.Int(c) + row.Int(c + 1);
             u["totalRequests"] = row.Int(c + 2);
             u["costUsd"] = row.Double(c + 3);
             usage.push_back(std::move(u));
           });
  if (!st.ok()) return st;
  return json::object{{"usage", std::move(usage)}};
}

namespace {

// Output tokens per minute of the filter's rows in [from, to).
StatusOr<std::vector<std::pair<std::int64_t, std::int64_t>>> OutputPerMinute(SqlReader& r,
                                                                             const RequestFilter& f,
                                                                             std::int64_t from,
                                                                             std::int64_t to) {
  RequestFilter w = f;
  w.since_us = from;
  w.until_us = to;
  Where where;
  AddRequestFilter(r.dialect(), w, &where);
  std::vector<std::pair<std::int64_t, std::int64_t>> out;
  Status st =
      Each(r,
           "SELECT " + BucketUs(r.dialect(), 1) +
               " AS m, COALESCE(SUM(output_tokens), 0) FROM api_requests" + where.Sql() +
               " GROUP BY m ORDER BY m",
           where.params(), [&](const SqlRow& row) { out.emplace_back(row.Int(0), row.Int(1)); });
  if (!st.ok()) return st;
  return out;
}

}  // namespace

StatusOr<json::object> TimeSeries(SqlReader& r, const RequestFilter& f, int window_hours,
                                  int interval_minutes, std::int64_t now_us) {
  const std::int64_t window = window_hours * kHourUs;
  const std::int64_t step = interval_minutes * kMinuteUs;
  auto minutes = OutputPerMinute(r, f, now_us - 2 * window, now_us + 1);
  if (!minutes.ok()) return minutes.status();
  json::array series;
  for (std::int64_t t = now_us - window; t <= now_us; t += step) {
    std::int64_t used = TrailingSum(*minutes, t, window);
    series.push_back(
        json::object{{"time", Iso(t)},
                     {"outputTokens", used},
                     {"cumulativeUsage", used},
                     {"remaining", std::max<std::int64_t>(0, kLegacyTokenLimit - used)},
                     {"percentageUsed", static_cast<double>(used) * 100.0 / kLegacyTokenLimit}});
  }
  auto quota = LatestQuota(r, f.account_id);
  if (!quota.ok()) return quota.status();
  return json::object{{"accountId", f.account_id},           {"windowHours", window_hours},
                      {"intervalMinutes", interval_minutes}, {"tokenLimit", kLegacyTokenLimit},
                      {"quota", std::move(*quota)},          {"timeSeries", std::move(series)}};
}

StatusOr<json::object> Accounts(SqlReader& r, std::int64_t now_us) {
  const SqlDialect d = r.dialect();
  const std::int64_t window = 5 * kHourUs;
  RequestFilter f;
  f.since_us = now_us - window;
  Where w;
  AddRequestFilter(d, f, &w);
  w.Add("account_id IS NOT NULL");
  struct Account {
    json::object o;
    json::array domains;
  };
  std::map<std::string, Account> accounts;
  std::vector<std::string> order;
  Status st =
      Each(r,
           "SELECT account_id, COALESCE(SUM(output_tokens), 0), COALESCE(SUM(input_tokens), "
           "0), count(*), MAX(" +
               TsUs(d) + "), COALESCE(SUM(cost_usd), 0) FROM api_requests" + w.Sql() +
               " GROUP BY account_id ORDER BY 2 DESC, account_id",
           w.params(), [&](const SqlRow& row) {
             std::string id(row.Text(0));
             order.push_back(id);
             accounts[id].o = json::object{{"accountId", id},
                                           {"outputTokens", row.Int(1)},
                                           {"inputTokens", row.Int(2)},
                                           {"requestCount", row.Int(3)},
                                           {"lastRequestTime", Iso(row.Int(4))},
                                           {"costUsd", row.Double(5)}};
           });
  if (!st.ok()) return st;
  st = Each(r,
            "SELECT account_id, domain, COALESCE(SUM(output_tokens), 0), count(*) FROM "
            "api_requests" +
                w.Sql() + " GROUP BY account_id, domain ORDER BY 3 DESC, domain",
            w.params(), [&](const SqlRow& row) {
              accounts[std::string(row.Text(0))].domains.push_back(
                  json::object{{"domain", json::string(row.Text(1))},
                               {"outputTokens", row.Int(2)},
                               {"requests", row.Int(3)}});
            });
  if (!st.ok()) return st;
  json::array out;
  for (const auto& id : order) {
    Account& a = accounts[id];
    RequestFilter af;
    af.account_id = id;
    auto minutes = OutputPerMinute(r, af, now_us - 2 * window, now_us + 1);
    if (!minutes.ok()) return minutes.status();
    json::array mini;
    for (std::int64_t t = now_us - window; t <= now_us; t += 15 * kMinuteUs) {
      mini.push_back(json::object{
          {"time", Iso(t)},
          {"remaining",
           std::max<std::int64_t>(0, kLegacyTokenLimit - TrailingSum(*minutes, t, window))}});
    }
    auto quota = LatestQuota(r, id);
    if (!quota.ok()) return quota.status();
    const std::int64_t used = a.o["outputTokens"].as_int64();
    double pct = static_cast<double>(used) * 100.0 / kLegacyTokenLimit;
    std::string source = "estimate";
    if (quota->is_object()) {
      const auto& u =
          quota->as_object().at("windows").as_object().at("5h").as_object().at("utilization");
      if (u.is_double()) {
        pct = u.as_double() * 100.0;
        source = "headers";
      }
    }
    a.o["remainingTokens"] = std::max<std::int64_t>(0, kLegacyTokenLimit - used);
    a.o["percentageUsed"] = pct;
    a.o["percentageSource"] = source;
    a.o["quota"] = std::move(*quota);
    a.o["domains"] = std::move(a.domains);
    a.o["miniSeries"] = std::move(mini);
    out.push_back(std::move(a.o));
  }
  return json::object{{"accounts", std::move(out)}, {"tokenLimit", kLegacyTokenLimit}};
}

StatusOr<json::object> SlidingWindow(SqlReader& r, const RequestFilter& f, int days,
                                     int bucket_minutes, int window_hours, std::int64_t now_us) {
  const SqlDialect d = r.dialect();
  const std::int64_t bucket = bucket_minutes * kMinuteUs;
  const std::int64_t window = window_hours * kHourUs;
  const std::int64_t first = (now_us - days * kDayUs) / bucket * bucket;
  RequestFilter w = f;
  w.since_us = first - window;
  w.until_us = now_us + 1;
  Where where;
  AddRequestFilter(d, w, &where);
  std::map<std::int64_t, std::pair<std::int64_t, bool>> buckets;  // start -> tokens, warning
  Status st = Each(r,
                   "SELECT " + BucketUs(d, bucket_minutes) +
                       " AS b, COALESCE(SUM(output_tokens), 0), MAX(CASE WHEN quota_status = "
                       "'allowed_warning' THEN 1 ELSE 0 END) FROM api_requests" +
                       where.Sql() + " GROUP BY b ORDER BY b",
                   where.params(), [&](const SqlRow& row) {
                     buckets[row.Int(0)] = {row.Int(1), row.Int(2) != 0};
                   });
  if (!st.ok()) return st;
  json::array data;
  for (std::int64_t t = first; t <= now_us; t += bucket) {
    std::int64_t sum = 0;
    bool warning = false;
    for (auto it = buckets.upper_bound(t - window); it != buckets.end() && it->first <= t; ++it) {
      sum += it->second.first;
      warning = warning || it->second.second;
    }
    data.push_back(json::object{{"time_bucket", Iso(t)},
                                {"sliding_window_tokens", sum},
                                {"rate_limit_warning_in_window", warning}});
  }
  return json::object{{"accountId", f.account_id},
                      {"params", json::object{{"days", days},
                                              {"bucketMinutes", bucket_minutes},
                                              {"windowHours", window_hours}}},
                      {"data", std::move(data)}};
}

StatusOr<json::object> Hourly(SqlReader& r, const RequestFilter& f, int days, bool tokens,
                              std::int64_t now_us) {
  const SqlDialect d = r.dialect();
  RequestFilter w = f;
  w.since_us = now_us - days * kDayUs;
  Where where;
  AddRequestFilter(d, w, &where);
  json::object data;
  Status st = Each(
      r,
      "SELECT domain, " + HourUs(d) + " AS h, " +
          (tokens ? "COALESCE(SUM(output_tokens), 0)" : "count(*)") + " FROM api_requests" +
          where.Sql() + " GROUP BY domain, h ORDER BY domain, h",
      where.params(), [&](const SqlRow& row) {
        std::string domain(row.Text(0));
        json::value& list = data[domain];
        if (!list.is_array()) list = json::array();
        list.as_array().push_back(json::object{{"hour", Iso(row.Int(1))}, {"count", row.Int(2)}});
      });
  if (!st.ok()) return st;
  return json::object{{"data", std::move(data)},
                      {"query", json::object{{"domain", f.domain.empty() ? json::value(nullptr)
                                                                         : json::value(f.domain)},
                                             {"days", days}}}};
}

namespace {

enum class Per { kUser, kSession, kApiKey };

StatusOr<json::object> PerKey(SqlReader& r, const RequestFilter& f, std::int64_t limit, Per per) {
  const SqlDialect d = r.dialect();
  Where w;
  AddRequestFilter(d, f, &w);
  const char* key = per == Per::kSession ? "session_id"
                    : per == Per::kUser  ? "user_id"
                                         : "api_key_hash";
  // The second column: a session's user; a user's or a key's number of sessions.
  const char* second = per == Per::kSession ? "MAX(user_id)" : "count(DISTINCT session_id)";
  w.Add(std::string(key) + " IS NOT NULL");
  json::array out;
  Status st = Each(
      r,
      std::string("SELECT ") + key + ", " + second +
          ", count(*), COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0), "
          "COALESCE(SUM(cache_creation_input_tokens), 0), COALESCE(SUM(cache_read_input_tokens), "
          "0), COALESCE(SUM(cost_usd), 0), MIN(" +
          TsUs(d) + "), MAX(" + TsUs(d) + ") AS last, COALESCE(SUM(CASE WHEN " + kFailed +
          " THEN 1 ELSE 0 END), 0), MAX(account_id), count(DISTINCT domain), "
          "count(DISTINCT user_id) FROM api_requests" +
          w.Sql() + " GROUP BY " + key + " ORDER BY last DESC LIMIT ?",
      Params(w.params(), {SqlParam::Int(limit)}), [&](const SqlRow& row) {
        json::object o;
        switch (per) {
          case Per::kSession:
            o["sessionId"] = json::string(row.Text(0));
            o["userId"] = OptText(row, 1);
            break;
          case Per::kUser:
            o["userId"] = json::string(row.Text(0));
            o["sessions"] = row.Int(1);
            break;
          case Per::kApiKey:
            o["apiKeyHash"] = json::string(row.Text(0));
            o["sessions"] = row.Int(1);
            o["users"] = row.Int(13);
            break;
        }
        o["requests"] = row.Int(2);
        o["inputTokens"] = row.Int(3);
        o["outputTokens"] = row.Int(4);
        o["cacheCreationInputTokens"] = row.Int(5);
        o["cacheReadInputTokens"] = row.Int(6);
        o["costUsd"] = row.Double(7);
        o["firstSeen"] = Iso(row.Int(8));
        o["lastSeen"] = Iso(row.Int(9));
        o["errors"] = row.Int(10);
        o["accountId"] = OptText(row, 11);
        o["domains"] = row.Int(12);
        out.push_back(std::move(o));
      });
  if (!st.ok()) return st;
  const char* name = per == Per::kSession ? "sessions" : per == Per::kUser ? "users" : "keys";
  return json::object{{name, std::move(out)}};
}

}  // namespace

StatusOr<json::object> Users(SqlReader& r, const RequestFilter& f, std::int64_t limit) {
  return PerKey(r, f, limit, Per::kUser);
}

StatusOr<json::object> Sessions(SqlReader& r, const RequestFilter& f, std::int64_t limit) {
  return PerKey(r, f, limit, Per::kSession);
}

StatusOr<json::object> ApiKeys(SqlReader& r, const RequestFilter& f, std::int64_t limit) {
  return PerKey(r, f, limit, Per::kApiKey);
}

StatusOr<json::object> RateLimits(SqlReader& r, const RequestFilter& f) {
  const SqlDialect d = r.dialect();
  Where w;
  AddRequestFilter(d, f, &w);
  w.Add("quota_status IS NOT NULL");
  json::array history;
  json::array crossings;
  std::string last_key;
  double max5 = -1, max7 = -1;
  bool warned = false, rejected = false, over80 = false, over90 = false;
  Status st =
      Each(r,
           "SELECT " + TsUs(d) +
               ", quota_status, quota_5h_utilization, quota_5h_reset, quota_7d_utilization, "
               "quota_7d_reset, " +
               IdText(d, "request_id") + " FROM api_requests" + w.Sql() +
               " ORDER BY timestamp, request_id",
           w.params(), [&](const SqlRow& row) {
             const std::string at = Iso(row.Int(0));
             const std::string status(row.Text(1));
             const double u5 = row.IsNull(2) ? -1 : row.Double(2);
             const double u7 = row.IsNull(4) ? -1 : row.Double(4);
             // One sample per change of status, utilisation (to the percent) or reset time.
             std::string key = status + "|" + std::to_string(static_cast<int>(u5 * 100)) + "|" +
                               std::to_string(static_cast<int>(u7 * 100)) + "|" +
                               std::string(row.Text(3)) + "|" + std::string(row.Text(5));
             auto cross = [&](bool& flag, bool now, const char* level) {
               if (now && !flag) {
                 crossings.push_back(json::object{
                     {"level", level}, {"at", at}, {"requestId", json::string(row.Text(6))}});
               }
               flag = now;
             };
             cross(warned, status == "allowed_warning", "allowed_warning");
             cross(rejected, status == "rejected", "rejected");
             cross(over80, std::max(u5, u7) >= 0.8, "80%");
             cross(over90, std::max(u5, u7) >= 0.9, "90%");
             max5 = std::max(max5, u5);
             max7 = std::max(max7, u7);
             if (key == last_key) return;
             last_key = key;
             history.push_back(json::object{
                 {"at", at},
                 {"status", status},
                 {"utilization5h", OptDouble(row, 2)},
                 {"resetsAt5h",
                  row.IsNull(3) ? json::value(nullptr) : json::value(IsoSeconds(row.Int(3)))},
                 {"utilization7d", OptDouble(row, 4)},
                 {"resetsAt7d",
                  row.IsNull(5) ? json::value(nullptr) : json::value(IsoSeconds(row.Int(5)))},
                 {"requestId", json::string(row.Text(6))}});
           });
  if (!st.ok()) return st;
  json::value current = nullptr;
  if (!f.account_id.empty()) {
    auto q = LatestQuota(r, f.account_id);
    if (!q.ok()) return q.status();
    current = std::move(*q);
  }
  return json::object{
      {"accountId", f.account_id.empty() ? json::value(nullptr) : json::value(f.account_id)},
      {"current", std::move(current)},
      {"history", std::move(history)},
      {"crossings", std::move(crossings)},
      {"peak",
       json::object{{"utilization5h", max5 < 0 ? json::value(nullptr) : json::value(max5)},
                    {"utilization7d", max7 < 0 ? json::value(nullptr) : json::value(max7)}}}};
}

}  // namespace cn::query
