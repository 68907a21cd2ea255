// Upstream connection pool: connect (with DNS cache), TLS handshake with verification, and
// keep-alive reuse with a liveness check before handing out an idle connection.

#include <sys/socket.h>

#include <cerrno>

#include "net/internal.h"

namespace cn::net {

UpstreamPool::UpstreamPool(asio::any_io_executor ex, const UpstreamTarget& target,
                           asio::ssl::context* tls_ctx, metrics::Counter& opened,
                           metrics::Counter& reused)
    : ex_(std::move(ex)), target_(target), tls_ctx_(tls_ctx), opened_(opened), reused_(reused) {}

namespace {

// An idle keep-alive connection is usable when the peer has neither closed it nor sent
// anything unsolicited (a TLS close_notify or stray bytes also mean "do not reuse").
bool LooksAlive(UpstreamConn& c) {
  auto& sock = c.Lowest().socket();
  if (!sock.is_open()) return false;
  char byte;
  ssize_t n = ::recv(sock.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
  return false;
}

}  // namespace

awaitable<beast::error_code> UpstreamPool::Acquire(std::unique_ptr<UpstreamConn>& out,
                                                   std::chrono::milliseconds timeout) {
  const auto now = Clock::now();
  while (!idle_.empty()) {
    std::unique_ptr<UpstreamConn> c = std::move(idle_.back());
    idle_.pop_back();
    // The liveness peek costs a syscall; a connection idle for under a second is taken on
    // trust (if the upstream closed it meanwhile, the exchange retries once on a fresh one).
    const bool fresh = now - c->idle_since < std::chrono::seconds(1);
    if (now - c->idle_since < kMaxIdleTime && c->buffer.size() == 0 && (fresh || LooksAlive(*c))) {
      c->reused = true;
      reused_.Inc();
      out = std::move(c);
      co_return beast::error_code{};
    }
    beast::error_code ignored;
    c->Lowest().socket().close(ignored);
  }
  auto c = std::make_unique<UpstreamConn>();
  c->buffer.reserve(16 * 1024);  // read sizes follow capacity; see Session
  if (tls_ctx_ != nullptr && target_.tls) {
    c->tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ex_, *tls_ctx_);
  } else {
    c->tcp = std::make_unique<beast::tcp_stream>(ex_);
  }
  beast::error_code ec = co_await Connect(*c, timeout);
  if (ec) co_return ec;
  opened_.Inc();
  out = std::move(c);
  co_return beast::error_code{};
}

awaitable<beast::error_code> UpstreamPool::Connect(UpstreamConn& c,
                                                   std::chrono::milliseconds timeout) {
  const auto now = Clock::now();
  if (endpoints_.empty() || now - resolved_at_ > kResolveCacheTime) {
    tcp::resolver resolver(ex_);
    const std::string service = std::to_string(target_.port);
    auto [ec, results] = co_await resolver.async_resolve(target_.host, service, kTuple);
    if (ec) co_return ec;
    endpoints_ = std::move(results);
    resolved_at_ = now;
  }
  beast::tcp_stream& lowest = c.Lowest();
  lowest.expires_after(timeout);
  auto [ec, ep] = co_await lowest.async_connect(endpoints_, kTuple);
  if (ec) {
    endpoints_ = {};  // re-resolve next time: the address may have changed
    co_return ec;
  }
  beast::error_code ignored;
  lowest.socket().set_option(tcp::no_delay(true), ignored);
  if (!c.tls) lowest.socket().non_blocking(true, ignored);  // plain: synchronous first (net/io.h)
  if (c.tls) {
    if (!SSL_set_tlsext_host_name(c.tls->native_handle(), target_.host.c_str())) {
      co_return beast::error_code(static_cast<int>(::ERR_get_error()),
                                  asio::error::get_ssl_category());
    }
    c.tls->set_verify_mode(asio::ssl::verify_peer);
    c.tls->set_verify_callback(asio::ssl::host_name_verification(target_.host));
    lowest.expires_after(timeout);
    auto [hec] = co_await c.tls->async_handshake(asio::ssl::stream_base::client, kTuple);
    if (hec) co_return hec;
  }
  lowest.expires_never();
  co_return beast::error_code{};
}

void UpstreamPool::Release(std::unique_ptr<UpstreamConn> conn) {
  if (idle_.size() >= kMaxIdle) return;  // dropping closes it
  conn->Lowest().expires_never();
  conn->idle_since = Clock::now();
  idle_.push_back(std::move(conn));
}

void UpstreamPool::CloseAll() {
  for (auto& c : idle_) {
    beast::error_code ignored;
    c->Lowest().socket().close(ignored);
  }
  idle_.clear();
}

}  // namespace cn::net
