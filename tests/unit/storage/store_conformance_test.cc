// The behaviour every Store must have. Each implementation's test file instantiates
// StoreConformanceTest with its factory (see sqlite_store_test.cc).
#include "store_conformance_test.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string_view>
#include <thread>
#include <vector>

namespace cn::storage::testing {
namespace {

// Same JSON value (object member order and spacing aside).
void ExpectSameJson(const std::string& want, const std::string& got, bool canonical,
                    std::string_view field) {
  if (!canonical || want.empty() || got.empty()) {
    EXPECT_EQ(want, got) << field;
    return;
  }
  boost::json::error_code ec1, ec2;
  boost::json::value a = boost::json::parse(want, ec1);
  boost::json::value b = boost::json::parse(got, ec2);
  ASSERT_FALSE(ec1) << field << ": " << want;
  ASSERT_FALSE(ec2) << field << ": " << got;
  EXPECT_EQ(a, b) << field << ": want " << want << " got " << got;
}

void ExpectSameRecord(const Record& want, const Record& got, bool canonical_json = false) {
  EXPECT_EQ(want.request_id, got.request_id);
  EXPECT_EQ(want.domain, got.domain);
  EXPECT_EQ(want.account_id, got.account_id);
  EXPECT_EQ(want.timestamp_unix_micros, got.timestamp_unix_micros);
  EXPECT_EQ(want.method, got.method);
  EXPECT_EQ(want.path, got.path);
  EXPECT_EQ(want.query, got.query);
  EXPECT_EQ(want.request_headers, got.request_headers);
  EXPECT_EQ(want.request_body, got.request_body);
  EXPECT_EQ(want.response_status, got.response_status);
  EXPECT_EQ(want.response_headers, got.response_headers);
  EXPECT_EQ(want.response_body, got.response_body);
  EXPECT_EQ(want.response_body_truncated, got.response_body_truncated);
  EXPECT_EQ(want.response_streaming, got.response_streaming);
  EXPECT_EQ(want.chunks, got.chunks);
  EXPECT_EQ(want.first_byte_micros, got.first_byte_micros);
  EXPECT_EQ(want.duration_micros, got.duration_micros);
  EXPECT_EQ(want.upstream_attempts, got.upstream_attempts);
  EXPECT_EQ(want.outcome, got.outcome);
  EXPECT_EQ(want.error, got.error);
  EXPECT_EQ(want.enriched, got.enriched);
  EXPECT_EQ(want.model, got.model);
  EXPECT_EQ(want.request_type, got.request_type);
  EXPECT_EQ(want.message_count, got.message_count);
  EXPECT_EQ(want.usage, got.usage);
  ExpectSameJson(want.usage_json, got.usage_json, canonical_json, "usage_json");
  ExpectSameJson(want.response_json, got.response_json, canonical_json, "response_json");
  EXPECT_EQ(want.tool_call_count, got.tool_call_count);
  ExpectSameJson(want.task_tool_invocation_json, got.task_tool_invocation_json, canonical_json,
                 "task_tool_invocation_json");
  EXPECT_EQ(want.stop_reason, got.stop_reason);
  EXPECT_EQ(want.link.current_message_hash, got.link.current_message_hash);
  EXPECT_EQ(want.link.parent_message_hash, got.link.parent_message_hash);
  EXPECT_EQ(want.link.system_hash, got.link.system_hash);
  EXPECT_EQ(want.link.conversation_id, got.link.conversation_id);
  EXPECT_EQ(want.link.branch_id, got.link.branch_id);
  EXPECT_EQ(want.link.parent_request_id, got.link.parent_request_id);
  EXPECT_EQ(want.link.parent_task_request_id, got.link.parent_task_request_id);
  EXPECT_EQ(want.link.is_subtask, got.link.is_subtask);
  EXPECT_EQ(want.user_id, got.user_id);
  EXPECT_EQ(want.session_id, got.session_id);
  EXPECT_EQ(want.cost_usd, got.cost_usd);
  EXPECT_EQ(want.quota.status, got.quota.status);
  EXPECT_EQ(want.quota.utilization_5h, got.quota.utilization_5h);
  EXPECT_EQ(want.quota.resets_at_5h, got.quota.resets_at_5h);
  EXPECT_EQ(want.quota.utilization_7d, got.quota.utilization_7d);
  EXPECT_EQ(want.quota.resets_at_7d, got.quota.resets_at_7d);
  ExpectSameJson(want.quota.json, got.quota.json, canonical_json, "quota.json");
}

void ExpectSameStats(const DomainStats& want, const DomainStats& got) {
  EXPECT_EQ(want.domain, got.domain);
  EXPECT_EQ(want.input_tokens, got.input_tokens) << want.domain;
  EXPECT_EQ(want.output_tokens, got.output_tokens) << want.domain;
  EXPECT_EQ(want.request_count, got.request_count) << want.domain;
  EXPECT_EQ(want.query_evaluation_count, got.query_evaluation_count) << want.domain;
  EXPECT_EQ(want.inference_count, got.inference_count) << want.domain;
  EXPECT_EQ(want.tool_call_count, got.tool_call_count) << want.domain;
  EXPECT_EQ(want.last_updated_unix_micros, got.last_updated_unix_micros) << want.domain;
}

Record ReadBack(StoreTestTarget& t, const std::string& id) {
  auto got = t.store().GetRecord(id);
  EXPECT_TRUE(got.ok()) << got.status().ToString();
  if (!got.ok() || !got->has_value()) {
    ADD_FAILURE() << "record " << id << " not found";
    return {};
  }
  return **got;
}

std::int64_t Count(StoreTestTarget& t) {
  auto n = t.store().CountRecords();
  EXPECT_TRUE(n.ok()) << n.status().ToString();
  return n.ok() ? *n : -1;
}

}  // namespace

void StoreConformanceTest::SetUp() {
  if (GetParam().missing) {
    if (std::string why = GetParam().missing(); !why.empty()) {
      const char* ci = std::getenv("CI");
      if (ci != nullptr && std::string_view(ci) == "true") {
        FAIL() << GetParam().name << " store cannot run under CI: " << why;
      }
      GTEST_SKIP() << why;
    }
  }
  target_ = GetParam().make();
  ASSERT_NE(target_, nullptr) << "could not create a " << GetParam().name << " store";
}

TEST_P(StoreConformanceTest, FreshStoreIsEmptyAndAlive) {
  EXPECT_TRUE(store().Ping().ok());
  EXPECT_EQ(Count(*target_), 0);
  auto stats = store().LoadDomainStats();
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_TRUE(stats->empty());
}

TEST_P(StoreConformanceTest, MigrateAgainIsANoOpAndKeepsData) {
  ASSERT_TRUE(store().WriteBatch(std::vector{FullRecord(1)}).ok());
  Status s = store().Migrate();
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Count(*target_), 1);
}

