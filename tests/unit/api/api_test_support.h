// What the API conformance suite (tests/unit/api) shares: a migrated, empty store per backend
// (SQLite in a temporary directory, PostgreSQL in a throw-away database on the server named by
// CN_TEST_DATABASE_URL), a fixed clock, enriched records built field by field, and a fixture
// that answers API requests through api::Handle over the store's own SqlReader.
//
// PostgreSQL without a server: the tests skip locally and fail under CI=true
// (tests/unit/storage/pg_test_database.h).
//
// Thread-safety: test code, one thread.
#pragma once

#include <gtest/gtest.h>

#include <boost/json/value.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "api/api.h"
#include "record/record.h"
#include "storage/reader.h"
#include "storage/store.h"

namespace cn::api::testing {

inline constexpr std::int64_t kSecondUs = 1'000'000;
inline constexpr std::int64_t kMinuteUs = 60 * kSecondUs;
inline constexpr std::int64_t kHourUs = 60 * kMinuteUs;
inline constexpr std::int64_t kDayUs = 24 * kHourUs;
// The suite's clock: 2026-03-10T12:00:00Z. Every window is computed from it.
inline constexpr std::int64_t kNowUs = 1'773'144'000LL * kSecondUs;

// A migrated, empty store that owns its database (directory or PostgreSQL database).
class StoreUnderTest {
 public:
  virtual ~StoreUnderTest() = default;
  virtual Store& store() = 0;
};

struct Backend {
  std::string name;
  std::function<std::unique_ptr<StoreUnderTest>()> make;  // null after ADD_FAILURE
  std::function<std::string()> missing;                   // non-empty: cannot run here
};
inline void PrintTo(const Backend& b, std::ostream* os) { *os << b.name; }
std::vector<Backend> Backends();

// Deterministic uuids: request ids sort by n (the lists' tie-break), conversation ids too.
std::string Id(int n);
std::string ConvId(int n);

// An enriched, completed, priced-nothing inference request of account acc-a on
// alpha.example.com at `at_us` (claude-sonnet-4, status 200, no conversation, no quota).
Record Base(int n, std::int64_t at_us);

std::string Iso(std::int64_t us);  // FormatIso8601

// An API answer with its body parsed (null when the body is not JSON: a test failure).
struct Reply {
  Response response;
  int status = 0;
  boost::json::value body;
};

// The string `v` holds, or a marker that shows what it holds instead (for EXPECT_EQ).
std::string Str(const boost::json::value& v);
// A number of any JSON kind (int64, uint64, double) as double.
double Num(const boost::json::value& v);
// The `key` string of every object in `array` (null -> "<null>").
std::vector<std::string> Strings(const boost::json::value& array, std::string_view key);
// {"type":"error","error":{"type":"invalid_request_error","code":"bad_parameter","message":...}}.
void ExpectBadRequest(const Reply& r, std::string_view context);

// One store per test; the parameter names the backend.
class ApiTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override;
  void TearDown() override;

  void Write(const std::vector<Record>& records);
  Reply Call(const Request& req);
  Reply Get(std::string_view path_and_query);
  Store& store() { return target_->store(); }
  SqlReader& reader() { return *reader_; }

  std::unique_ptr<StoreUnderTest> target_;
  std::unique_ptr<SqlReader> reader_;
};

// Request ids of the standard data set (Dataset()), named by role.
enum DatasetId : int {
  kR1 = 1,   // conversation C1 main, T-3h, quota allowed 0.50, streamed, searchable "tokenizer"
  kR2 = 2,   // C1 main, T-2h, quota allowed_warning 0.85, the Task call that starts C2
  kS1 = 3,   // C2 (sub-agent of R2) subtask_1, T-2h+1m
  kS2 = 4,   // C2 subtask_1, T-2h+2m
  kR3 = 5,   // C1 branch_1 (a user branch), T-1h, quota allowed_warning 0.92
  kR4 = 6,   // C1 compact_1, T-30m, 500 upstream_failed, quota as R3 (no new sample)
  kB1 = 7,   // C3 on beta (acc-b, user-2, session-2), claude-opus-4, T-2d, status 429
  kB2 = 8,   // C3, T-26h, client_aborted, unpriced
  kQ1 = 9,   // beta query_evaluation claude-haiku-4, T-10m, session-3, no conversation
  kK1 = 10,  // alpha count_tokens claude-haiku-4, T-5m, no user, unpriced
  kX1 = 11,  // alpha, T-4d, 401 rejected "invalid api key", unpriced
  kE1 = 12,  // gamma, T-6d, no account; user/session/error made to test CSV quoting
};
inline constexpr int kC1 = 1, kC2 = 2, kC3 = 3;
// The twelve records above, in a shuffled write order.
std::vector<Record> Dataset();
// Id(n) of each of `ids`, in the order given.
std::vector<std::string> Ids(std::initializer_list<int> ids);

}  // namespace cn::api::testing
