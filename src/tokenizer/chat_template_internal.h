// Internals of the chat-template Jinja subset: values with Python semantics (chat_template_value.cpp), the
// lexer that reproduces jinja2's whitespace control (chat_template_lexer.cpp), the parser to an AST
// (chat_template_parser.cpp) and the renderer (chat_template_eval.cpp).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "tl/chat_template.h"
#include "tl/error.h"

namespace tl::tok::jinja {

// ---------------------------------------------------------------- values
struct List;
struct Dict;
struct Namespace;
struct Loop;
struct Func;

struct Undefined {
  std::string name;  // what was looked up, for error messages
};
struct Value {
  std::variant<Undefined, std::nullptr_t, bool, int64_t, double, std::string, std::shared_ptr<const List>,
               std::shared_ptr<const Dict>, std::shared_ptr<Namespace>, std::shared_ptr<const Loop>,
               std::shared_ptr<const Func>>
      v;
  Value() = default;
  Value(Undefined u) : v(std::move(u)) {}
  Value(std::nullptr_t) : v(nullptr) {}
  Value(bool b) : v(b) {}
  Value(int64_t i) : v(i) {}
  Value(double d) : v(d) {}
  Value(std::string s) : v(std::move(s)) {}
  Value(std::shared_ptr<const List> l) : v(std::move(l)) {}
  Value(std::shared_ptr<const Dict> d) : v(std::move(d)) {}
  Value(std::shared_ptr<Namespace> n) : v(std::move(n)) {}
  Value(std::shared_ptr<const Loop> l) : v(std::move(l)) {}
  Value(std::shared_ptr<const Func> f) : v(std::move(f)) {}

