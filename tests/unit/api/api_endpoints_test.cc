// The aggregate endpoints of the JSON API on both stores: /api/stats, /api/dashboard/stats,
// /api/domains, /api/conversations(/:id), /api/token-usage/*, the sliding window, the hourly
// series, /api/users, /api/sessions, /api/ratelimits and /api/search — against the data set of
// api_test_support.h, with the expected numbers worked out by hand from it.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "api_test_support.h"

namespace cn::api::testing {
namespace {
namespace json = boost::json;

constexpr std::int64_t kT = kNowUs;

class EndpointsApiTest : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    Write(Dataset());
  }
  // GET that must answer 200.
  json::value Ok(const std::string& target) {
    Reply r = Get(target);
    EXPECT_EQ(r.status, 200) << target << ": " << r.response.body;
    return r.body;
  }
};

TEST_P(EndpointsApiTest, ApiRootListsTheEndpoints) {
  json::value v = Ok("/api");
  ASSERT_TRUE(v.at("endpoints").is_array());
  std::set<std::string> endpoints;
  for (const auto& e : v.at("endpoints").as_array()) endpoints.insert(std::string(e.as_string()));
  EXPECT_TRUE(endpoints.count("/api/requests"));
  EXPECT_TRUE(endpoints.count("/api/search"));
  EXPECT_TRUE(endpoints.count("/api/keys"));
  EXPECT_EQ(endpoints.size(), 21u);
  Reply r = Get("/api/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body.at("type"), "error");
  EXPECT_EQ(r.body.at("error").at("type"), "not_found_error");
}

TEST_P(EndpointsApiTest, StatsDefaultToTheLast24Hours) {
  json::value v = Ok("/api/stats");
  EXPECT_EQ(v.at("totalRequests").as_int64(), 8);
  EXPECT_EQ(v.at("totalInputTokens").as_int64(), 872);
  EXPECT_EQ(v.at("totalOutputTokens").as_int64(), 236);
  EXPECT_EQ(v.at("totalTokens").as_int64(), 1108);
  EXPECT_EQ(v.at("totalCacheCreationTokens").as_int64(), 10);
  EXPECT_EQ(v.at("totalCacheReadTokens").as_int64(), 20);
  EXPECT_NEAR(Num(v.at("averageResponseTime")), 1500, 1e-9);
  EXPECT_EQ(v.at("errorCount").as_int64(), 1);
  EXPECT_EQ(v.at("activeDomains").as_int64(), 2);
  EXPECT_NEAR(Num(v.at("totalCostUsd")), 0.0781, 1e-9);
  EXPECT_EQ(v.at("unpricedRequests").as_int64(), 0);
  EXPECT_EQ(v.at("requestsByModel"), json::parse(R"({"claude-sonnet-4":6,"claude-haiku-4":2})"));
  EXPECT_EQ(v.at("requestsByType"),
            json::parse(R"({"inference":6,"query_evaluation":1,"count_tokens":1})"));
  EXPECT_EQ(v.at("requestsByOutcome"), json::parse(R"({"completed":7,"upstream_failed":1})"));

  v = Ok("/api/stats?since=" + Iso(kT - 7 * kDayUs));
  EXPECT_EQ(v.at("totalRequests").as_int64(), 12);
  EXPECT_EQ(v.at("errorCount").as_int64(), 5);        // R4, B1 (429), B2 (aborted), X1, E1
  EXPECT_EQ(v.at("unpricedRequests").as_int64(), 2);  // B2, X1 (K1 is count_tokens)
  EXPECT_EQ(v.at("activeDomains").as_int64(), 3);
  EXPECT_EQ(v.at("requestsByModel").at("claude-opus-4").as_int64(), 2);
  EXPECT_EQ(v.at("requestsByOutcome"),
            json::parse(R"({"completed":9,"upstream_failed":1,"client_aborted":1,"rejected":1})"));

  v = Ok("/api/stats?since=" + Iso(kT - 7 * kDayUs) + "&domain=beta.example.com");
  EXPECT_EQ(v.at("totalRequests").as_int64(), 3);
  EXPECT_EQ(v.at("totalInputTokens").as_int64(), 1015);
  EXPECT_NEAR(Num(v.at("totalCostUsd")), 0.5001, 1e-9);
}

TEST_P(EndpointsApiTest, DashboardStats) {
  json::value v = Ok("/api/dashboard/stats");
  EXPECT_EQ(v.at("totalConversations").as_int64(), 3);
  EXPECT_EQ(v.at("activeUsers").as_int64(), 2);
  EXPECT_EQ(v.at("totalRequests").as_int64(), 8);
  EXPECT_EQ(v.at("totalTokens").as_int64(), 2510);
  EXPECT_NEAR(Num(v.at("totalCostUsd")), 0.578, 1e-9);
  EXPECT_EQ(v.at("totalBranches").as_int64(), 5);
  EXPECT_EQ(v.at("subtaskBranches").as_int64(), 1);
  EXPECT_EQ(v.at("compactBranches").as_int64(), 1);
  EXPECT_EQ(v.at("modelsUsed"), json::parse(R"(["claude-opus-4","claude-sonnet-4"])"));
  EXPECT_EQ(v.at("modelsUsedCount").as_int64(), 2);
  EXPECT_EQ(v.at("last24Hours"),
            json::parse(R"({"requests":6,"conversations":2,"activeUsers":1})"));
  json::array hourly{
      json::object{{"hour", Iso(kT - 3 * kHourUs)}, {"requestCount", 1}, {"tokenCount", 150}},
      json::object{{"hour", Iso(kT - 2 * kHourUs)}, {"requestCount", 3}, {"tokenCount", 415}},
      json::object{{"hour", Iso(kT - kHourUs)}, {"requestCount", 2}, {"tokenCount", 530}}};
  EXPECT_EQ(v.at("hourlyActivity"), hourly);

  v = Ok("/api/dashboard/stats?domain=beta.example.com");
  EXPECT_EQ(v.at("totalConversations").as_int64(), 1);
  EXPECT_EQ(v.at("totalRequests").as_int64(), 2);
  EXPECT_EQ(v.at("last24Hours").at("requests").as_int64(), 0);
  EXPECT_EQ(v.at("hourlyActivity").as_array().size(), 0u);
}

TEST_P(EndpointsApiTest, DomainsDefaultToSevenDays) {
  EXPECT_EQ(Ok("/api/domains"), json::parse(R"({"domains":[
      {"domain":"alpha.example.com","requestCount":8},
      {"domain":"beta.example.com","requestCount":3},
      {"domain":"gamma.example.com","requestCount":1}]})"));
  EXPECT_EQ(Ok("/api/domains?since=" + Iso(kT - kDayUs)), json::parse(R"({"domains":[
      {"domain":"alpha.example.com","requestCount":7},
      {"domain":"beta.example.com","requestCount":1}]})"));
}

