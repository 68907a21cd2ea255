// Pure encodings between a Record's raw bytes and what PostgreSQL columns can hold. Internal to
// storage/postgres; unit-tested without a server (tests/unit/storage/pg_codec_test.cc).
//
// PostgreSQL text (TEXT, VARCHAR, JSONB) must be valid UTF-8 without NUL, and JSONB also
// rejects the escape \u0000 and normalises what it stores (key order, spaces, numbers), so the
// store keeps exact bytes in bytea columns where a Record needs them back exactly.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "record/record.h"

namespace cn::storage::pg {

// `s` with invalid UTF-8 sequences replaced by U+FFFD and NUL bytes removed: storable in TEXT.
// Returns `s` unchanged when it already is.
std::string SanitizeUtf8(std::string_view s);

// True when `json` is one JSON value that a JSONB column accepts (valid UTF-8, valid JSON, no
// \u0000 escape).
bool JsonbCanHold(std::string_view json);

// What a JSONB column can hold of `json`, a JSON value claude-nexus produced: `json` itself,
// else `json` with invalid UTF-8 replaced (SanitizeUtf8) when that makes it acceptable, else ""
// (store NULL: a value with a \u0000 escape). "" for "".
std::string JsonbOrEmpty(std::string_view json);

// The exact header list as bytes: for each header "<len>:<name><len>:<value>" (decimal lengths).
std::string EncodeHeaderList(const Headers& headers);
bool DecodeHeaderList(std::string_view bytes, Headers* out);

// The original's `headers` / `response_headers` JSONB view: an object name -> value; a repeated
// name (case-insensitive) keeps the first spelling and joins the values with ", ". Values are
// sanitised (SanitizeUtf8). Empty string when there are no headers.
std::string HeadersJsonObject(const Headers& headers);

// Inverse of HeadersJsonObject for rows written by the original (no exact list stored).
bool HeadersFromJsonObject(std::string_view json, Headers* out);

}  // namespace cn::storage::pg
