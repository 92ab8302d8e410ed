// The regex engine: Oniguruma with Ruby syntax and UTF-8, exactly what tokenizers compiles its Split,
// ByteLevel and Replace patterns with, so \s, \p{L}, (?i:...) and look-ahead behave identically.
#include <oniguruma.h>

#include <mutex>

#include "internal.h"

namespace tl::tok {

namespace {
void onig_init_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    OnigEncoding enc[] = {ONIG_ENCODING_UTF8};
    onig_initialize(enc, 1);
  });
}
}  // namespace

Regex::Regex(const std::string& pattern, const std::string& where) {
  onig_init_once();
  OnigRegex re = nullptr;
  OnigErrorInfo info;
  const auto* p = reinterpret_cast<const OnigUChar*>(pattern.data());
  int r = onig_new(&re, p, p + pattern.size(), ONIG_OPTION_NONE, ONIG_ENCODING_UTF8, ONIG_SYNTAX_RUBY, &info);
  if (r != ONIG_NORMAL) {
    OnigUChar msg[ONIG_MAX_ERROR_MESSAGE_LEN];
    onig_error_code_to_str(msg, r, &info);
    TL_THROW(ParseError, where, ": invalid regex \"", pattern, "\": ", reinterpret_cast<char*>(msg));
  }
  re_ = re;
}

Regex::~Regex() {
  if (re_) onig_free(static_cast<OnigRegex>(re_));
}

void Regex::find_all(std::string_view s, std::vector<std::pair<size_t, size_t>>& out) const {
  auto re = static_cast<OnigRegex>(re_);
  OnigRegion* region = onig_region_new();
  const auto* str = reinterpret_cast<const OnigUChar*>(s.data());
  const OnigUChar* end = str + s.size();
  size_t pos = 0;
  while (pos <= s.size()) {
    int r = onig_search(re, str, end, str + pos, end, region, ONIG_OPTION_NONE);
    if (r < 0) break;  // ONIG_MISMATCH (or an engine error: treated as no further match)
    size_t b = size_t(region->beg[0]), e = size_t(region->end[0]);
    if (e > b) {
      out.emplace_back(b, e);
      pos = e;
    } else {
      // Empty match: emit nothing (an empty piece is dropped downstream anyway) and step one character.
      pos = b + (b < s.size() ? utf8_len(static_cast<unsigned char>(s[b])) : 1);
    }
  }
  onig_region_free(region, 1);
}

std::string Regex::escape(std::string_view literal) {
  std::string out;
  for (char ch : literal) {
    if (std::string_view("\\.+*?()|[]{}^$#&-~ \t\n\r\f\v").find(ch) != std::string_view::npos) {
      switch (ch) {
        case '\t': out += "\\t"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\f': out += "\\f"; break;
        case '\v': out += "\\v"; break;
        case ' ': out += ' '; break;
        default: out += '\\'; out += ch;
      }
    } else {
      out += ch;
    }
  }
  return out;
}

}  // namespace tl::tok
