// GET /api/requests (filters, offset and keyset pagination) and GET /api/requests/:id on both
// stores, against the data set of api_test_support.h (src/api/api.cc and src/query/requests.h
// define the shapes).
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "api_test_support.h"
#include "common/base64.h"

namespace cn::api::testing {
namespace {
namespace json = boost::json;

class RequestsApiTest : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    Write(Dataset());
  }

  // The requestIds of GET /api/requests?<query> (status 200 asserted).
  std::vector<std::string> List(const std::string& query) {
    Reply r = Get("/api/requests?" + query);
    EXPECT_EQ(r.status, 200) << query << ": " << r.response.body;
    if (r.status != 200) return {};
    return Strings(r.body.at("requests"), "requestId");
  }

  // Walks nextCursor from the first page of /api/requests?<query>, collecting every requestId.
  std::vector<std::string> WalkRequests(const std::string& query, int* pages) {
    std::vector<std::string> all;
    std::string cursor;
    *pages = 0;
    for (int guard = 0; guard < 100; ++guard) {
      Reply r = Get("/api/requests?" + query + (cursor.empty() ? "" : "&cursor=" + cursor));
      EXPECT_EQ(r.status, 200) << r.response.body;
      if (r.status != 200) break;
      ++*pages;
      for (auto& id : Strings(r.body.at("requests"), "requestId")) all.push_back(id);
      const json::value& next = r.body.at("nextCursor");
      EXPECT_EQ(r.body.at("pagination").at("hasMore").as_bool(), !next.is_null());
      if (next.is_null()) return all;
      cursor = std::string(next.as_string());
      EXPECT_FALSE(cursor.empty());
    }
    ADD_FAILURE() << "the cursor walk did not end";
    return all;
  }
};

TEST_P(RequestsApiTest, ListsEveryRequestNewestFirstWithItsFields) {
  Reply r = Get("/api/requests");
  ASSERT_EQ(r.status, 200) << r.response.body;
  EXPECT_EQ(Strings(r.body.at("requests"), "requestId"),
            Ids({kK1, kQ1, kR4, kR3, kS2, kS1, kR2, kR1, kB2, kB1, kX1, kE1}));
  const json::value& p = r.body.at("pagination");
  EXPECT_EQ(p.at("total").as_int64(), 12);
  EXPECT_EQ(p.at("limit").as_int64(), 100);
  EXPECT_EQ(p.at("offset").as_int64(), 0);
  EXPECT_FALSE(p.at("hasMore").as_bool());
  EXPECT_TRUE(r.body.at("nextCursor").is_null());

  // R4 (index 2): every field of the list object.
  const json::object& o = r.body.at("requests").as_array().at(2).as_object();
  EXPECT_EQ(Str(o.at("requestId")), Id(kR4));
  EXPECT_EQ(o.at("domain"), "alpha.example.com");
  EXPECT_EQ(o.at("model"), "claude-sonnet-4");
  EXPECT_EQ(Str(o.at("timestamp")), Iso(kNowUs - 30 * kMinuteUs));
  EXPECT_EQ(o.at("inputTokens").as_int64(), 300);
  EXPECT_EQ(o.at("outputTokens").as_int64(), 20);
  EXPECT_EQ(o.at("totalTokens").as_int64(), 320);
  EXPECT_EQ(o.at("durationMs").as_int64(), 1500);
  EXPECT_EQ(o.at("firstTokenMs").as_int64(), 400);
  EXPECT_EQ(o.at("responseStatus").as_int64(), 500);
  EXPECT_EQ(o.at("error"), "upstream exploded");
  EXPECT_EQ(o.at("requestType"), "inference");
  EXPECT_EQ(o.at("accountId"), "acc-a");
  EXPECT_EQ(o.at("userId"), "user-1");
  EXPECT_EQ(o.at("sessionId"), "session-1");
  EXPECT_EQ(o.at("outcome"), "upstream_failed");
  EXPECT_EQ(Str(o.at("conversationId")), ConvId(kC1));
  EXPECT_EQ(o.at("branchId"), "compact_1");
  EXPECT_EQ(Str(o.at("parentRequestId")), Id(kR3));
  EXPECT_TRUE(o.at("parentTaskRequestId").is_null());
  EXPECT_FALSE(o.at("isSubtask").as_bool());
  EXPECT_NEAR(Num(o.at("costUsd")), 0.03, 1e-12);
  EXPECT_EQ(o.at("stopReason"), "end_turn");
  EXPECT_FALSE(o.at("streaming").as_bool());
  EXPECT_EQ(o.at("quotaStatus"), "allowed_warning");

  // R1: cache tokens, streaming; K1: unpriced, no user; S1: a sub-agent's first request.
  const json::array& a = r.body.at("requests").as_array();
  const json::object& r1 = a.at(7).as_object();
  EXPECT_EQ(r1.at("cacheCreationInputTokens").as_int64(), 10);
  EXPECT_EQ(r1.at("cacheReadInputTokens").as_int64(), 20);
  EXPECT_TRUE(r1.at("streaming").as_bool());
  EXPECT_EQ(r1.at("quotaStatus"), "allowed");
  EXPECT_TRUE(r1.at("error").is_null());
  const json::object& k1 = a.at(0).as_object();
  EXPECT_TRUE(k1.at("costUsd").is_null());
  EXPECT_TRUE(k1.at("userId").is_null());
  EXPECT_TRUE(k1.at("conversationId").is_null());
  EXPECT_TRUE(k1.at("quotaStatus").is_null());
  const json::object& s1 = a.at(5).as_object();
  EXPECT_TRUE(s1.at("isSubtask").as_bool());
  EXPECT_EQ(Str(s1.at("parentTaskRequestId")), Id(kR2));
  const json::object& e1 = a.at(11).as_object();
  EXPECT_TRUE(e1.at("accountId").is_null());
}

