// OAuth credentials end to end: the real claude-nexus binary (one or two processes) against the
// fake upstream and the fake token endpoint (tests/fakes/fake_token_endpoint.h), which rotates
// refresh tokens like the real one — so any double refresh shows up as an invalid_grant.

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "fakes/fake_token_endpoint.h"
#include "integration/fixture.h"

namespace cn::testing {
namespace {

namespace fs = std::filesystem;

std::int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string OAuthJson(const std::string& access, const std::string& refresh,
                      std::int64_t expires_at) {
  return R"({"type":"oauth","accountId":"acc_max","client_api_key":"cnp_live_x","slack":{"channel":"#team"},)"
         R"("oauth":{"accessToken":")" +
         access + R"(","refreshToken":")" + refresh + R"(","expiresAt":)" +
         std::to_string(expires_at) + R"(,"scopes":["user:inference"],"isMax":true}})";
}

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs the binary with `args`, feeding stdin through `on_output` (called with everything read
// from stdout so far; returns text to write to stdin, once). Returns {exit status, stdout, stderr}.
struct RunResult {
  int status = -1;
  std::string out, err;
};
RunResult RunBinary(const std::vector<std::string>& args,
                    const std::map<std::string, std::string>& env,
                    const std::function<std::string(const std::string&)>& on_output = {}) {
  int in_pipe[2], out_pipe[2], err_pipe[2];
  EXPECT_EQ(::pipe2(in_pipe, O_CLOEXEC), 0);
  EXPECT_EQ(::pipe2(out_pipe, O_CLOEXEC), 0);
  EXPECT_EQ(::pipe2(err_pipe, O_CLOEXEC), 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in_pipe[0], 0);
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    std::vector<std::string> envs;
    for (const auto& [k, v] : env) envs.push_back(k + "=" + v);
    std::vector<char*> argv{const_cast<char*>(CN_BINARY)}, envp;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (auto& e : envs) envp.push_back(e.data());
    envp.push_back(nullptr);
    ::execve(CN_BINARY, argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  RunResult r;
  bool fed = !on_output;
  if (fed) ::close(in_pipe[1]);
  char buf[4096];
  for (ssize_t n; (n = ::read(out_pipe[0], buf, sizeof buf)) > 0;) {
    r.out.append(buf, static_cast<std::size_t>(n));
    if (!fed) {
      const std::string reply = on_output(r.out);
      if (!reply.empty()) {
        EXPECT_EQ(::write(in_pipe[1], reply.data(), reply.size()),
                  static_cast<ssize_t>(reply.size()));
        ::close(in_pipe[1]);
        fed = true;
      }
    }
  }
  if (!fed) ::close(in_pipe[1]);
  for (ssize_t n; (n = ::read(err_pipe[0], buf, sizeof buf)) > 0;)
    r.err.append(buf, static_cast<std::size_t>(n));
  ::close(out_pipe[0]);
  ::close(err_pipe[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

class OAuthTest : public ProxyFixture {
 protected:
  fs::path CredFile(const std::string& host) {
    return dir_.path() / "credentials" / (host + ".credentials.json");
  }
  std::map<std::string, std::string> Env(std::map<std::string, std::string> extra = {}) {
    extra.try_emplace("CLAUDE_OAUTH_TOKEN_URL", tokens_.url());
    extra.try_emplace("OAUTH_BACKGROUND_REFRESH", "false");
    return extra;
  }
  HttpResponse Post(std::uint16_t port, const std::string& host) {
    return Http(port, "POST", "/v1/messages", {{"host", host}}, MessagesBody());
  }
  FakeTokenEndpoint tokens_;
};

TEST_F(OAuthTest, RefreshesBeforeExpiryAndKeepsTheFileIntact) {
  const std::string host = "max.example.com";
  WriteCredentials(host,
                   OAuthJson("at-old", "rt-seed", NowMs() + 30'000));  // inside the 60 s margin
  tokens_.AddRefreshToken("rt-seed");
  StartProxy(Env());
  const HttpResponse r = Post(port(), host);
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(tokens_.request_count(), 1u);
  const TokenRequest tr = tokens_.requests()[0];
  EXPECT_EQ(tr.target, "/v1/oauth/token");
  EXPECT_EQ(tr.Header("anthropic-beta"), "oauth-2025-04-20");
  EXPECT_EQ(tr.Header("content-type"), "application/json");
  const auto body = boost::json::parse(tr.body).as_object();
  EXPECT_EQ(body.at("client_id").as_string(), "9d1c250a-e61b-44d9-88ed-5944d1962f5e");
  EXPECT_EQ(body.at("grant_type").as_string(), "refresh_token");
  EXPECT_EQ(body.at("refresh_token").as_string(), "rt-seed");
  EXPECT_EQ(upstream_->requests().back().Header("authorization"), "Bearer at-1");
  const auto file = boost::json::parse(ReadAll(CredFile(host))).as_object();
  EXPECT_EQ(file.at("oauth").at("accessToken").as_string(), "at-1");
  EXPECT_EQ(file.at("oauth").at("refreshToken").as_string(), "rt-1");
  EXPECT_EQ(file.at("client_api_key").as_string(), "cnp_live_x");
  EXPECT_EQ(file.at("slack").at("channel").as_string(), "#team");
  EXPECT_EQ(file.at("accountId").as_string(), "acc_max");
  struct stat st {};
  ASSERT_EQ(::stat(CredFile(host).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // The next request uses the new token without another refresh.
  ASSERT_EQ(Post(port(), host).status, 200);
  EXPECT_EQ(tokens_.request_count(), 1u);
  const std::string metrics = Http(port(), "GET", "/metrics").body;
  EXPECT_EQ(MetricValue(metrics, "cn_oauth_refresh_successes_total"), 1) << metrics;
}

TEST_F(OAuthTest, FiftyConcurrentRequestsWaitForOneRefresh) {
  const std::string host = "max.example.com";
  WriteCredentials(host, OAuthJson("at-old", "rt-seed", NowMs() - 1000));  // expired
  tokens_.AddRefreshToken("rt-seed");
  tokens_.SetDelay(std::chrono::milliseconds(400));
  StartProxy(Env());
  constexpr int kRequests = 50;
  std::vector<int> status(kRequests);
  std::vector<std::int64_t> micros(kRequests);
  std::vector<std::thread> threads;
  for (int i = 0; i < kRequests; ++i) {
    threads.emplace_back([&, i] {
      const auto t0 = std::chrono::steady_clock::now();
      status[i] = Post(port(), host).status;
      micros[i] = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::steady_clock::now() - t0)
                      .count();
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kRequests; ++i) EXPECT_EQ(status[i], 200) << i;
  EXPECT_EQ(tokens_.request_count(), 1u);
  EXPECT_EQ(tokens_.invalid_grants(), 0u);
  for (const auto& req : upstream_->requests())
    EXPECT_EQ(req.Header("authorization"), "Bearer at-1");
  const std::int64_t max_us = *std::max_element(micros.begin(), micros.end());
  std::printf(
      "[ measured ] %d concurrent requests, one refresh (endpoint delay 400 ms): max request "
      "latency %.1f ms\n",
      kRequests, max_us / 1000.0);
  EXPECT_LT(max_us, 5'000'000);
  const std::string metrics = Http(port(), "GET", "/metrics").body;
  EXPECT_EQ(MetricValue(metrics, "cn_oauth_refresh_waits_total"), kRequests) << metrics;
  EXPECT_EQ(MetricValue(metrics, "cn_oauth_refresh_attempts_total"), 1);
}

TEST_F(OAuthTest, FailingEndpointAnswers401NamingTheFileAndBacksOff) {
  const std::string host = "max.example.com";
  WriteCredentials(host, OAuthJson("at-old", "rt-seed", NowMs() - 1000));
  tokens_.FailWith(503, R"({"error":"temporarily_unavailable"})");
  StartProxy(Env({{"OAUTH_REFRESH_BACKOFF_MS", "60000"}}));
  const HttpResponse r = Post(port(), host);
  ASSERT_EQ(r.status, 401) << r.body;
  const auto err = boost::json::parse(r.body).as_object();
  EXPECT_EQ(err.at("type").as_string(), "error");
  EXPECT_EQ(err.at("error").at("type").as_string(), "authentication_error");
  const std::string message(err.at("error").at("message").as_string());
  EXPECT_NE(message.find("max.example.com.credentials.json"), std::string::npos) << message;
  EXPECT_NE(message.find("claude-nexus oauth refresh"), std::string::npos) << message;
  EXPECT_EQ(message.find(dir_.path().string()), std::string::npos)
      << "no server paths: " << message;
  for (int i = 0; i < 20; ++i) EXPECT_EQ(Post(port(), host).status, 401);
  EXPECT_EQ(tokens_.request_count(), 1u) << "backoff: no hammering";
  EXPECT_EQ(upstream_->request_count(), 0u);
}

TEST_F(OAuthTest, InvalidGrantSaysTheLoginMustBeRedone) {
  const std::string host = "max.example.com";
  WriteCredentials(host, OAuthJson("at-old", "rt-revoked", NowMs() - 1000));
  StartProxy(Env());
  const HttpResponse r = Post(port(), host);
  ASSERT_EQ(r.status, 401);
  EXPECT_NE(r.body.find("login must be redone"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("claude-nexus oauth login"), std::string::npos) << r.body;
}

TEST_F(OAuthTest, CorruptCredentialFileIsAClearErrorAndIsNeverOverwritten) {
  const std::string host = "max.example.com";
  const std::string garbage = R"({"type":"oauth","oauth":{"refreshToken":"rt-seed",)";
  WriteCredentials(host, garbage);
  tokens_.AddRefreshToken("rt-seed");
  StartProxy(Env());
  const HttpResponse r = Post(port(), host);
  ASSERT_EQ(r.status, 401);
  EXPECT_NE(r.body.find("not valid JSON"), std::string::npos) << r.body;
  const RunResult cli =
      RunBinary({"oauth", "refresh", CredFile(host).string(), "--force"},
                Env({{"CREDENTIALS_DIR", (dir_.path() / "credentials").string()}}));
  EXPECT_EQ(cli.status, 1);
  EXPECT_NE(cli.err.find("nothing was overwritten"), std::string::npos) << cli.err;
  EXPECT_EQ(ReadAll(CredFile(host)), garbage);
  EXPECT_EQ(tokens_.request_count(), 0u);
}

TEST_F(OAuthTest, TwoProcessesOnOneDirectoryRefreshOnce) {
  const std::string host = "max.example.com";
  WriteCredentials(host, OAuthJson("at-old", "rt-seed", NowMs() - 1000));
  tokens_.AddRefreshToken("rt-seed");
  tokens_.SetDelay(std::chrono::milliseconds(300));
  StartUpstream();
  const std::string creds = (dir_.path() / "credentials").string();
  TempDir data_a, data_b;
  auto env = Env({{"CLAUDE_API_BASE_URL", upstream_->base_url()},
                  {"CREDENTIALS_DIR", creds},
                  {"STORAGE_ENABLED", "false"}});
  auto a = ProxyProcess::Start(env, data_a.path());
  auto b = ProxyProcess::Start(env, data_b.path());
  ASSERT_TRUE(a && b);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 20; ++i) {
    threads.emplace_back([&, i] { ok += Post(i % 2 ? a->port() : b->port(), host).status == 200; });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 20) << a->Log() << b->Log();
  EXPECT_EQ(tokens_.request_count(), 1u);
  EXPECT_EQ(tokens_.invalid_grants(), 0u);
  const std::string ma = Http(a->port(), "GET", "/metrics").body,
                    mb = Http(b->port(), "GET", "/metrics").body;
  EXPECT_EQ(MetricValue(ma, "cn_oauth_refresh_successes_total") +
                MetricValue(mb, "cn_oauth_refresh_successes_total"),
            1);
  EXPECT_EQ(MetricValue(ma, "cn_oauth_refresh_adopted_total") +
                MetricValue(mb, "cn_oauth_refresh_adopted_total"),
            1);
}

// A compressed day: 1 s stands for 1 h; tokens live 2 s ("2 h") and the background refresher of
// each of two processes renews them 1 s ahead, while both serve steady traffic.
TEST_F(OAuthTest, TwoProcessesOverASimulatedDaySpendEachRefreshTokenOnce) {
  const std::string host = "max.example.com";
  WriteCredentials(host, OAuthJson("at-old", "rt-seed", NowMs() + 2000));
  tokens_.AddRefreshToken("rt-seed");
  tokens_.SetExpiresIn(2);
  StartUpstream();
  const std::string creds = (dir_.path() / "credentials").string();
  TempDir data_a, data_b;
  auto env = Env({{"CLAUDE_API_BASE_URL", upstream_->base_url()},
                  {"CREDENTIALS_DIR", creds},
                  {"STORAGE_ENABLED", "false"},
                  {"OAUTH_BACKGROUND_REFRESH", "true"},
                  {"OAUTH_BACKGROUND_MARGIN_MS", "1000"},
                  {"OAUTH_BACKGROUND_INTERVAL_MS", "100"},
                  {"OAUTH_REFRESH_MARGIN_MS", "300"}});
  auto a = ProxyProcess::Start(env, data_a.path());
  auto b = ProxyProcess::Start(env, data_b.path());
  ASSERT_TRUE(a && b);
  const auto day = std::chrono::seconds(24);
  const auto end = std::chrono::steady_clock::now() + day;
  int requests = 0, failures = 0;
  while (std::chrono::steady_clock::now() < end) {
    failures += Post(requests % 2 ? a->port() : b->port(), host).status != 200;
    ++requests;
    std::this_thread::sleep_for(
        std::chrono::milliseconds(50));  // traffic pacing, not synchronisation
  }
  const std::size_t calls = tokens_.request_count();
  std::printf(
      "[ measured ] simulated day (24 s, tokens live 2 s): %d requests, %d failed, %zu refresh "
      "calls "
      "by two processes, %zu invalid_grant\n",
      requests, failures, calls, tokens_.invalid_grants());
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(tokens_.invalid_grants(), 0u);
  // One refresh per ~1 s of token life (refreshed 1 s before a 2 s expiry): about 24, not 48.
  EXPECT_GE(calls, 12u);
  EXPECT_LE(calls, 30u);
}

TEST_F(OAuthTest, LoginWithAScriptedCodeOnStdin) {
  const fs::path file = dir_.path() / "credentials" / "max.example.com.credentials.json";
  WriteCredentials("max.example.com", R"({"type":"oauth","slack":{"channel":"#keep"},"oauth":{}})");
  std::string url;
  const RunResult r =
      RunBinary({"oauth", "login", file.string()}, Env(), [&](const std::string& out) {
        std::smatch m;
        static const std::regex kUrl("(https://claude\\.ai/oauth/authorize\\?\\S+)");
        if (!std::regex_search(out, m, kUrl) || out.find("Paste the code") == std::string::npos)
          return std::string();
        url = m[1];
        std::smatch c, s;
        std::regex_search(url, c, std::regex("code_challenge=([A-Za-z0-9_-]+)"));
        std::regex_search(url, s, std::regex("state=([A-Za-z0-9_-]+)"));
        tokens_.AddAuthorizationCode("auth-code-1", c[1]);
        return "auth-code-1#" + std::string(s[1]) + "\n";
      });
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_NE(url.find("code_challenge_method=S256"), std::string::npos);
  EXPECT_NE(url.find("client_id=9d1c250a-e61b-44d9-88ed-5944d1962f5e"), std::string::npos);
  ASSERT_EQ(tokens_.request_count(), 1u);
  EXPECT_EQ(tokens_.requests()[0].grant_type, "authorization_code");
  const auto v = boost::json::parse(ReadAll(file)).as_object();
  EXPECT_EQ(v.at("oauth").at("accessToken").as_string(), "at-1");
  EXPECT_EQ(v.at("slack").at("channel").as_string(), "#keep");
  EXPECT_EQ(v.at("accountId").as_string(), "acct-uuid-1");
  // And the status command sees it, without printing a secret.
  const RunResult st =
      RunBinary({"oauth", "status", (dir_.path() / "credentials").string()}, Env());
  EXPECT_EQ(st.status, 0);
  EXPECT_NE(st.out.find("max.example.com"), std::string::npos) << st.out;
  EXPECT_NE(st.out.find("valid"), std::string::npos) << st.out;
  EXPECT_EQ(st.out.find("at-1"), std::string::npos) << st.out;
}

TEST_F(OAuthTest, RefreshCommandOverTlsWithTheTestCa) {
  FakeTokenEndpoint tls_tokens(FakeTokenEndpointOptions{.tls = true});
  tls_tokens.AddRefreshToken("rt-seed");
  WriteCredentials("max.example.com", OAuthJson("at-old", "rt-seed", NowMs() + 3'600'000));
  const fs::path file = CredFile("max.example.com");
  auto env = Env({{"CLAUDE_OAUTH_TOKEN_URL", tls_tokens.url()},
                  {"CLAUDE_OAUTH_CA_FILE", std::string(CN_TEST_CERTS_DIR) + "/ca.pem"}});
  RunResult r = RunBinary({"oauth", "refresh", file.string()}, env);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("still valid"), std::string::npos);
  r = RunBinary({"oauth", "refresh", file.string(), "--force"}, env);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(tls_tokens.refresh_grants(), 1u);
  // Without the test CA the certificate is not trusted: nothing is sent, nothing written.
  const std::string before = ReadAll(file);
  r = RunBinary({"oauth", "refresh", file.string(), "--force"},
                Env({{"CLAUDE_OAUTH_TOKEN_URL", tls_tokens.url()}}));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("certificate verify failed"), std::string::npos) << r.err;
  EXPECT_EQ(ReadAll(file), before);
}

TEST_F(OAuthTest, KeygenPrintsDistinctClientKeys) {
  const RunResult a = RunBinary({"keygen"}, {}), b = RunBinary({"keygen"}, {});
  const std::regex format("cnp_live_[A-Za-z0-9_-]{43}\n");
  EXPECT_TRUE(std::regex_match(a.out, format)) << a.out;
  EXPECT_TRUE(std::regex_match(b.out, format)) << b.out;
  EXPECT_NE(a.out, b.out);
}

}  // namespace
}  // namespace cn::testing
