#include "oauth/commands.h"

#include <istream>
#include <ostream>
#include <string>
#include <system_error>

#include "common/time.h"
#include "oauth/credential_file.h"
#include "oauth/refresh.h"
#include "oauth/status.h"
#include "proxy/credentials.h"

namespace cn::oauth {

namespace fs = std::filesystem;

namespace {

std::int64_t NowOf(const CommandOptions& o) { return o.now_ms ? o.now_ms() : WallNowMs(); }

std::string Expiry(std::int64_t expires_at_ms, std::int64_t now_ms) {
  return FormatIso8601(expires_at_ms * 1000) + " (" + FormatRelative(expires_at_ms - now_ms) + ")";
}

}  // namespace

int RunLogin(const fs::path& file, TokenEndpoint& endpoint, const CommandOptions& options,
             std::istream& in, std::ostream& out, std::ostream& err) {
  if (file.filename().string().find(".credentials.json") == std::string::npos) {
    err << "warning: '" << file.string()
        << "' does not end in .credentials.json; the proxy only reads <Host>.credentials.json "
           "files\n";
  }
  // Fail before the user goes through the browser if the file could not be merged into.
  std::string existing;
  if (StatusOr<std::string> text = ReadFileText(file); text.ok()) {
    existing = std::move(text).value();
    if (StatusOr<std::string> probe = MergeOAuthTokens(existing, TokenGrant{}); !probe.ok()) {
      err << "error: " << file.string() << ": " << probe.status().message()
          << ". Fix or remove it, then run the login again.\n";
      return 1;
    }
  } else if (text.status().code() != StatusCode::kNotFound) {
    err << "error: " << text.status().message() << "\n";
    return 1;
  }

  const Pkce pkce = NewPkce(options.random);
  const std::string state = NewState(options.random);
  out << "Open this URL in a browser (on any machine), log in with the Claude Max account and\n"
         "authorize; the page then shows a code of the form code#state.\n\n"
      << AuthorizeUrl(options.client_id, pkce.challenge, state) << "\n\n"
      << "Paste the code here and press Enter: " << std::flush;
  std::string line;
  if (!std::getline(in, line)) {
    err << "\nerror: no code was entered\n";
    return 1;
  }
  const std::optional<PastedCode> pasted = ParsePastedCode(line);
  if (!pasted) {
    err << "error: the pasted text holds no code\n";
    return 1;
  }
  if (!pasted->state.empty() && pasted->state != state) {
    err << "error: the pasted code belongs to another login attempt (state mismatch); "
           "use the URL printed above\n";
    return 1;
  }
  const TokenHttpResult http = endpoint.Post(
      AuthorizationCodeRequestBody(options.client_id, pasted->code, state, pkce.verifier));
  const TokenResult result = ParseTokenResponse(http, NowOf(options), "");
  if (!result.status.ok()) {
    err << "error: the code exchange failed: " << result.status.message()
        << (result.relogin_required ? " (the code is invalid or expired; run the login again)" : "")
        << "\n";
    return 1;
  }
  if (result.grant.refresh_token.empty()) {
    err << "warning: the token endpoint returned no refresh token; the proxy cannot renew this "
           "login\n";
  }

  std::error_code ec;
  if (file.has_parent_path()) fs::create_directories(file.parent_path(), ec);
  StatusOr<FileLock> lock = FileLock::Acquire(file, options.lock_timeout);
  if (!lock.ok()) {
    err << "error: " << lock.status().message() << "\n";
    return 1;
  }
  // Re-read under the lock: a proxy may have rewritten the file while the user was in the browser.
  if (StatusOr<std::string> text = ReadFileText(file); text.ok())
    existing = std::move(text).value();
  StatusOr<std::string> merged =
      MergeOAuthTokens(existing, result.grant, result.grant.account_uuid);
  if (!merged.ok()) {
    err << "error: " << file.string() << ": " << merged.status().message() << "\n";
    return 1;
  }
  if (Status s = WriteFileAtomically(file, *merged); !s.ok()) {
    err << "error: " << s.message() << "\n";
    return 1;
  }
  out << "\nSaved OAuth credentials to " << file.string();
  if (!result.grant.account_email.empty()) out << " (account " << result.grant.account_email << ")";
  out << "; the access token expires " << Expiry(result.grant.expires_at_ms, NowOf(options))
      << " and is refreshed automatically.\n";
  return 0;
}

int RunRefresh(const fs::path& file, bool force, TokenEndpoint& endpoint,
               const CommandOptions& options, std::ostream& out, std::ostream& err) {
  RefreshOptions ro;
  ro.client_id = options.client_id;
  ro.margin_ms = options.refresh_margin_ms;
  ro.force = force;
  ro.lock_timeout = options.lock_timeout;
  ro.now_ms = options.now_ms;
  const RefreshOutcome outcome = RefreshCredentialFile(file, endpoint, ro);
  const std::int64_t now = NowOf(options);
  switch (outcome.kind) {
    case RefreshOutcome::Kind::kRefreshed:
      out << "Refreshed " << file.string() << "; the access token expires "
          << Expiry(outcome.credential->oauth.expires_at_ms, now) << ".\n";
      return 0;
    case RefreshOutcome::Kind::kAlreadyFresh:
      out << file.string() << " is still valid";
      if (outcome.credential->oauth.expires_at_ms != 0) {
        out << " until " << Expiry(outcome.credential->oauth.expires_at_ms, now);
      }
      out << "; nothing to do (use --force to refresh anyway).\n";
      return 0;
    case RefreshOutcome::Kind::kFailed:
      break;
  }
  err << "error: refreshing " << file.string() << " failed: " << outcome.status.message() << "\n";
  if (outcome.relogin_required)
    err << "The login must be redone: claude-nexus oauth login " << file.string() << "\n";
  return 1;
}

int RunStatus(const fs::path& dir, const CommandOptions& options, std::ostream& out,
              std::ostream& err) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    err << "error: '" << dir.string()
        << "' is not a directory (set CREDENTIALS_DIR or pass the directory)\n";
    return 1;
  }
  const std::int64_t now = NowOf(options);
  const proxy::CredentialStore store(dir);
  const std::vector<StatusRow> rows =
      BuildStatusRows(store.Report(now, options.expiring_soon_ms), now);
  if (rows.empty()) {
    out << "No *.credentials.json files in " << dir.string() << "\n";
    return 0;
  }
  out << FormatStatusTable(rows);
  return 0;
}

int RunKeygen(const CommandOptions& options, std::ostream& out) {
  out << GenerateClientKey(options.random) << "\n";
  return 0;
}

}  // namespace cn::oauth
