// Listener, workers, the session loop and the proxy's local endpoints.

#include "net/server.h"

#include <condition_variable>
#include <mutex>
#include <thread>

#include "anthropic/errors.h"
#include "api/api.h"
#include "cn_version.h"
#include "common/ids.h"
#include "common/json.h"
#include "common/log.h"
#include "common/thread.h"
#include "common/time.h"
#include "net/internal.h"
#include "net/io.h"
#include "proxy/header_policy.h"
#include "proxy/routing.h"

namespace cn::net {

NetMetrics::NetMetrics(metrics::Registry& r)
    : responses(r.AddCounterFamily("cn_proxy_responses_total",
                                   "Proxied exchanges by status sent to the client and outcome.",
                                   {"status", "outcome"})),
      upstream_latency(
          r.AddHistogram("cn_upstream_response_header_seconds",
                         "Time from sending a request upstream to its response header.",
                         metrics::LatencyBuckets())),
      ttfb(r.AddHistogram("cn_time_to_first_byte_seconds",
                          "Request arrival to the first response body byte sent to the client.",
                          metrics::LatencyBuckets())),
      duration(r.AddHistogram("cn_request_duration_seconds", "Request arrival to end of exchange.",
                              metrics::LatencyBuckets())),
      open_streams(r.AddGauge("cn_open_streams", "SSE responses being relayed right now.")),
      open_connections(r.AddGauge("cn_client_connections", "Open client connections.")),
      active_exchanges(r.AddGauge("cn_active_exchanges", "Proxied exchanges in progress.")),
      upstream_retries(r.AddCounter("cn_upstream_retries_total", "Upstream attempts retried.")),
      upstream_errors(r.AddCounter("cn_upstream_errors_total",
                                   "Upstream transport failures (connect, timeout, cut).")),
      upstream_conns_opened(
          r.AddCounter("cn_upstream_connections_opened_total", "New upstream connections.")),
      upstream_conns_reused(r.AddCounter("cn_upstream_connections_reused_total",
                                         "Requests sent on a pooled keep-alive connection.")),
      bytes_to_client(
          r.AddCounter("cn_response_bytes_total", "Response body bytes relayed to clients.")),
      client_aborts(r.AddCounter("cn_client_aborts_total", "Exchanges the client abandoned.")),
      bad_requests(r.AddCounter("cn_bad_requests_total", "Requests rejected as malformed HTTP.")) {}

Worker::Worker(Shared& shared)
    : pool(ioc.get_executor(), shared.opts.upstream,
           shared.opts.upstream.tls ? &shared.tls_ctx : nullptr, shared.m.upstream_conns_opened,
           shared.m.upstream_conns_reused) {}

awaitable<beast::error_code> WriteSimple(beast::tcp_stream& client, Deadline& dl,
                                         http::status status, std::string content_type,
                                         std::string body, Headers extra, bool keep_alive,
                                         std::chrono::milliseconds timeout, bool head_only) {
  if (head_only) {
    http::response<http::empty_body> res{status, 11};
    if (!content_type.empty()) res.set(http::field::content_type, content_type);
    for (const auto& h : extra) res.insert(h.name, h.value);
    res.set(http::field::content_length, std::to_string(body.size()));
    res.keep_alive(keep_alive);
    http::response_serializer<http::empty_body> sr{res};
    co_return co_await Write<WriteOp::kAll>(client, sr, dl, timeout);
  }
  http::response<http::string_body> res{status, 11};
  if (!content_type.empty()) res.set(http::field::content_type, content_type);
  for (const auto& h : extra) res.insert(h.name, h.value);
  res.body() = std::move(body);
  res.prepare_payload();
  res.keep_alive(keep_alive);
  http::response_serializer<http::string_body> sr{res};
  co_return co_await Write<WriteOp::kAll>(client, sr, dl, timeout);
}

// Enforces the deadlines of the worker's sessions (see Deadline). Runs while it has sessions.
awaitable<void> Sweep(Worker& w) {
  asio::steady_timer timer(w.ioc);
  while (!w.sessions.empty()) {
    timer.expires_after(kSweepInterval);
    co_await timer.async_wait(kTuple);
    const auto now = Clock::now();
    for (auto& s : w.sessions) {
      Deadline& d = s.deadline;
      if (d.target != nullptr && now >= d.at) {
        d.expired = true;
        beast::error_code ignored;
        d.target->cancel(ignored);
        d.target = nullptr;
      }
    }
  }
  w.sweeping = false;
}

void EnsureSweeper(Worker& w) {
  if (w.sweeping) return;
  w.sweeping = true;
  asio::co_spawn(w.ioc, Sweep(w), asio::detached);
}

struct Server::Impl {
  Impl(ServerOptions o, ServerServices s)
      : sh{std::move(o), std::move(s), NetMetrics(*s.registry)} {}
  Shared sh;
  std::vector<std::unique_ptr<Worker>> workers;
  std::unique_ptr<tcp::acceptor> acceptor;       // proxy port (unless !serve_proxy)
  std::unique_ptr<tcp::acceptor> dash_acceptor;  // dashboard port, when configured
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  std::vector<std::thread> threads;
  std::size_t next_worker = 0;  // touched only by the accept loop (worker 0)
  std::uint16_t port = 0;
  std::uint16_t dash_port = 0;
  std::size_t next_dash_worker = 0;

