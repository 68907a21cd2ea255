#include "recording/pipeline.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fakes/faulty_store.h"
#include "recording/record_json.h"
#include "test_util.h"

namespace cn::recording {
namespace {

using std::chrono::milliseconds;
using test::MakeRecord;
using test::MemoryStore;
using test::WaitFor;
namespace fs = std::filesystem;

std::vector<fs::path> FilesWithSuffix(const fs::path& dir, std::string_view suffix) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().string().ends_with(suffix)) out.push_back(e.path());
  }
  return out;
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Counts enrich and on_committed calls per request_id (both run on the writer thread; the test
// thread reads them).
class Observer {
 public:
  RecordPipeline::EnrichFn Enrich() {
    return [this](Record& r) {
      std::lock_guard lk(mu_);
      ++enriched_[r.request_id];
      enrich_order_.push_back(r.request_id);
      r.model = "enriched-model";
    };
  }
  RecordPipeline::CommittedFn Committed() {
    return [this](std::span<const Record> rs) {
      std::lock_guard lk(mu_);
      for (const Record& r : rs) ++committed_[r.request_id];
    };
  }
  std::map<std::string, int> enriched() const {
    std::lock_guard lk(mu_);
    return enriched_;
  }
  std::vector<std::string> enrich_order() const {
    std::lock_guard lk(mu_);
    return enrich_order_;
  }
  std::map<std::string, int> committed() const {
    std::lock_guard lk(mu_);
    return committed_;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, int> enriched_, committed_;
  std::vector<std::string> enrich_order_;
};

// Every id in [0, n) appears exactly once in `counts`, with count 1.
void ExpectExactlyOnce(const std::map<std::string, int>& counts, int n, const char* what) {
  EXPECT_EQ(counts.size(), static_cast<std::size_t>(n)) << what;
  for (int i = 0; i < n; ++i) {
    auto it = counts.find(MakeRecord(i).request_id);
    ASSERT_NE(it, counts.end()) << what << ": missing " << i;
    EXPECT_EQ(it->second, 1) << what << ": " << it->first;
  }
}

class PipelineTest : public ::testing::Test {
 protected:
  PipelineOptions Options() const {
    PipelineOptions o;
    o.spill_dir = dir_.path() / "spill";
    o.queue_capacity = 256;
    o.batch_size = 32;
    o.flush_interval = milliseconds(5);
    o.retry_min = milliseconds(5);
    o.retry_max = milliseconds(40);
    return o;
  }

  test::ScratchDir dir_;
  MemoryStore memory_;
  testing::FaultyStore store_{memory_};
  Observer observer_;
};

TEST_F(PipelineTest, WritesEveryRecordExactlyOnceInBatches) {
  constexpr int kThreads = 4, kPerThread = 250, kTotal = kThreads * kPerThread;
  PipelineOptions o = Options();
  o.queue_capacity = kTotal;  // the plain path: no overflow, so nothing touches the spill file
  RecordPipeline p(store_, o, observer_.Enrich(), observer_.Committed());
  ASSERT_TRUE(p.Start().ok());
  std::vector<std::thread> submitters;
  for (int t = 0; t < kThreads; ++t) {
    submitters.emplace_back([&p, t] {
      for (int i = t * kPerThread; i < (t + 1) * kPerThread; ++i) p.Submit(MakeRecord(i));
    });
  }
  for (std::thread& t : submitters) t.join();
  ASSERT_TRUE(WaitFor([&] { return p.Stats().written == kTotal; })) << p.Stats().written;
  p.Shutdown(milliseconds(5000));

  ExpectExactlyOnce(memory_.insert_attempts(), kTotal, "store inserts");
  ExpectExactlyOnce(observer_.enriched(), kTotal, "enrich calls");
  ExpectExactlyOnce(observer_.committed(), kTotal, "on_committed");
  EXPECT_EQ(memory_.unenriched_writes(), 0u);
  EXPECT_EQ(memory_.records().at("req-3").model, "enriched-model");
  EXPECT_LT(memory_.write_calls(), static_cast<std::size_t>(kTotal) / 4)
      << "records were not batched";
  const PipelineStats s = p.Stats();
  EXPECT_EQ(s.submitted, static_cast<std::uint64_t>(kTotal));
  EXPECT_EQ(s.write_batches, memory_.write_calls());
  EXPECT_EQ(s.spilled + s.failed + s.replayed + s.queued, 0u);
  EXPECT_TRUE(s.store_healthy);
}

TEST_F(PipelineTest, PartialBatchIsFlushedAfterTheInterval) {
  RecordPipeline p(store_, Options(), nullptr, nullptr);  // empty callbacks are allowed
  ASSERT_TRUE(p.Start().ok());
  p.Submit(MakeRecord(0));  // far below batch_size: only flush_interval can write it
  ASSERT_TRUE(WaitFor([&] { return memory_.size() == 1; }));
  EXPECT_TRUE(memory_.records().at("req-0").enriched);
  p.Shutdown(milliseconds(1000));
}

TEST_F(PipelineTest, RecordsAreEnrichedInArrivalOrderNotQueueOrder) {
  // A record is queued when its response has been sent; a conversation's next request can be
  // answered (by another I/O thread) and queued first. Linking must see the parent first.
  PipelineOptions o = Options();
  o.batch_size = 3;                             // the third Submit hands all three over at once
  o.flush_interval = std::chrono::seconds(30);  // never split by age
  RecordPipeline p(store_, o, observer_.Enrich(), observer_.Committed());
  ASSERT_TRUE(p.Start().ok());
  for (int i : {2, 0, 1}) p.Submit(MakeRecord(i));  // MakeRecord(i) arrived at base + i µs
  ASSERT_TRUE(WaitFor([&] { return p.Stats().written == 3; }));
  p.Shutdown(milliseconds(1000));
  EXPECT_EQ(memory_.write_calls(), 1u) << "the three records were not one batch";
  EXPECT_EQ(observer_.enrich_order(), (std::vector<std::string>{"req-0", "req-1", "req-2"}));
}

TEST_F(PipelineTest, StoreOutageSpillsThenReplaysWithoutLossOrDuplicates) {
  constexpr int kTotal = 300;
  store_.SetDown(true);
  RecordPipeline p(store_, Options(), observer_.Enrich(), observer_.Committed());
  ASSERT_TRUE(p.Start().ok());
  for (int i = 0; i < kTotal; ++i) p.Submit(MakeRecord(i));

  ASSERT_TRUE(WaitFor([&] { return p.Stats().spilled == kTotal; })) << p.Stats().spilled;
  EXPECT_FALSE(p.Stats().store_healthy);
  EXPECT_EQ(memory_.size(), 0u);
  EXPECT_FALSE(FilesWithSuffix(Options().spill_dir, ".jsonl").empty());
  EXPECT_GT(p.Stats().spill_bytes, 0u);
  EXPECT_TRUE(WaitFor([&] { return store_.ping_calls() >= 2; })) << "no probing while degraded";

  store_.SetDown(false);
  ASSERT_TRUE(WaitFor([&] {
    const PipelineStats s = p.Stats();
    return s.replayed == kTotal && s.spill_segments == 0;
  })) << p.Stats().replayed;
  p.Shutdown(milliseconds(5000));

  ExpectExactlyOnce(memory_.insert_attempts(), kTotal, "store inserts");
  ExpectExactlyOnce(observer_.enriched(), kTotal, "enrich calls");
  ExpectExactlyOnce(observer_.committed(), kTotal, "on_committed");
  EXPECT_EQ(memory_.unenriched_writes(), 0u);
  const PipelineStats s = p.Stats();
  EXPECT_TRUE(s.store_healthy);
  EXPECT_EQ(s.written, static_cast<std::uint64_t>(kTotal));
  EXPECT_EQ(s.written - s.replayed + s.spilled, s.submitted) << "direct + spilled == submitted";
  EXPECT_EQ(s.failed, 0u);
  EXPECT_EQ(s.quarantined, 0u);
  EXPECT_EQ(s.spill_bytes, 0u);
  EXPECT_TRUE(FilesWithSuffix(Options().spill_dir, ".jsonl").empty());
}

TEST_F(PipelineTest, TransientWriteFailuresAreRetriedFromTheSpillFile) {
  constexpr int kTotal = 200;
  store_.FailNextWrites(3);  // pings stay fine: the first probe succeeds, the replay fails again
  RecordPipeline p(store_, Options(), observer_.Enrich(), observer_.Committed());
  ASSERT_TRUE(p.Start().ok());
  for (int i = 0; i < kTotal; ++i) p.Submit(MakeRecord(i));
  ASSERT_TRUE(WaitFor([&] {
    const PipelineStats s = p.Stats();
    return s.written == kTotal && s.spill_segments == 0;
  })) << p.Stats().written;
  p.Shutdown(milliseconds(5000));
  EXPECT_EQ(store_.failed_writes(), 3u);
  ExpectExactlyOnce(memory_.insert_attempts(), kTotal, "store inserts");
  ExpectExactlyOnce(observer_.enriched(), kTotal, "enrich calls");
  const PipelineStats s = p.Stats();
  EXPECT_GT(s.spilled, 0u);
  EXPECT_EQ(s.replayed, s.spilled);
  EXPECT_EQ(s.failed, 0u);
}

TEST_F(PipelineTest, SlowStoreOverflowIsSpilledWithoutBlockingSubmit) {
  PipelineOptions o = Options();
  o.queue_capacity = 16;
  o.batch_size = 8;
  constexpr int kBurst = 200;
  store_.Hold();
  RecordPipeline p(store_, o, observer_.Enrich(), observer_.Committed());
  ASSERT_TRUE(p.Start().ok());
  p.Submit(MakeRecord(0));
  ASSERT_TRUE(store_.WaitUntilHeld(std::chrono::seconds(20))) << "writer never reached the store";

  // The writer is parked inside WriteBatch. A burst far beyond queue_capacity must still return.
  std::promise<void> submitted;
  std::thread burst([&] {
    for (int i = 1; i <= kBurst; ++i) p.Submit(MakeRecord(i));
    submitted.set_value();
  });
  const bool returned =
      submitted.get_future().wait_for(std::chrono::seconds(20)) == std::future_status::ready;
  EXPECT_TRUE(returned) << "Submit blocked behind a stuck store";
  EXPECT_EQ(store_.completed_writes(), 0u) << "the store was released before Submit returned";
  // The spill thread writes the overflow while the writer is still stuck.
  EXPECT_TRUE(WaitFor([&] { return p.Stats().spilled == kBurst - o.queue_capacity; }))
      << p.Stats().spilled;
  EXPECT_EQ(store_.completed_writes(), 0u);
  store_.Release();
  burst.join();

  ASSERT_TRUE(WaitFor([&] {
    const PipelineStats s = p.Stats();
    return s.written == kBurst + 1 && s.spill_segments == 0;
  })) << p.Stats().written;
  p.Shutdown(milliseconds(5000));
  ExpectExactlyOnce(memory_.insert_attempts(), kBurst + 1, "store inserts");
  ExpectExactlyOnce(observer_.enriched(), kBurst + 1, "enrich calls");
  EXPECT_EQ(memory_.unenriched_writes(), 0u) << "overflow records were stored un-enriched";
  const PipelineStats s = p.Stats();
  EXPECT_EQ(s.replayed, s.spilled);
  EXPECT_EQ(s.failed, 0u);
}

TEST_F(PipelineTest, NewInstanceReplaysWhatThePreviousOneSpilled) {
  constexpr int kTotal = 120;
  store_.SetDown(true);
  {
    RecordPipeline first(store_, Options(), observer_.Enrich(), observer_.Committed());
    ASSERT_TRUE(first.Start().ok());
    for (int i = 0; i < kTotal; ++i) first.Submit(MakeRecord(i));
    ASSERT_TRUE(WaitFor([&] { return first.Stats().spilled == kTotal; }));
  }  // destroyed while degraded: nothing left in memory, the spill file keeps everything
  EXPECT_FALSE(FilesWithSuffix(Options().spill_dir, ".jsonl").empty());

  MemoryStore fresh;
  Observer second_observer;
  RecordPipeline second(fresh, Options(), second_observer.Enrich(), second_observer.Committed());
  ASSERT_TRUE(second.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return second.Stats().spill_segments == 0; }));
  second.Shutdown(milliseconds(5000));
  ExpectExactlyOnce(fresh.insert_attempts(), kTotal, "store inserts");
  EXPECT_TRUE(second_observer.enriched().empty()) << "records spilled enriched were enriched again";
  EXPECT_EQ(second.Stats().replayed, static_cast<std::uint64_t>(kTotal));
  EXPECT_EQ(fresh.records().at("req-5").model, "enriched-model");
  EXPECT_TRUE(FilesWithSuffix(Options().spill_dir, ".jsonl").empty());
}

