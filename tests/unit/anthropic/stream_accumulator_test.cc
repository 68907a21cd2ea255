#include "anthropic/stream_accumulator.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

namespace cn::anthropic {
namespace {

namespace json = boost::json;

// Feeds `data` (JSON text) as one Anthropic-framed event named after its "type".
void Send(StreamAccumulator& acc, std::string_view data) {
  const json::value v = json::parse(data);
  acc.AddRaw(sse::FormatEvent(std::string(v.at("type").as_string()), data));
}

void SendStart(StreamAccumulator& acc) {
  Send(acc, R"({"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant",
      "model":"claude-x","content":[],"stop_reason":null,"stop_sequence":null,
      "usage":{"input_tokens":10,"cache_creation_input_tokens":5,"cache_read_input_tokens":3,
      "output_tokens":1,"service_tier":"standard"}}})");
}

json::array Content(const StreamAccumulator& acc) {
  return json::parse(acc.MessageJson()).at("content").as_array();
}

TEST(StreamAccumulator, ThinkingWithSignatureAndRedactedThinkingAreKept) {
  StreamAccumulator acc;
  SendStart(acc);
  Send(
      acc,
      R"({"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}})");
  Send(
      acc,
      R"({"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Let me "}})");
  Send(
      acc,
      R"({"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"think."}})");
  Send(
      acc,
      R"({"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCgIYAhIM"}})");
  Send(acc, R"({"type":"content_block_stop","index":0})");
  Send(
      acc,
      R"({"type":"content_block_start","index":1,"content_block":{"type":"redacted_thinking","data":"EmwKAhgB"}})");
  Send(acc, R"({"type":"content_block_stop","index":1})");
  Send(acc,
       R"({"type":"content_block_start","index":2,"content_block":{"type":"text","text":""}})");
  Send(acc,
       R"({"type":"content_block_delta","index":2,"delta":{"type":"text_delta","text":"Hi"}})");
  Send(acc, R"({"type":"content_block_stop","index":2})");
  Send(
      acc,
      R"({"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":42}})");
  Send(acc, R"({"type":"message_stop"})");

  EXPECT_EQ(Content(acc), json::parse(R"([
      {"type":"thinking","thinking":"Let me think.","signature":"EqQBCgIYAhIM"},
      {"type":"redacted_thinking","data":"EmwKAhgB"},
      {"type":"text","text":"Hi"}])"));
  EXPECT_EQ(acc.stop_reason(), "end_turn");
  EXPECT_EQ(acc.tool_call_count(), 0);
  const json::value message = json::parse(acc.MessageJson());
  EXPECT_EQ(message.at("id"), "msg_1");
  EXPECT_EQ(message.at("model"), "claude-x");
  EXPECT_EQ(message.at("stop_reason"), "end_turn");
  EXPECT_TRUE(message.at("stop_sequence").is_null());
}

TEST(StreamAccumulator, ToolInputAssembledFromManySmallDeltas) {
  const std::string input =
      R"({"command":"grep -n \"a\\b\" caf\u00e9 \u65e5\u672c","nested":{"list":[1,2.5,true,null],"s":"x\ny"}})";
  StreamAccumulator acc;
  SendStart(acc);
  Send(
      acc,
      R"({"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_1","name":"Bash","input":{}}})");
  for (std::size_t at = 0, step = 1; at < input.size(); at += step, step = step % 3 + 1) {
    json::object delta{{"type", "input_json_delta"}, {"partial_json", input.substr(at, step)}};
    json::object event{{"type", "content_block_delta"}, {"index", 0}, {"delta", delta}};
    Send(acc, json::serialize(event));
  }
  Send(acc, R"({"type":"content_block_stop","index":0})");
  const json::array content = Content(acc);
  ASSERT_EQ(content.size(), 1u);
  EXPECT_EQ(content[0].at("input"), json::parse(input));
  EXPECT_EQ(content[0].at("id"), "toolu_1");
  EXPECT_EQ(acc.tool_call_count(), 1);
}

TEST(StreamAccumulator, UnparsableToolInputIsKeptRaw) {
  StreamAccumulator acc;
  SendStart(acc);
  Send(
      acc,
      R"({"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"t","name":"X","input":{}}})");
  Send(
      acc,
      R"({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"path\": \"/tm"}})");
  // The stream is cut here: no content_block_stop, no message_delta.
  const json::array content = Content(acc);
  ASSERT_EQ(content.size(), 1u);
  EXPECT_EQ(content[0].at("input"), json::parse(R"({"_raw":"{\"path\": \"/tm"})"));
}

TEST(StreamAccumulator, ToolWithoutInputDeltasKeepsItsStartInput) {
  StreamAccumulator acc;
  SendStart(acc);
  Send(
      acc,
      R"({"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"t","name":"X","input":{}}})");
  Send(
      acc,
      R"({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":""}})");
  Send(acc, R"({"type":"content_block_stop","index":0})");
  EXPECT_EQ(Content(acc)[0].at("input"), json::object());
}

