#include "anthropic/enrich.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "captured_streams.h"

namespace cn::anthropic {
namespace {

namespace json = boost::json;

Record MakeRecord(std::string method, std::string path, std::string request_body,
                  std::string response_body) {
  Record r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.request_body = std::move(request_body);
  r.response_body = std::move(response_body);
  return r;
}

Record RequestRecord(const json::object& capture) {
  return MakeRecord("POST", std::string(capture.at("path").as_string()),
                    json::serialize(capture.at("body")), "");
}

json::array WithoutThinking(const json::array& content) {
  json::array out;
  for (const json::value& block : content) {
    const json::string& type = block.at("type").as_string();
    if (type != "thinking" && type != "redacted_thinking") out.push_back(block);
  }
  return out;
}

void ExpectLikeOriginal(const Record& r, const json::object& capture) {
  const json::object& metadata = capture.at("metadata").as_object();
  const json::object& original = capture.at("response").at("body").as_object();
  const json::object& usage = original.at("usage").as_object();
  EXPECT_TRUE(r.enriched);
  EXPECT_EQ(r.model, metadata.at("modelUsed").as_string().c_str());
  EXPECT_EQ(r.message_count, metadata.at("messageCount").as_int64());
  EXPECT_EQ(r.request_type, "inference");
  EXPECT_EQ(r.usage,
            (TokenUsage{usage.at("input_tokens").as_int64(), usage.at("output_tokens").as_int64(),
                        usage.at("cache_creation_input_tokens").as_int64(),
                        usage.at("cache_read_input_tokens").as_int64()}));
  EXPECT_EQ(json::parse(r.usage_json), json::value(usage));
  EXPECT_EQ(r.tool_call_count, capture.at("response").at("metadata").at("toolCalls").as_int64());
  EXPECT_EQ(r.stop_reason, original.at("stop_reason").as_string().c_str());

  const json::object ours = json::parse(r.response_json).as_object();
  // The original dropped thinking blocks from what it stored; ours keeps them.
  EXPECT_EQ(WithoutThinking(ours.at("content").as_array()), original.at("content"));
  for (const char* key : {"id", "type", "role", "model", "stop_reason", "stop_sequence", "usage"}) {
    EXPECT_EQ(ours.at(key), original.at(key)) << key;
  }
  EXPECT_TRUE(r.error.empty());
}

TEST(EnrichRecord, CapturedStreamsReconstructTheOriginalsBody) {
  const auto streams = testing::LoadCapturedStreams();
  ASSERT_EQ(streams.size(), 2u);
  for (const auto& ex : streams) {
    SCOPED_TRACE(ex.file);
    Record r = RequestRecord(ex.capture);
    r.response_streaming = true;
    for (const std::string& event : ex.events) r.chunks.push_back({0, event});
    EnrichRecord(r);
    ExpectLikeOriginal(r, ex.capture);
  }
}

TEST(EnrichRecord, ChunkUsageOfCapturedStreams) {
  // message_start (usage under `message`) and message_delta (top-level usage) carry usage; the
  // stores write output_tokens as streaming_chunks.token_count (docs/storage.md).
  const auto streams = testing::LoadCapturedStreams();
  ASSERT_EQ(streams.size(), 2u);
  for (const auto& ex : streams) {
    SCOPED_TRACE(ex.file);
    Record r = RequestRecord(ex.capture);
    r.response_streaming = true;
    for (const std::string& event : ex.events) r.chunks.push_back({0, event});
    EnrichRecord(r);
    ASSERT_EQ(r.chunk_usage.size(), 2u);
    const ChunkUsage& start = r.chunk_usage[0];
    const ChunkUsage& delta = r.chunk_usage[1];
    EXPECT_EQ(start.chunk_index, 0u);
    EXPECT_EQ(json::parse(start.payload).at("type"), "message_start");
    EXPECT_EQ(start.payload, sse::EventData(ex.events[0]));
    EXPECT_EQ(start.output_tokens, 0);
    ASSERT_LT(delta.chunk_index, ex.events.size());
    EXPECT_EQ(delta.chunk_index, ex.events.size() - 2);  // message_delta, then message_stop
    EXPECT_EQ(delta.payload, sse::EventData(ex.events[delta.chunk_index]));
    EXPECT_EQ(json::parse(delta.payload).at("type"), "message_delta");
    const std::int64_t want =
        ex.capture.at("response").at("body").at("usage").at("output_tokens").as_int64();
    EXPECT_GT(want, 0);
    EXPECT_EQ(delta.output_tokens, want);
    EXPECT_EQ(ChunkUsages(r.chunks), r.chunk_usage);
  }
}

TEST(EnrichRecord, ChunkUsageOnlyForEventsCarryingAUsageObject) {
  auto event = [](std::string_view name, std::string_view data) {
    return StreamChunk{0, sse::FormatEvent(name, data)};
  };
  const std::vector<StreamChunk> chunks = {
      event("ping", R"({"type":"ping"})"),
      // The word in a text delta is escaped inside the JSON string: not a usage key.
      event("content_block_delta",
            R"({"type":"content_block_delta","delta":{"type":"text_delta","text":"\"usage\""}})"),
      event("message_delta", R"({"type":"message_delta","usage":{"output_tokens":7.0}})"),
      event("message_delta", R"({"type":"message_delta","usage":{"input_tokens":3}})"),
      event("message_delta", R"({"type":"message_delta","usage":[1]})"),
      {0, "data: {\"usage\": broken\n\n"},
      event("message_delta", R"({"type":"message_delta","usage":{"output_tokens":"9"}})"),
      {0,
       "event: message_delta\ndata: {\"type\":\"message_delta\",\ndata: "
       "\"usage\":{\"output_tokens\":11}}\n\n"},  // data split over two lines
  };
  const std::vector<ChunkUsage> got = ChunkUsages(chunks);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].chunk_index, 2u);
  EXPECT_EQ(got[0].output_tokens, 7);  // a whole number, as the record's usage reads it
  EXPECT_EQ(got[1].chunk_index, 3u);
  EXPECT_EQ(got[1].output_tokens, 0);
  EXPECT_EQ(got[2].chunk_index, 6u);
  EXPECT_EQ(got[2].output_tokens, 0);  // not a number
  EXPECT_EQ(got[3].chunk_index, 7u);
  EXPECT_EQ(got[3].payload, "{\"type\":\"message_delta\",\n\"usage\":{\"output_tokens\":11}}");
  EXPECT_EQ(got[3].output_tokens, 11);

  // Enrichment fills it for any record with chunks, and leaves it empty without them.
  Record r;
  r.response_streaming = true;
  r.chunks = chunks;
  EnrichRecord(r);
  EXPECT_EQ(r.chunk_usage, got);
  Record plain;
  plain.response_body = R"({"type":"message","usage":{"output_tokens":5}})";
  EnrichRecord(plain);
  EXPECT_TRUE(plain.chunk_usage.empty());
}

