// Process lifecycle: store outages (spill and replay), SIGTERM drain, kill -9 and restart,
// configuration errors, the healthcheck and --version subcommands.

#include <signal.h>
#include <sqlite3.h>

#include "integration/fixture.h"

namespace cn::testing {
namespace {

using std::chrono::seconds;

// Holds SQLite's write lock on the proxy's database: the store "fails" (busy) until released.
class StoreOutage {
 public:
  explicit StoreOutage(const std::filesystem::path& db) {
    sqlite3_open((db).c_str(), &db_);
    ok_ = sqlite3_exec(db_, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr) == SQLITE_OK;
  }
  ~StoreOutage() { End(); }
  bool ok() const { return ok_; }
  void End() {
    if (db_ == nullptr) return;
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(db_);
    db_ = nullptr;
  }

 private:
  sqlite3* db_ = nullptr;
  bool ok_ = false;
};

double Metric(std::uint16_t port, const std::string& name) {
  return MetricValue(Http(port, "GET", "/metrics").body, name);
}

TEST_F(ProxyFixture, StoreOutageSpillsThenReplaysWithNothingLostOrDuplicated) {
  StartProxy();
  StoreOutage outage(dir_.path() / "claude-nexus.db");
  ASSERT_TRUE(outage.ok());
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    auto res = Http(port(), "POST", "/v1/messages", {}, MessagesBody(i % 2 == 0));
    ASSERT_EQ(res.status, 200) << "proxying must not depend on the store";
    ids.push_back(res.Header("x-request-id"));
  }
  ASSERT_TRUE(
      Eventually([&] { return Metric(port(), "cn_records_spilled_total") >= 1; }, seconds(20)))
      << Http(port(), "GET", "/metrics").body;
  auto health = Http(port(), "GET", "/health");
  EXPECT_EQ(health.status, 200);
  EXPECT_NE(health.body.find("\"database\":\"disconnected\""), std::string::npos) << health.body;
  outage.End();
  ASSERT_TRUE(Eventually([&] { return records().Count() == 20; }, seconds(30)))
      << records().Count();
  for (const auto& id : ids) EXPECT_TRUE(records().Get(id)) << id;
  EXPECT_EQ(Metric(port(), "cn_records_failed_total"), 0);
  EXPECT_TRUE(Eventually([&] {
    return Http(port(), "GET", "/health").body.find("\"connected\"") != std::string::npos;
  }));
}

TEST_F(ProxyFixture, SigtermLetsOpenStreamsFinishThenExitsZero) {
  StartProxy();
  StreamingClient c(port(), "/v1/messages", {{"x-fake-deltas", "15"}, {"x-fake-delay-ms", "100"}},
                    MessagesBody(true));
  ASSERT_TRUE(c.ReadHeader(seconds(5)));
  ASSERT_TRUE(c.ReadUntil("content_block_delta", seconds(5)));
  proxy_->Signal(SIGTERM);
  // New connections are refused once draining started.
  ASSERT_TRUE(
      Eventually([&] { return !Http(port(), "GET", "/health", {}, {}, seconds(1)).error.empty(); },
                 seconds(5)));
  ASSERT_TRUE(c.ReadToEnd(seconds(15))) << c.body();
  EXPECT_NE(c.body().find("event: message_stop"), std::string::npos);
  auto code = proxy_->WaitExit(seconds(20));
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 0) << proxy_->Log();
  auto rec = records().Get(c.Header("x-request-id"));
  ASSERT_TRUE(rec) << "drained to the store before exit";
  EXPECT_EQ(rec->outcome, Outcome::kCompleted);
}

