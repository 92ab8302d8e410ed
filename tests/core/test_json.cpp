#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "tl/error.h"
#include "tl/json.h"

using namespace tl;
namespace js = tl::json;

namespace {
// The ParseError message for `text`, or "" if it parsed.
std::string parse_error(std::string_view text) {
  try {
    js::parse(text);
  } catch (const ParseError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(Json, ScalarsKeepIntAndDoubleDistinct) {
  EXPECT_TRUE(js::parse("null").is_null());
  EXPECT_EQ(js::parse(" true ").as_bool(), true);
  EXPECT_EQ(js::parse("false").as_bool(), false);
  js::Value i = js::parse("-42");
  ASSERT_TRUE(i.is_int());
  EXPECT_EQ(i.as_int(), -42);
  js::Value d = js::parse("42.0");
  ASSERT_TRUE(d.is_double());
  EXPECT_EQ(d.as_double(), 42.0);
  EXPECT_TRUE(js::parse("1e3").is_double());
  EXPECT_EQ(js::parse("9223372036854775807").as_int(), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(js::parse("-9223372036854775808").as_int(), std::numeric_limits<int64_t>::min());
  // Past int64: a double (documented policy).
  js::Value big = js::parse("9223372036854775808");
  ASSERT_TRUE(big.is_double());
  EXPECT_EQ(big.as_double(), 9223372036854775808.0);
  EXPECT_EQ(js::parse("1e-400").as_double(), 0.0);  // underflow rounds to zero
  EXPECT_NE(parse_error("1e400").find("outside the double range"), std::string::npos);
  EXPECT_EQ(js::parse("-0.0").as_double(), 0.0);
  EXPECT_TRUE(std::signbit(js::parse("-0.0").as_double()));
}

TEST(Json, TypedAccessErrorsNameTypes) {
  js::Value v = js::parse("\"x\"");
  try {
    v.as_int();
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("expected integer, got string"), std::string::npos) << e.what();
  }
  js::Value o = js::parse("{\"a\":1}");
  EXPECT_THROW(o.as_object().at("b"), ValueError);
  EXPECT_EQ(o.find("b"), nullptr);
  EXPECT_EQ(o.find("a")->as_int(), 1);
}

TEST(Json, ObjectsKeepInsertionOrderAndIndexLargeObjects) {
  js::Value v = js::parse(R"({"z":1,"a":2,"m":{"k":[1,2.5,"s",null,true]}})");
  const js::Object& o = v.as_object();
  ASSERT_EQ(o.size(), 3u);
  EXPECT_EQ(o.members()[0].key, "z");
  EXPECT_EQ(o.members()[1].key, "a");
  EXPECT_EQ(o.members()[2].key, "m");
  EXPECT_EQ(js::dump(v), R"({"z":1,"a":2,"m":{"k":[1,2.5,"s",null,true]}})");
  // Lookups on an object past the hash-index threshold.
  std::string big = "{";
  for (int i = 0; i < 100; ++i) {
    if (i) big += ',';
    big += "\"k";
    big += std::to_string(i);
    big += "\":";
    big += std::to_string(i);
  }
  big += "}";
  js::Value b = js::parse(big);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(b.find("k" + std::to_string(i))->as_int(), i);
  EXPECT_EQ(b.find("k100"), nullptr);
  js::Object copy = b.as_object();  // copies keep a working index
  copy.set("k5", js::Value("five"));
  EXPECT_EQ(copy.find("k5")->as_string(), "five");
  EXPECT_EQ(copy.members()[5].key, "k5");
  EXPECT_EQ(b.find("k5")->as_int(), 5);
}

TEST(Json, StringEscapesAndSurrogatePairs) {
  EXPECT_EQ(js::parse(R"("a\"b\\c\/d\b\f\n\r\t")").as_string(), "a\"b\\c/d\b\f\n\r\t");
  EXPECT_EQ(js::parse(R"("\u0041\u00e9\u20AC")").as_string(), "A\xc3\xa9\xe2\x82\xac");
  EXPECT_EQ(js::parse(R"("\ud83d\ude00")").as_string(), "\xf0\x9f\x98\x80");  // U+1F600
  EXPECT_EQ(js::parse(R"("\u0000")").as_string(), std::string(1, '\0'));
  // Raw UTF-8 passes through.
  EXPECT_EQ(js::parse("\"\xe6\x97\xa5\xf0\x9f\x98\x80\"").as_string(), "\xe6\x97\xa5\xf0\x9f\x98\x80");
  // The printer escapes what must be escaped and round-trips.
  std::string s = std::string("q\"\\\n\x01 ") + std::string(1, '\0') + "\xc3\xa9";
  std::string out;
  js::dump_string(out, s);
  EXPECT_EQ(out, "\"q\\\"\\\\\\n\\u0001 \\u0000\xc3\xa9\"");
  EXPECT_EQ(js::parse(out).as_string(), s);
}

// Table of hostile or malformed documents and the words their error must contain.
TEST(Json, MalformedInputsGiveLineColumnAndToken) {
  struct Case {
    const char* text;
    const char* words;
  } cases[] = {
      {"", "1:1: unexpected end of input"},
      {"   ", "1:4: unexpected end of input"},
      {"{", "1:2: expected a string key"},
      {"[1,2", "unexpected end of input inside an array"},
      {"[1 2]", "1:4: expected ',' or ']' in array, found '2'"},
      {"{\"a\" 1}", "expected ':'"},
      {"{\"a\":1,}", "1:8: expected a string key, found '}'"},
      {"[1,]", "1:4: unexpected ']'"},
      {"{a:1}", "expected a string key, found 'a'"},
      {"tru", "invalid literal 'tru', expected true"},
      {"nul", "expected null"},
      {"01", "leading zero"},
      {"-", "expected a digit after '-'"},
      {"1.", "expected a digit after '.'"},
      {"1e", "expected a digit in the exponent"},
      {"+1", "unexpected '+'"},
      {".5", "unexpected '.'"},
      {"NaN", "unexpected 'N'"},
      {"Infinity", "unexpected 'I'"},
      {"\"abc", "1:1: unterminated string"},
      {"\"ab\\", "unterminated string"},
      {"\"\\x\"", "invalid escape '\\x'"},
      {"\"\\u12\"", "expected a hex digit"},
      {"\"\\u12", "truncated \\u escape"},
      {"\"\\ud800\"", "unpaired surrogate \\ud800"},
      {"\"\\ud800\\u0041\"", "not a low surrogate"},
      {"\"\\udc00\"", "unpaired low surrogate"},
      {"\"a\tb\"", "unescaped control character byte 0x09"},
      {"\"\xff\"", "invalid UTF-8"},
      {"\"\xc3\"", "invalid UTF-8"},          // truncated 2-byte sequence
      {"\"\xc0\xaf\"", "invalid UTF-8"},      // overlong '/'
      {"\"\xed\xa0\x80\"", "invalid UTF-8"},  // encoded surrogate
      {"\"\xf4\x90\x80\x80\"", "invalid UTF-8"},  // > U+10FFFF
      {"\"\xe2\x82\"", "invalid UTF-8"},
      {"{\"a\":1,\"a\":2}", "1:8: duplicate object key \"a\""},
      {"[1]x", "1:4: unexpected 'x' after the JSON value"},
      {"{}\n\n  ]", "3:3: unexpected ']'"},
  };
  for (const Case& c : cases) {
    std::string msg = parse_error(c.text);
    EXPECT_NE(msg.find(c.words), std::string::npos) << "input: " << c.text << "\nmessage: " << msg;
  }
}

TEST(Json, DeepNestingIsRefusedNotCrashing) {
  std::string ok(256, '[');
  ok += std::string(256, ']');
  EXPECT_NO_THROW(js::parse(ok));
  std::string deep(100000, '[');
  std::string msg = parse_error(deep);
  EXPECT_NE(msg.find("nesting deeper than the limit of 256"), std::string::npos) << msg;
  std::string deep_obj;
  for (int i = 0; i < 300; ++i) deep_obj += "{\"a\":";
  EXPECT_NE(parse_error(deep_obj).find("nesting deeper"), std::string::npos);
  js::ParseOptions o;
  o.max_depth = 2;
  EXPECT_THROW(js::parse("[[[1]]]", o), ParseError);
}

TEST(Json, TruncatedPrefixesAllFailCleanly) {
  // Every proper prefix of a valid document is an error (and never reads past the buffer: run under ASan).
  std::string doc = R"({"a":[1,-2.5e3,"x\u00e9\ud83d\ude00",true,null],"b":{"c":"d"}})";
  for (size_t n = 0; n < doc.size(); ++n) {
    std::string prefix = doc.substr(0, n);
    std::string buf(prefix);  // exact-size heap copy so ASan sees any over-read
    EXPECT_THROW(js::parse(std::string_view(buf.data(), buf.size())), ParseError) << prefix;
  }
  EXPECT_NO_THROW(js::parse(doc));
}

TEST(Json, DoublesPrintShortestAndRoundTripExactly) {
  const double values[] = {0.1, -0.0, 1e-38, 5e-324, 1.7976931348623157e308, 3.0, -2.5, 1e21, 123456789.125,
                           double(0.1f), 2.2250738585072014e-308};
  for (double d : values) {
    std::string s = js::format_double(d);
    js::Value back = js::parse(s);
    ASSERT_TRUE(back.is_double()) << s;
    double b = back.as_double();
    EXPECT_EQ(std::memcmp(&d, &b, 8), 0) << s;
  }
  EXPECT_EQ(js::format_double(0.1), "0.1");
  EXPECT_EQ(js::format_double(3.0), "3.0");
  EXPECT_EQ(js::format_double(-0.0), "-0.0");
  EXPECT_THROW(js::format_double(std::nan("")), ValueError);
  EXPECT_THROW(js::dump(js::Value(INFINITY)), ValueError);
}

TEST(Json, PrettyAndCompactDumpParseBack) {
  js::Object o;
  o.insert("name", "tl");
  o.insert("dims", js::Array{js::Value(1), js::Value(2)});
  o.insert("eps", 1e-5);
  o.insert("empty", js::Object());
  o.insert("none", js::Array{});
  js::Value v(o);
  std::string pretty = js::dump(v, 2);
  EXPECT_EQ(pretty, "{\n  \"name\": \"tl\",\n  \"dims\": [1, 2],\n  \"eps\": 1e-05,\n  \"empty\": {},\n  \"none\": []\n}");
  EXPECT_EQ(js::parse(pretty), v);
  EXPECT_EQ(js::parse(js::dump(v)), v);
}

TEST(Json, ParsePrefixReportsConsumedAndOffsetsErrors) {
  size_t used = 0;
  js::Value v = js::parse_prefix("  [1, 2] rest", used);
  EXPECT_EQ(v.as_array().size(), 2u);
  EXPECT_EQ(used, 8u);
  js::ParseOptions o;
  o.first_line = 7;
  o.first_column = 10;
  try {
    js::parse_prefix("[1, ?]", used, o);
    FAIL();
  } catch (const ParseError& e) {
    EXPECT_NE(std::string(e.what()).find("7:14"), std::string::npos) << e.what();
  }
}

TEST(Json, LargeDocumentParsesQuickly) {
  // A tokenizer.json-like document (~2 MB): a big vocab object and a merges array.
  std::string doc = "{\"model\":{\"vocab\":{";
  for (int i = 0; i < 60000; ++i) {
    doc += i ? ",\"tok" : "\"tok";
    doc += std::to_string(i);
    doc += "\\u0120\":";
    doc += std::to_string(i);
  }
  doc += "},\"merges\":[";
  for (int i = 0; i < 60000; ++i) {
    doc += i ? ",\"a" : "\"a";
    doc += std::to_string(i);
    doc += " b\"";
  }
  doc += "]}}";
  js::Value v = js::parse(doc);
  const js::Value* vocab = v.find("model")->find("vocab");
  ASSERT_NE(vocab, nullptr);
  EXPECT_EQ(vocab->as_object().size(), 60000u);
  EXPECT_EQ(vocab->find("tok59999\xc4\xa0")->as_int(), 59999);
  EXPECT_EQ(v.find("model")->find("merges")->as_array().size(), 60000u);
}

TEST(Json, ConformingDocumentsParse) {
  struct Case {
    const char* text;
    const char* compact;  // dump() of the result
  } cases[] = {
      {"0", "0"},
      {"-0", "0"},  // an integer zero (use -0.0 for the double)
      {"1E+2", "100.0"},
      {"1e-2", "0.01"},
      {"0e0", "0.0"},
      {"-1.5E3", "-1500.0"},
      {" \t\r\n[ 1 , {\"a\" : [ ] } ]\n", "[1,{\"a\":[]}]"},
      {"\"\"", "\"\""},
      {"\"\\/\"", "\"/\""},
      {"{\"\":\"empty key\"}", "{\"\":\"empty key\"}"},
      {"[true,false,null]", "[true,false,null]"},
      {"\"\\u001f\"", "\"\\u001f\""},
  };
  for (const Case& c : cases) {
    try {
      EXPECT_EQ(js::dump(js::parse(c.text)), c.compact) << c.text;
    } catch (const Error& e) {
      ADD_FAILURE() << c.text << ": " << e.what();
    }
  }
  // Integer constructors of every width.
  EXPECT_EQ(js::Value(size_t(7)).as_int(), 7);
  EXPECT_EQ(js::Value(uint8_t(255)).as_int(), 255);
  EXPECT_THROW(js::Value(uint64_t(1) << 63), ValueError);
}
