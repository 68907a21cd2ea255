// cn-linking-bench: what conversation linking costs the record writer per request, on a
// 200-message Claude Code conversation built from real traffic (docs/conversations.md).
//
// The conversation is the 83-message captured Opus request (2 system blocks, 26 tools, tool_use /
// tool_result pairs) repeated with fresh tool ids until it holds 200 messages. Each iteration is a
// distinct conversation (its first message carries the iteration number): the 198-message parent is
// linked and indexed (untimed), then the 200-message follow-up is timed through
// recording::Recorder::Relink — JSON parse of the request body, message and system hashing, the
// index lookups, and the index insert (which parses the response). The index grows by two entries
// per iteration, as a busy writer's would. Also timed separately: the body parse alone and the
// hashing alone (ComputeMessageHashes + SystemHash on the parsed body). Wall-clock times, plus the
// thread CPU time of Relink (robust on a shared, loaded machine).
//
// Usage: cn-linking-bench [iterations] (default 500). Build in Release.

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/ids.h"
#include "conversation/hashing.h"
#include "recording/recorder.h"

namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kMessages = 200;
constexpr std::int64_t kT0 = 1'751'207'809'000'000;

json::value Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    std::exit(2);
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return json::parse(ss.str());
}

// Tool ids made unique per repetition, so de-duplication keeps every message.
void SuffixToolIds(json::value& message, const std::string& suffix) {
  json::value* content = message.as_object().if_contains("content");
  if (content == nullptr || !content->is_array()) return;
  for (json::value& block : content->get_array()) {
    json::object& b = block.as_object();
    if (json::value* id = b.if_contains("id"); id != nullptr && id->is_string()) {
      *id = std::string(id->get_string()) + suffix;
    }
    if (json::value* id = b.if_contains("tool_use_id"); id != nullptr && id->is_string()) {
      *id = std::string(id->get_string()) + suffix;
    }
  }
}

json::array BuildConversation(const json::array& base) {
  json::array out;
  for (int rep = 0; out.size() < kMessages; ++rep) {
    if (!out.empty())
      out.push_back(json::object{{"role", "assistant"}, {"content", "Continuing."}});
    for (const json::value& m : base) {
      if (out.size() >= kMessages) break;
      json::value copy = m;
      if (rep > 0) SuffixToolIds(copy, "_r" + std::to_string(rep));
      out.push_back(std::move(copy));
    }
  }
  out.resize(kMessages);
  return out;
}

cn::Record MakeRecord(const json::object& body, std::int64_t at) {
  cn::Record r;
  r.request_id = cn::NewUuidV4();
  r.domain = "localhost:3000";
  r.timestamp_unix_micros = at;
  r.method = "POST";
  r.path = "/v1/messages";
  r.request_body = json::serialize(body);
  r.response_status = 200;
  r.request_type = "inference";
  r.message_count = static_cast<int>(body.at("messages").as_array().size());
  r.response_json =
      R"({"id":"msg_b","type":"message","role":"assistant","content":[{"type":"text","text":"Done."},)"
      R"({"type":"tool_use","id":"toolu_b","name":"Read","input":{"file_path":"/tmp/x"}}],"stop_reason":"tool_use"})";
  r.enriched = true;
  return r;
}

struct Summary {
  double median_us, p99_us, mean_us;
};

Summary Summarise(std::vector<double> us) {
  std::sort(us.begin(), us.end());
  double sum = 0;
  for (double v : us) sum += v;
  const auto at = [&](double q) {
    return us[std::min(us.size() - 1, static_cast<std::size_t>(q * us.size()))];
  };
  return {at(0.5), at(0.99), sum / static_cast<double>(us.size())};
}

// CPU time of this thread: what the writer spends, without the time a loaded machine takes it off
// the CPU.
double ThreadCpuMicros() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

double MicrosSince(Clock::time_point start) {
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  const int iterations = argc > 1 ? std::max(1, std::atoi(argv[1])) : 500;
  const json::value captured =
      Load(std::string(CN_FIXTURES_DIR) +
           "/captured/inference_streaming_with_tools_with_system_opus.json");
  const json::object& base_body = captured.at("body").as_object();
  const json::array conversation = BuildConversation(base_body.at("messages").as_array());

  cn::recording::Recorder recorder;
  std::vector<double> relink_us, relink_cpu_us, parse_us, hash_us;
  std::size_t body_bytes = 0;
  int linked_to_parent = 0;
  for (int i = 0; i < iterations; ++i) {
    json::object child = base_body;
    json::array messages = conversation;
    json::object& first = messages[0].as_object();
    first["content"] =
        json::array{json::object{{"type", "text"}, {"text", "Session " + std::to_string(i)}}};
    json::object parent = child;
    parent["messages"] = json::array(messages.begin(), messages.end() - 2);
    child["messages"] = std::move(messages);
    const std::int64_t at = kT0 + i * 60'000'000LL;

    cn::Record p = MakeRecord(parent, at);
    recorder.Relink(p);
    cn::Record c = MakeRecord(child, at + 30'000'000);
    body_bytes = c.request_body.size();

    auto start = Clock::now();
    const json::value parsed = json::parse(c.request_body);
    parse_us.push_back(MicrosSince(start));
    start = Clock::now();
    const auto hashes = cn::conversation::ComputeMessageHashes(parsed.at("messages").as_array());
    const auto system_hash = cn::conversation::SystemHash(parsed.as_object().if_contains("system"));
    hash_us.push_back(MicrosSince(start));
    if (!hashes.ok() || !system_hash) return 1;

    start = Clock::now();
    const double cpu_start = ThreadCpuMicros();
    const auto kind = recorder.Relink(c);
    relink_cpu_us.push_back(ThreadCpuMicros() - cpu_start);
    relink_us.push_back(MicrosSince(start));
    if (kind == cn::conversation::LinkKind::kParent && c.link.parent_request_id == p.request_id)
      ++linked_to_parent;
  }
  const Summary relink = Summarise(relink_us);
  const Summary parse = Summarise(parse_us);
  const Summary hash = Summarise(hash_us);
  const Summary relink_cpu = Summarise(relink_cpu_us);
  std::printf(
      "%d iterations, %zu messages, request body %zu bytes, index %zu entries at the end, "
      "%d/%d linked to their parent\n",
      iterations, kMessages, body_bytes, recorder.index().size(), linked_to_parent, iterations);
  std::printf("%-34s %10s %10s %10s\n", "", "median us", "p99 us", "mean us");
  std::printf("%-34s %10.1f %10.1f %10.1f\n", "parse request body", parse.median_us, parse.p99_us,
              parse.mean_us);
  std::printf("%-34s %10.1f %10.1f %10.1f\n", "hash messages + system", hash.median_us, hash.p99_us,
              hash.mean_us);
  std::printf("%-34s %10.1f %10.1f %10.1f\n", "Relink (parse+hash+link+index)", relink.median_us,
              relink.p99_us, relink.mean_us);
  std::printf("%-34s %10.1f %10.1f %10.1f\n", "Relink, thread CPU time", relink_cpu.median_us,
              relink_cpu.p99_us, relink_cpu.mean_us);
  return linked_to_parent == iterations ? 0 : 1;
}
