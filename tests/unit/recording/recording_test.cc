// recording::Recording against the real embedded store: Start loads /token-stats and warms the
// conversation index from what is stored, a submitted record reaches SQLite linked to its stored
// parent, and the counters it feeds (/token-stats, cn_recorded_requests_total, cn_tokens_total,
// the pipeline's collector) say so; a store outage shows in store_health() and on /metrics.
#include "recording/recording.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "common/ids.h"
#include "fakes/faulty_store.h"
#include "metrics/metrics.h"
#include "storage/sqlite/sqlite_store.h"
#include "test_util.h"

namespace cn::recording {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;

constexpr std::int64_t kT0 = 1'751'207'809'000'000;  // 2025-06-29T14:36:49Z
constexpr std::int64_t kSecond = 1'000'000;
constexpr std::string_view kDomain = "localhost:3000";
constexpr std::string_view kModel = "claude-opus-4-20250514";

// A Messages request with `turns` alternating messages and Claude Code's two-part system prompt
// (ClassifyRequest calls that "inference").
std::string RequestBody(int turns) {
  json::array messages;
  for (int i = 0; i < turns; ++i) {
    messages.push_back(json::object{{"role", i % 2 == 0 ? "user" : "assistant"},
                                    {"content", "turn " + std::to_string(i)}});
  }
  json::array system{
      json::object{{"type", "text"},
                   {"text", "You are Claude Code, Anthropic's official CLI for Claude."}},
      json::object{{"type", "text"}, {"text", "Project prompt."}}};
  return json::serialize(json::object{{"model", kModel},
                                      {"max_tokens", 1024},
                                      {"system", std::move(system)},
                                      {"messages", std::move(messages)}});
}

std::string ResponseBody(std::string_view text, int input, int output, int cache_creation,
                         int cache_read) {
  return json::serialize(
      json::object{{"type", "message"},
                   {"role", "assistant"},
                   {"model", kModel},
                   {"content", json::array{json::object{{"type", "text"}, {"text", text}}}},
                   {"usage", json::object{{"input_tokens", input},
                                          {"output_tokens", output},
                                          {"cache_creation_input_tokens", cache_creation},
                                          {"cache_read_input_tokens", cache_read}}}});
}

// A raw record as the hot path submits it (not enriched); the longer the conversation, the later
// it arrived.
Record Exchange(int turns, std::string response) {
  Record r;
  r.request_id = NewUuidV4();
  r.domain = std::string(kDomain);
  r.timestamp_unix_micros = kT0 + turns * kSecond;
  r.method = "POST";
  r.path = "/v1/messages";
  r.request_body = RequestBody(turns);
  r.response_status = 200;
  r.response_body = std::move(response);
  r.duration_micros = 1000;
  r.upstream_attempts = 1;
  return r;
}

class RecordingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = storage::SqliteStore::Open({.path = (dir_.path() / "claude-nexus.db").string()});
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    sqlite_ = std::move(opened).value();
    ASSERT_TRUE(sqlite_->Migrate().ok());
  }

  RecordingOptions Options() const {
    RecordingOptions o;
    o.pipeline.spill_dir = dir_.path() / "spill";
    o.pipeline.flush_interval = milliseconds(5);
    o.pipeline.retry_min = milliseconds(5);
    o.pipeline.retry_max = milliseconds(40);
    o.pipeline.writer_nice = 0;
    // The fixed 2025 timestamps are inside the warm-up window whenever the test runs.
    o.index.max_age_micros = std::numeric_limits<std::int64_t>::max() / 2;
    return o;
  }

  // A record from an earlier run of the proxy: enriched and linked as the recorder would, and
  // written straight to the store.
  Record StoreEarlierExchange() {
    Recorder recorder;
    Record parent = Exchange(1, ResponseBody("turn 1", 100, 20, 0, 0));
    recorder.Enrich(parent);
    parent.enriched = true;
    EXPECT_TRUE(sqlite_->WriteBatch(std::span<const Record>(&parent, 1)).ok());
    return parent;
  }

  test::ScratchDir dir_;
  std::unique_ptr<storage::SqliteStore> sqlite_;
};

