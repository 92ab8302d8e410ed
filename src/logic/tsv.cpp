// TSV relations: one tuple per line, tab-separated symbols.
#include <fstream>
#include <sstream>

#include "tl/error.h"
#include "tl/logic.h"

namespace tl::logic {

std::vector<Tuple> parse_tsv(std::string_view text, const std::string& source) {
  std::vector<Tuple> out;
  size_t pos = 0, line = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view l = text.substr(pos, end - pos);
    pos = end + 1;
    ++line;
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    if (l.empty()) continue;
    Tuple t;
    size_t s = 0;
    while (true) {
      size_t tab = l.find('\t', s);
      t.emplace_back(l.substr(s, tab == std::string_view::npos ? std::string_view::npos : tab - s));
      if (tab == std::string_view::npos) break;
      s = tab + 1;
    }
    for (size_t c = 0; c < t.size(); ++c) {
      if (t[c].empty()) TL_THROW(ParseError, source, ":", line, ": empty symbol in column ", c + 1);
      // Control characters (a stray '\r' from a second CR, NUL ...) would not survive writing and reading the
      // file back, so they are refused rather than kept inside a symbol (found by fuzz_tsv).
      for (unsigned char ch : t[c])
        if (ch < 0x20 || ch == 0x7f)
          TL_THROW(ParseError, source, ":", line, ": control character 0x", "0123456789abcdef"[ch >> 4],
                   "0123456789abcdef"[ch & 15], " in the symbol in column ", c + 1,
                   " (expected printable text; columns are separated by tabs)");
    }
    if (!out.empty() && t.size() != out.front().size())
      TL_THROW(ParseError, source, ":", line, ": expected ", out.front().size(),
               " tab-separated columns, got ", t.size());
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<Tuple> read_tsv(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) TL_THROW(IoError, "cannot read facts file '", path, "'");
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_tsv(ss.str(), path);
}

std::string format_tsv(const std::vector<Tuple>& tuples) {
  std::string out;
  for (const auto& t : tuples) {
    for (size_t i = 0; i < t.size(); ++i) out += (i ? "\t" : "") + t[i];
    out += '\n';
  }
  return out;
}

void write_tsv(const std::string& path, const std::vector<Tuple>& tuples) {
  std::ofstream f(path, std::ios::binary);
  if (!f) TL_THROW(IoError, "cannot write '", path, "'");
  f << format_tsv(tuples);
  if (!f) TL_THROW(IoError, "failed writing '", path, "'");
}

}  // namespace tl::logic
