#include "anthropic/search_text.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "anthropic/enrich.h"
#include "captured_streams.h"
#include "common/utf8.h"

namespace cn::anthropic {
namespace {

namespace json = boost::json;

std::string Search(std::string_view type, std::string_view request, std::string_view response) {
  const json::value body = json::parse(request);
  const json::value message = response.empty() ? json::value() : json::parse(response);
  return SearchText(type, &body, message.if_object());
}

TEST(SearchText, LastUserMessageStringThenResponseTextBlocks) {
  const std::string request = R"({"model":"m","messages":[
      {"role":"user","content":"first question"},
      {"role":"assistant","content":"first answer"},
      {"role":"user","content":"second question"}]})";
  const std::string response = R"({"type":"message","role":"assistant","content":[
      {"type":"thinking","thinking":"hidden reasoning"},
      {"type":"text","text":"The answer"},
      {"type":"tool_use","id":"t","name":"Bash","input":{"command":"ls"}},
      {"type":"text","text":"and more"}]})";
  EXPECT_EQ(Search("inference", request, response), "second question\nThe answer\nand more");
  EXPECT_EQ(Search("query_evaluation", request, response), "second question\nThe answer\nand more");
}

TEST(SearchText, BlocksAndToolResultsWithoutImagesOrSystemReminders) {
  const std::string request = R"({"messages":[{"role":"user","content":[
      {"type":"tool_result","tool_use_id":"t1","content":"file list: a.cc b.cc"},
      {"type":"tool_result","tool_use_id":"t2","content":[
        {"type":"text","text":"nested result"},
        {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}}]},
      {"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAAAAAA"}},
      {"type":"document","source":{"type":"text","data":"not the user's words"}},
      {"type":"text","text":"  <system-reminder>\nclient noise\n</system-reminder>\n"},
      {"type":"text","text":"what does it mean?"}]}]})";
  EXPECT_EQ(Search("inference", request, ""),
            "file list: a.cc b.cc\nnested result\nwhat does it mean?\n");
}

TEST(SearchText, OnlyInferenceAndQueryEvaluationWithMessages) {
  const std::string request = R"({"messages":[{"role":"user","content":"quota"}]})";
  const std::string response = R"({"content":[{"type":"text","text":"ok"}]})";
  for (const char* type : {"quota", "count_tokens", "other", ""}) {
    EXPECT_EQ(Search(type, request, response), "") << type;
  }
  EXPECT_EQ(Search("inference", R"({"model":"m"})", response), "");
  EXPECT_EQ(Search("inference", R"({"messages":{}})", response), "");
  EXPECT_EQ(Search("inference", R"([1,2])", response), "");
  EXPECT_EQ(SearchText("inference", nullptr, nullptr), "");
  // Messages but no text anywhere: nothing to index.
  EXPECT_EQ(Search("inference", R"({"messages":[{"role":"assistant","content":"x"}]})", ""), "");
  EXPECT_EQ(Search("inference", R"({"messages":[{"role":"user","content":"q"}]})", ""), "q\n");
}

TEST(SearchText, EachPartIsBoundedOnACharacterBoundary) {
  // 'a' then 3000 two-byte characters: 1 KiB falls in the middle of one.
  std::string long_text = "a";
  for (int i = 0; i < 3000; ++i) long_text += "\xc3\xa9";  // é
  json::object request{
      {"messages", json::array{json::object{{"role", "user"}, {"content", long_text}}}}};
  json::object response{
      {"content", json::array{json::object{{"type", "text"}, {"text", "€" + long_text}}}}};
  const json::value body(request);
  const std::string user = UserSearchText(body);
  EXPECT_EQ(user.size(), 1023u);
  EXPECT_TRUE(IsValidUtf8(user));
  EXPECT_EQ(user, long_text.substr(0, 1023));
  const std::string assistant = AssistantSearchText(response);
  EXPECT_EQ(assistant.size(), kSearchTextPartMaxBytes);  // 3 + 1 + 2 * 510: exactly full
  EXPECT_TRUE(IsValidUtf8(assistant));
  EXPECT_EQ(SearchText("inference", &body, &response), user + "\n" + assistant);
  // A small limit cuts between pieces too.
  EXPECT_EQ(UserSearchText(json::parse(R"({"messages":[{"role":"user","content":[
      {"type":"text","text":"abc"},{"type":"text","text":"def"}]}]})"),
                           5),
            "abc\nd");
}

