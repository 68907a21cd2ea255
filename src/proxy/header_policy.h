// Header policy: what the proxy forwards upstream, what it returns to the client, and how
// headers are masked before they reach a record or a log line.
//
// The proxy is transparent by default: every end-to-end header passes unchanged and in order.
// Only connection-level headers (RFC 9110 §7.6.1), framing (the relay sets its own) and — when a
// credential is injected — the client's own credentials are removed.
//
// Pure functions over plain data; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "common/header.h"
#include "proxy/auth.h"

namespace cn::proxy {

// Connection, Keep-Alive, Proxy-Authenticate, Proxy-Authorization, Proxy-Connection, TE,
// Trailer, Trailers, Transfer-Encoding, Upgrade (case-insensitive).
bool IsHopByHop(std::string_view name);

// Headers for the upstream request. Removes: hop-by-hop headers and every header the client's
// Connection header names; Host and Content-Length (the relay sets them); Expect (the relay has
// the whole body before it connects); Accept-Encoding (so the upstream answers uncompressed and
// records hold readable JSON/SSE — the proxy never decompresses); and, when `plan` injects a
// credential, the client's x-api-key and Authorization. Then appends the injected credential and,
// when plan.add_oauth_beta, adds kOAuthBeta to anthropic-beta (once; a new header if none).
// Everything else keeps its value and relative order.
Headers UpstreamRequestHeaders(const Headers& client, const AuthPlan& plan);

// Headers for the client response: the upstream's minus hop-by-hop (and those its Connection
// header names) and Content-Length (the relay decides framing), in order; request-id,
// anthropic-ratelimit-*, retry-after, content-type, ... pass. Any upstream X-Request-ID is
// replaced by ours (`request_id`), appended last.
// Takes `upstream` by value: pass an rvalue and its strings move instead of being copied.
Headers ClientResponseHeaders(Headers upstream, std::string_view request_id);

// The CORS headers of a preflight answer (204) and of every proxied response.
Headers CorsPreflightHeaders();
inline constexpr std::string_view kCorsAllowOrigin = "*";

// Masks a secret value for logs and records: sk-ant-… keys keep their first 10 characters
// ("sk-ant-api" / "sk-ant-oat", which identify the kind, never key material) + "****"; any other
// non-empty value becomes "****".
std::string MaskSecret(std::string_view value);

// For records and logs. authorization / proxy-authorization keep their scheme ("Bearer ****");
// x-api-key → MaskSecret; cookie, set-cookie, x-dashboard-key and any name containing "token",
// "secret", "password", "api-key" or "api_key" → "****" (except anthropic-ratelimit-* headers,
// which count tokens and hold no secret).
// Takes `headers` by value and masks in place: pass an rvalue to avoid copying every header.
Headers MaskHeaders(Headers headers);

}  // namespace cn::proxy
