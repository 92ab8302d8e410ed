// The chat-template lexer: splits Jinja source into data and tag tokens exactly as jinja2 3.1's Lexer does with
// trim_blocks=True and lstrip_blocks=True (see jinja2/lexer.py): newlines normalised to \n and one trailing
// newline dropped; `{%-`/`-%}` (and for {{ }}, {# #}) strip all whitespace on that side; `%}`/`#}` eat one
// following newline; a block or comment tag alone on its line (after whitespace only) takes that whitespace
// with it unless it is written `{%+`; `{% raw %}...{% endraw %}` is literal text. Whitespace is Python's \s.
#include <algorithm>
#include <cstring>

#include "chat_template_internal.h"
#include "internal.h"

namespace tl::tok::jinja {

std::pair<int, int> Source::line_col(size_t pos) const {
  pos = std::min(pos, text.size());
  auto it = std::upper_bound(line_starts.begin(), line_starts.end(), pos);
  size_t line = size_t(it - line_starts.begin());  // >= 1: line_starts[0] == 0
  size_t start = line_starts[line - 1];
  int col = 1;
  for (size_t i = start; i < pos; ++i)
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++col;
  return {int(line), col};
}

std::string Source::where(size_t pos) const {
  auto [l, c] = line_col(pos);
  return detail::cat(name, ":", l, ":", c);
}

void Source::fail(size_t pos, const std::string& msg) const { throw ParseError(where(pos) + ": " + msg); }

namespace {

// Decodes the code point at s[i] (valid UTF-8 is checked before lexing); sets len.
char32_t cp_at(std::string_view s, size_t i, size_t& len) {
  unsigned char b = static_cast<unsigned char>(s[i]);
  len = std::min(utf8_len(b), s.size() - i);
  if (len == 1) return b;
  std::u32string u = to_u32(s.substr(i, len));
  return u.empty() ? 0 : u[0];
}

size_t skip_space(std::string_view s, size_t i) {
  while (i < s.size()) {
    size_t len;
    if (!is_py_space(cp_at(s, i, len))) break;
    i += len;
  }
  return i;
}

bool all_space(std::string_view s) { return !s.empty() && skip_space(s, 0) == s.size(); }

// Python str.rstrip() with no argument.
std::string_view rstrip_space(std::string_view s) {
  size_t keep = 0, i = 0;
  while (i < s.size()) {
    size_t len;
    bool sp = is_py_space(cp_at(s, i, len));
    i += len;
    if (!sp) keep = i;
  }
  return s.substr(0, keep);
}

// The OptionalLStrip rule of jinja2's lexer applied to the data text before a tag.
std::string_view strip_before(std::string_view text, char sign, bool is_variable, bool line_starting) {
  if (sign == '-') return rstrip_space(text);
  if (sign == '+' || is_variable) return text;
  size_t nl = text.rfind('\n');
  size_t l_pos = nl == std::string_view::npos ? 0 : nl + 1;
  if ((l_pos > 0 || line_starting) && all_space(text.substr(l_pos))) return text.substr(0, l_pos);
  return text;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }

// (\d+_)*\d+ at i; returns the end or i when absent.
size_t digits(std::string_view s, size_t i) {
  size_t j = i;
  while (j < s.size() && is_digit(s[j])) {
    while (j < s.size() && is_digit(s[j])) ++j;
    if (j + 1 < s.size() && s[j] == '_' && is_digit(s[j + 1])) ++j;
  }
  return j;
}

std::string strip_underscores(std::string_view s) {
  std::string r;
  for (char c : s)
    if (c != '_') r += c;
  return r;
}

// Decodes a string literal's body like Python's "unicode-escape" codec (what jinja2 uses).
std::string unescape(const Source& src, std::string_view body, size_t pos) {
  std::string out;
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c != '\\' || i + 1 >= body.size()) {
      out += c;
      continue;
    }
    char e = body[++i];
    auto hex = [&](int n) -> char32_t {
      char32_t v = 0;
      for (int k = 1; k <= n; ++k) {
        if (i + k >= body.size()) src.fail(pos, "truncated \\x/\\u escape in a string");
        char h = body[i + k];
        int d = is_digit(h) ? h - '0' : (h >= 'a' && h <= 'f') ? h - 'a' + 10 : (h >= 'A' && h <= 'F') ? h - 'A' + 10 : -1;
        if (d < 0) src.fail(pos, "bad hex digit in a \\x/\\u escape in a string");
        v = v * 16 + char32_t(d);
      }
      i += size_t(n);
      return v;
    };
    char32_t cp;
    switch (e) {
      case '\n': continue;  // line continuation
      case '\\': out += '\\'; continue;
      case '\'': out += '\''; continue;
      case '"': out += '"'; continue;
      case 'a': out += '\a'; continue;
      case 'b': out += '\b'; continue;
      case 'f': out += '\f'; continue;
      case 'n': out += '\n'; continue;
      case 'r': out += '\r'; continue;
      case 't': out += '\t'; continue;
      case 'v': out += '\v'; continue;
      case 'x': cp = hex(2); break;
      case 'u': cp = hex(4); break;
      case 'U': cp = hex(8); break;
      case 'N': src.fail(pos, "\\N{...} escapes are not supported in strings");
      default:
        if (e >= '0' && e <= '7') {
          cp = char32_t(e - '0');
          for (int k = 0; k < 2 && i + 1 < body.size() && body[i + 1] >= '0' && body[i + 1] <= '7'; ++k)
            cp = cp * 8 + char32_t(body[++i] - '0');
          break;
        }
        out += '\\';  // unknown escapes stay as written
        out += e;
        continue;
    }
    if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
      src.fail(pos, detail::cat("string escape gives code point ", uint32_t(cp), ", which is not valid Unicode text"));
    append_utf8(out, cp);
  }
  return out;
}

