#include "proxy/header_policy.h"

#include <algorithm>
#include <array>

#include "common/ascii.h"

namespace cn::proxy {
namespace {

constexpr std::string_view kMask = "****";

// True when `name` is listed in any Connection header of `headers` (RFC 9110 §7.6.1: those
// headers are meant for the immediate connection only).
bool NamedByConnection(const Headers& headers, std::string_view name) {
  bool found = false;
  for (const Header& h : headers) {
    if (!EqualsIgnoreCase(h.name, "connection")) continue;
    ForEachListElement(h.value, [&](std::string_view token) {
      if (EqualsIgnoreCase(token, name)) found = true;
    });
  }
  return found;
}

bool IsConnectionLevel(const Headers& all, std::string_view name) {
  return IsHopByHop(name) || NamedByConnection(all, name);
}

bool ListContains(std::string_view list, std::string_view wanted) {
  bool found = false;
  ForEachListElement(list, [&](std::string_view token) {
    if (EqualsIgnoreCase(token, wanted)) found = true;
  });
  return found;
}

void AddOAuthBeta(Headers* headers) {
  Header* first_beta = nullptr;
  for (Header& h : *headers) {
    if (!EqualsIgnoreCase(h.name, "anthropic-beta")) continue;
    if (ListContains(h.value, kOAuthBeta)) return;
    if (first_beta == nullptr) first_beta = &h;
  }
  if (first_beta == nullptr) {
    headers->push_back({"anthropic-beta", std::string(kOAuthBeta)});
    return;
  }
  const std::string_view existing = TrimHttpSpace(first_beta->value);
  first_beta->value = existing.empty() ? std::string(kOAuthBeta)
                                       : std::string(existing) + "," + std::string(kOAuthBeta);
}

bool IsSecretHeaderName(std::string_view name) {
  const std::string lower = AsciiToLower(name);
  if (lower.starts_with("anthropic-ratelimit-")) return false;
  static constexpr std::array<std::string_view, 4> kExact = {
      "cookie", "set-cookie", "x-dashboard-key", "proxy-authorization"};
  static constexpr std::array<std::string_view, 5> kParts = {"token", "secret", "password",
                                                             "api-key", "api_key"};
  return std::find(kExact.begin(), kExact.end(), lower) != kExact.end() ||
         std::any_of(kParts.begin(), kParts.end(),
                     [&](std::string_view part) { return lower.find(part) != std::string::npos; });
}

// "Bearer abc" → "Bearer ****"; a value without a scheme → "****".
std::string MaskAuthorization(std::string_view value) {
  value = TrimHttpSpace(value);
  const std::size_t space = value.find_first_of(" \t");
  if (space == std::string_view::npos || TrimHttpSpace(value.substr(space)).empty()) {
    return value.empty() ? std::string() : std::string(kMask);
  }
  return std::string(value.substr(0, space)) + " " + std::string(kMask);
}

}  // namespace

bool IsHopByHop(std::string_view name) {
  static constexpr std::array<std::string_view, 10> kHopByHop = {
      "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
      "te",         "trailer",    "trailers",           "transfer-encoding",   "upgrade"};
  return std::any_of(kHopByHop.begin(), kHopByHop.end(),
                     [&](std::string_view h) { return EqualsIgnoreCase(h, name); });
}

Headers UpstreamRequestHeaders(const Headers& client, const AuthPlan& plan) {
  const bool injecting = plan.inject != AuthPlan::Inject::kNone;
  Headers out;
  out.reserve(client.size() + 2);
  for (const Header& h : client) {
    if (IsConnectionLevel(client, h.name)) continue;
    if (EqualsIgnoreCase(h.name, "host") || EqualsIgnoreCase(h.name, "content-length") ||
        EqualsIgnoreCase(h.name, "expect") || EqualsIgnoreCase(h.name, "accept-encoding")) {
      continue;
    }
    if (injecting &&
        (EqualsIgnoreCase(h.name, "x-api-key") || EqualsIgnoreCase(h.name, "authorization"))) {
      continue;
    }
    out.push_back(h);
  }
  switch (plan.inject) {
    case AuthPlan::Inject::kApiKey:
      out.push_back({"x-api-key", plan.secret});
      break;
    case AuthPlan::Inject::kBearer:
      out.push_back({"Authorization", "Bearer " + plan.secret});
      break;
    case AuthPlan::Inject::kNone:
      break;
  }
  if (plan.add_oauth_beta) AddOAuthBeta(&out);
  return out;
}

Headers ClientResponseHeaders(Headers upstream, std::string_view request_id) {
  Headers out;
  out.reserve(upstream.size() + 1);
  for (Header& h : upstream) {
    if (IsConnectionLevel(upstream, h.name)) continue;
    if (EqualsIgnoreCase(h.name, "content-length") || EqualsIgnoreCase(h.name, "x-request-id"))
      continue;
    out.push_back(std::move(h));  // IsConnectionLevel reads only the Connection header's value
  }
  out.push_back({"X-Request-ID", std::string(request_id)});
  return out;
}

Headers CorsPreflightHeaders() {
  return {{"Access-Control-Allow-Origin", std::string(kCorsAllowOrigin)},
          {"Access-Control-Allow-Methods", "GET, POST, OPTIONS"},
          {"Access-Control-Allow-Headers",
           "Content-Type, Authorization, X-API-Key, anthropic-version, anthropic-beta"},
          {"Access-Control-Max-Age", "86400"}};
}

std::string MaskSecret(std::string_view value) {
  constexpr std::string_view kAnthropicPrefix = "sk-ant-";
  constexpr std::size_t kKeptChars = 10;
  if (value.empty()) return {};
  if (value.starts_with(kAnthropicPrefix) && value.size() > kKeptChars) {
    return std::string(value.substr(0, kKeptChars)) + std::string(kMask);
  }
  return std::string(kMask);
}

Headers MaskHeaders(Headers headers) {
  for (Header& h : headers) {
    if (EqualsIgnoreCase(h.name, "authorization") ||
        EqualsIgnoreCase(h.name, "proxy-authorization")) {
      h.value = MaskAuthorization(h.value);
    } else if (EqualsIgnoreCase(h.name, "x-api-key")) {
      h.value = MaskSecret(h.value);
    } else if (IsSecretHeaderName(h.name) && !h.value.empty()) {
      h.value = std::string(kMask);
    }
  }
  return headers;
}

}  // namespace cn::proxy
