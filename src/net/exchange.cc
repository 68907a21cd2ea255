// The proxy exchange: one client request relayed to the upstream and its answer relayed back
// (docs/architecture.md, "Request path").
//
// Steps, with the phase each one moves the exchange into (proxy::ExchangePhase) and its failure
// handling in brackets:
//   1. kPlanning: auth plan from the credential file of the Host  [reject: local 4xx, recorded]
//   2. kAwaitingUpstream: acquire a connection, send, read the header  [transport error / 429 /
//      5xx: retried with backoff while nothing reached the client; a stale pooled connection is
//      replaced once without counting as an attempt; the last failure: a local 502/504]
//   3. kResponding → kBodyRelayed → kDone: client header written, then the body pumped through
//      the session's one buffer; SSE events observed by sse::Parser on the side (never held
//      back)  [upstream cut: for SSE a well-formed `error` event ends the stream; client gone:
//      upstream cancelled]
//   4. the Record is finished (proxy::DecideOutcome, once) and submitted (never blocks)
// A watch on the client socket (a completion handler, not a coroutine) runs beside steps 2–3 and
// notices a client that hangs up while we wait on the upstream (long non-streaming generations,
// silent thinking pauses), cancelling the upstream. Reads and writes go through net/io.h.

#include <sys/socket.h>

#include <cerrno>
#include <random>

#include "anthropic/errors.h"
#include "common/ascii.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/time.h"
#include "net/internal.h"
#include "net/io.h"
#include "oauth/refresher.h"
#include "proxy/auth.h"
#include "proxy/header_policy.h"
#include "proxy/outcome.h"
#include "proxy/retry.h"
#include "sse/parser.h"

namespace cn::net {

using proxy::ExchangePhase;

// One proxied exchange's state, shared by its steps (ProxyExchange, RunUpstream, Relay, Pump),
// the client watch and AbortExchange. Single-threaded: all of them run on the exchange's worker.
// Progress is `phase`; the other flags are independent facts, each written in one place (or by
// one method) and read when the exchange ends.
struct ExchangeCtx {
  Worker* w = nullptr;
  Shared* sh = nullptr;
  beast::tcp_stream* client = nullptr;
  Deadline* dl = nullptr;  // the session's: bounds every wait of the exchange
  http::request<http::string_body>* req = nullptr;
  char* buf = nullptr;
  std::size_t buf_size = 0;
  Clock::time_point arrival;
  Record rec;

  std::unique_ptr<UpstreamConn> conn;     // current upstream connection
  asio::steady_timer* backoff = nullptr;  // set while sleeping between attempts

  ExchangePhase phase = ExchangePhase::kPlanning;  // moved on by the step that enters a phase
  bool client_keep_alive = false;  // the client's wish (its request), set at the start
  bool stream_open = false;        // counted in open_streams (Relay), uncounted at the end
  // How it ended, for proxy::DecideOutcome:
  const char* abort_reason = nullptr;  // set by AbortExchange (shutdown deadline)
  bool client_gone = false;            // set by LoseClient
  proxy::UpstreamFailure upstream_failure = proxy::UpstreamFailure::kNone;  // set by UpstreamFailed
  beast::error_code upstream_error;                                         // ... with the error

  // Nothing more is to be done for the client: it is gone, or shutdown aborted the exchange.
  bool Stopped() const { return client_gone || abort_reason != nullptr; }

  // The client hung up while that mattered (the watch), or a write to it failed or timed out.
  void LoseClient() { client_gone = true; }

  // The upstream failed for good (no more attempts), while the client was still there.
  void UpstreamFailed(proxy::UpstreamFailure when, const beast::error_code& ec) {
    upstream_failure = when;
    upstream_error = ec;
  }