const char* const kOps[] = {"//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[", "]", "(",
                            ")", "{", "}", ">", "<", "=", ".", ":", "|", ",", ";"};

// Tokens inside {{ }} or {% %} from i; returns the position after the end tag.
size_t lex_tag(const Source& src, size_t i, bool block, size_t open_pos, std::vector<Token>& out,
               bool& line_starting) {
  std::string_view s = src.text;
  std::vector<char> balance;
  for (;;) {
    if (i >= s.size())
      src.fail(open_pos, block ? "unexpected end of template: '{%' is never closed by '%}'"
                               : "unexpected end of template: '{{' is never closed by '}}'");
    std::string_view rest = s.substr(i);
    if (balance.empty()) {
      size_t end = std::string_view::npos;
      if (block) {
        if (rest.starts_with("+%}")) end = i + 3;
        else if (rest.starts_with("-%}")) end = skip_space(s, i + 3);
        else if (rest.starts_with("%}")) end = i + 2 + (i + 2 < s.size() && s[i + 2] == '\n');
      } else {
        if (rest.starts_with("-}}")) end = skip_space(s, i + 3);
        else if (rest.starts_with("}}")) end = i + 2;
      }
      if (end != std::string_view::npos) {
        out.push_back({block ? Tok::BlockEnd : Tok::VarEnd, "", 0, 0, i});
        line_starting = s[end - 1] == '\n';
        return end;
      }
    }
    size_t len;
    if (is_py_space(cp_at(s, i, len))) {
      i = skip_space(s, i);
      continue;
    }
    char c = s[i];
    if (is_digit(c)) {
      // Float first (jinja2 tries it before integers): digits ((.digits)? e[+-]?digits | .digits); not after '.'.
      size_t j = digits(s, i), k = j;
      bool is_float = false;
      if (i == 0 || s[i - 1] != '.') {
        size_t f = j;
        if (f + 1 < s.size() && s[f] == '.' && is_digit(s[f + 1])) f = digits(s, f + 1);
        if (f < s.size() && (s[f] == 'e' || s[f] == 'E')) {
          size_t g = f + 1;
          if (g < s.size() && (s[g] == '+' || s[g] == '-')) ++g;
          if (g < s.size() && is_digit(s[g])) {
            k = digits(s, g);
            is_float = true;
          }
        }
        if (!is_float && f != j) {
          k = f;
          is_float = true;
        }
      }
      if (is_float) {
        std::string t = strip_underscores(s.substr(i, k - i));
        out.push_back({Tok::Float, t, 0, std::strtod(t.c_str(), nullptr), i});
        i = k;
        continue;
      }
      // Integers: 0b/0o/0x prefixes, [1-9](_?\d)*, 0(_?0)*.
      int base = 10;
      size_t start = i, e = i;
      if (c == '0' && i + 1 < s.size() && std::strchr("bBoOxX", s[i + 1]) && s[i + 1] != 0) {
        char p = char(s[i + 1] | 0x20);
        base = p == 'b' ? 2 : p == 'o' ? 8 : 16;
        start = e = i + 2;
        auto ok = [&](char d) {
          int v = is_digit(d) ? d - '0' : (d | 0x20) >= 'a' && (d | 0x20) <= 'f' ? (d | 0x20) - 'a' + 10 : 99;
          return v < base;
        };
        while (e < s.size() && (ok(s[e]) || (s[e] == '_' && e + 1 < s.size() && ok(s[e + 1])))) ++e;
        if (e == start) src.fail(i, "malformed integer literal");
      } else if (c == '0') {
        e = i + 1;
        while (e < s.size() && (s[e] == '0' || (s[e] == '_' && e + 1 < s.size() && s[e + 1] == '0'))) ++e;
      } else {
        e = j;
      }
      std::string t = strip_underscores(s.substr(start, e - start));
      int64_t v = 0;
      for (char d : t) {
        int dv = is_digit(d) ? d - '0' : (d | 0x20) - 'a' + 10;
        if (__builtin_mul_overflow(v, int64_t(base), &v) || __builtin_add_overflow(v, int64_t(dv), &v))
          src.fail(i, "integer literal " + std::string(s.substr(i, e - i)) + " does not fit 64 bits");
      }
      out.push_back({Tok::Int, std::string(s.substr(i, e - i)), v, 0, i});
      i = e;
      continue;
    }
    if (is_name_start(c)) {
      size_t j = i;
      while (j < s.size() && is_name_char(s[j])) ++j;
      out.push_back({Tok::Name, std::string(s.substr(i, j - i)), 0, 0, i});
      i = j;
      continue;
    }
    if (c == '\'' || c == '"') {
      size_t j = i + 1;
      while (j < s.size() && s[j] != c) j += s[j] == '\\' ? 2 : 1;
      if (j >= s.size()) src.fail(i, "unterminated string literal");
      out.push_back({Tok::String, unescape(src, s.substr(i + 1, j - i - 1), i), 0, 0, i});
      i = j + 1;
      continue;
    }
    const char* op = nullptr;
    for (const char* o : kOps)
      if (rest.starts_with(o)) {
        op = o;
        break;
      }
    if (!op) {
      size_t l;
      char32_t cp = cp_at(s, i, l);
      src.fail(i, cp < 0x80 && cp >= 0x20 ? detail::cat("unexpected character '", char(cp), "' in a tag")
                                          : detail::cat("unexpected character U+", std::hex, uint32_t(cp),
                                                        " in a tag (names are ASCII in this subset)"));
    }
    std::string o(op);
    if (o == "{" || o == "(" || o == "[") {
      balance.push_back(o == "{" ? '}' : o == "(" ? ')' : ']');
    } else if (o == "}" || o == ")" || o == "]") {
      if (balance.empty()) src.fail(i, "unexpected '" + o + "'");
      if (balance.back() != o[0]) src.fail(i, detail::cat("unexpected '", o, "', expected '", balance.back(), "'"));
      balance.pop_back();
    }
    out.push_back({Tok::Op, o, 0, 0, i});
    i += o.size();
  }
}

}  // namespace

