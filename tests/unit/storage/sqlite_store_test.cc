// SqliteStore: the shared conformance suite, plus what only SQLite has (files, pragmas, locks,
// the exact stored columns).
#include "storage/sqlite/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "storage/sqlite/schema.h"
#include "store_conformance_test.h"
#include "store_test_target.h"

namespace cn::storage::testing {
namespace {

using namespace std::chrono_literals;

class SqliteTarget final : public StoreTestTarget {
 public:
  // A migrated store in a fresh temporary directory, or null (after a test failure).
  static std::unique_ptr<SqliteTarget> Make(std::chrono::milliseconds busy_timeout = 2000ms) {
    auto t = std::unique_ptr<SqliteTarget>(new SqliteTarget());
    t->db_path_ = t->dir_.path() + "/data/claude-nexus.db";
    auto store = SqliteStore::Open({t->db_path_, busy_timeout});
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    if (!store.ok()) return nullptr;
    t->store_ = std::move(*store);
    Status s = t->store_->Migrate();
    EXPECT_TRUE(s.ok()) << s.ToString();
    if (!s.ok()) return nullptr;
    return t;
  }

  Store& store() override { return *store_; }
  SqliteStore& sqlite() { return *store_; }
  std::vector<std::int64_t> ChunkTokenCounts(const std::string& request_id) override;
  std::vector<std::string> SearchMatches(const std::string& word) override;
  std::int64_t SearchRowCount() override;
  std::vector<std::pair<std::int64_t, std::string>> Events() override;
  void BackdateEvent(const std::string& request_id, std::int64_t micros) override;
  const std::string& db_path() const { return db_path_; }
  const std::string& dir() const { return dir_.path(); }

 private:
  SqliteTarget() = default;

  TempDir dir_;  // declared first: the database files go only after the store has closed them
  std::string db_path_;
  std::unique_ptr<SqliteStore> store_;
};

// A second, independent connection to the same file: what another process would see.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK);
  }
  ~RawDb() { sqlite3_close(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  int Exec(const std::string& sql) {
    return sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  }

  // Every row of `sql` with columns joined by '|' (NULL as "NULL").
  std::vector<std::string> Rows(const std::string& sql) {
    std::vector<std::string> rows;
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db_);
    while (stmt != nullptr && sqlite3_step(stmt) == SQLITE_ROW) {
      std::string row;
      for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
        if (i > 0) row += '|';
        const unsigned char* v = sqlite3_column_text(stmt, i);
        row += v == nullptr ? "NULL" : reinterpret_cast<const char*>(v);
      }
      rows.push_back(row);
    }
    sqlite3_finalize(stmt);
    return rows;
  }
  std::string One(const std::string& sql) {
    auto rows = Rows(sql);
    return rows.size() == 1 ? rows[0] : "<" + std::to_string(rows.size()) + " rows>";
  }

 private:
  sqlite3* db_ = nullptr;
};

std::vector<std::int64_t> SqliteTarget::ChunkTokenCounts(const std::string& request_id) {
  RawDb raw(db_path_);
  std::vector<std::int64_t> out;
  const std::string sql = "SELECT token_count FROM streaming_chunks WHERE request_id = '" +
                          request_id + "' ORDER BY chunk_index";
  for (const std::string& row : raw.Rows(sql)) {
    out.push_back(std::stoll(row));
  }
  return out;
}

std::vector<std::string> SqliteTarget::SearchMatches(const std::string& word) {
  RawDb raw(db_path_);
  return raw.Rows("SELECT request_id FROM cn_search WHERE cn_search MATCH '" + word +
                  "' ORDER BY request_id");
}

std::int64_t SqliteTarget::SearchRowCount() {
  RawDb raw(db_path_);
  return std::stoll(raw.One("SELECT count(*) FROM cn_search"));
}

std::vector<std::pair<std::int64_t, std::string>> SqliteTarget::Events() {
  RawDb raw(db_path_);
  std::vector<std::pair<std::int64_t, std::string>> out;
  for (const std::string& row : raw.Rows("SELECT seq, request_id FROM cn_events ORDER BY seq")) {
    const std::size_t bar = row.find('|');
    out.emplace_back(std::stoll(row.substr(0, bar)), row.substr(bar + 1));
  }
  return out;
}

void SqliteTarget::BackdateEvent(const std::string& request_id, std::int64_t micros) {
  RawDb raw(db_path_);
  EXPECT_EQ(raw.Exec("UPDATE cn_events SET created_us = created_us - " + std::to_string(micros) +
                     " WHERE request_id = '" + request_id + "'"),
            SQLITE_OK);
}

