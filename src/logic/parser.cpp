// Recursive-descent parser for .tl: declarations, tensor equations, facts, rules and queries.
#include <cstdlib>

#include "lexer.h"
#include "tl/error.h"

namespace tl::logic {

namespace {

class Parser {
 public:
  Parser(std::vector<Token> toks, const std::string& source) : t_(std::move(toks)), src_(source) {}

  ProgramAst program() {
    ProgramAst p;
    p.source = src_;
    while (true) {
      skip_newlines();
      if (peek().kind == Tok::end) break;
      statement(p);
    }
    return p;
  }

 private:
  const Token& peek(size_t k = 0) const { return t_[std::min(i_ + k, t_.size() - 1)]; }
  const Token& next() {
    const Token& t = t_[i_];
    if (i_ + 1 < t_.size()) ++i_;
    return t;
  }
  bool accept(Tok k) {
    if (peek().kind != k) return false;
    next();
    return true;
  }
  // Where a token ends (strings carry their quotes), for errors about what is missing after it.
  static Loc end_of(const Token& t) {
    int len = int(t.text.size()) + (t.kind == Tok::string ? 2 : 0);
    return Loc{t.loc.line, t.loc.col + len};
  }
  // The token before `at` (nullptr at the start or after a newline token).
  const Token* before(const Token& at) const {
    size_t k = size_t(&at - t_.data());
    if (k == 0 || k >= t_.size() || t_[k - 1].kind == Tok::newline) return nullptr;
    return &t_[k - 1];
  }
  [[noreturn]] void fail(const Token& at, const std::string& msg) const {
    std::string near = at.kind == Tok::end       ? "end of input"
                       : at.kind == Tok::newline ? "end of line"
                                                 : at.text;
    if (at.kind == Tok::string) near = "\"" + near + "\"";
    // A missing token at the end of a line or of the input is reported where the line's text ends, not at
    // the start of the next line.
    Loc loc = at.loc;
    if (at.kind == Tok::newline || at.kind == Tok::end)
      if (const Token* b = before(at)) loc = end_of(*b);
    throw ParseError(where(src_, loc) + msg + " (near '" + near + "')");
  }
  const Token& expect(Tok k, const char* what) {
    if (peek().kind != k) {
      // An unclosed bracket runs on to the next line (newlines inside brackets are not tokens): point at the
      // end of the line where the closing bracket was due.
      const Token* b = before(peek());
      bool closing = k == Tok::rbracket || k == Tok::rparen || k == Tok::rbrace;
      if (closing && b && peek().loc.line > b->loc.line)
        throw ParseError(where(src_, end_of(*b)) + "unclosed bracket: expected " + tok_name(k) + " " + what +
                         " before the end of the line (near '" + b->text + "')");
      fail(peek(), std::string("expected ") + tok_name(k) + " " + what + ", got " + tok_name(peek().kind));
    }
    return next();
  }
  void skip_newlines() {
    while (peek().kind == Tok::newline) next();
  }
  void end_of_statement(const char* what) {
    if (peek().kind != Tok::newline && peek().kind != Tok::end)
      fail(peek(), std::string("expected end of line after ") + what + ", got " + tok_name(peek().kind));
  }

  void statement(ProgramAst& p) {
    const Token& t = peek();
    if (t.kind == Tok::dot) return directive(p);
    if (t.kind != Tok::ident)
      fail(t, std::string("expected a declaration, equation, fact or rule, got ") + tok_name(t.kind));
    if (t.text == "dim" && peek(1).kind == Tok::ident) return dim_decl(p);
    if (t.text == "const" && peek(1).kind == Tok::ident) return const_decl(p);
    if ((t.text == "input" || t.text == "param") && peek(1).kind == Tok::ident) return tensor_decl(p);
    if (t.text == "output" && peek(1).kind == Tok::ident) return output_decl(p);
    if (peek(1).kind == Tok::lbracket) return equation(p);
    if (peek(1).kind == Tok::lparen) return logic_statement(p);
    fail(peek(1), "expected '[' (a tensor equation) or '(' (a fact or rule) after '" + t.text + "'");
  }

  void dim_decl(ProgramAst& p) {
    Loc loc = next().loc;
    DimDecl d;
    d.loc = loc;
    d.name = expect(Tok::ident, "(the dimension's name)").text;
    expect(Tok::assign, "after the dimension's name");
    d.value = integer("dimension size");
    end_of_statement("a dim declaration");
    p.dims.push_back(std::move(d));
  }

