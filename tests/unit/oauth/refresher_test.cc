#include "oauth/refresher.h"

#include <gtest/gtest.h>

#include <thread>

#include "oauth_test_util.h"

namespace cn::oauth {
namespace {

using testing::OAuthFile;
using testing::ScratchDir;
using testing::ScriptedEndpoint;
using Kind = Admission::Kind;

class RefresherTest : public ::testing::Test {
 protected:
  RefresherTest() : store_(dir_.path()) {}

  std::unique_ptr<OAuthRefresher> Make() {
    OAuthRefresher::Options o;
    o.background = false;
    o.now_ms = [this] { return now_.load(); };
    o.lock_timeout = std::chrono::seconds(5);
    auto r = std::make_unique<OAuthRefresher>(o, ep_, store_, &registry_);
    r->Start();
    return r;
  }
  std::shared_ptr<const proxy::Credential> Write(const std::string& access,
                                                 const std::string& refresh,
                                                 std::int64_t expires_at) {
    const auto path = dir_.Write("h.credentials.json", OAuthFile(access, refresh, expires_at));
    auto c = proxy::ParseCredentialFile(ScratchDir::Read(path), "h.credentials.json");
    EXPECT_TRUE(c.ok());
    c->path = path;
    return std::make_shared<const proxy::Credential>(std::move(c).value());
  }
  static Admission Settle(OAuthRefresher& r, const std::shared_ptr<const proxy::Credential>& cred,
                          Admission a) {
    if (a.kind != Kind::kWait) return a;
    EXPECT_TRUE(a.flight->WaitFor(std::chrono::seconds(10)));
    return r.AfterWait(cred, *a.flight);
  }

