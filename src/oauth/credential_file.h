// Safe updates of credential files shared by several processes:
//
//   FileLock         an exclusive flock() on "<file>.lock" beside the credential file. The lock
//                    lives on a separate, never-replaced file because the credential file itself
//                    is replaced by rename(): a lock on its old inode would not exclude a process
//                    that opened the new one.
//   WriteFileAtomically  temp file in the same directory, fsync, rename over the target, fsync
//                    the directory: readers see the old or the new file, never a torn one, even
//                    after a crash. Mode 0600.
//   MergeOAuthTokens the new tokens merged into the existing JSON, every other field (accountId,
//                    client_api_key, slack, unknown ones) kept in place.
//
// Thread-safety: functions are thread-safe; a FileLock is owned by one thread. flock() locks
// belong to an open file description, so two FileLocks in one process exclude each other too.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "common/status.h"
#include "oauth/token_protocol.h"

namespace cn::oauth {

class FileLock {
 public:
  // Locks "<credential_file>.lock" (created 0600 when missing), waiting up to `timeout`.
  static StatusOr<FileLock> Acquire(const std::filesystem::path& credential_file,
                                    std::chrono::milliseconds timeout);
  FileLock(FileLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  FileLock& operator=(FileLock&&) = delete;
  FileLock(const FileLock&) = delete;
  ~FileLock();  // unlocks

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

std::filesystem::path LockFilePath(const std::filesystem::path& credential_file);

// Whole file; NotFound when missing. Refuses files over 1 MiB (not a credential file).
StatusOr<std::string> ReadFileText(const std::filesystem::path& path);

// See above. Keeps the owner of an existing file when running as root (best effort).
Status WriteFileAtomically(const std::filesystem::path& path, std::string_view content);

// `existing_json` is the current file ("" when there is none). Sets type "oauth" and the
// oauth object's accessToken / refreshToken / expiresAt / scopes (isMax kept, true when absent);
// `account_id` fills accountId only when the file has none. Corruption when `existing_json` is
// not a JSON object: such a file is never overwritten.
StatusOr<std::string> MergeOAuthTokens(std::string_view existing_json, const TokenGrant& grant,
                                       std::string_view account_id = {});

// Pretty-printed JSON (2-space indent, like the original's files), ending in a newline.
std::string PrettyJson(std::string_view compact_json);

}  // namespace cn::oauth
