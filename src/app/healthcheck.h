// A minimal HTTP/1.0 GET for `claude-nexus healthcheck`, used as a container HEALTHCHECK where
// no shell, curl or wget exists. Plain http:// only (health endpoints are local).
// Thread-safety: a pure blocking function.
#pragma once

#include <chrono>
#include <string>

namespace cn::app {

// Returns the HTTP status, or 0 with *error set (bad URL, connect failure, timeout, garbage).
int HttpGetStatus(const std::string& url, std::chrono::milliseconds timeout, std::string* error);

}  // namespace cn::app
