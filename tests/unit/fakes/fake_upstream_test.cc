// Tests of the fake Anthropic upstream through real sockets on 127.0.0.1, with a small synchronous
// Beast client (plain and TLS verified against the project's test CA).
#include "fakes/fake_upstream.h"

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

namespace cn::testing {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
namespace json = boost::json;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

Request Post(std::string body, std::vector<std::pair<std::string, std::string>> headers = {}) {
  Request req{http::verb::post, "/v1/messages", 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::content_type, "application/json");
  for (auto& [k, v] : headers) req.set(k, v);
  req.body() = std::move(body);
  req.prepare_payload();
  return req;
}

// One keep-alive connection to the fake. Every read is bounded by a receive timeout so a broken
// fake fails the test instead of hanging it.
class Client {
 public:
  explicit Client(std::uint16_t port) : socket_(ioc_) {
    socket_.connect({net::ip::make_address("127.0.0.1"), port});
    timeval tv{10, 0};
    setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }

  Response Exchange(const Request& req) {
    http::write(socket_, req);
    Response res;
    http::read(socket_, buffer_, res);
    return res;
  }

  // Sends req and reads the answer, noting the arrival time of every body chunk.
  beast::error_code ExchangeTimed(const Request& req, Response* res,
                                  std::vector<Clock::time_point>* chunk_times) {
    http::write(socket_, req);
    http::response_parser<http::string_body> parser;
    parser.body_limit(1 << 24);
    std::function<void(std::uint64_t, std::string_view, beast::error_code&)> on_chunk =
        [&](std::uint64_t size, std::string_view, beast::error_code&) {
          if (size > 0) chunk_times->push_back(Clock::now());
        };
    parser.on_chunk_header(on_chunk);
    beast::error_code ec;
    while (!parser.is_done() && !ec) http::read_some(socket_, buffer_, parser, ec);
    *res = parser.release();
    return ec;
  }

 private:
  net::io_context ioc_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

// Splits an SSE body into (event, data) pairs.
std::vector<std::pair<std::string, std::string>> ParseSse(const std::string& body) {
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream in(body);
  std::string line, event;
  while (std::getline(in, line)) {
    if (line.rfind("event: ", 0) == 0) event = line.substr(7);
    if (line.rfind("data: ", 0) == 0) out.emplace_back(event, line.substr(6));
  }
  return out;
}

std::string TextOf(const std::vector<std::pair<std::string, std::string>>& events) {
  std::string text;
  for (const auto& [name, data] : events) {
    if (name != "content_block_delta") continue;
    const json::value delta = json::parse(data).at("delta");
    if (delta.at("type") == "text_delta") text += json::value_to<std::string>(delta.at("text"));
  }
  return text;
}

TEST(FakeUpstreamTest, AnswersAnthropicJsonAndRecordsTheRequest) {
  FakeUpstream fake;
  Client client(fake.port());
  Response res =
      client.Exchange(Post(R"({"model":"claude-x","messages":[]})", {{"x-api-key", "k"}}));

  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res[http::field::content_type], "application/json");
  EXPECT_EQ(res["request-id"], "req_fake_1");
  EXPECT_EQ(res["anthropic-ratelimit-requests-remaining"], "49");
  EXPECT_EQ(res[http::field::content_length], std::to_string(res.body().size()));
  const json::value body = json::parse(res.body());
  EXPECT_EQ(body.at("model"), "claude-x");
  EXPECT_EQ(body.at("content").at(0).at("text"), "Hello from fake");
  EXPECT_EQ(body.at("usage").at("input_tokens"), 12);

  ASSERT_TRUE(fake.WaitForRequests(1, std::chrono::seconds(5)));
  const auto requests = fake.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/v1/messages");
  EXPECT_EQ(requests[0].Header("X-API-KEY"), "k");
  EXPECT_EQ(requests[0].body, R"({"model":"claude-x","messages":[]})");
  EXPECT_FALSE(fake.WaitForRequests(2, std::chrono::milliseconds(20)));
}

TEST(FakeUpstreamTest, StreamsPacedEventsOneChunkEach) {
  FakeUpstream fake;
  Client client(fake.port());
  Response res;
  std::vector<Clock::time_point> chunks;
  auto ec = client.ExchangeTimed(
      Post(R"({"stream":true})", {{"x-fake-deltas", "3"}, {"x-fake-delay-ms", "40"}}), &res,
      &chunks);
  ASSERT_FALSE(ec) << ec.message();

  EXPECT_EQ(res[http::field::content_type], "text/event-stream; charset=utf-8");
  const auto events = ParseSse(res.body());
  std::vector<std::string> names;
  for (const auto& e : events) names.push_back(e.first);
  EXPECT_EQ(names,
            (std::vector<std::string>{"message_start", "content_block_start", "content_block_delta",
                                      "content_block_delta", "content_block_delta",
                                      "content_block_stop", "message_delta", "message_stop"}));
  EXPECT_EQ(TextOf(events), FakeStreamText(3));
  EXPECT_EQ(json::parse(events[6].second).at("usage").at("output_tokens"), 3);
  // One chunk per event, and pacing can only make the stream slower than 7 gaps of 40 ms.
  ASSERT_EQ(chunks.size(), events.size());
  EXPECT_GE(chunks.back() - chunks.front(), std::chrono::milliseconds(7 * 40));
}

TEST(FakeUpstreamTest, KnobsInTheBodyWorkLikeHeadersAndKeepAliveIsHonoured) {
  FakeUpstream fake;
  Client client(fake.port());
  Response first = client.Exchange(Post(R"({"x_fake":{"status":"529"}})"));
  Response second =
      client.Exchange(Post(R"({"stream":true,"x_fake":{"deltas":4,"thinking":1,"tool":1}})"));

  EXPECT_EQ(first.result_int(), 529);
  EXPECT_EQ(json::parse(first.body()).at("error").at("type"), "overloaded_error");
  EXPECT_EQ(second.result_int(), 200);
  const auto events = ParseSse(second.body());
  EXPECT_EQ(TextOf(events), FakeStreamText(4));
  EXPECT_NE(second.body().find("\"thinking_delta\""), std::string::npos);
  EXPECT_NE(second.body().find("\"input_json_delta\""), std::string::npos);
  EXPECT_NE(second.body().find("\"stop_reason\":\"tool_use\""), std::string::npos);
  EXPECT_EQ(fake.request_count(), 2u);
}

TEST(FakeUpstreamTest, EchoReturnsTheExactBodyAndTheHeadersItSaw) {
  FakeUpstream fake;
  Client client(fake.port());
  std::string bytes("{\"a\": 1,\r\n \"b\":\"\xc3\xa9\"}\0tail", 25);
  Request req = Post(bytes, {{"x-fake-echo", "1"}, {"X-Custom", "v1"}});
  req.set(http::field::content_type, "application/octet-stream");
  Response res = client.Exchange(req);

  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), bytes);
  EXPECT_EQ(res[http::field::content_type], "application/octet-stream");
  const json::value seen = json::parse(res["x-fake-echo-headers"]);
  EXPECT_EQ(seen.at("x-custom"), "v1");
  EXPECT_EQ(seen.at("content-length"), "25");
}

