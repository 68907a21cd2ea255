// Integration-test harness: runs the real claude-nexus binary as a child process on
// 127.0.0.1:<ephemeral> against the fake upstream, and talks to it over real sockets.
// No Beast/Asio in this header (harness.cc is the one TU that includes them).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "record/record.h"

namespace cn::testing {

using HeaderPairs = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  int status = 0;
  HeaderPairs headers;
  std::string body;
  std::string error;  // transport error, empty on success
  std::string Header(std::string_view name) const;
};

// One request on a fresh connection. `timeout` bounds the whole exchange.
HttpResponse Http(std::uint16_t port, const std::string& method, const std::string& target,
                  const HeaderPairs& headers = {}, const std::string& body = {},
                  std::chrono::milliseconds timeout = std::chrono::seconds(20));

// Sends raw bytes and returns whatever comes back until the server closes or `timeout`.
std::string RawExchange(std::uint16_t port, const std::string& bytes,
                        std::chrono::milliseconds timeout = std::chrono::seconds(5));

// A request whose response body is read incrementally (SSE).
class StreamingClient {
 public:
  StreamingClient(std::uint16_t port, const std::string& target, const HeaderPairs& headers,
                  const std::string& body, const std::string& method = "POST");
  ~StreamingClient();
  int status() const;  // after ReadHeader()
  std::string Header(std::string_view name) const;
  bool ReadHeader(std::chrono::milliseconds timeout);
  // Reads until the accumulated body contains `needle` (true), the body ends or the timeout.
  bool ReadUntil(std::string_view needle, std::chrono::milliseconds timeout);
  // Reads until `done(body so far)` holds (true), the body ends or the timeout.
  bool ReadUntilBody(const std::function<bool(const std::string&)>& done,
                     std::chrono::milliseconds timeout);
  // Reads the rest of the body; true when the response ended well-framed.
  bool ReadToEnd(std::chrono::milliseconds timeout);
  const std::string& body() const;
  void Close();  // abrupt client disconnect

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// The claude-nexus binary (CN_BINARY) as a child process. Logs go to a file in the data dir.
class ProxyProcess {
 public:
  // Starts `claude-nexus serve` with a clean environment plus `env` (PORT=0, DASHBOARD_PORT=0,
  // HOST=127.0.0.1, DATA_DIR=<data_dir> are set unless given) and waits for its "listening" log
  // line.
  static std::unique_ptr<ProxyProcess> Start(std::map<std::string, std::string> env,
                                             const std::filesystem::path& data_dir,
                                             std::vector<std::string> args = {"serve"});
  ~ProxyProcess();  // SIGKILL if still running

  std::uint16_t port() const { return port_; }  // 0 when no proxy port (`dashboard`)
  std::uint16_t dashboard_port() const { return dashboard_port_; }  // 0 when none (`proxy`)
  pid_t pid() const { return pid_; }
  std::string Log() const;
  void Signal(int sig);
  // Waits for the process to exit; returns its exit status, or nullopt on timeout.
  std::optional<int> WaitExit(std::chrono::milliseconds timeout);
  std::string host_header() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  std::uint16_t dashboard_port_ = 0;
  std::filesystem::path log_path_;
  bool exited_ = false;
  int exit_status_ = 0;
};

// A scratch directory removed at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Polls `pred` every 10 ms until true or `timeout` (bounded wait; returns the last result).
bool Eventually(const std::function<bool()>& pred,
                std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Reads the proxy's SQLite database (a separate read-only connection, as a user would).
class RecordReader {
 public:
  explicit RecordReader(const std::filesystem::path& data_dir);
  ~RecordReader();
  std::int64_t Count();
  std::optional<Record> Get(const std::string& request_id);
  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Value of an unlabelled sample in Prometheus text, or -1.
double MetricValue(const std::string& metrics_text, const std::string& name);

}  // namespace cn::testing
