#include "common/ids.h"

#include <gtest/gtest.h>

#include <chrono>
#include <set>

namespace cn {
namespace {

TEST(IdsTest, UuidV4HasVersionAndVariantBits) {
  for (int i = 0; i < 100; ++i) {
    std::string id = NewUuidV4();
    ASSERT_TRUE(IsUuid(id)) << id;
    EXPECT_EQ(id[14], '4') << id;
    EXPECT_TRUE(id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b') << id;
  }
}

TEST(IdsTest, UuidV7CarriesTheTimeAndSortsByIt) {
  const auto now_ms = [] {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
  };
  const std::uint64_t before = now_ms();
  const std::string a = NewUuidV7();
  const std::uint64_t after = now_ms();
  ASSERT_TRUE(IsUuid(a)) << a;
  EXPECT_EQ(a[14], '7') << a;
  EXPECT_TRUE(a[19] == '8' || a[19] == '9' || a[19] == 'a' || a[19] == 'b') << a;
  const std::uint64_t ms = std::stoull(a.substr(0, 8) + a.substr(9, 4), nullptr, 16);
  EXPECT_GE(ms, before);
  EXPECT_LE(ms, after);
  // An id from a later millisecond sorts after (bounded wait for the clock to move on).
  std::string b;
  for (int i = 0; i < 1000000 && (b.empty() || b.compare(0, 13, a, 0, 13) == 0); ++i)
    b = NewUuidV7();
  EXPECT_GT(b, a);
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) seen.insert(NewUuidV7());
  EXPECT_EQ(seen.size(), 10000u);
}

TEST(IdsTest, UuidsAreDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) seen.insert(NewUuidV4());
  EXPECT_EQ(seen.size(), 10000u);
}

TEST(IdsTest, IsUuidRejectsMalformed) {
  EXPECT_FALSE(IsUuid(""));
  EXPECT_FALSE(IsUuid("not-a-uuid"));
  EXPECT_FALSE(IsUuid("123e4567-e89b-12d3-a456-42661417400g"));
  EXPECT_FALSE(IsUuid("123e4567e89b-12d3-a456-4266141740000"));
  EXPECT_TRUE(IsUuid("123e4567-e89b-12d3-a456-426614174000"));
}

}  // namespace
}  // namespace cn
