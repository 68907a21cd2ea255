#include "conversation/index.h"

#include <gtest/gtest.h>

namespace cn::conversation {
namespace {

constexpr std::int64_t kT0 = 1'751'207'809'000'000;

IndexEntry Entry(std::string id, std::int64_t at, std::string hash = "h", std::string parent = "") {
  IndexEntry e;
  e.request_id = std::move(id);
  e.domain = "d";
  e.timestamp_unix_micros = at;
  e.current_message_hash = std::move(hash);
  e.parent_message_hash = std::move(parent);
  e.conversation_id = "c";
  e.branch_id = "main";
  return e;
}

TEST(ConversationIndex, EvictsOldestBeyondMaxEntries) {
  IndexOptions o;
  o.max_entries = 3;
  ConversationIndex index(o);
  for (int i = 0; i < 5; ++i) index.Add(Entry("r" + std::to_string(i), kT0 + i));
  EXPECT_EQ(index.size(), 3u);
  EXPECT_EQ(index.Find("r0"), nullptr);
  EXPECT_EQ(index.Find("r1"), nullptr);
  EXPECT_NE(index.Find("r4"), nullptr);
  // Evicted entries are gone from the hash lookups too.
  const IndexEntry* newest = index.FindNewestByCurrentHash("d", "h", nullptr, "", kT0 + 3);
  ASSERT_NE(newest, nullptr);
  EXPECT_EQ(newest->request_id, "r2");
}

TEST(ConversationIndex, EvictsByAgeRelativeToNewestEntry) {
  IndexOptions o;
  o.max_age_micros = kMicrosPerDay;
  ConversationIndex index(o);
  index.Add(Entry("old", kT0));
  index.Add(Entry("mid", kT0 + kMicrosPerDay / 2));
  EXPECT_EQ(index.size(), 2u);
  index.Add(Entry("new", kT0 + 2 * kMicrosPerDay));
  EXPECT_EQ(index.Find("old"), nullptr);
  EXPECT_EQ(index.Find("mid"), nullptr);
  EXPECT_EQ(index.size(), 1u);
}

TEST(ConversationIndex, EvictsToStayWithinPayloadBytes) {
  IndexOptions o;
  o.max_payload_bytes = 4096;
  o.max_response_text_bytes = 1000;
  ConversationIndex index(o);
  for (int i = 0; i < 20; ++i) {
    IndexEntry e = Entry("r" + std::to_string(i), kT0 + i);
    e.response_text_lower = std::string(5000, 'x');  // cut to 1000
    index.Add(std::move(e));
    EXPECT_LE(index.payload_bytes(), o.max_payload_bytes);
  }
  EXPECT_LT(index.size(), 5u);
  EXPECT_NE(index.Find("r19"), nullptr);
  EXPECT_EQ(index.Find("r19")->response_text_lower->size(), 1000u);
  EXPECT_TRUE(index.Find("r19")->response_text_truncated);
}

TEST(ConversationIndex, AddReplacesSameRequestId) {
  ConversationIndex index;
  index.Add(Entry("r", kT0, "h1"));
  index.Add(Entry("r", kT0, "h2"));
  EXPECT_EQ(index.size(), 1u);
  EXPECT_EQ(index.FindNewestByCurrentHash("d", "h1", nullptr, "", kT0 + 1), nullptr);
  EXPECT_NE(index.FindNewestByCurrentHash("d", "h2", nullptr, "", kT0 + 1), nullptr);
}

TEST(ConversationIndex, HasChildRespectsExclusionTimeAndConversation) {
  ConversationIndex index;
  index.Add(Entry("child", kT0 + 10, "hc", "hp"));
  EXPECT_TRUE(index.HasChild("d", "hp", "c", "self", kT0 + 11));
  EXPECT_TRUE(index.HasChild("d", "hp", "", "self", kT0 + 11));
  EXPECT_FALSE(index.HasChild("d", "hp", "other", "self", kT0 + 11));
  EXPECT_FALSE(index.HasChild("d", "hp", "c", "child", kT0 + 11));
  EXPECT_FALSE(index.HasChild("d", "hp", "c", "self", kT0 + 10));
  EXPECT_FALSE(index.HasChild("e", "hp", "c", "self", kT0 + 11));
}

TEST(ConversationIndex, CompactParentMatchesPrefixInWindowNewestFirst) {
  IndexOptions o;
  o.max_response_text_bytes = 8;
  ConversationIndex index(o);
  IndexEntry a = Entry("a", kT0);
  a.response_text_lower = "<analysis>abc";  // stored as "<analysi", truncated
  IndexEntry b = Entry("b", kT0 + 5);
  b.response_text_lower = "short";
  index.Add(a);
  index.Add(b);
  EXPECT_EQ(index.FindCompactParent("d", "sho", kT0, kT0 + 6)->request_id, "b");
  EXPECT_EQ(index.FindCompactParent("d", "sho", kT0, kT0 + 5), nullptr);  // before is exclusive
  EXPECT_EQ(index.FindCompactParent("d", "<analysis>abc and more", kT0, kT0 + 6)->request_id, "a");
  EXPECT_EQ(index.FindCompactParent("d", "<analysis>abc", kT0 + 1, kT0 + 6),
            nullptr);  // from is inclusive
  EXPECT_EQ(index.FindCompactParent("d", "shorter", kT0, kT0 + 6), nullptr);
}

TEST(ConversationIndex, TaskMatchUsesBackslashNContainmentAndExactPrompt) {
  ConversationIndex index;
  IndexEntry t = Entry("task", kT0);
  t.task_invocations = {{"t1", "first", ""}, {"t2", "line1\nline2", ""}};
  index.Add(t);
  auto m = index.MatchTaskInvocation("d", "line1\nline2", kT0 + 1);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->invocation_index, 2);
  EXPECT_EQ(m->task_request->request_id, "task");
  // A prompt with a literal backslash-n finds the row, but no call equals it exactly.
  EXPECT_FALSE(index.MatchTaskInvocation("d", "line1\\nline2", kT0 + 1).has_value());
  EXPECT_FALSE(index.MatchTaskInvocation("d", "first", kT0 - 1).has_value());
  EXPECT_TRUE(index.MatchTaskInvocation("d", "first", kT0 + kMicrosPerDay).has_value());
  EXPECT_FALSE(index.MatchTaskInvocation("d", "first", kT0 + kMicrosPerDay + 1).has_value());
}

TEST(ConversationIndex, SubtaskBlocksAreReservedPerTaskRequest) {
  ConversationIndex index;
  IndexEntry t1 = Entry("t1", kT0);
  t1.task_invocations = {{"a", "A", ""}, {"b", "B", ""}, {"c", "C", ""}};
  IndexEntry t2 = Entry("t2", kT0 + 1);
  t2.task_invocations = {{"d", "D", ""}};
  index.Add(t1);
  index.Add(t2);
  EXPECT_EQ(index.AssignSubtaskNumber(*index.Find("t1"), 2), 2);
  EXPECT_EQ(index.AssignSubtaskNumber(*index.Find("t2"), 1), 4);
  EXPECT_EQ(index.AssignSubtaskNumber(*index.Find("t1"), 3), 3);
  EXPECT_EQ(index.AssignSubtaskNumber(*index.Find("t1"), 1), 1);
}

}  // namespace
}  // namespace cn::conversation
