// Identifiers: UUIDv7 request ids (the database primary key, also sent to clients as
// X-Request-ID so a client can find its record) and UUIDv4 for ids that must not tell time.
// Thread-safe: randomness comes from the OS (getrandom) through a small thread-local buffer.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace cn {

// Fills `out` from the operating system's CSPRNG. Never fails on Linux >= 3.17.
void RandomBytes(std::span<std::uint8_t> out);

// Lower-case canonical 36-character UUID version 4 (122 random bits).
std::string NewUuidV4();

// Lower-case canonical UUID version 7 (RFC 9562): the Unix time in milliseconds, then 74 random
// bits. Ids of later milliseconds sort after earlier ones, so a B-tree keyed on them (the
// request_id primary key) grows at its right edge instead of dirtying a random page per insert.
std::string NewUuidV7();

// True when `s` is a canonical (8-4-4-4-12, hex) UUID of any version.
bool IsUuid(std::string_view s);

}  // namespace cn