  // `output logits, hidden`: the tensors the program returns (default: every equation's tensor).
  void output_decl(ProgramAst& p) {
    next();
    do {
      const Token& n = expect(Tok::ident, "(a tensor name)");
      p.tensor_outputs.push_back(RelIo{n.text, n.loc});
    } while (accept(Tok::comma));
    end_of_statement("an output declaration");
  }

  // `f32` in `input X: f32[2, 3]` / `const C: i64[4] = [...]`.
  std::string dtype_name_after_colon() {
    const Token& ty = expect(Tok::ident, "(a dtype: f32, f16, bf16, i32, i64, bool or u8)");
    // u8: stored quantised weights (`param W: u8[n, row_bytes]` feeding linear(..., format=q8_0)).
    static const char* known[] = {"f32", "f16", "bf16", "i32", "i64", "bool", "u8"};
    for (const char* k : known)
      if (ty.text == k) return ty.text;
    fail(ty, "unknown dtype '" + ty.text + "' (expected f32, f16, bf16, i32, i64, bool or u8)");
  }

  // One value of a typed constant or keyword argument: a number (optionally negative), inf/nan, true/false.
  KwValue literal(const char* what) {
    KwValue v;
    v.loc = peek().loc;
    bool neg = accept(Tok::minus);
    const Token& t = peek();
    if (t.kind == Tok::number || (t.kind == Tok::ident && (t.text == "inf" || t.text == "nan"))) {
      next();
      v.kind = KwValue::number;
      v.text = (neg ? "-" : "") + t.text;
      return v;
    }
    if (!neg && t.kind == Tok::ident && (t.text == "true" || t.text == "false")) {
      next();
      v.kind = KwValue::boolean;
      v.flag = t.text == "true";
      return v;
    }
    fail(t, std::string("expected ") + what + ", got " + tok_name(t.kind));
  }

  void typed_const(ConstDecl& c) {
    c.typed = true;
    c.dtype = dtype_name_after_colon();
    expect(Tok::lbracket, "(the constant's shape)");
    if (peek().kind != Tok::rbracket) {
      do c.shape.push_back(integer("size"));
      while (accept(Tok::comma));
    }
    expect(Tok::rbracket, "to close the shape");
    expect(Tok::assign, "after the constant's type");
    expect(Tok::lbracket, "(the constant's values, row-major)");
    if (peek().kind != Tok::rbracket) {
      do c.values.push_back(literal("a number, inf, nan, true or false"));
      while (accept(Tok::comma));
    }
    expect(Tok::rbracket, "to close the values");
  }

  void const_decl(ProgramAst& p) {
    ConstDecl c;
    c.loc = next().loc;
    c.name = expect(Tok::ident, "(the constant's name)").text;
    if (accept(Tok::colon)) {
      typed_const(c);
      end_of_statement("a const declaration");
      p.consts.push_back(std::move(c));
      return;
    }
    expect(Tok::assign, "after the constant's name");
    bool neg = accept(Tok::minus);
    const Token& v = expect(Tok::number, "(the constant's value)");
    c.value = std::strtod(v.text.c_str(), nullptr) * (neg ? -1 : 1);
    end_of_statement("a const declaration");
    p.consts.push_back(std::move(c));
  }

  // Souffle-style directives: `.decl R(a: symbol, b: number)`, `.input R, S`, `.output R`.
  void directive(ProgramAst& p) {
    Loc loc = next().loc;
    const Token& kw = peek();
    if (kw.kind != Tok::ident || (kw.text != "decl" && kw.text != "input" && kw.text != "output"))
      fail(kw, std::string("expected 'decl', 'input' or 'output' after '.', got ") + tok_name(kw.kind));
    next();
    if (kw.text != "decl") {
      auto& list = kw.text == "input" ? p.rel_inputs : p.rel_outputs;
      do {
        const Token& n = expect(Tok::ident, "(a relation name)");
        list.push_back(RelIo{n.text, n.loc});
      } while (accept(Tok::comma));
      end_of_statement(kw.text == "input" ? ".input" : ".output");
      return;
    }
    RelDecl d;
    d.loc = loc;
    d.name = expect(Tok::ident, "(the relation's name)").text;
    expect(Tok::lparen, "after the relation's name");
    if (peek().kind != Tok::rparen) {
      do {
        d.columns.push_back(expect(Tok::ident, "(a column name)").text);
        expect(Tok::colon, "after the column name");
        const Token& ty = expect(Tok::ident, "(a column type: symbol or number)");
        if (ty.text != "symbol" && ty.text != "number")
          fail(ty, "unknown column type '" + ty.text + "' (expected symbol or number)");
        d.types.push_back(ty.text == "number" ? ColType::number : ColType::symbol);
      } while (accept(Tok::comma));
    }
    expect(Tok::rparen, "to close the column list");
    end_of_statement("a .decl");
    p.rel_decls.push_back(std::move(d));
  }

