#include "oauth/status.h"

#include <algorithm>

#include "common/time.h"

namespace cn::oauth {

std::string FormatRelative(std::int64_t delta_ms) {
  const bool past = delta_ms < 0;
  std::int64_t s = (past ? -delta_ms : delta_ms) / 1000;
  std::string text;
  if (s >= 86400) {
    text = std::to_string(s / 86400) + "d " + std::to_string(s % 86400 / 3600) + "h";
  } else if (s >= 3600) {
    text = std::to_string(s / 3600) + "h " + std::to_string(s % 3600 / 60) + "m";
  } else if (s >= 60) {
    text = std::to_string(s / 60) + "m " + std::to_string(s % 60) + "s";
  } else {
    text = std::to_string(s) + "s";
  }
  return past ? text + " ago" : "in " + text;
}

std::vector<StatusRow> BuildStatusRows(const std::vector<proxy::CredentialStatus>& report,
                                       std::int64_t now_ms) {
  std::vector<StatusRow> rows;
  for (const proxy::CredentialStatus& s : report) {
    StatusRow row;
    row.domain = s.host;
    row.account = s.account_id.empty() ? "-" : s.account_id;
    row.type = s.type.empty() ? "-" : s.type;
    row.client_key = s.has_client_key;
    row.error = s.error;
    row.state = s.state;
    std::replace(row.state.begin(), row.state.end(), '_', ' ');
    row.expiry = "-";
    if (s.type == "oauth" && s.expires_at_ms != 0) {
      row.expiry = FormatIso8601(s.expires_at_ms * 1000) + " (" +
                   FormatRelative(s.expires_at_ms - now_ms) + ")";
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string FormatStatusTable(const std::vector<StatusRow>& rows) {
  const std::vector<std::string> header = {"DOMAIN", "ACCOUNT", "TYPE",
                                           "STATE",  "EXPIRES", "CLIENT-KEY"};
  std::vector<std::vector<std::string>> cells;
  cells.push_back(header);
  for (const StatusRow& r : rows) {
    cells.push_back({r.domain, r.account, r.type, r.state, r.expiry, r.client_key ? "yes" : "no"});
  }
  std::vector<std::size_t> width(header.size(), 0);
  for (const auto& line : cells) {
    for (std::size_t i = 0; i < line.size(); ++i) width[i] = std::max(width[i], line[i].size());
  }
  std::string out;
  for (const auto& line : cells) {
    std::string text;
    for (std::size_t i = 0; i < line.size(); ++i) {
      text += line[i];
      if (i + 1 < line.size()) text.append(width[i] - line[i].size() + 2, ' ');
    }
    out += text + "\n";
  }
  for (const StatusRow& r : rows) {
    if (!r.error.empty()) out += r.domain + ": " + r.error + "\n";
  }
  return out;
}

}  // namespace cn::oauth
