// The API's parameter validation (400 in the Anthropic error shape), the read-only method rule
// (405), the unavailable database (503) and Authorize()'s key rules (src/api/api.h).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "api_test_support.h"

namespace cn::api::testing {
namespace {
namespace json = boost::json;

class ParamsApiTest : public ApiTest {};

TEST_P(ParamsApiTest, BadParametersAreInvalidRequestErrors) {
  Write(Dataset());
  for (const char* target : {
           "/api/requests?limit=0",
           "/api/requests?limit=abc",
           "/api/requests?limit=1001",
           "/api/requests?limit=5x",
           "/api/requests?offset=-1",
           "/api/requests?since=garbage",
           "/api/requests?until=2026-13-45",
           "/api/requests?until=2026-02-30",
           "/api/requests?since=2026-03-10T10:61:00Z",
           "/api/requests?since=2026-03-10T24:00:00Z",
           "/api/requests?since=2026-03-10T09:00:00%2B25:00",
           "/api/requests?since=2026-03-10T09:00:00.Z",
           "/api/requests?since=2026-03-10T09:00:00junk",
           "/api/requests?since=2026-3-10",
           "/api/requests?outcome=nope",
           "/api/requests?requestType=nope",
           "/api/requests?conversationId=not-a-uuid",
           "/api/requests?status=abc",
           "/api/requests?status=99",
           "/api/requests?status=6xx",
           "/api/requests?hasError=perhaps",
           "/api/requests?subtask=2",
           "/api/conversations?conversationId=xyz",
           "/api/conversations?limit=0",
           "/api/stats?since=yesterday",
           "/api/stats?outcome=finished",
           "/api/dashboard/stats?requestType=chat",
           "/api/domains?until=soon",
           "/api/users?limit=-5",
           "/api/ratelimits?since=x",
           "/api/usage/requests/hourly?days=abc",
       }) {
    ExpectBadRequest(Get(target), target);
  }
  // The message names the parameter.
  Reply r = Get("/api/requests?limit=abc");
  EXPECT_NE(std::string(r.body.at("error").at("message").as_string()).find("limit"),
            std::string::npos)
      << r.response.body;
  EXPECT_EQ(r.body.at("error").at("code"), "bad_parameter");
  // Empty values are no filter at all.
  r = Get("/api/requests?domain=&limit=&since=");
  EXPECT_EQ(r.status, 200) << r.response.body;
  EXPECT_EQ(r.body.at("requests").as_array().size(), 12u);
}

TEST_P(ParamsApiTest, OnlyGetAndHeadAreAnswered) {
  for (const char* method : {"POST", "PUT", "DELETE", "PATCH"}) {
    Request req;
    req.method = method;
    req.path = "/api/requests";
    Reply r = Call(req);
    EXPECT_EQ(r.status, 405) << method;
    EXPECT_EQ(r.body.at("type"), "error") << method;
    ASSERT_FALSE(r.response.headers.empty()) << method;
    EXPECT_EQ(r.response.headers[0].name, "Allow");
    EXPECT_EQ(r.response.headers[0].value, "GET, HEAD");
  }
  Request head;
  head.method = "HEAD";
  head.path = "/api/stats";
  EXPECT_EQ(Call(head).status, 200);
}

TEST_P(ParamsApiTest, NoReaderIsServiceUnavailable) {
  Request req;
  req.method = "GET";
  req.path = "/api/requests";
  Context ctx{nullptr, Status::Unavailable("pool exhausted"), &store(), kNowUs};
  Response resp = Handle(req, ctx);
  EXPECT_EQ(resp.status, 503);
  json::value v = json::parse(resp.body);
  EXPECT_EQ(v.at("error").at("type"), "overloaded_error");
  EXPECT_NE(std::string(v.at("error").at("message").as_string()).find("pool exhausted"),
            std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Stores, ParamsApiTest, ::testing::ValuesIn(Backends()),
                         [](const auto& p) { return p.param.name; });

Request WithHeaders(Headers headers, bool loopback = false) {
  Request req;
  req.method = "GET";
  req.path = "/api/stats";
  req.headers = std::move(headers);
  req.peer_loopback = loopback;
  return req;
}

json::value Body(const Response& r) { return json::parse(r.body); }

TEST(AuthorizeTest, WithoutAKeyOnlyLoopbackClientsAreAnswered) {
  AuthConfig none;
  EXPECT_FALSE(Authorize(none, WithHeaders({}, /*loopback=*/true)).has_value());
  auto denied = Authorize(none, WithHeaders({}, /*loopback=*/false));
  ASSERT_TRUE(denied.has_value());
  EXPECT_EQ(denied->status, 403);
  json::value v = Body(*denied);
  EXPECT_EQ(v.at("type"), "error");
  EXPECT_EQ(v.at("error").at("type"), "permission_error");
  EXPECT_NE(std::string(v.at("error").at("message").as_string()).find("DASHBOARD_API_KEY"),
            std::string::npos);
  // A key sent to a server that has none does not open remote access.
  EXPECT_TRUE(Authorize(none, WithHeaders({{"X-Dashboard-Key", "anything"}})).has_value());
}

TEST(AuthorizeTest, ConfiguredKeyIsRequiredFromEveryone) {
  AuthConfig auth{"dash-secret-123", ""};
  auto missing = Authorize(auth, WithHeaders({}, /*loopback=*/true));
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(missing->status, 401);
  EXPECT_EQ(Body(*missing).at("error").at("code"), "unauthorized");

  auto wrong = Authorize(auth, WithHeaders({{"X-Dashboard-Key", "dash-secret-124"}}));
  ASSERT_TRUE(wrong.has_value());
  EXPECT_EQ(wrong->status, 403);
  EXPECT_EQ(Body(*wrong).at("error").at("code"), "forbidden");
  auto prefix = Authorize(auth, WithHeaders({{"X-API-Key", "dash-secret-12"}}));
  ASSERT_TRUE(prefix.has_value());
  EXPECT_EQ(prefix->status, 403);

  EXPECT_FALSE(Authorize(auth, WithHeaders({{"X-Dashboard-Key", "dash-secret-123"}})));
  EXPECT_FALSE(Authorize(auth, WithHeaders({{"x-dashboard-key", "dash-secret-123"}})));
  EXPECT_FALSE(Authorize(auth, WithHeaders({{"X-API-Key", "dash-secret-123"}})));
  EXPECT_FALSE(Authorize(auth, WithHeaders({{"Authorization", "Bearer dash-secret-123"}})));
  auto basic = Authorize(auth, WithHeaders({{"Authorization", "Basic dash-secret-123"}}));
  ASSERT_TRUE(basic.has_value());
  EXPECT_EQ(basic->status, 401);
  auto bad_bearer = Authorize(auth, WithHeaders({{"Authorization", "Bearer nope"}}));
  ASSERT_TRUE(bad_bearer.has_value());
  EXPECT_EQ(bad_bearer->status, 403);
}

TEST(AuthorizeTest, InternalKeyIsAcceptedToo) {
  AuthConfig both{"dash-secret-123", "internal-secret-456"};
  EXPECT_FALSE(Authorize(both, WithHeaders({{"X-Dashboard-Key", "internal-secret-456"}})));
  EXPECT_FALSE(Authorize(both, WithHeaders({{"Authorization", "Bearer internal-secret-456"}})));
  EXPECT_FALSE(Authorize(both, WithHeaders({{"X-API-Key", "dash-secret-123"}})));
  auto wrong = Authorize(both, WithHeaders({{"X-API-Key", "other"}}));
  ASSERT_TRUE(wrong.has_value());
  EXPECT_EQ(wrong->status, 403);

  AuthConfig internal_only{"", "internal-secret-456"};
  EXPECT_TRUE(internal_only.configured());
  EXPECT_FALSE(Authorize(internal_only, WithHeaders({{"X-API-Key", "internal-secret-456"}})));
  auto missing = Authorize(internal_only, WithHeaders({}, /*loopback=*/true));
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(missing->status, 401);
}

TEST(ApiHelpersTest, PathsQueriesAndKinds) {
  EXPECT_TRUE(IsApiPath("/api"));
  EXPECT_TRUE(IsApiPath("/api/requests"));
  EXPECT_FALSE(IsApiPath("/apix"));
  EXPECT_FALSE(IsApiPath("/v1/messages"));
  EXPECT_EQ(QueryParam("a=1&b=x%20y+z&c", "b"), "x y z");
  EXPECT_EQ(QueryParam("a=1&b=2&c", "c"), "");
  EXPECT_EQ(QueryParam("a=1", "b"), std::nullopt);
  EXPECT_EQ(UrlDecode("%3d%3D%zz%4"), "==%zz%4");
  Request req;
  req.path = "/api/export";
  EXPECT_EQ(Classify(req), Kind::kExport);
  req.path = "/api/events";
  EXPECT_EQ(Classify(req), Kind::kEvents);
  req.path = "/api/requests";
  EXPECT_EQ(Classify(req), Kind::kJson);
}

}  // namespace
}  // namespace cn::api::testing
