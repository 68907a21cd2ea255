// JavaScript value-to-text conversions needed to reproduce the original proxy's hashes bit-for-bit
// (NormalizeContent in hashing.h): JSON.stringify, Number#toString, template-literal `${x}` and
// String#trim, applied to values that Boost.JSON parsed.
//
// Thread-safety: pure functions; safe from any thread.
#pragma once

#include <boost/json/value.hpp>
#include <string>
#include <string_view>

namespace cn::conversation {

// Exactly what JavaScript's JSON.stringify(JSON.parse(text)) yields for a value Boost.JSON parsed
// from `text`: compact, object keys in received order, numbers as JS numbers (every number is an
// IEEE double in JS: 1.0 -> "1", 1e21 -> "1e+21", 1e-7 -> "1e-7", -0 -> "0", integers beyond 2^53
// rounded), strings escaping only `"`, `\` and U+0000..U+001F (\b \f \n \r \t short forms, the
// rest as lower-case \u00xx); `/`, DEL and non-ASCII are emitted as is. Surrogate code points
// encoded in WTF-8 (ED A0..BF xx, which strict UTF-8 parsing never produces) are escaped as
// \udxxx, as JS does for lone surrogates.
std::string JsStringify(const boost::json::value& v);
void JsStringifyTo(const boost::json::value& v, std::string& out);

// Number.prototype.toString() (radix 10) of a double: shortest round-trip digits, ECMAScript
// Number::toString layout. NaN -> "NaN", infinities -> "Infinity"/"-Infinity", -0 -> "0".
std::string JsNumberToString(double d);

// String(v) as a template literal `${v}` renders a JSON value: strings as is, numbers as above,
// true/false/null, arrays as their elements' String() joined by "," (null elements empty),
// objects as "[object Object]". A missing value is rendered by the caller as "undefined".
std::string JsToString(const boost::json::value& v);

// `v[key]` as JS property access on a parsed value: the member of an object, nullptr (undefined)
// when `v` is not an object or has no such member.
const boost::json::value* JsProperty(const boost::json::value& v, std::string_view key);

// True for the code points in ECMAScript's WhiteSpace and LineTerminator productions (the set
// matched by regex \s and removed by String#trim).
bool IsJsWhitespace(char32_t c);

// String.prototype.trim(): strips IsJsWhitespace code points at both ends of UTF-8 text.
std::string_view JsTrim(std::string_view s);

// Replaces every "\r\n" by "\n" (the original's `.replace(/\r\n/g, '\n')`).
std::string CrLfToLf(std::string_view s);

}  // namespace cn::conversation
