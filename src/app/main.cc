// claude-nexus: the one binary. Subcommands:
//   serve        the proxy on :3000 with recording, and the API (dashboard service) on :3001
//   proxy        the proxy alone (with recording; the API on the proxy port only)
//   dashboard    the dashboard service alone: the API on :3001 over the store, no proxying
//   healthcheck  GET a URL (default http://127.0.0.1:$PORT/health); exit 0 on 2xx, 1 otherwise
//   oauth login <file> | refresh <file> [--force] | status [dir]
//                Claude Max OAuth credential files (docs/oauth.md)
//   keygen       print a new cnp_live_ client API key
//   conversations rebuild [--domain D] [--since T] [--dry-run]
//                re-link the stored history (docs/conversations.md)
//   --version    version, git revision, target architecture
//
// This is the only place that knows every layer, and it only wires them: config -> store ->
// recording (recording/recording.h) -> OAuth refresher -> server, and the shutdown order
// (docs/architecture.md "Shutdown"):
//   SIGTERM/SIGINT -> Server::Shutdown(grace) (stop accepting, finish or abort exchanges; every
//   exchange is submitted) -> OAuthRefresher::Stop -> Recording::Shutdown (drain the record
//   pipeline to the store, or spill) -> exit 0.

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#ifdef CN_HAVE_MIMALLOC
#include <mimalloc.h>
#else
#include <malloc.h>
#endif

#include "anthropic/pricing.h"
#include "app/config.h"
#include "app/healthcheck.h"
#include "cn_version.h"
#include "common/cpus.h"
#include "common/log.h"
#include "common/time.h"
#include "metrics/metrics.h"
#include "net/server.h"
#include "oauth/commands.h"
#include "oauth/refresher.h"
#include "oauth/status.h"
#include "oauth/token_client.h"
#include "proxy/credentials.h"
#include "query/event_feed.h"
#include "query/reader_pool.h"
#include "recording/recorder.h"
#include "recording/recording.h"
#include "storage/factory.h"
#include "storage/maintenance.h"

extern char** environ;

namespace cn::app {

std::string AllocatorName();
namespace {

std::map<std::string, std::string> ProcessEnv() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return env;
}

struct ServeFlags {
  std::string env_file;
  std::map<std::string, std::string> overrides;  // env var name -> value from a flag
};

int Fail(const std::string& message) {
  std::cerr << "claude-nexus: " << message << "\n";
  return 2;
}

StatusOr<Config> BuildConfig(const ServeFlags& flags) {
  std::map<std::string, std::string> env = ProcessEnv();
  std::string env_file = flags.env_file.empty() ? ".env" : flags.env_file;
  std::ifstream in(env_file);
  if (in) {
    std::stringstream ss;
    ss << in.rdbuf();
    auto dotenv = ParseDotEnv(ss.str());
    if (!dotenv.ok()) return Status::InvalidArgument(env_file + ": " + dotenv.status().message());
    env = MergeEnv(std::move(env), *dotenv);
  } else if (!flags.env_file.empty()) {
    return Status::InvalidArgument("cannot read --env-file " + flags.env_file);
  }
  for (const auto& [k, v] : flags.overrides) env[k] = v;
  return LoadConfig(env);
}

oauth::OAuthRefresher::Options RefresherOptions(const Config& cfg) {
  oauth::OAuthRefresher::Options o;
  o.client_id = cfg.oauth_client_id;
  o.refresh_margin_ms = cfg.oauth_refresh_margin.count();
  o.background = cfg.oauth_background_refresh;
  o.background_margin_ms = cfg.oauth_background_margin.count();
  o.background_interval = cfg.oauth_background_interval;
  o.backoff_base_ms = cfg.oauth_backoff.count();
  return o;
}

oauth::CommandOptions OAuthCommandOptions(const Config& cfg) {
  oauth::CommandOptions o;
  o.client_id = cfg.oauth_client_id;
  o.refresh_margin_ms = cfg.oauth_refresh_margin.count();
  o.expiring_soon_ms = cfg.oauth_background_margin.count();
  return o;
}

// Blocks every signal we handle in all threads (inherited by threads created later), so that
// the main thread can sigwait() for them.
sigset_t BlockShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGQUIT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  return set;
}

