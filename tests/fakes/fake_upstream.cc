// FakeUpstream implementation: one accept coroutine, one coroutine per connection (Beast
// awaitable-server style). Deciding the answer (MakePlan) is a plain function from the received
// request to a Plan; the session coroutine only moves the Plan's bytes, with the pacing and
// faults the Plan asks for.
#include "fakes/fake_upstream.h"

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>
#include <cctype>
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

namespace cn::testing {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
namespace json = boost::json;
using tcp = net::ip::tcp;
constexpr auto kUseTuple = net::as_tuple(net::use_awaitable);

constexpr std::size_t kBodyLimit = 64 * 1024 * 1024;
constexpr const char* kDefaultModel = "claude-fake-model";

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "FakeUpstream: %s\n", what.c_str());
  std::abort();
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::optional<long> ParseLong(std::string_view s) {
  long v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// The request as MakePlan sees it: the recorded request plus its body parsed once.
struct Incoming {
  const ReceivedRequest& req;
  json::value body;  // null when the body is not JSON

  // Knob `name`: header x-fake-<name>, else body x_fake.<name> (string or integer).
  std::optional<std::string> Knob(std::string_view name) const {
    std::string header = "x-fake-" + std::string(name);
    for (const auto& [k, v] : req.headers) {
      if (EqualsIgnoreCase(k, header)) return v;
    }
    const json::object* obj = body.if_object();
    if (!obj) return std::nullopt;
    const json::value* fake = obj->if_contains("x_fake");
    if (!fake || !fake->is_object()) return std::nullopt;
    const json::value* v = fake->as_object().if_contains(name);
    if (!v) return std::nullopt;
    if (v->is_string()) return std::string(v->as_string());
    if (v->is_int64()) return std::to_string(v->as_int64());
    if (v->is_uint64()) return std::to_string(v->as_uint64());
    if (v->is_bool()) return v->as_bool() ? "1" : "0";
    return std::nullopt;
  }
  long KnobInt(std::string_view name, long fallback) const {
    auto text = Knob(name);
    if (!text) return fallback;
    auto v = ParseLong(*text);
    return v ? *v : fallback;
  }
  bool Streaming() const {
    if (const json::object* obj = body.if_object()) {
      const json::value* s = obj->if_contains("stream");
      return s && s->is_bool() && s->as_bool();
    }
    // Not parseable as JSON: fall back to a textual check.
    return req.body.find("\"stream\":true") != std::string::npos ||
           req.body.find("\"stream\": true") != std::string::npos;
  }
  std::string Model() const {
    if (const json::object* obj = body.if_object()) {
      const json::value* m = obj->if_contains("model");
      if (m && m->is_string()) return std::string(m->as_string());
    }
    return kDefaultModel;
  }
};

// What to send back. Invariant: kind == kSse <=> events is the body; otherwise body is.
struct Plan {
  enum class Kind { kBuffered, kSse };
  Kind kind = Kind::kBuffered;
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::string> events;  // framed SSE events, one chunk each
  std::vector<std::pair<std::string, std::string>> headers;
  long header_delay_ms = 0;
  long delay_ms = 0;
  long pause_ms = 0;
  long cut_after = -1;  // < 0: never cut
  bool cut_rst = false;
};

const char* ErrorTypeFor(unsigned status) {
  switch (status) {
    case 400:
      return "invalid_request_error";
    case 401:
      return "authentication_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 413:
      return "request_too_large";
    case 429:
      return "rate_limit_error";
    case 529:
      return "overloaded_error";
    default:
      return "api_error";
  }
}

std::string SseEvent(std::string_view type, const json::value& data) {
  std::string out = "event: ";
  out.append(type);
  out.append("\ndata: ");
  out.append(json::serialize(data));
  out.append("\n\n");
  return out;
}

std::vector<std::string> SyntheticEvents(const Incoming& in, std::size_t n) {
  const long deltas = std::max(0L, in.KnobInt("deltas", 5));
  const bool thinking = in.KnobInt("thinking", 0) != 0;
  const bool tool = in.KnobInt("tool", 0) != 0;
  const long ping_every = in.KnobInt("ping", 0);
  std::vector<std::string> ev;
  ev.push_back(SseEvent(
      "message_start",
      json::object{
          {"type", "message_start"},
          {"message", json::object{{"id", "msg_fake_" + std::to_string(n)},
                                   {"type", "message"},
                                   {"role", "assistant"},
                                   {"model", in.Model()},
                                   {"content", json::array{}},
                                   {"stop_reason", nullptr},
                                   {"stop_sequence", nullptr},
                                   {"usage", json::object{{"input_tokens", 12},
                                                          {"cache_creation_input_tokens", 0},
                                                          {"cache_read_input_tokens", 0},
                                                          {"output_tokens", 1}}}}}}));
  auto block_start = [&](int index, json::object block) {
    ev.push_back(
        SseEvent("content_block_start", json::object{{"type", "content_block_start"},
                                                     {"index", index},
                                                     {"content_block", std::move(block)}}));
  };
  auto delta = [&](int index, json::object d) {
    ev.push_back(SseEvent(
        "content_block_delta",
        json::object{{"type", "content_block_delta"}, {"index", index}, {"delta", std::move(d)}}));
  };
  auto block_stop = [&](int index) {
    ev.push_back(SseEvent("content_block_stop",
                          json::object{{"type", "content_block_stop"}, {"index", index}}));
  };
  auto ping = [&] { ev.push_back(SseEvent("ping", json::object{{"type", "ping"}})); };

  int index = 0;
  bool pinged = false;
  if (thinking) {
    block_start(index, {{"type", "thinking"}, {"thinking", ""}});
    if (ping_every > 0) {
      ping();
      pinged = true;
    }
    delta(index, {{"type", "thinking_delta"}, {"thinking", "Let me think"}});
    delta(index, {{"type", "thinking_delta"}, {"thinking", " about this."}});
    delta(index, {{"type", "signature_delta"}, {"signature", "fake-signature"}});
    block_stop(index++);
  }
  block_start(index, {{"type", "text"}, {"text", ""}});
  if (ping_every > 0 && !pinged) ping();
  for (long i = 0; i < deltas; ++i) {
    delta(index, {{"type", "text_delta"}, {"text", FakeDeltaText(static_cast<int>(i))}});
    if (ping_every > 0 && (i + 1) % ping_every == 0) ping();
  }
  block_stop(index++);
  if (tool) {
    block_start(index, {{"type", "tool_use"},
                        {"id", "toolu_fake_" + std::to_string(n)},
                        {"name", "get_weather"},
                        {"input", json::object{}}});
    for (const char* piece : {"", "{\"city\": ", "\"Paris\"}"}) {
      delta(index, {{"type", "input_json_delta"}, {"partial_json", piece}});
    }
    block_stop(index++);
  }
  ev.push_back(
      SseEvent("message_delta",
               json::object{{"type", "message_delta"},
                            {"delta", json::object{{"stop_reason", tool ? "tool_use" : "end_turn"},
                                                   {"stop_sequence", nullptr}}},
                            {"usage", json::object{{"output_tokens", deltas}}}}));
  ev.push_back(SseEvent("message_stop", json::object{{"type", "message_stop"}}));
  return ev;
}

// Loads a captured fixture's streamingChunks as framed events.
std::optional<std::vector<std::string>> LoadReplay(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  boost::system::error_code ec;
  json::value doc = json::parse(ss.str(), ec);
  if (ec) return std::nullopt;
  const json::value* chunks = nullptr;
  if (auto* r = doc.find_pointer("/response/metadata/streamingChunks", ec); r && !ec) chunks = r;
  if (!chunks || !chunks->is_array()) return std::nullopt;
  std::vector<std::string> events;
  for (const json::value& c : chunks->as_array()) {
    if (c.is_string()) {
      events.emplace_back(c.as_string());
      continue;
    }
    std::string type = "message";
    if (const json::object* o = c.if_object()) {
      const json::value* t = o->if_contains("type");
      if (t && t->is_string()) type = std::string(t->as_string());
    }
    events.push_back(SseEvent(type, c));
  }
  return events;
}

// Path of a request target without its query string.
std::string_view TargetPath(std::string_view target) { return target.substr(0, target.find('?')); }

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

json::object FakeModel(std::string_view id) {
  return json::object{{"type", "model"},
                      {"id", id},
                      {"display_name", "Claude Fake"},
                      {"created_at", "2025-01-01T00:00:00Z"}};
}

// The answer for the non-Messages endpoints the header documents, or nullopt.
std::optional<std::string> OtherEndpointBody(const ReceivedRequest& req) {
  const std::string_view path = TargetPath(req.target);
  if (req.method == "POST" && EndsWith(path, "/v1/messages/count_tokens")) {
    return json::serialize(json::object{{"input_tokens", 12}});
  }
  if (req.method != "GET") return std::nullopt;
  if (EndsWith(path, "/v1/models")) {
    return json::serialize(json::object{{"data", json::array{FakeModel(kDefaultModel)}},
                                        {"has_more", false},
                                        {"first_id", kDefaultModel},
                                        {"last_id", kDefaultModel}});
  }
  const std::size_t at = path.rfind("/v1/models/");
  if (at != std::string_view::npos) {
    std::string_view id = path.substr(at + 11);
    if (!id.empty() && id.find('/') == std::string_view::npos)
      return json::serialize(FakeModel(id));
  }
  return std::nullopt;
}

std::string RequestLogLine(std::size_t n, const ReceivedRequest& req) {
  json::array headers;
  for (const auto& [k, v] : req.headers)
    headers.push_back(json::array{json::string(k), json::string(v)});
  return json::serialize(json::object{{"n", n},
                                      {"method", req.method},
                                      {"target", req.target},
                                      {"headers", std::move(headers)},
                                      {"body", req.body}}) +
         "\n";
}

std::string EchoHeadersJson(const ReceivedRequest& req) {
  json::object o;
  for (const auto& [k, v] : req.headers) {
    std::string key = Lower(k);
    if (json::value* existing = o.if_contains(key)) {
      std::string joined(existing->as_string());
      joined += ", ";
      joined += v;
      *existing = joined;
    } else {
      o[key] = v;
    }
  }
  return json::serialize(o);
}

}  // namespace

