// docs/openapi.json against the implementation it describes (docs/api.md):
//   - the document's paths are exactly api::Endpoints() and the index /api;
//   - every documented query parameter is read as documented: a value its schema forbids
//     (integer outside its bounds or not a number, boolean, enum, pattern, uuid, maxLength) is
//     answered 400 under each of its names, its bounds, enum values and examples are accepted,
//     and a plain string filter changes the answer; a made-up parameter changes nothing;
//   - over a seeded SQLite store, every answer of every endpoint validates against its
//     documented schema (a JSON Schema subset below: a field the code adds but the document
//     lacks, a wrong type or a missing required field fails), as do the export's JSON lines and
//     CSV header, the event feed's data, and the 400/404 bodies.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <variant>
#include <vector>

#include "api/api.h"
#include "query/event_feed.h"
#include "record/record.h"
#include "storage/sqlite/sqlite_store.h"

namespace cn::api {
namespace {
namespace json = boost::json;

// ---- The document ------------------------------------------------------------------------

const json::value& DocValue() {
  static const json::value doc = [] {
    std::ifstream in(CN_OPENAPI_JSON);
    std::stringstream text;
    text << in.rdbuf();
    boost::system::error_code ec;
    json::value v = json::parse(text.str(), ec);
    if (ec || !v.is_object()) return json::value(json::object());
    return v;
  }();
  return doc;
}
const json::object& Doc() { return DocValue().as_object(); }

// The value a local "#/a/b/c" reference names; null when it names nothing.
const json::value* Pointer(std::string_view ref) {
  if (!ref.starts_with("#/")) return nullptr;
  ref.remove_prefix(2);
  const json::value* v = &DocValue();
  while (true) {
    const auto slash = ref.find('/');
    if (!v->is_object()) return nullptr;
    const json::value* next = v->as_object().if_contains(ref.substr(0, slash));
    if (next == nullptr) return nullptr;
    v = next;
    if (slash == std::string_view::npos) return v;
    ref.remove_prefix(slash + 1);
  }
}

// `v`, or what its $ref (chain) names; nullptr for a reference that names nothing.
const json::value* Deref(const json::value& v) {
  const json::value* cur = &v;
  for (int i = 0; i < 8 && cur->is_object(); ++i) {
    const json::value* ref = cur->as_object().if_contains("$ref");
    if (ref == nullptr) return cur;
    cur = ref->is_string() ? Pointer(ref->as_string()) : nullptr;
    if (cur == nullptr) return nullptr;
  }
  return cur;
}

std::string Show(const json::value& v) {
  std::string s = json::serialize(v);
  return s.size() > 120 ? s.substr(0, 120) + "..." : s;
}

// ---- A JSON Schema subset ----------------------------------------------------------------
// type (a name or a list, "null" included), properties, required, additionalProperties (false
// or a schema), items, enum, anyOf, oneOf, minimum, maximum, maxLength, pattern, format (uuid,
// date-time, date) and $ref into the document; a keyword outside this list is an error, so the
// document cannot rely on a rule this test would silently skip.

bool HasType(std::string_view type, const json::value& v) {
  if (type == "null") return v.is_null();
  if (type == "boolean") return v.is_bool();
  if (type == "integer") return v.is_int64() || v.is_uint64();
  if (type == "number") return v.is_number();
  if (type == "string") return v.is_string();
  if (type == "array") return v.is_array();
  if (type == "object") return v.is_object();
  return false;
}

class Validator {
 public:
  // Checks `v` against `schema`; violations are appended to errors() as "<where>: <what>".
  void Check(const json::value& schema, const json::value& v, const std::string& at) {
    const json::value* resolved = Deref(schema);
    if (resolved == nullptr || !resolved->is_object()) {
      errors_.push_back(at + ": unresolvable schema " + Show(schema));
      return;
    }
    const json::object& s = resolved->as_object();
    static const std::set<std::string_view> kKnown = {
        "type",    "properties",  "required",  "additionalProperties",
        "items",   "enum",        "anyOf",     "oneOf",
        "minimum", "maximum",     "maxLength", "pattern",
        "format",  "description", "examples",  "default",
        "title"};
    for (const auto& kv : s) {
      if (kKnown.count(kv.key()) == 0) {
        errors_.push_back(at + ": the test's validator does not know keyword " +
                          std::string(kv.key()));
      }
    }
    if (const json::value* t = s.if_contains("type")) {
      bool ok = false;
      if (t->is_string()) {
        ok = HasType(t->as_string(), v);
      } else if (t->is_array()) {
        for (const auto& e : t->as_array()) ok = ok || (e.is_string() && HasType(e.as_string(), v));
      }
      if (!ok) {
        errors_.push_back(at + ": " + Show(v) + " is not of type " + Show(*t));
        return;
      }
    }
    if (const json::value* e = s.if_contains("enum")) {
      bool found = false;
      for (const auto& x : e->as_array()) found = found || x == v;
      if (!found) errors_.push_back(at + ": " + Show(v) + " is not one of " + Show(*e));
    }
    for (const char* key : {"anyOf", "oneOf"}) {
      const json::value* list = s.if_contains(key);
      if (list == nullptr) continue;
      int matches = 0;
      for (const auto& sub : list->as_array()) {
        Validator inner;
        inner.Check(sub, v, at);
        if (inner.errors().empty()) ++matches;
        array_items_ += inner.array_items_;
      }
      if (matches == 0 || (std::string_view(key) == "oneOf" && matches > 1)) {
        errors_.push_back(at + ": " + Show(v) + " matches " + std::to_string(matches) + " of the " +
                          key + " schemas");
      }
    }
    if (v.is_object()) CheckObject(s, v.as_object(), at);
    if (v.is_array()) {
      if (const json::value* items = s.if_contains("items")) {
        std::size_t i = 0;
        for (const auto& e : v.as_array()) {
          ++array_items_;
          Check(*items, e, at + "[" + std::to_string(i++) + "]");
        }
      }
    }
    if (v.is_number()) {
      const double x = v.to_number<double>();
      if (const json::value* lo = s.if_contains("minimum"); lo && x < lo->to_number<double>()) {
        errors_.push_back(at + ": " + Show(v) + " is below the minimum " + Show(*lo));
      }
      if (const json::value* hi = s.if_contains("maximum"); hi && x > hi->to_number<double>()) {
        errors_.push_back(at + ": " + Show(v) + " is above the maximum " + Show(*hi));
      }
    }
    if (v.is_string()) CheckString(s, std::string(v.as_string()), at);
  }