TEST_P(EndpointsApiTest, ConversationListWithAggregates) {
  json::value v = Ok("/api/conversations");
  ASSERT_EQ(Strings(v.at("conversations"), "conversationId"),
            (std::vector<std::string>{ConvId(kC1), ConvId(kC2), ConvId(kC3)}));
  EXPECT_EQ(v.at("pagination"),
            json::parse(R"({"limit":50,"offset":0,"total":3,"totalPages":1,"page":1,
                            "hasMore":false})"));
  EXPECT_TRUE(v.at("nextCursor").is_null());

  const json::value& c1 = v.at("conversations").as_array()[0];
  EXPECT_EQ(c1.at("domain"), "alpha.example.com");
  EXPECT_EQ(c1.at("accountId"), "acc-a");
  EXPECT_EQ(c1.at("userId"), "user-1");
  EXPECT_EQ(c1.at("sessionId"), "session-1");
  EXPECT_EQ(Str(c1.at("firstMessageTime")), Iso(kT - 3 * kHourUs));
  EXPECT_EQ(Str(c1.at("lastMessageTime")), Iso(kT - 30 * kMinuteUs));
  EXPECT_EQ(c1.at("requestCount").as_int64(), 4);
  EXPECT_EQ(c1.at("messageCount").as_int64(), 4);
  EXPECT_EQ(c1.at("inputTokens").as_int64(), 750);
  EXPECT_EQ(c1.at("outputTokens").as_int64(), 210);
  EXPECT_EQ(c1.at("totalTokens").as_int64(), 960);
  EXPECT_NEAR(Num(c1.at("costUsd")), 0.075, 1e-9);
  EXPECT_EQ(c1.at("branchCount").as_int64(), 3);
  EXPECT_EQ(c1.at("userBranchCount").as_int64(), 1);
  EXPECT_EQ(c1.at("compactBranchCount").as_int64(), 1);
  EXPECT_EQ(c1.at("subtaskBranchCount").as_int64(), 0);
  EXPECT_EQ(c1.at("maxMessageCount").as_int64(), 3);
  EXPECT_EQ(c1.at("subtaskMessageCount").as_int64(), 0);
  EXPECT_EQ(c1.at("modelsUsed"), json::parse(R"(["claude-sonnet-4"])"));
  EXPECT_EQ(Str(c1.at("latestRequestId")), Id(kR4));
  EXPECT_EQ(c1.at("latestModel"), "claude-sonnet-4");
  EXPECT_EQ(c1.at("latestContextTokens").as_int64(), 300);
  EXPECT_FALSE(c1.at("isSubtask").as_bool());
  EXPECT_TRUE(c1.at("parentTaskRequestId").is_null());
  EXPECT_TRUE(c1.at("parentConversationId").is_null());

  const json::value& c2 = v.at("conversations").as_array()[1];
  EXPECT_TRUE(c2.at("isSubtask").as_bool());
  EXPECT_EQ(Str(c2.at("parentTaskRequestId")), Id(kR2));
  EXPECT_EQ(Str(c2.at("parentConversationId")), ConvId(kC1));
  EXPECT_EQ(c2.at("requestCount").as_int64(), 2);
  EXPECT_EQ(c2.at("totalTokens").as_int64(), 135);
  EXPECT_EQ(c2.at("subtaskBranchCount").as_int64(), 1);
  EXPECT_EQ(c2.at("subtaskMessageCount").as_int64(), 2);
  EXPECT_EQ(Str(c2.at("latestRequestId")), Id(kS2));
  EXPECT_EQ(c2.at("latestContextTokens").as_int64(), 60);

  const json::value& c3 = v.at("conversations").as_array()[2];
  EXPECT_EQ(c3.at("domain"), "beta.example.com");
  EXPECT_EQ(c3.at("modelsUsed"), json::parse(R"(["claude-opus-4"])"));
  EXPECT_EQ(Str(c3.at("latestRequestId")), Id(kB2));
  EXPECT_EQ(c3.at("branchCount").as_int64(), 1);
  EXPECT_EQ(c3.at("userBranchCount").as_int64(), 0);
  EXPECT_NEAR(Num(c3.at("costUsd")), 0.5, 1e-9);

  // Filters pick the conversations.
  EXPECT_EQ(Strings(Ok("/api/conversations?domain=beta.example.com").at("conversations"),
                    "conversationId"),
            std::vector<std::string>{ConvId(kC3)});
  EXPECT_EQ(Strings(Ok("/api/conversations?subtask=true").at("conversations"), "conversationId"),
            std::vector<std::string>{ConvId(kC2)});
}

