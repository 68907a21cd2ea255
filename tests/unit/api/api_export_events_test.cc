// GET /api/export through PlanExport/ExportChunk (CSV per RFC 4180 with spreadsheet formulas
// neutralised, JSON lines, chunking, limit), GET /api/events' PlanEvents, and query::EventFeed
// (the live feed over cn_events) on both stores.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <string>
#include <variant>
#include <vector>

#include "api_test_support.h"
#include "query/event_feed.h"

namespace cn::api::testing {
namespace {
namespace json = boost::json;

// RFC 4180: records end with CRLF; a quoted field may hold commas, CRLF/LF and "" for a quote.
std::vector<std::vector<std::string>> ParseCsv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false, at_start = true;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"' && at_start) {
      quoted = true;
      at_start = false;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
      at_start = true;
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      row.push_back(std::move(field));
      field.clear();
      rows.push_back(std::move(row));
      row.clear();
      at_start = true;
      ++i;
    } else {
      EXPECT_NE(c, '"') << "a bare quote inside an unquoted field at byte " << i;
      EXPECT_NE(c, '\n') << "a bare LF outside quotes at byte " << i;
      field += c;
      at_start = false;
    }
  }
  EXPECT_FALSE(quoted) << "unterminated quoted field";
  EXPECT_TRUE(field.empty() && row.empty()) << "the last record does not end with CRLF";
  return rows;
}

Request ExportRequest(const std::string& query) {
  Request req;
  req.method = "GET";
  req.path = "/api/export";
  req.query = query;
  return req;
}

class ExportApiTest : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    Write(Dataset());
  }

  // The whole export of `query` in chunks of `rows`, and how many chunks it took.
  std::string Export(const std::string& query, std::int64_t rows, int* chunks) {
    auto plan = PlanExport(ExportRequest(query), kNowUs);
    if (!std::holds_alternative<ExportPlan>(plan)) {
      ADD_FAILURE() << query << ": " << std::get<Response>(plan).body;
      return {};
    }
    ExportPlan& p = std::get<ExportPlan>(plan);
    std::string out;
    *chunks = 0;
    bool done = false;
    while (!done && *chunks < 100) {
      auto chunk = ExportChunk(reader(), p, &done, rows);
      if (!chunk.ok()) {
        ADD_FAILURE() << chunk.status().ToString();
        break;
      }
      out += *chunk;
      ++*chunks;
    }
    EXPECT_TRUE(done) << query;
    return out;
  }
};

