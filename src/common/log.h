// Structured logging, flushed by its own thread.
//
// Log calls format one line and push it onto a bounded in-memory queue; a background thread
// writes queued lines to stderr. The calling thread never does I/O, so logging is safe on the
// proxy's hot path. When the queue is full, lines are dropped and counted (DroppedLines()), never
// blocked on. Secrets must be masked by the caller (see proxy/header_policy.h); the logger does
// not inspect values.
//
// Thread-safety: every function is safe to call from any thread. Init() before the first log
// line you care about (lines logged before Init() go straight to stderr, synchronously);
// Shutdown() flushes and joins the writer thread.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace cn::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

struct Field {
  std::string_view key;
  std::string value;
  Field(std::string_view k, std::string v) : key(k), value(std::move(v)) {}
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(v) {}
  Field(std::string_view k, std::int64_t v) : key(k), value(std::to_string(v)) {}
  Field(std::string_view k, int v) : key(k), value(std::to_string(v)) {}
  Field(std::string_view k, unsigned v) : key(k), value(std::to_string(v)) {}
  Field(std::string_view k, std::uint64_t v) : key(k), value(std::to_string(v)) {}
  Field(std::string_view k, double v) : key(k), value(std::to_string(v)) {}
  Field(std::string_view k, bool v) : key(k), value(v ? "true" : "false") {}
};

// Parses "debug" | "info" | "warn" | "error" (case-insensitive). Returns false on other text.
bool ParseLevel(std::string_view text, Level* level);

void Init(Level min_level, bool json_lines);
void Shutdown();
bool Enabled(Level level);
void Write(Level level, std::string_view message, std::initializer_list<Field> fields = {});
std::uint64_t DroppedLines();

inline void Debug(std::string_view m, std::initializer_list<Field> f = {}) {
  if (Enabled(Level::kDebug)) Write(Level::kDebug, m, f);
}
inline void Info(std::string_view m, std::initializer_list<Field> f = {}) {
  Write(Level::kInfo, m, f);
}
inline void Warn(std::string_view m, std::initializer_list<Field> f = {}) {
  Write(Level::kWarn, m, f);
}
inline void Error(std::string_view m, std::initializer_list<Field> f = {}) {
  Write(Level::kError, m, f);
}

// Formats one line without queueing it (exposed for tests).
std::string FormatLine(Level level, std::int64_t unix_micros, std::string_view message,
                       std::initializer_list<Field> fields, bool json_lines);

}  // namespace cn::log
