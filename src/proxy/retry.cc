#include "proxy/retry.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>

#include "common/ascii.h"

namespace cn::proxy {
namespace {

using std::chrono::milliseconds;

std::optional<std::int64_t> ParseDigits(std::string_view s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  std::int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}

std::optional<int> MonthIndex(std::string_view name) {
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (int i = 0; i < 12; ++i) {
    if (EqualsIgnoreCase(kMonths[i], name)) return i + 1;
  }
  return std::nullopt;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t DaysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

// "HH:MM:SS" → seconds of the day.
std::optional<std::int64_t> ParseClock(std::string_view s) {
  if (s.size() != 8 || s[2] != ':' || s[5] != ':') return std::nullopt;
  auto h = ParseDigits(s.substr(0, 2)), m = ParseDigits(s.substr(3, 2)),
       sec = ParseDigits(s.substr(6, 2));
  if (!h || !m || !sec || *h > 23 || *m > 59 || *sec > 60) return std::nullopt;
  return *h * 3600 + *m * 60 + *sec;
}

std::optional<std::int64_t> Assemble(std::optional<std::int64_t> day, std::optional<int> month,
                                     std::optional<std::int64_t> year,
                                     std::optional<std::int64_t> clock) {
  if (!day || !month || !year || !clock || *day < 1 || *day > 31) return std::nullopt;
  return DaysFromCivil(*year, static_cast<unsigned>(*month), static_cast<unsigned>(*day)) * 86400 +
         *clock;
}

// Splits on single or repeated spaces.
std::array<std::string_view, 6> Fields(std::string_view s, std::size_t* count) {
  std::array<std::string_view, 6> out{};
  *count = 0;
  while (!s.empty()) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    if (s.empty()) break;
    const std::size_t end = std::min(s.find(' '), s.size());
    if (*count == out.size()) {
      *count = out.size() + 1;  // too many fields
      return out;
    }
    out[(*count)++] = s.substr(0, end);
    s.remove_prefix(end);
  }
  return out;
}

}  // namespace

std::optional<std::int64_t> ParseHttpDate(std::string_view text) {
  std::size_t n = 0;
  const auto f = Fields(TrimHttpSpace(text), &n);
  if (n == 6 && f[0].ends_with(',') && f[5] == "GMT") {  // IMF-fixdate
    return Assemble(ParseDigits(f[1]), MonthIndex(f[2]), ParseDigits(f[3]), ParseClock(f[4]));
  }
  if (n == 4 && f[0].ends_with(',') && f[3] == "GMT" && f[1].size() == 9 && f[1][2] == '-' &&
      f[1][6] == '-') {  // RFC 850: two-digit year, interpreted as 1970..2069
    std::optional<std::int64_t> year = ParseDigits(f[1].substr(7, 2));
    if (year) *year += *year < 70 ? 2000 : 1900;
    return Assemble(ParseDigits(f[1].substr(0, 2)), MonthIndex(f[1].substr(3, 3)), year,
                    ParseClock(f[2]));
  }
  if (n == 5) {  // asctime
    return Assemble(ParseDigits(f[2]), MonthIndex(f[1]), ParseDigits(f[4]), ParseClock(f[3]));
  }
  return std::nullopt;
}

bool IsRetryableStatus(int status) {
  return status == 0 || status == 429 || status == 529 || (status >= 500 && status <= 599);
}

std::optional<milliseconds> RetryDelay(const RetryPolicy& policy, int attempt, int status,
                                       std::string_view retry_after, std::int64_t now_unix_seconds,
                                       double random01, std::string_view retry_after_ms) {
  if (!IsRetryableStatus(status)) return std::nullopt;
  if (attempt < 1) attempt = 1;
  if (attempt > policy.max_retries) return std::nullopt;

  // The server's own estimate, when it gave one we can read.
  std::optional<milliseconds> hinted;
  if (auto ms = ParseDigits(TrimHttpSpace(retry_after_ms))) {
    hinted = milliseconds(*ms);
  } else if (auto seconds = ParseDigits(TrimHttpSpace(retry_after))) {
    hinted = milliseconds(std::min<std::int64_t>(*seconds, INT64_MAX / 1000) * 1000);
  } else if (auto date = ParseHttpDate(retry_after)) {
    hinted = milliseconds(std::max<std::int64_t>(0, *date - now_unix_seconds) * 1000);
  }
  if (hinted) {
    if (*hinted > policy.max_retry_after) return std::nullopt;
    return *hinted;
  }

  const int doublings = std::min(attempt - 1, 30);
  const double cap = std::min(static_cast<double>(policy.base.count()) * std::ldexp(1.0, doublings),
                              static_cast<double>(policy.max_delay.count()));
  const double r = std::clamp(random01, 0.0, 1.0);
  return milliseconds(static_cast<std::int64_t>(cap / 2 + r * cap / 2));
}

}  // namespace cn::proxy
