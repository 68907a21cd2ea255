// How many CPUs this process may really use: the scheduler affinity mask (taskset, cpusets,
// `docker run --cpuset-cpus`) capped by the cgroup CPU quota (`docker run --cpus`, Kubernetes
// limits; cgroup v2 `cpu.max`, or v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`).
// std::thread::hardware_concurrency() counts every core of the host and sees neither, so a
// proxy given one CPU of a 16-core host would start 16 I/O threads fighting over it.
// Thread-safety: pure functions, and UsableCpus() only reads /proc and /sys.
#pragma once

#include <optional>
#include <string_view>

namespace cn {

// CPUs allowed by a cgroup v2 `cpu.max` file ("<quota> <period>" or "max <period>"): quota /
// period, or nullopt for "max" (no limit) and text that does not parse.
std::optional<double> CgroupV2CpuLimit(std::string_view cpu_max);

// CPUs allowed by cgroup v1 quota and period files' contents ("-1" quota: no limit).
std::optional<double> CgroupV1CpuLimit(std::string_view quota_us, std::string_view period_us);

// min(affinity mask size, ceil(cgroup quota)), at least 1.
int UsableCpus();

}  // namespace cn
