// Requests: filters, lists with keyset or offset pagination, and one request's details — the
// read model behind /api/requests, /api/requests/:id and /api/export (docs/api.md).
//
// Results are JSON-shaped (boost::json, camelCase like the original's API): the API is the only
// consumer of this layer, and building its objects once here keeps one data path for lists,
// details and export.
//
// Thread-safety: free functions; each call uses only the reader it is given.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "query/sql.h"
#include "record/record.h"
#include "storage/reader.h"

namespace cn::query {

// Every condition set here must hold (AND). Empty strings and nullopt: no condition.
struct RequestFilter {
  std::optional<std::int64_t> since_us;  // timestamp >= since
  std::optional<std::int64_t> until_us;  // timestamp < until
  std::string domain;
  std::string account_id;
  std::string user_id;
  std::string session_id;
  std::string model;
  std::string request_type;
  std::string outcome;          // completed | client_aborted | upstream_failed | rejected
  std::string conversation_id;  // canonical uuid
  std::string branch_id;
  std::string api_key_hash;       // passthrough: the presented key's keyed hash
  std::optional<int> status;      // exact response_status, or a class when status_class
  bool status_class = false;      // status is 2, 3, 4 or 5: 2xx..5xx
  std::optional<bool> has_error;  // error text, a status >= 400 or an outcome other than completed
  std::optional<bool> subtask;    // is_subtask
};

// Appends the filter's conditions on api_requests (no alias) to `where`.
void AddRequestFilter(SqlDialect d, const RequestFilter& f, Where* where);

// The columns every request object is built from (RequestObject), in order.
std::string RequestColumns(SqlDialect d);
// One request object from a row of RequestColumns(): requestId, domain, model, timestamp (ISO),
// token counts, durationMs, firstTokenMs, responseStatus, error, requestType, accountId, userId,
// sessionId, outcome, conversationId, branchId, parentRequestId, parentTaskRequestId, isSubtask,
// costUsd (null when unpriced), stopReason, streaming, messageCount, toolCallCount, quotaStatus,
// apiKeyHash.
boost::json::object RequestObject(const SqlRow& row);
// Column index (in RequestColumns) of api_requests.timestamp as stored, for keyset cursors.
inline constexpr int kRawTimestampColumn = 29;

struct Page {
  std::int64_t limit = 100;
  std::int64_t offset = 0;
  std::string cursor;  // opaque, from a previous page's nextCursor; empty: first page
};

struct RequestPage {
  boost::json::array requests;
  std::optional<std::int64_t> total;  // only when asked for (it counts every matching row)
  std::string next_cursor;            // empty on the last page
  bool has_more = false;
};

// Newest first ((timestamp, request_id) descending). With a cursor, offset is ignored.
// kInvalidArgument for a cursor this layer did not make.
StatusOr<RequestPage> ListRequests(SqlReader& reader, const RequestFilter& filter, const Page& page,
                                   bool with_total);

// Opaque keyset cursor over (stored timestamp, request_id) and back. Decode: false when malformed.
std::string EncodeCursor(std::string_view timestamp, std::string_view request_id);
bool DecodeCursor(std::string_view cursor, std::string* timestamp, std::string* request_id);

// Canonical lowercase dashed uuid of a pasted id (any case, with or without dashes or braces,
// with a "urn:uuid:" prefix); nullopt when it is not a uuid.
std::optional<std::string> CanonicalId(std::string_view id);

// The whole stored exchange as the detail endpoint shows it: the list object's fields plus
// method, path, requestHeaders, requestBody (parsed JSON, or the raw text when it is not JSON),
// responseHeaders, responseBody, usageData, rateLimit, streamingChunks [{chunkIndex, timestamp,
// data, tokenCount}], upstreamAttempts, messageCount, taskToolInvocation.
boost::json::object RequestDetail(const Record& r);

// The request's stored chunk token counts (streaming_chunks.token_count, docs/storage.md) as
// ChunkUsage entries without payload, in chunk order. Store::GetRecord reads chunk_usage back
// empty, so the detail endpoint puts these into the record before RequestDetail.
StatusOr<std::vector<ChunkUsage>> ChunkTokenCounts(SqlReader& reader,
                                                   const std::string& request_id);

}  // namespace cn::query
