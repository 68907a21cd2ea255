#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <sstream>

#include "oauth/commands.h"
#include "oauth/status.h"
#include "oauth_test_util.h"

namespace cn::oauth {
namespace {

using testing::OAuthFile;
using testing::ScratchDir;

constexpr std::int64_t kNow = 1'750'000'000'000;

CommandOptions Opts() {
  CommandOptions o;
  o.now_ms = [] { return kNow; };
  return o;
}

TEST(StatusTest, TableShowsEveryStateAndNoSecret) {
  ScratchDir dir;
  dir.Write("a.example.com.credentials.json",
            OAuthFile("sk-ant-oat01-SECRET", "rt-SECRET", kNow + 8 * 3'600'000));
  dir.Write("b.example.com.credentials.json", OAuthFile("at", "rt", kNow + 60'000));
  dir.Write("c.example.com.credentials.json", OAuthFile("at", "rt", kNow - 60'000));
  dir.Write("d.example.com.credentials.json", OAuthFile("at", "", kNow + 8 * 3'600'000));
  dir.Write("e.example.com.credentials.json", "{not json");
  dir.Write("f.example.com.credentials.json",
            R"({"type":"api_key","api_key":"sk-ant-api03-SECRET"})");
  std::ostringstream out, err;
  ASSERT_EQ(RunStatus(dir.path(), Opts(), out, err), 0) << err.str();
  const std::string t = out.str();
  for (const char* s : {"DOMAIN", "ACCOUNT", "TYPE", "STATE", "EXPIRES", "a.example.com",
                        "acc_team", "valid", "expiring soon", "expired", "no refresh token",
                        "invalid", "api_key", "(in 8h 0m)", "(1m 0s ago)"}) {
    EXPECT_NE(t.find(s), std::string::npos) << s << "\n" << t;
  }
  EXPECT_EQ(t.find("SECRET"), std::string::npos) << t;
}

TEST(StatusTest, FormatRelative) {
  EXPECT_EQ(FormatRelative(42'000), "in 42s");
  EXPECT_EQ(FormatRelative(-3 * 60'000), "3m 0s ago");
  EXPECT_EQ(FormatRelative(26 * 3'600'000LL), "in 1d 2h");
}

// Answers the authorization-code grant, checking the verifier against the printed challenge.
class LoginEndpoint : public TokenEndpoint {
 public:
  TokenHttpResult Post(const std::string& body) override {
    last = boost::json::parse(body).as_object();
    if (S256Challenge(std::string(last.at("code_verifier").as_string())) != challenge) {
      return {400, R"({"error":"invalid_grant"})", {}};
    }
    return {200,
            R"({"access_token":"at-login","refresh_token":"rt-login","expires_in":28800,)"
            R"("account":{"uuid":"acct-1","email_address":"max@example.com"}})",
            {}};
  }
  std::string challenge;
  boost::json::object last;
};

std::string QueryParam(const std::string& text, const std::string& name) {
  const std::size_t at = text.find("&" + name + "=");
  if (at == std::string::npos) return {};
  const std::size_t begin = at + name.size() + 2;
  return text.substr(begin, text.find_first_of("&\n", begin) - begin);
}

TEST(LoginCommandTest, ExchangesThePastedCodeAndMergesIntoTheFile) {
  ScratchDir dir;
  const auto file =
      dir.Write("h.credentials.json", R"({"type":"oauth","slack":{"channel":"#x"},"oauth":{}})");
  LoginEndpoint ep;
  // The state is random; script stdin with the state the command will print, by giving it a
  // deterministic random source: verifier = 32 x 0x01, state = 32 x 0x02.
  int n = 0;
  CommandOptions o = Opts();
  o.random = [&n](std::span<std::uint8_t> out) {
    ++n;
    for (auto& b : out) b = static_cast<std::uint8_t>(n);
  };
  const std::uint8_t ones[32] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  std::uint8_t twos[32];
  std::fill(std::begin(twos), std::end(twos), 2);
  ep.challenge = S256Challenge(Base64Url(ones));
  std::istringstream in("the-code#" + Base64Url(twos) + "\n");
  std::ostringstream out, err;
  ASSERT_EQ(RunLogin(file, ep, o, in, out, err), 0) << err.str();
  EXPECT_EQ(QueryParam(out.str(), "code_challenge"), ep.challenge);
  EXPECT_EQ(QueryParam(out.str(), "state"), Base64Url(twos));
  EXPECT_EQ(ep.last.at("code").as_string(), "the-code");
  EXPECT_EQ(ep.last.at("grant_type").as_string(), "authorization_code");
  const auto v = boost::json::parse(ScratchDir::Read(file)).as_object();
  EXPECT_EQ(v.at("oauth").at("accessToken").as_string(), "at-login");
  EXPECT_EQ(v.at("slack").at("channel").as_string(), "#x");
  EXPECT_EQ(v.at("accountId").as_string(), "acct-1");
  EXPECT_EQ(ScratchDir::Mode(file), 0600u);
  EXPECT_NE(out.str().find("max@example.com"), std::string::npos);
}

TEST(LoginCommandTest, RejectsACodeFromAnotherAttempt) {
  ScratchDir dir;
  LoginEndpoint ep;
  std::istringstream in("code#not-our-state\n");
  std::ostringstream out, err;
  EXPECT_EQ(RunLogin(dir.path() / "h.credentials.json", ep, Opts(), in, out, err), 1);
  EXPECT_NE(err.str().find("state mismatch"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "h.credentials.json"));
}

TEST(LoginCommandTest, RefusesToOverwriteACorruptFile) {
  ScratchDir dir;
  const auto file = dir.Write("h.credentials.json", "{corrupt");
  LoginEndpoint ep;
  std::istringstream in("code#x\n");
  std::ostringstream out, err;
  EXPECT_EQ(RunLogin(file, ep, Opts(), in, out, err), 1);
  EXPECT_EQ(ScratchDir::Read(file), "{corrupt");
  EXPECT_EQ(out.str(), "");  // failed before sending the user to the browser
}

TEST(RefreshCommandTest, ReportsFreshAndForced) {
  ScratchDir dir;
  const auto file = dir.Write("h.credentials.json", OAuthFile("at-0", "rt-0", kNow + 3'600'000));
  testing::ScriptedEndpoint ep;
  std::ostringstream out, err;
  EXPECT_EQ(RunRefresh(file, false, ep, Opts(), out, err), 0);
  EXPECT_NE(out.str().find("still valid"), std::string::npos);
  EXPECT_EQ(RunRefresh(file, true, ep, Opts(), out, err), 0);
  EXPECT_NE(out.str().find("Refreshed"), std::string::npos);
  EXPECT_EQ(RunRefresh(file, true, ep, Opts(), out, err), 0);  // the rotated token works
  EXPECT_EQ(ep.calls(), 2);
}

TEST(KeygenCommandTest, PrintsOneKey) {
  std::ostringstream out;
  EXPECT_EQ(RunKeygen({}, out), 0);
  EXPECT_EQ(out.str().size(), 9u + 43u + 1u);
  EXPECT_EQ(out.str().rfind("cnp_live_", 0), 0u);
}

}  // namespace
}  // namespace cn::oauth