TEST_P(RequestsApiTest, FiltersNarrowTheList) {
  EXPECT_EQ(List("domain=beta.example.com"), Ids({kQ1, kB2, kB1}));
  EXPECT_EQ(List("accountId=acc-b"), Ids({kQ1, kB2, kB1}));
  EXPECT_EQ(List("userId=user-1"), Ids({kR4, kR3, kS2, kS1, kR2, kR1, kX1}));
  EXPECT_EQ(List("sessionId=session-2"), Ids({kB2, kB1}));
  EXPECT_EQ(List("model=claude-opus-4"), Ids({kB2, kB1}));
  EXPECT_EQ(List("model=claude-haiku-4"), Ids({kK1, kQ1}));
  EXPECT_EQ(List("requestType=query_evaluation"), Ids({kQ1}));
  EXPECT_EQ(List("requestType=count_tokens"), Ids({kK1}));
  EXPECT_EQ(List("outcome=client_aborted"), Ids({kB2}));
  EXPECT_EQ(List("outcome=rejected"), Ids({kX1}));
  EXPECT_EQ(List("outcome=upstream_failed"), Ids({kR4}));
  EXPECT_EQ(List("status=200"), Ids({kK1, kQ1, kR3, kS2, kS1, kR2, kR1, kB2, kE1}));
  EXPECT_EQ(List("status=4xx"), Ids({kB1, kX1}));
  EXPECT_EQ(List("status=5xx"), Ids({kR4}));
  EXPECT_EQ(List("status=429"), Ids({kB1}));
  EXPECT_EQ(List("hasError=true"), Ids({kR4, kB2, kB1, kX1, kE1}));
  EXPECT_EQ(List("hasError=false"), Ids({kK1, kQ1, kR3, kS2, kS1, kR2, kR1}));
  EXPECT_EQ(List("subtask=true"), Ids({kS2, kS1}));
  EXPECT_EQ(List("subtask=false"), Ids({kK1, kQ1, kR4, kR3, kR2, kR1, kB2, kB1, kX1, kE1}));
  EXPECT_EQ(List("conversationId=" + ConvId(kC2)), Ids({kS2, kS1}));
  EXPECT_EQ(List("branchId=compact_1"), Ids({kR4}));
  EXPECT_EQ(List("domain=alpha.example.com&hasError=true"), Ids({kR4, kX1}));
  EXPECT_EQ(List("domain=nowhere.example.com"), std::vector<std::string>{});
  // A url-encoded value.
  EXPECT_EQ(List("sessionId=s%2C%22q%22"), Ids({kE1}));
}

