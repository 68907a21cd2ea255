// The JSON API (docs/api.md) end to end: the real binary on 127.0.0.1 serving /api/ on the proxy
// port and the dashboard port, the fake upstream, SQLite (one case on PostgreSQL), real sockets.
// What a request recorded through the proxy looks like through the API, the live feed
// (/api/events), the streamed export, auth, the dashboard port not proxying, the `dashboard`
// subcommand over a data dir `serve` wrote, bad input, and shutdown with an open feed.

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "common/ids.h"
#include "integration/fixture.h"
#ifdef CN_HAVE_POSTGRES
#include "pg_test_database.h"
#endif

namespace cn::testing {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

json::value Parse(const std::string& body) {
  json::error_code ec;
  json::value v = json::parse(body, ec);
  return ec ? json::value() : v;
}

std::string Str(const json::value& v, std::string_view key) {
  if (!v.is_object()) return "";
  const json::value* f = v.as_object().if_contains(key);
  return f != nullptr && f->is_string() ? std::string(f->as_string()) : "";
}

std::int64_t Int(const json::value& v, std::string_view key) {
  if (!v.is_object()) return -1;
  const json::value* f = v.as_object().if_contains(key);
  return f != nullptr && f->is_int64() ? f->as_int64() : -1;
}

// The requestIds GET /api/requests lists on `port` (empty when the answer is not a 200 list).
std::set<std::string> ListedIds(std::uint16_t port, const HeaderPairs& headers = {}) {
  std::set<std::string> out;
  HttpResponse r = Http(port, "GET", "/api/requests?limit=1000", headers);
  if (r.status != 200) return out;
  json::value v = Parse(r.body);
  if (!v.is_object()) return out;
  const json::value* list = v.as_object().if_contains("requests");
  if (list == nullptr || !list->is_array()) return out;
  for (const auto& e : list->as_array()) out.insert(Str(e, "requestId"));
  return out;
}

// Bounded poll until GET /api/requests on `port` lists every id in `ids`.
bool WaitListed(std::uint16_t port, const std::vector<std::string>& ids,
                const HeaderPairs& headers = {}) {
  return Eventually(
      [&] {
        auto listed = ListedIds(port, headers);
        for (const auto& id : ids) {
          if (!listed.contains(id)) return false;
        }
        return true;
      },
      seconds(15));
}

// One SSE event of the feed: the block "id: N\nevent: request\ndata: {...}\n\n" holding `needle`.
struct SseEvent {
  std::int64_t id = -1;
  std::string event;
  json::value data;
};
std::optional<SseEvent> FindEvent(const std::string& stream, const std::string& needle) {
  auto at = stream.find(needle);
  if (at == std::string::npos) return std::nullopt;
  auto begin = stream.rfind("\n\n", at);
  begin = begin == std::string::npos ? 0 : begin + 2;
  auto end = stream.find("\n\n", at);
  if (end == std::string::npos) return std::nullopt;
  SseEvent e;
  std::istringstream in(stream.substr(begin, end - begin));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("id: ", 0) == 0) e.id = std::stoll(line.substr(4));
    if (line.rfind("event: ", 0) == 0) e.event = line.substr(7);
    if (line.rfind("data: ", 0) == 0) e.data = Parse(line.substr(6));
  }
  return e;
}

// Reads the feed (bounded) until the whole event holding `needle` has arrived.
std::optional<SseEvent> ReadEvent(StreamingClient& feed, const std::string& needle) {
  feed.ReadUntilBody([&](const std::string& b) { return FindEvent(b, needle).has_value(); },
                     seconds(15));
  return FindEvent(feed.body(), needle);
}

std::vector<std::string> Lines(const std::string& body, std::string_view sep) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < body.size()) {
    auto end = body.find(sep, pos);
    if (end == std::string::npos) end = body.size();
    out.push_back(body.substr(pos, end - pos));
    pos = end + sep.size();
  }
  return out;
}

