// cn-wakeup-probe: what this machine charges for waking a thread on a CPU that is busy, compared
// with one that is idle. bench/run.sh prints it beside the c=1 results (docs/benchmarks.md,
// "The c=1 tail").
//
// A client thread on CPU --from pings a server thread on CPU --to through a pair of eventfds and
// waits for the answer, with --gap-us of client-side work between pings (what a load generator
// does between requests). Each round trip wakes the server once on --to. Two runs:
//   idle  nothing else on --to: the wake-up finds the CPU idle
//   busy  a thread at idle priority (SCHED_IDLE) spins on --to: the wake-up must preempt it,
//         as it must preempt claude-nexus's recording writer when the I/O thread's next event
//         arrives. On bare metal the two differ by a few µs; on some virtual machines (an
//         inter-processor interrupt to a running virtual CPU) by tens.
// Prints one JSON object: {"idle":{"p50":..,"p99":..},"busy":{..},"penalty_p50_us":..}.

#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

bool Pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
}

struct Percentiles {
  double p50 = 0, p99 = 0;
};

// Round trips client (on `from`) -> server (on `to`) -> client, in µs.
Percentiles Measure(int from, int to, int rounds, int gap_us, bool busy) {
  const int ping = eventfd(0, EFD_CLOEXEC), pong = eventfd(0, EFD_CLOEXEC);
  std::atomic<bool> stop{false};
  std::thread spinner;
  if (busy) {
    spinner = std::thread([&] {
      Pin(to);
      sched_param p{};
      if (sched_setscheduler(0, SCHED_IDLE, &p) != 0) (void)nice(19);
      while (!stop.load(std::memory_order_relaxed)) {
      }
    });
  }
  std::thread server([&] {
    Pin(to);
    std::uint64_t v;
    for (;;) {
      if (read(ping, &v, sizeof v) != sizeof v || v == 2) break;
      v = 1;
      if (write(pong, &v, sizeof v) != sizeof v) break;
    }
  });
  Pin(from);
  std::vector<double> us;
  us.reserve(static_cast<std::size_t>(rounds));
  for (int i = 0; i < rounds; ++i) {
    const Clock::time_point t0 = Clock::now();
    std::uint64_t v = 1;
    if (write(ping, &v, sizeof v) != sizeof v || read(pong, &v, sizeof v) != sizeof v) break;
    const Clock::time_point t1 = Clock::now();
    us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    while (Clock::now() - t1 < std::chrono::microseconds(gap_us)) {
    }
  }
  std::uint64_t v = 2;
  (void)!write(ping, &v, sizeof v);
  server.join();
  stop = true;
  if (spinner.joinable()) spinner.join();
  close(ping);
  close(pong);
  Percentiles p;
  if (us.empty()) return p;
  std::sort(us.begin(), us.end());
  p.p50 = us[us.size() / 2];
  p.p99 = us[us.size() * 99 / 100];
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"cn-wakeup-probe: cost of waking a thread on a busy CPU vs an idle one"};
  int from = 1, to = 0, rounds = 20000, gap_us = 20;
  app.add_option("--from", from, "CPU of the waking (client) thread");
  app.add_option("--to", to, "CPU of the woken (server) thread");
  app.add_option("--rounds", rounds, "round trips per run")->check(CLI::Range(100, 10'000'000));
  app.add_option("--gap-us", gap_us, "client work between round trips, µs")
      ->check(CLI::Range(0, 100'000));
  CLI11_PARSE(app, argc, argv);
  if (from == to) {
    std::fprintf(stderr, "cn-wakeup-probe: --from and --to must be different CPUs\n");
    return 2;
  }
  const Percentiles idle = Measure(from, to, rounds, gap_us, false);
  const Percentiles busy = Measure(from, to, rounds, gap_us, true);
  std::printf(
      "{\"from\":%d,\"to\":%d,\"rounds\":%d,\"idle\":{\"p50\":%.1f,\"p99\":%.1f},"
      "\"busy\":{\"p50\":%.1f,\"p99\":%.1f},\"penalty_p50_us\":%.1f}\n",
      from, to, rounds, idle.p50, idle.p99, busy.p50, busy.p99, busy.p50 - idle.p50);
  return 0;
}