  std::atomic<std::int64_t> now_{1'750'000'000'000};
  ScratchDir dir_;
  proxy::CredentialStore store_;
  ScriptedEndpoint ep_;
  metrics::Registry registry_;
};

TEST_F(RefresherTest, FreshTokenIsUsedWithoutRefresh) {
  auto r = Make();
  auto cred = Write("at-0", "rt-0", now_ + 3'600'000);
  const Admission a = r->Admit(cred);
  EXPECT_EQ(a.kind, Kind::kUse);
  EXPECT_EQ(a.credential->oauth.access_token, "at-0");
  EXPECT_EQ(ep_.calls(), 0);
}

TEST_F(RefresherTest, ConcurrentRequestsShareOneRefresh) {
  auto r = Make();
  auto cred = Write("at-0", "rt-0", now_ + 10'000);  // inside the 60 s margin
  ep_.Gate(true);
  std::vector<Admission> admissions(50);
  std::vector<std::thread> threads;
  for (int i = 0; i < 50; ++i) threads.emplace_back([&, i] { admissions[i] = r->Admit(cred); });
  for (auto& t : threads) t.join();
  ASSERT_TRUE(ep_.WaitForCalls(1));
  for (const Admission& a : admissions) {
    ASSERT_EQ(a.kind, Kind::kWait);
    EXPECT_EQ(a.flight, admissions[0].flight);
    EXPECT_FALSE(a.flight->Done());
  }
  ep_.Gate(false);
  for (const Admission& a : admissions) {
    const Admission done = Settle(*r, cred, a);
    ASSERT_EQ(done.kind, Kind::kUse);
    EXPECT_EQ(done.credential->oauth.access_token, "at-1");
  }
  EXPECT_EQ(ep_.calls(), 1);
  const auto s = r->stats();
  EXPECT_EQ(s.attempts, 1u);
  EXPECT_EQ(s.successes, 1u);
  EXPECT_EQ(s.waits, 50u);
  // The store may still hand out the old credential; the refresher knows better.
  EXPECT_EQ(r->Admit(cred).credential->oauth.access_token, "at-1");
  EXPECT_NE(registry_.Render().find("cn_oauth_refresh_successes_total 1"), std::string::npos);
}

TEST_F(RefresherTest, FailuresBackOffAndNameTheFileAndTheCommand) {
  auto r = Make();
  auto cred = Write("at-0", "rt-0", now_ - 1);
  ep_.Fail(500, R"({"error":"server_error"})");
  Admission a = Settle(*r, cred, r->Admit(cred));
  ASSERT_EQ(a.kind, Kind::kReject);
  EXPECT_NE(a.message.find("h.credentials.json"), std::string::npos) << a.message;
  EXPECT_NE(a.message.find("claude-nexus oauth refresh $CREDENTIALS_DIR/h.credentials.json"),
            std::string::npos);
  EXPECT_EQ(a.message.find(dir_.path().string()), std::string::npos);  // no server paths
  for (int i = 0; i < 20; ++i) EXPECT_EQ(r->Admit(cred).kind, Kind::kReject);
  EXPECT_EQ(ep_.calls(), 1);  // no hammering
  now_ += 5'001;              // first backoff: 5 s
  EXPECT_EQ(Settle(*r, cred, r->Admit(cred)).kind, Kind::kReject);
  EXPECT_EQ(ep_.calls(), 2);
  now_ += 6'000;  // second backoff doubled to 10 s
  EXPECT_EQ(r->Admit(cred).kind, Kind::kReject);
  EXPECT_EQ(ep_.calls(), 2);
  ep_.Fail(0, "");
  now_ += 5'000;
  EXPECT_EQ(Settle(*r, cred, r->Admit(cred)).kind, Kind::kUse);
  EXPECT_EQ(ep_.calls(), 3);
}

TEST_F(RefresherTest, InvalidGrantStopsAttemptsUntilANewLogin) {
  auto r = Make();
  auto cred = Write("at-0", "rt-dead", now_ - 1);
  Admission a = Settle(*r, cred, r->Admit(cred));
  ASSERT_EQ(a.kind, Kind::kReject);
  EXPECT_NE(a.message.find("login must be redone"), std::string::npos) << a.message;
  EXPECT_NE(a.message.find("claude-nexus oauth login"), std::string::npos);
  now_ += 3'600'000;
  EXPECT_EQ(r->Admit(cred).kind, Kind::kReject);
  EXPECT_EQ(ep_.calls(), 1);
  auto relogged = Write("at-0", "rt-0", now_ - 1);  // the operator ran the login again
  EXPECT_EQ(Settle(*r, relogged, r->Admit(relogged)).kind, Kind::kUse);
  EXPECT_EQ(ep_.calls(), 2);
}

TEST_F(RefresherTest, FailedRefreshStillUsesAnUnexpiredToken) {
  auto r = Make();
  auto cred = Write("at-0", "rt-0", now_ + 30'000);
  ep_.TransportError(true);
  const Admission a = Settle(*r, cred, r->Admit(cred));
  ASSERT_EQ(a.kind, Kind::kUse);
  EXPECT_EQ(a.credential->oauth.access_token, "at-0");
  EXPECT_EQ(r->Admit(cred).kind, Kind::kUse);  // during the backoff too
}

TEST_F(RefresherTest, ExpiredWithoutRefreshTokenSaysLogin) {
  auto r = Make();
  auto cred = Write("at-0", "", now_ - 1);
  const Admission a = r->Admit(cred);
  ASSERT_EQ(a.kind, Kind::kReject);
  EXPECT_NE(a.message.find("no refresh token"), std::string::npos);
  EXPECT_EQ(ep_.calls(), 0);
}

TEST_F(RefresherTest, BackgroundScanRefreshesAheadOfTime) {
  auto r = Make();
  Write("at-0", "rt-0", now_ + 120'000);  // outside the request margin, inside the 5 min one
  auto flights = r->ScanOnce();
  ASSERT_EQ(flights.size(), 1u);
  EXPECT_TRUE(r->ScanOnce().empty() || ep_.calls() <= 1);
  ASSERT_TRUE(flights[0]->WaitFor(std::chrono::seconds(10)));
  EXPECT_EQ(flights[0]->outcome().kind, RefreshOutcome::Kind::kRefreshed);
  EXPECT_EQ(ep_.calls(), 1);
  EXPECT_NE(ScratchDir::Read(dir_.path() / "h.credentials.json").find("at-1"), std::string::npos);
  EXPECT_TRUE(r->ScanOnce().empty());  // fresh now
}

TEST_F(RefresherTest, StopFailsQueuedFlights) {
  OAuthRefresher::Options o;
  o.background = false;
  OAuthRefresher r(o, ep_, store_, nullptr);  // never started: jobs stay queued
  auto cred = Write("at-0", "rt-0", 1);
  const Admission a = r.Admit(cred);
  ASSERT_EQ(a.kind, Kind::kWait);
  r.Stop();
  ASSERT_TRUE(a.flight->Done());
  EXPECT_EQ(a.flight->outcome().kind, RefreshOutcome::Kind::kFailed);
}

}  // namespace
}  // namespace cn::oauth
