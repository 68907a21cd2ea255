// cn-api-bench: the read API's latency at scale (docs/benchmarks.md, "Read API at 1M requests").
//
//   cn-api-bench seed    --store sqlite --path /tmp/cn-api.db      --rows 1000000
//   cn-api-bench seed    --store postgres --database-url URL       --rows 1000000
//   cn-api-bench measure --store sqlite --path /tmp/cn-api.db      [--reps 30]
//
// seed: writes `--rows` enriched Records through Store::WriteBatch (the record writer's path,
// batches of 256) into a migrated store. Rows come in blocks of 1000 generated from the block's
// number alone (deterministic request ids), so a seed that was stopped resumes where the store's
// row count says (WriteBatch is idempotent on request_id); pass the same --rows again. The data:
// 50 users (each with an account of 8 and 2-3 of 40 domains) in Claude Code sessions;
// conversations of 1-60 requests linked as conversation linking would (parent_request_id, main,
// user branches `branch_*`, `compact_*` continuations, Task sub-agents as `subtask_N` with
// is_subtask and parent_task_request_id); models with cost_usd (one unpriced); quota columns from
// unified rate-limit headers on OAuth accounts; 4-5 % errors, non-200s and aborted streams;
// count_tokens / quota / query_evaluation requests; search text of ~600 bytes; 90 days. Bodies
// are representative, not real Claude Code sizes: ~3 KB request, ~1 KB response, streamed
// responses with 9 SSE events (docs/benchmarks.md says why).
//
// measure: for every endpoint of docs/api.md, `--reps` calls of api::Handle (export:
// PlanExport + the first ExportChunk) over a reader from Store::OpenReader, parameters varied
// (accounts, domains, conversations, request ids, cursors), after one untimed warm-up call; p50,
// p95 and max in ms, and in the same run the p50 of a `SELECT 1` round trip over the same reader
// as the baseline. `now` is the newest stored row's time, so the default windows (last 24 h,
// 5 h, 7 days) hold data however long ago the seed ran.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include "api/api.h"
#include "common/time.h"
#include "storage/postgres/postgres_store.h"
#include "storage/sqlite/sqlite_store.h"

namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

constexpr int kBlock = 1000;  // records per generation unit
constexpr std::int64_t kSecond = 1'000'000;
constexpr std::int64_t kHour = 3600 * kSecond;
constexpr std::int64_t kDay = 24 * kHour;
constexpr int kUsers = 50;
constexpr int kAccounts = 8;
constexpr int kDomains = 40;

// ---- generation -------------------------------------------------------------------------------

struct Model {
  const char* id;
  double in, out, cache_write, cache_read;  // USD per million tokens; in < 0: unpriced
  int weight;
};
constexpr Model kModels[] = {
    {"claude-sonnet-4-5-20250929", 3, 15, 3.75, 0.30, 55},
    {"claude-opus-4-5-20251101", 5, 25, 6.25, 0.50, 12},
    {"claude-opus-4-1-20250805", 15, 75, 18.75, 1.50, 5},
    {"claude-haiku-4-5-20251001", 1, 5, 1.25, 0.10, 25},
    {"acme-internal-v2", -1, -1, -1, -1, 3},
};

// A vocabulary with a Zipf-like draw: "test" is in a large share of rows, "zanzibar" in ~1 of
// 10 000 (the rare search word).
const std::vector<std::string>& Words() {
  static const std::vector<std::string> words = [] {
    std::vector<std::string> w = {
        "test",      "build",     "error",    "function", "file",    "change",   "update",
        "please",    "fix",       "cache",    "layer",    "request", "response", "module",
        "import",    "review",    "refactor", "branch",   "commit",  "deploy",   "config",
        "database",  "query",     "index",    "latency",  "server",  "client",   "stream",
        "parser",    "token",     "account",  "session",  "output",  "input",    "schema",
        "migration", "benchmark", "thread",   "queue",    "writer",  "reader",   "handler"};
    for (int i = 0; i < 1900; ++i) w.push_back("term" + std::to_string(i));
    return w;
  }();
  return words;
}

std::string Hex(std::uint64_t v, int digits) {
  static const char* d = "0123456789abcdef";
  std::string s(static_cast<std::size_t>(digits), '0');
  for (int i = digits - 1; i >= 0; --i, v >>= 4) s[static_cast<std::size_t>(i)] = d[v & 15];
  return s;
}

// A UUIDv7-shaped id from a time and a 64-bit key (deterministic: a resumed seed rewrites the
// same ids, which WriteBatch skips).
std::string Uuid(std::int64_t unix_micros, std::uint64_t key) {
  const std::uint64_t ms = static_cast<std::uint64_t>(unix_micros / 1000);
  const std::uint64_t h = key * 0x9E3779B97F4A7C15ull ^ (key >> 29);
  return Hex(ms >> 16, 8) + "-" + Hex(ms & 0xffff, 4) + "-7" + Hex(h >> 52, 3) + "-" +
         Hex(0x8000 | ((h >> 38) & 0x3fff), 4) + "-" + Hex(key & 0xffffffffffffull, 12);
}

