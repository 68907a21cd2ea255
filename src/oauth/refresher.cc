#include "oauth/refresher.h"

#include "common/log.h"
#include "common/thread.h"

namespace cn::oauth {

namespace fs = std::filesystem;
using Kind = Admission::Kind;

bool RefreshFlight::WaitFor(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [this] { return Done(); });
}

void RefreshFlight::Complete(RefreshOutcome outcome) {
  {
    std::lock_guard lock(mu_);
    outcome_ = std::move(outcome);
    done_.store(true, std::memory_order_release);
  }
  cv_.notify_all();
}

proxy::AuthPlan RejectionPlan(const Admission& admission) {
  proxy::AuthPlan plan;
  plan.reject = true;
  plan.status = 401;
  plan.error_type = "authentication_error";
  plan.message = admission.message;
  return plan;
}

namespace {

Admission Use(std::shared_ptr<const proxy::Credential> cred) {
  Admission a;
  a.kind = Kind::kUse;
  a.credential = std::move(cred);
  return a;
}

Admission Wait(std::shared_ptr<const RefreshFlight> flight) {
  Admission a;
  a.kind = Kind::kWait;
  a.flight = std::move(flight);
  return a;
}

Admission Reject(std::string message) {
  Admission a;
  a.kind = Kind::kReject;
  a.message = std::move(message);
  return a;
}

void ReplaceAll(std::string& s, const std::string& from, const std::string& to) {
  if (from.empty()) return;
  for (std::size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) {
    s.replace(pos, from.size(), to);
  }
}

}  // namespace

OAuthRefresher::OAuthRefresher(Options options, TokenEndpoint& endpoint,
                               proxy::CredentialStore& store, metrics::Registry* registry)
    : options_(std::move(options)), endpoint_(endpoint), store_(store) {
  if (registry == nullptr) return;
  m_attempts_ = &registry->AddCounter("cn_oauth_refresh_attempts_total",
                                      "OAuth refreshes run (file lock taken, file re-read).");
  m_successes_ = &registry->AddCounter("cn_oauth_refresh_successes_total",
                                       "OAuth refreshes that obtained and saved new tokens.");
  m_failures_ =
      &registry->AddCounter("cn_oauth_refresh_failures_total", "OAuth refreshes that failed.");
  m_adopted_ =
      &registry->AddCounter("cn_oauth_refresh_adopted_total",
                            "Refreshes that found the file already refreshed by another process.");
  m_waits_ =
      &registry->AddCounter("cn_oauth_refresh_waits_total", "Requests that waited for a refresh.");
  m_backoff_rejections_ = &registry->AddCounter("cn_oauth_refresh_backoff_rejections_total",
                                                "Requests answered 401 without a refresh attempt "
                                                "(backoff after a failure, or login needed).");
  m_in_flight_ =
      &registry->AddGauge("cn_oauth_refreshes_in_flight", "OAuth refreshes running or queued.");
  m_duration_ =
      &registry->AddHistogram("cn_oauth_refresh_duration_seconds",
                              "Time of the token endpoint request.", metrics::LatencyBuckets());
  m_wait_ =
      &registry->AddHistogram("cn_oauth_request_wait_seconds",
                              "Time a request waited for a refresh.", metrics::LatencyBuckets());
}

OAuthRefresher::~OAuthRefresher() { Stop(); }

std::int64_t OAuthRefresher::Now() const {
  return options_.now_ms ? options_.now_ms() : WallNowMs();
}

void OAuthRefresher::Start() {
  std::lock_guard lock(mu_);
  if (started_ || stopping_) return;
  started_ = true;
  for (int i = 0; i < std::max(1, options_.workers); ++i)
    workers_.emplace_back([this] { WorkerLoop(); });
  if (options_.background) background_ = std::thread([this] { BackgroundLoop(); });
}

void OAuthRefresher::Stop() {
  std::deque<Job> pending;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    pending.swap(jobs_);
    for (const Job& job : pending) files_[job.path].in_flight.reset();
    stats_.in_flight -= static_cast<std::int64_t>(pending.size());
  }
  jobs_cv_.notify_all();
  stop_cv_.notify_all();
  for (std::thread& t : workers_) {
    if (t.joinable()) t.join();
  }
  if (background_.joinable()) background_.join();
  for (Job& job : pending) {
    RefreshOutcome outcome;
    outcome.status = Status::Unavailable("the proxy is shutting down");
    if (m_in_flight_) m_in_flight_->Add(-1);
    job.flight->Complete(std::move(outcome));
  }
}

