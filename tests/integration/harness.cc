#include "integration/harness.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "storage/sqlite/sqlite_store.h"

extern char** environ;

namespace cn::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::string HttpResponse::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (beast::iequals(k, name)) return v;
  }
  return "";
}

HttpResponse Http(std::uint16_t port, const std::string& method, const std::string& target,
                  const HeaderPairs& headers, const std::string& body,
                  std::chrono::milliseconds timeout) {
  HttpResponse out;
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.expires_after(timeout);
  beast::error_code ec;
  stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  if (ec) {
    out.error = "connect: " + ec.message();
    return out;
  }
  http::request<http::string_body> req;
  req.method_string(method);
  req.target(target);
  req.version(11);
  bool has_host = false;
  for (const auto& [k, v] : headers) {
    if (beast::iequals(k, "host")) has_host = true;
    req.insert(k, v);
  }
  if (!has_host) req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  req.body() = body;
  if (!body.empty() || method == "POST") req.prepare_payload();
  // Use async ops run on this thread so the stream's timeout applies.
  http::async_write(stream, req, [&](beast::error_code e, std::size_t) { ec = e; });
  ioc.run();
  ioc.restart();
  if (ec) {
    out.error = "write: " + ec.message();
    return out;
  }
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(boost::none);
  if (method == "HEAD") parser.skip(true);
  http::async_read(stream, buf, parser, [&](beast::error_code e, std::size_t) { ec = e; });
  ioc.run();
  if (ec) {
    out.error = "read: " + ec.message();
    return out;
  }
  auto& res = parser.get();
  out.status = res.result_int();
  for (const auto& f : res)
    out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  out.body = res.body();
  return out;
}

std::string RawExchange(std::uint16_t port, const std::string& bytes,
                        std::chrono::milliseconds timeout) {
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.expires_after(timeout);
  beast::error_code ec;
  stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  if (ec) return "";
  asio::async_write(stream, asio::buffer(bytes), [&](beast::error_code e, std::size_t) { ec = e; });
  ioc.run();
  ioc.restart();
  std::string out;
  char buf[4096];
  std::function<void()> read_more = [&] {
    stream.async_read_some(asio::buffer(buf), [&](beast::error_code e, std::size_t n) {
      out.append(buf, n);
      if (!e) read_more();
    });
  };
  read_more();
  ioc.run();
  return out;
}

// ---- StreamingClient ----

struct StreamingClient::Impl {
  asio::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buf;
  http::response_parser<http::buffer_body> parser;
  std::string body;
  bool failed = false;
  bool done = false;

  // Reads some body bytes; false on error/timeout.
  bool ReadSome(std::chrono::milliseconds timeout) {
    char tmp[4096];
    parser.get().body().data = tmp;
    parser.get().body().size = sizeof tmp;
    beast::error_code ec;
    stream.expires_after(timeout);
    http::async_read_some(stream, buf, parser, [&](beast::error_code e, std::size_t) { ec = e; });
    ioc.run();
    ioc.restart();
    if (ec == http::error::need_buffer) ec = {};
    body.append(tmp, sizeof tmp - parser.get().body().size);
    if (ec) {
      failed = true;
      return false;
    }
    if (parser.is_done()) done = true;
    return true;
  }
};

StreamingClient::StreamingClient(std::uint16_t port, const std::string& target,
                                 const HeaderPairs& headers, const std::string& body,
                                 const std::string& method)
    : impl_(std::make_unique<Impl>()) {
  beast::error_code ec;
  impl_->stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  if (ec) {
    impl_->failed = true;
    return;
  }
  http::request<http::string_body> req;
  req.method_string(method);
  req.target(target);
  req.version(11);
  req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  for (const auto& [k, v] : headers) req.insert(k, v);
  req.body() = body;
  req.prepare_payload();
  impl_->stream.expires_after(std::chrono::seconds(10));
  http::async_write(impl_->stream, req, [&](beast::error_code e, std::size_t) { ec = e; });
  impl_->ioc.run();
  impl_->ioc.restart();
  if (ec) impl_->failed = true;
  impl_->parser.body_limit(boost::none);
}

StreamingClient::~StreamingClient() = default;

bool StreamingClient::ReadHeader(std::chrono::milliseconds timeout) {
  if (impl_->failed) return false;
  beast::error_code ec;
  impl_->stream.expires_after(timeout);
  http::async_read_header(impl_->stream, impl_->buf, impl_->parser,
                          [&](beast::error_code e, std::size_t) { ec = e; });
  impl_->ioc.run();
  impl_->ioc.restart();
  if (ec) impl_->failed = true;
  if (!ec && impl_->parser.is_done()) impl_->done = true;
  return !ec;
}

int StreamingClient::status() const { return impl_->parser.get().result_int(); }

std::string StreamingClient::Header(std::string_view name) const {
  auto it = impl_->parser.get().find(name);
  return it == impl_->parser.get().end() ? "" : std::string(it->value());
}

