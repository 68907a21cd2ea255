// claude-nexus against PostgreSQL end to end: the real binary (two replicas) and the fake
// upstream, one throw-away database from CN_TEST_DATABASE_URL (scripts/ci-postgres.sh).
// Without a server the tests skip locally and fail under CI=true.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fakes/fake_upstream.h"
#include "integration/harness.h"
#include "pg_test_database.h"
#include "storage/postgres/postgres_store.h"

namespace cn::testing {
namespace {

using storage::testing::PgTestDatabase;
using storage::testing::TestServerUrl;

std::string Scalar(const std::string& url, const std::string& sql) {
  PGconn* conn = PQconnectdb(url.c_str());
  std::string out;
  if (PQstatus(conn) == CONNECTION_OK) {
    PGresult* r = PQexec(conn, sql.c_str());
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0) out = PQgetvalue(r, 0, 0);
    PQclear(r);
  }
  PQfinish(conn);
  return out;
}

// Runs a statement; "" on success, else the error.
std::string Exec(const std::string& url, const std::string& sql) {
  PGconn* conn = PQconnectdb(url.c_str());
  std::string error;
  if (PQstatus(conn) != CONNECTION_OK) {
    error = PQerrorMessage(conn);
  } else {
    PGresult* r = PQexec(conn, sql.c_str());
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
      error = PQresultErrorMessage(r);
    }
    PQclear(r);
  }
  PQfinish(conn);
  return error;
}

std::int64_t Count(const std::string& url) {
  const std::string v = Scalar(url, "SELECT count(*) FROM api_requests");
  return v.empty() ? -1 : std::stoll(v);
}

// requestCount of `domain` in GET /token-stats, or -1.
std::int64_t TokenStatsRequests(std::uint16_t port, const std::string& domain) {
  HttpResponse r = Http(port, "GET", "/token-stats");
  boost::json::error_code ec;
  boost::json::value v = boost::json::parse(r.body, ec);
  if (ec || !v.is_object()) return -1;
  const auto* stats = v.get_object().if_contains("stats");
  if (stats == nullptr || !stats->is_object()) return -1;
  const auto* entry = stats->get_object().if_contains(domain);
  if (entry == nullptr || !entry->is_object()) return -1;
  const auto* n = entry->get_object().if_contains("requestCount");
  return n != nullptr && n->is_int64() ? n->get_int64() : -1;
}

std::string Body() {
  return R"({"model":"claude-sonnet-4-20250514","max_tokens":64,"messages":[{"role":"user","content":"Hi"}]})";
}

class PostgresIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CN_REQUIRE_POSTGRES();
    db_ = std::make_unique<PgTestDatabase>();
    ASSERT_TRUE(db_->ok()) << db_->error();
    upstream_ = std::make_unique<FakeUpstream>(FakeUpstreamOptions{});
  }

  std::unique_ptr<ProxyProcess> StartReplica(const TempDir& dir) {
    auto p = ProxyProcess::Start({{"CLAUDE_API_BASE_URL", upstream_->base_url()},
                                  {"DATABASE_URL", db_->url()},
                                  {"TOKEN_STATS_REFRESH_MS", "200"}},
                                 dir.path());
    EXPECT_TRUE(p);
    if (p) {
      EXPECT_NE(p->port(), 0) << p->Log();
    }
    return p;
  }

  // Sends n requests to `port`; returns the X-Request-IDs of the 200 answers.
  static std::vector<std::string> Send(std::uint16_t port, int n) {
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) {
      HttpResponse r =
          Http(port, "POST", "/v1/messages",
               {{"content-type", "application/json"}, {"x-api-key", "sk-test"}}, Body());
      EXPECT_EQ(r.status, 200) << r.error << r.body;
      if (r.status == 200) ids.push_back(r.Header("x-request-id"));
    }
    return ids;
  }

  std::unique_ptr<PgTestDatabase> db_;
  std::unique_ptr<FakeUpstream> upstream_;
};

TEST_F(PostgresIntegrationTest, TwoReplicasLoseNothingDuplicateNothingAndAgreeOnTokenStats) {
  TempDir dir_a, dir_b;
  auto a = StartReplica(dir_a);
  auto b = StartReplica(dir_b);
  ASSERT_TRUE(a && b);
  constexpr int kPerReplica = 25;
  std::vector<std::string> ids_a, ids_b;
  std::thread ta([&] { ids_a = Send(a->port(), kPerReplica); });
  std::thread tb([&] { ids_b = Send(b->port(), kPerReplica); });
  ta.join();
  tb.join();
  ASSERT_EQ(ids_a.size() + ids_b.size(), 2u * kPerReplica);

  const std::string& url = db_->url();
  EXPECT_TRUE(Eventually([&] { return Count(url) == 2 * kPerReplica; }, std::chrono::seconds(20)))
      << Count(url) << "\n"
      << a->Log() << b->Log();
  std::set<std::string> unique(ids_a.begin(), ids_a.end());
  unique.insert(ids_b.begin(), ids_b.end());
  EXPECT_EQ(unique.size(), 2u * kPerReplica);
  EXPECT_EQ(Scalar(url, "SELECT count(DISTINCT request_id) FROM api_requests"),
            std::to_string(2 * kPerReplica));
  for (const std::string& id : unique) {
    EXPECT_EQ(Scalar(url, "SELECT count(*) FROM api_requests WHERE request_id = '" + id + "'"), "1")
        << id;
  }

  // Each replica records its own Host (domain); both serve both domains' totals.
  for (const ProxyProcess* p : {a.get(), b.get()}) {
    for (const ProxyProcess* domain_of : {a.get(), b.get()}) {
      EXPECT_TRUE(Eventually(
          [&] { return TokenStatsRequests(p->port(), domain_of->host_header()) == kPerReplica; },
          std::chrono::seconds(10)))
          << "replica " << p->port() << " for " << domain_of->host_header() << ": "
          << Http(p->port(), "GET", "/token-stats").body;
    }
  }
}

