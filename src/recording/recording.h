// Recording: the record path as one component (docs/architecture.md "Record path"). Given a
// Store, it owns the per-domain token totals (TokenStats), the enrich-and-link step (Recorder)
// and the RecordPipeline that calls it, and the counters they feed: on start-up it loads the
// token totals from the store and warms the conversation index (docs/conversations.md
// "Restart"), then starts the pipeline; after each committed batch it advances /token-stats and
// cn_recorded_requests_total / cn_tokens_total; its collectors put the pipeline's and the
// recorder's state on /metrics. The request path sees only Submit(), store_health() and
// token_stats(); app/ only wires them (docs/architecture.md).
//
// Thread-safety: the constructor registers the metric families and collectors, so it runs at
// start-up before the registry is rendered. Start() and Shutdown() are called by the owner
// (app/), Start() once; Shutdown() is idempotent. Submit(), store_health(), pipeline_stats() and
// token_stats() (itself thread-safe) may be called from any thread at any time. The Store and the
// Registry must outlive the Recording, and the registry's collectors refer to it: nothing may
// render the registry after it is destroyed.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "conversation/index.h"
#include "metrics/metrics.h"
#include "record/record.h"
#include "recording/pipeline.h"
#include "recording/recorder.h"
#include "recording/token_stats.h"
#include "storage/store.h"

namespace cn::recording {

struct RecordingOptions {
  PipelineOptions pipeline;          // spill_dir (<DATA_DIR>/spill), queue_capacity, ...
  conversation::IndexOptions index;  // bounds of the in-memory conversation index
  // Costs every record (Record::cost_usd): the built-in prices, or PRICING_FILE's.
  anthropic::PriceTable prices = anthropic::PriceTable::BuiltIn();
};

// What GET /health reports about the store; the server adds that recording is enabled.
struct StoreHealth {
  bool healthy = false;              // the store accepts writes (the pipeline is not degraded)
  std::string kind;                  // Store::Kind(): "sqlite" / "postgres"
  std::int64_t queued = 0;           // records waiting in memory
  std::int64_t writer_lag_ms = 0;    // age of the oldest queued record
  std::int64_t spilled_pending = 0;  // bytes waiting in spill segments
};

class Recording {
 public:
  // Registers cn_recorded_requests_total{status,model,type}, cn_tokens_total{model,kind},
  // cn_unpriced_requests_total{model}, the
  // recorder's collector (cn_conversation_*) and the pipeline's (cn_records_*, cn_record_*,
  // cn_spill_bytes, cn_store_healthy) in `registry` (required), in that order.
  Recording(Store& store, RecordingOptions options, metrics::Registry* registry);
  ~Recording();  // the pipeline's destructor: Shutdown(0ms) if still running (queue -> spill)
  Recording(const Recording&) = delete;
  Recording& operator=(const Recording&) = delete;

  // Loads the token totals from the store (a failure is logged and they start empty), warms the
  // conversation index with the recent history (logged; a failure leaves it empty), then starts
  // the pipeline. Fails only when the pipeline cannot start (spill_dir unusable).
  Status Start();

  // The request path's hand-off: O(1), never blocks (RecordPipeline::Submit).
  void Submit(Record&& r);

  // Writes what is queued to the store (or the spill file, see RecordPipeline::Shutdown), joins
  // the pipeline's threads and returns its totals (app logs them after an orderly shutdown).
  PipelineStats Shutdown(std::chrono::milliseconds deadline);

  StoreHealth store_health() const;
  PipelineStats pipeline_stats() const { return pipeline_.Stats(); }
  // GET /token-stats: loaded on Start(), advanced after each committed batch.
  TokenStats& token_stats() { return token_stats_; }

 private:
  // The pipeline's on_committed (writer thread): token totals and per-record counters.
  void Committed(std::span<const Record> records);
  std::vector<metrics::CollectedMetric> CollectPipelineMetrics() const;

  Store& store_;
  const std::string store_kind_;
  metrics::CounterFamily& recorded_;  // cn_recorded_requests_total
  metrics::CounterFamily& tokens_;    // cn_tokens_total
  metrics::CounterFamily& unpriced_;  // cn_unpriced_requests_total
  TokenStats token_stats_;
  Recorder recorder_;
  // Declared last: its writer thread calls recorder_, token_stats_ and the counters above.
  RecordPipeline pipeline_;
};

}  // namespace cn::recording
