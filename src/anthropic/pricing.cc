#include "anthropic/pricing.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cmath>
#include <fstream>
#include <sstream>
#include <utility>

#include "anthropic/message.h"
#include "common/ascii.h"

namespace cn::anthropic {
namespace {

constexpr double kMillion = 1'000'000.0;

// The usual multiples of the input rate (Anthropic's prompt-caching pricing).
TokenRates WithCacheDefaults(double input, double output) {
  return TokenRates{input, output, input * 1.25, input * 2.0, input * 0.1};
}

// A non-negative whole number at `key` (message.h AsInt), else 0.
std::int64_t IntField(const boost::json::object& o, std::string_view key) {
  const boost::json::value* v = o.if_contains(key);
  const std::optional<std::int64_t> n = v != nullptr ? AsInt(*v) : std::nullopt;
  return n && *n > 0 ? *n : 0;
}

bool IsDigits(std::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return !s.empty();
}

// A finite, non-negative number at `key`, or nullopt when absent. `error` is set when present
// but not such a number.
std::optional<double> RateField(const boost::json::object& o, std::string_view key,
                                const std::string& where, std::string* error) {
  const boost::json::value* v = o.if_contains(key);
  if (v == nullptr) return std::nullopt;
  double d = -1;
  if (v->is_double()) d = v->get_double();
  if (v->is_int64()) d = static_cast<double>(v->get_int64());
  if (v->is_uint64()) d = static_cast<double>(v->get_uint64());
  if (!std::isfinite(d) || d < 0) {
    if (error->empty()) *error = where + "." + std::string(key) + " must be a non-negative number";
    return std::nullopt;
  }
  return d;
}

bool ReadRates(const boost::json::object& o, const std::string& where, TokenRates* out,
               std::string* error) {
  const auto input = RateField(o, "input", where, error);
  const auto output = RateField(o, "output", where, error);
  if (!error->empty()) return false;
  if (!input || !output) {
    *error = where + " needs both \"input\" and \"output\" (USD per million tokens)";
    return false;
  }
  *out = WithCacheDefaults(*input, *output);
  if (auto v = RateField(o, "cacheWrite5m", where, error)) out->cache_write_5m = *v;
  if (auto v = RateField(o, "cacheWrite1h", where, error)) out->cache_write_1h = *v;
  if (auto v = RateField(o, "cacheRead", where, error)) out->cache_read = *v;
  return error->empty();
}

}  // namespace

std::string NormalizeModelId(std::string_view model) {
  std::string id = AsciiToLower(TrimHttpSpace(model));
  if (const std::size_t bracket = id.find('['); bracket != std::string::npos) id.resize(bracket);
  constexpr std::string_view kLatest = "-latest";
  if (std::string_view(id).ends_with(kLatest)) id.resize(id.size() - kLatest.size());
  // A dated snapshot suffix: "-YYYYMMDD".
  if (id.size() > 9 && id[id.size() - 9] == '-' &&
      IsDigits(std::string_view(id).substr(id.size() - 8))) {
    id.resize(id.size() - 9);
  }
  return id;
}

BillableUsage BillableUsageFromJson(std::string_view usage_json) {
  BillableUsage u;
  if (usage_json.empty()) return u;
  std::optional<boost::json::value> parsed = ParseJson(usage_json, /*lenient_utf8=*/true);
  const boost::json::object* o = parsed ? parsed->if_object() : nullptr;
  if (o == nullptr) return u;
  u.input_tokens = IntField(*o, "input_tokens");
  u.output_tokens = IntField(*o, "output_tokens");
  u.cache_creation_input_tokens = IntField(*o, "cache_creation_input_tokens");
  u.cache_read_input_tokens = IntField(*o, "cache_read_input_tokens");
  if (const boost::json::value* cc = o->if_contains("cache_creation"); cc && cc->is_object()) {
    u.cache_write_5m_tokens = IntField(cc->get_object(), "ephemeral_5m_input_tokens");
    u.cache_write_1h_tokens = IntField(cc->get_object(), "ephemeral_1h_input_tokens");
  }
  if (const boost::json::value* st = o->if_contains("server_tool_use"); st && st->is_object()) {
    u.web_search_requests = IntField(st->get_object(), "web_search_requests");
  }
  return u;
}

PriceTable PriceTable::BuiltIn() {
  PriceTable t;
  auto add = [&t](std::string family, double input, double output) -> ModelPrice& {
    ModelPrice& p = t.models_[std::move(family)];
    p.base = WithCacheDefaults(input, output);
    return p;
  };
  add("claude-opus-4-5", 5, 25);
  add("claude-opus-4-1", 15, 75);
  add("claude-opus-4", 15, 75);
  add("claude-3-opus", 15, 75);
  // Sonnet 4 and 4.5 with the 1M-token context window: prompts over 200k tokens cost more.
  for (const char* family : {"claude-sonnet-4-5", "claude-sonnet-4"}) {
    ModelPrice& p = add(family, 3, 15);
    p.long_context_above = 200'000;
    p.long_context = TokenRates{6, 22.5, 7.5, 12, 0.6};
  }
  add("claude-3-7-sonnet", 3, 15);
  add("claude-3-5-sonnet", 3, 15);
  add("claude-haiku-4-5", 1, 5);
  add("claude-3-5-haiku", 0.8, 4);
  add("claude-3-haiku", 0.25, 1.25);
  t.models_["claude-3-haiku"].base.cache_write_5m = 0.30;  // published, not 1.25x
  t.models_["claude-3-haiku"].base.cache_write_1h = 0.50;
  t.models_["claude-3-haiku"].base.cache_read = 0.03;
  t.web_search_per_thousand_ = 10.0;
  return t;
}

StatusOr<PriceTable> PriceTable::FromJson(std::string_view json, const PriceTable& base) {
  std::optional<boost::json::value> parsed = ParseJson(json);
  const boost::json::object* root = parsed ? parsed->if_object() : nullptr;
  if (root == nullptr) return Status::InvalidArgument("pricing file is not a JSON object");
  PriceTable t = base;
  std::string error;
  if (auto v = RateField(*root, "webSearchPerThousand", "pricing", &error)) {
    t.web_search_per_thousand_ = *v;
  }
  if (!error.empty()) return Status::InvalidArgument(error);
  if (const boost::json::value* models = root->if_contains("models")) {
    if (!models->is_object())
      return Status::InvalidArgument("pricing: \"models\" must be an object");
    for (const auto& kv : models->get_object()) {
      const std::string family = NormalizeModelId(kv.key());
      const std::string where = "pricing.models." + std::string(kv.key());
      if (family.empty()) return Status::InvalidArgument(where + ": empty model family");
      if (!kv.value().is_object()) return Status::InvalidArgument(where + " must be an object");
      const boost::json::object& m = kv.value().get_object();
      ModelPrice price;
      if (!ReadRates(m, where, &price.base, &error)) return Status::InvalidArgument(error);
      if (const boost::json::value* lc = m.if_contains("longContext")) {
        if (!lc->is_object())
          return Status::InvalidArgument(where + ".longContext must be an object");
        const boost::json::object& l = lc->get_object();
        const auto above = RateField(l, "above", where + ".longContext", &error);
        if (!error.empty()) return Status::InvalidArgument(error);
        if (!above || *above < 1) {
          return Status::InvalidArgument(where + ".longContext needs \"above\" (prompt tokens)");
        }
        price.long_context_above = static_cast<std::int64_t>(*above);
        if (!ReadRates(l, where + ".longContext", &price.long_context, &error)) {
          return Status::InvalidArgument(error);
        }
      }
      t.models_[family] = price;
    }
  }
  if (!error.empty()) return Status::InvalidArgument(error);
  return t;
}

StatusOr<PriceTable> PriceTable::LoadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument("cannot read PRICING_FILE " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  auto table = FromJson(text.str(), BuiltIn());
  if (!table.ok()) {
    return Status::InvalidArgument("PRICING_FILE " + path.string() + ": " +
                                   table.status().message());
  }
  return table;
}

std::string PriceTable::FamilyOf(std::string_view model) const {
  const std::string id = NormalizeModelId(model);
  std::string best;
  for (const auto& [family, price] : models_) {
    if (family.size() <= best.size()) continue;
    if (id == family ||
        (id.size() > family.size() && id.starts_with(family) && id[family.size()] == '-')) {
      best = family;
    }
  }
  return best;
}

const ModelPrice* PriceTable::Find(std::string_view model) const {
  const std::string family = FamilyOf(model);
  if (family.empty()) return nullptr;
  return &models_.find(family)->second;
}

std::optional<double> PriceTable::CostUsd(std::string_view model, const BillableUsage& u) const {
  const ModelPrice* price = Find(model);
  if (price == nullptr) return std::nullopt;
  // Cache writes without the 5m/1h breakdown (older responses) are 5-minute writes.
  std::int64_t write_1h = u.cache_write_1h_tokens;
  std::int64_t write_5m = u.cache_write_5m_tokens;
  if (write_5m + write_1h == 0) write_5m = u.cache_creation_input_tokens;
  const std::int64_t prompt = u.input_tokens + write_5m + write_1h + u.cache_read_input_tokens;
  const TokenRates& r = price->long_context_above > 0 && prompt > price->long_context_above
                            ? price->long_context
                            : price->base;
  const double usd = (static_cast<double>(u.input_tokens) * r.input +
                      static_cast<double>(u.output_tokens) * r.output +
                      static_cast<double>(write_5m) * r.cache_write_5m +
                      static_cast<double>(write_1h) * r.cache_write_1h +
                      static_cast<double>(u.cache_read_input_tokens) * r.cache_read) /
                         kMillion +
                     static_cast<double>(u.web_search_requests) * web_search_per_thousand_ / 1000.0;
  return usd;
}

}  // namespace cn::anthropic