// Local TCP ports the process `pid` listens on (its sockets in LISTEN state, from /proc).
std::set<int> ListeningPorts(pid_t pid) {
  std::set<std::string> inodes;
  const std::filesystem::path fds = "/proc/" + std::to_string(pid) + "/fd";
  std::error_code ec;
  for (const auto& fd : std::filesystem::directory_iterator(fds, ec)) {
    std::error_code lec;
    auto target = std::filesystem::read_symlink(fd.path(), lec).string();
    if (!lec && target.rfind("socket:[", 0) == 0)
      inodes.insert(target.substr(8, target.size() - 9));
  }
  std::set<int> ports;
  for (const char* table : {"tcp", "tcp6"}) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/net/" + table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream f(line);
      std::string sl, local, remote, state, queues, timer, retr, uid, timeout, inode;
      f >> sl >> local >> remote >> state >> queues >> timer >> retr >> uid >> timeout >> inode;
      if (state != "0A" || !inodes.contains(inode)) continue;  // 0A: TCP_LISTEN
      ports.insert(std::stoi(local.substr(local.find(':') + 1), nullptr, 16));
    }
  }
  return ports;
}

// A non-loopback IPv4 address of this machine (an interface such as eth0), or "".
std::string NonLoopbackAddress() {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return "";
  std::string out;
  for (ifaddrs* i = list; i != nullptr && out.empty(); i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
    auto* sin = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
    if ((ntohl(sin->sin_addr.s_addr) >> 24) == 127) continue;
    char buf[INET_ADDRSTRLEN];
    if (::inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf) != nullptr) out = buf;
  }
  ::freeifaddrs(list);
  return out;
}

// One HTTP/1.1 exchange (Connection: close) to address:port over a plain socket; the raw answer.
// The harness's clients connect to 127.0.0.1 only; this one reaches the server through another
// interface, so the server sees a non-loopback peer.
std::string RawHttpTo(const std::string& address, std::uint16_t port, const std::string& target,
                      const std::string& extra_headers = "") {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  ::inet_pton(AF_INET, address.c_str(), &sa.sin_addr);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) {
    const std::string req = "GET " + target + " HTTP/1.1\r\nHost: " + address + ":" +
                            std::to_string(port) + "\r\n" + extra_headers +
                            "Connection: close\r\n\r\n";
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      char buf[4096];
      for (;;) {
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
      }
    }
  }
  ::close(fd);
  return out;
}

class ApiFixture : public ProxyFixture {
 protected:
  std::uint16_t dash() const { return proxy_->dashboard_port(); }

  // POST /v1/messages through the proxy port; the X-Request-ID of the 200 answer.
  std::string Send(bool stream, const HeaderPairs& extra = {}) {
    HeaderPairs headers{{"content-type", "application/json"}, {"x-api-key", "sk-ant-test"}};
    headers.insert(headers.end(), extra.begin(), extra.end());
    HttpResponse r = Http(port(), "POST", "/v1/messages", headers, MessagesBody(stream));
    EXPECT_EQ(r.status, 200) << r.error << r.body;
    std::string id = r.Header("x-request-id");
    EXPECT_TRUE(IsUuid(id)) << id;
    return id;
  }

  // Starts `serve` and checks that both ports are open.
  void StartServe(std::map<std::string, std::string> env = {}) {
    StartProxy(std::move(env));
    ASSERT_NE(dash(), 0) << proxy_->Log();
    ASSERT_NE(dash(), port());
  }
};

// ---- 1. serve: a proxied request, as the API shows it ----

