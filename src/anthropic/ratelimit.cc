#include "anthropic/ratelimit.h"

#include <charconv>
#include <cmath>
#include <system_error>

#include "common/ascii.h"
#include "common/json.h"
#include "common/time.h"

namespace cn::anthropic {
namespace {

constexpr std::string_view kPrefix = "anthropic-ratelimit-";
constexpr std::string_view kUnified = "unified-";

std::optional<std::int64_t> ParseInt(std::string_view s) {
  s = TrimHttpSpace(s);
  std::int64_t v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<double> ParseDouble(std::string_view s) {
  s = TrimHttpSpace(s);
  double v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty() || !std::isfinite(v)) {
    return std::nullopt;
  }
  return v;
}

// Unix seconds, or an RFC 3339 time (the API-key headers' format).
std::optional<std::int64_t> ParseTime(std::string_view s) {
  if (auto secs = ParseInt(s)) return secs;
  std::int64_t micros = 0;
  if (ParseIso8601(TrimHttpSpace(s), &micros)) return micros / 1'000'000;
  return std::nullopt;
}

// Sets `*out` from `value` with `parse`; false (out untouched) when it does not parse.
template <typename T, typename Parse>
bool Set(std::optional<T>* out, std::string_view value, Parse parse) {
  auto v = parse(value);
  if (!v) return false;
  *out = *v;
  return true;
}

bool ApplyUnifiedTop(RateLimitState& st, std::string_view field, std::string_view value) {
  const std::string v(TrimHttpSpace(value));
  if (field == "status") {
    st.status = v;
    return true;
  }
  if (field == "reset") return Set(&st.resets_at, value, ParseTime);
  if (field == "representative-claim") {
    st.representative_claim = v;
    return true;
  }
  if (field == "fallback") {
    st.fallback = v;
    return true;
  }
  if (field == "fallback-percentage") return Set(&st.fallback_percentage, value, ParseDouble);
  if (field == "overage-status") {
    st.overage_status = v;
    return true;
  }
  if (field == "overage-reset") return Set(&st.overage_resets_at, value, ParseTime);
  if (field == "overage-disabled-reason") {
    st.overage_disabled_reason = v;
    return true;
  }
  return false;
}

bool ApplyWindow(RateLimitWindow& w, std::string_view field, std::string_view value) {
  if (field == "status") {
    w.status = std::string(TrimHttpSpace(value));
    return true;
  }
  if (field == "utilization") return Set(&w.utilization, value, ParseDouble);
  if (field == "reset") return Set(&w.resets_at, value, ParseTime);
  if (field == "surpassed-threshold") return Set(&w.surpassed_threshold, value, ParseDouble);
  return false;
}

bool ApplyBucket(RateLimitBucket& b, std::string_view field, std::string_view value) {
  if (field == "limit") return Set(&b.limit, value, ParseInt);
  if (field == "remaining") return Set(&b.remaining, value, ParseInt);
  if (field == "reset") return Set(&b.resets_at, value, ParseTime);
  return false;
}

bool Apply(RateLimitState& st, std::string_view rest, std::string_view value) {
  if (rest.starts_with(kUnified)) {
    rest.remove_prefix(kUnified.size());
    if (ApplyUnifiedTop(st, rest, value)) return true;
    // <window>-<field>: the window name has no '-' ("5h", "7d", "7d_opus").
    const std::size_t dash = rest.find('-');
    if (dash == std::string_view::npos || dash == 0) return false;
    RateLimitWindow w = st.windows[std::string(rest.substr(0, dash))];
    if (!ApplyWindow(w, rest.substr(dash + 1), value)) return false;
    st.windows[std::string(rest.substr(0, dash))] = std::move(w);
    return true;
  }
  // <bucket>-<field>, the bucket may contain '-' ("input-tokens").
  const std::size_t dash = rest.rfind('-');
  if (dash == std::string_view::npos || dash == 0) return false;
  RateLimitBucket b = st.buckets[std::string(rest.substr(0, dash))];
  if (!ApplyBucket(b, rest.substr(dash + 1), value)) return false;
  st.buckets[std::string(rest.substr(0, dash))] = b;
  return true;
}

void Num(std::string& out, double v) {
  char buf[32];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, res.ptr);
}

class ObjectWriter {
 public:
  explicit ObjectWriter(std::string& out) : out_(out) { out_.push_back('{'); }
  ~ObjectWriter() { out_.push_back('}'); }
  ObjectWriter(const ObjectWriter&) = delete;
  ObjectWriter& operator=(const ObjectWriter&) = delete;
  void Key(std::string_view k) {
    if (!first_) out_.push_back(',');
    first_ = false;
    AppendJsonString(out_, k);
    out_.push_back(':');
  }
  void Text(std::string_view k, const std::string& v) {  // omitted when empty
    if (!v.empty()) String(k, v);
  }
  void String(std::string_view k, std::string_view v) {
    Key(k);
    AppendJsonString(out_, v);
  }
  void Int(std::string_view k, const std::optional<std::int64_t>& v) {
    if (!v) return;
    Key(k);
    out_ += std::to_string(*v);
  }
  void Double(std::string_view k, const std::optional<double>& v) {
    if (!v) return;
    Key(k);
    Num(out_, *v);
  }

