#include "api/api.h"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <cctype>
#include <charconv>

#include "common/json.h"
#include "common/time.h"
#include "proxy/auth.h"
#include "query/conversations.h"
#include "query/search.h"
#include "query/usage.h"

namespace cn::api {
namespace json = boost::json;

namespace {

constexpr std::int64_t kHourUs = 3'600'000'000;
constexpr std::int64_t kDayUs = 24 * kHourUs;

Response Json(const json::object& o, int status = 200) {
  Response r;
  r.status = status;
  r.body = json::serialize(o);
  return r;
}

Response BadRequest(std::string_view message) {
  return ErrorResponse(400, "bad_parameter", message);
}

Response FromStatus(const Status& st) {
  switch (st.code()) {
    case StatusCode::kInvalidArgument:
      return BadRequest(st.message());
    case StatusCode::kUnavailable:
      return ErrorResponse(503, "store_unavailable",
                           "The database did not answer in time: " + st.message());
    default:
      return ErrorResponse(500, "internal_error", st.message());
  }
}

// ISO 8601 as a user types it: a date (its UTC midnight), or date and time with an optional
// fraction and zone (none or Z: UTC; +HH:MM / -HH:MM, where an unencoded '+' arrives as ' ').
// Fields out of range (month 13, 10:61) are rejected rather than rolled over, and the offset is
// applied: ParseIso8601 itself does neither.
std::optional<std::int64_t> ParseTime(std::string s) {
  if (s.size() == 10) s += "T00:00:00";
  if (s.size() < 19 || (s[10] != 'T' && s[10] != 't' && s[10] != ' ')) return std::nullopt;
  s[10] = 'T';
  std::int64_t offset_us = 0;
  if (s.back() == 'Z' || s.back() == 'z') {
    s.pop_back();
  } else if (const char sign = s.size() >= 25 ? s[s.size() - 6] : 'x';
             (sign == '+' || sign == '-' || sign == ' ') && s[s.size() - 3] == ':') {
    const std::string_view z = std::string_view(s).substr(s.size() - 5);  // HH:MM
    if (!std::isdigit(static_cast<unsigned char>(z[0])) ||
        !std::isdigit(static_cast<unsigned char>(z[1])) ||
        !std::isdigit(static_cast<unsigned char>(z[3])) ||
        !std::isdigit(static_cast<unsigned char>(z[4]))) {
      return std::nullopt;
    }
    const int hh = (z[0] - '0') * 10 + (z[1] - '0'), mm = (z[3] - '0') * 10 + (z[4] - '0');
    if (hh > 23 || mm > 59) return std::nullopt;
    offset_us = (hh * 60 + mm) * 60'000'000LL * (sign == '-' ? -1 : 1);
    s.resize(s.size() - 6);
  }
  // What is left: YYYY-MM-DDTHH:MM:SS with an optional .fraction.
  static constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:dd";
  for (std::size_t i = 0; i < kShape.size(); ++i) {
    const bool digit = std::isdigit(static_cast<unsigned char>(s[i])) != 0;
    if (kShape[i] == 'd' ? !digit : s[i] != kShape[i]) return std::nullopt;
  }
  if (s.size() > 19) {
    if (s[19] != '.' || s.size() == 20) return std::nullopt;
    for (std::size_t i = 20; i < s.size(); ++i) {
      if (!std::isdigit(static_cast<unsigned char>(s[i]))) return std::nullopt;
    }
  }
  std::int64_t us = 0;
  if (!ParseIso8601(s + "Z", &us)) return std::nullopt;
  if (FormatIso8601(us).compare(0, 19, s, 0, 19) != 0) return std::nullopt;  // rolled over
  return us - offset_us;
}

// Query-string parameters with validation; the first error wins and is answered with 400.
class Params {
 public:
  explicit Params(std::string_view query) : query_(query) {}

  std::optional<std::string> Get(std::initializer_list<std::string_view> names) const {
    for (auto n : names) {
      auto v = QueryParam(query_, n);
      if (v && !v->empty()) return v;
    }
    return std::nullopt;
  }
  std::string Str(std::initializer_list<std::string_view> names) const {
    return Get(names).value_or("");
  }

