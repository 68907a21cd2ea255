#include "anthropic/enrich.h"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/serialize.hpp>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <string_view>

#include "anthropic/attribution.h"
#include "anthropic/classify.h"
#include "anthropic/message.h"
#include "anthropic/ratelimit.h"
#include "anthropic/search_text.h"
#include "anthropic/stream_accumulator.h"
#include "sse/parser.h"

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

// `request_body` as EnrichRecord has it: for search_text, which needs the response's message.
void EnrichFromJsonResponse(Record& r, const boost::json::value* request_body) {
  if (r.response_body.empty()) return;
  boost::json::monotonic_resource arena;
  std::optional<boost::json::value> body = ParseJson(r.response_body, false, &arena);
  const boost::json::object* message = body ? body->if_object() : nullptr;
  if (message == nullptr) return;
  r.response_json = r.response_body;
  if (const boost::json::value* usage = message->if_contains("usage");
      usage && usage->is_object()) {
    MergeUsage(usage->get_object(), &r.usage);
    r.usage_json = boost::json::serialize(*usage);
  }
  if (const boost::json::value* content = message->if_contains("content");
      content && content->is_array()) {
    r.tool_call_count = CountToolUses(content->get_array());
    r.task_tool_invocation_json = TaskInvocationsJson(content->get_array());
  }
  r.stop_reason = StringField(*message, "stop_reason");
  r.search_text = SearchText(r.request_type, request_body, message);
}

void EnrichFromStream(Record& r, const boost::json::value* request_body) {
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
    r.search_text = SearchText(r.request_type, request_body, &message);
  }
  r.usage = stream.usage();
  if (!stream.usage_json().empty()) r.usage_json = boost::json::serialize(stream.usage_json());
  r.tool_call_count = stream.tool_call_count();
  r.stop_reason = stream.stop_reason();
  if (stream.has_error() && r.error.empty()) {
    r.error = "stream error: " + stream.error_type() + ": " + stream.error_message();
  }
}

// chunk_usage is derived from the chunks alone, so it is filled whatever else fails.
void FillChunkUsage(Record& r) {
  try {
    r.chunk_usage = ChunkUsages(r.chunks);
  } catch (const std::exception&) {
    r.chunk_usage.clear();
  }
}

}  // namespace

std::vector<ChunkUsage> ChunkUsages(std::span<const StreamChunk> chunks) {
  auto usage_of = [](const boost::json::object& o) -> const boost::json::object* {
    const boost::json::value* usage = o.if_contains("usage");
    return usage != nullptr ? usage->if_object() : nullptr;
  };
  std::vector<ChunkUsage> out;
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    // Cheap filter first: nearly every event of a stream is a delta without usage.
    const std::string_view event = chunks[i].data;
    if (event.find("\"usage\"") == std::string_view::npos) continue;
    std::string payload = sse::EventData(event);
    boost::json::monotonic_resource arena;
    const std::optional<boost::json::value> data =
        ParseJson(payload, /*lenient_utf8=*/true, &arena);
    const boost::json::object* object = data ? data->if_object() : nullptr;
    if (object == nullptr) continue;
    const boost::json::object* usage = usage_of(*object);  // message_delta
    const boost::json::value* message = object->if_contains("message");
    const bool in_message =  // message_start
        message != nullptr && message->is_object() && usage_of(message->get_object()) != nullptr;
    if (usage == nullptr && !in_message) continue;
    std::int64_t output_tokens = 0;
    if (const boost::json::value* n = usage ? usage->if_contains("output_tokens") : nullptr) {
      output_tokens = AsInt(*n).value_or(0);
    }
    out.push_back({i, std::move(payload), output_tokens});
  }
  return out;
}

void EnrichRecord(Record& r) {
  // Request bodies reach hundreds of KB (tool schemas, long histories) and only a few fields are
  // read: parse once into an arena released on return.
  boost::json::monotonic_resource arena;
  std::optional<boost::json::value> body;
  try {
    if (!r.request_body.empty()) body = ParseJson(r.request_body, /*lenient_utf8=*/true, &arena);
  } catch (const std::exception&) {
    FillChunkUsage(r);
    r.enriched = true;  // as when EnrichRecord(r, body) below gives up
    return;
  }
  EnrichRecord(r, body ? &*body : nullptr);
}

QuotaSnapshot QuotaFromHeaders(const Headers& response_headers) {
  QuotaSnapshot q;
  const RateLimitState st = ParseRateLimitHeaders(response_headers);
  if (st.empty()) return q;
  q.status = st.status;
  if (auto it = st.windows.find("5h"); it != st.windows.end()) {
    q.utilization_5h = it->second.utilization;
    q.resets_at_5h = it->second.resets_at;
  }
  if (auto it = st.windows.find("7d"); it != st.windows.end()) {
    q.utilization_7d = it->second.utilization;
    q.resets_at_7d = it->second.resets_at;
  }
  // Older responses give one overall reset time and no windows: it is the 5-hour window's
  // (the representative claim says which window it is when present).
  if (!q.resets_at_5h && !q.resets_at_7d && st.resets_at) {
    if (st.representative_claim == "seven_day") {
      q.resets_at_7d = st.resets_at;
    } else {
      q.resets_at_5h = st.resets_at;
    }
  }
  q.json = RateLimitJson(st);
  return q;
}

void EnrichRecord(Record& r, const boost::json::value* request_body) {
  // The boundary for Boost.JSON's exceptions (allocation failure, container limits): whatever
  // was derived before one stays, and the record is still written.
  try {
    const Attribution who = ParseAttribution(request_body, r.request_headers);
    r.user_id = who.user_id;
    r.session_id = who.session_id;
    r.quota = QuotaFromHeaders(r.response_headers);
    EnrichFromRequest(r, request_body);
    if (r.response_streaming) {
      EnrichFromStream(r, request_body);
    } else {
      EnrichFromJsonResponse(r, request_body);
    }
    // No response message (an error, an aborted exchange): the user's part alone.
    if (r.search_text.empty()) r.search_text = SearchText(r.request_type, request_body, nullptr);
  } catch (const std::exception&) {
  }
  FillChunkUsage(r);
  r.enriched = true;
}

void PriceRecord(Record& r, const PriceTable& prices) {
  r.cost_usd.reset();
  if (r.usage_json.empty()) return;
  r.cost_usd = prices.CostUsd(r.model, BillableUsageFromJson(r.usage_json));
}

}  // namespace cn::anthropic
