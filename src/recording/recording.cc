#include "recording/recording.h"

#include <string>
#include <utility>
#include <vector>

#include "common/log.h"
#include "common/time.h"

namespace cn::recording {

Recording::Recording(Store& store, RecordingOptions options, metrics::Registry* registry)
    : store_(store),
      store_kind_(store.Kind()),
      recorded_(registry->AddCounterFamily("cn_recorded_requests_total",
                                           "Recorded exchanges by status, model and request type.",
                                           {"status", "model", "type"})),
      tokens_(registry->AddCounterFamily("cn_tokens_total", "Tokens in recorded exchanges.",
                                         {"model", "kind"})),
      unpriced_(registry->AddCounterFamily(
          "cn_unpriced_requests_total",
          "Recorded exchanges with token usage whose model has no price (PRICING_FILE).",
          {"model"})),
      recorder_(options.index, std::move(options.prices)),
      pipeline_(
          store, std::move(options.pipeline), [this](Record& r) { recorder_.Enrich(r); },
          [this](std::span<const Record> records) { Committed(records); }) {
  registry->AddCollector([this] { return recorder_.CollectMetrics(); });
  registry->AddCollector([this] { return CollectPipelineMetrics(); });
}

Recording::~Recording() = default;

Status Recording::Start() {
  if (auto stats = store_.LoadDomainStats(); stats.ok()) {
    token_stats_.Load(*stats);
  } else {
    log::Warn("could not load token statistics", {{"error", stats.status().message()}});
  }
  // Conversation linking runs on the pipeline's writer against this index; fill it with the
  // recent history first so follow-ups of requests from before the restart still link
  // (docs/conversations.md "Restart"). Warm() runs before the writer thread exists.
  const std::int64_t warm_start = NowUnixMicros();
  if (auto warmed = recorder_.Warm(store_, warm_start + 1); warmed.ok()) {
    log::Info("conversation index warmed", {{"requests", static_cast<std::uint64_t>(*warmed)},
                                            {"ms", (NowUnixMicros() - warm_start) / 1000}});
  } else {
    log::Warn(
        "conversation index starts empty; follow-ups of earlier requests start new conversations",
        {{"error", warmed.status().message()}});
  }
  return pipeline_.Start();
}

void Recording::Submit(Record&& r) { pipeline_.Submit(std::move(r)); }

PipelineStats Recording::Shutdown(std::chrono::milliseconds deadline) {
  pipeline_.Shutdown(deadline);
  return pipeline_.Stats();
}

StoreHealth Recording::store_health() const {
  const PipelineStats s = pipeline_.Stats();
  StoreHealth h;
  h.healthy = s.store_healthy;
  h.kind = store_kind_;
  h.queued = static_cast<std::int64_t>(s.queued);
  h.writer_lag_ms = s.oldest_queued_age.count();
  h.spilled_pending = static_cast<std::int64_t>(s.spill_bytes);
  return h;
}

void Recording::Committed(std::span<const Record> records) {
  token_stats_.AddCommitted(records);
  for (const Record& r : records) {
    recorded_.With({std::to_string(r.response_status), r.model, r.request_type}).Inc();
    tokens_.With({r.model, "input"}).Inc(static_cast<std::uint64_t>(r.usage.input_tokens));
    tokens_.With({r.model, "output"}).Inc(static_cast<std::uint64_t>(r.usage.output_tokens));
    tokens_.With({r.model, "cache_creation"})
        .Inc(static_cast<std::uint64_t>(r.usage.cache_creation_input_tokens));
    tokens_.With({r.model, "cache_read"})
        .Inc(static_cast<std::uint64_t>(r.usage.cache_read_input_tokens));
    if (!r.cost_usd && !r.usage_json.empty()) unpriced_.With({r.model}).Inc();
  }
}

std::vector<metrics::CollectedMetric> Recording::CollectPipelineMetrics() const {
  const PipelineStats s = pipeline_.Stats();
  auto g = [](const char* name, const char* help, double v, const char* type = "gauge") {
    return metrics::CollectedMetric{name, type, help, {{"", v}}};
  };
  return {
      g("cn_records_submitted_total", "Records handed to the pipeline.", double(s.submitted),
        "counter"),
      g("cn_records_written_total", "Records committed to the store.", double(s.written),
        "counter"),
      g("cn_records_spilled_total", "Records written to the spill file.", double(s.spilled),
        "counter"),
      g("cn_records_replayed_total", "Spilled records replayed into the store.", double(s.replayed),
        "counter"),
      g("cn_records_failed_total", "Records lost (spill file unwritable).", double(s.failed),
        "counter"),
      g("cn_record_queue_depth", "Records waiting in memory.", double(s.queued)),
      g("cn_record_writer_lag_seconds", "Age of the oldest queued record.",
        double(s.oldest_queued_age.count()) / 1000.0),
      g("cn_spill_bytes", "Bytes waiting in spill segments.", double(s.spill_bytes)),
      g("cn_store_healthy", "1 when the store accepts writes.", s.store_healthy ? 1.0 : 0.0),
  };
}

}  // namespace cn::recording
