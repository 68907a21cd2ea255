// Record: one proxied exchange, as the hot path hands it to the record pipeline.
//
// Life of a record (docs/architecture.md):
//   1. net/ fills the "hot path" fields while relaying (raw bytes only: no JSON parsing there).
//   2. It is moved into RecordPipeline::Submit() once the exchange has ended (completed, aborted
//      by the client, failed upstream, or rejected by the proxy).
//   3. The writer thread enriches it exactly once (anthropic::EnrichRecord: model, request type,
//      tokens, reconstructed stream message, ...; conversation linking) and sets `enriched`.
//   4. A Store writes it (idempotent on request_id), or the spill file keeps it until a store can.
//
// Thread-safety: a plain value; one owner at a time (moved, never shared).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/header.h"

namespace cn {

// One server-sent event exactly as it appeared on the wire (including its terminating blank
// line), with the wall-clock time at which its last byte arrived from the upstream.
struct StreamChunk {
  std::int64_t at_unix_micros = 0;
  std::string data;
  bool operator==(const StreamChunk&) const = default;
};

enum class Outcome {
  kCompleted = 0,       // the upstream answered (any status) and the client got all of it
  kClientAborted = 1,   // the client went away before the response ended
  kUpstreamFailed = 2,  // no usable response: connect error, timeout, cut mid-stream, bad HTTP
  kRejected = 3,        // the proxy answered itself (auth failure, body too large, ...)
};
const char* OutcomeName(Outcome o);
// The Outcome OutcomeName() names, or nullopt for any other text.
std::optional<Outcome> OutcomeFromName(std::string_view name);

struct TokenUsage {
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  std::int64_t cache_creation_input_tokens = 0;
  std::int64_t cache_read_input_tokens = 0;
  bool operator==(const TokenUsage&) const = default;
};

// Where a request sits in its conversation (docs/conversations.md). Set by conversation linking
// on the writer thread; every field empty/false until then. Empty strings are stored as NULL.
struct ConversationLink {
  std::string current_message_hash;
  std::string parent_message_hash;
  std::string system_hash;
  std::string conversation_id;
  std::string branch_id;
  std::string parent_request_id;
  std::string parent_task_request_id;  // the request whose Task call started this sub-agent
  bool is_subtask = false;
  bool operator==(const ConversationLink&) const = default;
};

// The account's quota state as the response's anthropic-ratelimit-* headers told it
// (anthropic::ParseRateLimitHeaders; docs/api.md "Quota"): the overall status and the 5-hour and
// 7-day windows as typed values, and every such header in `json`. Empty when there were none.
struct QuotaSnapshot {
  std::string status;                        // allowed | allowed_warning | rejected | ...
  std::optional<double> utilization_5h;      // 0..1
  std::optional<std::int64_t> resets_at_5h;  // unix seconds
  std::optional<double> utilization_7d;
  std::optional<std::int64_t> resets_at_7d;
  std::string json;  // anthropic::RateLimitJson: every anthropic-ratelimit-* header, "" if none
  bool operator==(const QuotaSnapshot&) const = default;
};

// The usage object carried by one SSE event (message_start, message_delta), read by enrichment
// so that the stores never parse SSE themselves.
struct ChunkUsage {
  std::size_t chunk_index = 0;  // index into Record::chunks
  std::string payload;          // the event's JSON data (the `data:` field)
  std::int64_t output_tokens = 0;
  bool operator==(const ChunkUsage&) const = default;
};

struct Record {
  // ---- Filled on the hot path ---------------------------------------------------------------
  std::string request_id;                 // UUIDv7; primary key; also the X-Request-ID header
  std::string domain;                     // raw Host header, port included (the original's choice)
  std::optional<std::string> account_id;  // accountId of the credential file used, if any
  // Passthrough mode: proxy::KeyHasher of the credential the client presented (its own API key
  // or token), so usage can be grouped per key without storing it; empty otherwise.
  std::string api_key_hash;
  std::int64_t timestamp_unix_micros = 0;  // request arrival
  std::string method;
  std::string path;           // without the query string
  std::string query;          // raw query string without '?', may be empty
  Headers request_headers;    // secrets masked (proxy::MaskHeaders)
  std::string request_body;   // raw bytes as received
  int response_status = 0;    // status the client got; 0 when it got none
  Headers response_headers;   // as sent to the client
  std::string response_body;  // raw bytes for non-SSE responses (capped, see truncated)
  bool response_body_truncated = false;
  bool response_streaming = false;                // the response was text/event-stream
  std::vector<StreamChunk> chunks;                // every SSE event, in order
  std::optional<std::int64_t> first_byte_micros;  // arrival -> first response body byte to client
  std::int64_t duration_micros = 0;               // arrival -> end of exchange
  int upstream_attempts = 0;                      // 0 when the proxy answered by itself
  Outcome outcome = Outcome::kCompleted;
  std::string error;  // what went wrong, empty when nothing did

  // ---- Derived off the hot path (anthropic::EnrichRecord, conversation linking) -------------
  bool enriched = false;
  std::string model;         // from the request body; empty if absent
  std::string request_type;  // inference | query_evaluation | quota | count_tokens | other
  int message_count = 0;     // raw length of `messages`
  TokenUsage usage;
  std::string usage_json;     // the full usage object as JSON text; empty if none
  std::string response_json;  // JSON stored as response_body: the upstream JSON body, or
                              // the message reconstructed from the stream; empty if none
  int tool_call_count = 0;
  std::string task_tool_invocation_json;  // JSON array of {id,name,input} Task tool_uses, or empty
  std::string stop_reason;

  std::vector<ChunkUsage> chunk_usage;  // events of `chunks` that carry usage, in order

  ConversationLink link;  // conversation linking (docs/conversations.md)

  // Who and what it cost (docs/api.md): from metadata.user_id / X-Claude-Code-Session-Id, the
  // price table (anthropic/pricing.h; nullopt when the model is unpriced or there is no usage)
  // and the response's rate-limit headers.
  std::string user_id;
  std::string session_id;
  std::optional<double> cost_usd;
  QuotaSnapshot quota;

  // What full-text search indexes (anthropic/search_text.h; the stores' cn_search, docs/storage.md
  // "Search and the live feed"): the last user message's text, '\n', the response's text, each
  // part at most 1 KiB of valid UTF-8. Empty unless request_type is inference or query_evaluation
  // with a `messages` body.
  std::string search_text;
};

inline const char* OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kCompleted:
      return "completed";
    case Outcome::kClientAborted:
      return "client_aborted";
    case Outcome::kUpstreamFailed:
      return "upstream_failed";
    case Outcome::kRejected:
      return "rejected";
  }
  return "completed";
}

inline std::optional<Outcome> OutcomeFromName(std::string_view name) {
  for (Outcome o : {Outcome::kCompleted, Outcome::kClientAborted, Outcome::kUpstreamFailed,
                    Outcome::kRejected}) {
    if (name == OutcomeName(o)) return o;
  }
  return std::nullopt;
}

}  // namespace cn
