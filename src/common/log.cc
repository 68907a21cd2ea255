#include "common/log.h"

#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <thread>

#include "common/json.h"
#include "common/thread.h"
#include "common/time.h"

namespace cn::log {
namespace {

constexpr std::size_t kMaxQueuedLines = 16384;

struct State {
  std::atomic<int> min_level{static_cast<int>(Level::kInfo)};
  std::atomic<bool> json{false};
  std::atomic<std::uint64_t> dropped{0};
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::string> queue;  // guarded by mu
  bool running = false;           // guarded by mu
  bool stop = false;              // guarded by mu
  std::thread writer;
};

State& S() {
  static State* s = new State();  // never destroyed: logging may happen during static teardown
  return *s;
}

void WriteAll(const std::string& data) {
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(STDERR_FILENO, data.data() + off, data.size() - off);
    if (n <= 0) return;  // stderr gone: nothing sensible left to do
    off += static_cast<std::size_t>(n);
  }
}

void WriterLoop() {
  SetThreadName("cn-log");
  State& s = S();
  std::unique_lock lock(s.mu);
  for (;;) {
    s.cv.wait(lock, [&] { return s.stop || !s.queue.empty(); });
    std::deque<std::string> batch;
    batch.swap(s.queue);
    const bool stopping = s.stop;
    lock.unlock();
    std::string out;
    for (auto& line : batch) out += line;
    WriteAll(out);
    lock.lock();
    if (stopping && s.queue.empty()) return;
  }
}

const char* LevelName(Level l) {
  switch (l) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

bool NeedsQuoting(std::string_view v) {
  if (v.empty()) return true;
  for (unsigned char c : v) {
    if (c <= ' ' || c == '"' || c == '=' || c == '\\') return true;
  }
  return false;
}

}  // namespace

bool ParseLevel(std::string_view text, Level* level) {
  std::string t;
  for (char c : text) t.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c));
  if (t == "debug")
    *level = Level::kDebug;
  else if (t == "info")
    *level = Level::kInfo;
  else if (t == "warn" || t == "warning")
    *level = Level::kWarn;
  else if (t == "error")
    *level = Level::kError;
  else
    return false;
  return true;
}

std::string FormatLine(Level level, std::int64_t unix_micros, std::string_view message,
                       std::initializer_list<Field> fields, bool json_lines) {
  std::string out;
  out.reserve(96 + message.size());
  if (json_lines) {
    out += "{\"ts\":\"";
    out += FormatIso8601(unix_micros);
    out += "\",\"level\":\"";
    out += LevelName(level);
    out += "\",\"msg\":";
    AppendJsonString(out, message);
    for (const auto& f : fields) {
      out.push_back(',');
      AppendJsonString(out, f.key);
      out.push_back(':');
      AppendJsonString(out, f.value);
    }
    out += "}\n";
  } else {
    out += FormatIso8601(unix_micros);
    out.push_back(' ');
    std::string_view name = LevelName(level);
    for (char c : name) out.push_back(static_cast<char>(c - 32));
    out.push_back(' ');
    out += message;
    for (const auto& f : fields) {
      out.push_back(' ');
      out += f.key;
      out.push_back('=');
      if (NeedsQuoting(f.value)) {
        AppendJsonString(out, f.value);
      } else {
        out += f.value;
      }
    }
    out.push_back('\n');
  }
  return out;
}

void Init(Level min_level, bool json_lines) {
  State& s = S();
  s.min_level = static_cast<int>(min_level);
  s.json = json_lines;
  std::lock_guard lock(s.mu);
  if (s.running) return;
  s.running = true;
  s.stop = false;
  s.writer = std::thread(WriterLoop);
}

void Shutdown() {
  State& s = S();
  {
    std::lock_guard lock(s.mu);
    if (!s.running) return;
    s.stop = true;
  }
  s.cv.notify_one();
  s.writer.join();
  std::lock_guard lock(s.mu);
  s.running = false;
}

bool Enabled(Level level) {
  return static_cast<int>(level) >= S().min_level.load(std::memory_order_relaxed);
}

void Write(Level level, std::string_view message, std::initializer_list<Field> fields) {
  if (!Enabled(level)) return;
  State& s = S();
  std::string line = FormatLine(level, NowUnixMicros(), message, fields, s.json.load());
  std::unique_lock lock(s.mu);
  if (!s.running) {
    lock.unlock();
    WriteAll(line);
    return;
  }
  if (s.queue.size() >= kMaxQueuedLines) {
    s.dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  s.queue.push_back(std::move(line));
  lock.unlock();
  s.cv.notify_one();
}

std::uint64_t DroppedLines() { return S().dropped.load(); }

}  // namespace cn::log