TEST_F(ApiFixture, ProxiedRequestsAppearInTheApiOnBothPorts) {
  StartServe();
  const std::string plain = Send(false);
  const std::string streamed = Send(true);
  ASSERT_TRUE(WaitListed(dash(), {plain, streamed})) << proxy_->Log();

  HttpResponse list = Http(dash(), "GET", "/api/requests");
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(list.Header("content-type"), "application/json");
  EXPECT_EQ(list.Header("cache-control"), "no-store");
  json::value lv = Parse(list.body);
  ASSERT_TRUE(lv.is_object()) << list.body;
  ASSERT_TRUE(lv.as_object().contains("pagination")) << list.body;
  EXPECT_EQ(lv.at("requests").as_array().size(), 2u) << list.body;

  // Non-streaming: the fake's usage (12 in, 5 out), no chunks.
  HttpResponse d1 = Http(dash(), "GET", "/api/requests/" + plain);
  ASSERT_EQ(d1.status, 200) << d1.body;
  json::value v1 = Parse(d1.body);
  EXPECT_EQ(Str(v1, "requestId"), plain);
  EXPECT_EQ(Str(v1, "model"), "claude-sonnet-4-20250514");
  EXPECT_EQ(Int(v1, "inputTokens"), 12);
  EXPECT_EQ(Int(v1, "outputTokens"), 5);
  EXPECT_EQ(Str(v1, "outcome"), "completed");
  EXPECT_EQ(Int(v1, "responseStatus"), 200);
  EXPECT_EQ(Str(v1, "path"), "/v1/messages");
  EXPECT_FALSE(v1.at("streaming").as_bool());
  EXPECT_TRUE(v1.at("streamingChunks").as_array().empty());

  // Streaming: one chunk per SSE event the fake sent (message_start ... message_stop).
  HttpResponse d2 = Http(dash(), "GET", "/api/requests/" + streamed);
  ASSERT_EQ(d2.status, 200) << d2.body;
  json::value v2 = Parse(d2.body);
  EXPECT_EQ(Str(v2, "requestId"), streamed);
  EXPECT_EQ(Str(v2, "model"), "claude-sonnet-4-20250514");
  EXPECT_TRUE(v2.at("streaming").as_bool());
  EXPECT_EQ(Int(v2, "outputTokens"), 5);  // message_delta usage.output_tokens = deltas (5)
  const auto& chunks = v2.at("streamingChunks").as_array();
  ASSERT_GE(chunks.size(), 5u) << d2.body;
  std::string joined;
  for (const auto& c : chunks) joined += Str(c, "data");
  EXPECT_NE(joined.find("message_start"), std::string::npos) << joined;
  EXPECT_NE(joined.find("message_stop"), std::string::npos) << joined;
  EXPECT_EQ(Int(chunks.at(0), "chunkIndex"), 0);

  // The proxy port answers the same.
  HttpResponse p1 = Http(port(), "GET", "/api/requests/" + plain);
  ASSERT_EQ(p1.status, 200) << p1.body;
  EXPECT_EQ(Parse(p1.body), v1);
  HttpResponse p2 = Http(port(), "GET", "/api/requests/" + streamed);
  ASSERT_EQ(p2.status, 200) << p2.body;
  EXPECT_EQ(Parse(p2.body), v2);
  EXPECT_EQ(ListedIds(port()), (std::set<std::string>{plain, streamed}));
  // The API itself is not proxied or recorded: the upstream saw the two messages only.
  EXPECT_EQ(upstream_->request_count(), 2u);
}

// ---- 2. the live feed ----

TEST_F(ApiFixture, EventFeedDeliversNewRequestsAndResumesAfterLastEventId) {
  StartServe();
  auto first = std::make_unique<StreamingClient>(dash(), "/api/events", HeaderPairs{}, "", "GET");
  ASSERT_TRUE(first->ReadHeader(seconds(10)));
  ASSERT_EQ(first->status(), 200);
  EXPECT_EQ(first->Header("content-type"), "text/event-stream; charset=utf-8");
  EXPECT_EQ(first->Header("cache-control"), "no-store");
  ASSERT_TRUE(first->ReadUntil("retry: ", seconds(10))) << first->body();

  const std::string id1 = Send(false);
  std::optional<SseEvent> e1 = ReadEvent(*first, id1);
  ASSERT_TRUE(e1) << first->body();
  EXPECT_EQ(e1->event, "request");
  EXPECT_GT(e1->id, 0);
  EXPECT_EQ(Str(e1->data, "requestId"), id1) << first->body();
  EXPECT_EQ(Str(e1->data, "model"), "claude-sonnet-4-20250514");
  first->Close();

  // Missed while disconnected: a resumed feed (Last-Event-ID) sends it; never the one already seen.
  const std::string id2 = Send(false);
  ASSERT_TRUE(WaitListed(dash(), {id2}));
  StreamingClient second(dash(), "/api/events", {{"Last-Event-ID", std::to_string(e1->id)}}, "",
                         "GET");
  ASSERT_TRUE(second.ReadHeader(seconds(10)));
  ASSERT_EQ(second.status(), 200);
  ASSERT_TRUE(second.ReadUntil("retry: ", seconds(10)));
  const std::string id3 = Send(true);
  std::optional<SseEvent> e3 = ReadEvent(second, id3);
  ASSERT_TRUE(e3) << second.body();
  const std::string& body = second.body();
  EXPECT_EQ(body.find(id1), std::string::npos) << body;
  ASSERT_NE(body.find(id2), std::string::npos) << body;
  EXPECT_LT(body.find(id2), body.find(id3)) << body;
  EXPECT_GT(e3->id, e1->id);
  EXPECT_EQ(Str(e3->data, "requestId"), id3);
}

