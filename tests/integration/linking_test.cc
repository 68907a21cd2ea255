// Conversation linking end to end: real Claude Code requests from the shared fixtures replayed
// through the running proxy, the fake upstream streaming back each parent's recorded response
// (as SSE, built from the fixture's response_body), then the child request; the linked fields are
// read back from the database. Also: N sub-agents at once, and `conversations rebuild`.
//
// Storage backends: the suite is parameterised by backend name. "sqlite" records into the data
// dir; a "postgres" instance needs StoreEnv() to return its DATABASE_URL and OpenStore() to open
// that database (fresh per test) — everything else reads through the Store interface.

#include <sys/wait.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdlib>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/ids.h"
#include "conversation/detection.h"
#include "integration/fixture.h"
#include "storage/sqlite/sqlite_store.h"

#ifdef CN_HAVE_POSTGRES
#include "pg_test_database.h"
#include "storage/postgres/postgres_store.h"
#endif

namespace cn::testing {
namespace {

namespace json = boost::json;
using std::chrono::seconds;

json::value LoadFixture(const std::string& relative) {
  std::ifstream in(std::string(CN_FIXTURES_DIR) + "/" + relative, std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing fixture " << relative;
  std::stringstream ss;
  ss << in.rdbuf();
  return json::parse(ss.str());
}

const json::object& Obj(const json::value& v, std::string_view key) {
  return v.at(key).as_object();
}

// The SSE events the Messages API would stream for `response` (a non-streaming response body),
// one content block at a time, in the replay-file shape the fake upstream reads.
json::array StreamEventsFor(const json::object& response) {
  json::object start_message = response;
  start_message["content"] = json::array();
  start_message["stop_reason"] = nullptr;
  json::array events{
      json::object{{"type", "message_start"}, {"message", std::move(start_message)}}};
  const json::array empty;
  const json::value* content = response.if_contains("content");
  const json::array& blocks =
      content != nullptr && content->is_array() ? content->get_array() : empty;
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    const json::object& block = blocks[i].as_object();
    const std::string type(block.at("type").as_string());
    json::object start = block;
    json::object delta;
    if (type == "text") {
      start["text"] = "";
      delta = {{"type", "text_delta"}, {"text", block.at("text")}};
    } else if (type == "tool_use") {
      start["input"] = json::object();
      delta = {{"type", "input_json_delta"}, {"partial_json", json::serialize(block.at("input"))}};
    }
    events.push_back(json::object{
        {"type", "content_block_start"}, {"index", i}, {"content_block", std::move(start)}});
    if (!delta.empty()) {
      events.push_back(
          json::object{{"type", "content_block_delta"}, {"index", i}, {"delta", std::move(delta)}});
    }
    events.push_back(json::object{{"type", "content_block_stop"}, {"index", i}});
  }
  const json::value* stop = response.if_contains("stop_reason");
  events.push_back(
      json::object{{"type", "message_delta"},
                   {"delta", json::object{{"stop_reason", stop ? *stop : json::value("end_turn")},
                                          {"stop_sequence", nullptr}}},
                   {"usage", json::object{{"output_tokens", 7}}}});
  events.push_back(json::object{{"type", "message_stop"}});
  return events;
}

std::string TaskResponse(const std::vector<std::string>& prompts) {
  json::array content{json::object{{"type", "text"}, {"text", "Starting the agents."}}};
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    content.push_back(json::object{
        {"type", "tool_use"},
        {"id", "toolu_it_" + std::to_string(i)},
        {"name", "Task"},
        {"input",
         json::object{{"description", "part " + std::to_string(i)}, {"prompt", prompts[i]}}}});
  }
  return json::serialize(
      json::object{{"id", "msg_it"},
                   {"type", "message"},
                   {"role", "assistant"},
                   {"model", "claude-opus-4-20250514"},
                   {"content", std::move(content)},
                   {"stop_reason", "tool_use"},
                   {"usage", json::object{{"input_tokens", 100}, {"output_tokens", 50}}}});
}

class LinkingTest : public ProxyFixture, public ::testing::WithParamInterface<std::string> {
 protected:
#ifdef CN_HAVE_POSTGRES
  std::unique_ptr<storage::testing::PgTestDatabase> pg_;  // "postgres": a throw-away database
#endif
  void SetUp() override {
#ifdef CN_HAVE_POSTGRES
    if (GetParam() == "postgres") {
      CN_REQUIRE_POSTGRES();
      pg_ = std::make_unique<storage::testing::PgTestDatabase>();
      ASSERT_TRUE(pg_->ok()) << pg_->error();
    }
#endif
    StartProxy(StoreEnv());
  }
  // The proxy goes before its database is dropped.
  void TearDown() override { proxy_.reset(); }

