// Thread naming and scheduling for the process's long-lived threads.
#pragma once

namespace cn {

// Names the calling thread (shown by top -H, perf, /proc/<pid>/task/*/comm). Linux limits names
// to 15 characters; longer ones are truncated.
void SetThreadName(const char* name);

// Makes the calling thread background work: SCHED_IDLE where the kernel allows it (it then runs
// only on otherwise idle CPU time and is preempted at once when an I/O thread wakes), else the
// nice value raised by `nice_increment`. Returns true when SCHED_IDLE was applied.
bool MakeThreadBackground(int nice_increment);

}  // namespace cn
