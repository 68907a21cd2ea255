// PostgresStore: the shared conformance suite plus what only PostgreSQL has — adopting a
// database created by the original, the original's queries over our rows, concurrent writers,
// retention, the body policy and failure injection. Needs a server: CN_TEST_DATABASE_URL
// (scripts/ci-postgres.sh). Without it the tests skip locally and fail under CI=true.
#include "storage/postgres/postgres_store.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string_view>
#include <thread>
#include <vector>

#include "common/ids.h"
#include "common/time.h"
#include "pg_test_database.h"
#include "store_conformance_test.h"
#include "store_test_target.h"

namespace cn::storage::testing {
namespace {

class PostgresTarget final : public StoreTestTarget {
 public:
  static std::unique_ptr<StoreTestTarget> Make() {
    auto t = std::make_unique<PostgresTarget>();
    if (!t->db_.ok()) {
      ADD_FAILURE() << t->db_.error();
      return nullptr;
    }
    auto store = PostgresStore::Open({t->db_.url()});
    if (!store.ok()) {
      ADD_FAILURE() << store.status().ToString();
      return nullptr;
    }
    if (Status s = (*store)->Migrate(); !s.ok()) {
      ADD_FAILURE() << s.ToString();
      return nullptr;
    }
    t->store_ = std::move(store).value();
    return t;
  }
  Store& store() override { return *store_; }
  std::vector<std::int64_t> ChunkTokenCounts(const std::string& request_id) override;
  std::vector<std::string> SearchMatches(const std::string& word) override;
  std::int64_t SearchRowCount() override;
  std::vector<std::pair<std::int64_t, std::string>> Events() override;
  void BackdateEvent(const std::string& request_id, std::int64_t micros) override;

 private:
  PgTestDatabase db_;  // declared first: dropped after the store's connections close
  std::unique_ptr<PostgresStore> store_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// One query on `url`; rows as vectors of text values (NULL -> "<null>").
std::vector<std::vector<std::string>> Query(const std::string& url, const std::string& sql) {
  std::vector<std::vector<std::string>> rows;
  PGconn* conn = PQconnectdb(url.c_str());
  EXPECT_EQ(PQstatus(conn), CONNECTION_OK) << PQerrorMessage(conn);
  PGresult* r = PQexec(conn, sql.c_str());
  EXPECT_EQ(PQresultStatus(r), PGRES_TUPLES_OK) << sql << "\n" << PQresultErrorMessage(r);
  for (int i = 0; i < PQntuples(r); ++i) {
    auto& row = rows.emplace_back();
    for (int c = 0; c < PQnfields(r); ++c) {
      row.push_back(PQgetisnull(r, i, c) ? "<null>" : PQgetvalue(r, i, c));
    }
  }
  PQclear(r);
  PQfinish(conn);
  return rows;
}

std::string One(const std::string& url, const std::string& sql) {
  auto rows = Query(url, sql);
  if (rows.empty() || rows[0].empty()) {
    ADD_FAILURE() << "no value from " << sql;
    return {};
  }
  return rows[0][0];
}

std::vector<std::int64_t> PostgresTarget::ChunkTokenCounts(const std::string& request_id) {
  std::vector<std::int64_t> out;
  const std::string sql = "SELECT token_count FROM streaming_chunks WHERE request_id = '" +
                          request_id + "' ORDER BY chunk_index";
  for (const auto& row : Query(db_.url(), sql)) {
    out.push_back(std::stoll(row.at(0)));
  }
  return out;
}

std::vector<std::string> PostgresTarget::SearchMatches(const std::string& word) {
  std::vector<std::string> out;
  for (const auto& row : Query(db_.url(),
                               "SELECT request_id::text FROM cn_search WHERE tsv @@ "
                               "plainto_tsquery('simple', '" +
                                   word + "') ORDER BY request_id::text")) {
    out.push_back(row.at(0));
  }
  return out;
}

std::int64_t PostgresTarget::SearchRowCount() {
  return std::stoll(One(db_.url(), "SELECT count(*) FROM cn_search"));
}

std::vector<std::pair<std::int64_t, std::string>> PostgresTarget::Events() {
  std::vector<std::pair<std::int64_t, std::string>> out;
  for (const auto& row :
       Query(db_.url(), "SELECT seq, request_id::text FROM cn_events ORDER BY seq")) {
    out.emplace_back(std::stoll(row.at(0)), row.at(1));
  }
  return out;
}

void PostgresTarget::BackdateEvent(const std::string& request_id, std::int64_t micros) {
  EXPECT_EQ(One(db_.url(), "WITH u AS (UPDATE cn_events SET created_us = created_us - " +
                               std::to_string(micros) + " WHERE request_id = '" + request_id +
                               "' RETURNING 1) SELECT count(*) FROM u"),
            "1");
}

INSTANTIATE_TEST_SUITE_P(Postgres, StoreConformanceTest,
                         ::testing::Values(StoreFactory{"Postgres", &PostgresTarget::Make,
                                                        /*canonical_json=*/true,
                                                        &PostgresMissingReason,
                                                        /*shared_by_replicas=*/true}),
                         [](const auto& param_info) { return param_info.param.name; });

bool SameJson(std::string_view a, std::string_view b) {
  boost::json::error_code e1, e2;
  auto x = boost::json::parse(a, e1);
  auto y = boost::json::parse(b, e2);
  return !e1 && !e2 && x == y;
}

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CN_REQUIRE_POSTGRES();
    db_ = std::make_unique<PgTestDatabase>();
    ASSERT_TRUE(db_->ok()) << db_->error();
  }

