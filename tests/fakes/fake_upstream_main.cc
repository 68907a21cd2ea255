// fake-upstream: the FakeUpstream as a standalone process, for the benchmark and manual testing.
// Prints `listening <port>` on stdout once accepting, then serves until SIGINT/SIGTERM.
// Requests are counted but not kept (memory stays flat under load); --request-log writes them to a
// file instead, for tests in another process (tests/e2e).
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <iostream>

#include "fakes/fake_upstream.h"

int main(int argc, char** argv) {
  cn::testing::FakeUpstreamOptions options;
  options.record_requests = false;
  CLI::App app{"Fake Anthropic upstream (test/benchmark only)"};
  app.add_option("--host", options.host, "address to bind");
  app.add_option("--port", options.port, "port to bind, 0 = ephemeral");
  app.add_flag("--tls", options.tls, "serve HTTPS (default: the test certificate)");
  app.add_option("--cert", options.cert_file, "PEM certificate chain for --tls");
  app.add_option("--key", options.key_file, "PEM private key for --tls");
  app.add_option("--threads", options.threads, "io threads")->check(CLI::Range(1, 64));
  app.add_option("--request-log", options.request_log_path,
                 "append every received request (method, target, headers, body) as a JSON line");
  CLI11_PARSE(app, argc, argv);

  // Many concurrent streams need many descriptors; take whatever the hard limit allows.
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }

  // Block the signals before the io threads start so only sigwait below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  cn::testing::FakeUpstream upstream(options);
  std::cout << "listening " << upstream.port() << std::endl;
  int received = 0;
  sigwait(&signals, &received);
  std::fprintf(stderr, "fake-upstream: signal %d after %zu requests, stopping\n", received,
               upstream.request_count());
  return 0;
}