TEST_P(EndpointsApiTest, ConversationPages) {
  json::value v = Ok("/api/conversations?limit=1&offset=1");
  EXPECT_EQ(Strings(v.at("conversations"), "conversationId"),
            std::vector<std::string>{ConvId(kC2)});
  EXPECT_EQ(v.at("pagination").at("page").as_int64(), 2);
  EXPECT_EQ(v.at("pagination").at("totalPages").as_int64(), 3);
  EXPECT_TRUE(v.at("pagination").at("hasMore").as_bool());

  std::vector<std::string> walked;
  std::string cursor;
  for (int pages = 0; pages < 10; ++pages) {
    v = Ok("/api/conversations?limit=1" + (cursor.empty() ? "" : "&cursor=" + cursor));
    for (auto& id : Strings(v.at("conversations"), "conversationId")) walked.push_back(id);
    if (v.at("nextCursor").is_null()) break;
    cursor = std::string(v.at("nextCursor").as_string());
  }
  EXPECT_EQ(walked, (std::vector<std::string>{ConvId(kC1), ConvId(kC2), ConvId(kC3)}));
}

TEST_P(EndpointsApiTest, ConversationDetail) {
  json::value v = Ok("/api/conversations/" + ConvId(kC1));
  EXPECT_EQ(Str(v.at("conversationId")), ConvId(kC1));
  EXPECT_EQ(v.at("domain"), "alpha.example.com");
  EXPECT_EQ(v.at("accountId"), "acc-a");
  EXPECT_FALSE(v.at("isSubtask").as_bool());
  EXPECT_EQ(Strings(v.at("requests"), "requestId"), Ids({kR1, kR2, kR3, kR4}));
  const json::value& t = v.at("totals");
  EXPECT_EQ(t.at("requests").as_int64(), 4);
  EXPECT_EQ(t.at("inputTokens").as_int64(), 750);
  EXPECT_EQ(t.at("outputTokens").as_int64(), 210);
  EXPECT_EQ(t.at("totalTokens").as_int64(), 960);
  EXPECT_EQ(t.at("cacheReadInputTokens").as_int64(), 20);
  EXPECT_EQ(t.at("cacheCreationInputTokens").as_int64(), 10);
  EXPECT_NEAR(Num(t.at("costUsd")), 0.075, 1e-9);
  EXPECT_EQ(t.at("errors").as_int64(), 1);
  EXPECT_EQ(Str(t.at("firstTimestamp")), Iso(kT - 3 * kHourUs));
  EXPECT_EQ(Str(t.at("lastTimestamp")), Iso(kT - 30 * kMinuteUs));
  EXPECT_EQ(t.at("durationMs").as_int64(), 150 * 60 * 1000);
  EXPECT_EQ(t.at("inferenceMs").as_int64(), 4 * 1500);
  EXPECT_EQ(Str(t.at("latestRequestId")), Id(kR4));
  EXPECT_EQ(t.at("contextTokens").as_int64(), 300);

  EXPECT_EQ(Strings(v.at("branches"), "branchId"),
            (std::vector<std::string>{"branch_1", "compact_1", "main"}));
  EXPECT_EQ(Strings(v.at("branches"), "kind"),
            (std::vector<std::string>{"user", "compact", "main"}));
  EXPECT_EQ(Strings(v.at("branches"), "requests"), (std::vector<std::string>{"1", "1", "2"}));
  const json::value& main = v.at("branches").as_array()[2];
  EXPECT_EQ(main.at("inputTokens").as_int64(), 300);
  EXPECT_EQ(Str(main.at("latestRequestId")), Id(kR2));
  EXPECT_EQ(main.at("errors").as_int64(), 0);
  EXPECT_EQ(v.at("branches").as_array()[1].at("errors").as_int64(), 1);

  ASSERT_EQ(v.at("subtasks").as_array().size(), 1u);
  EXPECT_EQ(v.at("subtasks").as_array()[0],
            (json::object{{"parentTaskRequestId", Id(kR2)},
                          {"conversationId", ConvId(kC2)},
                          {"firstRequestId", Id(kS1)},
                          {"timestamp", Iso(kT - 2 * kHourUs + kMinuteUs)}}));

  // The sub-agent's conversation, its id pasted upper-case.
  std::string upper = ConvId(kC2);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  v = Ok("/api/conversations/" + upper);
  EXPECT_EQ(Str(v.at("conversationId")), ConvId(kC2));
  EXPECT_TRUE(v.at("isSubtask").as_bool());
  EXPECT_EQ(Str(v.at("parentTaskRequestId")), Id(kR2));
  EXPECT_EQ(Strings(v.at("requests"), "requestId"), Ids({kS1, kS2}));
  EXPECT_EQ(Strings(v.at("branches"), "kind"), std::vector<std::string>{"subtask"});
  EXPECT_EQ(v.at("subtasks").as_array().size(), 0u);

  for (const std::string& id : {ConvId(99), std::string("nope")}) {
    Reply r = Get("/api/conversations/" + id);
    EXPECT_EQ(r.status, 404) << id;
    EXPECT_EQ(r.body, json::parse(R"({"error":"Conversation not found"})")) << id;
  }
}