std::vector<Token> lex(const Source& src) {
  std::string_view s = src.text;
  std::vector<Token> out;
  size_t pos = 0;
  bool line_starting = true;
  auto emit_data = [&](std::string_view d, size_t at) {
    if (!d.empty()) out.push_back({Tok::Data, std::string(d), 0, 0, at});
  };
  while (pos < s.size()) {
    size_t t = pos;
    for (;;) {
      t = s.find('{', t);
      if (t == std::string_view::npos || (t + 1 < s.size() && std::strchr("{%#", s[t + 1]) && s[t + 1] != 0)) break;
      ++t;
    }
    if (t == std::string_view::npos) {
      emit_data(s.substr(pos), pos);
      break;
    }
    char kind = s[t + 1];
    size_t after = t + 2;
    char sign = 0;
    if (after < s.size() && (s[after] == '-' || s[after] == '+')) sign = s[after++];
    std::string_view text = strip_before(s.substr(pos, t - pos), sign, kind == '{', line_starting);
    emit_data(text, pos);
    if (kind == '#') {
      size_t j = s.find("#}", after);
      if (j == std::string_view::npos) src.fail(t, "missing end of comment tag '#}'");
      char esign = j > after ? s[j - 1] : 0;
      size_t end = j + 2;
      if (esign == '-') end = skip_space(s, end);
      else if (esign != '+' && end < s.size() && s[end] == '\n') ++end;
      line_starting = s[end - 1] == '\n';
      pos = end;
      continue;
    }
    if (kind == '%') {
      // {% raw %} ... {% endraw %}: the text between is data, never parsed.
      size_t r = skip_space(s, after);
      if (s.substr(r).starts_with("raw")) {
        size_t q = skip_space(s, r + 3), end = std::string_view::npos;
        if (s.substr(q).starts_with("-%}")) end = skip_space(s, q + 3);
        else if (s.substr(q).starts_with("%}")) end = q + 2;
        if (end != std::string_view::npos) {
          line_starting = s[end - 1] == '\n';
          for (size_t k = end;; ++k) {
            k = s.find("{%", k);
            if (k == std::string_view::npos) src.fail(t, "missing end of raw directive '{% endraw %}'");
            size_t a = k + 2;
            char rsign = 0;
            if (a < s.size() && (s[a] == '-' || s[a] == '+')) rsign = s[a++];
            a = skip_space(s, a);
            if (!s.substr(a).starts_with("endraw")) continue;
            a = skip_space(s, a + 6);
            size_t e2 = std::string_view::npos;
            if (s.substr(a).starts_with("+%}")) e2 = a + 3;
            else if (s.substr(a).starts_with("-%}")) e2 = skip_space(s, a + 3);
            else if (s.substr(a).starts_with("%}")) e2 = a + 2 + (a + 2 < s.size() && s[a + 2] == '\n');
            if (e2 == std::string_view::npos) continue;
            emit_data(strip_before(s.substr(end, k - end), rsign, false, line_starting), end);
            line_starting = s[e2 - 1] == '\n';
            pos = e2;
            break;
          }
          continue;
        }
      }
    }
    bool block = kind == '%';
    out.push_back({block ? Tok::BlockBegin : Tok::VarBegin, "", 0, 0, t});
    pos = lex_tag(src, after, block, t, out, line_starting);
  }
  out.push_back({Tok::End, "", 0, 0, s.size()});
  return out;
}

}  // namespace tl::tok::jinja
