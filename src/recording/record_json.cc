#include "recording/record_json.h"

#include <array>
#include <boost/json.hpp>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <exception>
#include <limits>
#include <optional>
#include <type_traits>
#include <utility>

#include "anthropic/attribution.h"
#include "anthropic/enrich.h"
#include "anthropic/message.h"
#include "anthropic/search_text.h"
#include "common/base64.h"
#include "common/utf8.h"

namespace cn::recording {
namespace json = boost::json;

namespace {

// Reads typed fields out of one JSON object. An absent field keeps the caller's default; a
// present field of the wrong type records the first such key as the error (invariant 4).
class FieldReader {
 public:
  explicit FieldReader(const json::object& o) : o_(o) {}

  const json::value* Find(std::string_view key) const { return o_.if_contains(key); }
  void Fail(std::string_view what) {
    if (error_.empty()) error_ = std::string(what);
  }
  const std::string& error() const { return error_; }

  static bool ToBytes(const json::value& v, std::string* out) {
    if (const json::string* s = v.if_string()) {
      out->assign(s->data(), s->size());
      return true;
    }
    const json::object* o = v.if_object();
    const json::value* b = o != nullptr ? o->if_contains("base64") : nullptr;
    const json::string* bs = b != nullptr ? b->if_string() : nullptr;
    return bs != nullptr && Base64Decode(*bs, out);
  }

  void Bytes(std::string_view key, std::string* out) {
    if (const json::value* v = Find(key); v != nullptr && !ToBytes(*v, out)) Fail(key);
  }
  void OptionalBytes(std::string_view key, std::optional<std::string>* out) {
    const json::value* v = Find(key);
    if (v == nullptr || v->is_null()) return out->reset();
    if (!ToBytes(*v, &out->emplace())) Fail(key);
  }
  void Int(std::string_view key, std::int64_t* out) {
    if (const json::value* v = Find(key); v != nullptr && !ToInt(*v, out)) Fail(key);
  }
  void Int(std::string_view key, int* out) {
    std::int64_t wide = *out;
    Int(key, &wide);
    if (wide < std::numeric_limits<int>::min() || wide > std::numeric_limits<int>::max()) {
      return Fail(key);
    }
    *out = static_cast<int>(wide);
  }
  void OptionalInt(std::string_view key, std::optional<std::int64_t>* out) {
    const json::value* v = Find(key);
    if (v == nullptr || v->is_null()) return out->reset();
    if (!ToInt(*v, &out->emplace())) Fail(key);
  }
  void Bool(std::string_view key, bool* out) {
    const json::value* v = Find(key);
    if (v == nullptr) return;
    if (const bool* b = v->if_bool()) {
      *out = *b;
    } else {
      Fail(key);
    }
  }

  void OptionalDouble(std::string_view key, std::optional<double>* out) {
    const json::value* v = Find(key);
    if (v == nullptr || v->is_null()) return out->reset();
    if (const double* d = v->if_double()) {
      *out = *d;
    } else if (std::int64_t i = 0; ToInt(*v, &i)) {
      *out = static_cast<double>(i);
    } else {
      Fail(key);
    }
  }

  static bool ToInt(const json::value& v, std::int64_t* out) {
    if (const std::int64_t* i = v.if_int64()) {
      *out = *i;
      return true;
    }
    if (const std::uint64_t* u = v.if_uint64();
        u != nullptr && *u <= std::numeric_limits<std::int64_t>::max()) {
      *out = static_cast<std::int64_t>(*u);
      return true;
    }
    return false;
  }