storage::StoreConfig StoreConfigFor(const Config& cfg) {
  storage::StoreConfig sc;
  sc.database_url = cfg.database_url;
  sc.sqlite_path = (cfg.data_dir / "claude-nexus.db").string();
  sc.raw_bodies = cfg.store_raw_bodies;
  return sc;
}

// "PostgreSQL postgres://user:****@host/db" or "SQLite <path>": never the password.
std::string DescribeDatabase(const Config& cfg) {
  return cfg.database_url.empty() ? "SQLite " + (cfg.data_dir / "claude-nexus.db").string()
                                  : "PostgreSQL " + MaskDatabaseUrl(cfg.database_url);
}

// Opens the configured store (storage/factory.h) and migrates it when `migrate`.
StatusOr<std::unique_ptr<Store>> OpenConfiguredStore(const Config& cfg, bool migrate) {
  auto opened = storage::OpenStore(StoreConfigFor(cfg));
  if (!opened.ok()) {
    return Status::InvalidArgument("cannot open the database (" + DescribeDatabase(cfg) +
                                   "): " + opened.status().message());
  }
  std::unique_ptr<Store> store = std::move(opened).value();
  if (migrate) {
    if (Status s = store->Migrate(); !s.ok()) {
      return Status::InvalidArgument("database migration failed (" + DescribeDatabase(cfg) +
                                     "): " + s.message());
    }
  }
  return store;
}

// `serve` / `proxy` after the configuration is read: every long-lived object of the process, as
// members in the order they are built, so that they are destroyed in reverse (the server first,
// the registry and credentials last). Run() is the start-up steps, the wait for a signal and the
// shutdown order (docs/architecture.md "Shutdown"), each step one method; a step that fails has
// logged why, and Run() returns exit code 2.
//
// Thread-safety: built and run on the main thread only; the objects it owns have their own
// contracts.
// Which services a process runs (the subcommand).
enum class Mode { kServe, kProxy, kDashboard };

class Service {
 public:
  Service(const Config& cfg, Mode mode)
      : cfg_(cfg), mode_(mode), credentials_(cfg.credentials_dir) {}
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // 0 after a signal and an orderly shutdown; 2 when a start-up step failed.
  int Run(const sigset_t& signals) {
    LogCredentialFiles();
    if (!OpenTokenEndpoint()) return 2;
    if (mode_ == Mode::kDashboard) {
      if (!OpenStore()) return 2;
    } else if (cfg_.storage_enabled && !OpenRecording()) {
      return 2;
    }
    StartReadSide();
    AddProcessMetrics();
    StartOAuth();
    if (!StartServer()) return 2;
    WaitForSignal(signals);
    ShutdownInOrder();
    return 0;
  }

 private:
  // The `oauth status` table, one line per credential file; rows hold no secret.
  void LogCredentialFiles() {
    const std::int64_t now_ms = NowUnixMicros() / 1000;
    for (const auto& row : oauth::BuildStatusRows(
             credentials_.Report(now_ms, cfg_.oauth_background_margin.count()), now_ms)) {
      log::Info("credential file", {{"domain", row.domain},
                                    {"account", row.account},
                                    {"type", row.type},
                                    {"state", row.state},
                                    {"expires", row.expiry},
                                    {"client_key", row.client_key},
                                    {"error", row.error}});
    }
  }

  bool OpenTokenEndpoint() {
    auto endpoint = oauth::MakeHttpTokenEndpoint(cfg_.oauth_token_url, cfg_.oauth_ca_file);
    if (!endpoint.ok()) {
      log::Error("configuration error", {{"error", endpoint.status().message()}});
      return false;
    }
    token_endpoint_ = std::move(endpoint).value();
    return true;
  }