  void CancelAll() {
    // Close (not just cancel) the upstream side: an operation whose completion is already
    // queued cannot be cancelled, and the pump must not be able to start another read.
    if (conn) {
      beast::error_code ignored;
      conn->Lowest().socket().close(ignored);
    }
    if (backoff) backoff->cancel();
    client->cancel();
  }
};

void AbortExchange(ExchangeCtx& ctx, const char* reason) {
  ctx.abort_reason = reason;
  ctx.CancelAll();
}

namespace {

std::int64_t MicrosSince(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t).count();
}

double Random01() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

template <class Fields>
Headers ToHeaders(const Fields& fields) {
  Headers out;
  out.reserve(static_cast<std::size_t>(std::distance(fields.begin(), fields.end())));
  for (const auto& f : fields) {
    out.push_back(Header{std::string(f.name_string()), std::string(f.value())});
  }
  return out;
}

bool IsEventStream(std::string_view content_type) {
  constexpr std::string_view kSse = "text/event-stream";
  return content_type.size() >= kSse.size() &&
         EqualsIgnoreCase(content_type.substr(0, kSse.size()), kSse);
}

// Sends the request and reads the response header into `parser`.
template <class Stream>
awaitable<beast::error_code> SendAndReadHeader(Stream& stream, UpstreamConn& conn, Deadline& dl,
                                               http::request<http::buffer_body>& ureq,
                                               http::response_parser<http::buffer_body>& parser,
                                               std::chrono::milliseconds timeout) {
  http::request_serializer<http::buffer_body> sr{ureq};
  beast::error_code ec = co_await Write<WriteOp::kAll>(stream, sr, dl, timeout);
  if (ec) co_return ec;
  // The upstream cannot have answered yet: wait at once instead of trying a read first.
  co_return co_await Read<ReadOp::kHeader>(stream, conn.buffer, parser, dl, timeout,
                                           /*data_expected=*/false);
}

// Reads and discards a (small) error body so the connection can be reused.
template <class Stream>
awaitable<beast::error_code> DrainBody(Stream& stream, UpstreamConn& conn, Deadline& dl,
                                       http::response_parser<http::buffer_body>& parser, char* buf,
                                       std::size_t size, std::chrono::milliseconds timeout) {
  std::size_t total = 0;
  while (!parser.is_done()) {
    parser.get().body().data = buf;
    parser.get().body().size = size;
    beast::error_code ec = co_await Read<ReadOp::kSome>(stream, conn.buffer, parser, dl, timeout);
    if (ec) co_return ec;
    total += size - parser.get().body().size;
    if (total > (1u << 20)) co_return http::error::body_limit;
  }
  co_return beast::error_code{};
}

// Pumps the upstream body to the client (phase kResponding, then kBodyRelayed). Returns the
// upstream error (if the upstream failed); a failed write to the client loses the client.
template <class Stream>
awaitable<beast::error_code> Pump(Stream& stream, ExchangeCtx& ctx,
                                  http::response_parser<http::buffer_body>& parser,
                                  http::response<http::buffer_body>& res,
                                  http::response_serializer<http::buffer_body>& sr,
                                  bool observe_sse) {
  Shared& sh = *ctx.sh;
  sse::Parser sse_parser;
  std::vector<sse::Event> events;
  const std::size_t record_cap = sh.opts.max_recorded_response_bytes;
  while (!parser.is_done()) {
    // Checked before every read: an abort that raced with a completed read must still stop us.
    if (ctx.Stopped()) co_return beast::error_code{};
    parser.get().body().data = ctx.buf;
    parser.get().body().size = ctx.buf_size;
    // Inactivity limit only: a silent thinking pause shorter than server_timeout never trips it.
    beast::error_code ec = co_await Read<ReadOp::kSome>(stream, ctx.conn->buffer, parser, *ctx.dl,
                                                        sh.opts.server_timeout);
    const std::size_t got = ctx.buf_size - parser.get().body().size;
    if (got > 0) {
      std::string_view chunk(ctx.buf, got);
      if (observe_sse) {
        sse_parser.Feed(chunk, &events);
        if (!events.empty()) {
          const std::int64_t now = NowUnixMicros();
          for (auto& e : events) ctx.rec.chunks.push_back(StreamChunk{now, std::move(e.raw)});
          events.clear();
        }
      } else if (ctx.rec.response_body.size() < record_cap) {
        const std::size_t room = record_cap - ctx.rec.response_body.size();
        ctx.rec.response_body.append(chunk.substr(0, room));
        if (chunk.size() > room) ctx.rec.response_body_truncated = true;
      } else {
        ctx.rec.response_body_truncated = true;
      }
      res.body().data = ctx.buf;
      res.body().size = got;
      res.body().more = true;
      // Once the last bytes are on their way, a client that hangs up has everything: enter
      // kBodyRelayed before writing, as the watch may run before this coroutine resumes.
      if (parser.is_done()) ctx.phase = ExchangePhase::kBodyRelayed;
      beast::error_code wec =
          co_await Write<WriteOp::kAll>(*ctx.client, sr, *ctx.dl, sh.opts.server_timeout);
      if (wec) {
        ctx.LoseClient();
        co_return beast::error_code{};
      }
      if (!ctx.rec.first_byte_micros) {
        ctx.rec.first_byte_micros = MicrosSince(ctx.arrival);
        sh.m.ttfb.ObserveMicros(*ctx.rec.first_byte_micros);
      }
      sh.m.bytes_to_client.Inc(got);
    }
    if (ec) {
      if (observe_sse) {
        sse::Event tail;
        if (sse_parser.Finish(&tail))
          ctx.rec.chunks.push_back({NowUnixMicros(), std::move(tail.raw)});
      }
      co_return ec;
    }
  }
  if (observe_sse) {
    sse::Event tail;
    if (sse_parser.Finish(&tail)) ctx.rec.chunks.push_back({NowUnixMicros(), std::move(tail.raw)});
  }
  ctx.phase = ExchangePhase::kBodyRelayed;  // a client may now hang up: it has everything
  co_return beast::error_code{};
}

// Writes a local error answer in the Anthropic shape (phase kResponding, then kDone), before
// anything of the upstream's reached the client. `message` (the client's text) must outlive the
// call; the record's error text is DecideOutcome's.
awaitable<void> RespondError(ExchangeCtx& ctx, http::status status, std::string_view type,
                             std::string_view message, const Headers& extra = {}) {
  ctx.phase = ExchangePhase::kResponding;
  Headers headers = extra;
  headers.push_back({"X-Request-ID", ctx.rec.request_id});
  std::string body = anthropic::ErrorBody(type, message);
  ctx.rec.response_status = static_cast<int>(status);
  ctx.rec.response_headers = headers;
  ctx.rec.response_headers.push_back({"Content-Type", "application/json"});
  ctx.rec.response_body = body;
  auto ec = co_await WriteSimple(*ctx.client, *ctx.dl, status, "application/json", std::move(body),
                                 headers, ctx.client_keep_alive && !ctx.sh->draining.load(),
                                 ctx.sh->opts.server_timeout);
  if (ec) {
    ctx.LoseClient();
  } else {
    ctx.phase = ExchangePhase::kDone;
  }
}

awaitable<void> Sleep(ExchangeCtx& ctx, std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  ctx.backoff = &t;
  co_await t.async_wait(kTuple);
  ctx.backoff = nullptr;
}

// Step 3: relays the upstream's answer whose header `parser` holds (kResponding → kDone).
template <class Stream>
awaitable<void> Relay(Stream& stream, ExchangeCtx& ctx,
                      http::response_parser<http::buffer_body>& parser) {
  Shared& sh = *ctx.sh;
  ctx.phase = ExchangePhase::kResponding;
  auto& uh = parser.get();
  const int status = uh.result_int();
  const bool head = ctx.req->method() == http::verb::head;
  const bool no_body = head || status == 204 || status == 304 || (status >= 100 && status < 200);
  const bool sse = IsEventStream(uh[http::field::content_type]);
  ctx.rec.response_streaming = sse;

  // result_int(): statuses Beast has no enum for (529 overloaded) must pass unchanged.
  http::response<http::buffer_body> res;
  res.version(11);
  res.result(uh.result_int());
  res.reason(uh.reason());
  ctx.rec.response_headers = proxy::ClientResponseHeaders(ToHeaders(uh.base()), ctx.rec.request_id);
  for (const auto& h : ctx.rec.response_headers) res.insert(h.name, h.value);
  if (!no_body) {
    if (parser.content_length()) {
      res.content_length(*parser.content_length());
    } else {
      res.chunked(true);
    }
  }
  const bool keep_alive = ctx.client_keep_alive && !sh.draining.load();
  res.keep_alive(keep_alive);
  ctx.rec.response_status = status;
  res.body().data = nullptr;
  res.body().size = 0;
  res.body().more = !no_body;
  http::response_serializer<http::buffer_body> sr{res};

  // When body bytes came in with the upstream header (the usual case: a small JSON answer, or
  // message_start), the header goes out with the first body bytes in one write (Pump's first
  // async_write sends both). Otherwise it goes now, so the client never waits on a silent body.
  const bool header_with_body = !no_body && ctx.conn->buffer.size() > 0;
  if (!header_with_body) {
    beast::error_code hec =
        co_await Write<WriteOp::kHeader>(*ctx.client, sr, *ctx.dl, sh.opts.server_timeout);
    if (hec) {
      ctx.LoseClient();
      co_return;
    }
  }
  if (no_body) {
    ctx.rec.first_byte_micros = MicrosSince(ctx.arrival);
    sh.m.ttfb.ObserveMicros(*ctx.rec.first_byte_micros);
    beast::error_code fec =
        co_await Write<WriteOp::kAll>(*ctx.client, sr, *ctx.dl, sh.opts.server_timeout);
    if (fec) {
      ctx.LoseClient();
      co_return;
    }
    ctx.phase = ExchangePhase::kDone;
    if (uh.keep_alive() && parser.is_done()) ctx.w->pool.Release(std::move(ctx.conn));
    co_return;
  }

  if (sse) {
    ctx.stream_open = true;
    sh.m.open_streams.Add(1);
  }
  beast::error_code uec = co_await Pump(stream, ctx, parser, res, sr, sse);
  // A client gone first makes any upstream error a consequence (the upstream was cancelled).
  if (ctx.Stopped()) co_return;
  if (uec) {
    ctx.UpstreamFailed(proxy::UpstreamFailure::kMidResponse, uec);
    sh.m.upstream_errors.Inc();
    if (sse && res.chunked()) {
      // The client gets a well-formed end: an Anthropic `error` event, then the last chunk.
      std::string ev = anthropic::ErrorEvent(
          "api_error", "Upstream connection lost mid-stream (" + uec.message() + ")");
      res.body().data = ev.data();
      res.body().size = ev.size();
      res.body().more = true;
      beast::error_code e1 =
          co_await Write<WriteOp::kAll>(*ctx.client, sr, *ctx.dl, sh.opts.server_timeout);
      ctx.rec.chunks.push_back({NowUnixMicros(), ev});
      if (!e1) {
        res.body().data = nullptr;
        res.body().size = 0;
        res.body().more = false;
        beast::error_code e2 =
            co_await Write<WriteOp::kAll>(*ctx.client, sr, *ctx.dl, sh.opts.server_timeout);
        if (e2) {
          ctx.LoseClient();
        } else {
          ctx.phase = ExchangePhase::kDone;
        }
      } else {
        ctx.LoseClient();
      }
    }
    // Otherwise the framing cannot be completed: the response never reaches kDone, so the
    // connection is closed and the client sees a broken body.
    co_return;
  }
  res.body().data = nullptr;
  res.body().size = 0;
  res.body().more = false;
  beast::error_code fec =
      co_await Write<WriteOp::kAll>(*ctx.client, sr, *ctx.dl, sh.opts.server_timeout);
  if (fec) {
    ctx.LoseClient();
    co_return;
  }
  ctx.phase = ExchangePhase::kDone;
  if (uh.keep_alive() && parser.is_done()) {
    ctx.w->pool.Release(std::move(ctx.conn));
  }
}

// Steps 2–3 (kAwaitingUpstream, then Relay or the proxy's own 502/504). Runs beside the client
// watch.
awaitable<void> RunUpstream(ExchangeCtx& ctx, http::request<http::buffer_body>& ureq) {
  Shared& sh = *ctx.sh;
  ctx.phase = ExchangePhase::kAwaitingUpstream;
  int attempt = 0;
  bool stale_retry_used = false;
  for (;;) {
    if (ctx.Stopped()) co_return;
    ++attempt;
    ctx.rec.upstream_attempts = attempt;
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(boost::none);
    parser.skip(ctx.req->method() == http::verb::head);  // no body follows a HEAD answer
    beast::error_code ec = co_await ctx.w->pool.Acquire(ctx.conn, sh.opts.upstream_timeout);
    const auto sent_at = Clock::now();
    if (!ec) {
      auto send = [&](auto& stream) {
        return SendAndReadHeader(stream, *ctx.conn, *ctx.dl, ureq, parser,
                                 sh.opts.upstream_timeout);
      };
      ec = co_await WithStream(*ctx.conn, send);
      if (ec && ctx.conn->reused && !stale_retry_used && !ctx.Stopped() &&
          ec != beast::error::timeout) {
        // The upstream closed an idle keep-alive connection as we reused it: not an attempt.
        stale_retry_used = true;
        --attempt;
        ctx.conn.reset();
        continue;
      }
    }
    if (ctx.Stopped()) co_return;
    if (ec) {
      ctx.conn.reset();
      sh.m.upstream_errors.Inc();
      const bool timeout = ec == beast::error::timeout;
      if (auto d = proxy::RetryDelay(sh.opts.retry, attempt, 0, "", NowUnixMicros() / 1'000'000,
                                     Random01())) {
        log::Warn("upstream attempt failed, retrying",
                  {{"request_id", ctx.rec.request_id},
                   {"attempt", attempt},
                   {"error", ec.message()},
                   {"delay_ms", static_cast<std::int64_t>(d->count())}});
        sh.m.upstream_retries.Inc();
        co_await Sleep(ctx, *d);
        continue;
      }
      ctx.UpstreamFailed(proxy::UpstreamFailure::kBeforeResponse, ec);
      // Arguments are computed into locals first: GCC 12 mis-handles temporaries (double
      // destruction) in some co_await argument expressions (docs/style.md: no temporaries in
      // co_await argument lists).
      const http::status st = timeout ? http::status::gateway_timeout : http::status::bad_gateway;
      std::string type = timeout ? "timeout_error" : "api_error";
      std::string msg =
          timeout ? std::string("The upstream API did not answer in time (CLAUDE_API_TIMEOUT).")
                  : "Could not reach the upstream API: " + ec.message();
      co_await RespondError(ctx, st, type, msg);
      co_return;
    }
    sh.m.upstream_latency.ObserveMicros(
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - sent_at).count());
    const int status = parser.get().result_int();
    if (proxy::IsRetryableStatus(status)) {
      auto d = proxy::RetryDelay(
          sh.opts.retry, attempt, status, parser.get()[http::field::retry_after],
          NowUnixMicros() / 1'000'000, Random01(), parser.get()["retry-after-ms"]);
      if (d) {
        auto drain = [&](auto& stream) {
          return DrainBody(stream, *ctx.conn, *ctx.dl, parser, ctx.buf, ctx.buf_size,
                           sh.opts.server_timeout);
        };
        beast::error_code dec = co_await WithStream(*ctx.conn, drain);
        if (!dec && parser.get().keep_alive()) {
          ctx.w->pool.Release(std::move(ctx.conn));
        } else {
          ctx.conn.reset();
        }
        log::Info("upstream answered with a retryable status, retrying",
                  {{"request_id", ctx.rec.request_id},
                   {"attempt", attempt},
                   {"status", status},
                   {"delay_ms", static_cast<std::int64_t>(d->count())}});
        sh.m.upstream_retries.Inc();
        co_await Sleep(ctx, *d);
        continue;
      }
    }
    auto relay = [&](auto& stream) { return Relay(stream, ctx, parser); };
    co_await WithStream(*ctx.conn, relay);
    co_return;
  }
}

