// Helpers shared by the record tests: sample records, an in-memory Store double, a scratch
// directory and a bounded wait. Thread-safety: MemoryStore is safe from any thread; the rest
// are plain functions.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/ids.h"
#include "record/record.h"
#include "storage/store.h"

namespace cn::recording::test {

// A record with every hot-path field set; `i` makes it unique.
inline Record MakeRecord(int i) {
  Record r;
  r.request_id = "req-" + std::to_string(i);
  r.domain = "team.example.com:3000";
  r.timestamp_unix_micros = 1'700'000'000'000'000 + i;
  r.method = "POST";
  r.path = "/v1/messages";
  r.request_headers = {{"Content-Type", "application/json"}, {"x-api-key", "sk-ant-****"}};
  r.request_body = R"({"model":"claude-3-5-sonnet","messages":[{"role":"user","content":"hi )" +
                   std::to_string(i) + R"("}]})";
  r.response_status = 200;
  r.response_body = std::string("\x00\xff binary ", 10) + std::to_string(i);
  r.chunks = {{r.timestamp_unix_micros + 5, "event: ping\ndata: {}\n\n"}};
  r.duration_micros = 1234;
  r.upstream_attempts = 1;
  return r;
}

// In-memory Store: keeps the first copy of each request_id (idempotent like the real ones) and
// counts every attempt to insert one, so tests can tell "written once" from "deduplicated".
class MemoryStore final : public Store {
 public:
  std::string_view Kind() const override { return "memory"; }
  Status Migrate() override { return Status::Ok(); }
  Status WriteBatch(std::span<const Record> records) override {
    std::lock_guard lk(mu_);
    ++write_calls_;
    for (const Record& r : records) {
      if (rejected_ids_.contains(r.request_id)) {
        return Status::InvalidArgument("record " + r.request_id + " violates a constraint");
      }
    }
    for (const Record& r : records) {
      if (!r.enriched) ++unenriched_writes_;
      ++insert_attempts_[r.request_id];
      records_.emplace(r.request_id, r);
    }
    return Status::Ok();
  }
  Status Ping() override { return Status::Ok(); }
  StatusOr<std::vector<DomainStats>> LoadDomainStats() override {
    return std::vector<DomainStats>{};
  }
  StatusOr<std::optional<Record>> GetRecord(std::string_view request_id) override {
    std::lock_guard lk(mu_);
    auto it = records_.find(std::string(request_id));
    if (it == records_.end()) return std::optional<Record>();
    return std::optional<Record>(it->second);
  }
  StatusOr<std::int64_t> CountRecords() override {
    std::lock_guard lk(mu_);
    return static_cast<std::int64_t>(records_.size());
  }
  StatusOr<std::int64_t> PruneOlderThan(std::int64_t, std::int64_t) override {
    return Status::Internal("memory store keeps everything");
  }
  bool SharedByReplicas() const override { return false; }

  void Reject(std::string request_id) {
    std::lock_guard lk(mu_);
    rejected_ids_.insert(std::move(request_id));
  }
  std::size_t size() const {
    std::lock_guard lk(mu_);
    return records_.size();
  }
  std::size_t write_calls() const {
    std::lock_guard lk(mu_);
    return write_calls_;
  }
  std::size_t unenriched_writes() const {
    std::lock_guard lk(mu_);
    return unenriched_writes_;
  }
  std::map<std::string, int> insert_attempts() const {
    std::lock_guard lk(mu_);
    return insert_attempts_;
  }
  std::map<std::string, Record> records() const {
    std::lock_guard lk(mu_);
    return records_;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, Record> records_;
  std::map<std::string, int> insert_attempts_;
  std::set<std::string> rejected_ids_;
  std::size_t write_calls_ = 0;
  std::size_t unenriched_writes_ = 0;
};

// A fresh directory under the gtest temp dir, removed by the destructor.
class ScratchDir {
 public:
  ScratchDir() : path_(std::filesystem::path(::testing::TempDir()) / ("cn-record-" + NewUuidV4())) {
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Polls `done` until it holds or `limit` passes; returns its last value. Bounded by design:
// a broken pipeline fails the test instead of hanging it.
template <typename Pred>
bool WaitFor(Pred done, std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= end) return done();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

}  // namespace cn::recording::test
