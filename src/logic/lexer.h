// Tokens of the .tl language (internal). Newlines are tokens only outside brackets and parentheses, since a
// newline ends an equation (factors are joined by juxtaposition).
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "ast.h"

namespace tl::logic {

enum class Tok {
  ident,
  number,
  string,
  newline,
  end,
  lbracket,
  rbracket,
  lparen,
  rparen,
  lbrace,
  rbrace,
  comma,
  dot,
  colon,
  question,
  plus,
  minus,
  star,
  slash,
  assign,
  plus_assign,
  eq,
  ne,
  bang,
  turnstile,  // := '=' '+=' '==' '!=' '!' ':-'
};

struct Token {
  Tok kind;
  std::string text;  // identifier, number or string contents; the spelling for punctuation
  Loc loc;
};

// Throws ParseError "source:line:col: message (near 'x')" on a bad character or unterminated string.
std::vector<Token> lex(std::string_view text, const std::string& source);

const char* tok_name(Tok t);

}  // namespace tl::logic
