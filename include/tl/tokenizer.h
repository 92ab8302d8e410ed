// Hugging Face tokenizer.json in C++: the full pipeline (added tokens -> normalizer -> pre-tokenizer -> model
// -> post-processor, and decoders back to text) with ids identical to the `tokenizers` library (0.22.2),
// checked against it by tests/tokenizer and the fixtures of scripts/gen_tokenizer_fixtures.py.
//
// Every component type and option of tokenizer.json that is not implemented is a tl::ValueError naming it
// (never a silent fallback). A malformed file (missing field, wrong type, merge naming an unknown token, an
// added token whose id disagrees with the vocabulary) is a tl::ParseError / ValueError naming the field path,
// e.g. `tokenizer.json: model.merges[12]: token "xy" is not in the vocabulary`. Input text must be valid
// UTF-8; invalid bytes are a ValueError giving the byte offset.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tl::json {
class Value;
}

namespace tl::tok {

struct EncodeOptions {
  bool add_special_tokens = true;  // apply the post-processor's template ([CLS] ... [SEP], <s> ..., ...)
  bool truncate_and_pad = true;    // apply the file's "truncation" and "padding" sections, as tokenizers does
};

// Immutable once loaded: encode/decode may run concurrently from several threads.
class Tokenizer {
 public:
  // Reads a tokenizer.json, or a gzip-compressed one (detected by its magic bytes, any file name).
  static Tokenizer from_file(const std::string& path);
  // Parses tokenizer.json text; `name` prefixes error messages.
  static Tokenizer from_json(std::string_view json_text, const std::string& name = "tokenizer.json");
  // From an already parsed document (e.g. a tokenizer.json edited in memory).
  static Tokenizer from_document(const json::Value& root, const std::string& name = "tokenizer.json");

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  std::vector<int32_t> encode(std::string_view text, const EncodeOptions& opt = {}) const;
  // The token strings of encode() (added tokens by content, model tokens by vocabulary entry).
  std::vector<std::string> encode_tokens(std::string_view text, const EncodeOptions& opt = {}) const;
  // Ids to text through the decoder (or tokens joined by spaces when the file has none); unknown ids are
  // skipped like tokenizers does.
  std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens = false) const;

  // -1 when absent. Added tokens take precedence over the model vocabulary.
  int32_t token_to_id(std::string_view token) const;
  // Empty string when absent.
  std::string id_to_token(int32_t id) const;
  // Model vocabulary plus added tokens that are not in it.
  size_t vocab_size() const;
  bool is_special(int32_t id) const;
  // "BPE", "WordPiece" or "Unigram".
  std::string model_type() const;

 struct Impl;  // opaque; defined in src/tokenizer/tokenizer.cpp

 private:
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Reads a whole file, inflating it when it starts with the gzip magic bytes (output capped at 1 GiB).
std::string read_maybe_gzip(const std::string& path);

}  // namespace tl::tok