std::string UserId(int u) {
  return Hex(0xabc0000000000000ull + u * 0x1f3a5c7e9b1d3ull, 16) + Hex(u, 16) + Hex(u * 77ull, 16) +
         Hex(u * 991ull, 16);
}
std::string AccountId(int a) { return "acc_" + std::to_string(a); }
std::string Domain(int d) { return "team" + std::to_string(d) + ".example.com"; }
int AccountOf(int u) { return u % kAccounts; }
bool OAuthAccount(int a) { return a < 6; }  // accounts 6 and 7 use API keys: no unified quota
int DomainOf(int u, int k) { return (u * 7 + k * 13) % kDomains; }

struct Gen {
  std::mt19937_64 rng;
  explicit Gen(std::uint64_t seed) : rng(seed) {}
  std::int64_t Int(std::int64_t lo, std::int64_t hi) {  // [lo, hi]
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  }
  double Real() { return std::uniform_real_distribution<double>(0, 1)(rng); }
  bool Chance(double p) { return Real() < p; }
  const std::string& Word() {
    const auto& w = Words();
    // Rare word: ~1 in 10 000 texts (each text draws ~80 words).
    if (Chance(1.0 / 800000)) {
      static const std::string rare = "zanzibar";
      return rare;
    }
    // Zipf-ish: the square of a uniform favours low indexes.
    const double x = Real();
    return w[static_cast<std::size_t>(x * x * x * static_cast<double>(w.size() - 1))];
  }
  std::string Text(std::size_t bytes) {
    std::string s;
    while (s.size() < bytes) {
      if (!s.empty()) s += ' ';
      s += Word();
    }
    return s;
  }
};

std::string JsonString(const std::string& s) { return json::serialize(json::value(s)); }

struct ConvState {
  std::string conversation_id;
  std::string branch = "main";
  std::string parent_request_id;
  std::string parent_hash;
  std::string system_hash;
  int messages = 1;
  int subtasks = 0;
};

struct Who {
  int user, account, domain;
  std::string session;
};