  const std::vector<std::string>& errors() const { return errors_; }
  // Array elements checked so far (an empty answer proves little).
  int array_items() const { return array_items_; }

 private:
  void CheckObject(const json::object& s, const json::object& o, const std::string& at) {
    const json::value* props = s.if_contains("properties");
    if (const json::value* req = s.if_contains("required")) {
      for (const auto& name : req->as_array()) {
        if (!o.contains(name.as_string())) {
          errors_.push_back(at + ": required field " + std::string(name.as_string()) +
                            " is missing");
        }
      }
    }
    for (const auto& kv : o) {
      const std::string where = at + "." + std::string(kv.key());
      if (props != nullptr && props->as_object().contains(kv.key())) {
        Check(props->as_object().at(kv.key()), kv.value(), where);
      } else if (const json::value* extra = s.if_contains("additionalProperties")) {
        if (extra->is_bool()) {
          if (!extra->as_bool()) errors_.push_back(where + ": field not in the document");
        } else {
          Check(*extra, kv.value(), where);
        }
      }
    }
  }

  void CheckString(const json::object& s, const std::string& v, const std::string& at) {
    if (const json::value* n = s.if_contains("maxLength");
        n && static_cast<std::int64_t>(v.size()) > n->to_number<std::int64_t>()) {
      errors_.push_back(at + ": longer than " + Show(*n));
    }
    if (const json::value* p = s.if_contains("pattern")) {
      if (!std::regex_search(v, std::regex(std::string(p->as_string())))) {
        errors_.push_back(at + ": '" + v + "' does not match " + Show(*p));
      }
    }
    if (const json::value* f = s.if_contains("format")) {
      static const std::regex kUuid(
          "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$");
      static const std::regex kDateTime(
          "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z$");
      static const std::regex kDate("^[0-9]{4}-[0-9]{2}-[0-9]{2}$");
      const std::string_view format = f->as_string();
      const std::regex* re = format == "uuid"        ? &kUuid
                             : format == "date-time" ? &kDateTime
                             : format == "date"      ? &kDate
                                                     : nullptr;
      if (re == nullptr) {
        errors_.push_back(at + ": the test's validator does not know format " + Show(*f));
      } else if (!std::regex_match(v, *re)) {
        errors_.push_back(at + ": '" + v + "' is not a " + std::string(format));
      }
    }
  }

