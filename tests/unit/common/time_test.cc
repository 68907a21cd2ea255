#include "common/time.h"

#include <gtest/gtest.h>

namespace cn {
namespace {

TEST(TimeTest, FormatsUtcWithMilliseconds) {
  EXPECT_EQ(FormatIso8601(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatIso8601(1750420376296123), "2025-06-20T11:52:56.296Z");
  EXPECT_EQ(FormatIso8601Micros(1750420376296123), "2025-06-20T11:52:56.296123Z");
}

TEST(TimeTest, ParseRoundTrips) {
  std::int64_t us = 0;
  ASSERT_TRUE(ParseIso8601("2025-06-20T11:52:56.296123Z", &us));
  EXPECT_EQ(us, 1750420376296123);
  ASSERT_TRUE(ParseIso8601("2025-06-20T11:52:56Z", &us));
  EXPECT_EQ(us, 1750420376000000);
  ASSERT_TRUE(ParseIso8601("2025-06-20 11:52:56.5", &us));
  EXPECT_EQ(us, 1750420376500000);
  EXPECT_FALSE(ParseIso8601("yesterday", &us));
}

}  // namespace
}  // namespace cn