TEST_P(ExportApiTest, CsvHasAHeaderAndQuotesPerRfc4180) {
  int chunks = 0;
  const std::string csv = Export("format=csv", 5, &chunks);
  EXPECT_EQ(chunks, 3);
  auto rows = ParseCsv(csv);
  ASSERT_EQ(rows.size(), 13u) << csv;
  const std::vector<std::string> header = {"requestId",
                                           "timestamp",
                                           "domain",
                                           "accountId",
                                           "userId",
                                           "sessionId",
                                           "model",
                                           "requestType",
                                           "outcome",
                                           "responseStatus",
                                           "inputTokens",
                                           "outputTokens",
                                           "cacheCreationInputTokens",
                                           "cacheReadInputTokens",
                                           "costUsd",
                                           "durationMs",
                                           "firstTokenMs",
                                           "conversationId",
                                           "branchId",
                                           "parentRequestId",
                                           "isSubtask",
                                           "error"};
  EXPECT_EQ(rows[0], header);
  std::vector<std::string> ids;
  for (std::size_t i = 1; i < rows.size(); ++i) {
    ASSERT_EQ(rows[i].size(), header.size()) << "row " << i;
    ids.push_back(rows[i][0]);
  }
  EXPECT_EQ(ids, Ids({kK1, kQ1, kR4, kR3, kS2, kS1, kR2, kR1, kB2, kB1, kX1, kE1}));

  // R4: plain values.
  const auto& r4 = rows[3];
  EXPECT_EQ(r4[1], Iso(kNowUs - 30 * kMinuteUs));
  EXPECT_EQ(r4[2], "alpha.example.com");
  EXPECT_EQ(r4[8], "upstream_failed");
  EXPECT_EQ(r4[9], "500");
  EXPECT_EQ(r4[10], "300");
  EXPECT_EQ(r4[17], ConvId(kC1));
  EXPECT_EQ(r4[20], "false");
  EXPECT_EQ(r4[21], "upstream exploded");
  EXPECT_NEAR(std::stod(r4[14]), 0.03, 1e-12);
  // K1: nulls are empty fields.
  EXPECT_EQ(rows[1][4], "");
  EXPECT_EQ(rows[1][14], "");
  // E1: a field with a comma and quotes, and fields starting with '=' (formula injection).
  const auto& e1 = rows[12];
  EXPECT_EQ(e1[3], "");                             // no account
  EXPECT_EQ(e1[4], "'=cmd");                        // userId neutralised
  EXPECT_EQ(e1[5], "s,\"q\"");                      // sessionId quoted
  EXPECT_EQ(e1[21], "'=HYPERLINK(\"x\"),\nline2");  // error: '=', quote, comma, newline
  // The raw text: quotes doubled inside a quoted field.
  EXPECT_NE(csv.find(",\"s,\"\"q\"\"\","), std::string::npos) << csv;
  EXPECT_NE(csv.find("\"'=HYPERLINK(\"\"x\"\"),\nline2\"\r\n"), std::string::npos) << csv;

  Response header_response =
      ExportHeader(std::get<ExportPlan>(PlanExport(ExportRequest("format=csv"), kNowUs)));
  EXPECT_EQ(header_response.content_type, "text/csv; charset=utf-8");
  ASSERT_EQ(header_response.headers.size(), 1u);
  EXPECT_EQ(header_response.headers[0].value, "attachment; filename=\"requests.csv\"");
}

TEST_P(ExportApiTest, JsonLinesAcrossChunksWithFiltersAndLimit) {
  auto lines = [](const std::string& text) {
    std::vector<std::string> ids;
    std::size_t start = 0;
    while (start < text.size()) {
      std::size_t nl = text.find('\n', start);
      EXPECT_NE(nl, std::string::npos) << "the last line has no newline";
      if (nl == std::string::npos) break;
      json::value v = json::parse(std::string_view(text).substr(start, nl - start));
      ids.push_back(std::string(v.at("requestId").as_string()));
      start = nl + 1;
    }
    return ids;
  };
  const auto all = Ids({kK1, kQ1, kR4, kR3, kS2, kS1, kR2, kR1, kB2, kB1, kX1, kE1});
  int chunks = 0;
  for (std::int64_t rows : {1, 2, 5, 12, 500}) {
    EXPECT_EQ(lines(Export("format=jsonl", rows, &chunks)), all) << rows;
    EXPECT_EQ(chunks, static_cast<int>(std::max<std::int64_t>(1, (12 + rows - 1) / rows))) << rows;
  }
  EXPECT_EQ(lines(Export("", 5, &chunks)), all);  // jsonl is the default
  EXPECT_EQ(lines(Export("format=jsonl&limit=7", 3, &chunks)),
            Ids({kK1, kQ1, kR4, kR3, kS2, kS1, kR2}));
  EXPECT_EQ(chunks, 3);
  EXPECT_EQ(lines(Export("format=jsonl&limit=5", 5, &chunks)), Ids({kK1, kQ1, kR4, kR3, kS2}));
  EXPECT_EQ(chunks, 1);
  EXPECT_EQ(lines(Export("format=ndjson&domain=beta.example.com", 2, &chunks)),
            Ids({kQ1, kB2, kB1}));
  EXPECT_EQ(
      lines(Export("format=jsonl&hasError=true&since=" + Iso(kNowUs - 5 * kDayUs), 2, &chunks)),
      Ids({kR4, kB2, kB1, kX1}));

  // A line is the list's request object.
  const std::string one = Export("format=jsonl&limit=1&outcome=upstream_failed", 10, &chunks);
  json::value v = json::parse(one);
  EXPECT_EQ(v.at("error"), "upstream exploded");
  EXPECT_EQ(Str(v.at("conversationId")), ConvId(kC1));

  Response h = ExportHeader(std::get<ExportPlan>(PlanExport(ExportRequest(""), kNowUs)));
  EXPECT_EQ(h.content_type, "application/x-ndjson");
}