  bool undefined() const { return v.index() == 0; }
  bool none() const { return v.index() == 1; }
  bool is_bool() const { return v.index() == 2; }
  bool is_int() const { return v.index() == 3 || v.index() == 2; }  // Python: bool is an int
  bool is_float() const { return v.index() == 4; }
  bool is_str() const { return v.index() == 5; }
  const std::string& str() const { return std::get<5>(v); }
  const List* list() const { return v.index() == 6 ? std::get<6>(v).get() : nullptr; }
  const Dict* dict() const { return v.index() == 7 ? std::get<7>(v).get() : nullptr; }
  Namespace* ns() const { return v.index() == 8 ? std::get<8>(v).get() : nullptr; }
  const Loop* loop() const { return v.index() == 9 ? std::get<9>(v).get() : nullptr; }
  const Func* func() const { return v.index() == 10 ? std::get<10>(v).get() : nullptr; }
  int64_t as_int() const { return v.index() == 2 ? int64_t(std::get<2>(v)) : std::get<3>(v); }
};

// Containers record their nesting depth so deep values are refused when built (no deep recursion later).
constexpr int kMaxValueDepth = 64;
struct List {
  std::vector<Value> items;
  bool tuple = false;
  int depth = 1;
  int64_t weight = 1;  // nodes + string bytes of the whole tree: the cost of comparing or printing it
};
struct Dict {
  std::vector<std::pair<std::string, Value>> items;  // string keys only (the subset), insertion order
  int depth = 1;
  int64_t weight = 1;
  const Value* find(std::string_view k) const;
};
// jinja2's namespace(): the one mutable value ({% set ns.x = ... %} escapes loop scopes). It may not be
// stored inside another value, so values never form cycles.
struct Namespace {
  std::vector<std::pair<std::string, Value>> attrs;
};
struct Loop {
  std::shared_ptr<const List> items;
  int64_t index0 = 0;
};
// A global function or a bound method (`self` is the object for methods).
struct Func {
  std::string name;
  Value self;
};

int value_depth(const Value& v);
int64_t value_weight(const Value& v);   // deep: what a full comparison may touch
int64_t shallow_size(const Value& v);   // string bytes or number of items: what one pass over it costs
int64_t print_weight(const Value& v);   // what converting it to a string reads (a namespace: its attributes)
std::shared_ptr<const List> make_list(std::vector<Value> items, bool tuple = false);  // ValueError past depth
std::shared_ptr<const Dict> make_dict(std::vector<std::pair<std::string, Value>> items);

const char* type_name(const Value& v);   // Python's type names: "str", "int", "list", "dict", ...
bool truthy(const Value& v);
std::string to_str(const Value& v);      // Python str() (Undefined -> "")
std::string repr(const Value& v);        // Python repr()
std::string repr_str(std::string_view s);
std::string format_float(double d);      // Python repr(float)
struct JsonOptions {
  int indent = -1;  // < 0: one line with ", " and ": "
  bool sort_keys = false;
  bool ensure_ascii = false;  // escape non-ASCII as \uXXXX
};
std::string to_json(const Value& v, const JsonOptions& opt);  // json.dumps(v, ensure_ascii=False, ...)
bool equal(const Value& a, const Value& b);
// a < b with Python's rules; ValueError for types that do not order.
bool less(const Value& a, const Value& b);
bool contains(const Value& container, const Value& item);  // Python `item in container`

// Unicode helpers with Python str semantics.
bool is_py_space(char32_t c);                   // str.isspace()
std::string py_strip(std::string_view s, bool left, bool right, const std::u32string* chars = nullptr);
std::string py_upper(std::string_view s);
std::string py_lower(std::string_view s);
std::string py_title(std::string_view s);
std::string py_capitalize(std::string_view s);
size_t py_len(std::string_view s);              // code points

// ---------------------------------------------------------------- lexer
enum class Tok { Data, VarBegin, VarEnd, BlockBegin, BlockEnd, Name, String, Int, Float, Op, End };
struct Token {
  Tok type;
  std::string text;  // data text, name, decoded string, operator
  int64_t ival = 0;
  double fval = 0;
  size_t pos = 0;    // byte offset in the normalised source
};
struct Source {
  std::string name;
  std::string text;                 // newlines normalised to \n, one trailing newline removed (as jinja2)
  std::vector<size_t> line_starts;
  std::pair<int, int> line_col(size_t pos) const;  // 1-based line and column (in characters)
  std::string where(size_t pos) const;             // "name:line:col"
  [[noreturn]] void fail(size_t pos, const std::string& msg) const;  // ParseError
};
std::vector<Token> lex(const Source& src);

// ---------------------------------------------------------------- AST
enum class EK {
  Literal, Name, List, Tuple, Dict, GetAttr, GetItem, Slice, Call, Filter, Test, Neg, Pos, Not, And, Or,
  Add, Sub, Mul, Div, FloorDiv, Mod, Pow, Concat, Compare, Cond
};
struct Expr {
  EK kind;
  size_t pos = 0;
  Value literal;                              // Literal
  std::string name;                           // Name, GetAttr, Call of a name, Filter, Test
  std::vector<std::unique_ptr<Expr>> args;    // operands / elements / positional args (args[0] is the target)
  std::vector<std::string> kwnames;           // keyword args: the last kwnames.size() entries of args
  std::vector<std::string> cmp_ops;           // Compare: op between args[i] and args[i+1]
  bool negated = false;                       // Test with `is not`
  bool has[3] = {false, false, false};        // Slice: which of start/stop/step are given (args[1..3])
  int depth = 1;                              // height of this subtree (kept <= kMaxNesting)
};

enum class SK { Text, Output, If, For, Set, SetNs, SetBlock, Break, Continue, Body };
struct Stmt {
  SK kind;
  size_t pos = 0;
  std::string text;                                    // Text
  std::unique_ptr<Expr> expr;                          // Output, Set value, For iterable
  std::unique_ptr<Expr> cond;                          // For `if` filter
  std::vector<std::string> targets;                    // Set/For names (several: tuple unpacking); SetNs: ns, attr
  std::vector<std::pair<std::unique_ptr<Expr>, std::vector<std::unique_ptr<Stmt>>>> branches;  // If
  std::vector<std::unique_ptr<Stmt>> body, else_body;
  std::vector<std::unique_ptr<Expr>> filters;           // SetBlock: filters applied to the body (args[0] unused)
};

constexpr int kMaxNesting = 100;
std::vector<std::unique_ptr<Stmt>> parse_template(const Source& src, const std::vector<Token>& toks);

// ---------------------------------------------------------------- builtins (chat_template_builtins.cpp)
// Per-render limits, so hostile templates end with a ValueError instead of running away.
struct Budget {
  // Steps: a real template spends tens per message; 200,000 cover thousands of messages and keep the worst
  // template well under the fuzzers' 1 s with ASan (2,000,000 let a loop around a whole template take 1.2 s).
  static constexpr int64_t kMaxSteps = 200'000, kMaxIterations = 100'000;
  // Work is string bytes built (concatenation, filters, printing values): 2 MiB is ~20 ms in a release build and
  // keeps the worst template under the fuzzers' 1 s with ASan and coverage (16 MiB took 4 s there); a real
  // template renders a conversation in kilobytes of work. Output: 4 MiB, beyond any context window's text.
  static constexpr int64_t kMaxWork = 2ll << 20, kMaxOutput = 4ll << 20;
  int64_t steps = 0, iterations = 0, work = 0;
  void step() {
    if (++steps > kMaxSteps) throw ValueError(detail::cat("render exceeded ", kMaxSteps, " evaluation steps"));
  }
  void iteration() {
    if (++iterations > kMaxIterations)
      throw ValueError(detail::cat("render exceeded ", kMaxIterations, " loop iterations"));
  }
  void bytes(size_t n) {
    work += int64_t(n);
    if (work > kMaxWork) throw ValueError(detail::cat("render exceeded ", kMaxWork >> 20, " MiB of string work"));
  }
};
struct CallArgs {
  std::vector<Value> pos;
  std::vector<std::pair<std::string, Value>> kw;
};
bool known_filter(std::string_view name);
bool known_test(std::string_view name);
Value call_filter(const std::string& name, const Value& target, const CallArgs& a, Budget& b);
bool call_test(const std::string& name, const Value& v, const CallArgs& a);
Value call_func(const Func& f, const CallArgs& a, Budget& b);  // globals and bound methods
Value get_attr(const Value& obj, const std::string& name);    // obj.name
Value get_item(const Value& obj, const Value& key);            // obj[key]
Value slice(const Value& obj, const Value* start, const Value* stop, const Value* step);
std::vector<Value> iterate(const Value& v);                    // for-loop items (dict: keys, str: characters)
[[noreturn]] void undefined_error(const Value& v);

}  // namespace tl::tok::jinja

namespace tl::tok {
struct ChatTemplate::Impl {
  jinja::Source src;
  std::vector<std::unique_ptr<jinja::Stmt>> body;
};
// chat_template_eval.cpp
std::string render_template(const ChatTemplate::Impl& t, const std::vector<std::pair<std::string, jinja::Value>>& vars);
}  // namespace tl::tok
