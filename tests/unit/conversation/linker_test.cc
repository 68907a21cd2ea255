#include "conversation/linker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <vector>

#include "common/ids.h"
#include "conversation/hashing.h"
#include "test_util.h"

namespace cn::conversation {
namespace {

namespace json = boost::json;
using testing::LoadFixture;
using testing::ParseJson;

constexpr std::int64_t kT0 = 1'751'207'809'000'000;  // 2025-06-29T14:36:49Z
constexpr std::int64_t kSecond = kMicrosPerSecond;
constexpr const char* kSystem =
    R"([{"type":"text","text":"You are Claude Code, Anthropic's official CLI for Claude."},
                                    {"type":"text","text":"Project prompt."}])";

json::value Body(std::string_view messages_json, std::string_view system_json = kSystem) {
  json::object body;
  body["model"] = "claude-opus-4-20250514";
  body["system"] = ParseJson(system_json);
  body["messages"] = ParseJson(messages_json);
  return body;
}

std::string TaskResponse(const std::vector<std::string>& prompts) {
  json::array content;
  content.push_back(json::object{{"type", "text"}, {"text", "Starting agents."}});
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    content.push_back(
        json::object{{"type", "tool_use"},
                     {"id", "toolu_" + std::to_string(i)},
                     {"name", "Task"},
                     {"input", json::object{{"description", "d"}, {"prompt", prompts[i]}}}});
  }
  return json::serialize(json::object{{"content", std::move(content)}});
}

// Links a request the way the record pipeline does: LinkRecord, then Add once the response is
// known.
Record Process(ConversationIndex& index, std::int64_t at, const json::value& body,
               std::string response_json = "", std::string domain = "localhost:3000") {
  Record r;
  r.request_id = NewUuidV4();
  r.domain = std::move(domain);
  r.timestamp_unix_micros = at;
  r.request_type = "inference";
  r.request_body = json::serialize(body);
  r.response_json = response_json.empty() ? R"({"content":[{"type":"text","text":"ok"}]})"
                                          : std::move(response_json);
  LinkRecord(r, body, index);
  index.Add(r);
  return r;
}

std::string UserMessage(std::string_view text) {
  return json::serialize(json::object{{"role", "user"}, {"content", text}});
}

