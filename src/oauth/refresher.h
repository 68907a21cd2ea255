// OAuthRefresher: keeps the OAuth credentials of a credentials directory fresh for the proxy.
//
// Request path (non-blocking): the exchange asks Admit() for the credential it found. Admit
// answers at once with one of
//   kUse     the token is good (more than `refresh_margin_ms` left), or a newer one this process
//            already obtained;
//   kWait    a refresh for that file is running (or was just started): the request waits for
//            that one RefreshFlight, whoever started it (single flight per file in a process);
//   kReject  no usable token and no refresh allowed now (backoff after a failure, a dead login):
//            the 401 message says which file and what to run.
// Refreshes run on the refresher's own worker threads (RefreshCredentialFile: file lock, re-read,
// token request, atomic write), never on an I/O thread. A waiting request coroutine polls
// RefreshFlight::Done() on a steady timer (src/net/exchange.cc), so its I/O thread keeps serving
// others, no callback ever crosses into an io_context that may be gone, and shutdown can cancel
// the wait like any other timer. After the flight, AfterWait() turns its result into kUse or
// kReject; a failed refresh still uses the old token while that has not expired.
//
// Background: a thread scans the directory every `background_interval` and starts a flight for
// every oauth file within `background_margin_ms` of expiry, so requests rarely wait at all.
//
// Failures back off per file: no attempt before base * 2^(n-1) (capped) has passed; requests in
// between get the last error at once, without touching the endpoint. invalid_grant (or a missing
// refresh token) stops attempts until the file's refresh token changes (a new login).
//
// Thread-safety: every public method is thread-safe. The destructor joins the threads; it must
// run after the server that calls Admit() has stopped (app/main.cc destroys the Server first).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "metrics/metrics.h"
#include "oauth/refresh.h"
#include "oauth/token_protocol.h"
#include "proxy/auth.h"
#include "proxy/credentials.h"

namespace cn::oauth {

// The shared result of one refresh of one file. Written once by a worker, then read-only.
class RefreshFlight {
 public:
  bool Done() const { return done_.load(std::memory_order_acquire); }
  // REQUIRES: Done().
  const RefreshOutcome& outcome() const { return outcome_; }
  // Blocks until Done() or `timeout`; for CLI use and tests, never on an I/O thread.
  bool WaitFor(std::chrono::milliseconds timeout) const;

 private:
  friend class OAuthRefresher;
  void Complete(RefreshOutcome outcome);

  RefreshOutcome outcome_;  // written before done_ is set (release), read after (acquire)
  std::atomic<bool> done_{false};
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
};

struct Admission {
  enum class Kind { kUse, kWait, kReject };
  Kind kind = Kind::kUse;
  std::shared_ptr<const proxy::Credential> credential;  // kUse
  std::shared_ptr<const RefreshFlight> flight;          // kWait
  std::string message;                                  // kReject: client-facing, names the file
};

// The 401 answer for a kReject admission (Anthropic error shape, authentication_error).
proxy::AuthPlan RejectionPlan(const Admission& admission);

class OAuthRefresher {
 public:
  struct Options {
    std::string client_id{kDefaultClientId};
    std::int64_t refresh_margin_ms = 60000;  // requests refresh (and wait) within this
    bool background = true;
    std::int64_t background_margin_ms = 300000;  // the background thread refreshes within this
    std::chrono::milliseconds background_interval{30000};
    std::int64_t backoff_base_ms = 5000;
    std::int64_t backoff_max_ms = 300000;
    std::chrono::milliseconds lock_timeout{30000};
    int workers = 2;
    std::function<std::int64_t()> now_ms;  // wall clock epoch ms; default WallNowMs
    // How files are named in client messages ("$CREDENTIALS_DIR/<file>").
    std::string dir_for_messages = "$CREDENTIALS_DIR";
  };