TEST(FakeUpstreamTest, FailTimesFailsOnlyTheFirstRequestsOfEachKey) {
  FakeUpstream fake;
  Client client(fake.port());
  auto status = [&](const std::string& key) {
    Response res = client.Exchange(Post("{}", {{"x-fake-fail-times", "2"},
                                               {"x-fake-key", key},
                                               {"x-fake-status", "429"},
                                               {"x-fake-retry-after", "3"}}));
    if (res.result_int() == 429) {
      EXPECT_EQ(res["retry-after"], "3");
    }
    return res.result_int();
  };
  EXPECT_EQ(status("a"), 429);
  EXPECT_EQ(status("b"), 429);
  EXPECT_EQ(status("a"), 429);
  EXPECT_EQ(status("a"), 200);
  EXPECT_EQ(status("b"), 429);
  EXPECT_EQ(status("b"), 200);
  fake.Reset();
  EXPECT_EQ(fake.request_count(), 0u);
  EXPECT_EQ(status("a"), 429);
}

TEST(FakeUpstreamTest, CutAfterEndsTheStreamWithoutTheLastChunk) {
  FakeUpstream fake;
  Client client(fake.port());
  Response res;
  std::vector<Clock::time_point> chunks;
  auto ec =
      client.ExchangeTimed(Post(R"({"stream":true})", {{"x-fake-cut-after", "2"}}), &res, &chunks);
  EXPECT_EQ(ec, http::error::partial_message);
  EXPECT_EQ(chunks.size(), 2u);
}

TEST(FakeUpstreamTest, ReplaysACapturedStreamEventForEvent) {
  const std::string path =
      std::string(CN_FIXTURES_DIR) +
      "/captured/inference_streaming_with_tools_with_system_opus-1750420386819-wixegs6ph.json";
  std::ifstream file(path);
  ASSERT_TRUE(file) << path;
  std::stringstream text;
  text << file.rdbuf();
  const json::value capture = json::parse(text.str());
  const json::array& chunks =
      capture.at("response").at("metadata").at("streamingChunks").as_array();

  FakeUpstream fake;
  Client client(fake.port());
  Response res = client.Exchange(Post(R"({"stream":true})", {{"x-fake-replay", path}}));
  const auto events = ParseSse(res.body());
  ASSERT_EQ(events.size(), chunks.size());
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    EXPECT_EQ(json::parse(events[i].second), chunks[i]) << i;
    EXPECT_EQ(events[i].first, chunks[i].at("type").as_string()) << i;
  }
}

TEST(FakeUpstreamTest, TlsHandshakeVerifiesAgainstTheTestCa) {
  FakeUpstream fake(FakeUpstreamOptions{.tls = true});
  EXPECT_EQ(fake.base_url(), "https://localhost:" + std::to_string(fake.port()));

  net::io_context ioc;
  ssl::context ctx(ssl::context::tls_client);
  ctx.load_verify_file(std::string(CN_TEST_CERTS_DIR) + "/ca.pem");
  ctx.set_verify_mode(ssl::verify_peer);
  ssl::stream<tcp::socket> stream(ioc, ctx);
  stream.set_verify_callback(ssl::host_name_verification("localhost"));
  ASSERT_TRUE(SSL_set_tlsext_host_name(stream.native_handle(), "localhost"));
  stream.next_layer().connect({net::ip::make_address("127.0.0.1"), fake.port()});
  beast::error_code ec;
  stream.handshake(ssl::stream_base::client, ec);
  ASSERT_FALSE(ec) << ec.message();

  http::write(stream, Post(R"({"model":"m"})"));
  beast::flat_buffer buffer;
  Response res;
  http::read(stream, buffer, res);
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(json::parse(res.body()).at("model"), "m");
}

}  // namespace
}  // namespace cn::testing
