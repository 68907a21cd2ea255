#include "metrics/metrics.h"

#include <cmath>
#include <cstdio>

namespace cn::metrics {

Histogram::Histogram(std::vector<double> upper_bounds_seconds)
    : bounds_(std::move(upper_bounds_seconds)),
      buckets_(new std::atomic<std::uint64_t>[bounds_.size() + 1]) {
  for (double b : bounds_) bounds_us_.push_back(static_cast<std::int64_t>(std::llround(b * 1e6)));
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::ObserveMicros(std::int64_t micros) {
  std::size_t i = 0;
  while (i < bounds_us_.size() && micros > bounds_us_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_us_.fetch_add(micros, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Take() const {
  Snapshot s;
  s.bounds = bounds_;
  std::uint64_t acc = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    acc += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(acc);
  }
  s.count = acc;
  s.sum_seconds = static_cast<double>(sum_us_.load(std::memory_order_relaxed)) / 1e6;
  return s;
}

std::vector<double> LatencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
          0.5,    1,       2.5,    5,     10,     30,    60,   120,   300,  600};
}

Counter& CounterFamily::With(const std::vector<std::string>& label_values) {
  std::lock_guard lock(mu_);
  auto& slot = children_[label_values];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

std::vector<std::pair<std::vector<std::string>, std::uint64_t>> CounterFamily::Values() const {
  std::lock_guard lock(mu_);
  std::vector<std::pair<std::vector<std::string>, std::uint64_t>> out;
  for (const auto& [labels, c] : children_) out.emplace_back(labels, c->Value());
  return out;
}

Counter& Registry::AddCounter(const std::string& name, const std::string& help) {
  auto e = std::make_unique<Entry>();
  e->name = name;
  e->help = help;
  e->type = "counter";
  e->counter = std::make_unique<Counter>();
  Counter& ref = *e->counter;
  std::lock_guard lock(mu_);
  entries_.push_back(std::move(e));
  return ref;
}

Gauge& Registry::AddGauge(const std::string& name, const std::string& help) {
  auto e = std::make_unique<Entry>();
  e->name = name;
  e->help = help;
  e->type = "gauge";
  e->gauge = std::make_unique<Gauge>();
  Gauge& ref = *e->gauge;
  std::lock_guard lock(mu_);
  entries_.push_back(std::move(e));
  return ref;
}

Histogram& Registry::AddHistogram(const std::string& name, const std::string& help,
                                  std::vector<double> bounds) {
  auto e = std::make_unique<Entry>();
  e->name = name;
  e->help = help;
  e->type = "histogram";
  e->histogram = std::make_unique<Histogram>(std::move(bounds));
  Histogram& ref = *e->histogram;
  std::lock_guard lock(mu_);
  entries_.push_back(std::move(e));
  return ref;
}

CounterFamily& Registry::AddCounterFamily(const std::string& name, const std::string& help,
                                          std::vector<std::string> label_names) {
  auto e = std::make_unique<Entry>();
  e->name = name;
  e->help = help;
  e->type = "counter";
  e->family = std::make_unique<CounterFamily>(std::move(label_names));
  CounterFamily& ref = *e->family;
  std::lock_guard lock(mu_);
  entries_.push_back(std::move(e));
  return ref;
}

void Registry::AddCollector(Collector c) {
  std::lock_guard lock(mu_);
  collectors_.push_back(std::move(c));
}

std::string EscapeLabelValue(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out.push_back(c);
  }
  return out;
}

namespace {
std::string FormatNumber(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.9g", v);
  }
  return buf;
}

void Header(std::string& out, const std::string& name, const std::string& help,
            const std::string& type) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}
}  // namespace

std::string Registry::Render() const {
  std::string out;
  std::vector<Collector> collectors;
  {
    std::lock_guard lock(mu_);
    collectors = collectors_;
    for (const auto& e : entries_) {
      Header(out, e->name, e->help, e->type);
      if (e->counter) {
        out += e->name + " " + std::to_string(e->counter->Value()) + "\n";
      } else if (e->gauge) {
        out += e->name + " " + std::to_string(e->gauge->Value()) + "\n";
      } else if (e->histogram) {
        auto s = e->histogram->Take();
        for (std::size_t i = 0; i < s.bounds.size(); ++i) {
          out += e->name + "_bucket{le=\"" + FormatNumber(s.bounds[i]) + "\"} " +
                 std::to_string(s.cumulative[i]) + "\n";
        }
        out += e->name + "_bucket{le=\"+Inf\"} " + std::to_string(s.cumulative.back()) + "\n";
        out += e->name + "_sum " + FormatNumber(s.sum_seconds) + "\n";
        out += e->name + "_count " + std::to_string(s.count) + "\n";
      } else if (e->family) {
        const auto& names = e->family->label_names();
        for (const auto& [labels, value] : e->family->Values()) {
          std::string block;
          for (std::size_t i = 0; i < names.size() && i < labels.size(); ++i) {
            if (!block.empty()) block += ",";
            block += names[i] + "=\"" + EscapeLabelValue(labels[i]) + "\"";
          }
          out += e->name + "{" + block + "} " + std::to_string(value) + "\n";
        }
      }
    }
  }
  for (const auto& c : collectors) {
    for (const auto& m : c()) {
      Header(out, m.name, m.help, m.type);
      for (const auto& [labels, value] : m.samples) {
        out +=
            m.name + (labels.empty() ? "" : "{" + labels + "}") + " " + FormatNumber(value) + "\n";
      }
    }
  }
  return out;
}

}  // namespace cn::metrics
