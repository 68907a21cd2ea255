// cn-storage-bench: storage figures for docs/storage.md (run on demand, not in the tests).
//
//   cn-storage-bench --pg URL [--rows 1000000] [--write-records 5000] [--sqlite-dir DIR]
//
// 1. Write throughput: WriteBatch of the same record mix (70 % streaming with 40 chunks, 30 %
//    JSON; ~6 KB request bodies; batches of 128, as the pipeline sends them) into a fresh
//    PostgreSQL database and a fresh SQLite file; records/s.
// 2. Queries at scale: `--rows` synthetic exchanges (8 accounts, 40 domains, 90 days) generated
//    server-side in one INSERT ... SELECT, ANALYZEd; then the original's token-usage queries
//    (current 5 h window and daily), its recent-requests page and /token-stats
//    (LoadDomainStats), each run 20 times (median and max reported) with its EXPLAIN plan
//    checked for an index scan.
// The database URL's database is used as the admin connection: a scratch database is created
// and dropped.
#include <libpq-fe.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "common/ids.h"
#include "common/time.h"
#include "storage/postgres/postgres_store.h"
#include "storage/sqlite/sqlite_store.h"

namespace {

using Clock = std::chrono::steady_clock;

std::string UrlWithDatabase(const std::string& url, const std::string& db) {
  const std::size_t scheme = url.find("://");
  const std::size_t slash = url.find('/', scheme + 3);
  const std::size_t query = url.find('?');
  const std::size_t end = query == std::string::npos ? url.size() : query;
  if (slash == std::string::npos || slash > end)
    return url.substr(0, end) + "/" + db + url.substr(end);
  return url.substr(0, slash + 1) + db + url.substr(end);
}

bool Exec(PGconn* c, const std::string& sql) {
  PGresult* r = PQexec(c, sql.c_str());
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
  if (!ok) std::cerr << "SQL failed: " << PQresultErrorMessage(r) << sql.substr(0, 200) << "\n";
  PQclear(r);
  return ok;
}

std::string Plan(PGconn* c, const std::string& sql) {
  PGresult* r = PQexec(c, ("EXPLAIN " + sql).c_str());
  std::string plan;
  for (int i = 0; i < PQntuples(r); ++i) plan += std::string(PQgetvalue(r, i, 0)) + "\n";
  PQclear(r);
  return plan;
}

cn::Record MixRecord(int i, std::int64_t now) {
  cn::Record r;
  r.request_id = cn::NewUuidV4();
  r.domain = "team" + std::to_string(i % 40) + ".example.com";
  r.account_id = "acc-" + std::to_string(i % 8);
  r.timestamp_unix_micros = now - (i % 1000) * 1000;
  r.method = "POST";
  r.path = "/v1/messages";
  r.request_headers = {{"content-type", "application/json"},
                       {"user-agent", "claude-cli/1.0.0"},
                       {"x-api-key", "****abcdef"}};
  r.request_body =
      R"({"model":"claude-sonnet-4","stream":true,"messages":[{"role":"user","content":")" +
      std::string(6000, 'x') + R"("}]})";
  r.response_status = 200;
  r.response_headers = {{"content-type", "application/json"}, {"request-id", "req_x"}};
  r.response_streaming = i % 10 < 7;
  r.response_json = R"({"id":"msg_1","type":"message","content":[{"type":"text","text":")" +
                    std::string(800, 'y') +
                    R"("}],"usage":{"input_tokens":100,"output_tokens":50}})";
  if (r.response_streaming) {
    for (int k = 0; k < 40; ++k) {
      r.chunks.push_back(
          {r.timestamp_unix_micros + k,
           "event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
           "\"delta\":{\"type\":\"text_delta\",\"text\":\"yyyyyyyyyyyyyyyyyyyy\"}}\n\n"});
    }
  } else {
    r.response_body = r.response_json;
  }
  r.duration_micros = 1'500'000;
  r.first_byte_micros = 300'000;
  r.upstream_attempts = 1;
  r.enriched = true;
  r.model = "claude-sonnet-4";
  r.request_type = "inference";
  r.message_count = 1;
  r.usage = {100, 50, 0, 0};
  r.usage_json = R"({"input_tokens":100,"output_tokens":50})";
  // What enrichment gives for an exchange like this one (anthropic/search_text.h), in words: a
  // ~2 KB user part and the ~800-byte answer.
  for (int w = 0; r.search_text.size() < 2000; ++w) {
    r.search_text += "please explain item" + std::to_string((i * 7 + w) % 997) + " of the build ";
  }
  r.search_text += '\n';
  for (int w = 0; r.search_text.size() < 2800; ++w) {
    r.search_text += "answer" + std::to_string((i + w) % 499) + " covers the cache layer ";
  }
  return r;
}