  long long integer(const char* what) {
    const Token& t = peek();
    if (t.kind != Tok::number || t.text.find_first_of(".eE") != std::string::npos)
      fail(t, std::string("expected an integer ") + what + ", got " + tok_name(t.kind));
    next();
    errno = 0;
    long long v = std::strtoll(t.text.c_str(), nullptr, 10);
    if (errno != 0 || v < 0 || v > (1LL << 40)) fail(t, std::string(what) + " out of range");
    return v;
  }

  void tensor_decl(ProgramAst& p) {
    TensorDecl d;
    const Token& kw = next();
    d.is_param = kw.text == "param";
    d.loc = kw.loc;
    d.name = expect(Tok::ident, "(the tensor's name)").text;
    if (accept(Tok::colon)) d.dtype = dtype_name_after_colon();
    expect(Tok::lbracket, "(the tensor's shape)");
    if (peek().kind != Tok::rbracket) {
      do {
        ShapeItem s;
        s.loc = peek().loc;
        if (peek().kind == Tok::ident)
          s.name = next().text;
        else
          s.value = integer("size");
        d.shape.push_back(std::move(s));
      } while (accept(Tok::comma));
    }
    expect(Tok::rbracket, "to close the shape");
    end_of_statement("a declaration");
    p.decls.push_back(std::move(d));
  }

  void equation(ProgramAst& p) {
    Equation e;
    const Token& name = next();
    e.lhs = name.text;
    e.loc = name.loc;
    expect(Tok::lbracket, "");
    if (peek().kind != Tok::rbracket) {
      do {
        const Token& ix = expect(Tok::ident, "(an index name)");
        if (accept(Tok::dot)) {
          if (e.norm_axis >= 0) fail(ix, "only one index may carry the normalisation dot");
          e.norm_axis = int(e.lhs_index.size());
        }
        e.lhs_index.push_back(IndexTerm{ix.text, ix.loc});
      } while (accept(Tok::comma));
    }
    expect(Tok::rbracket, "to close the index list");
    const Token& op = peek();
    if (accept(Tok::assign))
      e.accum = Accum::assign;
    else if (accept(Tok::plus_assign))
      e.accum = Accum::add;
    else if (op.kind == Tok::ident && peek(1).kind == Tok::assign &&
             (op.text == "max" || op.text == "min" || op.text == "avg")) {
      e.accum = op.text == "max" ? Accum::max : op.text == "min" ? Accum::min : Accum::avg;
      next();
      next();
    } else {
      fail(op, std::string("expected '=', '+=', 'max=', 'min=' or 'avg=' after the left-hand side, got ") +
                   tok_name(op.kind));
    }
    skip_newlines();
    e.rhs = expr();
    end_of_statement("an equation");
    p.equations.push_back(std::move(e));
  }

  ExprPtr make(ExprKind k, Loc loc) {
    auto e = std::make_unique<Expr>();
    e->kind = k;
    e->loc = loc;
    return e;
  }

  // Nesting is bounded so hostile input cannot overflow the stack.
  static constexpr int kMaxDepth = 200;
  struct DepthGuard {
    Parser& p;
    DepthGuard(Parser& parser, const Token& at) : p(parser) {
      if (++p.depth_ > kMaxDepth) p.fail(at, "expression nested too deeply (more than 200 levels)");
    }
    ~DepthGuard() { --p.depth_; }
  };

  ExprPtr expr() {
    DepthGuard guard(*this, peek());
    ExprPtr lhs = term();
    while (peek().kind == Tok::plus || peek().kind == Tok::minus) {
      const Token& op = next();
      skip_newlines();
      auto e = make(op.kind == Tok::plus ? ExprKind::add : ExprKind::sub, op.loc);
      e->args.push_back(std::move(lhs));
      e->args.push_back(term());
      lhs = std::move(e);
    }
    return lhs;
  }

  bool starts_factor(Tok k) const { return k == Tok::ident || k == Tok::number || k == Tok::lparen; }

  ExprPtr term() {
    Loc loc = peek().loc;
    std::vector<Factor> fs;
    fs.push_back(Factor{unary(), false});
    while (true) {
      Tok k = peek().kind;
      if (k == Tok::star || k == Tok::slash) {
        next();
        skip_newlines();
        fs.push_back(Factor{unary(), k == Tok::slash});
      } else if (starts_factor(k)) {
        fs.push_back(Factor{unary(), false});
      } else {
        break;
      }
    }
    if (fs.size() == 1) return std::move(fs[0].expr);
    auto e = make(ExprKind::product, loc);
    e->factors = std::move(fs);
    return e;
  }

