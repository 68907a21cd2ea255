// Test helpers for the oauth layer: a scripted in-memory TokenEndpoint (with an optional gate
// that holds answers until released) and a scratch directory with credential files.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <boost/json.hpp>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "oauth/token_protocol.h"

namespace cn::oauth::testing {

// Answers refresh grants like the real endpoint (rotation: a refresh token works once).
class ScriptedEndpoint : public TokenEndpoint {
 public:
  TokenHttpResult Post(const std::string& body) override {
    std::unique_lock lock(mu_);
    bodies_.push_back(body);
    ++calls_;
    cv_.notify_all();
    cv_.wait(lock, [this] { return !gated_; });
    if (fail_status_ != 0) return {fail_status_, fail_body_, {}};
    if (transport_error_) return {0, {}, "connection refused"};
    const boost::json::value v = boost::json::parse(body);
    const std::string rt(v.at("refresh_token").as_string());
    if (rt != valid_refresh_token_)
      return {400, R"({"error":"invalid_grant","error_description":"spent"})", {}};
    ++issued_;
    valid_refresh_token_ = "rt-" + std::to_string(issued_);
    return {200,
            "{\"access_token\":\"at-" + std::to_string(issued_) + "\",\"refresh_token\":\"" +
                valid_refresh_token_ + "\",\"expires_in\":" + std::to_string(expires_in_s_) +
                ",\"scope\":\"user:inference\"}",
            {}};
  }

  void SetValid(std::string rt) {
    std::lock_guard lock(mu_);
    valid_refresh_token_ = std::move(rt);
  }
  void Gate(bool closed) {
    std::lock_guard lock(mu_);
    gated_ = closed;
    cv_.notify_all();
  }
  void Fail(int status, std::string body) {
    std::lock_guard lock(mu_);
    fail_status_ = status;
    fail_body_ = std::move(body);
  }
  void TransportError(bool on) {
    std::lock_guard lock(mu_);
    transport_error_ = on;
  }
  bool WaitForCalls(int n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return calls_ >= n; });
  }
  int calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }
  std::vector<std::string> bodies() const {
    std::lock_guard lock(mu_);
    return bodies_;
  }
  std::int64_t expires_in_s_ = 3600;

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> bodies_;
  int calls_ = 0, issued_ = 0;
  bool gated_ = false, transport_error_ = false;
  int fail_status_ = 0;
  std::string fail_body_;
  std::string valid_refresh_token_ = "rt-0";
};

class ScratchDir {
 public:
  ScratchDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("cn-oauth-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path Write(const std::string& name, const std::string& content) const {
    std::ofstream(path_ / name, std::ios::binary | std::ios::trunc) << content;
    return path_ / name;
  }
  static std::string Read(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  static unsigned Mode(const std::filesystem::path& p) {
    struct stat st {};
    ::stat(p.c_str(), &st);
    return st.st_mode & 0777;
  }

 private:
  std::filesystem::path path_;
};

// An oauth credential file with every optional field the original knows.
inline std::string OAuthFile(const std::string& access, const std::string& refresh,
                             std::int64_t expires_at_ms) {
  return R"({"type":"oauth","accountId":"acc_team","client_api_key":"cnp_live_k","slack":{"channel":"#c","enabled":true},)"
         R"("oauth":{"accessToken":")" +
         access + R"(","refreshToken":")" + refresh + R"(","expiresAt":)" +
         std::to_string(expires_at_ms) +
         R"(,"scopes":["user:inference"],"isMax":true,"extra":"kept"}})";
}

}  // namespace cn::oauth::testing