double WriteRate(cn::Store& store, int n) {
  const std::int64_t now = cn::NowUnixMicros();
  std::vector<cn::Record> all;
  all.reserve(n);
  for (int i = 0; i < n; ++i) all.push_back(MixRecord(i, now));
  const auto start = Clock::now();
  for (int i = 0; i < n; i += 128) {
    std::span<const cn::Record> batch(all.data() + i, std::min(128, n - i));
    if (cn::Status s = store.WriteBatch(batch); !s.ok()) {
      std::cerr << "WriteBatch: " << s.ToString() << "\n";
      return 0;
    }
  }
  return n / std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"cn-storage-bench: storage write throughput and 1M-row query timings"};
  std::string pg_url;
  long rows = 1'000'000;
  int write_records = 5000;
  std::string sqlite_dir = std::filesystem::temp_directory_path() / "cn-storage-bench";
  cli.add_option("--pg", pg_url, "PostgreSQL admin URL (e.g. $CN_TEST_DATABASE_URL)")->required();
  cli.add_option("--rows", rows, "Synthetic exchanges for the query timings");
  cli.add_option("--write-records", write_records, "Records for the write throughput run");
  cli.add_option("--sqlite-dir", sqlite_dir, "Scratch directory for the SQLite file");
  CLI11_PARSE(cli, argc, argv);

  PGconn* admin = PQconnectdb(pg_url.c_str());
  if (PQstatus(admin) != CONNECTION_OK) {
    std::cerr << PQerrorMessage(admin);
    return 1;
  }
  const std::string db = "cn_bench_" + std::to_string(::getpid());
  if (!Exec(admin, "CREATE DATABASE " + db)) return 1;
  const std::string url = UrlWithDatabase(pg_url, db);
  int rc = 0;
  {
    auto pg = cn::storage::PostgresStore::Open({url});
    if (!pg.ok() || !(*pg)->Migrate().ok()) {
      std::cerr << "cannot open/migrate " << db << "\n";
      rc = 1;
    } else {
      std::filesystem::remove_all(sqlite_dir);
      auto sqlite = cn::storage::SqliteStore::Open({sqlite_dir + "/bench.db"});
      if (sqlite.ok() && (*sqlite)->Migrate().ok()) {
        std::printf("write throughput (%d records, batches of 128, 70%% streams x 40 chunks):\n",
                    write_records);
        std::printf("  PostgreSQL: %.0f records/s\n", WriteRate(**pg, write_records));
        std::printf("  SQLite:     %.0f records/s\n", WriteRate(**sqlite, write_records));
      }
      std::filesystem::remove_all(sqlite_dir);

      PGconn* c = PQconnectdb(url.c_str());
      std::printf("generating %ld synthetic exchanges...\n", rows);
      const auto gen_start = Clock::now();
      // 90 days back from now; 8 accounts; 40 domains; bodies small (queries never read them).
      Exec(c,
           "INSERT INTO api_requests (request_id, domain, timestamp, method, path, body, model, "
           "request_type, response_status, input_tokens, output_tokens, total_tokens, "
           "cache_creation_input_tokens, cache_read_input_tokens, duration_ms, account_id, "
           "timestamp_us, duration_us, outcome, upstream_attempts) "
           "SELECT gen_random_uuid(), 'team' || (i % 40) || '.example.com', ts, 'POST', "
           "'/v1/messages', '{\"model\":\"m\",\"messages\":[]}', "
           "(ARRAY['claude-sonnet-4','claude-opus-4','claude-haiku-3'])[1 + i % 3], "
           "CASE WHEN i % 10 = 0 THEN 'query_evaluation' ELSE 'inference' END, 200, "
           "100 + i % 900, 10 + i % 400, 110 + i % 900 + i % 400, i % 7, i % 11, 800 + i % 4000, "
           "'acc-' || (i % 8), (extract(epoch FROM ts) * 1000000)::bigint, 1000, 'completed', 1 "
           "FROM (SELECT i, now() - (i::double precision / " +
               std::to_string(rows) + " * interval '90 days') AS ts FROM generate_series(1, " +
               std::to_string(rows) + ") i) g");
      Exec(c, "VACUUM ANALYZE api_requests");  // as autovacuum would: index-only scans
      std::printf("  %.1f s\n", std::chrono::duration<double>(Clock::now() - gen_start).count());

      struct Q {
        const char* name;
        std::string sql;
      };
      const std::vector<Q> queries = {
          {"token usage, current 5 h window",
           "SELECT COALESCE(SUM(input_tokens),0), COALESCE(SUM(output_tokens),0), "
           "COALESCE(SUM(input_tokens + output_tokens),0), COUNT(*), "
           "COALESCE(SUM(cache_creation_input_tokens),0), COALESCE(SUM(cache_read_input_tokens),0) "
           "FROM api_requests WHERE account_id = 'acc-3' AND timestamp >= NOW() - INTERVAL "
           "'300 minutes' AND timestamp < NOW()"},
          {"token usage, daily 30 days per domain+model",
           "SELECT DATE(timestamp AT TIME ZONE 'UTC') AS date, account_id, domain, model, "
           "SUM(input_tokens), SUM(output_tokens), SUM(total_tokens), COUNT(*) FROM api_requests "
           "WHERE account_id = 'acc-3' AND timestamp >= NOW() - INTERVAL '30 days' "
           "GROUP BY 1, 2, 3, 4 ORDER BY date DESC"},
          {"recent requests, newest 100",
           "SELECT request_id, domain, model, timestamp, input_tokens, output_tokens, "
           "total_tokens, "
           "duration_ms, response_status, error, request_type FROM api_requests "
           "ORDER BY timestamp DESC LIMIT 100 OFFSET 0"},
          {"recent requests of one domain, newest 100",
           "SELECT request_id, domain, model, timestamp, input_tokens, output_tokens, "
           "total_tokens, "
           "duration_ms, response_status, error, request_type FROM api_requests "
           "WHERE domain = 'team7.example.com' ORDER BY timestamp DESC LIMIT 100 OFFSET 0"},
          {"/token-stats (cn_domain_stats)",
           "SELECT domain, input_tokens, output_tokens, request_count FROM cn_domain_stats "
           "ORDER BY domain"},
      };
      std::printf("queries over %ld rows (20 runs each):\n", rows);
      for (const Q& q : queries) {
        const std::string plan = Plan(c, q.sql);
        const bool indexed = plan.find("Index") != std::string::npos ||
                             plan.find("cn_domain_stats") != std::string::npos;
        std::vector<double> ms;
        for (int i = 0; i < 20; ++i) {
          const auto t = Clock::now();
          Exec(c, q.sql);
          ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t).count());
        }
        std::sort(ms.begin(), ms.end());
        std::printf("  %-55s median %7.2f ms  max %7.2f ms  %s\n", q.name, ms[ms.size() / 2],
                    ms.back(), indexed ? "index" : "NO INDEX");
        if (!indexed) std::printf("%s", plan.c_str());
        if (ms[ms.size() / 2] >= 100) rc = 3;
      }
      PQfinish(c);
    }
  }
  Exec(admin, "DROP DATABASE IF EXISTS " + db + " WITH (FORCE)");
  PQfinish(admin);
  return rc;
}
