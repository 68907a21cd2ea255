// Private to src/net: HTTP reads and writes bounded by a Deadline, cheap on the hot path.
//
// Plain TCP streams (the client side, and an http:// upstream) are non-blocking: each operation
// is first tried synchronously and only waits for readiness (async_wait) when the socket would
// block. An operation that can finish at once (a small write, a read of bytes already received)
// then costs its one system call and nothing else, instead of a completion posted through the
// scheduler (an extra epoll_wait) and a per-operation timer (timerfd_settime twice), which in a
// virtual machine cost more than the work itself. TLS streams use Beast's asynchronous
// operations: OpenSSL's state is not safe to leave half-way in a synchronous call.
// Timeouts: each wait arms the session's Deadline (a store); the worker's sweeper enforces it.
#pragma once

#include <algorithm>
#include <tuple>
#include <type_traits>

#include "net/internal.h"

namespace cn::net {

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

template <class Stream>
inline constexpr bool kIsPlain = std::is_same_v<Stream, beast::tcp_stream>;

inline tcp::socket& SocketOf(beast::tcp_stream& s) { return s.socket(); }
inline tcp::socket& SocketOf(TlsStream& s) { return beast::get_lowest_layer(s).socket(); }

inline bool WouldBlock(const beast::error_code& ec) {
  return ec == asio::error::would_block || ec == asio::error::try_again;
}

// An aborted wait whose deadline expired is a timeout; anything else stays what it was.
inline beast::error_code TimeoutIfExpired(const beast::error_code& ec, const Deadline& dl) {
  if (ec && dl.expired) return beast::error::timeout;
  return ec;
}

// Waits until `sock` is readable/writable, at most `timeout`.
inline awaitable<beast::error_code> WaitReady(tcp::socket& sock, tcp::socket::wait_type what,
                                              Deadline& dl, std::chrono::milliseconds timeout) {
  dl.Arm(sock, timeout);
  auto [ec] = co_await sock.async_wait(what, kTuple);
  dl.Disarm();
  co_return TimeoutIfExpired(ec, dl);
}

// Waits for data by reading it into `buffer`: asio queues a read without touching epoll, where a
// readiness wait (async_wait) re-registers the socket, one epoll_ctl per wait. End of stream is
// not an error here: the synchronous read that follows meets it again and reports it as Beast
// does (end_of_stream, partial_message).
inline awaitable<beast::error_code> Fill(tcp::socket& sock, beast::flat_buffer& buffer,
                                         Deadline& dl, std::chrono::milliseconds timeout) {
  const std::size_t room = std::max<std::size_t>(buffer.capacity() - buffer.size(), 4096);
  dl.Arm(sock, timeout);
  auto [ec, n] = co_await sock.async_read_some(buffer.prepare(room), kTuple);
  dl.Disarm();
  buffer.commit(n);
  if (ec == asio::error::eof) co_return beast::error_code{};
  co_return TimeoutIfExpired(ec, dl);
}

enum class ReadOp { kHeader, kAll, kSome };
enum class WriteOp { kAll, kHeader };

// One read of kind `op`, synchronous first on plain streams. kHeader: until the parser has the
// whole header; kAll: until the message is complete; kSome: some body bytes into the parser's
// buffer_body. `timeout` bounds each wait for data. need_buffer (a full body buffer) is success.
// `data_expected` false (an answer the peer cannot have sent yet) skips the synchronous attempt.
template <ReadOp op, class Stream, class Parser>
awaitable<beast::error_code> Read(Stream& s, beast::flat_buffer& buffer, Parser& parser,
                                  Deadline& dl, std::chrono::milliseconds timeout,
                                  bool data_expected = true) {
  beast::error_code ec;
  if constexpr (kIsPlain<Stream>) {
    if (!data_expected && buffer.size() == 0) {
      ec = co_await Fill(s.socket(), buffer, dl, timeout);
      if (ec) co_return ec;
    }
    for (;;) {
      if constexpr (op == ReadOp::kHeader) {
        http::read_header(s, buffer, parser, ec);
      } else if constexpr (op == ReadOp::kAll) {
        http::read(s, buffer, parser, ec);
      } else {
        http::read_some(s, buffer, parser, ec);
      }
      if (!WouldBlock(ec)) break;
      ec = co_await Fill(s.socket(), buffer, dl, timeout);
      if (ec) co_return ec;
    }
  } else {
    dl.Arm(SocketOf(s), timeout);
    std::tuple<beast::error_code, std::size_t> r;
    if constexpr (op == ReadOp::kHeader) {
      r = co_await http::async_read_header(s, buffer, parser, kTuple);
    } else if constexpr (op == ReadOp::kAll) {
      r = co_await http::async_read(s, buffer, parser, kTuple);
    } else {
      r = co_await http::async_read_some(s, buffer, parser, kTuple);
    }
    dl.Disarm();
    ec = TimeoutIfExpired(std::get<0>(r), dl);
  }
  if (ec == http::error::need_buffer) ec = {};
  co_return ec;
}

// Writes what `sr` has to send (kAll: the whole message, or with a buffer_body until the current
// body buffer is used up; kHeader: the header only). `timeout` bounds each wait for room.
template <WriteOp op, class Stream, class Serializer>
awaitable<beast::error_code> Write(Stream& s, Serializer& sr, Deadline& dl,
                                   std::chrono::milliseconds timeout) {
  beast::error_code ec;
  if constexpr (kIsPlain<Stream>) {
    for (;;) {
      if constexpr (op == WriteOp::kAll) {
        http::write(s, sr, ec);
      } else {
        http::write_header(s, sr, ec);
      }
      if (!WouldBlock(ec)) break;
      ec = co_await WaitReady(s.socket(), tcp::socket::wait_write, dl, timeout);
      if (ec) co_return ec;
    }
  } else {
    dl.Arm(SocketOf(s), timeout);
    std::tuple<beast::error_code, std::size_t> r;
    if constexpr (op == WriteOp::kAll) {
      r = co_await http::async_write(s, sr, kTuple);
    } else {
      r = co_await http::async_write_header(s, sr, kTuple);
    }
    dl.Disarm();
    ec = TimeoutIfExpired(std::get<0>(r), dl);
  }
  if (ec == http::error::need_buffer) ec = {};
  co_return ec;
}

}  // namespace cn::net