  std::int64_t Int(std::string_view name, std::int64_t def, std::int64_t lo, std::int64_t hi) {
    auto v = Get({name});
    if (!v) return def;
    std::int64_t out = 0;
    auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
    if (ec != std::errc() || p != v->data() + v->size() || out < lo || out > hi) {
      Fail(std::string(name) + " must be an integer from " + std::to_string(lo) + " to " +
           std::to_string(hi) + ", not '" + Short(*v) + "'");
      return def;
    }
    return out;
  }

  std::optional<bool> Bool(std::initializer_list<std::string_view> names) {
    auto v = Get(names);
    if (!v) return std::nullopt;
    if (*v == "true" || *v == "1" || *v == "yes") return true;
    if (*v == "false" || *v == "0" || *v == "no") return false;
    Fail(std::string(*names.begin()) + " must be true or false, not '" + Short(*v) + "'");
    return std::nullopt;
  }

  // ISO 8601 (ParseTime) or milliseconds since the epoch.
  std::optional<std::int64_t> Time(std::initializer_list<std::string_view> names) {
    auto v = Get(names);
    if (!v) return std::nullopt;
    std::int64_t ms = 0;
    auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), ms);
    if (ec == std::errc() && p == v->data() + v->size()) return ms * 1000;
    if (auto us = ParseTime(*v)) return us;
    Fail(std::string(*names.begin()) +
         " must be an ISO 8601 time (2026-12-03T10:00:00Z) or milliseconds since the epoch, not '" +
         Short(*v) + "'");
    return std::nullopt;
  }

  // A uuid as a user would paste it.
  std::string Id(std::initializer_list<std::string_view> names) {
    auto v = Get(names);
    if (!v) return {};
    auto id = query::CanonicalId(*v);
    if (!id) {
      Fail(std::string(*names.begin()) + " must be a uuid, not '" + Short(*v) + "'");
      return {};
    }
    return *id;
  }

  void Fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
  }
  const std::string& error() const { return error_; }

 private:
  static std::string Short(const std::string& v) {
    return v.size() > 64 ? v.substr(0, 64) + "…" : v;
  }
  std::string_view query_;
  std::string error_;
};

// The filters every list and aggregate accepts (docs/api.md "Filters").
query::RequestFilter Filter(Params& p) {
  query::RequestFilter f;
  f.since_us = p.Time({"since", "from", "dateFrom", "startDate"});
  f.until_us = p.Time({"until", "to", "dateTo", "endDate"});
  f.domain = p.Str({"domain"});
  f.account_id = p.Str({"accountId", "account"});
  f.user_id = p.Str({"userId", "user"});
  f.session_id = p.Str({"sessionId", "session"});
  f.model = p.Str({"model"});
  f.request_type = p.Str({"requestType", "type"});
  f.outcome = p.Str({"outcome"});
  if (!f.outcome.empty() && !OutcomeFromName(f.outcome)) {
    p.Fail("outcome must be one of completed, client_aborted, upstream_failed, rejected");
  }
  if (!f.request_type.empty()) {
    static const std::string_view kTypes[] = {"inference", "query_evaluation", "quota",
                                              "count_tokens", "other"};
    bool known = false;
    for (auto t : kTypes) known = known || f.request_type == t;
    if (!known) {
      p.Fail("requestType must be one of inference, query_evaluation, quota, count_tokens, other");
    }
  }
  f.conversation_id = p.Id({"conversationId", "conversation"});
  f.branch_id = p.Str({"branchId", "branch"});
  f.api_key_hash = p.Str({"apiKeyHash"});
  if (!f.api_key_hash.empty() &&
      (f.api_key_hash.size() != 40 ||
       f.api_key_hash.find_first_not_of("0123456789abcdef") != std::string::npos)) {
    p.Fail("apiKeyHash must be 40 lowercase hex digits, as /api/keys lists them");
  }
  if (auto s = p.Get({"status"})) {
    auto is_x = [](char c) { return c == 'x' || c == 'X'; };
    if (s->size() == 3 && is_x(s->at(1)) && is_x(s->at(2)) && s->at(0) >= '1' && s->at(0) <= '5') {
      f.status = s->at(0) - '0';
      f.status_class = true;
    } else {
      f.status = static_cast<int>(p.Int("status", 0, 100, 599));
    }
  }
  f.has_error = p.Bool({"hasError", "errors"});
  f.subtask = p.Bool({"subtask", "isSubtask"});
  return f;
}

