#include "proxy/retry.h"

#include <gtest/gtest.h>

namespace cn::proxy {
namespace {

using std::chrono::milliseconds;

constexpr std::int64_t kNow = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT

TEST(RetryDelayTest, RetriesOnlyTransientStatuses) {
  const RetryPolicy p;
  for (int status : {0, 429, 500, 502, 503, 504, 529, 599}) {
    EXPECT_TRUE(RetryDelay(p, 1, status, "", kNow, 0.5).has_value()) << status;
  }
  for (int status : {200, 201, 301, 400, 401, 403, 404, 413, 422, 600}) {
    EXPECT_FALSE(RetryDelay(p, 1, status, "", kNow, 0.5).has_value()) << status;
  }
}

TEST(RetryDelayTest, StopsAfterMaxRetries) {
  RetryPolicy p;
  p.max_retries = 2;
  EXPECT_TRUE(RetryDelay(p, 1, 529, "", kNow, 0.5));
  EXPECT_TRUE(RetryDelay(p, 2, 529, "", kNow, 0.5));
  EXPECT_FALSE(RetryDelay(p, 3, 529, "", kNow, 0.5));
  p.max_retries = 0;
  EXPECT_FALSE(RetryDelay(p, 1, 529, "", kNow, 0.5));
}

TEST(RetryDelayTest, GrowsExponentiallyUpToTheCapWithEqualJitter) {
  RetryPolicy p;
  p.max_retries = 10;
  p.base = milliseconds(500);
  p.max_delay = milliseconds(8000);
  const std::int64_t caps[] = {500, 1000, 2000, 4000, 8000, 8000, 8000};
  for (int attempt = 1; attempt <= 7; ++attempt) {
    const std::int64_t cap = caps[attempt - 1];
    EXPECT_EQ(RetryDelay(p, attempt, 503, "", kNow, 0.0)->count(), cap / 2) << attempt;
    EXPECT_EQ(RetryDelay(p, attempt, 503, "", kNow, 0.5)->count(), cap * 3 / 4) << attempt;
    const std::int64_t high = RetryDelay(p, attempt, 503, "", kNow, 0.999999)->count();
    EXPECT_GE(high, cap / 2);
    EXPECT_LE(high, cap);
  }
  // Huge attempt numbers do not overflow.
  EXPECT_EQ(
      RetryDelay(RetryPolicy{1000, milliseconds(500), milliseconds(8000)}, 999, 0, "", kNow, 1.0)
          ->count(),
      8000);
}

TEST(RetryDelayTest, JitterStaysInBoundsForAnyRandom) {
  const RetryPolicy p;
  for (double r : {-1.0, 0.0, 0.25, 0.75, 1.0, 2.0}) {
    const auto d = RetryDelay(p, 2, 0, "", kNow, r);
    ASSERT_TRUE(d);
    EXPECT_GE(d->count(), 500);
    EXPECT_LE(d->count(), 1000);
  }
}

TEST(RetryDelayTest, HonoursRetryAfterSeconds) {
  const RetryPolicy p;
  EXPECT_EQ(RetryDelay(p, 1, 429, "7", kNow, 0.5), milliseconds(7000));
  EXPECT_EQ(RetryDelay(p, 1, 529, " 0 ", kNow, 0.5), milliseconds(0));
  EXPECT_EQ(RetryDelay(p, 1, 503, "60", kNow, 0.5), milliseconds(60000));
  // Garbage falls back to backoff.
  EXPECT_EQ(RetryDelay(p, 1, 429, "soon", kNow, 0.0), milliseconds(250));
  EXPECT_EQ(RetryDelay(p, 1, 429, "-3", kNow, 0.0), milliseconds(250));
}

TEST(RetryDelayTest, HonoursRetryAfterHttpDate) {
  const RetryPolicy p;
  EXPECT_EQ(RetryDelay(p, 1, 429, "Sun, 06 Nov 1994 08:49:47 GMT", kNow, 0.5), milliseconds(10000));
  EXPECT_EQ(RetryDelay(p, 1, 429, "Sunday, 06-Nov-94 08:49:40 GMT", kNow, 0.5), milliseconds(3000));
  EXPECT_EQ(RetryDelay(p, 1, 429, "Sun Nov  6 08:49:38 1994", kNow, 0.5), milliseconds(1000));
  // A date in the past means "now".
  EXPECT_EQ(RetryDelay(p, 1, 429, "Sun, 06 Nov 1994 08:00:00 GMT", kNow, 0.5), milliseconds(0));
}

TEST(RetryDelayTest, RetryAfterMsWins) {
  const RetryPolicy p;
  EXPECT_EQ(RetryDelay(p, 1, 429, "7", kNow, 0.5, "1234"), milliseconds(1234));
  EXPECT_EQ(RetryDelay(p, 1, 429, "7", kNow, 0.5, "bad"), milliseconds(7000));
}

TEST(RetryDelayTest, TooLongRetryAfterMeansDoNotRetry) {
  const RetryPolicy p;  // max_retry_after 60 s
  EXPECT_FALSE(RetryDelay(p, 1, 429, "61", kNow, 0.5));
  EXPECT_FALSE(RetryDelay(p, 1, 429, "99999999999999", kNow, 0.5));
  EXPECT_FALSE(RetryDelay(p, 1, 429, "Sun, 06 Nov 1994 09:49:37 GMT", kNow, 0.5));
  EXPECT_FALSE(RetryDelay(p, 1, 429, "", kNow, 0.5, "60001"));
}

TEST(ParseHttpDateTest, ThreeFormatsAndRejects) {
  EXPECT_EQ(ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"), kNow);
  EXPECT_EQ(ParseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT"), kNow);
  EXPECT_EQ(ParseHttpDate("Sun Nov  6 08:49:37 1994"), kNow);
  EXPECT_EQ(ParseHttpDate("Thu, 01 Jan 1970 00:00:00 GMT"), 0);
  EXPECT_EQ(ParseHttpDate("Fri, 27 Nov 2026 06:40:00 GMT"), 1795761600);
  EXPECT_EQ(ParseHttpDate("Sun, 06 Foo 1994 08:49:37 GMT"), std::nullopt);
  EXPECT_EQ(ParseHttpDate("Sun, 06 Nov 1994 25:49:37 GMT"), std::nullopt);
  EXPECT_EQ(ParseHttpDate("Sun, 06 Nov 1994 08:49:37 PST"), std::nullopt);
  EXPECT_EQ(ParseHttpDate(""), std::nullopt);
  EXPECT_EQ(ParseHttpDate("7"), std::nullopt);
}

}  // namespace
}  // namespace cn::proxy