std::shared_ptr<RefreshFlight> OAuthRefresher::StartLocked(FileState& st,
                                                           const proxy::Credential& cred,
                                                           std::int64_t margin_ms,
                                                           std::int64_t now) {
  if (st.in_flight) return st.in_flight;
  if (!st.failed_refresh_token.empty() && st.failed_refresh_token != cred.oauth.refresh_token) {
    // A new refresh token (someone logged in again): the old failures say nothing about it.
    st.failures = 0;
    st.retry_at_ms = 0;
    st.relogin_required = false;
    st.failed_refresh_token.clear();
  }
  if (stopping_ || st.relogin_required || now < st.retry_at_ms) return nullptr;
  auto flight = std::make_shared<RefreshFlight>();
  st.in_flight = flight;
  jobs_.push_back(Job{cred.path, margin_ms, cred.oauth.refresh_token, flight});
  ++stats_.in_flight;
  if (m_in_flight_) m_in_flight_->Add(1);
  jobs_cv_.notify_one();
  return flight;
}

Admission OAuthRefresher::Admit(const std::shared_ptr<const proxy::Credential>& cred) {
  const std::int64_t now = Now();
  std::lock_guard lock(mu_);
  FileState& st = files_[cred->path];
  std::shared_ptr<const proxy::Credential> use = cred;
  // The store re-stats a file at most once a second, so right after a refresh it may still hand
  // out the old token; the flight's result is newer.
  if (st.latest && st.latest->oauth.expires_at_ms > cred->oauth.expires_at_ms) use = st.latest;
  if (!NeedsRefresh(*use, now, options_.refresh_margin_ms)) return Use(use);

  const bool usable = !use->oauth.access_token.empty() && !IsExpired(*use, now);
  if (use->oauth.refresh_token.empty()) {
    if (usable) return Use(use);
    ++stats_.backoff_rejections;
    if (m_backoff_rejections_) m_backoff_rejections_->Inc();
    const std::string file = use->path.filename().string();
    return Reject("The OAuth access token in credential file '" + file +
                  "' has expired and the file has no refresh token. Log in again with: "
                  "claude-nexus oauth login " +
                  options_.dir_for_messages + "/" + file);
  }
  if (auto flight = StartLocked(st, *use, options_.refresh_margin_ms, now)) {
    ++stats_.waits;
    if (m_waits_) m_waits_->Inc();
    return Wait(std::move(flight));
  }
  if (usable) return Use(use);
  ++stats_.backoff_rejections;
  if (m_backoff_rejections_) m_backoff_rejections_->Inc();
  return Reject(FailureMessage(*use, st, now));
}

Admission OAuthRefresher::AfterWait(const std::shared_ptr<const proxy::Credential>& original,
                                    const RefreshFlight& flight) {
  const RefreshOutcome& outcome = flight.outcome();
  const std::int64_t now = Now();
  if (outcome.kind != RefreshOutcome::Kind::kFailed && outcome.credential &&
      !outcome.credential->oauth.access_token.empty() && !IsExpired(*outcome.credential, now)) {
    return Use(outcome.credential);
  }
  // A failed refresh does not make a still-valid token useless.
  if (!original->oauth.access_token.empty() && !IsExpired(*original, now)) return Use(original);
  std::lock_guard lock(mu_);
  FileState& st = files_[original->path];
  if (st.last_error.empty()) st.last_error = outcome.status.message();
  return Reject(FailureMessage(*original, st, now));
}

void OAuthRefresher::ObserveWait(std::int64_t micros) {
  if (m_wait_) m_wait_->ObserveMicros(micros);
}

std::string OAuthRefresher::FailureMessage(const proxy::Credential& cred, const FileState& st,
                                           std::int64_t now) const {
  const std::string file = cred.path.filename().string();
  const std::string where = options_.dir_for_messages + "/" + file;
  std::string reason = st.last_error.empty() ? std::string("unknown error") : st.last_error;
  // Client-facing: name the file, never the server's directory layout.
  ReplaceAll(reason, cred.path.parent_path().string(), options_.dir_for_messages);
  if (st.relogin_required) {
    return "The Claude login stored in credential file '" + file +
           "' can no longer be refreshed (" + reason +
           "). The login must be redone: claude-nexus oauth login " + where;
  }
  const std::int64_t wait_s = std::max<std::int64_t>(0, (st.retry_at_ms - now + 999) / 1000);
  return "Refreshing the OAuth token in credential file '" + file + "' failed (" + reason +
         "). The proxy retries by itself in " + std::to_string(wait_s) +
         " s; to retry now run: claude-nexus oauth refresh " + where;
}