query::Page Paging(Params& p, std::int64_t def_limit) {
  query::Page page;
  page.limit = p.Int("limit", def_limit, 1, 1000);
  page.offset = p.Int("offset", 0, 0, 100'000'000);
  page.cursor = p.Str({"cursor"});
  return page;
}

json::object Pagination(const query::Page& page, const std::optional<std::int64_t>& total,
                        bool has_more) {
  json::object o{{"limit", page.limit}, {"offset", page.offset}, {"hasMore", has_more}};
  if (total) o["total"] = *total;
  return o;
}

std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash);
  }
  return out;
}

const char* const kEndpoints[] = {
    "/api/stats",
    "/api/dashboard/stats",
    "/api/requests",
    "/api/requests/{id}",
    "/api/domains",
    "/api/conversations",
    "/api/conversations/{id}",
    "/api/token-usage/current",
    "/api/token-usage/daily",
    "/api/token-usage/time-series",
    "/api/token-usage/accounts",
    "/api/analytics/token-usage/sliding-window",
    "/api/usage/requests/hourly",
    "/api/usage/tokens/hourly",
    "/api/users",
    "/api/sessions",
    "/api/keys",
    "/api/ratelimits",
    "/api/search",
    "/api/export",
    "/api/events",
};

template <typename T>
Response Answer(const StatusOr<T>& r) {
  if (!r.ok()) return FromStatus(r.status());
  return Json(*r);
}

Response MethodNotAllowed() {
  Response r = ErrorResponse(405, "method_not_allowed", "The API is read-only: use GET.");
  r.headers.push_back({"Allow", "GET, HEAD"});
  return r;
}

Response NeedAccount() {
  return BadRequest("accountId is required (the accountId of a credential file)");
}

}  // namespace

