#include "added_vocab.h"

#include <algorithm>

namespace tl::tok {

void AddedVocab::add(AddedToken t) {
  by_id_[t.id] = tokens_.size();
  by_content_[t.content] = tokens_.size();
  tokens_.push_back(std::move(t));
}

void AddedVocab::build() {
  for (auto& cls : first_)
    for (auto& v : cls) v.clear();
  for (size_t i = 0; i < tokens_.size(); ++i) {
    const auto& t = tokens_[i];
    if (t.pattern.empty()) continue;
    auto& cls = first_[t.normalized];
    cls[static_cast<unsigned char>(t.pattern[0])].push_back(i);
    cls[256].push_back(i);
  }
  for (auto& cls : first_)
    for (size_t b = 0; b < 256; ++b)
      std::stable_sort(cls[b].begin(), cls[b].end(),
                       [&](size_t x, size_t y) { return tokens_[x].pattern.size() > tokens_[y].pattern.size(); });
}

const AddedToken* AddedVocab::by_id(int32_t id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

const AddedToken* AddedVocab::by_content(std::string_view c) const {
  auto it = by_content_.find(c);
  return it == by_content_.end() ? nullptr : &tokens_[it->second];
}

namespace {
char32_t char_before(const std::string& s, size_t pos) {
  size_t b = pos;
  do --b;
  while (b > 0 && (static_cast<unsigned char>(s[b]) & 0xC0) == 0x80);
  return to_u32(std::string_view(s).substr(b, pos - b))[0];
}
char32_t char_at(const std::string& s, size_t pos) {
  size_t n = std::min(utf8_len(static_cast<unsigned char>(s[pos])), s.size() - pos);
  return to_u32(std::string_view(s).substr(pos, n))[0];
}
}  // namespace

void AddedVocab::split(const std::string& s, bool normalized_class, bool at_start, std::vector<Split>& out) const {
  const auto& cls = first_[normalized_class];
  if (s.empty() || cls[256].empty()) {
    if (!s.empty()) out.push_back(Split{s, -1, at_start});
    return;
  }
  size_t start_offset = 0;
  auto push_text = [&](size_t b, size_t e) {
    if (e > b) out.push_back(Split{s.substr(b, e - b), -1, at_start && b == 0});
  };
  size_t pos = 0;
  while (pos < s.size()) {
    const AddedToken* hit = nullptr;
    for (size_t i : cls[static_cast<unsigned char>(s[pos])]) {
      const auto& p = tokens_[i].pattern;
      if (s.compare(pos, p.size(), p) == 0) {
        hit = &tokens_[i];
        break;
      }
    }
    if (!hit) {
      ++pos;
      continue;
    }
    size_t start = pos, stop = pos + hit->pattern.size();
    pos = stop;  // matches never overlap
    if (hit->single_word) {
      bool start_space = start == 0 || !is_word_char(char_before(s, start));
      bool stop_space = stop == s.size() || !is_word_char(char_at(s, stop));
      if (!start_space || !stop_space) continue;
    }
    if (hit->lstrip) {
      size_t ns = start;
      while (ns > 0 && is_whitespace(char_before(s, ns))) {
        size_t b = ns;
        do --b;
        while (b > 0 && (static_cast<unsigned char>(s[b]) & 0xC0) == 0x80);
        ns = b;
      }
      start = std::max(ns, start_offset);
    }
    if (hit->rstrip)
      while (stop < s.size() && is_whitespace(char_at(s, stop))) stop += utf8_len(static_cast<unsigned char>(s[stop]));
    if (start_offset < start) push_text(start_offset, start);
    out.push_back(Split{s.substr(start, stop - start), hit->id, false});
    start_offset = stop;
  }
  if (start_offset < s.size()) push_text(start_offset, s.size());
}

}  // namespace tl::tok
