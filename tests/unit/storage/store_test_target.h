// StoreTestTarget: a Store under test, the one read-back hook the Store interface does not have
// (streaming_chunks.token_count), and the owner of its temporary database. The conformance suite
// (store_conformance_test.cc) runs once per registered factory.
//
// Thread-safety: as the wrapped Store.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "record/record.h"
#include "storage/store.h"

namespace cn::storage::testing {

class StoreTestTarget {
 public:
  virtual ~StoreTestTarget() = default;
  virtual Store& store() = 0;
  // streaming_chunks.token_count of the record's chunks in chunk_index order; empty when it has
  // none stored (docs/storage.md: the chunk's ChunkUsage::output_tokens, else 0).
  virtual std::vector<std::int64_t> ChunkTokenCounts(const std::string& request_id) = 0;
  // The request_id of every cn_search row whose text matches `word` (SQLite: cn_search MATCH;
  // PostgreSQL: tsv @@ plainto_tsquery('simple', word)), sorted (docs/storage.md "Search and the
  // live feed").
  virtual std::vector<std::string> SearchMatches(const std::string& word) = 0;
  virtual std::int64_t SearchRowCount() = 0;
  // cn_events as (seq, request_id), in seq order.
  virtual std::vector<std::pair<std::int64_t, std::string>> Events() = 0;
  // Moves the created_us of `request_id`'s event `micros` into the past.
  virtual void BackdateEvent(const std::string& request_id, std::int64_t micros) = 0;
};

struct StoreFactory {
  std::string name;  // gtest parameter name: letters and digits only
  std::function<std::unique_ptr<StoreTestTarget>()> make;  // migrated, empty; null on failure
  // True when derived JSON fields (response_json, usage_json, task_tool_invocation_json) read
  // back as the same JSON value in a canonical spelling (PostgreSQL JSONB), not byte for byte.
  bool canonical_json = false;
  // Non-empty when the backend cannot run here (e.g. no server configured): the tests skip
  // with this message locally and fail under CI=true.
  std::function<std::string()> missing;
  // What Store::SharedByReplicas() must answer.
  bool shared_by_replicas = false;
};
inline void PrintTo(const StoreFactory& f, std::ostream* os) { *os << f.name; }

// A fresh temporary directory, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A record with every field set to a distinct non-default value (3 stream chunks: message_start,
// a text delta, a message_delta with usage.output_tokens = 42, and the chunk_usage enrichment
// gives them; repeated response header names; user, session, cost and every quota field, with
// doubles only an exact round trip keeps; search_text "hi é word<n>\nHello"). `n` varies the ids
// and numbers.
Record FullRecord(int n);

// A small enriched record: domain `domain`, request type `type`, given tokens and tool calls;
// no user, session, cost or quota.
Record SimpleRecord(const std::string& domain, const std::string& type, std::int64_t input,
                    std::int64_t output, int tools, std::int64_t at_unix_micros);

}  // namespace cn::storage::testing
