// TokenStats: per-domain token and request totals behind GET /token-stats.
//
// Unlike the original's in-memory-only counters (lost on restart), these are loaded from the
// store at start-up (Store::LoadDomainStats) and then advanced by the record pipeline after each
// committed batch, so they always describe what is durably recorded and survive restarts.
//
// Thread-safety: all methods are safe from any thread (one mutex; updates are per batch, reads
// are rare).
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "record/record.h"
#include "storage/store.h"

namespace cn::recording {

class TokenStats {
 public:
  void Load(const std::vector<DomainStats>& stats);
  void AddCommitted(std::span<const Record> records);
  std::vector<DomainStats> All() const;
  std::optional<DomainStats> ForDomain(const std::string& domain) const;

  // JSON for GET /token-stats: {"stats":{"<domain>":{...}}}, or the one entry / null for
  // ?domain=. Entry fields use the original's names (inputTokens, outputTokens, requestCount,
  // queryEvaluationCount, inferenceCount, toolCallCount, lastUpdated (epoch ms)).
  std::string ToJson(const std::optional<std::string>& domain) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, DomainStats> by_domain_;  // guarded by mu_
};

}  // namespace cn::recording
