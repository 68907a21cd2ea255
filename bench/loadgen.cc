// cn-loadgen: closed-loop HTTP/1.1 load generator for the claude-nexus benchmark.
//
// N keep-alive connections, each a coroutine that sends POST /v1/messages and reads the whole
// answer before sending the next (closed loop: throughput is what the target sustains at that
// concurrency). Modes: `json` (non-streaming) and `stream` (stream:true; the fake upstream paces
// the deltas, asked through the body's "x_fake" knobs so they survive any proxy).
// Runs for --warmup + --duration seconds, or until --requests answers. Prints one JSON line with
// throughput, latency and time-to-first-body-byte percentiles and error counts on stdout, and a
// readable summary on stderr. Requests finishing during warm-up are not measured.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto kUseTuple = net::as_tuple(net::use_awaitable);

struct Options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string mode = "json";
  int concurrency = 1;
  double duration_s = 3;
  double warmup_s = 1;
  long requests = 0;  // > 0: stop after this many requests instead of after duration
  int deltas = 10;
  int delay_ms = 20;
  int body_bytes = 2048;
  int threads = 1;
  int timeout_s = 30;
  std::string label;
  std::string auth = "Bearer sk-ant-bench-not-a-real-token";
};

// Everything the workers share. Per-worker results are merged once all workers are done.
struct Run {
  Options options;
  std::string wire_request;  // the exact request bytes, built once
  Clock::time_point start, measure_from, stop_issuing;
  std::atomic<long> issued{0};
  std::atomic<int> running{0};

  std::mutex mu;
  std::vector<std::uint32_t> latency_us;  // GUARDED_BY(mu)
  std::vector<std::uint32_t> ttfb_us;     // GUARDED_BY(mu)
  std::map<std::string, long> errors;     // GUARDED_BY(mu)
  long total_ok = 0;                      // GUARDED_BY(mu), warm-up included
  Clock::time_point last_done;            // GUARDED_BY(mu)
};

std::string BuildBody(const Options& o) {
  json::object body{{"model", "claude-3-5-haiku-20241022"},
                    {"max_tokens", 256},
                    {"stream", o.mode == "stream"},
                    {"x_fake", json::object{{"deltas", o.deltas}, {"delay-ms", o.delay_ms}}},
                    {"messages", json::array{json::object{{"role", "user"}, {"content", ""}}}}};
  const std::size_t base = json::serialize(body).size();
  const std::size_t pad = o.body_bytes > static_cast<int>(base) ? o.body_bytes - base : 0;
  std::string text;
  for (std::size_t i = 0; i < pad; ++i) text.push_back("abcdefghij klmnopqrstuvwxyz"[i % 27]);
  body["messages"].as_array()[0].as_object()["content"] = text;
  return json::serialize(body);
}

std::string BuildWireRequest(const Options& o) {
  http::request<http::string_body> req{http::verb::post, "/v1/messages", 11};
  req.set(http::field::host, "localhost:" + std::to_string(o.port));
  req.set(http::field::content_type, "application/json");
  req.set(http::field::authorization, o.auth);
  req.set("anthropic-version", "2023-06-01");
  req.set(http::field::user_agent, "cn-loadgen");
  req.body() = BuildBody(o);
  req.prepare_payload();
  std::ostringstream out;
  out << req;
  return out.str();
}

bool ShouldIssue(Run& run) {
  if (run.options.requests > 0) return run.issued.fetch_add(1) < run.options.requests;
  return Clock::now() < run.stop_issuing;
}

std::uint32_t Micros(Clock::duration d) {
  return static_cast<std::uint32_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(d).count());
}

net::awaitable<void> Worker(Run* run, tcp::endpoint endpoint) {
  beast::tcp_stream stream(co_await net::this_coro::executor);
  beast::flat_buffer buffer;
  bool connected = false;
  std::vector<std::uint32_t> latency, ttfb;
  std::map<std::string, long> errors;
  long ok = 0;
  Clock::time_point last_done{};
  const auto timeout = std::chrono::seconds(run->options.timeout_s);

  while (ShouldIssue(*run)) {
    auto fail = [&](const std::string& kind) {
      ++errors[kind];
      beast::error_code ignored;
      stream.socket().close(ignored);
      connected = false;
      buffer.clear();
    };
    const auto t0 = Clock::now();
    if (!connected) {
      stream.expires_after(timeout);
      if (auto [ec] = co_await stream.async_connect(endpoint, kUseTuple); ec) {
        fail("connect: " + ec.message());
        net::steady_timer backoff(co_await net::this_coro::executor, std::chrono::milliseconds(20));
        co_await backoff.async_wait(kUseTuple);
        continue;
      }
      stream.socket().set_option(tcp::no_delay(true));
      connected = true;
    }
    stream.expires_after(timeout);
    if (auto [ec, n] = co_await net::async_write(stream, net::buffer(run->wire_request), kUseTuple);
        ec) {
      fail("write: " + ec.message());
      continue;
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    if (auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, kUseTuple); ec) {
      fail("read: " + ec.message());
      continue;
    }
    Clock::time_point first_byte{};
    beast::error_code ec;
    while (!parser.is_done()) {
      if (first_byte == Clock::time_point{} && !parser.get().body().empty()) {
        first_byte = Clock::now();
      }
      auto [rec, n] = co_await http::async_read_some(stream, buffer, parser, kUseTuple);
      if (rec) {
        ec = rec;
        break;
      }
    }
    const auto done = Clock::now();
    if (first_byte == Clock::time_point{}) first_byte = done;
    if (ec) {
      fail(ec == beast::error::timeout ? "timeout (stall)" : "read: " + ec.message());
      continue;
    }
    const unsigned status = parser.get().result_int();
    if (!parser.get().keep_alive()) {
      beast::error_code ignored;
      stream.socket().close(ignored);
      connected = false;
    }
    if (status != 200) {
      ++errors["status " + std::to_string(status)];
      continue;
    }
    ++ok;
    last_done = done;
    if (t0 >= run->measure_from) {
      latency.push_back(Micros(done - t0));
      ttfb.push_back(Micros(first_byte - t0));
    }
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);

  std::lock_guard lock(run->mu);
  run->latency_us.insert(run->latency_us.end(), latency.begin(), latency.end());
  run->ttfb_us.insert(run->ttfb_us.end(), ttfb.begin(), ttfb.end());
  for (auto& [k, v] : errors) run->errors[k] += v;
  run->total_ok += ok;
  run->last_done = std::max(run->last_done, last_done);
}