TEST_P(StoreConformanceTest, FullRecordRoundTrips) {
  std::vector<Record> batch = {FullRecord(1), FullRecord(2)};
  Status s = store().WriteBatch(batch);
  ASSERT_TRUE(s.ok()) << s.ToString();
  for (const Record& r : batch)
    ExpectSameRecord(r, ReadBack(*target_, r.request_id), GetParam().canonical_json);
}

TEST_P(StoreConformanceTest, SparseRecordRoundTrips) {
  // Empty strings, no headers, no account, no first byte, a proxy-made rejection; no user,
  // session, cost or quota (all NULL).
  Record bare = SimpleRecord("localhost:3000", "", 0, 0, 0, 1'700'000'000'000'001);
  bare.request_body.clear();
  bare.response_status = 0;
  bare.response_body.clear();
  bare.response_json.clear();
  bare.model.clear();
  bare.upstream_attempts = 0;
  bare.outcome = Outcome::kRejected;
  bare.duration_micros = 0;
  // The account was known but empty: not the same as no account.
  Record empty_account = SimpleRecord("localhost:3000", "other", 1, 2, 0, 1'700'000'000'000'002);
  empty_account.account_id = "";
  // A non-JSON body (stored raw) next to a reconstructed JSON message.
  Record raw_body = SimpleRecord("localhost:3000", "inference", 1, 2, 0, 1'700'000'000'000'003);
  raw_body.response_status = 502;
  raw_body.response_body = std::string("<html>bad gateway\0\xff</html>", 26);
  raw_body.response_json.clear();
  raw_body.outcome = Outcome::kUpstreamFailed;
  Record differing = SimpleRecord("localhost:3000", "inference", 1, 2, 0, 1'700'000'000'000'004);
  differing.response_body = "{ \"type\" : \"message\" }";
  // Part of a quota: zeros are values (not NULL), the 7-day window and the JSON absent; a cost
  // of exactly 0 (a priced model, no billable tokens) is not an unknown cost.
  Record partial_quota =
      SimpleRecord("localhost:3000", "inference", 0, 0, 0, 1'700'000'000'000'005);
  partial_quota.cost_usd = 0.0;
  partial_quota.session_id = "5d1c0ffe-0000-4000-8000-000000000005";
  partial_quota.quota.status = "rejected";
  partial_quota.quota.utilization_5h = 0.0;
  partial_quota.quota.resets_at_5h = 0;
  std::vector<Record> batch = {bare, empty_account, raw_body, differing, partial_quota};
  Status s = store().WriteBatch(batch);
  ASSERT_TRUE(s.ok()) << s.ToString();
  for (const Record& r : batch)
    ExpectSameRecord(r, ReadBack(*target_, r.request_id), GetParam().canonical_json);
}

TEST_P(StoreConformanceTest, UnknownRequestIdIsNotFound) {
  auto got = store().GetRecord("00000000-0000-4000-8000-000000000000");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_FALSE(got->has_value());
}

TEST_P(StoreConformanceTest, EmptyBatchSucceeds) {
  EXPECT_TRUE(store().WriteBatch({}).ok());
  EXPECT_EQ(Count(*target_), 0);
}

TEST_P(StoreConformanceTest, ReplayedBatchKeepsOriginalContent) {
  std::vector<Record> batch = {FullRecord(1), FullRecord(2), FullRecord(3)};
  ASSERT_TRUE(store().WriteBatch(batch).ok());

  std::vector<Record> replay = batch;
  for (Record& r : replay) {
    r.model = "changed";
    r.usage.output_tokens = 999;
    r.chunks.push_back({1, "data: extra\n\n"});
    r.chunks[0].data = "data: changed\n\n";
  }
  Status s = store().WriteBatch(replay);
  ASSERT_TRUE(s.ok()) << s.ToString();
  s = store().WriteBatch(batch);
  ASSERT_TRUE(s.ok()) << s.ToString();

  EXPECT_EQ(Count(*target_), 3);
  for (const Record& r : batch)
    ExpectSameRecord(r, ReadBack(*target_, r.request_id), GetParam().canonical_json);
}

TEST_P(StoreConformanceTest, DuplicateWithinOneBatchIsStoredOnce) {
  Record r = FullRecord(1);
  Record again = r;
  again.model = "second";
  ASSERT_TRUE(store().WriteBatch(std::vector{r, again}).ok());
  EXPECT_EQ(Count(*target_), 1);
  EXPECT_EQ(ReadBack(*target_, r.request_id).model, r.model);
}

TEST_P(StoreConformanceTest, FailingRecordCommitsNothingOfItsBatch) {
  std::vector<Record> batch = {FullRecord(1), FullRecord(2), FullRecord(3)};
  batch[2].link.parent_request_id = batch[2].request_id;  // violates CHECK parent <> self
  Status s = store().WriteBatch(batch);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.message().find(batch[2].request_id), std::string::npos) << s.ToString();
  EXPECT_EQ(Count(*target_), 0);

  // The store is usable afterwards and the good records can be written.
  batch.pop_back();
  s = store().WriteBatch(batch);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Count(*target_), 2);
}

TEST_P(StoreConformanceTest, DomainStatsSumPerDomain) {
  const std::int64_t t0 = 1'790'000'000'000'000;
  std::vector<Record> batch = {
      SimpleRecord("b.example", "inference", 100, 10, 2, t0 + 5),
      SimpleRecord("a.example", "query_evaluation", 7, 3, 0, t0 + 1),
      SimpleRecord("b.example", "inference", 50, 5, 1, t0 + 9),
      SimpleRecord("b.example", "query_evaluation", 1, 1, 0, t0 + 2),
      SimpleRecord("b.example", "quota", 0, 0, 0, t0 + 3),
  };
  ASSERT_TRUE(store().WriteBatch(batch).ok());
  auto stats = store().LoadDomainStats();
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  ASSERT_EQ(stats->size(), 2u);

  ExpectSameStats({"a.example", 7, 3, 1, 1, 0, 0, t0 + 1}, (*stats)[0]);
  ExpectSameStats({"b.example", 151, 16, 4, 1, 2, 3, t0 + 9}, (*stats)[1]);
}

TEST_P(StoreConformanceTest, ThousandRecordBatch) {
  std::vector<Record> batch;
  batch.reserve(1000);
  for (int i = 0; i < 1000; ++i) batch.push_back(FullRecord(i));
  auto start = std::chrono::steady_clock::now();
  Status s = store().WriteBatch(batch);
  auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Count(*target_), 1000);
  ExpectSameRecord(batch[517], ReadBack(*target_, batch[517].request_id),
                   GetParam().canonical_json);
  std::cout << "[ rate     ] " << GetParam().name << ": 1000 records (3 chunks each) in "
            << elapsed.count() * 1000 << " ms = " << 1000 / elapsed.count() << " records/s\n";
}

}  // namespace cn::storage::testing

namespace cn::storage::testing {

TEST_P(StoreConformanceTest, LoadForLinkingPagesInOrderAndUpdateLinksSetsThem) {
  const std::int64_t t0 = 1'790'000'000'000'000;
  std::vector<Record> batch;
  for (int i = 0; i < 5; ++i) {
    Record r = SimpleRecord(i == 2 ? "other.example" : "a.example", i == 3 ? "quota" : "inference",
                            1, 1, 0, t0 + i * 1000);
    r.request_body = R"({"messages":[)" + std::to_string(i) + "]}";
    batch.push_back(r);
  }
  ASSERT_TRUE(store().WriteBatch(batch).ok());

  LinkingScan scan;
  scan.domain = "a.example";
  scan.inference_only = true;
  scan.limit = 2;
  auto page1 = store().LoadForLinking(scan);
  ASSERT_TRUE(page1.ok()) << page1.status().ToString();
  ASSERT_EQ(page1->size(), 2u);
  EXPECT_EQ((*page1)[0].request_id, batch[0].request_id);
  EXPECT_EQ((*page1)[1].request_id, batch[1].request_id);
  EXPECT_TRUE((*page1)[0].request_body.empty());  // bodies only when asked for
  scan.after = std::make_pair((*page1)[1].timestamp_unix_micros, (*page1)[1].request_id);
  scan.all_request_bodies = true;
  auto page2 = store().LoadForLinking(scan);
  ASSERT_TRUE(page2.ok()) << page2.status().ToString();
  ASSERT_EQ(page2->size(), 1u);  // 2 is another domain, 3 is not inference
  EXPECT_EQ((*page2)[0].request_id, batch[4].request_id);
  EXPECT_EQ((*page2)[0].request_body, batch[4].request_body);
  EXPECT_EQ((*page2)[0].timestamp_unix_micros, batch[4].timestamp_unix_micros);

  Record link = batch[4];
  link.link.conversation_id = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
  link.link.branch_id = "subtask_1";
  link.link.parent_request_id = batch[1].request_id;
  link.link.current_message_hash = std::string(64, 'c');
  link.link.is_subtask = true;
  Status s = store().UpdateLinks(std::vector{link});
  ASSERT_TRUE(s.ok()) << s.ToString();
  Record got = ReadBack(*target_, link.request_id);
  EXPECT_EQ(got.link.conversation_id, link.link.conversation_id);
  EXPECT_EQ(got.link.branch_id, "subtask_1");
  EXPECT_EQ(got.link.parent_request_id, batch[1].request_id);
  EXPECT_EQ(got.link.current_message_hash, link.link.current_message_hash);
  EXPECT_TRUE(got.link.is_subtask);
  EXPECT_EQ(got.model, batch[4].model);  // other columns untouched

  scan = LinkingScan();
  scan.newest_first = true;
  scan.limit = 10;
  auto all = store().LoadForLinking(scan);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 5u);
  EXPECT_EQ(all->front().request_id, batch[4].request_id);
  EXPECT_EQ(all->front().link.conversation_id, link.link.conversation_id);
}

}  // namespace cn::storage::testing