void ExpectLatestQuotaOfAccA(const json::value& q) {
  ASSERT_TRUE(q.is_object()) << json::serialize(q);
  EXPECT_EQ(q.at("status"), "allowed_warning");
  EXPECT_NEAR(Num(q.at("windows").at("5h").at("utilization")), 0.92, 1e-6);
  EXPECT_EQ(Str(q.at("windows").at("5h").at("resetsAt")), Iso(kT + 2 * kHourUs));
  EXPECT_NEAR(Num(q.at("windows").at("7d").at("utilization")), 0.15, 1e-6);
  EXPECT_EQ(Str(q.at("windows").at("7d").at("resetsAt")), Iso(kT + 5 * kDayUs));
  EXPECT_EQ(Str(q.at("observedAt")), Iso(kT - 30 * kMinuteUs));
  ASSERT_TRUE(q.at("headers").is_object()) << json::serialize(q.at("headers"));
  EXPECT_EQ(q.at("headers").at("status"), "allowed_warning");
}

TEST_P(EndpointsApiTest, TokenUsageCurrentWindow) {
  ExpectBadRequest(Get("/api/token-usage/current"), "no accountId");
  json::value v = Ok("/api/token-usage/current?accountId=acc-a");
  EXPECT_EQ(v.at("accountId"), "acc-a");
  EXPECT_EQ(v.at("domain"), "all");
  EXPECT_EQ(v.at("model"), "all");
  EXPECT_EQ(Str(v.at("windowStart")), Iso(kT - 5 * kHourUs));
  EXPECT_EQ(Str(v.at("windowEnd")), Iso(kT));
  EXPECT_EQ(v.at("totalInputTokens").as_int64(), 867);
  EXPECT_EQ(v.at("totalOutputTokens").as_int64(), 235);
  EXPECT_EQ(v.at("totalTokens").as_int64(), 1102);
  EXPECT_EQ(v.at("totalRequests").as_int64(), 7);
  EXPECT_EQ(v.at("cacheCreationInputTokens").as_int64(), 10);
  EXPECT_EQ(v.at("cacheReadInputTokens").as_int64(), 20);
  EXPECT_NEAR(Num(v.at("costUsd")), 0.078, 1e-9);
  ExpectLatestQuotaOfAccA(v.at("quota"));

  // [kT-60m, kT): R3 exactly at the start is in, with R4 and K1.
  v = Ok("/api/token-usage/current?accountId=acc-a&window=60");
  EXPECT_EQ(Str(v.at("windowStart")), Iso(kT - kHourUs));
  EXPECT_EQ(v.at("totalInputTokens").as_int64(), 457);
  EXPECT_EQ(v.at("totalOutputTokens").as_int64(), 80);
  EXPECT_EQ(v.at("totalRequests").as_int64(), 3);
  v = Ok("/api/token-usage/current?accountId=acc-a&window=59");
  EXPECT_EQ(v.at("totalRequests").as_int64(), 2);

  v = Ok("/api/token-usage/current?accountId=acc-b&model=claude-haiku-4");
  EXPECT_EQ(v.at("model"), "claude-haiku-4");
  EXPECT_EQ(v.at("totalRequests").as_int64(), 1);
  EXPECT_TRUE(v.at("quota").is_null());
  ExpectBadRequest(Get("/api/token-usage/current?accountId=acc-a&window=0"), "window=0");
}

