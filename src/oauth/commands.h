// The `claude-nexus oauth ...` and `claude-nexus keygen` commands, over injected streams and a
// TokenEndpoint so the unit tests drive them directly (app/main.cc wires stdin/stdout and the
// HTTPS endpoint).
//
//   login <file>        PKCE S256: print the authorize URL, read the pasted "code#state", exchange
//                       it, write the file (existing fields kept, mode 0600). No browser needed on
//                       this machine: the URL can be opened anywhere (works over SSH).
//   refresh <file>      refresh when within the margin of expiry (or always with --force), under
//                       the same file lock as the proxy.
//   status [dir]        the table of oauth/status.h.
//   keygen              a cnp_live_ client key.
// Return values are process exit codes: 0 success, 1 failure (message on `err`).
//
// Thread-safety: each call is independent; they block (stdin, lock, HTTP).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <string>

#include "oauth/pkce.h"
#include "oauth/token_protocol.h"

namespace cn::oauth {

struct CommandOptions {
  std::string client_id{kDefaultClientId};
  std::int64_t refresh_margin_ms = 60000;
  std::int64_t expiring_soon_ms = 300000;  // status: "expiring soon" below this
  std::chrono::milliseconds lock_timeout{30000};
  std::function<std::int64_t()> now_ms;  // wall clock; default WallNowMs
  RandomSource random;                   // default: the OS CSPRNG
};

int RunLogin(const std::filesystem::path& file, TokenEndpoint& endpoint,
             const CommandOptions& options, std::istream& in, std::ostream& out, std::ostream& err);
int RunRefresh(const std::filesystem::path& file, bool force, TokenEndpoint& endpoint,
               const CommandOptions& options, std::ostream& out, std::ostream& err);
int RunStatus(const std::filesystem::path& dir, const CommandOptions& options, std::ostream& out,
              std::ostream& err);
int RunKeygen(const CommandOptions& options, std::ostream& out);

}  // namespace cn::oauth
