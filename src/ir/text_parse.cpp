// Text form parser (see text_print.cpp for the format). Builds the graph without checking it: run verify()
// afterwards, so undefined values, cycles and type errors are reported by the verifier with node indices.
// Syntax errors are ParseError "<source>:<line>:<col>: <what>, found <token>". '#' starts a comment.
#include <cctype>
#include <charconv>
#include <unordered_map>
#include <unordered_set>

#include "tl/graph.h"
#include "tl/ops.h"

namespace tl {

namespace {

class TextParser {
 public:
  TextParser(std::string_view text, const std::string& source) : s_(text), src_(source) {}

  Graph parse() {
    skip();
    expect_word("graph");
    Graph g(name_token("a graph name"));
    g_ = &g;
    skip();
    expect_char('{');
    while (true) {
      skip();
      if (eof()) fail("unexpected end of input: missing '}' closing the graph");
      if (peek() == '}') {
        ++p_;
        break;
      }
      statement();
    }
    skip();
    if (!eof()) fail("unexpected text after the closing '}'");
    return g;
  }

 private:
  // ---- Lexing helpers
  bool eof() const { return p_ >= s_.size(); }
  char peek() const { return eof() ? '\0' : s_[p_]; }
  void skip() {  // whitespace, newlines and # comments
    while (!eof()) {
      char c = s_[p_];
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        ++p_;
      } else if (c == '#') {
        while (!eof() && s_[p_] != '\n') ++p_;
      } else {
        break;
      }
    }
  }
  void skip_inline() {  // whitespace within a line
    while (!eof() && (s_[p_] == ' ' || s_[p_] == '\t')) ++p_;
  }
  std::pair<int, int> line_col(size_t at) const {
    int line = 1, col = 1;
    for (size_t i = 0; i < at && i < s_.size(); ++i) {
      if (s_[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    return {line, col};
  }
  // The token at `at` for messages.
  std::string token_at(size_t at) const {
    if (at >= s_.size()) return "end of input";
    size_t e = at;
    auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '/' || c == '%'; };
    while (e < s_.size() && word(s_[e]) && e - at < 40) ++e;
    if (e == at) {
      if (s_[at] == '\n') return "end of line";
      e = at + 1;
    }
    std::string tok = "'";
    tok.append(s_.substr(at, e - at));
    tok += '\'';
    return tok;
  }
  template <class... A>
  [[noreturn]] void fail_at(size_t at, const A&... a) const {
    auto [l, c] = line_col(at);
    TL_THROW(ParseError, src_, ":", l, ":", c, ": ", a..., ", found ", token_at(at));
  }
  template <class... A>
  [[noreturn]] void fail(const A&... a) const {
    fail_at(p_, a...);
  }
  static bool name_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '/';
  }
  std::string word() {
    size_t b = p_;
    while (!eof() && name_char(s_[p_])) ++p_;
    return std::string(s_.substr(b, p_ - b));
  }
  void expect_word(const char* w) {
    size_t at = p_;
    if (word() != w) fail_at(at, "expected '", w, "'");
  }
  void expect_char(char c) {
    if (peek() != c) fail("expected '", c, "'");
    ++p_;
  }
  // A bare name or a JSON string.
  std::string name_token(const char* what) {
    skip_inline();
    if (peek() == '"') {
      size_t used = 0;
      json::ParseOptions o;
      std::tie(o.first_line, o.first_column) = line_col(p_);
      json::Value v = json::parse_prefix(s_.substr(p_), used, o);
      p_ += used;
      return v.as_string();
    }
    size_t at = p_;
    std::string n = word();
    if (n.empty()) fail_at(at, "expected ", what);
    return n;
  }

  // ---- Values
  Value value_ref() {
    skip_inline();
    if (peek() != '%') fail("expected a value name starting with '%'");
    ++p_;
    size_t at = p_;
    std::string n = word();
    if (n.empty()) fail_at(at, "expected a value name after '%'");
    auto it = ids_.find(n);
    if (it != ids_.end()) return it->second;
    // First seen as a use: the type is filled in by its definition (the verifier reports it if none comes).
    Value v = g_->add_value(n, ValueType{DType::f32, {}});
    ids_.emplace(n, v);
    return v;
  }
  ValueType type() {
    skip_inline();
    size_t at = p_;
    std::string dt = word();
    ValueType t;
    try {
      t.dtype = dtype_from_name(dt);
    } catch (const Error&) {
      fail_at(at, "unknown dtype (expected f32, f16, bf16, i32, i64 or bool)");
    }
    expect_char('[');
    skip_inline();
    if (peek() != ']') {
      while (true) {
        skip_inline();
        size_t dat = p_;
        std::string num = word();
        int64_t d = 0;
        auto r = std::from_chars(num.data(), num.data() + num.size(), d);
        if (num.empty() || r.ptr != num.data() + num.size() || r.ec != std::errc() || d < 0)
          fail_at(dat, "expected a non-negative dimension");
        t.shape.push_back(d);
        skip_inline();
        if (peek() == ',') {
          ++p_;
          continue;
        }
        break;
      }
    }
    expect_char(']');
    return t;
  }
  // Defines `v` with type `t` (its first definition fixes the type; the verifier reports a second one).
  void define(Value v, const ValueType& t) {
    if (defined_.insert(v.id).second) g_->set_type(v, t);
  }

  // ---- Statements
  void statement() {
    size_t at = p_;
    if (peek() == '%') {
      node();
      return;
    }
    std::string kw = word();
    if (kw == "input" || kw == "param") {
      Value v = value_ref();
      skip_inline();
      expect_char(':');
      ValueType t = type();
      define(v, t);
      if (kw == "input")
        g_->add_node(Node{OpKind::input, InputAttrs{}, {}, v});
      else
        g_->add_node(Node{OpKind::param, ParamAttrs{}, {}, v});
    } else if (kw == "output") {
      Value v = value_ref();
      skip_inline();
      std::string name = g_->values()[size_t(v.id)].name;
      size_t save = p_;
      if (word() == "as") {
        name = name_token("an output name");
      } else {
        p_ = save;
      }
      g_->add_output(GraphOutput{v, name});
    } else {
      fail_at(at, "expected 'input', 'param', 'output', a node '%name: type = op(...)' or '}'");
    }
    end_of_line();
  }

  void end_of_line() {
    skip_inline();
    if (peek() == '#') return;  // comment runs to the end of the line
    if (!eof() && peek() != '\n' && peek() != '\r' && peek() != '}') fail("expected the end of the line");
  }

  void node() {
    Value out = value_ref();
    skip_inline();
    expect_char(':');
    ValueType t = type();
    skip_inline();
    expect_char('=');
    skip_inline();
    size_t op_at = p_;
    std::string op = word();
    if (op.empty()) fail_at(op_at, "expected an op name");
    auto found = op_by_name(op);
    if (!found) fail_at(op_at, "unknown op '", op, "'");
    auto [def, attrs] = std::move(*found);
    if (def->kind == OpKind::input || def->kind == OpKind::param)
      fail_at(op_at, "'", op, "' is a statement ('", op, " %name: type'), not a node op");
    skip_inline();
    expect_char('(');
    std::vector<Value> ins;
    skip_inline();
    if (peek() != ')') {
      while (true) {
        ins.push_back(value_ref());
        skip_inline();
        if (peek() == ',') {
          ++p_;
          continue;
        }
        break;
      }
    }
    skip_inline();
    expect_char(')');
    skip_inline();
    json::Object obj;
    size_t attrs_at = p_;
    if (peek() == '{') attrs_block(obj);
    try {
      attrs = def->attrs_from_json(std::move(attrs), obj, t);
    } catch (const Error& e) {  // ValueError naming the attribute (or ShapeError from a bad declared type)
      fail_at(attrs_at, e.what());
    }
    define(out, t);
    g_->add_node(Node{def->kind, std::move(attrs), std::move(ins), out});
  }

  // { key=value, ... } with values in JSON syntax.
  void attrs_block(json::Object& obj) {
    ++p_;  // '{'
    skip();
    if (peek() == '}') {
      ++p_;
      return;
    }
    while (true) {
      skip();
      size_t key_at = p_;
      std::string key = word();
      if (key.empty()) fail_at(key_at, "expected an attribute name");
      skip_inline();
      expect_char('=');
      skip_inline();
      json::ParseOptions o;
      std::tie(o.first_line, o.first_column) = line_col(p_);
      size_t used = 0;
      json::Value v = json::parse_prefix(s_.substr(p_), used, o);
      if (!obj.insert(key, std::move(v))) fail_at(key_at, "attribute '", key, "' is given twice");
      p_ += used;
      skip();
      if (peek() == ',') {
        ++p_;
        continue;
      }
      if (peek() == '}') {
        ++p_;
        return;
      }
      fail("expected ',' or '}' in the attribute list");
    }
  }

  std::string_view s_;
  std::string src_;
  size_t p_ = 0;
  Graph* g_ = nullptr;
  std::unordered_map<std::string, Value> ids_;
  std::unordered_set<int32_t> defined_;
};

}  // namespace

Graph parse_graph_text(std::string_view text, const std::string& name) { return TextParser(text, name).parse(); }

}  // namespace tl