TEST_P(ExportApiTest, BadExportParameters) {
  for (const char* query : {"format=xml", "limit=0", "limit=x", "since=never", "outcome=nope"}) {
    auto plan = PlanExport(ExportRequest(query), kNowUs);
    ASSERT_TRUE(std::holds_alternative<Response>(plan)) << query;
    Reply r;
    r.response = std::get<Response>(plan);
    r.status = r.response.status;
    r.body = json::parse(r.response.body);
    ExpectBadRequest(r, query);
  }
  Request post = ExportRequest("format=csv");
  post.method = "POST";
  auto plan = PlanExport(post, kNowUs);
  ASSERT_TRUE(std::holds_alternative<Response>(plan));
  EXPECT_EQ(std::get<Response>(plan).status, 405);
}

INSTANTIATE_TEST_SUITE_P(Stores, ExportApiTest, ::testing::ValuesIn(Backends()),
                         [](const auto& p) { return p.param.name; });

TEST(PlanEventsTest, LastEventIdFromHeaderOrParameter) {
  Request req;
  req.method = "GET";
  req.path = "/api/events";
  auto none = PlanEvents(req);
  ASSERT_TRUE(std::holds_alternative<std::optional<std::int64_t>>(none));
  EXPECT_EQ(std::get<std::optional<std::int64_t>>(none), std::nullopt);

  req.headers = {{"Last-Event-ID", "42"}};
  auto header = PlanEvents(req);
  ASSERT_TRUE(std::holds_alternative<std::optional<std::int64_t>>(header));
  EXPECT_EQ(std::get<std::optional<std::int64_t>>(header), 42);

  req.query = "lastEventId=7";
  auto both = PlanEvents(req);  // the header wins
  ASSERT_TRUE(std::holds_alternative<std::optional<std::int64_t>>(both));
  EXPECT_EQ(std::get<std::optional<std::int64_t>>(both), 42);

  req.headers.clear();
  auto param = PlanEvents(req);
  ASSERT_TRUE(std::holds_alternative<std::optional<std::int64_t>>(param));
  EXPECT_EQ(std::get<std::optional<std::int64_t>>(param), 7);

  for (const char* bad : {"abc", "-1", "12x", "1.5"}) {
    req.headers = {{"last-event-id", bad}};
    auto r = PlanEvents(req);
    ASSERT_TRUE(std::holds_alternative<Response>(r)) << bad;
    EXPECT_EQ(std::get<Response>(r).status, 400) << bad;
    json::value v = json::parse(std::get<Response>(r).body);
    EXPECT_EQ(v.at("error").at("type"), "invalid_request_error") << bad;
  }
  req.headers.clear();
  req.query = "lastEventId=nope";
  EXPECT_TRUE(std::holds_alternative<Response>(PlanEvents(req)));
}

// query::EventFeed on both stores. The feed's own thread polls once at Start and then every
// hour: the test drives it with PollOnce (polls are serialised inside the feed).
class EventFeedTest : public ApiTest {
 protected:
  std::unique_ptr<query::EventFeed> NewFeed() {
    auto reader = store().OpenReader(5000);
    EXPECT_TRUE(reader.ok()) << reader.status().ToString();
    if (!reader.ok()) return nullptr;
    return std::make_unique<query::EventFeed>(std::move(reader).value(), std::chrono::hours(1));
  }
  static std::string RequestIdOf(const query::FeedEvent& e) {
    return std::string(json::parse(e.json).at("requestId").as_string());
  }
};

