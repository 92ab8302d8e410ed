// Added tokens (tokenizers/src/tokenizer/added_vocabulary.rs): matched leftmost-longest in the raw text (those
// with normalized=false) or in the normalized text (normalized=true), honouring single_word, lstrip, rstrip.
#pragma once
#include <array>

#include "internal.h"

namespace tl::tok {

struct AddedToken {
  std::string content;
  std::string pattern;  // content, or its normalized form for normalized tokens
  int32_t id = -1;
  bool special = false, normalized = true, lstrip = false, rstrip = false, single_word = false;
};

class AddedVocab {
 public:
  void add(AddedToken t);  // after all adds, call build()
  void build();
  // Splits `text` (one non-token piece) by the tokens of one class; appends pieces (id >= 0 for tokens).
  void split(const std::string& text, bool normalized_class, bool at_start, std::vector<Split>& out) const;
  const AddedToken* by_id(int32_t id) const;
  const AddedToken* by_content(std::string_view c) const;
  const std::vector<AddedToken>& tokens() const { return tokens_; }
  bool has_class(bool normalized_class) const { return !first_[normalized_class][256].empty(); }

 private:
  std::vector<AddedToken> tokens_;
  std::unordered_map<int32_t, size_t> by_id_;
  StrMap<size_t> by_content_;
  // Per class, per first byte: token indices sorted longest pattern first; [256] lists all of the class.
  std::array<std::array<std::vector<size_t>, 257>, 2> first_;
};

}  // namespace tl::tok