// ---- 3. export ----

TEST_F(ApiFixture, ExportStreamsOneLinePerRequestAsJsonLinesAndCsv) {
  StartServe();
  std::set<std::string> ids{Send(false), Send(true), Send(false)};
  ASSERT_TRUE(WaitListed(dash(), {ids.begin(), ids.end()}));

  HttpResponse jl = Http(dash(), "GET", "/api/export?format=jsonl");
  ASSERT_EQ(jl.status, 200) << jl.body;
  EXPECT_EQ(jl.Header("content-type"), "application/x-ndjson");
  EXPECT_EQ(jl.Header("transfer-encoding"), "chunked");
  EXPECT_EQ(jl.Header("content-length"), "");
  EXPECT_NE(jl.Header("content-disposition").find("requests.jsonl"), std::string::npos);
  ASSERT_FALSE(jl.body.empty());
  EXPECT_EQ(jl.body.back(), '\n');
  std::set<std::string> exported;
  auto lines = Lines(jl.body, "\n");
  EXPECT_EQ(lines.size(), ids.size()) << jl.body;
  for (const auto& line : lines) {
    json::value v = Parse(line);
    ASSERT_TRUE(v.is_object()) << line;
    exported.insert(Str(v, "requestId"));
  }
  EXPECT_EQ(exported, ids);

  HttpResponse csv = Http(dash(), "GET", "/api/export?format=csv");
  ASSERT_EQ(csv.status, 200) << csv.body;
  EXPECT_EQ(csv.Header("content-type"), "text/csv; charset=utf-8");
  EXPECT_EQ(csv.Header("transfer-encoding"), "chunked");
  auto rows = Lines(csv.body, "\r\n");
  ASSERT_EQ(rows.size(), ids.size() + 1) << csv.body;  // the header row, then one per request
  EXPECT_EQ(rows[0].rfind("requestId,timestamp,", 0), 0u) << rows[0];
  std::set<std::string> csv_ids;
  for (std::size_t i = 1; i < rows.size(); ++i)
    csv_ids.insert(rows[i].substr(0, rows[i].find(',')));
  EXPECT_EQ(csv_ids, ids);

  // limit caps the rows; the proxy port exports too.
  HttpResponse one = Http(port(), "GET", "/api/export?format=jsonl&limit=1");
  ASSERT_EQ(one.status, 200);
  EXPECT_EQ(Lines(one.body, "\n").size(), 1u) << one.body;
}

// ---- 4. auth ----

