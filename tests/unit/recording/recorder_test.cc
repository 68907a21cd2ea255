// recording::Recorder (the pipeline's enrich step with conversation linking), its start-up fill
// from a real SQLite store, RebuildConversations, and SqliteStore's LoadForLinking/UpdateLinks
// paging.

#include "recording/recorder.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <filesystem>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "anthropic/enrich.h"
#include "common/ids.h"
#include "recording/record_json.h"
#include "storage/sqlite/sqlite_store.h"

namespace cn::recording {
namespace {

namespace json = boost::json;
using conversation::LinkKind;

constexpr std::int64_t kT0 = 1'751'207'809'000'000;  // 2025-06-29T14:36:49Z
constexpr std::int64_t kSecond = 1'000'000;
constexpr std::string_view kDomain = "localhost:3000";

// Two system prompts: ClassifyRequest calls that "inference".
json::value MainSystem() {
  return json::parse(
      R"([{"type":"text","text":"You are Claude Code, Anthropic's official CLI for Claude."},
                         {"type":"text","text":"Project prompt."}])");
}

json::object Msg(std::string_view role, std::string_view text) {
  return {{"role", role}, {"content", text}};
}

// A user/assistant alternation of n messages ending with a user turn when n is odd.
json::array Conversation(int n, std::string_view tag = "") {
  json::array a;
  for (int i = 0; i < n; ++i) {
    a.push_back(
        Msg(i % 2 == 0 ? "user" : "assistant", std::string(tag) + "turn " + std::to_string(i)));
  }
  return a;
}

std::string Body(json::array messages, json::value system = MainSystem()) {
  return json::serialize(json::object{{"model", "claude-opus-4-20250514"},
                                      {"max_tokens", 1024},
                                      {"system", std::move(system)},
                                      {"messages", std::move(messages)}});
}

std::string TextResponse(std::string_view text) {
  return json::serialize(
      json::object{{"type", "message"},
                   {"role", "assistant"},
                   {"content", json::array{json::object{{"type", "text"}, {"text", text}}}},
                   {"usage", json::object{{"input_tokens", 10}, {"output_tokens", 2}}}});
}

std::string TaskResponse(const std::vector<std::string>& prompts) {
  json::array content{json::object{{"type", "text"}, {"text", "Starting agents."}}};
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    content.push_back(
        json::object{{"type", "tool_use"},
                     {"id", "toolu_" + std::to_string(i)},
                     {"name", "Task"},
                     {"input", json::object{{"description", "d"}, {"prompt", prompts[i]}}}});
  }
  return json::serialize(
      json::object{{"type", "message"}, {"role", "assistant"}, {"content", std::move(content)}});
}

// A raw record as the hot path submits it (not enriched).
Record Exchange(std::int64_t at, std::string body, std::string response, int status = 200,
                Outcome outcome = Outcome::kCompleted) {
  Record r;
  r.request_id = NewUuidV4();
  r.domain = std::string(kDomain);
  r.timestamp_unix_micros = at;
  r.method = "POST";
  r.path = "/v1/messages";
  r.request_body = std::move(body);
  r.response_status = status;
  r.response_body = std::move(response);
  r.outcome = outcome;
  return r;
}

Record Enriched(Recorder& rec, Record r) {
  rec.Enrich(r);
  return r;
}

// ---- Live linking
// ---------------------------------------------------------------------------------