 private:
  const json::object& o_;
  std::string error_;
};

void ReadHeaders(FieldReader& f, std::string_view key, Headers* out) {
  const json::value* v = f.Find(key);
  if (v == nullptr) return;
  const json::array* a = v->if_array();
  if (a == nullptr) return f.Fail(key);
  out->clear();
  out->reserve(a->size());
  for (const json::value& item : *a) {
    const json::array* pair = item.if_array();
    Header h;
    if (pair == nullptr || pair->size() != 2 || !FieldReader::ToBytes((*pair)[0], &h.name) ||
        !FieldReader::ToBytes((*pair)[1], &h.value)) {
      return f.Fail(key);
    }
    out->push_back(std::move(h));
  }
}

void ReadChunks(FieldReader& f, std::vector<StreamChunk>* out) {
  const json::value* v = f.Find("chunks");
  if (v == nullptr) return;
  const json::array* a = v->if_array();
  if (a == nullptr) return f.Fail("chunks");
  out->clear();
  out->reserve(a->size());
  for (const json::value& item : *a) {
    const json::object* o = item.if_object();
    const json::value* at = o != nullptr ? o->if_contains("at") : nullptr;
    const json::value* data = o != nullptr ? o->if_contains("data") : nullptr;
    StreamChunk c;
    if (at == nullptr || data == nullptr || !FieldReader::ToInt(*at, &c.at_unix_micros) ||
        !FieldReader::ToBytes(*data, &c.data)) {
      return f.Fail("chunks");
    }
    out->push_back(std::move(c));
  }
}

// Record::quota, an object of the line.
void ReadQuota(FieldReader& f, const json::value& v, QuotaSnapshot* out) {
  const json::object* o = v.if_object();
  if (o == nullptr) return f.Fail("quota");
  FieldReader q(*o);
  q.Bytes("status", &out->status);
  q.OptionalDouble("utilization_5h", &out->utilization_5h);
  q.OptionalInt("resets_at_5h", &out->resets_at_5h);
  q.OptionalDouble("utilization_7d", &out->utilization_7d);
  q.OptionalInt("resets_at_7d", &out->resets_at_7d);
  q.Bytes("json", &out->json);
  if (!q.error().empty()) f.Fail("quota." + q.error());
}

// Record::chunk_usage. A line without the key (written before it existed) is handled by the
// caller; a present key of the wrong shape is an error.
void ReadChunkUsage(FieldReader& f, std::vector<ChunkUsage>* out) {
  const json::value* v = f.Find("chunk_usage");
  if (v == nullptr) return;
  const json::array* a = v->if_array();
  if (a == nullptr) return f.Fail("chunk_usage");
  out->clear();
  out->reserve(a->size());
  for (const json::value& item : *a) {
    const json::object* o = item.if_object();
    const json::value* index = o != nullptr ? o->if_contains("chunk") : nullptr;
    const json::value* payload = o != nullptr ? o->if_contains("payload") : nullptr;
    const json::value* tokens = o != nullptr ? o->if_contains("output_tokens") : nullptr;
    ChunkUsage u;
    std::int64_t chunk = 0;
    if (index == nullptr || payload == nullptr || tokens == nullptr ||
        !FieldReader::ToInt(*index, &chunk) || chunk < 0 ||
        !FieldReader::ToBytes(*payload, &u.payload) ||
        !FieldReader::ToInt(*tokens, &u.output_tokens)) {
      return f.Fail("chunk_usage");
    }
    u.chunk_index = static_cast<std::size_t>(chunk);
    out->push_back(std::move(u));
  }
}

// The usage object's fields, read and written by the same loops (contract 1).
constexpr std::pair<std::string_view, std::int64_t TokenUsage::*> kUsageFields[] = {
    {"input_tokens", &TokenUsage::input_tokens},
    {"output_tokens", &TokenUsage::output_tokens},
    {"cache_creation_input_tokens", &TokenUsage::cache_creation_input_tokens},
    {"cache_read_input_tokens", &TokenUsage::cache_read_input_tokens},
};

void ReadUsage(FieldReader& f, TokenUsage* u) {
  const json::value* v = f.Find("usage");
  if (v == nullptr) return;
  const json::object* o = v->if_object();
  if (o == nullptr) return f.Fail("usage");
  FieldReader uf(*o);
  for (const auto& [key, field] : kUsageFields) uf.Int(key, &(u->*field));
  if (!uf.error().empty()) f.Fail("usage." + uf.error());
}

// The scalar fields, one table per type, read and written by the same loops so the two
// directions cannot drift apart (contract 1). Structured fields are handled one by one.
template <typename T, typename Struct = Record>
using Field = std::pair<std::string_view, T Struct::*>;

constexpr Field<std::string> kTextFields[] = {
    {"request_id", &Record::request_id},
    {"domain", &Record::domain},
    {"method", &Record::method},
    {"path", &Record::path},
    {"query", &Record::query},
    {"request_body", &Record::request_body},
    {"response_body", &Record::response_body},
    {"error", &Record::error},
    {"model", &Record::model},
    {"request_type", &Record::request_type},
    {"usage_json", &Record::usage_json},
    {"response_json", &Record::response_json},
    {"task_tool_invocation_json", &Record::task_tool_invocation_json},
    {"stop_reason", &Record::stop_reason},
    {"user_id", &Record::user_id},
    {"session_id", &Record::session_id},
    {"api_key_hash", &Record::api_key_hash},
    {"search_text", &Record::search_text},
};
// Record::link, flattened into the same object (the spill format predates the struct).
constexpr Field<std::string, ConversationLink> kLinkTextFields[] = {
    {"current_message_hash", &ConversationLink::current_message_hash},
    {"parent_message_hash", &ConversationLink::parent_message_hash},
    {"system_hash", &ConversationLink::system_hash},
    {"conversation_id", &ConversationLink::conversation_id},
    {"branch_id", &ConversationLink::branch_id},
    {"parent_request_id", &ConversationLink::parent_request_id},
    {"parent_task_request_id", &ConversationLink::parent_task_request_id},
};
constexpr Field<std::int64_t> kInt64Fields[] = {
    {"timestamp_unix_micros", &Record::timestamp_unix_micros},
    {"duration_micros", &Record::duration_micros},
};
constexpr Field<int> kIntFields[] = {
    {"response_status", &Record::response_status},
    {"upstream_attempts", &Record::upstream_attempts},
    {"message_count", &Record::message_count},
    {"tool_call_count", &Record::tool_call_count},
};
constexpr Field<bool> kBoolFields[] = {
    {"response_body_truncated", &Record::response_body_truncated},
    {"response_streaming", &Record::response_streaming},
    {"enriched", &Record::enriched},
};
constexpr Field<bool, ConversationLink> kLinkBoolFields[] = {
    {"is_subtask", &ConversationLink::is_subtask},
};

// Direct JSON writer for RecordToJson: the spill thread serialises every record of an overload,
// at normal priority beside the I/O threads, so it appends straight into one string instead of
// building a json::value tree first (3-4x less CPU per record). RecordFromJson reads it back with
// the real parser; the tests hold the two directions together.
class LineWriter {
 public:
  explicit LineWriter(std::string& out) : out_(out) {}

