// SqlReader (storage/reader.h) on both stores: records written through the Store read back
// through Store::OpenReader() with the same SQL on SQLite and PostgreSQL — typed columns, every
// parameter kind, early stop, placeholders inside literals, the error codes, commits made after
// the reader opened. PostgreSQL adds its session (read-only, UTC, statement_timeout, reconnect)
// and the placeholder rewrite. PostgreSQL needs CN_TEST_DATABASE_URL (scripts/ci-postgres.sh):
// without it those tests skip locally and fail under CI=true.
#include "storage/reader.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <limits>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "storage/sqlite/sqlite_store.h"
#include "storage/store.h"
#include "store_test_target.h"
#ifdef CN_TEST_POSTGRES
#include "pg_test_database.h"
#include "storage/postgres/pg_reader.h"
#include "storage/postgres/postgres_store.h"
#endif

namespace cn::storage::testing {
namespace {

// A migrated, empty store and what a test needs besides it.
class ReaderTarget {
 public:
  virtual ~ReaderTarget() = default;
  virtual Store& store() = 0;
  // Runs SQL as the database's owner, beside the store ("" on success, else the error).
  virtual std::string AdminExec(const std::string& sql) = 0;
};

struct ReaderBackend {
  std::string name;
  std::function<std::unique_ptr<ReaderTarget>()> make;  // null on failure (after ADD_FAILURE)
  std::function<std::string()> missing;                 // non-empty: cannot run here
  SqlDialect dialect = SqlDialect::kSqlite;
};
void PrintTo(const ReaderBackend& b, std::ostream* os) { *os << b.name; }

class SqliteReaderTarget final : public ReaderTarget {
 public:
  static std::unique_ptr<ReaderTarget> Make() {
    auto t = std::make_unique<SqliteReaderTarget>();
    auto store = SqliteStore::Open({t->dir_.path() + "/data/claude-nexus.db"});
    if (!store.ok()) {
      ADD_FAILURE() << store.status().ToString();
      return nullptr;
    }
    if (Status s = (*store)->Migrate(); !s.ok()) {
      ADD_FAILURE() << s.ToString();
      return nullptr;
    }
    t->store_ = std::move(store).value();
    return t;
  }
  Store& store() override { return *store_; }
  std::string AdminExec(const std::string&) override { return "not supported"; }

 private:
  TempDir dir_;  // declared first: removed after the store closed its files
  std::unique_ptr<SqliteStore> store_;
};

#ifdef CN_TEST_POSTGRES
class PgReaderTarget final : public ReaderTarget {
 public:
  static std::unique_ptr<ReaderTarget> Make() {
    auto t = std::make_unique<PgReaderTarget>();
    if (!t->db_.ok()) {
      ADD_FAILURE() << t->db_.error();
      return nullptr;
    }
    auto store = PostgresStore::Open({t->db_.url()});
    if (!store.ok()) {
      ADD_FAILURE() << store.status().ToString();
      return nullptr;
    }
    if (Status s = (*store)->Migrate(); !s.ok()) {
      ADD_FAILURE() << s.ToString();
      return nullptr;
    }
    t->store_ = std::move(store).value();
    return t;
  }
  Store& store() override { return *store_; }
  std::string AdminExec(const std::string& sql) override { return db_.Exec(sql); }