TEST_P(RequestsApiTest, TimeRangeInIsoAndEpochMilliseconds) {
  const std::int64_t since = kNowUs - 3 * kHourUs, until = kNowUs - kHourUs;
  // since inclusive, until exclusive: R1 (at since) in, R3 (at until) out.
  const auto expected = Ids({kS2, kS1, kR2, kR1});
  EXPECT_EQ(List("since=" + Iso(since) + "&until=" + Iso(until)), expected);
  EXPECT_EQ(
      List("since=" + std::to_string(since / 1000) + "&until=" + std::to_string(until / 1000)),
      expected);
  // Without a zone the time is UTC; a bare date is its midnight.
  EXPECT_EQ(List("since=2026-03-10T09:00:00&until=2026-03-10T11:00:00"), expected);
  EXPECT_EQ(List("since=2026-03-10"), Ids({kK1, kQ1, kR4, kR3, kS2, kS1, kR2, kR1}));
  EXPECT_EQ(List("until=2026-03-07"), Ids({kX1, kE1}));
  // A zone offset is applied (an unencoded '+' arrives as a space); fractions are fine.
  EXPECT_EQ(List("since=2026-03-10T11:00:00%2B02:00&until=2026-03-10T06:00:00-05:00"), expected);
  EXPECT_EQ(List("since=2026-03-10T11:00:00+02:00&until=2026-03-10T11:00:00.000Z"), expected);
  EXPECT_EQ(List("since=2026-03-10T08:59:59.999999Z&until=2026-03-10T10:59:59.999Z"), expected);
  // The aliases of docs/api.md's filters.
  EXPECT_EQ(List("from=" + Iso(since) + "&to=" + Iso(until)), expected);
}

TEST_P(RequestsApiTest, LimitAndOffset) {
  Reply r = Get("/api/requests?limit=5");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(Strings(r.body.at("requests"), "requestId"), Ids({kK1, kQ1, kR4, kR3, kS2}));
  EXPECT_EQ(r.body.at("pagination").at("total").as_int64(), 12);
  EXPECT_EQ(r.body.at("pagination").at("limit").as_int64(), 5);
  EXPECT_TRUE(r.body.at("pagination").at("hasMore").as_bool());
  EXPECT_TRUE(r.body.at("nextCursor").is_string());

  r = Get("/api/requests?limit=5&offset=5");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(Strings(r.body.at("requests"), "requestId"), Ids({kS1, kR2, kR1, kB2, kB1}));
  EXPECT_EQ(r.body.at("pagination").at("offset").as_int64(), 5);
  EXPECT_TRUE(r.body.at("pagination").at("hasMore").as_bool());

  r = Get("/api/requests?limit=5&offset=10");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(Strings(r.body.at("requests"), "requestId"), Ids({kX1, kE1}));
  EXPECT_FALSE(r.body.at("pagination").at("hasMore").as_bool());
  EXPECT_TRUE(r.body.at("nextCursor").is_null());

  // Exactly `limit` rows left: no further page.
  r = Get("/api/requests?limit=3&domain=beta.example.com");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body.at("requests").as_array().size(), 3u);
  EXPECT_FALSE(r.body.at("pagination").at("hasMore").as_bool());
  EXPECT_EQ(r.body.at("pagination").at("total").as_int64(), 3);

  // A filter's total counts the filtered rows only.
  r = Get("/api/requests?limit=1&userId=user-1");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body.at("pagination").at("total").as_int64(), 7);
}

