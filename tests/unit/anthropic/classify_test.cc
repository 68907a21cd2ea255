#include "anthropic/classify.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "captured_streams.h"

namespace cn::anthropic {
namespace {

std::string ClassifyBody(std::string_view json) {
  const boost::json::value body = boost::json::parse(json);
  return ClassifyRequest("POST", "/v1/messages", &body);
}

TEST(ClassifyRequest, CapturedRequestsMatchTheOriginal) {
  const auto captured = testing::LoadCaptured();
  ASSERT_EQ(captured.size(), 5u);
  for (const auto& ex : captured) {
    const boost::json::value& body = ex.capture.at("body");
    EXPECT_EQ(ClassifyRequest("POST", "/v1/messages", &body),
              ex.capture.at("metadata").at("requestType").as_string().c_str())
        << ex.file;
  }
}

TEST(ClassifyRequest, QuotaUsesTheLastUserMessageTrimmedAndCaseFolded) {
  EXPECT_EQ(ClassifyBody(R"({"messages":[{"role":"user","content":"  QuOtA\n"}]})"), "quota");
  EXPECT_EQ(ClassifyBody(R"({"messages":[{"role":"user","content":[
      {"type":"image"},{"type":"text","text":"quota"}]}]})"),
            "quota");
  EXPECT_EQ(ClassifyBody(R"({"messages":[{"role":"user","content":"quota"},
      {"role":"assistant","content":"ok"}]})"),
            "quota")
      << "assistant messages after it do not matter";
  EXPECT_EQ(ClassifyBody(R"({"messages":[{"role":"user","content":"quota"},
      {"role":"user","content":"more"}]})"),
            "query_evaluation");
  EXPECT_EQ(ClassifyBody(R"({"messages":[{"role":"user","content":[
      {"type":"text","text":"quota"},{"type":"text","text":"x"}]}]})"),
            "query_evaluation")
      << "text blocks are joined before comparing";
  EXPECT_EQ(ClassifyBody(R"({"system":["a","b"],"messages":[{"role":"user","content":"quota"}]})"),
            "quota")
      << "quota wins over the system count";
}

TEST(ClassifyRequest, SystemPromptCountDecidesInference) {
  EXPECT_EQ(ClassifyBody(R"({"messages":[{"role":"user","content":"hi"}]})"), "query_evaluation");
  EXPECT_EQ(ClassifyBody(R"({"system":"s","messages":[]})"), "query_evaluation");
  EXPECT_EQ(ClassifyBody(R"({"system":[{"type":"text","text":"a"}],"messages":[]})"),
            "query_evaluation");
  EXPECT_EQ(ClassifyBody(R"({"system":[{"type":"text","text":"a"},{"type":"text","text":"b"}]})"),
            "inference");
  EXPECT_EQ(ClassifyBody(R"({"system":"s","messages":[{"role":"system","content":"x"}]})"),
            "inference");
}

TEST(ClassifyRequest, RoutesOtherThanMessages) {
  const boost::json::value body = boost::json::parse(R"({"messages":[]})");
  EXPECT_EQ(ClassifyRequest("POST", "/v1/messages/count_tokens", &body), "count_tokens");
  EXPECT_EQ(ClassifyRequest("GET", "/v1/models", nullptr), "other");
  EXPECT_EQ(ClassifyRequest("GET", "/v1/messages", nullptr), "other");
  EXPECT_EQ(ClassifyRequest("POST", "/v1/complete", &body), "other");
}

TEST(ClassifyRequest, WrongShapesDoNotThrow) {
  EXPECT_EQ(ClassifyRequest("POST", "/v1/messages", nullptr), "query_evaluation");
  EXPECT_EQ(ClassifyBody("[]"), "query_evaluation");
  EXPECT_EQ(ClassifyBody(R"({"messages":"x","system":7})"), "query_evaluation");
  EXPECT_EQ(ClassifyBody(R"({"messages":[1,null,{"role":5},{"role":"user"},
      {"role":"user","content":{"x":1}}]})"),
            "query_evaluation");
}

}  // namespace
}  // namespace cn::anthropic