  std::vector<std::string> errors_;
  int array_items_ = 0;
};

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (std::size_t i = 0; i < lines.size() && i < 20; ++i) out += lines[i] + "\n";
  if (lines.size() > 20) out += "... " + std::to_string(lines.size() - 20) + " more\n";
  return out;
}

// Does `schema` (following references) contain an array anywhere?
bool HasArray(const json::value& schema, int depth = 0) {
  const json::value* s = Deref(schema);
  if (s == nullptr || !s->is_object() || depth > 12) return false;
  const json::object& o = s->as_object();
  if (const json::value* t = o.if_contains("type")) {
    if (t->is_string() && t->as_string() == "array") return true;
    if (t->is_array()) {
      for (const auto& e : t->as_array()) {
        if (e.is_string() && e.as_string() == "array" && o.contains("items")) return true;
      }
    }
  }
  if (const json::value* p = o.if_contains("properties")) {
    for (const auto& kv : p->as_object()) {
      if (HasArray(kv.value(), depth + 1)) return true;
    }
  }
  for (const char* k : {"additionalProperties", "items"}) {
    if (const json::value* sub = o.if_contains(k);
        sub && sub->is_object() && HasArray(*sub, depth + 1)) {
      return true;
    }
  }
  return false;
}

// ---- Operations ----------------------------------------------------------------------------

const json::object& Operation(const std::string& path) {
  return Doc().at("paths").at(path).at("get").as_object();
}

// The schema of an operation's answer `status` in `media`, or nullptr.
const json::value* ResponseSchema(const json::object& op, std::string_view status,
                                  std::string_view media = "application/json") {
  const json::value* r = op.at("responses").as_object().if_contains(status);
  if (r == nullptr) return nullptr;
  r = Deref(*r);
  if (r == nullptr) return nullptr;
  const json::value* content = r->as_object().if_contains("content");
  if (content == nullptr) return nullptr;
  const json::value* m = content->as_object().if_contains(media);
  if (m == nullptr) return nullptr;
  return m->as_object().if_contains("schema");
}

struct Param {
  std::string name;
  std::string in;
  std::vector<std::string> names;  // name and its x-aliases
  bool required = false;
  const json::object* schema = nullptr;
  std::string example;
};

std::string Text(const json::value& v) {
  if (v.is_string()) return std::string(v.as_string());
  return json::serialize(v);
}

std::vector<Param> Params(const json::object& op) {
  std::vector<Param> out;
  const json::value* list = op.if_contains("parameters");
  if (list == nullptr) return out;
  for (const auto& raw : list->as_array()) {
    const json::value* p = Deref(raw);
    if (p == nullptr) {
      ADD_FAILURE() << "unresolvable parameter " << Show(raw);
      continue;
    }
    const json::object& o = p->as_object();
    Param param;
    param.name = std::string(o.at("name").as_string());
    param.in = std::string(o.at("in").as_string());
    param.names = {param.name};
    if (const json::value* a = o.if_contains("x-aliases")) {
      for (const auto& n : a->as_array()) param.names.emplace_back(n.as_string());
    }
    if (const json::value* r = o.if_contains("required")) param.required = r->as_bool();
    param.schema = &Deref(o.at("schema"))->as_object();
    if (const json::value* e = o.if_contains("example")) param.example = Text(*e);
    out.push_back(std::move(param));
  }
  return out;
}

// The query that satisfies an operation's required parameters (their examples).
std::string BaseQuery(const std::vector<Param>& params, std::string_view except = {}) {
  std::string q;
  for (const auto& p : params) {
    if (!p.required || p.in != "query" || p.name == except) continue;
    if (!q.empty()) q += '&';
    q += p.name + "=" + p.example;
  }
  return q;
}

std::string With(const std::string& query, const std::string& name, const std::string& value) {
  return (query.empty() ? "" : query + "&") + name + "=" + value;
}

// ---- The seeded store --------------------------------------------------------------------

constexpr std::int64_t kNow = 1'800'000'000'000'000;  // 2027-01-15T08:00:00Z
constexpr std::int64_t kMinute = 60'000'000;

const char* const kR1 = "01900000-0000-7000-8000-000000000001";
const char* const kR2 = "01900000-0000-7000-8000-000000000002";
const char* const kR3 = "01900000-0000-7000-8000-000000000003";
const char* const kR4 = "01900000-0000-7000-8000-000000000004";
const char* const kR5 = "01900000-0000-7000-8000-000000000005";
const char* const kR6 = "01900000-0000-7000-8000-000000000006";
const char* const kConv1 = "01900000-0000-7000-8000-0000000000c1";
const char* const kConv2 = "01900000-0000-7000-8000-0000000000c2";

Record Inference(const std::string& id, std::int64_t at) {
  Record r;
  r.request_id = id;
  r.domain = "team-a.example.com";
  r.account_id = "acc-1";
  r.timestamp_unix_micros = at;
  r.method = "POST";
  r.path = "/v1/messages";
  r.request_headers = {{"Content-Type", "application/json"}, {"x-api-key", "****abcd"}};
  r.request_body = R"({"model":"claude-sonnet-4-5-20250929",)"
                   R"("messages":[{"role":"user","content":"hello world"}]})";
  r.response_status = 200;
  r.response_headers = {{"content-type", "application/json"}, {"request-id", "req_1"}};
  r.response_body =
      R"({"id":"msg_1","type":"message","content":[{"type":"text","text":"Hi there"}]})";
  r.first_byte_micros = 800'000;
  r.duration_micros = 2'000'000;
  r.upstream_attempts = 1;
  r.enriched = true;
  r.model = "claude-sonnet-4-5-20250929";
  r.request_type = "inference";
  r.message_count = 1;
  r.usage = {1200, 310, 100, 50};
  r.usage_json = R"({"input_tokens":1200,"output_tokens":310})";
  r.response_json = r.response_body;
  r.stop_reason = "end_turn";
  r.link.conversation_id = kConv1;
  r.link.branch_id = "main";
  r.user_id = "alice";
  r.session_id = "01900000-0000-4000-8000-00000000005a";
  r.api_key_hash = "5bdcc146bf60754e6a042426089575c75a003f08";
  r.cost_usd = 0.00825;
  r.search_text = "hello world\nHi there";
  return r;
}

void SetQuota(Record& r, const char* status, double u5, double u7) {
  r.quota.status = status;
  r.quota.utilization_5h = u5;
  r.quota.resets_at_5h = kNow / 1'000'000 + 3600;
  r.quota.utilization_7d = u7;
  r.quota.resets_at_7d = kNow / 1'000'000 + 86400;
  r.quota.json = std::string(R"({"status":")") + status + R"(","windows":{"5h":{"utilization":)" +
                 std::to_string(u5) + "}}}";
}

// r1..r6: a streamed request with quota, its Task-calling successor, the sub-agent conversation
// that Task started (unpriced model), a failed count_tokens exchange of another account with
// nothing linked, a compact branch and a user branch two days earlier.
std::vector<Record> Seed() {
  std::vector<Record> out;
  Record r1 = Inference(kR1, kNow - 30 * kMinute);
  r1.response_streaming = true;
  r1.chunks = {{r1.timestamp_unix_micros + 100,
                "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":"
                "{\"input_tokens\":1200,\"output_tokens\":1}}}\n\n"},
               {r1.timestamp_unix_micros + 300,
                "event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":"
                "{\"output_tokens\":310}}\n\n"}};
  r1.chunk_usage = {{1, "{\"type\":\"message_delta\",\"usage\":{\"output_tokens\":310}}", 310}};
  SetQuota(r1, "allowed_warning", 0.85, 0.3);
  out.push_back(r1);

  Record r2 = Inference(kR2, kNow - 20 * kMinute);
  r2.link.parent_request_id = kR1;
  r2.message_count = 3;
  r2.tool_call_count = 1;
  r2.task_tool_invocation_json = R"([{"id":"toolu_1","name":"Task","input":{"prompt":"x"}}])";
  SetQuota(r2, "allowed", 0.86, 0.31);
  out.push_back(r2);

  Record r3 = Inference(kR3, kNow - 15 * kMinute);
  r3.model = "acme-internal";
  r3.cost_usd.reset();
  r3.link.conversation_id = kConv2;
  r3.link.branch_id = "subtask_1";
  r3.link.parent_task_request_id = kR2;
  r3.link.is_subtask = true;
  r3.session_id = "01900000-0000-4000-8000-00000000005b";
  r3.api_key_hash = "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567";
  out.push_back(r3);

  Record r4;
  r4.request_id = kR4;
  r4.domain = "team-b.example.com:3000";
  r4.account_id = "acc-2";
  r4.timestamp_unix_micros = kNow - 10 * kMinute;
  r4.method = "POST";
  r4.path = "/v1/messages/count_tokens";
  r4.request_body = "not json";
  r4.response_status = 529;
  r4.duration_micros = 5'000'000;
  r4.upstream_attempts = 3;
  r4.outcome = Outcome::kUpstreamFailed;
  r4.error = "overloaded";
  r4.enriched = true;
  r4.request_type = "count_tokens";
  out.push_back(r4);

  Record r5 = Inference(kR5, kNow - 5 * kMinute);
  r5.link.branch_id = "compact_1";
  r5.link.parent_request_id = kR2;
  SetQuota(r5, "rejected", 1.0, 0.5);
  out.push_back(r5);

  Record r6 = Inference(kR6, kNow - 2 * 24 * 60 * kMinute);
  r6.link.branch_id = "branch_2";
  r6.link.parent_request_id = kR1;
  out.push_back(r6);
  return out;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "openapi_test.XXXXXX").string();
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

class OpenApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(Doc().empty()) << "cannot read or parse " << CN_OPENAPI_JSON;
    ASSERT_FALSE(dir_.path().empty());
    auto store = storage::SqliteStore::Open({dir_.path() + "/nexus.db"});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    ASSERT_TRUE(store_->Migrate().ok());
    const std::vector<Record> records = Seed();
    ASSERT_TRUE(store_->WriteBatch(records).ok());
    auto reader = store_->OpenReader(0);
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    reader_ = std::move(reader).value();
  }