// State shared by the FakeUpstream and every session coroutine. Sessions hold a plain Impl*: they
// run on ioc_, a member of Impl, so they are destroyed (run or not) before the state they use.
class FakeUpstream::Impl {
 public:
  explicit Impl(FakeUpstreamOptions options) : options_(std::move(options)) {}

  // Counts the request, records it if asked, and for `fail-times` decides under the same lock
  // whether this request is one of the first n with its key. Returns the request number.
  std::size_t Register(const ReceivedRequest& req, const std::optional<std::string>& fail_key,
                       long fail_times, bool* should_fail) {
    std::size_t n;
    {
      std::lock_guard lock(mu_);
      n = ++count_;
      if (fail_key) *should_fail = ++fail_seen_[*fail_key] <= fail_times;
      if (options_.record_requests) requests_.push_back(req);
      if (request_log_.is_open()) {
        request_log_ << RequestLogLine(n, req);
        request_log_.flush();
      }
    }
    cv_.notify_all();
    return n;
  }

  std::optional<std::vector<std::string>> Replay(const std::string& path) {
    {
      std::lock_guard lock(mu_);
      if (auto it = replay_cache_.find(path); it != replay_cache_.end()) return it->second;
    }
    auto events = LoadReplay(path);
    if (events) {
      std::lock_guard lock(mu_);
      replay_cache_[path] = *events;
    }
    return events;
  }

