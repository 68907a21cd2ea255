#include "conversation/hashing.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace cn::conversation {
namespace {

using testing::ParseJson;

constexpr const char* kV1 = "ebdeb188f7a2cac009a02cfc5d4edaacf0ea635cef72cd31e1fe86b15787c3a7";

std::string CurrentHash(std::string_view messages_json) {
  const boost::json::value v = ParseJson(messages_json);
  auto h = ComputeMessageHashes(v.as_array());
  EXPECT_TRUE(h.ok()) << h.status().ToString();
  return h.ok() ? h->current : std::string();
}

// ---- golden vectors: the original proxy's hashes ----------------------------------------------

TEST(GoldenVectors, V1StringContent) {
  EXPECT_EQ(Sha256Hex("user\n[0]text:Hello\n"), kV1);
  EXPECT_EQ(CurrentHash(R"([{"role":"user","content":"Hello"}])"), kV1);
}

TEST(GoldenVectors, V2ArrayContentEqualsString) {
  EXPECT_EQ(CurrentHash(R"([{"role":"user","content":[{"type":"text","text":"Hello"}]}])"), kV1);
}

TEST(GoldenVectors, V3ReminderOnlyBlockDroppedAndIndexRenumbered) {
  EXPECT_EQ(
      CurrentHash(
          R"([{"role":"user","content":[{"type":"text","text":"<system-reminder>ctx</system-reminder>"},
                                                       {"type":"text","text":"Hello"}]}])"),
      kV1);
}

TEST(GoldenVectors, V4ThreeMessagesAndParent) {
  const auto v =
      ParseJson(R"([{"role":"user","content":"Hello"},{"role":"assistant","content":"Hi there!"},
                               {"role":"user","content":"Can you help me?"}])");
  auto h = ComputeMessageHashes(v.as_array());
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->current, "73c2c537feab4031513ad1b73ed490af605df3c01acdf908fcc9917f300f4565");
  ASSERT_TRUE(h->parent.has_value());
  EXPECT_EQ(*h->parent, kV1);
  EXPECT_FALSE(h->grandparent.has_value());
  EXPECT_EQ(h->deduplicated_count, 3u);
}

TEST(GoldenVectors, V5ToolUseAndToolResult) {
  const char* messages = R"([{"role":"user","content":"List files"},
    {"role":"assistant","content":[{"type":"text","text":"Sure."},
                                   {"type":"tool_use","id":"toolu_1","name":"LS","input":{"path":"/tmp"}}]},
    {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"a.txt\nb.txt"}]}])";
  const std::string pre =
      "user\n[0]text:List "
      "files\nassistant\n[0]text:Sure.\n[1]tool_use:LS:toolu_1:{\"path\":\"/tmp\"}\n"
      "user\n[0]tool_result:toolu_1:a.txt\nb.txt\n";
  EXPECT_EQ(Sha256Hex(pre), "01d9e8e2345d299ffa7b4e4965416a6de04b388d5d3893ca54d393d872a9551f");
  EXPECT_EQ(CurrentHash(messages),
            "01d9e8e2345d299ffa7b4e4965416a6de04b388d5d3893ca54d393d872a9551f");
}

TEST(GoldenVectors, V6StringContentKeepsReminder) {
  EXPECT_EQ(
      CurrentHash(R"([{"role":"user","content":"Hello <system-reminder>x</system-reminder>"}])"),
      "a6dc4d40c094c5ed3f5d81cbd52b760da67871d2c81b339619133a782b8baeb1");
}

TEST(GoldenVectors, S1PlainSystemString) {
  const auto v = ParseJson(R"("You are a helpful assistant")");
  EXPECT_EQ(SystemHash(&v), "11ec99cfa6e6f58a352f4aee9cdb6d96e2eca86d437158f18efc6d4fe5909b07");
}

TEST(GoldenVectors, S2CliSentenceShortcut) {
  const auto v = ParseJson(
      R"("  You are an interactive CLI tool that helps users with software engineering tasks. Use the tools.\ngitStatus: dirty")");
  EXPECT_EQ(StableSystemText(v.get_string()),
            "You are an interactive CLI tool that helps users with software engineering tasks");
  EXPECT_EQ(SystemHash(&v), "b7d8cb48488c3624c925c2e5ef0ed4de3e16a4eced9390f1f0c3250eda1e04c0");
}

