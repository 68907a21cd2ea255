// Test helper: the real Anthropic streams of tests/fixtures/captured, re-framed as they
// were on the wire (`event: <type>\ndata: <compact JSON>\n\n` per recorded event).
// Shared by the sse and anthropic unit tests.
#pragma once

#include <algorithm>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "sse/parser.h"

namespace cn::testing {

inline std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct CapturedExchange {
  std::string file;                 // file name inside captured/
  boost::json::object capture;      // the whole file
  std::vector<std::string> events;  // raw wire bytes of each recorded SSE event
  std::string wire;                 // all events concatenated
};

inline std::filesystem::path CapturedDir() {
  return std::filesystem::path(CN_FIXTURES_DIR) / "captured";
}

// Every captured file, sorted by name; `events` is empty for files without a response.
inline std::vector<CapturedExchange> LoadCaptured() {
  std::vector<std::filesystem::path> paths;
  for (const auto& entry : std::filesystem::directory_iterator(CapturedDir())) {
    if (entry.path().extension() == ".json") paths.push_back(entry.path());
  }
  std::sort(paths.begin(), paths.end());
  std::vector<CapturedExchange> out;
  for (const auto& path : paths) {
    CapturedExchange ex;
    ex.file = path.filename().string();
    ex.capture = boost::json::parse(ReadFile(path)).as_object();
    if (const auto* chunks = ex.capture.contains("response") ? ex.capture.at("response")
                                                                   .at("metadata")
                                                                   .as_object()
                                                                   .if_contains("streamingChunks")
                                                             : nullptr) {
      for (const auto& chunk : chunks->as_array()) {
        ex.events.push_back(sse::FormatEvent(std::string(chunk.at("type").as_string()),
                                             boost::json::serialize(chunk)));
        ex.wire += ex.events.back();
      }
    }
    out.push_back(std::move(ex));
  }
  return out;
}

// Only the exchanges that carry a recorded stream.
inline std::vector<CapturedExchange> LoadCapturedStreams() {
  std::vector<CapturedExchange> all = LoadCaptured();
  std::erase_if(all, [](const CapturedExchange& ex) { return ex.events.empty(); });
  return all;
}

}  // namespace cn::testing