  // `dashboard`: the store only, for reading (no recording, no maintenance).
  bool OpenStore() {
    auto opened = OpenConfiguredStore(cfg_, cfg_.auto_migrate);
    if (!opened.ok()) {
      log::Error("cannot use the database", {{"error", opened.status().message()}});
      return false;
    }
    store_ = std::move(opened).value();
    log::Info("reading", {{"database", DescribeDatabase(cfg_)}});
    return true;
  }

  // The API's reader pool and live event feed over the store (docs/api.md). A feed that cannot
  // start (the database is down) leaves /api/events answering 503; the rest retries per query.
  void StartReadSide() {
    if (!store_) return;
    const int timeout_ms = static_cast<int>(cfg_.api_statement_timeout.count());
    readers_ = std::make_unique<query::ReaderPool>(
        [store = store_.get(), timeout_ms] { return store->OpenReader(timeout_ms); },
        cfg_.api_readers, 256);
    auto reader = store_->OpenReader(timeout_ms);
    if (!reader.ok()) {
      log::Warn("event feed not started", {{"error", reader.status().message()}});
      return;
    }
    events_ = std::make_unique<query::EventFeed>(std::move(reader).value(),
                                                 std::chrono::milliseconds(250));
    if (Status s = events_->Start(); !s.ok()) {
      log::Warn("event feed not started", {{"error", s.message()}});
      events_.reset();
    }
  }

  // STORAGE_ENABLED: the store, the recording component (docs/architecture.md "Record path") and
  // the store's maintenance thread.
  bool OpenRecording() {
    // AUTO_MIGRATE=false: the schema is managed with `claude-nexus migrate` (docs/storage.md).
    auto opened = OpenConfiguredStore(cfg_, cfg_.auto_migrate);
    if (!opened.ok()) {
      log::Error("cannot use the database", {{"error", opened.status().message()}});
      return false;
    }
    store_ = std::move(opened).value();
    // Per-key usage in passthrough mode (docs/api.md "Who used it"): the same secret on every
    // replica (API_KEY_HASH_SECRET) makes their hashes comparable.
    auto secret = proxy::LoadOrCreateKeyHashSecret(cfg_.api_key_hash_secret,
                                                   cfg_.data_dir / "key-hash.secret");
    if (!secret.ok()) {
      log::Error("configuration error", {{"error", secret.status().message()}});
      return false;
    }
    key_hasher_ = std::make_unique<proxy::KeyHasher>(std::move(secret).value());
    recording::RecordingOptions ropts;
    ropts.pipeline.spill_dir = cfg_.data_dir / "spill";
    ropts.pipeline.queue_capacity = cfg_.record_queue_capacity;
    if (!cfg_.pricing_file.empty()) {
      auto prices = anthropic::PriceTable::LoadFile(cfg_.pricing_file);
      if (!prices.ok()) {
        log::Error("configuration error", {{"error", prices.status().message()}});
        return false;
      }
      ropts.prices = std::move(prices).value();
      log::Info("prices loaded",
                {{"file", cfg_.pricing_file.string()},
                 {"models", static_cast<std::uint64_t>(ropts.prices.models().size())}});
    }
    recording_ = std::make_unique<recording::Recording>(*store_, std::move(ropts), &registry_);
    log::Info("recording", {{"database", DescribeDatabase(cfg_)}});
    // Loads /token-stats and warms the conversation index before the pipeline starts, and before
    // maintenance's first retention pass.
    if (Status s = recording_->Start(); !s.ok()) {
      log::Error("cannot start the record pipeline", {{"error", s.message()}});
      return false;
    }
    // Writer-side background work: /token-stats re-read from a store other replicas also write
    // (never a database call on the I/O threads), and retention.
    storage::MaintenanceOptions mopts;
    if (store_->SharedByReplicas()) mopts.stats_every = cfg_.token_stats_refresh;
    mopts.retention = std::chrono::hours(24 * cfg_.retention_days);
    maintenance_ = std::make_unique<storage::StoreMaintenance>(
        *store_, mopts,
        [&stats = recording_->token_stats()](const std::vector<DomainStats>& loaded) {
          stats.Load(loaded);
        });
    maintenance_->Start();
    return true;
  }