TEST(EnrichRecord, StreamWithoutChunksFallsBackToTheBody) {
  const auto streams = testing::LoadCapturedStreams();
  ASSERT_FALSE(streams.empty());
  Record r = RequestRecord(streams[0].capture);
  r.response_streaming = true;
  r.response_body = streams[0].wire;
  EnrichRecord(r);
  ExpectLikeOriginal(r, streams[0].capture);
}

TEST(EnrichRecord, TaskInvocationsFromTheStream) {
  for (const auto& ex : testing::LoadCapturedStreams()) {
    SCOPED_TRACE(ex.file);
    Record r = RequestRecord(ex.capture);
    r.response_streaming = true;
    for (const std::string& event : ex.events) r.chunks.push_back({0, event});
    EnrichRecord(r);
    json::array expected;
    for (const json::value& block : ex.capture.at("response").at("body").at("content").as_array()) {
      if (block.at("type") == "tool_use" && block.at("name") == "Task") {
        expected.push_back(
            json::object{{"id", block.at("id")}, {"name", "Task"}, {"input", block.at("input")}});
      }
    }
    if (expected.empty()) {
      EXPECT_EQ(r.task_tool_invocation_json, "");
    } else {
      EXPECT_EQ(json::parse(r.task_tool_invocation_json), expected);
    }
  }
}

TEST(EnrichRecord, OneCapturedStreamHasATaskCall) {
  int with_task = 0;
  for (const auto& ex : testing::LoadCapturedStreams()) {
    Record r = RequestRecord(ex.capture);
    r.response_streaming = true;
    for (const std::string& event : ex.events) r.chunks.push_back({0, event});
    EnrichRecord(r);
    with_task += r.task_tool_invocation_json.empty() ? 0 : 1;
  }
  EXPECT_EQ(with_task, 1);
}