TEST(GoldenVectors, S3ArrayWithGitSections) {
  const auto v = ParseJson(
      R"([{"type":"text","text":"You are Claude Code, Anthropic's official CLI for Claude."},
    {"type":"text","text":"You are an interactive CLI tool that helps users with software engineering tasks.\n\ngitStatus: This is the git status at the start of the conversation.\nCurrent branch: main\n\nMain branch (you will usually use this for PRs): main\n\nStatus:\nM file.ts\n\nRecent commits:\nabc123 fix\ndef456 feat\n\nEnd."}])");
  const auto text = SystemPromptText(&v);
  ASSERT_TRUE(text.has_value());
  EXPECT_EQ(StableSystemText(*text),
            "You are Claude Code, Anthropic's official CLI for Claude.\nYou are an interactive CLI "
            "tool that helps "
            "users with software engineering tasks.\n\nEnd.");
  EXPECT_EQ(SystemHash(&v), "57889e67d88535a53b5bce0009dcaf727012db284bcc185ab5d820e4afd99697");
}

// ---- System prompt handling -----------------------------------------------------------------

TEST(SystemHash, NullForAbsentOrEmpty) {
  EXPECT_FALSE(SystemHash(nullptr).has_value());
  const auto empty = ParseJson(R"("")");
  EXPECT_FALSE(SystemHash(&empty).has_value());
  const auto empty_array = ParseJson("[]");
  EXPECT_FALSE(SystemHash(&empty_array).has_value());
  const auto blank = ParseJson(R"("  \n ")");
  EXPECT_FALSE(SystemHash(&blank).has_value());
  const auto only_reminder = ParseJson(R"("<system-reminder>x</system-reminder>")");
  EXPECT_FALSE(SystemHash(&only_reminder).has_value());
}

TEST(SystemHash, StringAndArrayFormsAgreeAndCacheControlIsIgnored) {
  const auto s = ParseJson(R"("A\nB")");
  const auto a = ParseJson(
      R"([{"type":"text","text":"A","cache_control":{"type":"ephemeral"}},{"type":"text","text":"B"}])");
  EXPECT_EQ(SystemHash(&s), SystemHash(&a));
  const auto missing_text = ParseJson(R"([{"type":"text","text":"A"},{"type":"text"}])");
  EXPECT_EQ(SystemPromptText(&missing_text), std::optional<std::string>("A\n"));
}

TEST(SystemHash, ReminderAndGitStatusChangesDoNotChangeTheHash) {
  const auto a = ParseJson(R"("Base prompt.\n\ngitStatus: branch main\nM a.ts\n\nTail.")");
  const auto b = ParseJson(
      R"("Base prompt.<system-reminder>now</system-reminder>\n\ngitStatus: branch dev\n?? b.ts\n\nTail.")");
  EXPECT_EQ(SystemHash(&a), SystemHash(&b));
  const auto c = ParseJson(R"("Other prompt.")");
  EXPECT_NE(SystemHash(&a), SystemHash(&c));
}

TEST(StableSystemText, JsLineSemanticsOfDotAndDollar) {
  // JS `.` stops at \r and multiline `$` matches before it, so the \r\n stays.
  EXPECT_EQ(StableSystemText("A\nCurrent branch: main\r\nB"), "A\r\nB");
  EXPECT_EQ(StableSystemText("Current branch: main\nB"), "B");
  EXPECT_EQ(StableSystemText("A\nMain branch (for PRs): main\nB"), "A\nB");
  EXPECT_EQ(StableSystemText("A\n\nRecent commits:\nx1 a\nx2 b\n\nB"), "A\n\nB");
  EXPECT_EQ(StableSystemText("A\n<transient_context>t</transient_context>B"), "A\nB");
  EXPECT_EQ(StableSystemText("A\n\n\n\nB"), "A\n\nB");
  EXPECT_EQ(StableSystemText("A\nStatus:\nM x\n?? y\n\nB"), "A\n\nB");
}