  ExprPtr unary() {
    if (peek().kind == Tok::minus) {
      DepthGuard guard(*this, peek());
      Loc loc = next().loc;
      auto e = make(ExprKind::neg, loc);
      e->args.push_back(unary());
      return e;
    }
    return primary();
  }

  ExprPtr primary() {
    const Token& t = peek();
    if (t.kind == Tok::number) {
      next();
      auto e = make(ExprKind::number, t.loc);
      e->number = std::strtod(t.text.c_str(), nullptr);
      return e;
    }
    if (t.kind == Tok::lparen) {
      next();
      ExprPtr e = expr();
      expect(Tok::rparen, "to close the parenthesis");
      return e;
    }
    if (t.kind != Tok::ident)
      fail(t, std::string("expected a tensor, number or function, got ") + tok_name(t.kind));
    next();
    if (accept(Tok::lbracket)) {
      auto e = make(ExprKind::ref, t.loc);
      e->name = t.text;
      if (peek().kind != Tok::rbracket) {
        do {
          const Token& ix = expect(Tok::ident, "(an index name)");
          IndexTerm it{ix.text, ix.loc, 0};
          if (accept(Tok::assign)) {
            slice(it);
          } else if (peek().kind == Tok::plus || peek().kind == Tok::minus) {
            bool minus = next().kind == Tok::minus;
            it.offset = integer("index offset");
            if (minus) it.offset = -it.offset;
          }
          e->index.push_back(std::move(it));
        } while (accept(Tok::comma));
      }
      expect(Tok::rbracket, "to close the index list");
      return e;
    }
    if (accept(Tok::lparen)) {
      auto e = make(ExprKind::call, t.loc);
      e->name = t.text;
      if (peek().kind != Tok::rparen) {
        do {
          if (peek().kind == Tok::ident && peek(1).kind == Tok::assign) {
            e->kwargs.push_back(kwarg());
          } else {
            if (!e->kwargs.empty()) fail(peek(), "a positional argument after keyword arguments");
            e->args.push_back(expr());
          }
        } while (accept(Tok::comma));
      }
      expect(Tok::rparen, "to close the argument list");
      return e;
    }
    auto e = make(ExprKind::name, t.loc);
    e->name = t.text;
    return e;
  }

  // `name=value` in an op call: a number, true/false, an identifier or "string" (a string), or [n, ...].
  KwArg kwarg() {
    KwArg k;
    const Token& n = next();
    k.name = n.text;
    k.loc = n.loc;
    next();  // '='
    const Token& t = peek();
    if (t.kind == Tok::lbracket) {
      k.value.kind = KwValue::list;
      k.value.loc = next().loc;
      if (peek().kind != Tok::rbracket) {
        do {
          KwValue item = literal("a number in the list");
          if (item.kind != KwValue::number) fail(t, "keyword '" + k.name + "': list items must be numbers");
          k.value.items.push_back(item.text);
        } while (accept(Tok::comma));
      }
      expect(Tok::rbracket, "to close the list");
      return k;
    }
    if (t.kind == Tok::string ||
        (t.kind == Tok::ident && t.text != "true" && t.text != "false" && t.text != "inf" && t.text != "nan")) {
      next();
      k.value.kind = KwValue::string;
      k.value.text = t.text;
      k.value.loc = t.loc;
      return k;
    }
    k.value = literal("a value (number, true/false, name, \"string\" or [list])");
    return k;
  }

  // `start:stop[:step]` after `p=`, each part optional, start/stop possibly negative. `:-` lexes as one
  // token (the rule arrow), so `p=:-2` is split back into ':' and '-' here.
  void slice(IndexTerm& it) {
    it.slice = true;
    bool pending_minus = false;
    auto colon = [&]() {
      if (accept(Tok::colon)) return true;
      if (peek().kind == Tok::turnstile) {
        next();
        pending_minus = true;
        return true;
      }
      return false;
    };
    auto bound = [&](bool& has, long long& v) {
      bool neg = pending_minus || accept(Tok::minus);
      if (pending_minus && peek().kind != Tok::number) fail(peek(), "expected a number after '-' in a slice");
      pending_minus = false;
      if (!neg && peek().kind != Tok::number) return;
      v = integer("slice bound") * (neg ? -1 : 1);
      has = true;
    };
    bound(it.has_start, it.start);
    if (!colon())
      fail(peek(), std::string("expected ':' in the slice of index '") + it.label + "', got " +
                       tok_name(peek().kind));
    bound(it.has_stop, it.stop);
    if (colon()) {
      bool has = false;
      if (pending_minus) fail(peek(), "a slice step must be positive");
      bound(has, it.step);
      if (!has) it.step = 1;
      if (it.step <= 0) fail(peek(), "a slice step must be positive");
    }
  }

