// The chat-template parser: tokens to statements and expressions with jinja2's grammar and precedence
// (jinja2/parser.py): condexpr < or < and < not < compare (==, !=, <, <=, >, >=, in, not in; chained) < + - <
// ~ < * / // % < ** < unary - + < primary with postfix (.attr, [index], [a:b:c], call) and filters/tests
// (`x | f(args)`, `x is [not] t`). Anything outside the subset is a ParseError naming the construct.
#include <set>

#include "chat_template_internal.h"

namespace tl::tok::jinja {
namespace {

using ExprP = std::unique_ptr<Expr>;
using Body = std::vector<std::unique_ptr<Stmt>>;

int expr_depth(const Expr& e) {
  int d = 0;
  for (const auto& a : e.args)
    if (a) d = std::max(d, a->depth);
  return d + 1;
}

class Parser {
 public:
  Parser(const Source& src, const std::vector<Token>& toks) : src_(src), t_(toks) {}

  Body parse() {
    Body b = subparse({});
    return b;
  }

 private:
  const Source& src_;
  const std::vector<Token>& t_;
  size_t i_ = 0;
  int depth_ = 0;       // parser recursion (expressions and blocks)
  int loop_depth_ = 0;  // for break/continue

  struct Guard {
    Parser& p;
    Guard(Parser& p_, size_t pos) : p(p_) {
      if (++p.depth_ > 3 * kMaxNesting)
        p.src_.fail(pos, detail::cat("nesting deeper than ", kMaxNesting, " levels (blocks or expressions)"));
    }
    ~Guard() { --p.depth_; }
  };

  const Token& cur() const { return t_[i_]; }
  const Token& peek(size_t k = 1) const { return t_[std::min(i_ + k, t_.size() - 1)]; }
  void next() {
    if (i_ + 1 < t_.size()) ++i_;
  }
  bool is_op(const char* o) const { return cur().type == Tok::Op && cur().text == o; }
  bool is_name(const char* n) const { return cur().type == Tok::Name && cur().text == n; }
  bool skip_op(const char* o) {
    if (!is_op(o)) return false;
    next();
    return true;
  }
  bool skip_name(const char* n) {
    if (!is_name(n)) return false;
    next();
    return true;
  }

  std::string describe(const Token& t) const {
    switch (t.type) {
      case Tok::Data: return "template text";
      case Tok::VarBegin: return "'{{'";
      case Tok::VarEnd: return "end of print statement '}}'";
      case Tok::BlockBegin: return "'{%'";
      case Tok::BlockEnd: return "end of statement block '%}'";
      case Tok::Name: return "'" + t.text + "'";
      case Tok::String: return "a string";
      case Tok::Int:
      case Tok::Float: return "number " + t.text;
      case Tok::Op: return "'" + t.text + "'";
      case Tok::End: return "end of template";
    }
    return "?";
  }
  [[noreturn]] void fail(const std::string& msg) const { src_.fail(cur().pos, msg); }
  [[noreturn]] void unexpected(const std::string& wanted) const {
    fail("expected " + wanted + ", got " + describe(cur()));
  }
  void expect_op(const char* o) {
    if (!skip_op(o)) unexpected(std::string("'") + o + "'");
  }
  void expect_block_end() {
    if (cur().type != Tok::BlockEnd) unexpected("end of statement block '%}'");
    next();
  }
  std::string expect_name(const char* what) {
    if (cur().type != Tok::Name) unexpected(what);
    std::string n = cur().text;
    next();
    return n;
  }

  ExprP node(EK k, size_t pos) {
    auto e = std::make_unique<Expr>();
    e->kind = k;
    e->pos = pos;
    return e;
  }
  // Chains (a+b+c..., x|f|g..., a.b.c...) are built iteratively; their depth is checked here so evaluation
  // never recurses deeper than kMaxNesting.
  ExprP checked(ExprP e) {
    e->depth = expr_depth(*e);
    if (e->depth > kMaxNesting)
      src_.fail(e->pos, detail::cat("expression nested deeper than ", kMaxNesting, " levels"));
    return e;
  }
  ExprP binary(EK k, size_t pos, ExprP a, ExprP b) {
    auto e = node(k, pos);
    e->args.push_back(std::move(a));
    e->args.push_back(std::move(b));
    return checked(std::move(e));
  }

