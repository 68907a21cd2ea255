// Private to src/net: the Boost.Asio/Beast types shared by the network layer's translation
// units. Never include this from a header outside src/net (each TU that does costs ~15 s).
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <list>
#include <memory>
#include <vector>

#include "net/server.h"

namespace cn::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
using Clock = std::chrono::steady_clock;

// Completion token: errors come back as values, never as exceptions (docs/style.md,
// docs/architecture.md "Errors").
inline constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// One keep-alive connection to the upstream, plain or TLS. Owned by one worker.
struct UpstreamConn {
  std::unique_ptr<beast::tcp_stream> tcp;                     // set when !tls
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;  // set when tls
  beast::flat_buffer buffer;  // bytes read past the previous response stay here
  Clock::time_point idle_since{};
  bool reused = false;

  beast::tcp_stream& Lowest() { return tls ? beast::get_lowest_layer(*tls) : *tcp; }
};

// Calls `fn` with the connection's stream, TLS or plain, and returns what it returns (both calls
// must return the same type: a generic lambda calling a template coroutine, for instance).
template <class Fn>
auto WithStream(UpstreamConn& conn, Fn& fn) -> decltype(fn(*conn.tcp)) {
  if (conn.tls) return fn(*conn.tls);
  return fn(*conn.tcp);
}

// Per-worker pool of idle upstream connections. Single-threaded: only its worker touches it.
class UpstreamPool {
 public:
  UpstreamPool(asio::any_io_executor ex, const UpstreamTarget& target, asio::ssl::context* tls_ctx,
               metrics::Counter& opened, metrics::Counter& reused);
  // A live connection: an idle pooled one, or a new one connected (and TLS-handshaken) within
  // `timeout`.
  awaitable<beast::error_code> Acquire(std::unique_ptr<UpstreamConn>& out,
                                       std::chrono::milliseconds timeout);
  // Returns a connection whose last response was read completely and allows keep-alive.
  void Release(std::unique_ptr<UpstreamConn> conn);
  void CloseAll();

 private:
  awaitable<beast::error_code> Connect(UpstreamConn& conn, std::chrono::milliseconds timeout);

  static constexpr std::size_t kMaxIdle = 256;
  static constexpr std::chrono::seconds kMaxIdleTime{20};
  static constexpr std::chrono::seconds kResolveCacheTime{60};

  asio::any_io_executor ex_;
  UpstreamTarget target_;
  asio::ssl::context* tls_ctx_;
  metrics::Counter& opened_;
  metrics::Counter& reused_;
  std::vector<std::unique_ptr<UpstreamConn>> idle_;  // LIFO: the warmest connection first
  tcp::resolver::results_type endpoints_;
  Clock::time_point resolved_at_{};
};

// The network layer's own counters, served on /metrics (docs/architecture.md).
struct NetMetrics {
  explicit NetMetrics(metrics::Registry& r);
  metrics::CounterFamily& responses;     // {status, outcome}
  metrics::Histogram& upstream_latency;  // request sent -> upstream response headers
  metrics::Histogram& ttfb;              // arrival -> first response byte to the client
  metrics::Histogram& duration;          // arrival -> end of exchange
  metrics::Gauge& open_streams;
  metrics::Gauge& open_connections;
  metrics::Gauge& active_exchanges;
  metrics::Counter& upstream_retries;
  metrics::Counter& upstream_errors;
  metrics::Counter& upstream_conns_opened;
  metrics::Counter& upstream_conns_reused;
  metrics::Counter& bytes_to_client;
  metrics::Counter& client_aborts;
  metrics::Counter& bad_requests;
};

// State shared by every worker. Immutable after Start() except the atomics.
struct Shared {
  ServerOptions opts;
  ServerServices svc;
  NetMetrics m;
  asio::ssl::context tls_ctx{asio::ssl::context::tls_client};
  std::atomic<bool> draining{false};
};

struct ExchangeCtx;

// The time limit of a connection's current wait. Arming and disarming are plain stores, no
// system call and no timer per operation: the worker's sweeper (one timer ticking every
// kSweepInterval while the worker has sessions) cancels the target socket of an expired deadline
// and marks it, so the waiting operation ends with operation_aborted, reported as a timeout.
struct Deadline {
  Clock::time_point at = Clock::time_point::max();
  tcp::socket* target = nullptr;  // armed while non-null
  bool expired = false;

  void Arm(tcp::socket& sock, std::chrono::milliseconds timeout) {
    target = &sock;
    at = Clock::now() + timeout;
    expired = false;
  }
  void Disarm() { target = nullptr; }
};

inline constexpr std::chrono::milliseconds kSweepInterval{100};

// A client connection known to its worker: for shutdown (idle ones are closed at once, busy ones
// after the grace period) and for the sweeper, which enforces its deadline.
struct SessionEntry {
  beast::tcp_stream* stream = nullptr;
  ExchangeCtx* exchange = nullptr;  // non-null while a proxied exchange runs
  Deadline deadline;                // the session's current wait (client or upstream socket)
};

struct Worker {
  explicit Worker(Shared& shared);
  asio::io_context ioc{1};
  UpstreamPool pool;
  std::list<SessionEntry> sessions;  // touched only on this worker's thread
  bool sweeping = false;             // the sweeper coroutine runs (while sessions exist)
};

// Starts the worker's deadline sweeper unless it runs already. Call on the worker's thread when
// a session starts; the sweeper ends by itself once the worker has no sessions.
void EnsureSweeper(Worker& w);

// Proxies one request to the upstream and relays the answer. Returns whether the client
// connection may be reused. `req` and `relay_buffer` belong to the calling session; `path` and
// `query` are req's target as proxy::SplitTarget split it.
awaitable<bool> ProxyExchange(Worker& w, Shared& sh, beast::tcp_stream& client,
                              std::list<SessionEntry>::iterator entry,
                              http::request<http::string_body>& req, std::string path,
                              std::string query, std::string request_id,
                              std::int64_t arrival_unix_us, Clock::time_point arrival,
                              char* relay_buffer, std::size_t relay_buffer_size);

// Aborts a running exchange (shutdown deadline). Must run on the exchange's worker thread.
void AbortExchange(ExchangeCtx& ctx, const char* reason);

// Serves one request under /api/ (api_session.cc): the API's auth, then its query on the reader
// pool, or the streamed export / event feed. Returns whether the connection may be reused.
awaitable<bool> ServeApi(Shared& sh, beast::tcp_stream& stream, Deadline& dl,
                         http::request<http::string_body>& req, std::string path, std::string query,
                         const std::string& request_id);

// Writes a complete small response (JSON or text). Errors are returned, not thrown.
awaitable<beast::error_code> WriteSimple(beast::tcp_stream& client, Deadline& dl,
                                         http::status status, std::string content_type,
                                         std::string body, Headers extra, bool keep_alive,
                                         std::chrono::milliseconds timeout, bool head_only = false);

}  // namespace cn::net