  // ---- Datalog
  Term term_arg(bool in_fact) {
    const Token& t = peek();
    if (t.kind == Tok::ident) return next(), Term{!in_fact, t.text, t.loc};
    if (t.kind == Tok::string || t.kind == Tok::number) return next(), Term{false, t.text, t.loc};
    fail(t, std::string("expected a variable or a symbol, got ") + tok_name(t.kind));
  }

  Atom atom(bool in_fact) {
    Atom a;
    const Token& name = expect(Tok::ident, "(a relation name)");
    a.rel = name.text;
    a.loc = name.loc;
    expect(Tok::lparen, "after the relation name");
    if (peek().kind != Tok::rparen) {
      do a.args.push_back(term_arg(in_fact));
      while (accept(Tok::comma));
    }
    expect(Tok::rparen, "to close the argument list");
    return a;
  }

  void logic_statement(ProgramAst& p) {
    // Facts have only symbols; parse as a rule-style atom first and reinterpret for a fact.
    size_t start = i_;
    Atom head = atom(false);
    if (peek().kind == Tok::dot) {
      i_ = start;
      Atom fact = atom(true);
      next();
      p.facts.push_back(std::move(fact));
      return;
    }
    if (accept(Tok::question)) {
      p.queries.push_back(std::move(head));
      return;
    }
    const Token& tk = peek();
    if (tk.kind != Tok::turnstile)
      fail(tk, std::string("expected '.', ':-' or '?' after an atom, got ") + tok_name(tk.kind));
    next();
    Rule r;
    r.loc = head.loc;
    r.head = std::move(head);
    do {
      skip_newlines();
      body_item(r);
      skip_newlines();
    } while (accept(Tok::comma));
    expect(Tok::dot, "to end the rule");
    p.rules.push_back(std::move(r));
  }

  void body_item(Rule& r) {
    const Token& t = peek();
    bool neg = false;
    if (t.kind == Tok::bang) {
      next();
      neg = true;
    } else if (t.kind == Tok::ident && t.text == "not" && peek(1).kind == Tok::ident) {
      next();
      neg = true;
    }
    if (peek().kind == Tok::ident && peek(1).kind == Tok::lparen) {
      Atom a = atom(false);
      a.negated = neg;
      r.body.push_back(std::move(a));
      return;
    }
    if (neg) fail(peek(), "expected an atom after negation");
    if (peek().kind == Tok::ident && peek(1).kind == Tok::assign && peek(2).kind == Tok::ident) {
      const std::string& f = peek(2).text;
      if (f == "count" || f == "sum" || f == "max" || f == "min") return aggregate(r);
    }
    Comparison c;
    c.loc = peek().loc;
    c.lhs = term_arg(false);
    const Token& op = peek();
    if (op.kind == Tok::eq || op.kind == Tok::assign)
      c.equal = true;
    else if (op.kind != Tok::ne)
      fail(op, std::string("expected an atom or a comparison (x != y, x = y), got ") + tok_name(op.kind));
    next();
    c.rhs = term_arg(false);
    r.comparisons.push_back(std::move(c));
  }

  void aggregate(Rule& r) {
    Aggregate a;
    a.loc = peek().loc;
    a.result = term_arg(false);
    next();  // '='
    const std::string f = next().text;
    a.op = f == "count" ? AggOp::count : f == "sum" ? AggOp::sum : f == "max" ? AggOp::max : AggOp::min;
    if (a.op != AggOp::count) {
      if (peek().kind != Tok::ident) fail(peek(), "expected the variable to aggregate after '" + f + "'");
      a.target = term_arg(false);
    }
    expect(Tok::colon, "before the aggregate's body");
    expect(Tok::lbrace, "to open the aggregate's body");
    do {
      if (peek().kind == Tok::bang) fail(peek(), "negation inside an aggregate is not supported");
      a.body.push_back(atom(false));
    } while (accept(Tok::comma));
    expect(Tok::rbrace, "to close the aggregate's body");
    r.aggregates.push_back(std::move(a));
  }

  std::vector<Token> t_;
  size_t i_ = 0;
  int depth_ = 0;
  std::string src_;
};

}  // namespace

ProgramAst parse_ast(std::string_view text, const std::string& source) {
  return Parser(lex(text, source), source).program();
}

}  // namespace tl::logic