// ---- system-reminder stripping (the original's system-reminder.test.ts cases) ----------

TEST(StripSystemReminder, Cases) {
  EXPECT_EQ(StripSystemReminder("Hello\n\n<system-reminder>x</system-reminder>\nWorld"),
            "Hello\nWorld");
  EXPECT_EQ(StripSystemReminder("Hello<system-reminder>x</system-reminder> World"), "Hello World");
  EXPECT_EQ(StripSystemReminder(
                "a <system-reminder>1</system-reminder> b <system-reminder>2</system-reminder> c"),
            "a b c");
  EXPECT_EQ(StripSystemReminder("a\n<system-reminder>\nline1\nline2\n</system-reminder>\nb"),
            "a\nb");
  EXPECT_EQ(StripSystemReminder("a <SYSTEM-REMINDER>x</System-Reminder>"), "a");
  EXPECT_EQ(StripSystemReminder("a<system-reminder></system-reminder>b"), "ab");
  EXPECT_EQ(StripSystemReminder("mentions system-reminder tags"), "mentions system-reminder tags");
  EXPECT_EQ(StripSystemReminder("unclosed <system-reminder> stays"),
            "unclosed <system-reminder> stays");
  // Non-greedy: text between two blocks survives.
  EXPECT_EQ(StripSystemReminder(
                "<system-reminder>1</system-reminder>keep<system-reminder>2</system-reminder>"),
            "keep");
  EXPECT_EQ(StripSystemReminder("<system-reminder>x</system-reminder>start"), "start");
  EXPECT_EQ(StripSystemReminder("end  <system-reminder>x</system-reminder>"), "end");
  EXPECT_EQ(StripSystemReminder("<system-reminder>whole</system-reminder>"), "");
  // JS \s includes NBSP and ideographic space but not NEL; JS /i does not fold U+017F to "s".
  EXPECT_EQ(StripSystemReminder("a\u00a0\u3000<system-reminder>x</system-reminder>"), "a");
  EXPECT_EQ(StripSystemReminder("a\u0085<system-reminder>x</system-reminder>"), "a\u0085");
  EXPECT_EQ(StripSystemReminder("a<\u017fystem-reminder>x</\u017fystem-reminder>"),
            "a<\u017fystem-reminder>x</\u017fystem-reminder>");
}

TEST(ContainsSystemReminder, Cases) {
  EXPECT_TRUE(ContainsSystemReminder("x <System-Reminder> y"));
  EXPECT_FALSE(ContainsSystemReminder("x <system-reminder y"));
  EXPECT_FALSE(ContainsSystemReminder("system-reminder>"));
}

// ---- normalisation and de-duplication -------------------------------------------------------

TEST(NormalizeContent, ItemKinds) {
  auto n = NormalizeContent(ParseJson(R"([
    {"type":"text","text":"  a\r\nb  ","cache_control":{"type":"ephemeral"}},
    {"type":"image"},
    {"type":"image","source":{"type":"base64","media_type":"image/png","data":"abc"}},
    {"type":"tool_use","id":"t1","name":"Read"},
    {"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"<system-reminder>k</system-reminder>"}]},
    {"type":"tool_result","tool_use_id":"t2","content":"  out <system-reminder>r</system-reminder>"},
    {"type":"tool_result","tool_use_id":"t3"},
    {"type":"thinking","thinking":"hmm"},
    {"foo":1}])"));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(
      *n,
      "[0]text:a\nb\n[1]image:no-source\n[2]image:image/png:" + Sha256Hex("abc") +
          "\n[3]tool_use:Read:t1:undefined\n"
          "[4]tool_result:t1:[{\"type\":\"text\",\"text\":\"<system-reminder>k</"
          "system-reminder>\"}]\n"
          "[5]tool_result:t2:  out\n[6]tool_result:t3:\n[7]thinking:unknown\n[8]undefined:unknown");
}

TEST(NormalizeContent, StringContentIsTrimmedNotStripped) {
  auto n = NormalizeContent(ParseJson(R"("  hi\r\n<system-reminder>x</system-reminder>  ")"));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, "[0]text:hi\n<system-reminder>x</system-reminder>");
}