namespace cn::storage::testing {

using Counts = std::vector<std::int64_t>;

TEST_P(StoreConformanceTest, ChunkTokenCountsComeFromChunkUsage) {
  Record full = FullRecord(1);
  // The store writes what enrichment read and parses no event itself: these entries disagree
  // with the chunks on purpose.
  Record told = FullRecord(2);
  told.chunk_usage = {{1, R"({"usage":{"output_tokens":7}})", 7}};
  Record none = FullRecord(3);
  none.chunk_usage.clear();
  ASSERT_TRUE(store().WriteBatch(std::vector{full, told, none}).ok());
  EXPECT_EQ(target_->ChunkTokenCounts(full.request_id), (Counts{0, 0, 42}));
  EXPECT_EQ(target_->ChunkTokenCounts(told.request_id), (Counts{0, 7, 0}));
  EXPECT_EQ(target_->ChunkTokenCounts(none.request_id), (Counts{0, 0, 0}));
  // chunk_usage is not read back (Store::GetRecord).
  EXPECT_TRUE(ReadBack(*target_, full.request_id).chunk_usage.empty());
}

TEST_P(StoreConformanceTest, PruneOlderThanDeletesTheOldestInBoundedBatchesWithTheirChunks) {
  const std::int64_t t0 = 1'700'000'000'000'000;
  std::vector<Record> batch;
  for (int i = 0; i < 10; ++i) {
    Record r = FullRecord(i);
    r.timestamp_unix_micros = t0 + i * 1'000'000LL;
    batch.push_back(r);
  }
  // Written newest first: "oldest first" must come from the timestamps, not the insert order.
  std::vector<Record> reversed(batch.rbegin(), batch.rend());
  ASSERT_TRUE(store().WriteBatch(reversed).ok());
  const std::int64_t cutoff = batch[5].timestamp_unix_micros;  // 0..4 are older; 5 is not

  auto none = store().PruneOlderThan(cutoff, 0);
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_EQ(*none, 0);
  EXPECT_EQ(Count(*target_), 10);

  auto first = store().PruneOlderThan(cutoff, 3);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(*first, 3);
  for (int i = 0; i < 5; ++i) {
    auto got = store().GetRecord(batch[i].request_id);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(got->has_value(), i >= 3) << "record " << i;
  }
  auto second = store().PruneOlderThan(cutoff, 3);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(*second, 2);
  auto third = store().PruneOlderThan(cutoff, 3);
  ASSERT_TRUE(third.ok()) << third.status().ToString();
  EXPECT_EQ(*third, 0);

  EXPECT_EQ(Count(*target_), 5);
  EXPECT_TRUE(target_->ChunkTokenCounts(batch[4].request_id).empty());  // chunks went too
  EXPECT_EQ(target_->ChunkTokenCounts(batch[5].request_id), (Counts{0, 0, 42}));
  for (int i = 5; i < 10; ++i) {
    ExpectSameRecord(batch[i], ReadBack(*target_, batch[i].request_id), GetParam().canonical_json);
  }
}

TEST_P(StoreConformanceTest, PruneOlderThanRunsBesideTheWriter) {
  const std::int64_t t0 = 1'700'000'000'000'000;
  const std::int64_t cutoff = t0 + 1'000'000'000;  // every old record is before, every new after
  std::vector<Record> old;
  for (int i = 0; i < 200; ++i) {
    old.push_back(SimpleRecord("old.example", "inference", 1, 1, 0, t0 + i * 1000LL));
  }
  ASSERT_TRUE(store().WriteBatch(old).ok());

  constexpr int kBatches = 20;
  constexpr int kBatchSize = 10;
  std::vector<Status> writes(kBatches);
  std::thread writer([&] {
    for (int b = 0; b < kBatches; ++b) {
      std::vector<Record> batch;
      for (int i = 0; i < kBatchSize; ++i) {
        batch.push_back(SimpleRecord("new.example", "inference", 1, 1, 0,
                                     cutoff + (b * kBatchSize + i) * 1000LL));
      }
      writes[b] = store().WriteBatch(batch);
    }
  });
  std::int64_t pruned = 0;
  Status prune_error;
  for (int pass = 0; pass < 1000; ++pass) {  // bounded: 200 rows take 29 batches of 7
    auto n = store().PruneOlderThan(cutoff, 7);
    if (!n.ok()) {
      prune_error = n.status();
      break;
    }
    pruned += *n;
    if (*n == 0) break;
  }
  writer.join();

  EXPECT_TRUE(prune_error.ok()) << prune_error.ToString();
  for (const Status& s : writes) EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(pruned, 200);
  EXPECT_EQ(Count(*target_), kBatches * kBatchSize);
}

// ---- Search and the live feed (docs/storage.md "Search and the live feed") --------------------

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

TEST_P(StoreConformanceTest, NewRecordsWithSearchTextAreSearchableOnce) {
  Record one = FullRecord(1);  // search_text "hi é word1\nHello"
  Record two = FullRecord(2);
  two.search_text = "Nothing about zebras\nthe giraffe answer";
  Record none = FullRecord(3);
  none.search_text.clear();
  const std::vector<Record> batch = {one, two, none};
  ASSERT_TRUE(store().WriteBatch(batch).ok());
  EXPECT_EQ(target_->SearchRowCount(), 2);
  EXPECT_EQ(target_->SearchMatches("word1"), std::vector<std::string>{one.request_id});
  EXPECT_EQ(target_->SearchMatches("giraffe"), std::vector<std::string>{two.request_id});
  EXPECT_EQ(target_->SearchMatches("hello"), Sorted({one.request_id}));
  EXPECT_TRUE(target_->SearchMatches("word3").empty());

  // A replayed batch (same ids, other text) adds no search row and changes none.
  std::vector<Record> replay = batch;
  for (Record& r : replay) r.search_text = "replayed elephant";
  Status s = store().WriteBatch(replay);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(target_->SearchRowCount(), 2);
  EXPECT_TRUE(target_->SearchMatches("elephant").empty());
  EXPECT_EQ(target_->SearchMatches("word1"), std::vector<std::string>{one.request_id});
}

TEST_P(StoreConformanceTest, EachNewRecordGetsOneEventInCommitOrder) {
  const std::vector<Record> first = {FullRecord(1), FullRecord(2)};
  const std::vector<Record> second = {FullRecord(3)};
  ASSERT_TRUE(store().WriteBatch(first).ok());
  ASSERT_TRUE(store().WriteBatch(second).ok());
  // Replays (a whole batch, and a batch mixing an old and a new record) add only the new one.
  ASSERT_TRUE(store().WriteBatch(first).ok());
  const Record fourth = FullRecord(4);
  ASSERT_TRUE(store().WriteBatch(std::vector<Record>{second[0], fourth}).ok());

  const auto events = target_->Events();
  ASSERT_EQ(events.size(), 4u);
  const std::vector<std::string> want = {first[0].request_id, first[1].request_id,
                                         second[0].request_id, fourth.request_id};
  for (std::size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].second, want[i]) << "event " << i;
    if (i > 0) EXPECT_GT(events[i].first, events[i - 1].first) << "event " << i;
  }
}