TEST_F(ApiFixture, KeyIsRequiredWhenConfiguredAndNeverLogged) {
  const std::string key = "dash-key-5d1c0e7b9a";
  const std::string internal = "internal-key-0a8e44f1";
  StartServe({{"DASHBOARD_API_KEY", key}, {"INTERNAL_API_KEY", internal}, {"LOG_LEVEL", "debug"}});
  Send(false);

  for (std::uint16_t p : {dash(), port()}) {
    HttpResponse none = Http(p, "GET", "/api/stats");
    EXPECT_EQ(none.status, 401) << none.body;
    EXPECT_EQ(none.Header("content-type"), "application/json");
    json::value nv = Parse(none.body);
    ASSERT_TRUE(nv.is_object()) << none.body;
    EXPECT_EQ(Str(nv, "type"), "error");
    EXPECT_EQ(Str(nv.at("error"), "type"), "authentication_error");

    HttpResponse wrong = Http(p, "GET", "/api/stats", {{"X-Dashboard-Key", key + "x"}});
    EXPECT_EQ(wrong.status, 403) << wrong.body;
    EXPECT_EQ(Str(Parse(wrong.body).at("error"), "type"), "permission_error");
    EXPECT_EQ(Http(p, "GET", "/api/stats", {{"Authorization", "Bearer nope"}}).status, 403);

    EXPECT_EQ(Http(p, "GET", "/api/stats", {{"X-Dashboard-Key", key}}).status, 200);
    EXPECT_EQ(Http(p, "GET", "/api/stats", {{"X-API-Key", key}}).status, 200);
    EXPECT_EQ(Http(p, "GET", "/api/stats", {{"Authorization", "Bearer " + key}}).status, 200);
    EXPECT_EQ(Http(p, "GET", "/api/stats", {{"X-Dashboard-Key", internal}}).status, 200);
  }
  // The streamed endpoints are behind the same check.
  EXPECT_EQ(Http(dash(), "GET", "/api/export").status, 401);
  EXPECT_EQ(Http(dash(), "GET", "/api/events").status, 401);
  EXPECT_EQ(Http(dash(), "GET", "/api/export", {{"X-API-Key", key}}).status, 200);

  // The log, complete once the process has exited.
  proxy_->Signal(SIGTERM);
  ASSERT_EQ(proxy_->WaitExit(seconds(20)), 0) << proxy_->Log();
  std::string log = proxy_->Log();
  EXPECT_NE(log.find("API request refused"), std::string::npos);  // the refusals were logged...
  EXPECT_EQ(log.find(key), std::string::npos) << log;             // ...never a key
  EXPECT_EQ(log.find(internal), std::string::npos) << log;
  EXPECT_EQ(log.find("5d1c0e7b9a"), std::string::npos);
}

TEST_F(ApiFixture, WithoutKeyOnlyLoopbackClientsAreAnswered) {
  const std::string remote = NonLoopbackAddress();
  StartServe({{"HOST", remote.empty() ? "127.0.0.1" : "0.0.0.0"}});
  HttpResponse local = Http(dash(), "GET", "/api/stats");
  EXPECT_EQ(local.status, 200) << local.body;
  EXPECT_TRUE(Parse(local.body).is_object()) << local.body;
  EXPECT_EQ(Http(port(), "GET", "/api/stats").status, 200);
  if (remote.empty()) GTEST_SKIP() << "no non-loopback interface to reach the server from";
  // Through eth0's address the server sees that address as the peer: not loopback.
  const std::string answer = RawHttpTo(remote, dash(), "/api/stats");
  ASSERT_FALSE(answer.empty()) << "no answer from " << remote;
  EXPECT_EQ(answer.rfind("HTTP/1.1 403", 0), 0u) << answer;
  EXPECT_NE(answer.find("DASHBOARD_API_KEY"), std::string::npos) << answer;
  // /health is not the API: answered for anyone.
  EXPECT_EQ(RawHttpTo(remote, dash(), "/health").rfind("HTTP/1.1 200", 0), 0u);
}

TEST_F(ApiFixture, RemoteClientWithKeyIsAnswered) {
  const std::string remote = NonLoopbackAddress();
  if (remote.empty()) GTEST_SKIP() << "no non-loopback interface to reach the server from";
  const std::string key = "remote-key-8c2f";
  StartServe({{"HOST", "0.0.0.0"}, {"DASHBOARD_API_KEY", key}});
  EXPECT_EQ(RawHttpTo(remote, dash(), "/api/stats").rfind("HTTP/1.1 401", 0), 0u);
  EXPECT_EQ(RawHttpTo(remote, dash(), "/api/stats", "X-Dashboard-Key: " + key + "\r\n")
                .rfind("HTTP/1.1 200", 0),
            0u);
  // A key set means loopback clients need it too.
  EXPECT_EQ(Http(dash(), "GET", "/api/stats").status, 401);
}

// ---- 5. the dashboard port does not proxy ----

TEST_F(ApiFixture, DashboardPortServesHealthAndApiButNeverProxies) {
  StartServe();
  HttpResponse post =
      Http(dash(), "POST", "/v1/messages", {{"content-type", "application/json"}}, MessagesBody());
  EXPECT_EQ(post.status, 404) << post.body;
  EXPECT_EQ(Str(Parse(post.body).at("error"), "type"), "not_found_error") << post.body;
  EXPECT_EQ(Http(dash(), "POST", "/v1/messages/count_tokens", {}, MessagesBody()).status, 404);
  HttpResponse health = Http(dash(), "GET", "/health");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(Str(Parse(health.body), "status"), "healthy") << health.body;
  EXPECT_EQ(Http(dash(), "GET", "/health/ready").status, 200);
  EXPECT_EQ(upstream_->request_count(), 0u);
  // Nothing was recorded either.
  EXPECT_TRUE(ListedIds(dash()).empty());
}

