#include "metrics/metrics.h"

#include <gtest/gtest.h>

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
  EXPECT_NE(text.find("# TYPE cn_requests_total counter\ncn_requests_total 3\n"),
            std::string::npos);
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

}  // namespace
}  // namespace cn::metrics
