#include "sse/parser.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "captured_streams.h"

namespace cn::sse {
namespace {

// Parses `input` split at the given ascending offsets, then finishes the stream.
std::vector<Event> ParseSplit(std::string_view input, const std::vector<std::size_t>& cuts) {
  Parser parser;
  std::vector<Event> events;
  std::size_t from = 0;
  for (std::size_t cut : cuts) {
    parser.Feed(input.substr(from, cut - from), &events);
    from = cut;
  }
  parser.Feed(input.substr(from), &events);
  Event last;
  if (parser.Finish(&last)) events.push_back(std::move(last));
  return events;
}

std::vector<Event> ParseWhole(std::string_view input) { return ParseSplit(input, {}); }

std::string JoinRaw(const std::vector<Event>& events) {
  std::string all;
  for (const Event& e : events) all += e.raw;
  return all;
}

// Parses `input` whole, split at every byte boundary, and one byte at a time; all must agree.
std::vector<Event> ParseEveryWay(std::string_view input) {
  std::vector<Event> whole = ParseWhole(input);
  EXPECT_EQ(JoinRaw(whole), input);
  for (std::size_t cut = 1; cut < input.size(); ++cut) {
    EXPECT_EQ(ParseSplit(input, {cut}), whole) << "split at " << cut;
  }
  std::vector<std::size_t> every;
  for (std::size_t i = 1; i < input.size(); ++i) every.push_back(i);
  EXPECT_EQ(ParseSplit(input, every), whole) << "one byte at a time";
  return whole;
}

TEST(SseParser, AnthropicFraming) {
  const auto events = ParseEveryWay(
      "event: message_start\ndata: {\"type\":\"message_start\"}\n\n"
      "event: ping\ndata: {\"type\": \"ping\"}\n\n");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].event, "message_start");
  EXPECT_EQ(events[0].data, "{\"type\":\"message_start\"}");
  EXPECT_EQ(events[0].raw, "event: message_start\ndata: {\"type\":\"message_start\"}\n\n");
  EXPECT_TRUE(events[0].has_data);
  EXPECT_EQ(events[1].event, "ping");
  EXPECT_EQ(events[1].data, "{\"type\": \"ping\"}");
}

TEST(SseParser, LineEndingsCrLfCrAndMixed) {
  const auto events = ParseEveryWay("data: a\r\ndata: b\r\n\r\ndata: c\rdata: d\r\rdata: e\n\r\n");
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].data, "a\nb");
  EXPECT_EQ(events[0].raw, "data: a\r\ndata: b\r\n\r\n");
  EXPECT_EQ(events[1].data, "c\nd");
  EXPECT_EQ(events[1].raw, "data: c\rdata: d\r\r");
  EXPECT_EQ(events[2].data, "e");
  EXPECT_EQ(events[2].raw, "data: e\n\r\n");
}

TEST(SseParser, CrLfSplitAcrossFeedsIsOneTerminator) {
  Parser parser;
  std::vector<Event> events;
  parser.Feed("data: x\r", &events);
  parser.Feed("\n\r", &events);
  EXPECT_TRUE(events.empty()) << "a lone CR at the end may still be the first half of CRLF";
  EXPECT_FALSE(parser.InEvent()) << "the event is complete, only held back";
  parser.Feed("\ndata: y\n\n", &events);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].raw, "data: x\r\n\r\n");
  EXPECT_EQ(events[0].data, "x");
  EXPECT_EQ(events[1].raw, "data: y\n\n");
}

TEST(SseParser, HeldBackCrEventIsReleasedByFinish) {
  Parser parser;
  std::vector<Event> events;
  parser.Feed("data: x\r\r", &events);
  EXPECT_TRUE(events.empty());
  Event last;
  ASSERT_TRUE(parser.Finish(&last));
  EXPECT_EQ(last.raw, "data: x\r\r");
  EXPECT_EQ(last.data, "x");
  EXPECT_FALSE(parser.Finish(&last));
}