std::string UrlDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::optional<std::string> QueryParam(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    auto eq = part.find('=');
    if (UrlDecode(part.substr(0, eq)) == name) {
      return eq == std::string_view::npos ? std::string() : UrlDecode(part.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

Response ErrorResponse(int status, std::string_view code, std::string_view message) {
  const char* type = status == 401   ? "authentication_error"
                     : status == 403 ? "permission_error"
                     : status == 404 ? "not_found_error"
                     : status == 503 ? "overloaded_error"
                     : status >= 500 ? "api_error"
                                     : "invalid_request_error";
  json::object o{{"type", "error"},
                 {"error", json::object{{"type", type}, {"code", code}, {"message", message}}}};
  return Json(o, status);
}

std::span<const char* const> Endpoints() { return kEndpoints; }

bool IsApiPath(std::string_view path) { return path == "/api" || path.starts_with("/api/"); }

std::optional<Response> Authorize(const AuthConfig& auth, const Request& req) {
  if (!auth.configured()) {
    if (req.peer_loopback) return std::nullopt;
    return ErrorResponse(403, "forbidden",
                         "The API answers only local clients while DASHBOARD_API_KEY is not set: "
                         "set DASHBOARD_API_KEY and send it as X-Dashboard-Key.");
  }
  std::optional<std::string_view> presented;
  for (const char* name : {"X-Dashboard-Key", "X-API-Key"}) {
    if (const Header* h = proxy::FindHeader(req.headers, name); h && !h->value.empty()) {
      presented = h->value;
      break;
    }
  }
  if (!presented) {
    if (const Header* h = proxy::FindHeader(req.headers, "Authorization")) {
      presented = proxy::BearerToken(h->value);
    }
  }
  if (!presented) return ErrorResponse(401, "unauthorized", "API key required");
  bool ok = false;
  // Both comparisons always run: which key matched must not show in the time taken.
  if (!auth.dashboard_key.empty()) ok |= proxy::ClientKeyMatches(*presented, auth.dashboard_key);
  if (!auth.internal_key.empty()) ok |= proxy::ClientKeyMatches(*presented, auth.internal_key);
  if (!ok) return ErrorResponse(403, "forbidden", "Invalid API key");
  return std::nullopt;
}

Kind Classify(const Request& req) {
  if (req.path == "/api/export") return Kind::kExport;
  if (req.path == "/api/events") return Kind::kEvents;
  return Kind::kJson;
}

Response Handle(const Request& req, Context& ctx) {
  if (req.method != "GET" && req.method != "HEAD") return MethodNotAllowed();
  const auto seg = Segments(req.path);  // seg[0] == "api"
  if (seg.size() <= 1) {
    json::array endpoints;
    for (const char* e : kEndpoints) endpoints.push_back(json::string(e));
    return Json(json::object{{"service", "claude-nexus"},
                             {"endpoints", std::move(endpoints)},
                             {"documentation", "docs/api.md"}});
  }
  if (ctx.reader == nullptr) {
    return FromStatus(ctx.reader_status.ok() ? Status::Unavailable("no database reader")
                                             : ctx.reader_status);
  }
  SqlReader& r = *ctx.reader;
  const std::int64_t now = ctx.now_us;
  Params p(req.query);
  auto is = [&](std::initializer_list<std::string_view> parts) {
    if (seg.size() != parts.size() + 1) return false;
    std::size_t i = 1;
    for (auto part : parts) {
      if (part != "*" && seg[i] != part) return false;
      ++i;
    }
    return true;
  };
  query::RequestFilter f = Filter(p);

  if (is({"stats"})) {
    if (!f.since_us) f.since_us = now - kDayUs;
    if (!p.error().empty()) return BadRequest(p.error());
    return Answer(query::Stats(r, f));
  }
  if (is({"dashboard", "stats"})) {
    if (!p.error().empty()) return BadRequest(p.error());
    return Answer(query::DashboardStats(r, f, now));
  }
  if (is({"requests"})) {
    query::Page page = Paging(p, 100);
    if (!p.error().empty()) return BadRequest(p.error());
    auto list = query::ListRequests(r, f, page, page.cursor.empty());
    if (!list.ok()) return FromStatus(list.status());
    return Json(json::object{
        {"requests", std::move(list->requests)},
        {"pagination", Pagination(page, list->total, list->has_more)},
        {"nextCursor", list->has_more ? json::value(list->next_cursor) : json::value(nullptr)}});
  }
  if (is({"requests", "*"})) {
    auto id = query::CanonicalId(UrlDecode(seg[2]));
    if (!id) return Json(json::object{{"error", "Request not found"}}, 404);
    if (ctx.store == nullptr) return FromStatus(Status::Unavailable("no store"));
    auto rec = ctx.store->GetRecord(*id);
    if (!rec.ok()) return FromStatus(rec.status());
    if (!rec->has_value()) return Json(json::object{{"error", "Request not found"}}, 404);
    if (!(*rec)->chunks.empty()) {  // GetRecord leaves chunk_usage empty: the stored counts
      auto counts = query::ChunkTokenCounts(r, *id);
      if (!counts.ok()) return FromStatus(counts.status());
      (*rec)->chunk_usage = std::move(*counts);
    }
    return Json(query::RequestDetail(**rec));
  }
  if (is({"domains"})) {
    if (!f.since_us) f.since_us = now - 7 * kDayUs;
    if (!p.error().empty()) return BadRequest(p.error());
    return Answer(query::Domains(r, f));
  }
  if (is({"conversations"})) {
    query::Page page = Paging(p, 50);
    if (!p.error().empty()) return BadRequest(p.error());
    return Answer(query::ListConversations(r, f, page, page.cursor.empty()));
  }
  if (is({"conversations", "*"})) {
    auto id = query::CanonicalId(UrlDecode(seg[2]));
    if (!id) return Json(json::object{{"error", "Conversation not found"}}, 404);
    auto detail = query::ConversationDetail(r, *id);
    if (!detail.ok()) return FromStatus(detail.status());
    if (!detail->has_value()) return Json(json::object{{"error", "Conversation not found"}}, 404);
    return Json(**detail);
  }
  if (is({"token-usage", "current"})) {
    const std::int64_t window = p.Int("window", 300, 1, 43200);
    if (!p.error().empty()) return BadRequest(p.error());
    if (f.account_id.empty()) return NeedAccount();
    return Answer(query::CurrentWindow(r, f, window, now));
  }
  if (is({"token-usage", "daily"})) {
    const auto days = static_cast<int>(p.Int("days", 30, 1, 365));
    const bool aggregate = p.Bool({"aggregate"}).value_or(false);
    if (!p.error().empty()) return BadRequest(p.error());
    return Answer(query::Daily(r, f, days, aggregate, now));
  }
  if (is({"token-usage", "time-series"})) {
    const auto window = static_cast<int>(p.Int("window", 5, 1, 168));
    const auto interval = static_cast<int>(p.Int("interval", 5, 1, 1440));
    if (!p.error().empty()) return BadRequest(p.error());
    if (f.account_id.empty()) return NeedAccount();
    if (window * 60 / interval > 2016) {
      return BadRequest("window/interval gives more than 2016 points (one week at 5 minutes)");
    }
    return Answer(query::TimeSeries(r, f, window, interval, now));
  }
  if (is({"token-usage", "accounts"})) {
    if (!p.error().empty()) return BadRequest(p.error());
    return Answer(query::Accounts(r, now));
  }
  if (is({"analytics", "token-usage", "sliding-window"})) {
    const auto days = static_cast<int>(p.Int("days", 7, 1, 30));
    const auto bucket = static_cast<int>(p.Int("bucketMinutes", 10, 1, 60));
    const auto window = static_cast<int>(p.Int("windowHours", 5, 1, 24));
    if (!p.error().empty()) return BadRequest(p.error());
    if (60 % bucket != 0)
      return BadRequest("bucketMinutes must divide 60 (1, 2, 3, 5, 10, 15, 20, 30, 60)");
    if (f.account_id.empty()) return NeedAccount();
    return Answer(query::SlidingWindow(r, f, days, bucket, window, now));
  }
  if (is({"usage", "requests", "hourly"}) || is({"usage", "tokens", "hourly"})) {
    const auto days = static_cast<int>(p.Int("days", 7, 1, 30));
    if (!p.error().empty()) return BadRequest(p.error());
    return Answer(query::Hourly(r, f, days, seg[2] == "tokens", now));
  }
  if (is({"users"}) || is({"sessions"}) || is({"keys"})) {
    const std::int64_t limit = p.Int("limit", 100, 1, 1000);
    if (!f.since_us) f.since_us = now - 30 * kDayUs;
    if (!p.error().empty()) return BadRequest(p.error());
    if (seg[1] == "users") return Answer(query::Users(r, f, limit));
    if (seg[1] == "sessions") return Answer(query::Sessions(r, f, limit));
    return Answer(query::ApiKeys(r, f, limit));
  }
  if (is({"ratelimits"})) {
    if (!f.since_us) f.since_us = now - 7 * kDayUs;
    if (!p.error().empty()) return BadRequest(p.error());
    return Answer(query::RateLimits(r, f));
  }
  if (is({"search"})) {
    const std::int64_t limit = p.Int("limit", 50, 1, 200);
    auto q = p.Get({"q"});
    if (!p.error().empty()) return BadRequest(p.error());
    if (!q) return BadRequest("q is required: the words to search for");
    if (q->size() > 500) return BadRequest("q is longer than 500 bytes");
    return Answer(query::Search(r, *q, f, limit));
  }
  return ErrorResponse(404, "not_found", "No API endpoint " + req.path + " (GET /api lists them)");
}

std::variant<ExportPlan, Response> PlanExport(const Request& req, std::int64_t now_us) {
  (void)now_us;
  if (req.method != "GET" && req.method != "HEAD") return MethodNotAllowed();
  Params p(req.query);
  ExportPlan plan;
  plan.filter = Filter(p);
  const std::string format = p.Str({"format"});
  if (format.empty() || format == "jsonl" || format == "ndjson") {
    plan.csv = false;
  } else if (format == "csv") {
    plan.csv = true;
  } else {
    p.Fail("format must be csv or jsonl");
  }
  plan.remaining = p.Int("limit", -1, 1, 1'000'000'000);
  if (!p.error().empty()) return BadRequest(p.error());
  return plan;
}

Response ExportHeader(const ExportPlan& plan) {
  Response r;
  r.content_type = plan.csv ? "text/csv; charset=utf-8" : "application/x-ndjson";
  r.headers.push_back({"Content-Disposition", std::string("attachment; filename=\"requests.") +
                                                  (plan.csv ? "csv" : "jsonl") + "\""});
  return r;
}

namespace {

const char* const kCsvColumns[] = {"requestId",
                                   "timestamp",
                                   "domain",
                                   "accountId",
                                   "userId",
                                   "sessionId",
                                   "model",
                                   "requestType",
                                   "outcome",
                                   "responseStatus",
                                   "inputTokens",
                                   "outputTokens",
                                   "cacheCreationInputTokens",
                                   "cacheReadInputTokens",
                                   "costUsd",
                                   "durationMs",
                                   "firstTokenMs",
                                   "conversationId",
                                   "branchId",
                                   "parentRequestId",
                                   "isSubtask",
                                   "error"};

// RFC 4180 field; a leading = + - @ is prefixed with ' so spreadsheets do not run it.
std::string CsvField(const json::value& v) {
  std::string s;
  if (v.is_null()) return s;
  if (v.is_string()) {
    s = std::string(v.as_string());
    if (!s.empty() && std::string_view("=+-@\t\r").find(s.front()) != std::string_view::npos) {
      s.insert(s.begin(), '\'');
    }
  } else if (v.is_double()) {
    // Plain decimal, shortest round-trip ("0.03", not boost::json's "3E-2"): spreadsheets.
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v.as_double());
    s.assign(buf, ec == std::errc() ? end : buf);
  } else {
    s = json::serialize(v);
  }
  if (s.find_first_of(",\"\r\n") != std::string::npos) {
    std::string q = "\"";
    for (char c : s) {
      if (c == '"') q += '"';
      q += c;
    }
    return q + "\"";
  }
  return s;
}

}  // namespace

StatusOr<std::string> ExportChunk(SqlReader& reader, ExportPlan& plan, bool* done,
                                  std::int64_t rows) {
  std::string out;
  if (plan.csv && !plan.header_sent) {
    for (std::size_t i = 0; i < std::size(kCsvColumns); ++i) {
      if (i > 0) out += ',';
      out += kCsvColumns[i];
    }
    out += "\r\n";
    plan.header_sent = true;
  }
  query::Page page;
  page.limit = plan.remaining >= 0 ? std::min(rows, plan.remaining) : rows;
  page.cursor = plan.cursor;
  *done = true;
  if (page.limit <= 0) return out;
  auto list = query::ListRequests(reader, plan.filter, page, false);
  if (!list.ok()) return list.status();
  for (const auto& v : list->requests) {
    const json::object& o = v.as_object();
    if (plan.csv) {
      for (std::size_t i = 0; i < std::size(kCsvColumns); ++i) {
        if (i > 0) out += ',';
        auto it = o.find(kCsvColumns[i]);
        if (it != o.end()) out += CsvField(it->value());
      }
      out += "\r\n";
    } else {
      out += json::serialize(o);
      out += '\n';
    }
  }
  if (plan.remaining >= 0) plan.remaining -= static_cast<std::int64_t>(list->requests.size());
  plan.cursor = list->next_cursor;
  *done = !list->has_more || plan.remaining == 0;
  return out;
}

std::variant<std::optional<std::int64_t>, Response> PlanEvents(const Request& req) {
  if (req.method != "GET" && req.method != "HEAD") return MethodNotAllowed();
  std::optional<std::string> v;
  if (const Header* h = proxy::FindHeader(req.headers, "Last-Event-ID"); h && !h->value.empty()) {
    v = h->value;
  } else {
    v = QueryParam(req.query, "lastEventId");
  }
  if (!v || v->empty()) return std::optional<std::int64_t>();
  std::int64_t seq = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), seq);
  if (ec != std::errc() || p != v->data() + v->size() || seq < 0) {
    return BadRequest("Last-Event-ID must be an event id this feed sent (a number)");
  }
  return std::optional<std::int64_t>(seq);
}

}  // namespace cn::api
