#include "common/ids.h"

#include <gtest/gtest.h>

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
