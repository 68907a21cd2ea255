#include "query/requests.h"

#include <boost/json/parse.hpp>
#include <cctype>

#include "common/base64.h"
#include "common/time.h"

namespace cn::query {
namespace json = boost::json;

namespace {

json::value TextOrNull(const SqlRow& row, int col) {
  if (row.IsNull(col)) return nullptr;
  return json::string(row.Text(col));
}

json::value IntOrNull(const SqlRow& row, int col) {
  if (row.IsNull(col)) return nullptr;
  return row.Int(col);
}

json::value DoubleOrNull(const SqlRow& row, int col) {
  if (row.IsNull(col)) return nullptr;
  return row.Double(col);
}

// Parsed JSON when `text` is JSON, else the text itself; null when empty.
json::value JsonOrText(std::string_view text) {
  if (text.empty()) return nullptr;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return json::string(text);
  return v;
}

json::object HeadersObject(const Headers& headers) {
  json::object o;
  for (const auto& [name, value] : MergeRepeatedHeaders(headers)) o[name] = value;
  return o;
}

}  // namespace

void AddRequestFilter(SqlDialect d, const RequestFilter& f, Where* w) {
  if (f.since_us) w->Add("timestamp >= ?", {SqlParam::Text(TimeParam(*f.since_us))});
  if (f.until_us) w->Add("timestamp < ?", {SqlParam::Text(TimeParam(*f.until_us))});
  auto eq = [&](const char* col, const std::string& v) {
    if (!v.empty()) w->Add(std::string(col) + " = ?", {SqlParam::Text(v)});
  };
  eq("domain", f.domain);
  eq("account_id", f.account_id);
  eq("user_id", f.user_id);
  eq("session_id", f.session_id);
  eq("model", f.model);
  eq("request_type", f.request_type);
  eq("outcome", f.outcome);
  eq("conversation_id", f.conversation_id);
  eq("branch_id", f.branch_id);
  eq("api_key_hash", f.api_key_hash);
  if (f.status) {
    if (f.status_class) {
      w->Add("response_status >= ? AND response_status < ?",
             {SqlParam::Int(*f.status * 100), SqlParam::Int(*f.status * 100 + 100)});
    } else {
      w->Add("response_status = ?", {SqlParam::Int(*f.status)});
    }
  }
  const std::string failed =
      "error IS NOT NULL OR response_status >= 400 OR outcome <> 'completed'";
  if (f.has_error) w->Add(*f.has_error ? failed : "NOT (" + failed + ")");
  if (f.subtask) {
    w->Add(*f.subtask ? IsTrue(d, "is_subtask") : "NOT (" + IsTrue(d, "is_subtask") + ")");
  }
}

std::string RequestColumns(SqlDialect d) {
  return IdText(d, "request_id") + ", domain, model, " + TsUs(d) +
         ", input_tokens, output_tokens, total_tokens, cache_creation_input_tokens, "
         "cache_read_input_tokens, duration_ms, first_token_ms, response_status, error, "
         "request_type, account_id, user_id, session_id, outcome, " +
         IdText(d, "conversation_id") + ", branch_id, " + IdText(d, "parent_request_id") + ", " +
         IdText(d, "parent_task_request_id") +
         ", is_subtask, cost_usd, stop_reason, response_streaming, message_count, "
         "tool_call_count, quota_status, timestamp, api_key_hash";
}

json::object RequestObject(const SqlRow& row) {
  json::object o;
  o["requestId"] = TextOrNull(row, 0);
  o["domain"] = TextOrNull(row, 1);
  o["model"] = TextOrNull(row, 2);
  o["timestamp"] = FormatIso8601(row.Int(3));
  o["inputTokens"] = row.Int(4);
  o["outputTokens"] = row.Int(5);
  o["totalTokens"] = row.Int(6);
  o["cacheCreationInputTokens"] = row.Int(7);
  o["cacheReadInputTokens"] = row.Int(8);
  o["durationMs"] = IntOrNull(row, 9);
  o["firstTokenMs"] = IntOrNull(row, 10);
  o["responseStatus"] = IntOrNull(row, 11);
  o["error"] = TextOrNull(row, 12);
  o["requestType"] = TextOrNull(row, 13);
  o["accountId"] = TextOrNull(row, 14);
  o["userId"] = TextOrNull(row, 15);
  o["sessionId"] = TextOrNull(row, 16);
  o["outcome"] = TextOrNull(row, 17);
  o["conversationId"] = TextOrNull(row, 18);
  o["branchId"] = TextOrNull(row, 19);
  o["parentRequestId"] = TextOrNull(row, 20);
  o["parentTaskRequestId"] = TextOrNull(row, 21);
  o["isSubtask"] = row.Int(22) != 0;
  o["costUsd"] = DoubleOrNull(row, 23);
  o["stopReason"] = TextOrNull(row, 24);
  o["streaming"] = row.Int(25) != 0;
  o["messageCount"] = row.Int(26);
  o["toolCallCount"] = row.Int(27);
  o["quotaStatus"] = TextOrNull(row, 28);
  o["apiKeyHash"] = TextOrNull(row, 30);
  return o;
}

std::string EncodeCursor(std::string_view timestamp, std::string_view request_id) {
  std::string raw(timestamp);
  raw += '|';
  raw += request_id;
  return Base64Encode(raw, Base64Alphabet::kUrlNoPad);  // it travels in query strings
}

bool DecodeCursor(std::string_view cursor, std::string* timestamp, std::string* request_id) {
  if (cursor.empty() || cursor.size() > 512) return false;
  std::string b(cursor);
  for (char& c : b) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  while (b.size() % 4 != 0) b.push_back('=');
  std::string raw;
  if (!Base64Decode(b, &raw)) return false;
  auto bar = raw.rfind('|');
  if (bar == std::string::npos || bar == 0) return false;
  *timestamp = raw.substr(0, bar);
  auto id = CanonicalId(std::string_view(raw).substr(bar + 1));
  if (!id) return false;
  *request_id = *id;
  // Only digits, separators and zone letters: a stored timestamp, nothing else.
  for (char c : *timestamp) {
    if (!std::isdigit(static_cast<unsigned char>(c)) &&
        std::string_view("-:.+ TZ").find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

std::optional<std::string> CanonicalId(std::string_view id) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
  };
  id = trim(id);
  if (id.size() > 9 && (id.substr(0, 9) == "urn:uuid:" || id.substr(0, 9) == "URN:UUID:")) {
    id.remove_prefix(9);
  }
  if (id.size() >= 2 && id.front() == '{' && id.back() == '}') id = id.substr(1, id.size() - 2);
  std::string hex;
  for (char c : id) {
    if (c == '-') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
    hex.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  if (hex.size() != 32) return std::nullopt;
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

StatusOr<RequestPage> ListRequests(SqlReader& reader, const RequestFilter& filter, const Page& page,
                                   bool with_total) {
  const SqlDialect d = reader.dialect();
  Where where;
  AddRequestFilter(d, filter, &where);
  RequestPage out;
  if (with_total) {
    std::int64_t total = 0;
    Status st = reader.Query("SELECT count(*) FROM api_requests" + where.Sql(), where.params(),
                             [&](const SqlRow& row) {
                               total = row.Int(0);
                               return false;
                             });
    if (!st.ok()) return st;
    out.total = total;
  }
  Where paged = where;
  bool keyset = !page.cursor.empty();
  if (keyset) {
    std::string ts, id;
    if (!DecodeCursor(page.cursor, &ts, &id)) {
      return Status::InvalidArgument("cursor is not one this API returned");
    }
    // The first condition is implied by the second; it is there because PostgreSQL cannot
    // bound an index scan with the OR alone: it walked the time index from the newest row down
    // to the cursor, filtering (150 ms at depth 10 000 of 1M rows, docs/benchmarks.md).
    paged.Add("timestamp <= ?", {SqlParam::Text(ts)});
    paged.Add("timestamp < ? OR (timestamp = ? AND request_id < ?)",
              {SqlParam::Text(ts), SqlParam::Text(ts), SqlParam::Text(id)});
  }
  std::string sql = "SELECT " + RequestColumns(d) + " FROM api_requests" + paged.Sql() +
                    " ORDER BY timestamp DESC, request_id DESC LIMIT ?";
  std::vector<SqlParam> params = Params(paged.params(), {SqlParam::Int(page.limit + 1)});
  if (!keyset && page.offset > 0) {
    sql += " OFFSET ?";
    params.push_back(SqlParam::Int(page.offset));
  }
  std::string last_ts, last_id;
  std::int64_t n = 0;
  Status st = reader.Query(sql, params, [&](const SqlRow& row) {
    if (n == page.limit) {
      out.has_more = true;
      return false;
    }
    ++n;
    out.requests.push_back(RequestObject(row));
    last_ts = std::string(row.Text(kRawTimestampColumn));
    last_id = std::string(row.Text(0));
    return true;
  });
  if (!st.ok()) return st;
  if (out.has_more) out.next_cursor = EncodeCursor(last_ts, last_id);
  return out;
}

json::object RequestDetail(const Record& r) {
  json::object o;
  o["requestId"] = r.request_id;
  o["domain"] = r.domain;
  o["model"] = r.model.empty() ? json::value(nullptr) : json::value(r.model);
  o["timestamp"] = FormatIso8601(r.timestamp_unix_micros);
  o["method"] = r.method;
  o["path"] = r.path;
  o["inputTokens"] = r.usage.input_tokens;
  o["outputTokens"] = r.usage.output_tokens;
  o["totalTokens"] = r.usage.input_tokens + r.usage.output_tokens;
  o["cacheCreationInputTokens"] = r.usage.cache_creation_input_tokens;
  o["cacheReadInputTokens"] = r.usage.cache_read_input_tokens;
  o["durationMs"] = r.duration_micros / 1000;
  o["firstTokenMs"] =
      r.first_byte_micros ? json::value(*r.first_byte_micros / 1000) : json::value(nullptr);
  o["responseStatus"] = r.response_status;
  o["error"] = r.error.empty() ? json::value(nullptr) : json::value(r.error);
  o["requestType"] = r.request_type;
  o["accountId"] = r.account_id ? json::value(*r.account_id) : json::value(nullptr);
  auto opt = [](const std::string& s) { return s.empty() ? json::value(nullptr) : json::value(s); };
  o["userId"] = opt(r.user_id);
  o["sessionId"] = opt(r.session_id);
  o["outcome"] = OutcomeName(r.outcome);
  o["conversationId"] = opt(r.link.conversation_id);
  o["branchId"] = opt(r.link.branch_id);
  o["parentRequestId"] = opt(r.link.parent_request_id);
  o["parentTaskRequestId"] = opt(r.link.parent_task_request_id);
  o["isSubtask"] = r.link.is_subtask;
  o["costUsd"] = r.cost_usd ? json::value(*r.cost_usd) : json::value(nullptr);
  o["stopReason"] = opt(r.stop_reason);
  o["streaming"] = r.response_streaming;
  o["messageCount"] = r.message_count;
  o["toolCallCount"] = r.tool_call_count;
  o["quotaStatus"] = opt(r.quota.status);
  o["apiKeyHash"] = opt(r.api_key_hash);
  o["upstreamAttempts"] = r.upstream_attempts;
  o["requestHeaders"] = HeadersObject(r.request_headers);
  o["responseHeaders"] = HeadersObject(r.response_headers);
  o["requestBody"] = JsonOrText(r.request_body);
  o["responseBody"] =
      r.response_json.empty() ? JsonOrText(r.response_body) : JsonOrText(r.response_json);
  o["responseBodyTruncated"] = r.response_body_truncated;
  o["usageData"] = JsonOrText(r.usage_json);
  o["rateLimit"] = JsonOrText(r.quota.json);
  o["taskToolInvocation"] = JsonOrText(r.task_tool_invocation_json);
  json::array chunks;
  for (std::size_t i = 0; i < r.chunks.size(); ++i) {
    const auto& c = r.chunks[i];
    std::int64_t tokens = 0;
    for (const auto& u : r.chunk_usage) {
      if (u.chunk_index == i) tokens = u.output_tokens;
    }
    chunks.push_back(json::object{{"chunkIndex", i},
                                  {"timestamp", FormatIso8601(c.at_unix_micros)},
                                  {"data", c.data},
                                  {"tokenCount", tokens}});
  }
  o["streamingChunks"] = std::move(chunks);
  return o;
}

StatusOr<std::vector<ChunkUsage>> ChunkTokenCounts(SqlReader& reader,
                                                   const std::string& request_id) {
  std::vector<ChunkUsage> out;
  Status st = reader.Query(
      "SELECT chunk_index, token_count FROM streaming_chunks WHERE request_id = ? AND "
      "token_count <> 0 ORDER BY chunk_index",
      {SqlParam::Text(request_id)}, [&](const SqlRow& row) {
        ChunkUsage u;
        u.chunk_index = static_cast<std::size_t>(row.Int(0));
        u.output_tokens = row.Int(1);
        out.push_back(std::move(u));
        return true;
      });
  if (!st.ok()) return st;
  return out;
}

}  // namespace cn::query
