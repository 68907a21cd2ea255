#include "common/log.h"

#include <gtest/gtest.h>

namespace cn::log {
namespace {

TEST(LogTest, TextLineQuotesValuesThatNeedIt) {
  std::string line =
      FormatLine(Level::kInfo, 0, "listening", {{"port", 3000}, {"msg", "a b"}}, false);
  EXPECT_EQ(line, "1970-01-01T00:00:00.000Z INFO listening port=3000 msg=\"a b\"\n");
}

TEST(LogTest, JsonLineEscapes) {
  std::string line = FormatLine(Level::kWarn, 0, "x\"y", {{"k", "a\nb"}}, true);
  EXPECT_EQ(line,
            "{\"ts\":\"1970-01-01T00:00:00.000Z\",\"level\":\"warn\",\"msg\":\"x\\\"y\",\"k\":"
            "\"a\\nb\"}\n");
}

TEST(LogTest, ParseLevel) {
  Level l;
  ASSERT_TRUE(ParseLevel("DEBUG", &l));
  EXPECT_EQ(l, Level::kDebug);
  ASSERT_TRUE(ParseLevel("warning", &l));
  EXPECT_EQ(l, Level::kWarn);
  EXPECT_FALSE(ParseLevel("loud", &l));
}

}  // namespace
}  // namespace cn::log