  // ------------------------------------------------------------ statements
  Body subparse(const std::set<std::string>& end_names) {
    Guard g(*this, cur().pos);
    if (depth_ > kMaxNesting) fail(detail::cat("blocks nested deeper than ", kMaxNesting, " levels"));
    Body body;
    for (;;) {
      const Token& t = cur();
      if (t.type == Tok::Data) {
        auto s = std::make_unique<Stmt>();
        s->kind = SK::Text;
        s->pos = t.pos;
        s->text = t.text;
        body.push_back(std::move(s));
        next();
      } else if (t.type == Tok::VarBegin) {
        next();
        auto s = std::make_unique<Stmt>();
        s->kind = SK::Output;
        s->pos = t.pos;
        s->expr = parse_tuple(true);
        if (cur().type != Tok::VarEnd) unexpected("end of print statement '}}'");
        next();
        body.push_back(std::move(s));
      } else if (t.type == Tok::BlockBegin) {
        next();
        if (cur().type == Tok::Name && end_names.count(cur().text)) return body;
        body.push_back(parse_statement());
      } else if (t.type == Tok::End) {
        if (!end_names.empty()) {
          std::string names;
          for (const auto& n : end_names) names += (names.empty() ? "'" : " or '") + n + "'";
          fail("unexpected end of template: a block is not closed (looking for " + names + ")");
        }
        return body;
      } else {
        unexpected("template text, '{{' or '{%'");
      }
    }
  }

  std::unique_ptr<Stmt> parse_statement() {
    const Token& t = cur();
    if (t.type != Tok::Name) unexpected("a tag name");
    static const std::set<std::string> unsupported = {"macro", "call", "filter", "block", "extends", "include",
                                                      "import", "from", "with", "autoescape", "do", "print",
                                                      "trans", "pluralize", "endmacro", "endcall", "endfilter",
                                                      "endblock", "endwith", "endautoescape"};
    auto s = std::make_unique<Stmt>();
    s->pos = t.pos;
    std::string tag = t.text;
    if (tag == "if") {
      next();
      parse_if(*s);
    } else if (tag == "for") {
      next();
      parse_for(*s);
    } else if (tag == "set") {
      next();
      parse_set(*s);
    } else if (tag == "break" || tag == "continue") {
      if (loop_depth_ == 0) fail("'" + tag + "' outside of a for loop");
      next();
      s->kind = tag == "break" ? SK::Break : SK::Continue;
      expect_block_end();
    } else if (tag == "generation") {  // transformers' AssistantTracker tag: renders its body unchanged
      next();
      expect_block_end();
      s->kind = SK::Body;
      s->body = subparse({"endgeneration"});
      next();
      expect_block_end();
    } else if (unsupported.count(tag)) {
      fail("unsupported tag '" + tag + "' (the chat-template subset has if, for, set, break, continue, raw)");
    } else if (tag == "elif" || tag == "else" || tag.rfind("end", 0) == 0) {
      fail("unexpected '" + tag + "' (no open block it could close)");
    } else {
      fail("unknown tag '" + tag + "'");
    }
    return s;
  }

  void parse_if(Stmt& s) {
    s.kind = SK::If;
    for (;;) {
      ExprP cond = parse_tuple(false);
      expect_block_end();
      Body b = subparse({"elif", "else", "endif"});
      s.branches.emplace_back(std::move(cond), std::move(b));
      if (skip_name("elif")) continue;
      if (skip_name("else")) {
        expect_block_end();
        s.else_body = subparse({"endif"});
      }
      break;
    }
    next();  // endif
    expect_block_end();
  }

  void parse_targets(Stmt& s, bool allow_ns) {
    bool paren = skip_op("(");
    for (;;) {
      s.targets.push_back(expect_name("a variable name"));
      if (allow_ns && !paren && s.targets.size() == 1 && is_op(".")) {
        next();
        s.targets.push_back(expect_name("an attribute name after '.'"));
        s.kind = SK::SetNs;
        return;
      }
      if (!skip_op(",")) break;
    }
    if (paren) expect_op(")");
  }