TEST_P(EventFeedTest, DeliversNewRecordsInSeqOrderAndResumes) {
  auto feed = NewFeed();
  ASSERT_NE(feed, nullptr);
  ASSERT_TRUE(feed->Start().ok());
  EXPECT_TRUE(feed->After(0).empty());

  Record a = Base(1, kNowUs - 2 * kMinuteUs);
  a.link.conversation_id = ConvId(1);
  a.link.branch_id = "main";
  a.usage.output_tokens = 11;
  Record b = Base(2, kNowUs - kMinuteUs);
  b.domain = "beta.example.com";
  b.outcome = Outcome::kClientAborted;
  const std::vector<Record> batch = {a, b};
  Write(batch);
  auto polled = feed->PollOnce();
  ASSERT_TRUE(polled.ok()) << polled.status().ToString();

  auto events = feed->After(0);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(RequestIdOf(events[0]), Id(1));
  EXPECT_EQ(RequestIdOf(events[1]), Id(2));
  EXPECT_LT(events[0].seq, events[1].seq);
  EXPECT_LT(events[0].position, events[1].position);
  json::value first = json::parse(events[0].json);
  EXPECT_EQ(Str(first.at("timestamp")), Iso(kNowUs - 2 * kMinuteUs));
  EXPECT_EQ(first.at("domain"), "alpha.example.com");
  EXPECT_EQ(first.at("model"), "claude-sonnet-4");
  EXPECT_EQ(first.at("requestType"), "inference");
  EXPECT_EQ(first.at("outcome"), "completed");
  EXPECT_EQ(first.at("responseStatus").as_int64(), 200);
  EXPECT_EQ(first.at("outputTokens").as_int64(), 11);
  EXPECT_EQ(Str(first.at("conversationId")), ConvId(1));
  EXPECT_EQ(first.at("accountId"), "acc-a");
  EXPECT_EQ(first.at("durationMs").as_int64(), 1500);
  EXPECT_EQ(json::parse(events[1].json).at("outcome"), "client_aborted");

  // Resume after the first event's id (Last-Event-ID): only the second follows.
  auto resumed = feed->After(feed->PositionAfterSeq(events[0].seq));
  ASSERT_EQ(resumed.size(), 1u);
  EXPECT_EQ(RequestIdOf(resumed[0]), Id(2));
  EXPECT_TRUE(feed->After(feed->PositionAfterSeq(events[1].seq)).empty());
  EXPECT_TRUE(feed->After(feed->PositionAfterSeq(std::nullopt)).empty());  // only new ones
  EXPECT_EQ(feed->After(feed->PositionAfterSeq(0)).size(), 2u);
  EXPECT_EQ(feed->After(0, 1).size(), 1u);  // max

  // A replayed batch is stored once and adds no event.
  Write(batch);
  auto again = feed->PollOnce();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0);
  EXPECT_EQ(feed->After(0).size(), 2u);

  // A third record follows in order.
  Write({Base(3, kNowUs)});
  ASSERT_TRUE(feed->PollOnce().ok());
  auto after_second = feed->After(events[1].position);
  ASSERT_EQ(after_second.size(), 1u);
  EXPECT_EQ(RequestIdOf(after_second[0]), Id(3));
  EXPECT_GT(after_second[0].seq, events[1].seq);
  feed->Stop();
}

TEST_P(EventFeedTest, StartsAfterTheStoredHistory) {
  Write({Base(1, kNowUs - kMinuteUs), Base(2, kNowUs)});
  auto feed = NewFeed();
  ASSERT_NE(feed, nullptr);
  ASSERT_TRUE(feed->Start().ok());
  ASSERT_TRUE(feed->PollOnce().ok());
  // "Reads the newest seq (the feed starts after it: no history replay)" (event_feed.h).
  EXPECT_TRUE(feed->After(0).empty());
  Write({Base(3, kNowUs)});
  ASSERT_TRUE(feed->PollOnce().ok());
  auto events = feed->After(0);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(RequestIdOf(events[0]), Id(3));
  feed->Stop();
}

INSTANTIATE_TEST_SUITE_P(Stores, EventFeedTest, ::testing::ValuesIn(Backends()),
                         [](const auto& p) { return p.param.name; });

}  // namespace
}  // namespace cn::api::testing
