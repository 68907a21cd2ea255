#include "anthropic/pricing.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace cn::anthropic {
namespace {

constexpr double kEps = 1e-9;

TEST(PricingTest, NormalizesModelIds) {
  EXPECT_EQ(NormalizeModelId("claude-sonnet-4-5-20250929"), "claude-sonnet-4-5");
  EXPECT_EQ(NormalizeModelId("Claude-Opus-4-1-20250805"), "claude-opus-4-1");
  EXPECT_EQ(NormalizeModelId("claude-3-5-haiku-latest"), "claude-3-5-haiku");
  EXPECT_EQ(NormalizeModelId("claude-sonnet-4-5-20250929[1m]"), "claude-sonnet-4-5");
  EXPECT_EQ(NormalizeModelId("claude-opus-4-5"), "claude-opus-4-5");
  EXPECT_EQ(NormalizeModelId("my-model-1234"), "my-model-1234");  // not 8 digits: kept
}

TEST(PricingTest, EveryBuiltInFamilyMatchesItsDatedIdsAndNoOther) {
  const PriceTable t = PriceTable::BuiltIn();
  struct Case {
    const char* model;
    const char* family;
  } cases[] = {
      {"claude-opus-4-5-20251101", "claude-opus-4-5"},
      {"claude-opus-4-1-20250805", "claude-opus-4-1"},
      {"claude-opus-4-20250514", "claude-opus-4"},
      {"claude-3-opus-20240229", "claude-3-opus"},
      {"claude-sonnet-4-5-20250929", "claude-sonnet-4-5"},
      {"claude-sonnet-4-20250514", "claude-sonnet-4"},
      {"claude-3-7-sonnet-20250219", "claude-3-7-sonnet"},
      {"claude-3-5-sonnet-20241022", "claude-3-5-sonnet"},
      {"claude-haiku-4-5-20251001", "claude-haiku-4-5"},
      {"claude-3-5-haiku-20241022", "claude-3-5-haiku"},
      {"claude-3-haiku-20240307", "claude-3-haiku"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(t.FamilyOf(c.model), c.family) << c.model;
    EXPECT_NE(t.Find(c.model), nullptr) << c.model;
  }
  // Unknown ids are unpriced, never guessed: no family is a prefix at a '-' boundary.
  for (const char* model : {"", "gpt-4o", "claude-2.1", "claude-instant-1.2", "claude-opus-45",
                            "claude-sonnet", "claude-opus-4x"}) {
    EXPECT_EQ(t.Find(model), nullptr) << model;
    EXPECT_FALSE(t.CostUsd(model, BillableUsage{1, 1}).has_value()) << model;
  }
}

TEST(PricingTest, CostsEachTokenKindAtItsRate) {
  const PriceTable t = PriceTable::BuiltIn();
  BillableUsage u;
  u.input_tokens = 1'000'000;
  EXPECT_NEAR(*t.CostUsd("claude-3-7-sonnet-20250219", u), 3.0, kEps);
  EXPECT_NEAR(*t.CostUsd("claude-opus-4-1-20250805", u), 15.0, kEps);
  EXPECT_NEAR(*t.CostUsd("claude-opus-4-5-20251101", u), 5.0, kEps);
  EXPECT_NEAR(*t.CostUsd("claude-haiku-4-5-20251001", u), 1.0, kEps);
  EXPECT_NEAR(*t.CostUsd("claude-3-5-haiku-20241022", u), 0.8, kEps);
  EXPECT_NEAR(*t.CostUsd("claude-3-haiku-20240307", u), 0.25, kEps);
  u = BillableUsage{};
  u.output_tokens = 2'000'000;
  EXPECT_NEAR(*t.CostUsd("claude-sonnet-4-20250514", u), 30.0, kEps);
  EXPECT_NEAR(*t.CostUsd("claude-opus-4-20250514", u), 150.0, kEps);
  // Cache reads at 0.1x input, 5-minute writes 1.25x, 1-hour writes 2x.
  u = BillableUsage{};
  u.cache_read_input_tokens = 1'000'000;
  EXPECT_NEAR(*t.CostUsd("claude-3-5-sonnet-20241022", u), 0.30, kEps);
  EXPECT_NEAR(*t.CostUsd("claude-3-haiku-20240307", u), 0.03, kEps);
  u = BillableUsage{};
  u.cache_creation_input_tokens = 1'000'000;  // no breakdown: 5-minute writes
  EXPECT_NEAR(*t.CostUsd("claude-3-7-sonnet", u), 3.75, kEps);
  EXPECT_NEAR(*t.CostUsd("claude-opus-4-1", u), 18.75, kEps);
  u.cache_write_5m_tokens = 400'000;
  u.cache_write_1h_tokens = 600'000;
  EXPECT_NEAR(*t.CostUsd("claude-3-7-sonnet", u), 0.4 * 3.75 + 0.6 * 6.0, kEps);
  // The same prompt on Sonnet 4.5 is over 200k tokens: long-context rates.
  EXPECT_NEAR(*t.CostUsd("claude-sonnet-4-5", u), 0.4 * 7.5 + 0.6 * 12.0, kEps);
  EXPECT_NEAR(*t.CostUsd("claude-3-haiku", u), 0.4 * 0.30 + 0.6 * 0.50, kEps);
  // Web search: $10 per thousand.
  u = BillableUsage{};
  u.web_search_requests = 3;
  EXPECT_NEAR(*t.CostUsd("claude-sonnet-4-5", u), 0.03, kEps);
}

TEST(PricingTest, LongContextRatesApplyAbove200kPromptTokensForSonnet4) {
  const PriceTable t = PriceTable::BuiltIn();
  BillableUsage u;
  u.input_tokens = 150'000;
  u.cache_read_input_tokens = 50'000;  // exactly 200k: base rates
  u.output_tokens = 1'000;
  EXPECT_NEAR(*t.CostUsd("claude-sonnet-4-5", u),
              (150'000 * 3.0 + 50'000 * 0.3 + 1'000 * 15.0) / 1e6, kEps);
  u.input_tokens = 150'001;  // over: every token at the long-context rates
  EXPECT_NEAR(*t.CostUsd("claude-sonnet-4-5", u),
              (150'001 * 6.0 + 50'000 * 0.6 + 1'000 * 22.5) / 1e6, kEps);
  EXPECT_NEAR(*t.CostUsd("claude-sonnet-4-20250514", u),
              (150'001 * 6.0 + 50'000 * 0.6 + 1'000 * 22.5) / 1e6, kEps);
  // Opus has no long-context rates.
  EXPECT_NEAR(*t.CostUsd("claude-opus-4-1", u),
              (150'001 * 15.0 + 50'000 * 1.5 + 1'000 * 75.0) / 1e6, kEps);
}

TEST(PricingTest, ReadsUsageObjectsWithCacheBreakdownAndServerTools) {
  const BillableUsage u = BillableUsageFromJson(
      R"({"input_tokens":12,"cache_creation_input_tokens":300,"cache_read_input_tokens":4000,)"
      R"("cache_creation":{"ephemeral_5m_input_tokens":100,"ephemeral_1h_input_tokens":200},)"
      R"("output_tokens":56,"server_tool_use":{"web_search_requests":2},"service_tier":"standard"})");
  EXPECT_EQ(u.input_tokens, 12);
  EXPECT_EQ(u.output_tokens, 56);
  EXPECT_EQ(u.cache_creation_input_tokens, 300);
  EXPECT_EQ(u.cache_write_5m_tokens, 100);
  EXPECT_EQ(u.cache_write_1h_tokens, 200);
  EXPECT_EQ(u.cache_read_input_tokens, 4000);
  EXPECT_EQ(u.web_search_requests, 2);
  const BillableUsage bad = BillableUsageFromJson(R"({"input_tokens":"x","output_tokens":-5})");
  EXPECT_EQ(bad.input_tokens, 0);
  EXPECT_EQ(bad.output_tokens, 0);
  EXPECT_EQ(BillableUsageFromJson("not json").input_tokens, 0);
}

TEST(PricingTest, JsonOverridesReplaceAndAddFamilies) {
  auto t = PriceTable::FromJson(
      R"({"models":{"claude-sonnet-4-5-20250929":{"input":2,"output":10},)"
      R"("acme-large":{"input":1,"output":2,"cacheRead":0.5,)"
      R"("longContext":{"above":1000,"input":4,"output":8}}},"webSearchPerThousand":20})",
      PriceTable::BuiltIn());
  ASSERT_TRUE(t.ok()) << t.status().message();
  BillableUsage u;
  u.input_tokens = 1'000'000;
  EXPECT_NEAR(*t->CostUsd("claude-sonnet-4-5", u), 2.0, kEps);
  EXPECT_EQ(t->Find("claude-sonnet-4-5")->long_context_above, 0);             // replaced whole
  EXPECT_NEAR(t->Find("claude-sonnet-4-5")->base.cache_write_5m, 2.5, kEps);  // default multiple
  EXPECT_NEAR(*t->CostUsd("acme-large-20260101", u), 4.0, kEps);  // over 1000: long context
  EXPECT_NEAR(*t->CostUsd("claude-opus-4-1", u), 15.0, kEps);     // untouched
  u = BillableUsage{};
  u.web_search_requests = 1;
  EXPECT_NEAR(*t->CostUsd("claude-opus-4-1", u), 0.02, kEps);
}

TEST(PricingTest, BadOverridesNameTheField) {
  const PriceTable base = PriceTable::BuiltIn();
  auto expect_error = [&](const char* json, const char* needle) {
    auto t = PriceTable::FromJson(json, base);
    ASSERT_FALSE(t.ok()) << json;
    EXPECT_NE(t.status().message().find(needle), std::string::npos) << t.status().message();
  };
  expect_error("[]", "not a JSON object");
  expect_error(R"({"models":[]})", "\"models\" must be an object");
  expect_error(R"({"models":{"m":{"input":1}}})", "pricing.models.m needs both");
  expect_error(R"({"models":{"m":{"input":-1,"output":1}}})", "pricing.models.m.input must be");
  expect_error(R"({"models":{"m":{"input":1,"output":"x"}}})", "pricing.models.m.output must be");
  expect_error(R"({"models":{"m":{"input":1,"output":1,"longContext":{"input":1,"output":1}}}})",
               "longContext needs \"above\"");
  expect_error(R"({"webSearchPerThousand":-3})", "webSearchPerThousand");
}

TEST(PricingTest, LoadFileExtendsTheBuiltInTable) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("cn-pricing-" + std::to_string(::getpid()) + ".json");
  { std::ofstream(path) << R"({"models":{"acme":{"input":1,"output":1}}})"; }
  auto t = PriceTable::LoadFile(path);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_NE(t->Find("acme"), nullptr);
  EXPECT_NE(t->Find("claude-sonnet-4-5"), nullptr);
  std::filesystem::remove(path);
  auto missing = PriceTable::LoadFile(path);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("PRICING_FILE"), std::string::npos);
}

}  // namespace
}  // namespace cn::anthropic
