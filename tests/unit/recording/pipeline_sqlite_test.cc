// The record pipeline in front of the real embedded store, with the fault injector between them:
// an outage spills, recovery replays, and SQLite ends up with every record exactly once.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "fakes/faulty_store.h"
#include "recording/pipeline.h"
#include "storage/sqlite/sqlite_store.h"
#include "test_util.h"

namespace cn::recording {
namespace {

using std::chrono::milliseconds;

TEST(PipelineSqliteTest, OutageSpillsAndRecoveryReplaysIntoSqlite) {
  test::ScratchDir dir;
  StatusOr<std::unique_ptr<storage::SqliteStore>> opened =
      storage::SqliteStore::Open({.path = (dir.path() / "claude-nexus.db").string()});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  storage::SqliteStore& sqlite = **opened;
  ASSERT_TRUE(sqlite.Migrate().ok());
  testing::FaultyStore store(sqlite);

  PipelineOptions o;
  o.spill_dir = dir.path() / "spill";
  o.batch_size = 16;
  o.flush_interval = milliseconds(5);
  o.retry_min = milliseconds(5);
  o.retry_max = milliseconds(40);
  constexpr int kTotal = 100;

  RecordPipeline p(store, o, nullptr, nullptr);
  ASSERT_TRUE(p.Start().ok());
  for (int i = 0; i < kTotal / 2; ++i) p.Submit(test::MakeRecord(i));
  ASSERT_TRUE(test::WaitFor([&] { return p.Stats().written == kTotal / 2; }));

  store.SetDown(true);
  for (int i = kTotal / 2; i < kTotal; ++i) p.Submit(test::MakeRecord(i));
  ASSERT_TRUE(test::WaitFor([&] { return p.Stats().spilled == kTotal / 2; }));
  StatusOr<std::int64_t> during = sqlite.CountRecords();
  ASSERT_TRUE(during.ok());
  EXPECT_EQ(*during, kTotal / 2);

  store.SetDown(false);
  ASSERT_TRUE(test::WaitFor([&] {
    const PipelineStats s = p.Stats();
    return s.replayed == kTotal / 2 && s.spill_segments == 0;
  }));
  p.Shutdown(milliseconds(5000));

  StatusOr<std::int64_t> count = sqlite.CountRecords();
  ASSERT_TRUE(count.ok()) << count.status().ToString();
  EXPECT_EQ(*count, kTotal);
  // A replayed record keeps its binary body and its stream chunks through the spill file.
  const Record expected = test::MakeRecord(kTotal - 1);
  StatusOr<std::optional<Record>> got = sqlite.GetRecord(expected.request_id);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->response_body, expected.response_body);
  EXPECT_EQ((*got)->chunks, expected.chunks);
  EXPECT_EQ((*got)->request_headers, expected.request_headers);
  EXPECT_EQ(p.Stats().failed, 0u);
}

}  // namespace
}  // namespace cn::recording