void OAuthRefresher::WorkerLoop() {
  SetThreadName("cn-oauth");
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mu_);
      jobs_cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
      ++stats_.attempts;
    }
    if (m_attempts_) m_attempts_->Inc();
    RefreshOptions ro;
    ro.client_id = options_.client_id;
    ro.margin_ms = job.margin_ms;
    ro.lock_timeout = options_.lock_timeout;
    ro.now_ms = options_.now_ms;
    Finish(job, RefreshCredentialFile(job.path, endpoint_, ro));
  }
}

void OAuthRefresher::Finish(const Job& job, RefreshOutcome outcome) {
  if (outcome.endpoint_micros > 0 && m_duration_)
    m_duration_->ObserveMicros(outcome.endpoint_micros);
  const std::string file = job.path.filename().string();
  {
    std::lock_guard lock(mu_);
    FileState& st = files_[job.path];
    st.in_flight.reset();
    --stats_.in_flight;
    if (outcome.kind == RefreshOutcome::Kind::kFailed) {
      ++stats_.failures;
      ++st.failures;
      st.relogin_required = outcome.relogin_required;
      st.failed_refresh_token = job.refresh_token;
      const int shift = std::min(st.failures - 1, 20);
      st.retry_at_ms = Now() + std::min(options_.backoff_base_ms << shift, options_.backoff_max_ms);
      st.last_error = outcome.status.message();
    } else {
      (outcome.kind == RefreshOutcome::Kind::kRefreshed ? stats_.successes : stats_.adopted)++;
      st.latest = outcome.credential;
      st.failures = 0;
      st.retry_at_ms = 0;
      st.relogin_required = false;
      st.failed_refresh_token.clear();
      st.last_error.clear();
    }
  }
  if (m_in_flight_) m_in_flight_->Add(-1);
  switch (outcome.kind) {
    case RefreshOutcome::Kind::kRefreshed:
      if (m_successes_) m_successes_->Inc();
      log::Info("oauth token refreshed",
                {{"file", file},
                 {"expires_at_ms", outcome.credential->oauth.expires_at_ms},
                 {"endpoint_ms", outcome.endpoint_micros / 1000}});
      break;
    case RefreshOutcome::Kind::kAlreadyFresh:
      if (m_adopted_) m_adopted_->Inc();
      log::Info("oauth token already refreshed by another process", {{"file", file}});
      break;
    case RefreshOutcome::Kind::kFailed:
      if (m_failures_) m_failures_->Inc();
      log::Error(outcome.relogin_required ? "oauth refresh failed; the login must be redone"
                                          : "oauth refresh failed; will retry after a backoff",
                 {{"file", file},
                  {"error", outcome.status.message()},
                  {"hint", outcome.relogin_required ? "claude-nexus oauth login <file>"
                                                    : "claude-nexus oauth refresh <file>"}});
      break;
  }
  job.flight->Complete(std::move(outcome));
}

std::vector<std::shared_ptr<const RefreshFlight>> OAuthRefresher::ScanOnce() {
  std::vector<std::shared_ptr<const RefreshFlight>> started;
  const std::int64_t now = Now();
  for (const proxy::CredentialStatus& s : store_.Report(now)) {
    if (s.type != "oauth") continue;
    const proxy::CredentialStore::Lookup lookup = store_.Find(s.host);
    if (lookup.kind != proxy::CredentialStore::Lookup::Kind::kFound ||
        lookup.credential->type != proxy::Credential::Type::kOAuth) {
      continue;
    }
    std::lock_guard lock(mu_);
    FileState& st = files_[lookup.credential->path];
    const proxy::Credential* use = lookup.credential.get();
    if (st.latest && st.latest->oauth.expires_at_ms > use->oauth.expires_at_ms)
      use = st.latest.get();
    if (use->oauth.refresh_token.empty() || !NeedsRefresh(*use, now, options_.background_margin_ms))
      continue;
    if (st.in_flight) continue;
    if (auto flight = StartLocked(st, *use, options_.background_margin_ms, now))
      started.push_back(flight);
  }
  return started;
}

void OAuthRefresher::BackgroundLoop() {
  SetThreadName("cn-oauth-bg");
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    ScanOnce();
    lock.lock();
    stop_cv_.wait_for(lock, options_.background_interval, [this] { return stopping_; });
  }
}

OAuthRefresher::Stats OAuthRefresher::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

}  // namespace cn::oauth