  std::map<std::string, std::string> StoreEnv() const {
#ifdef CN_HAVE_POSTGRES
    if (pg_) return {{ "DATABASE_URL", pg_->url() }};
#endif
    return {};
  }
  std::unique_ptr<Store> OpenStore() const {
#ifdef CN_HAVE_POSTGRES
    if (pg_) {
      storage::PostgresOptions options;
      options.url = pg_->url();
      auto pg = storage::PostgresStore::Open(options);
      EXPECT_TRUE(pg.ok()) << pg.status().message();
      return pg.ok() ? std::unique_ptr<Store>(std::move(pg).value()) : nullptr;
    }
#endif
    auto opened = storage::SqliteStore::Open({(dir_.path() / "claude-nexus.db").string()});
    EXPECT_TRUE(opened.ok()) << opened.status().message();
    return opened.ok() ? std::move(opened).value() : nullptr;
  }

  // Sends `body` as a Messages request for `domain` through the proxy; the upstream streams back
  // `response` (a response body as JSON text). Returns the X-Request-ID the client saw.
  std::string Send(const std::string& domain, const json::value& body, const std::string& response,
                   HeaderPairs extra = {}) {
    const std::string replay = (dir_.path() / ("replay-" + NewUuidV4() + ".json")).string();
    std::ofstream(replay) << json::serialize(json::object{
        {"response",
         json::object{
             {"metadata", json::object{{"streamingChunks",
                                        StreamEventsFor(json::parse(response).as_object())}}}}}});
    extra.emplace_back("content-type", "application/json");
    extra.emplace_back("host", domain);
    extra.emplace_back("x-fake-replay", replay);
    const HttpResponse res =
        Http(port(), "POST", "/v1/messages?beta=true", extra, json::serialize(body));
    EXPECT_EQ(res.status, 200) << res.error << res.body;
    std::string id = res.Header("x-request-id");
    EXPECT_TRUE(IsUuid(id)) << id;
    return id;
  }
  std::string SendFixtureParent(const json::value& fixture) {
    const json::object& parent = Obj(fixture, "parent");
    return Send(std::string(parent.at("domain").as_string()), parent.at("body"),
                json::serialize(parent.at("response_body")));
  }
  // The child's response does not matter to the assertions; the fake's default text answer.
  std::string SendFixtureChild(const json::value& fixture,
                               const std::string& response = kPlainResponse) {
    const json::object& child = Obj(fixture, "child");
    return Send(std::string(child.at("domain").as_string()), child.at("body"), response);
  }

  // Waits (bounded) until all `ids` are stored, then returns every stored row by request id, with
  // the fields Store::LoadForLinking returns (all link fields).
  std::map<std::string, Record> Stored(const std::vector<std::string>& ids) {
    std::unique_ptr<Store> store = OpenStore();
    std::map<std::string, Record> rows;
    if (!store) return rows;
    const bool all = Eventually([&] {
      rows.clear();
      LinkingScan scan;
      scan.limit = 100000;
      auto page = store->LoadForLinking(scan);
      if (!page.ok()) return false;
      for (Record& r : *page) rows.emplace(r.request_id, std::move(r));
      return std::all_of(ids.begin(), ids.end(),
                         [&](const std::string& id) { return rows.count(id) != 0; });
    });
    EXPECT_TRUE(all) << "not all records were stored";
    return rows;
  }

