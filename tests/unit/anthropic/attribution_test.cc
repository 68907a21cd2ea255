#include "anthropic/attribution.h"

#include <gtest/gtest.h>

#include "anthropic/message.h"

namespace cn::anthropic {
namespace {

constexpr std::string_view kHash =
    "2f8a9c0b1d2e3f405162738495a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e";

Attribution FromBody(std::string_view body, const Headers& headers = {}) {
  auto v = ParseJson(body);
  return ParseAttribution(v ? &*v : nullptr, headers);
}

TEST(AttributionTest, LegacyUserIdString) {
  const std::string user_id = "user_" + std::string(kHash) +
                              "_account_6f3c1e2a-8b9d-4c0e-a1f2-3b4c5d6e7f80_session_"
                              "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d";
  const Attribution a = FromBody(R"({"model":"m","metadata":{"user_id":")" + user_id + R"("}})");
  EXPECT_EQ(a.user_id, kHash);
  EXPECT_EQ(a.account_uuid, "6f3c1e2a-8b9d-4c0e-a1f2-3b4c5d6e7f80");
  EXPECT_EQ(a.session_id, "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d");
}

TEST(AttributionTest, LegacyUserIdWithEmptyAccount) {
  const Attribution a = ParseUserIdString("user_" + std::string(kHash) +
                                          "_account__session_1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d");
  EXPECT_EQ(a.user_id, kHash);
  EXPECT_EQ(a.account_uuid, "");
  EXPECT_EQ(a.session_id, "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d");
}

TEST(AttributionTest, JsonStringUserId) {
  const Attribution a = FromBody(
      R"({"metadata":{"user_id":"{\"device_id\":\")" + std::string(kHash) +
      R"(\",\"account_uuid\":\"6f3c1e2a-8b9d-4c0e-a1f2-3b4c5d6e7f80\",\"session_id\":\"9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b\"}"}})");
  EXPECT_EQ(a.user_id, kHash);
  EXPECT_EQ(a.account_uuid, "6f3c1e2a-8b9d-4c0e-a1f2-3b4c5d6e7f80");
  EXPECT_EQ(a.session_id, "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b");
}

TEST(AttributionTest, SessionHeaderWinsAndPlainIdsAreUsers) {
  const Attribution a =
      FromBody(R"({"metadata":{"user_id":"claude-1"}})", {{"X-Claude-Code-Session-Id", "abc-123"}});
  EXPECT_EQ(a.user_id, "claude-1");  // an SDK user's own id (as in the captured fixtures)
  EXPECT_EQ(a.session_id, "abc-123");
  const Attribution b = FromBody(
      R"({"metadata":{"user_id":"user_)" + std::string(kHash) + R"(_account__session_s1"}})",
      {{"x-claude-code-session-id", "s2"}});
  EXPECT_EQ(b.session_id, "s2");
}

TEST(AttributionTest, HostileOrMissingValuesAreDropped) {
  EXPECT_EQ(FromBody(R"({"model":"m"})"), Attribution{});
  EXPECT_EQ(FromBody("not json"), Attribution{});
  EXPECT_EQ(FromBody(R"({"metadata":{"user_id":42}})"), Attribution{});
  EXPECT_EQ(FromBody(R"({"metadata":{"user_id":"<script>alert(1)</script> x"}})").user_id, "");
  EXPECT_EQ(FromBody(R"({"metadata":{"user_id":")" + std::string(300, 'a') + R"("}})").user_id, "");
  EXPECT_EQ(FromBody(R"({})", {{"X-Claude-Code-Session-Id", "bad\"value"}}).session_id, "");
  EXPECT_EQ(FromBody(R"({"metadata":{"user_id":"{\"device_id\":5}"}})"), Attribution{});
}

}  // namespace
}  // namespace cn::anthropic
