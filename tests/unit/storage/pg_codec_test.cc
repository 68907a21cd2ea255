// The pure PostgreSQL encodings (no server needed).
#include "storage/postgres/pg_codec.h"

#include <gtest/gtest.h>

#include "common/utf8.h"

namespace cn::storage::pg {
namespace {

TEST(PgCodecTest, Utf8ValidationAndSanitising) {
  EXPECT_TRUE(IsValidUtf8("plain \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("\xc3"));          // truncated
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));  // surrogate
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));      // overlong
  EXPECT_EQ(SanitizeUtf8("a\xff"
                         "b"),
            "a\xef\xbf\xbd"
            "b");
  EXPECT_EQ(SanitizeUtf8(std::string("a\0b", 3)), "ab");
  EXPECT_EQ(SanitizeUtf8("ok \xc3\xa9"), "ok \xc3\xa9");
}

TEST(PgCodecTest, JsonbCanHold) {
  EXPECT_TRUE(JsonbCanHold(R"({"a":[1,2,{"b":"\u00e9"}]})"));
  EXPECT_FALSE(JsonbCanHold(R"({"a":"\u0000"})"));
  EXPECT_FALSE(JsonbCanHold("{\"a\":\"\xff\"}"));
  EXPECT_FALSE(JsonbCanHold("not json"));
  EXPECT_FALSE(JsonbCanHold("{} {}"));
  EXPECT_FALSE(JsonbCanHold(""));
}

TEST(PgCodecTest, JsonbOrEmptySanitisesOrGivesUp) {
  EXPECT_EQ(JsonbOrEmpty(R"({"status":"allowed"})"), R"({"status":"allowed"})");
  EXPECT_EQ(JsonbOrEmpty("{\"x\":\"a\xff\"}"), "{\"x\":\"a\xef\xbf\xbd\"}");
  EXPECT_EQ(JsonbOrEmpty(R"({"x":"\u0000"})"), "");
  EXPECT_EQ(JsonbOrEmpty("not json"), "");
  EXPECT_EQ(JsonbOrEmpty(""), "");
}

TEST(PgCodecTest, HeaderListRoundTripsAnyBytes) {
  Headers h = {{"A", "1:2"}, {"a", ""}, {"X-Bin", std::string("\0\xff:9", 4)}, {"", "v"}};
  Headers back;
  ASSERT_TRUE(DecodeHeaderList(EncodeHeaderList(h), &back));
  EXPECT_EQ(back, h);
  EXPECT_FALSE(DecodeHeaderList("5:ab", &back));
  EXPECT_FALSE(DecodeHeaderList("1:a", &back));  // a name without a value
  EXPECT_TRUE(DecodeHeaderList("", &back));
  EXPECT_TRUE(back.empty());
}

TEST(PgCodecTest, HeadersJsonObjectMergesRepeatsLikeTheOriginal) {
  Headers h = {{"Set-Cookie", "a=1"},
               {"content-type", "text/plain"},
               {"set-cookie", "b=2"},
               {"X-Bad", "\xff"}};
  const std::string json = HeadersJsonObject(h);
  EXPECT_EQ(json,
            R"({"Set-Cookie":"a=1, b=2","content-type":"text/plain","X-Bad":"\uFFFD"})" == json
                ? json
                : "{\"Set-Cookie\":\"a=1, b=2\",\"content-type\":\"text/plain\",\"X-Bad\":"
                  "\"\xef\xbf\xbd\"}");
  Headers back;
  ASSERT_TRUE(HeadersFromJsonObject(json, &back));
  ASSERT_EQ(back.size(), 3u);
  EXPECT_EQ(back[0], (Header{"Set-Cookie", "a=1, b=2"}));
  EXPECT_TRUE(HeadersJsonObject({}).empty());
}

}  // namespace
}  // namespace cn::storage::pg
