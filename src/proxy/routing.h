// Request routing for the proxy port (docs/architecture.md, "Request path"): which handler a
// request goes to, decided from the method and path alone so the network layer can dispatch before
// reading the body. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace cn::proxy {

enum class Route {
  kProxy,          // anything under /v1/ (any method except OPTIONS): relayed to the upstream
  kRoot,           // GET/HEAD "/": service banner; Claude Code uses it as a connectivity check
  kHealth,         // GET/HEAD /health
  kHealthLive,     // GET/HEAD /health/live
  kHealthReady,    // GET/HEAD /health/ready
  kTokenStats,     // GET/HEAD /token-stats
  kMetrics,        // GET/HEAD /metrics
  kCorsPreflight,  // OPTIONS on /v1/*: answered locally with 204
  kNotFound,
};

const char* RouteName(Route route);

// `path` is the path part of the target (no query). Methods are case-sensitive (RFC 9110).
// The local endpoints answer GET and HEAD only; other methods on them are kNotFound.
Route Classify(std::string_view method, std::string_view path);

// Splits an origin-form request target into path and raw query (without '?'; a fragment, which
// clients must not send, is kept in the query untouched). Returns false for targets that do not
// start with '/' or that contain spaces, control characters or non-ASCII bytes; the outputs are
// then unspecified.
bool SplitTarget(std::string_view target, std::string* path, std::string* query);

}  // namespace cn::proxy