  void Key(std::string_view key) {
    out_.push_back(first_ ? '{' : ',');
    first_ = false;
    out_.push_back('"');
    out_.append(key);  // keys are ASCII identifiers
    out_.append("\":");
  }
  void Int(std::int64_t v) {
    char buf[24];
    const auto res = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, res.ptr);
  }
  void Bool(bool v) { out_.append(v ? "true" : "false"); }
  void Null() { out_.append("null"); }
  void Double(double v) {  // shortest text that reads back as the same double
    char buf[32];
    const auto res = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, res.ptr);
  }
  template <typename T>
  void Optional(const std::optional<T>& v) {
    if (!v) return Null();
    if constexpr (std::is_floating_point_v<T>) {
      Double(*v);
    } else {
      Int(*v);
    }
  }
  // Invariant 3: valid UTF-8 as a JSON string, anything else as {"base64": "..."}.
  void Bytes(std::string_view bytes) {
    const std::size_t mark = out_.size();
    if (TryString(bytes)) return;
    out_.resize(mark);
    out_.append("{\"base64\":\"");
    out_.append(Base64Encode(bytes));
    out_.append("\"}");
  }
  void Ascii(std::string_view text) {  // a known ASCII token such as an outcome name
    out_.push_back('"');
    out_.append(text);
    out_.push_back('"');
  }
  void HeaderList(const cn::Headers& headers) {
    out_.push_back('[');
    bool first = true;
    for (const Header& h : headers) {
      if (!first) out_.push_back(',');
      first = false;
      out_.push_back('[');
      Bytes(h.name);
      out_.push_back(',');
      Bytes(h.value);
      out_.push_back(']');
    }
    out_.push_back(']');
  }
  void Close() {
    if (first_) out_.push_back('{');
    out_.push_back('}');
  }