 private:
  PgTestDatabase db_;  // declared first: dropped after the store's connections close
  std::unique_ptr<PostgresStore> store_;
};
#endif

std::vector<ReaderBackend> Backends() {
  std::vector<ReaderBackend> b;
  b.push_back({"Sqlite", &SqliteReaderTarget::Make, nullptr, SqlDialect::kSqlite});
#ifdef CN_TEST_POSTGRES
  b.push_back({"Postgres", &PgReaderTarget::Make, &PostgresMissingReason, SqlDialect::kPostgres});
#endif
  return b;
}

using Rows = std::vector<std::vector<std::string>>;

// Every row of `sql` as text values, NULL as "<null>".
Status Collect(SqlReader& reader, std::string_view sql, const std::vector<SqlParam>& params,
               Rows* rows) {
  rows->clear();
  return reader.Query(sql, params, [&](const SqlRow& row) {
    auto& out = rows->emplace_back();
    for (int c = 0; c < row.size(); ++c) {
      out.push_back(row.IsNull(c) ? "<null>" : std::string(row.Text(c)));
    }
    return true;
  });
}

// The single integer `sql` returns, or -1 after a test failure.
std::int64_t OneInt(SqlReader& reader, std::string_view sql,
                    const std::vector<SqlParam>& params = {}) {
  std::int64_t value = -1;
  int calls = 0;
  Status s = reader.Query(sql, params, [&](const SqlRow& row) {
    ++calls;
    value = row.Int(0);
    return true;
  });
  EXPECT_TRUE(s.ok()) << sql << ": " << s.ToString();
  EXPECT_EQ(calls, 1) << sql;
  return value;
}

class ReaderTest : public ::testing::TestWithParam<ReaderBackend> {
 protected:
  void SetUp() override {
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
    auto reader = store().OpenReader(/*statement_timeout_ms=*/10000);
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    reader_ = std::move(reader).value();
  }
  Store& store() { return target_->store(); }
  SqlReader& reader() { return *reader_; }
  bool postgres() const { return GetParam().dialect == SqlDialect::kPostgres; }

