#include "common/cpus.h"

#include <gtest/gtest.h>
#include <sched.h>

#include <thread>

namespace cn {
namespace {

TEST(CpusTest, CgroupV2CpuMax) {
  EXPECT_DOUBLE_EQ(*CgroupV2CpuLimit("150000 100000\n"), 1.5);
  EXPECT_DOUBLE_EQ(*CgroupV2CpuLimit("100000 100000"), 1.0);
  EXPECT_FALSE(CgroupV2CpuLimit("max 100000\n").has_value());
  EXPECT_FALSE(CgroupV2CpuLimit("").has_value());
  EXPECT_FALSE(CgroupV2CpuLimit("lots 100000").has_value());
  EXPECT_FALSE(CgroupV2CpuLimit("0 100000").has_value());
}

TEST(CpusTest, CgroupV1Quota) {
  EXPECT_DOUBLE_EQ(*CgroupV1CpuLimit("50000\n", "100000\n"), 0.5);
  EXPECT_FALSE(CgroupV1CpuLimit("-1\n", "100000\n").has_value());
  EXPECT_FALSE(CgroupV1CpuLimit("", "").has_value());
}

TEST(CpusTest, UsableCpusFollowsTheAffinityMask) {
  cpu_set_t saved;
  ASSERT_EQ(sched_getaffinity(0, sizeof saved, &saved), 0);
  const int all = UsableCpus();
  EXPECT_GE(all, 1);
  EXPECT_LE(all, CPU_COUNT(&saved));
  // Pinned to one CPU (as `taskset -c 0` would), one I/O thread is what fits.
  cpu_set_t one;
  CPU_ZERO(&one);
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &saved)) {
      CPU_SET(c, &one);
      break;
    }
  }
  ASSERT_EQ(sched_setaffinity(0, sizeof one, &one), 0);
  EXPECT_EQ(UsableCpus(), 1);
  ASSERT_EQ(sched_setaffinity(0, sizeof saved, &saved), 0);
  EXPECT_EQ(UsableCpus(), all);
}

}  // namespace
}  // namespace cn