// Enrich parses the request body once for enrichment and linking; the result is what the two
// steps give separately (EnrichRecord, then Relink, each parsing the body).
TEST(RecorderTest, EnrichEqualsEnrichRecordPriceRecordThenRelink) {
  Recorder one_parse;
  Recorder two_parses;
  const std::vector<Record> exchanges = {
      Exchange(kT0, Body(Conversation(1)), TextResponse("turn 1")),
      Exchange(kT0 + kSecond, Body(Conversation(3)), TextResponse("turn 3")),
      Exchange(kT0 + 2 * kSecond, Body(Conversation(3)), TextResponse("again"), 529,
               Outcome::kCompleted),
      Exchange(kT0 + 3 * kSecond, Body(Conversation(1, "t"), json::value("one system")),
               TaskResponse({"go"})),
      Exchange(kT0 + 4 * kSecond, "not json", TextResponse("x")),
      Exchange(kT0 + 5 * kSecond, "", ""),
  };
  for (const Record& exchange : exchanges) {
    Record a = exchange;
    one_parse.Enrich(a);
    Record b = exchange;
    anthropic::EnrichRecord(b);
    anthropic::PriceRecord(b, anthropic::PriceTable::BuiltIn());  // the Recorder's default prices
    two_parses.Relink(b);
    SCOPED_TRACE(exchange.request_body.substr(0, 40));
    EXPECT_TRUE(a.enriched);
    // Each recorder gives its roots fresh UUIDs; everything else must match exactly.
    EXPECT_EQ(a.link.conversation_id.empty(), b.link.conversation_id.empty());
    b.link.conversation_id = a.link.conversation_id;
    EXPECT_EQ(recording::RecordToJson(a), recording::RecordToJson(b));
  }
  EXPECT_EQ(one_parse.Stats().links_by_kind, two_parses.Stats().links_by_kind);
  EXPECT_EQ(one_parse.Stats().index_entries, two_parses.Stats().index_entries);
}

TEST(RecorderTest, FollowUpLinksToItsParentBeforeAnythingIsStored) {
  Recorder rec;
  const Record parent = Enriched(rec, Exchange(kT0, Body(Conversation(1)), TextResponse("turn 1")));
  EXPECT_EQ(parent.request_type, "inference");
  EXPECT_TRUE(IsUuid(parent.link.conversation_id));
  EXPECT_EQ(parent.link.branch_id, "main");
  EXPECT_TRUE(parent.link.parent_request_id.empty());
  EXPECT_EQ(parent.link.current_message_hash.size(), 64u);

  const Record child =
      Enriched(rec, Exchange(kT0 + 5 * kSecond, Body(Conversation(3)), TextResponse("turn 3")));
  EXPECT_EQ(child.link.conversation_id, parent.link.conversation_id);
  EXPECT_EQ(child.link.parent_request_id, parent.request_id);
  EXPECT_EQ(child.link.parent_message_hash, parent.link.current_message_hash);
  EXPECT_EQ(child.link.branch_id, "main");
  EXPECT_FALSE(child.link.is_subtask);
  EXPECT_EQ(child.message_count, 3);
  EXPECT_EQ(rec.Stats().links_by_kind[static_cast<std::size_t>(LinkKind::kParent)], 1u);
  EXPECT_EQ(rec.Stats().index_entries, 2u);
}

TEST(RecorderTest, SecondChildOfTheSameParentOpensAUserBranch) {
  Recorder rec;
  const Record parent = Enriched(rec, Exchange(kT0, Body(Conversation(1)), TextResponse("a")));
  const Record first =
      Enriched(rec, Exchange(kT0 + kSecond, Body(Conversation(3)), TextResponse("b")));
  json::array edited = Conversation(2);
  edited.push_back(Msg("user", "an edited question"));
  const Record second = Enriched(rec, Exchange(kT0 + 2 * kSecond, Body(edited), TextResponse("c")));
  EXPECT_EQ(first.link.branch_id, "main");
  EXPECT_EQ(second.link.parent_request_id, parent.request_id);
  EXPECT_EQ(second.link.conversation_id, parent.link.conversation_id);
  EXPECT_EQ(second.link.branch_id, "branch_20250629143651");
}