// ---- 6. `claude-nexus dashboard` over what `serve` recorded ----

TEST_F(ApiFixture, DashboardSubcommandReadsWhatServeRecordedAndOpensNoProxyPort) {
  StartServe();
  const std::string a = Send(false);
  const std::string b = Send(true);
  ASSERT_TRUE(WaitListed(dash(), {a, b}));
  proxy_->Signal(SIGTERM);
  ASSERT_EQ(proxy_->WaitExit(seconds(20)), 0) << proxy_->Log();

  auto board = ProxyProcess::Start({{"CLAUDE_API_BASE_URL", upstream_->base_url()}}, dir_.path(),
                                   {"dashboard"});
  ASSERT_TRUE(board);
  ASSERT_NE(board->dashboard_port(), 0) << board->Log();
  EXPECT_EQ(board->port(), 0) << board->Log();
  EXPECT_EQ(ListeningPorts(board->pid()), (std::set<int>{board->dashboard_port()}))
      << "the dashboard subcommand must listen on DASHBOARD_PORT only";

  EXPECT_EQ(ListedIds(board->dashboard_port()), (std::set<std::string>{a, b}));
  HttpResponse d = Http(board->dashboard_port(), "GET", "/api/requests/" + b);
  ASSERT_EQ(d.status, 200) << d.body;
  EXPECT_FALSE(Parse(d.body).at("streamingChunks").as_array().empty());
  EXPECT_EQ(Http(board->dashboard_port(), "POST", "/v1/messages", {}, MessagesBody()).status, 404);
  EXPECT_EQ(Http(board->dashboard_port(), "GET", "/health").status, 200);
  HttpResponse jl = Http(board->dashboard_port(), "GET", "/api/export");
  EXPECT_EQ(Lines(jl.body, "\n").size(), 2u) << jl.body;
  EXPECT_EQ(upstream_->request_count(), 2u);  // only the two `serve` proxied

  board->Signal(SIGTERM);
  EXPECT_EQ(board->WaitExit(seconds(20)), 0) << board->Log();
}

TEST_F(ApiFixture, ProxySubcommandServesTheApiOnItsOnePort) {
  StartUpstream();
  proxy_ =
      ProxyProcess::Start({{"CLAUDE_API_BASE_URL", upstream_->base_url()}}, dir_.path(), {"proxy"});
  ASSERT_TRUE(proxy_);
  ASSERT_NE(port(), 0) << proxy_->Log();
  EXPECT_EQ(dash(), 0) << proxy_->Log();
  EXPECT_EQ(ListeningPorts(proxy_->pid()), (std::set<int>{port()}));
  const std::string id = Send(false);
  ASSERT_TRUE(WaitListed(port(), {id}));
}

TEST_F(ApiFixture, DashboardProcessFollowsWhatAConcurrentServeWrites) {
  // Two processes over one SQLite file (a proxy and a dashboard container sharing DATA_DIR).
  StartServe();
  auto board = ProxyProcess::Start({{"CLAUDE_API_BASE_URL", upstream_->base_url()}}, dir_.path(),
                                   {"dashboard"});
  ASSERT_TRUE(board);
  ASSERT_NE(board->dashboard_port(), 0) << board->Log();
  StreamingClient feed(board->dashboard_port(), "/api/events", {}, "", "GET");
  ASSERT_TRUE(feed.ReadHeader(seconds(10)));
  ASSERT_TRUE(feed.ReadUntil("retry: ", seconds(10)));
  const std::string id = Send(true);
  std::optional<SseEvent> e = ReadEvent(feed, id);
  ASSERT_TRUE(e) << feed.body() << board->Log();
  EXPECT_EQ(Str(e->data, "requestId"), id);
  ASSERT_TRUE(WaitListed(board->dashboard_port(), {id}));
  // The query-string form of Last-Event-ID (EventSource cannot set headers on a first connect).
  StreamingClient resumed(board->dashboard_port(),
                          "/api/events?lastEventId=" + std::to_string(e->id - 1), {}, "", "GET");
  ASSERT_TRUE(resumed.ReadHeader(seconds(10)));
  EXPECT_TRUE(ReadEvent(resumed, id)) << resumed.body();
}