TEST_F(PipelineTest, ShutdownWithDeadStoreSpillsEverythingAndNextStartReplaysIt) {
  PipelineOptions o = Options();
  o.flush_interval = std::chrono::hours(1);  // everything is still queued when Shutdown() runs
  o.batch_size = 1000;
  constexpr int kTotal = 50;
  store_.SetDown(true);
  RecordPipeline first(store_, o, observer_.Enrich(), observer_.Committed());
  ASSERT_TRUE(first.Start().ok());
  for (int i = 0; i < kTotal; ++i) first.Submit(MakeRecord(i));
  EXPECT_EQ(first.Stats().queued, static_cast<std::uint64_t>(kTotal));
  first.Shutdown(milliseconds(2000));
  first.Shutdown(milliseconds(2000));  // idempotent
  PipelineStats s = first.Stats();
  EXPECT_EQ(s.spilled, static_cast<std::uint64_t>(kTotal));
  EXPECT_EQ(s.written, 0u);
  EXPECT_EQ(s.queued, 0u);
  EXPECT_EQ(s.failed, 0u);
  ExpectExactlyOnce(observer_.enriched(), kTotal, "enrich before spilling");

  first.Submit(MakeRecord(999));
  EXPECT_EQ(first.Stats().rejected_after_shutdown, 1u);

  store_.SetDown(false);
  RecordPipeline second(store_, Options(), observer_.Enrich(), observer_.Committed());
  ASSERT_TRUE(second.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return second.Stats().replayed == kTotal; }));
  second.Shutdown(milliseconds(5000));
  ExpectExactlyOnce(memory_.insert_attempts(), kTotal, "store inserts");
  ExpectExactlyOnce(observer_.enriched(), kTotal, "enrich across both instances");
}