  std::unique_ptr<PostgresStore> OpenStore(
      PostgresOptions::RawBodies raw = PostgresOptions::RawBodies::kAlways) {
    PostgresOptions o;
    o.url = db_->url();
    o.raw_bodies = raw;
    auto store = PostgresStore::Open(o);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    if (!store.ok()) return nullptr;
    Status s = (*store)->Migrate();
    EXPECT_TRUE(s.ok()) << s.ToString();
    return std::move(store).value();
  }

  void LoadOriginal() {
    for (const char* file :
         {"/postgres/original_init_database.sql", "/postgres/original_rows.sql"}) {
      const std::string sql = ReadFile(std::string(CN_TEST_DATA_DIR) + file);
      ASSERT_FALSE(sql.empty()) << file;
      ASSERT_EQ(db_->Exec(sql), "") << file;
    }
  }

  // md5 over every row of the original's columns: "never rewrites user data".
  std::string OriginalDataChecksum() {
    return One(db_->url(),
               "SELECT md5(string_agg(t::text, '|' ORDER BY t.request_id)) FROM (SELECT "
               "request_id, domain, timestamp, method, path, headers, body, api_key_hash, model, "
               "request_type, response_status, response_headers, response_body, "
               "response_streaming, input_tokens, output_tokens, total_tokens, "
               "cache_creation_input_tokens, cache_read_input_tokens, usage_data, first_token_ms, "
               "duration_ms, error, tool_call_count, current_message_hash, parent_message_hash, "
               "conversation_id, branch_id, message_count, parent_task_request_id, is_subtask, "
               "task_tool_invocation, account_id, parent_request_id, system_hash, created_at, "
               "last_message_preview FROM api_requests) t");
  }

  std::unique_ptr<PgTestDatabase> db_;
};

TEST_F(PostgresStoreTest, MigrationsAreRecordedAndConcurrentMigratorsAgree) {
  // Three "replicas" starting at once against an empty database.
  std::vector<std::unique_ptr<PostgresStore>> stores;
  for (int i = 0; i < 3; ++i) {
    auto s = PostgresStore::Open({db_->url()});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    stores.push_back(std::move(s).value());
  }
  std::vector<Status> results(stores.size());
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < stores.size(); ++i) {
    threads.emplace_back([&, i] { results[i] = stores[i]->Migrate(); });
  }
  for (auto& t : threads) t.join();
  for (const Status& s : results) EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(One(db_->url(),
                "SELECT string_agg(version::text, ',' ORDER BY version) FROM "
                "schema_migrations"),
            "1,2,3,4,5,6");
  auto version = stores[0]->SchemaVersion();
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, PostgresStore::LatestSchemaVersion());
  EXPECT_TRUE(stores[1]->Migrate().ok());
}

