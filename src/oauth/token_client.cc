#include "oauth/token_client.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "cn_version.h"

namespace cn::oauth {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// Every step shares one deadline: tcp_stream's expiry covers resolve-less steps, and the
// resolver is bounded by the io_context run_for() in Post().
template <typename Stream>
asio::awaitable<TokenHttpResult> Exchange(Stream& stream, const EndpointUrl& url,
                                          std::string body) {
  TokenHttpResult out;
  http::request<http::string_body> req{http::verb::post, url.target, 11};
  const bool default_port = (url.tls && url.port == 443) || (!url.tls && url.port == 80);
  const std::string host =
      url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  req.set(http::field::host, default_port ? host : host + ":" + std::to_string(url.port));
  req.set(http::field::content_type, "application/json");
  req.set(kOAuthBetaHeader, kOAuthBetaValue);
  req.set(http::field::user_agent, std::string("claude-nexus/") + build::kVersion);
  req.set(http::field::accept, "application/json");
  req.keep_alive(false);
  req.body() = std::move(body);
  req.prepare_payload();
  auto [wec, wn] = co_await http::async_write(stream, req, kTuple);
  (void)wn;
  if (wec) {
    out.transport_error = "sending the request: " + wec.message();
    co_return out;
  }
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(1 << 20);
  auto [rec, rn] = co_await http::async_read(stream, buffer, parser, kTuple);
  (void)rn;
  if (rec) {
    out.transport_error = "reading the answer: " + rec.message();
    co_return out;
  }
  out.status = static_cast<int>(parser.get().result_int());
  out.body = std::move(parser.get().body());
  co_return out;
}

class HttpTokenEndpoint final : public TokenEndpoint {
 public:
  HttpTokenEndpoint(EndpointUrl url, std::string ca_file, std::chrono::milliseconds timeout)
      : url_(std::move(url)), ca_file_(std::move(ca_file)), timeout_(timeout) {}

  TokenHttpResult Post(const std::string& json_body) override {
    asio::io_context ioc{1};
    TokenHttpResult result;
    result.transport_error = "timed out after " + std::to_string(timeout_.count()) + " ms";
    asio::co_spawn(ioc, Run(json_body), [&result](std::exception_ptr e, TokenHttpResult r) {
      if (e) {
        result = TokenHttpResult{};
        result.transport_error = "internal error in the token client";
      } else {
        result = std::move(r);
      }
    });
    ioc.run_for(timeout_ + std::chrono::seconds(1));
    return result;
  }

 private:
  asio::awaitable<TokenHttpResult> Run(std::string body) {
    TokenHttpResult out;
    auto ex = co_await asio::this_coro::executor;
    tcp::resolver resolver(ex);
    auto [ec, endpoints] =
        co_await resolver.async_resolve(url_.host, std::to_string(url_.port), kTuple);
    if (ec) {
      out.transport_error = "resolving " + url_.host + ": " + ec.message();
      co_return out;
    }
    beast::tcp_stream tcp_stream(ex);
    tcp_stream.expires_after(timeout_);
    auto [cec, ep] = co_await tcp_stream.async_connect(endpoints, kTuple);
    (void)ep;
    if (cec) {
      out.transport_error =
          "connecting to " + url_.host + ":" + std::to_string(url_.port) + ": " + cec.message();
      co_return out;
    }
    if (!url_.tls) co_return co_await Exchange(tcp_stream, url_, std::move(body));

    ssl::context ctx(ssl::context::tls_client);
    beast::error_code sec;
    ctx.set_default_verify_paths(sec);
    if (!ca_file_.empty()) ctx.load_verify_file(ca_file_, sec);
    if (sec) {
      out.transport_error = "loading CA certificates: " + sec.message();
      co_return out;
    }
    ctx.set_verify_mode(ssl::verify_peer, sec);
    beast::ssl_stream<beast::tcp_stream> stream(std::move(tcp_stream), ctx);
    stream.set_verify_callback(ssl::host_name_verification(url_.host), sec);
    if (!SSL_set_tlsext_host_name(stream.native_handle(), url_.host.c_str())) {
      out.transport_error = "setting the TLS server name failed";
      co_return out;
    }
    auto [hec] = co_await stream.async_handshake(ssl::stream_base::client, kTuple);
    if (hec) {
      out.transport_error = "TLS handshake with " + url_.host + ": " + hec.message();
      co_return out;
    }
    out = co_await Exchange(stream, url_, std::move(body));
    auto [shec] = co_await stream.async_shutdown(kTuple);
    (void)shec;  // the answer is complete; a peer that skips close_notify is common and harmless
    co_return out;
  }

  const EndpointUrl url_;
  const std::string ca_file_;
  const std::chrono::milliseconds timeout_;
};

}  // namespace

StatusOr<std::unique_ptr<TokenEndpoint>> MakeHttpTokenEndpoint(const std::string& url,
                                                               const std::string& extra_ca_file,
                                                               std::chrono::milliseconds timeout) {
  StatusOr<EndpointUrl> parsed = ParseEndpointUrl(url);
  if (!parsed.ok())
    return Status::InvalidArgument("CLAUDE_OAUTH_TOKEN_URL: " + parsed.status().message());
  if (!extra_ca_file.empty()) {
    ssl::context probe(ssl::context::tls_client);
    beast::error_code ec;
    probe.load_verify_file(extra_ca_file, ec);
    if (ec) {
      return Status::InvalidArgument("CLAUDE_OAUTH_CA_FILE='" + extra_ca_file +
                                     "' is not a readable PEM CA bundle");
    }
  }
  return std::unique_ptr<TokenEndpoint>(
      std::make_unique<HttpTokenEndpoint>(std::move(parsed).value(), extra_ca_file, timeout));
}

}  // namespace cn::oauth
