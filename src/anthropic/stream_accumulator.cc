#include "anthropic/stream_accumulator.h"

#include <boost/json/serialize.hpp>

#include "anthropic/message.h"

namespace cn::anthropic {
namespace {

const boost::json::object* ObjectField(const boost::json::object& obj, std::string_view key) {
  const boost::json::value* v = obj.if_contains(key);
  return v != nullptr ? v->if_object() : nullptr;
}

bool IsBlank(std::string_view s) {
  return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

}  // namespace

void StreamAccumulator::AddRaw(std::string_view raw) {
  sse::Parser parser;
  std::vector<sse::Event> events;
  parser.Feed(raw, &events);
  sse::Event last;
  if (parser.Finish(&last)) events.push_back(std::move(last));
  for (const sse::Event& e : events) Add(e);
}

void StreamAccumulator::Add(const sse::Event& event) {
  if (!event.has_data) return;  // comments and keep-alives
  std::optional<boost::json::value> parsed = ParseJson(event.data);
  const boost::json::object* data = parsed ? parsed->if_object() : nullptr;
  if (data == nullptr) {
    ++malformed_events_;
    return;
  }
  std::string_view kind = StringField(*data, "type");
  if (kind.empty()) kind = event.event;

  if (kind == "message_start") {
    OnMessageStart(*data);
  } else if (kind == "content_block_start") {
    OnBlockStart(*data);
  } else if (kind == "content_block_delta") {
    OnBlockDelta(*data);
  } else if (kind == "message_delta") {
    OnMessageDelta(*data);
  } else if (kind == "error") {
    OnError(*data);
  } else if (kind == "message_stop") {
    // Bedrock appends its own metrics here; keep them like the original did.
    for (std::string_view key :
         {"amazon-bedrock-invocationMetrics", "amazon_bedrock_invocationMetrics"}) {
      if (const boost::json::value* v = data->if_contains(key)) message_[key] = *v;
    }
  }
  // ping, content_block_stop: nothing to keep (a block is finalised when the message is built,
  // so a stream cut before content_block_stop still yields its partial block).
}

void StreamAccumulator::OnMessageStart(const boost::json::object& data) {
  const boost::json::object* message = ObjectField(data, "message");
  if (message == nullptr) return;
  has_message_ = true;
  saw_message_start_ = true;
  message_ = *message;
  if (const boost::json::object* usage = ObjectField(*message, "usage")) {
    usage_json_ = *usage;
    MergeUsage(*usage, &usage_);
  }
  stop_reason_ = StringField(*message, "stop_reason");
}

StreamAccumulator::Block* StreamAccumulator::BlockFor(const boost::json::object& data) {
  const boost::json::value* index_value = data.if_contains("index");
  std::optional<std::int64_t> index = index_value ? AsInt(*index_value) : std::nullopt;
  if (!index) return nullptr;  // cannot place it
  has_message_ = true;
  return &blocks_[*index];
}

void StreamAccumulator::OnBlockStart(const boost::json::object& data) {
  const boost::json::object* start = ObjectField(data, "content_block");
  Block* block = BlockFor(data);
  if (block == nullptr || start == nullptr) return;
  block->start = *start;
  // A restarted index (never sent by Anthropic) starts over rather than mixing two blocks.
  block->appended.clear();
  block->partial_json.clear();
  block->has_partial_json = false;
}

void StreamAccumulator::AppendField(Block& block, std::string_view field, std::string_view piece) {
  for (auto& [name, value] : block.appended) {
    if (name == field) {
      value.append(piece);
      return;
    }
  }
  std::string value(StringField(block.start, field));
  value.append(piece);
  block.appended.emplace_back(std::string(field), std::move(value));
}

void StreamAccumulator::OnBlockDelta(const boost::json::object& data) {
  const boost::json::object* delta = ObjectField(data, "delta");
  if (delta == nullptr) return;
  Block* block = BlockFor(data);
  if (block == nullptr) return;
  const std::string_view type = StringField(*delta, "type");
  if (type == "text_delta") {
    if (!block->start.contains("type")) block->start["type"] = "text";
    AppendField(*block, "text", StringField(*delta, "text"));
  } else if (type == "thinking_delta") {
    if (!block->start.contains("type")) block->start["type"] = "thinking";
    AppendField(*block, "thinking", StringField(*delta, "thinking"));
  } else if (type == "signature_delta") {
    AppendField(*block, "signature", StringField(*delta, "signature"));
  } else if (type == "input_json_delta") {
    block->partial_json.append(StringField(*delta, "partial_json"));
    block->has_partial_json = true;
  } else if (type == "citations_delta") {
    if (const boost::json::value* citation = delta->if_contains("citation")) {
      boost::json::value& citations = block->start["citations"];
      if (!citations.is_array()) citations = boost::json::array();
      citations.get_array().push_back(*citation);
    }
  }
}

void StreamAccumulator::OnMessageDelta(const boost::json::object& data) {
  if (const boost::json::object* delta = ObjectField(data, "delta")) {
    for (const auto& field : *delta) message_[field.key()] = field.value();
    if (const boost::json::value* reason = delta->if_contains("stop_reason")) {
      stop_reason_ = reason->is_string() ? std::string(reason->get_string()) : std::string();
    }
  }
  if (const boost::json::object* usage = ObjectField(data, "usage")) {
    for (const auto& field : *usage) {
      if (!field.value().is_null()) usage_json_[field.key()] = field.value();
    }
    MergeUsage(*usage, &usage_);
  }
}

void StreamAccumulator::OnError(const boost::json::object& data) {
  has_error_ = true;
  const boost::json::object* error = ObjectField(data, "error");
  error_type_ = error ? StringField(*error, "type") : std::string_view();
  error_message_ = error ? StringField(*error, "message") : std::string_view();
}

boost::json::object StreamAccumulator::Finished(const Block& block) {
  boost::json::object out = block.start;
  for (const auto& [name, value] : block.appended) out[name] = value;
  if (block.has_partial_json && !IsBlank(block.partial_json)) {
    if (std::optional<boost::json::value> input = ParseJson(block.partial_json)) {
      out["input"] = std::move(*input);
    } else {
      out["input"] = boost::json::object{{"_raw", block.partial_json}};
    }
  }
  return out;
}

boost::json::object StreamAccumulator::Message() const {
  boost::json::object message;
  if (saw_message_start_) {
    message = message_;
  } else {
    message = {{"id", ""}, {"type", "message"}, {"role", "assistant"}, {"model", ""}};
    for (const auto& field : message_) message[field.key()] = field.value();
  }
  boost::json::array content;
  content.reserve(blocks_.size());
  for (const auto& [index, block] : blocks_) content.push_back(Finished(block));
  message["content"] = std::move(content);
  message.emplace("stop_reason", nullptr);
  message.emplace("stop_sequence", nullptr);
  message["usage"] = usage_json_;
  return message;
}

std::string StreamAccumulator::MessageJson() const {
  if (!has_message_) return {};
  return boost::json::serialize(Message());
}

int StreamAccumulator::tool_call_count() const {
  int n = 0;
  for (const auto& [index, block] : blocks_) {
    n += StringField(block.start, "type") == "tool_use" ? 1 : 0;
  }
  return n;
}

}  // namespace cn::anthropic