  struct Stats {
    std::uint64_t attempts = 0, successes = 0, failures = 0, adopted = 0, waits = 0,
                  backoff_rejections = 0;
    std::int64_t in_flight = 0;
  };

  // `store` is the proxy's CredentialStore (the background scan reads through it). `registry`
  // may be null (CLI). Threads start in Start().
  OAuthRefresher(Options options, TokenEndpoint& endpoint, proxy::CredentialStore& store,
                 metrics::Registry* registry);
  ~OAuthRefresher();
  OAuthRefresher(const OAuthRefresher&) = delete;
  OAuthRefresher& operator=(const OAuthRefresher&) = delete;

  void Start();
  // Fails pending flights, stops and joins the threads. Idempotent.
  void Stop();

  // Non-blocking. `cred` is an oauth credential from the store.
  Admission Admit(const std::shared_ptr<const proxy::Credential>& cred);
  // REQUIRES: flight->Done(). `original` is what Admit() was given.
  Admission AfterWait(const std::shared_ptr<const proxy::Credential>& original,
                      const RefreshFlight& flight);
  // The request path reports how long a request waited for a flight.
  void ObserveWait(std::int64_t micros);

  // One background pass, synchronously (tests; the background thread calls it too). Returns the
  // flights it started.
  std::vector<std::shared_ptr<const RefreshFlight>> ScanOnce();

  Stats stats() const;

 private:
  struct FileState {
    std::shared_ptr<RefreshFlight> in_flight;
    std::shared_ptr<const proxy::Credential> latest;  // newest credential seen by a flight
    int failures = 0;
    std::int64_t retry_at_ms = 0;
    bool relogin_required = false;
    std::string failed_refresh_token;  // the failure state belongs to this refresh token
    std::string last_error;            // client-facing message of the last failure
  };
  struct Job {
    std::filesystem::path path;
    std::int64_t margin_ms = 0;
    std::string refresh_token;  // the one the flight was started for (failure bookkeeping)
    std::shared_ptr<RefreshFlight> flight;
  };

  std::int64_t Now() const;
  // REQUIRES: mu_ held. Starts (or joins) the flight for `path`; nullptr when backoff forbids it.
  std::shared_ptr<RefreshFlight> StartLocked(FileState& st, const proxy::Credential& cred,
                                             std::int64_t margin_ms, std::int64_t now);
  void WorkerLoop();
  void BackgroundLoop();
  void Finish(const Job& job, RefreshOutcome outcome);
  std::string FailureMessage(const proxy::Credential& cred, const FileState& st,
                             std::int64_t now) const;

  const Options options_;
  TokenEndpoint& endpoint_;
  proxy::CredentialStore& store_;

  metrics::Counter* m_attempts_ = nullptr;
  metrics::Counter* m_successes_ = nullptr;
  metrics::Counter* m_failures_ = nullptr;
  metrics::Counter* m_adopted_ = nullptr;
  metrics::Counter* m_waits_ = nullptr;
  metrics::Counter* m_backoff_rejections_ = nullptr;
  metrics::Gauge* m_in_flight_ = nullptr;
  metrics::Histogram* m_duration_ = nullptr;
  metrics::Histogram* m_wait_ = nullptr;

  mutable std::mutex mu_;
  std::condition_variable jobs_cv_;                   // jobs_ or stopping_ changed
  std::condition_variable stop_cv_;                   // stopping_ changed (background thread)
  std::map<std::filesystem::path, FileState> files_;  // GUARDED_BY(mu_)
  std::deque<Job> jobs_;                              // GUARDED_BY(mu_)
  bool stopping_ = false;                             // GUARDED_BY(mu_)
  bool started_ = false;                              // GUARDED_BY(mu_)
  Stats stats_;                                       // GUARDED_BY(mu_)

  // Declared last: they use everything above and are joined (Stop) before it is destroyed.
  std::vector<std::thread> workers_;
  std::thread background_;
};

}  // namespace cn::oauth