  void parse_for(Stmt& s) {
    s.kind = SK::For;
    parse_targets(s, false);
    if (!skip_name("in")) unexpected("'in'");
    s.expr = parse_tuple(false);
    if (skip_name("if")) s.cond = parse_expression(true);
    if (is_name("recursive")) fail("recursive for loops are not supported");
    expect_block_end();
    ++loop_depth_;
    s.body = subparse({"endfor", "else"});
    --loop_depth_;
    if (skip_name("else")) {
      expect_block_end();
      s.else_body = subparse({"endfor"});
    }
    next();  // endfor
    expect_block_end();
  }

  void parse_set(Stmt& s) {
    s.kind = SK::Set;
    parse_targets(s, true);
    if (skip_op("=")) {
      s.expr = parse_tuple(true);
      expect_block_end();
      return;
    }
    if (s.kind != SK::Set || s.targets.size() != 1) unexpected("'='");
    s.kind = SK::SetBlock;
    while (is_op("|")) {
      auto f = node(EK::Filter, cur().pos);
      next();
      f->name = expect_name("a filter name");
      if (!known_filter(f->name)) src_.fail(f->pos, "unsupported filter '" + f->name + "' (see docs/chat_templates.md)");
      f->args.push_back(nullptr);  // the body's text goes here at render time
      if (is_op("(")) parse_call_args(*f);
      s.filters.push_back(std::move(f));
    }
    expect_block_end();
    s.body = subparse({"endset"});
    next();
    expect_block_end();
  }

  // ------------------------------------------------------------ expressions
  bool tuple_end() const {
    return cur().type == Tok::VarEnd || cur().type == Tok::BlockEnd || cur().type == Tok::End || is_op(")");
  }

  ExprP parse_tuple(bool with_condexpr, bool explicit_parens = false) {
    size_t pos = cur().pos;
    std::vector<ExprP> items;
    bool is_tuple = false;
    for (;;) {
      if (!items.empty()) expect_op(",");
      if (tuple_end()) break;
      items.push_back(parse_expression(with_condexpr));
      if (is_op(",")) is_tuple = true;
      else break;
    }
    if (!is_tuple) {
      if (!items.empty()) return std::move(items[0]);
      if (!explicit_parens) unexpected("an expression");
    }
    auto e = node(EK::Tuple, pos);
    e->args = std::move(items);
    return checked(std::move(e));
  }

  ExprP parse_expression(bool with_condexpr) {
    Guard g(*this, cur().pos);
    if (!with_condexpr) return parse_or();
    ExprP e = parse_or();
    while (is_name("if")) {
      size_t pos = cur().pos;
      next();
      ExprP test = parse_or();
      ExprP other;
      if (skip_name("else")) other = parse_expression(true);
      auto c = node(EK::Cond, pos);
      c->args.push_back(std::move(test));
      c->args.push_back(std::move(e));
      c->args.push_back(std::move(other));
      e = checked(std::move(c));
    }
    return e;
  }