TEST(RecorderTest, OnlyMessagesRequestsAreLinked) {
  Recorder rec;
  Record models = Exchange(kT0, "", R"({"data":[]})");
  models.method = "GET";
  models.path = "/v1/models";
  rec.Enrich(models);
  EXPECT_TRUE(models.link.conversation_id.empty());
  EXPECT_TRUE(models.link.current_message_hash.empty());

  Record count = Exchange(kT0, Body(Conversation(1)), R"({"input_tokens":3})");
  count.path = "/v1/messages/count_tokens";
  rec.Enrich(count);
  EXPECT_TRUE(count.link.conversation_id.empty());

  Record no_messages = Exchange(kT0, R"({"model":"x","messages":[]})", TextResponse("x"));
  rec.Enrich(no_messages);
  EXPECT_TRUE(no_messages.link.conversation_id.empty());

  Record not_json = Exchange(kT0, "{not json", TextResponse("x"));
  rec.Enrich(not_json);
  EXPECT_TRUE(not_json.link.conversation_id.empty());
  EXPECT_EQ(rec.index().size(), 0u);
}

TEST(RecorderTest, FailedAttemptsAreLinkedButNeverBecomeParents) {
  Recorder rec;
  const Record parent = Enriched(rec, Exchange(kT0, Body(Conversation(1)), TextResponse("a")));
  // Claude Code retries an overloaded request with the same body: the failed attempt is linked
  // (shown in its conversation) but must not make the retry look like a second child.
  const Record overloaded =
      Enriched(rec, Exchange(kT0 + kSecond, Body(Conversation(3)),
                             R"({"type":"error","error":{"type":"overloaded_error"}})", 529));
  const Record rejected = Enriched(
      rec, Exchange(kT0 + 2 * kSecond, Body(Conversation(3)), "", 401, Outcome::kRejected));
  const Record aborted = Enriched(
      rec, Exchange(kT0 + 3 * kSecond, Body(Conversation(3)), "", 200, Outcome::kClientAborted));
  const Record retry =
      Enriched(rec, Exchange(kT0 + 4 * kSecond, Body(Conversation(3)), TextResponse("b")));
  for (const Record* r : {&overloaded, &rejected, &aborted, &retry}) {
    EXPECT_EQ(r->link.conversation_id, parent.link.conversation_id);
    EXPECT_EQ(r->link.parent_request_id, parent.request_id);
  }
  EXPECT_EQ(retry.link.branch_id, "main");
  EXPECT_EQ(rec.index().size(), 2u);  // parent and the successful retry
  EXPECT_EQ(rec.index().Find(overloaded.request_id), nullptr);
}

TEST(RecorderTest, ParallelSubAgentsAreNumberedInTaskOrderWhateverOrderTheyFinish) {
  Recorder rec;
  const std::vector<std::string> prompts = {"Search the docs", "Read the tests", "Grep for TODO"};
  const Record task = Enriched(rec, Exchange(kT0, Body(Conversation(1)), TaskResponse(prompts)));
  ASSERT_FALSE(task.task_tool_invocation_json.empty());
  const json::value agent_system = json::parse(
      R"([{"type":"text","text":"You are Claude Code."},{"type":"text","text":"You are an agent."}])");
  // All three start in the same second; their records reach the writer in reverse order.
  std::map<std::string, Record> by_prompt;
  for (int i = 2; i >= 0; --i) {
    json::array messages{Msg("user", prompts[static_cast<std::size_t>(i)])};
    by_prompt[prompts[static_cast<std::size_t>(i)]] = Enriched(
        rec, Exchange(kT0 + kSecond + i, Body(messages, agent_system), TextResponse("done")));
  }
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    const Record& agent = by_prompt[prompts[i]];
    EXPECT_EQ(agent.link.branch_id, "subtask_" + std::to_string(i + 1)) << prompts[i];
    EXPECT_TRUE(agent.link.is_subtask);
    EXPECT_EQ(agent.link.parent_task_request_id, task.request_id);
    EXPECT_EQ(agent.link.parent_request_id, task.request_id);
    EXPECT_EQ(agent.link.conversation_id, task.link.conversation_id);
  }
  // The main conversation continues on main and is not a sub-agent.
  const Record next =
      Enriched(rec, Exchange(kT0 + 60 * kSecond, Body(Conversation(3)), TextResponse("x")));
  EXPECT_EQ(next.link.parent_request_id, task.request_id);
  EXPECT_EQ(next.link.branch_id, "main");
  EXPECT_FALSE(next.link.is_subtask);
  EXPECT_EQ(rec.Stats().links_by_kind[static_cast<std::size_t>(LinkKind::kSubtask)], 3u);
}