TEST_F(PipelineTest, RotatedSegmentsAreAllReplayedInOrder) {
  PipelineOptions o = Options();
  o.segment_max_bytes = 1;  // every append closes its segment
  o.batch_size = 4;
  constexpr int kTotal = 40;
  store_.SetDown(true);
  RecordPipeline p(store_, o, observer_.Enrich(), observer_.Committed());
  ASSERT_TRUE(p.Start().ok());
  for (int i = 0; i < kTotal; ++i) p.Submit(MakeRecord(i));
  ASSERT_TRUE(WaitFor([&] { return p.Stats().spilled == kTotal; }));
  EXPECT_GT(FilesWithSuffix(o.spill_dir, ".jsonl").size(), 1u);
  EXPECT_EQ(p.Stats().spill_segments, FilesWithSuffix(o.spill_dir, ".jsonl").size());
  store_.SetDown(false);
  ASSERT_TRUE(WaitFor([&] { return p.Stats().spill_segments == 0; }));
  p.Shutdown(milliseconds(5000));
  ExpectExactlyOnce(memory_.insert_attempts(), kTotal, "store inserts");
  EXPECT_TRUE(FilesWithSuffix(o.spill_dir, ".jsonl").empty());
  EXPECT_EQ(p.Stats().spill_bytes, 0u);
}

