#include "oauth/credential_file.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <thread>

#include "oauth_test_util.h"

namespace cn::oauth {
namespace {

using testing::OAuthFile;
using testing::ScratchDir;

TokenGrant Grant() {
  TokenGrant g;
  g.access_token = "at-new";
  g.refresh_token = "rt-new";
  g.expires_at_ms = 1234;
  g.scopes = {"user:inference", "user:profile"};
  return g;
}

TEST(MergeOAuthTokensTest, KeepsEveryOtherFieldAndOrder) {
  auto merged = MergeOAuthTokens(OAuthFile("at-old", "rt-old", 1), Grant());
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  const auto v = boost::json::parse(*merged).as_object();
  EXPECT_EQ(v.at("accountId").as_string(), "acc_team");
  EXPECT_EQ(v.at("client_api_key").as_string(), "cnp_live_k");
  EXPECT_EQ(v.at("slack").at("channel").as_string(), "#c");
  const auto& o = v.at("oauth").as_object();
  EXPECT_EQ(o.at("accessToken").as_string(), "at-new");
  EXPECT_EQ(o.at("refreshToken").as_string(), "rt-new");
  EXPECT_EQ(o.at("expiresAt").as_int64(), 1234);
  EXPECT_EQ(o.at("extra").as_string(), "kept");
  EXPECT_TRUE(o.at("isMax").as_bool());
  EXPECT_EQ(v.begin()->key(), "type");  // the original's field order survives
  EXPECT_NE(merged->find("\n  \"oauth\": {\n    \"accessToken\""), std::string::npos)
      << *merged;  // pretty
}

TEST(MergeOAuthTokensTest, NewFileGetsTypeAndAccount) {
  auto merged = MergeOAuthTokens("", Grant(), "acct-uuid");
  ASSERT_TRUE(merged.ok());
  const auto v = boost::json::parse(*merged).as_object();
  EXPECT_EQ(v.at("type").as_string(), "oauth");
  EXPECT_EQ(v.at("accountId").as_string(), "acct-uuid");
  // An existing accountId is the operator's choice and wins.
  merged = MergeOAuthTokens(R"({"accountId":"mine"})", Grant(), "acct-uuid");
  EXPECT_EQ(boost::json::parse(*merged).at("accountId").as_string(), "mine");
}

TEST(MergeOAuthTokensTest, RefusesCorruptInput) {
  EXPECT_EQ(MergeOAuthTokens("{\"type\":", Grant()).status().code(), StatusCode::kCorruption);
  EXPECT_EQ(MergeOAuthTokens("[1,2]", Grant()).status().code(), StatusCode::kCorruption);
}

TEST(WriteFileAtomicallyTest, ReplacesWithMode0600AndLeavesNoTempFiles) {
  ScratchDir dir;
  const auto path = dir.Write("h.credentials.json", "old");
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  ASSERT_TRUE(WriteFileAtomically(path, "new content").ok());
  EXPECT_EQ(ScratchDir::Read(path), "new content");
  EXPECT_EQ(ScratchDir::Mode(path), 0600u);
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1);
}

TEST(WriteFileAtomicallyTest, FailureLeavesTheOldFile) {
  ScratchDir dir;
  const auto path = dir.Write("h.credentials.json", "old");
  EXPECT_FALSE(WriteFileAtomically(dir.path() / "missing-dir" / "x.json", "new").ok());
  EXPECT_EQ(ScratchDir::Read(path), "old");
}

TEST(FileLockTest, ExcludesASecondHolderUntilReleased) {
  ScratchDir dir;
  const auto path = dir.path() / "h.credentials.json";
  {
    auto first = FileLock::Acquire(path, std::chrono::milliseconds(100));
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    EXPECT_TRUE(std::filesystem::exists(LockFilePath(path)));
    auto second = FileLock::Acquire(path, std::chrono::milliseconds(50));
    EXPECT_FALSE(second.ok());
    EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
    EXPECT_NE(second.status().message().find("another process"), std::string::npos);
  }
  EXPECT_TRUE(FileLock::Acquire(path, std::chrono::milliseconds(50)).ok());
}

TEST(FileLockTest, WaiterGetsTheLockWhenTheHolderReleases) {
  ScratchDir dir;
  const auto path = dir.path() / "h.credentials.json";
  auto first = std::make_unique<FileLock>(
      std::move(FileLock::Acquire(path, std::chrono::seconds(1)).value()));
  std::atomic<bool> got{false};
  std::thread waiter([&] { got = FileLock::Acquire(path, std::chrono::seconds(10)).ok(); });
  first.reset();
  waiter.join();
  EXPECT_TRUE(got);
}

}  // namespace
}  // namespace cn::oauth