  Plan MakePlan(const ReceivedRequest& req);

  const FakeUpstreamOptions options_;
  std::unique_ptr<ssl::context> tls_;  // null without TLS

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<ReceivedRequest> requests_;                         // GUARDED_BY(mu_)
  std::size_t count_ = 0;                                         // GUARDED_BY(mu_)
  std::map<std::string, long> fail_seen_;                         // GUARDED_BY(mu_)
  std::map<std::string, std::vector<std::string>> replay_cache_;  // GUARDED_BY(mu_)
  std::ofstream request_log_;                                     // GUARDED_BY(mu_)

  // Declared after the state the sessions use: destroyed (with pending coroutine frames) first.
  net::io_context ioc_;
  tcp::acceptor acceptor_{ioc_};
  std::vector<std::thread> threads_;
};

Plan FakeUpstream::Impl::MakePlan(const ReceivedRequest& req) {
  boost::system::error_code ec;
  Incoming in{req, json::parse(req.body, ec)};
  if (ec) in.body = nullptr;

  Plan plan;
  plan.header_delay_ms = in.KnobInt("header-delay-ms", 0);
  plan.delay_ms = in.KnobInt("delay-ms", 0);
  plan.pause_ms = in.KnobInt("pause-ms", 0);
  plan.cut_after = in.KnobInt("cut-after", -1);
  plan.cut_rst = in.KnobInt("cut-rst", 0) != 0;

  const long status = in.KnobInt("status", 0);
  const long fail_times = in.KnobInt("fail-times", -1);
  std::optional<std::string> fail_key;
  if (fail_times >= 0) fail_key = in.Knob("key").value_or("");
  bool should_fail = status != 0 && fail_times < 0;
  const std::size_t n = Register(req, fail_key, fail_times, &should_fail);

  plan.headers = {{"request-id", "req_fake_" + std::to_string(n)},
                  {"anthropic-ratelimit-requests-limit", "50"},
                  {"anthropic-ratelimit-requests-remaining", "49"}};

  if (should_fail) {
    plan.status = status != 0 ? static_cast<unsigned>(status) : 529u;
    if (auto ra = in.Knob("retry-after")) plan.headers.emplace_back("retry-after", *ra);
    plan.body = json::serialize(
        json::object{{"type", "error"},
                     {"error", json::object{{"type", ErrorTypeFor(plan.status)},
                                            {"message", "fake " + std::to_string(plan.status)}}}});
    return plan;
  }
  if (in.KnobInt("echo", 0) != 0) {
    plan.body = req.body;
    plan.content_type = req.Header("content-type");
    plan.headers.emplace_back("x-fake-echo-headers", EchoHeadersJson(req));
    return plan;
  }
  if (auto replay = in.Knob("replay")) {
    auto events = Replay(*replay);
    if (!events) {
      plan.status = 500;
      plan.body = json::serialize(json::object{
          {"type", "error"},
          {"error",
           json::object{{"type", "api_error"}, {"message", "fake: cannot replay " + *replay}}}});
      return plan;
    }
    plan.kind = Plan::Kind::kSse;
    plan.events = std::move(*events);
    return plan;
  }
  if (auto other = OtherEndpointBody(req)) {
    plan.body = std::move(*other);
    return plan;
  }
  if (in.Streaming()) {
    plan.kind = Plan::Kind::kSse;
    plan.events = SyntheticEvents(in, n);
    return plan;
  }
  plan.body = FakeMessageJson(in.Model(), n);
  return plan;
}

