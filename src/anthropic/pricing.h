// Cost in USD of a Messages API request: one price table, per model family, with the published
// per-million-token rates for input, output, cache writes (5-minute and 1-hour), cache reads,
// long-context rates where they apply, and web search. Built in as of this release, and
// overridable or extendable by a JSON file (PRICING_FILE, docs/api.md "Cost").
//
// A model is matched by family: the id is lower-cased, a bracketed suffix ("[1m]"), "-latest"
// and a dated suffix ("-20250929") are removed, and the longest family that the rest starts with
// (at a '-' boundary) wins; an id that matches no family is unpriced — never guessed.
//
// Thread-safety: a PriceTable is an immutable value after construction; share it freely.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace cn::anthropic {

// USD per million tokens.
struct TokenRates {
  double input = 0;
  double output = 0;
  double cache_write_5m = 0;
  double cache_write_1h = 0;
  double cache_read = 0;
  bool operator==(const TokenRates&) const = default;
};

struct ModelPrice {
  TokenRates base;
  // Long context: when a request's prompt (input + cache writes + cache reads) exceeds
  // `long_context_above` tokens, every token of it is billed at `long_context` rates.
  std::int64_t long_context_above = 0;  // 0: the model has no long-context rates
  TokenRates long_context;
  bool operator==(const ModelPrice&) const = default;
};

// What a request used, as the response's `usage` object reports it.
struct BillableUsage {
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  std::int64_t cache_creation_input_tokens = 0;  // all cache writes
  std::int64_t cache_write_5m_tokens = 0;        // usage.cache_creation.ephemeral_5m_input_tokens
  std::int64_t cache_write_1h_tokens = 0;        // usage.cache_creation.ephemeral_1h_input_tokens
  std::int64_t cache_read_input_tokens = 0;
  std::int64_t web_search_requests = 0;  // usage.server_tool_use.web_search_requests
};

// Reads a `usage` object's JSON text (Record::usage_json); missing or malformed fields are 0.
BillableUsage BillableUsageFromJson(std::string_view usage_json);

class PriceTable {
 public:
  // The published prices as of this release (see kBuiltInPricesAsOf).
  static PriceTable BuiltIn();

  // `base` with the entries of a JSON document replacing or adding model families:
  //   {"models": {"claude-sonnet-4-5": {"input": 3, "output": 15, "cacheWrite5m": 3.75,
  //     "cacheWrite1h": 6, "cacheRead": 0.3, "longContext": {"above": 200000, "input": 6,
  //     "output": 22.5, "cacheWrite5m": 7.5, "cacheWrite1h": 12, "cacheRead": 0.6}}},
  //    "webSearchPerThousand": 10}
  // Rates are USD per million tokens; a family's omitted cache rates default to the usual
  // multiples of its input rate (5-minute write 1.25x, 1-hour write 2x, read 0.1x). Errors name
  // the field that is wrong.
  static StatusOr<PriceTable> FromJson(std::string_view json, const PriceTable& base);

  // BuiltIn() extended by the file at `path` (PRICING_FILE).
  static StatusOr<PriceTable> LoadFile(const std::filesystem::path& path);

  // The price of `model`'s family, or nullptr when no family matches.
  const ModelPrice* Find(std::string_view model) const;

  // The family `model` matches, or "" when none does.
  std::string FamilyOf(std::string_view model) const;

  // USD for one request, or nullopt when the model is unpriced.
  std::optional<double> CostUsd(std::string_view model, const BillableUsage& usage) const;

  double web_search_per_thousand() const { return web_search_per_thousand_; }
  const std::map<std::string, ModelPrice, std::less<>>& models() const { return models_; }

 private:
  std::map<std::string, ModelPrice, std::less<>> models_;  // family -> price
  double web_search_per_thousand_ = 10.0;
};

// The date of the built-in prices (Anthropic's published pricing page).
inline constexpr std::string_view kBuiltInPricesAsOf = "2025-11-24";

// `model` lower-cased without "[...]", "-latest" and a "-YYYYMMDD" suffix.
std::string NormalizeModelId(std::string_view model);

}  // namespace cn::anthropic