  void AddProcessMetrics() {
    registry_.AddCollector([] {
      return std::vector<metrics::CollectedMetric>{
          {"cn_log_lines_dropped_total",
           "counter",
           "Log lines dropped because the log queue was full.",
           {{"", double(log::DroppedLines())}}}};
    });
  }

  void StartOAuth() {
    refresher_ = std::make_unique<oauth::OAuthRefresher>(RefresherOptions(cfg_), *token_endpoint_,
                                                         credentials_, &registry_);
    refresher_->Start();
  }

  net::ServerOptions BuildServerOptions() const {
    net::ServerOptions sopts;
    sopts.host = cfg_.host;
    sopts.port = cfg_.port;
    // IO_THREADS=0: one per CPU this process may use (affinity mask and cgroup quota), not per
    // core of the host (docs/architecture.md "Request path").
    sopts.io_threads = cfg_.io_threads > 0 ? cfg_.io_threads : UsableCpus();
    sopts.upstream = net::UpstreamTarget{cfg_.upstream.host, cfg_.upstream.port, cfg_.upstream.tls,
                                         cfg_.upstream.base_path};
    sopts.upstream_ca_file = cfg_.upstream_ca_file;
    sopts.upstream_timeout = cfg_.upstream_timeout;
    sopts.server_timeout = cfg_.server_timeout;
    sopts.max_body_bytes = cfg_.max_body_bytes;
    sopts.client_auth = cfg_.client_auth;
    sopts.retry = cfg_.retry;
    if (mode_ != Mode::kProxy) sopts.dashboard_port = cfg_.dashboard_port;
    sopts.serve_proxy = mode_ != Mode::kDashboard;
    sopts.api_dashboard_key = cfg_.dashboard_api_key;
    sopts.api_internal_key = cfg_.internal_api_key;
    return sopts;
  }

  // What the request path uses of the layers below it; recording's hooks stay empty (and
  // /token-stats empty) when STORAGE_ENABLED=false.
  net::ServerServices BuildServices() {
    net::ServerServices services;
    services.credentials = &credentials_;
    services.registry = &registry_;
    services.token_stats = recording_ ? &recording_->token_stats() : &no_token_stats_;
    services.oauth = refresher_.get();
    services.key_hasher = key_hasher_.get();
    services.readers = readers_.get();
    services.store = store_.get();
    services.events = events_.get();
    if (recording_) {
      services.submit_record = [r = recording_.get()](Record&& record) {
        r->Submit(std::move(record));
      };
      services.store_health = [r = recording_.get()] {
        const recording::StoreHealth s = r->store_health();
        net::StoreHealth h;
        h.enabled = true;
        h.healthy = s.healthy;
        h.kind = s.kind;
        h.queued = s.queued;
        h.writer_lag_ms = s.writer_lag_ms;
        h.spilled_pending = s.spilled_pending;
        return h;
      };
    }
    return services;
  }

  bool StartServer() {
    const net::ServerOptions sopts = BuildServerOptions();
    server_ = std::make_unique<net::Server>(sopts, BuildServices());
    if (Status s = server_->Start(); !s.ok()) {
      log::Error("cannot start the proxy", {{"error", s.message()}});
      if (recording_) recording_->Shutdown(std::chrono::seconds(5));
      return false;
    }
    log::Info("listening",
              {{"address", cfg_.host},
               {"port", static_cast<int>(server_->port())},
               {"dashboard_port", static_cast<int>(server_->dashboard_port())},
               {"io_threads", sopts.io_threads},
               {"upstream", cfg_.upstream.scheme + "://" + cfg_.upstream.host + ":" +
                                std::to_string(cfg_.upstream.port) + cfg_.upstream.base_path}});
    return true;
  }