TEST(SseParser, CommentsFieldsWithoutColonAndSpaces) {
  const auto events = ParseEveryWay(
      ": keep-alive\n"
      "data\n"
      "data:no-space\n"
      "data:  two-spaces\n"
      "event\n"
      "id: 7\n"
      "retry: 100\n"
      "unknown: field\n"
      "\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "\nno-space\n two-spaces");
  EXPECT_EQ(events[0].event, "");
  EXPECT_EQ(events[0].id, "7");
}

TEST(SseParser, EmptyDataFieldStillDispatches) {
  const auto events = ParseEveryWay("data:\n\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(events[0].has_data);
  EXPECT_EQ(events[0].data, "");
}

TEST(SseParser, BlocksWithoutDataAreReportedButNotDispatchable) {
  const auto events = ParseEveryWay(": ping\n\n\nevent: x\n\ndata: y\n\n");
  ASSERT_EQ(events.size(), 4u);
  EXPECT_FALSE(events[0].has_data);
  EXPECT_EQ(events[0].raw, ": ping\n\n");
  EXPECT_FALSE(events[1].has_data);
  EXPECT_EQ(events[1].raw, "\n");
  EXPECT_FALSE(events[2].has_data);
  EXPECT_EQ(events[2].event, "x");
  EXPECT_TRUE(events[3].has_data);
  EXPECT_EQ(events[3].event, "") << "event type does not leak into the next block";
}

TEST(SseParser, IdWithNulIsIgnored) {
  const auto events = ParseEveryWay(std::string("id: a\nid: b\0c\ndata: d\n\n", 22));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].id, "a");
}

TEST(SseParser, LeadingBomIsSkippedOnlyAtStreamStart) {
  const auto events = ParseEveryWay(
      "\xEF\xBB\xBF"
      "data: a\n\n\xEF\xBB\xBF"
      "data: b\n\n");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].data, "a");
  EXPECT_EQ(events[0].raw,
            "\xEF\xBB\xBF"
            "data: a\n\n");
  EXPECT_EQ(events[1].data, "") << "a later BOM is part of the field name";
  EXPECT_FALSE(events[1].has_data);
}

TEST(SseParser, UnterminatedTrailingEventComesFromFinish) {
  Parser parser;
  std::vector<Event> events;
  parser.Feed("data: one\n\nevent: two\ndata: {\"partial\"", &events);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(parser.InEvent());
  Event last;
  ASSERT_TRUE(parser.Finish(&last));
  EXPECT_EQ(last.event, "two");
  EXPECT_EQ(last.data, "{\"partial\"");
  EXPECT_EQ(last.raw, "event: two\ndata: {\"partial\"");
  EXPECT_FALSE(parser.InEvent());
  EXPECT_FALSE(parser.Finish(&last)) << "Finish resets the parser";
}

TEST(SseParser, NotInEventBetweenEventsAndEmptyFeedIsHarmless) {
  Parser parser;
  std::vector<Event> events;
  EXPECT_FALSE(parser.InEvent());
  parser.Feed("", &events);
  parser.Feed("data: x\n", &events);
  EXPECT_TRUE(parser.InEvent());
  parser.Feed("\n", &events);
  EXPECT_FALSE(parser.InEvent());
  ASSERT_EQ(events.size(), 1u);
  Event last;
  EXPECT_FALSE(parser.Finish(&last));
}

TEST(SseFormatEvent, RoundTripsMultiLineData) {
  EXPECT_EQ(FormatEvent("error", "{\"a\":1}"), "event: error\ndata: {\"a\":1}\n\n");
  EXPECT_EQ(FormatEvent("", "x"), "data: x\n\n");
  const auto events = ParseWhole(FormatEvent("e", "l1\nl2\r\nl3\r\n"));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event, "e");
  EXPECT_EQ(events[0].data, "l1\nl2\nl3\n");
}

// The real streams recorded by the original proxy, replayed byte for byte.
class CapturedStreamTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { streams_ = new auto(testing::LoadCapturedStreams()); }
  static void TearDownTestSuite() { delete streams_; }
  static std::vector<testing::CapturedExchange>* streams_;
};
std::vector<testing::CapturedExchange>* CapturedStreamTest::streams_ = nullptr;