 private:
  std::string& out_;
  bool first_ = true;
};

}  // namespace

bool RateLimitState::empty() const {
  return status.empty() && !resets_at && representative_claim.empty() && fallback.empty() &&
         !fallback_percentage && overage_status.empty() && !overage_resets_at &&
         overage_disabled_reason.empty() && windows.empty() && buckets.empty() && unknown.empty();
}

RateLimitState ParseRateLimitHeaders(const Headers& headers) {
  RateLimitState st;
  for (const Header& h : headers) {
    if (!StartsWithIgnoreCase(h.name, kPrefix)) continue;
    const std::string name = AsciiToLower(h.name);
    const std::string_view rest = std::string_view(name).substr(kPrefix.size());
    if (!Apply(st, rest, h.value)) st.unknown[name] = h.value;
  }
  // A window or bucket that only malformed values touched stays out of the state.
  std::erase_if(st.windows, [](const auto& kv) { return kv.second == RateLimitWindow{}; });
  std::erase_if(st.buckets, [](const auto& kv) { return kv.second == RateLimitBucket{}; });
  return st;
}

std::string RateLimitJson(const RateLimitState& st) {
  if (st.empty()) return {};
  std::string out;
  {
    ObjectWriter o(out);
    o.Text("status", st.status);
    o.Int("resetsAt", st.resets_at);
    o.Text("representativeClaim", st.representative_claim);
    o.Text("fallback", st.fallback);
    o.Double("fallbackPercentage", st.fallback_percentage);
    o.Text("overageStatus", st.overage_status);
    o.Int("overageResetsAt", st.overage_resets_at);
    o.Text("overageDisabledReason", st.overage_disabled_reason);
    if (!st.windows.empty()) {
      o.Key("windows");
      ObjectWriter ws(out);
      for (const auto& [name, w] : st.windows) {
        ws.Key(name);
        ObjectWriter wo(out);
        wo.Text("status", w.status);
        wo.Double("utilization", w.utilization);
        wo.Int("resetsAt", w.resets_at);
        wo.Double("surpassedThreshold", w.surpassed_threshold);
      }
    }
    if (!st.buckets.empty()) {
      o.Key("buckets");
      ObjectWriter bs(out);
      for (const auto& [name, b] : st.buckets) {
        bs.Key(name);
        ObjectWriter bo(out);
        bo.Int("limit", b.limit);
        bo.Int("remaining", b.remaining);
        bo.Int("resetsAt", b.resets_at);
      }
    }
    if (!st.unknown.empty()) {
      o.Key("unknown");
      ObjectWriter us(out);
      for (const auto& [name, value] : st.unknown) us.String(name, value);
    }
  }
  return out;
}

}  // namespace cn::anthropic
