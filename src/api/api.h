// The JSON API under /api/ (docs/api.md): request -> response functions over src/query, served
// by src/net on the dashboard port and the proxy port. No Asio/Beast here: net parses HTTP,
// asks Authorize() on its I/O thread (cheap, no database), then runs Handle() — or the export
// and event-feed helpers — on a reader-pool thread with that thread's SqlReader.
//
// Thread-safety: free functions over their arguments.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/header.h"
#include "common/status.h"
#include "query/requests.h"
#include "storage/reader.h"
#include "storage/store.h"

namespace cn::api {

struct Request {
  std::string method;          // GET, HEAD, ...
  std::string path;            // without the query
  std::string query;           // raw, without '?'
  Headers headers;             // at least Authorization, X-API-Key, X-Dashboard-Key, Last-Event-ID
  bool peer_loopback = false;  // the client connected from 127.0.0.0/8 or ::1
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  Headers headers;
};

struct AuthConfig {
  std::string dashboard_key;  // DASHBOARD_API_KEY
  std::string internal_key;   // INTERNAL_API_KEY
  bool configured() const { return !dashboard_key.empty() || !internal_key.empty(); }
};

// Is `path` the API's (/api or below)?
bool IsApiPath(std::string_view path);

// Every endpoint path, {id} for a path segment, as GET /api lists them (docs/openapi.json
// describes each; tests/unit/openapi checks that it describes exactly these).
std::span<const char* const> Endpoints();

// nullopt when the request may proceed; else the 401/403 answer. A key is accepted in
// X-Dashboard-Key, X-API-Key or Authorization: Bearer and compared in constant time. With no key
// configured only loopback clients are answered (403 naming DASHBOARD_API_KEY otherwise).
std::optional<Response> Authorize(const AuthConfig& auth, const Request& req);

enum class Kind {
  kJson,    // Handle() on a reader thread
  kExport,  // PlanExport() then ExportChunk() until done, streamed
  kEvents,  // PlanEvents() then the session follows a query::EventFeed
};
Kind Classify(const Request& req);

// What Handle() needs besides the request. `reader` may be null when no reader could be opened
// (then `reader_status` says why and the answer is 503).
struct Context {
  SqlReader* reader = nullptr;
  Status reader_status;
  Store* store = nullptr;  // request details (GetRecord)
  std::int64_t now_us = 0;
};

Response Handle(const Request& req, Context& ctx);

// Streaming export of every request matching the filters (GET /api/export?format=csv|jsonl).
struct ExportPlan {
  query::RequestFilter filter;
  bool csv = false;
  std::string cursor;           // keyset position; empty before the first chunk
  bool header_sent = false;     // CSV header row
  std::int64_t remaining = -1;  // `limit` parameter, -1: everything
};
std::variant<ExportPlan, Response> PlanExport(const Request& req, std::int64_t now_us);
// The next chunk (up to `rows` requests) as CSV or JSON lines; sets *done after the last one.
StatusOr<std::string> ExportChunk(SqlReader& reader, ExportPlan& plan, bool* done,
                                  std::int64_t rows = 500);
// The response header for a planned export (content type, disposition).
Response ExportHeader(const ExportPlan& plan);

// GET /api/events: the Last-Event-ID to resume after (header or `lastEventId` parameter), or a
// 400 answer when it is not a number.
std::variant<std::optional<std::int64_t>, Response> PlanEvents(const Request& req);

// Error answers: {"type":"error","error":{"type":...,"code":...,"message":...}}.
Response ErrorResponse(int status, std::string_view code, std::string_view message);

// Query-string helpers (application/x-www-form-urlencoded).
std::string UrlDecode(std::string_view s);
std::optional<std::string> QueryParam(std::string_view query, std::string_view name);

}  // namespace cn::api
