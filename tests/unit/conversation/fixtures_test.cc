// The original proxy's recorded traffic (tests/fixtures): every parent hash must be reproduced
// and every child must link the way the fixture expects.
#include <gtest/gtest.h>

#include <regex>

#include "common/time.h"
#include "conversation/detection.h"
#include "conversation/hashing.h"
#include "conversation/linker.h"
#include "test_util.h"

namespace cn::conversation {
namespace {

namespace json = boost::json;
using testing::LoadFixture;
using testing::Str;

constexpr std::int64_t kParentAt = 1'751'205'409'000'000;  // 2025-06-29T13:56:49Z
constexpr std::int64_t kChildAt = kParentAt + 10 * kMicrosPerSecond;

struct FixtureCase {
  const char* file;
  bool system_hash_matches;  // 01-05 were recorded with an older system-hash algorithm
};

const FixtureCase kLinkingFixtures[] = {
    {"conversation-linking/01-simple-start.json", false},
    {"conversation-linking/02-branching.json", false},
    {"conversation-linking/03-re-branching.json", false},
    {"conversation-linking/04-compact.json", false},
    {"conversation-linking/05-compact-follow-up.json", false},
    {"conversation-linking/07-duplicated-tools.json", true},
    {"conversation-linking/09-general-linking.json", true},
    {"subtask-linking/04-second-subtask.json", true},
    {"subtask-linking/05-subtask-follow.json", true},
};

IndexEntry ParentEntry(const json::value& parent, std::int64_t at) {
  IndexEntry e;
  e.request_id = Str(parent, "request_id");
  e.domain = Str(parent, "domain");
  e.timestamp_unix_micros = at;
  e.current_message_hash = Str(parent, "current_message_hash");
  e.parent_message_hash = Str(parent, "parent_message_hash");
  e.system_hash = Str(parent, "system_hash");
  e.conversation_id = Str(parent, "conversation_id");
  e.branch_id = Str(parent, "branch_id");
  if (const json::value* response = parent.as_object().if_contains("response_body")) {
    if (auto text = FirstResponseText(*response)) e.response_text_lower = LowerForMatch(*text);
    e.task_invocations = ExtractTaskInvocations(*response);
  }
  return e;
}

LinkResult LinkBody(const json::value& body, std::string_view request_id, std::string_view domain,
                    std::int64_t at, ConversationIndex& index) {
  LinkInput in;
  in.request_id = request_id;
  in.domain = domain;
  in.timestamp_unix_micros = at;
  in.messages = &body.at("messages").as_array();
  in.system = body.as_object().if_contains("system");
  return Link(in, index);
}

TEST(Fixtures, ParentCurrentMessageHashIsReproduced) {
  for (const FixtureCase& c : kLinkingFixtures) {
    SCOPED_TRACE(c.file);
    const json::value f = LoadFixture(c.file);
    const json::value& parent = f.at("parent");
    auto hashes = ComputeMessageHashes(parent.at("body").at("messages").as_array());
    ASSERT_TRUE(hashes.ok()) << hashes.status().ToString();
    EXPECT_EQ(hashes->current, Str(parent, "current_message_hash"));
  }
}

TEST(Fixtures, ParentSystemHashMatchesWhereTheSpecSaysSo) {
  for (const FixtureCase& c : kLinkingFixtures) {
    if (!c.system_hash_matches) continue;
    SCOPED_TRACE(c.file);
    const json::value f = LoadFixture(c.file);
    const json::value& parent = f.at("parent");
    EXPECT_EQ(SystemHash(parent.at("body").as_object().if_contains("system")),
              std::optional<std::string>(Str(parent, "system_hash")));
  }
}

TEST(Fixtures, ProxyLinkingFixtureHasHandMadeHashesButLinksAsSubtask) {
  const json::value f = LoadFixture("conversation-linking/11-proxy-linking.json");
  const json::value& parent = f.at("parent");
  const json::value& child = f.at("child");
  ConversationIndex index;
  index.Add(ParentEntry(parent, kParentAt));
  const LinkResult r =
      LinkBody(child.at("body"), Str(child, "request_id"), Str(child, "domain"), kChildAt, index);
  EXPECT_EQ(r.kind, LinkKind::kSubtask);
  EXPECT_TRUE(r.is_subtask);
  EXPECT_EQ(r.parent_task_request_id, Str(f, "expectedParentTaskRequestId"));
  EXPECT_EQ(r.parent_request_id, Str(parent, "request_id"));
  EXPECT_EQ(r.conversation_id, std::optional<std::string>(Str(parent, "conversation_id")));
  EXPECT_TRUE(std::regex_match(r.branch_id, std::regex(Str(f, "expectedBranchPattern"))))
      << r.branch_id;
  EXPECT_EQ(r.branch_id, "subtask_1");
  EXPECT_FALSE(r.parent_message_hash.has_value());
}

TEST(Fixtures, ChildLinksAsExpected) {
  for (const FixtureCase& c : kLinkingFixtures) {
    SCOPED_TRACE(c.file);
    const json::value f = LoadFixture(c.file);
    const json::value& parent = f.at("parent");
    const json::value& child = f.at("child");
    const json::object& expect = f.as_object();
    ConversationIndex index;
    index.Add(ParentEntry(parent, kParentAt));
    const LinkResult r =
        LinkBody(child.at("body"), Str(child, "request_id"), Str(child, "domain"), kChildAt, index);
    EXPECT_NE(r.kind, LinkKind::kError);
    if (const json::value* link = expect.if_contains("expectedLink");
        link != nullptr && link->as_bool()) {
      EXPECT_EQ(r.parent_request_id, Str(parent, "request_id"));
      EXPECT_EQ(r.conversation_id, std::optional<std::string>(Str(parent, "conversation_id")));
    }
    if (expect.contains("expectedBranchPattern")) {
      EXPECT_TRUE(std::regex_match(r.branch_id, std::regex(Str(f, "expectedBranchPattern"))))
          << r.branch_id;
    }
    if (expect.contains("expectedBranchId")) {
      EXPECT_EQ(r.branch_id, Str(f, "expectedBranchId"));
    }
    if (expect.contains("expectedParentTaskRequestId")) {
      EXPECT_EQ(r.parent_task_request_id, Str(f, "expectedParentTaskRequestId"));
    }
    if (const json::value* sub = expect.if_contains("expectedIsSubtask")) {
      EXPECT_EQ(r.is_subtask, sub->as_bool());
    }
    // Only a compact continuation links a single-message child, and it carries the parent's hash.
    if (r.kind == LinkKind::kCompact) {
      EXPECT_EQ(r.parent_message_hash,
                std::optional<std::string>(Str(parent, "current_message_hash")));
      EXPECT_EQ(r.branch_id, CompactBranchId(kChildAt));
    } else if (r.kind == LinkKind::kParent) {
      EXPECT_EQ(r.parent_message_hash,
                std::optional<std::string>(Str(parent, "current_message_hash")));
    }
  }
}

TEST(Fixtures, CompactSummaryExtraction) {
  const json::value f = LoadFixture("conversation-linking/04-compact.json");
  const json::value& message = f.at("child").at("body").at("messages").as_array()[0];
  const auto summary = ExtractCompactSummary(message);
  ASSERT_TRUE(summary.has_value());
  // The fixture's field was captured over all the message's blocks; compact detection reads the one
  // block that carries the marker, so ours is its leading part (up to the trailing "..").
  const std::string expected = Str(f, "expectedSummaryContent");
  EXPECT_GT(summary->size(), 3000u);
  EXPECT_TRUE(expected.starts_with(*summary + "..\n"));
  // The cleaned key is a prefix of the summarisation response's lowered text.
  const auto response_text = FirstResponseText(f.at("parent").at("response_body"));
  ASSERT_TRUE(response_text.has_value());
  EXPECT_TRUE(LowerForMatch(*response_text).starts_with(CleanCompactSummary(*summary)));
}

TEST(Fixtures, SubtaskInvocationFixtures) {
  for (const char* file :
       {"subtask-linking/01-subtask-matched.json", "subtask-linking/02-subtask-no-match.json"}) {
    SCOPED_TRACE(file);
    const json::value f = LoadFixture(file);
    const json::value& parent = f.at("parent");
    const json::value& child = f.at("child");
    std::int64_t parent_at = 0;
    std::int64_t child_at = 0;
    ASSERT_TRUE(ParseIso8601(Str(parent, "timestamp"), &parent_at));
    ASSERT_TRUE(ParseIso8601(Str(child, "timestamp"), &child_at));
    IndexEntry e;
    e.request_id = Str(parent, "request_id");
    e.domain = Str(child, "domain");  // the synthetic parent has none; same domain by construction
    e.timestamp_unix_micros = parent_at;
    e.conversation_id = "11111111-2222-4333-8444-555555555555";
    e.branch_id = "main";
    e.current_message_hash = "parent-hash";
    for (const json::value& inv : parent.at("task_invocations").as_array()) {
      e.task_invocations.push_back({Str(inv, "tool_use_id"), Str(inv, "prompt"), ""});
    }
    ConversationIndex index;
    index.Add(e);
    const LinkResult r =
        LinkBody(child.at("body"), Str(child, "request_id"), Str(child, "domain"), child_at, index);
    const bool expected = f.at("expectedIsSubtask").as_bool();
    EXPECT_EQ(r.is_subtask, expected);
    if (expected) {
      EXPECT_EQ(r.parent_task_request_id, Str(f, "expectedParentTaskRequestId"));
      EXPECT_EQ(r.branch_id, "subtask_1");
      EXPECT_EQ(r.conversation_id, std::optional<std::string>(e.conversation_id));
    } else {
      EXPECT_EQ(r.kind, LinkKind::kNewConversation);
      EXPECT_EQ(r.branch_id, "main");
    }
  }
}

}  // namespace
}  // namespace cn::conversation
