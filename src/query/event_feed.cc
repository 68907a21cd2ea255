#include "query/event_feed.h"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "common/log.h"
#include "common/time.h"
#include "query/sql.h"

namespace cn::query {
namespace json = boost::json;

EventFeed::EventFeed(std::unique_ptr<SqlReader> reader, std::chrono::milliseconds poll,
                     std::size_t capacity)
    : reader_(std::move(reader)), poll_(poll), capacity_(capacity) {}

EventFeed::~EventFeed() { Stop(); }

Status EventFeed::Start() {
  {
    std::lock_guard<std::mutex> poll_lock(poll_mu_);
    std::int64_t max = 0;
    Status st =
        reader_->Query("SELECT COALESCE(MAX(seq), 0) FROM cn_events", {}, [&](const SqlRow& row) {
          max = row.Int(0);
          return false;
        });
    if (!st.ok()) return st.WithContext("event feed");
    std::lock_guard<std::mutex> lock(mu_);
    max_seq_ = max;
  }
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

void EventFeed::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void EventFeed::Run() {
  bool warned = false;
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    lock.unlock();
    auto n = PollOnce();
    if (!n.ok() && !warned) {
      log::Warn("event feed cannot read the store; retrying", {{"error", n.status().message()}});
      warned = true;
    } else if (n.ok()) {
      warned = false;
    }
    lock.lock();
    stop_cv_.wait_for(lock, poll_, [this] { return stop_; });
  }
}

StatusOr<int> EventFeed::PollOnce() {
  std::lock_guard<std::mutex> poll_lock(poll_mu_);
  std::int64_t from;
  {
    std::lock_guard<std::mutex> lock(mu_);
    from = max_seq_;
  }
  const SqlDialect d = reader_->dialect();
  std::vector<FeedEvent> fresh;
  Status st = reader_->Query(
      "SELECT e.seq, " + IdText(d, "r.request_id") + ", " + TsUs(d, "r") +
          ", r.domain, r.model, r.request_type, r.outcome, r.response_status, r.input_tokens, "
          "r.output_tokens, r.cache_read_input_tokens, r.cache_creation_input_tokens, "
          "r.cost_usd, " +
          IdText(d, "r.conversation_id") +
          ", r.branch_id, r.account_id, r.user_id, r.duration_ms FROM cn_events e JOIN "
          "api_requests r ON r.request_id = e.request_id WHERE e.seq > ? ORDER BY e.seq LIMIT 1000",
      {SqlParam::Int(from)}, [&](const SqlRow& row) {
        const std::int64_t seq = row.Int(0);
        auto text = [&](int c) {
          return row.IsNull(c) ? json::value(nullptr) : json::value(json::string(row.Text(c)));
        };
        json::object o{
            {"requestId", json::string(row.Text(1))},
            {"timestamp", FormatIso8601(row.Int(2))},
            {"domain", text(3)},
            {"model", text(4)},
            {"requestType", text(5)},
            {"outcome", text(6)},
            {"responseStatus", row.IsNull(7) ? json::value(nullptr) : json::value(row.Int(7))},
            {"inputTokens", row.Int(8)},
            {"outputTokens", row.Int(9)},
            {"cacheReadInputTokens", row.Int(10)},
            {"cacheCreationInputTokens", row.Int(11)},
            {"costUsd", row.IsNull(12) ? json::value(nullptr) : json::value(row.Double(12))},
            {"conversationId", text(13)},
            {"branchId", text(14)},
            {"accountId", text(15)},
            {"userId", text(16)},
            {"durationMs", row.IsNull(17) ? json::value(nullptr) : json::value(row.Int(17))}};
        fresh.push_back(FeedEvent{seq, 0, json::serialize(o)});
        return true;
      });
  if (!st.ok()) return st;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& e : fresh) {
    e.position = next_position_++;
    max_seq_ = e.seq;  // ascending
    ring_.push_back(std::move(e));
    if (ring_.size() > capacity_) ring_.pop_front();
  }
  return static_cast<int>(fresh.size());
}

std::vector<FeedEvent> EventFeed::After(std::uint64_t position, std::size_t max) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<FeedEvent> out;
  if (ring_.empty() || ring_.back().position <= position) return out;
  // Positions in the ring are consecutive.
  std::size_t start = position < ring_.front().position
                          ? 0
                          : static_cast<std::size_t>(position - ring_.front().position + 1);
  for (std::size_t i = start; i < ring_.size() && out.size() < max; ++i) out.push_back(ring_[i]);
  return out;
}

std::uint64_t EventFeed::PositionAfterSeq(std::optional<std::int64_t> last_seq) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!last_seq) return next_position_ - 1;
  std::uint64_t pos = ring_.empty() ? next_position_ - 1 : ring_.front().position - 1;
  for (const auto& e : ring_) {
    if (e.seq == *last_seq) return e.position;
    if (e.seq < *last_seq) pos = e.position;
  }
  return pos;
}

}  // namespace cn::query