  static inline const std::string kPlainResponse =
      R"({"id":"msg_it_plain","type":"message","role":"assistant","model":"claude-opus-4-20250514",)"
      R"("content":[{"type":"text","text":"Done."}],"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":1}})";
};

TEST_P(LinkingTest, FollowUpsLinkAndEditsBranch) {
  // 01, 02 and 03 are three different follow-ups of the same first request.
  const json::value f01 = LoadFixture("conversation-linking/01-simple-start.json");
  const json::value f02 = LoadFixture("conversation-linking/02-branching.json");
  const json::value f03 = LoadFixture("conversation-linking/03-re-branching.json");
  const std::string parent = SendFixtureParent(f01);
  const std::string first = SendFixtureChild(f01);
  const std::string second = SendFixtureChild(f02);
  const std::string third = SendFixtureChild(f03);

  auto rows = Stored({parent, first, second, third});
  const Record& p = rows[parent];
  EXPECT_EQ(p.link.current_message_hash, Obj(f01, "parent").at("current_message_hash").as_string());
  EXPECT_TRUE(IsUuid(p.link.conversation_id));
  EXPECT_EQ(p.link.branch_id, "main");
  EXPECT_TRUE(p.link.parent_request_id.empty());
  EXPECT_EQ(p.message_count, 1);
  EXPECT_EQ(p.request_type, "inference");

  const std::regex user_branch("^branch_\\d{14}$");
  for (const std::string* id : {&first, &second, &third}) {
    const Record& c = rows[*id];
    EXPECT_EQ(c.link.conversation_id, p.link.conversation_id);
    EXPECT_EQ(c.link.parent_request_id, parent);
    EXPECT_EQ(c.link.parent_message_hash, p.link.current_message_hash);
    EXPECT_FALSE(c.link.is_subtask);
    EXPECT_EQ(c.message_count, 3);
  }
  EXPECT_EQ(rows[first].link.branch_id, "main");
  EXPECT_TRUE(std::regex_match(rows[second].link.branch_id, user_branch))
      << rows[second].link.branch_id;
  EXPECT_TRUE(std::regex_match(rows[third].link.branch_id, user_branch))
      << rows[third].link.branch_id;
}

TEST_P(LinkingTest, FollowUpAfterARestartLinksThroughTheIndexWarmedFromTheStore) {
  const json::value f = LoadFixture("conversation-linking/09-general-linking.json");
  const std::string parent = SendFixtureParent(f);
  Stored({parent});
  proxy_->Signal(SIGTERM);
  ASSERT_EQ(proxy_->WaitExit(seconds(20)), 0) << proxy_->Log();
  StartProxy(StoreEnv());
  EXPECT_NE(proxy_->Log().find("conversation index warmed"), std::string::npos) << proxy_->Log();
  const std::string child = SendFixtureChild(f);
  auto rows = Stored({parent, child});
  EXPECT_EQ(rows[child].link.parent_request_id, parent);
  EXPECT_EQ(rows[child].link.conversation_id, rows[parent].link.conversation_id);
}

TEST_P(LinkingTest, DuplicatedToolBlocksAndLongerHistoriesLink) {
  for (const char* file : {"conversation-linking/07-duplicated-tools.json",
                           "conversation-linking/09-general-linking.json"}) {
    const json::value f = LoadFixture(file);
    const std::string parent = SendFixtureParent(f);
    const std::string child = SendFixtureChild(f);
    auto rows = Stored({parent, child});
    EXPECT_EQ(rows[parent].link.current_message_hash,
              Obj(f, "parent").at("current_message_hash").as_string())
        << file;
    EXPECT_EQ(rows[child].link.parent_request_id, parent) << file;
    EXPECT_EQ(rows[child].link.conversation_id, rows[parent].link.conversation_id) << file;
    EXPECT_EQ(rows[child].link.branch_id, "main") << file;
  }
}

TEST_P(LinkingTest, CompactContinuationJoinsTheSummarisedConversationAndItsFollowUpsStayOnIt) {
  // 04: summarisation request -> compact continuation (whose recorded response is 05's parent);
  // 05: the continuation's follow-up.
  const json::value f04 = LoadFixture("conversation-linking/04-compact.json");
  const json::value f05 = LoadFixture("conversation-linking/05-compact-follow-up.json");
  const std::string summarise = SendFixtureParent(f04);
  const std::string compact =
      SendFixtureChild(f04, json::serialize(Obj(f05, "parent").at("response_body")));
  const std::string follow = SendFixtureChild(f05);

  auto rows = Stored({summarise, compact, follow});
  const Record& c = rows[compact];
  EXPECT_EQ(c.link.conversation_id, rows[summarise].link.conversation_id);
  EXPECT_EQ(c.link.parent_request_id, summarise);
  EXPECT_TRUE(std::regex_match(c.link.branch_id, std::regex("^compact_\\d{6}$")))
      << c.link.branch_id;
  EXPECT_EQ(c.link.parent_message_hash, rows[summarise].link.current_message_hash);
  EXPECT_FALSE(c.link.is_subtask);
  const Record& f = rows[follow];
  EXPECT_EQ(f.link.parent_request_id, compact);
  EXPECT_EQ(f.link.conversation_id, c.link.conversation_id);
  EXPECT_EQ(f.link.branch_id, c.link.branch_id);
}

TEST_P(LinkingTest, SubAgentLinksToItsTaskRequestAndItsFollowUpsInheritTheSubtask) {
  const json::value f04 = LoadFixture("subtask-linking/04-second-subtask.json");
  const std::string task = SendFixtureParent(f04);
  const std::string agent = SendFixtureChild(f04);

  // 05 starts inside a sub-agent: give its first request a Task call to belong to.
  const json::value f05 = LoadFixture("subtask-linking/05-subtask-follow.json");
  const json::object& agent_start = Obj(f05, "parent");
  const std::string prompt = conversation::ExtractSubtaskPrompt(
      agent_start.at("body").at("messages").at(0).at("content"));  // what Claude Code put in the
                                                                   // Task call
  ASSERT_FALSE(prompt.empty());
  const std::string domain(agent_start.at("domain").as_string());
  json::value main_body = Obj(f04, "parent").at("body");
  const std::string main = Send(domain, main_body, TaskResponse({prompt}));
  const std::string agent_first = SendFixtureParent(f05);
  const std::string agent_follow = SendFixtureChild(f05);

  auto rows = Stored({task, agent, main, agent_first, agent_follow});
  const Record& a = rows[agent];
  EXPECT_TRUE(a.link.is_subtask);
  EXPECT_EQ(a.link.parent_task_request_id, task);
  EXPECT_EQ(a.link.parent_request_id, task);
  EXPECT_EQ(a.link.conversation_id, rows[task].link.conversation_id);
  EXPECT_EQ(a.link.branch_id, "subtask_1");
  EXPECT_FALSE(rows[task].link.is_subtask) << "the main conversation is not a sub-agent";

  EXPECT_EQ(rows[agent_first].link.branch_id, "subtask_1");
  EXPECT_EQ(rows[agent_first].link.parent_task_request_id, main);
  const Record& f = rows[agent_follow];
  EXPECT_EQ(f.link.parent_request_id, agent_first);
  EXPECT_EQ(f.link.branch_id, "subtask_1");
  EXPECT_TRUE(f.link.is_subtask);
  EXPECT_EQ(f.link.parent_task_request_id, main);
  EXPECT_EQ(f.link.conversation_id, rows[main].link.conversation_id);
}

TEST_P(LinkingTest, ParallelSubAgentsGetDistinctNumbersInTaskOrder) {
  constexpr int kAgents = 6;
  const json::value f = LoadFixture("subtask-linking/04-second-subtask.json");
  const json::object& parent = Obj(f, "parent");
  const std::string domain(parent.at("domain").as_string());
  std::vector<std::string> prompts;
  for (int i = 0; i < kAgents; ++i)
    prompts.push_back("Investigate area " + std::to_string(i) + " of the code base.");
  const std::string task = Send(domain, parent.at("body"), TaskResponse(prompts));

  // All agents start at once; the upstream answers the first ones last, so their records reach
  // the writer in reverse Task order.
  json::value agent_body = Obj(f, "child").at("body");
  std::vector<std::string> ids(kAgents);
  std::vector<std::thread> threads;
  for (int i = 0; i < kAgents; ++i) {
    json::value body = agent_body;
    body.at("messages").as_array() =
        json::array{json::object{{"role", "user"}, {"content", prompts[i]}}};
    threads.emplace_back([this, i, body = std::move(body), &ids, &domain] {
      ids[i] = Send(domain, body, kPlainResponse,
                    {{"x-fake-header-delay-ms", std::to_string((kAgents - i) * 100)}});
    });
  }
  for (auto& t : threads) t.join();
  std::vector<std::string> all = ids;
  all.push_back(task);
  auto rows = Stored(all);
  for (int i = 0; i < kAgents; ++i) {
    const Record& a = rows[ids[i]];
    EXPECT_EQ(a.link.branch_id, "subtask_" + std::to_string(i + 1)) << prompts[i];
    EXPECT_TRUE(a.link.is_subtask);
    EXPECT_EQ(a.link.parent_task_request_id, task);
    EXPECT_EQ(a.link.conversation_id, rows[task].link.conversation_id);
  }
}

// Runs `claude-nexus conversations rebuild <args>` on this test's data dir; returns its stdout.
// `database_url` empty: the SQLite database in data_dir; else that PostgreSQL database.
std::string RunRebuild(const std::filesystem::path& data_dir, const std::string& args,
                       int* exit_code, const std::string& database_url = "") {
  const std::filesystem::path out = data_dir / ("rebuild-" + NewUuidV4() + ".txt");
  const std::string env = database_url.empty() ? "" : "DATABASE_URL='" + database_url + "' ";
  const std::string cmd = std::string("env -i ") + env + CN_BINARY +
                          " conversations rebuild --data-dir '" + data_dir.string() + "' " + args +
                          " > '" + out.string() + "' 2>&1";
  const int status = std::system(cmd.c_str());
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(out);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST_P(LinkingTest, RebuildRecomputesWipedLinksAndASecondRunChangesNothing) {
  std::string database_url;
  if (auto env = StoreEnv(); env.count("DATABASE_URL")) database_url = env["DATABASE_URL"];
  const json::value f01 = LoadFixture("conversation-linking/01-simple-start.json");
  const json::value f02 = LoadFixture("conversation-linking/02-branching.json");
  const json::value f04 = LoadFixture("subtask-linking/04-second-subtask.json");
  const std::vector<std::string> ids = {SendFixtureParent(f01), SendFixtureChild(f01),
                                        SendFixtureChild(f02), SendFixtureParent(f04),
                                        SendFixtureChild(f04)};
  const auto live = Stored(ids);
  proxy_->Signal(SIGTERM);
  ASSERT_EQ(proxy_->WaitExit(seconds(20)), 0) << proxy_->Log();

  {
    std::unique_ptr<Store> store = OpenStore();
    ASSERT_TRUE(store);
    std::vector<Record> wipe(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) wipe[i].request_id = ids[i];
    ASSERT_TRUE(store->UpdateLinks(wipe).ok());
  }
  int code = -1;
  std::string out = RunRebuild(dir_.path(), "--dry-run", &code, database_url);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("would change 5"), std::string::npos) << out;
  out = RunRebuild(dir_.path(), "", &code, database_url);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("changed 5"), std::string::npos) << out;

