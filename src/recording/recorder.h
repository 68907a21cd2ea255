// Recorder: the record pipeline's enrich step — Messages API enrichment followed by conversation
// linking against an in-memory ConversationIndex it owns — and the offline re-linking behind
// `claude-nexus conversations rebuild`. docs/conversations.md explains what is guaranteed.
//
// Where linking runs: on the pipeline's writer thread, once per record, after the exchange ended.
// The hot path never waits for it and never touches the database for it.
//
// What is linked: every POST /v1/messages record with a non-empty `messages` array, whatever its
// outcome (a rejected, failed or aborted request still gets its hashes and conversation, so the
// dashboard shows it in place). What can become a parent (is added to the index): only inference
// requests that completed with a 2xx answer (CanBeParent). A failed or aborted attempt has no
// response the client continued from; indexing it would make the retry that follows look like a
// second child of the same parent, i.e. a spurious branch_<time>.
//
// Ordering guarantee (docs/conversations.md "What is guaranteed under concurrency"): the pipeline
// links each batch in request-arrival order (timestamp; batches in submission order, i.e. the end
// of each exchange), and every lookup is bounded by the request's arrival time. A request sent
// after its parent's response completed is therefore linked after the parent was added, even if
// the parent's row is not committed yet. Sub-agents started in parallel by one Task response get
// subtask_N in the order of the Task calls, whatever order they finish in. Not covered: a
// follow-up taken into a batch before its parent (which then lands in the next batch), and a
// record the pipeline had to spill un-enriched (queue overflow), which is linked when replayed,
// after records that arrived later; `conversations rebuild` re-links both.
//
// Thread-safety: Warm() and Enrich()/Relink() must not run concurrently; Recording::Start() calls
// Warm() before RecordPipeline::Start() (thread creation orders it before the writer's first
// Enrich()) and Enrich() only from the writer thread. Stats() and CollectMetrics() may be called
// from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "anthropic/pricing.h"
#include "common/status.h"
#include "conversation/index.h"
#include "conversation/linker.h"
#include "metrics/metrics.h"
#include "record/record.h"
#include "storage/store.h"

namespace cn::recording {

// POST /v1/messages with at least one message (message_count is filled by EnrichRecord).
bool IsLinkable(const Record& r);
// An inference request that completed with a 2xx answer and was linked.
bool CanBeParent(const Record& r);

struct RecorderStats {
  // Records linked, by conversation::LinkKind (indexed by the enum value).
  std::array<std::uint64_t, conversation::kLinkKindCount> links_by_kind{};
  std::uint64_t index_entries = 0;
  std::uint64_t warmed = 0;  // entries loaded by Warm()
};

class Recorder {
 public:
  // `prices` costs every record it enriches (Record::cost_usd, anthropic::PriceRecord).
  explicit Recorder(conversation::IndexOptions options = {},
                    anthropic::PriceTable prices = anthropic::PriceTable::BuiltIn());
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  // Fills the index from `store` with the newest parent candidates (CanBeParent) of `domain`
  // (empty: all) in [until - options.max_age_micros, until), at most options.max_entries of them
  // and about options.max_payload_bytes, added oldest first. Returns how many were added.
  StatusOr<std::size_t> Warm(Store& store, std::int64_t until_unix_micros,
                             std::string_view domain = {});

  // The pipeline's enrich callback: anthropic::EnrichRecord and PriceRecord, then Relink, on one
  // parse of the request body.
  void Enrich(Record& r);

  // Links an enriched record (IsLinkable ones; the request body is parsed once) and adds it to the
  // index when CanBeParent. nullopt when it was not linked (fields untouched). A record that comes
  // out as the root of a new conversation gets `root_conversation_id` when that is non-empty
  // instead of a fresh UUID (the rebuild keeps stored ids).
  std::optional<conversation::LinkKind> Relink(Record& r,
                                               std::string_view root_conversation_id = {});

  RecorderStats Stats() const;
  // cn_conversation_links_total{kind} and cn_conversation_index_entries.
  std::vector<metrics::CollectedMetric> CollectMetrics() const;

  const conversation::ConversationIndex& index() const { return index_; }

 private:
  // After LinkRecord gave `kind` (nullopt: not linked): the root's conversation id, the counters,
  // and the index entry if `r` can be a parent. Returns `kind`.
  std::optional<conversation::LinkKind> Linked(Record& r,
                                               std::optional<conversation::LinkKind> kind,
                                               std::string_view root_conversation_id);

  conversation::ConversationIndex index_;
  const anthropic::PriceTable prices_;
  std::array<std::atomic<std::uint64_t>, conversation::kLinkKindCount> links_by_kind_{};
  std::atomic<std::uint64_t> index_entries_{0};
  std::atomic<std::uint64_t> warmed_{0};
};

// ---- conversations rebuild
// -----------------------------------------------------------------------

struct RebuildOptions {
  std::string domain;                  // only this domain; empty: all
  std::int64_t since_unix_micros = 0;  // re-link requests from here on; earlier ones stay as
                                       // stored and serve as parents (Warm before `since`)
  bool dry_run = false;                // count what would change, write nothing
  std::size_t page_size = 100;         // rows per read (full request bodies: keep it small)
  conversation::IndexOptions index;
};

struct RebuildReport {
  std::int64_t warmed = 0;   // stored requests before `since` loaded as possible parents
  std::int64_t scanned = 0;  // requests read from `since` on
  std::int64_t linked = 0;   // of those, re-linked (POST /v1/messages with messages)
  std::int64_t changed = 0;  // of those, whose stored link fields differ (written unless dry run)
  std::array<std::int64_t, conversation::kLinkKindCount>
      by_kind{};  // linked, by conversation::LinkKind
};

// Re-links the stored history in (timestamp, request_id) order with a fresh index, exactly as the
// live recorder would have (same rules), and writes the link fields that changed, one transaction
// per page. A request that is still the root of a conversation keeps its stored conversation_id,
// so a second rebuild changes nothing. Run it while no proxy writes to the same store (a running
// proxy keeps linking against its own index, which a rebuild does not update: restart it after).
// `progress` (may be empty) is called after each page.
StatusOr<RebuildReport> RebuildConversations(
    Store& store, const RebuildOptions& options,
    const std::function<void(const RebuildReport&)>& progress = {});

}  // namespace cn::recording