  std::mutex mu;
  std::condition_variable cv;
  std::size_t live_sessions = 0;  // guarded by mu
  bool started = false;
  bool stopped = false;
  bool abandoned = false;  // sessions outlived every deadline; see ~Server

  void SessionStarted() {
    std::lock_guard lock(mu);
    ++live_sessions;
  }
  void SessionEnded() {
    {
      std::lock_guard lock(mu);
      --live_sessions;
    }
    cv.notify_all();
  }
  bool WaitForSessions(Clock::time_point deadline) {
    std::unique_lock lock(mu);
    return cv.wait_until(lock, deadline, [&] { return live_sessions == 0; });
  }
};

namespace {

constexpr std::size_t kRelayBufferSize = 16 * 1024;

bool IsQuietReadError(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::operation_aborted ||
         ec == beast::error::timeout || ec == asio::error::connection_reset ||
         ec == asio::error::eof || ec == asio::error::broken_pipe ||
         ec == http::error::partial_message;
}

std::string StoreJson(const StoreHealth& s) {
  if (!s.enabled) return "{\"enabled\":false}";
  return "{\"enabled\":true,\"kind\":\"" + JsonEscape(s.kind) +
         "\",\"healthy\":" + (s.healthy ? "true" : "false") +
         ",\"queued\":" + std::to_string(s.queued) +
         ",\"writerLagMs\":" + std::to_string(s.writer_lag_ms) +
         ",\"spilledPending\":" + std::to_string(s.spilled_pending) + "}";
}

// Local endpoints: plain functions of (route, query) -> (status, content type, body).
struct LocalAnswer {
  http::status status = http::status::ok;
  std::string content_type = "application/json";
  std::string body;
  Headers extra;
};

LocalAnswer Answer(Shared& sh, proxy::Route route, std::string_view method, std::string_view path,
                   std::string_view query) {
  LocalAnswer a;
  const std::string ts = FormatIso8601(NowUnixMicros());
  switch (route) {
    case proxy::Route::kRoot:
      a.body = std::string("{\"service\":\"claude-nexus\",\"version\":\"") + build::kVersion +
               "\",\"status\":\"operational\",\"endpoints\":{\"api\":\"/v1/messages\",\"health\":"
               "\"/health\",\"stats\":\"/token-stats\",\"metrics\":\"/metrics\"}}";
      break;
    case proxy::Route::kHealth: {
      StoreHealth s;
      if (sh.svc.store_health) s = sh.svc.store_health();
      const bool degraded = s.enabled && !s.healthy;
      // A store outage degrades recording (records spill to disk) but not proxying, so the
      // service stays "healthy" for load balancers; the body says what is wrong.
      a.body = std::string("{\"status\":\"") + (degraded ? "degraded" : "healthy") +
               "\",\"service\":\"claude-nexus\",\"version\":\"" + build::kVersion +
               "\",\"timestamp\":\"" + ts + "\",\"database\":\"" +
               (!s.enabled  ? "disabled"
                : s.healthy ? "connected"
                            : "disconnected") +
               "\",\"storage\":" + StoreJson(s) + "}";
      break;
    }
    case proxy::Route::kHealthLive:
      a.body = "{\"alive\":true,\"timestamp\":\"" + ts + "\"}";
      break;
    case proxy::Route::kHealthReady: {
      StoreHealth s;
      if (sh.svc.store_health) s = sh.svc.store_health();
      const bool ready = !sh.draining.load();
      a.status = ready ? http::status::ok : http::status::service_unavailable;
      a.body = std::string("{\"ready\":") + (ready ? "true" : "false") + ",\"timestamp\":\"" + ts +
               "\",\"storage\":" + StoreJson(s) + "}";
      break;
    }
    case proxy::Route::kTokenStats:
      a.body = sh.svc.token_stats->ToJson(api::QueryParam(query, "domain"));
      break;
    case proxy::Route::kMetrics:
      a.content_type = "text/plain; version=0.0.4; charset=utf-8";
      a.body = sh.svc.registry->Render();
      break;
    case proxy::Route::kCorsPreflight:
      a.status = http::status::no_content;
      a.content_type.clear();
      a.extra = proxy::CorsPreflightHeaders();
      break;
    case proxy::Route::kNotFound:
    case proxy::Route::kProxy:
      a.status = http::status::not_found;
      a.body = anthropic::ErrorBody("not_found_error", "No route for " + std::string(method) + " " +
                                                           std::string(path) + " on claude-nexus.");
      break;
  }
  return a;
}

// `dashboard`: the connection came in on the dashboard port, which serves the API and health
// endpoints but never proxies.
awaitable<void> Session(Worker& w, Server::Impl& impl, tcp::socket sock, bool dashboard) {
  Shared& sh = impl.sh;
  struct Guard {
    Server::Impl& impl;
    Worker& w;
    std::list<SessionEntry>::iterator entry;
    ~Guard() {
      w.sessions.erase(entry);
      impl.sh.m.open_connections.Add(-1);
      impl.SessionEnded();
    }
  };
  beast::tcp_stream stream(std::move(sock));
  beast::error_code ignored;
  stream.socket().set_option(tcp::no_delay(true), ignored);
  stream.socket().non_blocking(true, ignored);  // see net/io.h
  Guard guard{impl, w, w.sessions.insert(w.sessions.end(), SessionEntry{&stream, nullptr, {}})};
  Deadline& dl = guard.entry->deadline;
  EnsureSweeper(w);
  sh.m.open_connections.Add(1);
  // Reads are sized by the buffer's capacity (512 bytes for an empty one): start at 16 KiB so a
  // typical request header and body arrive in one or two reads, not dozens.
  beast::flat_buffer buffer;
  buffer.reserve(16 * 1024);
  std::unique_ptr<char[]> relay;  // allocated on the first proxied request, then reused
  bool linger = false;            // we answered before reading the whole request
  const std::string too_large = "Request body exceeds the limit of " +
                                std::to_string(sh.opts.max_body_bytes) +
                                " bytes (MAX_REQUEST_BODY_BYTES).";

  for (;;) {
    if (sh.draining.load()) break;
    http::request_parser<http::string_body> parser;
    parser.body_limit(sh.opts.max_body_bytes);
    parser.header_limit(64 * 1024);
    beast::error_code ec =
        co_await Read<ReadOp::kHeader>(stream, buffer, parser, dl, sh.opts.server_timeout);
    const auto arrival = Clock::now();
    const std::int64_t arrival_us = NowUnixMicros();
    const std::string rid = NewUuidV7();
    auto reject = [&](http::status st, std::string_view type, std::string msg) {
      sh.m.bad_requests.Inc();
      linger = true;
      log::Warn("request rejected",
                {{"request_id", rid}, {"status", static_cast<int>(st)}, {"reason", msg}});
      return WriteSimple(stream, dl, st, "application/json", anthropic::ErrorBody(type, msg),
                         {{"X-Request-ID", rid}}, false, sh.opts.server_timeout);
    };
    if (ec) {
      // (No temporaries in co_await argument lists: see exchange.cc on GCC 12.)
      if (ec == http::error::body_limit) {
        std::string msg = too_large;
        co_await reject(http::status::payload_too_large, "request_too_large", std::move(msg));
      } else if (ec == http::error::header_limit) {
        std::string msg = "Request headers exceed 64 KiB.";
        co_await reject(http::status::request_header_fields_too_large, "invalid_request_error",
                        std::move(msg));
      } else if (!IsQuietReadError(ec) && buffer.size() > 0) {
        std::string msg = "Malformed HTTP request: " + ec.message();
        co_await reject(http::status::bad_request, "invalid_request_error", std::move(msg));
      }
      break;
    }
    if (beast::iequals(parser.get()[http::field::expect], "100-continue")) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      auto [cec, cn] = co_await asio::async_write(
          stream, asio::buffer(kContinue.data(), kContinue.size()), kTuple);
      if (cec) break;
    }
    if (!parser.is_done()) {
      beast::error_code bec =
          co_await Read<ReadOp::kAll>(stream, buffer, parser, dl, sh.opts.server_timeout);
      if (bec == http::error::body_limit) {
        std::string msg = too_large;
        co_await reject(http::status::payload_too_large, "request_too_large", std::move(msg));
        break;
      }
      if (bec) {
        if (!IsQuietReadError(bec)) {
          std::string msg = "Malformed HTTP request body: " + bec.message();
          co_await reject(http::status::bad_request, "invalid_request_error", std::move(msg));
        }
        break;
      }
    }
    auto& req = parser.get();
    std::string path, query;
    if (req[http::field::host].empty()) {
      std::string msg = "Host header is required";
      co_await reject(http::status::bad_request, "invalid_request_error", std::move(msg));
      break;
    }
    if (!proxy::SplitTarget(req.target(), &path, &query)) {
      std::string msg = "Malformed request target.";
      co_await reject(http::status::bad_request, "invalid_request_error", std::move(msg));
      break;
    }
    proxy::Route route = proxy::Classify(req.method_string(), path);
    if (dashboard && (route == proxy::Route::kProxy || route == proxy::Route::kCorsPreflight)) {
      route = proxy::Route::kNotFound;
    }
    bool keep = false;
    if (api::IsApiPath(path)) {
      keep = co_await ServeApi(sh, stream, dl, req, std::move(path), std::move(query), rid);
    } else if (route == proxy::Route::kProxy) {
      if (!relay) relay.reset(new char[kRelayBufferSize]);
      // path and query are not used after this: the exchange records them.
      keep =
          co_await ProxyExchange(w, sh, stream, guard.entry, req, std::move(path), std::move(query),
                                 rid, arrival_us, arrival, relay.get(), kRelayBufferSize);
    } else {
      LocalAnswer a = Answer(sh, route, req.method_string(), path, query);
      a.extra.push_back({"X-Request-ID", rid});
      keep = req.keep_alive() && !sh.draining.load();
      auto wec =
          co_await WriteSimple(stream, dl, a.status, a.content_type, std::move(a.body), a.extra,
                               keep, sh.opts.server_timeout, req.method() == http::verb::head);
      if (wec) keep = false;
      if (route != proxy::Route::kHealth && route != proxy::Route::kHealthLive &&
          route != proxy::Route::kHealthReady && route != proxy::Route::kMetrics) {
        log::Debug("local request",
                   {{"request_id", rid}, {"path", path}, {"status", static_cast<int>(a.status)}});
      }
    }
    if (!keep) break;
  }
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  if (linger) {
    // Lingering close: read (and drop) what the client is still sending, so closing with unread
    // data does not reset the connection before the client has read our error answer.
    stream.expires_after(std::chrono::seconds(2));
    char sink[4096];
    for (int i = 0; i < 1024; ++i) {
      auto [rec, rn] = co_await stream.async_read_some(asio::buffer(sink), kTuple);
      if (rec) break;
    }
  }
  stream.socket().close(ignored);
}

awaitable<void> AcceptLoop(Server::Impl& impl, bool dashboard) {
  tcp::acceptor& acceptor = dashboard ? *impl.dash_acceptor : *impl.acceptor;
  std::size_t& next = dashboard ? impl.next_dash_worker : impl.next_worker;
  for (;;) {
    Worker& w = *impl.workers[next++ % impl.workers.size()];
    auto [ec, sock] = co_await acceptor.async_accept(w.ioc, kTuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      log::Warn("accept failed", {{"error", ec.message()}});
      // Out of file descriptors or similar: back off briefly instead of spinning.
      asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(50));
      co_await t.async_wait(kTuple);
      continue;
    }
    impl.SessionStarted();
    asio::co_spawn(w.ioc, Session(w, impl, std::move(sock), dashboard), [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        log::Error("session ended with an exception", {{"error", ex.what()}});
      }
    });
  }
}

}  // namespace