  // One GET as src/net serves it: Handle, or PlanExport + every ExportChunk, or PlanEvents.
  Response Call(const std::string& path, const std::string& query, Headers headers = {}) {
    Request req{"GET", path, query, std::move(headers), true};
    if (path == "/api/export") {
      auto plan = PlanExport(req, kNow);
      if (auto* err = std::get_if<Response>(&plan)) return *err;
      ExportPlan& p = std::get<ExportPlan>(plan);
      Response r = ExportHeader(p);
      for (bool done = false; !done;) {
        auto chunk = ExportChunk(*reader_, p, &done, 2);
        if (!chunk.ok()) return ErrorResponse(500, "internal_error", chunk.status().message());
        r.body += *chunk;
      }
      return r;
    }
    if (path == "/api/events") {
      auto plan = PlanEvents(req);
      if (auto* err = std::get_if<Response>(&plan)) return *err;
      Response r;
      r.content_type = "text/event-stream";
      const auto& seq = std::get<std::optional<std::int64_t>>(plan);
      r.body = seq ? std::to_string(*seq) : "";  // what the session would resume after
      return r;
    }
    Context ctx{reader_.get(), Status::Ok(), store_.get(), kNow};
    return Handle(req, ctx);
  }

  // Validates a 200 answer of `path` against the documented schema for its content type.
  // Returns the number of array elements checked.
  int ValidateOk(const std::string& path, const std::string& query, const Response& r) {
    const json::object& op = Operation(path);
    Validator v;
    const std::string where = path + "?" + query;
    if (r.content_type == "application/json") {
      const json::value* schema = ResponseSchema(op, "200");
      if (schema == nullptr) {
        ADD_FAILURE() << where << ": no documented application/json 200 answer";
        return 0;
      }
      boost::system::error_code ec;
      json::value body = json::parse(r.body, ec);
      if (ec) {
        ADD_FAILURE() << where << ": body is not JSON: " << r.body.substr(0, 200);
        return 0;
      }
      v.Check(*schema, body, "$");
    } else if (r.content_type.starts_with("application/x-ndjson")) {
      const json::value* m = Deref(op.at("responses").at("200"))
                                 ->at("content")
                                 .as_object()
                                 .if_contains("application/x-ndjson");
      if (m == nullptr) {
        ADD_FAILURE() << where << ": application/x-ndjson is not documented";
        return 0;
      }
      std::istringstream lines(r.body);
      std::string line;
      int n = 0;
      while (std::getline(lines, line)) {
        boost::system::error_code ec;
        json::value row = json::parse(line, ec);
        EXPECT_FALSE(ec) << where << ": line " << n << " is not JSON";
        v.Check(m->at("x-line-schema"), row, "$line" + std::to_string(n++));
      }
      EXPECT_TRUE(v.errors().empty()) << where << "\n" << Join(v.errors());
      return n;
    } else if (r.content_type.starts_with("text/csv")) {
      const json::value* m =
          Deref(op.at("responses").at("200"))->at("content").as_object().if_contains("text/csv");
      if (m == nullptr) {
        ADD_FAILURE() << where << ": text/csv is not documented";
        return 0;
      }
      std::string header;
      for (const auto& c : m->at("x-csv-columns").as_array()) {
        header += (header.empty() ? "" : ",") + std::string(c.as_string());
      }
      EXPECT_EQ(r.body.substr(0, r.body.find("\r\n")), header) << where;
      return static_cast<int>(std::count(r.body.begin(), r.body.end(), '\n')) - 1;
    } else if (r.content_type == "text/event-stream") {
      EXPECT_NE(Deref(op.at("responses").at("200"))
                    ->at("content")
                    .as_object()
                    .if_contains("text/event-stream"),
                nullptr)
          << where;
      return 0;
    } else {
      ADD_FAILURE() << where << ": undocumented content type " << r.content_type;
    }
    EXPECT_TRUE(v.errors().empty()) << where << "\n" << Join(v.errors());
    return v.array_items();
  }