  void WaitForSignal(const sigset_t& signals) {
    int sig = 0;
    sigwait(&signals, &sig);
    const char* name = sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT" : "SIGQUIT";
    log::Info(
        "shutting down",
        {{"signal", name}, {"grace_ms", static_cast<std::int64_t>(cfg_.shutdown_timeout.count())}});
  }

  // docs/architecture.md "Shutdown": the server first (every exchange it had is submitted by the
  // time it returns), then the OAuth refresher, then the record pipeline (drain to the store, or
  // spill).
  void ShutdownInOrder() {
    server_->Shutdown(cfg_.shutdown_timeout);
    if (events_) events_->Stop();
    readers_.reset();  // finishes queued queries (none: the server has stopped)
    refresher_->Stop();
    if (recording_) {
      const recording::PipelineStats s = recording_->Shutdown(std::chrono::seconds(10));
      log::Info("record pipeline drained",
                {{"written", s.written}, {"spilled", s.spilled}, {"failed", s.failed}});
    }
    log::Info("stopped");
  }

  const Config& cfg_;
  const Mode mode_;
  proxy::CredentialStore credentials_;
  std::unique_ptr<oauth::TokenEndpoint> token_endpoint_;
  metrics::Registry registry_;
  recording::TokenStats no_token_stats_;  // /token-stats when recording is disabled
  std::unique_ptr<Store> store_;
  std::unique_ptr<proxy::KeyHasher> key_hasher_;            // api_key_hash of passthrough exchanges
  std::unique_ptr<recording::Recording> recording_;         // uses store_ and registry_
  std::unique_ptr<storage::StoreMaintenance> maintenance_;  // uses store_ and recording_'s stats
  std::unique_ptr<oauth::OAuthRefresher> refresher_;        // outlives the server; stopped after it
  std::unique_ptr<query::ReaderPool> readers_;              // the API's queries (uses store_)
  std::unique_ptr<query::EventFeed> events_;                // /api/events (its own reader)
  std::unique_ptr<net::Server> server_;
};

int Serve(const ServeFlags& flags, Mode mode) {
  sigset_t signals = BlockShutdownSignals();
  auto config_or = BuildConfig(flags);
  if (!config_or.ok()) return Fail("configuration error: " + config_or.status().message());
  const Config cfg = std::move(config_or).value();
  log::Init(cfg.log_level, cfg.log_json);
  log::Info("starting claude-nexus", {{"version", build::kVersion},
                                      {"revision", build::kGitRevision},
                                      {"arch", build::kTargetArch},
                                      {"allocator", AllocatorName()}});
  for (const auto& line : DescribeConfig(cfg)) log::Info("config", {{"setting", line}});
  Service service(cfg, mode);
  const int exit_code = service.Run(signals);
  log::Shutdown();
  return exit_code;
}

// `claude-nexus migrate`: creates or upgrades the schema (also a database created by the
// original Claude Nexus Proxy) and exits; safe while replicas run (docs/storage.md).
int MigrateCommand(const ServeFlags& flags) {
  auto config_or = BuildConfig(flags);
  if (!config_or.ok()) return Fail("configuration error: " + config_or.status().message());
  auto store = OpenConfiguredStore(*config_or, /*migrate=*/true);
  if (!store.ok()) return Fail(store.status().message());
  std::cout << "schema of " << DescribeDatabase(*config_or) << " is up to date\n";
  return 0;
}

// `claude-nexus prune [--days N]`: one retention pass now (N defaults to RETENTION_DAYS).
int PruneCommand(const ServeFlags& flags, int days) {
  auto config_or = BuildConfig(flags);
  if (!config_or.ok()) return Fail("configuration error: " + config_or.status().message());
  if (days <= 0) days = config_or->retention_days;
  if (days <= 0) return Fail("give --days N or set RETENTION_DAYS");
  auto store = OpenConfiguredStore(*config_or, /*migrate=*/false);
  if (!store.ok()) return Fail(store.status().message());
  storage::MaintenanceOptions mopts;
  mopts.retention = std::chrono::hours(24 * days);
  storage::StoreMaintenance maintenance(**store, mopts, nullptr);
  auto pruned = maintenance.PruneNow();
  if (!pruned.ok()) return Fail("prune failed: " + pruned.status().message());
  std::cout << "deleted " << *pruned << " exchanges older than " << days << " days from "
            << DescribeDatabase(*config_or) << "\n";
  return 0;
}