TEST(RecorderTest, MetricsCountLinksByKind) {
  Recorder rec;
  Enriched(rec, Exchange(kT0, Body(Conversation(1)), TextResponse("a")));
  Enriched(rec, Exchange(kT0 + kSecond, Body(Conversation(3)), TextResponse("b")));
  std::map<std::string, double> samples;
  for (const auto& m : rec.CollectMetrics()) {
    for (const auto& [labels, value] : m.samples) samples[m.name + "{" + labels + "}"] = value;
  }
  EXPECT_EQ(samples["cn_conversation_links_total{kind=\"new_conversation\"}"], 1);
  EXPECT_EQ(samples["cn_conversation_links_total{kind=\"parent\"}"], 1);
  EXPECT_EQ(samples["cn_conversation_index_entries{}"], 2);
}

// ---- With a real store
// ----------------------------------------------------------------------------

class RecorderStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("cn-recorder-" + NewUuidV4());
    auto opened = storage::SqliteStore::Open({(dir_ / "claude-nexus.db").string()});
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    store_ = std::move(opened).value();
    ASSERT_TRUE(store_->Migrate().ok());
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  // Enriches with `rec` (as the pipeline would) and stores.
  Record Stored(Recorder& rec, Record r) {
    rec.Enrich(r);
    r.enriched = true;
    EXPECT_TRUE(store_->WriteBatch(std::span<const Record>(&r, 1)).ok());
    return r;
  }
  Record Get(const std::string& id) {
    auto r = store_->GetRecord(id);
    EXPECT_TRUE(r.ok() && r->has_value()) << id;
    return r.ok() && r->has_value() ? **r : Record{};
  }

  std::filesystem::path dir_;
  std::unique_ptr<storage::SqliteStore> store_;
};

TEST_F(RecorderStoreTest, LoadForLinkingPagesInBothDirectionsThroughEqualTimestamps) {
  Recorder rec;
  std::vector<std::string> ids;  // in (timestamp, request_id) order
  std::vector<Record> batch;
  for (int i = 0; i < 7; ++i) {
    Record r = Exchange(kT0 + (i / 2) * kSecond, Body(Conversation(1, std::to_string(i))),
                        TextResponse("a"));
    rec.Enrich(r);
    r.enriched = true;
    batch.push_back(r);
  }
  ASSERT_TRUE(store_->WriteBatch(batch).ok());
  std::sort(batch.begin(), batch.end(), [](const Record& a, const Record& b) {
    return std::tie(a.timestamp_unix_micros, a.request_id) <
           std::tie(b.timestamp_unix_micros, b.request_id);
  });
  for (const Record& r : batch) ids.push_back(r.request_id);

  for (bool newest_first : {false, true}) {
    LinkingScan scan;
    scan.limit = 2;
    scan.newest_first = newest_first;
    std::vector<std::string> got;
    for (;;) {
      auto page = store_->LoadForLinking(scan);
      ASSERT_TRUE(page.ok()) << page.status().message();
      for (const Record& r : *page) got.push_back(r.request_id);
      if (page->size() < scan.limit) break;
      scan.after.emplace(page->back().timestamp_unix_micros, page->back().request_id);
    }
    std::vector<std::string> want = ids;
    if (newest_first) std::reverse(want.begin(), want.end());
    EXPECT_EQ(got, want) << "newest_first=" << newest_first;
  }

  // Bounds, and the fields a page carries.
  LinkingScan window;
  window.since_unix_micros = kT0 + kSecond;
  window.until_unix_micros = kT0 + 3 * kSecond;
  auto page = store_->LoadForLinking(window);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 4u);
  const Record& r = page->front();
  EXPECT_EQ(r.timestamp_unix_micros, kT0 + kSecond);
  EXPECT_EQ(r.domain, kDomain);
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path, "/v1/messages");
  EXPECT_EQ(r.request_type, "inference");
  EXPECT_EQ(r.response_status, 200);
  EXPECT_EQ(r.message_count, 1);
  EXPECT_FALSE(r.response_json.empty());
  EXPECT_EQ(r.link.current_message_hash.size(), 64u);
  EXPECT_TRUE(IsUuid(r.link.conversation_id));
  EXPECT_EQ(r.link.branch_id, "main");
  EXPECT_TRUE(r.request_body.empty()) << "bodies only on request";
  window.all_request_bodies = true;
  window.domain = "other.example";
  auto none = store_->LoadForLinking(window);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  window.domain = std::string(kDomain);
  auto with_bodies = store_->LoadForLinking(window);
  ASSERT_TRUE(with_bodies.ok());
  EXPECT_FALSE(with_bodies->front().request_body.empty());
}