// One exchange as the writer would store it after enrichment and linking.
cn::Record MakeRecord(Gen& g, const Who& who, std::int64_t ts, std::uint64_t key,
                      const std::string& request_type, ConvState* conv, bool subtask,
                      const std::string& parent_task, std::size_t pad_kb) {
  cn::Record r;
  r.request_id = Uuid(ts, key);
  r.domain = Domain(who.domain);
  r.account_id = AccountId(who.account);
  r.timestamp_unix_micros = ts;
  r.method = "POST";
  r.path = request_type == "count_tokens" ? "/v1/messages/count_tokens" : "/v1/messages";
  r.query = "beta=true";
  r.enriched = true;
  r.request_type = request_type;
  r.user_id = UserId(who.user);
  r.session_id = who.session;

  // Model: a user mostly sticks to one; sub-agents often run on haiku.
  int total = 0;
  for (const Model& m : kModels) total += m.weight;
  int pick = static_cast<int>(g.Int(0, total - 1));
  const Model* model = &kModels[0];
  for (const Model& m : kModels) {
    if (pick < m.weight) {
      model = &m;
      break;
    }
    pick -= m.weight;
  }
  if (request_type == "query_evaluation" || (subtask && g.Chance(0.5))) model = &kModels[3];
  r.model = model->id;

  const bool streaming = request_type == "inference" && g.Chance(0.92);
  const std::string user_text = g.Text(static_cast<std::size_t>(g.Int(150, 450)));
  const std::string answer = g.Text(static_cast<std::size_t>(g.Int(200, 700)));
  const int messages = conv != nullptr ? conv->messages : 1;
  r.message_count = messages;

  // Request body: system prompt, earlier turns, the last user message; ~3 KB.
  std::string body = "{\"model\":\"" + r.model +
                     "\",\"max_tokens\":32000,\"stream\":" + (streaming ? "true" : "false") +
                     ",\"metadata\":{\"user_id\":\"user_" + r.user_id + "_account_" +
                     Uuid(0, static_cast<std::uint64_t>(who.account) + 1) + "_session_" +
                     r.session_id + "\"},\"system\":[{\"type\":\"text\",\"text\":" +
                     JsonString("You are Claude Code, Anthropic's official CLI for Claude. " +
                                g.Text(900) + std::string(pad_kb * 1024, 'x')) +
                     "}],\"messages\":[";
  const int shown = std::min(messages, 6);
  for (int m = 0; m < shown - 1; ++m) {
    body += std::string("{\"role\":\"") + (m % 2 == 0 ? "user" : "assistant") +
            "\",\"content\":" + JsonString(g.Text(220)) + "},";
  }
  body += "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":" + JsonString(user_text) +
          "}]}]}";
  r.request_body = std::move(body);
  r.request_headers = {{"host", r.domain},
                       {"content-type", "application/json"},
                       {"anthropic-version", "2023-06-01"},
                       {"anthropic-beta", "claude-code-20250219,oauth-2025-04-20"},
                       {"authorization", "Bearer ****abcd"},
                       {"user-agent", "claude-cli/2.0.14 (external, cli)"},
                       {"x-app", "cli"},
                       {"x-claude-code-session-id", r.session_id},
                       {"x-stainless-lang", "js"},
                       {"content-length", std::to_string(r.request_body.size())}};

  // Outcome mix: 1.5 % 429, 0.8 % 529 / 500, 2 % aborted streams, 0.5 % rejected by the proxy.
  const double o = g.Real();
  r.response_status = 200;
  if (o < 0.005) {
    r.outcome = cn::Outcome::kRejected;
    r.response_status = 401;
    r.error = "client authentication failed";
  } else if (o < 0.02) {
    r.response_status = 429;
    r.error = "rate_limit_error: Number of request tokens has exceeded your rate limit";
  } else if (o < 0.028) {
    r.response_status = g.Chance(0.7) ? 529 : 500;
    r.error = r.response_status == 529 ? "overloaded_error: Overloaded" : "api_error: Internal";
  } else if (o < 0.048 && streaming) {
    r.outcome = cn::Outcome::kClientAborted;
    r.error = "client closed the connection";
  } else if (o < 0.05) {
    r.outcome = cn::Outcome::kUpstreamFailed;
    r.response_status = 502;
    r.error = "upstream connect timeout";
  }
  r.upstream_attempts = r.outcome == cn::Outcome::kRejected ? 0 : 1;
  const bool answered = r.response_status == 200;

  const std::int64_t duration = g.Int(800, 90'000) * 1000;
  r.duration_micros = duration;
  if (r.outcome != cn::Outcome::kRejected) r.first_byte_micros = g.Int(300, 4000) * 1000;

  if (answered) {
    r.usage.input_tokens = g.Int(1, 60);
    r.usage.cache_read_input_tokens = messages > 1 ? 12'000 + messages * g.Int(800, 2500) : 0;
    r.usage.cache_creation_input_tokens = g.Int(200, 6000);
    r.usage.output_tokens =
        r.outcome == cn::Outcome::kClientAborted ? g.Int(0, 200) : g.Int(30, 2500);
    if (request_type == "count_tokens" || request_type == "quota") {
      r.usage = {g.Int(5000, 60000), request_type == "quota" ? 1 : 0, 0, 0};
    }
    r.usage_json =
        "{\"input_tokens\":" + std::to_string(r.usage.input_tokens) +
        ",\"cache_creation_input_tokens\":" + std::to_string(r.usage.cache_creation_input_tokens) +
        ",\"cache_read_input_tokens\":" + std::to_string(r.usage.cache_read_input_tokens) +
        ",\"output_tokens\":" + std::to_string(r.usage.output_tokens) +
        ",\"service_tier\":\"standard\"}";
    if (model->in >= 0) {
      r.cost_usd = (r.usage.input_tokens * model->in + r.usage.output_tokens * model->out +
                    r.usage.cache_creation_input_tokens * model->cache_write +
                    r.usage.cache_read_input_tokens * model->cache_read) /
                   1e6;
    }
    const bool task = request_type == "inference" && !subtask && g.Chance(0.06);
    r.stop_reason = task ? "tool_use" : (g.Chance(0.6) ? "tool_use" : "end_turn");
    r.tool_call_count = r.stop_reason == "tool_use" ? static_cast<int>(g.Int(1, 3)) : 0;
    std::string content = "[{\"type\":\"text\",\"text\":" + JsonString(answer) + "}";
    if (task) {
      const std::string input =
          "{\"description\":\"Explore\",\"prompt\":" + JsonString(g.Text(160)) +
          ",\"subagent_type\":\"general\"}";
      content += ",{\"type\":\"tool_use\",\"id\":\"toolu_" + Hex(key, 16) +
                 "\",\"name\":\"Task\",\"input\":" + input + "}";
      r.task_tool_invocation_json =
          "[{\"id\":\"toolu_" + Hex(key, 16) + "\",\"name\":\"Task\",\"input\":" + input + "}]";
    }
    content += "]";
    r.response_json = "{\"id\":\"msg_" + Hex(key, 24) +
                      "\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"" + r.model +
                      "\",\"content\":" + content + ",\"stop_reason\":\"" + r.stop_reason +
                      "\",\"stop_sequence\":null,\"usage\":" + r.usage_json + "}";
  } else if (!r.error.empty() && r.response_status >= 400) {
    r.response_json =
        "{\"type\":\"error\",\"error\":{\"type\":\"error\",\"message\":" + JsonString(r.error) +
        "}}";
  }

  if (streaming && answered) {
    r.response_streaming = true;
    const std::string events[] = {
        "message_start",       "content_block_start", "content_block_delta",
        "content_block_delta", "content_block_delta", "content_block_delta",
        "content_block_stop",  "message_delta",       "message_stop"};
    std::int64_t at = ts + *r.first_byte_micros;
    for (std::size_t k = 0; k < std::size(events); ++k) {
      std::string data = "{\"type\":\"" + events[k] + "\"";
      if (events[k] == "content_block_delta") {
        data += ",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":" +
                JsonString(answer.substr(std::min(answer.size(), (k - 2) * 60), 60)) + "}";
      } else if (events[k] == "message_delta") {
        data += ",\"delta\":{\"stop_reason\":\"" + r.stop_reason +
                "\"},\"usage\":{\"output_tokens\":" + std::to_string(r.usage.output_tokens) + "}";
        r.chunk_usage.push_back({k, data, r.usage.output_tokens});
      }
      data += "}";
      r.chunks.push_back({at, "event: " + events[k] + "\ndata: " + data + "\n\n"});
      at += (duration - *r.first_byte_micros) / static_cast<std::int64_t>(std::size(events));
    }
    if (r.outcome == cn::Outcome::kClientAborted) r.chunks.resize(4);
  } else {
    r.response_body = r.response_json;
  }

  r.response_headers = {{"content-type", streaming ? "text/event-stream" : "application/json"},
                        {"request-id", "req_" + Hex(key, 24)},
                        {"x-request-id", r.request_id}};
  // Quota: OAuth accounts get unified headers on most answers; utilisation climbs through each
  // 5-hour window.
  if (OAuthAccount(who.account) && r.upstream_attempts > 0 && g.Chance(0.9)) {
    const std::int64_t window = 5 * kHour;
    const double phase = static_cast<double>(ts % window) / static_cast<double>(window);
    const double u5 = std::min(1.0, phase * (0.5 + 0.1 * who.account) + g.Real() * 0.05);
    const double u7 = std::min(1.0, static_cast<double>(ts % (7 * kDay)) / (7.0 * kDay) * 0.8);
    r.quota.status = r.response_status == 429 ? "rejected"
                     : u5 >= 0.9              ? "allowed_warning"
                                              : "allowed";
    r.quota.utilization_5h = std::round(u5 * 100) / 100;
    r.quota.resets_at_5h = (ts / window + 1) * window / kSecond;
    r.quota.utilization_7d = std::round(u7 * 100) / 100;
    r.quota.resets_at_7d = (ts / (7 * kDay) + 1) * 7 * kDay / kSecond;
    char buf[400];
    std::snprintf(buf, sizeof buf,
                  "{\"status\":\"%s\",\"resetsAt\":%" PRId64
                  ",\"representativeClaim\":\"five_hour\",\"windows\":{\"5h\":{\"status\":\"%s\","
                  "\"utilization\":%.2f,\"resetsAt\":%" PRId64
                  "},\"7d\":{\"status\":\"allowed\",\"utilization\":%.2f,\"resetsAt\":%" PRId64
                  "}}}",
                  r.quota.status.c_str(), *r.quota.resets_at_5h, r.quota.status.c_str(),
                  *r.quota.utilization_5h, *r.quota.resets_at_5h, *r.quota.utilization_7d,
                  *r.quota.resets_at_7d);
    r.quota.json = buf;
    r.response_headers.push_back({"anthropic-ratelimit-unified-status", r.quota.status});
    r.response_headers.push_back(
        {"anthropic-ratelimit-unified-5h-utilization", std::to_string(*r.quota.utilization_5h)});
    r.response_headers.push_back(
        {"anthropic-ratelimit-unified-5h-reset", std::to_string(*r.quota.resets_at_5h)});
  }

  if (request_type == "inference" || request_type == "query_evaluation") {
    r.search_text = user_text + "\n" + answer;
  }
  if (conv != nullptr && request_type == "inference") {
    r.link.conversation_id = conv->conversation_id;
    r.link.branch_id = conv->branch;
    r.link.parent_request_id = conv->parent_request_id;
    r.link.parent_message_hash = conv->parent_hash;
    r.link.current_message_hash = Hex(key * 31 + 7, 16) + Hex(key ^ 0x5555, 16) + Hex(key, 32);
    r.link.system_hash = conv->system_hash;
    r.link.is_subtask = subtask;
    r.link.parent_task_request_id = parent_task;
    conv->parent_request_id = r.request_id;
    conv->parent_hash = r.link.current_message_hash;
    conv->messages += 2;
  }
  return r;
}

// The records of block `b` (exactly kBlock), in time order within each conversation, between
// t0 + b * span and (a little after) t0 + (b + 1) * span.
std::vector<cn::Record> Block(std::int64_t b, std::int64_t t0, std::int64_t span,
                              std::size_t pad_kb = 0) {
  Gen g(static_cast<std::uint64_t>(b) * 7919 + 17);
  std::vector<cn::Record> out;
  out.reserve(kBlock);
  std::uint64_t key = static_cast<std::uint64_t>(b) * kBlock * 4;
  const std::int64_t start = t0 + b * span;
  int conv_no = 0;
  while (out.size() < kBlock) {
    const int u = static_cast<int>(g.Int(0, kUsers - 1));
    Who who{u, AccountOf(u), DomainOf(u, static_cast<int>(g.Int(0, 1 + u % 2))),
            Uuid(start, 0x5e5500000000ull + static_cast<std::uint64_t>(b) * 64 + u)};
    std::int64_t ts = start + (conv_no == 0 && b == 0 ? 0 : g.Int(0, span - 1));
    ++conv_no;
    // Requests outside conversations: count_tokens, quota checks.
    if (g.Chance(0.04)) {
      out.push_back(MakeRecord(g, who, ts, ++key, g.Chance(0.5) ? "count_tokens" : "quota", nullptr,
                               false, "", pad_kb));
      continue;
    }
    ConvState conv;
    conv.conversation_id = Uuid(ts, ++key ^ 0xc0c0c0c0ull);
    conv.system_hash = Hex(static_cast<std::uint64_t>(u) * 1315423911ull, 16) + Hex(u, 48);
    // Length 1..60, skewed short (median ~10).
    const double x = g.Real();
    const int length = 1 + static_cast<int>(x * x * 59);
    int subtask_no = 0;
    for (int i = 0; i < length && out.size() < kBlock; ++i) {
      if (i > 0) ts += g.Int(5, 120) * kSecond;
      if (i > 2 && g.Chance(0.03)) {  // the user edited an earlier message: a new branch
        conv.branch = "branch_" + std::to_string(ts / kSecond);
      } else if (i > 8 && g.Chance(0.02)) {  // compacted and continued
        conv.branch = "compact_" + Hex(static_cast<std::uint64_t>(ts / kSecond) % 0xffffff, 6);
        conv.messages = 1;
      }
      if (g.Chance(0.05)) {  // query evaluation (haiku side request), not linked
        out.push_back(
            MakeRecord(g, who, ts, ++key, "query_evaluation", nullptr, false, "", pad_kb));
        continue;
      }
      cn::Record r = MakeRecord(g, who, ts, ++key, "inference", &conv, false, "", pad_kb);
      const bool task = !r.task_tool_invocation_json.empty();
      const std::string task_request = r.request_id;
      out.push_back(std::move(r));
      if (task) {  // a sub-agent runs 2-12 requests on the same conversation
        ConvState sub;
        sub.conversation_id = conv.conversation_id;
        sub.branch = "subtask_" + std::to_string(++subtask_no);
        sub.system_hash = Hex(0xa9e47ull + u, 64);
        std::int64_t sts = ts;
        const int n = static_cast<int>(g.Int(2, 12));
        for (int k = 0; k < n && out.size() < kBlock; ++k) {
          sts += g.Int(3, 40) * kSecond;
          out.push_back(
              MakeRecord(g, who, sts, ++key, "inference", &sub, true, task_request, pad_kb));
        }
        ts = sts;
      }
    }
  }
  return out;
}

// ---- stores -----------------------------------------------------------------------------------

struct Options {
  std::string store = "sqlite";
  std::string path = "/tmp/cn-api-bench/bench.db";
  std::string url;
  long rows = 1'000'000;
  int reps = 30;
  int batch = 256;
  std::string only;
  std::size_t pad_kb = 0;
};

cn::StatusOr<std::unique_ptr<cn::Store>> OpenStore(const Options& o) {
  if (o.store == "sqlite") {
    auto s = cn::storage::SqliteStore::Open({o.path});
    if (!s.ok()) return s.status();
    return std::unique_ptr<cn::Store>(std::move(*s));
  }
  if (o.store == "postgres") {
    auto s = cn::storage::PostgresStore::Open({o.url});
    if (!s.ok()) return s.status();
    return std::unique_ptr<cn::Store>(std::move(*s));
  }
  return cn::Status::InvalidArgument("--store must be sqlite or postgres");
}

std::int64_t ScalarInt(cn::SqlReader& r, const std::string& sql) {
  std::int64_t v = 0;
  (void)r.Query(sql, std::span<const cn::SqlParam>(), [&](const cn::SqlRow& row) {
    v = row.Int(0);
    return false;
  });
  return v;
}

int Seed(const Options& o) {
  auto store = OpenStore(o);
  if (!store.ok() || !(*store)->Migrate().ok()) {
    std::fprintf(stderr, "cannot open/migrate the store: %s\n",
                 store.ok() ? "migration failed" : store.status().ToString().c_str());
    return 1;
  }
  auto reader = (*store)->OpenReader(0);
  if (!reader.ok()) return 1;
  const std::int64_t have = ScalarInt(**reader, "SELECT COUNT(*) FROM api_requests");
  const std::int64_t blocks = (o.rows + kBlock - 1) / kBlock;
  const std::int64_t span = 90 * kDay / blocks;
  std::int64_t t0 = cn::NowUnixMicros() - 90 * kDay;
  if (have > 0) t0 = ScalarInt(**reader, "SELECT MIN(timestamp_us) FROM api_requests");
  const std::int64_t first = have / kBlock;
  std::printf("seed %s: %" PRId64 " rows present, writing blocks %" PRId64 "..%" PRId64
              " (%d rows each, batches of %d)\n",
              std::string((*store)->Kind()).c_str(), have, first, blocks - 1, kBlock, o.batch);
  const auto start = Clock::now();
  std::int64_t written = 0;
  for (std::int64_t b = first; b < blocks; ++b) {
    const std::vector<cn::Record> recs = Block(b, t0, span, o.pad_kb);
    const std::span<const cn::Record> all(recs);
    for (std::size_t i = 0; i < all.size(); i += static_cast<std::size_t>(o.batch)) {
      const auto n = std::min(static_cast<std::size_t>(o.batch), all.size() - i);
      if (cn::Status s = (*store)->WriteBatch(all.subspan(i, n)); !s.ok()) {
        std::fprintf(stderr, "WriteBatch: %s\n", s.ToString().c_str());
        return 1;
      }
    }
    written += kBlock;
    if ((b + 1) % 50 == 0 || b + 1 == blocks) {
      const double secs = std::chrono::duration<double>(Clock::now() - start).count();
      std::printf("  %" PRId64 " rows, %.0f rows/s, %.0f s\n", (b + 1) * kBlock, written / secs,
                  secs);
      std::fflush(stdout);
    }
  }
  return 0;
}

// ---- measuring --------------------------------------------------------------------------------

struct Row {
  std::string name;
  std::vector<double> ms;
  std::string note;
};

double Pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(std::lround(p * static_cast<double>(v.size() - 1)));
  return v[std::min(i, v.size() - 1)];
}

