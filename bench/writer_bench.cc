// cn-writer-bench: what the record writer thread spends per record, phase by phase, in thread CPU
// time (CLOCK_THREAD_CPUTIME_ID: user + system time of this thread only, so another process on
// the machine inflates it far less than wall-clock time). docs/storage.md ("Write cost") has
// the figures.
//
// Two record mixes:
//  - proxy: what bench/run.sh's json runs record: cn-loadgen's POST /v1/messages (a ~2 KB body,
//    one user message) answered by the fake upstream's small non-streaming JSON message, with the
//    headers a real exchange carries. Derived fields are left for enrichment.
//  - claude-code: the captured Claude Code exchanges of tests/fixtures/captured that carry a
//    response (100-170 KB request bodies, streams of 69 and 109 SSE events), round robin.
//
// Phases, each on fresh copies of the same records:
//   enrich   anthropic::EnrichRecord
//   link     recording::Recorder::Relink (on enriched records; a fresh Recorder)
//   recorder recording::Recorder::Enrich (what the pipeline calls: enrich + link)
//   write/N  SqliteStore::WriteBatch into a fresh database file, batches of N (128: a busy
//            writer's batches; 8: low load, where per-transaction costs dominate)
// total = recorder + write/8 (the proxy benchmark's closed loop keeps batches small).
//
// Usage: cn-writer-bench [--records N] [--fixture-records M] [--dir DIR]. Build in Release
// (cmake --preset bench). Profile one mix with --only proxy|claude-code.

#include <time.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "anthropic/enrich.h"
#include "common/ids.h"
#include "fakes/fake_upstream.h"
#include "record/record.h"
#include "recording/recorder.h"
#include "storage/sqlite/sqlite_store.h"

namespace {

namespace json = boost::json;

constexpr std::int64_t kT0 = 1'751'207'809'000'000;

std::int64_t ThreadCpuNanos() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// cn-loadgen's BuildBody with its defaults (json mode, 2048 bytes).
std::string LoadgenBody() {
  json::object body{{"model", "claude-3-5-haiku-20241022"},
                    {"max_tokens", 256},
                    {"stream", false},
                    {"x_fake", json::object{{"deltas", 8}, {"delay-ms", 0}}},
                    {"messages", json::array{json::object{{"role", "user"}, {"content", ""}}}}};
  const std::size_t base = json::serialize(body).size();
  const std::size_t pad = 2048 > base ? 2048 - base : 0;
  std::string text;
  for (std::size_t i = 0; i < pad; ++i) text.push_back("abcdefghij klmnopqrstuvwxyz"[i % 27]);
  body["messages"].as_array()[0].as_object()["content"] = text;
  return json::serialize(body);
}

std::vector<cn::Record> ProxyRecords(std::size_t count) {
  const std::string body = LoadgenBody();
  std::vector<cn::Record> out;
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    cn::Record r;
    r.request_id = cn::NewUuidV4();
    r.domain = "localhost:3000";
    r.timestamp_unix_micros = kT0 + static_cast<std::int64_t>(i) * 250;
    r.method = "POST";
    r.path = "/v1/messages";
    r.request_headers = {
        {"Host", "localhost:3000"},       {"Content-Type", "application/json"},
        {"Authorization", "Bearer ****"}, {"anthropic-version", "2023-06-01"},
        {"User-Agent", "cn-loadgen"},     {"Content-Length", std::to_string(body.size())}};
    r.request_body = body;
    r.response_status = 200;
    r.response_body = cn::testing::FakeMessageJson("claude-3-5-haiku-20241022", i);
    // The fake's headers, then the proxy's X-Request-ID.
    r.response_headers = {{"request-id", "req_fake_" + std::to_string(i)},
                          {"anthropic-ratelimit-requests-limit", "50"},
                          {"anthropic-ratelimit-requests-remaining", "49"},
                          {"Content-Type", "application/json"},
                          {"Content-Length", std::to_string(r.response_body.size())},
                          {"X-Request-ID", r.request_id}};
    r.first_byte_micros = 180;
    r.duration_micros = 210;
    r.upstream_attempts = 1;
    out.push_back(std::move(r));
  }
  return out;
}

json::value LoadJson(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return json::parse(ss.str());
}

cn::Headers HeadersOf(const json::value& v) {
  cn::Headers out;
  if (!v.is_object()) return out;
  for (const auto& [name, value] : v.get_object()) {
    out.push_back({std::string(name),
                   value.is_string() ? std::string(value.get_string()) : json::serialize(value)});
  }
  return out;
}

