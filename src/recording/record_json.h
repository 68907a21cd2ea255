// record_json: a lossless Record <-> JSON mapping, the format of the record pipeline's spill file
// (one record per line, "JSON lines").
//
// Contract:
//   1. RecordFromJson(RecordToJson(r)) == r for every Record, every field included (hot-path
//      fields, the `enriched` flag and all derived fields).
//   2. RecordToJson() returns valid UTF-8 JSON on a single line: no raw '\n' (the spill reader
//      splits on it), whatever bytes the record holds.
//   3. Bytes: JSON strings must be UTF-8, but bodies, header values and stream chunks are raw
//      bytes from the network. A text field whose bytes are valid UTF-8 is written as a JSON
//      string (readable in the file); any other is written as {"base64": "..."}. Readers accept
//      both forms for every text field.
//   4. RecordFromJson() never throws: malformed input (bad JSON, wrong types, bad base64, missing
//      request_id) is a kCorruption Status. Missing optional fields keep their defaults, so a
//      newer writer's extra fields and an older writer's absent ones both parse.
//   5. chunk_usage ("chunk_usage": [{"chunk", "payload", "output_tokens"}, ...]) came after
//      version 1 without a bump: an enriched line that lacks it (written by an older
//      claude-nexus) gets it derived from its chunks by anthropic::ChunkUsages, as enrichment
//      would have, so the stores write the same streaming_chunks.token_count either way.
//   6. search_text came after version 1 too: an enriched line without it gets it derived by
//      anthropic::SearchTextFromJson from request_type, request_body and response_json (what
//      enrichment read), so a replayed record is searchable like a fresh one.
//
// Thread-safety: pure functions over their arguments.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "record/record.h"

namespace cn::recording {

// Written into every line as "v"; bumped when a change is not backward compatible.
inline constexpr int kRecordJsonVersion = 1;

std::string RecordToJson(const Record& r);
// Appends RecordToJson(r) to `out` (no newline): one buffer for a whole batch of lines.
void AppendRecordJson(const Record& r, std::string& out);
StatusOr<Record> RecordFromJson(std::string_view json);

}  // namespace cn::recording