void ExpectMatchesRecording(const std::vector<Event>& events, const testing::CapturedExchange& ex) {
  const auto& chunks = ex.capture.at("response").at("metadata").at("streamingChunks").as_array();
  ASSERT_EQ(events.size(), ex.events.size()) << ex.file;
  for (std::size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].raw, ex.events[i]) << ex.file << " event " << i;
    EXPECT_EQ(events[i].event, chunks[i].at("type").as_string().c_str());
    EXPECT_EQ(boost::json::parse(events[i].data), chunks[i]) << ex.file << " event " << i;
  }
}

TEST_F(CapturedStreamTest, BothRecordedStreamsAreFound) { EXPECT_EQ(streams_->size(), 2u); }

TEST_F(CapturedStreamTest, WholeStreamGivesTheRecordedEvents) {
  for (const auto& ex : *streams_) {
    const auto events = ParseWhole(ex.wire);
    ExpectMatchesRecording(events, ex);
    EXPECT_EQ(JoinRaw(events), ex.wire);
  }
}

TEST_F(CapturedStreamTest, EverySplitPointGivesTheSameEvents) {
  for (const auto& ex : *streams_) {
    const auto whole = ParseWhole(ex.wire);
    for (std::size_t cut = 1; cut < ex.wire.size(); ++cut) {
      ASSERT_EQ(ParseSplit(ex.wire, {cut}), whole) << ex.file << " split at " << cut;
    }
  }
}

TEST_F(CapturedStreamTest, OneByteAtATime) {
  for (const auto& ex : *streams_) {
    Parser parser;
    std::vector<Event> events;
    for (char c : ex.wire) parser.Feed(std::string_view(&c, 1), &events);
    EXPECT_FALSE(parser.InEvent());
    Event last;
    EXPECT_FALSE(parser.Finish(&last));
    ExpectMatchesRecording(events, ex);
  }
}

TEST_F(CapturedStreamTest, RandomChunkSizes) {
  std::mt19937 rng(20250620);
  for (const auto& ex : *streams_) {
    const auto whole = ParseWhole(ex.wire);
    for (int round = 0; round < 50; ++round) {
      std::uniform_int_distribution<std::size_t> step(1, round < 25 ? 16 : 4096);
      std::vector<std::size_t> cuts;
      for (std::size_t at = step(rng); at < ex.wire.size(); at += step(rng)) cuts.push_back(at);
      ASSERT_EQ(ParseSplit(ex.wire, cuts), whole) << ex.file << " round " << round;
    }
  }
}

TEST_F(CapturedStreamTest, CrLfFramingOfTheSameStream) {
  for (const auto& ex : *streams_) {
    std::string crlf;
    for (char c : ex.wire) {
      if (c == '\n')
        crlf += "\r\n";
      else
        crlf += c;
    }
    const auto events = ParseWhole(crlf);
    ASSERT_EQ(events.size(), ex.events.size());
    EXPECT_EQ(JoinRaw(events), crlf);
    std::vector<std::size_t> every;
    for (std::size_t i = 1; i < crlf.size(); ++i) every.push_back(i);
    EXPECT_EQ(ParseSplit(crlf, every), events) << ex.file;
  }
}

}  // namespace
}  // namespace cn::sse

namespace cn::sse {
namespace {

TEST(EventData, JoinsDataLinesLikeTheParser) {
  EXPECT_EQ(EventData("event: message_delta\ndata: {\"usage\":{\"output_tokens\":7}}\n\n"),
            "{\"usage\":{\"output_tokens\":7}}");
  EXPECT_EQ(EventData("data:{\"a\":\r\ndata:  1}\r\n\r\n"), "{\"a\":\n 1}");  // one space removed
  EXPECT_EQ(EventData(": keep-alive\n\n"), "");
  EXPECT_EQ(EventData("event: ping\ndata: {}\n"), "{}");  // unterminated (a cut stream's last)
  EXPECT_EQ(EventData(""), "");
}

}  // namespace
}  // namespace cn::sse