  ExprP parse_or() {
    ExprP e = parse_and();
    while (is_name("or")) {
      size_t pos = cur().pos;
      next();
      e = binary(EK::Or, pos, std::move(e), parse_and());
    }
    return e;
  }
  ExprP parse_and() {
    ExprP e = parse_not();
    while (is_name("and")) {
      size_t pos = cur().pos;
      next();
      e = binary(EK::And, pos, std::move(e), parse_not());
    }
    return e;
  }
  ExprP parse_not() {
    Guard g(*this, cur().pos);
    if (is_name("not")) {
      auto e = node(EK::Not, cur().pos);
      next();
      e->args.push_back(parse_not());
      return checked(std::move(e));
    }
    return parse_compare();
  }
  ExprP parse_compare() {
    size_t pos = cur().pos;
    ExprP first = parse_math1();
    std::vector<std::string> ops;
    std::vector<ExprP> operands;
    for (;;) {
      if (cur().type == Tok::Op && (cur().text == "==" || cur().text == "!=" || cur().text == "<" ||
                                    cur().text == "<=" || cur().text == ">" || cur().text == ">=")) {
        ops.push_back(cur().text);
        next();
      } else if (is_name("in")) {
        ops.push_back("in");
        next();
      } else if (is_name("not") && peek().type == Tok::Name && peek().text == "in") {
        ops.push_back("not in");
        next();
        next();
      } else {
        break;
      }
      operands.push_back(parse_math1());
    }
    if (ops.empty()) return first;
    auto e = node(EK::Compare, pos);
    e->args.push_back(std::move(first));
    for (auto& o : operands) e->args.push_back(std::move(o));
    e->cmp_ops = std::move(ops);
    return checked(std::move(e));
  }
  ExprP parse_math1() {
    ExprP e = parse_concat();
    while (is_op("+") || is_op("-")) {
      EK k = is_op("+") ? EK::Add : EK::Sub;
      size_t pos = cur().pos;
      next();
      e = binary(k, pos, std::move(e), parse_concat());
    }
    return e;
  }
  ExprP parse_concat() {
    ExprP e = parse_math2();
    while (is_op("~")) {
      size_t pos = cur().pos;
      next();
      e = binary(EK::Concat, pos, std::move(e), parse_math2());
    }
    return e;
  }
  ExprP parse_math2() {
    ExprP e = parse_pow();
    for (;;) {
      EK k;
      if (is_op("*")) k = EK::Mul;
      else if (is_op("/")) k = EK::Div;
      else if (is_op("//")) k = EK::FloorDiv;
      else if (is_op("%")) k = EK::Mod;
      else break;
      size_t pos = cur().pos;
      next();
      e = binary(k, pos, std::move(e), parse_pow());
    }
    return e;
  }
  ExprP parse_pow() {
    ExprP e = parse_unary(true);
    while (is_op("**")) {
      size_t pos = cur().pos;
      next();
      e = binary(EK::Pow, pos, std::move(e), parse_unary(true));
    }
    return e;
  }
  ExprP parse_unary(bool with_filter) {
    Guard g(*this, cur().pos);
    ExprP e;
    if (is_op("-") || is_op("+")) {
      e = node(is_op("-") ? EK::Neg : EK::Pos, cur().pos);
      next();
      e->args.push_back(parse_unary(false));
      e = checked(std::move(e));
    } else {
      e = parse_primary();
    }
    e = parse_postfix(std::move(e));
    if (with_filter) e = parse_filter_expr(std::move(e));
    return e;
  }

  ExprP literal(size_t pos, Value v) {
    auto e = node(EK::Literal, pos);
    e->literal = std::move(v);
    return e;
  }

  ExprP parse_primary() {
    const Token& t = cur();
    size_t pos = t.pos;
    if (t.type == Tok::Name) {
      next();
      if (t.text == "true" || t.text == "True") return literal(pos, true);
      if (t.text == "false" || t.text == "False") return literal(pos, false);
      if (t.text == "none" || t.text == "None") return literal(pos, nullptr);
      auto e = node(EK::Name, pos);
      e->name = t.text;
      return e;
    }
    if (t.type == Tok::String) {
      std::string s;
      while (cur().type == Tok::String) {
        s += cur().text;
        next();
      }
      return literal(pos, std::move(s));
    }
    if (t.type == Tok::Int) {
      next();
      return literal(pos, t.ival);
    }
    if (t.type == Tok::Float) {
      next();
      return literal(pos, t.fval);
    }
    if (skip_op("(")) {
      ExprP e = parse_tuple(true, true);
      expect_op(")");
      return e;
    }
    if (skip_op("[")) {
      auto e = node(EK::List, pos);
      while (!is_op("]")) {
        if (!e->args.empty()) expect_op(",");
        if (is_op("]")) break;
        e->args.push_back(parse_expression(true));
      }
      next();
      return checked(std::move(e));
    }
    if (skip_op("{")) {
      auto e = node(EK::Dict, pos);
      while (!is_op("}")) {
        if (!e->args.empty()) expect_op(",");
        if (is_op("}")) break;
        e->args.push_back(parse_expression(true));
        expect_op(":");
        e->args.push_back(parse_expression(true));
      }
      next();
      return checked(std::move(e));
    }
    unexpected("an expression");
  }