TEST(SearchText, InvalidUtf8AndNulAreDropped) {
  json::object request{
      {"messages",
       json::array{json::object{{"role", "user"},
                                {"content", std::string("ok\xff\xfe go\0ne \xe2\x82", 13)}}}}};
  const json::value body(request);
  EXPECT_EQ(UserSearchText(body), "ok gone ");
}

TEST(SearchText, FromJsonIsWhatTheTreesGive) {
  const std::string request = R"({"messages":[{"role":"user","content":"find me"}]})";
  const std::string response = R"({"content":[{"type":"text","text":"found"}]})";
  EXPECT_EQ(SearchTextFromJson("inference", request, response), "find me\nfound");
  EXPECT_EQ(SearchTextFromJson("inference", request, ""), "find me\n");
  EXPECT_EQ(SearchTextFromJson("inference", "not json", response), "");
  EXPECT_EQ(SearchTextFromJson("other", request, response), "");
}

// Through enrichment: a JSON response, a captured stream (the reconstructed message) and a
// request without a response.
TEST(SearchText, EnrichRecordFillsItFromJsonResponses) {
  Record r;
  r.method = "POST";
  r.path = "/v1/messages";
  r.request_body =
      R"({"model":"m","system":[{"type":"text","text":"a"},{"type":"text","text":"b"}],)"
      R"("messages":[{"role":"user","content":"why is the sky blue?"}]})";
  r.response_body =
      R"({"type":"message","content":[{"type":"text","text":"Rayleigh scattering."}]})";
  EnrichRecord(r);
  EXPECT_EQ(r.request_type, "inference");
  EXPECT_EQ(r.search_text, "why is the sky blue?\nRayleigh scattering.");

  Record failed = r;
  failed.enriched = false;
  failed.search_text.clear();
  failed.response_status = 502;
  failed.response_body = "<html>bad gateway</html>";
  EnrichRecord(failed);
  EXPECT_EQ(failed.search_text, "why is the sky blue?\n");

  Record models;
  models.method = "GET";
  models.path = "/v1/models";
  models.response_body = R"({"data":[]})";
  EnrichRecord(models);
  EXPECT_EQ(models.search_text, "");
}

TEST(SearchText, EnrichRecordFillsItFromCapturedStreams) {
  const auto streams = testing::LoadCapturedStreams();
  ASSERT_FALSE(streams.empty());
  for (const auto& ex : streams) {
    SCOPED_TRACE(ex.file);
    Record r;
    r.method = "POST";
    r.path = std::string(ex.capture.at("path").as_string());
    r.request_body = json::serialize(ex.capture.at("body"));
    r.response_streaming = true;
    for (const std::string& event : ex.events) r.chunks.push_back({0, event});
    EnrichRecord(r);
    // The original's stored body is the same message: its text blocks are the assistant part.
    std::string assistant;
    for (const json::value& block : ex.capture.at("response").at("body").at("content").as_array()) {
      if (block.at("type").as_string() != "text") continue;
      if (!assistant.empty()) assistant += '\n';
      assistant += block.at("text").as_string();
    }
    ASSERT_FALSE(assistant.empty());
    const std::size_t newline = r.search_text.find('\n' + assistant);
    ASSERT_NE(newline, std::string::npos) << r.search_text;
    EXPECT_EQ(newline + 1 + assistant.size(), r.search_text.size());
    // The user's part is their words, not Claude Code's <system-reminder> blocks (6 KB in these
    // captures, before the words).
    std::string user;
    const json::array& messages = ex.capture.at("body").at("messages").as_array();
    for (const json::value& block : messages.back().at("content").as_array()) {
      const std::string_view text = block.at("text").as_string();
      if (text.find("<system-reminder>") != std::string_view::npos) continue;
      if (!user.empty()) user += '\n';
      user += text;
    }
    ASSERT_FALSE(user.empty());
    EXPECT_EQ(r.search_text.substr(0, newline), user);
  }
}

}  // namespace
}  // namespace cn::anthropic
