// The .tl lexer: identifiers (possibly dotted), numbers, "strings", punctuation; '#' and '//' comments; newlines at depth 0.
#include "lexer.h"

#include <cctype>

#include "tl/error.h"

namespace tl::logic {

std::string where(const std::string& source, Loc loc) {
  return detail::cat(source, ":", loc.line, ":", loc.col, ": ");
}

const char* tok_name(Tok t) {
  switch (t) {
    case Tok::ident:
      return "identifier";
    case Tok::number:
      return "number";
    case Tok::string:
      return "string";
    case Tok::newline:
      return "end of line";
    case Tok::end:
      return "end of input";
    case Tok::lbracket:
      return "'['";
    case Tok::rbracket:
      return "']'";
    case Tok::lparen:
      return "'('";
    case Tok::rparen:
      return "')'";
    case Tok::lbrace:
      return "'{'";
    case Tok::rbrace:
      return "'}'";
    case Tok::comma:
      return "','";
    case Tok::dot:
      return "'.'";
    case Tok::colon:
      return "':'";
    case Tok::question:
      return "'?'";
    case Tok::plus:
      return "'+'";
    case Tok::minus:
      return "'-'";
    case Tok::star:
      return "'*'";
    case Tok::slash:
      return "'/'";
    case Tok::assign:
      return "'='";
    case Tok::plus_assign:
      return "'+='";
    case Tok::eq:
      return "'=='";
    case Tok::ne:
      return "'!='";
    case Tok::bang:
      return "'!'";
    case Tok::turnstile:
      return "':-'";
  }
  return "?";
}

std::vector<Token> lex(std::string_view s, const std::string& source) {
  std::vector<Token> out;
  int line = 1, col = 1, depth = 0;
  size_t i = 0;
  auto adv = [&](size_t n) {
    for (size_t k = 0; k < n && i < s.size(); ++k, ++i) {
      if (s[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
  };
  auto push = [&](Tok k, std::string text, Loc loc) { out.push_back(Token{k, std::move(text), loc}); };
  while (i < s.size()) {
    char c = s[i];
    Loc loc{line, col};
    if (c == '\n') {
      if (depth == 0 && (out.empty() || out.back().kind != Tok::newline)) push(Tok::newline, "\\n", loc);
      adv(1);
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r') {
      adv(1);
      continue;
    }
    if (c == '#' || (c == '/' && i + 1 < s.size() && s[i + 1] == '/')) {
      while (i < s.size() && s[i] != '\n') adv(1);
      continue;
    }
    auto isid = [](char ch) { return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_'; };
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t j = i;
      while (j < s.size() && isid(s[j])) ++j;
      // Dotted names (checkpoint weights such as model.layers.0.mlp.up_proj.weight): a '.' directly followed
      // by a letter, digit or '_' continues the identifier. A normalised index (`q.]`), the dot ending a fact
      // or rule (`P(a).`) and `.decl` at the start of a line are never followed that way.
      while (j + 1 < s.size() && s[j] == '.' && isid(s[j + 1])) {
        ++j;
        while (j < s.size() && isid(s[j])) ++j;
      }
      push(Tok::ident, std::string(s.substr(i, j - i)), loc);
      adv(j - i);
      continue;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) {
      size_t j = i;
      while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
      // A fraction only when a digit follows the dot, so `P(1).` ends a fact.
      if (j + 1 < s.size() && s[j] == '.' && std::isdigit(static_cast<unsigned char>(s[j + 1]))) {
        ++j;
        while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
      }
      if (j < s.size() && (s[j] == 'e' || s[j] == 'E')) {
        size_t k = j + 1;
        if (k < s.size() && (s[k] == '+' || s[k] == '-')) ++k;
        if (k < s.size() && std::isdigit(static_cast<unsigned char>(s[k]))) {
          j = k;
          while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
        }
      }
      if (j < s.size() && isid(s[j]))
        throw ParseError(where(source, loc) + "malformed number (near '" +
                         std::string(s.substr(i, j - i + 1)) + "')");
      push(Tok::number, std::string(s.substr(i, j - i)), loc);
      adv(j - i);
      continue;
    }
    if (c == '"') {
      size_t j = i + 1;
      while (j < s.size() && s[j] != '"' && s[j] != '\n') ++j;
      if (j >= s.size() || s[j] != '"')
        throw ParseError(where(source, loc) + "unterminated string (near '" +
                         std::string(s.substr(i, std::min<size_t>(j - i, 20))) + "')");
      push(Tok::string, std::string(s.substr(i + 1, j - i - 1)), loc);
      adv(j - i + 1);
      continue;
    }
    auto two = [&](char a, char b) { return c == a && i + 1 < s.size() && s[i + 1] == b; };
    Tok k;
    size_t n = 1;
    if (two(':', '-'))
      k = Tok::turnstile, n = 2;
    else if (two('+', '='))
      k = Tok::plus_assign, n = 2;
    else if (two('=', '='))
      k = Tok::eq, n = 2;
    else if (two('!', '='))
      k = Tok::ne, n = 2;
    else {
      switch (c) {
        case '[':
          k = Tok::lbracket, ++depth;
          break;
        case ']':
          k = Tok::rbracket, depth = depth > 0 ? depth - 1 : 0;
          break;
        case '(':
          k = Tok::lparen, ++depth;
          break;
        case ')':
          k = Tok::rparen, depth = depth > 0 ? depth - 1 : 0;
          break;
        case '{':
          k = Tok::lbrace, ++depth;
          break;
        case '}':
          k = Tok::rbrace, depth = depth > 0 ? depth - 1 : 0;
          break;
        case ',':
          k = Tok::comma;
          break;
        case '.':
          k = Tok::dot;
          break;
        case ':':
          k = Tok::colon;
          break;
        case '?':
          k = Tok::question;
          break;
        case '+':
          k = Tok::plus;
          break;
        case '-':
          k = Tok::minus;
          break;
        case '*':
          k = Tok::star;
          break;
        case '/':
          k = Tok::slash;
          break;
        case '=':
          k = Tok::assign;
          break;
        case '!':
          k = Tok::bang;
          break;
        default: {
          std::string near(1, c);
          if (!std::isprint(static_cast<unsigned char>(c)))
            near = detail::cat("\\x", std::hex, int(static_cast<unsigned char>(c)));
          throw ParseError(where(source, loc) + "unexpected character (near '" + near + "')");
        }
      }
    }
    push(k, std::string(s.substr(i, n)), loc);
    adv(n);
  }
  push(Tok::newline, "\\n", Loc{line, col});
  push(Tok::end, "", Loc{line, col});
  return out;
}

}  // namespace tl::logic
