// The credential status report: `claude-nexus oauth status [dir]` prints it as a table and the
// proxy logs the same rows at start-up. Rows carry no secret (no token, no key material).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "proxy/credentials.h"

namespace cn::oauth {

struct StatusRow {
  std::string domain;   // the Host the file serves
  std::string account;  // accountId, "-" when none
  std::string type;     // "oauth" | "api_key" | "-"
  // "valid" | "expiring soon" | "expired" | "no refresh token" | "invalid"
  std::string state;
  std::string expiry;  // "2026-01-01T10:00:00.000Z (in 7h 59m)", "-" when not applicable
  bool client_key = false;
  std::string error;  // for "invalid"
};

std::vector<StatusRow> BuildStatusRows(const std::vector<proxy::CredentialStatus>& report,
                                       std::int64_t now_ms);

// Aligned columns DOMAIN ACCOUNT TYPE STATE EXPIRES CLIENT-KEY, then one "file: error" line per
// invalid file.
std::string FormatStatusTable(const std::vector<StatusRow>& rows);

// "in 7h 59m", "in 42s", "3m ago".
std::string FormatRelative(std::int64_t delta_ms);

}  // namespace cn::oauth