TEST_F(RecorderStoreTest, UpdateLinksRewritesOnlyTheLinkColumns) {
  Recorder rec;
  const Record r = Stored(rec, Exchange(kT0, Body(Conversation(1)), TextResponse("a")));
  Record u;
  u.request_id = r.request_id;
  u.link.conversation_id = "c-1";
  u.link.branch_id = "subtask_4";
  u.link.is_subtask = true;
  u.link.parent_task_request_id = "t-1";
  Record missing;
  missing.request_id = "not-stored";
  ASSERT_TRUE(store_->UpdateLinks(std::vector<Record>{u, missing}).ok());
  const Record got = Get(r.request_id);
  EXPECT_EQ(got.link.conversation_id, "c-1");
  EXPECT_EQ(got.link.branch_id, "subtask_4");
  EXPECT_TRUE(got.link.is_subtask);
  EXPECT_EQ(got.link.parent_task_request_id, "t-1");
  EXPECT_TRUE(got.link.current_message_hash.empty());
  EXPECT_EQ(got.request_body, r.request_body);
  EXPECT_EQ(got.response_json, r.response_json);
  EXPECT_EQ(got.model, r.model);
}

TEST_F(RecorderStoreTest, WarmedIndexLinksFollowUpsOfRequestsFromBeforeARestart) {
  std::string task_id, conversation_id;
  const std::vector<std::string> prompts = {"Agent one", "Agent two", "Agent three"};
  const json::value agent_system = json::parse(
      R"([{"type":"text","text":"You are Claude Code."},{"type":"text","text":"You are an agent."}])");
  {
    Recorder before_restart;
    const Record parent =
        Stored(before_restart, Exchange(kT0, Body(Conversation(1)), TaskResponse(prompts)));
    task_id = parent.request_id;
    conversation_id = parent.link.conversation_id;
    // Sub-agent two ran before the restart.
    Stored(before_restart,
           Exchange(kT0 + kSecond, Body(json::array{Msg("user", prompts[1])}, agent_system),
                    TextResponse("ok")));
    // A failed request is stored but must not come back as a parent candidate.
    Stored(before_restart, Exchange(kT0 + 2 * kSecond, Body(Conversation(3, "x")), "", 500,
                                    Outcome::kUpstreamFailed));
  }
  Recorder rec;
  auto warmed = rec.Warm(*store_, kT0 + 10 * kSecond);
  ASSERT_TRUE(warmed.ok()) << warmed.status().message();
  EXPECT_EQ(*warmed, 2u);
  EXPECT_EQ(rec.Stats().warmed, 2u);

  const Record child =
      Enriched(rec, Exchange(kT0 + 20 * kSecond, Body(Conversation(3)), TextResponse("b")));
  EXPECT_EQ(child.link.parent_request_id, task_id);
  EXPECT_EQ(child.link.conversation_id, conversation_id);
  // Sub-task numbering survives the restart: agents one and three get the numbers of their Task
  // calls, not the next free ones.
  const Record three = Enriched(
      rec, Exchange(kT0 + 21 * kSecond, Body(json::array{Msg("user", prompts[2])}, agent_system),
                    TextResponse("ok")));
  const Record one = Enriched(
      rec, Exchange(kT0 + 22 * kSecond, Body(json::array{Msg("user", prompts[0])}, agent_system),
                    TextResponse("ok")));
  EXPECT_EQ(one.link.branch_id, "subtask_1");
  EXPECT_EQ(three.link.branch_id, "subtask_3");
}

