// Metrics: counters, gauges and histograms that components own, rendered in the Prometheus
// text exposition format by Registry::Render() for GET /metrics.
//
// Each component owns its metrics: it creates them in the registry at start-up and keeps
// references; the dashboard and /metrics read them, never log lines. Components whose state lives
// elsewhere (the record pipeline's queue, the log writer) register a Collector that emits their
// samples at render time.
//
// Thread-safety: Counter/Gauge/Histogram updates are lock-free atomics, safe from any thread.
// Labelled families take a mutex only to find or create a child (keep the returned reference on
// hot paths). Registry registration happens at start-up, before concurrent use; Render() is safe
// concurrently with updates.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace cn::metrics {

class Counter {
 public:
  void Inc(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class Gauge {
 public:
  void Add(std::int64_t n) { value_.fetch_add(n, std::memory_order_relaxed); }
  void Set(std::int64_t n) { value_.store(n, std::memory_order_relaxed); }
  std::int64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> value_{0};
};

// Cumulative histogram over fixed upper bounds (in seconds, ascending). Sum kept in microseconds.
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds_seconds);
  void ObserveMicros(std::int64_t micros);
  struct Snapshot {
    std::vector<double> bounds;
    std::vector<std::uint64_t> cumulative;  // one per bound, then +Inf
    std::uint64_t count = 0;
    double sum_seconds = 0;
  };
  Snapshot Take() const;

 private:
  std::vector<double> bounds_;
  std::vector<std::int64_t> bounds_us_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1 (non-cumulative)
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::int64_t> sum_us_{0};
};

// Latency buckets from 100 µs to 10 min, suitable for upstream latency and TTFB.
std::vector<double> LatencyBuckets();

// A family of counters distinguished by label values, e.g. requests_total{status="200"}.
class CounterFamily {
 public:
  explicit CounterFamily(std::vector<std::string> label_names)
      : label_names_(std::move(label_names)) {}
  // Returns the child for these label values (one per label name); the reference stays valid.
  Counter& With(const std::vector<std::string>& label_values);
  const std::vector<std::string>& label_names() const { return label_names_; }
  std::vector<std::pair<std::vector<std::string>, std::uint64_t>> Values() const;

 private:
  std::vector<std::string> label_names_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<Counter>> children_;  // guarded by mu_
};

// Emits extra samples at render time: (name, type, help, lines "name{labels} value").
struct CollectedMetric {
  std::string name;
  std::string type;  // "counter" | "gauge"
  std::string help;
  std::vector<std::pair<std::string, double>> samples;  // label block (may be "") and value
};
using Collector = std::function<std::vector<CollectedMetric>()>;

class Registry {
 public:
  Counter& AddCounter(const std::string& name, const std::string& help);
  Gauge& AddGauge(const std::string& name, const std::string& help);
  Histogram& AddHistogram(const std::string& name, const std::string& help,
                          std::vector<double> bounds);
  CounterFamily& AddCounterFamily(const std::string& name, const std::string& help,
                                  std::vector<std::string> label_names);
  void AddCollector(Collector c);

  std::string Render() const;

 private:
  struct Entry {
    std::string name, help, type;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
    std::unique_ptr<CounterFamily> family;
  };
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Entry>> entries_;  // guarded by mu_ (append-only)
  std::vector<Collector> collectors_;            // guarded by mu_
};

// Escapes a label value for the exposition format (backslash, quote, newline).
std::string EscapeLabelValue(const std::string& v);

}  // namespace cn::metrics
