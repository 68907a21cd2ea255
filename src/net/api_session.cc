// The JSON API on the proxy and dashboard ports (docs/api.md): authorization on the I/O thread,
// queries on the reader pool, answers written back by the session's worker. Export and the event
// feed stream their bodies (chunked / text/event-stream).

#include <boost/asio/post.hpp>

#include "api/api.h"
#include "common/log.h"
#include "common/time.h"
#include "net/internal.h"
#include "query/event_feed.h"
#include "query/reader_pool.h"

namespace cn::net {

namespace {

constexpr std::chrono::milliseconds kWriteTimeout{30000};

// Runs `fn(reader, status)` on a reader-pool thread and resumes on the session's worker with its
// result. A full pool answers 503 at once.
template <typename Result, typename Fn>
awaitable<Result> OnPool(Shared& sh, Fn fn, Result busy) {
  auto ex = co_await asio::this_coro::executor;
  // Named, not a temporary in the co_await expression (GCC 12; docs/style.md).
  auto initiation = [&sh, ex, fn = std::move(fn), busy = std::move(busy)](auto handler) mutable {
    auto h = std::make_shared<decltype(handler)>(std::move(handler));
    // The handler is moved out when it runs: a use_awaitable handler owns the coroutine's
    // stack until it is invoked, and must not be destroyed later on another thread.
    auto deliver = [ex, h](Result r) {
      asio::post(ex, [h, r = std::move(r)]() mutable { std::move (*h)(std::move(r)); });
    };
    bool queued = sh.svc.readers->Submit(
        [fn = std::move(fn), deliver](SqlReader* reader, const Status& status) mutable {
          deliver(fn(reader, status));
        });
    if (!queued) deliver(std::move(busy));
  };
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(Result)>(
      std::move(initiation), asio::use_awaitable);
}

http::status HttpStatus(int code) { return static_cast<http::status>(code); }

awaitable<beast::error_code> WriteAll(beast::tcp_stream& stream, std::string_view data) {
  stream.expires_after(kWriteTimeout);
  auto [ec, n] = co_await asio::async_write(stream, asio::buffer(data.data(), data.size()), kTuple);
  stream.expires_never();
  co_return ec;
}

std::string HeaderBlock(int status, std::string_view content_type, const Headers& extra,
                        bool chunked) {
  std::string h = "HTTP/1.1 " + std::to_string(status) + " " +
                  std::string(http::obsolete_reason(HttpStatus(status))) + "\r\n";
  h += "Content-Type: " + std::string(content_type) + "\r\n";
  h += "Cache-Control: no-store\r\n";
  for (const auto& x : extra) h += x.name + ": " + x.value + "\r\n";
  if (chunked) h += "Transfer-Encoding: chunked\r\n";
  h += "Connection: close\r\n\r\n";
  return h;
}

std::string Chunk(std::string_view data) {
  char size[20];
  int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  std::string c(size, static_cast<std::size_t>(n));
  c += data;
  c += "\r\n";
  return c;
}

bool IsLoopback(beast::tcp_stream& stream) {
  beast::error_code ec;
  auto ep = stream.socket().remote_endpoint(ec);
  if (ec) return false;
  auto a = ep.address();
  if (a.is_loopback()) return true;
  return a.is_v6() && a.to_v6().is_v4_mapped() &&
         asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).is_loopback();
}

// Streams the export: one pool job per chunk of rows, written as it comes; memory stays at one
// chunk whatever the size of the set.
awaitable<void> StreamExport(Shared& sh, beast::tcp_stream& stream, api::ExportPlan plan,
                             bool head_only) {
  api::Response header = api::ExportHeader(plan);
  std::string block = HeaderBlock(200, header.content_type, header.headers, true);
  if (head_only) {
    co_await WriteAll(stream, block);
    co_return;
  }
  bool first = true;
  for (;;) {
    struct ChunkResult {
      std::string text;
      bool done = true;
      cn::Status status;
      api::ExportPlan plan;
    };
    ChunkResult busy;
    busy.status = cn::Status::Unavailable("the reader pool is busy");
    auto job = [plan](SqlReader* reader, const cn::Status& rs) mutable {
      ChunkResult out;
      if (reader == nullptr) {
        out.status = rs;
        return out;
      }
      auto text = api::ExportChunk(*reader, plan, &out.done);
      if (!text.ok()) {
        out.status = text.status();
      } else {
        out.text = std::move(*text);
      }
      out.plan = std::move(plan);
      return out;
    };
    ChunkResult r = co_await OnPool<ChunkResult>(sh, std::move(job), std::move(busy));
    if (first) {
      first = false;
      if (!r.status.ok()) {
        api::Response e = api::ErrorResponse(503, "store_unavailable", r.status.message());
        std::string all = HeaderBlock(503, e.content_type, {}, false);
        all.insert(all.size() - 2, "Content-Length: " + std::to_string(e.body.size()) + "\r\n");
        all += e.body;
        co_await WriteAll(stream, all);
        co_return;
      }
      if (co_await WriteAll(stream, block)) co_return;
    } else if (!r.status.ok()) {
      // Headers are gone: cut the stream without the last chunk so the client sees it failed.
      log::Warn("export stopped", {{"error", r.status.message()}});
      co_return;
    }
    if (!r.text.empty()) {
      const std::string chunk = Chunk(r.text);
      if (co_await WriteAll(stream, chunk)) co_return;
    }
    if (r.done) break;
    plan = std::move(r.plan);
    if (sh.draining.load()) co_return;
  }
  co_await WriteAll(stream, "0\r\n\r\n");
}

// Follows the event feed: events as they arrive, a comment every 15 s, until the client goes or
// the server drains.
awaitable<void> StreamEvents(Shared& sh, beast::tcp_stream& stream,
                             std::optional<std::int64_t> last_seq, bool head_only) {
  Headers extra{{"X-Accel-Buffering", "no"}};
  std::string block = HeaderBlock(200, "text/event-stream; charset=utf-8", extra, false);
  if (head_only) {
    co_await WriteAll(stream, block);
    co_return;
  }
  // The position is taken before the preamble goes out: a client that has read `retry:` gets
  // every event committed after that, even one the feed admits while the preamble is written.
  query::EventFeed& feed = *sh.svc.events;
  std::uint64_t pos = feed.PositionAfterSeq(last_seq);
  block += "retry: 2000\n\n";
  if (co_await WriteAll(stream, block)) co_return;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  auto last_write = Clock::now();
  while (!sh.draining.load()) {
    auto events = feed.After(pos);
    std::string out;
    for (const auto& e : events) {
      out += "id: " + std::to_string(e.seq) + "\nevent: request\ndata: " + e.json + "\n\n";
      pos = e.position;
    }
    if (out.empty() && Clock::now() - last_write > std::chrono::seconds(15)) out = ": ping\n\n";
    if (!out.empty()) {
      if (co_await WriteAll(stream, out)) co_return;
      last_write = Clock::now();
    }
    timer.expires_after(std::chrono::milliseconds(200));
    co_await timer.async_wait(kTuple);
  }
}

}  // namespace