TEST_P(EndpointsApiTest, TokenUsageDaily) {
  json::value v = Ok("/api/token-usage/daily?aggregate=true");
  const json::array& u = v.at("usage").as_array();
  ASSERT_EQ(u.size(), 6u) << json::serialize(v);
  EXPECT_EQ(Strings(v.at("usage"), "date"),
            (std::vector<std::string>{"2026-03-10", "2026-03-10", "2026-03-09", "2026-03-08",
                                      "2026-03-06", "2026-03-04"}));
  EXPECT_EQ(
      Strings(v.at("usage"), "domain"),
      (std::vector<std::string>{"alpha.example.com", "beta.example.com", "beta.example.com",
                                "beta.example.com", "alpha.example.com", "gamma.example.com"}));
  EXPECT_EQ(u[0].at("accountId"), "acc-a");
  EXPECT_EQ(u[0].at("totalRequests").as_int64(), 7);
  EXPECT_EQ(u[0].at("totalInputTokens").as_int64(), 867);
  EXPECT_EQ(u[0].at("totalOutputTokens").as_int64(), 235);
  EXPECT_EQ(u[0].at("totalTokens").as_int64(), 1102);
  EXPECT_NEAR(Num(u[0].at("costUsd")), 0.078, 1e-9);
  EXPECT_FALSE(u[0].as_object().contains("model"));
  EXPECT_TRUE(u[5].at("accountId").is_null());

  v = Ok("/api/token-usage/daily");  // per model
  ASSERT_EQ(v.at("usage").as_array().size(), 7u) << json::serialize(v);
  std::set<std::tuple<std::string, std::string, std::string, std::int64_t>> today;
  for (const auto& e : v.at("usage").as_array()) {
    if (e.at("date") != "2026-03-10") continue;
    today.emplace(std::string(e.at("domain").as_string()), std::string(e.at("model").as_string()),
                  std::string(e.at("accountId").as_string()), e.at("totalRequests").as_int64());
  }
  EXPECT_EQ(today, (std::set<std::tuple<std::string, std::string, std::string, std::int64_t>>{
                       {"alpha.example.com", "claude-sonnet-4", "acc-a", 6},
                       {"alpha.example.com", "claude-haiku-4", "acc-a", 1},
                       {"beta.example.com", "claude-haiku-4", "acc-b", 1}}));

  v = Ok("/api/token-usage/daily?days=1&aggregate=1");
  EXPECT_EQ(v.at("usage").as_array().size(), 2u);
  v = Ok("/api/token-usage/daily?days=3&aggregate=true&accountId=acc-b");
  EXPECT_EQ(Strings(v.at("usage"), "date"),
            (std::vector<std::string>{"2026-03-10", "2026-03-09", "2026-03-08"}));
  ExpectBadRequest(Get("/api/token-usage/daily?days=0"), "days=0");
  ExpectBadRequest(Get("/api/token-usage/daily?aggregate=maybe"), "aggregate=maybe");
}

TEST_P(EndpointsApiTest, TokenUsageTimeSeries) {
  ExpectBadRequest(Get("/api/token-usage/time-series"), "no accountId");
  json::value v = Ok("/api/token-usage/time-series?accountId=acc-a");
  EXPECT_EQ(v.at("accountId"), "acc-a");
  EXPECT_EQ(v.at("windowHours").as_int64(), 5);
  EXPECT_EQ(v.at("intervalMinutes").as_int64(), 5);
  EXPECT_EQ(v.at("tokenLimit").as_int64(), 140000);
  ExpectLatestQuotaOfAccA(v.at("quota"));
  const json::array& s = v.at("timeSeries").as_array();
  ASSERT_EQ(s.size(), 61u);
  EXPECT_EQ(Str(s.front().at("time")), Iso(kT - 5 * kHourUs));
  EXPECT_EQ(s.front().at("outputTokens").as_int64(), 0);
  EXPECT_EQ(Str(s.back().at("time")), Iso(kT));
  EXPECT_EQ(s.back().at("outputTokens").as_int64(), 235);
  EXPECT_EQ(s.back().at("cumulativeUsage").as_int64(), 235);
  EXPECT_EQ(s.back().at("remaining").as_int64(), 140000 - 235);
  EXPECT_NEAR(Num(s.back().at("percentageUsed")), 235 * 100.0 / 140000, 1e-9);
  // kT-2h: R1 (kT-3h) and R2 (kT-2h) are in (kT-7h, kT-2h].
  EXPECT_EQ(Str(s[36].at("time")), Iso(kT - 2 * kHourUs));
  EXPECT_EQ(s[36].at("outputTokens").as_int64(), 130);
  ExpectBadRequest(Get("/api/token-usage/time-series?accountId=acc-a&window=169"), "window=169");
  ExpectBadRequest(Get("/api/token-usage/time-series?accountId=acc-a&window=168&interval=1"),
                   "too many points");
}