struct RebuildFlags {
  std::string domain;
  std::string since;  // ISO 8601, e.g. 2025-06-01T00:00:00Z
  bool dry_run = false;
};

// `claude-nexus conversations rebuild`: re-links the stored history (recording/recorder.h,
// docs/conversations.md).
int RebuildConversationsCommand(const ServeFlags& flags, const RebuildFlags& rebuild) {
  auto config_or = BuildConfig(flags);
  if (!config_or.ok()) return Fail("configuration error: " + config_or.status().message());
  const Config cfg = std::move(config_or).value();
  recording::RebuildOptions options;
  options.domain = rebuild.domain;
  options.dry_run = rebuild.dry_run;
  if (!rebuild.since.empty() && !ParseIso8601(rebuild.since, &options.since_unix_micros)) {
    return Fail("--since wants an ISO 8601 UTC time such as 2025-06-01T00:00:00Z, got '" +
                rebuild.since + "'");
  }
  auto opened = OpenConfiguredStore(cfg, /*migrate=*/true);
  if (!opened.ok()) return Fail(opened.status().message());
  std::unique_ptr<Store> store = std::move(opened).value();

  const bool tty = isatty(STDERR_FILENO) != 0;
  auto report =
      recording::RebuildConversations(*store, options, [tty](const recording::RebuildReport& r) {
        if (tty) std::cerr << "\rscanned " << r.scanned << ", changed " << r.changed << std::flush;
      });
  if (tty) std::cerr << "\n";
  if (!report.ok()) return Fail("rebuild failed: " + report.status().message());
  std::cout << (options.dry_run ? "dry run: " : "") << "scanned " << report->scanned
            << " requests, re-linked " << report->linked << ", "
            << (options.dry_run ? "would change " : "changed ") << report->changed
            << " (warmed with " << report->warmed << " earlier requests)\n";
  for (std::size_t k = 0; k < report->by_kind.size(); ++k) {
    std::cout << "  " << conversation::LinkKindName(static_cast<conversation::LinkKind>(k)) << ": "
              << report->by_kind[k] << "\n";
  }
  return 0;
}

struct OAuthFlags {
  std::string path;  // login/refresh: the credential file; status: the directory
  bool force = false;
};

// `claude-nexus oauth login|refresh|status` (oauth/commands.h), configured like the proxy.
int OAuthCommand(const ServeFlags& flags, std::string_view command, const OAuthFlags& oauth_flags) {
  auto config_or = BuildConfig(flags);
  if (!config_or.ok()) return Fail("configuration error: " + config_or.status().message());
  const Config cfg = std::move(config_or).value();
  const oauth::CommandOptions options = OAuthCommandOptions(cfg);
  if (command == "status") {
    return oauth::RunStatus(
        oauth_flags.path.empty() ? cfg.credentials_dir : std::filesystem::path(oauth_flags.path),
        options, std::cout, std::cerr);
  }
  auto endpoint = oauth::MakeHttpTokenEndpoint(cfg.oauth_token_url, cfg.oauth_ca_file);
  if (!endpoint.ok()) return Fail("configuration error: " + endpoint.status().message());
  if (command == "login")
    return oauth::RunLogin(oauth_flags.path, **endpoint, options, std::cin, std::cout, std::cerr);
  return oauth::RunRefresh(oauth_flags.path, oauth_flags.force, **endpoint, options, std::cout,
                           std::cerr);
}

}  // namespace
// Which allocator serves malloc in this process, checked rather than assumed: "mimalloc 2.0.9"
// only when a block from calloc() lies in mimalloc's heap.
std::string AllocatorName() {
#ifdef CN_HAVE_MIMALLOC
  void* probe = std::calloc(1, 64);
  const bool ours = mi_is_in_heap_region(probe);
  std::free(probe);
  if (ours) {
    const int v = mi_version();
    return "mimalloc " + std::to_string(v / 100) + "." + std::to_string(v / 10 % 10) + "." +
           std::to_string(v % 10);
  }
#endif
  return "glibc malloc";
}

}  // namespace cn::app

