// Wall-clock helpers. Records carry wall-clock microseconds since the Unix epoch (UTC).
#pragma once

#include <cstdint>
#include <string>

namespace cn {

// Microseconds since the Unix epoch, from the system clock.
std::int64_t NowUnixMicros();

// "2026-11-27T06:40:00.123Z" (UTC, millisecond precision), the format of every stored timestamp.
std::string FormatIso8601(std::int64_t unix_micros);

// "2026-11-27T06:40:00.123456Z" (UTC, microsecond precision).
std::string FormatIso8601Micros(std::int64_t unix_micros);

// Parses the formats above (and any fractional precision, or none). Returns false on bad input.
bool ParseIso8601(std::string_view text, std::int64_t* unix_micros);

}  // namespace cn