TEST_F(PostgresStoreTest, RefusesADatabaseFromANewerVersion) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_EQ(db_->Exec("INSERT INTO schema_migrations (version, name) VALUES (999, 'future')"), "");
  Status s = store->Migrate();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.message().find("999"), std::string::npos) << s.ToString();
}

TEST_F(PostgresStoreTest, AdoptsAnOriginalDatabaseInPlaceAndReadsItsRows) {
  LoadOriginal();
  const std::string before = OriginalDataChecksum();
  ASSERT_FALSE(before.empty());

  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Migrate().ok());  // twice: idempotent
  EXPECT_EQ(OriginalDataChecksum(), before);

  // Nothing of the original's was dropped: its tables, view, trigger and rows are all there.
  EXPECT_EQ(One(db_->url(), "SELECT count(*) FROM conversation_analyses"), "1");
  EXPECT_EQ(One(db_->url(), "SELECT count(*) FROM analysis_audit_log"), "1");
  EXPECT_EQ(db_->Exec("REFRESH MATERIALIZED VIEW hourly_stats"), "");
  EXPECT_EQ(One(db_->url(),
                "SELECT count(*) FROM pg_indexes WHERE indexname = "
                "'idx_requests_response_body_gin'"),
            "1");
  ASSERT_EQ(db_->Exec("UPDATE conversation_analyses SET updated_at = now() - interval '1 day', "
                      "status = 'failed'"),
            "");
  EXPECT_EQ(One(db_->url(),
                "SELECT updated_at > now() - interval '1 minute' FROM "
                "conversation_analyses"),
            "t");  // the trigger still sets it

  auto count = store->CountRecords();
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 3);
  auto got = store->GetRecord("22222222-2222-4222-8222-222222222222");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_TRUE(got->has_value());
  const Record& r = **got;
  EXPECT_EQ(r.domain, "team.example.com");
  EXPECT_EQ(r.model, "claude-3-opus");
  EXPECT_EQ(r.request_type, "inference");
  EXPECT_EQ(r.usage.input_tokens, 20);
  EXPECT_EQ(r.usage.output_tokens, 7);
  EXPECT_EQ(r.tool_call_count, 1);
  EXPECT_EQ(r.duration_micros, 2'000'000);
  EXPECT_EQ(r.account_id, "acc-1");
  EXPECT_EQ(r.link.parent_request_id, "11111111-1111-4111-8111-111111111111");
  EXPECT_EQ(r.message_count, 3);
  EXPECT_EQ(r.response_status, 200);
  EXPECT_EQ(r.outcome, Outcome::kCompleted);
  EXPECT_TRUE(SameJson(r.request_body, R"({"model":"claude-3-opus","messages":[{"role":"user",
      "content":"hi"},{"role":"assistant","content":"Hello"},{"role":"user","content":"more"}]})"))
      << r.request_body;
  EXPECT_TRUE(SameJson(r.response_body, r.response_json));
  EXPECT_TRUE(SameJson(r.task_tool_invocation_json,
                       R"([{"id":"toolu_1","name":"Task","input":{"prompt":"x"}}])"));
  ASSERT_EQ(r.request_headers.size(), 1u);
  EXPECT_EQ(r.request_headers[0], (Header{"user-agent", "claude-cli/1.0.0"}));
  EXPECT_GT(r.timestamp_unix_micros, NowUnixMicros() - 2LL * 3600 * 1'000'000);
  // The original never had them: the user/cost/quota columns read empty.
  EXPECT_EQ(r.user_id, "");
  EXPECT_EQ(r.session_id, "");
  EXPECT_EQ(r.cost_usd, std::nullopt);
  EXPECT_EQ(r.quota, QuotaSnapshot{});
  EXPECT_EQ(One(db_->url(), "SELECT max(version) FROM schema_migrations"),
            std::to_string(PostgresStore::LatestSchemaVersion()));
  EXPECT_EQ(One(db_->url(),
                "SELECT count(*) FROM api_requests WHERE coalesce(user_id, "
                "session_id, quota_status) IS NOT NULL OR coalesce(cost_usd, "
                "quota_5h_utilization, quota_7d_utilization) IS NOT NULL OR "
                "coalesce(quota_5h_reset, quota_7d_reset) IS NOT NULL OR "
                "ratelimit IS NOT NULL"),
            "0");

  // /token-stats starts from what the original recorded.
  auto stats = store->LoadDomainStats();
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  ASSERT_EQ(stats->size(), 2u);
  EXPECT_EQ((*stats)[1].domain, "team.example.com");
  EXPECT_EQ((*stats)[1].request_count, 2);
  EXPECT_EQ((*stats)[1].input_tokens, 30);
  EXPECT_EQ((*stats)[1].output_tokens, 12);
  EXPECT_EQ((*stats)[1].tool_call_count, 1);
  EXPECT_EQ((*stats)[1].inference_count, 2);

  // The new columns hold what a record written into the adopted database brings.
  const Record fresh = FullRecord(7);
  ASSERT_TRUE(store->WriteBatch(std::vector{fresh}).ok());
  auto got_fresh = store->GetRecord(fresh.request_id);
  ASSERT_TRUE(got_fresh.ok() && got_fresh->has_value()) << got_fresh.status().ToString();
  EXPECT_EQ((*got_fresh)->user_id, fresh.user_id);
  EXPECT_EQ((*got_fresh)->cost_usd, fresh.cost_usd);
  EXPECT_EQ((*got_fresh)->quota.utilization_7d, fresh.quota.utilization_7d);
  EXPECT_EQ((*got_fresh)->quota.resets_at_5h, fresh.quota.resets_at_5h);
  EXPECT_TRUE(SameJson((*got_fresh)->quota.json, fresh.quota.json)) << (*got_fresh)->quota.json;
}

