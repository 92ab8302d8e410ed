// Hostile input: invalid UTF-8 text, malformed tokenizer.json files, unsupported components and options, and
// broken gzip data must each raise a typed error whose message names the field (or byte offset) at fault.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "tl/error.h"
#include "tl/tokenizer.h"

namespace {

using tl::tok::Tokenizer;

// A tiny valid BPE file; tests break one field at a time.
std::string bpe_json(const std::string& model_extra = "", const std::string& top_extra = "",
                     const std::string& merges = R"(["a b", "ab c"])",
                     const std::string& vocab = R"({"a": 0, "b": 1, "c": 2, "ab": 3, "abc": 4, "<unk>": 5})") {
  return R"({"version": "1.0", "added_tokens": [], "normalizer": null, "pre_tokenizer": null,)" + top_extra +
         R"( "model": {"type": "BPE", "unk_token": "<unk>", "vocab": )" + vocab + R"(, "merges": )" + merges +
         model_extra + "}}";
}

template <class E>
void expect_error(const std::string& json, const std::string& needle) {
  try {
    Tokenizer::from_json(json);
    ADD_FAILURE() << "no error; expected one mentioning \"" << needle << "\"";
  } catch (const E& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
  }
}

TEST(TokenizerBasics, TinyBpeMergesByRank) {
  Tokenizer t = Tokenizer::from_json(bpe_json());
  EXPECT_EQ(t.encode("abc"), (std::vector<int32_t>{4}));
  EXPECT_EQ(t.encode("abca"), (std::vector<int32_t>{4, 0}));
  EXPECT_EQ(t.encode("axb"), (std::vector<int32_t>{0, 5, 1}));  // unknown x -> <unk>
  EXPECT_EQ(t.encode(""), (std::vector<int32_t>{}));
  EXPECT_EQ(t.decode({4, 0}), "abc a");  // no decoder: tokens joined by spaces
  EXPECT_EQ(t.token_to_id("abc"), 4);
  EXPECT_EQ(t.token_to_id("zzz"), -1);
  EXPECT_EQ(t.id_to_token(99), "");
  EXPECT_EQ(t.model_type(), "BPE");
  EXPECT_EQ(t.vocab_size(), 6u);
}

TEST(TokenizerErrors, InvalidUtf8InputNamesTheOffset) {
  Tokenizer t = Tokenizer::from_json(bpe_json());
  const std::pair<std::string, std::string> cases[] = {
      {"ab\xff", "offset 2"},           // never valid byte
      {"a\xe2\x82", "offset 1"},        // truncated 3-byte sequence
      {"\xed\xa0\x80", "offset 0"},     // UTF-16 surrogate
      {"abc\xc0\xaf", "offset 3"},      // overlong '/'
      {"\xf4\x90\x80\x80", "offset 0"}, // above U+10FFFF
      {"a\x80", "offset 1"},            // lone continuation byte
  };
  for (const auto& [text, where] : cases) {
    try {
      t.encode(text);
      ADD_FAILURE() << "no error for invalid UTF-8";
    } catch (const tl::ValueError& e) {
      EXPECT_NE(std::string(e.what()).find("not valid UTF-8"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(where), std::string::npos) << e.what();
    }
  }
}

TEST(TokenizerErrors, MalformedFilesNameTheField) {
  expect_error<tl::ParseError>("{\"model\": ", "tokenizer.json");                       // not JSON
  expect_error<tl::ParseError>("[1, 2]", "expected a JSON object");
  expect_error<tl::ParseError>(R"({"added_tokens": []})", "missing field \"model\"");
  expect_error<tl::ParseError>(bpe_json("", "", "[\"a b\"]", "[1, 2]"), "model.vocab: expected an object");
  expect_error<tl::ParseError>(bpe_json("", "", "[\"a b\"]", R"({"a": "zero"})"), "model.vocab[\"a\"]: expected an integer");
  expect_error<tl::ValueError>(bpe_json("", "", "[]", R"({"a": -1})"), "model.vocab[\"a\"]: id -1 out of range");
  expect_error<tl::ValueError>(bpe_json("", "", "[]", R"({"a": 99999999})"), "out of range");
  expect_error<tl::ValueError>(bpe_json("", "", "[]", R"({"a": 0, "b": 0})"), "already used by");
  expect_error<tl::ValueError>(bpe_json("", "", R"(["a b", "ab z"])"), "model.merges[1]: token \"z\" is not in the vocabulary");
  expect_error<tl::ValueError>(bpe_json("", "", R"(["b c"])"), "model.merges[0]: merged token \"bc\" is not in the vocabulary");
  expect_error<tl::ParseError>(bpe_json("", "", R"(["abc"])"), "model.merges[0]: expected \"left right\"");
  expect_error<tl::ParseError>(bpe_json("", "", R"([7])"), "model.merges[0]: expected a string");
  expect_error<tl::ParseError>(bpe_json("", "", R"("a b")"), "model.merges: expected an array");
  expect_error<tl::ValueError>(bpe_json(R"(, "unk_token2": 1)"), "option \"unk_token2\" is not supported");
  expect_error<tl::ParseError>(bpe_json(R"(, "byte_fallback": "yes")"), "model.byte_fallback: expected a bool");
  expect_error<tl::ValueError>(bpe_json(R"(, "dropout": 0.1)"), "BPE dropout");
  expect_error<tl::ValueError>(bpe_json("", R"( "extra": 1,)"), "top-level field \"extra\"");
  // unk_token not in the vocabulary
  std::string nope = bpe_json();
  nope.replace(nope.find("\"<unk>\""), 7, "\"<nope>\"");
  expect_error<tl::ValueError>(nope, "model.unk_token: \"<nope>\" is not in the vocabulary");
}

TEST(TokenizerErrors, UnsupportedComponentsAreNamed) {
  expect_error<tl::ValueError>(bpe_json("", R"( "normalizer2": null,)"), "normalizer2");
  std::string j = bpe_json();
  auto with = [&](const std::string& key, const std::string& value) {
    std::string s = j;
    size_t p = s.find("\"" + key + "\": null");
    return s.replace(p, key.size() + 8, "\"" + key + "\": " + value);
  };
  expect_error<tl::ValueError>(with("normalizer", R"({"type": "Precompiled", "precompiled_charsmap": ""})"),
                               "normalizer: normalizer type \"Precompiled\"");
  expect_error<tl::ValueError>(with("normalizer", R"({"type": "Sequence", "normalizers": [{"type": "NFC"}, {"type": "Nmt"}]})"),
                               "normalizer.normalizers[1]: normalizer type \"Nmt\"");
  expect_error<tl::ValueError>(with("pre_tokenizer", R"({"type": "UnicodeScripts"})"), "pre-tokenizer type \"UnicodeScripts\"");
  expect_error<tl::ValueError>(with("pre_tokenizer", R"({"type": "ByteLevel", "add_prefix_space": true, "colour": 1})"),
                               "pre_tokenizer: option \"colour\"");
  expect_error<tl::ParseError>(with("pre_tokenizer", R"({"type": "Split", "pattern": {"Regex": "("}, "behavior": "Isolated", "invert": false})"),
                               "pre_tokenizer.pattern: invalid regex");
  expect_error<tl::ParseError>(with("pre_tokenizer", R"({"type": "Split", "pattern": {"Regex": "a"}, "behavior": "Sideways"})"),
                               "pre_tokenizer.behavior: expected one of");
  expect_error<tl::ParseError>(with("pre_tokenizer", R"({"type": "Metaspace", "replacement": "ab"})"),
                               "pre_tokenizer.replacement: expected a single character");
  expect_error<tl::ParseError>(with("pre_tokenizer", R"({"type": "Metaspace", "replacement": "_", "prepend_scheme": "sometimes"})"),
                               "prepend_scheme: expected first, never or always");
  expect_error<tl::ParseError>(with("normalizer", R"({"kind": "NFC"})"), "normalizer: missing field \"type\"");
  std::string m = bpe_json();
  m.replace(m.find("\"type\": \"BPE\""), 13, "\"type\": \"CharLevel\"");
  expect_error<tl::ValueError>(m, "model type \"CharLevel\"");
}

TEST(TokenizerErrors, AddedTokensAreChecked) {
  std::string j = bpe_json();
  auto with_added = [&](const std::string& arr) {
    std::string s = j;
    return s.replace(s.find("\"added_tokens\": []"), 18, "\"added_tokens\": " + arr);
  };
  // "abc" is in the vocabulary with id 4; the file may not claim another id.
  expect_error<tl::ValueError>(with_added(R"([{"id": 9, "content": "abc", "special": true}])"),
                               "added_tokens[0].id: \"abc\" has id 9 but tokenizers would assign 4");
  // A new token gets the next id after the vocabulary (6).
  expect_error<tl::ValueError>(with_added(R"([{"id": 7, "content": "<x>", "special": true}])"), "would assign 6");
  expect_error<tl::ParseError>(with_added(R"([{"id": 6}])"), "added_tokens[0]: missing field \"content\"");
  expect_error<tl::ParseError>(with_added(R"([{"id": "6", "content": "<x>"}])"), "added_tokens[0].id: expected an integer");
  expect_error<tl::ValueError>(with_added(R"([{"id": 6, "content": "<x>"}, {"id": 7, "content": "<x>"}])"), "listed twice");
  Tokenizer t = Tokenizer::from_json(with_added(R"([{"id": 6, "content": "<x>", "special": true, "normalized": false}])"));
  EXPECT_EQ(t.encode("ab<x>c"), (std::vector<int32_t>{3, 6, 2}));
  EXPECT_TRUE(t.is_special(6));
  EXPECT_EQ(t.decode({3, 6, 2}, true), "ab c");
}

TEST(TokenizerErrors, FilesAndGzip) {
  namespace fs = std::filesystem;
  fs::path d = fs::temp_directory_path() / ("tl_tok_" + std::to_string(::getpid()));
  fs::create_directories(d);
  EXPECT_THROW(Tokenizer::from_file((d / "missing.json").string()), tl::IoError);
  // gzip of the tiny file, then truncated and corrupted copies.
  std::string gz = tl::tok::read_maybe_gzip(std::string(TL_FIXTURE_DIR) + "/tokenizer/minilm.json.gz");
  EXPECT_GT(gz.size(), 400000u);  // inflated
  std::ifstream f(std::string(TL_FIXTURE_DIR) + "/tokenizer/minilm.json.gz", std::ios::binary);
  std::string raw((std::istreambuf_iterator<char>(f)), {});
  std::ofstream(d / "trunc.json.gz", std::ios::binary) << raw.substr(0, raw.size() / 2);
  try {
    Tokenizer::from_file((d / "trunc.json.gz").string());
    ADD_FAILURE() << "no error for truncated gzip";
  } catch (const tl::IoError& e) {
    EXPECT_NE(std::string(e.what()).find("trunc.json.gz"), std::string::npos) << e.what();
  }
  std::string bad = raw;
  for (size_t i = 20; i < 60; ++i) bad[i] = char(0xAA);
  std::ofstream(d / "bad.json.gz", std::ios::binary) << bad;
  EXPECT_THROW(Tokenizer::from_file((d / "bad.json.gz").string()), tl::IoError);
  std::ofstream(d / "plain.json") << bpe_json();
  EXPECT_EQ(Tokenizer::from_file((d / "plain.json").string()).encode("abc"), (std::vector<int32_t>{4}));
  fs::remove_all(d);
}

}  // namespace