TEST_P(EndpointsApiTest, TokenUsageAccounts) {
  json::value v = Ok("/api/token-usage/accounts");
  EXPECT_EQ(v.at("tokenLimit").as_int64(), 140000);
  const json::array& a = v.at("accounts").as_array();
  ASSERT_EQ(Strings(v.at("accounts"), "accountId"), (std::vector<std::string>{"acc-a", "acc-b"}));
  EXPECT_EQ(a[0].at("outputTokens").as_int64(), 235);
  EXPECT_EQ(a[0].at("inputTokens").as_int64(), 867);
  EXPECT_EQ(a[0].at("requestCount").as_int64(), 7);
  EXPECT_EQ(Str(a[0].at("lastRequestTime")), Iso(kT - 5 * kMinuteUs));
  EXPECT_NEAR(Num(a[0].at("costUsd")), 0.078, 1e-9);
  EXPECT_EQ(a[0].at("remainingTokens").as_int64(), 140000 - 235);
  // The header utilisation when a quota row exists, the legacy estimate otherwise.
  EXPECT_EQ(a[0].at("percentageSource"), "headers");
  EXPECT_NEAR(Num(a[0].at("percentageUsed")), 92.0, 1e-4);
  ExpectLatestQuotaOfAccA(a[0].at("quota"));
  EXPECT_EQ(a[0].at("domains"),
            json::parse(R"([{"domain":"alpha.example.com","outputTokens":235,"requests":7}])"));
  EXPECT_EQ(a[0].at("miniSeries").as_array().size(), 21u);
  EXPECT_EQ(a[0].at("miniSeries").as_array().back().at("remaining").as_int64(), 140000 - 235);
  EXPECT_EQ(a[1].at("percentageSource"), "estimate");
  EXPECT_NEAR(Num(a[1].at("percentageUsed")), 1 * 100.0 / 140000, 1e-9);
  EXPECT_TRUE(a[1].at("quota").is_null());
  EXPECT_EQ(a[1].at("requestCount").as_int64(), 1);
}

TEST_P(EndpointsApiTest, SlidingWindow) {
  const std::string base = "/api/analytics/token-usage/sliding-window?accountId=acc-a";
  json::value v = Ok(base + "&days=1&bucketMinutes=60&windowHours=5");
  EXPECT_EQ(v.at("accountId"), "acc-a");
  EXPECT_EQ(v.at("params"), json::parse(R"({"days":1,"bucketMinutes":60,"windowHours":5})"));
  const json::array& d = v.at("data").as_array();
  ASSERT_EQ(d.size(), 25u);
  EXPECT_EQ(Str(d.front().at("time_bucket")), Iso(kT - kDayUs));
  EXPECT_EQ(d.front().at("sliding_window_tokens").as_int64(), 0);
  EXPECT_EQ(Str(d[21].at("time_bucket")), Iso(kT - 3 * kHourUs));
  EXPECT_EQ(d[21].at("sliding_window_tokens").as_int64(), 50);
  EXPECT_FALSE(d[21].at("rate_limit_warning_in_window").as_bool());
  EXPECT_EQ(d[22].at("sliding_window_tokens").as_int64(), 155);
  EXPECT_TRUE(d[22].at("rate_limit_warning_in_window").as_bool());
  EXPECT_EQ(Str(d.back().at("time_bucket")), Iso(kT));
  EXPECT_EQ(d.back().at("sliding_window_tokens").as_int64(), 235);
  EXPECT_TRUE(d.back().at("rate_limit_warning_in_window").as_bool());

  EXPECT_EQ(Ok(base).at("data").as_array().size(), 7u * 24 * 6 + 1);  // 7 days of 10 minutes
  ExpectBadRequest(Get(base + "&bucketMinutes=7"), "bucketMinutes=7");
  ExpectBadRequest(Get(base + "&bucketMinutes=0"), "bucketMinutes=0");
  ExpectBadRequest(Get(base + "&bucketMinutes=ten"), "bucketMinutes=ten");
  ExpectBadRequest(Get("/api/analytics/token-usage/sliding-window"), "no accountId");
}

TEST_P(EndpointsApiTest, HourlyRequestsAndTokens) {
  json::value v = Ok("/api/usage/requests/hourly");
  auto series = [](std::initializer_list<std::pair<std::int64_t, int>> points) {
    json::array a;
    for (auto [at, n] : points) a.push_back(json::object{{"hour", Iso(at)}, {"count", n}});
    return a;
  };
  EXPECT_EQ(
      v.at("data").at("alpha.example.com"),
      series(
          {{kT - 4 * kDayUs, 1}, {kT - 3 * kHourUs, 1}, {kT - 2 * kHourUs, 3}, {kT - kHourUs, 3}}));
  EXPECT_EQ(v.at("data").at("beta.example.com"),
            series({{kT - 2 * kDayUs, 1}, {kT - 26 * kHourUs, 1}, {kT - kHourUs, 1}}));
  EXPECT_EQ(v.at("data").at("gamma.example.com"), series({{kT - 6 * kDayUs, 1}}));
  EXPECT_EQ(v.at("query"), json::parse(R"({"domain":null,"days":7})"));

  v = Ok("/api/usage/tokens/hourly");
  EXPECT_EQ(v.at("data").at("alpha.example.com"), series({{kT - 4 * kDayUs, 0},
                                                          {kT - 3 * kHourUs, 50},
                                                          {kT - 2 * kHourUs, 105},
                                                          {kT - kHourUs, 80}}));

  v = Ok("/api/usage/requests/hourly?domain=beta.example.com&days=1");
  EXPECT_EQ(v.at("data"), (json::object{{"beta.example.com", series({{kT - kHourUs, 1}})}}));
  EXPECT_EQ(v.at("query"), json::parse(R"({"domain":"beta.example.com","days":1})"));
  ExpectBadRequest(Get("/api/usage/tokens/hourly?days=31"), "days=31");
}