// Watches the client socket while the exchange waits on the upstream: a client that hangs up
// before it has the whole response ends the exchange (the upstream side is cancelled). A plain
// completion handler on a readiness wait: it costs no system call unless the socket becomes
// readable meanwhile. Pipelined request bytes are left for the session. The handler may run
// after the exchange is over (nothing cancels the wait: the session's next readable edge, or its
// close, completes it), so it reaches the exchange only through `watch->ctx`, cleared at the end.
struct ClientWatch {
  ExchangeCtx* ctx = nullptr;
};

void WatchClient(ExchangeCtx& ctx, const std::shared_ptr<ClientWatch>& watch) {
  watch->ctx = &ctx;
  ctx.client->socket().async_wait(tcp::socket::wait_read, [watch](beast::error_code ec) {
    ExchangeCtx* c = watch->ctx;
    if (ec || c == nullptr) return;  // cancelled or closed, or the exchange is over
    if (!proxy::HangUpEndsExchange(c->phase)) return;  // it has everything: a late hang-up is fine
    char byte;
    const ssize_t n =
        ::recv(c->client->socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    const bool hung_up =
        n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
    if (!hung_up) return;  // pipelined bytes: the session reads them after this exchange
    c->LoseClient();
    beast::error_code ignored;
    if (c->conn) c->conn->Lowest().socket().cancel(ignored);
    if (c->backoff) c->backoff->cancel();
  });
}

// An OAuth credential near expiry is refreshed first (oauth/refresher.h). The refresh runs on
// the refresher's threads, shared by every request for that file; this coroutine polls the
// flight on a steady timer (1 ms doubling to 16 ms), so its I/O thread keeps serving others and
// no completion callback has to reach into an io_context from another thread. While waiting the
// timer is ctx.backoff, so AbortExchange (shutdown) ends the wait like a retry backoff.
// Returns the rejection, or nullopt with lookup.credential replaced by the one to use.
awaitable<std::optional<proxy::AuthPlan>> FreshenOAuth(ExchangeCtx& ctx,
                                                       proxy::CredentialStore::Lookup& lookup) {
  oauth::OAuthRefresher& refresher = *ctx.sh->svc.oauth;
  oauth::Admission admission = refresher.Admit(lookup.credential);
  if (admission.kind == oauth::Admission::Kind::kWait) {
    const auto started = Clock::now();
    asio::steady_timer timer(co_await asio::this_coro::executor);
    ctx.backoff = &timer;
    for (auto pause = std::chrono::milliseconds(1); !admission.flight->Done() && !ctx.abort_reason;
         pause = std::min(pause * 2, std::chrono::milliseconds(16))) {
      timer.expires_after(pause);
      co_await timer.async_wait(kTuple);
    }
    ctx.backoff = nullptr;
    refresher.ObserveWait(MicrosSince(started));
    if (!admission.flight->Done()) {
      admission.kind = oauth::Admission::Kind::kReject;
      admission.message = "The proxy is shutting down while refreshing the OAuth token";
    } else {
      admission = refresher.AfterWait(lookup.credential, *admission.flight);
    }
  }
  if (admission.kind == oauth::Admission::Kind::kReject) co_return oauth::RejectionPlan(admission);
  lookup.credential = std::move(admission.credential);
  co_return std::nullopt;
}

}  // namespace

