#include "anthropic/errors.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <vector>

#include "sse/parser.h"

namespace cn::anthropic {
namespace {

TEST(ErrorBody, AnthropicShape) {
  EXPECT_EQ(ErrorBody("overloaded_error", "Overloaded"),
            R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})");
}

TEST(ErrorBody, EscapesQuotesBackslashesAndControlCharacters) {
  const std::string message =
      "say \"hi\"\\ now\nnext\tline\x01 caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC";
  const std::string body = ErrorBody("invalid_request_error", message);
  EXPECT_EQ(body.find('\n'), std::string::npos);
  EXPECT_NE(body.find(R"(say \"hi\"\\ now\nnext\tline\u0001)"), std::string::npos) << body;
  EXPECT_NE(body.find("caf\xC3\xA9"), std::string::npos) << "UTF-8 is kept as is";
  const boost::json::value parsed = boost::json::parse(body);
  EXPECT_EQ(parsed.at("error").at("message").as_string(), message);
  EXPECT_EQ(parsed.at("error").at("type").as_string(), "invalid_request_error");
}

TEST(ErrorEvent, IsOneParsableSseEvent) {
  const std::string message = "line one\r\nline \"two\"";
  const std::string wire = ErrorEvent("api_error", message);
  EXPECT_TRUE(wire.starts_with("event: error\ndata: {"));
  EXPECT_TRUE(wire.ends_with("}\n\n"));
  sse::Parser parser;
  std::vector<sse::Event> events;
  parser.Feed(wire, &events);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event, "error");
  EXPECT_EQ(events[0].raw, wire);
  EXPECT_EQ(events[0].data, ErrorBody("api_error", message));
  EXPECT_EQ(boost::json::parse(events[0].data).at("error").at("message").as_string(), message);
}

}  // namespace
}  // namespace cn::anthropic