bool StreamingClient::ReadUntil(std::string_view needle, std::chrono::milliseconds timeout) {
  return ReadUntilBody(
      [needle](const std::string& body) { return body.find(needle) != std::string::npos; },
      timeout);
}

bool StreamingClient::ReadUntilBody(const std::function<bool(const std::string&)>& done,
                                    std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done(impl_->body)) {
    if (impl_->failed || impl_->done) return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    if (!impl_->ReadSome(left)) return done(impl_->body);
  }
  return true;
}

bool StreamingClient::ReadToEnd(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!impl_->done) {
    if (impl_->failed) return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    if (!impl_->ReadSome(left)) return false;
  }
  return true;
}

const std::string& StreamingClient::body() const { return impl_->body; }

void StreamingClient::Close() {
  beast::error_code ignored;
  impl_->stream.socket().set_option(asio::socket_base::linger(true, 0), ignored);
  impl_->stream.socket().close(ignored);
}

// ---- ProxyProcess ----

std::unique_ptr<ProxyProcess> ProxyProcess::Start(std::map<std::string, std::string> env,
                                                  const std::filesystem::path& data_dir,
                                                  std::vector<std::string> args) {
  auto p = std::unique_ptr<ProxyProcess>(new ProxyProcess());
  env.try_emplace("PORT", "0");
  env.try_emplace("DASHBOARD_PORT", "0");  // never the fixed 3001: tests run in parallel
  env.try_emplace("HOST", "127.0.0.1");
  env.try_emplace("DATA_DIR", data_dir.string());
  env.try_emplace("CREDENTIALS_DIR", (data_dir / "credentials").string());
  env.try_emplace("IO_THREADS", "2");
  env.try_emplace("LOG_LEVEL", "info");
  if (const char* path = std::getenv("PATH")) env.try_emplace("PATH", path);
  std::filesystem::create_directories(data_dir);
  static int counter = 0;
  p->log_path_ =
      data_dir / ("proxy-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".log");

  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_strings{CN_BINARY};
  for (auto& a : args) argv_strings.push_back(a);
  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, p->log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 34)
  // Nothing else of this process (Asio opens its sockets without close-on-exec): the child would
  // otherwise hold the fake upstream's listening socket open.
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
  int rc = posix_spawn(&p->pid_, CN_BINARY, &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return nullptr;

  // Wait (bounded) for "INFO listening address=... port=N dashboard_port=M".
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string log = p->Log();
    auto pos = log.find(" listening ");
    if (pos != std::string::npos) {
      auto port_pos = log.find("port=", pos);
      if (port_pos != std::string::npos) {
        p->port_ = static_cast<std::uint16_t>(std::stoi(log.substr(port_pos + 5)));
        auto dash_pos = log.find("dashboard_port=", pos);
        if (dash_pos != std::string::npos) {
          p->dashboard_port_ = static_cast<std::uint16_t>(std::stoi(log.substr(dash_pos + 15)));
        }
        return p;
      }
    }
    int status = 0;
    if (::waitpid(p->pid_, &status, WNOHANG) == p->pid_) {
      p->exited_ = true;
      p->exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return p;  // port_ stays 0: the caller asserts and prints Log()
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return p;
}

ProxyProcess::~ProxyProcess() {
  if (pid_ > 0 && !exited_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

std::string ProxyProcess::Log() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void ProxyProcess::Signal(int sig) {
  if (pid_ > 0 && !exited_) ::kill(pid_, sig);
}

std::optional<int> ProxyProcess::WaitExit(std::chrono::milliseconds timeout) {
  if (exited_) return exit_status_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exited_ = true;
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      return 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return std::nullopt;
}

// ---- misc ----

TempDir::TempDir() {
  std::random_device rd;
  path_ = std::filesystem::temp_directory_path() /
          ("cn-it-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

bool Eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return pred();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

struct RecordReader::Impl {
  std::unique_ptr<storage::SqliteStore> store;
};

RecordReader::RecordReader(const std::filesystem::path& data_dir)
    : impl_(std::make_unique<Impl>()) {
  auto s =
      storage::SqliteStore::Open(storage::SqliteOptions{(data_dir / "claude-nexus.db").string()});
  if (s.ok()) impl_->store = std::move(s).value();
}

RecordReader::~RecordReader() = default;

std::int64_t RecordReader::Count() {
  if (!impl_->store) return -1;
  auto c = impl_->store->CountRecords();
  return c.ok() ? *c : -1;
}

std::optional<Record> RecordReader::Get(const std::string& request_id) {
  if (!impl_->store) return std::nullopt;
  auto r = impl_->store->GetRecord(request_id);
  if (!r.ok()) return std::nullopt;
  return *r;
}

double MetricValue(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  }
  return -1;
}

}  // namespace cn::testing
