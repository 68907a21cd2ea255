#include "common/base64.h"

#include <gtest/gtest.h>

#include <string>

namespace cn {
namespace {

TEST(Base64, Rfc4648TestVectors) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64Encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
}

TEST(Base64, UrlAlphabetHasNoPaddingAndUrlSafeDigits) {
  const std::string bytes("\xfb\xff\xbf", 3);
  EXPECT_EQ(Base64Encode(bytes), "+/+/");
  EXPECT_EQ(Base64Encode(bytes, Base64Alphabet::kUrlNoPad), "-_-_");
  EXPECT_EQ(Base64Encode("f", Base64Alphabet::kUrlNoPad), "Zg");
  EXPECT_EQ(Base64Encode("fo", Base64Alphabet::kUrlNoPad), "Zm8");
}

TEST(Base64, EveryByteValueRoundTripsWhateverCharSignedness) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (std::size_t len = 0; len <= all.size(); len += 37) {
    std::string decoded;
    ASSERT_TRUE(Base64Decode(Base64Encode(all.substr(0, len)), &decoded)) << len;
    EXPECT_EQ(decoded, all.substr(0, len));
  }
}

TEST(Base64, DecoderIsStrict) {
  std::string out;
  EXPECT_TRUE(Base64Decode("Zm9vYg==", &out));
  EXPECT_EQ(out, "foob");
  EXPECT_FALSE(Base64Decode("Zm9vYg=", &out));     // length not a multiple of 4
  EXPECT_FALSE(Base64Decode("Zm9v\nYg==", &out));  // whitespace
  EXPECT_FALSE(Base64Decode("Zg==Zm8=", &out));    // padding before the end
  EXPECT_FALSE(Base64Decode("Zm=v", &out));        // "x=y=" is not padding
  EXPECT_FALSE(Base64Decode("-_-_", &out));        // url alphabet is not accepted here
}

}  // namespace
}  // namespace cn
