#include "pg_test_database.h"

#include <libpq-fe.h>

#include <cstdlib>

#include "common/ids.h"

namespace cn::storage::testing {
namespace {

std::string Run(const std::string& url, std::string_view sql) {
  PGconn* conn = PQconnectdb(url.c_str());
  std::string error;
  if (PQstatus(conn) != CONNECTION_OK) {
    error = PQerrorMessage(conn);
  } else {
    PGresult* r = PQexec(conn, std::string(sql).c_str());
    const ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) error = PQresultErrorMessage(r);
    PQclear(r);
  }
  PQfinish(conn);
  return error;
}

}  // namespace

std::string TestServerUrl() {
  const char* url = std::getenv("CN_TEST_DATABASE_URL");
  return url == nullptr ? "" : url;
}

std::string PostgresMissingReason() {
  if (TestServerUrl().empty()) {
    return "CN_TEST_DATABASE_URL is not set: start a server with "
           "`eval \"$(scripts/ci-postgres.sh start)\"` to run the PostgreSQL tests";
  }
  return "";
}

bool RunningUnderCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string_view(ci) == "true";
}

std::string UrlWithDatabase(std::string_view url, std::string_view database) {
  const std::size_t scheme = url.find("://");
  const std::size_t slash = url.find('/', scheme == std::string_view::npos ? 0 : scheme + 3);
  const std::size_t query = url.find('?');
  std::string out;
  if (slash == std::string_view::npos || (query != std::string_view::npos && query < slash)) {
    const std::size_t end = query == std::string_view::npos ? url.size() : query;
    out = std::string(url.substr(0, end)) + "/" + std::string(database) +
          std::string(url.substr(end));
  } else {
    const std::size_t end = query == std::string_view::npos ? url.size() : query;
    out = std::string(url.substr(0, slash + 1)) + std::string(database) +
          std::string(url.substr(end));
  }
  return out;
}

PgTestDatabase::PgTestDatabase() : admin_url_(TestServerUrl()) {
  if (admin_url_.empty()) {
    error_ = PostgresMissingReason();
    return;
  }
  std::string id = NewUuidV4();
  std::string name = "cn_t_";
  for (char c : id) {
    if (c != '-') name.push_back(c);
  }
  if (std::string e = Run(admin_url_, "CREATE DATABASE " + name); !e.empty()) {
    error_ = "CREATE DATABASE failed: " + e;
    return;
  }
  name_ = name;
  url_ = UrlWithDatabase(admin_url_, name_);
}

PgTestDatabase::~PgTestDatabase() {
  if (!name_.empty()) (void)Run(admin_url_, "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
}

std::string PgTestDatabase::Exec(std::string_view sql) const { return Run(url_, sql); }

}  // namespace cn::storage::testing