TEST_P(EndpointsApiTest, UsersAndSessions) {
  json::value v = Ok("/api/users");
  ASSERT_EQ(Strings(v.at("users"), "userId"),
            (std::vector<std::string>{"user-2", "user-1", "=cmd"}));
  const json::value& u1 = v.at("users").as_array()[1];
  EXPECT_EQ(u1.at("requests").as_int64(), 7);
  EXPECT_EQ(u1.at("sessions").as_int64(), 1);
  EXPECT_EQ(u1.at("inputTokens").as_int64(), 860);
  EXPECT_EQ(u1.at("outputTokens").as_int64(), 235);
  EXPECT_EQ(u1.at("cacheCreationInputTokens").as_int64(), 10);
  EXPECT_EQ(u1.at("cacheReadInputTokens").as_int64(), 20);
  EXPECT_NEAR(Num(u1.at("costUsd")), 0.078, 1e-9);
  EXPECT_EQ(u1.at("errors").as_int64(), 2);
  EXPECT_EQ(u1.at("accountId"), "acc-a");
  EXPECT_EQ(u1.at("domains").as_int64(), 1);
  EXPECT_EQ(Str(u1.at("firstSeen")), Iso(kT - 4 * kDayUs));
  EXPECT_EQ(Str(u1.at("lastSeen")), Iso(kT - 30 * kMinuteUs));
  const json::value& u2 = v.at("users").as_array()[0];
  EXPECT_EQ(u2.at("requests").as_int64(), 3);
  EXPECT_EQ(u2.at("sessions").as_int64(), 2);
  EXPECT_NEAR(Num(u2.at("costUsd")), 0.5001, 1e-9);
  EXPECT_EQ(u2.at("errors").as_int64(), 2);

  v = Ok("/api/users?since=" + Iso(kT - kDayUs) + "&limit=1");
  ASSERT_EQ(Strings(v.at("users"), "userId"), std::vector<std::string>{"user-2"});
  EXPECT_EQ(v.at("users").as_array()[0].at("requests").as_int64(), 1);

  v = Ok("/api/sessions");
  ASSERT_EQ(Strings(v.at("sessions"), "sessionId"),
            (std::vector<std::string>{"session-3", "session-1", "session-2", "s,\"q\""}));
  EXPECT_EQ(Strings(v.at("sessions"), "userId"),
            (std::vector<std::string>{"user-2", "user-1", "user-2", "=cmd"}));
  EXPECT_EQ(Strings(v.at("sessions"), "requests"), (std::vector<std::string>{"1", "7", "2", "1"}));
  const json::array& s = v.at("sessions").as_array();
  EXPECT_NEAR(Num(s[0].at("costUsd")), 0.0001, 1e-12);
  EXPECT_NEAR(Num(s[1].at("costUsd")), 0.078, 1e-9);
  EXPECT_NEAR(Num(s[2].at("costUsd")), 0.5, 1e-9);  // B2 unpriced adds nothing
  EXPECT_NEAR(Num(s[3].at("costUsd")), 0.003, 1e-12);
  v = Ok("/api/sessions?userId=user-2");
  EXPECT_EQ(Strings(v.at("sessions"), "sessionId"),
            (std::vector<std::string>{"session-3", "session-2"}));
  ExpectBadRequest(Get("/api/sessions?limit=1001"), "limit=1001");
}

