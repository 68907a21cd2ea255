#include "recording/recorder.h"

#include <algorithm>
#include <boost/json/monotonic_resource.hpp>
#include <utility>

#include "anthropic/enrich.h"
#include "anthropic/message.h"

namespace cn::recording {
namespace {

constexpr std::size_t kWarmPageSize = 500;
constexpr std::size_t kApproxEntryOverhead = 256;

// What Warm() counts against IndexOptions::max_payload_bytes while collecting, before the index
// applies its own exact accounting.
std::size_t ApproxCost(const conversation::IndexEntry& e, const conversation::IndexOptions& o) {
  std::size_t cost = kApproxEntryOverhead + e.subtask_prompt.size();
  if (e.response_text_lower)
    cost += std::min(e.response_text_lower->size(), o.max_response_text_bytes);
  for (const auto& t : e.task_invocations) cost += t.prompt.size() + t.description.size();
  return cost;
}

// The columns a rebuild may change.
struct Links {
  std::string current_message_hash, parent_message_hash, system_hash, conversation_id, branch_id,
      parent_request_id, parent_task_request_id;
  bool is_subtask = false;
  bool operator==(const Links&) const = default;
};

Links LinksOf(const Record& r) {
  return {r.link.current_message_hash,   r.link.parent_message_hash, r.link.system_hash,
          r.link.conversation_id,        r.link.branch_id,           r.link.parent_request_id,
          r.link.parent_task_request_id, r.link.is_subtask};
}

// A Record carrying only what Store::UpdateLinks reads.
Record LinkUpdate(const Record& r) {
  Record u;
  u.request_id = r.request_id;
  u.link.current_message_hash = r.link.current_message_hash;
  u.link.parent_message_hash = r.link.parent_message_hash;
  u.link.system_hash = r.link.system_hash;
  u.link.conversation_id = r.link.conversation_id;
  u.link.branch_id = r.link.branch_id;
  u.link.parent_request_id = r.link.parent_request_id;
  u.link.parent_task_request_id = r.link.parent_task_request_id;
  u.link.is_subtask = r.link.is_subtask;
  return u;
}

}  // namespace

bool IsLinkable(const Record& r) {
  return r.method == "POST" && r.path == "/v1/messages" && r.message_count > 0;
}

bool CanBeParent(const Record& r) {
  return r.request_type == "inference" && r.outcome == Outcome::kCompleted &&
         r.response_status >= 200 && r.response_status < 300 &&
         !r.link.current_message_hash.empty();
}

Recorder::Recorder(conversation::IndexOptions options, anthropic::PriceTable prices)
    : index_(options), prices_(std::move(prices)) {}

StatusOr<std::size_t> Recorder::Warm(Store& store, std::int64_t until_unix_micros,
                                     std::string_view domain) {
  const conversation::IndexOptions& o = index_.options();
  LinkingScan scan;
  scan.domain = std::string(domain);
  scan.since_unix_micros = until_unix_micros - o.max_age_micros;
  scan.until_unix_micros = until_unix_micros;
  scan.newest_first = true;
  scan.inference_only = true;
  scan.limit = kWarmPageSize;
  // Read newest first so the bound stops the read, then add oldest first: the index expects a
  // Task request before its sub-agents, and evicts from the old end.
  std::vector<conversation::IndexEntry> entries;
  std::size_t payload = 0;
  for (bool full = false; !full;) {
    StatusOr<std::vector<Record>> page = store.LoadForLinking(scan);
    if (!page.ok()) return page.status();
    for (const Record& r : *page) {
      if (!CanBeParent(r)) continue;
      entries.push_back(conversation::IndexEntryFromRecord(r));
      payload += ApproxCost(entries.back(), o);
      if (entries.size() >= o.max_entries || payload >= o.max_payload_bytes) {
        full = true;
        break;
      }
    }
    if (page->size() < scan.limit) break;
    scan.after.emplace(page->back().timestamp_unix_micros, page->back().request_id);
  }
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) index_.Add(std::move(*it));
  warmed_.fetch_add(entries.size(), std::memory_order_relaxed);
  index_entries_.store(index_.size(), std::memory_order_relaxed);
  return entries.size();
}

void Recorder::Enrich(Record& r) {
  std::optional<conversation::LinkKind> kind;
  {
    // One parse of the request body serves both enrichment and linking (it was most of the cost of
    // each). Claude Code bodies reach hundreds of KB; the tree dies before the index is touched.
    boost::json::monotonic_resource arena;
    std::optional<boost::json::value> body;
    if (!r.request_body.empty()) {
      body = anthropic::ParseJson(r.request_body, /*lenient_utf8=*/true, &arena);
    }
    anthropic::EnrichRecord(r, body ? &*body : nullptr);
    anthropic::PriceRecord(r, prices_);
    if (body && IsLinkable(r)) kind = conversation::LinkRecord(r, *body, index_);
  }
  Linked(r, kind, {});
}