  // Validates an error answer against the operation's documented answer for its status.
  void ValidateError(const std::string& path, const Response& r, const std::string& where) {
    const json::value* schema = ResponseSchema(Operation(path), std::to_string(r.status));
    ASSERT_NE(schema, nullptr) << where << ": status " << r.status << " is not documented";
    boost::system::error_code ec;
    json::value body = json::parse(r.body, ec);
    ASSERT_FALSE(ec) << where << ": " << r.body;
    Validator v;
    v.Check(*schema, body, "$");
    EXPECT_TRUE(v.errors().empty()) << where << "\n" << Join(v.errors());
  }

  TempDir dir_;  // declared first: removed after the store closed its files
  std::unique_ptr<storage::SqliteStore> store_;
  std::unique_ptr<SqlReader> reader_;
};

std::string Message(const Response& r) {
  boost::system::error_code ec;
  json::value v = json::parse(r.body, ec);
  if (ec || !v.is_object()) return {};
  const json::value* e = v.as_object().if_contains("error");
  if (e == nullptr || !e->is_object()) return {};
  const json::value* m = e->as_object().if_contains("message");
  return m != nullptr && m->is_string() ? std::string(m->as_string()) : std::string();
}

// ---- (a) The same endpoints --------------------------------------------------------------

TEST_F(OpenApiTest, PathsAreTheImplementedEndpoints) {
  std::set<std::string> implemented{"/api"};
  for (const char* e : Endpoints()) implemented.insert(e);
  std::set<std::string> documented;
  for (const auto& kv : Doc().at("paths").as_object()) {
    documented.emplace(kv.key());
    std::set<std::string> methods;
    for (const auto& m : kv.value().as_object()) methods.emplace(m.key());
    EXPECT_EQ(methods, std::set<std::string>{"get"}) << kv.key() << ": the API is read-only";
  }
  EXPECT_EQ(documented, implemented);
  EXPECT_EQ(Endpoints().size(), 21u);

  // GET /api lists the same.
  Response index = Call("/api", "");
  ASSERT_EQ(index.status, 200);
  std::set<std::string> listed;
  const json::value body = json::parse(index.body);
  for (const auto& e : body.at("endpoints").as_array()) {
    listed.emplace(e.as_string());
  }
  implemented.erase("/api");
  EXPECT_EQ(listed, implemented);
}