 private:
  // Appends `s` as an escaped JSON string; false (with partial output) when `s` is not strict
  // UTF-8 (the same rules as IsValidUtf8).
  bool TryString(std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    out_.push_back('"');
    const char* const data = s.data();
    const std::size_t n = s.size();
    std::size_t run = 0;  // start of the bytes not yet appended
    std::size_t i = 0;
    while (i < n) {
      // Eight plain bytes at a time (no control character, quote, backslash or non-ASCII byte).
      // Endian-neutral: it only asks whether any byte matches.
      while (n - i >= 8 && IsPlain8(data + i)) i += 8;
      if (i >= n) break;
      const auto c = static_cast<unsigned char>(data[i]);
      if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
        ++i;
        continue;
      }
      if (c >= 0x80) {
        const std::size_t len = Utf8SequenceLength(s, i);
        if (len == 0) return false;
        i += len;
        continue;
      }
      out_.append(data + run, i - run);
      switch (c) {
        case '"':
          out_.append("\\\"");
          break;
        case '\\':
          out_.append("\\\\");
          break;
        case '\n':
          out_.append("\\n");
          break;
        case '\r':
          out_.append("\\r");
          break;
        case '\t':
          out_.append("\\t");
          break;
        case '\b':
          out_.append("\\b");
          break;
        case '\f':
          out_.append("\\f");
          break;
        default: {
          const char esc[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
          out_.append(esc, sizeof esc);
        }
      }
      run = ++i;
    }
    out_.append(data + run, n - run);
    out_.push_back('"');
    return true;
  }

  static bool IsPlain8(const char* p) {
    constexpr std::uint64_t kOnes = 0x0101010101010101ull;
    constexpr std::uint64_t kHigh = 0x8080808080808080ull;
    std::uint64_t x = 0;
    std::memcpy(&x, p, sizeof x);  // no alignment assumption
    const auto has_zero = [](std::uint64_t v) { return (v - kOnes) & ~v & kHigh; };
    const std::uint64_t below_space = (x - kOnes * 0x20) & ~x & kHigh;
    const std::uint64_t special =
        below_space | (x & kHigh) | has_zero(x ^ (kOnes * '"')) | has_zero(x ^ (kOnes * '\\'));
    return special == 0;
  }

  std::string& out_;
  bool first_ = true;
};

}  // namespace

void AppendRecordJson(const Record& r, std::string& out) {
  LineWriter w(out);
  w.Key("v");
  w.Int(kRecordJsonVersion);
  for (const auto& [key, field] : kTextFields) {
    w.Key(key);
    w.Bytes(r.*field);
  }
  for (const auto& [key, field] : kInt64Fields) {
    w.Key(key);
    w.Int(r.*field);
  }
  for (const auto& [key, field] : kIntFields) {
    w.Key(key);
    w.Int(r.*field);
  }
  for (const auto& [key, field] : kBoolFields) {
    w.Key(key);
    w.Bool(r.*field);
  }
  for (const auto& [key, field] : kLinkTextFields) {
    w.Key(key);
    w.Bytes(r.link.*field);
  }
  for (const auto& [key, field] : kLinkBoolFields) {
    w.Key(key);
    w.Bool(r.link.*field);
  }
  w.Key("account_id");
  if (r.account_id) {
    w.Bytes(*r.account_id);
  } else {
    w.Null();
  }
  w.Key("first_byte_micros");
  if (r.first_byte_micros) {
    w.Int(*r.first_byte_micros);
  } else {
    w.Null();
  }
  w.Key("request_headers");
  w.HeaderList(r.request_headers);
  w.Key("response_headers");
  w.HeaderList(r.response_headers);
  w.Key("chunks");
  out.push_back('[');
  for (std::size_t i = 0; i < r.chunks.size(); ++i) {
    if (i > 0) out.push_back(',');
    LineWriter chunk(out);
    chunk.Key("at");
    chunk.Int(r.chunks[i].at_unix_micros);
    chunk.Key("data");
    chunk.Bytes(r.chunks[i].data);
    chunk.Close();
  }
  out.push_back(']');
  w.Key("chunk_usage");
  out.push_back('[');
  for (std::size_t i = 0; i < r.chunk_usage.size(); ++i) {
    if (i > 0) out.push_back(',');
    const ChunkUsage& u = r.chunk_usage[i];
    LineWriter entry(out);
    entry.Key("chunk");
    entry.Int(static_cast<std::int64_t>(u.chunk_index));
    entry.Key("payload");
    entry.Bytes(u.payload);
    entry.Key("output_tokens");
    entry.Int(u.output_tokens);
    entry.Close();
  }
  out.push_back(']');
  w.Key("cost_usd");
  w.Optional(r.cost_usd);
  w.Key("quota");
  {
    LineWriter quota(out);
    quota.Key("status");
    quota.Bytes(r.quota.status);
    quota.Key("utilization_5h");
    quota.Optional(r.quota.utilization_5h);
    quota.Key("resets_at_5h");
    quota.Optional(r.quota.resets_at_5h);
    quota.Key("utilization_7d");
    quota.Optional(r.quota.utilization_7d);
    quota.Key("resets_at_7d");
    quota.Optional(r.quota.resets_at_7d);
    quota.Key("json");
    quota.Bytes(r.quota.json);
    quota.Close();
  }
  w.Key("outcome");
  w.Ascii(OutcomeName(r.outcome));
  w.Key("usage");
  LineWriter usage(out);
  for (const auto& [key, field] : kUsageFields) {
    usage.Key(key);
    usage.Int(r.usage.*field);
  }
  usage.Close();
  // Every control character is escaped above, so the line holds no raw '\n' (invariant 2).
  w.Close();
}