int main(int argc, char** argv) {
  using namespace cn;
#ifndef CN_HAVE_MIMALLOC
  // glibc's allocator (CN_MIMALLOC=OFF): its defaults return freed heap tops to the kernel and
  // re-fault them on the next request (mprotect and page faults every few requests under load).
  // Keep up to 64 MiB.
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  mallopt(M_TOP_PAD, 4 << 20);
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
#endif
  CLI::App cli{"claude-nexus: observability proxy for the Claude API"};
  cli.require_subcommand(0, 1);
  bool show_version = false;
  cli.add_flag("-v,--version", show_version, "Print version, git revision and target architecture");

  app::ServeFlags flags;
  auto add_serve_flags = [&flags](CLI::App* sub) {
    sub->add_option("-e,--env-file", flags.env_file,
                    "Read settings from this file (default ./.env)");
    struct Flag {
      const char* name;
      const char* env;
      const char* help;
    };
    static const Flag kFlags[] = {
        {"-p,--port", "PORT", "Listen port (PORT, default 3000)"},
        {"-H,--host", "HOST", "Listen address (HOST, default 0.0.0.0)"},
        {"--dashboard-port", "DASHBOARD_PORT", "Dashboard/API port (DASHBOARD_PORT, default 3001)"},
        {"--upstream", "CLAUDE_API_BASE_URL", "Upstream API base URL (CLAUDE_API_BASE_URL)"},
        {"--data-dir", "DATA_DIR", "Where the SQLite database and spill file live (DATA_DIR)"},
        {"--credentials-dir", "CREDENTIALS_DIR", "Credential files directory (CREDENTIALS_DIR)"},
        {"--database-url", "DATABASE_URL", "PostgreSQL URL (DATABASE_URL)"},
        {"--log-level", "LOG_LEVEL", "debug|info|warn|error (LOG_LEVEL)"},
        {"--log-json", "LOG_JSON", "true|false: JSON lines logs (LOG_JSON)"},
        {"--client-auth", "ENABLE_CLIENT_AUTH", "true|false (ENABLE_CLIENT_AUTH)"},
        {"--storage", "STORAGE_ENABLED", "true|false: record exchanges (STORAGE_ENABLED)"},
    };
    for (const auto& f : kFlags) {
      sub->add_option_function<std::string>(
          f.name,
          [&flags, env = std::string(f.env)](const std::string& v) { flags.overrides[env] = v; },
          f.help);
    }
  };
  CLI::App* serve = cli.add_subcommand(
      "serve", "Run the proxy (port 3000) with recording and the API/dashboard (port 3001)");
  add_serve_flags(serve);
  CLI::App* proxy = cli.add_subcommand("proxy", "Run the proxy service alone");
  add_serve_flags(proxy);
  CLI::App* dashboard = cli.add_subcommand(
      "dashboard",
      "Run the dashboard service alone: the API on DASHBOARD_PORT (3001) over the store");
  add_serve_flags(dashboard);
  CLI::App* health =
      cli.add_subcommand("healthcheck", "Exit 0 if URL answers 2xx (for HEALTHCHECK)");
  std::string health_url;
  int health_timeout_ms = 3000;
  health->add_option("url", health_url, "Default http://127.0.0.1:$PORT/health");
  health->add_option("--timeout-ms", health_timeout_ms, "Give up after this long");
  CLI::App* conversations =
      cli.add_subcommand("conversations", "Conversation tracking maintenance");
  conversations->require_subcommand(1);
  CLI::App* rebuild = conversations->add_subcommand(
      "rebuild", "Re-link stored requests in timestamp order (stop the proxy first)");
  app::RebuildFlags rebuild_flags;
  rebuild->add_option("--domain", rebuild_flags.domain,
                      "Only this domain (raw Host, e.g. localhost:3000)");
  rebuild->add_option("--since", rebuild_flags.since,
                      "Only requests from this UTC time on (ISO 8601)");
  rebuild->add_flag("--dry-run", rebuild_flags.dry_run, "Report what would change, write nothing");
  rebuild->add_option("-e,--env-file", flags.env_file,
                      "Read settings from this file (default ./.env)");
  rebuild->add_option_function<std::string>(
      "--data-dir", [&flags](const std::string& v) { flags.overrides["DATA_DIR"] = v; },
      "Where the SQLite database lives (DATA_DIR)");

  CLI::App* oauth_cmd =
      cli.add_subcommand("oauth", "Claude Max OAuth credential files (docs/oauth.md)");
  oauth_cmd->require_subcommand(1);
  oauth_cmd->add_option("-e,--env-file", flags.env_file,
                        "Read settings from this file (default ./.env)");
  app::OAuthFlags oauth_flags;
  CLI::App* oauth_login = oauth_cmd->add_subcommand(
      "login", "Log in (PKCE: open the printed URL anywhere, paste code#state) and write the file");
  oauth_login
      ->add_option("file", oauth_flags.path, "e.g. credentials/claude.example.com.credentials.json")
      ->required();
  CLI::App* oauth_refresh =
      oauth_cmd->add_subcommand("refresh", "Refresh the tokens of a credential file");
  oauth_refresh->add_option("file", oauth_flags.path, "The credential file")->required();
  oauth_refresh->add_flag("--force", oauth_flags.force,
                          "Refresh even if the token is not about to expire");
  CLI::App* oauth_status =
      oauth_cmd->add_subcommand("status", "Table of the credential files and their state");
  oauth_status->add_option("dir", oauth_flags.path, "Default CREDENTIALS_DIR");
  CLI::App* keygen =
      cli.add_subcommand("keygen", "Print a new cnp_live_ client API key (for client_api_key)");

  CLI::App* migrate =
      cli.add_subcommand("migrate", "Create or upgrade the database schema, then exit");
  add_serve_flags(migrate);
  CLI::App* prune =
      cli.add_subcommand("prune", "Delete exchanges older than RETENTION_DAYS (or --days) now");
  add_serve_flags(prune);
  int prune_days = 0;
  prune->add_option("--days", prune_days, "Keep this many days (default RETENTION_DAYS)");

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e);
  }
  if (show_version) {
    std::cout << "claude-nexus " << build::kVersion << " (revision " << build::kGitRevision << ", "
              << build::kTargetArch << ", allocator " << app::AllocatorName() << ")\n";
    return 0;
  }
  if (*serve) return app::Serve(flags, app::Mode::kServe);
  if (*proxy) return app::Serve(flags, app::Mode::kProxy);
  if (*dashboard) return app::Serve(flags, app::Mode::kDashboard);
  if (*rebuild) return app::RebuildConversationsCommand(flags, rebuild_flags);
  if (*migrate) return app::MigrateCommand(flags);
  if (*prune) return app::PruneCommand(flags, prune_days);
  if (*oauth_cmd) {
    const char* command = *oauth_login ? "login" : *oauth_refresh ? "refresh" : "status";
    return app::OAuthCommand(flags, command, oauth_flags);
  }
  if (*keygen) return oauth::RunKeygen({}, std::cout);
  if (*health) {
    if (health_url.empty()) {
      const char* port = std::getenv("PORT");
      health_url = std::string("http://127.0.0.1:") + (port && *port ? port : "3000") + "/health";
    }
    std::string error;
    int status =
        app::HttpGetStatus(health_url, std::chrono::milliseconds(health_timeout_ms), &error);
    if (status >= 200 && status < 300) return 0;
    std::cerr << "healthcheck " << health_url << ": "
              << (status > 0 ? "HTTP " + std::to_string(status) : error) << "\n";
    return 1;
  }
  std::cout << cli.help();
  return 0;
}
