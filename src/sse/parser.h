// sse::Parser: incremental parser for a text/event-stream body (WHATWG HTML, "Server-sent events",
// §9.2.6 "Interpreting an event stream"), used by the proxy as a passive observer of relayed bytes.
//
// Thread-safety: not thread-safe; one Parser per stream, driven by one thread at a time.
//
// Contract:
//  1. Every input byte ends up in exactly one Event::raw, in order: the concatenation of the `raw`
//     of all events returned by Feed() and Finish() equals the concatenation of all fed bytes.
//  2. The list of events does not depend on how the input was split into Feed() calls (a CRLF
//     split across two calls included). To keep that promise an event whose terminating blank
//     line ends in a lone CR at the very end of the fed bytes is held back until the next byte
//     (or Finish()) shows whether an LF follows.
//  3. One Event is produced per block terminated by a blank line, including blocks that WHATWG
//     would not dispatch (comment-only keep-alives, stray blank lines): see Event::has_data.
//  4. Only the unfinished event is buffered; completed events never stay in the parser.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cn::sse {

struct Event {
  std::string event;  // value of the last `event:` field ("" if none, i.e. "message")
  std::string data;   // `data:` field values joined with '\n'
  std::string id;     // value of the last `id:` field of this block ("" if none; not carried over)
  std::string raw;    // the exact bytes of this event on the wire, including the blank line that
                      // ended it (and the stream's BOM, for the first event)
  bool has_data = false;  // at least one `data` field: WHATWG dispatches only such events
  bool operator==(const Event&) const = default;
};

class Parser {
 public:
  // Appends to *out each event completed by `bytes`.
  void Feed(std::string_view bytes, std::vector<Event>* out);

  // End of stream: if bytes are pending (an unterminated trailing event, or one held back by
  // contract 2), stores it in *out and returns true. Resets the parser to its initial state.
  bool Finish(Event* out);

  // True while bytes of an unfinished event are buffered: a stream that ends now was cut
  // mid-event.
  bool InEvent() const { return !raw_.empty() && !dispatch_pending_; }

 private:
  // Applies one complete line (without its terminator); returns true when it was blank.
  bool ProcessLine(std::string_view line);
  // Moves the accumulated fields into a new Event whose raw is raw_ + `tail`.
  void Emit(std::string_view tail, Event* out);

  // Bytes of the unfinished event received in earlier Feed() calls; its tail from line_start_
  // is the current incomplete line.
  std::string raw_;
  std::size_t line_start_ = 0;
  // Fields of the unfinished event.
  std::string event_;
  std::string data_;
  std::string id_;
  bool has_data_ = false;
  // raw_ ends with a CR that terminated a line; an LF at the start of the next Feed() belongs
  // to the same terminator.
  bool cr_pending_ = false;
  // That CR ended a blank line: the event is complete but held back (contract 2).
  bool dispatch_pending_ = false;
  bool at_stream_start_ = true;  // the next line is the stream's first (may carry a BOM)
};

// The `data` of one complete raw event (its `data:` field values joined with '\n', as Parser
// reports them): how a stored streaming chunk is turned back into its JSON payload.
std::string EventData(std::string_view raw_event);

// Frames one event the way Anthropic does (`event: <name>\ndata: <data>\n\n`); `data` containing
// line breaks becomes several `data:` lines, so parsing the result gives back `event` and `data`.
// An empty `event` omits the event line.
std::string FormatEvent(std::string_view event, std::string_view data);

}  // namespace cn::sse
