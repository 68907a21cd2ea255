// StreamAccumulator: rebuilds the assistant message of one streamed Messages API response from
// its server-sent events, the way a non-streaming response would have carried it.
//
// Thread-safety: not thread-safe; one accumulator per stream, used by one thread at a time.
//
// What is kept (unlike the original proxy, which dropped all but text and tool_use):
//  - message_start: the whole `message` object (id, model, role, usage, unknown fields);
//  - content blocks in `index` order, each starting from its content_block_start object as-is,
//    with known deltas applied: text_delta -> text, thinking_delta -> thinking,
//    signature_delta -> signature, citations_delta -> appended to citations,
//    input_json_delta -> input (parsed once at the end; unparsable text is kept as
//    {"_raw": "<text>"}). Unknown delta types are ignored; unknown block types are kept;
//  - message_delta: every `delta` field (stop_reason, stop_sequence, ...) is copied onto the
//    message; `usage` fields are cumulative totals, so each one present replaces the earlier
//    value and absent ones keep it;
//  - error events: type and message are remembered; the partial message stays available.
// ping, message_stop and events whose data is not JSON carry nothing to keep.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "record/record.h"
#include "sse/parser.h"

namespace cn::anthropic {

class StreamAccumulator {
 public:
  // Takes one parsed event. The event kind is the data's "type" field, else the SSE event name.
  void Add(const sse::Event& event);
  // Parses `raw` (complete SSE events, e.g. one recorded StreamChunk) and adds each event.
  void AddRaw(std::string_view raw);

  // True once a message_start or content event was seen: Message() then describes something.
  bool has_message() const { return has_message_; }
  // The reconstructed message: the message_start object (or a skeleton) with `content` = the
  // blocks in index order and `usage` = the merged usage.
  boost::json::object Message() const;
  // Serialised Message(), or "" when !has_message().
  std::string MessageJson() const;

  const TokenUsage& usage() const { return usage_; }
  // The merged usage object (message_start's, updated by each message_delta); empty if none.
  const boost::json::object& usage_json() const { return usage_json_; }
  int tool_call_count() const;
  const std::string& stop_reason() const { return stop_reason_; }

  bool has_error() const { return has_error_; }
  const std::string& error_type() const { return error_type_; }
  const std::string& error_message() const { return error_message_; }
  // Events ignored because their data was not a JSON object.
  int malformed_events() const { return malformed_events_; }

 private:
  struct Block {
    boost::json::object start;  // content_block of content_block_start, or {} if it never came
    // String fields grown by deltas, seeded with the start object's value: few per block.
    std::vector<std::pair<std::string, std::string>> appended;
    std::string partial_json;  // input_json_delta pieces
    bool has_partial_json = false;
  };

  void OnMessageStart(const boost::json::object& data);
  void OnBlockStart(const boost::json::object& data);
  void OnBlockDelta(const boost::json::object& data);
  void OnMessageDelta(const boost::json::object& data);
  void OnError(const boost::json::object& data);
  Block* BlockFor(const boost::json::object& data);
  static void AppendField(Block& block, std::string_view field, std::string_view piece);
  static boost::json::object Finished(const Block& block);

  bool has_message_ = false;
  bool saw_message_start_ = false;
  boost::json::object message_;
  std::map<std::int64_t, Block> blocks_;
  boost::json::object usage_json_;
  TokenUsage usage_;
  std::string stop_reason_;
  bool has_error_ = false;
  std::string error_type_;
  std::string error_message_;
  int malformed_events_ = 0;
};

}  // namespace cn::anthropic
