#include "api_test_support.h"

#include <stdlib.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "common/time.h"
#include "storage/sqlite/sqlite_store.h"
#ifdef CN_TEST_POSTGRES
#include "pg_test_database.h"
#include "storage/postgres/postgres_store.h"
#endif

namespace cn::api::testing {
namespace json = boost::json;

namespace {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "cn_api_test_XXXXXX").string();
    if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class SqliteUnderTest final : public StoreUnderTest {
 public:
  static std::unique_ptr<StoreUnderTest> Make() {
    auto t = std::make_unique<SqliteUnderTest>();
    if (t->dir_.path().empty()) {
      ADD_FAILURE() << "cannot create a temporary directory";
      return nullptr;
    }
    auto store = storage::SqliteStore::Open({t->dir_.path() + "/data/claude-nexus.db"});
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

 private:
  TempDir dir_;  // declared first: removed after the store closed its files
  std::unique_ptr<storage::SqliteStore> store_;
};

#ifdef CN_TEST_POSTGRES
class PostgresUnderTest final : public StoreUnderTest {
 public:
  static std::unique_ptr<StoreUnderTest> Make() {
    auto t = std::make_unique<PostgresUnderTest>();
    if (!t->db_.ok()) {
      ADD_FAILURE() << t->db_.error();
      return nullptr;
    }
    auto store = storage::PostgresStore::Open({t->db_.url()});
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

 private:
  storage::testing::PgTestDatabase db_;  // declared first: dropped after the store closed
  std::unique_ptr<storage::PostgresStore> store_;
};
#endif

std::string Uuid(const char* prefix, int n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s-0000-4000-8000-%012d", prefix, n);
  return buf;
}

QuotaSnapshot Quota(const std::string& status, double u5, double u7) {
  QuotaSnapshot q;
  q.status = status;
  q.utilization_5h = u5;
  q.resets_at_5h = kNowUs / kSecondUs + 2 * 3600;
  q.utilization_7d = u7;
  q.resets_at_7d = kNowUs / kSecondUs + 5 * 86400;
  q.json = R"({"status":")" + status + R"(","windows":{"5h":{"utilization":)" + std::to_string(u5) +
           R"(},"7d":{"utilization":)" + std::to_string(u7) + "}}}";
  return q;
}

void Link(Record& r, int conv, const std::string& branch, int parent) {
  r.link.conversation_id = ConvId(conv);
  r.link.branch_id = branch;
  if (parent > 0) r.link.parent_request_id = Id(parent);
  r.link.current_message_hash = std::string(64, static_cast<char>('a' + r.request_id.back() % 6));
}

}  // namespace

std::vector<Backend> Backends() {
  std::vector<Backend> b;
  b.push_back({"Sqlite", &SqliteUnderTest::Make, nullptr});
#ifdef CN_TEST_POSTGRES
  b.push_back({"Postgres", &PostgresUnderTest::Make, &storage::testing::PostgresMissingReason});
#endif
  return b;
}

std::string Id(int n) { return Uuid("00000000", n); }
std::string ConvId(int n) { return Uuid("c0000000", n); }
std::string Iso(std::int64_t us) { return FormatIso8601(us); }

std::vector<std::string> Ids(std::initializer_list<int> ids) {
  std::vector<std::string> out;
  for (int n : ids) out.push_back(Id(n));
  return out;
}

Record Base(int n, std::int64_t at_us) {
  Record r;
  r.request_id = Id(n);
  r.domain = "alpha.example.com";
  r.account_id = "acc-a";
  r.timestamp_unix_micros = at_us;
  r.method = "POST";
  r.path = "/v1/messages";
  r.request_headers = {{"Content-Type", "application/json"}, {"x-api-key", "****abcd"}};
  r.request_body =
      R"({"model":"claude-sonnet-4","max_tokens":100,"messages":[{"role":"user","content":"hi"}]})";
  r.response_status = 200;
  r.response_headers = {{"content-type", "application/json"}};
  r.response_body = R"({"type":"message","content":[]})";
  r.response_json = r.response_body;
  r.first_byte_micros = 400'000;
  r.duration_micros = 1'500'000;
  r.upstream_attempts = 1;
  r.enriched = true;
  r.model = "claude-sonnet-4";
  r.request_type = "inference";
  r.message_count = 1;
  r.stop_reason = "end_turn";
  return r;
}

std::vector<Record> Dataset() {
  const std::int64_t t0 = kNowUs;
  auto usage = [](Record& r, std::int64_t in, std::int64_t out) {
    r.usage.input_tokens = in;
    r.usage.output_tokens = out;
    r.usage_json = "{\"input_tokens\":" + std::to_string(in) +
                   ",\"output_tokens\":" + std::to_string(out) + "}";
  };
  auto who = [](Record& r, const std::string& user, const std::string& session) {
    r.user_id = user;
    r.session_id = session;
  };

  Record r1 = Base(kR1, t0 - 3 * kHourUs);
  usage(r1, 100, 50);
  r1.usage.cache_creation_input_tokens = 10;
  r1.usage.cache_read_input_tokens = 20;
  who(r1, "user-1", "session-1");
  r1.cost_usd = 0.01;
  Link(r1, kC1, "main", 0);
  r1.quota = Quota("allowed", 0.50, 0.10);
  r1.response_streaming = true;
  r1.response_headers = {{"content-type", "text/event-stream"}};
  r1.response_body.clear();
  r1.chunks = {
      {t0 - 3 * kHourUs + 300'000, "event: message_start\ndata: {\"type\":\"message_start\"}\n\n"},
      {t0 - 3 * kHourUs + 900'000,
       "event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":"
       "{\"output_tokens\":50}}\n\n"}};
  r1.chunk_usage = {{1, R"({"type":"message_delta","usage":{"output_tokens":50}})", 50}};
  r1.search_text = "please refactor the tokenizer module\nSure, the tokenizer is refactored";

  Record r2 = Base(kR2, t0 - 2 * kHourUs);
  usage(r2, 200, 80);
  who(r2, "user-1", "session-1");
  r2.cost_usd = 0.02;
  Link(r2, kC1, "main", kR1);
  r2.quota = Quota("allowed_warning", 0.85, 0.12);
  r2.message_count = 3;
  r2.tool_call_count = 1;
  r2.task_tool_invocation_json = R"([{"id":"toolu_1","name":"Task","input":{"prompt":"help"}}])";
  r2.search_text = "spawn a helper agent at the Café\nLaunching the agent";

  Record s1 = Base(kS1, t0 - 2 * kHourUs + kMinuteUs);
  usage(s1, 50, 10);
  who(s1, "user-1", "session-1");
  s1.cost_usd = 0.001;
  Link(s1, kC2, "subtask_1", 0);
  s1.link.is_subtask = true;
  s1.link.parent_task_request_id = Id(kR2);

  Record s2 = Base(kS2, t0 - 2 * kHourUs + 2 * kMinuteUs);
  usage(s2, 60, 15);
  who(s2, "user-1", "session-1");
  s2.cost_usd = 0.002;
  Link(s2, kC2, "subtask_1", kS1);
  s2.link.is_subtask = true;

  Record r3 = Base(kR3, t0 - kHourUs);
  usage(r3, 150, 60);
  who(r3, "user-1", "session-1");
  r3.cost_usd = 0.015;
  Link(r3, kC1, "branch_1", kR1);
  r3.quota = Quota("allowed_warning", 0.92, 0.15);

  Record r4 = Base(kR4, t0 - 30 * kMinuteUs);
  usage(r4, 300, 20);
  who(r4, "user-1", "session-1");
  r4.cost_usd = 0.03;
  Link(r4, kC1, "compact_1", kR3);
  r4.quota = Quota("allowed_warning", 0.92, 0.15);
  r4.response_status = 500;
  r4.outcome = Outcome::kUpstreamFailed;
  r4.error = "upstream exploded";

  Record b1 = Base(kB1, t0 - 2 * kDayUs);
  b1.domain = "beta.example.com";
  b1.account_id = "acc-b";
  b1.model = "claude-opus-4";
  usage(b1, 1000, 400);
  who(b1, "user-2", "session-2");
  b1.cost_usd = 0.5;
  Link(b1, kC3, "main", 0);
  b1.response_status = 429;
  b1.search_text = "benchmark the tokenizer\nDone";

  Record b2 = Base(kB2, t0 - 26 * kHourUs);
  b2.domain = "beta.example.com";
  b2.account_id = "acc-b";
  b2.model = "claude-opus-4";
  usage(b2, 10, 5);
  who(b2, "user-2", "session-2");
  Link(b2, kC3, "main", kB1);
  b2.outcome = Outcome::kClientAborted;
  b2.error = "client went away";

  Record q1 = Base(kQ1, t0 - 10 * kMinuteUs);
  q1.domain = "beta.example.com";
  q1.account_id = "acc-b";
  q1.model = "claude-haiku-4";
  q1.request_type = "query_evaluation";
  usage(q1, 5, 1);
  who(q1, "user-2", "session-3");
  q1.cost_usd = 0.0001;

  Record k1 = Base(kK1, t0 - 5 * kMinuteUs);
  k1.model = "claude-haiku-4";
  k1.request_type = "count_tokens";
  k1.path = "/v1/messages/count_tokens";
  usage(k1, 7, 0);

  Record x1 = Base(kX1, t0 - 4 * kDayUs);
  who(x1, "user-1", "session-1");
  x1.response_status = 401;
  x1.outcome = Outcome::kRejected;
  x1.error = "invalid api key";
  x1.upstream_attempts = 0;

  Record e1 = Base(kE1, t0 - 6 * kDayUs);
  e1.domain = "gamma.example.com";
  e1.account_id.reset();
  usage(e1, 3, 2);
  who(e1, "=cmd", "s,\"q\"");
  e1.cost_usd = 0.003;
  e1.error = "=HYPERLINK(\"x\"),\nline2";

  // Written out of time order: nothing may depend on insertion order.
  return {r3, e1, b1, r1, k1, s2, q1, r4, x1, b2, r2, s1};
}

std::string Str(const json::value& v) {
  if (v.is_string()) return std::string(v.as_string());
  return "<not a string: " + json::serialize(v) + ">";
}

double Num(const json::value& v) {
  if (v.is_int64()) return static_cast<double>(v.as_int64());
  if (v.is_uint64()) return static_cast<double>(v.as_uint64());
  if (v.is_double()) return v.as_double();
  ADD_FAILURE() << "not a number: " << json::serialize(v);
  return -1e300;
}

std::vector<std::string> Strings(const json::value& array, std::string_view key) {
  std::vector<std::string> out;
  if (!array.is_array()) {
    ADD_FAILURE() << "not an array: " << json::serialize(array);
    return out;
  }
  for (const auto& v : array.as_array()) {
    const json::value* f = v.as_object().if_contains(key);
    if (f == nullptr) {
      out.push_back("<missing>");
    } else if (f->is_null()) {
      out.push_back("<null>");
    } else if (f->is_string()) {
      out.push_back(std::string(f->as_string()));
    } else {
      out.push_back(json::serialize(*f));
    }
  }
  return out;
}

void ExpectBadRequest(const Reply& r, std::string_view context) {
  EXPECT_EQ(r.status, 400) << context << ": " << r.response.body;
  ASSERT_TRUE(r.body.is_object()) << context << ": " << r.response.body;
  const json::object& o = r.body.as_object();
  ASSERT_TRUE(o.contains("type") && o.contains("error")) << context << ": " << r.response.body;
  EXPECT_EQ(o.at("type"), "error") << context;
  const json::value& e = o.at("error");
  ASSERT_TRUE(e.is_object()) << context;
  EXPECT_EQ(e.at("type"), "invalid_request_error") << context;
  ASSERT_TRUE(e.as_object().contains("message")) << context;
  ASSERT_TRUE(e.at("message").is_string()) << context;
  EXPECT_FALSE(e.at("message").as_string().empty()) << context;
}

void ApiTest::SetUp() {
  const Backend& b = GetParam();
  if (b.missing) {
    if (std::string why = b.missing(); !why.empty()) {
      const char* ci = std::getenv("CI");  // under CI=true a missing server is a failure
      if (ci != nullptr && std::string_view(ci) == "true") FAIL() << why;
      GTEST_SKIP() << why;
    }
  }
  target_ = b.make();
  ASSERT_NE(target_, nullptr);
  auto reader = store().OpenReader(5000);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  reader_ = std::move(reader).value();
}

void ApiTest::TearDown() {
  reader_.reset();
  target_.reset();
}

void ApiTest::Write(const std::vector<Record>& records) {
  Status s = store().WriteBatch(records);
  ASSERT_TRUE(s.ok()) << s.ToString();
}

Reply ApiTest::Call(const Request& req) {
  Context ctx{reader_.get(), Status::Ok(), &store(), kNowUs};
  Reply out;
  out.response = Handle(req, ctx);
  out.status = out.response.status;
  boost::system::error_code ec;
  out.body = json::parse(out.response.body, ec);
  if (ec) {
    ADD_FAILURE() << req.path << "?" << req.query
                  << ": the body is not JSON: " << out.response.body;
    out.body = nullptr;
  }
  return out;
}

Reply ApiTest::Get(std::string_view path_and_query) {
  Request req;
  req.method = "GET";
  req.peer_loopback = true;
  auto q = path_and_query.find('?');
  req.path = std::string(path_and_query.substr(0, q));
  if (q != std::string_view::npos) req.query = std::string(path_and_query.substr(q + 1));
  return Call(req);
}

}  // namespace cn::api::testing
