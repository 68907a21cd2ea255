#include "sse/parser.h"

#include <utility>

namespace cn::sse {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

}  // namespace

void Parser::Feed(std::string_view in, std::vector<Event>* out) {
  if (in.empty()) return;
  std::size_t pos = 0;      // next byte of `in` to scan
  std::size_t kept = 0;     // bytes of `in` before this index are in raw_ or in an emitted event
  bool line_ended = false;  // a terminator inside `in` was passed: the partial line starts at pos
  if (cr_pending_) {
    cr_pending_ = false;
    if (in[0] == '\n') pos = 1;
    line_ended = true;
    if (dispatch_pending_) {
      dispatch_pending_ = false;
      out->emplace_back();
      Emit(in.substr(0, pos), &out->back());
      kept = pos;
    }
  }
  // The incomplete line left in raw_ by earlier calls, if any, is completed by the first
  // terminator found here.
  bool line_in_raw = line_start_ < raw_.size();
  while (pos < in.size()) {
    const std::size_t eol = in.find_first_of("\r\n", pos);
    if (eol == std::string_view::npos) break;
    std::size_t next = eol + 1;
    if (in[eol] == '\r') {
      if (next < in.size()) {
        if (in[next] == '\n') ++next;
      } else {
        cr_pending_ = true;
      }
    }
    bool blank;
    if (line_in_raw) {
      raw_.append(in.substr(kept, eol - kept));
      kept = eol;
      blank = ProcessLine(std::string_view(raw_).substr(line_start_));
      line_in_raw = false;
    } else {
      blank = ProcessLine(in.substr(pos, eol - pos));
    }
    pos = next;
    line_ended = true;
    if (!blank) continue;
    if (cr_pending_) {
      dispatch_pending_ = true;
      break;
    }
    out->emplace_back();
    Emit(in.substr(kept, pos - kept), &out->back());
    kept = pos;
  }
  raw_.append(in.substr(kept));
  if (line_ended) line_start_ = raw_.size() - (in.size() - pos);
}

bool Parser::Finish(Event* out) {
  bool produced = false;
  if (!raw_.empty()) {
    if (!dispatch_pending_ && line_start_ < raw_.size()) {
      // An unterminated last line still carries a field worth reporting.
      ProcessLine(std::string_view(raw_).substr(line_start_));
    }
    Emit({}, out);
    produced = true;
  }
  *this = Parser();
  return produced;
}

bool Parser::ProcessLine(std::string_view line) {
  if (at_stream_start_) {
    at_stream_start_ = false;
    if (line.starts_with(kBom)) line.remove_prefix(kBom.size());
  }
  if (line.empty()) return true;
  if (line.front() == ':') return false;  // comment
  std::string_view name = line;
  std::string_view value;
  if (const std::size_t colon = line.find(':'); colon != std::string_view::npos) {
    name = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (name == "data") {
    if (has_data_) data_.push_back('\n');
    data_.append(value);
    has_data_ = true;
  } else if (name == "event") {
    event_.assign(value);
  } else if (name == "id") {
    // WHATWG ignores ids containing NUL (they could not be sent back in Last-Event-ID).
    if (value.find('\0') == std::string_view::npos) id_.assign(value);
  }
  // `retry` and unknown fields carry nothing we use.
  return false;
}

void Parser::Emit(std::string_view tail, Event* out) {
  if (raw_.empty()) {
    out->raw.assign(tail);
  } else {
    raw_.append(tail);
    out->raw = std::move(raw_);
    raw_.clear();
  }
  out->event = std::move(event_);
  out->data = std::move(data_);
  out->id = std::move(id_);
  out->has_data = has_data_;
  event_.clear();
  data_.clear();
  id_.clear();
  has_data_ = false;
  line_start_ = 0;
}

std::string EventData(std::string_view raw_event) {
  Parser parser;
  std::vector<Event> events;
  parser.Feed(raw_event, &events);
  Event tail;
  if (parser.Finish(&tail)) events.push_back(std::move(tail));
  std::string data;
  for (Event& e : events) {  // one for a stored chunk; joined like a block if ever more
    if (!e.has_data) continue;
    if (!data.empty()) data += '\n';
    data += e.data;
  }
  return data;
}

std::string FormatEvent(std::string_view event, std::string_view data) {
  std::string out;
  out.reserve(event.size() + data.size() + 16);
  if (!event.empty()) {
    out.append("event: ").append(event).push_back('\n');
  }
  // Each line of `data` becomes its own field; CRLF, CR and LF all count as line breaks.
  std::size_t pos = 0;
  while (true) {
    const std::size_t eol = data.find_first_of("\r\n", pos);
    out.append("data: ").append(data.substr(pos, eol - pos)).push_back('\n');
    if (eol == std::string_view::npos) break;
    pos = eol + 1;
    if (data[eol] == '\r' && pos < data.size() && data[pos] == '\n') ++pos;
  }
  out.push_back('\n');
  return out;
}

}  // namespace cn::sse
