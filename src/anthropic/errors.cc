#include "anthropic/errors.h"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "sse/parser.h"

namespace cn::anthropic {

std::string ErrorBody(std::string_view type, std::string_view message) {
  boost::json::object error;
  error["type"] = type;
  error["message"] = message;
  boost::json::object body;
  body["type"] = "error";
  body["error"] = std::move(error);
  return boost::json::serialize(body);
}

std::string ErrorEvent(std::string_view type, std::string_view message) {
  // The serialised body has no raw line breaks (JSON escapes them), so it is one data line.
  return sse::FormatEvent("error", ErrorBody(type, message));
}

}  // namespace cn::anthropic