TEST(BranchIds, UtcFormats) {
  EXPECT_EQ(CompactBranchId(kT0), "compact_143649");
  EXPECT_EQ(UserBranchId(kT0), "branch_20250629143649");
  EXPECT_EQ(UserBranchId(kT0 + 999'999), "branch_20250629143649");
}

LinkResult LinkOnly(ConversationIndex& index, std::int64_t at, const json::value& body,
                    std::string_view request_id = "self") {
  LinkInput in;
  in.request_id = request_id;
  in.domain = "localhost:3000";
  in.timestamp_unix_micros = at;
  in.messages = &body.at("messages").as_array();
  in.system = body.as_object().if_contains("system");
  return Link(in, index);
}

std::string Conversation3(std::string_view first, std::string_view reply, std::string_view next) {
  return "[" + UserMessage(first) + "," +
         json::serialize(json::object{{"role", "assistant"}, {"content", reply}}) + "," +
         UserMessage(next) + "]";
}

TEST(Link, SingleMessageStartsNewConversationWithSystemHash) {
  ConversationIndex index;
  const LinkResult r = LinkOnly(index, kT0, Body("[" + UserMessage("Hello") + "]"));
  EXPECT_EQ(r.kind, LinkKind::kNewConversation);
  EXPECT_FALSE(r.conversation_id.has_value());
  EXPECT_EQ(r.branch_id, "main");
  EXPECT_FALSE(r.parent_message_hash.has_value());
  EXPECT_TRUE(r.system_hash.has_value());
  EXPECT_EQ(r.current_message_hash,
            "ebdeb188f7a2cac009a02cfc5d4edaacf0ea635cef72cd31e1fe86b15787c3a7");
}

TEST(Link, FollowUpInheritsAndSecondChildBranches) {
  ConversationIndex index;
  const Record root = Process(index, kT0, Body("[" + UserMessage("hi") + "]"));
  const Record a =
      Process(index, kT0 + 10 * kSecond, Body(Conversation3("hi", "Hello!", "question one")));
  EXPECT_EQ(a.link.parent_request_id, root.request_id);
  EXPECT_EQ(a.link.conversation_id, root.link.conversation_id);
  EXPECT_EQ(a.link.branch_id, "main");
  EXPECT_EQ(a.link.parent_message_hash, root.link.current_message_hash);
  EXPECT_FALSE(a.link.is_subtask);
  // The user edits the second prompt: same parent, a child already exists -> a new branch (UTC).
  const Record b =
      Process(index, kT0 + 20 * kSecond, Body(Conversation3("hi", "Hello!", "question two")));
  EXPECT_EQ(b.link.parent_request_id, root.request_id);
  EXPECT_EQ(b.link.conversation_id, root.link.conversation_id);
  EXPECT_EQ(b.link.branch_id, UserBranchId(kT0 + 20 * kSecond));
  EXPECT_EQ(b.link.branch_id, "branch_20250629143709");
}

TEST(Link, NoParentKeepsParentHashAndStartsConversation) {
  ConversationIndex index;
  const Record r = Process(index, kT0, Body(Conversation3("a", "b", "c")));
  EXPECT_TRUE(IsUuid(r.link.conversation_id));
  EXPECT_EQ(r.link.branch_id, "main");
  EXPECT_FALSE(r.link.parent_message_hash.empty());
  EXPECT_TRUE(r.link.parent_request_id.empty());
}

TEST(Link, ExactSystemMatchWinsOverNewerFallback) {
  ConversationIndex index;
  const Record same_system = Process(index, kT0, Body("[" + UserMessage("hi") + "]"));
  const Record other_system =
      Process(index, kT0 + kSecond, Body("[" + UserMessage("hi") + "]", R"("Other prompt")"));
  const Record child = Process(index, kT0 + 5 * kSecond, Body(Conversation3("hi", "yo", "next")));
  EXPECT_EQ(child.link.parent_request_id, same_system.request_id);
  // A system prompt neither parent has: the newest by message hash alone.
  const LinkResult fallback =
      LinkOnly(index, kT0 + 6 * kSecond, Body(Conversation3("hi", "yo", "n2"), R"("Third")"));
  EXPECT_EQ(fallback.parent_request_id, other_system.request_id);
}

TEST(Link, OnlyEarlierRequestsOfTheSameDomainAreParents) {
  ConversationIndex index;
  Process(index, kT0 + 100 * kSecond, Body("[" + UserMessage("hi") + "]"));
  Process(index, kT0, Body("[" + UserMessage("hi") + "]"), "", "other.example");
  const LinkResult r = LinkOnly(index, kT0 + 50 * kSecond, Body(Conversation3("hi", "yo", "next")));
  EXPECT_EQ(r.kind, LinkKind::kNewConversation);
  EXPECT_TRUE(r.parent_request_id.empty());
}

TEST(Link, GrandparentFallbackWhenTheParentIsMissing) {
  ConversationIndex index;
  const Record root = Process(index, kT0, Body("[" + UserMessage("1") + "]"));
  const std::string five = "[" + UserMessage("1") + R"(,{"role":"assistant","content":"2"},)" +
                           UserMessage("3") + R"(,{"role":"assistant","content":"4"},)" +
                           UserMessage("5") + "]";
  const LinkResult r = LinkOnly(index, kT0 + 60 * kSecond, Body(five));
  EXPECT_EQ(r.kind, LinkKind::kGrandparent);
  EXPECT_EQ(r.parent_request_id, root.request_id);
  EXPECT_EQ(r.conversation_id, std::optional<std::string>(root.link.conversation_id));
  // The returned parent hash stays the computed (grand-child) one.
  auto hashes = ComputeMessageHashes(ParseJson(five).as_array());
  ASSERT_TRUE(hashes.ok());
  EXPECT_EQ(r.parent_message_hash, hashes->parent);
}

TEST(Link, MalformedMessagesGiveTheSafeDefault) {
  ConversationIndex index;
  const json::value body = Body(
      R"([{"content":"no role"},{"role":"assistant","content":"x"},{"role":"user","content":"y"}])");
  const LinkResult r = LinkOnly(index, kT0, body);
  EXPECT_EQ(r.kind, LinkKind::kError);
  EXPECT_EQ(r.current_message_hash, "");
  EXPECT_FALSE(r.system_hash.has_value());
  Record rec;
  rec.request_id = NewUuidV4();
  LinkRecord(rec, body, index);
  EXPECT_TRUE(IsUuid(rec.link.conversation_id));
  EXPECT_EQ(rec.link.branch_id, "main");
  // Bodies without messages are left unlinked.
  Record untouched;
  LinkRecord(untouched, ParseJson(R"({"model":"x"})"), index);
  EXPECT_TRUE(untouched.link.conversation_id.empty());
  EXPECT_TRUE(untouched.link.branch_id.empty());
}

TEST(Subtasks, ParallelAgentsAreNumberedByTaskCallOrderNotArrival) {
  ConversationIndex index;
  const std::vector<std::string> prompts = {"Find the config loader", "List the tests",
                                            "Read the README"};
  const Record task =
      Process(index, kT0, Body("[" + UserMessage("do three things") + "]"), TaskResponse(prompts));
  // All three start within the same second, in reverse-ish order.
  const int arrival[] = {2, 0, 1};
  std::vector<Record> agents(3);
  for (int k = 0; k < 3; ++k) {
    const int i = arrival[k];
    agents[i] =
        Process(index, kT0 + 30 * kSecond + k * 1000, Body("[" + UserMessage(prompts[i]) + "]"));
  }
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(agents[i].link.branch_id, "subtask_" + std::to_string(i + 1));
    EXPECT_TRUE(agents[i].link.is_subtask);
    EXPECT_EQ(agents[i].link.parent_task_request_id, task.request_id);
    EXPECT_EQ(agents[i].link.parent_request_id, task.request_id);
    EXPECT_EQ(agents[i].link.conversation_id, task.link.conversation_id);
    EXPECT_TRUE(agents[i].link.parent_message_hash.empty());
  }

  // The main agent continues: never flagged as a sub-task (the original's quirk), and its response
  // starts two more agents, numbered after the first block without gaps.
  const std::string follow =
      "[" + UserMessage("do three things") +
      R"(,{"role":"assistant","content":[{"type":"tool_use","id":"toolu_0","name":"Task","input":{}}]},)" +
      R"({"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_0","content":"done"}]}])";
  const Record main2 = Process(index, kT0 + 90 * kSecond, Body(follow),
                               TaskResponse({"Second wave A", "Second wave B"}));
  EXPECT_EQ(main2.link.parent_request_id, task.request_id);
  EXPECT_EQ(main2.link.branch_id, "main");
  EXPECT_FALSE(main2.link.is_subtask);
  EXPECT_TRUE(main2.link.parent_task_request_id.empty());
  const Record b =
      Process(index, kT0 + 95 * kSecond, Body("[" + UserMessage("Second wave B") + "]"));
  const Record a =
      Process(index, kT0 + 95 * kSecond, Body("[" + UserMessage("Second wave A") + "]"));
  EXPECT_EQ(a.link.branch_id, "subtask_4");
  EXPECT_EQ(b.link.branch_id, "subtask_5");
  EXPECT_EQ(b.link.parent_task_request_id, main2.request_id);

  // A sub-agent's follow-up stays on its branch and is a sub-agent request too.
  const Record agent_follow = Process(index, kT0 + 100 * kSecond,
                                      Body(Conversation3(prompts[0], "Looking.", "tool output")));
  EXPECT_EQ(agent_follow.link.parent_request_id, agents[0].request_id);
  EXPECT_EQ(agent_follow.link.branch_id, "subtask_1");
  EXPECT_TRUE(agent_follow.link.is_subtask);
  EXPECT_EQ(agent_follow.link.parent_task_request_id, task.request_id);

  // Rebuilt from the stored records (start-up fill), the numbering continues where it was.
  ConversationIndex rebuilt;
  std::vector<Record> stored = {task, agents[0], agents[1], agents[2], main2, a, b, agent_follow};
  std::stable_sort(stored.begin(), stored.end(), [](const Record& x, const Record& y) {
    return x.timestamp_unix_micros < y.timestamp_unix_micros;
  });
  for (const Record& r : stored) rebuilt.Add(r);
  const Record task3 =
      Process(rebuilt, kT0 + 200 * kSecond, Body(Conversation3("do three things", "", "x")),
              TaskResponse({"Third wave"}));
  const Record c =
      Process(rebuilt, kT0 + 210 * kSecond, Body("[" + UserMessage("Third wave") + "]"));
  EXPECT_EQ(c.link.conversation_id, task3.link.conversation_id);
  EXPECT_EQ(c.link.branch_id, "subtask_6");
}

TEST(Subtasks, SamePromptTwiceGetsDistinctNumbers) {
  ConversationIndex index;
  const Record task =
      Process(index, kT0, Body("[" + UserMessage("twice") + "]"), TaskResponse({"Same", "Same"}));
  const Record first = Process(index, kT0 + kSecond, Body("[" + UserMessage("Same") + "]"));
  const Record second = Process(index, kT0 + kSecond, Body("[" + UserMessage("Same") + "]"));
  EXPECT_EQ(first.link.branch_id, "subtask_1");
  EXPECT_EQ(second.link.branch_id, "subtask_2");
  EXPECT_EQ(second.link.parent_task_request_id, task.request_id);
}

TEST(Subtasks, TaskCallsOlderThanADayAreIgnored) {
  ConversationIndex index;
  Process(index, kT0, Body("[" + UserMessage("go") + "]"), TaskResponse({"Late agent"}));
  const Record late =
      Process(index, kT0 + kMicrosPerDay + kSecond, Body("[" + UserMessage("Late agent") + "]"));
  EXPECT_FALSE(late.link.is_subtask);
  EXPECT_EQ(late.link.branch_id, "main");
}

constexpr const char* kCompactText =
    "This session is being continued from a previous conversation that ran out of context. The "
    "conversation is "
    "summarized below:\nAnalysis:\nThe user asked for X.\n\nSummary:\n1. Primary Request: "
    "X\n.\nPlease continue the "
    "conversation from where we left it off without asking the user any further questions.";

TEST(Compact, SummaryExtractionAndCleaning) {
  const auto summary = ExtractCompactSummary(ParseJson(UserMessage(kCompactText)));
  ASSERT_TRUE(summary.has_value());
  EXPECT_EQ(*summary, "Analysis:\nThe user asked for X.\n\nSummary:\n1. Primary Request: X");
  EXPECT_EQ(CleanCompactSummary(*summary),
            "<analysis>\nthe user asked for x.\n</analysis>\n\n<summary>\n1. primary request: x");
  // Text blocks work too; reminders or unrelated text do not.
  const auto in_block = ExtractCompactSummary(json::object{
      {"role", "user"},
      {"content", json::array{json::object{{"type", "text"}, {"text", "hi"}},
                              json::object{{"type", "text"}, {"text", kCompactText}}}}});
  EXPECT_EQ(in_block, summary);
  EXPECT_FALSE(
      ExtractCompactSummary(ParseJson(UserMessage("The conversation is summarized below: x")))
          .has_value());
}

TEST(Compact, ContinuationJoinsTheSummarisedConversation) {
  ConversationIndex index;
  const std::string response = json::serialize(json::object{
      {"content",
       json::array{json::object{{"type", "text"},
                                {"text",
                                 "<analysis>\nThe user asked for X.\n</analysis>\n\n<summary>\n1. "
                                 "Primary Request: X\n</summary>"}}}}});
  const Record summarise =
      Process(index, kT0 - 60 * kSecond,
              Body(Conversation3("a", "b", "summarise please"),
                   R"("You are a helpful AI assistant tasked with summarizing conversations.")"),
              response);
  const Record compact = Process(index, kT0, Body("[" + UserMessage(kCompactText) + "]"));
  EXPECT_EQ(compact.link.parent_request_id, summarise.request_id);
  EXPECT_EQ(compact.link.conversation_id, summarise.link.conversation_id);
  EXPECT_EQ(compact.link.branch_id, "compact_143649");
  EXPECT_EQ(compact.link.parent_message_hash, summarise.link.current_message_hash);

  // Follow-ups stay on the compact branch even when a sibling already exists.
  const std::string follow = Conversation3(kCompactText, "Continuing.", "next");
  const Record f1 = Process(index, kT0 + 10 * kSecond, Body(follow));
  const Record f2 =
      Process(index, kT0 + 20 * kSecond, Body(Conversation3(kCompactText, "Continuing.", "other")));
  EXPECT_EQ(f1.link.branch_id, "compact_143649");
  EXPECT_EQ(f2.link.branch_id, "compact_143649");
  EXPECT_EQ(f2.link.parent_request_id, compact.request_id);

  // Outside the 7-day window there is nothing to join.
  const LinkResult late =
      LinkOnly(index, kT0 + 8 * kMicrosPerDay, Body("[" + UserMessage(kCompactText) + "]"));
  EXPECT_EQ(late.kind, LinkKind::kNewConversation);
}

// Not an assertion of speed: prints the cost of hashing a long conversation for the docs.
TEST(Timing, HashTwoHundredMessageConversation) {
  const json::value f = LoadFixture("conversation-linking/09-general-linking.json");
  const json::array& source = f.at("child").at("body").at("messages").as_array();
  json::array messages;
  for (int copy = 0; messages.size() < 200; ++copy) {
    for (const json::value& m : source) {
      if (messages.size() == 200) break;
      json::value c = m;
      if (json::array* items = c.as_object()["content"].if_array()) {
        for (json::value& item :
             *items) {  // keep tool ids unique so de-duplication keeps everything
          json::object& o = item.as_object();
          for (const char* key : {"id", "tool_use_id"}) {
            if (json::value* id = o.if_contains(key))
              *id = std::string(id->as_string()) + "_" + std::to_string(copy);
          }
        }
      }
      messages.push_back(std::move(c));
    }
  }
  std::vector<double> micros;
  std::string last;
  for (int run = 0; run < 200; ++run) {
    const auto start = std::chrono::steady_clock::now();
    auto h = ComputeMessageHashes(messages);
    const auto end = std::chrono::steady_clock::now();
    ASSERT_TRUE(h.ok());
    ASSERT_EQ(h->deduplicated_count, 200u);
    if (!last.empty()) {
      ASSERT_EQ(h->current, last);
    }
    last = h->current;
    micros.push_back(std::chrono::duration<double, std::micro>(end - start).count());
  }
  std::sort(micros.begin(), micros.end());
  std::cout << "[timing] ComputeMessageHashes, 200 messages (" << json::serialize(messages).size()
            << " bytes JSON): median " << micros[100] << " us, p99 " << micros[197]
            << " us over 200 runs\n";
}

}  // namespace
}  // namespace cn::conversation