Server::Server(ServerOptions options, ServerServices services)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(services))) {}

Server::~Server() {
  Shutdown(std::chrono::milliseconds(0));
  // Abandoned session coroutines still reference their worker: destroying the workers would
  // run their frames' destructors against freed state. This only happens on the way out of the
  // process, so leaking is the safe choice.
  if (impl_ && impl_->abandoned) (void)impl_.release();
}

std::uint16_t Server::port() const { return impl_->port; }
std::uint16_t Server::dashboard_port() const { return impl_->dash_port; }

Status Server::Start() {
  Impl& impl = *impl_;
  Shared& sh = impl.sh;
  if (sh.opts.upstream.tls) {
    sh.tls_ctx.set_default_verify_paths();
    sh.tls_ctx.set_verify_mode(asio::ssl::verify_peer);
    if (!sh.opts.upstream_ca_file.empty()) {
      beast::error_code ec;
      sh.tls_ctx.load_verify_file(sh.opts.upstream_ca_file, ec);
      if (ec) {
        return Status::InvalidArgument("cannot load CLAUDE_API_CA_FILE '" +
                                       sh.opts.upstream_ca_file + "': " + ec.message());
      }
    }
  }
  int n = sh.opts.io_threads > 0
              ? sh.opts.io_threads
              : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 0; i < n; ++i) impl.workers.push_back(std::make_unique<Worker>(sh));

  beast::error_code ec;
  auto addr = asio::ip::make_address(sh.opts.host, ec);
  if (ec) return Status::InvalidArgument("HOST '" + sh.opts.host + "' is not an IP address");
  auto listen = [&](std::uint16_t port, const char* setting,
                    std::unique_ptr<tcp::acceptor>* out) -> Status {
    tcp::endpoint ep(addr, port);
    auto acceptor = std::make_unique<tcp::acceptor>(impl.workers[0]->ioc);
    beast::error_code lec;
    acceptor->open(ep.protocol(), lec);
    if (!lec) acceptor->set_option(asio::socket_base::reuse_address(true), lec);
    if (!lec) acceptor->bind(ep, lec);
    if (!lec) acceptor->listen(asio::socket_base::max_listen_connections, lec);
    if (lec) {
      return Status::Unavailable("cannot listen on " + sh.opts.host + ":" + std::to_string(port) +
                                 ": " + lec.message() + " (set " + setting + "/HOST)");
    }
    *out = std::move(acceptor);
    return Status::Ok();
  };
  if (sh.opts.serve_proxy) {
    if (Status st = listen(sh.opts.port, "PORT", &impl.acceptor); !st.ok()) return st;
    impl.port = impl.acceptor->local_endpoint().port();
    asio::co_spawn(impl.workers[0]->ioc, AcceptLoop(impl, false), asio::detached);
  }
  if (sh.opts.dashboard_port) {
    if (Status st = listen(*sh.opts.dashboard_port, "DASHBOARD_PORT", &impl.dash_acceptor);
        !st.ok()) {
      return st;
    }
    impl.dash_port = impl.dash_acceptor->local_endpoint().port();
    asio::co_spawn(impl.workers[0]->ioc, AcceptLoop(impl, true), asio::detached);
  }
  for (auto& w : impl.workers) {
    impl.guards.emplace_back(w->ioc.get_executor());
    impl.threads.emplace_back([&ioc = w->ioc, i = impl.threads.size()] {
      SetThreadName(("cn-io-" + std::to_string(i)).c_str());
      ioc.run();
    });
  }
  impl.started = true;
  return Status::Ok();
}

