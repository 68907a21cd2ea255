// proxy/key_hash.h: the keyed hash of a passthrough credential and the installation's secret.
#include "proxy/key_hash.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "test_files.h"

namespace cn::proxy {
namespace {

TEST(KeyHasher, IsHmacSha256TruncatedTo40HexDigits) {
  // RFC 4231 test case 2: HMAC-SHA-256(key "Jefe", "what do ya want for nothing?").
  KeyHasher h("Jefe");
  EXPECT_EQ(h.Hash("what do ya want for nothing?"), "5bdcc146bf60754e6a042426089575c75a003f08");
}

TEST(KeyHasher, DependsOnTheSecretAndTheKey) {
  KeyHasher a(std::string(32, 'a'));
  KeyHasher b(std::string(32, 'b'));
  EXPECT_EQ(a.Hash("sk-ant-api03-x"), a.Hash("sk-ant-api03-x"));
  EXPECT_NE(a.Hash("sk-ant-api03-x"), a.Hash("sk-ant-api03-y"));
  EXPECT_NE(a.Hash("sk-ant-api03-x"), b.Hash("sk-ant-api03-x"));
  EXPECT_EQ(a.Hash("k").size(), 40u);
  EXPECT_EQ(a.Hash("k").find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST(PresentedCredential, ApiKeyFirstThenBearer) {
  EXPECT_EQ(PresentedCredential({{"X-Api-Key", "sk-1"}, {"Authorization", "Bearer t"}}), "sk-1");
  EXPECT_EQ(PresentedCredential({{"authorization", "bearer tok-2"}}), "tok-2");
  EXPECT_FALSE(PresentedCredential({{"Authorization", "Basic abc"}}));
  EXPECT_FALSE(PresentedCredential({{"x-api-key", ""}}));
  EXPECT_FALSE(PresentedCredential({}));
}

TEST(KeyHashSecret, ConfiguredWins) {
  testing::TempDir dir;
  auto s = LoadOrCreateKeyHashSecret(std::string(40, 'z'), dir.path() / "key-hash.secret");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, std::string(40, 'z'));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "key-hash.secret"));
}

TEST(KeyHashSecret, CreatedOncePrivateAndStable) {
  testing::TempDir dir;
  const auto file = dir.path() / "sub" / "key-hash.secret";
  auto first = LoadOrCreateKeyHashSecret("", file);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(first->size(), 64u);
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto second = LoadOrCreateKeyHashSecret("", file);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*first, *second);  // a restart keeps hashes comparable
}

TEST(KeyHashSecret, ShortFileIsAnErrorNamingTheFile) {
  testing::TempDir dir;
  const auto file = dir.Write("key-hash.secret", "tiny\n");
  auto s = LoadOrCreateKeyHashSecret("", file);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("key-hash.secret"), std::string::npos);
  EXPECT_EQ(s.status().message().find("tiny"), std::string::npos);  // never the content
}

}  // namespace
}  // namespace cn::proxy
