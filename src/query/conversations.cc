#include "query/conversations.h"

#include <boost/json/array.hpp>
#include <map>
#include <set>
#include <vector>

#include "common/time.h"

namespace cn::query {
namespace json = boost::json;

namespace {

std::string Placeholders(std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += i == 0 ? "?" : ", ?";
  return s;
}

json::value OptText(const SqlRow& row, int col) {
  if (row.IsNull(col)) return nullptr;
  return json::string(row.Text(col));
}

std::string BranchKind(std::string_view branch) {
  if (branch.empty() || branch == "main") return "main";
  if (branch.starts_with("subtask")) return "subtask";
  if (branch.starts_with("compact")) return "compact";
  return "user";
}

}  // namespace

StatusOr<json::object> ListConversations(SqlReader& r, const RequestFilter& f, const Page& page,
                                         bool with_total) {
  const SqlDialect d = r.dialect();
  Where w;
  AddRequestFilter(d, f, &w);
  w.Add("conversation_id IS NOT NULL");
  json::object pagination{{"limit", page.limit}, {"offset", page.offset}};
  if (with_total) {
    std::int64_t total = 0;
    Status st = r.Query("SELECT count(DISTINCT conversation_id) FROM api_requests" + w.Sql(),
                        w.params(), [&](const SqlRow& row) {
                          total = row.Int(0);
                          return false;
                        });
    if (!st.ok()) return st;
    pagination["total"] = total;
    pagination["totalPages"] = page.limit > 0 ? (total + page.limit - 1) / page.limit : 0;
  }
  pagination["page"] = page.limit > 0 ? page.offset / page.limit + 1 : 1;
  std::string having;
  std::vector<SqlParam> params = w.params();
  const bool keyset = !page.cursor.empty();
  if (keyset) {
    std::string ts, id;
    if (!DecodeCursor(page.cursor, &ts, &id)) {
      return Status::InvalidArgument("cursor is not one this API returned");
    }
    having = " HAVING MAX(timestamp) < ? OR (MAX(timestamp) = ? AND " +
             IdText(d, "conversation_id") + " < ?)";
    params.push_back(SqlParam::Text(ts));
    params.push_back(SqlParam::Text(ts));
    params.push_back(SqlParam::Text(id));
  }
  std::string sql = "SELECT " + IdText(d, "conversation_id") +
                    " AS cid, MAX(timestamp) AS last FROM api_requests" + w.Sql() +
                    " GROUP BY conversation_id" + having + " ORDER BY last DESC, cid DESC LIMIT ?";
  params.push_back(SqlParam::Int(page.limit + 1));
  if (!keyset && page.offset > 0) {
    sql += " OFFSET ?";
    params.push_back(SqlParam::Int(page.offset));
  }
  std::vector<std::string> ids;
  std::string last_ts;
  bool has_more = false;
  Status st = r.Query(sql, params, [&](const SqlRow& row) {
    if (static_cast<std::int64_t>(ids.size()) == page.limit) {
      has_more = true;
      return false;
    }
    ids.emplace_back(row.Text(0));
    last_ts = std::string(row.Text(1));
    return true;
  });
  if (!st.ok()) return st;
  pagination["hasMore"] = has_more;
  json::object out;
  out["nextCursor"] = has_more ? json::value(EncodeCursor(last_ts, ids.back())) : nullptr;
  if (ids.empty()) {
    out["conversations"] = json::array();
    out["pagination"] = std::move(pagination);
    return out;
  }
  std::vector<SqlParam> in;
  for (const auto& id : ids) in.push_back(SqlParam::Text(id));
  std::map<std::string, json::object> by_id;
  st = r.Query("SELECT " + IdText(d, "conversation_id") + ", MIN(" + TsUs(d) + "), MAX(" + TsUs(d) +
                   "), count(*), COALESCE(SUM(input_tokens), 0) + COALESCE(SUM(output_tokens), 0), "
                   "COALESCE(SUM(cost_usd), 0), count(DISTINCT branch_id), MAX(message_count), "
                   "MAX(domain), MAX(account_id), MAX(user_id), MAX(session_id), "
                   "COALESCE(SUM(CASE WHEN " +
                   IsTrue(d, "is_subtask") + " THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN " +
                   IsTrue(d, "is_subtask") + " THEN 0 ELSE 1 END), 0), " +
                   "COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0) "
                   "FROM api_requests WHERE conversation_id IN (" +
                   Placeholders(ids.size()) + ") GROUP BY conversation_id",
               in, [&](const SqlRow& row) {
                 json::object o;
                 o["conversationId"] = json::string(row.Text(0));
                 o["domain"] = OptText(row, 8);
                 o["accountId"] = OptText(row, 9);
                 o["userId"] = OptText(row, 10);
                 o["sessionId"] = OptText(row, 11);
                 o["firstMessageTime"] = FormatIso8601(row.Int(1));
                 o["lastMessageTime"] = FormatIso8601(row.Int(2));
                 o["messageCount"] = row.Int(3);
                 o["requestCount"] = row.Int(3);
                 o["totalTokens"] = row.Int(4);
                 o["inputTokens"] = row.Int(14);
                 o["outputTokens"] = row.Int(15);
                 o["costUsd"] = row.Double(5);
                 o["branchCount"] = row.Int(6);
                 o["maxMessageCount"] = row.Int(7);
                 o["subtaskMessageCount"] = row.Int(12);
                 by_id[std::string(row.Text(0))] = std::move(o);
                 return true;
               });
  if (!st.ok()) return st;
  // Branch kinds and models per conversation.
  st = r.Query("SELECT DISTINCT " + IdText(d, "conversation_id") +
                   ", branch_id FROM api_requests WHERE conversation_id IN (" +
                   Placeholders(ids.size()) + ")",
               in, [&](const SqlRow& row) {
                 json::object& o = by_id[std::string(row.Text(0))];
                 const std::string kind = BranchKind(row.Text(1));
                 const char* key = kind == "subtask"   ? "subtaskBranchCount"
                                   : kind == "compact" ? "compactBranchCount"
                                   : kind == "user"    ? "userBranchCount"
                                                       : nullptr;
                 if (key != nullptr) o[key] = (o.contains(key) ? o[key].as_int64() : 0) + 1;
                 return true;
               });
  if (!st.ok()) return st;
  st = r.Query("SELECT DISTINCT " + IdText(d, "conversation_id") +
                   ", model FROM api_requests WHERE conversation_id IN (" +
                   Placeholders(ids.size()) + ") AND model IS NOT NULL ORDER BY 2",
               in, [&](const SqlRow& row) {
                 json::object& o = by_id[std::string(row.Text(0))];
                 if (!o.contains("modelsUsed")) o["modelsUsed"] = json::array();
                 o["modelsUsed"].as_array().push_back(json::string(row.Text(1)));
                 return true;
               });
  if (!st.ok()) return st;
  json::array list;
  for (const auto& id : ids) {
    json::object o = std::move(by_id[id]);
    for (const char* k : {"subtaskBranchCount", "compactBranchCount", "userBranchCount"}) {
      if (!o.contains(k)) o[k] = 0;
    }
    if (!o.contains("modelsUsed")) o["modelsUsed"] = json::array();
    // The latest request (its model and context size) and the first one (is it a sub-agent's?).
    st = r.Query("SELECT " + IdText(d, "request_id") +
                     ", model, COALESCE(input_tokens, 0) + COALESCE(cache_read_input_tokens, 0) + "
                     "COALESCE(cache_creation_input_tokens, 0) FROM api_requests WHERE "
                     "conversation_id = ? ORDER BY timestamp DESC, request_id DESC LIMIT 1",
                 {SqlParam::Text(id)}, [&](const SqlRow& row) {
                   o["latestRequestId"] = json::string(row.Text(0));
                   o["latestModel"] = OptText(row, 1);
                   o["latestContextTokens"] = row.Int(2);
                   return false;
                 });
    if (!st.ok()) return st;
    o["isSubtask"] = false;
    o["parentTaskRequestId"] = nullptr;
    o["parentConversationId"] = nullptr;
    st = r.Query("SELECT " + IsTrue(d, "a.is_subtask") + ", " +
                     IdText(d, "a.parent_task_request_id") + ", " + IdText(d, "p.conversation_id") +
                     " FROM api_requests a LEFT JOIN api_requests p ON p.request_id = "
                     "a.parent_task_request_id WHERE a.conversation_id = ? ORDER BY a.timestamp, "
                     "a.request_id LIMIT 1",
                 {SqlParam::Text(id)}, [&](const SqlRow& row) {
                   o["isSubtask"] = row.Int(0) != 0;
                   o["parentTaskRequestId"] = OptText(row, 1);
                   o["parentConversationId"] = OptText(row, 2);
                   return false;
                 });
    if (!st.ok()) return st;
    list.push_back(std::move(o));
  }
  out["conversations"] = std::move(list);
  out["pagination"] = std::move(pagination);
  return out;
}

StatusOr<std::optional<json::object>> ConversationDetail(SqlReader& r,
                                                         const std::string& conversation_id) {
  const SqlDialect d = r.dialect();
  json::array requests;
  struct Branch {
    std::int64_t requests = 0, input = 0, output = 0, cache_read = 0, cache_creation = 0,
                 errors = 0;
    double cost = 0;
    std::int64_t first = 0, last = 0, duration_ms = 0;
    std::string latest_request;
    std::int64_t context = 0;
  };
  std::map<std::string, Branch> branches;
  Branch total;
  std::vector<std::string> ids;
  Status st = r.Query(
      "SELECT " + RequestColumns(d) +
          " FROM api_requests WHERE conversation_id = ? ORDER BY timestamp, request_id",
      {SqlParam::Text(conversation_id)}, [&](const SqlRow& row) {
        json::object o = RequestObject(row);
        const std::string branch = row.IsNull(19) ? "main" : std::string(row.Text(19));
        const std::int64_t ts = row.Int(3);
        for (Branch* b : {&branches[branch], &total}) {
          if (b->requests == 0) b->first = ts;
          b->last = ts;
          ++b->requests;
          b->input += row.Int(4);
          b->output += row.Int(5);
          b->cache_creation += row.Int(7);
          b->cache_read += row.Int(8);
          b->duration_ms += row.Int(9);
          b->cost += row.IsNull(23) ? 0 : row.Double(23);
          const bool failed = !row.IsNull(12) || row.Int(11) >= 400 || row.Text(17) != "completed";
          if (failed) ++b->errors;
          b->latest_request = std::string(row.Text(0));
          b->context = row.Int(4) + row.Int(7) + row.Int(8);
        }
        ids.emplace_back(row.Text(0));
        requests.push_back(std::move(o));
        return true;
      });
  if (!st.ok()) return st;
  if (requests.empty()) return std::optional<json::object>();
  auto totals = [](const Branch& b) {
    return json::object{{"requests", b.requests},
                        {"inputTokens", b.input},
                        {"outputTokens", b.output},
                        {"totalTokens", b.input + b.output},
                        {"cacheReadInputTokens", b.cache_read},
                        {"cacheCreationInputTokens", b.cache_creation},
                        {"costUsd", b.cost},
                        {"errors", b.errors},
                        {"firstTimestamp", FormatIso8601(b.first)},
                        {"lastTimestamp", FormatIso8601(b.last)},
                        {"durationMs", (b.last - b.first) / 1000},
                        {"inferenceMs", b.duration_ms},
                        {"latestRequestId", b.latest_request},
                        {"contextTokens", b.context}};
  };
  json::array branch_list;
  for (const auto& [name, b] : branches) {
    json::object o = totals(b);
    o["branchId"] = name;
    o["kind"] = BranchKind(name);
    branch_list.push_back(std::move(o));
  }
  // Sub-agent conversations started by this conversation's Task calls.
  json::array subtasks;
  st = r.Query("SELECT " + IdText(d, "s.parent_task_request_id") + ", " +
                   IdText(d, "s.conversation_id") + ", " + IdText(d, "s.request_id") + ", " +
                   TsUs(d, "s") +
                   " FROM api_requests s JOIN api_requests p ON p.request_id = "
                   "s.parent_task_request_id WHERE p.conversation_id = ? AND " +
                   IsTrue(d, "s.is_subtask") + " ORDER BY s.timestamp, s.request_id",
               {SqlParam::Text(conversation_id)}, [&](const SqlRow& row) {
                 subtasks.push_back(json::object{{"parentTaskRequestId", OptText(row, 0)},
                                                 {"conversationId", OptText(row, 1)},
                                                 {"firstRequestId", OptText(row, 2)},
                                                 {"timestamp", FormatIso8601(row.Int(3))}});
                 return true;
               });
  if (!st.ok()) return st;
  json::object first = requests.front().as_object();
  json::object out{{"conversationId", conversation_id},
                   {"domain", first["domain"]},
                   {"accountId", first["accountId"]},
                   {"userId", first["userId"]},
                   {"sessionId", first["sessionId"]},
                   {"isSubtask", first["isSubtask"]},
                   {"parentTaskRequestId", first["parentTaskRequestId"]},
                   {"totals", totals(total)},
                   {"branches", std::move(branch_list)},
                   {"subtasks", std::move(subtasks)},
                   {"requests", std::move(requests)}};
  return std::optional<json::object>(std::move(out));
}

}  // namespace cn::query
