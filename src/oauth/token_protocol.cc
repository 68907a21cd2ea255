#include "oauth/token_protocol.h"

#include <boost/json.hpp>

#include "oauth/pkce.h"

namespace cn::oauth {
namespace {

namespace json = boost::json;

std::string StringField(const json::object& obj, std::string_view key) {
  const json::value* v = obj.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::string Truncate(std::string s, std::size_t n) {
  if (s.size() > n) s = s.substr(0, n) + "...";
  return s;
}

}  // namespace

std::vector<std::string> DefaultScopes() {
  return {"org:create_api_key", "user:profile", "user:inference"};
}

std::string RefreshRequestBody(std::string_view client_id, std::string_view refresh_token) {
  json::object o;
  o["client_id"] = client_id;
  o["refresh_token"] = refresh_token;
  o["grant_type"] = "refresh_token";
  return json::serialize(o);
}

std::string AuthorizationCodeRequestBody(std::string_view client_id, std::string_view code,
                                         std::string_view state, std::string_view verifier) {
  json::object o;
  o["code"] = code;
  o["state"] = state;
  o["grant_type"] = "authorization_code";
  o["client_id"] = client_id;
  o["redirect_uri"] = kRedirectUri;
  o["code_verifier"] = verifier;
  return json::serialize(o);
}

TokenResult ParseTokenResponse(const TokenHttpResult& http, std::int64_t now_ms,
                               std::string_view previous_refresh_token) {
  TokenResult r;
  if (http.status == 0) {
    r.status = Status::Unavailable("token endpoint unreachable: " + http.transport_error);
    return r;
  }
  std::error_code ec;
  json::value root = json::parse(http.body, ec);
  const json::object* obj = (!ec && root.is_object()) ? &root.get_object() : nullptr;
  if (http.status < 200 || http.status >= 300) {
    std::string code = obj ? StringField(*obj, "error") : std::string();
    std::string description = obj ? StringField(*obj, "error_description") : std::string();
    // Anthropic's own error shape: {"type":"error","error":{"type":..,"message":..}}.
    if (obj && code.empty()) {
      if (const json::value* e = obj->if_contains("error"); e && e->is_object()) {
        code = StringField(e->get_object(), "type");
        description = StringField(e->get_object(), "message");
      }
    }
    r.relogin_required = code == "invalid_grant";
    std::string message = "token endpoint answered HTTP " + std::to_string(http.status);
    if (!code.empty()) message += " " + Truncate(code, 64);
    if (!description.empty()) message += ": " + Truncate(description, 200);
    r.status = (http.status >= 500 || http.status == 429) ? Status::Unavailable(message)
                                                          : Status::InvalidArgument(message);
    return r;
  }
  if (obj == nullptr) {
    r.status = Status::Corruption("token endpoint answered HTTP " + std::to_string(http.status) +
                                  " without a JSON object");
    return r;
  }
  TokenGrant& g = r.grant;
  g.access_token = StringField(*obj, "access_token");
  if (g.access_token.empty()) {
    r.status = Status::Corruption("token endpoint answer has no access_token");
    return r;
  }
  g.refresh_token = StringField(*obj, "refresh_token");
  if (g.refresh_token.empty()) g.refresh_token = std::string(previous_refresh_token);
  // RFC 6749 makes expires_in optional; an hour is what Anthropic grants and errs on the early
  // side, so a missing value costs at most an extra refresh.
  std::int64_t expires_in_s = 3600;
  if (const json::value* v = obj->if_contains("expires_in")) {
    if (v->is_int64())
      expires_in_s = v->get_int64();
    else if (v->is_uint64())
      expires_in_s = static_cast<std::int64_t>(std::min<std::uint64_t>(v->get_uint64(), 1u << 30));
    else if (v->is_double())
      expires_in_s = static_cast<std::int64_t>(v->get_double());
  }
  g.expires_at_ms = now_ms + expires_in_s * 1000;
  const std::string scope = StringField(*obj, "scope");
  for (std::size_t pos = 0; pos < scope.size();) {
    std::size_t end = scope.find(' ', pos);
    if (end == std::string::npos) end = scope.size();
    if (end > pos) g.scopes.push_back(scope.substr(pos, end - pos));
    pos = end + 1;
  }
  if (g.scopes.empty()) g.scopes = DefaultScopes();
  if (const json::value* a = obj->if_contains("account"); a && a->is_object()) {
    g.account_uuid = StringField(a->get_object(), "uuid");
    g.account_email = StringField(a->get_object(), "email_address");
  }
  return r;
}

StatusOr<EndpointUrl> ParseEndpointUrl(std::string_view url) {
  EndpointUrl out;
  std::string_view rest;
  if (url.starts_with("https://")) {
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    out.tls = false;
    out.port = 80;
    rest = url.substr(7);
  } else {
    return Status::InvalidArgument("token URL '" + std::string(url) + "' must start with https://");
  }
  const std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  out.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  std::string_view port_text;
  if (authority.starts_with('[')) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos)
      return Status::InvalidArgument("token URL has a bad IPv6 host");
    out.host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return Status::InvalidArgument("token URL has a bad port");
      port_text = authority.substr(close + 2);
    }
  } else {
    const std::size_t colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (out.host.empty())
    return Status::InvalidArgument("token URL '" + std::string(url) + "' has no host");
  if (!port_text.empty()) {
    unsigned port = 0;
    for (const char c : port_text) {
      if (c < '0' || c > '9' || port > 65535)
        return Status::InvalidArgument("token URL has a bad port");
      port = port * 10 + static_cast<unsigned>(c - '0');
    }
    if (port == 0 || port > 65535) return Status::InvalidArgument("token URL has a bad port");
    out.port = static_cast<std::uint16_t>(port);
  }
  if (!out.tls && out.host != "127.0.0.1" && out.host != "localhost" && out.host != "::1") {
    return Status::InvalidArgument(
        "token URL '" + std::string(url) +
        "': plain http:// is only allowed for loopback hosts; use https://");
  }
  return out;
}

}  // namespace cn::oauth