TEST(EnrichRecord, NonStreamingBodyIsStoredAsReceived) {
  const auto streams = testing::LoadCapturedStreams();
  ASSERT_FALSE(streams.empty());
  for (const auto& ex : streams) {
    SCOPED_TRACE(ex.file);
    Record r = RequestRecord(ex.capture);
    // Pretty-printed on purpose: response_json must be these bytes, not a re-serialisation.
    r.response_body = "{\n  \"stub\": true, " +
                      json::serialize(ex.capture.at("response").at("body")).substr(1) + "\n";
    EnrichRecord(r);
    EXPECT_EQ(r.response_json, r.response_body);
    json::object original = ex.capture.at("response").at("body").as_object();
    const json::object& usage = original.at("usage").as_object();
    EXPECT_EQ(r.usage.input_tokens, usage.at("input_tokens").as_int64());
    EXPECT_EQ(r.usage.output_tokens, usage.at("output_tokens").as_int64());
    EXPECT_EQ(r.usage.cache_creation_input_tokens,
              usage.at("cache_creation_input_tokens").as_int64());
    EXPECT_EQ(r.usage_json, json::serialize(usage));
    EXPECT_EQ(r.tool_call_count, 1);
    EXPECT_EQ(r.stop_reason, "tool_use");
    EXPECT_EQ(r.model, "claude-opus-4-20250514");
  }
}

TEST(EnrichRecord, NonStreamingMissingUsageFieldsAreZero) {
  Record r = MakeRecord(
      "POST", "/v1/messages", R"({"model":"m","messages":[{"role":"user","content":"quota"}]})",
      R"({"type":"message","content":[{"type":"text","text":"x"}],"usage":{"output_tokens":1}})");
  EnrichRecord(r);
  EXPECT_EQ(r.request_type, "quota");
  EXPECT_EQ(r.usage, (TokenUsage{0, 1, 0, 0}));
  EXPECT_EQ(r.usage_json, R"({"output_tokens":1})");
  EXPECT_EQ(r.stop_reason, "");
  EXPECT_EQ(r.tool_call_count, 0);
  EXPECT_EQ(r.task_tool_invocation_json, "");
}

TEST(EnrichRecord, UnparsableInputLeavesFieldsEmpty) {
  Record r = MakeRecord("POST", "/v1/messages", "{\"model\": \"claude",  // truncated
                        "<html>502 Bad Gateway</html>");
  EnrichRecord(r);
  EXPECT_TRUE(r.enriched);
  EXPECT_EQ(r.model, "");
  EXPECT_EQ(r.message_count, 0);
  EXPECT_EQ(r.request_type, "query_evaluation");
  EXPECT_EQ(r.response_json, "");
  EXPECT_EQ(r.usage_json, "");
  EXPECT_EQ(r.usage, TokenUsage{});

  Record wrong = MakeRecord("POST", "/v1/messages", R"({"model":7,"messages":{"role":"user"}})",
                            R"({"usage":[1],"content":"text","stop_reason":false})");
  EnrichRecord(wrong);
  EXPECT_EQ(wrong.model, "");
  EXPECT_EQ(wrong.message_count, 0);
  EXPECT_EQ(wrong.response_json, wrong.response_body);
  EXPECT_EQ(wrong.usage_json, "");
  EXPECT_EQ(wrong.stop_reason, "");
}

TEST(EnrichRecord, AttributionQuotaAndCost) {
  Record r = MakeRecord(
      "POST", "/v1/messages",
      R"({"model":"claude-sonnet-4-5-20250929","metadata":{"user_id":"user_u1_account_a1_session_s1"},)"
      R"("messages":[{"role":"user","content":"hi"}]})",
      R"({"type":"message","role":"assistant","content":[{"type":"text","text":"yo"}],)"
      R"("usage":{"input_tokens":1000,"output_tokens":100,"cache_read_input_tokens":10000,)"
      R"("cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":2000},)"
      R"("cache_creation_input_tokens":2000}})");
  r.request_headers = {{"X-Claude-Code-Session-Id", "s2"}};
  r.response_headers = {{"anthropic-ratelimit-unified-status", "allowed"},
                        {"anthropic-ratelimit-unified-5h-utilization", "0.4"},
                        {"anthropic-ratelimit-unified-5h-reset", "1750420800"},
                        {"anthropic-ratelimit-unified-7d-utilization", "0.1"},
                        {"anthropic-ratelimit-unified-7d-reset", "1750896000"}};
  EnrichRecord(r);
  EXPECT_EQ(r.user_id, "u1");
  EXPECT_EQ(r.session_id, "s2");  // the header wins over metadata
  EXPECT_EQ(r.quota.status, "allowed");
  EXPECT_EQ(r.quota.utilization_5h, 0.4);
  EXPECT_EQ(r.quota.resets_at_5h, 1750420800);
  EXPECT_EQ(r.quota.utilization_7d, 0.1);
  EXPECT_EQ(r.quota.resets_at_7d, 1750896000);
  EXPECT_NE(r.quota.json.find(R"("7d":{"utilization":0.1,"resetsAt":1750896000})"),
            std::string::npos)
      << r.quota.json;
  EXPECT_FALSE(r.cost_usd.has_value());  // PriceRecord's job
  PriceRecord(r, PriceTable::BuiltIn());
  ASSERT_TRUE(r.cost_usd.has_value());
  EXPECT_NEAR(*r.cost_usd, (1000 * 3.0 + 100 * 15.0 + 10000 * 0.3 + 2000 * 6.0) / 1e6, 1e-12);
  r.model = "some-future-model";
  PriceRecord(r, PriceTable::BuiltIn());
  EXPECT_FALSE(r.cost_usd.has_value());  // unpriced, never guessed
}