TEST_F(OpenApiTest, DocumentIsWellFormed) {
  EXPECT_EQ(Doc().at("openapi"), "3.1.0");
  std::set<std::string> schemes;
  for (const auto& kv : Doc().at("components").at("securitySchemes").as_object()) {
    schemes.emplace(kv.value().at("type").as_string());
  }
  EXPECT_EQ(schemes, (std::set<std::string>{"apiKey", "http"}));
  // Every reference resolves.
  std::function<void(const json::value&, const std::string&)> refs = [&](const json::value& v,
                                                                         const std::string& at) {
    if (v.is_object()) {
      for (const auto& kv : v.as_object()) {
        if (kv.key() == "$ref") {
          EXPECT_NE(Pointer(kv.value().as_string()), nullptr) << at << ": " << Show(kv.value());
        } else {
          refs(kv.value(), at + "/" + std::string(kv.key()));
        }
      }
    } else if (v.is_array()) {
      for (const auto& e : v.as_array()) refs(e, at);
    }
  };
  refs(DocValue(), "#");
  // An object schema with properties says no others may appear: an undocumented field fails.
  std::function<void(const json::value&, const std::string&)> closed = [&](const json::value& v,
                                                                           const std::string& at) {
    if (v.is_object()) {
      const json::object& o = v.as_object();
      if (o.contains("properties")) {
        const json::value* extra = o.if_contains("additionalProperties");
        EXPECT_TRUE(extra != nullptr && extra->is_bool() && !extra->as_bool()) << at;
      }
      for (const auto& kv : o) closed(kv.value(), at + "/" + std::string(kv.key()));
    } else if (v.is_array()) {
      for (const auto& e : v.as_array()) closed(e, at);
    }
  };
  closed(Doc().at("components").at("schemas"), "#/components/schemas");
  // Every operation documents the answers every /api request can get.
  for (const auto& kv : Doc().at("paths").as_object()) {
    const json::object& responses = kv.value().at("get").at("responses").as_object();
    for (const char* status : {"200", "401", "403", "405", "503"}) {
      EXPECT_TRUE(responses.contains(status)) << kv.key() << " " << status;
    }
    const bool has_query = !Params(kv.value().at("get").as_object()).empty() &&
                           kv.key().find('{') == std::string_view::npos;
    EXPECT_EQ(responses.contains("400"), has_query || kv.key() == "/api/token-usage/accounts")
        << kv.key();
  }
}

// ---- (b) Parameters ----------------------------------------------------------------------

// Values the parameter's schema forbids, each with what it tests.
std::vector<std::string> InvalidValues(const Param& p) {
  const json::object& s = *p.schema;
  std::vector<std::string> out;
  const std::string type = s.contains("type") ? std::string(s.at("type").as_string()) : "";
  if (type == "integer") {
    out = {"abc", "1.5"};
    if (const json::value* lo = s.if_contains("minimum")) {
      out.push_back(std::to_string(lo->to_number<std::int64_t>() - 1));
    }
    if (const json::value* hi = s.if_contains("maximum")) {
      out.push_back(std::to_string(hi->to_number<std::int64_t>() + 1));
    }
  } else if (type == "boolean") {
    out = {"maybe"};
  } else if (s.contains("enum")) {
    out = {"not-a-listed-value"};
  } else if (s.contains("pattern")) {
    EXPECT_FALSE(
        std::regex_search("~invalid~", std::regex(std::string(s.at("pattern").as_string()))));
    out = {"~invalid~"};
  } else if (s.contains("format") && s.at("format") == "uuid") {
    out = {"not-a-uuid"};
  } else if (s.contains("maxLength")) {
    out = {std::string(s.at("maxLength").to_number<std::int64_t>() + 1, 'a')};
  }
  return out;
}

