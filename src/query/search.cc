#include "query/search.h"

#include <boost/json/array.hpp>
#include <cctype>

#include "common/time.h"

namespace cn::query {
namespace json = boost::json;

std::string Fts5Query(const std::string& q) {
  std::string out;
  std::string word;
  auto flush = [&] {
    if (word.empty()) return;
    if (!out.empty()) out += ' ';
    out += '"';
    for (char c : word) {
      if (c == '"') out += '"';
      out += c;
    }
    out += '"';
    word.clear();
  };
  for (char c : q) {
    const auto u = static_cast<unsigned char>(c);
    // ASCII punctuation and spaces separate words (as the unicode61 tokenizer does); bytes of
    // multi-byte characters stay in the word.
    if (u < 0x80 && !std::isalnum(u) && c != '_') {
      flush();
    } else {
      word += c;
    }
  }
  flush();
  return out;
}

StatusOr<json::object> Search(SqlReader& r, const std::string& q, const RequestFilter& f,
                              std::int64_t limit) {
  const SqlDialect d = r.dialect();
  const std::string match = Fts5Query(q);
  if (match.empty()) return Status::InvalidArgument("q must contain at least one word");
  Where w;
  AddRequestFilter(d, f, &w);
  std::string sql;
  std::vector<SqlParam> params;
  if (d == SqlDialect::kSqlite) {
    // Newest first by the search table's rowid (insertion order), which FTS5 walks backwards
    // without sorting; the request's filters apply to the joined row.
    std::string filters = w.Sql();
    if (!filters.empty()) filters = " AND " + filters.substr(7);  // drop " WHERE "
    sql =
        "SELECT cn_search.request_id, snippet(cn_search, 0, '', '', '…', 24), r.conversation_id, "
        "r.branch_id, r.domain, r.model, r.timestamp_us FROM cn_search JOIN api_requests r ON "
        "r.rowid = cn_search.rowid WHERE cn_search MATCH ?" +
        filters + " ORDER BY cn_search.rowid DESC LIMIT ?";
    params.push_back(SqlParam::Text(match));
  } else {
    std::string filters = w.Sql();
    if (!filters.empty()) filters = " AND " + filters.substr(7);
    sql =
        "SELECT r.request_id::text, ts_headline('simple', s.text, plainto_tsquery('simple', ?), "
        "'MaxFragments=1, MaxWords=24, MinWords=8, StartSel=\"\", StopSel=\"\"'), "
        "r.conversation_id::text, r.branch_id, r.domain, r.model, " +
        TsUs(d, "r") +
        " FROM cn_search s JOIN api_requests r ON r.request_id = s.request_id WHERE s.tsv @@ "
        "plainto_tsquery('simple', ?)" +
        filters + " ORDER BY r.timestamp DESC LIMIT ?";
    params.push_back(SqlParam::Text(q));
    params.push_back(SqlParam::Text(q));
  }
  // The filter's columns are unqualified: none of them is also a column of cn_search.
  for (auto& p : w.params()) params.push_back(p);
  params.push_back(SqlParam::Int(limit));
  json::array results;
  Status st = r.Query(sql, params, [&](const SqlRow& row) {
    auto opt = [&](int c) {
      return row.IsNull(c) ? json::value(nullptr) : json::value(json::string(row.Text(c)));
    };
    results.push_back(json::object{{"requestId", json::string(row.Text(0))},
                                   {"snippet", json::string(row.Text(1))},
                                   {"conversationId", opt(2)},
                                   {"branchId", opt(3)},
                                   {"domain", opt(4)},
                                   {"model", opt(5)},
                                   {"timestamp", FormatIso8601(row.Int(6))}});
    return true;
  });
  if (!st.ok()) return st;
  return json::object{{"results", std::move(results)}};
}

}  // namespace cn::query