TEST_F(ProxyFixture, SigtermAbortsStreamsThatOutliveTheGracePeriodAndRecordsThem) {
  StartProxy({{"SHUTDOWN_TIMEOUT_MS", "300"}});
  StreamingClient c(port(), "/v1/messages", {{"x-fake-deltas", "100"}, {"x-fake-delay-ms", "100"}},
                    MessagesBody(true));
  ASSERT_TRUE(c.ReadHeader(seconds(5)));
  ASSERT_TRUE(c.ReadUntil("content_block_delta", seconds(5)));
  proxy_->Signal(SIGTERM);
  auto code = proxy_->WaitExit(seconds(20));
  ASSERT_TRUE(code) << proxy_->Log();
  EXPECT_EQ(*code, 0) << proxy_->Log();
  auto rec = records().Get(c.Header("x-request-id"));
  ASSERT_TRUE(rec) << proxy_->Log();
  EXPECT_EQ(rec->outcome, Outcome::kClientAborted);
  EXPECT_NE(rec->error.find("shutdown"), std::string::npos) << rec->error;
}

TEST_F(ProxyFixture, KillNineThenRestartKeepsCommittedAndSpilledRecordsAndStats) {
  StartProxy();
  for (int i = 0; i < 10; ++i)
    ASSERT_EQ(Http(port(), "POST", "/v1/messages", {}, MessagesBody()).status, 200);
  ASSERT_TRUE(Eventually([&] { return Metric(port(), "cn_records_written_total") == 10; }));
  {
    StoreOutage outage(dir_.path() / "claude-nexus.db");
    ASSERT_TRUE(outage.ok());
    for (int i = 0; i < 5; ++i)
      ASSERT_EQ(Http(port(), "POST", "/v1/messages", {}, MessagesBody()).status, 200);
    ASSERT_TRUE(
        Eventually([&] { return Metric(port(), "cn_records_spilled_total") == 5; }, seconds(20)));
    proxy_->Signal(SIGKILL);
    ASSERT_TRUE(proxy_->WaitExit(seconds(5)));
  }
  reader_.reset();
  StartProxy();
  ASSERT_TRUE(Eventually([&] { return records().Count() == 15; }, seconds(20)))
      << records().Count();
  auto ts = Http(port(), "GET", "/token-stats");
  EXPECT_NE(ts.body.find("\"requestCount\":15"), std::string::npos) << ts.body;
}

TEST_F(ProxyFixture, BadConfigurationStopsStartupNamingTheSetting) {
  StartUpstream();
  auto p = ProxyProcess::Start({{"CLAUDE_API_BASE_URL", "ftp://nope"}}, dir_.path());
  ASSERT_TRUE(p);
  EXPECT_EQ(p->port(), 0);
  auto code = p->WaitExit(seconds(5));
  ASSERT_TRUE(code);
  EXPECT_NE(*code, 0);
  EXPECT_NE(p->Log().find("CLAUDE_API_BASE_URL"), std::string::npos) << p->Log();
  auto q = ProxyProcess::Start({{"PORT", "notaport"}}, dir_.path());
  ASSERT_TRUE(q);
  ASSERT_TRUE(q->WaitExit(seconds(5)));
  EXPECT_NE(q->Log().find("PORT"), std::string::npos) << q->Log();
}

TEST_F(ProxyFixture, HealthcheckAndVersionSubcommands) {
  StartProxy();
  auto ok = ProxyProcess::Start(
      {}, dir_.path(), {"healthcheck", "http://127.0.0.1:" + std::to_string(port()) + "/health"});
  ASSERT_TRUE(ok);
  auto code = ok->WaitExit(seconds(5));
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 0) << ok->Log();
  auto bad = ProxyProcess::Start({}, dir_.path(), {"healthcheck", "http://127.0.0.1:1/health"});
  code = bad->WaitExit(seconds(5));
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 1);
  auto v = ProxyProcess::Start({}, dir_.path(), {"--version"});
  ASSERT_TRUE(v->WaitExit(seconds(5)));
  EXPECT_NE(v->Log().find("claude-nexus "), std::string::npos);
  EXPECT_NE(v->Log().find("revision"), std::string::npos);
  EXPECT_NE(v->Log().find("allocator "), std::string::npos) << v->Log();
}

}  // namespace
}  // namespace cn::testing