// Captured exchanges with a response, as the proxy would have recorded them.
std::vector<cn::Record> ClaudeCodeRecords(const std::filesystem::path& dir, std::size_t count) {
  std::vector<cn::Record> templates;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".json") continue;
    const json::value capture = LoadJson(entry.path());
    const json::object& c = capture.as_object();
    const json::value* response = c.if_contains("response");
    if (response == nullptr) continue;
    const json::object& resp = response->as_object();
    cn::Record r;
    r.domain = "localhost:3000";
    r.method = std::string(c.at("method").as_string());
    r.path = std::string(c.at("path").as_string());
    r.query = "beta=true";
    r.request_headers = HeadersOf(c.at("headers"));
    r.request_body = json::serialize(c.at("body"));
    r.response_status = static_cast<int>(resp.at("status").to_number<std::int64_t>());
    r.response_headers = HeadersOf(resp.at("headers"));
    r.response_streaming = true;
    std::int64_t at = 0;
    for (const json::value& event : resp.at("metadata").at("streamingChunks").as_array()) {
      at += 20'000;
      r.chunks.push_back({at, "event: " + std::string(event.at("type").as_string()) +
                                  "\ndata: " + json::serialize(event) + "\n\n"});
    }
    r.first_byte_micros = 900'000;
    r.duration_micros = at;
    r.upstream_attempts = 1;
    templates.push_back(std::move(r));
  }
  std::vector<cn::Record> out;
  if (templates.empty()) return out;
  for (std::size_t i = 0; i < count; ++i) {
    cn::Record r = templates[i % templates.size()];
    r.request_id = cn::NewUuidV4();
    r.timestamp_unix_micros = kT0 + static_cast<std::int64_t>(i) * 3'000'000;
    for (cn::StreamChunk& chunk : r.chunks) chunk.at_unix_micros += r.timestamp_unix_micros;
    r.response_headers.push_back({"x-request-id", r.request_id});
    out.push_back(std::move(r));
  }
  return out;
}

// Thread CPU microseconds per record of `step` applied to each of `records`.
double PerRecord(std::vector<cn::Record>& records, const std::function<void(cn::Record&)>& step) {
  const std::int64_t t0 = ThreadCpuNanos();
  for (cn::Record& r : records) step(r);
  return static_cast<double>(ThreadCpuNanos() - t0) / 1000.0 / static_cast<double>(records.size());
}

double WritePerRecord(const std::vector<cn::Record>& records, std::size_t batch,
                      const std::filesystem::path& dir, const std::string& name) {
  const std::filesystem::path file = dir / (name + "-" + std::to_string(batch) + ".db");
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(file.string() + suffix);
  auto store = cn::storage::SqliteStore::Open({file.string()});
  const cn::Status migrated = store.ok() ? (*store)->Migrate() : store.status();
  if (!migrated.ok()) {
    std::fprintf(stderr, "%s\n", migrated.ToString().c_str());
    std::exit(2);
  }
  const std::span<const cn::Record> all(records);
  const std::int64_t t0 = ThreadCpuNanos();
  for (std::size_t i = 0; i < all.size(); i += batch) {
    if (cn::Status s = (*store)->WriteBatch(all.subspan(i, std::min(batch, all.size() - i)));
        !s.ok()) {
      std::fprintf(stderr, "%s\n", s.message().c_str());
      std::exit(2);
    }
  }
  return static_cast<double>(ThreadCpuNanos() - t0) / 1000.0 / static_cast<double>(records.size());
}

void Run(const std::string& name, const std::vector<cn::Record>& records,
         const std::filesystem::path& dir) {
  if (records.empty()) return;
  std::vector<cn::Record> enriched = records;
  const double enrich = PerRecord(enriched, [](cn::Record& r) { cn::anthropic::EnrichRecord(r); });
  cn::recording::Recorder linker;
  const double link = PerRecord(enriched, [&](cn::Record& r) { linker.Relink(r); });
  std::vector<cn::Record> both = records;
  cn::recording::Recorder recorder;
  const double recorder_enrich = PerRecord(both, [&](cn::Record& r) { recorder.Enrich(r); });
  const double write128 = WritePerRecord(both, 128, dir, name);
  const double write8 = WritePerRecord(both, 8, dir, name);
  std::printf("| %-11s | %7zu | %8.1f | %8.1f | %8.1f | %9.1f | %7.1f | %8.1f |\n", name.c_str(),
              records.size(), enrich, link, recorder_enrich, write128, write8,
              recorder_enrich + write8);
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t proxy_records = 20'000;
  std::size_t fixture_records = 300;
  std::string dir = "/tmp/cn-writer-bench";
  std::string only;
  CLI::App app{"cn-writer-bench: record writer CPU per record, by phase"};
  app.add_option("--records", proxy_records, "proxy-benchmark records");
  app.add_option("--fixture-records", fixture_records, "Claude Code records (captured fixtures)");
  app.add_option("--dir", dir, "where the database files go (replaced)");
  app.add_option("--only", only, "proxy | claude-code");
  CLI11_PARSE(app, argc, argv);
  std::filesystem::create_directories(dir);

  std::printf("thread CPU µs per record\n\n");
  std::printf(
      "| records     |       n |   enrich |     link | recorder | write/128 | write/8 |    total "
      "|\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|\n");
  if (only.empty() || only == "proxy") Run("proxy", ProxyRecords(proxy_records), dir);
  if (only.empty() || only == "claude-code") {
    Run("claude-code", ClaudeCodeRecords(CN_FIXTURES_DIR "/captured", fixture_records), dir);
  }
  return 0;
}