// Values the parameter's schema allows and the API must accept.
std::vector<std::string> ValidValues(const Param& p) {
  const json::object& s = *p.schema;
  std::vector<std::string> out;
  for (const char* k : {"minimum", "maximum", "default"}) {
    if (const json::value* v = s.if_contains(k)) out.push_back(Text(*v));
  }
  if (const json::value* e = s.if_contains("enum")) {
    for (const auto& v : e->as_array()) out.push_back(Text(v));
  }
  if (const json::value* e = s.if_contains("examples")) {
    for (const auto& v : e->as_array()) {
      Validator valid;  // the document's own examples follow its rules
      valid.Check(*p.schema, v, p.name + " example");
      EXPECT_TRUE(valid.errors().empty()) << Join(valid.errors());
      out.push_back(Text(v));
    }
  }
  if (s.contains("type") && s.at("type") == "boolean") out = {"true", "false", "1", "0"};
  if (s.contains("format") && s.at("format") == "uuid") {
    // As a user pastes it: braces, or upper case without dashes.
    std::string compact;
    for (char c : std::string_view(kConv1)) {
      if (c != '-') compact += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    out = {std::string("{") + kConv1 + "}", compact};
  }
  return out;
}

// A plain string filter: no rule to break, so it must be shown to be read by changing the answer.
bool Plain(const Param& p) {
  const json::object& s = *p.schema;
  return s.contains("type") && s.at("type") == "string" && !s.contains("enum") &&
         !s.contains("pattern") && !s.contains("format");
}

TEST_F(OpenApiTest, EveryDocumentedParameterIsReadAsDocumented) {
  int checked = 0;
  for (const auto& kv : Doc().at("paths").as_object()) {
    const std::string path(kv.key());
    if (path.find('{') != std::string::npos) continue;  // no query parameters
    const std::vector<Param> params = Params(kv.value().at("get").as_object());
    const std::string base = BaseQuery(params);
    const Response base_answer = Call(path, base);
    ASSERT_EQ(base_answer.status, 200) << path << "?" << base << ": " << base_answer.body;
    ValidateOk(path, base, base_answer);

    // A made-up parameter changes nothing.
    const std::string made_up = With(base, "zzUndocumented", "~invalid~");
    const Response same = Call(path, made_up);
    EXPECT_EQ(same.status, base_answer.status) << path;
    EXPECT_EQ(same.body, base_answer.body) << path;

    for (const Param& p : params) {
      SCOPED_TRACE(path + " " + p.name);
      if (p.required) {
        const std::string without = BaseQuery(params, p.name);
        Response r = Call(path, without);
        EXPECT_EQ(r.status, 400) << path << "?" << without << " (" << p.name << " is required)";
        if (r.status == 400) ValidateError(path, r, path + "?" + without);
      }
      for (const std::string& value : InvalidValues(p)) {
        for (const std::string& name : p.names) {
          Headers headers;
          std::string query = p.required ? BaseQuery(params, p.name) : base;
          if (p.in == "header") {
            headers.push_back({name, value});
          } else {
            query = With(query, name, value);
          }
          const Response r = Call(path, query, headers);
          EXPECT_EQ(r.status, 400) << path << "?" << query << " " << name << "=" << value
                                   << ": the document forbids it, the API took it";
          if (r.status == 400) ValidateError(path, r, path + "?" + query);
          ++checked;
        }
      }
      for (const std::string& value : ValidValues(p)) {
        Headers headers;
        std::string query = p.required ? BaseQuery(params, p.name) : base;
        if (p.in == "header") {
          headers.push_back({p.name, value});
        } else {
          query = With(query, p.name, value);
        }
        const Response r = Call(path, query, headers);
        // A documented cross-parameter rule (window/interval, bucketMinutes) may still refuse
        // it, but never as this parameter's own error.
        if (r.status == 400) {
          EXPECT_FALSE(Message(r).starts_with(p.name + " must"))
              << path << "?" << query << ": the document allows it: " << Message(r);
        } else {
          EXPECT_EQ(r.status, 200) << path << "?" << query << ": " << r.body;
          ValidateOk(path, query, r);
        }
        ++checked;
      }
      if (Plain(p) && p.in == "query") {
        for (const std::string& name : p.names) {
          std::string query =
              With(p.required ? BaseQuery(params, p.name) : base, name, "zz-no-such-value");
          const Response r = Call(path, query);
          EXPECT_NE(r.body, base_answer.body)
              << path << "?" << query << ": the answer does not depend on " << name;
          ++checked;
        }
      }
    }
  }
  EXPECT_GT(checked, 300);
}

// ---- (c) Answers -------------------------------------------------------------------------

TEST_F(OpenApiTest, EveryJsonAnswerMatchesItsSchema) {
  for (const auto& kv : Doc().at("paths").as_object()) {
    std::string path(kv.key());
    const json::object& op = kv.value().at("get").as_object();
    const json::value* schema = ResponseSchema(op, "200");
    if (schema == nullptr) continue;  // export, events: below
    const std::string query = BaseQuery(Params(op));
    std::string target = path;
    if (path == "/api/requests/{id}") target = std::string("/api/requests/") + kR1;
    if (path == "/api/conversations/{id}") target = std::string("/api/conversations/") + kConv1;
    Response r = Call(target, query);
    ASSERT_EQ(r.status, 200) << target << "?" << query << ": " << r.body;
    const int items = ValidateOk(path, query, r);
    if (HasArray(*schema)) {
      EXPECT_GT(items, 0) << target << ": an empty answer proves little";
    }
  }
}

TEST_F(OpenApiTest, OtherShapesOfTheAnswers) {
  // The other request details: streamed, unlinked and failed, sub-agent.
  for (const char* id : {kR1, kR2, kR3, kR4, kR5, kR6}) {
    Response r = Call(std::string("/api/requests/") + id, "");
    ASSERT_EQ(r.status, 200);
    ValidateOk("/api/requests/{id}", id, r);
  }
  Response sub = Call(std::string("/api/conversations/") + kConv2, "");
  ASSERT_EQ(sub.status, 200);
  ValidateOk("/api/conversations/{id}", kConv2, sub);
  // Later pages (no total), and a filter that matches nothing.
  for (const char* path : {"/api/requests", "/api/conversations"}) {
    Response first = Call(path, "limit=1");
    ASSERT_EQ(first.status, 200);
    const json::value cursor = json::parse(first.body).at("nextCursor");
    ASSERT_TRUE(cursor.is_string()) << path;
    const std::string next = "limit=1&cursor=" + std::string(cursor.as_string());
    Response second = Call(path, next);
    ASSERT_EQ(second.status, 200) << second.body;
    EXPECT_GT(ValidateOk(path, next, second), 0);
    EXPECT_FALSE(json::parse(second.body).at("pagination").as_object().contains("total"));
    Response none = Call(path, "domain=nowhere");
    ASSERT_EQ(none.status, 200);
    ValidateOk(path, "domain=nowhere", none);
  }
  // Daily per model and aggregated; rate limits of one account and of all.
  for (const char* q : {"aggregate=false", "aggregate=true"}) {
    Response r = Call("/api/token-usage/daily", q);
    ASSERT_EQ(r.status, 200);
    EXPECT_GT(ValidateOk("/api/token-usage/daily", q, r), 0);
  }
  for (const char* q : {"accountId=acc-1", "accountId=acc-2", ""}) {
    Response r = Call("/api/ratelimits", q);
    ASSERT_EQ(r.status, 200);
    ValidateOk("/api/ratelimits", q, r);
    Response current = Call("/api/token-usage/current", std::string("accountId=") + "acc-2");
    ASSERT_EQ(current.status, 200);
    ValidateOk("/api/token-usage/current", "accountId=acc-2", current);
  }
}

TEST_F(OpenApiTest, ExportLinesAndCsvHeaderAreDocumented) {
  Response jsonl = Call("/api/export", "format=jsonl");
  ASSERT_EQ(jsonl.status, 200);
  EXPECT_EQ(ValidateOk("/api/export", "format=jsonl", jsonl), 6);
  Response csv = Call("/api/export", "format=csv");
  ASSERT_EQ(csv.status, 200);
  EXPECT_EQ(ValidateOk("/api/export", "format=csv", csv), 6);
}

TEST_F(OpenApiTest, EventDataMatchesItsSchema) {
  auto reader = store_->OpenReader(0);
  ASSERT_TRUE(reader.ok());
  query::EventFeed feed(std::move(reader).value(), std::chrono::milliseconds(1000));
  auto n = feed.PollOnce();  // not started: reads cn_events from the beginning
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 6);
  const json::value* media = Deref(Operation("/api/events").at("responses").at("200"))
                                 ->at("content")
                                 .as_object()
                                 .if_contains("text/event-stream");
  ASSERT_NE(media, nullptr);
  const auto events = feed.After(0);
  ASSERT_EQ(events.size(), 6u);
  for (const auto& e : events) {
    Validator v;
    v.Check(media->at("x-event-data-schema"), json::parse(e.json), "$");
    EXPECT_TRUE(v.errors().empty()) << e.json << "\n" << Join(v.errors());
  }
}