TEST_F(RecordingTest, StartSubmitShutdownRecordsCountsAndLinks) {
  const Record parent = StoreEarlierExchange();
  ASSERT_FALSE(parent.link.conversation_id.empty());

  metrics::Registry registry;
  Recording recording(*sqlite_, Options(), &registry);
  ASSERT_TRUE(recording.Start().ok());
  // Start loaded the stored totals.
  std::optional<DomainStats> loaded = recording.token_stats().ForDomain(std::string(kDomain));
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->request_count, 1);
  EXPECT_EQ(loaded->input_tokens, 100);

  Record follow_up = Exchange(3, ResponseBody("turn 3", 10, 2, 3, 4));
  const std::string id = follow_up.request_id;
  recording.Submit(std::move(follow_up));
  const PipelineStats drained = recording.Shutdown(milliseconds(5000));
  EXPECT_EQ(drained.submitted, 1u);
  EXPECT_EQ(drained.written, 1u);
  EXPECT_EQ(drained.spilled, 0u);
  EXPECT_EQ(drained.failed, 0u);

  // In the store, enriched, and linked to the parent the warm-up loaded.
  StatusOr<std::optional<Record>> got = sqlite_->GetRecord(id);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_TRUE(got->has_value());
  const Record& stored = **got;
  EXPECT_EQ(stored.model, kModel);
  EXPECT_EQ(stored.request_type, "inference");
  EXPECT_EQ(stored.usage.input_tokens, 10);
  EXPECT_EQ(stored.link.conversation_id, parent.link.conversation_id);
  EXPECT_EQ(stored.link.parent_request_id, parent.request_id);
  // Priced once on the writer (claude-opus-4: $15 in, $75 out, $18.75 5-minute writes, $1.50
  // reads per million tokens) and stored.
  ASSERT_TRUE(stored.cost_usd.has_value());
  EXPECT_NEAR(*stored.cost_usd, (10 * 15.0 + 2 * 75.0 + 3 * 18.75 + 4 * 1.5) / 1e6, 1e-12);

  // /token-stats: the stored request plus the new one.
  std::optional<DomainStats> after = recording.token_stats().ForDomain(std::string(kDomain));
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->request_count, 2);
  EXPECT_EQ(after->inference_count, 2);
  EXPECT_EQ(after->input_tokens, 110);
  EXPECT_EQ(after->output_tokens, 22);

  // /metrics: the per-record counters count what this process committed (not the stored one).
  const std::string text = registry.Render();
  const std::string model(kModel);
  EXPECT_NE(text.find("# TYPE cn_recorded_requests_total counter"), std::string::npos) << text;
  EXPECT_NE(text.find("cn_recorded_requests_total{status=\"200\",model=\"" + model +
                      "\",type=\"inference\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("cn_tokens_total{model=\"" + model + "\",kind=\"input\"} 10\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("cn_tokens_total{model=\"" + model + "\",kind=\"output\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("cn_tokens_total{model=\"" + model + "\",kind=\"cache_creation\"} 3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("cn_tokens_total{model=\"" + model + "\",kind=\"cache_read\"} 4\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("cn_records_submitted_total 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("cn_records_written_total 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("cn_records_spilled_total 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("cn_record_queue_depth 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("cn_store_healthy 1\n"), std::string::npos) << text;
  // The recorder's collector: the follow-up was linked to its parent, which was warmed.
  EXPECT_NE(text.find("cn_conversation_links_total{kind=\"parent\"} 1\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("cn_conversation_index_entries 2\n"), std::string::npos) << text;

  // Shutdown is idempotent and reports the same totals.
  EXPECT_EQ(recording.Shutdown(milliseconds(100)).written, 1u);
}

TEST_F(RecordingTest, StoreOutageShowsInStoreHealthAndMetricsThenReplays) {
  testing::FaultyStore store(*sqlite_);
  metrics::Registry registry;
  Recording recording(store, Options(), &registry);
  ASSERT_TRUE(recording.Start().ok());
  StoreHealth up = recording.store_health();
  EXPECT_TRUE(up.healthy);
  EXPECT_EQ(up.kind, "sqlite");
  EXPECT_EQ(up.spilled_pending, 0);

  store.SetDown(true);
  Record r = Exchange(1, ResponseBody("turn 1", 7, 1, 0, 0));
  const std::string id = r.request_id;
  recording.Submit(std::move(r));
  ASSERT_TRUE(test::WaitFor([&] { return recording.pipeline_stats().spilled == 1; }));
  StoreHealth down = recording.store_health();
  EXPECT_FALSE(down.healthy);
  EXPECT_GT(down.spilled_pending, 0);
  std::string text = registry.Render();
  EXPECT_NE(text.find("cn_store_healthy 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("cn_records_spilled_total 1\n"), std::string::npos) << text;
  // Not committed: neither /token-stats nor the per-record counters have it yet.
  EXPECT_FALSE(recording.token_stats().ForDomain(std::string(kDomain)).has_value());
  EXPECT_EQ(text.find("cn_tokens_total{"), std::string::npos) << text;

  store.SetDown(false);
  ASSERT_TRUE(test::WaitFor([&] {
    const PipelineStats s = recording.pipeline_stats();
    return s.replayed == 1 && s.spill_segments == 0;
  }));
  EXPECT_TRUE(recording.store_health().healthy);
  recording.Shutdown(milliseconds(5000));

  StatusOr<std::optional<Record>> got = sqlite_->GetRecord(id);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(got->has_value());
  std::optional<DomainStats> stats = recording.token_stats().ForDomain(std::string(kDomain));
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(stats->request_count, 1);
  EXPECT_EQ(stats->input_tokens, 7);
  text = registry.Render();
  EXPECT_NE(text.find("cn_tokens_total{model=\"" + std::string(kModel) + "\",kind=\"input\"} 7\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("cn_records_replayed_total 1\n"), std::string::npos) << text;
}

TEST_F(RecordingTest, StartFailsWhenTheSpillDirectoryIsUnusable) {
  {
    std::ofstream file(dir_.path() / "not-a-dir");
    file << "x";
  }
  RecordingOptions o = Options();
  o.pipeline.spill_dir = dir_.path() / "not-a-dir" / "spill";
  metrics::Registry registry;
  Recording recording(*sqlite_, o, &registry);
  EXPECT_FALSE(recording.Start().ok());
}

TEST_F(RecordingTest, UnpricedModelsAreCountedAndPricingFileEntriesPriceThem) {
  auto with_model = [](std::string model) {
    Record r = Exchange(1, ResponseBody("hi", 10, 2, 0, 0));
    json::object body = json::parse(r.request_body).as_object();
    body["model"] = model;
    r.request_body = json::serialize(body);
    return r;
  };
  {
    metrics::Registry registry;
    Recording recording(*sqlite_, Options(), &registry);
    ASSERT_TRUE(recording.Start().ok());
    recording.Submit(with_model("acme-large-1"));
    recording.Submit(with_model(std::string(kModel)));
    EXPECT_EQ(recording.Shutdown(milliseconds(5000)).written, 2u);
    const std::string text = registry.Render();
    EXPECT_NE(text.find("cn_unpriced_requests_total{model=\"acme-large-1\"} 1\n"),
              std::string::npos)
        << text;
    EXPECT_EQ(text.find("cn_unpriced_requests_total{model=\"" + std::string(kModel)),
              std::string::npos)
        << text;
  }
  {
    RecordingOptions o = Options();
    auto prices = anthropic::PriceTable::FromJson(
        R"({"models":{"acme-large":{"input":1,"output":2}}})", o.prices);
    ASSERT_TRUE(prices.ok()) << prices.status().message();
    o.prices = std::move(prices).value();
    metrics::Registry registry;
    Recording recording(*sqlite_, std::move(o), &registry);
    ASSERT_TRUE(recording.Start().ok());
    recording.Submit(with_model("acme-large-1"));
    EXPECT_EQ(recording.Shutdown(milliseconds(5000)).written, 1u);
    EXPECT_EQ(registry.Render().find("cn_unpriced_requests_total{"), std::string::npos);
  }
}

}  // namespace
}  // namespace cn::recording