TEST_F(ApiFixture, ExportCrossesChunkBoundariesWithoutLosingOrRepeatingRows) {
  StartServe();
  // More rows than one export chunk (500): the keyset cursor carries across pool jobs.
  constexpr int kRequests = 520;
  std::set<std::string> ids;
  for (int i = 0; i < kRequests; ++i) {
    HttpResponse r = Http(port(), "POST", "/v1/messages", {{"content-type", "application/json"}},
                          MessagesBody());
    ASSERT_EQ(r.status, 200) << r.error;
    ids.insert(r.Header("x-request-id"));
  }
  ASSERT_TRUE(Eventually([&] { return records().Count() == kRequests; }, seconds(30)));
  HttpResponse jl = Http(dash(), "GET", "/api/export?format=jsonl");
  ASSERT_EQ(jl.status, 200);
  std::vector<std::string> lines = Lines(jl.body, "\n");
  EXPECT_EQ(lines.size(), ids.size());
  std::set<std::string> exported;
  for (const auto& line : lines) exported.insert(Str(Parse(line), "requestId"));
  EXPECT_EQ(exported, ids);
  HttpResponse csv = Http(dash(), "GET", "/api/export?format=csv&limit=510");
  ASSERT_EQ(csv.status, 200);
  EXPECT_EQ(Lines(csv.body, "\r\n").size(), 511u);  // header + 510
}

TEST_F(ApiFixture, EmptyStoreExportsHeadersOnlyAndHeadHasNoBody) {
  StartServe();
  HttpResponse jl = Http(dash(), "GET", "/api/export?format=jsonl");
  ASSERT_EQ(jl.status, 200) << jl.error;
  EXPECT_EQ(jl.body, "");
  HttpResponse csv = Http(dash(), "GET", "/api/export?format=csv");
  ASSERT_EQ(csv.status, 200) << csv.error;
  EXPECT_EQ(Lines(csv.body, "\r\n").size(), 1u) << csv.body;
  HttpResponse head = Http(dash(), "HEAD", "/api/export?format=csv");
  EXPECT_EQ(head.status, 200) << head.error;
  EXPECT_EQ(head.Header("content-type"), "text/csv; charset=utf-8");
  HttpResponse head_stats = Http(dash(), "HEAD", "/api/stats");
  EXPECT_EQ(head_stats.status, 200) << head_stats.error;
  EXPECT_EQ(head_stats.body, "");
}

TEST_F(ApiFixture, RecordingDisabledAnswers503) {
  StartServe({{"STORAGE_ENABLED", "false"}});
  HttpResponse r = Http(dash(), "GET", "/api/requests");
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_NE(r.body.find("recording_disabled"), std::string::npos) << r.body;
  EXPECT_EQ(Http(dash(), "GET", "/api/events").status, 503);
  EXPECT_EQ(Http(dash(), "GET", "/api/export").status, 503);
  // The proxy still proxies.
  Send(false);
}

// ---- 7. bad input ----