TEST_F(RecorderStoreTest, WarmKeepsTheNewestWithinTheBounds) {
  {
    Recorder writer;
    for (int i = 0; i < 5; ++i) {
      Stored(writer, Exchange(kT0 + i * kSecond, Body(Conversation(1, std::to_string(i))),
                              TextResponse("a")));
    }
    // Older than the age bound relative to `until`.
    Stored(writer, Exchange(kT0 - 40LL * 86'400 * kSecond, Body(Conversation(1, "old")),
                            TextResponse("a")));
  }
  conversation::IndexOptions small;
  small.max_entries = 3;
  Recorder rec(small);
  auto warmed = rec.Warm(*store_, kT0 + 10 * kSecond);
  ASSERT_TRUE(warmed.ok());
  EXPECT_EQ(*warmed, 3u);
  EXPECT_EQ(rec.index().size(), 3u);
  Recorder all;
  auto warmed_all = all.Warm(*store_, kT0 + 10 * kSecond);
  ASSERT_TRUE(warmed_all.ok());
  EXPECT_EQ(*warmed_all, 5u);  // the 40-day-old one is outside max_age
}

TEST_F(RecorderStoreTest, RebuildRestoresLinksAndIsIdempotent) {
  Recorder live;
  const std::vector<std::string> prompts = {"First agent", "Second agent"};
  const json::value agent_system = json::parse(
      R"([{"type":"text","text":"You are Claude Code."},{"type":"text","text":"You are an agent."}])");
  std::vector<Record> stored;
  stored.push_back(Stored(live, Exchange(kT0, Body(Conversation(1)), TaskResponse(prompts))));
  stored.push_back(
      Stored(live, Exchange(kT0 + kSecond, Body(json::array{Msg("user", prompts[1])}, agent_system),
                            TextResponse("ok"))));
  stored.push_back(Stored(
      live, Exchange(kT0 + 2 * kSecond, Body(json::array{Msg("user", prompts[0])}, agent_system),
                     TextResponse("ok"))));
  stored.push_back(
      Stored(live, Exchange(kT0 + 3 * kSecond, Body(Conversation(3)), TextResponse("b"))));
  json::array edited = Conversation(2);
  edited.push_back(Msg("user", "edited"));
  stored.push_back(Stored(live, Exchange(kT0 + 4 * kSecond, Body(edited), TextResponse("c"))));
  Record other = Exchange(kT0 + 5 * kSecond, Body(Conversation(1)), TextResponse("a"));
  other.domain = "other.example";
  stored.push_back(Stored(live, other));

  // The live links are what a rebuild must reproduce: nothing to change.
  auto noop = RebuildConversations(*store_, {});
  ASSERT_TRUE(noop.ok()) << noop.status().message();
  EXPECT_EQ(noop->scanned, 6);
  EXPECT_EQ(noop->linked, 6);
  EXPECT_EQ(noop->changed, 0);
  EXPECT_EQ(noop->by_kind[static_cast<std::size_t>(LinkKind::kSubtask)], 2);

  // Wipe every link (an imported database), then rebuild.
  std::vector<Record> wipe;
  for (const Record& r : stored) {
    Record w;
    w.request_id = r.request_id;
    wipe.push_back(w);
  }
  ASSERT_TRUE(store_->UpdateLinks(wipe).ok());
  RebuildOptions dry;
  dry.dry_run = true;
  auto preview = RebuildConversations(*store_, dry);
  ASSERT_TRUE(preview.ok());
  EXPECT_EQ(preview->changed, 6);
  EXPECT_TRUE(Get(stored[3].request_id).link.conversation_id.empty()) << "a dry run writes nothing";

  auto rebuilt = RebuildConversations(*store_, {});
  ASSERT_TRUE(rebuilt.ok());
  EXPECT_EQ(rebuilt->changed, 6);
  std::vector<Record> got;
  for (const Record& r : stored) got.push_back(Get(r.request_id));
  const std::string conv = got[0].link.conversation_id;
  EXPECT_TRUE(IsUuid(conv));
  EXPECT_EQ(got[1].link.branch_id, "subtask_2");
  EXPECT_EQ(got[2].link.branch_id, "subtask_1");
  for (int i : {1, 2}) {
    EXPECT_TRUE(got[i].link.is_subtask);
    EXPECT_EQ(got[i].link.parent_task_request_id, stored[0].request_id);
    EXPECT_EQ(got[i].link.conversation_id, conv);
  }
  EXPECT_EQ(got[3].link.parent_request_id, stored[0].request_id);
  EXPECT_EQ(got[3].link.branch_id, "main");
  EXPECT_FALSE(got[3].link.is_subtask);
  EXPECT_EQ(got[4].link.branch_id, "branch_20250629143653");
  EXPECT_EQ(got[4].link.conversation_id, conv);
  EXPECT_NE(got[5].link.conversation_id, conv);
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].link.current_message_hash, stored[i].link.current_message_hash) << i;
    EXPECT_EQ(got[i].link.parent_message_hash, stored[i].link.parent_message_hash) << i;
    EXPECT_EQ(got[i].link.system_hash, stored[i].link.system_hash) << i;
  }

  auto again = RebuildConversations(*store_, {});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->changed, 0) << "roots keep their conversation ids";
  EXPECT_EQ(Get(stored[0].request_id).link.conversation_id, conv);
}