std::string Enc(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string LoadAverage() {
  std::FILE* f = std::fopen("/proc/loadavg", "r");
  if (f == nullptr) return "?";
  char buf[64] = {};
  const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  std::string s(buf, n);
  const auto cut = s.find(' ', s.find(' ', s.find(' ') + 1) + 1);
  return s.substr(0, cut);
}

int Measure(const Options& o) {
  const std::string load_before = LoadAverage();
  auto store = OpenStore(o);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
    return 1;
  }
  auto reader_or = (*store)->OpenReader(0);
  if (!reader_or.ok()) {
    std::fprintf(stderr, "%s\n", reader_or.status().ToString().c_str());
    return 1;
  }
  cn::SqlReader& reader = **reader_or;
  const std::int64_t rows = ScalarInt(reader, "SELECT COUNT(*) FROM api_requests");
  const std::int64_t t0 = ScalarInt(reader, "SELECT MIN(timestamp_us) FROM api_requests");
  const std::int64_t now =
      ScalarInt(reader, "SELECT MAX(timestamp_us) FROM api_requests") + kSecond;
  const std::int64_t blocks = rows / kBlock;
  if (blocks == 0) {
    std::fprintf(stderr, "the store is empty: seed it first\n");
    return 1;
  }
  // Ids to ask for: regenerate a few blocks (deterministic) spread over the 90 days. `span`
  // follows the seed's --rows (pass the same).
  const std::int64_t seeded_blocks = (o.rows + kBlock - 1) / kBlock;
  const std::int64_t span = 90 * kDay / seeded_blocks;
  std::vector<std::string> request_ids, conversation_ids;
  for (int k = 0; k < 8; ++k) {
    const std::int64_t b = (blocks - 1) * k / 7;
    for (const cn::Record& r : Block(b, t0, span)) {
      if (request_ids.size() < 8 * (static_cast<std::size_t>(k) + 1) && r.response_streaming) {
        request_ids.push_back(r.request_id);
      }
      if (!r.link.conversation_id.empty() &&
          std::find(conversation_ids.begin(), conversation_ids.end(), r.link.conversation_id) ==
              conversation_ids.end() &&
          conversation_ids.size() < 8 * (static_cast<std::size_t>(k) + 1)) {
        conversation_ids.push_back(r.link.conversation_id);
      }
    }
  }

  cn::api::Context ctx;
  ctx.reader = &reader;
  ctx.store = store->get();
  ctx.now_us = now;
  auto get = [&](const std::string& target) {
    cn::api::Request req;
    req.method = "GET";
    const auto q = target.find('?');
    req.path = target.substr(0, q);
    if (q != std::string::npos) req.query = target.substr(q + 1);
    req.peer_loopback = true;
    return cn::api::Handle(req, ctx);
  };
  // Deep keyset cursors: the nextCursor of offset 10 000 (untimed setup).
  const std::string filters[] = {"", "&accountId=acc_3", "&domain=team7.example.com",
                                 "&model=claude-haiku-4-5-20251001"};
  std::vector<std::string> cursors;
  for (const std::string& f : filters) {
    const cn::api::Response r = get("/api/requests?limit=100&offset=10000" + f);
    const json::value v = json::parse(r.body);
    const json::value& c = v.as_object().at("nextCursor");
    if (c.is_string()) cursors.push_back(std::string(c.as_string()) + "\x01" + f);
  }

  struct Endpoint {
    std::string name;
    std::function<std::string(int)> target;  // empty target: the export path
    int export_format = 0;                   // 1 csv, 2 jsonl
  };
  // Accounts 0-5 are OAuth (quota columns set), 6 and 7 API-key accounts (never any).
  auto acc = [](int i) { return AccountId(i % kAccounts); };
  auto dom = [](int i) { return Domain((i * 7) % kDomains); };
  auto variant = [&](int i) -> std::string {
    switch (i % 4) {
      case 1:
        return "&accountId=" + acc(i);
      case 2:
        return "&domain=" + dom(i);
      case 3:
        return "&model=claude-haiku-4-5-20251001";
      default:
        return "";
    }
  };
  const std::vector<Endpoint> endpoints = {
      {"requests, first page (limit 100; 1 in 4 unfiltered, else account / domain / model)",
       [&](int i) { return "/api/requests?limit=100" + variant(i); }},
      {"requests, keyset page after offset 10 000 (cursor)",
       [&](int i) {
         const std::string& c = cursors[static_cast<std::size_t>(i) % cursors.size()];
         const auto sep = c.find('\x01');
         return "/api/requests?limit=100&cursor=" + Enc(c.substr(0, sep)) + c.substr(sep + 1);
       }},
      {"requests, offset=10000",
       [&](int i) { return "/api/requests?limit=100&offset=10000" + variant(i); }},
      {"requests/:id (detail, with chunks)",
       [&](int i) {
         return "/api/requests/" + request_ids[static_cast<std::size_t>(i) % request_ids.size()];
       }},
      {"conversations, first page (limit 50)",
       [&](int i) {
         return "/api/conversations?limit=50" + std::string(i % 2 ? "&domain=" + dom(i) : "");
       }},
      {"conversations/:id (tree)",
       [&](int i) {
         return "/api/conversations/" +
                conversation_ids[static_cast<std::size_t>(i) % conversation_ids.size()];
       }},
      {"stats (default 24 h)",
       [&](int i) { return "/api/stats" + std::string(i % 2 ? "?accountId=" + acc(i) : ""); }},
      {"stats, 90 days",
       [&](int i) {
         return "/api/stats?since=" + std::to_string((t0 - kDay) / 1000) + variant(i);
       }},
      {"dashboard/stats (all time)", [&](int i) { return "/api/dashboard/stats?" + variant(i); }},
      {"domains (default 7 days)", [&](int) { return std::string("/api/domains"); }},
      {"token-usage/current (5 h, one account)",
       [&](int i) { return "/api/token-usage/current?window=300&accountId=" + acc(i); }},
      {"token-usage/daily (30 days, one account)",
       [&](int i) { return "/api/token-usage/daily?days=30&accountId=" + acc(i); }},
      {"token-usage/daily (30 days, all, aggregate)",
       [&](int) { return std::string("/api/token-usage/daily?days=30&aggregate=true"); }},
      {"token-usage/time-series (5 h / 5 min)",
       [&](int i) {
         return "/api/token-usage/time-series?window=5&interval=5&accountId=" + acc(i);
       }},
      {"token-usage/accounts", [&](int) { return std::string("/api/token-usage/accounts"); }},
      {"analytics sliding-window (7 days, 10 min)",
       [&](int i) {
         return "/api/analytics/token-usage/sliding-window?days=7&accountId=" + acc(i);
       }},
      {"usage/requests/hourly (7 days)",
       [&](int i) {
         return "/api/usage/requests/hourly?days=7" + std::string(i % 2 ? "&domain=" + dom(i) : "");
       }},
      {"usage/tokens/hourly (7 days)",
       [&](int) { return std::string("/api/usage/tokens/hourly?days=7"); }},
      {"users (default 30 days)",
       [&](int i) { return "/api/users" + std::string(i % 2 ? "?accountId=" + acc(i) : ""); }},
      {"sessions (default 30 days)",
       [&](int i) { return "/api/sessions" + std::string(i % 2 ? "?accountId=" + acc(i) : ""); }},
      {"ratelimits (7 days, one account)",
       [&](int i) { return "/api/ratelimits?accountId=" + acc(i); }},
      {"ratelimits (7 days, every account)", [&](int) { return std::string("/api/ratelimits"); }},
      {"search, common word (\"test\")",
       [&](int i) { return "/api/search?q=test" + std::string(i % 2 ? "&domain=" + dom(i) : ""); }},
      {"search, two common words (\"build cache\")",
       [&](int) { return std::string("/api/search?q=build+cache"); }},
      {"search, rare word (\"zanzibar\")",
       [&](int) { return std::string("/api/search?q=zanzibar"); }},
      {"export csv, first chunk (500 rows)",
       [&](int i) { return "/api/export?format=csv" + variant(i); }, 1},
      {"export jsonl, first chunk (500 rows)",
       [&](int i) { return "/api/export?format=jsonl" + variant(i); }, 2},
  };

  auto call = [&](const Endpoint& e, int i, std::string* note) {
    const std::string target = e.target(i);
    if (e.export_format == 0) {
      const cn::api::Response r = get(target);
      if (r.status != 200 && note->empty())
        *note = std::to_string(r.status) + " " + r.body.substr(0, 120);
      return;
    }
    cn::api::Request req;
    req.method = "GET";
    req.path = "/api/export";
    req.query = target.substr(target.find('?') + 1);
    auto plan = cn::api::PlanExport(req, now);
    bool done = false;
    auto chunk = cn::api::ExportChunk(reader, std::get<cn::api::ExportPlan>(plan), &done);
    if (!chunk.ok() && note->empty()) *note = chunk.status().ToString();
  };

  // Baseline: a trivial round trip over the same reader.
  std::vector<double> base;
  for (int i = 0; i < 200; ++i) {
    const auto t = Clock::now();
    ScalarInt(reader, "SELECT 1");
    base.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t).count());
  }
  const double base_p50 = Pct(base, 0.5);

  std::vector<Row> results;
  for (const Endpoint& e : endpoints) {
    if (!o.only.empty() && e.name.find(o.only) == std::string::npos) continue;
    Row row{e.name, {}, {}};
    call(e, 0, &row.note);  // warm-up, untimed
    for (int i = 0; i < o.reps; ++i) {
      const auto t = Clock::now();
      call(e, i + 1, &row.note);
      row.ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t).count());
    }
    std::fprintf(stderr, "  %-70s p95 %8.2f ms\n", e.name.c_str(), Pct(row.ms, 0.95));
    results.push_back(std::move(row));
  }

  std::printf("\n%s, %" PRId64
              " rows, %d calls per endpoint after one warm-up; "
              "baseline SELECT 1 p50 %.3f ms; load average (1, 5, 15 min) %s before, %s after\n\n",
              std::string((*store)->Kind()).c_str(), rows, o.reps, base_p50, load_before.c_str(),
              LoadAverage().c_str());
  std::printf("| endpoint | p50 ms | p95 ms | max ms | p95 / 100 ms | p95 / SELECT 1 |\n");
  std::printf("|---|---:|---:|---:|---:|---:|\n");
  int misses = 0;
  for (const Row& r : results) {
    const double p95 = Pct(r.ms, 0.95);
    const bool slow_target = r.name.rfind("search", 0) == 0 || r.name.rfind("export", 0) == 0;
    const double target = slow_target ? 300 : 100;
    if (p95 >= target) ++misses;
    std::printf("| %s | %.1f | %.1f | %.1f | %.2f | %.0f |%s\n", r.name.c_str(), Pct(r.ms, 0.5),
                p95, Pct(r.ms, 1.0), p95 / 100.0, p95 / base_p50,
                r.note.empty() ? "" : (" error: " + r.note).c_str());
  }
  std::printf("\n%d endpoint(s) at or over target (100 ms; search and export 300 ms)\n", misses);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"cn-api-bench: seed a store with realistic requests, then time every API endpoint"};
  app.require_subcommand(1);
  Options o;
  for (CLI::App* sub : {app.add_subcommand("seed", "write --rows requests through WriteBatch"),
                        app.add_subcommand("measure", "time every endpoint of docs/api.md")}) {
    sub->add_option("--store", o.store, "sqlite | postgres");
    sub->add_option("--path", o.path, "SQLite file");
    sub->add_option("--database-url", o.url, "PostgreSQL URL");
    sub->add_option("--rows", o.rows, "rows to seed (measure: the --rows the seed used)");
    sub->add_option("--batch", o.batch, "records per WriteBatch");
    sub->add_option("--reps", o.reps, "timed calls per endpoint");
    sub->add_option("--pad-kb", o.pad_kb,
                    "seed: KiB added to each request body (Claude Code's are 50-200 KB)");
    sub->add_option("--only", o.only, "only endpoints whose name contains this");
  }
  CLI11_PARSE(app, argc, argv);
  if (app.got_subcommand("seed")) return Seed(o);
  return Measure(o);
}