TEST_P(StoreConformanceTest, RetentionDeletesSearchRowsOfPrunedRequestsAndDayOldEvents) {
  const std::int64_t t0 = 1'700'000'000'000'000;
  std::vector<Record> batch;
  for (int i = 0; i < 4; ++i) {
    Record r = FullRecord(i);  // word0 .. word3
    r.timestamp_unix_micros = t0 + i * 1'000'000LL;
    batch.push_back(r);
  }
  ASSERT_TRUE(store().WriteBatch(batch).ok());
  ASSERT_EQ(target_->SearchRowCount(), 4);
  // The feed keeps 24 hours: the first two events are older than that.
  constexpr std::int64_t kDay = 24LL * 3600 * 1'000'000;
  target_->BackdateEvent(batch[0].request_id, kDay + 60'000'000);
  target_->BackdateEvent(batch[1].request_id, kDay + 60'000'000);

  auto pruned = store().PruneOlderThan(batch[2].timestamp_unix_micros, 100);  // 0 and 1 go
  ASSERT_TRUE(pruned.ok()) << pruned.status().ToString();
  EXPECT_EQ(*pruned, 2);
  EXPECT_EQ(target_->SearchRowCount(), 2);
  EXPECT_TRUE(target_->SearchMatches("word0").empty());
  EXPECT_TRUE(target_->SearchMatches("word1").empty());
  EXPECT_EQ(target_->SearchMatches("word2"), std::vector<std::string>{batch[2].request_id});
  EXPECT_EQ(target_->SearchMatches("hello"), Sorted({batch[2].request_id, batch[3].request_id}));
  const auto events = target_->Events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].second, batch[2].request_id);
  EXPECT_EQ(events[1].second, batch[3].request_id);

  // A pass with nothing to prune keeps the younger events and the search rows.
  auto again = store().PruneOlderThan(batch[2].timestamp_unix_micros, 100);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, 0);
  EXPECT_EQ(target_->Events().size(), 2u);
  EXPECT_EQ(target_->SearchRowCount(), 2);
}

TEST_P(StoreConformanceTest, SharedByReplicasSaysWhetherOtherProcessesWriteTheStore) {
  EXPECT_EQ(store().SharedByReplicas(), GetParam().shared_by_replicas);
}

}  // namespace cn::storage::testing
