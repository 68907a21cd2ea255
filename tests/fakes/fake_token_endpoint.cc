#include "fakes/fake_token_endpoint.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace cn::testing {
namespace {

namespace json = boost::json;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

// S256 of RFC 7636, computed independently of the code under test.
std::string S256(std::string_view verifier) {
  unsigned char digest[32];
  unsigned int len = 0;
  EVP_Digest(verifier.data(), verifier.size(), digest, &len, EVP_sha256(), nullptr);
  unsigned char b64[64];
  const int n = EVP_EncodeBlock(b64, digest, 32);
  std::string out(reinterpret_cast<char*>(b64), static_cast<std::size_t>(n));
  for (char& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  while (!out.empty() && out.back() == '=') out.pop_back();
  return out;
}

// A connection's byte transport: plain socket or TLS over it.
struct Conn {
  int fd = -1;
  SSL* ssl = nullptr;
  ~Conn() {
    if (ssl) {
      SSL_shutdown(ssl);
      SSL_free(ssl);
    }
    if (fd >= 0) ::close(fd);
  }
  long Read(char* buf, std::size_t n) {
    if (ssl) return SSL_read(ssl, buf, static_cast<int>(n));
    return ::recv(fd, buf, n, 0);
  }
  bool WriteAll(std::string_view data) {
    while (!data.empty()) {
      const long n = ssl ? SSL_write(ssl, data.data(), static_cast<int>(data.size()))
                         : ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
};

}  // namespace

std::string TokenRequest::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (EqualsIgnoreCase(k, name)) return v;
  }
  return {};
}

class FakeTokenEndpoint::Impl {
 public:
  explicit Impl(FakeTokenEndpointOptions o) : expires_in_s_(o.expires_in_s), options_(o) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 128) != 0) {
      std::perror("FakeTokenEndpoint: bind/listen");
      std::abort();
    }
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    if (options_.tls) {
      ctx_ = SSL_CTX_new(TLS_server_method());
      const std::string dir = CN_TEST_CERTS_DIR;
      if (SSL_CTX_use_certificate_chain_file(ctx_, (dir + "/server.pem").c_str()) != 1 ||
          SSL_CTX_use_PrivateKey_file(ctx_, (dir + "/server.key").c_str(), SSL_FILETYPE_PEM) != 1) {
        std::fprintf(stderr, "FakeTokenEndpoint: cannot load the test certificate from %s\n",
                     dir.c_str());
        std::abort();
      }
    }
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }

  ~Impl() {
    stopping_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    accept_thread_.join();
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mu_);
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
    ::close(listen_fd_);
    if (ctx_) SSL_CTX_free(ctx_);
  }

  std::uint16_t port() const { return port_; }
  bool tls() const { return options_.tls; }

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<TokenRequest> requests_;
  std::set<std::string> refresh_tokens_;
  std::map<std::string, std::string> codes_;  // code -> challenge
  std::chrono::milliseconds delay_{0};
  std::int64_t expires_in_s_ = 3600;
  int fail_status_ = 0;
  std::string fail_body_;
  std::size_t refresh_grants_ = 0, invalid_grants_ = 0, issued_ = 0;
  std::string last_access_token_;

 private:
  void AcceptLoop() {
    while (!stopping_) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (stopping_) return;
        continue;
      }
      std::lock_guard lock(mu_);
      threads_.emplace_back([this, fd] { Serve(fd); });
    }
  }

  void Serve(int fd) {
    Conn c;
    c.fd = fd;
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (ctx_) {
      c.ssl = SSL_new(ctx_);
      SSL_set_fd(c.ssl, fd);
      if (SSL_accept(c.ssl) != 1) return;
    }
    std::string data;
    char buf[8192];
    std::size_t header_end = std::string::npos;
    while ((header_end = data.find("\r\n\r\n")) == std::string::npos) {
      const long n = c.Read(buf, sizeof buf);
      if (n <= 0) return;
      data.append(buf, static_cast<std::size_t>(n));
    }
    TokenRequest req;
    req.received_at = std::chrono::steady_clock::now();
    std::string_view head(data.data(), header_end);
    std::size_t line_end = head.find("\r\n");
    std::string_view request_line = head.substr(0, line_end);
    req.method = std::string(request_line.substr(0, request_line.find(' ')));
    const std::size_t t0 = request_line.find(' ') + 1;
    req.target = std::string(request_line.substr(t0, request_line.rfind(' ') - t0));
    std::size_t content_length = 0;
    for (std::size_t pos = line_end + 2; pos < head.size();) {
      std::size_t end = head.find("\r\n", pos);
      if (end == std::string_view::npos) end = head.size();
      std::string_view line = head.substr(pos, end - pos);
      const std::size_t colon = line.find(':');
      if (colon != std::string_view::npos) {
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        req.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
        if (EqualsIgnoreCase(line.substr(0, colon), "content-length"))
          content_length = std::stoul(std::string(value));
      }
      pos = end + 2;
    }
    req.body = data.substr(header_end + 4);
    while (req.body.size() < content_length) {
      const long n = c.Read(buf, sizeof buf);
      if (n <= 0) return;
      req.body.append(buf, static_cast<std::size_t>(n));
    }
    auto [status, body] = Answer(req);
    const char* reason = status == 200 ? "OK" : status == 400 ? "Bad Request" : "Error";
    c.WriteAll("HTTP/1.1 " + std::to_string(status) + " " + reason +
               "\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " +
               std::to_string(body.size()) + "\r\n\r\n" + body);
  }

  std::pair<int, std::string> Answer(TokenRequest& req) {
    std::error_code ec;
    json::value v = json::parse(req.body, ec);
    json::object o = (!ec && v.is_object()) ? v.get_object() : json::object();
    auto str = [&o](const char* k) {
      const json::value* x = o.if_contains(k);
      return x && x->is_string() ? std::string(x->get_string()) : std::string();
    };
    req.grant_type = str("grant_type");
    req.refresh_token = str("refresh_token");
    std::chrono::milliseconds delay;
    {
      std::lock_guard lock(mu_);
      requests_.push_back(req);
      delay = delay_;
    }
    cv_.notify_all();
    if (delay.count() > 0) std::this_thread::sleep_for(delay);  // simulated endpoint latency

    std::lock_guard lock(mu_);
    if (fail_status_ != 0) return {fail_status_, fail_body_};
    const auto invalid_grant = [this](const char* why) {
      ++invalid_grants_;
      return std::pair<int, std::string>{
          400, std::string("{\"error\":\"invalid_grant\",\"error_description\":\"") + why + "\"}"};
    };
    if (req.method != "POST" || req.Header("content-type") != "application/json") {
      return {400,
              "{\"error\":\"invalid_request\",\"error_description\":\"POST application/json "
              "expected\"}"};
    }
    if (str("client_id").empty()) return {401, "{\"error\":\"invalid_client\"}"};
    json::object answer;
    if (req.grant_type == "refresh_token") {
      if (refresh_tokens_.erase(req.refresh_token) == 0)
        return invalid_grant("Refresh token not found or invalid");
      ++refresh_grants_;
    } else if (req.grant_type == "authorization_code") {
      auto it = codes_.find(str("code"));
      if (it == codes_.end()) return invalid_grant("Invalid authorization code");
      if (S256(str("code_verifier")) != it->second || str("state").empty() ||
          str("redirect_uri") != "https://console.anthropic.com/oauth/code/callback") {
        return invalid_grant("PKCE verification failed");
      }
      codes_.erase(it);
      answer["account"] =
          json::object{{"uuid", "acct-uuid-1"}, {"email_address", "max@example.com"}};
    } else {
      return {400, "{\"error\":\"unsupported_grant_type\"}"};
    }
    ++issued_;
    answer["token_type"] = "Bearer";
    answer["access_token"] = "at-" + std::to_string(issued_);
    answer["refresh_token"] = "rt-" + std::to_string(issued_);
    answer["expires_in"] = expires_in_s_;
    answer["scope"] = "user:inference user:profile";
    refresh_tokens_.insert("rt-" + std::to_string(issued_));
    last_access_token_ = "at-" + std::to_string(issued_);
    return {200, json::serialize(answer)};
  }

  FakeTokenEndpointOptions options_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  SSL_CTX* ctx_ = nullptr;
  std::atomic<bool> stopping_{false};
  std::thread accept_thread_;
  std::vector<std::thread> threads_;  // guarded by mu_
};

