#include "app/healthcheck.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace cn::app {
namespace {

struct AddrInfoDeleter {
  void operator()(addrinfo* a) const { freeaddrinfo(a); }
};

bool WaitFor(int fd, short events, std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, events, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r > 0) return true;
    if (r == 0) return false;
    if (errno != EINTR) return false;
  }
}

}  // namespace

int HttpGetStatus(const std::string& url, std::chrono::milliseconds timeout, std::string* error) {
  constexpr std::string_view kScheme = "http://";
  if (url.compare(0, kScheme.size(), kScheme) != 0) {
    *error = "only http:// URLs are supported";
    return 0;
  }
  std::string rest = url.substr(kScheme.size());
  std::string authority = rest.substr(0, rest.find('/'));
  std::string path = rest.size() > authority.size() ? rest.substr(authority.size()) : "/";
  std::string host = authority, port = "80";
  if (!authority.empty() && authority[0] == '[') {
    auto close = authority.find(']');
    if (close == std::string::npos) {
      *error = "bad IPv6 literal in URL";
      return 0;
    }
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':')
      port = authority.substr(close + 2);
  } else if (auto colon = authority.rfind(':'); colon != std::string::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) {
    *error = "no host in URL";
    return 0;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* raw = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &raw); rc != 0) {
    *error = std::string("cannot resolve ") + host + ": " + gai_strerror(rc);
    return 0;
  }
  std::unique_ptr<addrinfo, AddrInfoDeleter> addrs(raw);
  for (addrinfo* a = addrs.get(); a != nullptr; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    struct Closer {
      int fd;
      ~Closer() { ::close(fd); }
    } closer{fd};
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
      *error = std::string("connect: ") + std::strerror(errno);
      continue;
    }
    if (!WaitFor(fd, POLLOUT, deadline)) {
      *error = "connect timed out";
      continue;
    }
    int soerr = 0;
    socklen_t len = sizeof soerr;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
    if (soerr != 0) {
      *error = std::string("connect: ") + std::strerror(soerr);
      continue;
    }
    std::string req = "GET " + path + " HTTP/1.0\r\nHost: " + authority +
                      "\r\nUser-Agent: claude-nexus-healthcheck\r\nConnection: close\r\n\r\n";
    std::size_t sent = 0;
    while (sent < req.size()) {
      if (!WaitFor(fd, POLLOUT, deadline)) {
        *error = "send timed out";
        return 0;
      }
      ssize_t n = ::send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno != EAGAIN && errno != EINTR) {
        *error = std::string("send: ") + std::strerror(errno);
        return 0;
      }
      if (n > 0) sent += static_cast<std::size_t>(n);
    }
    std::string head;
    char buf[512];
    while (head.find("\r\n") == std::string::npos && head.size() < 4096) {
      if (!WaitFor(fd, POLLIN, deadline)) {
        *error = "no answer in time";
        return 0;
      }
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n == 0) break;
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        *error = std::string("recv: ") + std::strerror(errno);
        return 0;
      }
      head.append(buf, static_cast<std::size_t>(n));
    }
    // "HTTP/1.1 200 OK"
    if (head.compare(0, 5, "HTTP/") != 0 || head.find(' ') == std::string::npos) {
      *error = "not an HTTP answer";
      return 0;
    }
    auto sp = head.find(' ');
    int status = std::atoi(head.c_str() + sp + 1);
    if (status < 100 || status > 599) {
      *error = "bad HTTP status line";
      return 0;
    }
    return status;
  }
  if (error->empty()) *error = "no address to connect to";
  return 0;
}

}  // namespace cn::app