TEST_F(PostgresIntegrationTest, StreamedExchangeStoresEveryEventWithItsTokenCount) {
  TempDir dir;
  auto p = StartReplica(dir);
  ASSERT_TRUE(p);
  // message_start, content_block_start, 3 deltas, content_block_stop, message_delta
  // (usage.output_tokens = 3), message_stop.
  HttpResponse r =
      Http(p->port(), "POST", "/v1/messages",
           {{"content-type", "application/json"}, {"x-api-key", "sk-test"}, {"x-fake-deltas", "3"}},
           R"({"model":"claude-sonnet-4-20250514","max_tokens":64,"stream":true,)"
           R"("messages":[{"role":"user","content":"Hi"}]})");
  ASSERT_EQ(r.status, 200) << r.error << r.body;
  const std::string id = r.Header("x-request-id");
  const std::string& url = db_->url();
  ASSERT_TRUE(Eventually([&] { return Count(url) == 1; }, std::chrono::seconds(20))) << p->Log();
  // token_count comes from enrichment (Record::chunk_usage), not from the store parsing events.
  const std::string where = " WHERE request_id = '" + id + "'";
  const std::string counts = Scalar(
      url, "SELECT string_agg(token_count::text, ',' ORDER BY chunk_index) FROM streaming_chunks" +
               where);
  EXPECT_EQ(counts, "0,0,0,0,0,0,3,0");
  EXPECT_EQ(Scalar(url, "SELECT output_tokens FROM api_requests" + where), "3");
}

TEST_F(PostgresIntegrationTest, DatabaseOutageMidRunSpillsThenReplaysEverything) {
  TempDir dir;
  auto proxy = StartReplica(dir);
  ASSERT_TRUE(proxy);
  const std::string& url = db_->url();
  std::vector<std::string> ids = Send(proxy->port(), 5);
  ASSERT_TRUE(Eventually([&] { return Count(url) == 5; }, std::chrono::seconds(20)));

  // Outage: no new connections to this database, and the proxy's sessions are killed.
  const std::string admin = TestServerUrl();
  ASSERT_EQ(Exec(admin, "ALTER DATABASE " + db_->name() + " ALLOW_CONNECTIONS false"), "");
  ASSERT_EQ(Scalar(admin,
                   "SELECT count(pg_terminate_backend(pid)) >= 1 FROM pg_stat_activity "
                   "WHERE datname = '" +
                       db_->name() + "'"),
            "t");
  // The proxy keeps proxying; the records go to the spill file.
  std::vector<std::string> during = Send(proxy->port(), 10);
  EXPECT_EQ(during.size(), 10u);
  EXPECT_TRUE(Eventually(
      [&] {
        return MetricValue(Http(proxy->port(), "GET", "/metrics").body,
                           "cn_records_spilled_total") >= 1;
      },
      std::chrono::seconds(20)))
      << Http(proxy->port(), "GET", "/metrics").body;

  // The database comes back: the spilled records are replayed, once each.
  ASSERT_EQ(Exec(admin, "ALTER DATABASE " + db_->name() + " ALLOW_CONNECTIONS true"), "");
  EXPECT_TRUE(Eventually([&] { return Count(url) == 15; }, std::chrono::seconds(40)))
      << Count(url) << "\n"
      << Http(proxy->port(), "GET", "/metrics").body << proxy->Log();
  for (const std::string& id : during) {
    EXPECT_EQ(Scalar(url, "SELECT count(*) FROM api_requests WHERE request_id = '" + id + "'"),
              "1");
  }
  EXPECT_GE(MetricValue(Http(proxy->port(), "GET", "/metrics").body, "cn_records_replayed_total"),
            1);
  EXPECT_EQ(MetricValue(Http(proxy->port(), "GET", "/metrics").body, "cn_records_failed_total"), 0);
}

TEST_F(PostgresIntegrationTest, MigrateCommandAndClearStartupErrors) {
  TempDir dir;
  auto migrate = ProxyProcess::Start({{"DATABASE_URL", db_->url()}}, dir.path(), {"migrate"});
  ASSERT_TRUE(migrate);
  EXPECT_EQ(migrate->WaitExit(std::chrono::seconds(30)), 0) << migrate->Log();
  // Every migration the binary knows (storage/postgres/pg_schema.cc), not a number to update.
  EXPECT_EQ(Scalar(db_->url(), "SELECT max(version) FROM schema_migrations"),
            std::to_string(storage::PostgresStore::LatestSchemaVersion()));

  // Unreachable server: exits 2 at start-up, names the server, never the password.
  TempDir dir2;
  auto bad = ProxyProcess::Start(
      {{"DATABASE_URL", "postgresql://nexus:sekrit-pw@127.0.0.1:1/db?connect_timeout=2"}},
      dir2.path());
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->WaitExit(std::chrono::seconds(30)), 2);
  EXPECT_NE(bad->Log().find("127.0.0.1"), std::string::npos) << bad->Log();
  EXPECT_EQ(bad->Log().find("sekrit"), std::string::npos) << bad->Log();
}

}  // namespace
}  // namespace cn::testing
