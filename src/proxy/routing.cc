#include "proxy/routing.h"

namespace cn::proxy {

const char* RouteName(Route route) {
  switch (route) {
    case Route::kProxy:
      return "proxy";
    case Route::kRoot:
      return "root";
    case Route::kHealth:
      return "health";
    case Route::kHealthLive:
      return "health_live";
    case Route::kHealthReady:
      return "health_ready";
    case Route::kTokenStats:
      return "token_stats";
    case Route::kMetrics:
      return "metrics";
    case Route::kCorsPreflight:
      return "cors_preflight";
    case Route::kNotFound:
      return "not_found";
  }
  return "unknown";
}

Route Classify(std::string_view method, std::string_view path) {
  if (path.starts_with("/v1/")) {
    return method == "OPTIONS" ? Route::kCorsPreflight : Route::kProxy;
  }
  if (method != "GET" && method != "HEAD") return Route::kNotFound;
  if (path == "/") return Route::kRoot;
  if (path == "/health") return Route::kHealth;
  if (path == "/health/live") return Route::kHealthLive;
  if (path == "/health/ready") return Route::kHealthReady;
  if (path == "/token-stats") return Route::kTokenStats;
  if (path == "/metrics") return Route::kMetrics;
  return Route::kNotFound;
}

bool SplitTarget(std::string_view target, std::string* path, std::string* query) {
  if (target.empty() || target.front() != '/') return false;
  for (const char c : target) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return false;
  }
  const std::size_t q = target.find('?');
  if (q == std::string_view::npos) {
    path->assign(target);
    query->clear();
  } else {
    path->assign(target.substr(0, q));
    query->assign(target.substr(q + 1));
  }
  return true;
}

}  // namespace cn::proxy