TEST_F(RecorderStoreTest, RebuildSinceAndDomainLinkToEarlierStoredParents) {
  Recorder live;
  const Record parent = Stored(live, Exchange(kT0, Body(Conversation(1)), TextResponse("a")));
  const Record child =
      Stored(live, Exchange(kT0 + 10 * kSecond, Body(Conversation(3)), TextResponse("b")));
  Record other = Exchange(kT0 + 11 * kSecond, Body(Conversation(1)), TextResponse("a"));
  other.domain = "other.example";
  other = Stored(live, other);
  Record wiped_child;
  wiped_child.request_id = child.request_id;
  Record wiped_other;
  wiped_other.request_id = other.request_id;
  ASSERT_TRUE(store_->UpdateLinks(std::vector<Record>{wiped_child, wiped_other}).ok());

  RebuildOptions options;
  options.since_unix_micros = kT0 + 5 * kSecond;
  options.domain = std::string(kDomain);
  auto report = RebuildConversations(*store_, options);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->warmed, 1);
  EXPECT_EQ(report->scanned, 1);
  EXPECT_EQ(report->changed, 1);
  const Record got = Get(child.request_id);
  EXPECT_EQ(got.link.parent_request_id, parent.request_id);
  EXPECT_EQ(got.link.conversation_id, parent.link.conversation_id);
  EXPECT_TRUE(Get(other.request_id).link.conversation_id.empty()) << "other domains are left alone";
}

}  // namespace
}  // namespace cn::recording