namespace {

using Impl = FakeUpstream::Impl;

net::awaitable<void> SleepMs(long ms) {
  if (ms <= 0) co_return;
  net::steady_timer timer(co_await net::this_coro::executor);
  timer.expires_after(std::chrono::milliseconds(ms));
  co_await timer.async_wait(kUseTuple);
}

ReceivedRequest ToReceived(const http::request<http::string_body>& req) {
  ReceivedRequest out;
  out.method = std::string(req.method_string());
  out.target = std::string(req.target());
  for (const auto& field : req) {
    out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  out.body = req.body();
  return out;
}

template <class Stream>
void CloseNow(Stream& stream, bool rst) {
  auto& socket = beast::get_lowest_layer(stream);
  boost::system::error_code ec;
  if (rst) socket.set_option(net::socket_base::linger(true, 0), ec);
  socket.close(ec);
}

// Sends one planned answer. Returns false when the connection must not be reused.
template <class Stream>
net::awaitable<bool> Respond(Stream& stream, Plan plan, bool keep_alive) {
  co_await SleepMs(plan.header_delay_ms);
  if (plan.kind == Plan::Kind::kBuffered) {
    http::response<http::string_body> res{static_cast<http::status>(plan.status), 11};
    for (auto& [k, v] : plan.headers) res.set(k, v);
    if (!plan.content_type.empty()) res.set(http::field::content_type, plan.content_type);
    res.body() = std::move(plan.body);
    res.keep_alive(keep_alive);
    res.prepare_payload();
    auto [ec, n] = co_await http::async_write(stream, res, kUseTuple);
    co_return !ec;
  }

  http::response<http::empty_body> res{static_cast<http::status>(plan.status), 11};
  for (auto& [k, v] : plan.headers) res.set(k, v);
  res.set(http::field::content_type, "text/event-stream; charset=utf-8");
  res.set(http::field::cache_control, "no-cache");
  res.chunked(true);
  res.keep_alive(keep_alive);
  http::response_serializer<http::empty_body> sr{res};
  if (auto [ec, n] = co_await http::async_write_header(stream, sr, kUseTuple); ec) co_return false;

  const std::size_t middle = plan.events.size() / 2;
  for (std::size_t i = 0; i < plan.events.size(); ++i) {
    if (plan.cut_after >= 0 && i == static_cast<std::size_t>(plan.cut_after)) {
      CloseNow(stream, plan.cut_rst);
      co_return false;
    }
    if (i > 0) co_await SleepMs(plan.delay_ms);
    if (i == middle && plan.pause_ms > 0) co_await SleepMs(plan.pause_ms);
    auto [ec, n] =
        co_await net::async_write(stream, http::make_chunk(net::buffer(plan.events[i])), kUseTuple);
    if (ec) co_return false;
  }
  auto [ec, n] = co_await net::async_write(stream, http::make_chunk_last(), kUseTuple);
  co_return !ec;
}

template <class Stream>
net::awaitable<void> Serve(Stream stream, Impl* impl) {
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(kBodyLimit);
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, kUseTuple);
    if (ec) break;  // EOF, reset or garbage: the client is gone or broken either way
    http::request<http::string_body> req = parser.release();
    const bool keep_alive = req.keep_alive();
    Plan plan = impl->MakePlan(ToReceived(req));
    if (!co_await Respond(stream, std::move(plan), keep_alive) || !keep_alive) break;
  }
  auto& socket = beast::get_lowest_layer(stream);
  boost::system::error_code ec;
  socket.shutdown(tcp::socket::shutdown_send, ec);
  socket.close(ec);
}