std::optional<conversation::LinkKind> Recorder::Relink(Record& r,
                                                       std::string_view root_conversation_id) {
  if (!IsLinkable(r)) return std::nullopt;
  std::optional<conversation::LinkKind> kind;
  {
    boost::json::monotonic_resource arena;
    const std::optional<boost::json::value> body =
        anthropic::ParseJson(r.request_body, /*lenient_utf8=*/true, &arena);
    if (!body) return std::nullopt;
    kind = conversation::LinkRecord(r, *body, index_);
  }
  return Linked(r, kind, root_conversation_id);
}

std::optional<conversation::LinkKind> Recorder::Linked(Record& r,
                                                       std::optional<conversation::LinkKind> kind,
                                                       std::string_view root_conversation_id) {
  if (!kind) return std::nullopt;
  if (!root_conversation_id.empty() && r.link.parent_request_id.empty())
    r.link.conversation_id = root_conversation_id;
  links_by_kind_[static_cast<std::size_t>(*kind)].fetch_add(1, std::memory_order_relaxed);
  if (CanBeParent(r)) {
    index_.Add(conversation::IndexEntryFromRecord(r));
    index_entries_.store(index_.size(), std::memory_order_relaxed);
  }
  return kind;
}

RecorderStats Recorder::Stats() const {
  RecorderStats s;
  for (std::size_t i = 0; i < links_by_kind_.size(); ++i) {
    s.links_by_kind[i] = links_by_kind_[i].load(std::memory_order_relaxed);
  }
  s.index_entries = index_entries_.load(std::memory_order_relaxed);
  s.warmed = warmed_.load(std::memory_order_relaxed);
  return s;
}

std::vector<metrics::CollectedMetric> Recorder::CollectMetrics() const {
  const RecorderStats s = Stats();
  metrics::CollectedMetric links{
      "cn_conversation_links_total",
      "counter",
      "Recorded requests linked into conversations, by how they were linked.",
      {}};
  for (std::size_t i = 0; i < s.links_by_kind.size(); ++i) {
    const char* kind = conversation::LinkKindName(static_cast<conversation::LinkKind>(i));
    links.samples.emplace_back(std::string("kind=\"") + kind + "\"",
                               static_cast<double>(s.links_by_kind[i]));
  }
  return {std::move(links),
          {"cn_conversation_index_entries",
           "gauge",
           "Requests held by the in-memory conversation index.",
           {{"", static_cast<double>(s.index_entries)}}}};
}

StatusOr<RebuildReport> RebuildConversations(
    Store& store, const RebuildOptions& options,
    const std::function<void(const RebuildReport&)>& progress) {
  RebuildReport report;
  Recorder recorder(options.index);
  if (options.since_unix_micros > 0) {
    StatusOr<std::size_t> warmed = recorder.Warm(store, options.since_unix_micros, options.domain);
    if (!warmed.ok()) return warmed.status();
    report.warmed = static_cast<std::int64_t>(*warmed);
  }
  LinkingScan scan;
  scan.domain = options.domain;
  scan.since_unix_micros = options.since_unix_micros;
  scan.all_request_bodies = true;
  scan.limit = std::max<std::size_t>(options.page_size, 1);
  for (;;) {
    StatusOr<std::vector<Record>> page = store.LoadForLinking(scan);
    if (!page.ok()) return page.status();
    std::vector<Record> updates;
    for (Record& r : *page) {
      ++report.scanned;
      const Links before = LinksOf(r);
      // A row that was a root keeps its conversation id if it still is one: a rebuild is then
      // idempotent, and ids the user has seen survive it.
      const std::string_view root_id = before.parent_request_id.empty()
                                           ? std::string_view(before.conversation_id)
                                           : std::string_view();
      const std::optional<conversation::LinkKind> kind = recorder.Relink(r, root_id);
      if (!kind) continue;
      ++report.linked;
      ++report.by_kind[static_cast<std::size_t>(*kind)];
      if (LinksOf(r) != before) {
        ++report.changed;
        updates.push_back(LinkUpdate(r));
      }
    }
    if (!options.dry_run && !updates.empty()) {
      if (Status s = store.UpdateLinks(updates); !s.ok()) return s;
    }
    if (progress) progress(report);
    if (page->size() < scan.limit) break;
    scan.after.emplace(page->back().timestamp_unix_micros, page->back().request_id);
  }
  return report;
}

}  // namespace cn::recording