FakeTokenEndpoint::FakeTokenEndpoint(FakeTokenEndpointOptions options)
    : impl_(std::make_unique<Impl>(options)) {}
FakeTokenEndpoint::~FakeTokenEndpoint() = default;

std::uint16_t FakeTokenEndpoint::port() const { return impl_->port(); }
std::string FakeTokenEndpoint::url() const {
  return (impl_->tls() ? "https://localhost:" : "http://127.0.0.1:") + std::to_string(port()) +
         "/v1/oauth/token";
}
void FakeTokenEndpoint::AddRefreshToken(const std::string& rt) {
  std::lock_guard lock(impl_->mu_);
  impl_->refresh_tokens_.insert(rt);
}
void FakeTokenEndpoint::AddAuthorizationCode(const std::string& code,
                                             const std::string& challenge) {
  std::lock_guard lock(impl_->mu_);
  impl_->codes_[code] = challenge;
}
void FakeTokenEndpoint::SetDelay(std::chrono::milliseconds delay) {
  std::lock_guard lock(impl_->mu_);
  impl_->delay_ = delay;
}
void FakeTokenEndpoint::SetExpiresIn(std::int64_t seconds) {
  std::lock_guard lock(impl_->mu_);
  impl_->expires_in_s_ = seconds;
}
void FakeTokenEndpoint::FailWith(int status, std::string body) {
  std::lock_guard lock(impl_->mu_);
  impl_->fail_status_ = status;
  impl_->fail_body_ = std::move(body);
}
std::vector<TokenRequest> FakeTokenEndpoint::requests() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->requests_;
}
std::size_t FakeTokenEndpoint::request_count() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->requests_.size();
}
std::size_t FakeTokenEndpoint::refresh_grants() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->refresh_grants_;
}
std::size_t FakeTokenEndpoint::invalid_grants() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->invalid_grants_;
}
std::string FakeTokenEndpoint::last_access_token() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->last_access_token_;
}
bool FakeTokenEndpoint::WaitForRequests(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mu_);
  return impl_->cv_.wait_for(lock, timeout, [&] { return impl_->requests_.size() >= n; });
}

}  // namespace cn::testing
