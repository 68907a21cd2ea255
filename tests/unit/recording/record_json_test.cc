#include "recording/record_json.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdint>
#include <string>

#include "common/utf8.h"
#include "test_util.h"

namespace cn::recording {
namespace {

// Every field of Record, compared one by one (Record has no operator==).
void ExpectSame(const Record& a, const Record& b) {
  EXPECT_EQ(a.request_id, b.request_id);
  EXPECT_EQ(a.domain, b.domain);
  EXPECT_EQ(a.account_id, b.account_id);
  EXPECT_EQ(a.timestamp_unix_micros, b.timestamp_unix_micros);
  EXPECT_EQ(a.method, b.method);
  EXPECT_EQ(a.path, b.path);
  EXPECT_EQ(a.query, b.query);
  EXPECT_EQ(a.request_headers, b.request_headers);
  EXPECT_EQ(a.request_body, b.request_body);
  EXPECT_EQ(a.response_status, b.response_status);
  EXPECT_EQ(a.response_headers, b.response_headers);
  EXPECT_EQ(a.response_body, b.response_body);
  EXPECT_EQ(a.response_body_truncated, b.response_body_truncated);
  EXPECT_EQ(a.response_streaming, b.response_streaming);
  EXPECT_EQ(a.chunks, b.chunks);
  EXPECT_EQ(a.first_byte_micros, b.first_byte_micros);
  EXPECT_EQ(a.duration_micros, b.duration_micros);
  EXPECT_EQ(a.upstream_attempts, b.upstream_attempts);
  EXPECT_EQ(a.outcome, b.outcome);
  EXPECT_EQ(a.error, b.error);
  EXPECT_EQ(a.enriched, b.enriched);
  EXPECT_EQ(a.model, b.model);
  EXPECT_EQ(a.request_type, b.request_type);
  EXPECT_EQ(a.message_count, b.message_count);
  EXPECT_EQ(a.usage, b.usage);
  EXPECT_EQ(a.usage_json, b.usage_json);
  EXPECT_EQ(a.response_json, b.response_json);
  EXPECT_EQ(a.tool_call_count, b.tool_call_count);
  EXPECT_EQ(a.task_tool_invocation_json, b.task_tool_invocation_json);
  EXPECT_EQ(a.stop_reason, b.stop_reason);
  EXPECT_EQ(a.chunk_usage, b.chunk_usage);
  EXPECT_EQ(a.link.current_message_hash, b.link.current_message_hash);
  EXPECT_EQ(a.link.parent_message_hash, b.link.parent_message_hash);
  EXPECT_EQ(a.link.system_hash, b.link.system_hash);
  EXPECT_EQ(a.link.conversation_id, b.link.conversation_id);
  EXPECT_EQ(a.link.branch_id, b.link.branch_id);
  EXPECT_EQ(a.link.parent_request_id, b.link.parent_request_id);
  EXPECT_EQ(a.link.parent_task_request_id, b.link.parent_task_request_id);
  EXPECT_EQ(a.link.is_subtask, b.link.is_subtask);
  EXPECT_EQ(a.user_id, b.user_id);
  EXPECT_EQ(a.session_id, b.session_id);
  EXPECT_EQ(a.cost_usd, b.cost_usd);
  EXPECT_EQ(a.quota, b.quota);
  EXPECT_EQ(a.search_text, b.search_text);
}

// No field at its default, so a field the mapping forgot cannot pass unnoticed.
Record FullRecord() {
  Record r = test::MakeRecord(7);
  r.account_id = "acc_team";
  r.query = "beta=true&x=%20";
  r.response_headers = {
      {"Content-Type", "text/event-stream"}, {"Set-Cookie", "a=1"}, {"Set-Cookie", "b=2"}};
  r.response_body_truncated = true;
  r.response_streaming = true;
  r.chunks.push_back({1'700'000'000'000'998,
                      "event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":"
                      "{\"output_tokens\":20}}\n\n"});
  r.chunks.push_back(
      {1'700'000'000'000'999, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"});
  r.first_byte_micros = 4321;
  r.outcome = Outcome::kClientAborted;
  r.error = "client went away";
  r.enriched = true;
  r.model = "claude-3-5-sonnet";
  r.request_type = "inference";
  r.message_count = 3;
  r.usage = {10, 20, 30, 40};
  r.usage_json = R"({"input_tokens":10})";
  r.response_json = R"({"type":"message"})";
  r.tool_call_count = 2;
  r.task_tool_invocation_json = R"([{"id":"t1","name":"Task","input":{}}])";
  r.stop_reason = "tool_use";
  // What enrichment (anthropic::ChunkUsages) reads from the chunks above.
  r.chunk_usage = {{1, R"({"type":"message_delta","usage":{"output_tokens":20}})", 20}};
  r.link.current_message_hash = "h1";
  r.link.parent_message_hash = "h0";
  r.link.system_hash = "hs";
  r.link.conversation_id = "conv";
  r.link.branch_id = "main";
  r.link.parent_request_id = "req-6";
  r.link.parent_task_request_id = "req-5";
  r.link.is_subtask = true;
  r.user_id = "2f8a9c0b";
  r.session_id = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d";
  r.cost_usd = 0.1234567890123457;  // needs all 17 significant digits to come back exactly
  r.quota.status = "allowed_warning";
  r.quota.utilization_5h = 0.91;
  r.quota.resets_at_5h = 1'750'420'800;
  r.quota.utilization_7d = 0.33;
  r.quota.resets_at_7d = 1'750'896'000;
  r.quota.json = R"({"status":"allowed_warning"})";
  r.search_text = "what changed?\nNothing \xc3\xa9";
  return r;
}

Record RoundTrip(const Record& r) {
  const std::string line = RecordToJson(r);
  EXPECT_EQ(line.find('\n'), std::string::npos) << "a spill line must be one line";
  StatusOr<Record> back = RecordFromJson(line);
  EXPECT_TRUE(back.ok()) << back.status().ToString();
  return back.ok() ? std::move(back).value() : Record{};
}

TEST(RecordJsonTest, RoundTripsEveryField) {
  const Record r = FullRecord();
  ExpectSame(RoundTrip(r), r);
}

TEST(RecordJsonTest, RoundTripsDefaultRecordWithNullOptionals) {
  Record r;
  r.request_id = "only-id";
  const Record back = RoundTrip(r);
  ExpectSame(back, r);
  EXPECT_FALSE(back.account_id.has_value());
  EXPECT_FALSE(back.first_byte_micros.has_value());
}

TEST(RecordJsonTest, EmptyAccountIdIsNotNullopt) {
  Record r = test::MakeRecord(1);
  r.account_id = "";
  EXPECT_EQ(RoundTrip(r).account_id, std::optional<std::string>(""));
}

TEST(RecordJsonTest, BinaryBytesSurviveAndProduceValidJson) {
  std::string all_bytes;
  for (int b = 0; b < 256; ++b) all_bytes.push_back(static_cast<char>(b));
  Record r = FullRecord();
  r.request_body = all_bytes;
  r.response_body = all_bytes + all_bytes;
  r.chunks = {{1, all_bytes}, {2, "\n\r\n"}};
  r.request_headers.push_back({"X-Obs-Text", "caf\xe9"});  // Latin-1 obs-text header value
  const std::string line = RecordToJson(r);
  EXPECT_TRUE(IsValidUtf8(line));
  boost::system::error_code ec;
  boost::json::parse(line, ec);  // strict parser: rejects invalid UTF-8
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_NE(line.find("\"base64\""), std::string::npos);
  ExpectSame(RoundTrip(r), r);
}

TEST(RecordJsonTest, EveryBase64TailLengthRoundTrips) {
  for (int n = 0; n < 8; ++n) {
    Record r = test::MakeRecord(n);
    r.request_body = "\xff" + std::string(static_cast<std::size_t>(n), '\x80');
    EXPECT_EQ(RoundTrip(r).request_body, r.request_body) << "length " << n + 1;
  }
}

TEST(RecordJsonTest, UnicodeStaysReadableText) {
  Record r = FullRecord();
  r.request_body = "{\"content\":\"h\xc3\xa9llo \xe4\xb8\x96\xe7\x95\x8c \xf0\x9f\x8e\x89\"}";
  r.model = "\xe6\xa8\xa1\xe5\x9e\x8b";
  r.response_body = "plain";
  r.chunks = {{1, "data: \xf0\x9f\x98\x80\n\n"}};
  r.request_headers = {{"X-Name", "J\xc3\xbcrgen"}};
  const std::string line = RecordToJson(r);
  EXPECT_EQ(line.find("base64"), std::string::npos) << line;
  ExpectSame(RoundTrip(r), r);
}

TEST(RecordJsonTest, EveryAsciiByteIsEscapedAsText) {
  std::string ascii;
  for (int b = 0; b < 0x80; ++b) ascii.push_back(static_cast<char>(b));
  Record r = FullRecord();
  r.request_body = ascii + "\xc3\xa9";  // plus a valid multi-byte sequence: still text
  r.request_headers = {{"X-Quote", "a\"b\\c"}};
  const std::string line = RecordToJson(r);
  const boost::json::value v = boost::json::parse(line);
  EXPECT_TRUE(v.at("request_body").is_string()) << line;
  EXPECT_TRUE(v.at("request_headers").at(0).at(1).is_string()) << line;
  EXPECT_NE(line.find(R"(\u0000\u0001)"), std::string::npos) << line;
  EXPECT_NE(line.find(R"(\t\n\u000b\f\r)"), std::string::npos) << line;
  ExpectSame(RoundTrip(r), r);
}

// The hand-written serializer against the real parser, over strings built from the bytes that
// matter (escapes, control characters, valid and broken UTF-8 sequences).
TEST(RecordJsonTest, RandomByteStringsRoundTripThroughTheParser) {
  const unsigned char alphabet[] = {0x00, 0x01, 0x1f, 0x20, '"', '\\', '/', 'a', 0x7f, 0xc3, 0xa9,
                                    0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80, 0xed, 0xa0, 0xff,
                                    // plain runs, for the eight-bytes-at-a-time scan
                                    'b', 'c', 'd', 'e', ' ', '~', '!', '#', '[', ']', 0x21, 0x5d};
  std::uint32_t seed = 12345;
  const auto next = [&seed] {
    seed = seed * 1664525u + 1013904223u;
    return seed >> 8;
  };
  int as_text = 0;
  int as_base64 = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string bytes;
    const std::uint32_t len = next() % 40;
    for (std::uint32_t k = 0; k < len; ++k)
      bytes.push_back(static_cast<char>(alphabet[next() % sizeof alphabet]));
    Record r = test::MakeRecord(i);
    r.response_body = bytes;
    const std::string line = RecordToJson(r);
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(line, ec);
    ASSERT_FALSE(ec) << ec.message() << " for " << line;
    const boost::json::value& body = v.at("response_body");
    if (IsValidUtf8(bytes)) {
      ++as_text;
      ASSERT_TRUE(body.is_string()) << line;
      EXPECT_EQ(std::string_view(body.as_string()), bytes) << line;
    } else {
      ++as_base64;
      ASSERT_TRUE(body.is_object()) << line;
    }
    EXPECT_EQ(RoundTrip(r).response_body, bytes) << line;
  }
  EXPECT_GT(as_text, 100);
  EXPECT_GT(as_base64, 100);
}

TEST(RecordJsonTest, Utf8ValidatorIsStrict) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("ascii \x7f"));
  EXPECT_TRUE(IsValidUtf8("\xc2\x80 \xef\xbf\xbf \xf4\x8f\xbf\xbf"));
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\xaf"));      // overlong, 3 bytes
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // UTF-16 surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xe4\xb8"));          // truncated
  EXPECT_FALSE(IsValidUtf8("\x80"));              // lone continuation byte
  EXPECT_FALSE(IsValidUtf8("\xf8\x88\x80\x80\x80"));
}

TEST(RecordJsonTest, MalformedInputIsCorruptionNotAnException) {
  const char* bad[] = {
      "",
      "not json",
      "[1,2]",
      R"({"v":1})",                                     // no request_id
      R"({"request_id":"a","response_status":"200"})",  // wrong type
      R"({"request_id":"a","request_body":{"base64":"@@@@"}})",
      R"({"request_id":"a","request_body":{"base64":"abc"}})",  // not a multiple of 4
      R"({"request_id":"a","outcome":"exploded"})",
      R"({"request_id":"a","request_headers":[["only-name"]]})",
      R"({"request_id":"a","chunks":[{"data":"x"}]})",
      R"({"request_id":"a","usage":{"input_tokens":"many"}})",
      R"({"request_id":"a","chunk_usage":{}})",
      R"({"request_id":"a","quota":[]})",
      R"({"request_id":"a","quota":{"utilization_5h":"high"}})",
      R"({"request_id":"a","cost_usd":"free"})",
      R"({"request_id":"a","chunk_usage":[{"chunk":0,"payload":"{}"}]})",  // no output_tokens
      R"({"request_id":"a","chunk_usage":[{"chunk":-1,"payload":"{}","output_tokens":0}]})",
      R"({"request_id":"a","response_status":99999999999})",  // does not fit an int
      R"({"v":99,"request_id":"a"})",                         // from a newer writer
      "{\"request_id\":\"a\"",                                // torn
  };
  for (const char* text : bad) {
    StatusOr<Record> r = RecordFromJson(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << text;
  }
}

TEST(RecordJsonTest, MissingOptionalFieldsKeepDefaults) {
  StatusOr<Record> r = RecordFromJson(R"({"request_id":"abc","extra_future_field":[1]})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->request_id, "abc");
  EXPECT_EQ(r->outcome, Outcome::kCompleted);
  EXPECT_FALSE(r->enriched);
  EXPECT_TRUE(r->chunks.empty());
}

// The line as the previous claude-nexus wrote it: everything but the chunk_usage key.
std::string WithoutChunkUsage(const Record& r) {
  boost::json::object line = boost::json::parse(RecordToJson(r)).as_object();
  EXPECT_TRUE(line.contains("chunk_usage"));
  line.erase("chunk_usage");
  return boost::json::serialize(line);
}

TEST(RecordJsonTest, OldEnrichedLineGetsChunkUsageDerivedFromItsChunks) {
  const Record r = FullRecord();
  ASSERT_FALSE(r.chunk_usage.empty());
  StatusOr<Record> back = RecordFromJson(WithoutChunkUsage(r));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  // The stores then write token_count 20 for chunk 1, as they did when they parsed it.
  ExpectSame(*back, r);
}

TEST(RecordJsonTest, OldUnenrichedLineLeavesChunkUsageToEnrichment) {
  Record r = FullRecord();
  r.enriched = false;
  StatusOr<Record> back = RecordFromJson(WithoutChunkUsage(r));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_FALSE(back->enriched);
  EXPECT_TRUE(back->chunk_usage.empty());
}

TEST(RecordJsonTest, CostAndQuotaRoundTripIncludingUnsetValues) {
  Record r = FullRecord();
  ExpectSame(RoundTrip(r), r);
  r.cost_usd = 0.0;  // free is not unpriced
  r.quota = QuotaSnapshot{};
  r.quota.utilization_7d = 1.0;
  ExpectSame(RoundTrip(r), r);
  r.cost_usd.reset();
  r.quota = QuotaSnapshot{};
  const Record back = RoundTrip(r);
  ExpectSame(back, r);
  EXPECT_FALSE(back.cost_usd.has_value());
}

TEST(RecordJsonTest, OldEnrichedLineGetsAttributionAndQuotaDerived) {
  // A line of the version before user_id/session_id/cost_usd/quota: enrichment will not run
  // again, so the codec derives what it can from the raw bytes (not the cost: no price table).
  Record r = FullRecord();
  r.request_body = R"({"model":"m","metadata":{"user_id":"user_abc_account__session_s-1"}})";
  r.request_headers.push_back({"X-Claude-Code-Session-Id", "s-2"});
  r.response_headers.push_back({"anthropic-ratelimit-unified-status", "allowed"});
  r.response_headers.push_back({"anthropic-ratelimit-unified-5h-utilization", "0.25"});
  boost::json::object line = boost::json::parse(RecordToJson(r)).as_object();
  for (const char* key : {"user_id", "session_id", "cost_usd", "quota"}) {
    ASSERT_TRUE(line.contains(key)) << key;
    line.erase(key);
  }
  StatusOr<Record> back = RecordFromJson(boost::json::serialize(line));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->user_id, "abc");
  EXPECT_EQ(back->session_id, "s-2");
  EXPECT_FALSE(back->cost_usd.has_value());
  EXPECT_EQ(back->quota.status, "allowed");
  EXPECT_EQ(back->quota.utilization_5h, 0.25);
  EXPECT_NE(back->quota.json.find("\"5h\""), std::string::npos);
  // Unenriched old lines are left to enrichment.
  line["enriched"] = false;
  back = RecordFromJson(boost::json::serialize(line));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->user_id, "");
  EXPECT_EQ(back->quota, QuotaSnapshot{});
}

TEST(RecordJsonTest, OldEnrichedLineGetsSearchTextDerived) {
  // A line of the version before search_text: derived from the request body and response_json,
  // as enrichment would have (anthropic/search_text.h).
  Record r = FullRecord();
  r.request_body = R"({"messages":[{"role":"user","content":"old question"}]})";
  r.response_json = R"({"type":"message","content":[{"type":"text","text":"old answer"}]})";
  boost::json::object line = boost::json::parse(RecordToJson(r)).as_object();
  ASSERT_TRUE(line.contains("search_text"));
  line.erase("search_text");
  StatusOr<Record> back = RecordFromJson(boost::json::serialize(line));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->search_text, "old question\nold answer");
  // Present (even empty) is taken as written; unenriched lines are left to enrichment.
  r.search_text.clear();
  ExpectSame(RoundTrip(r), r);
  line["enriched"] = false;
  back = RecordFromJson(boost::json::serialize(line));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->search_text, "");
}

TEST(RecordJsonTest, PresentChunkUsageIsTakenAsWritten) {
  // An enriched record whose chunks carry usage but whose chunk_usage is empty (or says
  // something else) reads back exactly so: nothing is re-derived when the key is there.
  Record r = FullRecord();
  r.chunk_usage.clear();
  ExpectSame(RoundTrip(r), r);
  r.chunk_usage = {{2, std::string("\xff not utf-8"), 5}, {7, "", 0}};
  ExpectSame(RoundTrip(r), r);
}

}  // namespace
}  // namespace cn::recording