net::awaitable<void> ServeTls(tcp::socket socket, Impl* impl) {
  ssl::stream<tcp::socket> stream(std::move(socket), *impl->tls_);
  auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, kUseTuple);
  if (ec) co_return;
  co_await Serve(std::move(stream), impl);
}

net::awaitable<void> Accept(Impl* impl) {
  for (;;) {
    auto [ec, socket] = co_await impl->acceptor_.async_accept(kUseTuple);
    if (ec == net::error::operation_aborted || !impl->acceptor_.is_open()) co_return;
    if (ec) {  // e.g. EMFILE under load: back off briefly instead of spinning
      co_await SleepMs(10);
      continue;
    }
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    auto executor = socket.get_executor();
    if (impl->tls_) {
      net::co_spawn(executor, ServeTls(std::move(socket), impl), net::detached);
    } else {
      net::co_spawn(executor, Serve(std::move(socket), impl), net::detached);
    }
  }
}

}  // namespace

std::string FakeDeltaText(int i) {
  static constexpr const char* kWords[] = {"Hello", " from", " fake"};
  if (i >= 0 && i < 3) return kWords[i];
  return " " + std::to_string(i);
}

std::string FakeStreamText(int deltas) {
  std::string out;
  for (int i = 0; i < deltas; ++i) out += FakeDeltaText(i);
  return out;
}