  // Writes FullRecord(1) (a sub-agent request with cost and user) and two SimpleRecords (no
  // cost, no user, not sub-agent), returning them in that order.
  std::vector<Record> WriteThree() {
    std::vector<Record> records = {
        FullRecord(1), SimpleRecord("a.example.com", "inference", 100, 5, 0, 1'795'000'000'000'000),
        SimpleRecord("b.example.com", "query_evaluation", 7, 1, 2, 1'795'000'001'000'000)};
    Status s = store().WriteBatch(records);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return records;
  }

  std::unique_ptr<ReaderTarget> target_;
  std::unique_ptr<SqlReader> reader_;
};

TEST_P(ReaderTest, DialectNamesTheBackend) { EXPECT_EQ(reader().dialect(), GetParam().dialect); }

TEST_P(ReaderTest, CountsAndAggregatesConvertLikeTheValue) {
  WriteThree();
  EXPECT_EQ(OneInt(reader(), "SELECT count(*) FROM api_requests"), 3);
  EXPECT_EQ(OneInt(reader(), "SELECT count(*) FROM streaming_chunks"), 3);
  // sum(integer) is numeric on PostgreSQL, avg a fraction on both: Int truncates, Double keeps.
  int calls = 0;
  Status s = reader().Query(
      "SELECT sum(input_tokens), avg(output_tokens), sum(input_tokens) FROM api_requests "
      "WHERE domain <> ?",
      std::vector{SqlParam::Text("team1.example.com:3000")}, [&](const SqlRow& row) {
        ++calls;
        EXPECT_EQ(row.size(), 3);
        EXPECT_EQ(row.Int(0), 107);
        EXPECT_EQ(row.Int(1), 3);  // (5 + 1) / 2
        EXPECT_DOUBLE_EQ(row.Double(1), 3.0);
        EXPECT_EQ(row.Text(2), "107");
        return true;
      });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(calls, 1);
  s = reader().Query("SELECT avg(input_tokens) FROM api_requests WHERE request_type = ?",
                     std::vector{SqlParam::Text("inference")}, [&](const SqlRow& row) {
                       // FullRecord(1) has 11 input tokens, the inference SimpleRecord 100.
                       EXPECT_EQ(row.Int(0), 55);
                       EXPECT_DOUBLE_EQ(row.Double(0), 55.5);
                       return true;
                     });
  ASSERT_TRUE(s.ok()) << s.ToString();
}

TEST_P(ReaderTest, TypedColumnsReadBack) {
  const std::vector<Record> records = WriteThree();
  const std::string sql =
      "SELECT input_tokens, cost_usd, model, user_id, is_subtask, response_status, domain "
      "FROM api_requests WHERE request_id = ?";
  ASSERT_TRUE(records[0].cost_usd.has_value());
  int calls = 0;
  Status s = reader().Query(sql, std::vector{SqlParam::Text(records[0].request_id)},
                            [&](const SqlRow& row) {
                              ++calls;
                              EXPECT_EQ(row.size(), 7);
                              EXPECT_FALSE(row.IsNull(0));
                              EXPECT_EQ(row.Int(0), records[0].usage.input_tokens);
                              EXPECT_EQ(row.Text(0), std::to_string(records[0].usage.input_tokens));
                              EXPECT_EQ(row.Double(1), *records[0].cost_usd);  // exact round trip
                              EXPECT_EQ(row.Text(2), "claude-3-opus");
                              EXPECT_EQ(row.Text(3), records[0].user_id);
                              EXPECT_FALSE(row.IsNull(4));
                              EXPECT_EQ(row.Int(4), 1);  // PostgreSQL boolean 't'
                              EXPECT_EQ(row.Int(5), 200);
                              EXPECT_EQ(row.Text(6), records[0].domain);
                              return true;
                            });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(calls, 1);

  calls = 0;
  s = reader().Query(sql, std::vector{SqlParam::Text(records[1].request_id)},
                     [&](const SqlRow& row) {
                       ++calls;
                       EXPECT_TRUE(row.IsNull(1));  // no cost
                       EXPECT_EQ(row.Double(1), 0.0);
                       EXPECT_TRUE(row.IsNull(3));  // no user
                       EXPECT_EQ(row.Text(3), "");
                       EXPECT_EQ(row.Int(3), 0);
                       EXPECT_EQ(row.Int(4), 0);  // PostgreSQL boolean 'f'
                       EXPECT_EQ(row.Int(0), 100);
                       return true;
                     });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(calls, 1);
}

TEST_P(ReaderTest, BindsEveryParameterKind) {
  const std::vector<Record> records = WriteThree();
  // Text against the uuid column on PostgreSQL, an int, a boolean, a double and NULL, each
  // typed by where it is used.
  const std::string sql =
      "SELECT request_id FROM api_requests WHERE request_id = ? AND input_tokens = ? "
      "AND is_subtask = ? AND cost_usd > ? AND coalesce(?, 'none') = 'none'";
  Rows rows;
  Status s =
      Collect(reader(), sql,
              {SqlParam::Text(records[0].request_id), SqlParam::Int(records[0].usage.input_tokens),
               SqlParam::Bool(true), SqlParam::Double(1.25), SqlParam::Null()},
              &rows);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(rows, (Rows{{records[0].request_id}}));

  // Each parameter decides: changing any one of them finds nothing.
  const std::vector<std::vector<SqlParam>> misses = {
      {SqlParam::Text(records[1].request_id), SqlParam::Int(records[0].usage.input_tokens),
       SqlParam::Bool(true), SqlParam::Double(1.25), SqlParam::Null()},
      {SqlParam::Text(records[0].request_id), SqlParam::Int(-1), SqlParam::Bool(true),
       SqlParam::Double(1.25), SqlParam::Null()},
      {SqlParam::Text(records[0].request_id), SqlParam::Int(records[0].usage.input_tokens),
       SqlParam::Bool(false), SqlParam::Double(1.25), SqlParam::Null()},
      {SqlParam::Text(records[0].request_id), SqlParam::Int(records[0].usage.input_tokens),
       SqlParam::Bool(true), SqlParam::Double(1.5), SqlParam::Null()},  // cost is 1.3
      {SqlParam::Text(records[0].request_id), SqlParam::Int(records[0].usage.input_tokens),
       SqlParam::Bool(true), SqlParam::Double(1.25), SqlParam::Text("some")},
  };
  for (std::size_t i = 0; i < misses.size(); ++i) {
    s = Collect(reader(), sql, misses[i], &rows);
    ASSERT_TRUE(s.ok()) << i << ": " << s.ToString();
    EXPECT_TRUE(rows.empty()) << "variant " << i;
  }

  // Text is bound byte for byte.
  s = Collect(reader(), "SELECT count(*) FROM api_requests WHERE domain = ?",
              {SqlParam::Text(records[0].domain)}, &rows);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(rows, (Rows{{"1"}}));
}

TEST_P(ReaderTest, StopsWhenTheCallbackSaysSo) {
  WriteThree();
  int calls = 0;
  Status s = reader().Query("SELECT request_id FROM api_requests ORDER BY timestamp", {},
                            [&](const SqlRow&) {
                              ++calls;
                              return false;
                            });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(calls, 1);
  // The reader is still usable, and (SQLite) holds no read transaction that would keep a
  // writer's commit from being seen.
  ASSERT_TRUE(store().WriteBatch(std::vector{FullRecord(2)}).ok());
  EXPECT_EQ(OneInt(reader(), "SELECT count(*) FROM api_requests"), 4);
}

TEST_P(ReaderTest, QuestionMarksInsideQuotesAndCommentsAreNotPlaceholders) {
  Rows rows;
  Status s = Collect(reader(),
                     "SELECT '?', 'it''s ?', ? AS \"who?\" -- a ? here\n"
                     ", CAST(? AS TEXT) /* and ? here */",
                     {SqlParam::Text("x"), SqlParam::Text("y")}, &rows);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(rows, (Rows{{"?", "it's ?", "x", "y"}}));
}

TEST_P(ReaderTest, TextThatIsNotAUuid) {
  WriteThree();
  Rows rows;
  Status s = Collect(reader(), "SELECT request_id FROM api_requests WHERE request_id = ?",
                     {SqlParam::Text("not-a-uuid")}, &rows);
  if (postgres()) {
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  } else {
    ASSERT_TRUE(s.ok()) << s.ToString();  // a TEXT column: simply no such row
    EXPECT_TRUE(rows.empty());
  }
  EXPECT_EQ(OneInt(reader(), "SELECT count(*) FROM api_requests"), 3);  // still usable
}

TEST_P(ReaderTest, BadSqlIsAnInternalError) {
  Rows rows;
  for (const char* sql : {"SELEC 1", "SELECT * FROM no_such_table", "SELECT 1; SELECT 2", "",
                          " ; -- only a comment\n/* and another */"}) {
    Status s = Collect(reader(), sql, {}, &rows);
    EXPECT_EQ(s.code(), StatusCode::kInternal) << "'" << sql << "': " << s.ToString();
    EXPECT_TRUE(rows.empty()) << sql;
  }
  EXPECT_EQ(OneInt(reader(), "SELECT count(*) FROM api_requests"), 0);  // still usable
}

TEST_P(ReaderTest, WrongParameterCountIsAnInternalError) {
  Rows rows;
  Status s = Collect(reader(), "SELECT count(*) FROM api_requests WHERE domain = ?", {}, &rows);
  EXPECT_EQ(s.code(), StatusCode::kInternal) << s.ToString();
  s = Collect(reader(), "SELECT count(*) FROM api_requests", {SqlParam::Int(1)}, &rows);
  EXPECT_EQ(s.code(), StatusCode::kInternal) << s.ToString();
  s = Collect(reader(), "SELECT count(*) FROM api_requests WHERE domain = ? OR domain = ?",
              {SqlParam::Text("a")}, &rows);
  EXPECT_EQ(s.code(), StatusCode::kInternal) << s.ToString();
  EXPECT_TRUE(rows.empty());
}

TEST_P(ReaderTest, SeesWhatTheWriterCommitsAfterItOpened) {
  EXPECT_EQ(OneInt(reader(), "SELECT count(*) FROM api_requests"), 0);
  WriteThree();
  EXPECT_EQ(OneInt(reader(), "SELECT count(*) FROM api_requests"), 3);
  const Record more = FullRecord(7);
  ASSERT_TRUE(store().WriteBatch(std::vector{more}).ok());
  EXPECT_EQ(OneInt(reader(), "SELECT count(*) FROM api_requests"), 4);
  EXPECT_EQ(OneInt(reader(), "SELECT message_count FROM api_requests WHERE request_id = ?",
                   {SqlParam::Text(more.request_id)}),
            more.message_count);
}

TEST_P(ReaderTest, RefusesToWrite) {
  const std::vector<Record> records = WriteThree();
  Rows rows;
  for (const char* sql : {"DELETE FROM api_requests", "UPDATE api_requests SET model = 'x'",
                          "CREATE TABLE sneaky (a INTEGER)"}) {
    Status s = Collect(reader(), sql, {}, &rows);
    EXPECT_EQ(s.code(), StatusCode::kInternal) << sql << ": " << s.ToString();
  }
  auto count = store().CountRecords();
  ASSERT_TRUE(count.ok()) << count.status().ToString();
  EXPECT_EQ(*count, 3);
  EXPECT_EQ(OneInt(reader(), "SELECT count(*) FROM api_requests WHERE model = 'x'"), 0);
}

TEST_P(ReaderTest, ReadersAreIndependent) {
  WriteThree();
  auto other = store().OpenReader(0);
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  // A query stopped half-way on one reader does not disturb the other.
  int calls = 0;
  Status s = reader().Query("SELECT request_id FROM api_requests", {}, [&](const SqlRow&) {
    EXPECT_EQ(OneInt(**other, "SELECT count(*) FROM api_requests"), 3);
    ++calls;
    return calls < 2;
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(calls, 2);
}

INSTANTIATE_TEST_SUITE_P(Stores, ReaderTest, ::testing::ValuesIn(Backends()),
                         [](const auto& param_info) { return param_info.param.name; });

#ifdef CN_TEST_POSTGRES

TEST(PgPlaceholdersTest, RewritesOnlyBarePlaceholders) {
  int n = -1;
  EXPECT_EQ(RewritePlaceholders("SELECT 1", &n), "SELECT 1");
  EXPECT_EQ(n, 0);
  EXPECT_EQ(RewritePlaceholders("a = ? AND b IN (?, ?)", &n), "a = $1 AND b IN ($2, $3)");
  EXPECT_EQ(n, 3);
  EXPECT_EQ(RewritePlaceholders("SELECT '?', 'it''s ?', ? AS \"x?\"\"?\"", &n),
            "SELECT '?', 'it''s ?', $1 AS \"x?\"\"?\"");
  EXPECT_EQ(n, 1);
  EXPECT_EQ(RewritePlaceholders("? -- why?\n, ? /* ? */ ?", &n), "$1 -- why?\n, $2 /* ? */ $3");
  EXPECT_EQ(n, 3);
  // Unterminated quotes and comments swallow the rest, as the server's lexer would.
  EXPECT_EQ(RewritePlaceholders("? 'abc ?", &n), "$1 'abc ?");
  EXPECT_EQ(n, 1);
  EXPECT_EQ(RewritePlaceholders("? -- ?", &n), "$1 -- ?");
  EXPECT_EQ(n, 1);
  EXPECT_EQ(RewritePlaceholders("?/* ?", &n), "$1/* ?");
  EXPECT_EQ(n, 1);
  // Operators next to a placeholder, and ten or more of them.
  EXPECT_EQ(RewritePlaceholders("x<?-?", &n), "x<$1-$2");
  EXPECT_EQ(RewritePlaceholders("?,?,?,?,?,?,?,?,?,?,?", &n), "$1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11");
  EXPECT_EQ(n, 11);
}

class PgReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CN_REQUIRE_POSTGRES();
    target_ = PgReaderTarget::Make();
    ASSERT_NE(target_, nullptr);
  }
  std::unique_ptr<ReaderTarget> target_;
};

TEST_F(PgReaderTest, SessionIsReadOnlyUtcAndNamed) {
  auto reader = target_->store().OpenReader(1234);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  Rows rows;
  Status s =
      Collect(**reader,
              "SELECT current_setting('transaction_read_only'), current_setting('TimeZone'), "
              "current_setting('statement_timeout'), current_setting('application_name')",
              {}, &rows);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(rows, (Rows{{"on", "UTC", "1234ms", "claude-nexus-reader"}}));
  // A timestamptz reads in UTC.
  s = Collect(**reader, "SELECT CAST(? AS timestamptz)", {SqlParam::Text("2026-01-02 03:04:05+02")},
              &rows);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(rows, (Rows{{"2026-01-02 01:04:05+00"}}));
}

TEST_F(PgReaderTest, StatementTimeoutIsUnavailable) {
  auto reader = target_->store().OpenReader(100);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  Rows rows;
  Status s = Collect(**reader, "SELECT pg_sleep(2)", {}, &rows);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  EXPECT_TRUE(rows.empty());
  EXPECT_EQ(OneInt(**reader, "SELECT 42"), 42);  // the session survives a timeout
}

TEST_F(PgReaderTest, ReconnectsAfterTheSessionIsKilled) {
  auto reader = target_->store().OpenReader(0);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  const std::int64_t pid = OneInt(**reader, "SELECT pg_backend_pid()");
  ASSERT_GT(pid, 0);
  // The second argument waits (up to 10 s) until the backend is gone.
  ASSERT_EQ(target_->AdminExec("SELECT pg_terminate_backend(" + std::to_string(pid) + ", 10000)"),
            "");
  Rows rows;
  Status s = Collect(**reader, "SELECT 1", {}, &rows);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  const std::int64_t again = OneInt(**reader, "SELECT pg_backend_pid()");
  EXPECT_GT(again, 0);
  EXPECT_NE(again, pid);
  EXPECT_EQ(OneInt(**reader, "SELECT CAST(current_setting('transaction_read_only') = 'on' AS int)"),
            1);  // the session SQL ran again
}

TEST_F(PgReaderTest, NulInATextParameterIsRejected) {
  auto reader = target_->store().OpenReader(0);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  Rows rows;
  Status s = Collect(**reader, "SELECT count(*) FROM api_requests WHERE domain = ?",
                     {SqlParam::Text(std::string("a\0b", 3))}, &rows);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
}

TEST_F(PgReaderTest, DoublesAndBooleansParseWithoutLocale) {
  auto reader = target_->store().OpenReader(0);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  int calls = 0;
  Status s = reader->get()->Query(
      "SELECT CAST(0.1 AS float8) + CAST(0.2 AS float8), CAST('Infinity' AS float8), "
      "CAST('-1e300' AS float8), true, false, CAST(? AS numeric), CAST(-7.9 AS float8)",
      std::vector{SqlParam::Double(1e-5)}, [&](const SqlRow& row) {
        ++calls;
        EXPECT_EQ(row.Double(0), 0.1 + 0.2);  // extra_float_digits: exact
        EXPECT_EQ(row.Double(1), std::numeric_limits<double>::infinity());
        EXPECT_EQ(row.Double(2), -1e300);
        EXPECT_EQ(row.Int(3), 1);
        EXPECT_EQ(row.Int(4), 0);
        EXPECT_EQ(row.Double(3), 1.0);
        EXPECT_EQ(row.Double(5), 1e-5);
        EXPECT_EQ(row.Int(6), -7);  // truncated toward zero
        return true;
      });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(calls, 1);
}

#endif  // CN_TEST_POSTGRES

}  // namespace
}  // namespace cn::storage::testing
