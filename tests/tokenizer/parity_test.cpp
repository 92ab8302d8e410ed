// Parity with Hugging Face tokenizers 0.22.2: every tokenizer and component variant of
// tests/fixtures/tokenizer/parity.json (scripts/gen_tokenizer_fixtures.py) on the whole corpus. Ids and decoded
// text must match exactly (tolerance: none; a tokenizer is right or wrong).
#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <thread>

#include "tl/json.h"
#include "tl/tokenizer.h"

namespace {

const std::string kDir = std::string(TL_FIXTURE_DIR) + "/tokenizer/";

const tl::json::Value& parity() {
  static const tl::json::Value v = tl::json::parse(tl::tok::read_maybe_gzip(kDir + "parity.json"));
  return v;
}

std::string base_path(const std::string& base) {
  bool plain = base == "bpe-suffix" || base == "unigram" || base == "unigram-bytes" || base == "wordlevel";
  return kDir + base + (plain ? ".json" : ".json.gz");
}

std::string show(const std::vector<int32_t>& v) {
  std::ostringstream os;
  for (size_t i = 0; i < v.size(); ++i) os << (i ? "," : "") << v[i];
  return os.str();
}

std::vector<int32_t> ids_of(const tl::json::Value& a) {
  std::vector<int32_t> out;
  for (const auto& x : a.as_array()) out.push_back(int32_t(x.as_int()));
  return out;
}

// Each base file is parsed once; variants edit a copy of the parsed document (parsing Llama-3's 9 MB and
// GPT-2's 1.3 MB JSON dominates the run under ASan).
const tl::json::Value& base_doc(const std::string& base) {
  static std::map<std::string, tl::json::Value> docs;
  auto it = docs.find(base);
  if (it == docs.end()) it = docs.emplace(base, tl::json::parse(tl::tok::read_maybe_gzip(base_path(base)))).first;
  return it->second;
}

tl::tok::Tokenizer load_variant(const tl::json::Value& var) {
  std::string base = var.find("base")->as_string(), name = var.find("name")->as_string();
  const auto& over = var.find("overrides")->as_object();
  const tl::json::Value* added = var.find("added_tokens");
  if (over.empty() && added->is_null()) return tl::tok::Tokenizer::from_document(base_doc(base), name);
  tl::json::Value root = base_doc(base);
  for (const auto& m : over) {
    if (m.key == "model") {
      for (const auto& mm : m.value.as_object()) root.as_object().find("model")->as_object().set(mm.key, mm.value);
    } else {
      root.as_object().set(m.key, m.value);
    }
  }
  if (!added->is_null()) root.as_object().set("added_tokens", *added);
  return tl::tok::Tokenizer::from_document(root, name);
}

// Each variant is loaded once for both tests (loading Llama-3's 9 MB file dominates the run under ASan).
const tl::tok::Tokenizer& variant(size_t i) {
  static std::map<size_t, tl::tok::Tokenizer> cache;
  auto it = cache.find(i);
  if (it == cache.end()) it = cache.emplace(i, load_variant(parity().find("variants")->as_array()[i])).first;
  return it->second;
}

class Parity : public ::testing::TestWithParam<size_t> {};

TEST_P(Parity, IdsAndDecodeMatchTokenizers) {
  const auto& var = parity().find("variants")->as_array()[GetParam()];
  const auto& corpus = parity().find("corpus")->as_array();
  const auto& cases = var.find("cases")->as_array();
  ASSERT_EQ(corpus.size(), cases.size());
  const tl::tok::Tokenizer& tok = variant(GetParam());
  size_t failures = 0;
  for (size_t i = 0; i < corpus.size() && failures < 5; ++i) {
    const std::string& text = corpus[i].as_string();
    const auto& c = cases[i];
    auto ids = tok.encode(text);
    auto plain = tok.encode(text, {.add_special_tokens = false});
    auto want = ids_of(*c.find("ids")), want_plain = ids_of(*c.find("ids_plain"));
    bool ok = true;
    if (ids != want) {
      ADD_FAILURE() << "text[" << i << "] \"" << text << "\"\n  ids  got  " << show(ids) << "\n       want " << show(want);
      ok = false;
    }
    if (plain != want_plain) {
      ADD_FAILURE() << "text[" << i << "] \"" << text << "\" (no special)\n  ids  got  " << show(plain)
                    << "\n       want " << show(want_plain);
      ok = false;
    }
    std::string dec = tok.decode(want), dec_skip = tok.decode(want, true);
    if (dec != c.find("decoded")->as_string()) {
      ADD_FAILURE() << "text[" << i << "] decode got \"" << dec << "\" want \"" << c.find("decoded")->as_string() << "\"";
      ok = false;
    }
    if (dec_skip != c.find("decoded_skip")->as_string()) {
      ADD_FAILURE() << "text[" << i << "] decode(skip specials) got \"" << dec_skip << "\" want \""
                    << c.find("decoded_skip")->as_string() << "\"";
      ok = false;
    }
    failures += !ok;
  }
}

// Random id sequences (specials included) and byte-fallback runs that form invalid UTF-8: decoded text and
// the replacement characters must equal tokenizers' exactly.
TEST_P(Parity, DecodeRandomIdsMatchesTokenizers) {
  const auto& var = parity().find("variants")->as_array()[GetParam()];
  const tl::tok::Tokenizer& tok = variant(GetParam());
  for (const auto& d : var.find("decodes")->as_array()) {
    auto ids = ids_of(*d.find("ids"));
    EXPECT_EQ(tok.decode(ids), d.find("decoded")->as_string()) << show(ids);
    EXPECT_EQ(tok.decode(ids, true), d.find("decoded_skip")->as_string()) << show(ids);
  }
}

std::string variant_name(const ::testing::TestParamInfo<size_t>& info) {
  std::string n = parity().find("variants")->as_array()[info.param].find("name")->as_string();
  for (char& ch : n)
    if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return n;
}

// encode() is const and may run from several threads at once (each thread keeps its own word cache): the
// ids from two concurrent threads equal the stored tokenizers ids.
TEST(ParityThreads, ConcurrentEncodeGivesTheSameIds) {
  const tl::tok::Tokenizer& tok = variant(0);  // gpt2 (BPE, cached words)
  const auto& corpus = parity().find("corpus")->as_array();
  const auto& cases = parity().find("variants")->as_array()[0].find("cases")->as_array();
  std::vector<int> bad(2, 0);
  auto work = [&](int t) {
    for (int rep = 0; rep < 3; ++rep)
      for (size_t i = 0; i < corpus.size(); ++i)
        bad[size_t(t)] += tok.encode(corpus[i].as_string()) != ids_of(*cases[i].find("ids"));
  };
  std::thread a(work, 0), b(work, 1);
  a.join();
  b.join();
  EXPECT_EQ(bad[0] + bad[1], 0);
}

INSTANTIATE_TEST_SUITE_P(Tokenizers, Parity,
                         ::testing::Range(size_t(0), parity().find("variants")->as_array().size()), variant_name);

}  // namespace
