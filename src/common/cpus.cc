#include "common/cpus.h"

#include <sched.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>

namespace cn {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

std::optional<long long> ParseLong(std::string_view s) {
  s = Trim(s);
  long long v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<double> Limit(long long quota, long long period) {
  if (quota <= 0 || period <= 0) return std::nullopt;
  return static_cast<double>(quota) / static_cast<double>(period);
}

std::string ReadSmallFile(const char* path) {
  std::ifstream in(path);
  if (!in) return {};
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

std::optional<double> CgroupV2CpuLimit(std::string_view cpu_max) {
  cpu_max = Trim(cpu_max);
  const std::size_t space = cpu_max.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  const std::string_view quota = cpu_max.substr(0, space);
  if (quota == "max") return std::nullopt;
  const auto q = ParseLong(quota);
  const auto p = ParseLong(cpu_max.substr(space + 1));
  if (!q || !p) return std::nullopt;
  return Limit(*q, *p);
}

std::optional<double> CgroupV1CpuLimit(std::string_view quota_us, std::string_view period_us) {
  const auto q = ParseLong(quota_us);
  const auto p = ParseLong(period_us);
  if (!q || !p) return std::nullopt;
  return Limit(*q, *p);
}

int UsableCpus() {
  int cpus = 0;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) cpus = CPU_COUNT(&set);
  if (cpus <= 0) cpus = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // The process's own cgroup is mounted at /sys/fs/cgroup in a container (cgroup namespace);
  // on a host the root cgroup has no cpu.max, and the limit is then the affinity mask alone.
  std::optional<double> limit = CgroupV2CpuLimit(ReadSmallFile("/sys/fs/cgroup/cpu.max"));
  if (!limit) {
    limit = CgroupV1CpuLimit(ReadSmallFile("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"),
                             ReadSmallFile("/sys/fs/cgroup/cpu/cpu.cfs_period_us"));
  }
  if (limit) cpus = std::min(cpus, std::max(1, static_cast<int>(std::ceil(*limit))));
  return std::max(1, cpus);
}

}  // namespace cn