TEST_F(ApiFixture, BadInputIsAnsweredWithErrors) {
  StartServe();
  HttpResponse bad = Http(dash(), "GET", "/api/requests?limit=abc");
  EXPECT_EQ(bad.status, 400) << bad.body;
  json::value bv = Parse(bad.body);
  ASSERT_TRUE(bv.is_object()) << bad.body;
  EXPECT_EQ(Str(bv, "type"), "error");
  EXPECT_EQ(Str(bv.at("error"), "type"), "invalid_request_error");
  EXPECT_NE(Str(bv.at("error"), "message").find("limit"), std::string::npos) << bad.body;

  const std::string unknown = "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b";
  HttpResponse missing = Http(dash(), "GET", "/api/requests/" + unknown);
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(Parse(missing.body), Parse(R"({"error":"Request not found"})")) << missing.body;
  EXPECT_EQ(Http(dash(), "GET", "/api/requests/not-a-uuid").status, 404);

  HttpResponse post =
      Http(dash(), "POST", "/api/stats", {{"content-type", "application/json"}}, "{}");
  EXPECT_EQ(post.status, 405) << post.body;
  EXPECT_EQ(post.Header("allow"), "GET, HEAD");
  EXPECT_EQ(Str(Parse(post.body).at("error"), "type"), "invalid_request_error");
  EXPECT_EQ(Http(port(), "POST", "/api/stats", {}, "{}").status, 405);
  EXPECT_EQ(Http(dash(), "DELETE", "/api/requests/" + unknown).status, 405);
  EXPECT_EQ(Http(dash(), "POST", "/api/export", {}, "{}").status, 405);
  EXPECT_EQ(Http(dash(), "POST", "/api/events", {}, "{}").status, 405);

  EXPECT_EQ(Http(dash(), "GET", "/api/export?format=xml").status, 400);
  EXPECT_EQ(Http(dash(), "GET", "/api/events", {{"Last-Event-ID", "abc"}}).status, 400);
  EXPECT_EQ(Http(dash(), "GET", "/api/nothing-here").status, 404);
  // The connection survives an error answer (keep-alive), and the server still answers.
  EXPECT_EQ(Http(dash(), "GET", "/api/stats").status, 200);
}

// ---- 8. shutdown with an open feed ----

TEST_F(ApiFixture, ShutdownEndsAnOpenEventStreamPromptly) {
  // A long grace: only a stream that holds the shutdown up would use it.
  StartServe({{"SHUTDOWN_TIMEOUT_MS", "60000"}});
  StreamingClient feed(dash(), "/api/events", {}, "", "GET");
  ASSERT_TRUE(feed.ReadHeader(seconds(10)));
  ASSERT_TRUE(feed.ReadUntil("retry: ", seconds(10)));
  StreamingClient feed2(port(), "/api/events", {}, "", "GET");
  ASSERT_TRUE(feed2.ReadHeader(seconds(10)));
  ASSERT_TRUE(feed2.ReadUntil("retry: ", seconds(10)));
  proxy_->Signal(SIGTERM);
  EXPECT_TRUE(feed.ReadToEnd(seconds(20))) << "the server did not end the event stream";
  EXPECT_EQ(proxy_->WaitExit(seconds(30)), 0) << proxy_->Log();
  const std::string log = proxy_->Log();
  EXPECT_EQ(log.find("grace period over"), std::string::npos) << log;
  EXPECT_NE(log.find("stopped"), std::string::npos) << log;
}

// ---- PostgreSQL: the feed and the API see what another replica wrote ----

#ifdef CN_HAVE_POSTGRES
TEST_F(ApiFixture, PostgresReplicasShareTheApiAndTheFeed) {
  CN_REQUIRE_POSTGRES();
  storage::testing::PgTestDatabase db;
  ASSERT_TRUE(db.ok()) << db.error();
  StartServe({{"DATABASE_URL", db.url()}});
  TempDir other_dir;
  auto other = ProxyProcess::Start(
      {{"CLAUDE_API_BASE_URL", upstream_->base_url()}, {"DATABASE_URL", db.url()}},
      other_dir.path(), {"dashboard"});
  ASSERT_TRUE(other);
  ASSERT_NE(other->dashboard_port(), 0) << other->Log();

  StreamingClient feed(other->dashboard_port(), "/api/events", {}, "", "GET");
  ASSERT_TRUE(feed.ReadHeader(seconds(10)));
  ASSERT_TRUE(feed.ReadUntil("retry: ", seconds(10)));
  const std::string id = Send(true);
  ASSERT_TRUE(feed.ReadUntil(id, seconds(15))) << feed.body() << other->Log();
  ASSERT_TRUE(WaitListed(other->dashboard_port(), {id}));
  HttpResponse d = Http(other->dashboard_port(), "GET", "/api/requests/" + id);
  ASSERT_EQ(d.status, 200) << d.body;
  EXPECT_EQ(Str(Parse(d.body), "model"), "claude-sonnet-4-20250514");
  EXPECT_FALSE(Parse(d.body).at("streamingChunks").as_array().empty());
  HttpResponse jl = Http(dash(), "GET", "/api/export?format=jsonl");
  EXPECT_EQ(Lines(jl.body, "\n").size(), 1u) << jl.body;
}
#endif

}  // namespace
}  // namespace cn::testing
