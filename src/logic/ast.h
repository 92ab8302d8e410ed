// The .tl syntax tree (internal to src/logic). Positions are 1-based line/column of the first token.
#pragma once
#include <memory>
#include <string>
#include <vector>

namespace tl::logic {

struct Loc {
  int line = 0, col = 0;
};

// ---- Tensor equations
struct IndexTerm {  // `p` in X[p, d]; `p+1` has offset 1 (zero outside the tensor)
  std::string label;
  Loc loc;
  long long offset = 0;
  // `p=1:4` (or `p=:3`, `p=-2:`, `p=::2`): p runs over a NumPy-style slice of the axis (start/stop may be
  // negative, counted from the end; step > 0), so X[p=1:, d] is NumPy's X[1:, :] with p renumbered from 0.
  bool slice = false;
  bool has_start = false, has_stop = false;
  long long start = 0, stop = 0, step = 1;
};

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

enum class ExprKind { number, name, ref, call, neg, add, sub, product };

// A keyword argument of an op call (`causal=true`, `shape=[1, 8, 64]`, `act=silu`, `eps=1e-05`): the value as
// written; the equation compiler converts it to the op's typed attribute through the op registry's codec.
struct KwValue {
  enum Kind { number, boolean, string, list } kind = number;
  std::string text;                  // number: as written (with its sign); string: the contents or identifier
  bool flag = false;                 // boolean
  std::vector<std::string> items;    // list: the numbers as written
  Loc loc;
};
struct KwArg {
  std::string name;
  KwValue value;
  Loc loc;
};

struct Factor {
  ExprPtr expr;
  bool divide = false;  // `/ expr` (else a juxtaposed or `*` factor, joined by einsum)
};

struct Expr {
  ExprKind kind;
  Loc loc;
  double number = 0;             // number
  std::string name;              // name (a dim used as a scalar), ref (tensor), call (function)
  std::vector<IndexTerm> index;  // ref
  std::vector<ExprPtr> args;     // call arguments; neg: 1; add/sub: 2
  std::vector<KwArg> kwargs;     // call: keyword arguments (make it an op call on whole tensors)
  std::vector<Factor> factors;   // product
};

enum class Accum { assign, add, max, min, avg };

struct Equation {
  std::string lhs;
  std::vector<IndexTerm> lhs_index;
  int norm_axis = -1;  // the dotted index on the left (`q.`), or -1
  Accum accum = Accum::assign;
  ExprPtr rhs;
  Loc loc;
};

struct RelIo {  // a name in `.input R`, `.output R` or `output T`
  std::string name;
  Loc loc;
};

struct DimDecl {
  std::string name;
  long long value = 0;
  Loc loc;
};

struct ConstDecl {  // `const T = 0.5`: a named real scalar for equations
  std::string name;
  double value = 0;
  Loc loc;
  // `const C: f32[2, 3] = [1, 2, 3, 4, 5, 6]`: a tensor constant (row-major values; inf, -inf, nan,
  // true, false allowed), referenced like a declared tensor. `typed` tells the two forms apart.
  bool typed = false;
  std::string dtype;
  std::vector<long long> shape;
  std::vector<KwValue> values;
};

struct ShapeItem {  // a dim name or a literal size
  std::string name;
  long long value = -1;
  Loc loc;
};

struct TensorDecl {
  bool is_param = false;
  std::string name;
  std::string dtype;  // `input ids: i64[1, 8]`; empty = f32
  std::vector<ShapeItem> shape;
  Loc loc;
};

// ---- Datalog
enum class ColType { symbol, number };

// Souffle-style `.decl Edge(x: symbol, y: number)`; `.input Edge` / `.output Path` name relations read from
// or written to NAME.tsv.
struct RelDecl {
  std::string name;
  std::vector<std::string> columns;
  std::vector<ColType> types;
  Loc loc;
};


struct Term {
  bool is_var = false;  // bare names in rules and queries are variables; in facts, symbols
  std::string text;
  Loc loc;
};

struct Atom {
  std::string rel;
  std::vector<Term> args;
  bool negated = false;
  Loc loc;
};

struct Comparison {
  Term lhs, rhs;
  bool equal = false;  // == (else !=)
  Loc loc;
};

enum class AggOp { count, sum, max, min };

// `n = count : { P(x, y) }`, `s = sum w : { W(x, w) }`: over the distinct bindings of the braces' variables,
// grouped by those variables also bound by the rule's positive atoms. Results are new (numeric) symbols.
struct Aggregate {
  Term result;
  AggOp op = AggOp::count;
  Term target;  // the aggregated variable (not for count)
  std::vector<Atom> body;
  Loc loc;
};

struct Rule {
  Atom head;
  std::vector<Atom> body;
  std::vector<Comparison> comparisons;
  std::vector<Aggregate> aggregates;
  Loc loc;
};

struct ProgramAst {
  std::string source;
  std::vector<DimDecl> dims;
  std::vector<ConstDecl> consts;
  std::vector<TensorDecl> decls;
  std::vector<Equation> equations;
  std::vector<RelIo> tensor_outputs;  // `output logits, hidden`: only these are graph outputs (default: all)
  std::vector<Atom> facts;
  std::vector<Rule> rules;
  std::vector<Atom> queries;
  std::vector<RelDecl> rel_decls;
  std::vector<RelIo> rel_inputs, rel_outputs;
};

// "source:line:col: " for messages.
std::string where(const std::string& source, Loc loc);

ProgramAst parse_ast(std::string_view text, const std::string& source);

}  // namespace tl::logic