  ExprP parse_postfix(ExprP e) {
    for (;;) {
      size_t pos = cur().pos;
      if (skip_op(".")) {
        if (cur().type == Tok::Name) {
          auto a = node(EK::GetAttr, pos);
          a->name = cur().text;
          a->args.push_back(std::move(e));
          next();
          e = checked(std::move(a));
        } else if (cur().type == Tok::Int) {
          e = binary(EK::GetItem, pos, std::move(e), literal(cur().pos, cur().ival));
          next();
        } else {
          unexpected("an attribute name or number after '.'");
        }
      } else if (skip_op("[")) {
        e = parse_subscript(std::move(e), pos);
      } else if (is_op("(")) {
        auto c = node(EK::Call, e->pos);
        c->args.push_back(std::move(e));
        parse_call_args(*c);
        e = checked(std::move(c));
      } else {
        return e;
      }
    }
  }

  ExprP parse_subscript(ExprP target, size_t pos) {
    ExprP parts[3];
    bool has[3] = {false, false, false};
    bool slice = false;
    if (!is_op(":")) {
      parts[0] = parse_expression(true);
      has[0] = true;
    }
    if (skip_op(":")) {
      slice = true;
      if (!is_op("]") && !is_op(":")) {
        parts[1] = parse_expression(true);
        has[1] = true;
      }
      if (skip_op(":") && !is_op("]")) {
        parts[2] = parse_expression(true);
        has[2] = true;
      }
    }
    if (is_op(",")) fail("tuple subscripts (x[a, b]) are not supported");
    expect_op("]");
    if (!slice) return binary(EK::GetItem, pos, std::move(target), std::move(parts[0]));
    auto e = node(EK::Slice, pos);
    e->args.push_back(std::move(target));
    for (int k = 0; k < 3; ++k) {
      e->has[k] = has[k];
      e->args.push_back(has[k] ? std::move(parts[k]) : literal(pos, nullptr));
    }
    return checked(std::move(e));
  }

  // (a, b, name=c): positional then keyword arguments, appended to e.args.
  void parse_call_args(Expr& e) {
    expect_op("(");
    bool first = true;
    while (!is_op(")")) {
      if (!first) expect_op(",");
      first = false;
      if (is_op(")")) break;
      if (is_op("*") || is_op("**")) fail("*args and **kwargs in calls are not supported");
      if (cur().type == Tok::Name && peek().type == Tok::Op && peek().text == "=") {
        e.kwnames.push_back(cur().text);
        next();
        next();
        e.args.push_back(parse_expression(true));
      } else {
        if (!e.kwnames.empty()) fail("a positional argument follows a keyword argument");
        e.args.push_back(parse_expression(true));
      }
    }
    next();
  }

  ExprP parse_filter_expr(ExprP e) {
    for (;;) {
      size_t pos = cur().pos;
      if (skip_op("|")) {
        auto f = node(EK::Filter, pos);
        f->name = expect_name("a filter name after '|'");
        if (is_op(".")) fail("dotted filter names are not supported");
        if (!known_filter(f->name)) src_.fail(f->pos, "unsupported filter '" + f->name + "' (see docs/chat_templates.md)");
        f->args.push_back(std::move(e));
        if (is_op("(")) parse_call_args(*f);
        e = checked(std::move(f));
      } else if (is_name("is")) {
        next();
        auto t = node(EK::Test, pos);
        t->negated = skip_name("not");
        t->name = expect_name("a test name after 'is'");
        if (!known_test(t->name)) src_.fail(t->pos, "unsupported test '" + t->name + "' (see docs/chat_templates.md)");
        t->args.push_back(std::move(e));
        if (is_op("(")) {
          parse_call_args(*t);
        } else if ((cur().type == Tok::Name || cur().type == Tok::String || cur().type == Tok::Int ||
                    cur().type == Tok::Float || is_op("[") || is_op("{")) &&
                   !is_name("else") && !is_name("or") && !is_name("and")) {
          if (is_name("is")) fail("tests cannot be chained with 'is'");
          t->args.push_back(parse_postfix(parse_primary()));
        }
        e = checked(std::move(t));
      } else if (is_op("(")) {
        auto c = node(EK::Call, e->pos);
        c->args.push_back(std::move(e));
        parse_call_args(*c);
        e = checked(std::move(c));
      } else {
        return e;
      }
    }
  }
};

}  // namespace

std::vector<std::unique_ptr<Stmt>> parse_template(const Source& src, const std::vector<Token>& toks) {
  return Parser(src, toks).parse();
}

}  // namespace tl::tok::jinja
