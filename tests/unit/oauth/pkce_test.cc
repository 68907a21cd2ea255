#include "oauth/pkce.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>

namespace cn::oauth {
namespace {

TEST(Base64UrlTest, Rfc4648VectorsWithoutPadding) {
  auto enc = [](std::string_view s) {
    return Base64Url({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()});
  };
  EXPECT_EQ(enc(""), "");
  EXPECT_EQ(enc("f"), "Zg");
  EXPECT_EQ(enc("fo"), "Zm8");
  EXPECT_EQ(enc("foo"), "Zm9v");
  EXPECT_EQ(enc("foob"), "Zm9vYg");
  EXPECT_EQ(enc("fooba"), "Zm9vYmE");
  const std::uint8_t high[] = {0xfb, 0xff, 0xfe};
  EXPECT_EQ(Base64Url(high), "-__-");  // url-safe alphabet, not "+//+"
}

TEST(PkceTest, S256MatchesRfc7636AppendixB) {
  EXPECT_EQ(S256Challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

TEST(PkceTest, VerifierComesFromTheRandomSourceAndStateIsSeparate) {
  int calls = 0;
  RandomSource counting = [&calls](std::span<std::uint8_t> out) {
    for (auto& b : out) b = static_cast<std::uint8_t>(calls);
    ++calls;
  };
  const Pkce p = NewPkce(counting);
  const std::string state = NewState(counting);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(p.verifier.size(), 43u);
  EXPECT_EQ(p.verifier, std::string(43, 'A'));  // 32 zero bytes
  EXPECT_EQ(p.challenge, S256Challenge(p.verifier));
  EXPECT_NE(state, p.verifier);  // the original leaked the verifier as the state
}

TEST(PkceTest, AuthorizeUrlHasEveryParameterOfTheOriginal) {
  const std::string url = AuthorizeUrl(kDefaultClientId, "CHAL", "STATE");
  EXPECT_EQ(
      url,
      "https://claude.ai/oauth/authorize?code=true&client_id=9d1c250a-e61b-44d9-88ed-5944d1962f5e"
      "&response_type=code&redirect_uri=https%3A%2F%2Fconsole.anthropic.com%2Foauth%2Fcode%"
      "2Fcallback"
      "&scope=org%3Acreate_api_key+user%3Aprofile+user%3Ainference&code_challenge=CHAL"
      "&code_challenge_method=S256&state=STATE");
}

TEST(PkceTest, ParsesPastedCode) {
  auto p = ParsePastedCode("  abc123#st-ate_9 \r\n");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->code, "abc123");
  EXPECT_EQ(p->state, "st-ate_9");
  p = ParsePastedCode("onlycode");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->code, "onlycode");
  EXPECT_EQ(p->state, "");
  EXPECT_FALSE(ParsePastedCode("   "));
  EXPECT_FALSE(ParsePastedCode("#state"));
}

TEST(KeygenTest, FormatIsPrefixPlus43Base64UrlCharacters) {
  const std::regex format("^cnp_live_[A-Za-z0-9_-]{43}$");
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string key = GenerateClientKey();
    ASSERT_TRUE(std::regex_match(key, format)) << key;
    seen.insert(key);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(KeygenTest, KeyMaterialIsExactlyThe32BytesOfTheRandomSource) {
  std::size_t asked = 0;
  const std::string key = GenerateClientKey([&asked](std::span<std::uint8_t> out) {
    asked += out.size();
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<std::uint8_t>(i);
  });
  EXPECT_EQ(asked, 32u);
  std::uint8_t expected[32];
  for (int i = 0; i < 32; ++i) expected[i] = static_cast<std::uint8_t>(i);
  EXPECT_EQ(key, "cnp_live_" + Base64Url(expected));
}

}  // namespace
}  // namespace cn::oauth