TEST(StreamAccumulator, MessageDeltaUsageIsCumulativeAndMergedPerField) {
  StreamAccumulator acc;
  SendStart(acc);
  Send(
      acc,
      R"({"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"output_tokens":50}})");
  EXPECT_EQ(acc.usage(), (TokenUsage{10, 50, 5, 3}));
  Send(acc, R"({"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},
      "usage":{"input_tokens":12,"output_tokens":70,"cache_read_input_tokens":null,
      "server_tool_use":{"web_search_requests":1}}})");
  EXPECT_EQ(acc.usage(), (TokenUsage{12, 70, 5, 3}))
      << "null and absent fields keep earlier values";
  EXPECT_EQ(json::value(acc.usage_json()), json::parse(R"({"input_tokens":12,
      "cache_creation_input_tokens":5,"cache_read_input_tokens":3,"output_tokens":70,
      "service_tier":"standard","server_tool_use":{"web_search_requests":1}})"));
  EXPECT_EQ(acc.stop_reason(), "tool_use");
  EXPECT_EQ(json::parse(acc.MessageJson()).at("usage"), json::value(acc.usage_json()));
}

TEST(StreamAccumulator, ErrorEventIsRecordedAndPartialMessageKept) {
  StreamAccumulator acc;
  SendStart(acc);
  Send(acc,
       R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})");
  Send(
      acc,
      R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Partial"}})");
  Send(acc, R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})");
  EXPECT_TRUE(acc.has_error());
  EXPECT_EQ(acc.error_type(), "overloaded_error");
  EXPECT_EQ(acc.error_message(), "Overloaded");
  EXPECT_EQ(Content(acc), json::parse(R"([{"type":"text","text":"Partial"}])"));
}

TEST(StreamAccumulator, BlocksComeOutInIndexOrder) {
  StreamAccumulator acc;
  SendStart(acc);
  Send(acc,
       R"({"type":"content_block_start","index":1,"content_block":{"type":"text","text":"b"}})");
  Send(acc,
       R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":"a"}})");
  Send(acc, R"({"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"+"}})");
  EXPECT_EQ(Content(acc),
            json::parse(R"([{"type":"text","text":"a"},{"type":"text","text":"b+"}])"));
}

TEST(StreamAccumulator, ServerToolsCitationsAndUnknownBlocksAreKept) {
  StreamAccumulator acc;
  SendStart(acc);
  Send(
      acc,
      R"({"type":"content_block_start","index":0,"content_block":{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{}}})");
  Send(
      acc,
      R"({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"query\":\"x\"}"}})");
  Send(
      acc,
      R"({"type":"content_block_start","index":1,"content_block":{"type":"web_search_tool_result","tool_use_id":"srvtoolu_1","content":[{"type":"web_search_result","url":"https://e.x"}]}})");
  Send(acc, R"({"type":"content_block_delta","index":1,"delta":{"type":"future_delta","x":1}})");
  Send(acc,
       R"({"type":"content_block_start","index":2,"content_block":{"type":"text","text":""}})");
  Send(
      acc,
      R"({"type":"content_block_delta","index":2,"delta":{"type":"citations_delta","citation":{"type":"web_search_result_location","url":"https://e.x"}}})");
  Send(acc,
       R"({"type":"content_block_delta","index":2,"delta":{"type":"text_delta","text":"cited"}})");
  Send(
      acc,
      R"({"type":"content_block_delta","index":2,"delta":{"type":"citations_delta","citation":{"type":"char_location","n":2}}})");
  EXPECT_EQ(Content(acc), json::parse(R"([
      {"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{"query":"x"}},
      {"type":"web_search_tool_result","tool_use_id":"srvtoolu_1","content":[{"type":"web_search_result","url":"https://e.x"}]},
      {"type":"text","text":"cited","citations":[{"type":"web_search_result_location","url":"https://e.x"},
                                                  {"type":"char_location","n":2}]}])"));
  EXPECT_EQ(acc.tool_call_count(), 0) << "server tools are not client tool calls";
}

TEST(StreamAccumulator, MalformedAndWrongTypedEventsAreIgnored) {
  StreamAccumulator acc;
  acc.AddRaw("event: ping\ndata: {not json\n\n");
  acc.AddRaw("data: [DONE]\n\n");
  acc.AddRaw(": keep-alive\n\n");
  EXPECT_EQ(acc.malformed_events(), 2);
  EXPECT_FALSE(acc.has_message());
  EXPECT_EQ(acc.MessageJson(), "");
  Send(acc, R"({"type":"message_start","message":5})");
  Send(acc,
       R"({"type":"content_block_delta","index":"0","delta":{"type":"text_delta","text":"x"}})");
  Send(acc,
       R"({"type":"content_block_delta","index":0.5,"delta":{"type":"text_delta","text":"x"}})");
  Send(acc, R"({"type":"content_block_start","index":0,"content_block":[]})");
  Send(acc, R"({"type":"message_delta","delta":[],"usage":{"output_tokens":"7"}})");
  Send(acc, R"({"type":"error","error":"boom"})");
  EXPECT_TRUE(acc.has_error());
  EXPECT_EQ(acc.error_type(), "");
  EXPECT_EQ(acc.usage(), TokenUsage{});
  Send(acc, R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":5}})");
  EXPECT_EQ(Content(acc), json::parse(R"([{"type":"text","text":""}])"))
      << "a delta without a start still yields a typed block";
}

TEST(StreamAccumulator, EventNameIsUsedWhenDataHasNoType) {
  StreamAccumulator acc;
  acc.AddRaw(
      "event: message_start\ndata: "
      "{\"message\":{\"id\":\"m\",\"usage\":{\"input_tokens\":4}}}\n\n");
  EXPECT_TRUE(acc.has_message());
  EXPECT_EQ(acc.usage().input_tokens, 4);
  EXPECT_EQ(json::parse(acc.MessageJson()).at("id"), "m");
}

}  // namespace
}  // namespace cn::anthropic
