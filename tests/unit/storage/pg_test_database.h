// PgTestDatabase: a fresh, empty PostgreSQL database for one test, created on the server named
// by CN_TEST_DATABASE_URL (scripts/ci-postgres.sh starts one) and dropped (FORCE) on
// destruction. Shared by the storage unit tests, the integration tests and the benchmark.
//
// Thread-safety: none needed (one owner).
#pragma once

#include <string>
#include <string_view>

namespace cn::storage::testing {

// The admin URL from CN_TEST_DATABASE_URL, or "" when unset.
std::string TestServerUrl();

// Why PostgreSQL tests cannot run here ("" when they can).
std::string PostgresMissingReason();

// True under CI=true: there a missing server is a failure, not a skip.
bool RunningUnderCi();

// In a test body or SetUp: skips (locally) or fails (CI) when no server is configured.
#define CN_REQUIRE_POSTGRES()                                                                    \
  do {                                                                                           \
    if (std::string cn_why = ::cn::storage::testing::PostgresMissingReason(); !cn_why.empty()) { \
      if (::cn::storage::testing::RunningUnderCi()) FAIL() << cn_why;                            \
      GTEST_SKIP() << cn_why;                                                                    \
    }                                                                                            \
  } while (0)

// `url` with its database name replaced by `database`.
std::string UrlWithDatabase(std::string_view url, std::string_view database);

class PgTestDatabase {
 public:
  PgTestDatabase();  // ok() false (and error() says why) when it could not be created
  ~PgTestDatabase();
  PgTestDatabase(const PgTestDatabase&) = delete;
  PgTestDatabase& operator=(const PgTestDatabase&) = delete;

  bool ok() const { return !url_.empty(); }
  const std::string& url() const { return url_; }
  const std::string& name() const { return name_; }
  const std::string& error() const { return error_; }

  // Runs SQL (several statements allowed) on this database; "" on success, else the error.
  std::string Exec(std::string_view sql) const;

 private:
  std::string admin_url_;
  std::string name_;
  std::string url_;
  std::string error_;
};

}  // namespace cn::storage::testing
