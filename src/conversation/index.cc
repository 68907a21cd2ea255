#include "conversation/index.h"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <cassert>
#include <charconv>
#include <system_error>

namespace cn::conversation {
namespace {

namespace json = boost::json;

constexpr std::size_t kFixedEntryCost = 256;  // node, index slots and string headers, roughly
constexpr std::int64_t kTaskWindowMicros = kMicrosPerDay;
constexpr std::size_t kTaskCandidateRows = 10;
constexpr std::size_t kPruneEveryAdds = 4096;
constexpr std::string_view kSubtaskPrefix = "subtask_";

std::size_t CostOf(const IndexEntry& e) {
  std::size_t cost = kFixedEntryCost + e.request_id.size() + e.domain.size() +
                     e.current_message_hash.size() + e.parent_message_hash.size() +
                     e.system_hash.size() + e.conversation_id.size() + e.branch_id.size() +
                     e.parent_task_request_id.size() + e.subtask_prompt.size();
  if (e.response_text_lower) cost += e.response_text_lower->size();
  for (const TaskInvocation& t : e.task_invocations) {
    cost += t.tool_use_id.size() + t.prompt.size() + t.description.size() + sizeof(TaskInvocation);
  }
  return cost;
}

std::optional<int> SubtaskNumber(std::string_view branch_id) {
  if (!branch_id.starts_with(kSubtaskPrefix)) return std::nullopt;
  const std::string_view digits = branch_id.substr(kSubtaskPrefix.size());
  int n = 0;
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || ptr != digits.data() + digits.size() || n <= 0) return std::nullopt;
  return n;
}

std::string LiteralBackslashNToNewline(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && s[i + 1] == 'n') {
      out.push_back('\n');
      ++i;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

template <typename Vec>
void EraseValue(Vec& v, typename Vec::value_type x) {
  v.erase(std::remove(v.begin(), v.end(), x), v.end());
}

}  // namespace

IndexEntry IndexEntryFromRecord(const Record& r) {
  IndexEntry e;
  e.request_id = r.request_id;
  e.domain = r.domain;
  e.timestamp_unix_micros = r.timestamp_unix_micros;
  e.current_message_hash = r.link.current_message_hash;
  e.parent_message_hash = r.link.parent_message_hash;
  e.system_hash = r.link.system_hash;
  e.conversation_id = r.link.conversation_id;
  e.branch_id = r.link.branch_id;
  e.parent_task_request_id = r.link.parent_task_request_id;
  e.is_subtask = r.link.is_subtask;
  if (!r.response_json.empty()) {
    std::error_code ec;
    const json::value response = json::parse(r.response_json, ec);
    if (!ec) {
      if (const auto text = FirstResponseText(response))
        e.response_text_lower = LowerForMatch(*text);
      e.task_invocations = ExtractTaskInvocations(response);
    }
  }
  if (r.link.is_subtask && r.link.parent_message_hash.empty() && !r.request_body.empty()) {
    std::error_code ec;
    const json::value body = json::parse(r.request_body, ec);
    const json::object* o = ec ? nullptr : body.if_object();
    const json::value* messages = o == nullptr ? nullptr : o->if_contains("messages");
    if (messages != nullptr && messages->is_array() && messages->get_array().size() == 1) {
      if (const json::object* m = messages->get_array()[0].if_object()) {
        if (const json::value* content = m->if_contains("content"))
          e.subtask_prompt = ExtractSubtaskPrompt(*content);
      }
    }
  }
  return e;
}

ConversationIndex::ConversationIndex(IndexOptions options) : options_(options) {}

std::string ConversationIndex::Key(std::string_view domain, std::string_view hash) {
  std::string key;
  key.reserve(domain.size() + 1 + hash.size());
  key.append(domain);
  key.push_back('\n');  // never part of a Host header
  key.append(hash);
  return key;
}

void ConversationIndex::Add(const Record& r) {
  if (r.request_type != "inference") return;
  Add(IndexEntryFromRecord(r));
}

void ConversationIndex::Add(IndexEntry entry) {
  // Replacing keeps the sub-task block: a re-added Task request keeps its numbering.
  if (auto it = entries_.find(entry.request_id); it != entries_.end())
    Remove(&it->second, /*evicted=*/false);
  if (entry.response_text_lower &&
      entry.response_text_lower->size() > options_.max_response_text_bytes) {
    entry.response_text_lower->resize(options_.max_response_text_bytes);
    entry.response_text_truncated = true;
  }
  const std::string id = entry.request_id;
  auto [it, inserted] = entries_.try_emplace(id);
  assert(inserted);
  Node* node = &it->second;
  node->entry = std::move(entry);
  const IndexEntry& e = node->entry;
  node->cost = CostOf(e);
  payload_bytes_ += node->cost;
  node->age_it = by_age_.emplace(e.timestamp_unix_micros, node);
  if (!e.current_message_hash.empty())
    by_current_hash_[Key(e.domain, e.current_message_hash)].push_back(node);
  if (!e.parent_message_hash.empty())
    by_parent_hash_[Key(e.domain, e.parent_message_hash)].push_back(node);
  if (!e.task_invocations.empty()) with_task_calls_.insert(node);
  newest_timestamp_ = std::max(newest_timestamp_, e.timestamp_unix_micros);
  RecordSubtask(e);
  Evict();
}

void ConversationIndex::Remove(Node* node, bool evicted) {
  const IndexEntry& e = node->entry;
  auto unlink = [node](auto& map, const std::string& key) {
    auto it = map.find(key);
    if (it == map.end()) return;
    EraseValue(it->second, node);
    if (it->second.empty()) map.erase(it);
  };
  if (!e.current_message_hash.empty())
    unlink(by_current_hash_, Key(e.domain, e.current_message_hash));
  if (!e.parent_message_hash.empty()) unlink(by_parent_hash_, Key(e.domain, e.parent_message_hash));
  by_age_.erase(node->age_it);
  with_task_calls_.erase(node);
  if (evicted) blocks_.erase(e.request_id);
  payload_bytes_ -= node->cost;
  entries_.erase(std::string(e.request_id));  // copy: the key outlives nothing it points into
}

void ConversationIndex::Evict() {
  while (!by_age_.empty()) {
    Node* oldest = by_age_.begin()->second;
    const bool too_old =
        oldest->entry.timestamp_unix_micros < newest_timestamp_ - options_.max_age_micros;
    if (!too_old && entries_.size() <= options_.max_entries &&
        payload_bytes_ <= options_.max_payload_bytes)
      break;
    Remove(oldest, /*evicted=*/true);
  }
  if (++adds_since_prune_ < kPruneEveryAdds) return;
  adds_since_prune_ = 0;
  const std::int64_t horizon = by_age_.empty() ? newest_timestamp_ : by_age_.begin()->first;
  std::erase_if(conversation_subtasks_,
                [horizon](const auto& kv) { return kv.second.last_used < horizon; });
}

const IndexEntry* ConversationIndex::Find(std::string_view request_id) const {
  auto it = entries_.find(std::string(request_id));
  return it == entries_.end() ? nullptr : &it->second.entry;
}

const IndexEntry* ConversationIndex::FindNewestByCurrentHash(std::string_view domain,
                                                             std::string_view hash,
                                                             const std::string* system_hash,
                                                             std::string_view exclude_request_id,
                                                             std::int64_t before) const {
  auto it = by_current_hash_.find(Key(domain, hash));
  if (it == by_current_hash_.end()) return nullptr;
  const IndexEntry* best = nullptr;
  for (const Node* node : it->second) {  // insertion order: on equal timestamps the later Add wins
    const IndexEntry& e = node->entry;
    if (e.timestamp_unix_micros >= before || e.request_id == exclude_request_id) continue;
    if (system_hash != nullptr && e.system_hash != *system_hash) continue;
    if (best == nullptr || e.timestamp_unix_micros >= best->timestamp_unix_micros) best = &e;
  }
  return best;
}

bool ConversationIndex::HasChild(std::string_view domain, std::string_view parent_hash,
                                 std::string_view conversation_id,
                                 std::string_view exclude_request_id, std::int64_t before) const {
  auto it = by_parent_hash_.find(Key(domain, parent_hash));
  if (it == by_parent_hash_.end()) return false;
  return std::any_of(it->second.begin(), it->second.end(), [&](const Node* node) {
    const IndexEntry& e = node->entry;
    return e.timestamp_unix_micros < before && e.request_id != exclude_request_id &&
           (conversation_id.empty() || e.conversation_id == conversation_id);
  });
}

const IndexEntry* ConversationIndex::FindCompactParent(std::string_view domain,
                                                       std::string_view cleaned_summary,
                                                       std::int64_t from,
                                                       std::int64_t before) const {
  for (auto it = by_age_.lower_bound(before); it != by_age_.begin();) {
    --it;
    if (it->first < from) break;
    const IndexEntry& e = it->second->entry;
    if (e.domain != domain || !e.response_text_lower) continue;
    const std::string& text = *e.response_text_lower;
    const bool match = (e.response_text_truncated && cleaned_summary.size() > text.size())
                           ? cleaned_summary.starts_with(text)
                           : std::string_view(text).starts_with(cleaned_summary);
    if (match) return &e;
  }
  return nullptr;
}

std::optional<TaskMatch> ConversationIndex::MatchTaskInvocation(std::string_view domain,
                                                                std::string_view prompt,
                                                                std::int64_t at) const {
  if (with_task_calls_.empty()) return std::nullopt;  // the common case: skip copying the prompt
  const std::string contained = LiteralBackslashNToNewline(prompt);
  std::vector<const Node*> rows;
  for (const Node* node : with_task_calls_) {
    const IndexEntry& e = node->entry;
    if (e.domain != domain || e.timestamp_unix_micros > at ||
        e.timestamp_unix_micros < at - kTaskWindowMicros) {
      continue;
    }
    const bool contains =
        std::any_of(e.task_invocations.begin(), e.task_invocations.end(),
                    [&](const TaskInvocation& t) { return t.prompt == contained; });
    if (contains) rows.push_back(node);
  }
  // The original's "newest first, limit 10", then walked oldest first; ties broken by request id
  // so the order never depends on hash-set iteration.
  auto newer = [](const Node* a, const Node* b) {
    if (a->entry.timestamp_unix_micros != b->entry.timestamp_unix_micros) {
      return a->entry.timestamp_unix_micros > b->entry.timestamp_unix_micros;
    }
    return a->entry.request_id > b->entry.request_id;
  };
  std::sort(rows.begin(), rows.end(), newer);
  if (rows.size() > kTaskCandidateRows) rows.resize(kTaskCandidateRows);
  std::optional<TaskMatch> first_equal;
  for (auto row = rows.rbegin(); row != rows.rend(); ++row) {
    const IndexEntry& e = (*row)->entry;
    const auto block = blocks_.find(e.request_id);
    for (std::size_t i = 0; i < e.task_invocations.size(); ++i) {
      if (e.task_invocations[i].prompt != prompt) continue;
      const TaskMatch match{&e, static_cast<int>(i) + 1};
      const bool claimed =
          block != blocks_.end() && i < block->second.claimed.size() && block->second.claimed[i];
      if (!claimed) return match;
      if (!first_equal) first_equal = match;
    }
  }
  return first_equal;
}

ConversationIndex::SubtaskBlock& ConversationIndex::EnsureBlock(const IndexEntry& task_request,
                                                                int min_size) {
  auto [it, inserted] = blocks_.try_emplace(task_request.request_id);
  SubtaskBlock& block = it->second;
  const auto size = static_cast<std::size_t>(
      std::max<int>(min_size, static_cast<int>(task_request.task_invocations.size())));
  if (block.claimed.size() < size) block.claimed.resize(size, false);
  return block;
}

int ConversationIndex::AssignSubtaskNumber(const IndexEntry& task_request, int invocation_index) {
  assert(invocation_index >= 1);
  const bool known = blocks_.count(task_request.request_id) != 0;
  SubtaskBlock& block = EnsureBlock(task_request, invocation_index);
  ConversationSubtasks& conv = conversation_subtasks_[task_request.conversation_id];
  if (!known) block.base = conv.max_reserved;
  conv.max_reserved =
      std::max(conv.max_reserved, block.base + static_cast<int>(block.claimed.size()));
  conv.last_used = std::max(conv.last_used, newest_timestamp_);
  block.claimed[static_cast<std::size_t>(invocation_index - 1)] = true;
  return block.base + invocation_index;
}

// Keeps the sub-task numbering state in step with entries that arrive already linked (start-up
// fill from the store, or records linked by Link() and then added).
void ConversationIndex::RecordSubtask(const IndexEntry& e) {
  const std::optional<int> n = SubtaskNumber(e.branch_id);
  if (!n || e.conversation_id.empty()) return;
  ConversationSubtasks& conv = conversation_subtasks_[e.conversation_id];
  conv.max_reserved = std::max(conv.max_reserved, *n);
  conv.last_used = std::max(conv.last_used, e.timestamp_unix_micros);
  if (!e.is_subtask || !e.parent_message_hash.empty() || e.subtask_prompt.empty()) return;
  auto task = entries_.find(e.parent_task_request_id);
  if (task == entries_.end()) return;
  const IndexEntry& task_request = task->second.entry;
  const auto& calls = task_request.task_invocations;
  const bool known = blocks_.count(task_request.request_id) != 0;
  // The first call with this prompt whose number fits the block (or, for a new block, the first
  // with this prompt): n = base + index.
  for (std::size_t i = 0; i < calls.size(); ++i) {
    if (calls[i].prompt != e.subtask_prompt) continue;
    const int index = static_cast<int>(i) + 1;
    if (known && blocks_[task_request.request_id].base + index != *n) continue;
    if (!known && *n - index < 0) continue;
    SubtaskBlock& block = EnsureBlock(task_request, index);
    if (!known) block.base = *n - index;
    block.claimed[i] = true;
    conv.max_reserved =
        std::max(conv.max_reserved, block.base + static_cast<int>(block.claimed.size()));
    return;
  }
}

}  // namespace cn::conversation
