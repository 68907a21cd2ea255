#include "oauth/refresh.h"

#include <chrono>

#include "oauth/credential_file.h"

namespace cn::oauth {

namespace fs = std::filesystem;

bool NeedsRefresh(const proxy::Credential& cred, std::int64_t now_ms, std::int64_t margin_ms) {
  return cred.type == proxy::Credential::Type::kOAuth && cred.oauth.expires_at_ms != 0 &&
         now_ms >= cred.oauth.expires_at_ms - margin_ms;
}

bool IsExpired(const proxy::Credential& cred, std::int64_t now_ms) {
  return cred.type == proxy::Credential::Type::kOAuth && cred.oauth.expires_at_ms != 0 &&
         now_ms >= cred.oauth.expires_at_ms;
}

std::int64_t WallNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

RefreshOutcome RefreshCredentialFile(const fs::path& path, TokenEndpoint& endpoint,
                                     const RefreshOptions& options) {
  const auto now = [&options] { return options.now_ms ? options.now_ms() : WallNowMs(); };
  RefreshOutcome out;
  const std::string name = path.filename().string();
  auto fail = [&out](Status s, bool relogin = false) {
    out.kind = RefreshOutcome::Kind::kFailed;
    out.status = std::move(s);
    out.relogin_required = relogin;
    return out;
  };

  StatusOr<FileLock> lock = FileLock::Acquire(path, options.lock_timeout);
  if (!lock.ok()) return fail(lock.status());

  StatusOr<std::string> text = ReadFileText(path);
  if (!text.ok()) return fail(text.status());
  StatusOr<proxy::Credential> parsed = proxy::ParseCredentialFile(*text, name);
  if (!parsed.ok())
    return fail(Status::Corruption(parsed.status().message() + "; nothing was overwritten"));
  parsed->path = path;
  if (parsed->type != proxy::Credential::Type::kOAuth) {
    return fail(Status::InvalidArgument("credential file '" + name + "' is not of type \"oauth\""));
  }
  if (!options.force && !NeedsRefresh(*parsed, now(), options.margin_ms) &&
      !parsed->oauth.access_token.empty()) {
    out.kind = RefreshOutcome::Kind::kAlreadyFresh;
    out.credential = std::make_shared<const proxy::Credential>(std::move(parsed).value());
    return out;
  }
  if (parsed->oauth.refresh_token.empty()) {
    return fail(Status::InvalidArgument("credential file '" + name + "' has no refresh token"),
                true);
  }

  const auto started = std::chrono::steady_clock::now();
  const TokenHttpResult http =
      endpoint.Post(RefreshRequestBody(options.client_id, parsed->oauth.refresh_token));
  out.endpoint_micros = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::steady_clock::now() - started)
                            .count();
  TokenResult result = ParseTokenResponse(http, now(), parsed->oauth.refresh_token);
  if (!result.status.ok()) return fail(result.status, result.relogin_required);

  StatusOr<std::string> merged = MergeOAuthTokens(*text, result.grant);
  if (!merged.ok()) return fail(merged.status());
  if (Status s = WriteFileAtomically(path, *merged); !s.ok()) {
    // The endpoint has rotated the refresh token: the one on disk is now spent. Say so plainly.
    return fail(Status::IoError(s.message() +
                                " (the new tokens could not be saved; run the OAuth login again)"),
                true);
  }
  StatusOr<proxy::Credential> written = proxy::ParseCredentialFile(*merged, name);
  if (!written.ok()) return fail(written.status());
  written->path = path;
  out.kind = RefreshOutcome::Kind::kRefreshed;
  out.credential = std::make_shared<const proxy::Credential>(std::move(written).value());
  return out;
}

}  // namespace cn::oauth