// Nearest-rank percentile of sorted values.
std::uint32_t Percentile(const std::vector<std::uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  std::size_t rank =
      static_cast<std::size_t>(p / 100.0 * static_cast<double>(sorted.size()) + 0.999999);
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"claude-nexus benchmark load generator"};
  app.add_option("--host", o.host);
  app.add_option("--port", o.port)->required();
  app.add_option("--mode", o.mode)->check(CLI::IsMember({"json", "stream"}));
  app.add_option("--concurrency,-c", o.concurrency)->check(CLI::Range(1, 100000));
  app.add_option("--duration", o.duration_s, "measured seconds (after warm-up)");
  app.add_option("--warmup", o.warmup_s, "seconds not measured at the start");
  app.add_option("--requests,-n", o.requests, "stop after this many requests (warm-up ignored)");
  app.add_option("--deltas", o.deltas, "stream mode: text deltas per answer");
  app.add_option("--delay-ms", o.delay_ms, "stream mode: fake upstream pause between events");
  app.add_option("--body-bytes", o.body_bytes, "approximate request body size");
  app.add_option("--threads", o.threads)->check(CLI::Range(1, 64));
  app.add_option("--timeout", o.timeout_s, "seconds before one request counts as stalled");
  app.add_option("--label", o.label);
  app.add_option("--authorization", o.auth);
  CLI11_PARSE(app, argc, argv);

  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }

  Run run;
  run.options = o;
  run.wire_request = BuildWireRequest(o);
  if (o.requests > 0) run.options.warmup_s = 0;
  run.start = Clock::now();
  run.measure_from = run.start + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(run.options.warmup_s));
  run.stop_issuing = run.measure_from + std::chrono::duration_cast<Clock::duration>(
                                            std::chrono::duration<double>(o.duration_s));

  net::io_context ioc(o.threads);
  const tcp::endpoint endpoint(net::ip::make_address(o.host), o.port);
  for (int i = 0; i < o.concurrency; ++i) net::co_spawn(ioc, Worker(&run, endpoint), net::detached);
  std::vector<std::thread> threads;
  for (int i = 1; i < o.threads; ++i) threads.emplace_back([&] { ioc.run(); });
  ioc.run();
  for (auto& t : threads) t.join();

  std::sort(run.latency_us.begin(), run.latency_us.end());
  std::sort(run.ttfb_us.begin(), run.ttfb_us.end());
  const auto window_end = std::max(run.last_done, run.measure_from);
  const double seconds = std::chrono::duration<double>(window_end - run.measure_from).count();
  const auto measured = static_cast<double>(run.latency_us.size());
  long error_count = 0;
  json::object errors;
  for (auto& [k, v] : run.errors) {
    errors[k] = v;
    error_count += v;
  }
  auto pct = [&](const std::vector<std::uint32_t>& v) {
    return json::object{{"p50", Percentile(v, 50)},
                        {"p90", Percentile(v, 90)},
                        {"p99", Percentile(v, 99)},
                        {"max", v.empty() ? 0u : v.back()}};
  };
  json::object out{{"label", o.label},
                   {"mode", o.mode},
                   {"concurrency", o.concurrency},
                   {"measured", run.latency_us.size()},
                   {"total_ok", run.total_ok},
                   {"errors", error_count},
                   {"error_kinds", errors},
                   {"seconds", seconds},
                   {"rps", seconds > 0 ? measured / seconds : 0.0},
                   {"latency_us", pct(run.latency_us)},
                   {"ttfb_us", pct(run.ttfb_us)}};
  std::cout << json::serialize(out) << std::endl;
  std::fprintf(stderr,
               "%s %s c=%d: %.0f req/s, p50 %u us, p99 %u us, max %u us, ttfb p50 %u us, "
               "%ld ok, %ld errors\n",
               o.label.c_str(), o.mode.c_str(), o.concurrency,
               seconds > 0 ? measured / seconds : 0.0, Percentile(run.latency_us, 50),
               Percentile(run.latency_us, 99), run.latency_us.empty() ? 0u : run.latency_us.back(),
               Percentile(run.ttfb_us, 50), run.total_ok, error_count);
  for (auto& [k, v] : run.errors) std::fprintf(stderr, "  error %s: %ld\n", k.c_str(), v);
  return error_count == 0 ? 0 : 1;
}
