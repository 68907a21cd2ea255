#include "recording/token_stats.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cn::recording {
namespace {

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
  EXPECT_NE(all.find("\"a.example\":{\"inputTokens\":11,\"outputTokens\":7,\"totalTokens\":18"),
            std::string::npos);
  EXPECT_NE(all.find("\"b\\\"x\":"), std::string::npos);
  EXPECT_NE(all.find("\"lastUpdated\":5000"), std::string::npos);
}

}  // namespace
}  // namespace cn::recording