void Server::Shutdown(std::chrono::milliseconds grace) {
  Impl& impl = *impl_;
  if (!impl.started || impl.stopped) return;
  impl.stopped = true;
  Shared& sh = impl.sh;
  sh.draining = true;
  asio::post(impl.workers[0]->ioc, [&impl] {
    beast::error_code ignored;
    if (impl.acceptor) impl.acceptor->close(ignored);
    if (impl.dash_acceptor) impl.dash_acceptor->close(ignored);
  });
  // Idle keep-alive connections go now; busy ones close after their exchange.
  for (auto& w : impl.workers) {
    asio::post(w->ioc, [wp = w.get()] {
      for (auto& s : wp->sessions) {
        if (s.exchange == nullptr) s.stream->cancel();
      }
    });
  }
  const auto deadline = Clock::now() + grace;
  if (!impl.WaitForSessions(deadline)) {
    log::Warn("shutdown grace period over, aborting remaining exchanges");
    for (auto& w : impl.workers) {
      asio::post(w->ioc, [wp = w.get()] {
        for (auto& s : wp->sessions) {
          if (s.exchange != nullptr) {
            AbortExchange(*s.exchange, "aborted: server shutdown deadline reached");
          } else {
            s.stream->cancel();
          }
        }
      });
    }
    if (!impl.WaitForSessions(Clock::now() + std::chrono::seconds(5))) {
      log::Error("sessions still open after the abort deadline; abandoning them");
      impl.abandoned = true;
    }
  }
  for (auto& w : impl.workers) {
    asio::post(w->ioc, [wp = w.get()] { wp->pool.CloseAll(); });
  }
  impl.guards.clear();
  for (auto& w : impl.workers) {
    // Anything still pending (e.g. a stuck session past both deadlines) is abandoned.
    asio::post(w->ioc, [wp = w.get()] {
      if (wp->sessions.empty()) return;
      wp->ioc.stop();
    });
  }
  for (auto& t : impl.threads) t.join();
  impl.threads.clear();
}

}  // namespace cn::net