std::string FakeMessageJson(std::string_view model, std::size_t n) {
  return json::serialize(json::object{
      {"id", "msg_fake_" + std::to_string(n)},
      {"type", "message"},
      {"role", "assistant"},
      {"model", model},
      {"content", json::array{json::object{{"type", "text"}, {"text", "Hello from fake"}}}},
      {"stop_reason", "end_turn"},
      {"stop_sequence", nullptr},
      {"usage", json::object{{"input_tokens", 12},
                             {"output_tokens", 5},
                             {"cache_creation_input_tokens", 0},
                             {"cache_read_input_tokens", 0}}}});
}

std::string ReceivedRequest::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (EqualsIgnoreCase(k, name)) return v;
  }
  return "";
}

FakeUpstream::FakeUpstream(FakeUpstreamOptions options) {
  impl_ = std::make_unique<Impl>(std::move(options));
  Impl& impl = *impl_;
  const FakeUpstreamOptions& o = impl.options_;
  if (!o.request_log_path.empty()) {
    impl.request_log_.open(o.request_log_path, std::ios::binary | std::ios::app);
    if (!impl.request_log_) Die("cannot open request log " + o.request_log_path);
  }
  if (o.tls) {
    impl.tls_ = std::make_unique<ssl::context>(ssl::context::tls_server);
    const std::string dir = CN_TEST_CERTS_DIR;
    std::string cert = o.cert_file.empty() ? dir + "/server.pem" : o.cert_file;
    std::string key = o.key_file.empty() ? dir + "/server.key" : o.key_file;
    boost::system::error_code ec;
    impl.tls_->use_certificate_chain_file(cert, ec);
    if (ec) Die("cannot load certificate " + cert + ": " + ec.message());
    impl.tls_->use_private_key_file(key, ssl::context::pem, ec);
    if (ec) Die("cannot load private key " + key + ": " + ec.message());
  }
  boost::system::error_code ec;
  auto address = net::ip::make_address(o.host, ec);
  if (ec) Die("bad host '" + o.host + "': " + ec.message());
  tcp::endpoint endpoint(address, o.port);
  impl.acceptor_.open(endpoint.protocol(), ec);
  if (!ec) impl.acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl.acceptor_.bind(endpoint, ec);
  if (!ec) impl.acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) Die("cannot listen on " + o.host + ":" + std::to_string(o.port) + ": " + ec.message());

  net::co_spawn(impl.ioc_, Accept(&impl), net::detached);
  const int threads = std::max(1, o.threads);
  for (int i = 0; i < threads; ++i) impl.threads_.emplace_back([&impl] { impl.ioc_.run(); });
}

FakeUpstream::~FakeUpstream() {
  impl_->ioc_.stop();
  for (auto& t : impl_->threads_) t.join();
  // impl_ destroys the acceptor, then the io_context (destroying suspended session frames while
  // the state they point at is still alive), then the state.
}

std::uint16_t FakeUpstream::port() const { return impl_->acceptor_.local_endpoint().port(); }

std::string FakeUpstream::base_url() const {
  return (impl_->tls_ ? "https://localhost:" : "http://127.0.0.1:") + std::to_string(port());
}

std::vector<ReceivedRequest> FakeUpstream::requests() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->requests_;
}

std::size_t FakeUpstream::request_count() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->count_;
}

bool FakeUpstream::WaitForRequests(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mu_);
  return impl_->cv_.wait_for(lock, timeout, [&] { return impl_->count_ >= n; });
}

void FakeUpstream::Reset() {
  std::lock_guard lock(impl_->mu_);
  impl_->requests_.clear();
  impl_->count_ = 0;
  impl_->fail_seen_.clear();
}

}  // namespace cn::testing
