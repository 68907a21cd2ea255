#include "anthropic/enrich.h"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/serialize.hpp>

#include <exception>

#include "anthropic/classify.h"
#include "anthropic/message.h"
#include "anthropic/stream_accumulator.h"

namespace cn::anthropic {
namespace {

void EnrichFromRequest(Record& r, const boost::json::value* body) {
  r.request_type = ClassifyRequest(r.method, r.path, body);
  const boost::json::object* request = body ? body->if_object() : nullptr;
  if (request == nullptr) return;
  r.model = StringField(*request, "model");
  if (const boost::json::value* messages = request->if_contains("messages")) {
    if (messages->is_array()) r.message_count = static_cast<int>(messages->get_array().size());
  }
}

void EnrichFromJsonResponse(Record& r) {
  if (r.response_body.empty()) return;
  boost::json::monotonic_resource arena;
  std::optional<boost::json::value> body = ParseJson(r.response_body, false, &arena);
  const boost::json::object* message = body ? body->if_object() : nullptr;
  if (message == nullptr) return;
  r.response_json = r.response_body;
  if (const boost::json::value* usage = message->if_contains("usage"); usage && usage->is_object()) {
    MergeUsage(usage->get_object(), &r.usage);
    r.usage_json = boost::json::serialize(*usage);
  }
  if (const boost::json::value* content = message->if_contains("content");
      content && content->is_array()) {
    r.tool_call_count = CountToolUses(content->get_array());
    r.task_tool_invocation_json = TaskInvocationsJson(content->get_array());
  }
  r.stop_reason = StringField(*message, "stop_reason");
}

void EnrichFromStream(Record& r) {
  StreamAccumulator stream;
  if (r.chunks.empty()) {
    stream.AddRaw(r.response_body);
  } else {
    for (const StreamChunk& chunk : r.chunks) stream.AddRaw(chunk.data);
  }
  if (stream.has_message()) {
    const boost::json::object message = stream.Message();
    r.response_json = boost::json::serialize(message);
    const boost::json::array& content = message.at("content").get_array();
    r.task_tool_invocation_json = TaskInvocationsJson(content);
  }
  r.usage = stream.usage();
  if (!stream.usage_json().empty()) r.usage_json = boost::json::serialize(stream.usage_json());
  r.tool_call_count = stream.tool_call_count();
  r.stop_reason = stream.stop_reason();
  if (stream.has_error() && r.error.empty()) {
    r.error = "stream error: " + stream.error_type() + ": " + stream.error_message();
  }
}

}  // namespace

void EnrichRecord(Record& r) {
  // Request bodies reach hundreds of KB (tool schemas, long histories) and only a few fields are
  // read: parse once into an arena released on return.
  boost::json::monotonic_resource arena;
  std::optional<boost::json::value> body;
  try {
    if (!r.request_body.empty()) body = ParseJson(r.request_body, /*lenient_utf8=*/true, &arena);
  } catch (const std::exception&) {
    r.enriched = true;  // as when EnrichRecord(r, body) below gives up
    return;
  }
  EnrichRecord(r, body ? &*body : nullptr);
}

void EnrichRecord(Record& r, const boost::json::value* request_body) {
  // The boundary for Boost.JSON's exceptions (allocation failure, container limits): whatever
  // was derived before one stays, and the record is still written.
  try {
    EnrichFromRequest(r, request_body);
    if (r.response_streaming) {
      EnrichFromStream(r);
    } else {
      EnrichFromJsonResponse(r);
    }
  } catch (const std::exception&) {
  }
  r.enriched = true;
}

}  // namespace cn::anthropic
