// Identifiers: UUIDv4 request ids (the database primary key, also sent to clients as
// X-Request-ID so a client can find its record). Thread-safe: randomness comes from the OS
// (getrandom) through a small thread-local buffer.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace cn {

// Fills `out` from the operating system's CSPRNG. Never fails on Linux >= 3.17.
void RandomBytes(std::span<std::uint8_t> out);

// Lower-case canonical 36-character UUID version 4.
std::string NewUuidV4();

// True when `s` is a canonical (8-4-4-4-12, hex) UUID of any version.
bool IsUuid(std::string_view s);

}  // namespace cn