awaitable<bool> ProxyExchange(Worker& w, Shared& sh, beast::tcp_stream& client,
                              std::list<SessionEntry>::iterator entry,
                              http::request<http::string_body>& req, std::string path,
                              std::string query, std::string request_id,
                              std::int64_t arrival_unix_us, Clock::time_point arrival,
                              char* relay_buffer, std::size_t relay_buffer_size) {
  ExchangeCtx ctx;
  ctx.w = &w;
  ctx.sh = &sh;
  ctx.client = &client;
  ctx.dl = &entry->deadline;
  ctx.req = &req;
  ctx.buf = relay_buffer;
  ctx.buf_size = relay_buffer_size;
  ctx.arrival = arrival;
  ctx.client_keep_alive = req.keep_alive();
  Record& rec = ctx.rec;
  rec.request_id = std::move(request_id);
  rec.timestamp_unix_micros = arrival_unix_us;
  rec.domain = std::string(req[http::field::host]);
  rec.method = std::string(req.method_string());
  rec.path = std::move(path);
  rec.query = std::move(query);
  Headers client_headers = ToHeaders(req.base());
  entry->exchange = &ctx;
  sh.m.active_exchanges.Add(1);

  auto lookup = sh.svc.credentials->Find(rec.domain);
  std::optional<proxy::AuthPlan> early;
  if (sh.svc.oauth != nullptr && lookup.kind == proxy::CredentialStore::Lookup::Kind::kFound &&
      lookup.credential->type == proxy::Credential::Type::kOAuth) {
    early = proxy::EarlyRejection(client_headers, lookup, sh.opts.client_auth);
    if (!early) {
      early = co_await FreshenOAuth(ctx, lookup);
      if (early && !lookup.credential->account_id.empty())
        early->account_id = lookup.credential->account_id;
    }
  }
  const std::int64_t now_ms = NowUnixMicros() / 1000;
  proxy::AuthPlan plan =
      early ? std::move(*early)
            : proxy::DecideAuth(client_headers, lookup, sh.opts.client_auth, now_ms);
  if (plan.account_id) rec.account_id = *plan.account_id;
  if (plan.inject == proxy::AuthPlan::Inject::kNone && sh.svc.key_hasher != nullptr) {
    if (auto presented = proxy::PresentedCredential(client_headers)) {
      rec.api_key_hash = sh.svc.key_hasher->Hash(*presented);
    }
  }

  if (plan.reject) {
    co_await RespondError(ctx, static_cast<http::status>(plan.status), plan.error_type,
                          plan.message, plan.extra_response_headers);
  } else {
    http::request<http::buffer_body> ureq;
    ureq.version(11);
    if (req.method() == http::verb::unknown) {
      ureq.method_string(req.method_string());
    } else {
      ureq.method(req.method());
    }
    const UpstreamTarget& up = sh.opts.upstream;
    {  // the target as the client sent it (query included, byte for byte) under the base path
      const std::string_view target(req.target().data(), req.target().size());
      std::string upstream_target;
      upstream_target.reserve(up.base_path.size() + target.size());
      upstream_target.append(up.base_path).append(target);
      ureq.target(upstream_target);
    }
    const bool default_port = (up.tls && up.port == 443) || (!up.tls && up.port == 80);
    ureq.set(http::field::host, default_port ? up.host : up.host + ":" + std::to_string(up.port));
    for (const auto& h : proxy::UpstreamRequestHeaders(client_headers, plan))
      ureq.insert(h.name, h.value);
    if (!req.body().empty() || req.has_content_length() || req.chunked()) {
      ureq.content_length(req.body().size());
    }
    ureq.keep_alive(true);
    ureq.body().data = req.body().data();
    ureq.body().size = req.body().size();
    ureq.body().more = false;

    auto watch = std::make_shared<ClientWatch>();
    WatchClient(ctx, watch);
    co_await RunUpstream(ctx, ureq);
    watch->ctx = nullptr;
  }

  // ---- step 4: finish the record ----
  rec.request_headers = proxy::MaskHeaders(std::move(client_headers));  // last use: masked in place
  {
    proxy::ExchangeFacts facts;
    facts.aborted = ctx.abort_reason != nullptr;
    if (facts.aborted) facts.abort_reason = ctx.abort_reason;
    facts.client_gone = ctx.client_gone;
    facts.rejected = plan.reject;
    facts.rejection = plan.message;
    facts.upstream_failure = ctx.upstream_failure;
    facts.upstream_timed_out = ctx.upstream_error == beast::error::timeout;
    std::string upstream_error;  // stays empty (no allocation) unless the upstream failed
    if (ctx.upstream_failure != proxy::UpstreamFailure::kNone) {
      upstream_error = ctx.upstream_error.message();
    }
    facts.upstream_error = upstream_error;
    proxy::ExchangeResult result = proxy::DecideOutcome(facts);
    rec.outcome = result.outcome;
    rec.error = std::move(result.error);
  }
  if (rec.outcome == Outcome::kClientAborted) sh.m.client_aborts.Inc();
  if (ctx.stream_open) sh.m.open_streams.Add(-1);
  rec.duration_micros = MicrosSince(arrival);
  sh.m.duration.ObserveMicros(rec.duration_micros);
  sh.m.responses.With({std::to_string(rec.response_status), OutcomeName(rec.outcome)}).Inc();
  const bool reusable = ctx.phase == ExchangePhase::kDone && !ctx.Stopped() &&
                        ctx.client_keep_alive && !sh.draining.load();
  if (log::Enabled(log::Level::kInfo)) {  // the fields cost allocations even when filtered out
    log::Info("request completed", {{"request_id", rec.request_id},
                                    {"method", rec.method},
                                    {"path", rec.path},
                                    {"host", rec.domain},
                                    {"status", rec.response_status},
                                    {"outcome", OutcomeName(rec.outcome)},
                                    {"attempts", rec.upstream_attempts},
                                    {"duration_ms", rec.duration_micros / 1000}});
  }
  rec.request_body = std::move(req.body());
  entry->exchange = nullptr;
  sh.m.active_exchanges.Add(-1);
  if (sh.svc.submit_record) sh.svc.submit_record(std::move(rec));
  co_return reusable;
}

}  // namespace cn::net
