#include "proxy/outcome.h"

#include <gtest/gtest.h>

namespace cn::proxy {
namespace {

constexpr std::string_view kClientLeft = "client disconnected before the response ended";
constexpr std::string_view kShutdown = "aborted: server shutdown deadline reached";

// The facts of an exchange whose upstream failed: `when`, with `error`, `timed_out` or not.
ExchangeFacts UpstreamFailed(UpstreamFailure when, std::string_view error, bool timed_out = false) {
  ExchangeFacts f;
  f.upstream_failure = when;
  f.upstream_error = error;
  f.upstream_timed_out = timed_out;
  return f;
}

ExchangeFacts Rejected(std::string_view message) {
  ExchangeFacts f;
  f.rejected = true;
  f.rejection = message;
  return f;
}

ExchangeFacts Aborted(ExchangeFacts f) {
  f.aborted = true;
  f.abort_reason = kShutdown;
  return f;
}

// A hang-up that ended the exchange, or a write to the client that failed or timed out.
ExchangeFacts ClientGone(ExchangeFacts f = {}) {
  f.client_gone = true;
  return f;
}

// What the exchange records when the client watch sees a hang-up in `phase`.
ExchangeFacts HungUpIn(ExchangePhase phase) {
  ExchangeFacts f;
  f.client_gone = HangUpEndsExchange(phase);
  return f;
}

TEST(DecideOutcomeTest, CompletedExchangeHasNoError) {
  const ExchangeResult r = DecideOutcome(ExchangeFacts{});
  EXPECT_EQ(r.outcome, Outcome::kCompleted);
  EXPECT_EQ(r.error, "");
}

// The client watch only reports a hang-up while it matters; a failed write always counts.
TEST(HangUpEndsExchangeTest, OnlyBeforeTheLastBodyBytesAreOnTheirWay) {
  EXPECT_TRUE(HangUpEndsExchange(ExchangePhase::kPlanning));
  EXPECT_TRUE(HangUpEndsExchange(ExchangePhase::kAwaitingUpstream));  // before the header
  EXPECT_TRUE(HangUpEndsExchange(ExchangePhase::kResponding));        // mid-body
  EXPECT_FALSE(HangUpEndsExchange(ExchangePhase::kBodyRelayed));      // it has everything
  EXPECT_FALSE(HangUpEndsExchange(ExchangePhase::kDone));
}

TEST(DecideOutcomeTest, ClientHungUpBeforeTheResponseHeaderIsClientAborted) {
  // The watch saw the hang-up while the exchange waited for the upstream (or backed off).
  const ExchangeResult r = DecideOutcome(HungUpIn(ExchangePhase::kAwaitingUpstream));
  EXPECT_EQ(r.outcome, Outcome::kClientAborted);
  EXPECT_EQ(r.error, kClientLeft);
}

TEST(DecideOutcomeTest, ClientGoneMidBodyIsClientAborted) {
  const ExchangeResult r = DecideOutcome(HungUpIn(ExchangePhase::kResponding));
  EXPECT_EQ(r.outcome, Outcome::kClientAborted);
  EXPECT_EQ(r.error, kClientLeft);
  // A write to the client that failed or timed out (a client that stopped reading) is the same.
  EXPECT_EQ(DecideOutcome(ClientGone()).outcome, Outcome::kClientAborted);
  EXPECT_EQ(DecideOutcome(ClientGone()).error, kClientLeft);
}

TEST(DecideOutcomeTest, ClientGoneAfterTheWholeBodyWasRelayedCountsAsCompleted) {
  // A hang-up once the last bytes are on their way does not end the exchange: it writes its end
  // and completes.
  for (ExchangePhase late : {ExchangePhase::kBodyRelayed, ExchangePhase::kDone}) {
    const ExchangeResult r = DecideOutcome(HungUpIn(late));
    EXPECT_EQ(r.outcome, Outcome::kCompleted);
    EXPECT_EQ(r.error, "");
  }
  // ... but when the write of those last bytes fails, the client did not get them.
  EXPECT_EQ(DecideOutcome(ClientGone()).outcome, Outcome::kClientAborted);
}

TEST(DecideOutcomeTest, ConnectErrorBeforeTheResponseIsUpstreamFailed) {
  const ExchangeResult r =
      DecideOutcome(UpstreamFailed(UpstreamFailure::kBeforeResponse, "Connection refused"));
  EXPECT_EQ(r.outcome, Outcome::kUpstreamFailed);
  EXPECT_EQ(r.error, "upstream unreachable: Connection refused");
}

TEST(DecideOutcomeTest, TimeoutWaitingForTheHeaderIsUpstreamFailedWithTimeoutText) {
  const ExchangeResult r = DecideOutcome(UpstreamFailed(UpstreamFailure::kBeforeResponse,
                                                        "The socket was closed due to a timeout",
                                                        /*timed_out=*/true));
  EXPECT_EQ(r.outcome, Outcome::kUpstreamFailed);
  EXPECT_EQ(r.error, "upstream timeout: The socket was closed due to a timeout");
}

TEST(DecideOutcomeTest, RetriesExhaustedIsUpstreamFailedEvenIfTheClientLeftDuringThe502) {
  // The last attempt's error is the fact; the client hanging up while the proxy writes its 502
  // changes nothing.
  ExchangeFacts f = UpstreamFailed(UpstreamFailure::kBeforeResponse, "Connection reset by peer");
  EXPECT_EQ(DecideOutcome(f).outcome, Outcome::kUpstreamFailed);
  const ExchangeResult r = DecideOutcome(ClientGone(f));
  EXPECT_EQ(r.outcome, Outcome::kUpstreamFailed);
  EXPECT_EQ(r.error, "upstream unreachable: Connection reset by peer");
}

TEST(DecideOutcomeTest, UpstreamCutMidBodyIsUpstreamFailed) {
  // Non-streaming: the framing cannot be completed, the client connection is closed.
  const ExchangeResult r =
      DecideOutcome(UpstreamFailed(UpstreamFailure::kMidResponse, "end of stream"));
  EXPECT_EQ(r.outcome, Outcome::kUpstreamFailed);
  EXPECT_EQ(r.error, "upstream failed mid-response: end of stream");
}

TEST(DecideOutcomeTest, UpstreamCutMidStreamEndingWithAnErrorEventIsUpstreamFailed) {
  // SSE: the client got a well-formed `error` event and the last chunk (the response is whole),
  // or the client left while we wrote them. Either way the upstream's failure is the outcome.
  const ExchangeFacts f = UpstreamFailed(UpstreamFailure::kMidResponse, "partial message");
  for (const ExchangeFacts& facts : {f, ClientGone(f)}) {
    const ExchangeResult r = DecideOutcome(facts);
    EXPECT_EQ(r.outcome, Outcome::kUpstreamFailed);
    EXPECT_EQ(r.error, "upstream failed mid-response: partial message");
  }
}

TEST(DecideOutcomeTest, UpstreamSilentMidStreamPastTheInactivityLimitIsUpstreamFailed) {
  // A timeout after the header is a mid-response failure: no "upstream timeout" text.
  const ExchangeResult r = DecideOutcome(UpstreamFailed(
      UpstreamFailure::kMidResponse, "The socket was closed due to a timeout", /*timed_out=*/true));
  EXPECT_EQ(r.outcome, Outcome::kUpstreamFailed);
  EXPECT_EQ(r.error, "upstream failed mid-response: The socket was closed due to a timeout");
}

TEST(DecideOutcomeTest, RejectionIsRejectedWithItsMessage) {
  for (std::string_view message :
       {"Missing or invalid client API key", "Could not refresh the OAuth token for this domain"}) {
    const ExchangeResult r = DecideOutcome(Rejected(message));
    EXPECT_EQ(r.outcome, Outcome::kRejected) << message;
    EXPECT_EQ(r.error, message);
  }
}

TEST(DecideOutcomeTest, ClientGoneWhileTheRejectionIsWrittenIsClientAbortedWithItsMessage) {
  ExchangeResult r = DecideOutcome(ClientGone(Rejected("Missing or invalid client API key")));
  EXPECT_EQ(r.outcome, Outcome::kClientAborted);
  EXPECT_EQ(r.error, "Missing or invalid client API key");
  // A rejection without a message leaves the usual text.
  r = DecideOutcome(ClientGone(Rejected("")));
  EXPECT_EQ(r.outcome, Outcome::kClientAborted);
  EXPECT_EQ(r.error, kClientLeft);
}

TEST(DecideOutcomeTest, ShutdownAbortBeforeAnyResponseIsClientAbortedWithItsReason) {
  for (const ExchangeFacts& f : {Aborted({}), Aborted(ClientGone())}) {
    const ExchangeResult r = DecideOutcome(f);
    EXPECT_EQ(r.outcome, Outcome::kClientAborted);
    EXPECT_EQ(r.error, kShutdown);
  }
}

TEST(DecideOutcomeTest, ShutdownAbortWinsOverEveryOtherFact) {
  // With a response started (mid-stream, or after an upstream cut or a rejection): the abort
  // is what ended the exchange.
  for (const ExchangeFacts& f :
       {Aborted(ClientGone()), Aborted(UpstreamFailed(UpstreamFailure::kMidResponse, "cut")),
        Aborted(UpstreamFailed(UpstreamFailure::kBeforeResponse, "refused")),
        Aborted(Rejected("no key"))}) {
    const ExchangeResult r = DecideOutcome(f);
    EXPECT_EQ(r.outcome, Outcome::kClientAborted);
    EXPECT_EQ(r.error, kShutdown);
  }
}

}  // namespace
}  // namespace cn::proxy