  auto rebuilt = Stored(ids);
  // Same structure; the roots got new conversation ids (theirs were wiped).
  auto same_conversation = [](const std::map<std::string, Record>& rows, const std::string& a,
                              const std::string& b) {
    return rows.at(a).link.conversation_id == rows.at(b).link.conversation_id;
  };
  for (const std::string& id : ids) {
    const Record& before = live.at(id);
    const Record& after = rebuilt.at(id);
    EXPECT_EQ(after.link.current_message_hash, before.link.current_message_hash);
    EXPECT_EQ(after.link.parent_message_hash, before.link.parent_message_hash);
    EXPECT_EQ(after.link.system_hash, before.link.system_hash);
    EXPECT_EQ(after.link.parent_request_id, before.link.parent_request_id);
    EXPECT_EQ(after.link.parent_task_request_id, before.link.parent_task_request_id);
    EXPECT_EQ(after.link.is_subtask, before.link.is_subtask);
    EXPECT_EQ(after.link.branch_id,
              before.link.branch_id);  // branch_<time> and compact_<time> use arrival time
    EXPECT_TRUE(IsUuid(after.link.conversation_id));
    for (const std::string& other : ids) {
      EXPECT_EQ(same_conversation(rebuilt, id, other), same_conversation(live, id, other));
    }
  }
  out = RunRebuild(dir_.path(), "", &code, database_url);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("changed 0"), std::string::npos) << "a second rebuild is a no-op: " << out;
}

std::string StoreName(const ::testing::TestParamInfo<std::string>& param_info) {
  return param_info.param;
}

#ifdef CN_HAVE_POSTGRES
INSTANTIATE_TEST_SUITE_P(Stores, LinkingTest,
                         ::testing::Values(std::string("sqlite"), std::string("postgres")),
                         StoreName);
#else
INSTANTIATE_TEST_SUITE_P(Stores, LinkingTest, ::testing::Values(std::string("sqlite")), StoreName);
#endif

}  // namespace
}  // namespace cn::testing
