// Shared fixture: a fake upstream (in-process) and a claude-nexus child process recording into
// a fresh data directory.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include "fakes/fake_upstream.h"
#include "integration/harness.h"

namespace cn::testing {

class ProxyFixture : public ::testing::Test {
 protected:
  void StartUpstream(FakeUpstreamOptions o = {}) { upstream_ = std::make_unique<FakeUpstream>(o); }

  // Starts the proxy against the fake upstream (started first if needed).
  void StartProxy(std::map<std::string, std::string> env = {}) {
    if (!upstream_) StartUpstream();
    env.try_emplace("CLAUDE_API_BASE_URL", upstream_->base_url());
    proxy_ = ProxyProcess::Start(env, dir_.path());
    ASSERT_TRUE(proxy_);
    ASSERT_NE(proxy_->port(), 0) << proxy_->Log();
  }

  std::uint16_t port() const { return proxy_->port(); }
  RecordReader& records() {
    if (!reader_) reader_ = std::make_unique<RecordReader>(dir_.path());
    return *reader_;
  }
  // Waits until the proxy has committed at least n records, then returns the record with this id.
  std::optional<Record> WaitForRecord(const std::string& request_id) {
    std::optional<Record> r;
    Eventually([&] {
      r = records().Get(request_id);
      return r.has_value();
    });
    return r;
  }
  void WriteCredentials(const std::string& host, const std::string& json) {
    auto dir = dir_.path() / "credentials";
    std::filesystem::create_directories(dir);
    std::ofstream(dir / (host + ".credentials.json")) << json;
  }

  static std::string MessagesBody(bool stream = false, const std::string& extra = "") {
    return std::string("{\"model\":\"claude-sonnet-4-20250514\",\"max_tokens\":64,") +
           (stream ? "\"stream\":true," : "") + extra +
           "\"system\":[{\"type\":\"text\",\"text\":\"You are Claude "
           "Code.\"},{\"type\":\"text\",\"text\":\"Be brief.\"}],"
           "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";
  }

  TempDir dir_;
  std::unique_ptr<FakeUpstream> upstream_;
  std::unique_ptr<ProxyProcess> proxy_;
  std::unique_ptr<RecordReader> reader_;
};

}  // namespace cn::testing
