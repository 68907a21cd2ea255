// Record enrichment: derives the Messages API fields of a Record from its raw bytes, once, on
// the record writer's thread (never on the hot path). Pure function over the record.
#pragma once

#include <boost/json/value.hpp>
#include <span>
#include <vector>

#include "anthropic/pricing.h"
#include "record/record.h"

namespace cn::anthropic {

// Fills model, request_type, message_count, usage, usage_json, response_json, tool_call_count,
// task_tool_invocation_json, stop_reason, chunk_usage (ChunkUsages(r.chunks)), user_id and
// session_id (attribution.h), quota (QuotaFromHeaders) and search_text (search_text.h: the last
// user message and the response's text), and sets `enriched`. Never throws;
// input that does not parse, or fields of the wrong type, leave the corresponding fields
// empty/zero. cost_usd is PriceRecord's, which needs the price table.
//  - Request: model and message_count (raw length of `messages`) from the body;
//    request_type from ClassifyRequest.
//  - Non-streaming response whose body is a JSON object: response_json is the body text as
//    received, the rest comes from its usage / content / stop_reason.
//  - Streaming response: the message is rebuilt from r.chunks (each one raw SSE event) by a
//    StreamAccumulator (see there for what is kept). A stream `error` event sets r.error to
//    "stream error: <type>: <message>" unless r.error already says what went wrong. A streaming
//    record without chunks falls back to parsing response_body as an event stream.
void EnrichRecord(Record& r);

// The same, for a caller that has already parsed r.request_body and reads the tree too
// (conversation linking): `request_body` is ParseJson(r.request_body, /*lenient_utf8=*/true), or
// nullptr when the body is empty or not JSON. Parsing the body is most of what enrichment costs.
void EnrichRecord(Record& r, const boost::json::value* request_body);

// The chunks (raw SSE events, e.g. Record::chunks) whose data is a JSON object carrying a usage
// object — at the top (message_delta) or in its `message` (message_start) — in chunk order:
// what the stores write as streaming_chunks.token_count (docs/storage.md), so that they never
// parse SSE themselves. Each entry has the chunk's index, its data text (the `data:` field) and
// output_tokens = the top-level usage.output_tokens when it is a whole number, else 0 (so 0 for
// message_start, as token_count always had it). Never throws but std::bad_alloc.
std::vector<ChunkUsage> ChunkUsages(std::span<const StreamChunk> chunks);

// The quota snapshot of a response's anthropic-ratelimit-* headers (ratelimit.h): the 5-hour and
// 7-day windows typed, everything in `json`. A response with only the older overall reset time
// puts it on the window its representative claim names (the 5-hour one when none is named).
QuotaSnapshot QuotaFromHeaders(const Headers& response_headers);

// Sets r.cost_usd from r.model and r.usage_json with `prices`: nullopt when the record has no
// usage object or its model is unpriced (never guessed).
void PriceRecord(Record& r, const PriceTable& prices);

}  // namespace cn::anthropic
