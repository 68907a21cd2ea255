// Conversations: the list (one object per conversation, newest activity first) and one
// conversation's whole tree — the read model behind /api/conversations and
// /api/conversations/:id (docs/api.md, docs/conversations.md for what a branch is).
//
// Thread-safety: free functions; each call uses only the reader it is given.
#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <string>

#include "common/status.h"
#include "query/requests.h"
#include "storage/reader.h"

namespace cn::query {

// A page of conversations matching the filter (rows with a conversation_id), by last activity,
// newest first: "limit first, aggregate second" — the page's ids, then aggregates for them only.
// {conversations:[...], pagination:{total?, limit, offset, hasMore, page, totalPages?},
// nextCursor}. kInvalidArgument for a foreign cursor.
StatusOr<boost::json::object> ListConversations(SqlReader& r, const RequestFilter& f,
                                                const Page& page, bool with_total);

// The conversation's requests (no bodies) in time order with their links, per-branch totals,
// the sub-agent conversations its Task calls started, and totals; nullopt when no stored request
// belongs to it. `conversation_id` is canonical.
StatusOr<std::optional<boost::json::object>> ConversationDetail(SqlReader& r,
                                                                const std::string& conversation_id);

}  // namespace cn::query
