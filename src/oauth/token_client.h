// HttpTokenEndpoint: the real TokenEndpoint — an HTTPS POST with certificate and host name
// verification against the system trust store plus an optional extra CA bundle (tests use
// CLAUDE_OAUTH_CA_FILE with their own CA). Plain http:// only for loopback (ParseEndpointUrl).
// Beast lives in token_client.cc only.
//
// Thread-safety: Post() may be called concurrently; each call runs its own io_context on the
// calling thread and blocks for at most `timeout`.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "common/status.h"
#include "oauth/token_protocol.h"

namespace cn::oauth {

// Fails (with a message naming the variable's value) on a bad URL or an unreadable CA file.
StatusOr<std::unique_ptr<TokenEndpoint>> MakeHttpTokenEndpoint(
    const std::string& url, const std::string& extra_ca_file,
    std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace cn::oauth