TEST(EnrichRecord, OlderQuotaHeadersPutTheResetOnTheClaimedWindow) {
  QuotaSnapshot q = QuotaFromHeaders({{"anthropic-ratelimit-unified-status", "allowed"},
                                      {"anthropic-ratelimit-unified-reset", "1750420800"}});
  EXPECT_EQ(q.resets_at_5h, 1750420800);
  EXPECT_FALSE(q.resets_at_7d.has_value());
  EXPECT_FALSE(q.utilization_5h.has_value());
  q = QuotaFromHeaders({{"anthropic-ratelimit-unified-reset", "1750896000"},
                        {"anthropic-ratelimit-unified-representative-claim", "seven_day"}});
  EXPECT_EQ(q.resets_at_7d, 1750896000);
  EXPECT_FALSE(q.resets_at_5h.has_value());
  EXPECT_EQ(QuotaFromHeaders({{"content-type", "application/json"}}), QuotaSnapshot{});
}

TEST(EnrichRecord, OtherRoutes) {
  Record models = MakeRecord("GET", "/v1/models", "", R"({"data":[],"has_more":false})");
  EnrichRecord(models);
  EXPECT_EQ(models.request_type, "other");
  EXPECT_EQ(models.response_json, models.response_body);

  Record count = MakeRecord("POST", "/v1/messages/count_tokens",
                            R"({"model":"claude-x","messages":[{"role":"user","content":"hi"}]})",
                            R"({"input_tokens":42})");
  EnrichRecord(count);
  EXPECT_EQ(count.request_type, "count_tokens");
  EXPECT_EQ(count.model, "claude-x");
  EXPECT_EQ(count.message_count, 1);
}

TEST(EnrichRecord, StreamErrorEventSetsErrorUnlessAlreadySet) {
  const std::string start = sse::FormatEvent(
      "message_start",
      R"({"type":"message_start","message":{"id":"m","usage":{"input_tokens":3}}})");
  const std::string error = sse::FormatEvent(
      "error", R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})");
  Record r;
  r.response_streaming = true;
  r.chunks = {{1, start}, {2, error}};
  EnrichRecord(r);
  EXPECT_EQ(r.error, "stream error: overloaded_error: Overloaded");
  EXPECT_EQ(r.usage.input_tokens, 3);
  EXPECT_EQ(json::parse(r.response_json).at("id"), "m");

  Record cut;
  cut.response_streaming = true;
  cut.error = "upstream reset";
  cut.chunks = r.chunks;
  EnrichRecord(cut);
  EXPECT_EQ(cut.error, "upstream reset");
}

TEST(EnrichRecord, LargeRequestBody) {
  for (const auto& ex : testing::LoadCaptured()) {
    if (ex.file != "inference_streaming_with_tools_with_system_opus.json") continue;
    Record r = RequestRecord(ex.capture);
    ASSERT_GT(r.request_body.size(), 100000u);
    EnrichRecord(r);
    EXPECT_EQ(r.model, "claude-opus-4-20250514");
    EXPECT_EQ(r.message_count, 83);
    EXPECT_EQ(r.request_type, "inference");
    return;
  }
  FAIL() << "large capture not found";
}

TEST(EnrichRecord, LongStreamKeepsEveryDelta) {
  // ~300 KB of deltas (a quadratic rebuild would make this test crawl).
  Record r;
  r.response_streaming = true;
  r.chunks.push_back(
      {0,
       sse::FormatEvent(
           "content_block_start",
           R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})")});
  const std::string piece(15, 'x');
  for (int i = 0; i < 20000; ++i) {
    r.chunks.push_back(
        {0, sse::FormatEvent(
                "content_block_delta",
                R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":")" +
                    piece + R"("}})")});
  }
  EnrichRecord(r);
  const json::value message = json::parse(r.response_json);
  EXPECT_EQ(message.at("content").at(0).at("text").as_string().size(), 20000u * piece.size());
}

}  // namespace
}  // namespace cn::anthropic
