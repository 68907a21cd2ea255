// FakeUpstream: an in-process fake of the Anthropic Messages API for integration tests and the
// benchmark (idea from Envoy's test/integration/fake_upstream.h).
//
// It listens on host:port (port 0 = ephemeral), speaks HTTP/1.1 with keep-alive, optionally TLS,
// records every request it receives, and answers each request according to *knobs* the request
// carries, so one fake serves every test and the benchmark.
//
// Thread-safety: the server runs on its own io thread(s), started by the constructor and joined by
// the destructor. Every public method may be called from any thread at any time.
//
// Knobs. Each knob is read from the request header `x-fake-<name>`; when the header is absent it
// is also read from the body's top-level object `"x_fake": {"<name>": <string or number>}` (so
// the knobs survive a proxy that drops unknown headers but forwards the JSON body). Headers win.
//
//   (none)                Non-streaming 200 `application/json` message:
//                         {"id":"msg_fake_<n>","type":"message","role":"assistant",
//                          "model":<request "model" or "claude-fake-model">,
//                          "content":[{"type":"text","text":"Hello from fake"}],
//                          "stop_reason":"end_turn","stop_sequence":null,
//                          "usage":{"input_tokens":12,"output_tokens":5,
//                                   "cache_creation_input_tokens":0,"cache_read_input_tokens":0}}
//                         Response headers on every answer: `request-id: req_fake_<n>` (n counts
//                         requests from 1), `anthropic-ratelimit-requests-limit: 50`,
//                         `anthropic-ratelimit-requests-remaining: 49`.
//   body "stream": true   SSE answer, `content-type: text/event-stream`, chunked; one chunk per
//                         event, each written and flushed on its own:
//                           message_start, [thinking block], text block (content_block_start,
//                           `deltas` content_block_delta text_delta, content_block_stop),
//                           [tool_use block], message_delta (stop_reason, usage.output_tokens =
//                           deltas), message_stop.
//                         Delta i (0-based) carries FakeDeltaText(i); the text block concatenates
//                         to FakeStreamText(deltas).
//   deltas: <n>           number of text deltas (default 5).
//   delay-ms: <ms>        pause between consecutive SSE events (default 0).
//   thinking: 1           a thinking block (thinking_delta x2, signature_delta) before the text.
//   tool: 1               a tool_use block (name "get_weather", input {"city":"Paris"} sent as
//                         input_json_delta pieces) after the text; stop_reason "tool_use".
//   ping: <k>             a `ping` event after the first content_block_start and after every k-th
//                         text delta.
//   replay: <path>        replay a captured fixture (tests/fixtures/captured/*.json):
//                         every element of response.metadata.streamingChunks is sent as
//                         `event: <type>\ndata: <compact json>\n\n` (string elements are sent
//                         verbatim). delay-ms / cut-after / pause-ms apply. 500 if unreadable.
//   status: <code>        error answer with that status and Anthropic's error JSON
//                         {"type":"error","error":{"type":<by status: 400 invalid_request_error,
//                         401 authentication_error, 403 permission_error, 404 not_found_error,
//                         413 request_too_large, 429 rate_limit_error, 529 overloaded_error,
//                         other api_error>,"message":"fake <code>"}}.
//   retry-after: <v>      adds `retry-after: <v>` to the error answer.
//   fail-times: <n>       with key: <k>: only the first n requests carrying that key get the error
//                         (status, default 529); later ones behave as if no error was asked for.
//   cut-after: <n>        SSE only: after n events close the connection without the terminating
//                         chunk (mid-stream upstream failure). With `cut-rst: 1` send a TCP RST.
//   pause-ms: <ms>        SSE only: one silent pause before the middle event (a thinking pause).
//   header-delay-ms: <ms> wait before sending the response header (timeouts).
//   echo: 1               200 whose body is the exact request body bytes, content-type copied from
//                         the request, plus `x-fake-echo-headers: <JSON object>` of the received
//                         headers, names lower-cased, repeated headers joined with ", ".
//
// Endpoints other than Messages (when none of status/echo/replay applies; query ignored):
//   POST .../v1/messages/count_tokens   200 {"input_tokens":12}
//   GET  .../v1/models                  200 {"data":[<model>],"has_more":false,"first_id":..,
//                                        "last_id":..} with the one model
//                                        {"type":"model","id":"claude-fake-model",
//                                         "display_name":"Claude Fake","created_at":
//                                         "2025-01-01T00:00:00Z"}
//   GET  .../v1/models/<id>             200 that model object with id <id>
// Every other method/path gets the Messages answer above.
//
// Every non-SSE answer carries content-length. Malformed knob values are treated as absent.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cn::testing {

// Text of the i-th (0-based) streamed text delta: "Hello", " from", " fake", then " <i>".
std::string FakeDeltaText(int i);
// Concatenation of FakeDeltaText(0..deltas-1).
std::string FakeStreamText(int deltas);
// The fake's non-streaming answer to its n-th request for `model`: a short text message with usage
// (input 12, output 5 tokens), as JSON text.
std::string FakeMessageJson(std::string_view model, std::size_t n);

// One request as the fake received it (header names as sent on the wire).
struct ReceivedRequest {
  std::string method, target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // First value of the header `name` (case-insensitive), or "" when absent.
  std::string Header(std::string_view name) const;
};

struct FakeUpstreamOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0 = ephemeral
  bool tls = false;
  std::string cert_file, key_file;  // empty = the test certificate in CN_TEST_CERTS_DIR
  int threads = 1;
  // Keep every request for requests(); the benchmark turns this off to keep memory flat
  // (request_count() still counts).
  bool record_requests = true;
  // When not empty, every received request is appended to this file as one JSON line
  // {"n":<request number>,"method":..,"target":..,"headers":[[name,value],...],"body":..}
  // (headers in wire order and case), flushed per line: how a test in another process sees what
  // the upstream received. Independent of record_requests. Aborts at start-up if not writable.
  std::string request_log_path;
};

class FakeUpstream {
 public:
  // Binds and starts serving before returning. Aborts with a message on bind/TLS setup failure:
  // a test cannot do anything useful without its upstream.
  explicit FakeUpstream(FakeUpstreamOptions options = {});
  ~FakeUpstream();  // stops accepting, drops open connections, joins the io threads
  FakeUpstream(const FakeUpstream&) = delete;
  FakeUpstream& operator=(const FakeUpstream&) = delete;

  std::uint16_t port() const;
  // http://127.0.0.1:PORT, or https://localhost:PORT with TLS (the name the certificate holds).
  std::string base_url() const;

  std::vector<ReceivedRequest> requests() const;
  std::size_t request_count() const;
  // Blocks until at least n requests have been received or timeout elapsed; true if reached.
  bool WaitForRequests(std::size_t n, std::chrono::milliseconds timeout) const;
  // Forgets recorded requests, the request counter and the fail-times counters.
  void Reset();

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace cn::testing