awaitable<bool> ServeApi(Shared& sh, beast::tcp_stream& stream, Deadline& dl,
                         http::request<http::string_body>& req, std::string path, std::string query,
                         const std::string& request_id) {
  api::Request ar;
  ar.method = std::string(req.method_string());
  ar.path = std::move(path);
  ar.query = std::move(query);
  for (const char* name : {"Authorization", "X-API-Key", "X-Dashboard-Key", "Last-Event-ID"}) {
    auto it = req.find(name);
    if (it != req.end()) ar.headers.push_back({name, std::string(it->value())});
  }
  ar.peer_loopback = IsLoopback(stream);
  const bool head = req.method() == http::verb::head;
  const bool keep = req.keep_alive() && !sh.draining.load();
  auto write = [&](api::Response r) -> awaitable<bool> {
    r.headers.push_back({"X-Request-ID", request_id});
    r.headers.push_back({"Cache-Control", "no-store"});
    auto ec =
        co_await WriteSimple(stream, dl, HttpStatus(r.status), r.content_type, std::move(r.body),
                             r.headers, keep, sh.opts.server_timeout, head);
    co_return !ec && keep;
  };
  if (auto deny = api::Authorize(
          api::AuthConfig{sh.opts.api_dashboard_key, sh.opts.api_internal_key}, ar)) {
    log::Info("API request refused",
              {{"request_id", request_id}, {"path", ar.path}, {"status", deny->status}});
    co_return co_await write(std::move(*deny));
  }
  if (sh.svc.readers == nullptr) {
    api::Response off =
        api::ErrorResponse(503, "recording_disabled",
                           "Recording is disabled (STORAGE_ENABLED=false): no data to read.");
    co_return co_await write(std::move(off));
  }
  switch (api::Classify(ar)) {
    case api::Kind::kExport: {
      auto plan = api::PlanExport(ar, NowUnixMicros());
      if (auto* err = std::get_if<api::Response>(&plan)) co_return co_await write(std::move(*err));
      co_await StreamExport(sh, stream, std::move(std::get<api::ExportPlan>(plan)), head);
      co_return false;
    }
    case api::Kind::kEvents: {
      if (sh.svc.events == nullptr) {
        api::Response off =
            api::ErrorResponse(503, "feed_unavailable", "The event feed is not running.");
        co_return co_await write(std::move(off));
      }
      auto plan = api::PlanEvents(ar);
      if (auto* err = std::get_if<api::Response>(&plan)) co_return co_await write(std::move(*err));
      co_await StreamEvents(sh, stream, std::get<std::optional<std::int64_t>>(plan), head);
      co_return false;
    }
    case api::Kind::kJson:
      break;
  }
  Store* store = sh.svc.store;
  auto job = [ar = std::move(ar), store](SqlReader* reader, const cn::Status& rs) {
    api::Context ctx{reader, rs, store, NowUnixMicros()};
    return api::Handle(ar, ctx);
  };
  api::Response busy =
      api::ErrorResponse(503, "busy", "Too many API requests are queued; retry shortly.");
  api::Response r = co_await OnPool<api::Response>(sh, std::move(job), std::move(busy));
  co_return co_await write(std::move(r));
}

}  // namespace cn::net
