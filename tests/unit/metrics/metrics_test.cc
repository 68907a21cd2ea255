#include "metrics/metrics.h"

#include <gtest/gtest.h>

#include "metrics/token_stats.h"

namespace cn::metrics {
namespace {

TEST(MetricsTest, RendersCountersGaugesFamiliesAndHistograms) {
  Registry r;
  auto& c = r.AddCounter("cn_requests_total", "Requests.");
  auto& g = r.AddGauge("cn_open_streams", "Open streams.");
  auto& f = r.AddCounterFamily("cn_responses_total", "By status.", {"status"});
  auto& h = r.AddHistogram("cn_latency_seconds", "Latency.", {0.001, 0.01});
  c.Inc(3);
  g.Set(2);
  f.With({"200"}).Inc();
  f.With({"a\"b"}).Inc(2);
  h.ObserveMicros(500);
  h.ObserveMicros(5000);
  h.ObserveMicros(50000);
  std::string text = r.Render();
  EXPECT_NE(text.find("# TYPE cn_requests_total counter\ncn_requests_total 3\n"), std::string::npos);
  EXPECT_NE(text.find("cn_open_streams 2\n"), std::string::npos);
  EXPECT_NE(text.find("cn_responses_total{status=\"200\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("cn_responses_total{status=\"a\\\"b\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("cn_latency_seconds_bucket{le=\"0.001\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("cn_latency_seconds_bucket{le=\"0.01\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("cn_latency_seconds_bucket{le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("cn_latency_seconds_count 3\n"), std::string::npos);
  EXPECT_NE(text.find("cn_latency_seconds_sum 0.0555\n"), std::string::npos);
}

TEST(MetricsTest, CollectorsAreRendered) {
  Registry r;
  r.AddCollector([] {
    return std::vector<CollectedMetric>{{"cn_queue_depth", "gauge", "Queued.", {{"", 7}}}};
  });
  EXPECT_NE(r.Render().find("# TYPE cn_queue_depth gauge\ncn_queue_depth 7\n"), std::string::npos);
}

TEST(TokenStatsTest, LoadsThenAddsCommittedRecords) {
  TokenStats ts;
  DomainStats d;
  d.domain = "a.example";
  d.input_tokens = 10;
  d.output_tokens = 5;
  d.request_count = 1;
  d.inference_count = 1;
  ts.Load({d});
  Record r;
  r.domain = "a.example";
  r.usage.input_tokens = 1;
  r.usage.output_tokens = 2;
  r.request_type = "query_evaluation";
  r.tool_call_count = 3;
  r.timestamp_unix_micros = 5'000'000;
  Record r2 = r;
  r2.domain = "b\"x";
  std::vector<Record> rs{r, r2};
  ts.AddCommitted(rs);
  auto a = ts.ForDomain("a.example");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->input_tokens, 11);
  EXPECT_EQ(a->output_tokens, 7);
  EXPECT_EQ(a->request_count, 2);
  EXPECT_EQ(a->query_evaluation_count, 1);
  EXPECT_EQ(a->inference_count, 1);
  EXPECT_EQ(a->tool_call_count, 3);
  EXPECT_EQ(ts.ToJson(std::string("nope")), "null");
  std::string all = ts.ToJson(std::nullopt);
  EXPECT_NE(all.find("\"a.example\":{\"inputTokens\":11,\"outputTokens\":7,\"totalTokens\":18"), std::string::npos);
  EXPECT_NE(all.find("\"b\\\"x\":"), std::string::npos);
  EXPECT_NE(all.find("\"lastUpdated\":5000"), std::string::npos);
}

}  // namespace
}  // namespace cn::metrics
