#include "anthropic/ratelimit.h"

#include <gtest/gtest.h>

namespace cn::anthropic {
namespace {

// As captured from a Claude Max response (tests/data and docs/api.md show the same set).
const Headers kUnified = {
    {"Anthropic-Ratelimit-Unified-Status", "allowed_warning"},
    {"anthropic-ratelimit-unified-reset", "1750420800"},
    {"anthropic-ratelimit-unified-representative-claim", "five_hour"},
    {"anthropic-ratelimit-unified-fallback", "available"},
    {"anthropic-ratelimit-unified-fallback-percentage", "0.5"},
    {"anthropic-ratelimit-unified-overage-status", "rejected"},
    {"anthropic-ratelimit-unified-overage-disabled-reason", "org_level_disabled"},
    {"anthropic-ratelimit-unified-5h-status", "allowed_warning"},
    {"anthropic-ratelimit-unified-5h-utilization", "0.91"},
    {"anthropic-ratelimit-unified-5h-reset", "1750420800"},
    {"anthropic-ratelimit-unified-5h-surpassed-threshold", "0.9"},
    {"anthropic-ratelimit-unified-7d-status", "allowed"},
    {"anthropic-ratelimit-unified-7d-utilization", "0.33"},
    {"anthropic-ratelimit-unified-7d-reset", "1750896000"},
    {"anthropic-ratelimit-unified-7d_opus-utilization", "0.05"},
    {"anthropic-ratelimit-unified-brand-new-thing", "42"},
    {"content-type", "text/event-stream"},
};

TEST(RateLimitTest, ParsesEveryUnifiedHeader) {
  const RateLimitState st = ParseRateLimitHeaders(kUnified);
  EXPECT_EQ(st.status, "allowed_warning");
  EXPECT_EQ(st.resets_at, 1750420800);
  EXPECT_EQ(st.representative_claim, "five_hour");
  EXPECT_EQ(st.fallback, "available");
  EXPECT_DOUBLE_EQ(*st.fallback_percentage, 0.5);
  EXPECT_EQ(st.overage_status, "rejected");
  EXPECT_EQ(st.overage_disabled_reason, "org_level_disabled");
  ASSERT_EQ(st.windows.size(), 3u);
  const RateLimitWindow& h5 = st.windows.at("5h");
  EXPECT_EQ(h5.status, "allowed_warning");
  EXPECT_DOUBLE_EQ(*h5.utilization, 0.91);
  EXPECT_EQ(h5.resets_at, 1750420800);
  EXPECT_DOUBLE_EQ(*h5.surpassed_threshold, 0.9);
  EXPECT_EQ(st.windows.at("7d").status, "allowed");
  EXPECT_DOUBLE_EQ(*st.windows.at("7d").utilization, 0.33);
  EXPECT_EQ(st.windows.at("7d").resets_at, 1750896000);
  EXPECT_DOUBLE_EQ(*st.windows.at("7d_opus").utilization, 0.05);
  // Unknown names are kept, not dropped.
  ASSERT_EQ(st.unknown.size(), 1u);
  EXPECT_EQ(st.unknown.at("anthropic-ratelimit-unified-brand-new-thing"), "42");
  EXPECT_TRUE(st.buckets.empty());
}

TEST(RateLimitTest, ParsesTheOriginalsCapturedHeaderSet) {
  // What tests/fixtures/captured recorded in 2025 (three headers only).
  const RateLimitState st = ParseRateLimitHeaders({
      {"anthropic-ratelimit-unified-fallback-percentage", "0.5"},
      {"anthropic-ratelimit-unified-reset", "1750420800"},
      {"anthropic-ratelimit-unified-status", "allowed"},
  });
  EXPECT_EQ(st.status, "allowed");
  EXPECT_EQ(st.resets_at, 1750420800);
  EXPECT_TRUE(st.windows.empty());
  EXPECT_TRUE(st.unknown.empty());
  EXPECT_FALSE(st.empty());
}

TEST(RateLimitTest, ParsesApiKeyBuckets) {
  const RateLimitState st = ParseRateLimitHeaders({
      {"anthropic-ratelimit-requests-limit", "4000"},
      {"anthropic-ratelimit-requests-remaining", "3999"},
      {"anthropic-ratelimit-requests-reset", "2025-06-20T12:00:01Z"},
      {"anthropic-ratelimit-tokens-limit", "2000000"},
      {"anthropic-ratelimit-tokens-remaining", "1990000"},
      {"anthropic-ratelimit-input-tokens-limit", "1600000"},
      {"anthropic-ratelimit-input-tokens-remaining", "1591000"},
      {"anthropic-ratelimit-input-tokens-reset", "2025-06-20T12:00:00Z"},
      {"anthropic-ratelimit-output-tokens-limit", "400000"},
      {"anthropic-ratelimit-output-tokens-remaining", "399000"},
  });
  ASSERT_EQ(st.buckets.size(), 4u);
  EXPECT_EQ(st.buckets.at("requests").limit, 4000);
  EXPECT_EQ(st.buckets.at("requests").remaining, 3999);
  EXPECT_EQ(st.buckets.at("requests").resets_at, 1750420801);
  EXPECT_EQ(st.buckets.at("input-tokens").resets_at, 1750420800);
  EXPECT_EQ(st.buckets.at("output-tokens").remaining, 399000);
  EXPECT_FALSE(st.buckets.at("tokens").resets_at.has_value());
  EXPECT_TRUE(st.status.empty());
}

TEST(RateLimitTest, MalformedValuesAreKeptVerbatimNotGuessed) {
  const RateLimitState st = ParseRateLimitHeaders({
      {"anthropic-ratelimit-unified-5h-utilization", "ninety"},
      {"anthropic-ratelimit-unified-reset", "soon"},
      {"anthropic-ratelimit-requests-limit", "12abc"},
      {"anthropic-ratelimit-", "x"},
  });
  EXPECT_TRUE(st.windows.empty());
  EXPECT_TRUE(st.buckets.empty());
  EXPECT_FALSE(st.resets_at.has_value());
  EXPECT_EQ(st.unknown.size(), 4u);
  EXPECT_EQ(st.unknown.at("anthropic-ratelimit-unified-5h-utilization"), "ninety");
}

TEST(RateLimitTest, NoHeadersIsEmptyAndHasNoJson) {
  const RateLimitState st = ParseRateLimitHeaders({{"content-type", "application/json"}});
  EXPECT_TRUE(st.empty());
  EXPECT_EQ(RateLimitJson(st), "");
}

TEST(RateLimitTest, JsonIsCompactAndComplete) {
  const std::string json = RateLimitJson(ParseRateLimitHeaders(kUnified));
  EXPECT_NE(
      json.find(
          R"("status":"allowed_warning","resetsAt":1750420800,"representativeClaim":"five_hour")"),
      std::string::npos)
      << json;
  EXPECT_NE(
      json.find(R"("5h":{"status":"allowed_warning","utilization":0.91,"resetsAt":1750420800,)"
                R"("surpassedThreshold":0.9})"),
      std::string::npos)
      << json;
  EXPECT_NE(json.find(R"("7d_opus":{"utilization":0.05})"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("unknown":{"anthropic-ratelimit-unified-brand-new-thing":"42"})"),
            std::string::npos)
      << json;
  const std::string keys =
      RateLimitJson(ParseRateLimitHeaders({{"anthropic-ratelimit-tokens-limit", "5"}}));
  EXPECT_EQ(keys, R"({"buckets":{"tokens":{"limit":5}}})");
}

}  // namespace
}  // namespace cn::anthropic
