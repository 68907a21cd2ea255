// linking_row: the first 17 columns both stores' LoadForLinking queries select, in this order,
// and how a row of them becomes a Record. Header-only: each store passes its own row type (any
// type with `std::string Text(int)` and `std::int64_t Int(int)` returning ""/0 for NULL).
//
//   0 request_id   1 domain   2 timestamp (unix µs)   3 method   4 path   5 request_type
//   6 message_count   7 response_status   8 outcome   9 response JSON   10 current_message_hash
//   11 parent_message_hash   12 system_hash   13 conversation_id   14 branch_id
//   15 parent_request_id   16 parent_task_request_id
//
// Columns from 17 on (is_subtask, the request body) are typed differently by the two databases
// and stay with each store.
#pragma once

#include <string_view>

#include "record/record.h"

namespace cn::storage {

// What an `outcome` column holds; its CHECK constraint admits nothing but OutcomeName()s.
inline Outcome StoredOutcome(std::string_view name) {
  return OutcomeFromName(name).value_or(Outcome::kCompleted);
}

template <typename Row>
void ReadLinkingRow(const Row& q, Record& r) {
  r.enriched = true;
  r.request_id = q.Text(0);
  r.domain = q.Text(1);
  r.timestamp_unix_micros = q.Int(2);
  r.method = q.Text(3);
  r.path = q.Text(4);
  r.request_type = q.Text(5);
  r.message_count = static_cast<int>(q.Int(6));
  r.response_status = static_cast<int>(q.Int(7));
  r.outcome = StoredOutcome(q.Text(8));
  r.response_json = q.Text(9);
  r.link.current_message_hash = q.Text(10);
  r.link.parent_message_hash = q.Text(11);
  r.link.system_hash = q.Text(12);
  r.link.conversation_id = q.Text(13);
  r.link.branch_id = q.Text(14);
  r.link.parent_request_id = q.Text(15);
  r.link.parent_task_request_id = q.Text(16);
}

}  // namespace cn::storage