TEST(NormalizeContent, BadShapesAreErrors) {
  EXPECT_FALSE(NormalizeContent(ParseJson("{}")).ok());
  EXPECT_FALSE(NormalizeContent(ParseJson("[null]")).ok());
  EXPECT_FALSE(NormalizeContent(ParseJson(R"([{"type":"text","text":5}])")).ok());
}

TEST(Deduplicate, MessageWithRepeatedToolIdIsDroppedWhole) {
  const auto v = ParseJson(R"([
    {"role":"user","content":"go"},
    {"role":"assistant","content":[{"type":"tool_use","id":"a","name":"X","input":{}}]},
    {"role":"assistant","content":[{"type":"text","text":"again"},{"type":"tool_use","id":"a","name":"X","input":{}},
                                   {"type":"tool_use","id":"b","name":"Y","input":{}}]},
    {"role":"user","content":[{"type":"tool_result","tool_use_id":"a","content":"ok"}]},
    {"role":"user","content":[{"type":"tool_result","tool_use_id":"b","content":"ok"}]},
    {"role":"user","content":[{"type":"tool_result","tool_use_id":"a","content":"ok"}]}])");
  auto kept = DeduplicateMessages(v.as_array());
  ASSERT_TRUE(kept.ok());
  // Message 2 repeats tool_use "a" and goes whole; results "a" and "b" are first seen in 3 and 4;
  // message 5 repeats result "a".
  ASSERT_EQ(kept->size(), 4u);
  EXPECT_EQ((*kept)[2], &v.as_array()[3]);
  EXPECT_EQ((*kept)[3], &v.as_array()[4]);
}

TEST(Deduplicate, DuplicatedToolBlocksGiveTheSameHashAsClean) {
  const auto clean = R"([{"role":"user","content":"go"},
    {"role":"assistant","content":[{"type":"tool_use","id":"a","name":"X","input":{"k":1}}]},
    {"role":"user","content":[{"type":"tool_result","tool_use_id":"a","content":"ok"}]}])";
  const auto dup = R"([{"role":"user","content":"go"},
    {"role":"assistant","content":[{"type":"tool_use","id":"a","name":"X","input":{"k":1}}]},
    {"role":"assistant","content":[{"type":"tool_use","id":"a","name":"X","input":{"k":1}}]},
    {"role":"user","content":[{"type":"tool_result","tool_use_id":"a","content":"ok"}]},
    {"role":"user","content":[{"type":"tool_result","tool_use_id":"a","content":"ok"}]}])";
  EXPECT_EQ(CurrentHash(clean), CurrentHash(dup));
}

TEST(HashMessages, Errors) {
  EXPECT_FALSE(ComputeMessageHashes(boost::json::array()).ok());
  EXPECT_FALSE(ComputeMessageHashes(ParseJson(R"([{"content":"x"}])").as_array()).ok());
  EXPECT_FALSE(ComputeMessageHashes(ParseJson(R"([{"role":"","content":"x"}])").as_array()).ok());
  EXPECT_FALSE(ComputeMessageHashes(ParseJson(R"([{"role":"user"}])").as_array()).ok());
  EXPECT_FALSE(ComputeMessageHashes(ParseJson(R"(["x"])").as_array()).ok());
}

TEST(HashMessages, GrandparentNeedsFive) {
  const auto v = ParseJson(R"([{"role":"user","content":"1"},{"role":"assistant","content":"2"},
    {"role":"user","content":"3"},{"role":"assistant","content":"4"},{"role":"user","content":"5"}])");
  auto h = ComputeMessageHashes(v.as_array());
  ASSERT_TRUE(h.ok());
  ASSERT_TRUE(h->grandparent.has_value());
  EXPECT_EQ(*h->grandparent, CurrentHash(R"([{"role":"user","content":"1"}])"));
  EXPECT_EQ(*h->parent,
            CurrentHash(R"([{"role":"user","content":"1"},{"role":"assistant","content":"2"},
    {"role":"user","content":"3"}])"));
}

}  // namespace
}  // namespace cn::conversation