TEST_F(PipelineTest, ShutdownWithZeroDeadlineSpillsInsteadOfWriting) {
  PipelineOptions o = Options();
  o.flush_interval = std::chrono::hours(1);
  o.batch_size = 1000;
  RecordPipeline p(store_, o, nullptr, nullptr);
  ASSERT_TRUE(p.Start().ok());
  for (int i = 0; i < 10; ++i) p.Submit(MakeRecord(i));
  p.Shutdown(milliseconds(0));
  EXPECT_EQ(p.Stats().spilled, 10u);
  EXPECT_EQ(store_.write_calls(), 0u);
}

TEST_F(PipelineTest, TornLastLineIsSkippedAndCorruptLinesAreQuarantined) {
  const PipelineOptions o = Options();
  fs::create_directories(o.spill_dir);
  Record good1 = MakeRecord(1), good2 = MakeRecord(2);
  good2.enriched = true;  // spilled by a writer: must not be enriched again
  const std::string torn = RecordToJson(MakeRecord(3));
  {
    std::ofstream f(o.spill_dir / "spill-00000007.jsonl", std::ios::binary);
    f << RecordToJson(good1) << "\n"
      << "{this is not json\n"
      << RecordToJson(good2) << "\n"
      << torn.substr(0, torn.size() / 2);  // kill -9 in the middle of an append
  }
  RecordPipeline p(store_, o, observer_.Enrich(), observer_.Committed());
  ASSERT_TRUE(p.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return p.Stats().spill_segments == 0; }));
  const PipelineStats s = p.Stats();
  EXPECT_EQ(s.replayed, 2u);
  EXPECT_EQ(s.quarantined, 2u);
  EXPECT_EQ(memory_.size(), 2u);
  EXPECT_EQ(observer_.enriched(), (std::map<std::string, int>{{"req-1", 1}}));
  EXPECT_FALSE(fs::exists(o.spill_dir / "spill-00000007.jsonl"));
  const std::string bad = ReadFile(o.spill_dir / "spill-00000007.bad");
  EXPECT_NE(bad.find("{this is not json\n"), std::string::npos) << bad;
  EXPECT_NE(bad.find(torn.substr(0, torn.size() / 2)), std::string::npos) << bad;

  // New segments continue after the highest existing number, never reusing a .bad name.
  store_.SetDown(true);
  p.Submit(MakeRecord(4));
  ASSERT_TRUE(WaitFor([&] { return p.Stats().spilled == 1; }));
  EXPECT_TRUE(fs::exists(o.spill_dir / "spill-00000008.jsonl"));
  store_.SetDown(false);
  ASSERT_TRUE(WaitFor([&] { return memory_.size() == 3; }));
  p.Shutdown(milliseconds(5000));
}

