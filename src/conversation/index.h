// ConversationIndex: the in-memory view of recently stored requests that conversation linking
// queries instead of the database (the lookups behind docs/conversations.md, "Rules"). The record
// pipeline's writer thread owns one: it fills it from the store at start-up (oldest first) and adds
// every record right after linking it, so a follow-up sees its parent as soon as the parent has
// been linked — not only once its row is committed, which removes the original's "parent not stored
// yet" race.
//
// Memory bound (enforced after every Add, oldest entries evicted first):
//   - at most `max_entries` entries (default 200 000);
//   - no entry older than `max_age_micros` (default 30 days) relative to the newest timestamp
//     added, so the bound does not depend on the wall clock (a rebuild replays old data);
//   - at most `max_payload_bytes` (default 256 MiB) of stored strings: ids, hashes, the lowered
//     first response text (capped at `max_response_text_bytes`, default 256 KiB, per entry) and
//     the Task prompts; plus a small fixed per-entry overhead.
// Consequence: a conversation resumed after its last request was evicted starts a new
// conversation (the original would have linked it through the database).
//
// Only inference requests are indexed (Add(const Record&) skips the rest), mirroring the original
// where only inference rows were ever stored and could become parents.
//
// Thread-safety: none. One thread (the writer) owns the index; all calls, including the const
// lookups, must come from it or be externally serialised.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "conversation/detection.h"
#include "record/record.h"

namespace cn::conversation {

inline constexpr std::int64_t kMicrosPerSecond = 1'000'000;
inline constexpr std::int64_t kMicrosPerDay = 86'400 * kMicrosPerSecond;

struct IndexOptions {
  std::size_t max_entries = 200'000;
  std::int64_t max_age_micros = 30 * kMicrosPerDay;
  std::size_t max_payload_bytes = 256u << 20;
  std::size_t max_response_text_bytes = 256u << 10;
};

// What linking needs to know about one stored request. Empty strings stand for SQL NULL.
struct IndexEntry {
  std::string request_id;
  std::string domain;
  std::int64_t timestamp_unix_micros = 0;
  std::string current_message_hash;
  std::string parent_message_hash;
  std::string system_hash;
  std::string conversation_id;
  std::string branch_id;
  std::string parent_task_request_id;
  bool is_subtask = false;
  // LowerForMatch(response_body.content[0].text), cut to max_response_text_bytes; nullopt when
  // the response has no such text.
  std::optional<std::string> response_text_lower;
  bool response_text_truncated = false;
  std::vector<TaskInvocation> task_invocations;  // Task calls in the response, in order
  // For a sub-agent's first request: its prompt (ExtractSubtaskPrompt), so the sub-task numbering
  // of a Task response can be recovered when the index is rebuilt from the store.
  std::string subtask_prompt;
};

// Builds the entry for a linked record (parses response_json, and request_body for a sub-agent's
// first request). Never fails: unparsable JSON just contributes nothing.
IndexEntry IndexEntryFromRecord(const Record& r);

// A Task call a sub-agent's prompt belongs to.
struct TaskMatch {
  const IndexEntry* task_request = nullptr;
  int invocation_index = 0;  // 1-based position among the Task calls of that response
};

class ConversationIndex {
 public:
  explicit ConversationIndex(IndexOptions options = {});
  ConversationIndex(const ConversationIndex&) = delete;
  ConversationIndex& operator=(const ConversationIndex&) = delete;

  // Adds or replaces (same request_id) an entry, then evicts to stay within the bound.
  void Add(IndexEntry entry);
  // Add(IndexEntryFromRecord(r)) for inference records; other request types are ignored.
  void Add(const Record& r);

  const IndexEntry* Find(std::string_view request_id) const;

  // Parent lookup: newest entry of `domain` with current_message_hash == hash (and system_hash ==
  // *system_hash when given), request_id != exclude_request_id, timestamp < before.
  const IndexEntry* FindNewestByCurrentHash(std::string_view domain, std::string_view hash,
                                            const std::string* system_hash,
                                            std::string_view exclude_request_id,
                                            std::int64_t before) const;

  // Branch test: whether a child of `parent_hash` exists (parent_message_hash == parent_hash,
  // request_id != exclude, timestamp < before, and conversation_id == conversation_id unless
  // empty).
  bool HasChild(std::string_view domain, std::string_view parent_hash,
                std::string_view conversation_id, std::string_view exclude_request_id,
                std::int64_t before) const;

  // Compact continuation lookup: newest inference entry of `domain` with from <= timestamp < before
  // whose lowered first response text starts with `cleaned_summary`. For a text cut at
  // max_response_text_bytes, a longer summary matches when it starts with the whole stored prefix.
  const IndexEntry* FindCompactParent(std::string_view domain, std::string_view cleaned_summary,
                                      std::int64_t from, std::int64_t before) const;

  // Sub-agent lookup: the Task call `prompt` was issued by. Candidates: the 10 newest entries of
  // `domain` in [at - 24 h, at] with a Task call whose prompt equals `prompt` with literal "\n"
  // sequences turned into newlines; their calls are walked oldest request first, in response order,
  // and the first whose prompt equals `prompt` exactly and that no sub-agent has claimed yet wins
  // (or the first equal one when all are claimed, e.g. a retried sub-agent request).
  std::optional<TaskMatch> MatchTaskInvocation(std::string_view domain, std::string_view prompt,
                                               std::int64_t at) const;

  // The N of `subtask_N` for invocation `invocation_index` (1-based) of Task request
  // `task_request`, and marks that invocation claimed. The first call for a Task request reserves
  // a block of numbers for all its Task calls after the highest number its conversation has used,
  // so sub-agents are numbered in Task-call order whatever order they arrive in, and later Task
  // responses continue after the block without gaps.
  int AssignSubtaskNumber(const IndexEntry& task_request, int invocation_index);

  std::size_t size() const { return entries_.size(); }
  std::size_t payload_bytes() const { return payload_bytes_; }
  const IndexOptions& options() const { return options_; }

 private:
  struct Node {
    IndexEntry entry;
    std::size_t cost = 0;
    std::multimap<std::int64_t, Node*>::iterator age_it;
  };
  // Numbers reserved for the sub-agents of one Task request.
  struct SubtaskBlock {
    int base = 0;
    std::vector<bool> claimed;  // by invocation index - 1
  };
  struct ConversationSubtasks {
    int max_reserved = 0;
    std::int64_t last_used = 0;
  };

  static std::string Key(std::string_view domain, std::string_view hash);
  void Remove(Node* node, bool evicted);
  void Evict();
  void RecordSubtask(const IndexEntry& e);
  SubtaskBlock& EnsureBlock(const IndexEntry& task_request, int min_size);

  IndexOptions options_;
  std::unordered_map<std::string, Node> entries_;  // by request_id; nodes never move
  std::unordered_map<std::string, std::vector<Node*>>
      by_current_hash_;                                                 // Key(domain, current hash)
  std::unordered_map<std::string, std::vector<Node*>> by_parent_hash_;  // Key(domain, parent hash)
  std::multimap<std::int64_t, Node*> by_age_;                           // by timestamp
  std::unordered_set<Node*> with_task_calls_;
  std::unordered_map<std::string, SubtaskBlock> blocks_;  // by Task request_id; dies with the entry
  // By conversation_id; pruned of conversations untouched since the oldest retained entry.
  std::unordered_map<std::string, ConversationSubtasks> conversation_subtasks_;
  std::size_t payload_bytes_ = 0;
  std::int64_t newest_timestamp_ = 0;
  std::size_t adds_since_prune_ = 0;
};

}  // namespace cn::conversation
