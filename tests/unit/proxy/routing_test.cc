#include "proxy/routing.h"

#include <gtest/gtest.h>

namespace cn::proxy {
namespace {

TEST(ClassifyTest, EverythingUnderV1IsProxiedWithAnyMethod) {
  for (const char* method : {"POST", "GET", "PUT", "DELETE", "PATCH", "HEAD"}) {
    EXPECT_EQ(Classify(method, "/v1/messages"), Route::kProxy) << method;
  }
  EXPECT_EQ(Classify("POST", "/v1/messages/count_tokens"), Route::kProxy);
  EXPECT_EQ(Classify("GET", "/v1/models"), Route::kProxy);
  EXPECT_EQ(Classify("POST", "/v1/complete"), Route::kProxy);
}

TEST(ClassifyTest, OptionsOnV1IsCorsPreflight) {
  EXPECT_EQ(Classify("OPTIONS", "/v1/messages"), Route::kCorsPreflight);
  EXPECT_EQ(Classify("OPTIONS", "/v1/models"), Route::kCorsPreflight);
}

TEST(ClassifyTest, LocalEndpointsAnswerGetAndHead) {
  const std::pair<const char*, Route> table[] = {
      {"/", Route::kRoot},
      {"/health", Route::kHealth},
      {"/health/live", Route::kHealthLive},
      {"/health/ready", Route::kHealthReady},
      {"/token-stats", Route::kTokenStats},
      {"/metrics", Route::kMetrics},
  };
  for (const auto& [path, route] : table) {
    EXPECT_EQ(Classify("GET", path), route) << path;
    EXPECT_EQ(Classify("HEAD", path), route) << path;
    EXPECT_EQ(Classify("POST", path), Route::kNotFound) << path;
    EXPECT_EQ(Classify("OPTIONS", path), Route::kNotFound) << path;
  }
}

TEST(ClassifyTest, EverythingElseIsNotFound) {
  EXPECT_EQ(Classify("GET", "/v1"), Route::kNotFound);  // no trailing slash: not the API
  EXPECT_EQ(Classify("GET", "/v2/messages"), Route::kNotFound);
  EXPECT_EQ(Classify("GET", "/health/"), Route::kNotFound);
  EXPECT_EQ(Classify("GET", "/healthz"), Route::kNotFound);
  EXPECT_EQ(Classify("GET", "/V1/messages"), Route::kNotFound);
  EXPECT_EQ(Classify("get", "/health"), Route::kNotFound);  // methods are case-sensitive
  EXPECT_EQ(Classify("GET", ""), Route::kNotFound);
  EXPECT_STREQ(RouteName(Route::kCorsPreflight), "cors_preflight");
}

TEST(SplitTargetTest, SplitsPathAndRawQuery) {
  std::string path, query;
  ASSERT_TRUE(SplitTarget("/v1/messages?beta=true", &path, &query));
  EXPECT_EQ(path, "/v1/messages");
  EXPECT_EQ(query, "beta=true");

  ASSERT_TRUE(SplitTarget("/health", &path, &query));
  EXPECT_EQ(path, "/health");
  EXPECT_EQ(query, "");

  ASSERT_TRUE(SplitTarget("/x?", &path, &query));
  EXPECT_EQ(path, "/x");
  EXPECT_EQ(query, "");

  ASSERT_TRUE(SplitTarget("/a?b=%20c&d=e?f", &path, &query));  // raw: not decoded, first '?' splits
  EXPECT_EQ(path, "/a");
  EXPECT_EQ(query, "b=%20c&d=e?f");
}

TEST(SplitTargetTest, RejectsMalformedTargets) {
  std::string path, query;
  EXPECT_FALSE(SplitTarget("", &path, &query));
  EXPECT_FALSE(SplitTarget("v1/messages", &path, &query));
  EXPECT_FALSE(SplitTarget("http://example.com/v1/messages", &path, &query));
  EXPECT_FALSE(SplitTarget("*", &path, &query));
  EXPECT_FALSE(SplitTarget("/v1/mess ages", &path, &query));
  EXPECT_FALSE(SplitTarget("/v1/messages\r\nX: y", &path, &query));
  EXPECT_FALSE(SplitTarget(std::string_view("/v1\0x", 5), &path, &query));
  EXPECT_FALSE(SplitTarget("/v1/\x7f", &path, &query));
  EXPECT_FALSE(SplitTarget("/caf\xc3\xa9", &path, &query));
}

}  // namespace
}  // namespace cn::proxy
