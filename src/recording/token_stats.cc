#include "recording/token_stats.h"

#include <algorithm>

#include "common/json.h"

namespace cn::recording {

void TokenStats::Load(const std::vector<DomainStats>& stats) {
  std::lock_guard lock(mu_);
  by_domain_.clear();
  for (const auto& s : stats) by_domain_[s.domain] = s;
}

void TokenStats::AddCommitted(std::span<const Record> records) {
  std::lock_guard lock(mu_);
  for (const auto& r : records) {
    DomainStats& s = by_domain_[r.domain];
    s.domain = r.domain;
    s.input_tokens += r.usage.input_tokens;
    s.output_tokens += r.usage.output_tokens;
    s.request_count += 1;
    if (r.request_type == "query_evaluation") s.query_evaluation_count += 1;
    if (r.request_type == "inference") s.inference_count += 1;
    s.tool_call_count += r.tool_call_count;
    s.last_updated_unix_micros = std::max(s.last_updated_unix_micros, r.timestamp_unix_micros);
  }
}

std::vector<DomainStats> TokenStats::All() const {
  std::lock_guard lock(mu_);
  std::vector<DomainStats> out;
  for (const auto& [_, s] : by_domain_) out.push_back(s);
  return out;
}

std::optional<DomainStats> TokenStats::ForDomain(const std::string& domain) const {
  std::lock_guard lock(mu_);
  auto it = by_domain_.find(domain);
  if (it == by_domain_.end()) return std::nullopt;
  return it->second;
}

namespace {

void AppendEntry(std::string& out, const DomainStats& s) {
  out += "{\"inputTokens\":" + std::to_string(s.input_tokens) +
         ",\"outputTokens\":" + std::to_string(s.output_tokens) +
         ",\"totalTokens\":" + std::to_string(s.input_tokens + s.output_tokens) +
         ",\"requestCount\":" + std::to_string(s.request_count) +
         ",\"queryEvaluationCount\":" + std::to_string(s.query_evaluation_count) +
         ",\"inferenceCount\":" + std::to_string(s.inference_count) +
         ",\"toolCallCount\":" + std::to_string(s.tool_call_count) +
         ",\"lastUpdated\":" + std::to_string(s.last_updated_unix_micros / 1000) + "}";
}
}  // namespace

std::string TokenStats::ToJson(const std::optional<std::string>& domain) const {
  std::lock_guard lock(mu_);
  std::string out;
  if (domain) {
    auto it = by_domain_.find(*domain);
    if (it == by_domain_.end()) return "null";
    AppendEntry(out, it->second);
    return out;
  }
  out = "{\"stats\":{";
  bool first = true;
  for (const auto& [name, s] : by_domain_) {
    if (!first) out.push_back(',');
    first = false;
    AppendJsonString(out, name);
    out.push_back(':');
    AppendEntry(out, s);
  }
  out += "}}";
  return out;
}

}  // namespace cn::recording