TEST_P(EndpointsApiTest, RateLimitHistoryAndCrossings) {
  json::value v = Ok("/api/ratelimits?accountId=acc-a");
  EXPECT_EQ(v.at("accountId"), "acc-a");
  ExpectLatestQuotaOfAccA(v.at("current"));
  // R4 repeats R3's state: no sample of its own.
  const json::array& h = v.at("history").as_array();
  ASSERT_EQ(Strings(v.at("history"), "requestId"), Ids({kR1, kR2, kR3}));
  EXPECT_EQ(Strings(v.at("history"), "status"),
            (std::vector<std::string>{"allowed", "allowed_warning", "allowed_warning"}));
  EXPECT_EQ(Str(h[0].at("at")), Iso(kT - 3 * kHourUs));
  EXPECT_NEAR(Num(h[0].at("utilization5h")), 0.50, 1e-6);
  EXPECT_EQ(Str(h[0].at("resetsAt5h")), Iso(kT + 2 * kHourUs));
  EXPECT_NEAR(Num(h[1].at("utilization7d")), 0.12, 1e-6);
  EXPECT_EQ(Str(h[1].at("resetsAt7d")), Iso(kT + 5 * kDayUs));
  EXPECT_NEAR(Num(h[2].at("utilization5h")), 0.92, 1e-6);

  EXPECT_EQ(Strings(v.at("crossings"), "level"),
            (std::vector<std::string>{"allowed_warning", "80%", "90%"}));
  EXPECT_EQ(Strings(v.at("crossings"), "requestId"), Ids({kR2, kR2, kR3}));
  EXPECT_EQ(
      Strings(v.at("crossings"), "at"),
      (std::vector<std::string>{Iso(kT - 2 * kHourUs), Iso(kT - 2 * kHourUs), Iso(kT - kHourUs)}));
  EXPECT_NEAR(Num(v.at("peak").at("utilization5h")), 0.92, 1e-6);
  EXPECT_NEAR(Num(v.at("peak").at("utilization7d")), 0.15, 1e-6);

  // A later start: the history begins there.
  v = Ok("/api/ratelimits?accountId=acc-a&since=" + Iso(kT - 150 * kMinuteUs));
  EXPECT_EQ(Strings(v.at("history"), "requestId"), Ids({kR2, kR3}));
  // No account: every account's samples, no current state.
  v = Ok("/api/ratelimits");
  EXPECT_TRUE(v.at("accountId").is_null());
  EXPECT_TRUE(v.at("current").is_null());
  EXPECT_EQ(v.at("history").as_array().size(), 3u);
  // An account without quota rows.
  v = Ok("/api/ratelimits?accountId=acc-b");
  EXPECT_TRUE(v.at("current").is_null());
  EXPECT_EQ(v.at("history").as_array().size(), 0u);
  EXPECT_TRUE(v.at("peak").at("utilization5h").is_null());
}

TEST_P(EndpointsApiTest, Search) {
  auto ids = [&](const std::string& query) {
    json::value v = Ok("/api/search?" + query);
    if (!v.is_object()) return std::set<std::string>{};
    auto list = Strings(v.at("results"), "requestId");
    return std::set<std::string>(list.begin(), list.end());
  };
  using Set = std::set<std::string>;
  EXPECT_EQ(ids("q=tokenizer"), (Set{Id(kR1), Id(kB1)}));
  EXPECT_EQ(ids("q=TOKENIZER"), (Set{Id(kR1), Id(kB1)}));
  EXPECT_EQ(ids("q=refactored"), (Set{Id(kR1)}));  // the response's text
  EXPECT_EQ(ids("q=helper+agent"), (Set{Id(kR2)}));
  EXPECT_EQ(ids("q=tokenizer+agent"), Set{});  // every word must match
  EXPECT_EQ(ids("q=tokenizer&domain=beta.example.com"), (Set{Id(kB1)}));
  EXPECT_EQ(ids("q=tokenizer&since=" + Iso(kT - kDayUs)), (Set{Id(kR1)}));
  EXPECT_EQ(ids("q=nonexistentword"), Set{});
  EXPECT_EQ(ids("q=caf%C3%A9"), (Set{Id(kR2)}));  // non-ASCII words, any case
  EXPECT_EQ(ids("q=CAF%C3%89+agent"), (Set{Id(kR2)}));
  EXPECT_EQ(ids("q=%E2%80%A6"), Set{});  // a "word" with no letters
  // Query syntax of either engine is only text.
  EXPECT_EQ(ids("q=" + std::string("tokenizer%22*(")), (Set{Id(kR1), Id(kB1)}));
  EXPECT_EQ(ids("q=%22foo*%20OR%20("), Set{});
  EXPECT_EQ(ids("q=tokenizer%20NEAR(x)%20-agent%20%27"), Set{});

  json::value v = Ok("/api/search?q=refactored");
  ASSERT_EQ(v.at("results").as_array().size(), 1u);
  const json::value& hit = v.at("results").as_array()[0];
  EXPECT_EQ(Str(hit.at("conversationId")), ConvId(kC1));
  EXPECT_EQ(hit.at("branchId"), "main");
  EXPECT_EQ(hit.at("domain"), "alpha.example.com");
  EXPECT_EQ(hit.at("model"), "claude-sonnet-4");
  EXPECT_EQ(Str(hit.at("timestamp")), Iso(kT - 3 * kHourUs));
  ASSERT_TRUE(hit.at("snippet").is_string());
  EXPECT_NE(std::string(hit.at("snippet").as_string()).find("refactored"), std::string::npos)
      << hit.at("snippet");

  ExpectBadRequest(Get("/api/search"), "no q");
  ExpectBadRequest(Get("/api/search?q="), "empty q");
  ExpectBadRequest(Get("/api/search?q=((%20))"), "q without a word");
  ExpectBadRequest(Get("/api/search?q=" + std::string(501, 'a')), "q too long");
  ExpectBadRequest(Get("/api/search?q=x&limit=201"), "limit=201");
}

INSTANTIATE_TEST_SUITE_P(Stores, EndpointsApiTest, ::testing::ValuesIn(Backends()),
                         [](const auto& p) { return p.param.name; });

}  // namespace
}  // namespace cn::api::testing