std::string RecordToJson(const Record& r) {
  std::string out;
  AppendRecordJson(r, out);
  return out;
}

StatusOr<Record> RecordFromJson(std::string_view text) {
  boost::system::error_code ec;
  json::value root = json::parse(text, ec);
  if (ec) return Status::Corruption("record JSON does not parse: " + ec.message());
  const json::object* obj = root.if_object();
  if (obj == nullptr) return Status::Corruption("record JSON is not an object");

  Record r;
  FieldReader f(*obj);
  std::int64_t version = kRecordJsonVersion;
  f.Int("v", &version);
  if (version > kRecordJsonVersion) {
    return Status::Corruption("record JSON version " + std::to_string(version) + " is newer than " +
                              std::to_string(kRecordJsonVersion));
  }
  for (const auto& [key, field] : kTextFields) f.Bytes(key, &(r.*field));
  for (const auto& [key, field] : kInt64Fields) f.Int(key, &(r.*field));
  for (const auto& [key, field] : kIntFields) f.Int(key, &(r.*field));
  for (const auto& [key, field] : kBoolFields) f.Bool(key, &(r.*field));
  for (const auto& [key, field] : kLinkTextFields) f.Bytes(key, &(r.link.*field));
  for (const auto& [key, field] : kLinkBoolFields) f.Bool(key, &(r.link.*field));
  f.OptionalBytes("account_id", &r.account_id);
  f.OptionalInt("first_byte_micros", &r.first_byte_micros);
  ReadHeaders(f, "request_headers", &r.request_headers);
  ReadHeaders(f, "response_headers", &r.response_headers);
  ReadChunks(f, &r.chunks);
  if (f.Find("chunk_usage") != nullptr) {
    ReadChunkUsage(f, &r.chunk_usage);
  } else if (r.enriched) {
    // Written before chunk_usage was in the format: enrichment will not run again, so derive it
    // the way enrichment does (anthropic::EnrichRecord).
    r.chunk_usage = anthropic::ChunkUsages(r.chunks);
  }
  f.OptionalDouble("cost_usd", &r.cost_usd);
  if (const json::value* v = f.Find("quota")) {
    ReadQuota(f, *v, &r.quota);
  } else if (r.enriched) {
    // Written before the read side's fields were in the format: derive what enrichment would
    // have (attribution and quota; the cost needs the price table and stays unknown).
    r.quota = anthropic::QuotaFromHeaders(r.response_headers);
  }
  if (f.Find("user_id") == nullptr && r.enriched && !r.request_body.empty()) {
    const std::optional<json::value> body = anthropic::ParseJson(r.request_body, true);
    const anthropic::Attribution who =
        anthropic::ParseAttribution(body ? &*body : nullptr, r.request_headers);
    r.user_id = who.user_id;
    r.session_id = who.session_id;
  }
  if (f.Find("search_text") == nullptr && r.enriched) {
    // Written before search_text was in the format: what enrichment would have derived, from the
    // request body and the stored response message (contract 6).
    try {
      r.search_text =
          anthropic::SearchTextFromJson(r.request_type, r.request_body, r.response_json);
    } catch (const std::exception&) {
      r.search_text.clear();
    }
  }
  if (const json::value* v = f.Find("outcome")) {
    const json::string* s = v->if_string();
    const std::optional<Outcome> o = s != nullptr ? OutcomeFromName(*s) : std::nullopt;
    if (o) {
      r.outcome = *o;
    } else {
      f.Fail("outcome");
    }
  }
  ReadUsage(f, &r.usage);

  if (!f.error().empty())
    return Status::Corruption("record JSON field has a bad value: " + f.error());
  if (r.request_id.empty()) return Status::Corruption("record JSON has no request_id");
  return r;
}

}  // namespace cn::recording
