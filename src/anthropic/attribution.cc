#include "anthropic/attribution.h"

#include "anthropic/message.h"
#include "common/ascii.h"

namespace cn::anthropic {
namespace {

// A value worth storing: non-empty, bounded, printable ASCII without quotes or backslashes.
std::string Clean(std::string_view v) {
  v = TrimHttpSpace(v);
  if (v.empty() || v.size() > kMaxAttributionLength) return {};
  for (char c : v) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x21 || u > 0x7e || c == '"' || c == '\\') return {};
  }
  return std::string(v);
}

// The older form: user_<hash>_account_<uuid or empty>_session_<uuid>.
bool ParseLegacy(std::string_view s, Attribution* out) {
  constexpr std::string_view kUser = "user_";
  constexpr std::string_view kAccount = "_account_";
  constexpr std::string_view kSession = "_session_";
  if (!s.starts_with(kUser)) return false;
  const std::size_t account = s.find(kAccount);
  const std::size_t session = s.rfind(kSession);
  if (account == std::string_view::npos || session == std::string_view::npos ||
      session < account + kAccount.size() - 1) {
    return false;
  }
  out->user_id = Clean(s.substr(kUser.size(), account - kUser.size()));
  const std::size_t account_start = account + kAccount.size();
  out->account_uuid =
      session > account_start ? Clean(s.substr(account_start, session - account_start)) : "";
  out->session_id = Clean(s.substr(session + kSession.size()));
  return !out->user_id.empty();
}

// The newer form: a JSON object in the string.
bool ParseJsonForm(std::string_view s, Attribution* out) {
  if (!s.starts_with('{')) return false;
  std::optional<boost::json::value> v = ParseJson(s, /*lenient_utf8=*/true);
  const boost::json::object* o = v ? v->if_object() : nullptr;
  if (o == nullptr) return false;
  std::string user = Clean(StringField(*o, "user_id"));
  if (user.empty()) user = Clean(StringField(*o, "device_id"));
  out->user_id = std::move(user);
  out->session_id = Clean(StringField(*o, "session_id"));
  out->account_uuid = Clean(StringField(*o, "account_uuid"));
  return true;
}

}  // namespace

Attribution ParseUserIdString(std::string_view user_id) {
  Attribution a;
  if (ParseJsonForm(user_id, &a)) return a;
  if (ParseLegacy(user_id, &a)) return a;
  a = Attribution{};
  a.user_id = Clean(user_id);
  return a;
}

Attribution ParseAttribution(const boost::json::value* body, const Headers& headers) {
  Attribution a;
  const boost::json::object* request = body ? body->if_object() : nullptr;
  if (request != nullptr) {
    if (const boost::json::value* md = request->if_contains("metadata"); md && md->is_object()) {
      a = ParseUserIdString(StringField(md->get_object(), "user_id"));
    }
  }
  for (const Header& h : headers) {
    if (EqualsIgnoreCase(h.name, "x-claude-code-session-id")) {
      if (std::string s = Clean(h.value); !s.empty()) a.session_id = std::move(s);
    }
  }
  return a;
}

}  // namespace cn::anthropic
