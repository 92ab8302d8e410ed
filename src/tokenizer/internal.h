// Internal interfaces of the tokenizer pipeline. Each stage mirrors one family of tokenizers' components;
// offsets are not tracked (only ids and text are produced), which keeps every stage a plain string transform.
#pragma once
#include <cstdint>
#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tl/error.h"
#include "tl/json.h"

namespace tl::tok {

// A string-keyed map that looks up by string_view without building a std::string (hot in the models).
struct SvHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <class V>
using StrMap = std::unordered_map<std::string, V, SvHash, std::equal_to<>>;

// ---- UTF-8 and Unicode properties (unicode.cpp; properties and normalisation forms come from ICU) ----
// Throws ValueError naming `what` and the byte offset of the first invalid sequence.
void check_utf8(std::string_view s, const char* what);
// Decodes valid UTF-8 (checked beforehand).
std::u32string to_u32(std::string_view s);
void append_utf8(std::string& out, char32_t c);
std::string to_utf8(std::u32string_view s);
// Length in bytes of the UTF-8 sequence starting with byte b (1 for invalid lead bytes).
inline size_t utf8_len(unsigned char b) { return b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4; }
// String::from_utf8_lossy: each maximal invalid subsequence becomes U+FFFD.
std::string utf8_lossy(std::string_view bytes);

bool is_whitespace(char32_t c);   // Rust char::is_whitespace (White_Space)
bool is_punctuation(char32_t c);  // P* categories (unicode_categories is_punctuation)
bool is_ascii_punctuation(char32_t c);
bool is_numeric(char32_t c);      // Nd, Nl, No (Rust char::is_numeric)
bool is_other(char32_t c);        // Cc, Cf, Cn, Co, Cs
bool is_mark_nonspacing(char32_t c);  // Mn
bool is_combining_mark(char32_t c);   // Mn, Mc, Me
bool is_word_char(char32_t c);        // Rust regex \w: Alphabetic, M*, Nd, Pc, Join_Control
enum class NormForm { NFC, NFD, NFKC, NFKD };
std::string normalize_form(std::string_view s, NormForm f);
// Rust char::to_lowercase applied per character (full mappings, no context).
std::string lowercase(std::string_view s);

// ---- Regex: Oniguruma, the engine tokenizers itself uses (regex.cpp) ----
class Regex {
 public:
  explicit Regex(const std::string& pattern, const std::string& where);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;
  // Non-empty, non-overlapping matches as byte ranges [start, end).
  void find_all(std::string_view s, std::vector<std::pair<size_t, size_t>>& out) const;
  static std::string escape(std::string_view literal);

 private:
  void* re_ = nullptr;
};

// ---- Split behaviour shared by pre-tokenizers (pretokenizers.cpp) ----
enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };
// (start, end, is_match) pieces covering s, as tokenizers' Pattern::find_matches.
using Matches = std::vector<std::tuple<size_t, size_t, bool>>;
Matches regex_matches(const Regex& re, std::string_view s, bool invert);
// The byte ranges kept by `behavior`, as NormalizedString::split (empty ranges are dropped by the caller).
std::vector<std::pair<size_t, size_t>> apply_behavior(const Matches& m, SplitBehavior b);

// One piece of text on its way through the pipeline; id >= 0 marks an added token (already final).
struct Split {
  std::string text;
  int32_t id = -1;
  bool at_start = false;  // starts at offset 0 of the original input (Metaspace prepend_scheme "first")
};

// json helpers that name the field path in every error.
struct Ctx {
  std::string path;  // e.g. "tokenizer.json: pre_tokenizer.pretokenizers[1]"
  Ctx at(std::string_view key) const { return {path + "." + std::string(key)}; }
  Ctx idx(size_t i) const { return {path + "[" + std::to_string(i) + "]"}; }
};
SplitBehavior parse_behavior(const json::Value& v, const Ctx& c);
const json::Value& req(const json::Value& obj, std::string_view key, const Ctx& c);
const json::Value* opt(const json::Value& obj, std::string_view key);  // nullptr when absent or null
std::string req_str(const json::Value& obj, std::string_view key, const Ctx& c);
bool opt_bool(const json::Value& obj, std::string_view key, bool def, const Ctx& c);
int64_t opt_int(const json::Value& obj, std::string_view key, int64_t def, const Ctx& c);
const json::Array& req_arr(const json::Value& obj, std::string_view key, const Ctx& c);
std::string type_of(const json::Value& v, const Ctx& c);  // the "type" field of a component
char32_t single_char(const std::string& s, const Ctx& c);
// Fails loudly on keys the component does not know (an option we would otherwise ignore silently).
void check_keys(const json::Value& obj, std::initializer_list<std::string_view> known, const Ctx& c);
[[noreturn]] void unsupported(const Ctx& c, std::string_view what);

// ---- Stages ----
struct Normalizer {
  virtual ~Normalizer() = default;
  virtual void normalize(std::string& s) const = 0;
};
std::unique_ptr<Normalizer> make_normalizer(const json::Value& v, const Ctx& c);
// The "pattern" member ({"String": s} escaped, or {"Regex": r}) of Replace and Split.
std::unique_ptr<Regex> make_pattern_regex(const json::Value& v, const Ctx& c);

struct PreTokenizer {
  virtual ~PreTokenizer() = default;
  // Splits every piece with id < 0 further; added-token pieces pass through untouched.
  virtual void pre_tokenize(std::vector<Split>& splits) const = 0;
};
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const json::Value& v, const Ctx& c);

struct Model {
  virtual ~Model() = default;
  virtual void tokenize(const std::string& word, std::vector<int32_t>& out) const = 0;
  virtual int32_t token_to_id(std::string_view t) const = 0;  // -1 when absent
  virtual const std::string* id_to_token(int32_t id) const = 0;
  virtual size_t vocab_size() const = 0;
  virtual const char* type() const = 0;
};
std::unique_ptr<Model> make_model(const json::Value& v, const Ctx& c);
std::unique_ptr<Model> make_unigram(const json::Value& v, const Ctx& c);  // unigram.cpp

struct PostProcessor {
  virtual ~PostProcessor() = default;
  virtual size_t added_tokens() const = 0;  // for a single sequence
  virtual void process(std::vector<int32_t>& ids, bool add_special) const = 0;
};
std::unique_ptr<PostProcessor> make_post_processor(const json::Value& v, const Ctx& c);

struct Decoder {
  virtual ~Decoder() = default;
  virtual void decode_chain(std::vector<std::string>& tokens) const = 0;
};
std::unique_ptr<Decoder> make_decoder(const json::Value& v, const Ctx& c);

// GPT-2's byte <-> printable character table (ByteLevel pre-tokenizer and decoder).
const std::string& byte_to_char_utf8(uint8_t b);
int byte_of_char(char32_t c);  // -1 when c is not in the table

}  // namespace tl::tok