// The original's read paths as SQL — its token-usage queries (per-account 5 h window, daily) and
// its dashboard API's (request list and detail, stats, conversations) — over rows claude-nexus
// wrote into an adopted database (docs/storage.md).
TEST_F(PostgresStoreTest, OriginalQueriesReadWhatWeWrite) {
  LoadOriginal();
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);

  const std::int64_t now = NowUnixMicros();
  Record ours = FullRecord(7);
  ours.domain = "team.example.com";
  ours.account_id = "acc-1";
  ours.timestamp_unix_micros = now - 10LL * 60 * 1'000'000;  // 10 minutes ago
  ours.usage = {100, 40, 3, 4};
  ours.response_headers.push_back({"anthropic-ratelimit-unified-status", "allowed_warning"});
  ours.link.conversation_id = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
  ours.link.branch_id = "main";
  ours.link.is_subtask = false;
  ours.link.parent_request_id = "22222222-2222-4222-8222-222222222222";
  ours.link.parent_task_request_id.clear();
  ours.error.clear();
  ours.outcome = Outcome::kCompleted;
  Record failed = SimpleRecord("team.example.com", "inference", 0, 0, 0, now - 5'000'000);
  failed.account_id = "acc-1";
  failed.response_status = 529;
  failed.error = "overloaded";
  failed.outcome = Outcome::kUpstreamFailed;
  ASSERT_TRUE(store->WriteBatch(std::vector{ours, failed}).ok());
  const std::string& url = db_->url();

  // Token usage, current window (300 minutes) for acc-1: the original's two rows + our two.
  auto window = Query(url,
                      "SELECT COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0), "
                      "COALESCE(SUM(input_tokens + output_tokens), 0), COUNT(*), "
                      "COALESCE(SUM(cache_creation_input_tokens), 0), "
                      "COALESCE(SUM(cache_read_input_tokens), 0) FROM api_requests "
                      "WHERE account_id = 'acc-1' AND timestamp >= NOW() - INTERVAL '300 minutes' "
                      "AND timestamp < NOW()");
  ASSERT_EQ(window.size(), 1u);
  EXPECT_EQ(window[0], (std::vector<std::string>{"130", "52", "182", "4", "4", "6"}));

  // Token usage, daily, aggregated per domain.
  auto daily = Query(url,
                     "SELECT DATE(timestamp AT TIME ZONE 'UTC')::text, account_id, domain, "
                     "SUM(input_tokens), SUM(output_tokens), SUM(total_tokens), COUNT(*) "
                     "FROM api_requests WHERE account_id = 'acc-1' AND timestamp >= NOW() - "
                     "INTERVAL '30 days' GROUP BY 1, 2, 3 ORDER BY 1 DESC");
  std::int64_t daily_requests = 0, daily_total = 0;
  for (const auto& row : daily) {
    daily_requests += std::stoll(row[6]);
    daily_total += std::stoll(row[5]);
  }
  EXPECT_EQ(daily_requests, 4);
  EXPECT_EQ(daily_total, 182);  // total_tokens = input + output, as the original computes it

  // Dashboard API GET /api/requests?domain=: newest first, with the original's columns.
  auto recent =
      Query(url,
            "SELECT request_id, model, input_tokens, output_tokens, total_tokens, "
            "duration_ms, response_status, error, request_type FROM api_requests "
            "WHERE domain = 'team.example.com' ORDER BY timestamp DESC LIMIT 100 OFFSET 0");
  ASSERT_EQ(recent.size(), 4u);
  EXPECT_EQ(recent[0][0], failed.request_id);
  EXPECT_EQ(recent[0][6], "529");
  EXPECT_EQ(recent[0][7], "overloaded");
  EXPECT_EQ(recent[1][0], ours.request_id);
  EXPECT_EQ(recent[1][4], "140");
  EXPECT_EQ(recent[1][5], std::to_string(ours.duration_micros / 1000));

  // Dashboard API GET /api/requests/:id: bodies as JSONB, chunks in order with their token counts.
  auto detail = Query(url,
                      "SELECT body->>'model', jsonb_array_length(body->'messages'), "
                      "response_body->>'id', usage_data->>'output_tokens', conversation_id, "
                      "branch_id, parent_request_id FROM api_requests WHERE request_id = '" +
                          ours.request_id + "'");
  ASSERT_EQ(detail.size(), 1u);
  EXPECT_EQ(detail[0], (std::vector<std::string>{"claude-3-opus", "1", "msg_1", "42",
                                                 ours.link.conversation_id, "main",
                                                 ours.link.parent_request_id}));
  auto chunks = Query(url,
                      "SELECT chunk_index, data, token_count FROM streaming_chunks WHERE "
                      "request_id = '" +
                          ours.request_id + "' ORDER BY chunk_index");
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[2][1], ours.chunks[2].data);
  EXPECT_EQ(chunks[2][2], "42");

  // Dashboard API GET /api/stats and the token-usage window's rate-limit flag
  // (response_headers JSONB).
  auto stats = Query(url,
                     "SELECT COUNT(*), COUNT(*) FILTER (WHERE error IS NOT NULL), "
                     "COUNT(DISTINCT domain), bool_or(response_headers->>"
                     "'anthropic-ratelimit-unified-status' = 'allowed_warning') "
                     "FROM api_requests WHERE timestamp > NOW() - INTERVAL '24 hours'");
  EXPECT_EQ(stats[0], (std::vector<std::string>{"4", "1", "1", "t"}));

  // Dashboard API conversations ("limit first, aggregate second") sees our request in the
  // conversation.
  auto conversations =
      Query(url,
            "WITH page AS (SELECT conversation_id, max(timestamp) AS last FROM api_requests WHERE "
            "conversation_id IS NOT NULL GROUP BY conversation_id ORDER BY last DESC LIMIT 50) "
            "SELECT r.conversation_id, count(*), sum(r.total_tokens) FROM page JOIN api_requests r "
            "USING (conversation_id) GROUP BY r.conversation_id");
  ASSERT_EQ(conversations.size(), 1u);
  EXPECT_EQ(conversations[0][1], "3");

  // The stats table advanced by exactly our two rows.
  auto domain_stats = store->LoadDomainStats();
  ASSERT_TRUE(domain_stats.ok());
  EXPECT_EQ((*domain_stats)[1].request_count, 4);
  EXPECT_EQ((*domain_stats)[1].input_tokens, 130);
}