TEST_P(RequestsApiTest, CursorWalkYieldsEveryRequestOnceInOrder) {
  int pages = 0;
  EXPECT_EQ(WalkRequests("limit=5", &pages),
            Ids({kK1, kQ1, kR4, kR3, kS2, kS1, kR2, kR1, kB2, kB1, kX1, kE1}));
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(WalkRequests("limit=2&userId=user-1", &pages),
            Ids({kR4, kR3, kS2, kS1, kR2, kR1, kX1}));
  EXPECT_EQ(pages, 4);
  // Later pages (with a cursor) carry no total: counting again would cost a scan per page.
  Reply first = Get("/api/requests?limit=5");
  ASSERT_TRUE(first.body.at("nextCursor").is_string());
  Reply second =
      Get("/api/requests?limit=5&cursor=" + std::string(first.body.at("nextCursor").as_string()));
  ASSERT_EQ(second.status, 200);
  EXPECT_EQ(Strings(second.body.at("requests"), "requestId"), Ids({kS1, kR2, kR1, kB2, kB1}));
  // With a cursor the offset is ignored.
  Reply with_offset = Get("/api/requests?limit=5&offset=3&cursor=" +
                          std::string(first.body.at("nextCursor").as_string()));
  ASSERT_EQ(with_offset.status, 200);
  EXPECT_EQ(Strings(with_offset.body.at("requests"), "requestId"), Ids({kS1, kR2, kR1, kB2, kB1}));
}

TEST_P(RequestsApiTest, ForeignCursorIsABadRequest) {
  ExpectBadRequest(Get("/api/requests?cursor=abc"), "cursor=abc");
  ExpectBadRequest(Get("/api/requests?cursor=" + Base64Encode("2026-03-10T10:00:00.000Z|not-a-uuid",
                                                              Base64Alphabet::kUrlNoPad)),
                   "cursor without a uuid");
  ExpectBadRequest(Get("/api/requests?cursor=" +
                       Base64Encode("x' OR 1=1 --|" + Id(1), Base64Alphabet::kUrlNoPad)),
                   "cursor with SQL in its timestamp");
  ExpectBadRequest(Get("/api/conversations?cursor=abc"), "conversations cursor=abc");
}

// Many requests with one timestamp: the keyset's request_id tie-break must neither skip nor
// repeat any of them at page boundaries.
class KeysetApiTest : public ApiTest {};

