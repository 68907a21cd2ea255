#include "oauth/refresh.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "oauth/credential_file.h"
#include "oauth_test_util.h"

namespace cn::oauth {
namespace {

using testing::OAuthFile;
using testing::ScratchDir;
using testing::ScriptedEndpoint;

constexpr std::int64_t kNow = 1'750'000'000'000;

RefreshOptions Opts(bool force = false) {
  RefreshOptions o;
  o.force = force;
  o.now_ms = [] { return kNow; };
  o.lock_timeout = std::chrono::milliseconds(200);
  return o;
}

TEST(RefreshCredentialFileTest, RefreshesAndPersistsWithOtherFieldsKept) {
  ScratchDir dir;
  const auto path = dir.Write("h.credentials.json", OAuthFile("at-0", "rt-0", kNow + 30'000));
  ScriptedEndpoint ep;
  const RefreshOutcome out = RefreshCredentialFile(path, ep, Opts());
  ASSERT_EQ(out.kind, RefreshOutcome::Kind::kRefreshed) << out.status.ToString();
  EXPECT_EQ(out.credential->oauth.access_token, "at-1");
  EXPECT_EQ(out.credential->oauth.refresh_token, "rt-1");
  EXPECT_EQ(out.credential->oauth.expires_at_ms, kNow + 3600 * 1000);
  const auto v = boost::json::parse(ScratchDir::Read(path)).as_object();
  EXPECT_EQ(v.at("oauth").at("accessToken").as_string(), "at-1");
  EXPECT_EQ(v.at("client_api_key").as_string(), "cnp_live_k");
  EXPECT_EQ(ScratchDir::Mode(path), 0600u);
  const auto sent = boost::json::parse(ep.bodies().at(0)).as_object();
  EXPECT_EQ(sent.at("client_id").as_string(), kDefaultClientId);
  EXPECT_EQ(sent.at("refresh_token").as_string(), "rt-0");
}

TEST(RefreshCredentialFileTest, FreshFileIsAdoptedWithoutCallingTheEndpoint) {
  ScratchDir dir;
  const auto path = dir.Write("h.credentials.json", OAuthFile("at-9", "rt-9", kNow + 3'600'000));
  ScriptedEndpoint ep;
  const RefreshOutcome out = RefreshCredentialFile(path, ep, Opts());
  EXPECT_EQ(out.kind, RefreshOutcome::Kind::kAlreadyFresh);
  EXPECT_EQ(out.credential->oauth.access_token, "at-9");
  EXPECT_EQ(ep.calls(), 0);
  ep.SetValid("rt-9");
  EXPECT_EQ(RefreshCredentialFile(path, ep, Opts(/*force=*/true)).kind,
            RefreshOutcome::Kind::kRefreshed);
  EXPECT_EQ(ep.calls(), 1);
}

TEST(RefreshCredentialFileTest, CorruptFileIsReportedAndNeverOverwritten) {
  ScratchDir dir;
  const std::string garbage = "{\"type\":\"oauth\",\"oauth\":{\"refreshToken\":";
  const auto path = dir.Write("h.credentials.json", garbage);
  ScriptedEndpoint ep;
  const RefreshOutcome out = RefreshCredentialFile(path, ep, Opts(true));
  EXPECT_EQ(out.kind, RefreshOutcome::Kind::kFailed);
  EXPECT_NE(out.status.message().find("h.credentials.json"), std::string::npos)
      << out.status.message();
  EXPECT_NE(out.status.message().find("nothing was overwritten"), std::string::npos);
  EXPECT_EQ(ScratchDir::Read(path), garbage);
  EXPECT_EQ(ep.calls(), 0);
}

TEST(RefreshCredentialFileTest, InvalidGrantAsksForLoginAndKeepsTheFile) {
  ScratchDir dir;
  const std::string original = OAuthFile("at-0", "rt-dead", kNow - 1);
  const auto path = dir.Write("h.credentials.json", original);
  ScriptedEndpoint ep;
  const RefreshOutcome out = RefreshCredentialFile(path, ep, Opts());
  EXPECT_EQ(out.kind, RefreshOutcome::Kind::kFailed);
  EXPECT_TRUE(out.relogin_required);
  EXPECT_EQ(ScratchDir::Read(path), original);
}

TEST(RefreshCredentialFileTest, MissingRefreshTokenNeedsLogin) {
  ScratchDir dir;
  const auto path = dir.Write("h.credentials.json", OAuthFile("at-0", "", kNow - 1));
  ScriptedEndpoint ep;
  const RefreshOutcome out = RefreshCredentialFile(path, ep, Opts());
  EXPECT_TRUE(out.relogin_required);
  EXPECT_EQ(ep.calls(), 0);
}

TEST(RefreshCredentialFileTest, WaitsForTheLockThenAdoptsTheOtherHoldersResult) {
  ScratchDir dir;
  const auto path = dir.Write("h.credentials.json", OAuthFile("at-0", "rt-0", kNow - 1));
  ScriptedEndpoint ep;
  auto lock = FileLock::Acquire(path, std::chrono::seconds(1));
  ASSERT_TRUE(lock.ok());
  RefreshOptions o = Opts();
  o.lock_timeout = std::chrono::seconds(10);
  RefreshOutcome out;
  std::thread t([&] { out = RefreshCredentialFile(path, ep, o); });
  // "Another process" refreshes while holding the lock.
  dir.Write("h.credentials.json", OAuthFile("at-other", "rt-other", kNow + 3'600'000));
  { auto released = std::move(lock).value(); }
  t.join();
  EXPECT_EQ(out.kind, RefreshOutcome::Kind::kAlreadyFresh);
  EXPECT_EQ(out.credential->oauth.access_token, "at-other");
  EXPECT_EQ(ep.calls(), 0);
}

}  // namespace
}  // namespace cn::oauth
