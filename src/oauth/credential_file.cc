#include "oauth/credential_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <thread>

#include "common/ids.h"

namespace cn::oauth {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr std::size_t kMaxFileBytes = 1 << 20;

std::string Errno(std::string_view what, const fs::path& path) {
  return std::string(what) + " '" + path.string() + "': " + std::strerror(errno);
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void Indent(std::string& out, int depth) { out.append(static_cast<std::size_t>(depth) * 2, ' '); }

void Pretty(const json::value& v, std::string& out, int depth) {
  if (v.is_object()) {
    const json::object& o = v.get_object();
    if (o.empty()) {
      out += "{}";
      return;
    }
    out += "{\n";
    bool first = true;
    for (const auto& kv : o) {
      if (!first) out += ",\n";
      first = false;
      Indent(out, depth + 1);
      out += json::serialize(json::string(kv.key()));
      out += ": ";
      Pretty(kv.value(), out, depth + 1);
    }
    out += "\n";
    Indent(out, depth);
    out += "}";
  } else if (v.is_array()) {
    const json::array& a = v.get_array();
    if (a.empty()) {
      out += "[]";
      return;
    }
    out += "[\n";
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (i) out += ",\n";
      Indent(out, depth + 1);
      Pretty(a[i], out, depth + 1);
    }
    out += "\n";
    Indent(out, depth);
    out += "]";
  } else {
    out += json::serialize(v);
  }
}

}  // namespace

fs::path LockFilePath(const fs::path& credential_file) {
  fs::path lock = credential_file;
  lock += ".lock";
  return lock;
}

StatusOr<FileLock> FileLock::Acquire(const fs::path& credential_file,
                                     std::chrono::milliseconds timeout) {
  const fs::path path = LockFilePath(credential_file);
  Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (fd.get() < 0) return Status::IoError(Errno("cannot open lock file", path));
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  // Non-blocking attempts with a short pause: a plain blocking flock() could not be bounded, and
  // the holder (another process mid-refresh) releases within one token request.
  for (auto pause = std::chrono::milliseconds(1);;
       pause = std::min(pause * 2, std::chrono::milliseconds(20))) {
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) return FileLock(fd.release());
    if (errno != EWOULDBLOCK && errno != EINTR) return Status::IoError(Errno("cannot lock", path));
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status::Unavailable("timed out after " + std::to_string(timeout.count()) +
                                 " ms waiting for the lock '" + path.string() +
                                 "' (another process is refreshing this credential)");
    }
    std::this_thread::sleep_for(pause);
  }
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor releases the flock
}

StatusOr<std::string> ReadFileText(const fs::path& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT)
      return Status::NotFound("credential file '" + path.string() + "' does not exist");
    return Status::IoError(Errno("cannot open", path));
  }
  std::string text;
  std::array<char, 8192> buf{};
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IoError(Errno("cannot read", path));
    }
    if (n == 0) break;
    text.append(buf.data(), static_cast<std::size_t>(n));
    if (text.size() > kMaxFileBytes) {
      return Status::Corruption("'" + path.string() + "' is too large to be a credential file");
    }
  }
  return text;
}

Status WriteFileAtomically(const fs::path& path, std::string_view content) {
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  std::array<std::uint8_t, 6> rnd{};
  RandomBytes(rnd);
  std::string suffix;
  for (const std::uint8_t b : rnd) suffix += "0123456789abcdef"[b & 15];
  // A dot-name that does not end in ".credentials.json", so listings never take it for a
  // credential file.
  const fs::path tmp =
      dir / ("." + path.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" + suffix);
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (fd.get() < 0) return Status::IoError(Errno("cannot create", tmp));
  struct stat old {};
  if (::stat(path.c_str(), &old) == 0 && ::geteuid() == 0) {
    (void)::fchown(fd.get(), old.st_uid, old.st_gid);  // best effort: keep the operator's owner
  }
  const bool ok =
      ::fchmod(fd.get(), 0600) == 0 && WriteAll(fd.get(), content) && ::fsync(fd.get()) == 0;
  if (!ok) {
    const std::string error = Errno("cannot write", tmp);
    ::unlink(tmp.c_str());
    return Status::IoError(error);
  }
  ::close(fd.release());
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string error = Errno("cannot replace", path);
    ::unlink(tmp.c_str());
    return Status::IoError(error);
  }
  // The rename is durable only once the directory entry is.
  Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() >= 0) (void)::fsync(dir_fd.get());
  return Status::Ok();
}

StatusOr<std::string> MergeOAuthTokens(std::string_view existing_json, const TokenGrant& grant,
                                       std::string_view account_id) {
  json::object root;
  if (!existing_json.empty()) {
    std::error_code ec;
    json::value parsed = json::parse(existing_json, ec);
    if (ec || !parsed.is_object()) {
      return Status::Corruption("the existing file is not a JSON object" +
                                (ec ? " (" + ec.message() + ")" : std::string()) +
                                "; it was left untouched");
    }
    root = std::move(parsed.get_object());
  }
  root["type"] = "oauth";
  if ((!root.contains("accountId") || !root["accountId"].is_string()) && !account_id.empty()) {
    root["accountId"] = account_id;
  }
  json::value& oauth_value = root["oauth"];
  if (!oauth_value.is_object()) oauth_value = json::object();
  json::object& oauth = oauth_value.get_object();
  oauth["accessToken"] = grant.access_token;
  oauth["refreshToken"] = grant.refresh_token;
  oauth["expiresAt"] = grant.expires_at_ms;
  json::array scopes;
  for (const std::string& s : grant.scopes) scopes.emplace_back(s);
  oauth["scopes"] = std::move(scopes);
  if (!oauth.contains("isMax") || !oauth["isMax"].is_bool()) oauth["isMax"] = true;
  return PrettyJson(json::serialize(root));
}

std::string PrettyJson(std::string_view compact_json) {
  std::error_code ec;
  json::value v = json::parse(compact_json, ec);
  if (ec) return std::string(compact_json);
  std::string out;
  Pretty(v, out, 0);
  out += "\n";
  return out;
}

}  // namespace cn::oauth