TEST_P(KeysetApiTest, SharedTimestampsArePagedExactlyOnce) {
  std::vector<Record> records;
  std::vector<std::pair<std::int64_t, std::string>> expected;  // (timestamp, id)
  const std::int64_t shared = kNowUs - kHourUs + 123'000;      // a whole millisecond
  for (int i = 0; i < 30; ++i) {
    const std::int64_t at = i < 25 ? shared : shared - (i - 24) * kMinuteUs;
    Record r = Base(100 + i, at);
    r.domain = "keyset.example.com";
    r.link.conversation_id = ConvId(100 + i % 6);
    r.link.branch_id = "main";
    records.push_back(r);
    expected.emplace_back(at, r.request_id);
  }
  // Noise outside the filter.
  for (int i = 0; i < 5; ++i) records.push_back(Base(200 + i, shared));
  std::reverse(records.begin(), records.end());
  Write(records);
  std::sort(expected.begin(), expected.end(), std::greater<>());
  std::vector<std::string> expected_ids;
  for (auto& [at, id] : expected) expected_ids.push_back(id);

  for (int limit : {1, 4, 7, 25, 29, 30}) {
    std::vector<std::string> all;
    std::string cursor;
    int pages = 0;
    while (pages < 100) {
      Reply r = Get("/api/requests?domain=keyset.example.com&limit=" + std::to_string(limit) +
                    (cursor.empty() ? "" : "&cursor=" + cursor));
      ASSERT_EQ(r.status, 200) << r.response.body;
      ++pages;
      for (auto& id : Strings(r.body.at("requests"), "requestId")) all.push_back(id);
      if (r.body.at("nextCursor").is_null()) break;
      cursor = std::string(r.body.at("nextCursor").as_string());
    }
    EXPECT_EQ(all, expected_ids) << "limit " << limit;
    EXPECT_EQ(pages, (30 + limit - 1) / limit) << "limit " << limit;
  }

  // Timestamps within one millisecond: SQLite's stored text has milliseconds, PostgreSQL's
  // microseconds, so the order is the backend's own — but a walk must still give exactly the
  // one-page list. The microseconds run against the ids here.
  std::vector<Record> micro;
  std::set<std::string> micro_ids;
  for (int i = 0; i < 12; ++i) {
    Record r = Base(300 + i, shared + (12 - i) * 7 + (i % 3 == 0 ? 0 : 500'000));
    r.domain = "keyset-us.example.com";
    micro.push_back(r);
    micro_ids.insert(r.request_id);
  }
  Write(micro);
  Reply whole = Get("/api/requests?domain=keyset-us.example.com&limit=1000");
  ASSERT_EQ(whole.status, 200);
  const auto one_page = Strings(whole.body.at("requests"), "requestId");
  EXPECT_EQ(std::set<std::string>(one_page.begin(), one_page.end()), micro_ids);
  for (int limit : {1, 2, 5}) {
    int pages = 0;
    std::vector<std::string> all;
    std::string next;
    while (pages < 100) {
      Reply r = Get("/api/requests?domain=keyset-us.example.com&limit=" + std::to_string(limit) +
                    (next.empty() ? "" : "&cursor=" + next));
      ASSERT_EQ(r.status, 200) << r.response.body;
      ++pages;
      for (auto& id : Strings(r.body.at("requests"), "requestId")) all.push_back(id);
      if (r.body.at("nextCursor").is_null()) break;
      next = std::string(r.body.at("nextCursor").as_string());
    }
    EXPECT_EQ(all, one_page) << "limit " << limit;
  }

  // Conversations: six of them whose last activity is the same instant.
  std::vector<std::string> convs;
  std::string cursor;
  for (int guard = 0; guard < 20; ++guard) {
    Reply r = Get("/api/conversations?domain=keyset.example.com&limit=4" +
                  (cursor.empty() ? std::string() : "&cursor=" + cursor));
    ASSERT_EQ(r.status, 200) << r.response.body;
    for (auto& id : Strings(r.body.at("conversations"), "conversationId")) convs.push_back(id);
    if (r.body.at("nextCursor").is_null()) break;
    cursor = std::string(r.body.at("nextCursor").as_string());
  }
  std::vector<std::string> expected_convs;
  for (int n = 105; n >= 100; --n) expected_convs.push_back(ConvId(n));
  EXPECT_EQ(convs, expected_convs);
}

TEST_P(RequestsApiTest, DetailHasTheWholeExchange) {
  Reply r = Get("/api/requests/" + Id(kR1));
  ASSERT_EQ(r.status, 200) << r.response.body;
  const json::object& o = r.body.as_object();
  EXPECT_EQ(Str(o.at("requestId")), Id(kR1));
  EXPECT_EQ(o.at("domain"), "alpha.example.com");
  EXPECT_EQ(o.at("method"), "POST");
  EXPECT_EQ(o.at("path"), "/v1/messages");
  EXPECT_EQ(Str(o.at("timestamp")), Iso(kNowUs - 3 * kHourUs));
  EXPECT_EQ(o.at("model"), "claude-sonnet-4");
  EXPECT_EQ(o.at("inputTokens").as_int64(), 100);
  EXPECT_EQ(o.at("outputTokens").as_int64(), 50);
  EXPECT_EQ(o.at("totalTokens").as_int64(), 150);
  EXPECT_EQ(o.at("cacheCreationInputTokens").as_int64(), 10);
  EXPECT_EQ(o.at("cacheReadInputTokens").as_int64(), 20);
  EXPECT_EQ(o.at("durationMs").as_int64(), 1500);
  EXPECT_EQ(o.at("firstTokenMs").as_int64(), 400);
  EXPECT_EQ(o.at("responseStatus").as_int64(), 200);
  EXPECT_EQ(o.at("outcome"), "completed");
  EXPECT_EQ(o.at("userId"), "user-1");
  EXPECT_EQ(o.at("sessionId"), "session-1");
  EXPECT_EQ(o.at("accountId"), "acc-a");
  EXPECT_EQ(Str(o.at("conversationId")), ConvId(kC1));
  EXPECT_EQ(o.at("branchId"), "main");
  EXPECT_NEAR(Num(o.at("costUsd")), 0.01, 1e-12);
  EXPECT_EQ(o.at("quotaStatus"), "allowed");
  EXPECT_EQ(o.at("upstreamAttempts").as_int64(), 1);
  EXPECT_TRUE(o.at("streaming").as_bool());
  // The request body parsed, not a string.
  ASSERT_TRUE(o.at("requestBody").is_object()) << json::serialize(o.at("requestBody"));
  EXPECT_EQ(o.at("requestBody").at("model"), "claude-sonnet-4");
  EXPECT_EQ(o.at("requestBody").at("max_tokens").as_int64(), 100);
  ASSERT_TRUE(o.at("requestHeaders").is_object());
  EXPECT_EQ(o.at("requestHeaders").at("Content-Type"), "application/json");
  ASSERT_TRUE(o.at("usageData").is_object());
  EXPECT_EQ(o.at("usageData").at("output_tokens").as_int64(), 50);
  ASSERT_TRUE(o.at("rateLimit").is_object()) << json::serialize(o.at("rateLimit"));
  EXPECT_EQ(o.at("rateLimit").at("status"), "allowed");
  const json::array& chunks = o.at("streamingChunks").as_array();
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].at("chunkIndex").as_int64(), 0);
  EXPECT_EQ(Str(chunks[0].at("timestamp")), Iso(kNowUs - 3 * kHourUs + 300'000));
  EXPECT_EQ(chunks[0].at("data"), "event: message_start\ndata: {\"type\":\"message_start\"}\n\n");
  EXPECT_EQ(chunks[0].at("tokenCount").as_int64(), 0);
  EXPECT_EQ(chunks[1].at("chunkIndex").as_int64(), 1);
  // streaming_chunks.token_count: the chunk's usage.output_tokens (docs/storage.md).
  EXPECT_EQ(chunks[1].at("tokenCount").as_int64(), 50);

  // R2: the Task call; a non-streamed response body parsed.
  r = Get("/api/requests/" + Id(kR2));
  ASSERT_EQ(r.status, 200);
  ASSERT_TRUE(r.body.at("taskToolInvocation").is_array());
  EXPECT_EQ(r.body.at("taskToolInvocation").as_array().at(0).at("name"), "Task");
  EXPECT_EQ(r.body.at("responseBody").at("type"), "message");
  EXPECT_EQ(r.body.at("messageCount").as_int64(), 3);
  EXPECT_EQ(r.body.at("toolCallCount").as_int64(), 1);
  EXPECT_EQ(r.body.at("streamingChunks").as_array().size(), 0u);
}

TEST_P(RequestsApiTest, DetailAcceptsPastedIdsAndAnswers404ForUnknownOnes) {
  std::string upper = Id(kR4);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string bare = Id(kR4);
  bare.erase(std::remove(bare.begin(), bare.end(), '-'), bare.end());
  for (const std::string& id : {upper, bare, "%7B" + Id(kR4) + "%7D"}) {
    Reply r = Get("/api/requests/" + id);
    ASSERT_EQ(r.status, 200) << id << ": " << r.response.body;
    EXPECT_EQ(Str(r.body.at("requestId")), Id(kR4)) << id;
  }
  for (const std::string& id : {Id(999), std::string("not-a-uuid")}) {
    Reply r = Get("/api/requests/" + id);
    EXPECT_EQ(r.status, 404) << id;
    EXPECT_EQ(r.body, json::parse(R"({"error":"Request not found"})")) << id;
  }
}

INSTANTIATE_TEST_SUITE_P(Stores, RequestsApiTest, ::testing::ValuesIn(Backends()),
                         [](const auto& p) { return p.param.name; });
INSTANTIATE_TEST_SUITE_P(Stores, KeysetApiTest, ::testing::ValuesIn(Backends()),
                         [](const auto& p) { return p.param.name; });

}  // namespace
}  // namespace cn::api::testing