TEST_F(OpenApiTest, ErrorBodiesMatchTheirSchemas) {
  // 400
  Response bad = Call("/api/requests", "limit=0");
  ASSERT_EQ(bad.status, 400);
  ValidateError("/api/requests", bad, "limit=0");
  // 404 for unknown ids, in the original's shape.
  const std::string unknown = "/api/requests/01900000-0000-7000-8000-0000000000ff";
  Response missing = Call(unknown, "");
  ASSERT_EQ(missing.status, 404);
  ValidateError("/api/requests/{id}", missing, unknown);
  Response not_uuid = Call("/api/conversations/not-a-uuid", "");
  ASSERT_EQ(not_uuid.status, 404);
  ValidateError("/api/conversations/{id}", not_uuid, "not-a-uuid");
  Response no_conv = Call("/api/conversations/01900000-0000-7000-8000-0000000000ff", "");
  ASSERT_EQ(no_conv.status, 404);
  ValidateError("/api/conversations/{id}", no_conv, "unknown conversation");
  // 404 for an unknown endpoint, 405 for another method, 503 without a reader, 401/403: the
  // Error shape the document gives them.
  const json::value& error = Doc().at("components").at("schemas").at("Error");
  std::vector<Response> others;
  others.push_back(Call("/api/nope", ""));
  Request post{"POST", "/api/stats", "", {}, true};
  Context ctx{reader_.get(), Status::Ok(), store_.get(), kNow};
  others.push_back(Handle(post, ctx));
  EXPECT_EQ(others.back().status, 405);
  auto export_post = PlanExport(Request{"POST", "/api/export", "", {}, true}, kNow);
  ASSERT_TRUE(std::holds_alternative<Response>(export_post));
  others.push_back(std::get<Response>(export_post));
  EXPECT_EQ(others.back().status, 405);
  Context no_reader{nullptr, Status::Unavailable("down"), store_.get(), kNow};
  others.push_back(Handle(Request{"GET", "/api/stats", "", {}, true}, no_reader));
  EXPECT_EQ(others.back().status, 503);
  AuthConfig auth{"secret", ""};
  auto unauthorized = Authorize(auth, Request{"GET", "/api/stats", "", {}, true});
  ASSERT_TRUE(unauthorized.has_value());
  others.push_back(*unauthorized);
  auto forbidden = Authorize(auth, Request{"GET", "/api/stats", "", {{"X-API-Key", "x"}}, true});
  ASSERT_TRUE(forbidden.has_value());
  others.push_back(*forbidden);
  for (const Response& r : others) {
    Validator v;
    v.Check(error, json::parse(r.body), "$");
    EXPECT_TRUE(v.errors().empty()) << r.status << " " << r.body << "\n" << Join(v.errors());
  }
}

// The validator itself fails where it must (a test that cannot fail proves nothing).
TEST(OpenApiValidatorTest, RejectsWhatTheDocumentForbids) {
  const json::value schema = json::parse(R"({"type":"object","properties":{
      "a":{"type":["integer","null"]},"b":{"type":"string","enum":["x","y"]},
      "c":{"type":"array","items":{"type":"string","format":"uuid"}}},
      "required":["a"],"additionalProperties":false})");
  auto errors = [&](std::string_view body) {
    Validator v;
    v.Check(schema, json::parse(body), "$");
    return v.errors().size();
  };
  EXPECT_EQ(errors(R"({"a":1,"b":"x","c":["01900000-0000-7000-8000-000000000001"]})"), 0u);
  EXPECT_EQ(errors(R"({"a":null})"), 0u);
  EXPECT_EQ(errors(R"({"a":1.5})"), 1u);          // wrong type
  EXPECT_EQ(errors(R"({"b":"x"})"), 1u);          // missing required
  EXPECT_EQ(errors(R"({"a":1,"d":2})"), 1u);      // undocumented field
  EXPECT_EQ(errors(R"({"a":1,"b":"z"})"), 1u);    // not in the enum
  EXPECT_EQ(errors(R"({"a":1,"c":["x"]})"), 1u);  // not a uuid
}

}  // namespace
}  // namespace cn::api
