#include "conversation/js_json.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace cn::conversation {
namespace {

using testing::ParseJson;

std::string Stringify(std::string_view json_text) { return JsStringify(ParseJson(json_text)); }

TEST(JsNumberToString, MatchesEcmaScriptLayout) {
  EXPECT_EQ(JsNumberToString(1.5), "1.5");
  EXPECT_EQ(JsNumberToString(1), "1");
  EXPECT_EQ(JsNumberToString(-0.0), "0");
  EXPECT_EQ(JsNumberToString(0.1), "0.1");
  EXPECT_EQ(JsNumberToString(1e21), "1e+21");
  EXPECT_EQ(JsNumberToString(1e20), "100000000000000000000");
  EXPECT_EQ(JsNumberToString(123456789012345680000.0), "123456789012345680000");
  EXPECT_EQ(JsNumberToString(1e-7), "1e-7");
  EXPECT_EQ(JsNumberToString(0.000001), "0.000001");
  EXPECT_EQ(JsNumberToString(1.5e-7), "1.5e-7");
  EXPECT_EQ(JsNumberToString(-1.5e-10), "-1.5e-10");
  EXPECT_EQ(JsNumberToString(5e-324), "5e-324");
  EXPECT_EQ(JsNumberToString(1.7976931348623157e308), "1.7976931348623157e+308");
  EXPECT_EQ(JsNumberToString(123.456), "123.456");
  EXPECT_EQ(JsNumberToString(0.30000000000000004), "0.30000000000000004");
  EXPECT_EQ(JsNumberToString(2.5e25), "2.5e+25");
}

TEST(JsStringify, NumbersAsJavaScriptSeesThem) {
  EXPECT_EQ(Stringify("[1.0, -0, 1e21, 1E-7, 100, -5, 2.50]"), "[1,0,1e+21,1e-7,100,-5,2.5]");
  // Integers beyond 2^53 are doubles in JS.
  EXPECT_EQ(Stringify("[123456789012345678, 18446744073709551615]"),
            "[123456789012345680,18446744073709552000]");
  EXPECT_EQ(Stringify("9007199254740993"), "9007199254740992");
}

TEST(JsStringify, StringEscapesOnlyWhatJsEscapes) {
  EXPECT_EQ(Stringify(R"("a\"b\\c")"), R"("a\"b\\c")");
  EXPECT_EQ(Stringify(R"("\b\f\n\r\t")"), R"("\b\f\n\r\t")");
  EXPECT_EQ(Stringify(R"("\u0000\u0001\u001f\u001F")"), R"("\u0000\u0001\u001f\u001f")");
  EXPECT_EQ(Stringify(R"("\u007f/\/é€😀")"), "\"\x7f//é€😀\"");
  EXPECT_EQ(Stringify(R"("\u2028\u2029")"), "\"\u2028\u2029\"");
  EXPECT_EQ(Stringify(R"("\u00e9")"), "\"é\"");
}

TEST(JsStringify, LoneSurrogateInWtf8IsEscaped) {
  const boost::json::value v = boost::json::string("a\xED\xA0\x80z");
  EXPECT_EQ(JsStringify(v), R"("a\ud800z")");
}

TEST(JsStringify, CompactWithKeysInReceivedOrder) {
  EXPECT_EQ(Stringify(R"( { "b" : 1, "a" : [ true, false, null, {} , [] ], "c": {"z":"y"} } )"),
            R"({"b":1,"a":[true,false,null,{},[]],"c":{"z":"y"}})");
  EXPECT_EQ(Stringify(R"({"path":"/tmp"})"), R"({"path":"/tmp"})");
}

TEST(JsToString, TemplateLiteralRendering) {
  EXPECT_EQ(JsToString(ParseJson("\"x\"")), "x");
  EXPECT_EQ(JsToString(ParseJson("1.50")), "1.5");
  EXPECT_EQ(JsToString(ParseJson("null")), "null");
  EXPECT_EQ(JsToString(ParseJson("true")), "true");
  EXPECT_EQ(JsToString(ParseJson("[1,null,\"a\",[2,3]]")), "1,,a,2,3");
  EXPECT_EQ(JsToString(ParseJson("{\"a\":1}")), "[object Object]");
}

TEST(JsTrim, UsesTheEcmaScriptWhitespaceSet) {
  EXPECT_EQ(JsTrim(" \t\n\r\v\f x y \n"), "x y");
  EXPECT_EQ(JsTrim("\u00a0\u3000\ufeff\u2028x\u2029\u200a\u1680"), "x");
  // NEL (U+0085) and ZWSP (U+200B) are not JS whitespace.
  EXPECT_EQ(JsTrim("\u0085x\u200b"), "\u0085x\u200b");
  EXPECT_EQ(JsTrim("   "), "");
  EXPECT_EQ(JsTrim(""), "");
  EXPECT_EQ(JsTrim("é "), "é");
}

TEST(CrLfToLf, OnlyPairsAreReplaced) {
  EXPECT_EQ(CrLfToLf("a\r\nb\rc\n\r\n"), "a\nb\rc\n\n");
  EXPECT_EQ(CrLfToLf("\r\r\n\r"), "\r\n\r");
  EXPECT_EQ(CrLfToLf(""), "");
  EXPECT_EQ(CrLfToLf("no pairs"), "no pairs");
}

}  // namespace
}  // namespace cn::conversation