StoreFactory SqliteFactory() {
  StoreFactory f{"Sqlite", [] { return std::unique_ptr<StoreTestTarget>(SqliteTarget::Make()); }};
  f.shared_by_replicas = false;  // one claude-nexus per database file (docs/storage.md)
  return f;
}

INSTANTIATE_TEST_SUITE_P(Sqlite, StoreConformanceTest, ::testing::Values(SqliteFactory()),
                         [](const auto& param_info) { return param_info.param.name; });

TEST(SqliteStoreTest, MigrateOnFreshFileRecordsVersionsAndUsesWal) {
  auto t = SqliteTarget::Make();
  ASSERT_NE(t, nullptr);
  EXPECT_TRUE(std::filesystem::exists(t->db_path()));  // parent directory "data/" was created
  RawDb raw(t->db_path());
  const std::string latest = std::to_string(SqliteStore::LatestSchemaVersion());
  EXPECT_EQ(raw.One("SELECT count(*), max(version) FROM schema_migrations"), latest + "|" + latest);
  EXPECT_EQ(raw.One("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(raw.One("PRAGMA page_size"), "16384");  // new files only, see SqliteStore::Open
  EXPECT_EQ(raw.One("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
                    "('api_requests', 'streaming_chunks', 'schema_migrations')"),
            "3");
  std::string applied_at = raw.One("SELECT applied_at FROM schema_migrations WHERE version = 1");
  EXPECT_EQ(applied_at.size(), 24u) << applied_at;  // YYYY-MM-DDTHH:MM:SS.mmmZ
}

TEST(SqliteStoreTest, MigrateTwiceAndReopenAreNoOps) {
  auto t = SqliteTarget::Make();
  ASSERT_NE(t, nullptr);
  RawDb raw(t->db_path());
  std::string before =
      raw.One("SELECT group_concat(version || name || applied_at) FROM schema_migrations");
  ASSERT_TRUE(t->sqlite().Migrate().ok());
  auto again = SqliteStore::Open({t->db_path()});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  Status s = (*again)->Migrate();
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(raw.One("SELECT group_concat(version || name || applied_at) FROM schema_migrations"),
            before);
}

// The plan of each query SqliteStore and retention run (same WHERE / ORDER BY shapes), one
// string per plan step.
std::vector<std::string> Plan(RawDb& raw, const std::string& sql) {
  return raw.Rows("EXPLAIN QUERY PLAN " + sql);
}

std::string Joined(const std::vector<std::string>& rows) {
  std::string s;
  for (const std::string& r : rows) s += r + "; ";
  return s;
}

// A database claude-nexus created at schema version 1, with rows: the upgrade to version 2 drops
// the twelve indexes no query reads, version 3 adds the user/cost/quota columns (NULL for the
// rows already there), every row keeps what it had, and every query still searches an index.
TEST(SqliteStoreTest, UpgradeFromVersion1DropsUnusedIndexesAndKeepsRowsAndPlans) {
  TempDir dir;
  const std::string path = dir.path() + "/v1.db";
  const Migration& v1 = SqliteMigrations()[0];
  ASSERT_EQ(v1.version, 1);
  const Record full = FullRecord(1);
  const Record plain = SimpleRecord("x.example", "inference", 1, 2, 0, 1'795'000'000'000'000);
  {
    // The rows as a store writes them, copied into the version-1 tables below (a store of this
    // version writes columns version 1 does not have).
    auto writer = SqliteStore::Open({dir.path() + "/source.db"});
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    ASSERT_TRUE((*writer)->Migrate().ok());
    ASSERT_TRUE((*writer)->WriteBatch(std::vector{full, plain}).ok());
  }
  std::string v1_columns;
  {
    RawDb raw(path);
    ASSERT_EQ(raw.Exec("PRAGMA journal_mode = WAL; CREATE TABLE schema_migrations (version "
                       "INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"),
              SQLITE_OK);
    ASSERT_EQ(raw.Exec(std::string(v1.sql)), SQLITE_OK);
    ASSERT_EQ(
        raw.Exec("INSERT INTO schema_migrations VALUES (1, 'v1', '2026-01-01T00:00:00.000Z')"),
        SQLITE_OK);
    EXPECT_EQ(
        raw.One("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name LIKE 'idx_%'"),
        "14");
    v1_columns = raw.One("SELECT group_concat(name, ', ') FROM pragma_table_info('api_requests')");
    ASSERT_EQ(raw.Exec("ATTACH DATABASE '" + dir.path() +
                       "/source.db' AS source; "
                       "INSERT INTO api_requests (" +
                       v1_columns + ") SELECT " + v1_columns +
                       " FROM source.api_requests; INSERT INTO streaming_chunks SELECT * FROM "
                       "source.streaming_chunks; DETACH DATABASE source"),
              SQLITE_OK);
  }
  auto store = SqliteStore::Open({path});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  RawDb raw(path);
  const std::string requests_sql = "SELECT * FROM api_requests ORDER BY request_id";
  const std::string chunks_sql = "SELECT * FROM streaming_chunks ORDER BY id";
  const std::vector<std::string> requests_before = raw.Rows(requests_sql);
  const std::vector<std::string> chunks_before = raw.Rows(chunks_sql);
  ASSERT_EQ(requests_before.size(), 2u);
  ASSERT_FALSE(chunks_before.empty());

  Status s = (*store)->Migrate();
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(raw.One("SELECT group_concat(version) FROM (SELECT version FROM schema_migrations "
                    "ORDER BY version)"),
            "1,2,3,4,5,6");
  // Version 2 dropped the original's unused indexes; versions 5 and 6 added the read side's.
  EXPECT_EQ(raw.One("SELECT group_concat(name) FROM (SELECT name FROM sqlite_master WHERE type = "
                    "'index' AND name LIKE 'idx_%' ORDER BY name)"),
            "idx_requests_account_quota_time,idx_requests_account_time,"
            "idx_requests_conversation_time,idx_requests_domain_timestamp,"
            "idx_requests_model_time,idx_requests_parent_task,idx_requests_timestamp");
  EXPECT_EQ(raw.Rows("SELECT " + v1_columns + " FROM api_requests ORDER BY request_id"),
            requests_before);
  EXPECT_EQ(raw.One("SELECT count(*) FROM api_requests WHERE user_id IS NULL AND session_id IS "
                    "NULL AND cost_usd IS NULL AND quota_status IS NULL AND quota_5h_utilization "
                    "IS NULL AND quota_5h_reset IS NULL AND quota_7d_utilization IS NULL AND "
                    "quota_7d_reset IS NULL AND ratelimit IS NULL"),
            "2");
  EXPECT_EQ(raw.Rows(chunks_sql), chunks_before);
  EXPECT_EQ(raw.One("PRAGMA page_size"), "4096");  // an existing file keeps its page size
  auto got = (*store)->GetRecord(full.request_id);
  ASSERT_TRUE(got.ok() && got->has_value()) << got.status().ToString();
  EXPECT_EQ((*got)->request_body, full.request_body);
  EXPECT_EQ((*got)->request_headers, full.request_headers);
  EXPECT_EQ((*got)->chunks, full.chunks);
  EXPECT_EQ((*got)->user_id, "");  // written before version 3: nothing to read back
  EXPECT_EQ((*got)->cost_usd, std::nullopt);
  EXPECT_EQ((*got)->quota, QuotaSnapshot{});
  // A record written after the upgrade keeps its new fields.
  const Record later = FullRecord(2);
  ASSERT_TRUE((*store)->WriteBatch(std::vector{later}).ok());
  auto got_later = (*store)->GetRecord(later.request_id);
  ASSERT_TRUE(got_later.ok() && got_later->has_value()) << got_later.status().ToString();
  EXPECT_EQ((*got_later)->user_id, later.user_id);
  EXPECT_EQ((*got_later)->session_id, later.session_id);
  EXPECT_EQ((*got_later)->cost_usd, later.cost_usd);
  EXPECT_EQ((*got_later)->quota, later.quota);

  // LoadForLinking (both directions), retention, LoadDomainStats, the request_id lookups.
  const std::string scan =
      "SELECT request_id FROM api_requests WHERE timestamp >= ?1 AND timestamp <= ?2 AND "
      "timestamp_us >= ?3 AND timestamp_us < ?4 AND (?5 = '' OR domain = ?5) AND (NOT ?6 OR "
      "request_type = 'inference') AND (?7 IS NULL OR (timestamp_us, request_id) < (?7, ?8)) ";
  for (const char* order : {"ORDER BY timestamp DESC, timestamp_us DESC, request_id DESC",
                            "ORDER BY timestamp, timestamp_us, request_id"}) {
    const std::string plan = Joined(Plan(raw, scan + order + " LIMIT ?10"));
    EXPECT_NE(plan.find("USING INDEX idx_requests_timestamp (timestamp>? AND timestamp<?)"),
              std::string::npos)
        << plan;
  }
  std::string plan = Joined(Plan(
      raw,
      "DELETE FROM api_requests WHERE request_id IN (SELECT request_id FROM api_requests WHERE "
      "timestamp < ?1 ORDER BY timestamp LIMIT ?2)"));
  EXPECT_NE(plan.find("USING INDEX idx_requests_timestamp (timestamp<?)"), std::string::npos)
      << plan;
  plan = Joined(Plan(raw,
                     "SELECT domain, sum(input_tokens), count(*) FROM api_requests GROUP BY "
                     "domain ORDER BY domain"));
  EXPECT_NE(plan.find("USING INDEX idx_requests_domain_timestamp"), std::string::npos) << plan;
  EXPECT_EQ(plan.find("TEMP B-TREE"), std::string::npos) << plan;
  for (const char* sql :
       {"SELECT * FROM api_requests WHERE request_id = ?1",
        "UPDATE api_requests SET branch_id = ?2 WHERE request_id = ?1",
        "SELECT data FROM streaming_chunks WHERE request_id = ?1 ORDER BY chunk_index"}) {
    plan = Joined(Plan(raw, sql));
    EXPECT_NE(plan.find("SEARCH"), std::string::npos) << sql << ": " << plan;
    EXPECT_NE(plan.find("(request_id=?)"), std::string::npos) << sql << ": " << plan;
  }
}

TEST(SqliteStoreTest, NewerSchemaVersionIsAClearError) {
  auto t = SqliteTarget::Make();
  ASSERT_NE(t, nullptr);
  RawDb raw(t->db_path());
  ASSERT_EQ(raw.Exec("INSERT INTO schema_migrations VALUES (999, 'from the future', 'x')"),
            SQLITE_OK);
  Status s = t->sqlite().Migrate();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("999"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find(t->db_path()), std::string::npos) << s.ToString();
}

TEST(SqliteStoreTest, StoredColumnsFollowTheOriginalSchema) {
  auto t = SqliteTarget::Make();
  ASSERT_NE(t, nullptr);
  Record r = FullRecord(1);
  r.timestamp_unix_micros = 1'795'000'000'123'456;
  Record plain = SimpleRecord("x.example", "inference", 1, 2, 0, 1'795'000'000'000'000);
  ASSERT_TRUE(t->store().WriteBatch(std::vector{r, plain}).ok());
  RawDb raw(t->db_path());
  const std::string where = " FROM api_requests WHERE request_id = '" + r.request_id + "'";
  EXPECT_EQ(raw.One("SELECT timestamp, strftime('%s', timestamp) = '1795000000'" + where),
            "2026-11-18T11:06:40.123Z|1");
  EXPECT_EQ(raw.One("SELECT total_tokens, first_token_ms, duration_ms, response_streaming, "
                    "is_subtask, outcome, api_key_hash" +
                    where),
            "53|1|56|1|1|client_aborted|NULL");
  // Repeated response header names are joined in the object and kept exactly in the list.
  EXPECT_EQ(raw.One("SELECT response_headers ->> '$.set-cookie', "
                    "json_array_length(response_header_list)" +
                    where),
            "a=1, b=2|4");
  EXPECT_EQ(raw.One("SELECT headers ->> '$.User-Agent', header_list" + where),
            "claude-cli/1.0 \"quoted\"\t\\ tab|NULL");
  // A stream's raw body is empty, as GetRecord assumes when response_body_raw is NULL.
  EXPECT_EQ(raw.One("SELECT response_body ->> '$.id', response_body_raw" + where), "msg_1|NULL");
  // token_count is the chunk's ChunkUsage::output_tokens (message_delta's), else 0.
  EXPECT_EQ(raw.One("SELECT group_concat(token_count, ',') FROM (SELECT token_count FROM "
                    "streaming_chunks WHERE request_id = '" +
                    r.request_id + "' ORDER BY chunk_index)"),
            "0,0,42");

  const std::string where_plain =
      " FROM api_requests WHERE request_id = '" + plain.request_id + "'";
  EXPECT_EQ(raw.One("SELECT headers, response_headers, account_id, conversation_id, branch_id, "
                    "response_body_raw, first_token_ms" +
                    where_plain),
            "NULL|NULL|NULL|NULL|NULL|NULL|NULL");
  // Who, cost and quota (docs/storage.md): typed columns, the JSON as text; absent is NULL.
  EXPECT_EQ(raw.One("SELECT session_id = '" + r.session_id +
                    "', typeof(cost_usd), "
                    "cost_usd = 0.1 + 0.2 + 1, quota_status, quota_5h_reset, quota_7d_reset, "
                    "typeof(quota_7d_utilization), ratelimit ->> '$.windows.5h.utilization'" +
                    where),
            "1|real|1|allowed_warning|1795003601|1795400001|real|0.81");
  EXPECT_EQ(raw.One("SELECT user_id, session_id, cost_usd, quota_status, quota_5h_utilization, "
                    "quota_5h_reset, quota_7d_utilization, quota_7d_reset, ratelimit" +
                    where_plain),
            "NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL");
}

TEST(SqliteStoreTest, LockedDatabaseIsUnavailableThenRecovers) {
  auto t = SqliteTarget::Make(100ms);
  ASSERT_NE(t, nullptr);
  ASSERT_TRUE(t->store().WriteBatch(std::vector{FullRecord(0)}).ok());

  RawDb other(t->db_path());
  ASSERT_EQ(other.Exec("BEGIN EXCLUSIVE"), SQLITE_OK);
  std::vector<Record> batch = {FullRecord(1), FullRecord(2)};
  auto start = std::chrono::steady_clock::now();
  Status s = t->store().WriteBatch(batch);
  auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  EXPECT_NE(s.message().find("locked"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find(t->db_path()), std::string::npos) << s.ToString();
  EXPECT_GE(waited, 90ms);
  EXPECT_LT(waited, 1500ms);  // bounded by busy_timeout, not the default 2 s

  // Readers do not wait for the writer's lock (WAL).
  EXPECT_TRUE(t->store().Ping().ok());
  auto stats = t->store().LoadDomainStats();
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(*t->store().CountRecords(), 1);

  ASSERT_EQ(other.Exec("COMMIT"), SQLITE_OK);
  s = t->store().WriteBatch(batch);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(*t->store().CountRecords(), 3);
}

TEST(SqliteStoreTest, ReadersSeeWholeBatchesWhileTheWriterRuns) {
  auto t = SqliteTarget::Make();
  ASSERT_NE(t, nullptr);
  constexpr int kBatches = 20;
  constexpr int kBatchSize = 50;
  std::vector<std::vector<Record>> batches(kBatches);
  for (int b = 0; b < kBatches; ++b) {
    for (int i = 0; i < kBatchSize; ++i) batches[b].push_back(FullRecord(b * kBatchSize + i));
  }
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::thread writer([&] {
    for (const auto& batch : batches) {
      if (!t->store().WriteBatch(batch).ok()) ++failures;
    }
    done = true;
  });
  std::int64_t last = 0;
  while (!done) {
    auto n = t->store().CountRecords();
    if (!n.ok()) {
      ADD_FAILURE() << n.status().ToString();
      break;
    }
    EXPECT_EQ(*n % kBatchSize, 0) << "a reader saw part of a batch";
    EXPECT_GE(*n, last);
    last = *n;
  }
  writer.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(*t->store().CountRecords(), kBatches * kBatchSize);
}

TEST(SqliteStoreTest, OpenBelowARegularFileNamesThePath) {
  TempDir dir;
  const std::string file = dir.path() + "/not-a-dir";
  std::ofstream(file) << "x";
  const std::string path = file + "/sub/claude-nexus.db";
  auto store = SqliteStore::Open({path});
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find(path), std::string::npos) << store.status().ToString();
}

TEST(SqliteStoreTest, OpenOnANonDatabaseFileNamesThePath) {
  TempDir dir;
  const std::string path = dir.path() + "/claude-nexus.db";
  std::ofstream(path) << std::string(4096, 'g');
  auto store = SqliteStore::Open({path});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kCorruption) << store.status().ToString();
  EXPECT_NE(store.status().message().find(path), std::string::npos) << store.status().ToString();
  EXPECT_NE(store.status().message().find("not a database"), std::string::npos)
      << store.status().ToString();
}

TEST(SqliteStoreTest, OpenWithEmptyPathIsInvalid) {
  auto store = SqliteStore::Open({""});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kInvalidArgument);
}

TEST(SqliteStoreTest, DeletingARequestCascadesToItsChunks) {
  auto t = SqliteTarget::Make();
  ASSERT_NE(t, nullptr);
  Record r = FullRecord(1);
  ASSERT_TRUE(t->store().WriteBatch(std::vector{r}).ok());
  RawDb raw(t->db_path());
  ASSERT_EQ(raw.Exec("PRAGMA foreign_keys = ON"), SQLITE_OK);
  EXPECT_EQ(raw.One("SELECT count(*) FROM streaming_chunks"), "3");
  ASSERT_EQ(raw.Exec("DELETE FROM api_requests"), SQLITE_OK);
  EXPECT_EQ(raw.One("SELECT count(*) FROM streaming_chunks"), "0");
}

}  // namespace
}  // namespace cn::storage::testing
