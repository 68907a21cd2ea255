// Server: the proxy's HTTP/1.1 front end on port 3000 (no Boost.Asio/Beast in this header).
//
// Request path (docs/architecture.md):
//   accept -> session coroutine (one per client connection, owns its stream and buffers)
//     -> route (proxy::Classify) -> local endpoint (/, /health*, /token-stats, /metrics)
//                                -> proxy exchange: auth plan (proxy::DecideAuth) -> upstream pool
//                                   -> relay (status, headers, body pumped through one buffer; SSE
//                                      observed by sse::Parser on the side) -> Record -> submit
//
// Threads: `io_threads` workers, each running its own io_context (one thread each). The acceptor
// lives on worker 0 and hands each connection to the next worker round-robin; a connection and
// everything it touches (its upstream connection, timers) then stay on that worker, so session
// code needs no locks. Upstream keep-alive pools are per worker.
//
// Lifetime: the services in ServerServices must outlive the Server (app/ owns them and destroys
// the Server first).
//
// Shutdown contract (tested in tests/integration): Shutdown(grace) stops accepting, closes idle
// keep-alive connections, lets in-flight exchanges (including open streams) finish until
// `grace` has passed, then aborts the rest (they are recorded as client_aborted with an error
// saying so), and joins the worker threads. Every exchange is submitted before Shutdown returns.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/status.h"
#include "metrics/metrics.h"
#include "proxy/credentials.h"
#include "proxy/key_hash.h"
#include "proxy/retry.h"
#include "record/record.h"
#include "recording/token_stats.h"

namespace cn::oauth {
class OAuthRefresher;  // oauth/refresher.h
}
namespace cn::query {
class ReaderPool;  // query/reader_pool.h
class EventFeed;   // query/event_feed.h
}  // namespace cn::query
namespace cn {
class Store;  // storage/store.h
}

namespace cn::net {

struct UpstreamTarget {
  std::string host;  // DNS name or address
  std::uint16_t port = 443;
  bool tls = true;
  std::string base_path;  // prefix for every forwarded target, without trailing '/'
};

struct ServerOptions {
  std::string host = "0.0.0.0";
  std::uint16_t port = 3000;
  int io_threads = 0;  // 0 = number of cores
  UpstreamTarget upstream;
  std::string upstream_ca_file;  // extra CA bundle (tests); system store is always used
  std::chrono::milliseconds upstream_timeout{600000};  // per attempt, until response headers
  std::chrono::milliseconds server_timeout{660000};    // idle connection / body read inactivity
  std::size_t max_body_bytes = 32u << 20;
  std::size_t max_recorded_response_bytes = 32u << 20;
  bool client_auth = false;
  proxy::RetryPolicy retry;
  // The dashboard port (DASHBOARD_PORT): the JSON API under /api/ and health, no proxying.
  // nullopt: not served. serve_proxy false: only the dashboard port is served (`dashboard`).
  std::optional<std::uint16_t> dashboard_port;
  bool serve_proxy = true;
  // The API's keys (DASHBOARD_API_KEY, INTERNAL_API_KEY; docs/api.md "Authentication"). Both
  // empty: the API answers loopback clients only.
  std::string api_dashboard_key;
  std::string api_internal_key;
};

struct StoreHealth {
  bool enabled = false;
  bool healthy = false;
  std::string kind;  // "sqlite" / "postgres"
  std::int64_t queued = 0;
  std::int64_t writer_lag_ms = 0;
  std::int64_t spilled_pending = 0;
};

struct ServerServices {
  proxy::CredentialStore* credentials = nullptr;  // required
  std::function<void(Record&&)> submit_record;    // empty when recording is disabled
  std::function<StoreHealth()> store_health;      // empty when recording is disabled
  metrics::Registry* registry = nullptr;          // required
  recording::TokenStats* token_stats = nullptr;   // required
  oauth::OAuthRefresher* oauth = nullptr;         // optional: refreshes OAuth credentials
  // Passthrough exchanges get Record::api_key_hash from it; null: not recorded.
  const proxy::KeyHasher* key_hasher = nullptr;
  // The read side (docs/api.md); all null when recording is disabled (/api answers 503).
  query::ReaderPool* readers = nullptr;  // runs the API's queries off the I/O threads
  Store* store = nullptr;                // request details (GetRecord)
  query::EventFeed* events = nullptr;    // GET /api/events
};

class Server {
 public:
  Server(ServerOptions options, ServerServices services);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts the worker threads. Fails with a message naming the address on bind errors.
  Status Start();
  // The bound ports (useful with port 0); dashboard_port() is 0 when it is not served.
  std::uint16_t port() const;
  std::uint16_t dashboard_port() const;
  // See the shutdown contract above. Idempotent; called by the destructor if needed.
  void Shutdown(std::chrono::milliseconds grace);

  struct Impl;  // defined in server.cc; public only so the session coroutines there can name it

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace cn::net
