#include "common/time.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace cn {

std::int64_t NowUnixMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {
std::string Format(std::int64_t us, bool micros) {
  std::int64_t secs = us / 1'000'000;
  std::int64_t frac = us % 1'000'000;
  if (frac < 0) {
    frac += 1'000'000;
    --secs;
  }
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];  // room for any int the compiler cannot rule out (no -Wformat-truncation)
  if (micros) {
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<long long>(frac));
  } else {
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03lldZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<long long>(frac / 1000));
  }
  return buf;
}
}  // namespace

std::string FormatIso8601(std::int64_t unix_micros) { return Format(unix_micros, false); }
std::string FormatIso8601Micros(std::int64_t unix_micros) { return Format(unix_micros, true); }

bool ParseIso8601(std::string_view text, std::int64_t* unix_micros) {
  int y, mo, d, h, mi, s;
  if (text.size() < 19) return false;
  std::string str(text);
  if (std::sscanf(str.c_str(), "%4d-%2d-%2d%*c%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &s) != 6) {
    return false;
  }
  std::int64_t frac = 0;
  std::size_t pos = 19;
  if (pos < str.size() && str[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < str.size() && str[pos] >= '0' && str[pos] <= '9') {
      if (digits < 6) {
        frac = frac * 10 + (str[pos] - '0');
        ++digits;
      }
      ++pos;
    }
    while (digits++ < 6) frac *= 10;
  }
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  std::time_t t = timegm(&tm);
  *unix_micros = static_cast<std::int64_t>(t) * 1'000'000 + frac;
  return true;
}

}  // namespace cn