TEST_F(PostgresStoreTest, BodiesJsonbCannotHoldAreKeptExactly) {
  for (auto policy :
       {PostgresOptions::RawBodies::kAlways, PostgresOptions::RawBodies::kWhenNeeded}) {
    auto store = OpenStore(policy);
    ASSERT_NE(store, nullptr);
    Record binary = SimpleRecord("x", "other", 0, 0, 0, 1'700'000'000'000'000);
    binary.request_body = std::string("not json\0\xff\xfe", 11);
    Record nul = SimpleRecord("x", "inference", 0, 0, 0, 1'700'000'000'000'001);
    nul.request_body = R"({"messages":[{"content":"a\u0000b"}]})";
    nul.response_json = R"({"content":[{"text":"nul \u0000 here"}]})";
    nul.response_body = nul.response_json;
    Record json = SimpleRecord("x", "inference", 0, 0, 0, 1'700'000'000'000'002);
    json.request_body = R"({"model":"m",  "messages":[]})";
    ASSERT_TRUE(store->WriteBatch(std::vector{binary, nul, json}).ok());
    for (const Record* r : {&binary, &nul}) {
      auto got = store->GetRecord(r->request_id);
      ASSERT_TRUE(got.ok() && got->has_value());
      EXPECT_EQ((*got)->request_body, r->request_body);
      EXPECT_EQ((*got)->response_body, r->response_body);
      EXPECT_EQ(One(db_->url(), "SELECT body IS NULL FROM api_requests WHERE request_id = '" +
                                    r->request_id + "'"),
                "t");
    }
    auto got = store->GetRecord(json.request_id);
    ASSERT_TRUE(got.ok() && got->has_value());
    const bool exact = policy == PostgresOptions::RawBodies::kAlways;
    EXPECT_EQ((*got)->request_body == json.request_body, exact) << (*got)->request_body;
    EXPECT_TRUE(SameJson((*got)->request_body, json.request_body));
    EXPECT_EQ(One(db_->url(), "SELECT body_raw IS NULL FROM api_requests WHERE request_id = '" +
                                  json.request_id + "'"),
              exact ? "f" : "t");
    store.reset();
    db_ = std::make_unique<PgTestDatabase>();
    ASSERT_TRUE(db_->ok());
  }
}

// Who, cost and quota (docs/storage.md): typed columns, `ratelimit` JSONB; a quota JSON JSONB
// cannot hold is sanitised or left NULL, never failing the batch.
TEST_F(PostgresStoreTest, QuotaColumnsAreTypedAndRatelimitIsJsonb) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  const Record full = FullRecord(1);
  Record bad_utf8 = SimpleRecord("x", "inference", 0, 0, 0, 1'700'000'000'000'000);
  bad_utf8.quota.status = "allowed";
  bad_utf8.quota.json = "{\"status\":\"allowed\",\"unknown\":{\"anthropic-ratelimit-x\":\"\xff\"}}";
  Record nul = SimpleRecord("x", "inference", 0, 0, 0, 1'700'000'000'000'001);
  nul.quota.status = "allowed";
  nul.quota.json = R"({"status":"allowed","unknown":{"anthropic-ratelimit-x":"\u0000"}})";
  Status s = store->WriteBatch(std::vector{full, bad_utf8, nul});
  ASSERT_TRUE(s.ok()) << s.ToString();

  EXPECT_EQ(One(db_->url(),
                "SELECT string_agg(column_name || ':' || data_type, ',' ORDER BY "
                "column_name) FROM information_schema.columns WHERE table_name = "
                "'api_requests' AND table_schema = current_schema() AND column_name "
                "IN ('user_id', 'session_id', 'cost_usd', 'quota_status', "
                "'quota_5h_utilization', 'quota_5h_reset', 'quota_7d_utilization', "
                "'quota_7d_reset', 'ratelimit')"),
            "cost_usd:double precision,quota_5h_reset:bigint,quota_5h_utilization:double "
            "precision,quota_7d_reset:bigint,quota_7d_utilization:double precision,"
            "quota_status:text,ratelimit:jsonb,session_id:text,user_id:text");
  EXPECT_EQ(One(db_->url(),
                "SELECT cost_usd = 0.1::float8 + 0.2::float8 + 1 AND "
                "quota_7d_utilization = 1::float8 / 3 AND quota_5h_reset = 1795003601 "
                "AND ratelimit #>> '{windows,5h,utilization}' = '0.81' AND "
                "ratelimit ->> 'status' = quota_status FROM api_requests WHERE "
                "request_id = '" +
                    full.request_id + "'"),
            "t");

  auto got = store->GetRecord(bad_utf8.request_id);
  ASSERT_TRUE(got.ok() && got->has_value()) << got.status().ToString();
  EXPECT_EQ((*got)->quota.status, "allowed");
  EXPECT_TRUE(
      SameJson((*got)->quota.json,
               "{\"status\":\"allowed\",\"unknown\":{\"anthropic-ratelimit-x\":\"\xef\xbf\xbd\"}}"))
      << (*got)->quota.json;
  got = store->GetRecord(nul.request_id);
  ASSERT_TRUE(got.ok() && got->has_value()) << got.status().ToString();
  EXPECT_EQ((*got)->quota.status, "allowed");
  EXPECT_EQ((*got)->quota.json, "");
}

TEST_F(PostgresStoreTest, RetentionDeletesOldestInBoundedBatchesWithTheirChunks) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  const std::int64_t t0 = 1'700'000'000'000'000;
  std::vector<Record> batch;
  for (int i = 0; i < 10; ++i) {
    Record r = FullRecord(i);
    r.timestamp_unix_micros = t0 + i * 1'000'000LL;
    batch.push_back(r);
  }
  ASSERT_TRUE(store->WriteBatch(batch).ok());
  const std::int64_t cutoff = t0 + 5 * 1'000'000LL;  // records 0..4 are older
  auto first = store->PruneOlderThan(cutoff, 3);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(*first, 3);
  auto second = store->PruneOlderThan(cutoff, 3);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, 2);
  auto third = store->PruneOlderThan(cutoff, 3);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(*third, 0);
  EXPECT_EQ(*store->CountRecords(), 5);
  EXPECT_FALSE(store->GetRecord(batch[4].request_id)->has_value());
  EXPECT_TRUE(store->GetRecord(batch[5].request_id)->has_value());
  EXPECT_EQ(One(db_->url(), "SELECT count(*) FROM streaming_chunks"), "15");
}

TEST_F(PostgresStoreTest, ReplicasWritingConcurrentlyLoseAndDuplicateNothing) {
  auto a = OpenStore();
  auto b = OpenStore();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  // 200 distinct records; each replica writes all of them in its own batch order, so every id
  // is written twice, concurrently (a replay racing the first write).
  std::vector<Record> records;
  for (int i = 0; i < 200; ++i) {
    records.push_back(SimpleRecord(i % 2 ? "a.example" : "b.example", "inference", 2, 3, 1,
                                   1'700'000'000'000'000 + i));
  }
  auto writer = [&](PostgresStore* store, bool reverse) {
    std::vector<Record> mine = records;
    if (reverse) std::reverse(mine.begin(), mine.end());
    for (std::size_t i = 0; i < mine.size(); i += 10) {
      std::span<const Record> batch(mine.data() + i, 10);
      Status s;
      for (int attempt = 0; attempt < 5; ++attempt) {  // kUnavailable (deadlock) is retryable
        s = store->WriteBatch(batch);
        if (s.code() != StatusCode::kUnavailable) break;
      }
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
  };
  std::thread ta(writer, a.get(), false);
  std::thread tb(writer, b.get(), true);
  ta.join();
  tb.join();
  EXPECT_EQ(*a->CountRecords(), 200);
  auto stats = b->LoadDomainStats();
  ASSERT_TRUE(stats.ok());
  ASSERT_EQ(stats->size(), 2u);
  EXPECT_EQ((*stats)[0].request_count + (*stats)[1].request_count, 200);
  EXPECT_EQ((*stats)[0].input_tokens + (*stats)[1].input_tokens, 400);
}

TEST_F(PostgresStoreTest, KilledConnectionIsUnavailableOnceThenRecovers) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  std::vector<Record> batch = {FullRecord(1), FullRecord(2)};
  ASSERT_TRUE(store->WriteBatch(std::vector{FullRecord(0)}).ok());
  // Kill every claude-nexus backend of this database (writer and reader).
  ASSERT_EQ(One(TestServerUrl(),
                "SELECT count(pg_terminate_backend(pid)) > 0 FROM "
                "pg_stat_activity WHERE application_name = 'claude-nexus' AND "
                "datname = '" +
                    db_->name() + "'"),
            "t");
  Status s = store->WriteBatch(batch);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  // The next call reconnects; replaying the batch stores it once.
  s = store->WriteBatch(batch);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_TRUE(store->WriteBatch(batch).ok());
  auto count = store->CountRecords();  // the reader reconnects too (first try may fail)
  if (!count.ok()) count = store->CountRecords();
  ASSERT_TRUE(count.ok()) << count.status().ToString();
  EXPECT_EQ(*count, 3);
}

TEST(PostgresOpenTest, UnreachableServerIsUnavailableAndNeverShowsThePassword) {
  auto store =
      PostgresStore::Open({"postgresql://nexus:sekrit-pw@127.0.0.1:1/db?connect_timeout=2"});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kUnavailable) << store.status().ToString();
  EXPECT_EQ(store.status().message().find("sekrit"), std::string::npos);
  EXPECT_NE(store.status().message().find("127.0.0.1"), std::string::npos)
      << store.status().ToString();
}

TEST(PostgresOpenTest, MalformedUrlIsInvalid) {
  auto store = PostgresStore::Open({"postgresql://nexus:sekrit-pw@localhost/db?no_such_option=1"});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kInvalidArgument) << store.status().ToString();
  EXPECT_EQ(store.status().message().find("sekrit"), std::string::npos);
}

TEST_F(PostgresStoreTest, UnknownDatabaseIsInvalid) {
  auto store = PostgresStore::Open({UrlWithDatabase(TestServerUrl(), "cn_no_such_db")});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kInvalidArgument) << store.status().ToString();
}

TEST(UrlWithDatabaseTest, ReplacesOrAddsTheName) {
  EXPECT_EQ(UrlWithDatabase("postgresql://u@h:5/old?sslmode=disable", "new"),
            "postgresql://u@h:5/new?sslmode=disable");
  EXPECT_EQ(UrlWithDatabase("postgres://h", "new"), "postgres://h/new");
  EXPECT_EQ(UrlWithDatabase("postgres://h?x=1", "new"), "postgres://h/new?x=1");
}

}  // namespace
}  // namespace cn::storage::testing