TEST_F(PipelineTest, RecordTheStoreRejectsIsQuarantinedNotRetriedForever) {
  constexpr int kTotal = 10;
  memory_.Reject("req-4");
  RecordPipeline p(store_, Options(), observer_.Enrich(), observer_.Committed());
  ASSERT_TRUE(p.Start().ok());
  for (int i = 0; i < kTotal; ++i) p.Submit(MakeRecord(i));
  ASSERT_TRUE(WaitFor([&] {
    const PipelineStats s = p.Stats();
    return s.quarantined == 1 && s.spill_segments == 0;
  }));
  p.Shutdown(milliseconds(5000));
  EXPECT_EQ(memory_.size(), static_cast<std::size_t>(kTotal - 1));
  EXPECT_FALSE(memory_.records().contains("req-4"));
  const auto bad = FilesWithSuffix(Options().spill_dir, ".bad");
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_NE(ReadFile(bad[0]).find("\"req-4\""), std::string::npos);
  ExpectExactlyOnce(observer_.enriched(), kTotal, "enrich calls");
  EXPECT_TRUE(p.Stats().store_healthy);
}

TEST_F(PipelineTest, StartFailsOnUnusableSpillDirectory) {
  PipelineOptions o = Options();
  o.spill_dir = dir_.path() / "a-file";
  std::ofstream(o.spill_dir) << "x";
  RecordPipeline p(store_, o, nullptr, nullptr);
  const Status st = p.Start();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("a-file"), std::string::npos) << st.ToString();
}

TEST_F(PipelineTest, RejectsBadOptions) {
  PipelineOptions o = Options();
  o.batch_size = 0;
  RecordPipeline p(store_, o, nullptr, nullptr);
  EXPECT_EQ(p.Start().code(), StatusCode::kInvalidArgument);
}

TEST_F(PipelineTest, StatsReportWriterLag) {
  PipelineOptions o = Options();
  o.flush_interval = std::chrono::hours(1);
  o.batch_size = 1000;
  RecordPipeline p(store_, o, nullptr, nullptr);
  ASSERT_TRUE(p.Start().ok());
  p.Submit(MakeRecord(0));
  // The record waits for its batch; its age only grows.
  EXPECT_TRUE(WaitFor([&] { return p.Stats().oldest_queued_age >= milliseconds(20); }));
  EXPECT_EQ(p.Stats().queued, 1u);
  p.Shutdown(milliseconds(5000));
  EXPECT_EQ(memory_.size(), 1u);
  EXPECT_EQ(p.Stats().queued, 0u);
}

}  // namespace
}  // namespace cn::recording
