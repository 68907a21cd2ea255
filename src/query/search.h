// Full-text search over the user and assistant text of requests (cn_search, written by the
// stores with each record: SQLite FTS5, PostgreSQL tsvector; docs/storage.md) — the read model
// behind /api/search.
//
// Thread-safety: free functions; each call uses only the reader it is given.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <string>

#include "common/status.h"
#include "query/requests.h"
#include "storage/reader.h"

namespace cn::query {

// Requests whose text holds every word of `q` (words are matched whole and case-insensitively;
// accent-insensitively on SQLite only: PostgreSQL's 'simple' configuration keeps accents;
// punctuation separates words), most recently written first (SQLite: the search table's insertion
// order, so a record replayed from the spill file counts as new; PostgreSQL: timestamp), with the
// request's filter applied: {results:[{requestId, conversationId, branchId, domain, model,
// timestamp, snippet}]}. kInvalidArgument when q has no word.
StatusOr<boost::json::object> Search(SqlReader& r, const std::string& q, const RequestFilter& f,
                                     std::int64_t limit);

// The FTS5 MATCH expression for `q`: each word as a quoted string ("" doubled), implicitly ANDed.
// Empty when q has no word.
std::string Fts5Query(const std::string& q);

}  // namespace cn::query
